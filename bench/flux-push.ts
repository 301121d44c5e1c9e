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
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { parseConfig } from '../src/config.js';
import { KubeClient } from '../src/kube/client.js';
import { factsPath } from '../src/kube/paths.js';
import { createLogger } from '../src/logger.js';
import { startOperator } from '../src/operator.js';
import { ensureBinaries, startControlPlane } from '../test/control-plane/control-plane.js';
import { installCrds } from '../test/control-plane/kubectl.js';
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
const cp = await startControlPlane({ binDir: await ensureBinaries() });
const stops: (() => unknown)[] = [];
let flux: Flux | undefined;
try {
  await installCrds(cp.info());
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const client = new KubeClient(kc);
  await client.create('/api/v1/namespaces', { metadata: { name: NS } });
  const parsed = parseConfig(
    [
      `--namespaces=${NS}`,
      '--listen=127.0.0.1:0',
      '--auth=kubernetes',
      '--log-level=warn',
      '--configmap-projections',
    ],
    {},
  );
  if (!('config' in parsed)) throw new Error('bad config');
  const op = await startOperator(
    parsed.config,
    createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() })),
    kc,
  );
  stops.push(() => op.stop());
  const git = await startGitServer(repoFiles(['web']));
  stops.push(() => git.stop());
  flux = await startFlux({ info: cp.info(), binDir: built.binDir });

  const put = async (fact: string, value: string | number) => {
    const res = await fetch(`${op.url}/api/v1/namespaces/${NS}/identities/${ID}/facts/${fact}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${cp.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ value }),
    });
    if (res.status !== 200) throw new Error(`PUT ${fact}: HTTP ${res.status} ${await res.text()}`);
  };
  await put('tier', 'gold');
  await put('max-replicas', 1);
  await client.mergePatch(factsPath(NS, ID), {
    metadata: { labels: { 'flagops.io/project-configmap': 'true' } },
  });

  // Watches timestamp each step as its event arrives; a watch that ends is resumed from its last resourceVersion.
  const cmEvents: { t: number; maxReplicas: string | undefined }[] = [];
  const deploymentEvents: { t: number; replicas: number }[] = [];
  let following = true;
  // biome-ignore lint/suspicious/noExplicitAny: watch events are plain JSON
  const follow = async (path: string, fieldSelector: string, onEvent: (obj: any) => void) => {
    const watch = new Watch(kc);
    let resourceVersion: string | undefined;
    let current: AbortController | undefined;
    stops.push(() => current?.abort());
    const start = async (): Promise<void> => {
      current = await watch.watch(
        path,
        { fieldSelector, ...(resourceVersion ? { resourceVersion } : {}) },
        (type, obj) => {
          if (type === 'ERROR') {
            resourceVersion = undefined;
            return;
          }
          resourceVersion = obj.metadata?.resourceVersion;
          if (type !== 'BOOKMARK') onEvent(obj);
        },
        () => {
          if (following) setTimeout(() => void start(), 10);
        },
      );
    };
    await start();
  };
  await follow(`/api/v1/namespaces/${NS}/configmaps`, `metadata.name=flagops-facts-${ID}`, (obj) =>
    cmEvents.push({ t: performance.now(), maxReplicas: obj.data?.max_replicas }),
  );
  await follow(`/apis/apps/v1/namespaces/${NS}/deployments`, 'metadata.name=web', (obj) =>
    deploymentEvents.push({ t: performance.now(), replicas: obj.spec.replicas }),
  );
  stops.push(() => {
    following = false; // first of the stops (they run in reverse): no watch restarts while aborting
  });
  const waitUntil = async (check: () => boolean, what: string) => {
    const deadline = performance.now() + TIMEOUT_MS;
    while (!check()) {
      if (performance.now() > deadline)
        throw new Error(`timed out waiting for ${what}\n${flux?.tail('kustomize-controller')}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  };

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

  const pct = (xs: number[], p: number) => {
    const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
    return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
  };
  const fmt = (ms: number) => (Number.isNaN(ms) ? '   n/a' : `${Math.round(ms).toString().padStart(5)} ms`);
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
  for (const stop of stops.reverse()) await stop();
  await flux?.stop();
  await cp.stop();
}
