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
