/**
 * The precomputed merged view: keeps each identity's labels and the valid profiles, and writes to the store the
 * served facts (profiles merged beneath the identity's own) whenever either side changes. Reads then serve
 * `FactsEntry.values` as they are: nothing merges on the read path. A profile change recomputes only the
 * identities it selected before or selects now; the store emits a change for each whose served facts changed.
 */
import type { FactMap } from '../api/facts.js';
import { objectKeyOf } from './intern.js';
import {
  applies,
  compareLayers,
  type Labels,
  mergeLayers,
  type ProfileLayer,
  profileKey,
  tiesOf,
} from './layers.js';
import type { FactsEntry, StoreReader, StoreWriter } from './store.js';

const NO_NAMESPACE_LABELS: Labels = Object.freeze({});

/** Identities recomputed per turn of the event loop after a profile change (about 15 ms of work). */
export const FANOUT_CHUNK = 1000;

/** What the DeploymentFacts handler knows of an identity's own facts. */
export type OwnFacts = Omit<FactsEntry, 'own' | 'layers'>;

export interface ProfileSummary {
  selected: number;
  /** Other profile's key → the fact names both set. */
  ties: Map<string, Set<string>>;
}

const NO_LAYERS: readonly ProfileLayer[] = Object.freeze([]);

export class LayeredFacts {
  /** Labels of every identity that has a DeploymentFacts, by namespace and name. */
  readonly #labels = new Map<string, Map<string, Labels | undefined>>();
  readonly #profiles = new Map<string, ProfileLayer>();
  /** The valid profiles in the order they apply. */
  #ordered: readonly ProfileLayer[] = NO_LAYERS;
  /** Identities selected by the same profiles share one frozen list (reset when the profiles change). */
  #shared = new Map<string, readonly ProfileLayer[]>();
  /**
   * Labels of the namespaces seen (by the Namespace informer), for ClusterFactProfiles with a namespaceSelector. A
   * namespace not seen yet is absent, and no namespaceSelector selects it: a `NotIn` must not match before the
   * labels are known.
   */
  readonly #namespaceLabels = new Map<string, Labels | undefined>();
  /** Identities a profile change reaches, not recomputed yet (#drain), by key. */
  readonly #pending = new Map<string, [namespace: string, name: string]>();
  #draining = false;

  constructor(private readonly store: StoreWriter & Pick<StoreReader, 'get'>) {}

  /** An identity's own facts changed (or its labels did). */
  setOwn(namespace: string, name: string, labels: Labels | undefined, own: OwnFacts): void {
    let names = this.#labels.get(namespace);
    if (!names) {
      names = new Map();
      this.#labels.set(namespace, names);
    }
    names.set(name, labels);
    this.#pending.delete(objectKeyOf(namespace, name)); // written with the current profiles now
    this.#write(namespace, name, own.values, this.#layersFor(namespace, labels), own);
  }

  deleteOwn(namespace: string, name: string): void {
    const names = this.#labels.get(namespace);
    if (names?.delete(name) && names.size === 0) this.#labels.delete(namespace);
    this.#pending.delete(objectKeyOf(namespace, name));
    this.store.deleteFacts(namespace, name);
  }

  /**
   * A namespace's labels (from the Namespace informer). Only profiles with a namespaceSelector read them, so a
   * change recomputes that namespace's identities only when one exists.
   */
  setNamespaceLabels(namespace: string, labels: Labels | undefined): void {
    const next = labels ?? NO_NAMESPACE_LABELS;
    if (this.#namespaceLabels.has(namespace) && sameLabels(this.#namespaceLabels.get(namespace), next))
      return;
    this.#namespaceLabels.set(namespace, next);
    this.#recomputeNamespace(namespace);
  }

  /** A namespace gone: as one never seen, no namespaceSelector selects it. */
  deleteNamespace(namespace: string): void {
    if (!this.#namespaceLabels.delete(namespace)) return;
    this.#recomputeNamespace(namespace);
  }

  #recomputeNamespace(namespace: string): void {
    this.#shared = new Map();
    if (!this.#ordered.some((p) => p.namespaceSelector !== undefined)) return;
    for (const name of this.#labels.get(namespace)?.keys() ?? [])
      this.#pending.set(objectKeyOf(namespace, name), [namespace, name]);
    this.#drain();
  }

  /**
   * A valid profile was added or changed. Returns how many identities it reaches; the first FANOUT_CHUNK are
   * recomputed before it returns, the rest in later turns of the event loop (`pending`).
   */
  setProfile(profile: ProfileLayer): number {
    const key = profileKey(profile);
    const prev = this.#profiles.get(key);
    // A status write or a label on the profile comes back as an update: nothing to recompute.
    if (prev && sameLayer(prev, profile)) return 0;
    this.#profiles.set(key, Object.freeze(profile));
    return this.#reorder(prev, profile);
  }

  /** A profile was deleted, or turned invalid: nothing is served from it any more. */
  deleteProfile(key: string): number {
    const prev = this.#profiles.get(key);
    if (!prev) return 0;
    this.#profiles.delete(key);
    return this.#reorder(prev, undefined);
  }

  /** Identities a profile (valid or not) would select now: the status's selectedCount. */
  selectedCount(profile: Pick<ProfileLayer, 'namespace' | 'selector' | 'namespaceSelector'>): number {
    let n = 0;
    const probe = profile as ProfileLayer;
    for (const [namespace, names] of this.#scope(profile.namespace))
      for (const labels of names.values())
        if (applies(probe, namespace, labels, this.#namespaceLabels.get(namespace))) n++;
    return n;
  }

  /**
   * Per valid profile: how many identities it applies to, and the profiles of equal priority that set some of the
   * same facts for an identity both select (with those facts). One walk over the identities; identities with the
   * same profiles share one list, so ties are worked out once per distinct list.
   */
  summarize(): Map<string, ProfileSummary> {
    const out = new Map<string, ProfileSummary>();
    for (const key of this.#profiles.keys()) out.set(key, { selected: 0, ties: new Map() });
    if (out.size === 0) return out;
    const lists = new Map<readonly ProfileLayer[], number>();
    for (const [namespace, names] of this.#labels) {
      for (const name of names.keys()) {
        const layers = this.store.get(namespace, name)?.facts?.layers;
        if (layers && layers.length > 0) lists.set(layers, (lists.get(layers) ?? 0) + 1);
      }
    }
    const tie = (a: string, b: string, facts: string[]) => {
      const ties = out.get(a)?.ties;
      if (!ties) return;
      const seen = ties.get(b) ?? new Set<string>();
      for (const f of facts) seen.add(f);
      ties.set(b, seen);
    };
    for (const [layers, n] of lists) {
      for (const l of layers) {
        const s = out.get(profileKey(l));
        if (s) s.selected += n;
      }
      for (const t of tiesOf(layers)) {
        tie(t.a, t.b, t.facts);
        tie(t.b, t.a, t.facts);
      }
    }
    return out;
  }

  /** The valid profiles, in the order they apply. */
  get profiles(): readonly ProfileLayer[] {
    return this.#ordered;
  }

  #reorder(prev: ProfileLayer | undefined, next: ProfileLayer | undefined): number {
    this.#ordered = Object.freeze([...this.#profiles.values()].sort(compareLayers));
    this.#shared = new Map();
    // Only identities in reach of the old or the new version can change.
    const namespace = (next ?? prev)!.namespace;
    let affected = 0;
    for (const [ns, names] of this.#scope(namespace)) {
      const nsLabels = this.#namespaceLabels.get(ns);
      for (const [name, labels] of names) {
        const was = prev !== undefined && applies(prev, ns, labels, nsLabels);
        const is = next !== undefined && applies(next, ns, labels, nsLabels);
        if (!was && !is) continue;
        this.#pending.set(objectKeyOf(ns, name), [ns, name]);
        affected++;
      }
    }
    this.#drain();
    return affected;
  }

  /**
   * Recomputes pending identities, FANOUT_CHUNK at a time: a profile that touches tens of thousands of identities
   * then holds the event loop (and every read, stream and change listener behind it) a few milliseconds at a time,
   * not for the whole fleet at once. Each chunk uses the profiles as they are by then, so a later change is never
   * undone by an earlier one's tail. Small changes complete before setProfile returns.
   */
  #drain = (): void => {
    let n = 0;
    for (const [key, [ns, name]] of this.#pending) {
      if (n++ === FANOUT_CHUNK) break;
      this.#pending.delete(key);
      const names = this.#labels.get(ns);
      const entry = names?.has(name) ? this.store.get(ns, name)?.facts : undefined;
      if (entry)
        this.#write(ns, name, entry.own ?? entry.values, this.#layersFor(ns, names!.get(name)), entry);
    }
    // One chain at a time: a change made while one is scheduled adds to its queue, never starts another chain
    // (queued callbacks run in one check phase, which would undo the chunking).
    if (this.#pending.size > 0 && !this.#draining) {
      this.#draining = true;
      setImmediate(this.#scheduledDrain);
    }
  };

  #scheduledDrain = (): void => {
    this.#draining = false;
    this.#drain();
  };

  /** Identities whose recompute after a profile change is still to come (bench and tests). */
  get pending(): number {
    return this.#pending.size;
  }

  *#scope(namespace: string | undefined): Iterable<[string, Map<string, Labels | undefined>]> {
    if (namespace === undefined) yield* this.#labels;
    else {
      const names = this.#labels.get(namespace);
      if (names) yield [namespace, names];
    }
  }

  #layersFor(namespace: string, labels: Labels | undefined): readonly ProfileLayer[] {
    if (this.#ordered.length === 0) return NO_LAYERS;
    let key = '';
    const picked: ProfileLayer[] = [];
    const nsLabels = this.#namespaceLabels.get(namespace);
    for (let i = 0; i < this.#ordered.length; i++) {
      const p = this.#ordered[i]!;
      if (applies(p, namespace, labels, nsLabels)) {
        picked.push(p);
        key += `${i},`;
      }
    }
    if (picked.length === 0) return NO_LAYERS;
    const shared = this.#shared.get(key);
    if (shared) return shared;
    const frozen = Object.freeze(picked);
    this.#shared.set(key, frozen);
    return frozen;
  }

  #write(
    namespace: string,
    name: string,
    own: Readonly<FactMap>,
    layers: readonly ProfileLayer[],
    meta: OwnFacts,
  ): void {
    // One literal with every property, so that all entries share one shape.
    this.store.setFacts(namespace, name, {
      values: mergeLayers(layers, own),
      own,
      layers,
      owners: meta.owners,
      generation: meta.generation,
      resourceVersion: meta.resourceVersion,
      ready: meta.ready,
      reason: meta.reason,
    });
  }
}

function sameLabels(a: Labels | undefined, b: Labels | undefined): boolean {
  const ak = Object.keys(a ?? {});
  return ak.length === Object.keys(b ?? {}).length && ak.every((k) => b?.[k] === a?.[k]);
}

function sameLayer(a: ProfileLayer, b: ProfileLayer): boolean {
  if (
    a.priority !== b.priority ||
    JSON.stringify(a.selector) !== JSON.stringify(b.selector) ||
    JSON.stringify(a.namespaceSelector) !== JSON.stringify(b.namespaceSelector)
  )
    return false;
  const ak = Object.keys(a.facts);
  return (
    ak.length === Object.keys(b.facts).length &&
    ak.every((k) => Object.hasOwn(b.facts, k) && a.facts[k] === b.facts[k])
  );
}
