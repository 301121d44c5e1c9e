/**
 * One copy of a string that repeats across tens of thousands of objects (a namespace, a manager name, a fact value
 * such as a region or a tier): JSON.parse makes a new string for every occurrence of anything longer than a few
 * characters. Bounded: when full it starts over rather than grow, so that values that never repeat cost little.
 */
export class Interner {
  readonly #seen = new Map<string, string>();
  constructor(
    private readonly capacity = 10_000,
    /** Longer strings are returned as they are: they rarely repeat, and would hold the table's memory. */
    private readonly maxLength = 64,
  ) {}

  intern(s: string): string {
    if (s.length > this.maxLength) return s;
    const hit = this.#seen.get(s);
    if (hit !== undefined) return hit;
    if (this.#seen.size >= this.capacity) this.#seen.clear();
    this.#seen.set(s, s);
    return s;
  }
}

const namespaces = new Interner(10_000, 253);
const prefixes = new Map<string, string>();

/** `namespace/name`, the key of an object in the informers and the store, with one `namespace/` string per namespace. */
export function objectKeyOf(namespace: string, name: string): string {
  let prefix = prefixes.get(namespace);
  if (prefix === undefined) {
    if (prefixes.size >= 10_000) prefixes.clear();
    prefix = `${namespace}/`;
    prefixes.set(namespace, prefix);
  }
  return prefix + name;
}

/** One string per namespace name. */
export const internNamespace = (namespace: string): string => namespaces.intern(namespace);
