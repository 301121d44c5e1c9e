/**
 * The configured webhooks with what serving them needs: each webhook's key (read from its Secret, cached
 * briefly) and the replay memory. One per server; the webhook delivery route (delivery.ts) uses it.
 */
import type { Logger } from 'pino';
import type { SecretObject } from '../../api/types.js';
import { KubeApiError } from '../../kube/errors.js';
import type { Writer } from '../../writes/writer.js';
import { HttpError, unavailable } from '../errors.js';
import type { WebhookConfig } from './config.js';
import { ReplayGuard } from './signature.js';

export interface WebhookDeps {
  webhooks: readonly WebhookConfig[];
  /** Reads the Secret holding a webhook's key; undefined when it does not exist. */
  readSecret: (namespace: string, name: string) => Promise<SecretObject | undefined>;
  writer: Writer;
  log: Logger;
  onDelivery?: (webhook: string, result: string) => void;
  nowSeconds?: () => number;
  /** How long a key read from its Secret is reused. */
  keyTtlMs?: number;
}

/** The configured webhooks with their key cache and replay memory: one per server. */
export interface WebhookRuntime {
  readonly deps: WebhookDeps;
  readonly byName: ReadonlyMap<string, WebhookConfig>;
  keyOf(w: WebhookConfig): Promise<Buffer>;
  readonly replay: ReplayGuard;
  now(): number;
}

export function webhookRuntime(deps: WebhookDeps): WebhookRuntime {
  const keys = new Map<string, { key: Buffer; expires: number }>();

  async function keyOf(w: WebhookConfig): Promise<Buffer> {
    const cached = keys.get(w.name);
    if (cached && cached.expires > Date.now()) return cached.key;
    let secret: SecretObject | undefined;
    try {
      secret = await deps.readSecret(w.secretRef.namespace, w.secretRef.name);
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
    const data = secret?.data?.[w.secretRef.key];
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

  return {
    deps,
    byName: new Map(deps.webhooks.map((w) => [w.name, w])),
    keyOf,
    replay: new ReplayGuard(),
    now: deps.nowSeconds ?? (() => Math.floor(Date.now() / 1000)),
  };
}
