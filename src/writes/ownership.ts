/** Reads server-side-apply ownership out of managedFields: which manager owns which key of a map or list. */
import type { ManagedFieldsEntry } from '../api/types.js';

export interface Ownership {
  /** Keys owned by `manager` through Apply. */
  ours: Set<string>;
  /** Key → other managers that own it (any operation). */
  others: Map<string, string[]>;
}

/**
 * `path` is the fieldsV1 path to the map, e.g. ['f:spec', 'f:facts']; its children are `f:<key>` for map keys
 * and `k:{"name":"<key>"}` for list-map entries.
 */
export function ownership(
  entries: readonly ManagedFieldsEntry[] | undefined,
  manager: string,
  path: string[],
): Ownership {
  const ours = new Set<string>();
  const others = new Map<string, string[]>();
  for (const e of entries ?? []) {
    if (e.subresource) continue; // status is the operator's own
    let node: unknown = e.fieldsV1;
    for (const p of path) node = (node as Record<string, unknown> | undefined)?.[p];
    if (!node || typeof node !== 'object') continue;
    for (const field of Object.keys(node)) {
      const key = fieldKey(field);
      if (key === undefined) continue;
      if (e.manager === manager && e.operation === 'Apply') ours.add(key);
      else others.set(key, [...(others.get(key) ?? []), e.manager ?? 'unknown']);
    }
  }
  return { ours, others };
}

function fieldKey(field: string): string | undefined {
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
