/**
 * Writes secret values through the API server. A value lives in a Secret the operator manages for the identity
 * (owned by its DeploymentSecrets, so deleting the identity removes it); the DeploymentSecrets gets an entry
 * referencing it, applied under the API's field manager so that GitOps-managed entries stay untouched.
 */
import { createHash } from 'node:crypto';
import { API_VERSION, SECRETS_KIND } from '../../api/group.js';
import {
  type DeploymentSecrets,
  EXPOSE_LABEL,
  type SecretEntry,
  type SecretObject,
} from '../../api/index.js';
import type { KubeClient } from '../../kube/client.js';
import { KubeApiError } from '../../kube/errors.js';
import { corePath, secretsPath } from '../../kube/paths.js';
import { SecretValue } from '../../store/secret-value.js';
import type { StoreReader } from '../../store/store.js';
import { conflict, fromKubeError, notFound } from '../errors.js';
import { API_FIELD_MANAGER, backoff, MAX_ATTEMPTS, ORIGIN_ANNOTATION } from './facts-writer.js';
import { ownership } from './managed-fields.js';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'flagops-data-store';
export const IDENTITY_LABEL = 'flagops.io/identity';

/** `flagops-<identity>`, shortened with a hash when that would exceed the 253-character name limit. */
export function managedSecretName(identity: string): string {
  const name = `flagops-${identity}`;
  if (name.length <= 253) return name;
  const hash = createHash('sha256').update(identity).digest('hex').slice(0, 10);
  return `${name.slice(0, 242).replace(/[-.]+$/, '')}-${hash}`;
}

/** A label value for the identity: the name itself when it fits in 63 characters, else a shortened one with a hash. */
export function labelValue(identity: string): string {
  if (identity.length <= 63) return identity;
  const hash = createHash('sha256').update(identity).digest('hex').slice(0, 10);
  return `${identity.slice(0, 52).replace(/[^a-z0-9]+$/, '')}-${hash}`;
}

/** Another writer changed the object between our read and our apply. */
class StaleWrite extends Error {}

async function retryOnStale<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof StaleWrite)) throw err;
      if (i >= MAX_ATTEMPTS) throw conflict('the identity kept changing during the write; try again');
      await backoff(i);
    }
  }
}

export class SecretsWriter {
  constructor(
    private readonly client: KubeClient,
    private readonly reader: StoreReader,
    private readonly visibilityTimeoutMs = 10_000,
  ) {}

  /**
   * Returns whether the new value was visible to reads before the timeout. Every apply carries the
   * resourceVersion it was computed from, so that two concurrent writes cannot drop each other's keys; the loser
   * reads again and retries.
   */
  async put(
    namespace: string,
    name: string,
    key: string,
    value: string,
    opts: { force: boolean; origin: string },
  ): Promise<boolean> {
    return retryOnStale(() => this.#putOnce(namespace, name, key, value, opts));
  }

  async #putOnce(
    namespace: string,
    name: string,
    key: string,
    value: string,
    opts: { force: boolean; origin: string },
  ): Promise<boolean> {
    // Creating the DeploymentSecrets first (empty, create-only) gives every later write a resourceVersion to
    // guard with, and the managed Secret an owner uid; a concurrent creator's object is simply used.
    const current =
      (await this.#get<DeploymentSecrets>(secretsPath(namespace, name))) ??
      (await this.#createEmpty(namespace, name));
    const secretName = managedSecretName(name);
    const entries = current.spec?.secrets ?? [];
    const own = ownership(current.metadata.managedFields, API_FIELD_MANAGER, ['f:spec', 'f:secrets']);
    const existing = entries.find((e) => e.name === key);
    const pointsHere = existing?.secretKeyRef.name === secretName && existing.secretKeyRef.key === key;
    const owners = own.others.get(key);
    if (owners && !pointsHere && !opts.force) {
      throw conflict(
        `secret ${key} is managed by ${owners.join(', ')}; repeat with ?force=true to take it over`,
        key,
      );
    }
    const desired: SecretEntry[] = entries.filter((e) => own.ours.has(e.name) && e.name !== key);
    desired.push({ name: key, secretKeyRef: { name: secretName, key } });

    // The value goes into the Secret before the DeploymentSecrets references it, so that no reader ever sees a
    // reference to a key that is not there yet (no transient SecretNotFound, no Warning Event). A merge patch of
    // one data key cannot drop another writer's key.
    const secretPath = corePath('secrets', namespace, secretName);
    const secret = await this.#get<SecretObject>(secretPath);
    if (secret && secret.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) {
      throw conflict(`Secret ${namespace}/${secretName} exists and is not managed by ${MANAGED_BY}`);
    }
    const metadata = {
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [IDENTITY_LABEL]: labelValue(name), [EXPOSE_LABEL]: 'true' },
      ownerReferences: [
        {
          apiVersion: API_VERSION,
          kind: SECRETS_KIND,
          name,
          uid: current.metadata.uid,
          controller: true,
          blockOwnerDeletion: false,
        },
      ],
    };
    const data = { [key]: Buffer.from(value, 'utf8').toString('base64') };
    await this.#write(async () => {
      if (secret)
        await this.client.mergePatch(
          secretPath,
          { metadata, data },
          { query: { fieldManager: API_FIELD_MANAGER } },
        );
      else {
        await this.client.create(
          corePath('secrets', namespace),
          {
            apiVersion: 'v1',
            kind: 'Secret',
            type: 'Opaque',
            metadata: { name: secretName, namespace, ...metadata },
            data,
          },
          { query: { fieldManager: API_FIELD_MANAGER } },
        );
      }
    }, `writing Secret ${namespace}/${secretName}`);
    await this.#applyEntries(current, desired, opts);
    const expected = SecretValue.fromPlain(value);
    return this.reader.until(
      namespace,
      name,
      (i) => i?.secrets?.values.get(key)?.equals(expected) === true,
      this.visibilityTimeoutMs,
    );
  }

  async remove(
    namespace: string,
    name: string,
    key: string,
    opts: { force: boolean; origin: string },
  ): Promise<void> {
    return retryOnStale(() => this.#removeOnce(namespace, name, key, opts));
  }

  async #removeOnce(
    namespace: string,
    name: string,
    key: string,
    opts: { force: boolean; origin: string },
  ): Promise<void> {
    const current = await this.#get<DeploymentSecrets>(secretsPath(namespace, name));
    const entries = current?.spec?.secrets ?? [];
    const entry = entries.find((e) => e.name === key);
    if (!current || !entry) throw notFound(`secret ${key} not found in ${namespace}/${name}`);
    const own = ownership(current.metadata.managedFields, API_FIELD_MANAGER, ['f:spec', 'f:secrets']);
    const owners = own.others.get(key);
    if (owners && !opts.force) {
      throw conflict(
        `secret ${key} is managed by ${owners.join(', ')}; repeat with ?force=true to delete it anyway`,
        key,
      );
    }
    const desired = entries.filter((e) => own.ours.has(e.name) && e.name !== key);
    let ds = await this.#applyEntries(current, desired, opts);
    if (owners) {
      // Owned elsewhere too: only an update removes it (a JSON patch on the list element, guarded by a test of
      // its name; a failed test means the list moved under us, so read again).
      const index = (ds.spec?.secrets ?? []).findIndex((e) => e.name === key);
      if (index >= 0) {
        await this.#write(
          async () => {
            ds = await this.client.request<DeploymentSecrets>('PATCH', secretsPath(namespace, name), {
              body: [
                { op: 'test', path: `/spec/secrets/${index}/name`, value: key },
                { op: 'remove', path: `/spec/secrets/${index}` },
              ],
              contentType: 'application/json-patch+json',
              query: { fieldManager: API_FIELD_MANAGER },
            });
          },
          `updating DeploymentSecrets ${namespace}/${name}`,
          true,
        );
      }
    }
    const secretName = managedSecretName(name);
    // The data key the removed entry referenced (not the served name: another entry may map to it).
    const dataKey = entry.secretKeyRef.key;
    if (entry.secretKeyRef.name === secretName) {
      const secretPath = corePath('secrets', namespace, secretName);
      const secret = await this.#get<SecretObject>(secretPath);
      // A put of the same key may have re-referenced it since our apply: then the data key stays.
      const after = await this.#get<DeploymentSecrets>(secretsPath(namespace, name));
      const stillUsed = (after?.spec?.secrets ?? []).some(
        (e) => e.secretKeyRef.name === secretName && e.secretKeyRef.key === dataKey,
      );
      if (
        !stillUsed &&
        secret?.data &&
        Object.hasOwn(secret.data, dataKey) &&
        secret.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY
      ) {
        // Removing the data key is clean-up after the entry is gone (already committed): guarded by the Secret's
        // resourceVersion, and skipped rather than retried when the Secret changed meanwhile (a leftover key is
        // harmless; the entry is what serves it).
        try {
          await this.client.mergePatch(
            secretPath,
            { metadata: { resourceVersion: secret.metadata.resourceVersion }, data: { [dataKey]: null } },
            { query: { fieldManager: API_FIELD_MANAGER } },
          );
        } catch (err) {
          if (!(err instanceof KubeApiError && err.errorClass === 'conflict')) {
            throw err instanceof KubeApiError
              ? fromKubeError(err, `updating Secret ${namespace}/${secretName}`)
              : err;
          }
        }
      }
    }
    await this.reader.until(namespace, name, (i) => !i?.secrets?.values.has(key), this.visibilityTimeoutMs);
  }

  /** Deletes the managed Secret; the DeploymentSecrets is deleted by the identity route. */
  async deleteManagedSecret(namespace: string, name: string): Promise<void> {
    const secretName = managedSecretName(name);
    const secret = await this.#get<SecretObject>(corePath('secrets', namespace, secretName));
    if (secret?.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) return;
    try {
      await this.client.delete(corePath('secrets', namespace, secretName));
    } catch (err) {
      if (err instanceof KubeApiError && err.errorClass === 'notFound') return;
      throw err instanceof KubeApiError
        ? fromKubeError(err, `deleting Secret ${namespace}/${secretName}`)
        : err;
    }
  }

  /** Applies the entries this field manager owns, guarded by the resourceVersion they were computed from. */
  #applyEntries(
    current: DeploymentSecrets,
    desired: SecretEntry[],
    opts: { force: boolean; origin: string },
  ) {
    // resourceVersion and uid: the uid keeps an apply from re-creating an identity deleted meanwhile.
    const { name, namespace, resourceVersion, uid } = current.metadata;
    return this.#apply<DeploymentSecrets>(
      secretsPath(namespace, name),
      {
        apiVersion: API_VERSION,
        kind: SECRETS_KIND,
        metadata: {
          name,
          namespace,
          resourceVersion,
          uid,
          annotations: { [ORIGIN_ANNOTATION]: opts.origin },
        },
        spec: { secrets: desired },
      },
      opts.force,
    );
  }

  async #createEmpty(namespace: string, name: string): Promise<DeploymentSecrets> {
    try {
      return await this.client.create<DeploymentSecrets>(
        secretsPath(namespace),
        { apiVersion: API_VERSION, kind: SECRETS_KIND, metadata: { name, namespace } },
        { query: { fieldManager: API_FIELD_MANAGER } },
      );
    } catch (err) {
      if (err instanceof KubeApiError && err.errorClass === 'conflict') throw new StaleWrite(); // created meanwhile
      throw err instanceof KubeApiError
        ? fromKubeError(err, `creating DeploymentSecrets ${namespace}/${name}`)
        : err;
    }
  }

  /** Runs a write, turning a 409 (AlreadyExists, a stale resourceVersion), or a failed JSON-patch test, into a retry. */
  async #write(write: () => Promise<unknown>, what: string, invalidMeansStale = false): Promise<void> {
    try {
      await write();
    } catch (err) {
      if (err instanceof KubeApiError && err.errorClass === 'conflict') throw new StaleWrite();
      if (invalidMeansStale && err instanceof KubeApiError && err.errorClass === 'invalid')
        throw new StaleWrite();
      throw err instanceof KubeApiError ? fromKubeError(err, what) : err;
    }
  }

  async #get<T>(path: string): Promise<T | undefined> {
    try {
      return await this.client.get<T>(path);
    } catch (err) {
      if (err instanceof KubeApiError && err.errorClass === 'notFound') return undefined;
      throw err instanceof KubeApiError ? fromKubeError(err, `reading ${path}`) : err;
    }
  }

  async #apply<T>(path: string, obj: unknown, force = false): Promise<T> {
    try {
      return await this.client.apply<T>(path, obj, API_FIELD_MANAGER, { force });
    } catch (err) {
      if (err instanceof KubeApiError && err.causes.some((c) => c.reason === 'FieldManagerConflict')) {
        throw conflict(`${err.message}; repeat with ?force=true to take it over`);
      }
      if (err instanceof KubeApiError && err.errorClass === 'conflict') throw new StaleWrite();
      throw err instanceof KubeApiError ? fromKubeError(err, `writing ${path}`) : err;
    }
  }
}
