/**
 * Turns DeploymentSecrets events, and changes of the Secrets they reference, into store entries at once; the
 * status each object should show goes to the status queue. Keeps the index from Secret to the DeploymentSecrets
 * that use it, so that a Secret created late, rotated or deleted re-resolves its users at once.
 */
import type { ZodError } from 'zod';
import { DeploymentSecretsSpec, EXPOSE_LABEL, IDENTITY_LABEL, MANAGED_BY_LABEL } from '../../api/secrets.js';
import type { DeploymentSecrets, DeploymentSecretsStatus, SecretObject } from '../../api/types.js';
import type { StoreReader, StoreWriter } from '../../store/store.js';
import { sameStatus } from '../conditions.js';
import type { StatusSync } from '../status-sync.js';
import { decideInvalidSecrets, decideSecrets, type SecretsDecision } from './decide.js';
import { resolveSecrets } from './resolve.js';

/** What the informer keeps of a DeploymentSecrets: its parsed spec (references only), versions and status. */
export interface SecretsRecord {
  metadata: { name: string; namespace: string; uid?: string; generation?: number; resourceVersion?: string };
  status?: DeploymentSecretsStatus;
  spec?: DeploymentSecretsSpec;
  invalid?: ZodError;
}

export function keepSecrets(obj: DeploymentSecrets): SecretsRecord {
  const m = obj.metadata;
  const parsed = DeploymentSecretsSpec.safeParse(obj.spec ?? {});
  return {
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      generation: m.generation,
      resourceVersion: m.resourceVersion,
    },
    status: obj.status,
    ...(parsed.success ? { spec: parsed.data } : { invalid: parsed.error }),
  };
}

/** What the informer keeps of a Secret: its name, data and the operator's own annotations. */
export function keepSecret(obj: SecretObject): SecretObject {
  const m = obj.metadata;
  const annotations = Object.fromEntries(
    Object.entries(m.annotations ?? {}).filter(([k]) => k.startsWith('flagops.io/')),
  );
  return {
    metadata: {
      name: m.name,
      namespace: m.namespace,
      resourceVersion: m.resourceVersion,
      // The labels that decide exposure; nothing else of the Secret's metadata is kept.
      labels: Object.fromEntries(
        [EXPOSE_LABEL, MANAGED_BY_LABEL, IDENTITY_LABEL].flatMap((k) =>
          m.labels?.[k] === undefined ? [] : [[k, m.labels[k]]],
        ),
      ),
      ...(Object.keys(annotations).length ? { annotations } : {}),
    },
    data: obj.data ?? {},
  };
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

export interface SecretsHandlerDeps {
  store: StoreWriter & Pick<StoreReader, 'get'>;
  status: StatusSync;
  /** The Secrets cache (opted-in Secrets only). */
  secret: (namespace: string, name: string) => SecretObject | undefined;
  /** The DeploymentSecrets cache. */
  record: (namespace: string, name: string) => SecretsRecord | undefined;
  /** --expose-to-required: a Secret serves only the identities its flagops.io/expose-to names (default true). */
  requireExposeTo?: boolean;
  now?: () => Date;
}

export function secretsHandler(deps: SecretsHandlerDeps) {
  const now = deps.now ?? (() => new Date());
  const users = new SecretUsers();

  function index(record: SecretsRecord): void {
    const { namespace, name } = record.metadata;
    const key = `${namespace}/${name}`;
    let decision: SecretsDecision;
    if (!record.spec) {
      // Passed the API server's schema but not ours: keep serving the last resolved values, report the problem.
      decision = decideInvalidSecrets(record, record.invalid!, now());
      const last = deps.store.get(namespace, name)?.secrets;
      if (last) deps.store.setSecrets(namespace, name, { ...last, ready: false, reason: decision.reason });
    } else {
      const resolution = resolveSecrets(
        record.spec,
        (secretName) => deps.secret(namespace, secretName),
        name,
        { requireExposeTo: deps.requireExposeTo },
      );
      users.set(key, namespace, resolution.referenced);
      decision = decideSecrets(
        record,
        { keys: [...resolution.values.keys()], problems: resolution.problems },
        now(),
      );
      deps.store.setSecrets(namespace, name, {
        values: resolution.values,
        generation: record.metadata.generation ?? 0,
        resourceVersion: record.metadata.resourceVersion ?? '',
        ready: decision.ready,
        reason: decision.reason,
        unresolved: resolution.problems.map((p) => (p.reason === 'KeyNotFound' ? p.name : p.names.join(','))),
      });
    }
    deps.status.set(
      key,
      sameStatus(record.status ?? {}, decision.status)
        ? undefined
        : {
            uid: record.metadata.uid,
            resourceVersion: record.metadata.resourceVersion,
            current: record.status,
            desired: decision.status,
            warning: decision.warning,
          },
    );
  }

  return {
    upsert: index,
    remove(record: SecretsRecord): void {
      const { namespace, name } = record.metadata;
      const key = `${namespace}/${name}`;
      users.delete(key);
      deps.store.deleteSecrets(namespace, name);
      deps.status.set(key, undefined);
    },
    /** A referenced Secret was added, changed or deleted: resolve its users again. */
    secretChanged(namespace: string, secretName: string): void {
      for (const key of users.usersOf(namespace, secretName)) {
        const record = deps.record(namespace, key.slice(namespace.length + 1));
        if (record) index(record);
      }
    },
  };
}
