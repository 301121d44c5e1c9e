/** --argocd-namespace: a fact change asks Argo CD to hard-refresh the Application named like the identity. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { factsPath } from '../../src/kube/paths.js';
import { kubectl } from '../control-plane/kubectl.js';
import {
  adminClient,
  call,
  controlPlane,
  eventually,
  newNamespace,
  startTestOperator,
  type TestOperator,
} from '../support/cluster.js';
import { metric } from '../support/process.js';

let op: TestOperator;
let ns: string;
let argocd: string;
const client = adminClient();
const app = (name: string) => `/apis/argoproj.io/v1alpha1/namespaces/${argocd}/applications/${name}`;
const annotations = async (name: string) =>
  (await client.get<{ metadata: { annotations?: Record<string, string> } }>(app(name))).metadata
    .annotations ?? {};

beforeAll(async () => {
  const r = await kubectl(controlPlane(), [
    'apply',
    '--server-side',
    '-f',
    'test/integration/fixtures/argocd-application-crd.yaml',
  ]);
  expect(r.code).toBe(0);
  await kubectl(controlPlane(), ['wait', '--for=condition=Established', 'crd/applications.argoproj.io']);
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
});
afterAll(async () => {
  await op?.stop();
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
