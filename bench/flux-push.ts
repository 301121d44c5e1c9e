/**
 * A fact pushed to Flux (test/flux/): from a fact PUT through the API to the Deployment that a real
 * kustomize-controller re-applies from the projected ConfigMap (postBuild.substituteFrom), over N changes
 * (default 30). The Kustomization's interval is an hour, so every change travels by kustomize-controller's watch
 * of ConfigMaps labelled reconcile.fluxcd.io/watch=Enabled. Prints p50/p99 of the whole journey and of the
 * projection step, timed by watches on the ConfigMap and the Deployment. Asserts nothing.
 *
 *   node --import tsx bench/flux-push.ts
 *   BENCH_CHANGES=100 BENCH_PAUSE_MS=200 node --import tsx bench/flux-push.ts
 */
import { factsPath } from '../src/kube/paths.js';
import {
  applyObjects,
  ensureFlux,
  FLUX_VERSIONS,
  type Flux,
  gitRepository,
  kustomization,
  repoFiles,
  startFlux,
  waitForReady,
} from '../test/flux/flux.js';
import { startGitServer } from '../test/flux/git-server.js';
import { fmtMs, pct, startJourney, waitUntil as waitFor } from './support/gitops.js';

const CHANGES = Number(process.env.BENCH_CHANGES ?? 30);
const PAUSE_MS = Number(process.env.BENCH_PAUSE_MS ?? 500);
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS ?? 60_000);
const NS = 'customers';
const ID = 'customer-42';

const built = await ensureFlux();
if ('error' in built) {
  console.error(`flux-push: the Flux controllers could not be built: ${built.error}`);
  process.exit(1);
}
const journey = await startJourney(NS, ['--configmap-projections']);
const { cp, client, follow, stops } = journey;
let flux: Flux | undefined;
try {
  const git = await startGitServer(repoFiles(['web']));
  stops.push(() => git.stop());
  flux = await startFlux({ info: cp.info(), binDir: built.binDir });

  const put = (fact: string, value: string | number) => journey.put(NS, ID, fact, value);
  await put('tier', 'gold');
  await put('max-replicas', 1);
  await client.mergePatch(factsPath(NS, ID), {
    metadata: { labels: { 'flagops.io/project-configmap': 'true' } },
  });

  // Watches timestamp each step as its event arrives; a watch that ends is resumed from its last resourceVersion.
  const cmEvents: { t: number; maxReplicas: string | undefined }[] = [];
  const deploymentEvents: { t: number; replicas: number }[] = [];
  await follow(`/api/v1/namespaces/${NS}/configmaps`, `metadata.name=flagops-facts-${ID}`, (obj) =>
    cmEvents.push({ t: performance.now(), maxReplicas: obj.data?.max_replicas }),
  );
  await follow(`/apis/apps/v1/namespaces/${NS}/deployments`, 'metadata.name=web', (obj) =>
    deploymentEvents.push({ t: performance.now(), replicas: obj.spec.replicas }),
  );
  const waitUntil = (check: () => boolean, what: string) =>
    waitFor(check, TIMEOUT_MS, () => `${what}\n${flux?.tail('kustomize-controller')}`);

  // A Kustomization whose ConfigMap is missing fails and retries only after its hour: the projection first.
  await waitUntil(() => cmEvents.at(-1)?.maxReplicas === '1', 'the projection');
  // The source first, so that no retry of a Kustomization that found no artifact lands in the measurements.
  await applyObjects(cp.info(), [gitRepository('apps', NS, git.url, git.branch)]);
  await waitForReady(cp.info(), NS, 'gitrepository/apps', flux);
  await applyObjects(cp.info(), [
    kustomization({
      name: 'web',
      namespace: NS,
      source: 'apps',
      path: './web',
      configMap: `flagops-facts-${ID}`,
    }),
  ]);
  await waitForReady(cp.info(), NS, 'kustomization/web', flux);
  await waitUntil(() => deploymentEvents.at(-1)?.replicas === 1, 'the first Deployment');

  const total: number[] = [];
  const putMs: number[] = [];
  const projected: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const target = 2 + (i % 8); // never the previous value (the first Deployment has 1)
    await new Promise((r) => setTimeout(r, PAUSE_MS));
    const c0 = cmEvents.length;
    const d0 = deploymentEvents.length;
    const t0 = performance.now();
    await put('max-replicas', target);
    putMs.push(performance.now() - t0);
    await waitUntil(
      () => deploymentEvents.slice(d0).some((e) => e.replicas === target),
      `replicas ${target}`,
    );
    total.push(deploymentEvents.slice(d0).find((e) => e.replicas === target)!.t - t0);
    const cm = cmEvents.slice(c0).find((e) => e.maxReplicas === String(target));
    projected.push(cm ? cm.t - t0 : Number.NaN);
    if (process.env.BENCH_VERBOSE) console.log(`change ${i + 1}: ${Math.round(total.at(-1)!)} ms`);
  }

  const fmt = fmtMs;
  const line = (name: string, xs: number[]) =>
    console.log(
      `  ${name.padEnd(40)} p50 ${fmt(pct(xs, 50))}   p99 ${fmt(pct(xs, 99))}   max ${fmt(pct(xs, 100))}`,
    );
  console.log(
    `flux-push: source-controller ${FLUX_VERSIONS.sourceController}, kustomize-controller ${FLUX_VERSIONS.kustomizeController}, ${CHANGES} changes of max-replicas, ${PAUSE_MS} ms apart, Kustomization interval 1h, node ${process.version}`,
  );
  console.log('time since the PUT was sent:');
  line('PUT answered (fact in the store)', putMs);
  line('ConfigMap projected', projected);
  line('Deployment re-applied by Flux', total);
  console.log(`each change, ms: ${total.map((t) => Math.round(t)).join(' ')}`);
} finally {
  await flux?.stop();
  await journey.stop();
}
