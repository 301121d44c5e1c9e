/**
 * Webhook configuration, read once at start from the file given by --webhooks-config:
 *
 *   webhooks:
 *     - name: billing
 *       secretRef: { namespace: flagops-system, name: billing-webhook, key: hmac-key }
 *       namespaces: [customers]
 */
import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { z } from 'zod';
import { ConfigError } from '../../config.js';
import { NamespaceName } from '../validate.js';

export const WebhookConfig = z
  .object({
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a DNS label'),
    secretRef: z
      .object({ namespace: NamespaceName, name: z.string().min(1).max(253), key: z.string().min(1).max(253) })
      .strict(),
    namespaces: z.array(NamespaceName).min(1),
  })
  .strict();
export type WebhookConfig = z.infer<typeof WebhookConfig>;

const WebhooksFile = z
  .object({ webhooks: z.array(WebhookConfig).default([]) })
  .strict()
  .refine(
    (f) => new Set(f.webhooks.map((w) => w.name)).size === f.webhooks.length,
    'webhook names must be unique',
  );

/** Throws an Error naming the file and the field when the file is unreadable or invalid. */
export function loadWebhooksConfig(path: string, watchedNamespaces: readonly string[] = []): WebhookConfig[] {
  let doc: unknown;
  try {
    const text = readFileSync(path, 'utf8');
    doc = text.trim() ? load(text) : {}; // an empty file: no webhooks
  } catch (err) {
    throw new ConfigError(`cannot read webhooks config ${path}: ${(err as Error).message}`);
  }
  const parsed = WebhooksFile.safeParse(doc ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(
      `invalid webhooks config ${path}: ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
  }
  // A webhook may only write where this operator watches: elsewhere its writes could never be served.
  for (const w of parsed.data.webhooks) {
    const unwatched = watchedNamespaces.length
      ? w.namespaces.filter((n) => !watchedNamespaces.includes(n))
      : [];
    if (unwatched.length) {
      throw new ConfigError(
        `webhook ${w.name} may write to ${unwatched.join(', ')}, which --namespaces does not watch`,
      );
    }
  }
  return parsed.data.webhooks;
}
