import type { BeforeHookContext, EvaluationContext } from '@openfeature/core';
import type { Hook } from '@openfeature/server-sdk';
import { FactsSource } from './facts-source.js';
import type { FlagopsOptions } from './options.js';

/**
 * An OpenFeature server hook that adds the facts of the evaluated identity to the evaluation
 * context, for whatever provider is in use:
 *
 * ```ts
 * const hook = new FlagopsContextHook({ baseUrl: 'http://flagops-data-store.flagops-system.svc:8080' });
 * OpenFeature.addHooks(hook);
 * // on shutdown: await hook.close();
 * ```
 *
 * When the store cannot answer, `before` throws a `GeneralError`; the SDK then returns the
 * caller's default value with error code `GENERAL`, so nothing reaches the application.
 */
export class FlagopsContextHook implements Hook {
  private readonly source: FactsSource;

  constructor(options: FlagopsOptions) {
    this.source = new FactsSource(options);
  }

  async before(hookContext: BeforeHookContext): Promise<EvaluationContext> {
    // The SDK merges what we return over the context, so return the caller's attributes too:
    // that is how they win over facts of the same name.
    return this.source.enrich(hookContext.context, hookContext.logger);
  }

  /** True while the watch stream is connected, i.e. changes reach evaluations within a second. */
  get watching(): boolean {
    return this.source.watching;
  }

  /** Opens the watch stream now rather than on the first evaluation. */
  start(): void {
    this.source.start();
  }

  /** Stops the watch stream. Hooks have no lifecycle in OpenFeature, so call this on shutdown. */
  close(): Promise<void> {
    return this.source.close();
  }
}
