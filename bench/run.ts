/**
 * Benchmarks that print figures (nothing here asserts a time): the store's index, and the HTTP read path
 * served from the store. Run with `npm run bench`. Numbers depend on the machine; docs/benchmarks.md records a run.
 */
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { createApp } from '../src/server/app.js';
import { allowAll } from '../src/server/auth/authorizer.js';
import { noAuth } from '../src/server/auth/middleware.js';
import { SecretValue } from '../src/store/secret-value.js';
import { Store } from '../src/store/store.js';
import type { Writer } from '../src/writes/writer.js';

const IDENTITIES = Number(process.env.BENCH_IDENTITIES ?? 10_000);
const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 5) * 1000;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

function fill(store: Store, n: number) {
  for (let i = 0; i < n; i++) {
    const ns = `ns-${i % 20}`;
    store.setFacts(ns, `customer-${i}`, {
      values: {
        tier: i % 3 === 0 ? 'gold' : 'silver',
        'max-replicas': (i % 5) + 1,
        region: 'eu-west-1',
        owner: `team-${i % 50}`,
      },
      generation: 1,
      resourceVersion: String(i + 1),
      ready: true,
      reason: 'Indexed',
    });
    if (i % 4 === 0) {
      store.setSecrets(ns, `customer-${i}`, {
        values: new Map([['db', SecretValue.fromPlain(`password-${i}`)]]),
        generation: 1,
        resourceVersion: String(i + 1),
        ready: true,
        reason: 'Resolved',
        unresolved: [],
      });
    }
  }
}

function benchStore() {
  const store = new Store();
  let t = performance.now();
  fill(store, IDENTITIES);
  const fillMs = performance.now() - t;
  const lookups = 1_000_000;
  t = performance.now();
  let found = 0;
  for (let i = 0; i < lookups; i++) if (store.get(`ns-${i % 20}`, `customer-${i % IDENTITIES}`)) found++;
  const getMs = performance.now() - t;
  t = performance.now();
  let pages = 0;
  for (let page = store.list({ limit: 100 }); ; page = store.list({ limit: 100, continue: page.continue })) {
    pages++;
    if (!page.continue) break;
  }
  const listMs = performance.now() - t;
  console.log(
    `store: ${fmt(IDENTITIES)} identities indexed in ${fillMs.toFixed(0)} ms (${fmt((IDENTITIES / fillMs) * 1000)} upserts/s)`,
  );
  console.log(
    `store: ${fmt(lookups)} lookups in ${getMs.toFixed(0)} ms (${fmt((lookups / getMs) * 1000)} lookups/s, ${found === lookups ? 'all found' : 'MISSES'})`,
  );
  console.log(`store: listed all ${fmt(IDENTITIES)} in ${pages} pages of 100 in ${listMs.toFixed(1)} ms`);
}

async function benchHttp() {
  const store = new Store();
  fill(store, IDENTITIES);
  const app = createApp({
    reader: store,
    writer: {} as Writer,
    auth: { authenticator: noAuth, authorizer: allowAll },
    ready: () => true,
    log: pino({ level: 'silent' }),
    defaultNamespace: 'ns-0',
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const dispatcher = new Agent({ connections: CONCURRENCY, pipelining: 1 });

  // Warm up the JIT and the connection pool before measuring.
  await Promise.all(
    Array.from({ length: CONCURRENCY * 50 }, async (_, n) =>
      (await request(`${base}/api/fact/customer-${n}`, { dispatcher })).body.text(),
    ),
  );
  for (const [name, path, method, body] of [
    [
      'GET facts',
      (i: number) => `/api/v1/namespaces/ns-${i % 20}/identities/customer-${i % IDENTITIES}/facts`,
      'GET',
      undefined,
    ],
    [
      'GET /api/fact (prototype)',
      (i: number) => `/api/fact/customer-${(i * 20) % IDENTITIES}`,
      'GET',
      undefined,
    ],
    [
      'POST OFREP single',
      () => '/ofrep/v1/evaluate/flags/max-replicas',
      'POST',
      (i: number) => JSON.stringify({ context: { targetingKey: `customer-${(i * 20) % IDENTITIES}` } }),
    ],
  ] as const) {
    const latencies: number[] = [];
    let errors = 0;
    let i = 0;
    const deadline = performance.now() + DURATION_MS;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < deadline) {
          const n = i++;
          const t = performance.now();
          const res = await request(base + path(n), {
            method,
            dispatcher,
            ...(body ? { body: body(n), headers: { 'content-type': 'application/json' } } : {}),
          });
          await res.body.text();
          if (res.statusCode !== 200) errors++;
          latencies.push(performance.now() - t);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    console.log(
      `http: ${name.padEnd(26)} ${fmt(latencies.length / seconds)} req/s, p50 ${pct(latencies, 50).toFixed(2)} ms, p99 ${pct(latencies, 99).toFixed(2)} ms, ${errors} non-200 (${CONCURRENCY} connections, ${seconds.toFixed(1)} s)`,
    );
  }
  await dispatcher.close();
  await app.close();
}

console.log(
  `node ${process.version}, ${IDENTITIES} identities, ${CONCURRENCY} connections, ${DURATION_MS / 1000} s per HTTP run`,
);
benchStore();
await benchHttp();
