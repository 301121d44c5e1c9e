/**
 * The one reader of managedFields: which field manager owns which key of a map (`f:<key>`) or list-map
 * (`k:{"name":"<key>"}`) under a fieldsV1 path. Writes, FactSources and provenance all read ownership here.
 */
import type { ManagedFieldsEntry } from '../api/types.js';

/** fieldsV1 paths of the maps the operator reads ownership of. */
export const FACTS_FIELDS: readonly string[] = ['f:spec', 'f:facts'];
export const SECRETS_FIELDS: readonly string[] = ['f:spec', 'f:secrets'];

/**
 * The fieldsV1 node an entry holds at `path`, or undefined when it holds none. Entries of a subresource (status
 * is the operator's own) hold none.
 */
export function managedNode(
  entry: ManagedFieldsEntry,
  path: readonly string[],
): Record<string, unknown> | undefined {
  if (entry.subresource) return undefined;
  let node: unknown = entry.fieldsV1;
  for (const p of path) node = (node as Record<string, unknown> | undefined)?.[p];
  return node && typeof node === 'object' ? (node as Record<string, unknown>) : undefined;
}

/** The key a fieldsV1 child names: `f:<key>`, or the `name` of `k:{"name":"<key>"}`; undefined otherwise. */
export function fieldKey(field: string): string | undefined {
  if (field.startsWith('f:')) return field.slice(2);
  if (field.startsWith('k:')) {
    try {
      const k = JSON.parse(field.slice(2)) as { name?: unknown };
      return typeof k.name === 'string' ? k.name : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export interface Ownership {
  /** Keys owned by `manager` through Apply. */
  ours: Set<string>;
  /** Key → the other managers that own it (any operation). */
  others: Map<string, string[]>;
}

/** Who owns which key of the map or list-map at `path`, seen from `manager`. */
export function ownership(
  entries: readonly ManagedFieldsEntry[] | undefined,
  manager: string,
  path: readonly string[],
): Ownership {
  const ours = new Set<string>();
  const others = new Map<string, string[]>();
  for (const e of entries ?? []) {
    const node = managedNode(e, path);
    if (!node) continue;
    for (const field of Object.keys(node)) {
      const key = fieldKey(field);
      if (key === undefined) continue;
      if (e.manager === manager && e.operation === 'Apply') ours.add(key);
      else others.set(key, [...(others.get(key) ?? []), e.manager ?? 'unknown']);
    }
  }
  return { ours, others };
}
