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
  /** Objects per list page. */
  pageSize?: number;
  healthyAfterMs?: number;
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
          listPage: (next) => listPage<R>(opts.client, path, opts.labelSelector, next, opts.pageSize ?? 500),
          labelSelector: opts.labelSelector,
          keep: opts.keep,
          log: opts.log.child({ namespace: ns || '*' }),
          hooks: opts.hooks,
          healthyAfterMs: opts.healthyAfterMs,
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

/** One page of a collection: a large namespace is never one huge response, nor held whole in memory. */
function listPage<R>(
  client: KubeClient,
  path: string,
  labelSelector: string | undefined,
  next: string | undefined,
  limit: number,
): Promise<ListPage<R>> {
  return client.get<ListPage<R>>(path, {
    query: { labelSelector, limit, continue: next },
    timeoutMs: 60_000,
  });
}

export const objectKey = (obj: CachedObject) =>
  `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
