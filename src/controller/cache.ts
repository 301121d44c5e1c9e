/**
 * One resource's informers across the watched namespaces: one cluster-wide informer when every namespace is
 * watched, else one per namespace. Reads go to the informer that owns the namespace.
 */
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/client.js';
import { KubeWatch } from '../kube/watch.js';
import { type CachedObject, type Handler, Informer, type InformerHooks, type ListPage } from './informer.js';

export interface CacheOptions<R, T> {
  client: KubeClient;
  resource: string;
  /** Builds the collection path for a namespace, or for all namespaces when called with undefined. */
  path: (namespace?: string) => string;
  /** Empty: all namespaces. */
  namespaces: readonly string[];
  log: Logger;
  hooks?: InformerHooks;
  /** Label selector for the list and watch (used to narrow Secrets, for example). */
  labelSelector?: string;
  /** What the cache keeps of each object (given its key); the default keeps the whole object. */
  keep?: (obj: R, key: string) => T;
  /** Objects per list page, at most. */
  pageSize?: number;
  /** Characters of JSON a list page is meant to hold (LIST_PAGE_CHARS); fewer objects a page when they are large. */
  pageChars?: number;
  healthyAfterMs?: number;
  /** A CRD that may be missing: see InformerOptions.absentCrdHint. */
  absentCrdHint?: string;
}

export class ResourceCache<R extends CachedObject, T = R> {
  readonly #informers = new Map<string, Informer<R, T>>();
  readonly resource: string;

  constructor(opts: CacheOptions<R, T>) {
    this.resource = opts.resource;
    // Each watch is ended by the server after 5–10 minutes (timeoutSeconds) and bookmarks arrive in between; the
    // client-side inactivity timeout only catches a connection that died without a word.
    const watch = new KubeWatch(opts.client.access, 11 * 60_000);
    const targets = opts.namespaces.length > 0 ? opts.namespaces : [''];
    for (const ns of targets) {
      const path = opts.path(ns || undefined);
      this.#informers.set(
        ns,
        new Informer<R, T>({
          resource: opts.resource,
          path,
          watch,
          listPage: pager<R>(
            opts.client,
            path,
            opts.labelSelector,
            new PageLimit(opts.pageSize ?? 500, opts.pageChars),
          ),
          labelSelector: opts.labelSelector,
          keep: opts.keep,
          log: opts.log.child({ namespace: ns || '*' }),
          hooks: opts.hooks,
          healthyAfterMs: opts.healthyAfterMs,
          absentCrdHint: opts.absentCrdHint,
        }),
      );
    }
  }

  on(verb: 'add' | 'update' | 'delete', handler: Handler<R, T>): void {
    for (const inf of this.#informers.values()) inf.on(verb, handler);
  }

  async start(): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.start()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.stop()));
  }

  /** Drops every watch as a network failure would (tests of the restart path). */
  disconnect(): void {
    for (const i of this.#informers.values()) i.disconnect();
  }

  get synced(): boolean {
    return [...this.#informers.values()].every((i) => i.synced);
  }

  get(namespace: string, name: string): T | undefined {
    return (this.#informers.get(namespace) ?? this.#informers.get(''))?.get(namespace, name);
  }

  list(namespace?: string): T[] {
    if (namespace !== undefined) {
      return (this.#informers.get(namespace) ?? this.#informers.get(''))?.list(namespace) ?? [];
    }
    return [...this.#informers.values()].flatMap((i) => i.list());
  }

  /** Whether objects in this namespace are watched at all. */
  watches(namespace: string): boolean {
    return this.#informers.has('') || this.#informers.has(namespace);
  }
}

/** Characters of JSON a list page is meant to hold, roughly: the limit of the next page follows the objects' size. */
export const LIST_PAGE_CHARS = 16 * 1024 * 1024;
/** The first page of a list, before any object's size is known, asks for at most this many. */
export const FIRST_PAGE_LIMIT = 100;
const MIN_PAGE_LIMIT = 10;

/**
 * The limit of each list page: `maxLimit` objects while they are small, fewer when they are large, so that a page
 * (two are held at once, and each is one string before it is parsed) stays near `pageChars` whatever the objects
 * weigh. A DeploymentFacts may hold 256 facts of 4,096 characters (about 1.1 MB): 2,000 of those would be 2.2 GB of
 * JSON, beyond the operator's memory and beyond what one JavaScript string can hold, and the list would fail on
 * every retry. The first page asks for at most FIRST_PAGE_LIMIT, before any size is known. Objects that turn large
 * in the middle of a list still make one page of up to `maxLimit` of them: the API server has no limit in bytes.
 */
export class PageLimit {
  #limit: number;
  constructor(
    private readonly maxLimit: number,
    private readonly pageChars = LIST_PAGE_CHARS,
  ) {
    this.#limit = Math.min(maxLimit, FIRST_PAGE_LIMIT);
  }

  /** The limit to ask for: `first` for the first page of a list. */
  next(first: boolean): number {
    if (first) this.#limit = Math.min(this.maxLimit, FIRST_PAGE_LIMIT, this.#limit);
    return this.#limit;
  }

  /** What the last page held: `items` objects in `chars` characters of JSON. */
  observe(items: number, chars: number): void {
    if (items === 0 || chars <= 0) return;
    const fit = Math.floor((this.pageChars * items) / chars);
    this.#limit = Math.max(Math.min(this.maxLimit, MIN_PAGE_LIMIT), Math.min(this.maxLimit, fit));
  }
}

/** Pages of a collection: a large namespace is never one huge response, nor held whole in memory. */
function pager<R>(
  client: KubeClient,
  path: string,
  labelSelector: string | undefined,
  limits: PageLimit,
): (next: string | undefined) => Promise<ListPage<R>> {
  return async (next) => {
    let chars = 0;
    const page = await client.get<ListPage<R>>(path, {
      query: { labelSelector, limit: limits.next(next === undefined), continue: next },
      timeoutMs: 60_000,
      onResponseChars: (n) => {
        chars = n;
      },
    });
    limits.observe(page.items?.length ?? 0, chars);
    return page;
  };
}

export const objectKey = (obj: CachedObject) =>
  `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
