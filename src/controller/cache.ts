/**
 * One resource's informers across the watched namespaces: one cluster-wide informer when every namespace is
 * watched, else one per namespace. Reads go to the informer that owns the namespace.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { Watch } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/client.js';
import { type CachedObject, Informer, type InformerHooks } from './informer.js';

export interface CacheOptions {
  kc: KubeConfig;
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
}

type Handler<T> = (obj: T) => void;

export class ResourceCache<T extends CachedObject> {
  readonly #informers = new Map<string, Informer<T>>();
  readonly resource: string;

  constructor(opts: CacheOptions) {
    this.resource = opts.resource;
    const watch = new Watch(opts.kc);
    const targets = opts.namespaces.length > 0 ? opts.namespaces : [''];
    for (const ns of targets) {
      const path = opts.path(ns || undefined);
      this.#informers.set(
        ns,
        new Informer<T>({
          resource: opts.resource,
          path,
          watch,
          list: () => listAll<T>(opts.client, path, opts.labelSelector),
          labelSelector: opts.labelSelector,
          log: opts.log.child({ namespace: ns || '*' }),
          hooks: opts.hooks,
        }),
      );
    }
  }

  on(verb: 'add' | 'update' | 'delete', handler: Handler<T>): void {
    for (const inf of this.#informers.values()) inf.on(verb, handler);
  }

  async start(): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.start()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.stop()));
  }

  get synced(): boolean {
    return [...this.#informers.values()].every((i) => i.synced);
  }

  get(namespace: string, name: string): T | undefined {
    return (this.#informers.get(namespace) ?? this.#informers.get(''))?.get(namespace, name);
  }

  list(namespace?: string): T[] {
    if (namespace !== undefined) {
      return [...((this.#informers.get(namespace) ?? this.#informers.get(''))?.list(namespace) ?? [])];
    }
    return [...this.#informers.values()].flatMap((i) => [...i.list()]);
  }

  /** Whether objects in this namespace are watched at all. */
  watches(namespace: string): boolean {
    return this.#informers.has('') || this.#informers.has(namespace);
  }
}

/**
 * Lists a collection in pages of 500 (a large namespace must not be one huge response), returning the
 * resourceVersion of the list to watch from.
 */
async function listAll<T>(
  client: KubeClient,
  path: string,
  labelSelector: string | undefined,
): Promise<{ items: T[]; metadata?: { resourceVersion?: string } }> {
  const items: T[] = [];
  let resourceVersion: string | undefined;
  let next: string | undefined;
  do {
    const page = await client.get<{ items: T[]; metadata?: { resourceVersion?: string; continue?: string } }>(
      path,
      {
        query: { labelSelector, limit: 500, continue: next },
        timeoutMs: 60_000,
      },
    );
    items.push(...page.items);
    resourceVersion = page.metadata?.resourceVersion;
    next = page.metadata?.continue || undefined;
  } while (next);
  return { items, metadata: { resourceVersion } };
}

export const objectKey = (obj: CachedObject) =>
  `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
