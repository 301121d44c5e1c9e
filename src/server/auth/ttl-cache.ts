/** A small bounded cache with per-entry expiry, for auth answers. When full, the oldest entries go first. */
export class TtlCache<V> {
  readonly #entries = new Map<string, { value: V; expires: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): V | undefined {
    const e = this.#entries.get(key);
    return e && e.expires > this.now() ? e.value : undefined;
  }

  /**
   * An expired answer no older than `graceMs`: used only when the API server cannot be asked, so that callers
   * seen recently keep being served from the last known state during an outage.
   */
  stale(key: string, graceMs: number): V | undefined {
    const e = this.#entries.get(key);
    return e && e.expires + graceMs > this.now() ? e.value : undefined;
  }

  set(key: string, value: V, ttlMs: number): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, { value, expires: this.now() + ttlMs });
  }
}

/**
 * Runs one call per key at a time: callers asking for the same key while it is in flight share its promise.
 * With a limit, at most that many calls run at once and the rest wait their turn, so that a flood of distinct
 * tokens cannot turn into a flood of reviews against the API server.
 */
export class InFlight<V> {
  readonly #pending = new Map<string, Promise<V>>();
  readonly #waiting: (() => void)[] = [];
  #running = 0;

  constructor(private readonly limit = Number.POSITIVE_INFINITY) {}

  run(key: string, call: () => Promise<V>): Promise<V> {
    const pending = this.#pending.get(key);
    if (pending) return pending;
    const promise = this.#slot(call).finally(() => this.#pending.delete(key));
    this.#pending.set(key, promise);
    return promise;
  }

  async #slot(call: () => Promise<V>): Promise<V> {
    if (this.#running >= this.limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running++;
    try {
      return await call();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }
}
