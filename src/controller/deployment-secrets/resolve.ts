/**
 * Resolves a DeploymentSecrets' references against the Secrets cache. The only code in the controller that
 * touches Secret data; what it returns outside `values` is names only.
 */
import {
  type DeploymentSecretsSpec,
  EXPOSE_LABEL,
  EXPOSE_TO_ANNOTATION,
  exposedTo,
} from '../../api/secrets.js';
import type { SecretObject } from '../../api/types.js';
import { SecretValue } from '../../store/secret-value.js';

export type Problem =
  | { reason: 'SecretNotFound'; secret: string; names: string[] }
  | { reason: 'SecretNotExposed'; secret: string; names: string[] }
  | { reason: 'KeyNotFound'; secret: string; key: string; name: string };

export interface Resolution {
  values: Map<string, SecretValue>;
  problems: Problem[];
  /** Names of every Secret the spec refers to, for the Secret → DeploymentSecrets index. */
  referenced: Set<string>;
}

export type SecretLookup = (name: string) => SecretObject | undefined;

export interface ResolveOptions {
  /** A Secret must name the identity in flagops.io/expose-to (default); false: a labelled Secret serves all. */
  requireExposeTo?: boolean;
}

/** Resolves `spec` of the DeploymentSecrets named `identity`; a Secret not exposed to it resolves as not found. */
export function resolveSecrets(
  spec: DeploymentSecretsSpec,
  lookup: SecretLookup,
  identity: string,
  opts: ResolveOptions = {},
): Resolution {
  const requireExposeTo = opts.requireExposeTo ?? true;
  const values = new Map<string, SecretValue>();
  const problems: Problem[] = [];
  const referenced = new Set<string>();
  const missing = new Map<string, string[]>();
  const hidden = new Map<string, string[]>();
  const find = (secretName: string, served: string): SecretObject | undefined => {
    const secret = lookup(secretName);
    if (!secret) missing.set(secretName, [...(missing.get(secretName) ?? []), served]);
    else if (!exposedTo(secret, identity, requireExposeTo)) {
      hidden.set(secretName, [...(hidden.get(secretName) ?? []), served]);
      return undefined;
    }
    return secret;
  };

  // Whole Secrets first, so that explicit entries below override an imported key of the same name.
  for (const source of spec.secretsFrom ?? []) {
    const secretName = source.secretRef.name;
    referenced.add(secretName);
    const secret = find(secretName, `${source.prefix ?? ''}*`);
    if (!secret) continue;
    for (const [key, data] of Object.entries(secret.data ?? {})) {
      values.set(`${source.prefix ?? ''}${key}`, SecretValue.fromBase64(data));
    }
  }

  for (const entry of spec.secrets ?? []) {
    const { name: secretName, key } = entry.secretKeyRef;
    referenced.add(secretName);
    const secret = find(secretName, entry.name);
    if (!secret) continue;
    const data = secret.data && Object.hasOwn(secret.data, key) ? secret.data[key] : undefined;
    if (data === undefined) {
      problems.push({ reason: 'KeyNotFound', secret: secretName, key, name: entry.name });
      continue;
    }
    values.set(entry.name, SecretValue.fromBase64(data));
  }

  const notFound: Problem[] = [...missing].map(([secret, names]) => ({
    reason: 'SecretNotFound',
    secret,
    names,
  }));
  const notExposed: Problem[] = [...hidden].map(([secret, names]) => ({
    reason: 'SecretNotExposed',
    secret,
    names,
  }));
  return { values, problems: [...notFound, ...notExposed, ...problems], referenced };
}

/** One line per problem, names only: safe for status, Events and logs. */
export function describeProblem(p: Problem): string {
  if (p.reason === 'SecretNotExposed')
    return `Secret ${p.secret} is not exposed to this identity (${EXPOSE_TO_ANNOTATION}, or another identity's managed Secret; needed by ${p.names.join(', ')})`;
  return p.reason === 'SecretNotFound'
    ? `Secret ${p.secret} not found or not labelled ${EXPOSE_LABEL}=true (needed by ${p.names.join(', ')})`
    : `key ${p.key} not found in Secret ${p.secret} (needed by ${p.name})`;
}
