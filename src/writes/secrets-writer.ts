/**
 * Secret values put and removed. A value lives in the identity's managed Secret (managed-secret.ts), referenced by
 * an entry of its DeploymentSecrets that the API applies under its own field manager (plan-secrets.ts). A new
 * identity's DeploymentSecrets is created by an apply first: the managed Secret needs its uid as owner.
 */
import { API_FIELD_MANAGER } from '../api/field-managers.js';
import { API_VERSION, SECRETS_KIND } from '../api/group.js';
import {
  EXPOSE_LABEL,
  EXPOSE_TO_ANNOTATION,
  IDENTITY_LABEL,
  isManagedSecretOf,
  labelValue,
  MANAGED_BY,
  MANAGED_BY_LABEL,
} from '../api/secrets.js';
import type { DeploymentSecrets, SecretObject } from '../api/types.js';
import type { KubeClient } from '../kube/client.js';
import { KubeApiError } from '../kube/errors.js';
import { ownership, SECRETS_FIELDS } from '../kube/managed-fields.js';
import { corePath, secretsPath } from '../kube/paths.js';
import { SecretValue } from '../store/secret-value.js';
import type { StoreReader } from '../store/store.js';
import { fromKube, WriteError } from './errors.js';
import {
  ABSENT_RESOURCE_VERSION,
  applyGuarded,
  createOrUse,
  readOrAbsent,
  withObject,
  writeOrStale,
} from './kube-io.js';
import { checkSecretValue } from './limits.js';
import { managedSecretName } from './managed-secret.js';
import { dataKeyInUse, planSecretPut, planSecretRemove } from './plan-secrets.js';
import { retryStale } from './retry.js';
import { ORIGIN_ANNOTATION, type SecretWriteOptions } from './writer.js';

/** The managed Secret's labels, annotation and owner: exposed to its own identity only, owned by its DeploymentSecrets. */
function managedSecretMetadata(identity: string, ownerUid: string) {
  return {
    labels: {
      [MANAGED_BY_LABEL]: MANAGED_BY,
      [IDENTITY_LABEL]: labelValue(identity),
      [EXPOSE_LABEL]: 'true',
    },
    // No other DeploymentSecrets of the namespace can reference it.
    annotations: { [EXPOSE_TO_ANNOTATION]: identity },
    ownerReferences: [
      {
        apiVersion: API_VERSION,
        kind: SECRETS_KIND,
        name: identity,
        uid: ownerUid,
        controller: true,
        blockOwnerDeletion: false,
      },
    ],
  };
}

export class SecretsWriter {
  constructor(
    private readonly client: KubeClient,
    private readonly reader: StoreReader,
    private readonly visibilityTimeoutMs: number,
  ) {}

  /** Returns whether the new value was visible to reads before the timeout. */
  async putSecret(
    namespace: string,
    name: string,
    key: string,
    value: string,
    opts: SecretWriteOptions,
  ): Promise<boolean> {
    const bad = checkSecretValue(key, value);
    if (bad) throw bad;
    const what = `DeploymentSecrets ${namespace}/${name}`;
    const secretName = managedSecretName(name);
    const secretPath = corePath('secrets', namespace, secretName);
    const secretWhat = `Secret ${namespace}/${secretName}`;
    return retryStale(async () => {
      const ds =
        (await readOrAbsent<DeploymentSecrets>(this.client, secretsPath(namespace, name), what)) ??
        (await this.#createEmpty(namespace, name, what));
      const secret = await readOrAbsent<SecretObject>(this.client, secretPath, secretWhat);
      const plan = planSecretPut(
        {
          entries: ds.spec?.secrets ?? [],
          ownership: ownership(ds.metadata.managedFields, API_FIELD_MANAGER, SECRETS_FIELDS),
        },
        secret && {
          managed: secret.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY,
          ours: isManagedSecretOf(secret, name),
        },
        key,
        secretName,
        opts.force,
      );
      if (plan instanceof WriteError) throw withObject(plan, what);
      // The value goes into the Secret before the DeploymentSecrets references it, so that no reader ever sees
      // a reference to a key that is not there yet. A merge patch of one data key cannot drop another key.
      const metadata = managedSecretMetadata(name, ds.metadata.uid!);
      const data = { [key]: Buffer.from(value, 'utf8').toString('base64') };
      if (plan.secret === 'patch') {
        await writeOrStale(
          () =>
            this.client.mergePatch(
              secretPath,
              { metadata, data },
              { query: { fieldManager: API_FIELD_MANAGER } },
            ),
          secretWhat,
        );
      } else {
        // Created by a concurrent put meanwhile: re-plan, and patch our key into it.
        await createOrUse(
          this.client,
          corePath('secrets', namespace),
          {
            apiVersion: 'v1',
            kind: 'Secret',
            type: 'Opaque',
            metadata: { name: secretName, namespace, ...metadata },
            data,
          },
          secretWhat,
          true,
        );
      }
      await this.#applyEntries(ds, plan.entries, opts, what);
      const expected = SecretValue.fromPlain(value);
      return this.reader.until(
        namespace,
        name,
        (i) => i?.secrets?.values.get(key)?.equals(expected) === true,
        this.visibilityTimeoutMs,
      );
    });
  }

  async removeSecret(namespace: string, name: string, key: string, opts: SecretWriteOptions): Promise<void> {
    const what = `DeploymentSecrets ${namespace}/${name}`;
    const secretName = managedSecretName(name);
    await retryStale(async () => {
      const current = await readOrAbsent<DeploymentSecrets>(this.client, secretsPath(namespace, name), what);
      const plan = planSecretRemove(
        current && {
          entries: current.spec?.secrets ?? [],
          ownership: ownership(current.metadata.managedFields, API_FIELD_MANAGER, SECRETS_FIELDS),
        },
        key,
        secretName,
        opts.force,
      );
      if (plan instanceof WriteError) throw withObject(plan, what);
      let ds = await this.#applyEntries(current!, plan.entries, opts, what);
      if (plan.update) {
        // Owned elsewhere too: a JSON patch of the list element, guarded by a test of its name (a failed test
        // means the list moved under us: read again).
        const index = (ds.spec?.secrets ?? []).findIndex((e) => e.name === key);
        if (index >= 0) {
          ds = await writeOrStale(
            () =>
              this.client.request<DeploymentSecrets>('PATCH', secretsPath(namespace, name), {
                body: [
                  { op: 'test', path: `/spec/secrets/${index}/name`, value: key },
                  { op: 'remove', path: `/spec/secrets/${index}` },
                ],
                contentType: 'application/json-patch+json',
                query: { fieldManager: API_FIELD_MANAGER },
              }),
            what,
            true,
          );
        }
      }
      if (plan.dataKey && !dataKeyInUse(ds.spec?.secrets ?? [], secretName, plan.dataKey)) {
        await this.#dropDataKey(namespace, name, secretName, plan.dataKey);
      }
    });
    await this.reader.until(namespace, name, (i) => !i?.secrets?.values.has(key), this.visibilityTimeoutMs);
  }

  /**
   * A new identity's DeploymentSecrets, empty: it gives the managed Secret an owner uid and every later write a
   * resourceVersion to guard with. Created by an apply; one created meanwhile is a stale write (read again).
   */
  #createEmpty(namespace: string, name: string, what: string): Promise<DeploymentSecrets> {
    return applyGuarded<DeploymentSecrets>(
      this.client,
      secretsPath(namespace, name),
      {
        apiVersion: API_VERSION,
        kind: SECRETS_KIND,
        metadata: { name, namespace, resourceVersion: ABSENT_RESOURCE_VERSION },
      },
      false,
      what,
    );
  }

  /**
   * Clean-up after the entry is gone (already committed): guarded by the Secret's resourceVersion, and skipped
   * rather than retried when the Secret changed meanwhile (a leftover key is harmless; the entry serves it).
   */
  async #dropDataKey(
    namespace: string,
    identity: string,
    secretName: string,
    dataKey: string,
  ): Promise<void> {
    const path = corePath('secrets', namespace, secretName);
    const secret = await readOrAbsent<SecretObject>(this.client, path, `Secret ${namespace}/${secretName}`);
    if (!secret?.data || !Object.hasOwn(secret.data, dataKey)) return;
    // Only this identity's own managed Secret: one of the same name may be another identity's.
    if (!isManagedSecretOf(secret, identity)) return;
    try {
      await this.client.mergePatch(
        path,
        { metadata: { resourceVersion: secret.metadata.resourceVersion }, data: { [dataKey]: null } },
        { query: { fieldManager: API_FIELD_MANAGER } },
      );
    } catch (err) {
      if (!(err instanceof KubeApiError && err.errorClass === 'conflict'))
        throw fromKube(err, `updating Secret ${namespace}/${secretName}`);
    }
  }

  /** Applies the entries this field manager owns, guarded by the resourceVersion and uid they were planned from. */
  #applyEntries(
    current: DeploymentSecrets,
    entries: unknown[],
    opts: SecretWriteOptions,
    what: string,
  ): Promise<DeploymentSecrets> {
    const { name, namespace, resourceVersion, uid } = current.metadata;
    return applyGuarded<DeploymentSecrets>(
      this.client,
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
        spec: { secrets: entries },
      },
      opts.force,
      what,
    );
  }
}
