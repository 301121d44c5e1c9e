/** Beyond this many identities, expired entries are swept and then the oldest dropped. */
const MAX_ENTRIES = 10_000;

interface Entry<V> {
  value: V;
  expiresAt: number;
}

interface Flight<V> {
  promise: Promise<V>;
}

/**
 * A TTL cache whose loads are shared by concurrent callers and can be invalidated mid-flight:
 * a load that started before `invalidate(key)` still answers its own callers but is not stored,
 * so a change announced by the watch stream is never papered over by an older response.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly flights = new Map<string, Flight<V>>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: string, load: () => Promise<V>): Promise<V> {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt > this.now()) return entry.value;
    if (entry) this.entries.delete(key);

    const existing = this.flights.get(key);
    if (existing) return existing.promise;

    const flight: Flight<V> = { promise: load() };
    this.flights.set(key, flight);
    try {
      const value = await flight.promise;
      // Only store if nobody invalidated this key (or cleared the cache) while we were loading.
      if (this.flights.get(key) === flight && this.ttlMs > 0) this.store(key, value);
      return value;
    } finally {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    }
  }

  /** The cached value if present and fresh, without loading. */
  peek(key: string): V | undefined {
    const entry = this.entries.get(key);
    return entry && entry.expiresAt > this.now() ? entry.value : undefined;
  }

  invalidate(key: string): void {
    this.entries.delete(key);
    this.flights.delete(key);
  }

  clear(): void {
    this.entries.clear();
    this.flights.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private store(key: string, value: V): void {
    this.entries.delete(key); // re-insert so Map order stays oldest-first
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
    if (this.entries.size <= MAX_ENTRIES) return;
    const now = this.now();
    for (const [k, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(k);
    while (this.entries.size > MAX_ENTRIES) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
}
