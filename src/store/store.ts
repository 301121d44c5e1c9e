/**
 * The in-memory index the HTTP API reads. Controllers write through StoreWriter; the server gets a StoreReader.
 * It is only a cache of what the informers saw: a restart rebuilds it from a full list.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { FactMap } from '../api/facts.js';
import { internNamespace, objectKeyOf } from './intern.js';
import type { ProfileLayer } from './layers.js';
import type { FactOwners } from './provenance.js';
import { contentHash, type SecretValue } from './secret-value.js';

export interface FactsEntry {
  /** The served facts: the profiles' facts merged beneath the identity's own (layered-facts.ts), precomputed. */
  readonly values: Readonly<FactMap>;
  /** The identity's own facts, from its DeploymentFacts; absent or `values` itself when no profile applies. */
  readonly own?: Readonly<FactMap>;
  /** The profiles applied beneath `own`, in the order they apply (layers.ts); shared and frozen. */
  readonly layers?: readonly ProfileLayer[];
  /** Who set which fact, compactly (provenance.ts); absent when nobody is recorded. */
  readonly owners?: FactOwners;
  readonly generation: number;
  readonly resourceVersion: string;
  readonly ready: boolean;
  readonly reason: string;
}

export interface SecretsEntry {
  /** Values by served name. Never serialise this map: SecretValue prints [REDACTED]. */
  readonly values: ReadonlyMap<string, SecretValue>;
  readonly generation: number;
  readonly resourceVersion: string;
  readonly ready: boolean;
  readonly reason: string;
  /** Names of references that did not resolve. */
  readonly unresolved: readonly string[];
  /** Hash of the values, to tell whether they changed without holding them twice. */
  readonly hash: string;
}

export interface Identity {
  readonly namespace: string;
  readonly name: string;
  readonly facts?: FactsEntry;
  readonly secrets?: SecretsEntry;
  /** Store revision of the identity's last change; doubles as an ETag. */
  readonly revision: number;
}

export type ChangeKind = 'facts' | 'secrets';

/** One change to one identity. Carries key names only, never values. */
export interface ChangeEvent {
  readonly revision: number;
  readonly kind: ChangeKind;
  readonly action: 'upsert' | 'delete';
  readonly namespace: string;
  readonly name: string;
  /** Names of the facts or secret keys that were added, changed or removed. */
  readonly keys: readonly string[];
}

export interface ListOptions {
  namespace?: string;
  prefix?: string;
  limit?: number;
  /** An opaque token from a previous page: the key to continue after. */
  continue?: string;
}

export interface StoreReader {
  /** Random per store instance (per process): revisions of different replicas or restarts never compare. */
  readonly epoch: string;
  get(namespace: string, name: string): Identity | undefined;
  list(opts?: ListOptions): { items: Identity[]; continue?: string };
  readonly revision: number;
  readonly size: number;
  counts(): { identities: number; facts: number; secretKeys: number; secretsFailing: number };
  /** Changes after `revision` still in the replay buffer, or undefined when they have been dropped. */
  changesSince(revision: number): ChangeEvent[] | undefined;
  onChange(listener: (e: ChangeEvent) => void): () => void;
  /**
   * Resolves true as soon as `check` holds for the identity (undefined once it is gone), checked now and after each
   * change the store commits for it; false after `timeoutMs`. How a writer learns that its write is visible.
   */
  until(
    namespace: string,
    name: string,
    check: (identity: Identity | undefined) => boolean,
    timeoutMs: number,
  ): Promise<boolean>;
}

/** Whether resourceVersion `seen` is at or after `target`. They are opaque, but integers in practice. */
export function reached(seen: string | undefined, target: string): boolean {
  if (seen === undefined) return false;
  if (seen === target) return true;
  if (/^\d+$/.test(seen) && /^\d+$/.test(target)) return BigInt(seen) >= BigInt(target);
  return false;
}

export interface StoreWriter {
  setFacts(namespace: string, name: string, entry: FactsEntry): void;
  deleteFacts(namespace: string, name: string): void;
  setSecrets(namespace: string, name: string, entry: Omit<SecretsEntry, 'hash'>): void;
  deleteSecrets(namespace: string, name: string): void;
}

const keyOf = objectKeyOf;

/**
 * Every identity has the same five properties (an absent kind is undefined), so that all share one hidden class with
 * the properties in the object itself; and one namespace string serves all identities of a namespace.
 */
const identity = (
  namespace: string,
  name: string,
  facts: FactsEntry | undefined,
  secrets: SecretsEntry | undefined,
  revision: number,
): Identity => ({ namespace: internNamespace(namespace), name, facts, secrets, revision });

export class Store implements StoreReader, StoreWriter {
  readonly #items = new Map<string, Identity>();
  /** Sorted keys for ordered listing; rebuilt lazily after inserts and deletes. */
  #sortedKeys: string[] | undefined;
  #revision = 0;
  readonly #counts = { facts: 0, secretKeys: 0, secretsFailing: 0 };
  readonly #events = new EventEmitter();
  /**
   * The replay buffer is `#replay[#replayHead..]`. Dropping the oldest event only moves the head (and releases the
   * slot); the array is compacted once the dropped prefix is as long as what is kept, so that a full buffer costs
   * O(1) per change instead of shifting 10,000 entries on every commit (as a splice(0, 1) did, at every list).
   */
  #replay: (ChangeEvent | undefined)[] = [];
  #replayHead = 0;
  #replayKeys = 0;
  readonly epoch = randomBytes(4).toString('hex');
  /** Writers waiting for an identity to reach a state, by key. */
  readonly #waiters = new Map<string, Set<() => void>>();

  constructor(private readonly replayCapacity = 10_000) {
    this.#events.setMaxListeners(0);
  }

  get revision() {
    return this.#revision;
  }
  get size() {
    return this.#items.size;
  }

  get(namespace: string, name: string): Identity | undefined {
    return this.#items.get(keyOf(namespace, name));
  }

  list(opts: ListOptions = {}): { items: Identity[]; continue?: string } {
    this.#sortedKeys ??= [...this.#items.keys()].sort();
    const keys = this.#sortedKeys;
    const from = opts.namespace ? keyOf(opts.namespace, opts.prefix ?? '') : '';
    let i = lowerBound(
      keys,
      opts.continue !== undefined && opts.continue > from ? `${opts.continue}\0` : from,
    );
    const limit = opts.limit ?? Number.POSITIVE_INFINITY;
    const items: Identity[] = [];
    for (; i < keys.length && items.length < limit; i++) {
      const item = this.#items.get(keys[i]!)!;
      if (opts.namespace !== undefined && item.namespace !== opts.namespace) break;
      if (opts.prefix && !item.name.startsWith(opts.prefix)) {
        if (opts.namespace !== undefined) break; // keys are sorted: no later name in this namespace matches
        continue;
      }
      items.push(item);
    }
    const more = i < keys.length && items.length === limit;
    const last = items.at(-1);
    return more && last ? { items, continue: keyOf(last.namespace, last.name) } : { items };
  }

  counts() {
    // Kept up to date by every write: a scrape must not walk tens of thousands of identities.
    return {
      identities: this.#items.size,
      facts: this.#counts.facts,
      secretKeys: this.#counts.secretKeys,
      secretsFailing: this.#counts.secretsFailing,
    };
  }

  /** Moves the counts from what `prev` held to what `next` holds. */
  #account(prev: Identity | undefined, next: Identity | undefined) {
    const c = this.#counts;
    if (prev?.facts) c.facts -= Object.keys(prev.facts.values).length;
    if (prev?.secrets) {
      c.secretKeys -= prev.secrets.values.size;
      c.secretsFailing -= prev.secrets.unresolved.length;
    }
    if (next?.facts) c.facts += Object.keys(next.facts.values).length;
    if (next?.secrets) {
      c.secretKeys += next.secrets.values.size;
      c.secretsFailing += next.secrets.unresolved.length;
    }
  }

  changesSince(revision: number): ChangeEvent[] | undefined {
    if (revision >= this.#revision) return [];
    const first = this.#replay[this.#replayHead];
    if (!first || first.revision > revision + 1) return undefined;
    const out: ChangeEvent[] = [];
    for (let i = this.#replayHead; i < this.#replay.length; i++) {
      const e = this.#replay[i]!;
      if (e.revision > revision) out.push(e);
    }
    return out;
  }

  onChange(listener: (e: ChangeEvent) => void): () => void {
    this.#events.on('change', listener);
    return () => this.#events.off('change', listener);
  }

  until(
    namespace: string,
    name: string,
    check: (identity: Identity | undefined) => boolean,
    timeoutMs: number,
  ): Promise<boolean> {
    if (check(this.get(namespace, name))) return Promise.resolve(true);
    const key = keyOf(namespace, name);
    return new Promise((resolve) => {
      const waiters = this.#waiters.get(key) ?? new Set();
      this.#waiters.set(key, waiters);
      const done = (result: boolean) => {
        clearTimeout(timer);
        waiters.delete(waiter);
        if (waiters.size === 0 && this.#waiters.get(key) === waiters) this.#waiters.delete(key);
        resolve(result);
      };
      const waiter = () => {
        if (check(this.get(namespace, name))) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      timer.unref();
      waiters.add(waiter);
    });
  }

  #notify(key: string) {
    const waiters = this.#waiters.get(key);
    if (waiters) for (const w of [...waiters]) w();
  }

  setFacts(namespace: string, name: string, entry: FactsEntry): void {
    const prev = this.get(namespace, name);
    const keys = changedFactKeys(prev?.facts?.values, entry.values);
    // Same values, or a new empty entry (an object just created by a writer): nothing changed for readers, so
    // keep the revision (and so the ETag) and refresh the bookkeeping only.
    if ((prev?.facts && keys.length === 0) || (!prev?.facts && keys.length === 0 && entry.ready)) {
      this.#put(identity(namespace, name, entry, prev?.secrets, prev?.revision ?? this.#revision));
      return;
    }
    this.#commit(namespace, name, (rev) => identity(namespace, name, entry, prev?.secrets, rev), {
      kind: 'facts',
      action: 'upsert',
      keys,
    });
  }

  deleteFacts(namespace: string, name: string): void {
    const prev = this.get(namespace, name);
    if (!prev?.facts) return;
    this.#commit(
      namespace,
      name,
      (rev) => (prev.secrets ? identity(namespace, name, undefined, prev.secrets, rev) : undefined),
      {
        kind: 'facts',
        action: 'delete',
        keys: Object.keys(prev.facts.values).sort(),
      },
    );
  }

  setSecrets(namespace: string, name: string, input: Omit<SecretsEntry, 'hash'>): void {
    const prev = this.get(namespace, name);
    const entry: SecretsEntry = { ...input, hash: contentHash(input.values) };
    const keys = changedSecretKeys(prev?.secrets?.values, entry.values);
    const statusChanged =
      prev?.secrets?.ready !== entry.ready || prev.secrets.unresolved.join() !== entry.unresolved.join();
    // A new entry with nothing in it and nothing wrong changes nothing for readers: no event.
    const emptyNew = !prev?.secrets && entry.values.size === 0 && entry.ready;
    if ((prev?.secrets && keys.length === 0 && !statusChanged) || emptyNew) {
      this.#put(identity(namespace, name, prev?.facts, entry, prev?.revision ?? this.#revision));
      return;
    }
    this.#commit(namespace, name, (rev) => identity(namespace, name, prev?.facts, entry, rev), {
      kind: 'secrets',
      action: 'upsert',
      keys,
    });
  }

  deleteSecrets(namespace: string, name: string): void {
    const prev = this.get(namespace, name);
    if (!prev?.secrets) return;
    this.#commit(
      namespace,
      name,
      (rev) => (prev.facts ? identity(namespace, name, prev.facts, undefined, rev) : undefined),
      {
        kind: 'secrets',
        action: 'delete',
        keys: [...prev.secrets.values.keys()].sort(),
      },
    );
  }

  /** Replaces an item without a change event (bookkeeping only). */
  #put(item: Identity) {
    const key = keyOf(item.namespace, item.name);
    const prev = this.#items.get(key);
    if (!prev) this.#sortedKeys = undefined;
    this.#account(prev, item);
    this.#items.set(key, item);
    this.#notify(key);
  }

  #commit(
    namespace: string,
    name: string,
    next: (revision: number) => Identity | undefined,
    change: Omit<ChangeEvent, 'revision' | 'namespace' | 'name'>,
  ) {
    const revision = ++this.#revision;
    const key = keyOf(namespace, name);
    const item = next(revision);
    const prev = this.#items.get(key);
    const existed = prev !== undefined;
    this.#account(prev, item);
    if (item) this.#items.set(key, item);
    else this.#items.delete(key);
    if (existed !== this.#items.has(key)) this.#sortedKeys = undefined;
    const event: ChangeEvent = { revision, namespace, name, ...change };
    this.#replay.push(event);
    this.#replayKeys += event.keys.length;
    // Bounded by events and by key names held (an event may name up to 256 keys), dropping the oldest first.
    while (
      this.#replay.length - this.#replayHead > this.replayCapacity ||
      (this.#replayKeys > this.replayCapacity * 8 && this.#replay.length - this.#replayHead > 1)
    ) {
      this.#replayKeys -= this.#replay[this.#replayHead]!.keys.length;
      this.#replay[this.#replayHead++] = undefined;
    }
    if (this.#replayHead > 0 && this.#replayHead >= this.#replay.length - this.#replayHead) {
      this.#replay = this.#replay.slice(this.#replayHead);
      this.#replayHead = 0;
    }
    this.#notify(key);
    this.#events.emit('change', event);
  }
}

function lowerBound(sorted: string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function changedFactKeys(prev: Readonly<FactMap> | undefined, next: Readonly<FactMap>): string[] {
  const keys = new Set<string>();
  for (const [k, v] of Object.entries(next))
    if (!prev || prev[k] !== v || !Object.hasOwn(prev, k)) keys.add(k);
  for (const k of Object.keys(prev ?? {})) if (!Object.hasOwn(next, k)) keys.add(k);
  return [...keys].sort();
}

function changedSecretKeys(
  prev: ReadonlyMap<string, SecretValue> | undefined,
  next: ReadonlyMap<string, SecretValue>,
): string[] {
  const keys = new Set<string>();
  for (const [k, v] of next) {
    const old = prev?.get(k);
    if (!old?.equals(v)) keys.add(k);
  }
  for (const k of prev?.keys() ?? []) if (!next.has(k)) keys.add(k);
  return [...keys].sort();
}
