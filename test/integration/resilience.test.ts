/**
 * Resilience against a real control plane of its own: an API server outage, two replicas with leader election
 * (SIGKILL and SIGTERM of the leader), and a burst of updates. Nothing may be lost: the store must end equal to
 * the API server's objects.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentFacts } from '../../src/api/types.js';
import { KubeClient } from '../../src/kube/client.js';
import { factsPath } from '../../src/kube/paths.js';
import { type ControlPlane, startControlPlane } from '../control-plane/control-plane.js';
import { installCrds, kubectl } from '../control-plane/kubectl.js';
import { ROLES } from '../support/api.js';
import { call, eventually, startTestOperator, type TestOperator } from '../support/cluster.js';
import { metric, type OperatorProcess, spawnOperator } from '../support/process.js';

let cp: ControlPlane;
let client: KubeClient;

beforeAll(async () => {
  cp = await startControlPlane();
  await installCrds(cp.info());
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  client = new KubeClient(kc);
}, 120_000);
afterAll(async () => {
  await cp?.stop();
});

const facts = (namespace: string, name: string, values: Record<string, string | number>) => ({
  apiVersion: 'flagops.io/v1alpha1',
  kind: 'DeploymentFacts',
  metadata: { name, namespace },
  spec: { facts: values },
});

async function namespace(name: string) {
  await client.create('/api/v1/namespaces', { metadata: { name } });
  return name;
}

/** The store holds exactly the facts the API server has. */
async function expectStoreEqualsApiServer(op: { store: TestOperator['store'] }, ns: string) {
  const list = await client.get<{ items: DeploymentFacts[] }>(factsPath(ns));
  const fromApi = Object.fromEntries(list.items.map((o) => [o.metadata.name, o.spec?.facts ?? {}]));
  const fromStore = Object.fromEntries(
    op.store
      .list({ namespace: ns })
      .items.filter((i) => i.facts)
      .map((i) => [i.name, i.facts!.values]),
  );
  expect(fromStore).toEqual(fromApi);
}

describe('an API server outage', () => {
  let op: TestOperator;
  let token: string;
  beforeAll(async () => {
    await namespace('outage');
    await client.create('/api/v1/namespaces/outage/serviceaccounts', { metadata: { name: 'admin' } });
    await client.create('/apis/rbac.authorization.k8s.io/v1/namespaces/outage/roles', {
      metadata: { name: 'admin' },
      rules: ROLES.admin,
    });
    await client.create('/apis/rbac.authorization.k8s.io/v1/namespaces/outage/rolebindings', {
      metadata: { name: 'admin' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'admin', namespace: 'outage' }],
    });
    token = (await kubectl(cp.info(), ['create', 'token', 'admin', '-n', 'outage'])).stdout.trim();
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    op = await startTestOperator({ namespaces: ['outage'], kc });
  }, 60_000);
  afterAll(async () => {
    await op?.stop();
  });

  it('keeps answering reads, refuses writes with 503 and Retry-After, and catches up afterwards', async () => {
    for (let i = 0; i < 5; i++)
      await client.create(factsPath('outage'), facts('outage', `app-${i}`, { v: i }));
    await eventually(() => expect(op.store.list({ namespace: 'outage' }).items).toHaveLength(5));
    // Warm the auth caches the way a client polling the API does.
    expect(
      (await call(op, 'GET', '/api/v1/namespaces/outage/identities/app-1/facts', { token })).status,
    ).toBe(200);

    await cp.stopApiServer();
    const outageStarted = Date.now();
    let reads = 0;
    while (Date.now() - outageStarted < 10_000) {
      const r = await call(op, 'GET', '/api/v1/namespaces/outage/identities/app-1/facts', { token });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ v: 1 });
      reads++;
      await new Promise((res) => setTimeout(res, 250));
    }
    expect(reads).toBeGreaterThan(20);
    const write = await call(op, 'PUT', '/api/v1/namespaces/outage/identities/app-1/facts/v', {
      token,
      body: { value: 99 },
    });
    expect(write.status).toBe(503);
    expect(Number(write.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(write.body.error.code).toBe('Unavailable');

    await cp.startApiServer();
    // Changes right after the API server is back: updates, a delete and a create.
    await client.mergePatch(factsPath('outage', 'app-2'), { spec: { facts: { v: 20 } } });
    await client.delete(factsPath('outage', 'app-3'));
    await client.create(factsPath('outage'), facts('outage', 'app-new', { v: 7 }));
    const put = await eventually(
      async () => {
        const r = await call(op, 'PUT', '/api/v1/namespaces/outage/identities/app-4/facts/w', {
          token,
          body: { value: 40 },
        });
        expect(r.status).toBe(200);
        return r;
      },
      30_000,
      500,
    );
    expect(put.body).toEqual({ w: 40 });
    await eventually(() => expectStoreEqualsApiServer(op, 'outage'), 45_000, 200);
    expect(
      await metric(op.url, 'flagops_watch_restarts_total', 'resource="deploymentfacts"'),
    ).toBeGreaterThan(0);
  }, 90_000);
});

describe('a burst of 1000 updates', () => {
  let op: TestOperator;
  beforeAll(async () => {
    await namespace('burst');
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    op = await startTestOperator({ namespaces: ['burst'], kc });
  });
  afterAll(async () => {
    await op?.stop();
  });

  it('ends with the store equal to the API server and every observedGeneration current', async () => {
    const names = Array.from({ length: 50 }, (_, i) => `svc-${i}`);
    await Promise.all(names.map((n) => client.create(factsPath('burst'), facts('burst', n, { round: 0 }))));
    const started = Date.now();
    // 1000 updates: 20 rounds over 50 objects, 50 in flight at a time.
    for (let round = 1; round <= 20; round++) {
      await Promise.all(
        names.map((n) =>
          client.mergePatch(factsPath('burst', n), { spec: { facts: { round, [`k${round % 3}`]: n } } }),
        ),
      );
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(`[burst] 1000 updates sent in ${seconds.toFixed(1)} s`);
    await eventually(() => expectStoreEqualsApiServer(op, 'burst'), 30_000, 200);
    await eventually(
      async () => {
        const list = await client.get<{ items: DeploymentFacts[] }>(factsPath('burst'));
        for (const o of list.items) expect(o.status?.observedGeneration).toBe(o.metadata.generation);
      },
      30_000,
      250,
    );
  }, 120_000);
});

describe('two replicas with leader election', () => {
  const procs: OperatorProcess[] = [];
  const args = (ns: string) => [
    `--kubeconfig=${cp.kubeconfigPath}`,
    `--namespaces=${ns}`,
    '--auth=none',
    '--leader-elect=true',
    `--leader-election-namespace=${ns}`,
    '--leader-election-lease-duration=3s',
    '--leader-election-renew-deadline=2s',
    '--leader-election-retry-period=500ms',
    '--log-level=info',
  ];
  const leaderOf = async (ns: string) =>
    (
      await client.get<{ spec: { holderIdentity?: string } }>(
        `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/flagops-data-store`,
      )
    ).spec.holderIdentity;
  const leaderGauge = (p: OperatorProcess) => metric(p.url, 'flagops_leader');
  afterAll(() => {
    for (const p of procs) p.child.kill('SIGKILL');
  });

  async function pair(ns: string): Promise<[OperatorProcess, OperatorProcess]> {
    await namespace(ns);
    const a = await spawnOperator(args(ns));
    procs.push(a);
    await eventually(async () => expect(await leaderGauge(a)).toBe(1), 10_000, 100);
    const b = await spawnOperator(args(ns));
    procs.push(b);
    expect(await leaderGauge(b)).toBe(0);
    // Both serve reads; only the leader writes status.
    await client.create(factsPath(ns), facts(ns, 'before', { v: 1 }));
    await eventually(async () =>
      expect((await call(b, 'GET', `/api/v1/namespaces/${ns}/identities/before/facts`)).body).toEqual({
        v: 1,
      }),
    );
    await eventually(async () =>
      expect((await client.get<DeploymentFacts>(factsPath(ns, 'before'))).status?.observedGeneration).toBe(1),
    );
    return [a, b];
  }

  it('a SIGKILLed leader is replaced within the lease duration and status updates continue', async () => {
    const [a, b] = await pair('lease-kill');
    const holder = await leaderOf('lease-kill');
    a.child.kill('SIGKILL');
    const killed = Date.now();
    await eventually(async () => expect(await leaderGauge(b)).toBe(1), 10_000, 100);
    const tookOver = Date.now() - killed;
    console.log(`[leader] standby took over ${tookOver} ms after SIGKILL (lease 3000 ms, retry 500 ms)`);
    expect(tookOver).toBeLessThan(3000 + 2 * 500 + 1000);
    expect(await leaderOf('lease-kill')).not.toBe(holder);
    await client.create(factsPath('lease-kill'), facts('lease-kill', 'after', { v: 2 }));
    await eventually(async () =>
      expect(
        (await client.get<DeploymentFacts>(factsPath('lease-kill', 'after'))).status?.observedGeneration,
      ).toBe(1),
    );
  }, 60_000);

  it('a leader given SIGTERM exits 0 and hands over sooner', async () => {
    const [a, b] = await pair('lease-term');
    a.child.kill('SIGTERM');
    const termed = Date.now();
    const code = await a.exited;
    if (code !== 0) console.log(a.output.join('').slice(-3000));
    expect(code).toBe(0);
    await eventually(async () => expect(await leaderGauge(b)).toBe(1), 10_000, 50);
    const tookOver = Date.now() - termed;
    console.log(`[leader] standby took over ${tookOver} ms after SIGTERM`);
    expect(tookOver).toBeLessThan(2000);
    expect(a.output.join('')).toContain('leader lease released');
  }, 60_000);
});
