/**
 * Where each fact came from: which field manager set it (a GitOps tool, kubectl, the API on behalf of a user or a
 * webhook, a fact source), through which path, and when. Derived from the object's managedFields and from the
 * annotation in which the API writer records, per fact, who asked and when.
 *
 * The store keeps the compact form (`FactOwners`) with interned manager names; the identity view expands it.
 */
import { API_FIELD_MANAGER, SOURCE_FIELD_MANAGER_PREFIX } from '../api/field-managers.js';
import type { ManagedFieldsEntry } from '../api/types.js';
import { FACTS_FIELDS, managedNode } from '../kube/managed-fields.js';
import { Interner } from './intern.js';

/** Set by the API writer: `{"<fact>": {"by": "user:alice" | "webhook:billing", "at": "<RFC 3339>"}}`. */
export const FACT_ORIGINS_ANNOTATION = 'flagops.io/fact-origins';

export interface FactOwner {
  readonly manager: string;
  readonly operation: string;
  readonly time?: string;
  readonly facts: readonly string[];
}

export interface FactOwners {
  readonly owners: readonly FactOwner[];
  /** The API writer's per-fact record, as found on the object (parsed only when the view asks). */
  readonly origins?: string;
}

export type FactPath = 'gitops' | 'kubectl' | 'api' | 'webhook' | 'source' | 'other';

export interface FactProvenance {
  /** The field manager that owns the fact (the first one, when several share it). */
  manager: string;
  path: FactPath;
  /** Who: the GitOps tool, `user:<name>`, `webhook:<name>` or the source's name. */
  by: string;
  /** When it was last set, as far as the API server or the writer recorded it. */
  at?: string;
  /** Other managers that also own the fact. */
  coOwners?: string[];
}

/** One string per manager name (and write time) across all identities: they repeat in every object. */
const managerNames = new Interner(10_000, Number.POSITIVE_INFINITY);
const intern = (s: string) => managerNames.intern(s);

/**
 * Owner lists by content. Objects written by the same tool in the same second have the same list (often one
 * manager owning every fact): tens of thousands of identities then share a handful of frozen lists instead of
 * holding four objects each. Bounded like the interned names.
 */
const sharedOwners = new Map<string, FactOwners>();
const NO_OWNERS: readonly FactOwner[] = Object.freeze([]);

/** The owners of spec.facts keys, from managedFields (status and other subresources left out). */
export function factOwners(
  entries: readonly ManagedFieldsEntry[] | undefined,
  annotations: Readonly<Record<string, string>> | undefined,
  factNames: readonly string[],
): FactOwners | undefined {
  let names: Map<string, string> | undefined;
  let owners: FactOwner[] | undefined;
  let key = '';
  for (const e of entries ?? []) {
    const facts = managedNode(e, FACTS_FIELDS);
    if (!facts) continue;
    names ??= new Map(factNames.map((n) => [`f:${n}`, n]));
    // Reuse the fact-name strings of the served values rather than holding copies; sized exactly (an array grown
    // by push keeps room for 17 elements).
    let count = 0;
    for (const f in facts) if (names.has(f)) count++;
    if (count === 0) continue;
    const keys = new Array<string>(count);
    let k = 0;
    for (const f in facts) {
      const n = names.get(f);
      if (n !== undefined) keys[k++] = n;
    }
    const manager = intern(e.manager ?? 'unknown');
    const operation = intern(e.operation ?? 'Update');
    const owner: FactOwner = e.time
      ? { manager, operation, time: intern(e.time), facts: keys }
      : { manager, operation, facts: keys };
    owners = owners ? [...owners, owner] : [owner];
    // NUL cannot occur in a manager name, an operation, a time or a fact name: the key is unambiguous.
    key += `${manager}\0${operation}\0${e.time ?? ''}\0${keys.join('\0')}\0\0`;
  }
  const origins = annotations?.[FACT_ORIGINS_ANNOTATION];
  if (!owners) return origins === undefined ? undefined : { owners: NO_OWNERS, origins };
  let shared = sharedOwners.get(key);
  if (shared === undefined) {
    if (sharedOwners.size >= 10_000) sharedOwners.clear();
    for (const o of owners) Object.freeze(o.facts);
    shared = Object.freeze({ owners: Object.freeze(owners.map((o) => Object.freeze(o))) });
    sharedOwners.set(key, shared);
  }
  // The API writer's record is per object: only the list is shared then.
  return origins === undefined ? shared : { owners: shared.owners, origins };
}

/** How a field manager's name maps to a path. Argo CD and Flux use fixed manager names. */
export function pathOf(manager: string): FactPath {
  if (manager === API_FIELD_MANAGER) return 'api';
  if (manager.startsWith(SOURCE_FIELD_MANAGER_PREFIX)) return 'source';
  if (manager.startsWith('kubectl')) return 'kubectl';
  if (/argocd|argo-cd|kustomize-controller|helm-controller|flux|gitops/i.test(manager)) return 'gitops';
  return 'other';
}

/** The provenance of every served fact; facts owned by no manager (managedFields cleared) are left out. */
export function describeProvenance(o: FactOwners | undefined): Record<string, FactProvenance> {
  const out: Record<string, FactProvenance> = Object.create(null);
  if (!o) return out;
  let origins: Record<string, { by?: unknown; at?: unknown }> = {};
  try {
    const parsed: unknown = o.origins ? JSON.parse(o.origins) : {};
    if (parsed && typeof parsed === 'object') origins = parsed as typeof origins;
  } catch {
    // a hand-edited annotation: fall back to managedFields alone
  }
  // The API's own record first when it owns the fact: it knows the user or webhook behind the write.
  const ordered = [...o.owners].sort(
    (a, b) => Number(b.manager === API_FIELD_MANAGER) - Number(a.manager === API_FIELD_MANAGER),
  );
  for (const owner of ordered) {
    for (const fact of owner.facts) {
      const existing = out[fact];
      if (existing) {
        existing.coOwners = [...(existing.coOwners ?? []), owner.manager];
        continue;
      }
      let path = pathOf(owner.manager);
      let by = path === 'source' ? owner.manager.slice(SOURCE_FIELD_MANAGER_PREFIX.length) : owner.manager;
      let at = owner.time;
      const origin = path === 'api' && Object.hasOwn(origins, fact) ? origins[fact] : undefined;
      if (origin && typeof origin.by === 'string') {
        by = origin.by;
        if (by.startsWith('webhook:')) path = 'webhook';
        if (typeof origin.at === 'string') at = origin.at;
      }
      out[fact] = { manager: owner.manager, path, by, ...(at ? { at } : {}) };
    }
  }
  return out;
}
