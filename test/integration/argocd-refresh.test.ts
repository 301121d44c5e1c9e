/**
 * --argocd-namespace: a fact change asks Argo CD to hard-refresh the Applications that follow the identity — by
 * default the one named like it; with --argocd-application-mapping=annotation also those annotated
 * flagops.io/identity=<namespace>/<name>, in the Argo CD namespace or in --argocd-application-namespaces; with
 * =tracking the one that deployed the DeploymentFacts (Argo CD's tracking-id annotation or instance label). (The
 * real Argo CD acting on these requests is tested in test/argocd/.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { factsPath } from '../../src/kube/paths.js';
import { installApplicationCrd } from '../support/argocd.js';
import {
  adminClient,
  call,
  eventually,
  newNamespace,
  startTestOperator,
  type TestOperator,
} from '../support/cluster.js';
import { metric } from '../support/process.js';

let op: TestOperator;
let ns: string;
let argocd: string;
let mapped: TestOperator;
let mappedNs: string;
let teamNs: string;
let tracking: TestOperator;
let trackedNs: string;
const client = adminClient();
const app = (name: string, namespace = argocd) =>
  `/apis/argoproj.io/v1alpha1/namespaces/${namespace}/applications/${name}`;
const annotations = async (name: string, namespace = argocd) =>
  (await client.get<{ metadata: { annotations?: Record<string, string> } }>(app(name, namespace))).metadata
    .annotations ?? {};
const createApp = (namespace: string, name: string, follows?: string) =>
  client.create(`/apis/argoproj.io/v1alpha1/namespaces/${namespace}/applications`, {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name, ...(follows ? { annotations: { 'flagops.io/identity': follows } } : {}) },
    spec: { project: 'default' },
  });
const HARD = 'argocd.argoproj.io/refresh';

beforeAll(async () => {
  await installApplicationCrd();
  ns = await newNamespace('argo-facts');
  argocd = await newNamespace('argocd');
  for (const name of ['customer-9', 'pre-existing']) {
    await client.create(`/apis/argoproj.io/v1alpha1/namespaces/${argocd}/applications`, {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name },
      spec: { project: 'default' },
    });
  }
  await client.create(factsPath(ns), {
    apiVersion: 'flagops.io/v1alpha1',
    kind: 'DeploymentFacts',
    metadata: { name: 'pre-existing' },
    spec: { facts: { tier: 'bronze' } },
  });
  op = await startTestOperator({
    namespaces: [ns],
    auth: 'none',
    extraArgs: [`--argocd-namespace=${argocd}`],
  });

  // The annotation mapping, with Applications in the Argo CD namespace and in a team namespace.
  mappedNs = await newNamespace('argo-mapped');
  teamNs = await newNamespace('team');
  await createApp(argocd, 'shop-db', `${mappedNs}/shop`);
  await createApp(teamNs, 'shop-web', `${mappedNs}/shop`);
  await createApp(argocd, 'shop', `staging/shop`); // named like the identity, but follows another one
  await createApp(argocd, 'billing'); // named like an identity, no annotation
  await createApp(argocd, 'stray', `${mappedNs}/nobody`);
  mapped = await startTestOperator({
    namespaces: [mappedNs],
    auth: 'none',
    extraArgs: [
      `--argocd-namespace=${argocd}`,
      '--argocd-application-mapping=name,annotation',
      `--argocd-application-namespaces=${teamNs}`,
    ],
  });
});
afterAll(async () => {
  await op?.stop();
  await mapped?.stop();
  await tracking?.stop();
});

describe('Argo CD hard refresh', () => {
  it("is asked for when an identity's facts change", async () => {
    expect(
      (
        await call(op, 'PUT', `/api/v1/namespaces/${ns}/identities/customer-9/facts/tier`, {
          body: { value: 'gold' },
        })
      ).status,
    ).toBe(200);
    await eventually(
      async () =>
        expect(await annotations('customer-9')).toMatchObject({ 'argocd.argoproj.io/refresh': 'hard' }),
      5000,
      100,
    );
    expect(await metric(op.url, 'flagops_argocd_refresh_total', 'result="requested"')).toBeGreaterThan(0);
  });

  it('is not asked for objects merely listed at start, nor for identities without an Application', async () => {
    expect(await annotations('pre-existing')).toEqual({});
    await call(op, 'PUT', `/api/v1/namespaces/${ns}/identities/no-such-app/facts/tier`, {
      body: { value: 'gold' },
    });
    await eventually(
      async () =>
        expect(await metric(op.url, 'flagops_argocd_refresh_total', 'result="no_application"')).toBe(1),
      5000,
      100,
    );
    expect(await annotations('pre-existing')).toEqual({});
  });
});

describe('Argo CD hard refresh with --argocd-application-mapping=name,annotation', () => {
  it('refreshes every Application annotated with the identity, in any listed namespace, and no other', async () => {
    await call(mapped, 'PUT', `/api/v1/namespaces/${mappedNs}/identities/shop/facts/tier`, {
      body: { value: 'gold' },
    });
    await eventually(
      async () => {
        expect((await annotations('shop-db'))[HARD]).toBe('hard');
        expect((await annotations('shop-web', teamNs))[HARD]).toBe('hard');
      },
      5000,
      100,
    );
    expect(await metric(mapped.url, 'flagops_argocd_refresh_total', 'result="requested"')).toBe(2);
    // `shop` is named like the identity but annotated to follow staging/shop.
    expect((await annotations('shop'))[HARD]).toBeUndefined();
    expect((await annotations('stray'))[HARD]).toBeUndefined();
  });

  it('still refreshes an unannotated Application by name, and counts an identity without one', async () => {
    await call(mapped, 'PUT', `/api/v1/namespaces/${mappedNs}/identities/billing/facts/tier`, {
      body: { value: 'gold' },
    });
    await eventually(async () => expect((await annotations('billing'))[HARD]).toBe('hard'), 5000, 100);
    await call(mapped, 'PUT', `/api/v1/namespaces/${mappedNs}/identities/no-app/facts/tier`, {
      body: { value: 'gold' },
    });
    await eventually(
      async () =>
        expect(await metric(mapped.url, 'flagops_argocd_refresh_total', 'result="no_application"')).toBe(1),
      5000,
      100,
    );
    // A missing Application is known from the list: no failed patch, no error.
    expect(await metric(mapped.url, 'flagops_argocd_refresh_total', 'result="error"')).toBeUndefined();
    expect(await metric(mapped.url, 'flagops_argocd_refresh_total', 'result="requested"')).toBe(3);
  });
});

describe('Argo CD hard refresh with --argocd-application-mapping=tracking', () => {
  // GitOps-managed fact manifests: the Application that deployed the DeploymentFacts carries Argo CD's tracking on
  // it, and is the one to refresh, whatever its name.
  beforeAll(async () => {
    trackedNs = await newNamespace('argo-tracked');
    const facts = (name: string, metadata: Record<string, unknown>) =>
      client.create(factsPath(trackedNs), {
        apiVersion: 'flagops.io/v1alpha1',
        kind: 'DeploymentFacts',
        metadata: { name, ...metadata },
        spec: { facts: { tier: 'bronze' } },
      });
    // What Argo CD reports each Application manages (status.resources): the operator refreshes on that word only.
    const managing = (namespace: string, name: string, ids: string[]) =>
      client.create(`/apis/argoproj.io/v1alpha1/namespaces/${namespace}/applications`, {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Application',
        metadata: { name },
        spec: { project: 'default' },
        status: {
          resources: ids.map((id) => ({
            group: 'flagops.io',
            kind: 'DeploymentFacts',
            namespace: trackedNs,
            name: id,
          })),
        },
      });
    await managing(argocd, 'fleet-eu', ['customer-1']);
    await managing(teamNs, 'fleet-team', ['customer-2']);
    await managing(argocd, 'victim', ['customer-1']);
    await facts('customer-1', {
      annotations: {
        'argocd.argoproj.io/tracking-id': `fleet-eu:flagops.io/DeploymentFacts:${trackedNs}/customer-1`,
      },
    });
    await facts('customer-2', { labels: { 'app.kubernetes.io/instance': `${teamNs}_fleet-team` } });
    // copied from customer-1's manifest: Argo CD does not track this object by it, nor does the refresh
    await facts('customer-3', {
      annotations: {
        'argocd.argoproj.io/tracking-id': `victim:flagops.io/DeploymentFacts:${trackedNs}/customer-1`,
      },
    });
    await facts('customer-4', { labels: { 'app.kubernetes.io/instance': 'gone' } });
    // a tenant's own label naming another team's Application, which does not manage this object
    await facts('customer-5', { labels: { 'app.kubernetes.io/instance': 'victim' } });
    tracking = await startTestOperator({
      namespaces: [trackedNs],
      auth: 'none',
      extraArgs: [
        `--argocd-namespace=${argocd}`,
        '--argocd-application-mapping=tracking',
        `--argocd-application-namespaces=${teamNs}`,
      ],
    });
  });

  it('refreshes the Application whose tracking-id annotation or instance label is on the DeploymentFacts', async () => {
    for (const id of ['customer-1', 'customer-2']) {
      const r = await call(tracking, 'PUT', `/api/v1/namespaces/${trackedNs}/identities/${id}/facts/region`, {
        body: { value: 'eu' }, // tier is kubectl's (created above)
      });
      expect(r.status).toBe(200);
    }
    await eventually(
      async () => {
        expect((await annotations('fleet-eu'))[HARD]).toBe('hard');
        expect((await annotations('fleet-team', teamNs))[HARD]).toBe('hard');
      },
      5000,
      100,
    );
  });

  it('ignores a copied tracking-id and a label naming an Application that does not manage the object; counts a gone one as none', async () => {
    for (const id of ['customer-3', 'customer-4', 'customer-5']) {
      await call(tracking, 'PUT', `/api/v1/namespaces/${trackedNs}/identities/${id}/facts/region`, {
        body: { value: 'gold' },
      });
    }
    await eventually(
      async () =>
        expect(await metric(tracking.url, 'flagops_argocd_refresh_total', 'result="no_application"')).toBe(3),
      5000,
      100,
    );
    expect((await annotations('victim'))[HARD]).toBeUndefined();
    expect(await metric(tracking.url, 'flagops_argocd_refresh_total', 'result="error"')).toBeUndefined();
  });
});
