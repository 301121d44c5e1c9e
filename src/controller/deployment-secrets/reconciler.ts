/**
 * Reconciles one DeploymentSecrets: resolve its references from the Secrets cache, put the values in the store,
 * write status. Keeps the index from Secret to the DeploymentSecrets that use it, so that a Secret created late,
 * rotated or deleted re-resolves its users at once.
 */
import type { Logger } from 'pino';
import { API_VERSION, SECRETS_KIND } from '../../api/group.js';
import { DeploymentSecretsSpec } from '../../api/secrets.js';
import type { DeploymentSecrets, SecretObject } from '../../api/types.js';
import { secretsPath } from '../../kube/paths.js';
import type { StoreReader, StoreWriter } from '../../store/store.js';
import { type ResourceCache, splitKey } from '../cache.js';
import type { EventRecorder } from '../events.js';
import type { ReconcileResult } from '../queue.js';
import type { StatusWriter } from '../status.js';
import { decideInvalidSecrets, decideSecrets } from './decide.js';
import { resolveSecrets } from './resolve.js';

export interface SecretsReconcilerDeps {
  cache: ResourceCache<DeploymentSecrets>;
  secrets: ResourceCache<SecretObject>;
  store: StoreWriter & Pick<StoreReader, 'get'>;
  status: StatusWriter;
  events: EventRecorder;
  log: Logger;
  now?: () => Date;
}

/** namespace/secretName → keys of the DeploymentSecrets that reference it. */
export class SecretUsers {
  readonly #users = new Map<string, Set<string>>();
  readonly #uses = new Map<string, Set<string>>();

  set(userKey: string, namespace: string, secretNames: Iterable<string>): void {
    this.delete(userKey);
    const uses = new Set<string>();
    for (const s of secretNames) {
      const k = `${namespace}/${s}`;
      uses.add(k);
      const users = this.#users.get(k) ?? new Set<string>();
      users.add(userKey);
      this.#users.set(k, users);
    }
    this.#uses.set(userKey, uses);
  }

  delete(userKey: string): void {
    for (const k of this.#uses.get(userKey) ?? []) {
      const users = this.#users.get(k);
      users?.delete(userKey);
      if (users?.size === 0) this.#users.delete(k);
    }
    this.#uses.delete(userKey);
  }

  usersOf(namespace: string, secretName: string): string[] {
    return [...(this.#users.get(`${namespace}/${secretName}`) ?? [])];
  }
}

export function secretsReconciler(deps: SecretsReconcilerDeps, users: SecretUsers) {
  const now = deps.now ?? (() => new Date());
  return async function reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const obj = deps.cache.get(namespace, name);
    if (!obj) {
      users.delete(key);
      deps.store.deleteSecrets(namespace, name);
      deps.log.debug({ kind: SECRETS_KIND, namespace, name, outcome: 'deleted' }, 'reconciled');
      return {};
    }
    const parsed = DeploymentSecretsSpec.safeParse(obj.spec ?? {});
    if (!parsed.success) {
      // Passed the API server's schema but not ours: keep serving the last resolved values, report the problem.
      const decision = decideInvalidSecrets(obj, parsed.error, now());
      const last = deps.store.get(namespace, name)?.secrets;
      if (last) deps.store.setSecrets(namespace, name, { ...last, ready: false, reason: decision.reason });
      const wrote = await deps.status.write(secretsPath(namespace, name), obj.status, decision.status);
      if (wrote && decision.warning) {
        await deps.events.record(
          { apiVersion: API_VERSION, kind: SECRETS_KIND, metadata: obj.metadata },
          'Warning',
          decision.warning.reason,
          decision.warning.message,
        );
      }
      deps.log.info(
        { kind: SECRETS_KIND, namespace, name, outcome: 'invalid', statusWritten: wrote },
        'reconciled',
      );
      return {};
    }
    const spec = parsed.data;
    const resolution = resolveSecrets(spec, (secretName) => deps.secrets.get(namespace, secretName));
    users.set(key, namespace, resolution.referenced);
    const decision = decideSecrets(
      obj,
      { keys: [...resolution.values.keys()], problems: resolution.problems },
      now(),
    );
    deps.store.setSecrets(namespace, name, {
      values: resolution.values,
      generation: obj.metadata.generation ?? 0,
      resourceVersion: obj.metadata.resourceVersion ?? '',
      ready: decision.ready,
      reason: decision.reason,
      unresolved: resolution.problems.map((p) => (p.reason === 'KeyNotFound' ? p.name : p.names.join(','))),
    });
    const wrote = await deps.status.write(secretsPath(namespace, name), obj.status, decision.status);
    if (decision.warning && wrote) {
      await deps.events.record(
        { apiVersion: API_VERSION, kind: SECRETS_KIND, metadata: obj.metadata },
        'Warning',
        decision.warning.reason,
        decision.warning.message,
      );
    }
    deps.log[wrote ? 'info' : 'debug'](
      {
        kind: SECRETS_KIND,
        namespace,
        name,
        generation: obj.metadata.generation,
        resourceVersion: obj.metadata.resourceVersion,
        outcome: decision.ready ? 'resolved' : 'unresolved',
        reason: decision.reason,
        keys: decision.status.resolvedCount,
        statusWritten: wrote,
      },
      'reconciled',
    );
    return {};
  };
}
