import {
  ErrorCode,
  type EvaluationContext,
  type Hook,
  InMemoryProvider,
  OpenFeature,
  type Provider,
  ProviderEvents,
} from '@openfeature/server-sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FlagopsProvider, type FlagopsProviderOptions } from '../src/index.js';
import { FakeStore } from './fake-store.js';
import {
  eventually,
  maxReplicasFlags,
  pollUntil,
  recordingLogger,
  TYPED_FACTS,
  typedFlags,
  uniqueIdentity,
} from './helpers.js';

const NS = 'team-b';
const store = new FakeStore();
let baseUrl: string;

beforeAll(async () => {
  baseUrl = await store.start();
});

afterEach(async () => {
  await OpenFeature.clearProviders(); // calls onClose on every provider set below
});

afterAll(async () => {
  await store.stop();
  await OpenFeature.close();
});

/** Registers a FlagopsProvider around an InMemoryProvider under its own domain. */
async function setup(options: Partial<FlagopsProviderOptions> = {}) {
  const { logger, lines } = recordingLogger();
  const wrapped = new InMemoryProvider(maxReplicasFlags());
  const provider = new FlagopsProvider({
    baseUrl,
    defaultNamespace: NS,
    token: '',
    logger,
    provider: wrapped,
    ...options,
  });
  const domain = uniqueIdentity('domain');
  await OpenFeature.setProviderAndWait(domain, provider);
  const client = OpenFeature.getClient(domain);
  const evaluate = (context: EvaluationContext) => client.getNumberDetails('max-replicas', 0, context);
  return { provider, wrapped, client, lines, evaluate };
}

describe('FlagopsProvider', () => {
  it('names itself after the wrapped provider', async () => {
    const { client, provider } = await setup({ watch: false });
    expect(provider.metadata.name).toBe('flagops(in-memory)');
    expect(client.metadata.providerMetadata.name).toBe('flagops(in-memory)');
  });

  it('resolves with the facts of the targeting key; explicit attributes win', async () => {
    const { evaluate } = await setup({ watch: false });
    const gold = uniqueIdentity('gold');
    const silver = uniqueIdentity('silver');
    store.setFact(NS, gold, 'tier', 'gold');
    store.setFact(NS, silver, 'tier', 'silver');
    expect(await evaluate({ targetingKey: gold })).toMatchObject({ value: 5, reason: 'TARGETING_MATCH' });
    expect((await evaluate({ targetingKey: silver })).value).toBe(1);
    expect((await evaluate({ targetingKey: silver, tier: 'gold' })).value).toBe(5);
    expect((await evaluate({ targetingKey: gold, tier: 'bronze' })).value).toBe(1);
    expect((await evaluate({ targetingKey: uniqueIdentity('none') })).errorCode).toBeUndefined();
  });

  it('enriches every resolver type', async () => {
    const wrapped = new InMemoryProvider({
      b: {
        variants: { on: true, off: false },
        defaultVariant: 'off',
        disabled: false,
        contextEvaluator: (c) => (c.tier === 'gold' ? 'on' : 'off'),
      },
      s: {
        variants: { g: 'gold', o: 'other' },
        defaultVariant: 'o',
        disabled: false,
        contextEvaluator: (c) => (c.tier === 'gold' ? 'g' : 'o'),
      },
      o: {
        variants: { g: { tier: 'gold' }, o: {} },
        defaultVariant: 'o',
        disabled: false,
        contextEvaluator: (c) => (c.tier === 'gold' ? 'g' : 'o'),
      },
    });
    const { client } = await setup({ watch: false, provider: wrapped });
    const id = uniqueIdentity();
    store.setFact(NS, id, 'tier', 'gold');
    const ctx = { targetingKey: id };
    expect(await client.getBooleanValue('b', false, ctx)).toBe(true);
    expect(await client.getStringValue('s', '', ctx)).toBe('gold');
    expect(await client.getObjectValue('o', {}, ctx)).toEqual({ tier: 'gold' });
  });

  it('hands boolean and decimal facts to the wrapped provider with their JSON types', async () => {
    const seen: EvaluationContext[] = [];
    const { client } = await setup({
      watch: false,
      provider: new InMemoryProvider(typedFlags((c) => seen.push(c))),
    });
    const id = uniqueIdentity();
    store.setFacts(NS, id, TYPED_FACTS);
    const context = { targetingKey: id };

    const beta = await client.getBooleanDetails('beta-features', false, context);
    expect(beta).toMatchObject({ value: true, variant: 'on', reason: 'TARGETING_MATCH' });
    const rollout = await client.getNumberDetails('rollout-percent', -1, context);
    expect(rollout).toMatchObject({ value: 50, variant: 'half', reason: 'TARGETING_MATCH' });
    // The string "true" is not the boolean true: the rule sees a string.
    const legacy = await client.getStringDetails('legacy-type', '', context);
    expect(legacy).toMatchObject({ value: 'string', variant: 'string', reason: 'TARGETING_MATCH' });

    expect(seen).toHaveLength(3);
    for (const c of seen) expect(c).toEqual({ targetingKey: id, ...TYPED_FACTS });
    expect(typeof seen[0]?.beta).toBe('boolean');
    expect(typeof seen[0]?.ratio).toBe('number');
    expect(typeof seen[0]?.legacy).toBe('string');
  });

  it('a boolean fact turned false over the watch stream reaches the next evaluation', async () => {
    const { provider, client } = await setup({ provider: new InMemoryProvider(typedFlags()) });
    await eventually(() => provider.watching);
    const id = uniqueIdentity();
    store.setFacts(NS, id, { beta: true, ratio: 0.5 });
    const context = { targetingKey: id };
    expect(await client.getBooleanValue('beta-features', false, context)).toBe(true);

    store.setFacts(NS, id, { beta: false, ratio: 0.25 });
    const details = await pollUntil(
      () => client.getBooleanDetails('beta-features', true, context),
      (d) => d.value === false,
      1_000,
    );
    expect(details).toMatchObject({ value: false, variant: 'off', reason: 'TARGETING_MATCH' });
    expect(await client.getNumberValue('rollout-percent', -1, context)).toBe(0);
  });

  it('refuses facts that are not strings, numbers or booleans: default value with GENERAL', async () => {
    const wrapped = new InMemoryProvider(typedFlags());
    const { client, lines } = await setup({ watch: false, cacheTtlMs: 0, provider: wrapped });
    const spy = vi.spyOn(wrapped, 'resolveBooleanEvaluation');
    for (const bad of [{ nested: 1 }, [true], null]) {
      const id = uniqueIdentity();
      store.setFacts(NS, id, { beta: true });
      store.setInvalidFact(NS, id, 'odd', bad);
      const details = await client.getBooleanDetails('beta-features', false, { targetingKey: id });
      expect(details).toMatchObject({ value: false, reason: 'ERROR', errorCode: ErrorCode.GENERAL });
      expect(details.errorMessage).toMatch(
        /gave an invalid answer .*fact "odd" from .* is not a string, a number or a boolean/,
      );
    }
    expect(spy).not.toHaveBeenCalled();
    expect(lines.error).toHaveLength(1);
  });

  it('a change pushed over the watch stream reaches the next evaluation within a second', async () => {
    const { provider, evaluate } = await setup();
    await eventually(() => provider.watching); // initialize opened the stream
    const id = uniqueIdentity();
    store.setFact(NS, id, 'tier', 'silver');
    expect((await evaluate({ targetingKey: id })).value).toBe(1);
    store.setFact(NS, id, 'tier', 'gold');
    const started = performance.now();
    const details = await pollUntil(
      () => evaluate({ targetingKey: id }),
      (d) => d.value === 5,
      1_000,
    );
    expect(details.value).toBe(5);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('store unreachable: default value with GENERAL, wrapped provider not asked, logged once', async () => {
    const { evaluate, wrapped, lines } = await setup({ baseUrl: 'http://127.0.0.1:1', cacheTtlMs: 0 });
    const spy = vi.spyOn(wrapped, 'resolveNumberEvaluation');
    for (let i = 0; i < 3; i++) {
      const details = await evaluate({ targetingKey: 'anyone' });
      expect(details).toMatchObject({ value: 0, reason: 'ERROR', errorCode: ErrorCode.GENERAL });
      expect(details.errorMessage).toMatch(/flagops data store unreachable \(http:\/\/127\.0\.0\.1:1\)/);
    }
    expect(spy).not.toHaveBeenCalled();
    expect(lines.error).toHaveLength(1);
    // Without a targeting key there is nothing to look up, so the flag still evaluates.
    expect((await evaluate({})).value).toBe(1);
  });

  it('forwards initialize, onClose, hooks, events and track to the wrapped provider', async () => {
    const hook: Hook = { before: () => undefined };
    const tracked: EvaluationContext[] = [];
    const inner = new InMemoryProvider(maxReplicasFlags());
    const wrapped: Provider = Object.assign(inner, {
      hooks: [hook],
      initialize: vi.fn(async () => {}),
      onClose: vi.fn(async () => {}),
      track: (_name: string, context: EvaluationContext) => void tracked.push(context),
    });
    const { provider, client } = await setup({ provider: wrapped });
    expect(wrapped.initialize).toHaveBeenCalledOnce();
    expect(provider.hooks).toEqual([hook]);

    const changed = vi.fn();
    client.addHandler(ProviderEvents.ConfigurationChanged, changed);
    inner.putConfiguration(maxReplicasFlags()); // InMemoryProvider emits CONFIGURATION_CHANGED
    await eventually(() => changed.mock.calls.length > 0);
    expect(changed.mock.calls[0]?.[0]).toMatchObject({ flagsChanged: ['max-replicas'] });

    await eventually(() => provider.watching); // connecting clears the cache, so wait first
    const id = uniqueIdentity();
    store.setFactSilently(NS, id, 'tier', 'gold'); // no change event racing the lookup below
    await client.getNumberValue('max-replicas', 0, { targetingKey: id }); // fills the cache
    client.track('deployed', { targetingKey: id });
    expect(tracked[0]).toMatchObject({ targetingKey: id, tier: 'gold' });

    const watchers = store.watchers;
    await OpenFeature.clearProviders();
    expect(wrapped.onClose).toHaveBeenCalledOnce();
    expect(provider.watching).toBe(false);
    await eventually(() => store.watchers === watchers - 1);
  });
});
