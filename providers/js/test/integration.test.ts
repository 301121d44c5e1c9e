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
import { FlagopsContextHook, FlagopsProvider } from '../src/index.js';
import { eventually, maxReplicasFlags, pollUntil, putFact, uniqueIdentity } from './helpers.js';

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
