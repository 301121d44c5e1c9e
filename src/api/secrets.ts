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
