import {
  ErrorCode,
  type EvaluationContext,
  type EventHandler,
  type JsonValue,
  type Logger,
  type ProviderMetadata,
  type ResolutionDetails,
  ServerProviderEvents,
  StandardResolutionReasons,
  type TrackingEventDetails,
} from '@openfeature/core';
import { type Hook, OpenFeatureEventEmitter, type Provider } from '@openfeature/server-sdk';
import { FlagopsStoreError } from './errors.js';
import { FactsSource } from './facts-source.js';
import type { FlagopsOptions } from './options.js';

export interface FlagopsProviderOptions extends FlagopsOptions {
  /** The provider that evaluates flags; it receives contexts with the facts merged in. */
  provider: Provider;
}

/**
 * Wraps any OpenFeature server provider and adds the facts of the evaluated identity to the
 * context of every resolve call (the Go prototype's `NewProvider(baseURL, wrapped)`):
 *
 * ```ts
 * await OpenFeature.setProviderAndWait(
 *   new FlagopsProvider({ baseUrl, provider: new FlagdProvider() }),
 * );
 * ```
 *
 * When the store cannot answer, a resolve returns the caller's default value with error code
 * `GENERAL` instead of calling the wrapped provider.
 */
export class FlagopsProvider implements Provider {
  readonly runsOn = 'server' as const;
  readonly metadata: ProviderMetadata;
  /** Re-emits the wrapped provider's events, so the SDK sees its READY/STALE/CONFIGURATION_CHANGED. */
  readonly events = new OpenFeatureEventEmitter();
  private readonly wrapped: Provider;
  private readonly source: FactsSource;
  private readonly forwarded: Array<[ServerProviderEvents, EventHandler]> = [];

  constructor(options: FlagopsProviderOptions) {
    const { provider, ...rest } = options;
    if (!provider) throw new TypeError('flagops: option provider (the wrapped provider) is required');
    this.wrapped = provider;
    this.source = new FactsSource(rest);
    this.metadata = { name: `flagops(${provider.metadata.name})` };
    for (const event of Object.values(ServerProviderEvents)) {
      const handler: EventHandler = (details) => this.events.emit(event, details);
      provider.events?.addHandler(event, handler);
      this.forwarded.push([event, handler]);
    }
  }

  /** The wrapped provider's hooks run as if it were registered directly. */
  get hooks(): Hook[] {
    return this.wrapped.hooks ?? [];
  }

  /** True while the watch stream is connected, i.e. changes reach evaluations within a second. */
  get watching(): boolean {
    return this.source.watching;
  }

  get domainScoped(): boolean | undefined {
    return this.wrapped.domainScoped;
  }

  async initialize(context?: EvaluationContext, domain?: string): Promise<void> {
    // The watch stream runs in the background: a store that is down must not fail initialization,
    // since evaluations degrade to default values on their own.
    this.source.start();
    await this.wrapped.initialize?.(context, domain);
  }

  async onClose(): Promise<void> {
    for (const [event, handler] of this.forwarded) this.wrapped.events?.removeHandler(event, handler);
    this.forwarded.length = 0;
    await this.source.close();
    await this.wrapped.onClose?.();
  }

  /** Stops the watch stream and closes the wrapped provider (same as `onClose`). */
  close(): Promise<void> {
    return this.onClose();
  }

  resolveBooleanEvaluation(
    flagKey: string,
    defaultValue: boolean,
    context: EvaluationContext,
    logger: Logger,
  ) {
    return this.resolve(defaultValue, context, logger, (c) =>
      this.wrapped.resolveBooleanEvaluation(flagKey, defaultValue, c, logger),
    );
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext, logger: Logger) {
    return this.resolve(defaultValue, context, logger, (c) =>
      this.wrapped.resolveStringEvaluation(flagKey, defaultValue, c, logger),
    );
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext, logger: Logger) {
    return this.resolve(defaultValue, context, logger, (c) =>
      this.wrapped.resolveNumberEvaluation(flagKey, defaultValue, c, logger),
    );
  }

  resolveObjectEvaluation<T extends JsonValue>(
    flagKey: string,
    defaultValue: T,
    context: EvaluationContext,
    logger: Logger,
  ) {
    return this.resolve(defaultValue, context, logger, (c) =>
      this.wrapped.resolveObjectEvaluation<T>(flagKey, defaultValue, c, logger),
    );
  }

  /** `track` cannot wait for a lookup, so it gets whatever facts are cached. */
  track(trackingEventName: string, context: EvaluationContext, details: TrackingEventDetails): void {
    this.wrapped.track?.(trackingEventName, this.source.enrichFromCache(context), details);
  }

  private async resolve<T>(
    defaultValue: T,
    context: EvaluationContext,
    logger: Logger,
    delegate: (context: EvaluationContext) => Promise<ResolutionDetails<T>>,
  ): Promise<ResolutionDetails<T>> {
    let enriched: EvaluationContext;
    try {
      enriched = await this.source.enrich(context ?? {}, logger);
    } catch (err) {
      // Already logged (once) by the source; the caller gets its default and the reason.
      const message = err instanceof FlagopsStoreError ? err.message : String(err);
      return {
        value: defaultValue,
        reason: StandardResolutionReasons.ERROR,
        errorCode: ErrorCode.GENERAL,
        errorMessage: message,
      };
    }
    return delegate(enriched);
  }
}
