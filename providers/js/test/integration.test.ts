/**
 * Runs against a real flagops-data-store when FLAGOPS_TEST_URL is set:
 *   FLAGOPS_TEST_URL=http://127.0.0.1:8080 FLAGOPS_TEST_TOKEN=… FLAGOPS_TEST_NAMESPACE=ns npm test
 * FLAGOPS_TEST_TOKEN is the bearer token (may be empty); FLAGOPS_TEST_NAMESPACE must exist.
 */
import {
  type Client,
  ErrorCode,
  type EvaluationContext,
  InMemoryProvider,
  OpenFeature,
} from '@openfeature/server-sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { FactsSource, FlagopsContextHook, FlagopsProvider } from '../src/index.js';
import {
  eventually,
  maxReplicasFlags,
  patchFacts,
  pollUntil,
  putFact,
  TYPED_FACTS,
  typedFlags,
  uniqueIdentity,
} from './helpers.js';

const url = process.env.FLAGOPS_TEST_URL ?? '';
const token = process.env.FLAGOPS_TEST_TOKEN ?? '';
const namespace = process.env.FLAGOPS_TEST_NAMESPACE || 'default';
const title = url
  ? `integration against ${url} (namespace ${namespace})`
  : 'integration (skipped: set FLAGOPS_TEST_URL to run against a real flagops-data-store)';

describe.skipIf(!url)(title, { timeout: 20_000 }, () => {
  afterAll(() => OpenFeature.close());

  /** PUT tier=silver → 1; PUT tier=gold → 5 within a second, through the watch stream. */
  async function flipsWithinASecond(client: Client, watching: () => boolean) {
    await eventually(() => watching(), 5_000);
    const identity = uniqueIdentity('it');
    const context: EvaluationContext = { targetingKey: identity };
    const evaluate = () => client.getNumberDetails('max-replicas', 0, context);

    await putFact(url, token, namespace, identity, 'tier', 'silver');
    const silver = await evaluate();
    expect(silver.errorMessage).toBeUndefined();
    expect(silver.value).toBe(1);

    await putFact(url, token, namespace, identity, 'tier', 'gold');
    const started = performance.now();
    const gold = await pollUntil(evaluate, (d) => d.value === 5, 1_000);
    const elapsed = performance.now() - started;
    expect(gold.value).toBe(5);
    expect(elapsed).toBeLessThan(1_000);
  }

  it('hook: tier silver → 1, tier gold → 5 within a second', async () => {
    await OpenFeature.setProviderAndWait(new InMemoryProvider(maxReplicasFlags()));
    const hook = new FlagopsContextHook({ baseUrl: url, token, defaultNamespace: namespace });
    const client = OpenFeature.getClient();
    client.addHooks(hook);
    hook.start();
    try {
      await flipsWithinASecond(client, () => hook.watching);
    } finally {
      await hook.close();
    }
  });

  it('provider: tier silver → 1, tier gold → 5 within a second', async () => {
    const provider = new FlagopsProvider({
      baseUrl: url,
      token,
      defaultNamespace: namespace,
      provider: new InMemoryProvider(maxReplicasFlags()),
    });
    await OpenFeature.setProviderAndWait('integration-provider', provider);
    await flipsWithinASecond(OpenFeature.getClient('integration-provider'), () => provider.watching);
  });

  /**
   * PATCH beta=true, ratio=0.5, tier, replicas, legacy="true" → the rules see a boolean, a decimal and
   * a string; PATCH beta=false → the boolean flag turns off through the watch stream.
   */
  async function typedFactsReachTheRules(client: Client, seen: EvaluationContext[], watching: () => boolean) {
    await eventually(() => watching(), 5_000);
    const identity = uniqueIdentity('it-typed');
    const context: EvaluationContext = { targetingKey: identity };

    expect(await patchFacts(url, token, namespace, identity, TYPED_FACTS)).toEqual(TYPED_FACTS);

    const beta = await client.getBooleanDetails('beta-features', false, context);
    expect(beta.errorMessage).toBeUndefined();
    expect(beta).toMatchObject({ value: true, variant: 'on', reason: 'TARGETING_MATCH' });
    const rollout = await client.getNumberDetails('rollout-percent', -1, context);
    expect(rollout).toMatchObject({ value: 50, variant: 'half', reason: 'TARGETING_MATCH' });
    const legacy = await client.getStringDetails('legacy-type', '', context);
    expect(legacy).toMatchObject({ value: 'string', variant: 'string', reason: 'TARGETING_MATCH' });
    const ours = seen.filter((c) => c.targetingKey === identity);
    expect(ours).toHaveLength(3);
    for (const c of ours) expect(c).toEqual({ ...context, ...TYPED_FACTS });

    await patchFacts(url, token, namespace, identity, { beta: false });
    const off = await pollUntil(
      () => client.getBooleanDetails('beta-features', true, context),
      (d) => d.value === false,
      1_000,
    );
    expect(off).toMatchObject({ value: false, variant: 'off', reason: 'TARGETING_MATCH' });
  }

  it('reads typed facts written with PATCH with their JSON types', async () => {
    const source = new FactsSource({ baseUrl: url, token, defaultNamespace: namespace, watch: false });
    try {
      const identity = uniqueIdentity('it-typed');
      await patchFacts(url, token, namespace, identity, TYPED_FACTS);
      const facts = await source.getFacts(namespace, identity);
      expect(facts).toEqual(TYPED_FACTS);
      expect(typeof facts.beta).toBe('boolean');
      expect(typeof facts.ratio).toBe('number');
      expect(facts.legacy).toBe('true');
    } finally {
      await source.close();
    }
  });

  it('hook: boolean and decimal facts reach the rules as a boolean and a number', async () => {
    const seen: EvaluationContext[] = [];
    await OpenFeature.setProviderAndWait(
      'integration-typed-hook',
      new InMemoryProvider(typedFlags((c) => seen.push(c))),
    );
    const hook = new FlagopsContextHook({ baseUrl: url, token, defaultNamespace: namespace });
    const client = OpenFeature.getClient('integration-typed-hook');
    client.addHooks(hook);
    hook.start();
    try {
      await typedFactsReachTheRules(client, seen, () => hook.watching);
    } finally {
      await hook.close();
    }
  });

  it('provider: boolean and decimal facts reach the wrapped provider as a boolean and a number', async () => {
    const seen: EvaluationContext[] = [];
    const provider = new FlagopsProvider({
      baseUrl: url,
      token,
      defaultNamespace: namespace,
      provider: new InMemoryProvider(typedFlags((c) => seen.push(c))),
    });
    await OpenFeature.setProviderAndWait('integration-typed-provider', provider);
    await typedFactsReachTheRules(
      OpenFeature.getClient('integration-typed-provider'),
      seen,
      () => provider.watching,
    );
  });

  it('provider pointed at an unreachable store: default value with an error code', async () => {
    const provider = new FlagopsProvider({
      baseUrl: 'http://127.0.0.1:1',
      token,
      defaultNamespace: namespace,
      provider: new InMemoryProvider(maxReplicasFlags()),
      logger: { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} },
    });
    await OpenFeature.setProviderAndWait('integration-unreachable', provider);
    const details = await OpenFeature.getClient('integration-unreachable').getNumberDetails(
      'max-replicas',
      7,
      {
        targetingKey: uniqueIdentity('it'),
      },
    );
    expect(details).toMatchObject({ value: 7, reason: 'ERROR', errorCode: ErrorCode.GENERAL });
    expect(details.errorMessage).toMatch(/unreachable/);
  });
});
