/**
 * End-to-end example: flag `max-replicas` is 5 for identities whose fact `tier` is "gold", else 1.
 * The rule lives in an InMemoryProvider; the fact comes from the flagops data store through
 * FlagopsContextHook. The script sets `tier=silver`, evaluates, sets `tier=gold` through the API
 * and shows the flag flip as soon as the watch stream reports the change.
 *
 *   FLAGOPS_URL=http://127.0.0.1:8080 FLAGOPS_TOKEN=… FLAGOPS_NAMESPACE=default \
 *     node --import tsx examples/max-replicas.ts
 */
import { pathToFileURL } from 'node:url';
import { type EvaluationContext, InMemoryProvider, OpenFeature } from '@openfeature/server-sdk';
import { FlagopsContextHook } from '../src/index.js';

/** The flag: its targeting depends only on the `tier` fact. */
export function maxReplicasFlags() {
  return {
    'max-replicas': {
      variants: { one: 1, five: 5 },
      defaultVariant: 'one',
      disabled: false,
      contextEvaluator: (ctx: EvaluationContext) => (ctx.tier === 'gold' ? 'five' : 'one'),
    },
  };
}

/** Writes one fact through the store's REST API; resolves once reads see it. */
export async function putFact(
  baseUrl: string,
  token: string | undefined,
  namespace: string,
  identity: string,
  name: string,
  value: string | number | boolean,
): Promise<void> {
  const [ns, id, fact] = [namespace, identity, name].map(encodeURIComponent);
  const url = `${baseUrl.replace(/\/+$/, '')}/api/v1/namespaces/${ns}/identities/${id}/facts/${fact}`;
  const res = await fetch(url, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ value }),
    signal: AbortSignal.timeout(5_000),
  });
  if (res.status !== 200) throw new Error(`PUT ${url}: HTTP ${res.status} ${await res.text()}`);
}

/** Calls `probe` until `done` accepts its result or `deadlineMs` passes; returns the last result. */
export async function pollUntil<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  deadlineMs: number,
  intervalMs = 20,
): Promise<T> {
  const deadline = performance.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (done(value) || performance.now() >= deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

async function main(): Promise<void> {
  const baseUrl = process.env.FLAGOPS_URL ?? 'http://127.0.0.1:8080';
  // Unset: the in-cluster ServiceAccount token if there is one; empty: no Authorization header.
  const token = process.env.FLAGOPS_TOKEN;
  const namespace = process.env.FLAGOPS_NAMESPACE || 'default';
  const identity = process.env.FLAGOPS_IDENTITY || `example-${Date.now().toString(36)}`;

  await OpenFeature.setProviderAndWait(new InMemoryProvider(maxReplicasFlags()));
  const hook = new FlagopsContextHook({ baseUrl, token, defaultNamespace: namespace });
  OpenFeature.addHooks(hook);
  const client = OpenFeature.getClient('max-replicas-example');
  const context = { targetingKey: identity };
  const evaluate = () => client.getNumberDetails('max-replicas', 0, context);

  try {
    await putFact(baseUrl, token, namespace, identity, 'tier', 'silver');
    const silver = await evaluate();
    const error = silver.errorCode ? ` ${silver.errorCode}: ${silver.errorMessage}` : '';
    console.log(
      `${namespace}/${identity} tier=silver -> max-replicas=${silver.value} (${silver.reason}${error})`,
    );

    await putFact(baseUrl, token, namespace, identity, 'tier', 'gold');
    const started = performance.now();
    const gold = await pollUntil(evaluate, (d) => d.value === 5, 5_000);
    const ms = Math.round(performance.now() - started);
    console.log(`${namespace}/${identity} tier=gold   -> max-replicas=${gold.value} after ${ms} ms`);
    if (silver.value !== 1 || gold.value !== 5) {
      console.error('unexpected result: expected 1 then 5');
      process.exitCode = 1;
    }
  } catch (err) {
    console.error(err);
    process.exitCode = 1;
  } finally {
    // Stops the watch stream; without it the open stream would keep the process running.
    await hook.close();
    await OpenFeature.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
