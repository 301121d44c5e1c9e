/**
 * Plans secret writes from the DeploymentSecrets and the managed Secret as read. Pure. A value written through
 * the API lives in the identity's managed Secret (`flagops-<identity>`), referenced by an entry the API applies
 * under its own field manager, so that entries managed by GitOps stay untouched.
 */
import type { SecretEntry } from '../api/secrets.js';
import type { Ownership } from '../kube/managed-fields.js';
import { conflict, notFound, type WriteError } from './errors.js';

export interface CurrentSecrets {
  entries: readonly SecretEntry[];
  ownership: Ownership;
}

export interface ManagedSecretState {
  /** Carries the operator's managed-by label (a Secret of that name made by someone else is not touched). */
  managed: boolean;
  /**
   * Is this identity's own managed Secret (labels and the `flagops.io/expose-to` annotation name it). A managed
   * Secret of the same name that belongs to another identity (names are shortened with a hash for long
   * identities, so two identities can share one) is never written: that would hand its values to this identity.
   */
  ours: boolean;
}

export type SecretPutPlan = { op: 'put'; entries: SecretEntry[]; secret: 'create' | 'patch'; force: boolean };

/** `current`: the DeploymentSecrets as read, or as just created (empty) for a new identity. */
export function planSecretPut(
  current: CurrentSecrets,
  secret: ManagedSecretState | undefined,
  key: string,
  secretName: string,
  force: boolean,
): SecretPutPlan | WriteError {
  const existing = current.entries.find((e) => e.name === key);
  const pointsHere = existing?.secretKeyRef.name === secretName && existing.secretKeyRef.key === key;
  const owners = current.ownership.others.get(key);
  if (owners && !pointsHere && !force)
    return conflict(
      `secret ${key} is managed by ${owners.join(', ')}; repeat with ?force=true to take it over`,
      key,
    );
  if (secret && !secret.managed)
    return conflict(`Secret ${secretName} exists and is not managed by flagops-data-store`);
  if (secret && !secret.ours)
    return conflict(`Secret ${secretName} is the managed Secret of another identity`);
  const entries = current.entries.filter((e) => current.ownership.ours.has(e.name) && e.name !== key);
  entries.push({ name: key, secretKeyRef: { name: secretName, key } });
  return { op: 'put', entries, secret: secret ? 'patch' : 'create', force };
}

export type SecretRemovePlan = {
  op: 'remove';
  /** The API's entries after the removal: the apply's whole spec.secrets. */
  entries: SecretEntry[];
  /** The entry is owned by another manager, or by none: only an update (a JSON patch of the list element) removes it. */
  update: boolean;
  /** The managed Secret's data key the entry referenced, to clean up once no entry uses it. */
  dataKey?: string;
  force: boolean;
};

export function planSecretRemove(
  current: CurrentSecrets | undefined,
  key: string,
  secretName: string,
  force: boolean,
): SecretRemovePlan | WriteError {
  const entry = current?.entries.find((e) => e.name === key);
  if (!current || !entry) return notFound(`secret ${key} not found`);
  const owners = current.ownership.others.get(key);
  if (owners && !force)
    return conflict(
      `secret ${key} is managed by ${owners.join(', ')}; repeat with ?force=true to delete it anyway`,
      key,
    );
  return {
    op: 'remove',
    entries: current.entries.filter((e) => current.ownership.ours.has(e.name) && e.name !== key),
    // An entry the API does not own alone is not removed by leaving it out of the apply: owned by another manager,
    // or by nobody (managedFields cleared), only an update removes it.
    update: owners !== undefined || !current.ownership.ours.has(key),
    ...(entry.secretKeyRef.name === secretName ? { dataKey: entry.secretKeyRef.key } : {}),
    force,
  };
}

/** Whether a data key of the managed Secret is still referenced after a removal (a put may have re-added it). */
export function dataKeyInUse(entries: readonly SecretEntry[], secretName: string, dataKey: string): boolean {
  return entries.some((e) => e.secretKeyRef.name === secretName && e.secretKeyRef.key === dataKey);
}
