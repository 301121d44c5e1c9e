import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterProfilesPath, factsPath } from '../../src/kube/paths.js';
import { installApplicationCrd, renderWithPlugin } from '../support/argocd.js';
import {
  adminClient,
  call,
  eventually,
  newNamespace,
  startTestOperator,
  suffix,
  type TestOperator,
} from '../support/cluster.js';

const client = adminClient();
const RUN = `everywhere-${suffix()}`;
let ns: string;
let argocd: string;
let op: TestOperator;

beforeAll(async () => {
  await installApplicationCrd();
  ns = await newNamespace('everywhere');
  argocd = await newNamespace('everywhere-argocd');
  await client.create(`/apis/argoproj.io/v1alpha1/namespaces/${argocd}/applications`, {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: 'shop' },
    spec: { project: 'default' },
  });
  await client.create(factsPath(ns), {
    apiVersion: 'flagops.io/v1alpha1',
    kind: 'DeploymentFacts',
    metadata: { name: 'shop', labels: { run: RUN, 'flagops.io/project-configmap': 'true' } },
    spec: { facts: { owner: 'team-a' } },
  });
  op = await startTestOperator({
    namespaces: [ns],
    auth: 'none',
    defaultNamespace: ns,
    extraArgs: ['--configmap-projections', `--argocd-namespace=${argocd}`],
  });
  await eventually(async () => expect((await call(op, 'GET', '/readyz')).status).toBe(200));
});

afterAll(async () => {
  await op?.stop();
  await client.delete(clusterProfilesPath(undefined, RUN)).catch(() => {});
});

const configMap = async () =>
  (
    await client.get<{ data?: Record<string, string> }>(
      `/api/v1/namespaces/${ns}/configmaps/flagops-facts-shop`,
    )
  ).data ?? {};
const refreshAnnotation = async () =>
  (
    await client.get<{ metadata: { annotations?: Record<string, string> } }>(
      `/apis/argoproj.io/v1alpha1/namespaces/${argocd}/applications/shop`,
    )
  ).metadata.annotations?.['argocd.argoproj.io/refresh'];

/** deploy/argocd/render.mjs, the CMP's generate step, rendering `tier: {{ fact "tier" }}` for `shop`. */
async function render(): Promise<string> {
  const r = await renderWithPlugin(
    { 'cm.yaml': 'tier: {{ fact "tier" }}\n' },
    { FLAGOPS_URL: op.url, FLAGOPS_NAMESPACE: ns, ARGOCD_APP_NAME: 'shop' },
  );
  return r.stdout || r.stderr;
}

describe('a profile change, with no change to the identity', () => {
  it('reaches the projection, the Argo CD refresh, the ApplicationSet generator and the CMP render', async () => {
    await eventually(async () => expect(await configMap()).toEqual({ owner: 'team-a' }));
    expect(await refreshAnnotation()).toBeUndefined();
    await client.create(clusterProfilesPath(), {
      apiVersion: 'flagops.io/v1alpha1',
      kind: 'ClusterFactProfile',
      metadata: { name: RUN },
      spec: { selector: { matchLabels: { run: RUN } }, facts: { tier: 'gold', 'max-replicas': 5 } },
    });
    await eventually(
      async () => expect(await configMap()).toEqual({ owner: 'team-a', tier: 'gold', max_replicas: '5' }),
      10_000,
    );
    await eventually(async () => expect(await refreshAnnotation()).toBe('hard'), 10_000);
    const params = await call(op, 'POST', '/api/v1/getparams.execute', {
      body: { applicationSetName: 'x', input: { parameters: { namespace: ns } } },
    });
    expect(params.status).toBe(200);
    expect(params.body.output.parameters).toEqual([
      expect.objectContaining({
        identity: 'shop',
        facts: { owner: 'team-a', tier: 'gold', 'max-replicas': 5 },
      }),
    ]);
    expect(await render()).toBe('tier: gold\n');

    // The profile changes again: every consumer follows; the own object is untouched (generation 1).
    await client.mergePatch(clusterProfilesPath(undefined, RUN), { spec: { facts: { tier: 'platinum' } } });
    await eventually(async () => expect((await configMap()).tier).toBe('platinum'), 10_000);
    expect(await render()).toBe('tier: platinum\n');
    const own = await client.get<{ metadata: { generation: number } }>(factsPath(ns, 'shop'));
    expect(own.metadata.generation).toBe(1);
  });
});
