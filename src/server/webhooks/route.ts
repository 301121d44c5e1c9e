/**
 * POST /api/v1/webhooks/{name}: fact updates from systems that hold no Kubernetes token, authenticated by an
 * HMAC signature with a key read from a Kubernetes Secret, and limited to the namespaces configured for that
 * webhook. Writes go through the same server-side apply as the API, recording `webhook:<name>` as their origin.
 */
import express, { Router } from 'express';
import type { Logger } from 'pino';
import type { SecretObject } from '../../api/types.js';
import type { KubeClient } from '../../kube/client.js';
import { KubeApiError } from '../../kube/errors.js';
import { corePath } from '../../kube/paths.js';
import { WriteError } from '../../writes/errors.js';
import type { IdentityWriter } from '../../writes/identity-writer.js';
import { badRequest, forbidden, fromWriteError, HttpError, notFound, unavailable } from '../errors.js';
import { parse, parseFactKey } from '../validate.js';
import { WebhookBody } from './body.js';
import type { WebhookConfig } from './config.js';
import { ReplayGuard, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify } from './signature.js';

export interface WebhookDeps {
  webhooks: readonly WebhookConfig[];
  client: KubeClient;
  writer: IdentityWriter;
  log: Logger;
  maxBodyBytes: number;
  onDelivery?: (webhook: string, result: string) => void;
  nowSeconds?: () => number;
  /** How long a key read from its Secret is reused. */
  keyTtlMs?: number;
}

const unauthorizedWebhook = (reason: string) =>
  new HttpError(401, 'Unauthorized', `webhook signature refused: ${reason}`);

export function webhooksRouter(deps: WebhookDeps): Router {
  const r = Router();
  const byName = new Map(deps.webhooks.map((w) => [w.name, w]));
  const keys = new Map<string, { key: Buffer; expires: number }>();
  const replay = new ReplayGuard();
  const now = deps.nowSeconds ?? (() => Math.floor(Date.now() / 1000));

  async function keyOf(w: WebhookConfig): Promise<Buffer> {
    const cached = keys.get(w.name);
    if (cached && cached.expires > Date.now()) return cached.key;
    let secret: SecretObject;
    try {
      secret = await deps.client.get<SecretObject>(
        corePath('secrets', w.secretRef.namespace, w.secretRef.name),
      );
    } catch (err) {
      if (err instanceof KubeApiError && err.errorClass !== 'transient') {
        deps.log.error({ webhook: w.name, status: err.statusCode }, 'webhook key secret unreadable');
        throw new HttpError(
          500,
          'Internal',
          `webhook ${w.name} has no usable key (check its Secret and the operator's RBAC)`,
        );
      }
      throw unavailable('cannot read the webhook key: the Kubernetes API server is unavailable');
    }
    const data = secret.data?.[w.secretRef.key];
    if (!data) {
      deps.log.error({ webhook: w.name }, 'webhook key missing from secret');
      throw new HttpError(
        500,
        'Internal',
        `webhook ${w.name} has no usable key (key ${w.secretRef.key} missing)`,
      );
    }
    const key = Buffer.from(data, 'base64');
    keys.set(w.name, { key, expires: Date.now() + (deps.keyTtlMs ?? 30_000) });
    return key;
  }

  r.post(
    '/api/v1/webhooks/:name',
    // An unknown webhook is refused before its body is read: unauthenticated callers get no buffer to fill.
    (req, _res, next) => {
      if (byName.has(String(req.params.name))) return next();
      deps.onDelivery?.('unknown', 'rejected_404');
      next(notFound(`no webhook named ${String(req.params.name).slice(0, 63)}`));
    },
    express.raw({ type: () => true, limit: deps.maxBodyBytes }),
    async (req, res) => {
      const name = String(req.params.name);
      const w = byName.get(name);
      let signature: string | undefined;
      let writing = false;
      const result = (outcome: string) => deps.onDelivery?.(w ? w.name : 'unknown', outcome);
      try {
        if (!w) throw notFound(`no webhook named ${name.slice(0, 63)}`);
        const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const verdict = verify(
          await keyOf(w),
          { signature: req.get(SIGNATURE_HEADER), timestamp: req.get(TIMESTAMP_HEADER) },
          raw,
          now(),
        );
        if (!verdict.ok) throw unauthorizedWebhook(verdict.reason);
        signature = req.get(SIGNATURE_HEADER)!;
        if (!replay.firstUse(signature, now())) {
          signature = undefined;
          throw unauthorizedWebhook('this signature was already used (replay)');
        }
        let json: unknown;
        try {
          json = JSON.parse(raw.toString('utf8'));
        } catch {
          throw badRequest('the request body is not valid JSON');
        }
        const body = parse(WebhookBody, json, 'body');
        for (const k of Object.keys(body.facts)) parseFactKey(k);
        if (!w.namespaces.includes(body.namespace)) {
          throw forbidden(`webhook ${w.name} may not write to namespace ${body.namespace}`);
        }
        const set = Object.fromEntries(Object.entries(body.facts).filter(([, v]) => v !== null)) as Record<
          string,
          string | number
        >;
        const remove = Object.entries(body.facts)
          .filter(([, v]) => v === null)
          .map(([k]) => k);
        writing = true;
        const current = await deps.writer.writeFacts(body.namespace, body.identity, {
          set,
          remove,
          origin: `webhook:${w.name}`,
          ignoreMissing: true,
        });
        deps.log.info(
          { webhook: w.name, namespace: body.namespace, name: body.identity, keys: Object.keys(body.facts) },
          'webhook applied',
        );
        result('applied');
        res.json(current.facts);
      } catch (caught) {
        // The write path speaks in domain errors: the same HTTP status decides here as in the answer.
        const err = caught instanceof WriteError ? fromWriteError(caught) : caught;
        // The delivery did not happen: its sender may retry the same signed request.
        // A write that failed with a 5xx may still have committed: then the signature stays used.
        const uncertain = writing && !(err instanceof HttpError && err.status < 500);
        if (signature && !uncertain) replay.forget(signature);
        result(err instanceof HttpError && err.status < 500 ? `rejected_${err.status}` : 'error');
        throw err;
      }
    },
  );
  return r;
}
