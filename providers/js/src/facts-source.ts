import type { EvaluationContext, Logger } from '@openfeature/core';
import { TtlCache } from './cache.js';
import { FlagopsStoreError } from './errors.js';
import { isIdentityName, isNamespaceName } from './names.js';
import { type FlagopsOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { type Facts, StoreClient } from './store-client.js';
import { TokenSource } from './token.js';
import { Watcher } from './watch.js';

/** console, minus debug chatter: what we log to before the SDK hands us its logger. */
const consoleLogger: Logger = {
  error: (...args) => console.error(...args),
  warn: (...args) => console.warn(...args),
  info: (...args) => console.info(...args),
  debug: () => {},
};

/**
 * Everything behind the hook and the provider: reads facts through a TTL cache that the watch
 * stream invalidates, merges them into evaluation contexts, and reports store outages once.
 */
export class FactsSource {
  readonly options: ResolvedOptions;
  private readonly client: StoreClient;
  private readonly cache: TtlCache<Facts>;
  private readonly watcher: Watcher | undefined;
  private sdkLogger: Logger | undefined;
  /** Kind of the failure currently reported, so an outage is logged once rather than per evaluation. */
  private failing: FlagopsStoreError['kind'] | undefined;
  private closed = false;

  constructor(options: FlagopsOptions) {
    this.options = resolveOptions(options);
    const tokens = new TokenSource({
      token: this.options.token,
      tokenFile: this.options.tokenFile,
      tokenFileOptional: this.options.tokenFileOptional,
      onError: (message) => this.logger.warn(`flagops: ${message}; sending no bearer token`),
    });
    this.client = new StoreClient({ ...this.options, tokens });
    this.cache = new TtlCache(this.options.cacheTtlMs);
    this.watcher = this.options.watch
      ? new Watcher({
          client: this.client,
          connectTimeoutMs: this.options.timeoutMs,
          fallbackNamespace: this.options.defaultNamespace,
          onChange: (change) => this.cache.invalidate(cacheKey(change.namespace, change.name)),
          onReset: () => this.cache.clear(),
          log: (level, message) => this.logger[level](message),
        })
      : undefined;
  }

  /** The configured logger, else the SDK's once we have seen it, else console. */
  get logger(): Logger {
    return this.options.logger ?? this.sdkLogger ?? consoleLogger;
  }

  /** True while the watch stream is established. */
  get watching(): boolean {
    return this.watcher?.connected ?? false;
  }

  /** Starts the watch stream if enabled. Idempotent; a lookup also starts it. */
  start(): void {
    if (!this.closed) this.watcher?.start();
  }

  /** Stops the watch stream and forgets cached facts. Lookups still work afterwards (TTL only). */
  async close(): Promise<void> {
    this.closed = true;
    await this.watcher?.close();
    this.cache.clear();
  }

  /**
   * Facts of `namespace/identity`, cached. Throws {@link FlagopsStoreError} when the store cannot
   * answer; the first failure of a kind is logged, the rest stay quiet until a lookup succeeds.
   */
  async getFacts(namespace: string, identity: string, sdkLogger?: Logger): Promise<Facts> {
    this.sdkLogger ??= sdkLogger;
    this.start();
    try {
      const facts = await this.cache.get(cacheKey(namespace, identity), () =>
        this.client.getFacts(namespace, identity),
      );
      if (this.failing) this.logger.info(`flagops: data store at ${this.options.baseUrl} reachable again`);
      this.failing = undefined;
      return facts;
    } catch (err) {
      const error =
        err instanceof FlagopsStoreError
          ? err
          : new FlagopsStoreError('unreachable', String(err), { cause: err });
      if (this.failing !== error.kind) {
        this.logger.error(`${error.message} (logged once until it recovers)`);
        this.failing = error.kind;
      }
      throw error;
    }
  }

  /**
   * `context` with the facts of its identity merged in as top-level attributes, each with the type
   * the store serves (string, number or boolean; `"true"` stays a string). The identity is
   * `targetingKey`, the namespace the `namespace` attribute or the default one. Attributes already
   * in `context` win over facts of the same name. No targeting key, or one that is not a valid
   * Kubernetes name: nothing to look up, the context is returned as is.
   */
  async enrich(context: EvaluationContext, sdkLogger?: Logger): Promise<EvaluationContext> {
    const target = this.targetOf(context);
    if (!target) return context;
    const facts = await this.getFacts(target.namespace, target.identity, sdkLogger);
    return { ...facts, ...context };
  }

  /** Like {@link enrich} but synchronous, from the cache only (for `track`, which cannot wait). */
  enrichFromCache(context: EvaluationContext): EvaluationContext {
    const target = this.targetOf(context);
    const facts = target && this.cache.peek(cacheKey(target.namespace, target.identity));
    return facts ? { ...facts, ...context } : context;
  }

  private targetOf(context: EvaluationContext): { namespace: string; identity: string } | undefined {
    const identity = context.targetingKey;
    const ns = context.namespace;
    const namespace = typeof ns === 'string' && ns !== '' ? ns : this.options.defaultNamespace;
    // Identities are Kubernetes object names; a targeting key that is not one (an e-mail, a UUID in
    // capitals…) cannot have facts, so it is not looked up rather than failing the evaluation.
    if (!isIdentityName(identity) || !isNamespaceName(namespace)) return undefined;
    return { namespace, identity };
  }
}

function cacheKey(namespace: string, identity: string): string {
  // "/" cannot appear in Kubernetes namespace names, so the key is unambiguous.
  return `${namespace}/${identity}`;
}
