/**
 * The read path at customer scale, on the real control plane: readiness means every identity is served (even on
 * a first start, before any status is written), a namespace-wide reader costs a handful of SubjectAccessReviews
 * however many identities it reads, and an ordinary watch failure after a healthy period reconnects at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentFacts } from '../../src/api/types.js';
import { factsPath } from '../../src/kube/paths.js';
import {
  adminClient,
  call,
  eventually,
  newNamespace,
  serviceAccountWithRole,
  startTestOperator,
  type TestOperator,
} from '../support/cluster.js';
import { metric } from '../support/process.js';

const client = adminClient();
const facts = (name: string, i: number) => ({
  apiVersion: 'flagops.io/v1alpha1',
  kind: 'DeploymentFacts',
  metadata: { name },
  spec: {
    facts: { tier: i % 2 ? 'gold' : 'silver', 'max-replicas': i % 7, cluster: 'eu-1', owner: `team-${i}` },
  },
});

/** Creates `n` DeploymentFacts named id-0… with up to 48 requests in flight. */
async function createMany(ns: string, n: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 48 }, async () => {
      for (let i = next++; i < n; i = next++) await client.create(factsPath(ns), facts(`id-${i}`, i));
    }),
  );
}

async function sumMetric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

describe('first start with 2,000 identities and no statuses written', () => {
  const N = 2000;
  let ns: string;
  let op: TestOperator | undefined;
  beforeAll(async () => {
    ns = await newNamespace('scale');
    await createMany(ns, N);
  }, 180_000);
  afterAll(async () => {
    await op?.stop();
  });

  it('is not ready until every identity is served, and no read between readiness and the last status write is a 404', async () => {
    const starting = startTestOperator({
      namespaces: [ns],
      auth: 'none',
      // Slow status writes on purpose: reads must not wait for them.
      extraArgs: ['--status-qps=100', '--status-burst=10', '--log-level=info'],
    });
    // In-process invariant, checked on every turn of the event loop: synced implies a complete store.
    let violations = 0;
    let checks = 0;
    const invariant = setInterval(() => {
      if (!op) return;
      checks++;
      if (op.controllers.synced && op.store.size !== N) violations++;
    }, 1);
    op = await starting;
    // startOperator resolves once the controllers have synced; /readyz says so too.
    const ready = await call(op, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(op.store.size).toBe(N);
    // The statuses are still being written, at the rate limit.
    const pendingAtReady = op.controllers.factsStatus.pending;
    expect(pendingAtReady).toBeGreaterThan(N / 2);

    // Every identity answers now, while its status has not been written yet.
    const misses: string[] = [];
    for (let i = 0; i < N; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, N - i) }, (_, j) =>
          call(op!, 'GET', `/api/v1/namespaces/${ns}/identities/id-${i + j}/facts`),
        ),
      );
      batch.forEach((r, j) => {
        if (r.status !== 200) misses.push(`id-${i + j}: ${r.status}`);
      });
    }
    expect(misses).toEqual([]);
    // Keep reading random identities until the last status has been written.
    let reads = 0;
    await eventually(
      async () => {
        const i = Math.floor(Math.random() * N);
        const r = await call(op!, 'GET', `/api/v1/namespaces/${ns}/identities/id-${i}/facts`);
        reads++;
        if (r.status !== 200) misses.push(`id-${i}: ${r.status}`);
        expect(op!.controllers.factsStatus.pending).toBe(0);
      },
      60_000,
      5,
    );
    clearInterval(invariant);
    expect(misses).toEqual([]);
    expect(reads).toBeGreaterThan(0);
    expect(violations).toBe(0);
    expect(checks).toBeGreaterThan(0);

    // Every status ends current, and the operator's own status writes caused no second round of work.
    const list = await client.get<{ items: DeploymentFacts[] }>(factsPath(ns));
    const stale = list.items.filter((o) => o.status?.observedGeneration !== o.metadata.generation);
    expect(stale.map((o) => o.metadata.name)).toEqual([]);
    await op.controllers.idle();
    expect(op.controllers.factsStatus.pending).toBe(0);
    const written = await sumMetric(op.url, 'flagops_reconcile_total');
    expect(written).toBeLessThanOrEqual(N + 50);
  }, 180_000);
});

describe('authorisation that scales with identities', () => {
  let ns: string;
  let op: TestOperator;
  let wide: string;
  let narrow: string;
  beforeAll(async () => {
    ns = await newNamespace('authscale');
    await createMany(ns, 500);
    [wide, narrow] = await Promise.all([
      serviceAccountWithRole(ns, 'wide-reader', [
        { apiGroups: ['flagops.io'], resources: ['deploymentfacts'], verbs: ['get', 'list', 'watch'] },
      ]),
      serviceAccountWithRole(ns, 'one-reader', [
        {
          apiGroups: ['flagops.io'],
          resources: ['deploymentfacts'],
          verbs: ['get'],
          resourceNames: ['id-7'],
        },
      ]),
    ]);
    op = await startTestOperator({ namespaces: [ns] });
  }, 180_000);
  afterAll(async () => {
    await op?.stop();
  });

  it('authorises a namespace-wide reader of 500 identities with a handful of reviews', async () => {
    const before = await sumMetric(op.url, 'flagops_auth_reviews_total');
    for (let i = 0; i < 500; i += 25) {
      const batch = await Promise.all(
        Array.from({ length: 25 }, (_, j) =>
          call(op, 'GET', `/api/v1/namespaces/${ns}/identities/id-${i + j}/facts`, { token: wide }),
        ),
      );
      for (const r of batch) expect(r.status).toBe(200);
    }
    const reviews = (await sumMetric(op.url, 'flagops_auth_reviews_total')) - before;
    expect(reviews).toBeGreaterThan(0);
    expect(reviews).toBeLessThanOrEqual(5);
    expect(await metric(op.url, 'flagops_auth_reviews_total', 'scope="name"')).toBeUndefined();
  });

  it('still asks per name for a reader limited by resourceNames, and refuses the other names', async () => {
    expect(
      (await call(op, 'GET', `/api/v1/namespaces/${ns}/identities/id-7/facts`, { token: narrow })).status,
    ).toBe(200);
    const other = await call(op, 'GET', `/api/v1/namespaces/${ns}/identities/id-8/facts`, { token: narrow });
    expect(other.status).toBe(403);
    expect(other.body.error.message).toContain('id-8');
    expect(await metric(op.url, 'flagops_auth_reviews_total', 'scope="name",result="allowed"')).toBe(1);
  });
});

describe('watch restarts', () => {
  let ns: string;
  let op: TestOperator;
  beforeAll(async () => {
    ns = await newNamespace('restart');
    await client.create(factsPath(ns), facts('a', 0));
    op = await startTestOperator({ namespaces: [ns], auth: 'none', healthyAfterMs: 1000 });
  }, 60_000);
  afterAll(async () => {
    await op?.stop();
  });

  it('reconnects within a second after each ordinary error that follows a healthy period', async () => {
    const lags: number[] = [];
    for (let round = 1; round <= 5; round++) {
      await new Promise((r) => setTimeout(r, 1200)); // healthy for longer than healthyAfterMs
      op.controllers.facts.disconnect();
      const started = Date.now();
      await client.mergePatch(factsPath(ns, 'a'), { spec: { facts: { round } } });
      await eventually(() => expect(op.store.get(ns, 'a')?.facts?.values.round).toBe(round), 10_000, 5);
      lags.push(Date.now() - started);
    }
    // Without a backoff reset the 3rd reconnect alone would wait 1–3 s, the 5th 4–12 s.
    expect(lags.filter((ms) => ms > 1000)).toEqual([]);
    expect(await metric(op.url, 'flagops_watch_restarts_total', 'resource="deploymentfacts"')).toBe(5);
  }, 60_000);
});
