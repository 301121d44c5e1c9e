/**
 * POST /api/v1/webhooks/{name}: fact updates from systems that hold no Kubernetes token, authenticated by an
 * HMAC signature with a key read from a Kubernetes Secret, and limited to the namespaces configured for that
 * webhook. Writes go through the same server-side apply as the API, recording `webhook:<name>` as their origin.
 * The webhooks' keys and replay memory are in runtime.ts.
 */
import { z } from 'zod';
import { FactMap, type FactValue } from '../../api/facts.js';
import { WriteError } from '../../writes/errors.js';
import { badRequest, forbidden, fromWriteError, HttpError, notFound, unavailable } from '../errors.js';
import { route } from '../route-spec.js';
import { parse } from '../validate.js';
import { WebhookBody } from './body.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verify } from './signature.js';

const unauthorizedWebhook = (reason: string) =>
  new HttpError(401, 'Unauthorized', `webhook signature refused: ${reason}`);

export const webhookRoutes = [
  route({
    method: 'POST',
    path: '/api/v1/webhooks/:name',
    tags: ['webhooks'],
    summary: 'Signed fact updates from systems without a Kubernetes token',
    // Authenticated by the HMAC signature below, not by a bearer token.
    public: true,
    params: { name: { schema: z.string(), field: 'name', description: 'a configured webhook' } },
    docBody: WebhookBody,
    docParameters: [
      {
        name: 'X-Flagops-Timestamp',
        in: 'header',
        required: true,
        schema: { type: 'string' },
        description: 'Unix seconds; must be within 5 minutes',
      },
      {
        name: 'X-Flagops-Signature',
        in: 'header',
        required: true,
        schema: { type: 'string' },
        description: 'sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">',
      },
    ],
    responses: { 200: { description: 'the facts after the write', schema: FactMap } },
    errors: [400, 401, 403, 404, 409, 413, 500, 503],
    handler: async (ctx) => {
      const { params, deps: server, request } = ctx;
      const rt = server.webhooks;
      const name = params.name;
      // An unknown webhook is refused before its body is read: unauthenticated callers get no buffer to fill.
      if (!rt)
        throw notFound(`no route for POST /api/v1/webhooks/${name.slice(0, 63)}: no webhooks are configured`);
      const w = rt.byName.get(name);
      const { deps } = rt;
      if (!w) {
        deps.onDelivery?.('unknown', 'rejected_404');
        throw notFound(`no webhook named ${name.slice(0, 63)}`);
      }
      let signature: string | undefined;
      let writing = false;
      const result = (outcome: string) => deps.onDelivery?.(w.name, outcome);
      try {
        const raw = await ctx.readRaw();
        const headers = {
          signature: request.headers[SIGNATURE_HEADER] as string | undefined,
          timestamp: request.headers[TIMESTAMP_HEADER] as string | undefined,
        };
        const now = rt.now();
        const verdict = verify(await rt.keyOf(w), headers, raw, now);
        if (!verdict.ok) throw unauthorizedWebhook(verdict.reason);
        const use = rt.replay.firstUse(headers.signature!, Number(headers.timestamp), now);
        if (use === 'replay') throw unauthorizedWebhook('this signature was already used (replay)');
        if (use === 'full') throw unavailable('too many recent deliveries to remember; retry later', 5);
        signature = headers.signature!;
        let json: unknown;
        try {
          json = JSON.parse(raw.toString('utf8'));
        } catch {
          throw badRequest('the request body is not valid JSON');
        }
        const body = parse(WebhookBody, json, 'body');
        if (!w.namespaces.includes(body.namespace)) {
          throw forbidden(`webhook ${w.name} may not write to namespace ${body.namespace}`);
        }
        const set: Record<string, FactValue> = {};
        const remove: string[] = [];
        for (const [k, v] of Object.entries(body.facts)) {
          if (v === null) remove.push(k);
          else set[k] = v;
        }
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
        return current.facts;
      } catch (caught) {
        // The write path speaks in domain errors: the same HTTP status decides here as in the answer.
        const err = caught instanceof WriteError ? fromWriteError(caught) : caught;
        // The delivery did not happen: its sender may retry the same signed request.
        // A write that failed with a 5xx may still have committed: then the signature stays used.
        const uncertain = writing && !(err instanceof HttpError && err.status < 500);
        if (signature && !uncertain) rt.replay.forget(signature);
        result(err instanceof HttpError && err.status < 500 ? `rejected_${err.status}` : 'error');
        throw err;
      }
    },
  }),
];
