/**
 * A list-watch cache per resource path, built on client-node's ListWatch, which lists, watches from the list's
 * resourceVersion, relists on 410 Gone (as a status or as an ERROR event) and fires deletes for objects missing
 * from a relist. ListWatch stops for good on any other error; this wrapper restarts it with capped, jittered
 * backoff and logs every connect, relist and restart.
 */
import { type KubernetesObject, ListWatch, type Watch } from '@kubernetes/client-node';
import type { Logger } from 'pino';

export interface InformerHooks {
  onRestart?(resource: string): void;
  onList?(resource: string, initial: boolean): void;
}

/** What the cache needs of an object; our API types carry timestamps as strings, as they arrive on the wire. */
export interface CachedObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface InformerOptions<T extends CachedObject> {
  /** A short name for logs and metrics: `deploymentfacts`, `secrets`. */
  resource: string;
  path: string;
  watch: Pick<Watch, 'watch'>;
  list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
  /** Passed to the watch too: the list alone would let unselected objects in through watch events. */
  labelSelector?: string;
  log: Logger;
  hooks?: InformerHooks;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  random?: () => number;
}

type Handler<T> = (obj: T) => void;

export class Informer<T extends CachedObject> {
  // ListWatch is typed for client-node's models; it only reads metadata name, namespace and resourceVersion.
  readonly #lw: ListWatch<T & KubernetesObject>;
  readonly #opts: InformerOptions<T>;
  #synced = false;
  #stopped = false;
  #failures = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #listCount = 0;
  readonly #syncWaiters: (() => void)[] = [];

  constructor(opts: InformerOptions<T>) {
    this.#opts = opts;
    const list = async () => {
      const initial = this.#listCount++ === 0;
      const result = await opts.list();
      opts.log.info(
        { resource: opts.resource, count: result.items.length, initial },
        initial ? 'listed' : 'relisted',
      );
      opts.hooks?.onList?.(opts.resource, initial);
      this.#failures = 0;
      this.#markSynced();
      // ListWatch expects the list's own shape; items from a list carry no kind, which nothing here needs.
      return result as never;
    };
    this.#lw = new ListWatch<T & KubernetesObject>(
      opts.path,
      opts.watch as Watch,
      list,
      false,
      opts.labelSelector,
    );
    this.#lw.on('connect', () => opts.log.debug({ resource: opts.resource }, 'watch connected'));
    this.#lw.on('error', (err) => this.#scheduleRestart(err));
  }

  get resource(): string {
    return this.#opts.resource;
  }

  get synced(): boolean {
    return this.#synced;
  }

  on(verb: 'add' | 'update' | 'delete', handler: Handler<T>): void {
    this.#lw.on(verb, handler as Handler<T & KubernetesObject>);
  }

  /** Starts listing and watching; resolves after the first successful list (retrying until then). */
  async start(): Promise<void> {
    this.#stopped = false;
    const synced = this.waitForSync();
    // start() rejects only when the request cannot even be built (an unreadable token file, say): treat it as
    // any other watch failure, so that the informer is restarted rather than silently left dead.
    this.#lw.start().catch((err: unknown) => this.#scheduleRestart(err));
    await synced;
  }

  waitForSync(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    await this.#lw.stop();
  }

  /** Cached objects are shared references: treat them as read-only. */
  get(namespace: string, name: string): T | undefined {
    return this.#lw.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.#lw.list(namespace);
  }

  #markSynced() {
    if (this.#synced) return;
    this.#synced = true;
    for (const w of this.#syncWaiters.splice(0)) w();
  }

  #scheduleRestart(err: unknown) {
    if (this.#stopped) return;
    const n = this.#failures++;
    const base = this.#opts.baseBackoffMs ?? 500;
    const max = this.#opts.maxBackoffMs ?? 30_000;
    const delay = Math.round(Math.min(max, base * 2 ** n) * (0.5 + (this.#opts.random ?? Math.random)()));
    this.#opts.log.warn(
      { resource: this.#opts.resource, err: errorSummary(err), delayMs: delay, attempt: n + 1 },
      'watch failed; restarting',
    );
    this.#opts.hooks?.onRestart?.(this.#opts.resource);
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (!this.#stopped) this.#lw.start().catch((err: unknown) => this.#scheduleRestart(err));
    }, delay);
    this.#restartTimer.unref();
  }
}

/** Only the message and status of an error, never a response body. */
export function errorSummary(err: unknown): { message: string; statusCode?: number } {
  if (err instanceof Error) {
    const statusCode = (err as { statusCode?: number }).statusCode;
    return statusCode === undefined ? { message: err.message } : { message: err.message, statusCode };
  }
  return { message: String(err) };
}
