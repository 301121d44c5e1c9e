/**
 * A work queue keyed by object key (namespace/name), after client-go's: a key is queued at most once, a key is
 * never processed by two workers at once, and a key added while it is being processed runs again afterwards.
 * Failed keys come back after a per-key exponential backoff with jitter.
 */
export type ReconcileResult = { requeueAfterMs?: number };

export interface QueueHooks {
  /** Called after each processed key with the outcome; for metrics and logs. */
  onProcessed?(key: string, outcome: 'success' | 'error', durationMs: number, err?: unknown): void;
  onRetry?(key: string, delayMs: number): void;
  onDepth?(depth: number): void;
}

export interface QueueOptions {
  workers?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Decides what an error means: `retry` backs off, `requeue` comes back at once, `drop` gives up. */
  errorPolicy?: (err: unknown) => 'retry' | 'requeue' | 'drop';
  hooks?: QueueHooks;
  random?: () => number;
}

export class WorkQueue {
  readonly #queue: string[] = [];
  readonly #queued = new Set<string>();
  readonly #processing = new Set<string>();
  /** Keys added while processing: they run again when their worker finishes. */
  readonly #dirty = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #wake: (() => void) | undefined;
  #stopped = false;
  #running: Promise<void>[] = [];
  readonly #opts: Required<Omit<QueueOptions, 'hooks'>> & { hooks: QueueHooks };

  constructor(opts: QueueOptions = {}) {
    this.#opts = {
      workers: opts.workers ?? 4,
      baseDelayMs: opts.baseDelayMs ?? 100,
      maxDelayMs: opts.maxDelayMs ?? 60_000,
      errorPolicy: opts.errorPolicy ?? (() => 'retry'),
      hooks: opts.hooks ?? {},
      random: opts.random ?? Math.random,
    };
  }

  get depth(): number {
    return this.#queue.length;
  }

  add(key: string): void {
    if (this.#stopped) return;
    if (this.#processing.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    this.#queue.push(key);
    this.#opts.hooks.onDepth?.(this.#queue.length);
    this.#wake?.();
  }

  /** Adds the key after `delayMs`; a later call for the same key replaces the earlier timer only if sooner. */
  addAfter(key: string, delayMs: number): void {
    if (this.#stopped) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const existing = this.#timers.get(key);
    if (existing) clearTimeout(existing);
    const t = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, delayMs);
    t.unref();
    this.#timers.set(key, t);
  }

  /** The backoff for the key's next retry: base·2^failures, capped, with ±20% jitter. */
  nextDelay(key: string): number {
    const n = this.#failures.get(key) ?? 0;
    this.#failures.set(key, n + 1);
    const raw = Math.min(this.#opts.maxDelayMs, this.#opts.baseDelayMs * 2 ** n);
    return Math.round(raw * (0.8 + 0.4 * this.#opts.random()));
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** Runs `handler` on queued keys with the configured number of workers until stop(). */
  run(handler: (key: string) => Promise<ReconcileResult | undefined>): void {
    for (let i = 0; i < this.#opts.workers; i++) this.#running.push(this.#worker(handler));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#wake?.();
    await Promise.all(this.#running);
  }

  /** Resolves once nothing is queued or processing (timers may still be pending). For tests and shutdown. */
  async idle(): Promise<void> {
    while (this.#queue.length > 0 || this.#processing.size > 0) await new Promise((r) => setTimeout(r, 5));
  }

  async #next(): Promise<string | undefined> {
    while (!this.#stopped) {
      const key = this.#queue.shift();
      if (key !== undefined) {
        this.#queued.delete(key);
        this.#opts.hooks.onDepth?.(this.#queue.length);
        return key;
      }
      await new Promise<void>((resolve) => {
        const prev = this.#wake;
        this.#wake = () => {
          this.#wake = undefined;
          prev?.();
          resolve();
        };
      });
    }
    return undefined;
  }

  async #worker(handler: (key: string) => Promise<ReconcileResult | undefined>): Promise<void> {
    for (let key = await this.#next(); key !== undefined; key = await this.#next()) {
      this.#processing.add(key);
      const started = performance.now();
      try {
        const result = await handler(key);
        this.forget(key);
        this.#opts.hooks.onProcessed?.(key, 'success', performance.now() - started);
        if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
      } catch (err) {
        this.#opts.hooks.onProcessed?.(key, 'error', performance.now() - started, err);
        const policy = this.#opts.errorPolicy(err);
        if (policy === 'drop') this.forget(key);
        else {
          const delay = policy === 'requeue' ? 0 : this.nextDelay(key);
          this.#opts.hooks.onRetry?.(key, delay);
          this.addAfter(key, delay);
        }
      } finally {
        this.#processing.delete(key);
        if (this.#dirty.delete(key)) this.add(key);
      }
    }
  }
}
