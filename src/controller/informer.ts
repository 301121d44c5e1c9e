/**
 * A list-watch cache of one resource path, written for a store that must be complete from the first second and
 * lean at tens of thousands of objects:
 * - the list is read and handed to the handlers page by page, so that no whole-collection response is ever held;
 * - the cache keeps only what `keep` returns for an object (by default the object itself); handlers see the raw
 *   object once, at the event, and can take what they serve from it;
 * - watches ask for bookmarks, so that a quiet resource's resourceVersion stays fresh and a reconnect rarely has to
 *   relist; the server ends each watch after `timeoutSeconds` and it resumes at once from the last version;
 * - a 410 Gone (as a status or as an ERROR event) relists, firing deletes for objects missing from the new list;
 * - any other error restarts the watch with capped, jittered backoff, and the backoff resets once a watch has been
 *   healthy for `healthyAfterMs`, so that an ordinary disconnect after a quiet hour reconnects at once.
 * `synced` turns true only after every page of the first list has been handed to the handlers.
 */

import type { Logger } from 'pino';
import { errorSummary } from '../kube/errors.js';
import type { Watcher } from '../kube/watch.js';
import { objectKeyOf } from '../store/intern.js';

export interface InformerHooks {
  onRestart?(resource: string, delayMs: number): void;
  onList?(resource: string, initial: boolean): void;
}

/** What the informer needs of an object on the wire. */
export interface CachedObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface ListPage<R> {
  items: R[];
  metadata?: { resourceVersion?: string; continue?: string };
}

export interface InformerOptions<R extends CachedObject, T> {
  /** A short name for logs and metrics: `deploymentfacts`, `secrets`. */
  resource: string;
  path: string;
  watch: Watcher;
  /** Reads one page of the list; `continueToken` is undefined for the first page. */
  listPage: (continueToken: string | undefined) => Promise<ListPage<R>>;
  /** Passed to the watch too: the list alone would let unselected objects in through watch events. */
  labelSelector?: string;
  /** What the cache keeps of an object (given its key, `namespace/name`). The default keeps the object itself. */
  keep?: (obj: R, key: string) => T;
  log: Logger;
  hooks?: InformerHooks;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** A watch that stayed up this long resets the backoff. */
  healthyAfterMs?: number;
  /** The server ends each watch after a random time in [min, 2·min) seconds (client-go does the same). */
  watchTimeoutSeconds?: number;
  random?: () => number;
  now?: () => number;
  /**
   * For a resource whose CRD may be missing (added by a later version, and `helm upgrade` never installs new
   * CRDs): a 404 on the list before it was ever served counts as an empty, synced list, said once with this hint,
   * so that readiness does not wait for it forever; the list is retried and the objects come in once it is served.
   * A 404 after a successful list keeps the cache (an API server restarting answers 404 for a moment).
   */
  absentCrdHint?: string;
  /** How often a resource found not served is listed again (default 10 s: a 404 costs the API server little). */
  absentRetryMs?: number;
}

/** `value` is what `keep` returned; `raw` is the object as received (absent for deletes found by a relist). */
export type Handler<R, T> = (value: T, raw: R | undefined) => void;
type Verb = 'add' | 'update' | 'delete';

interface Entry<T> {
  rv: string;
  value: T;
}

export const keyOf = (namespace: string | undefined, name: string | undefined) =>
  objectKeyOf(namespace ?? '', name ?? '');

export class Informer<R extends CachedObject, T = R> {
  readonly #opts: InformerOptions<R, T>;
  readonly #items = new Map<string, Entry<T>>();
  readonly #handlers: Record<Verb, Handler<R, T>[]> = { add: [], update: [], delete: [] };
  readonly #syncWaiters: (() => void)[] = [];
  #synced = false;
  #absent = false;
  #stopped = true;
  #failures = 0;
  #lists = 0;
  #resourceVersion: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #abort: AbortController | undefined;
  /** Bumped on every start/stop, so that callbacks of an older watch are ignored. */
  #run = 0;

  constructor(opts: InformerOptions<R, T>) {
    this.#opts = opts;
  }

  get resource(): string {
    return this.#opts.resource;
  }

  get synced(): boolean {
    return this.#synced;
  }

  on(verb: Verb, handler: Handler<R, T>): void {
    this.#handlers[verb].push(handler);
  }

  /** Starts listing and watching; resolves after the first complete list (retrying until then). */
  async start(): Promise<void> {
    if (!this.#stopped) return this.waitForSync();
    this.#stopped = false;
    const run = ++this.#run;
    const synced = this.waitForSync();
    // With a resourceVersion from before a stop, resume the watch; a 410 there relists.
    if (this.#resourceVersion === undefined) void this.#list(run);
    else void this.#watch(run);
    await synced;
  }

  waitForSync(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#run++;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort?.abort();
    this.#abort = undefined;
  }

  /** Drops the current watch as a network failure would (for tests of the restart path). */
  disconnect(): void {
    this.#abort?.abort(new Error('disconnected'));
  }

  /** Cached values are shared: treat them as read-only. */
  get(namespace: string, name: string): T | undefined {
    return this.#items.get(keyOf(namespace, name))?.value;
  }

  list(namespace?: string): T[] {
    const out: T[] = [];
    const prefix = namespace === undefined ? undefined : `${namespace}/`;
    for (const [key, e] of this.#items) if (!prefix || key.startsWith(prefix)) out.push(e.value);
    return out;
  }

  #emit(verb: Verb, value: T, raw: R | undefined) {
    for (const h of this.#handlers[verb]) {
      try {
        h(value, raw);
      } catch (err) {
        // A handler's bug must not stop the informer (it would leave the store stale for good).
        this.#opts.log.error(
          { resource: this.#opts.resource, err: errorSummary(err) },
          'informer handler failed',
        );
      }
    }
  }

  #upsert(obj: R, seen?: Set<string>) {
    const key = keyOf(obj.metadata?.namespace, obj.metadata?.name);
    const rv = obj.metadata?.resourceVersion ?? '';
    seen?.add(key);
    const prev = this.#items.get(key);
    if (prev && prev.rv === rv && rv !== '') return; // unchanged (a relist, or a replayed event)
    const value = this.#opts.keep ? this.#opts.keep(obj, key) : (obj as unknown as T);
    this.#items.set(key, { rv, value });
    this.#emit(prev ? 'update' : 'add', value, obj);
  }

  #delete(key: string, raw: R | undefined) {
    const prev = this.#items.get(key);
    if (!prev) return;
    this.#items.delete(key);
    this.#emit('delete', prev.value, raw);
  }

  async #list(run: number): Promise<void> {
    const initial = this.#lists === 0;
    const seen = new Set<string>();
    let next: string | undefined;
    let rv: string | undefined;
    let count = 0;
    try {
      // The next page is asked for before this one is handed over, so that the API server encodes it while the
      // handlers work: at most two pages are held at once.
      let pending: Promise<ListPage<R>> | undefined = this.#opts.listPage(undefined);
      while (pending) {
        const page: ListPage<R> = await pending;
        if (run !== this.#run) return;
        next = page.metadata?.continue || undefined;
        pending = next ? this.#opts.listPage(next) : undefined;
        // A failed prefetch is reported by the await above, on the next turn; never as an unhandled rejection.
        pending?.catch(() => {});
        for (const item of page.items) this.#upsert(item, seen);
        count += page.items.length;
        rv = page.metadata?.resourceVersion;
      }
    } catch (err) {
      if (run !== this.#run) return;
      // Only before the first list: once served, a 404 is taken as transient (an API server whose CRD cache is
      // still filling after a restart), so the cached objects are kept and the list retried with backoff.
      if (
        this.#opts.absentCrdHint &&
        (err as { statusCode?: number }).statusCode === 404 &&
        (this.#lists === 0 || this.#absent)
      ) {
        this.#crdAbsent(run);
        return;
      }
      this.#scheduleRestart(run, err, 'list');
      return;
    }
    if (this.#absent) {
      this.#absent = false;
      this.#opts.log.info({ resource: this.#opts.resource }, 'resource served now');
    }
    // Deletes are known only once the whole list is in.
    for (const key of [...this.#items.keys()]) if (!seen.has(key)) this.#delete(key, undefined);
    this.#lists++;
    this.#resourceVersion = rv;
    this.#opts.log.info({ resource: this.#opts.resource, count, initial }, initial ? 'listed' : 'relisted');
    this.#opts.hooks?.onList?.(this.#opts.resource, initial);
    this.#markSynced();
    void this.#watch(run);
  }

  async #watch(run: number): Promise<void> {
    const o = this.#opts;
    const min = o.watchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.floor(min * (1 + (o.random ?? Math.random)()));
    const now = o.now ?? Date.now;
    const started = now();
    let gone = false;
    let streamError: Error | undefined;
    let finished = false;
    const done = (err: unknown) => {
      if (finished || run !== this.#run) return;
      finished = true;
      this.#abort = undefined;
      if (now() - started >= (o.healthyAfterMs ?? 10_000)) this.#failures = 0;
      const status = (err as { statusCode?: number } | null)?.statusCode;
      if (gone || status === 410) {
        this.#failures = 0;
        void this.#list(run);
      } else if (err || streamError) this.#scheduleRestart(run, err ?? streamError, 'watch');
      else if (now() - started < 1000) {
        // Closed at once with no error: treat as a failure, so that a misbehaving server is not hammered.
        this.#scheduleRestart(run, new Error('watch closed at once'), 'watch');
      } else void this.#watch(run); // the server's timeout: resume from the last version
    };
    const onEvent = (type: string, obj: unknown) => {
      if (run !== this.#run) return;
      const o2 = obj as R & { code?: number; message?: string };
      switch (type) {
        case 'ADDED':
        case 'MODIFIED':
          this.#upsert(o2);
          break;
        case 'DELETED':
          this.#delete(keyOf(o2.metadata?.namespace, o2.metadata?.name), o2);
          break;
        case 'BOOKMARK':
          break;
        case 'ERROR':
          if (o2.code === 410) gone = true;
          else streamError = Object.assign(new Error(o2.message ?? 'watch error'), { statusCode: o2.code });
          return;
        default:
          return;
      }
      const rv = o2.metadata?.resourceVersion;
      if (rv) this.#resourceVersion = rv;
    };
    try {
      o.log.debug({ resource: o.resource, resourceVersion: this.#resourceVersion }, 'watch connecting');
      const controller = await o.watch.watch(
        o.path,
        {
          resourceVersion: this.#resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds,
          ...(o.labelSelector ? { labelSelector: o.labelSelector } : {}),
        },
        onEvent,
        done,
      );
      if (run !== this.#run || finished) {
        if (run !== this.#run) controller.abort();
        return;
      }
      this.#abort = controller;
    } catch (err) {
      done(err);
    }
  }

  /** The resource is not served: nothing to cache, synced as empty; listed again later. */
  #crdAbsent(run: number) {
    if (!this.#absent) {
      this.#absent = true;
      this.#opts.log.warn({ resource: this.#opts.resource }, this.#opts.absentCrdHint!);
    }
    for (const key of [...this.#items.keys()]) this.#delete(key, undefined);
    this.#markSynced();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (run === this.#run && !this.#stopped) void this.#list(run);
    }, this.#opts.absentRetryMs ?? 10_000);
    this.#timer.unref?.();
  }

  /** Whether the last list found the resource not served (absentCrdHint). */
  get absent(): boolean {
    return this.#absent;
  }

  #markSynced() {
    if (this.#synced) return;
    this.#synced = true;
    for (const w of this.#syncWaiters.splice(0)) w();
  }

  #scheduleRestart(run: number, err: unknown, phase: 'list' | 'watch') {
    if (this.#stopped || run !== this.#run) return;
    const n = this.#failures++;
    const base = this.#opts.baseBackoffMs ?? 500;
    const max = this.#opts.maxBackoffMs ?? 30_000;
    const delay = Math.round(Math.min(max, base * 2 ** n) * (0.5 + (this.#opts.random ?? Math.random)()));
    this.#opts.log.warn(
      { resource: this.#opts.resource, err: errorSummary(err), delayMs: delay, attempt: n + 1, phase },
      `${phase} failed; restarting`,
    );
    this.#opts.hooks?.onRestart?.(this.#opts.resource, delay);
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (run !== this.#run) return;
      if (phase === 'list' || this.#resourceVersion === undefined) void this.#list(run);
      else void this.#watch(run);
    }, delay);
    this.#timer.unref();
  }
}
