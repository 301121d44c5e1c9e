import type { EvaluationContext, Logger } from '@openfeature/server-sdk';

export { maxReplicasFlags, pollUntil, putFact } from '../examples/max-replicas.js';

/** A logger that remembers what was logged, per level. */
export function recordingLogger() {
  const lines: Record<'error' | 'warn' | 'info' | 'debug', string[]> = {
    error: [],
    warn: [],
    info: [],
    debug: [],
  };
  const at =
    (level: keyof typeof lines) =>
    (...args: unknown[]) =>
      lines[level].push(args.map(String).join(' '));
  const logger: Logger = { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
  return { logger, lines };
}

/** Waits until `check` is true, failing after `ms`. */
export async function eventually(check: () => boolean, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

let counter = 0;
/** A fresh identity name per test, so tests never see each other's facts. */
export function uniqueIdentity(prefix = 'id'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

/**
 * Facts of every type the store serves. `legacy` is the string "true": it must stay a string, so a
 * rule comparing it with the boolean `true` does not match.
 */
export const TYPED_FACTS = { beta: true, ratio: 0.5, tier: 'gold', replicas: 3, legacy: 'true' } as const;

/**
 * Flags whose rules compare facts with `===`, so they only match when a fact keeps its JSON type:
 * `beta-features` (boolean) is on for `beta === true`, `rollout-percent` (number) is 50 for
 * `ratio === 0.5`, and `legacy-type` (string) names the `typeof` of the `legacy` attribute. Every
 * context a rule sees is passed to `seen`.
 */
export function typedFlags(seen: (context: EvaluationContext) => void = () => {}) {
  const rule =
    <T extends string>(pick: (c: EvaluationContext) => T) =>
    (c: EvaluationContext): T => {
      seen({ ...c });
      return pick(c);
    };
  return {
    'beta-features': {
      variants: { on: true, off: false },
      defaultVariant: 'off',
      disabled: false,
      contextEvaluator: rule((c) => (c.beta === true ? 'on' : 'off')),
    },
    'rollout-percent': {
      variants: { half: 50, none: 0 },
      defaultVariant: 'none',
      disabled: false,
      contextEvaluator: rule((c) => (c.ratio === 0.5 ? 'half' : 'none')),
    },
    'legacy-type': {
      variants: { string: 'string', boolean: 'boolean', other: 'other' },
      defaultVariant: 'other',
      disabled: false,
      contextEvaluator: rule((c) =>
        typeof c.legacy === 'string' ? 'string' : typeof c.legacy === 'boolean' ? 'boolean' : 'other',
      ),
    },
  };
}

/** Sets several facts with one PATCH of the store's REST API (a `null` removes a fact); returns the facts after it. */
export async function patchFacts(
  baseUrl: string,
  token: string | undefined,
  namespace: string,
  identity: string,
  facts: Record<string, string | number | boolean | null>,
): Promise<unknown> {
  const [ns, id] = [namespace, identity].map(encodeURIComponent);
  const url = `${baseUrl.replace(/\/+$/, '')}/api/v1/namespaces/${ns}/identities/${id}/facts`;
  const res = await fetch(url, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(facts),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await res.text();
  // 200: visible to reads; 202 would mean "not yet", which the tests below cannot wait on.
  if (res.status !== 200) throw new Error(`PATCH ${url}: HTTP ${res.status} ${text}`);
  return JSON.parse(text);
}
