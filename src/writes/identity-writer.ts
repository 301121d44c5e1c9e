/**
 * The one path by which the operator writes an identity to Kubernetes: facts set and removed, secret values put
 * and removed, the identity deleted, webhook deliveries. Each operation reads, plans with a pure planner, writes
 * with preconditions, and on a stale write reads and plans again (retryStale). It returns once the informer-fed
 * store shows the write (StoreReader.until), or says it is not visible yet.
 *
 * Callers authorise before calling: the writer touches nothing but what its arguments name.
 */
import { createHash } from 'node:crypto';
import { type FactMap, FactName, FactValue } from '../api/facts.js';
import { API_FIELD_MANAGER } from '../api/field-managers.js';
import { API_VERSION, FACTS_KIND, SECRETS_KIND } from '../api/group.js';
import {
  EXPOSE_LABEL,
  EXPOSE_TO_ANNOTATION,
  IDENTITY_LABEL,
  isManagedSecretOf,
  labelValue,
  MANAGED_BY,
  MANAGED_BY_LABEL,
} from '../api/secrets.js';
import type { DeploymentFacts, DeploymentSecrets, SecretObject } from '../api/types.js';
import type { KubeClient } from '../kube/client.js';
import { KubeApiError } from '../kube/errors.js';
import { FACTS_FIELDS, ownership, SECRETS_FIELDS } from '../kube/managed-fields.js';
import { corePath, factsPath, secretsPath } from '../kube/paths.js';
import { FACT_ORIGINS_ANNOTATION } from '../store/provenance.js';
import { SecretValue } from '../store/secret-value.js';
import { reached, type StoreReader } from '../store/store.js';
import { conflict, fromKube, StaleWrite, WriteError } from './errors.js';
import { checkFactsChange, checkSecretValue } from './limits.js';
import { type DeleteTarget, type IdentityObjects, planDelete } from './plan-delete.js';
import { type FactsChange, nextOrigins, planFactsApply } from './plan-facts.js';
import { dataKeyInUse, planSecretPut, planSecretRemove } from './plan-secrets.js';
import { retryStale } from './retry.js';

export type { FactsChange } from './plan-facts.js';

export const ORIGIN_ANNOTATION = 'flagops.io/last-written-by';

/** `flagops-<identity>`, shortened with a hash when that would exceed the 253-character name limit. */
export function managedSecretName(identity: string): string {
  const name = `flagops-${identity}`;
  if (name.length <= 253) return name;
  const hash = createHash('sha256').update(identity).digest('hex').slice(0, 10);
  return `${name.slice(0, 242).replace(/[-.]+$/, '')}-${hash}`;
}

export interface FactsWriteResult {
  resourceVersion: string;
  generation: number;
  facts: FactMap;
  /** False when the store did not show the write within the timeout (it is committed all the same). */
  visible: boolean;
}

/**
 * The facts a write answers with: the object's, but only those a read could serve. An object that predates the
 * admission policy (or a cluster without it) may hold an object, a list or a null; the store never serves those, and
 * neither does a write's answer.
 */
function served(raw: Record<string, unknown> | undefined): FactMap {
  const out: FactMap = {};
  for (const [k, v] of Object.entries(raw ?? {})) {
    const value = FactValue.safeParse(v);
    if (value.success && FactName.safeParse(k).success) out[k] = value.data;
  }
  return out;
}

export class IdentityWriter {
  constructor(
    private readonly client: KubeClient,
    private readonly reader: StoreReader,
    private readonly visibilityTimeoutMs = 10_000,
  ) {}

  // ------------------------------------------------------------------ facts

  async writeFacts(namespace: string, name: string, change: FactsChange): Promise<FactsWriteResult> {
    const bad = checkFactsChange(change);
    if (bad) throw bad;
    const what = `DeploymentFacts ${namespace}/${name}`;
    return retryStale(async () => {
      const obj = await this.#get<DeploymentFacts>(factsPath(namespace, name), what);
      const plan = planFactsApply(
        obj && {
          facts: obj.spec?.facts ?? {},
          generation: obj.metadata.generation ?? 0,
          ownership: ownership(obj.metadata.managedFields, API_FIELD_MANAGER, FACTS_FIELDS),
        },
        change,
      );
      if (plan instanceof WriteError) throw withObject(plan, what);
      if (plan.op === 'none') {
        return {
          resourceVersion: obj?.metadata.resourceVersion ?? '',
          generation: plan.generation,
          facts: served(plan.facts),
          visible: true,
        };
      }
      if (plan.op === 'create') {
        // Created empty first (create-only), so that every apply carries a resourceVersion and no two first
        // writers can drop each other's facts; a concurrent creator's object is simply used.
        await this.#create(
          factsPath(namespace),
          { apiVersion: API_VERSION, kind: FACTS_KIND, metadata: { name, namespace } },
          what,
        );
        throw new StaleWrite();
      }
      const current = obj!;
      let written = await this.#apply<DeploymentFacts>(
        factsPath(namespace, name),
        {
          apiVersion: API_VERSION,
          kind: FACTS_KIND,
          metadata: {
            name,
            namespace,
            annotations: {
              [ORIGIN_ANNOTATION]: change.origin,
              [FACT_ORIGINS_ANNOTATION]: nextOrigins(
                current.metadata.annotations?.[FACT_ORIGINS_ANNOTATION],
                plan.desired,
                change.set ?? {},
                change.origin,
                new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
              ),
            },
            // Both preconditions: a resourceVersion alone does not stop an apply from re-creating an object
            // deleted meanwhile; the uid does.
            resourceVersion: current.metadata.resourceVersion,
            uid: current.metadata.uid,
          },
          spec: { facts: plan.desired },
        },
        plan.force,
        what,
      );
      if (plan.forcedRemovals.length > 0) {
        // Another manager owns these facts; only an update removes them. Their owner may set them again.
        written = await this.#write(
          () =>
            this.client.mergePatch<DeploymentFacts>(
              factsPath(namespace, name),
              {
                metadata: { resourceVersion: written.metadata.resourceVersion, uid: written.metadata.uid },
                spec: { facts: Object.fromEntries(plan.forcedRemovals.map((k) => [k, null])) },
              },
              { query: { fieldManager: API_FIELD_MANAGER } },
            ),
          what,
        );
      }
      const rv = written.metadata.resourceVersion ?? '';
      const visible = await this.reader.until(
        namespace,
        name,
        (i) => reached(i?.facts?.resourceVersion, rv),
        this.visibilityTimeoutMs,
      );
      return {
        resourceVersion: rv,
        generation: written.metadata.generation ?? 0,
        facts: served(written.spec?.facts),
        visible,
      };
    });
  }

  // ------------------------------------------------------------------ secrets

  /** Returns whether the new value was visible to reads before the timeout. */
  async putSecret(
    namespace: string,
    name: string,
    key: string,
    value: string,
    opts: { force: boolean; origin: string },
  ): Promise<boolean> {
    const bad = checkSecretValue(key, value);
    if (bad) throw bad;
    const what = `DeploymentSecrets ${namespace}/${name}`;
    const secretName = managedSecretName(name);
    const secretPath = corePath('secrets', namespace, secretName);
    return retryStale(async () => {
      const current = await this.#get<DeploymentSecrets>(secretsPath(namespace, name), what);
      const secret = await this.#get<SecretObject>(secretPath, `Secret ${namespace}/${secretName}`);
      const plan = planSecretPut(
        current && {
          entries: current.spec?.secrets ?? [],
          ownership: ownership(current.metadata.managedFields, API_FIELD_MANAGER, SECRETS_FIELDS),
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
      if (plan.op === 'create') {
        // The DeploymentSecrets first (empty, create-only): it gives every later write a resourceVersion to
        // guard with, and the managed Secret an owner uid.
        await this.#create(
          secretsPath(namespace),
          { apiVersion: API_VERSION, kind: SECRETS_KIND, metadata: { name, namespace } },
          what,
        );
        throw new StaleWrite();
      }
      const ds = current!;
      // The value goes into the Secret before the DeploymentSecrets references it, so that no reader ever sees
      // a reference to a key that is not there yet. A merge patch of one data key cannot drop another key.
      const metadata = {
        labels: {
          [MANAGED_BY_LABEL]: MANAGED_BY,
          [IDENTITY_LABEL]: labelValue(name),
          [EXPOSE_LABEL]: 'true',
        },
        // Exposed to its own identity only: no other DeploymentSecrets of the namespace can reference it.
        annotations: { [EXPOSE_TO_ANNOTATION]: name },
        ownerReferences: [
          {
            apiVersion: API_VERSION,
            kind: SECRETS_KIND,
            name,
            uid: ds.metadata.uid!,
            controller: true,
            blockOwnerDeletion: false,
          },
        ],
      };
      const data = { [key]: Buffer.from(value, 'utf8').toString('base64') };
      const secretWhat = `Secret ${namespace}/${secretName}`;
      if (plan.secret === 'patch') {
        await this.#write(
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
        await this.#create(
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

  async removeSecret(
    namespace: string,
    name: string,
    key: string,
    opts: { force: boolean; origin: string },
  ): Promise<void> {
    const what = `DeploymentSecrets ${namespace}/${name}`;
    const secretName = managedSecretName(name);
    await retryStale(async () => {
      const current = await this.#get<DeploymentSecrets>(secretsPath(namespace, name), what);
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
          ds = await this.#write(
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
    const secret = await this.#get<SecretObject>(path, `Secret ${namespace}/${secretName}`);
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

  // ------------------------------------------------------------------ deletes

  /**
   * Deletes the identity's DeploymentFacts and DeploymentSecrets, and its managed Secret, each only with the
   * permission the caller was found to have, and each guarded by the uid and resourceVersion read: an object
   * created or replaced meanwhile is never deleted.
   */
  async deleteIdentity(
    namespace: string,
    name: string,
    allowed: { facts: boolean; secrets: boolean },
  ): Promise<void> {
    const what = `identity ${namespace}/${name}`;
    const deleted = await retryStale(async () => {
      const objects = await this.#identityObjects(namespace, name);
      const plan = planDelete(objects, allowed);
      if (plan instanceof WriteError) throw withObject(plan, what);
      for (const d of plan.deletes) await this.#deleteGuarded(namespace, name, d.target, d.preconditions);
      return new Set(plan.deletes.map((d) => d.target));
    });
    // Visible once what this call deleted has left the store (an object created meanwhile is someone else's).
    await this.reader.until(
      namespace,
      name,
      (i) => !(deleted.has('facts') && i?.facts) && !(deleted.has('secrets') && i?.secrets),
      this.visibilityTimeoutMs,
    );
  }

  /** Deletes the DeploymentFacts only (the prototype's DELETE /api/fact/:id). */
  async deleteFacts(namespace: string, name: string): Promise<void> {
    const what = `DeploymentFacts ${namespace}/${name}`;
    await retryStale(async () => {
      const facts = await this.#get<DeploymentFacts>(factsPath(namespace, name), what);
      const plan = planDelete({ facts: versionOf(facts) }, { facts: true, secrets: false });
      if (plan instanceof WriteError) throw withObject(plan, what);
      for (const d of plan.deletes) await this.#deleteGuarded(namespace, name, d.target, d.preconditions);
    });
    await this.reader.until(namespace, name, (i) => !i?.facts, this.visibilityTimeoutMs);
  }

  async #identityObjects(namespace: string, name: string): Promise<IdentityObjects> {
    const secretName = managedSecretName(name);
    const [facts, secrets, managed] = await Promise.all([
      this.#get<DeploymentFacts>(factsPath(namespace, name), `DeploymentFacts ${namespace}/${name}`),
      this.#get<DeploymentSecrets>(secretsPath(namespace, name), `DeploymentSecrets ${namespace}/${name}`),
      this.#get<SecretObject>(
        corePath('secrets', namespace, secretName),
        `Secret ${namespace}/${secretName}`,
      ),
    ]);
    // Labels and name may be shortened with a hash, so they can be another identity's: the annotation decides.
    const ours = managed !== undefined && isManagedSecretOf(managed, name);
    return {
      facts: versionOf(facts),
      secrets: versionOf(secrets),
      managedSecret: ours ? versionOf(managed) : undefined,
    };
  }

  async #deleteGuarded(
    namespace: string,
    name: string,
    target: DeleteTarget,
    pre: { uid: string; resourceVersion: string },
  ): Promise<void> {
    const path =
      target === 'facts'
        ? factsPath(namespace, name)
        : target === 'secrets'
          ? secretsPath(namespace, name)
          : corePath('secrets', namespace, managedSecretName(name));
    try {
      await this.client.request('DELETE', path, {
        body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: pre },
      });
    } catch (err) {
      // Gone already (a concurrent delete): that is what was asked. Changed or replaced: read and plan again.
      if (err instanceof KubeApiError && err.errorClass === 'notFound') return;
      if (err instanceof KubeApiError && err.errorClass === 'conflict') throw new StaleWrite();
      throw fromKube(err, `deleting ${namespace}/${name}`);
    }
  }

  // ------------------------------------------------------------------ I/O helpers

  /** Applies the entries this field manager owns, guarded by the resourceVersion and uid they were planned from. */
  #applyEntries(
    current: DeploymentSecrets,
    entries: unknown[],
    opts: { force: boolean; origin: string },
    what: string,
  ): Promise<DeploymentSecrets> {
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
        spec: { secrets: entries },
      },
      opts.force,
      what,
    );
  }

  async #get<T>(path: string, what: string): Promise<T | undefined> {
    try {
      return await this.client.get<T>(path);
    } catch (err) {
      if (err instanceof KubeApiError && err.errorClass === 'notFound') return undefined;
      throw fromKube(err, `reading ${what}`);
    }
  }

  /** Creates an object; one created meanwhile is used as it is, or (`staleIfExists`) means: read and plan again. */
  async #create(path: string, body: unknown, what: string, staleIfExists = false): Promise<void> {
    try {
      await this.client.create(path, body, { query: { fieldManager: API_FIELD_MANAGER } });
    } catch (err) {
      if (err instanceof KubeApiError && err.errorClass === 'conflict') {
        if (staleIfExists) throw new StaleWrite();
        return; // created meanwhile: use it
      }
      throw fromKube(err, `creating ${what}`);
    }
  }

  async #apply<T>(path: string, obj: unknown, force: boolean, what: string): Promise<T> {
    try {
      return await this.client.apply<T>(path, obj, API_FIELD_MANAGER, { force });
    } catch (err) {
      if (err instanceof KubeApiError && err.causes.some((c) => c.reason === 'FieldManagerConflict'))
        throw conflict(`${err.message}; repeat with ?force=true to take it over`);
      if (err instanceof KubeApiError && err.errorClass === 'conflict') throw new StaleWrite();
      throw fromKube(err, `writing ${what}`);
    }
  }

  /** Runs a write, turning a 409 (a stale resourceVersion), or a failed JSON-patch test, into a re-plan. */
  async #write<T>(write: () => Promise<T>, what: string, invalidMeansStale = false): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (err instanceof KubeApiError && err.errorClass === 'conflict') throw new StaleWrite();
      if (invalidMeansStale && err instanceof KubeApiError && err.errorClass === 'invalid')
        throw new StaleWrite();
      throw fromKube(err, `writing ${what}`);
    }
  }
}

function versionOf(obj: { metadata: { uid?: string; resourceVersion?: string } } | undefined) {
  return obj?.metadata.uid && obj.metadata.resourceVersion
    ? { uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion }
    : undefined;
}

/** Planner errors speak of "the identity"; the caller's message names the object. */
function withObject(err: WriteError, what: string): WriteError {
  return new WriteError(
    err.kind,
    `${what}: ${err.message}`,
    err.field,
    err.retryAfterSeconds,
    err.owners ? { owners: err.owners } : undefined,
  );
}
