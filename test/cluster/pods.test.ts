// The operator as every user runs it: pods of its own image on a real node, installed by `kubectl apply -k deploy/`
// and by the Helm chart, reached from another pod through the Service's DNS name with that pod's ServiceAccount
// token, and put through what happens to pods: the leader deleted under writes, an upgrade under reads, a crash
// loop and an OOM kill. One cluster (global-setup.ts), so the steps run in order.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { clientPodYaml, eventually, kube } from './kube.js';

const cluster = inject('cluster');
const images = inject('clusterImages');
const { k, kubectl, apply, json, helm, client, clientInBackground } = kube(cluster);
const image = `${images.repository}:${images.tag}`;

const APP_NS = 'team-a';
const CLIENT = 'client';
const CHART = 'helm/flagops-data-store';
const RELEASE = 'flagops';
const RELEASE_NS = 'flagops';
const SERVICE = `http://${RELEASE}-flagops-data-store.${RELEASE_NS}.svc.cluster.local:8080`;
const FACTS = (id: string) => `${SERVICE}/api/v1/namespaces/${APP_NS}/identities/${id}/facts`;

interface Pod {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { containers: { image: string }[] };
  status: {
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: {
      ready: boolean;
      restartCount: number;
      image: string;
      state: { waiting?: { reason?: string } };
      lastState: { terminated?: { reason?: string; exitCode?: number; message?: string } };
    }[];
  };
}

const operatorPods = async (ns: string, instance: string) =>
  (await json<{ items: Pod[] }>('-n', ns, 'get', 'pods', '-l', `app.kubernetes.io/instance=${instance}`))
    .items;
const ready = (p: Pod) =>
  p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const leaseHolder = async () => {
  const lease = await json<{ spec: { holderIdentity?: string; leaseDurationSeconds?: number } }>(
    '-n',
    RELEASE_NS,
    'get',
    'lease',
    `${RELEASE}-flagops-data-store`,
  );
  return {
    pod: lease.spec.holderIdentity?.split('_')[0] ?? '',
    durationS: lease.spec.leaseDurationSeconds ?? 0,
  };
};
const factsOf = async (id: string) =>
  (await json<{ spec: { facts?: Record<string, unknown> } }>('-n', APP_NS, 'get', 'deploymentfacts', id)).spec
    .facts ?? {};

beforeAll(async () => {
  // The app namespace and its client: a ServiceAccount that may edit facts there (the chart's aggregated role; a
  // RoleBinding may name a ClusterRole before it exists) and one with no role at all.
  await apply(`apiVersion: v1
kind: Namespace
metadata: {name: ${APP_NS}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: facts-editor, namespace: ${APP_NS}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: nobody, namespace: ${APP_NS}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: facts-editor, namespace: ${APP_NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: flagops-facts-editor}
subjects: [{kind: ServiceAccount, name: facts-editor, namespace: ${APP_NS}}]
`);
  // The namespace's default ServiceAccount comes from the controller-manager; the pod waits for it.
  await eventually(
    'ServiceAccount default',
    30_000,
    async () => (await kubectl(['-n', APP_NS, 'get', 'sa', 'default'])).code === 0,
  );
  await apply(clientPodYaml(APP_NS, CLIENT, 'facts-editor', image));
  await k('-n', APP_NS, 'wait', '--for=condition=Ready', `pod/${CLIENT}`, '--timeout=90s');
}, 150_000);

describe('kubectl apply -k deploy/', () => {
  afterAll(async () => {
    await kubectl(['delete', '-k', 'deploy/', '--wait=true', '--timeout=120s', '--ignore-not-found']);
  }, 150_000);

  it('reaches Ready through the pods’ own probes and serves through its Service', async () => {
    await k('apply', '--server-side', '-k', 'deploy/');
    await k('-n', 'flagops-system', 'rollout', 'status', 'deployment/flagops-data-store', '--timeout=150s');
    const pods = await operatorPods('flagops-system', 'flagops-data-store');
    expect(pods.filter(ready)).toHaveLength(2);
    for (const p of pods) expect(p.spec.containers[0]?.image).toBe(image);
    const r = await client(
      APP_NS,
      CLIENT,
      'request',
      'GET',
      'http://flagops-data-store.flagops-system.svc:8080/readyz',
    );
    expect(r.status).toBe(200);
  }, 200_000);
});

describe('helm install (2 replicas)', () => {
  beforeAll(async () => {
    const r = await helm([
      'install',
      RELEASE,
      CHART,
      '-n',
      RELEASE_NS,
      '--create-namespace',
      '--set',
      'replicaCount=2',
      '--wait',
      '--timeout=3m',
    ]);
    if (r.code !== 0) throw new Error(`helm install: ${r.stderr}`);
  }, 240_000);
  // Other files install releases of their own on this cluster: leave none of this one's behind.
  afterAll(async () => {
    await helm(['uninstall', RELEASE, '-n', RELEASE, '--wait', '--timeout=2m']);
  }, 150_000);

  it('runs two Ready replicas, one of them the leader', async () => {
    const pods = await operatorPods(RELEASE_NS, RELEASE);
    expect(pods.filter(ready)).toHaveLength(2);
    const { pod } = await eventually('a leader', 30_000, async () =>
      (await leaseHolder()).pod ? leaseHolder() : undefined,
    );
    expect(pods.map((p) => p.metadata.name)).toContain(pod);
  });

  it('writes and reads facts through the Service DNS name with the pod’s ServiceAccount token', async () => {
    const put = await client(APP_NS, CLIENT, 'request', 'PUT', `${FACTS('shop')}/tier`, '{"value":"gold"}');
    expect(put.status, put.body).toBeLessThan(300);
    // The write went to the API server: the DeploymentFacts holds it, written by the API's field manager.
    expect(await factsOf('shop')).toMatchObject({ tier: 'gold' });
    const managers = await k(
      '-n',
      APP_NS,
      'get',
      'deploymentfacts',
      'shop',
      '--show-managed-fields',
      '-o',
      'jsonpath={.metadata.managedFields[*].manager}',
    );
    expect(managers).toMatch(/flagops/);
    const get = await client(APP_NS, CLIENT, 'request', 'GET', FACTS('shop'));
    expect(get.status).toBe(200);
    expect(JSON.parse(get.body)).toMatchObject({ tier: 'gold' });
    // Every replica serves it from its own informer cache: ask each pod directly.
    for (const p of await operatorPods(RELEASE_NS, RELEASE)) {
      const url = `http://${p.status.podIP}:8080/api/v1/namespaces/${APP_NS}/identities/shop/facts/tier`;
      const each = await eventually(`${p.metadata.name} serves tier`, 10_000, async () => {
        const r = await client(APP_NS, CLIENT, 'request', 'GET', url);
        return r.status === 200 ? r : undefined;
      });
      expect(JSON.parse(each.body)).toEqual({ tier: 'gold' });
    }
  });

  it('refuses a call without a token (401) and a token without a role (403), checked by the API server', async () => {
    const anonymous = await client(APP_NS, CLIENT, 'request', 'GET', FACTS('shop'), '--anonymous');
    expect(anonymous.status).toBe(401);
    const token = (await k('-n', APP_NS, 'create', 'token', 'nobody')).trim();
    const forbidden = await client(APP_NS, CLIENT, 'request', 'GET', FACTS('shop'), `--token=${token}`);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toMatch(/deploymentfacts/);
  });

  it('answers OFREP for the identity', async () => {
    const body = JSON.stringify({ context: { targetingKey: 'shop', namespace: APP_NS } });
    const one = await client(
      APP_NS,
      CLIENT,
      'request',
      'POST',
      `${SERVICE}/ofrep/v1/evaluate/flags/tier`,
      body,
    );
    expect(one.status, one.body).toBe(200);
    expect(JSON.parse(one.body)).toMatchObject({ key: 'tier', value: 'gold', reason: 'STATIC' });
    const bulk = await client(APP_NS, CLIENT, 'request', 'POST', `${SERVICE}/ofrep/v1/evaluate/flags`, body);
    expect(bulk.status).toBe(200);
    expect(bulk.headers.etag).toBeTruthy();
    expect(JSON.parse(bulk.body).flags).toContainEqual(
      expect.objectContaining({ key: 'tier', value: 'gold' }),
    );
  });

  it('streams a change on the change feed', async () => {
    const r = await client<{ status: number; trigger: number; change: Record<string, unknown> }>(
      APP_NS,
      CLIENT,
      'watch',
      `${SERVICE}/api/v1/watch?namespace=${APP_NS}&identity=shop`,
      `${FACTS('shop')}/region`,
      '{"value":"eu-west"}',
    );
    expect(r.status).toBe(200);
    expect(r.trigger).toBeLessThan(300);
    expect(r.change).toMatchObject({
      kind: 'facts',
      action: 'upsert',
      namespace: APP_NS,
      name: 'shop',
      keys: ['region'],
    });
  });

  it('serves Prometheus metrics through the Service', async () => {
    const r = await client(APP_NS, CLIENT, 'request', 'GET', `${SERVICE}/metrics`);
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/^flagops_\w+/m);
    expect(r.body).toMatch(/^flagops_process_resident_memory_bytes /m);
  });

  it('keeps every acknowledged write when the leader pod is deleted under a write load, and a new leader takes over within the lease time', async () => {
    const before = await leaseHolder();
    const load = clientInBackground(APP_NS, CLIENT, 'write-load', FACTS('{id}'), '25');
    await eventually(
      'the first acknowledged write',
      20_000,
      async () => (await kubectl(['-n', APP_NS, 'get', 'deploymentfacts', 'load-0'])).code === 0,
    );
    const deleted = Date.now();
    await k('-n', RELEASE_NS, 'delete', 'pod', before.pod, '--wait=false');
    // The pod leads until it stops (its preStop sleep, then SIGTERM releases the lease); then another takes over.
    const after = await eventually('a new leader', 60_000, async () => {
      const h = await leaseHolder();
      return h.pod && h.pod !== before.pod ? h : undefined;
    });
    const takeoverS = (Date.now() - deleted) / 1000;
    const result = await load.done;
    const summary = result.lines.at(-1)?.summary as
      | { acked: number; failed: number; errors: string[] }
      | undefined;
    expect(summary, result.stderr).toBeDefined();
    const acked = result.lines.flatMap((l) =>
      typeof l.ack === 'string' ? [{ name: l.ack, id: String(l.id) }] : [],
    );
    console.log(
      `[cluster] leader ${before.pod} deleted: new leader ${after.pod} after ${takeoverS.toFixed(1)} s; ${acked.length} writes acknowledged, ${summary?.failed} failed ${JSON.stringify(summary?.errors)}`,
    );
    expect(acked.length).toBeGreaterThan(20);
    // Within the pod's stop (preStop 5 s) plus one lease duration.
    expect(takeoverS).toBeLessThan(5 + before.durationS + 2);
    const stored = new Map<string, Record<string, unknown>>();
    for (const id of new Set(acked.map((a) => a.id))) stored.set(id, await factsOf(id));
    const lost = acked.filter((a) => stored.get(a.id)?.[a.name] !== a.name).map((a) => `${a.id}/${a.name}`);
    expect(lost, `acknowledged but missing: ${lost.join(', ')}`).toEqual([]);
    // The new leader reconciles: the status catches up with the last write.
    await eventually('status Ready at the current generation', 30_000, async () => {
      const o = await json<{
        metadata: { generation: number };
        status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] };
      }>('-n', APP_NS, 'get', 'deploymentfacts', 'load-0');
      return (
        o.status?.observedGeneration === o.metadata.generation &&
        o.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
      );
    });
    await k(
      '-n',
      RELEASE_NS,
      'rollout',
      'status',
      `deployment/${RELEASE}-flagops-data-store`,
      '--timeout=90s',
    );
  }, 180_000);

  it('upgrades to a new image tag under a read load without one failed read', async () => {
    const load = clientInBackground(APP_NS, CLIENT, 'read-load', `${FACTS('shop')}/tier`, '30');
    await new Promise((r) => setTimeout(r, 3_000));
    const started = Date.now();
    const up = await helm([
      'upgrade',
      RELEASE,
      CHART,
      '-n',
      RELEASE_NS,
      '--reuse-values',
      '--set',
      `image.tag=${images.nextTag}`,
      '--wait',
      '--timeout=3m',
    ]);
    expect(up.code, up.stderr).toBe(0);
    await k(
      '-n',
      RELEASE_NS,
      'rollout',
      'status',
      `deployment/${RELEASE}-flagops-data-store`,
      '--timeout=120s',
    );
    const upgradeS = (Date.now() - started) / 1000;
    const result = await load.done;
    const summary = result.lines.at(-1)?.summary as
      | { ok: number; failed: number; errors: string[] }
      | undefined;
    expect(summary, result.stderr).toBeDefined();
    console.log(
      `[cluster] helm upgrade took ${upgradeS.toFixed(1)} s under ${summary?.ok} reads, ${summary?.failed} failed ${JSON.stringify(summary?.errors)}`,
    );
    // The load outlasted the rollout, so every read it made was made during or after it.
    expect(upgradeS).toBeLessThan(26);
    expect(summary?.failed).toBe(0);
    expect(summary?.ok).toBeGreaterThan(100);
    const pods = (await operatorPods(RELEASE_NS, RELEASE)).filter((p) => !p.metadata.deletionTimestamp);
    expect(pods.map((p) => p.spec.containers[0]?.image)).toEqual([
      `${images.repository}:${images.nextTag}`,
      `${images.repository}:${images.nextTag}`,
    ]);
  }, 200_000);
});

describe('a broken install shows why in the pod’s status and Events', () => {
  // Releases of their own, beside the working one: no CRDs, cluster-wide user roles or admission policy (those
  // belong to the first release).
  const brokenRelease = async (name: string, ...set: string[]) => {
    const r = await helm([
      'install',
      name,
      CHART,
      '-n',
      name,
      '--create-namespace',
      '--skip-crds',
      '--set',
      'replicaCount=1',
      '--set',
      'rbac.createUserRoles=false',
      '--set',
      'admissionPolicy.enabled=false',
      ...set.flatMap((s) => ['--set', s]),
    ]);
    if (r.code !== 0) throw new Error(`helm install ${name}: ${r.stderr}`);
  };
  const firstPod = async (ns: string) =>
    eventually(`a pod in ${ns}`, 30_000, async () => (await operatorPods(ns, ns))[0]);

  afterAll(async () => {
    for (const name of ['crashing', 'oom']) await helm(['uninstall', name, '-n', name, '--wait']);
  }, 120_000);

  it('a configuration error: CrashLoopBackOff, exit code 2 and the message naming the flag', async () => {
    await brokenRelease('crashing', 'extraEnv[0].name=FLAGOPS_STATUS_QPS', 'extraEnv[0].value=fast');
    const pod = await eventually('CrashLoopBackOff', 90_000, async () => {
      const p = await firstPod('crashing');
      const s = p.status.containerStatuses?.[0];
      return s?.state.waiting?.reason === 'CrashLoopBackOff' && s.lastState.terminated ? s : undefined;
    });
    expect(pod.lastState.terminated?.exitCode).toBe(2);
    expect(pod.lastState.terminated?.message).toMatch(/status-qps/);
    const events = await k(
      '-n',
      'crashing',
      'get',
      'events',
      '--field-selector',
      'reason=BackOff',
      '-o',
      'jsonpath={.items[*].message}',
    );
    expect(events).toMatch(/Back-off restarting failed container/);
  }, 120_000);

  it('too little memory: OOMKilled in the last state, restarts counted', async () => {
    await brokenRelease('oom', 'resources.limits.memory=24Mi', 'resources.requests.memory=24Mi');
    const status = await eventually('OOMKilled', 90_000, async () => {
      const s = (await firstPod('oom')).status.containerStatuses?.[0];
      return s?.lastState.terminated?.reason === 'OOMKilled' ? s : undefined;
    });
    expect(status.restartCount).toBeGreaterThanOrEqual(1);
    expect(status.ready).toBe(false);
  }, 120_000);
});
