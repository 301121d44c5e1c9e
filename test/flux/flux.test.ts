/**
 * ConfigMap projections with a real Flux (source-controller and kustomize-controller from their Go modules,
 * test/flux/flux.ts) on the real control plane: a fact PUT through the HTTP API changes the projection, and
 * kustomize-controller, watching ConfigMaps labelled reconcile.fluxcd.io/watch=Enabled, re-applies the
 * Kustomization that substitutes from it, so the Deployment's replicas and annotation change. Every Flux
 * interval is an hour and nothing requests a reconcile: only the label-driven watch explains the update. A
 * ConfigMap with the label of earlier versions (toolkit.fluxcd.io/watch) changed at the same moment does not.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { KubeClient } from '../../src/kube/client.js';
import { corePath, factsPath } from '../../src/kube/paths.js';
import {
  adminClient,
  call,
  controlPlane,
  eventually,
  newNamespace,
  startTestOperator,
  type TestOperator,
} from '../support/cluster.js';
import {
  applyObjects,
  type Flux,
  gitRepository,
  kustomization,
  repoFiles,
  startFlux,
  waitForReady,
} from './flux.js';
import { type GitServer, startGitServer } from './git-server.js';

const flux = inject('flux');
if (flux.error)
  console.warn(
    `[flux] SKIPPING the Flux end-to-end test: the Flux controllers could not be built: ${flux.error}`,
  );

interface Deployment {
  metadata: { annotations?: Record<string, string>; generation: number };
  spec: { replicas: number };
}

describe.skipIf(!flux.binDir)('ConfigMap projections with a real Flux', () => {
  let client: KubeClient;
  let op: TestOperator;
  let fluxProcs: Flux;
  let git: GitServer;
  let ns: string;
  const ID = 'customer-42';
  const deployment = (name: string) =>
    client.get<Deployment>(`/apis/apps/v1/namespaces/${ns}/deployments/${name}`);
  const kustomizationStatus = async (name: string) => {
    const k = await client.get<{ status?: unknown }>(
      `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${ns}/kustomizations/${name}`,
    );
    return JSON.stringify(k.status);
  };
  const putFact = async (fact: string, value: string | number) => {
    const r = await call(op, 'PUT', `/api/v1/namespaces/${ns}/identities/${ID}/facts/${fact}`, {
      token: controlPlane().adminToken,
      body: { value },
    });
    expect(r.status, r.text).toBe(200);
  };

  beforeAll(async () => {
    client = adminClient();
    ns = await newNamespace('flux');
    op = await startTestOperator({ namespaces: [ns], extraArgs: ['--configmap-projections'] });
    git = await startGitServer(repoFiles(['web', 'legacy']));
    fluxProcs = await startFlux({ info: controlPlane(), binDir: flux.binDir! });

    // The identity, made through the API, then opted in to its projection.
    await putFact('tier', 'gold');
    await putFact('max-replicas', 2);
    await client.mergePatch(factsPath(ns, ID), {
      metadata: { labels: { 'flagops.io/project-configmap': 'true' } },
    });
    await eventually(async () =>
      expect(
        (await client.get<{ data?: unknown }>(corePath('configmaps', ns, `flagops-facts-${ID}`))).data,
      ).toEqual({
        tier: 'gold',
        max_replicas: '2',
      }),
    );
    // The same variables in a ConfigMap carrying only the label earlier versions set.
    await client.create(corePath('configmaps', ns), {
      metadata: { name: 'legacy-vars', labels: { 'toolkit.fluxcd.io/watch': 'Enabled' } },
      data: { tier: 'gold', max_replicas: '2' },
    });
    // The source first: a Kustomization that finds no artifact yet is retried after --requeue-dependency, and
    // such a retry would reconcile it once more in the middle of the test.
    await applyObjects(controlPlane(), [gitRepository('apps', ns, git.url, git.branch)]);
    await waitForReady(controlPlane(), ns, 'gitrepository/apps', fluxProcs);
    await applyObjects(controlPlane(), [
      kustomization({
        name: 'web',
        namespace: ns,
        source: 'apps',
        path: './web',
        configMap: `flagops-facts-${ID}`,
      }),
      kustomization({
        name: 'legacy',
        namespace: ns,
        source: 'apps',
        path: './legacy',
        configMap: 'legacy-vars',
      }),
    ]);
    for (const name of ['web', 'legacy'])
      await eventually(
        async () => {
          const d = await deployment(name).catch(async (err: unknown) => {
            throw new Error(`${String(err)}: ${await kustomizationStatus(name)}`);
          });
          expect(d.spec.replicas).toBe(2);
          expect(d.metadata.annotations?.['flagops.io/tier']).toBe('gold');
        },
        60_000,
        100,
      ).catch((err: unknown) => {
        throw new Error(
          `${String(err)}\n${fluxProcs.tail('kustomize-controller')}\n${fluxProcs.tail('source-controller')}`,
        );
      });
  }, 180_000);

  afterAll(async () => {
    await fluxProcs?.stop();
    await git?.stop();
    await op?.stop();
  });

  it('re-applies the Deployment when a fact changes, through the watch label alone', async () => {
    const before = await deployment('web');
    const started = Date.now();
    await Promise.all([
      putFact('max-replicas', 3),
      client.mergePatch(corePath('configmaps', ns, 'legacy-vars'), { data: { max_replicas: '3' } }),
    ]);
    const after = await eventually(
      async () => {
        const d = await deployment('web');
        expect(d.spec.replicas).toBe(3);
        return d;
      },
      30_000,
      20,
    ).catch(async (err: unknown) => {
      throw new Error(
        `${String(err)}: ${await kustomizationStatus('web')}\n${fluxProcs.tail('kustomize-controller')}`,
      );
    });
    const elapsed = Date.now() - started;
    expect(after.metadata.generation).toBeGreaterThan(before.metadata.generation);
    expect(after.metadata.annotations?.['flagops.io/tier']).toBe('gold');
    // Well within an hour's interval: the watch did it.
    expect(elapsed).toBeLessThan(30_000);

    await putFact('tier', 'platinum');
    await eventually(
      async () =>
        expect((await deployment('web')).metadata.annotations?.['flagops.io/tier']).toBe('platinum'),
      30_000,
      20,
    );

    // The ConfigMap with the old label changed at the same moment; Flux did not notice it in all that time,
    // nor in a few seconds more.
    await new Promise((r) => setTimeout(r, Math.max(3_000, elapsed)));
    expect((await deployment('legacy')).spec.replicas, fluxProcs.tail('kustomize-controller')).toBe(2);
  });
});
