/**
 * Writes facts through the API server with server-side apply under the field manager `flagops-data-store-api`,
 * so that facts applied by GitOps and facts written here live side by side: each apply carries every fact this
 * manager owns, and never a fact owned by someone else. A fact owned by another manager is not taken over
 * silently: the write answers 409 naming the owner unless the caller forces it.
 */

import type { FactMap, FactValue } from '../../api/facts.js';
import { API_VERSION, FACTS_KIND } from '../../api/group.js';
import type { DeploymentFacts } from '../../api/types.js';
import type { KubeClient } from '../../kube/client.js';
import { KubeApiError } from '../../kube/errors.js';
import { factsPath } from '../../kube/paths.js';
import { reached, type StoreReader } from '../../store/store.js';
import { conflict, fromKubeError, notFound, preconditionFailed } from '../errors.js';
import { ownership } from './managed-fields.js';

export const API_FIELD_MANAGER = 'flagops-data-store-api';
export const ORIGIN_ANNOTATION = 'flagops.io/last-written-by';

export interface FactsChange {
  set?: Record<string, FactValue>;
  remove?: string[];
  force?: boolean;
  /** The metadata.generation the object must still have (If-Match). */
  ifMatch?: number;
  /** Who asked, recorded on the object: `user:<name>` or `webhook:<name>`. */
  origin: string;
  /** Removing a fact that is not there is a no-op rather than a 404 (webhooks are retried by their senders). */
  ignoreMissing?: boolean;
}

export interface WriteResult {
  resourceVersion: string;
  generation: number;
  facts: FactMap;
  /** False when the informer did not show the write within the timeout (it is committed all the same). */
  visible: boolean;
}

/** Optimistic writes retry this often when another writer wins the race, with growing jittered pauses. */
export const MAX_ATTEMPTS = 12;
export const backoff = (attempt: number) =>
  new Promise((r) => setTimeout(r, Math.min(200, 5 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random())));

export class FactsWriter {
  constructor(
    private readonly client: KubeClient,
    private readonly reader: StoreReader,
    private readonly visibilityTimeoutMs = 10_000,
  ) {}

  async write(namespace: string, name: string, change: FactsChange): Promise<WriteResult> {
    // An optimistic loop: a concurrent writer between our read and our apply makes the apply fail on the
    // resourceVersion we read, and we try again with fresh ownership. With If-Match, the caller's version rules.
    for (let attempt = 0; ; attempt++) {
      const current = await this.#get(namespace, name);
      const removeOnly = !change.set || Object.keys(change.set).length === 0;
      if (!current && removeOnly && !change.remove?.length)
        throw notFound(`identity ${namespace}/${name} has no facts`);
      if (!current && removeOnly && change.ignoreMissing && change.ifMatch === undefined) {
        return { resourceVersion: '', generation: 0, facts: {}, visible: true };
      }
      if (!current && (change.ifMatch !== undefined || (change.remove?.length && removeOnly))) {
        if (change.ifMatch !== undefined)
          throw preconditionFailed(`DeploymentFacts ${namespace}/${name} does not exist`);
        throw notFound(`identity ${namespace}/${name} has no facts`);
      }
      if (!current) {
        // Create the object empty first (create-only: a concurrent creator makes this fail, and we read again),
        // so that every apply below carries a resourceVersion and no two first writers can drop each other's facts.
        if (attempt >= MAX_ATTEMPTS) throw conflict('the identity kept changing during the write; try again');
        await this.#createEmpty(namespace, name);
        continue;
      }
      if (current && change.ifMatch !== undefined && current.metadata.generation !== change.ifMatch) {
        throw preconditionFailed(
          `DeploymentFacts ${namespace}/${name} is at generation ${current.metadata.generation}, not ${change.ifMatch}`,
        );
      }
      const facts = current?.spec?.facts ?? {};
      const own = ownership(current?.metadata.managedFields, API_FIELD_MANAGER, ['f:spec', 'f:facts']);

      const remove = (change.remove ?? []).filter((k) => Object.hasOwn(facts, k) || !change.ignoreMissing);
      for (const key of remove) {
        if (!Object.hasOwn(facts, key)) throw notFound(`fact ${key} not found in ${namespace}/${name}`);
        const owners = own.others.get(key);
        if (owners && !change.force) {
          throw conflict(
            `fact ${key} is managed by ${owners.join(', ')}; repeat with ?force=true to delete it anyway`,
            key,
          );
        }
      }
      if (!change.force) {
        for (const [key, value] of Object.entries(change.set ?? {})) {
          const owners = own.others.get(key);
          if (owners && facts[key] !== value) {
            throw conflict(
              `fact ${key} is managed by ${owners.join(', ')}; repeat with ?force=true to take it over`,
              key,
            );
          }
        }
      }

      const desired: Record<string, FactValue> = {};
      for (const key of own.ours) if (Object.hasOwn(facts, key)) desired[key] = facts[key]!;
      Object.assign(desired, change.set);
      for (const key of remove) delete desired[key];
      // A fact this manager does not own (GitOps-owned, or owned by nobody once managedFields were cleared) is
      // not removed by leaving it out of the apply: only an update removes it.
      const forcedRemovals = remove.filter((k) => !own.ours.has(k) || own.others.has(k));

      try {
        let obj = await this.client.apply<DeploymentFacts>(
          factsPath(namespace, name),
          {
            apiVersion: API_VERSION,
            kind: FACTS_KIND,
            metadata: {
              name,
              namespace,
              annotations: { [ORIGIN_ANNOTATION]: change.origin },
              // Both preconditions: a resourceVersion alone does not stop an apply from re-creating an object
              // deleted meanwhile; the uid does, and the retry then reads the deletion.
              resourceVersion: current.metadata.resourceVersion,
              uid: current.metadata.uid,
            },
            spec: { facts: desired },
          },
          API_FIELD_MANAGER,
          { force: change.force },
        );
        if (forcedRemovals.length > 0) {
          // Another manager owns these facts; only an update can remove them. Their owner may set them again.
          obj = await this.client.mergePatch<DeploymentFacts>(
            factsPath(namespace, name),
            {
              metadata: { resourceVersion: obj.metadata.resourceVersion, uid: obj.metadata.uid },
              spec: { facts: Object.fromEntries(forcedRemovals.map((k) => [k, null])) },
            },
            { query: { fieldManager: API_FIELD_MANAGER } },
          );
        }
        const rv = obj.metadata.resourceVersion ?? '';
        const visible = await this.reader.until(
          namespace,
          name,
          (i) => reached(i?.facts?.resourceVersion, rv),
          this.visibilityTimeoutMs,
        );
        return {
          resourceVersion: rv,
          generation: obj.metadata.generation ?? 0,
          facts: obj.spec?.facts ?? {},
          visible,
        };
      } catch (err) {
        if (!(err instanceof KubeApiError)) throw err;
        if (err.errorClass === 'conflict') {
          const fieldConflict = err.causes.some((c) => c.reason === 'FieldManagerConflict');
          if (fieldConflict) throw conflict(`${err.message}; repeat with ?force=true to take it over`);
          // Someone wrote between our read and our apply: read again (re-checking If-Match against the new state).
          if (attempt < MAX_ATTEMPTS) {
            await backoff(attempt);
            continue;
          }
        }
        throw fromKubeError(err, `writing DeploymentFacts ${namespace}/${name}`);
      }
    }
  }

  async #createEmpty(namespace: string, name: string): Promise<void> {
    try {
      await this.client.create(
        factsPath(namespace),
        { apiVersion: API_VERSION, kind: FACTS_KIND, metadata: { name, namespace } },
        { query: { fieldManager: API_FIELD_MANAGER } },
      );
    } catch (err) {
      if (err instanceof KubeApiError && err.errorClass === 'conflict') return; // created meanwhile: use it
      throw err instanceof KubeApiError
        ? fromKubeError(err, `creating DeploymentFacts ${namespace}/${name}`)
        : err;
    }
  }

  async #get(namespace: string, name: string): Promise<DeploymentFacts | undefined> {
    try {
      return await this.client.get<DeploymentFacts>(factsPath(namespace, name));
    } catch (err) {
      if (err instanceof KubeApiError && err.errorClass === 'notFound') return undefined;
      if (err instanceof KubeApiError)
        throw fromKubeError(err, `reading DeploymentFacts ${namespace}/${name}`);
      throw err;
    }
  }
}
