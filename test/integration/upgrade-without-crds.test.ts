/**
 * An upgrade that leaves the new CRDs out (`helm upgrade` never installs CRDs): the operator on a control plane of
 * its own where FactProfile and ClusterFactProfile are not served still becomes ready and serves facts, says what is
 * missing, and takes profiles in once their CRDs are installed, with no restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKubeAccess } from '../../src/kube/access.js';
import { KubeClient } from '../../src/kube/client.js';
import { clusterProfilesPath, factsPath } from '../../src/kube/paths.js';
import { type ControlPlane, ensureBinaries, startControlPlane } from '../control-plane/control-plane.js';
import { kubectl, must } from '../control-plane/kubectl.js';
import { call, eventually, startTestOperator, type TestOperator } from '../support/cluster.js';

let cp: ControlPlane;
let op: TestOperator;
let client: KubeClient;
const NS = 'default';

beforeAll(async () => {
  cp = await startControlPlane({ binDir: await ensureBinaries() });
  // The CRDs of a release before profiles.
  await must(
    kubectl(cp.info(), [
      'apply',
      '--server-side',
      ...['deploymentfacts', 'deploymentsecrets', 'factsources'].flatMap((p) => [
        '-f',
        `crds/${p}.flagops.io.yaml`,
      ]),
    ]),
    'installing the old CRDs',
  );
  await must(
    kubectl(cp.info(), [
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/deploymentfacts.flagops.io',
    ]),
    'waiting for the CRDs',
  );
  const access = await loadKubeAccess(cp.kubeconfigPath);
  client = new KubeClient(access);
  await client.create(factsPath(NS), {
    apiVersion: 'flagops.io/v1alpha1',
    kind: 'DeploymentFacts',
    metadata: { name: 'web', labels: { tier: 'gold' } },
    spec: { facts: { owner: 'team-a' } },
  });
  op = await startTestOperator({ namespaces: [], auth: 'none', defaultNamespace: NS, kc: access });
}, 120_000);

afterAll(async () => {
  await op?.stop();
  await cp?.stop();
});

describe('an operator upgraded without its new CRDs', () => {
  it('becomes ready, serves facts, and names the missing CRDs and the fix', async () => {
    await eventually(async () => expect((await call(op, 'GET', '/readyz')).status).toBe(200), 20_000);
    const r = await call(op, 'GET', `/api/v1/namespaces/${NS}/identities/web/facts`);
    expect(r.body).toEqual({ owner: 'team-a' });
    const warnings = op.logs.filter((l) => l.includes('is not installed: serving without profiles'));
    expect(warnings.join('\n')).toContain('CRD clusterfactprofiles.flagops.io is not installed');
    expect(warnings.join('\n')).toContain('kubectl apply --server-side -f crds/');
  });

  it('takes profiles in once their CRDs are installed, with no restart', async () => {
    await must(
      kubectl(cp.info(), [
        'apply',
        '--server-side',
        '-f',
        'crds/factprofiles.flagops.io.yaml',
        '-f',
        'crds/clusterfactprofiles.flagops.io.yaml',
      ]),
      'installing the new CRDs',
    );
    await must(
      kubectl(cp.info(), [
        'wait',
        '--for=condition=Established',
        '--timeout=60s',
        'crd/clusterfactprofiles.flagops.io',
      ]),
      'waiting for the new CRDs',
    );
    await client.create(clusterProfilesPath(), {
      apiVersion: 'flagops.io/v1alpha1',
      kind: 'ClusterFactProfile',
      metadata: { name: 'gold' },
      spec: { selector: { matchLabels: { tier: 'gold' } }, facts: { 'max-replicas': 5 } },
    });
    await eventually(
      async () =>
        expect((await call(op, 'GET', `/api/v1/namespaces/${NS}/identities/web/facts`)).body).toEqual({
          owner: 'team-a',
          'max-replicas': 5,
        }),
      30_000,
      250,
    );
    expect(op.logs.some((l) => l.includes('resource served now'))).toBe(true);
  });

  it('serves without fact history until the FactRevision CRD is installed, then records', async () => {
    const h = await call(op, 'GET', `/api/v1/namespaces/${NS}/identities/web/history`);
    expect([h.status, h.body.error.message]).toEqual([
      404,
      'fact history is not available: CRD factrevisions.flagops.io is not installed: no fact history until it is. Install the CRDs of this version (helm upgrade does not): kubectl apply --server-side -f crds/',
    ]);
    expect((await call(op, 'GET', `/api/v1/namespaces/${NS}/identities/web/facts?revision=1`)).status).toBe(
      404,
    );
    expect(op.logs.filter((l) => l.includes('CRD factrevisions.flagops.io is not installed'))).toHaveLength(
      1,
    );

    await must(
      kubectl(cp.info(), ['apply', '--server-side', '-f', 'crds/factrevisions.flagops.io.yaml']),
      'installing the FactRevision CRD',
    );
    await must(
      kubectl(cp.info(), [
        'wait',
        '--for=condition=Established',
        '--timeout=60s',
        'crd/factrevisions.flagops.io',
      ]),
      'waiting for the FactRevision CRD',
    );
    // Looked for again every 10 s: the served facts are then recorded as revision 1.
    await eventually(
      async () => {
        const r = await call(op, 'GET', `/api/v1/namespaces/${NS}/identities/web/history`);
        expect(r.status).toBe(200);
        expect(r.body.items.map((i: { revision: number }) => i.revision)).toEqual([1]);
      },
      30_000,
      250,
    );
  }, 60_000);
});
