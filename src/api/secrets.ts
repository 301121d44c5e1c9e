import { createHash } from 'node:crypto';
import { z } from 'zod';
import { FactName } from './facts.js';

/** Kubernetes object names (DNS subdomain) and Secret data keys, as the API server validates them. */
export const SECRET_NAME_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
export const SECRET_KEY_PATTERN = '^[-._a-zA-Z0-9]+$';
export const MAX_SECRET_ENTRIES = 256;
/**
 * A Secret is served through DeploymentSecrets only when it carries this label with the value "true". The owner
 * of a Secret opts in; writing a DeploymentSecrets alone cannot expose a Secret of the namespace.
 */
export const EXPOSE_LABEL = 'flagops.io/expose';
/** Narrows an exposed Secret to the named identities of its namespace (comma-separated DeploymentSecrets names). */
export const EXPOSE_TO_ANNOTATION = 'flagops.io/expose-to';
/** The Secrets the operator writes for API-written values carry these labels; each serves its own identity only. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'flagops-data-store';
export const IDENTITY_LABEL = 'flagops.io/identity';

/** A label value for the identity: the name itself when it fits in 63 characters, else a shortened one with a hash. */
export function labelValue(identity: string): string {
  if (identity.length <= 63) return identity;
  const hash = createHash('sha256').update(identity).digest('hex').slice(0, 10);
  return `${identity.slice(0, 52).replace(/[^a-z0-9]+$/, '')}-${hash}`;
}

/**
 * Whether an exposed Secret may serve the DeploymentSecrets `identity`: a managed Secret serves its own identity
 * only; a Secret annotated with flagops.io/expose-to serves the identities it names; any other serves none, unless
 * `requireExposeTo` is false (--expose-to-required=false, as in 0.1.0), when it serves all of them.
 */
export function exposedTo(
  secret: { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } },
  identity: string,
  requireExposeTo = true,
): boolean {
  const labels = secret.metadata.labels ?? {};
  if (labels[MANAGED_BY_LABEL] === MANAGED_BY && labels[IDENTITY_LABEL] !== labelValue(identity))
    return false;
  const to = secret.metadata.annotations?.[EXPOSE_TO_ANNOTATION];
  if (to === undefined) return !requireExposeTo;
  return to
    .split(',')
    .map((s) => s.trim())
    .includes(identity);
}

/**
 * Whether a Secret is the managed Secret of `identity`: the operator's labels for it and the annotation naming it
 * in full. The label alone is not enough, nor is the Secret's name: both are shortened with a 10-hex-digit hash for
 * long identities, so each can also be another identity's (`managedSecretName` of a 250-character identity is the
 * plain `flagops-<name>` of a 245-character one). Only the annotation holds the whole name.
 */
export function isManagedSecretOf(
  secret: { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } },
  identity: string,
): boolean {
  const labels = secret.metadata.labels ?? {};
  return (
    labels[MANAGED_BY_LABEL] === MANAGED_BY &&
    labels[IDENTITY_LABEL] === labelValue(identity) &&
    secret.metadata.annotations?.[EXPOSE_TO_ANNOTATION] === identity
  );
}

export const SecretObjectName = z
  .string()
  .min(1)
  .max(253)
  .regex(new RegExp(SECRET_NAME_PATTERN), 'must be a DNS subdomain');
export const SecretDataKey = z
  .string()
  .min(1)
  .max(253)
  .regex(new RegExp(SECRET_KEY_PATTERN), "must be letters, digits, '-', '_' or '.'");

/** One named secret, taken from one key of a Secret in the same namespace. */
export const SecretEntry = z.object({
  name: FactName,
  secretKeyRef: z.object({ name: SecretObjectName, key: SecretDataKey }),
});
export type SecretEntry = z.infer<typeof SecretEntry>;

/** A whole Secret whose every key is imported, optionally under a prefix. */
export const SecretSource = z.object({
  secretRef: z.object({ name: SecretObjectName }),
  prefix: z.string().max(32).optional(),
});
export type SecretSource = z.infer<typeof SecretSource>;

export const DeploymentSecretsSpec = z.object({
  secrets: z.array(SecretEntry).max(MAX_SECRET_ENTRIES).optional(),
  secretsFrom: z.array(SecretSource).max(16).optional(),
});
export type DeploymentSecretsSpec = z.infer<typeof DeploymentSecretsSpec>;
