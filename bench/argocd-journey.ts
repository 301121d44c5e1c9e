/**
 * The GitOps journey against a real Argo CD (test/argocd/): from a fact PUT through the API to the Deployment
 * in the API server carrying the new value, over N changes (default 30). Prints p50/p99 of the whole journey and
 * of each step, timed by watches on the Application and the Deployment, so that a slow step shows which it is.
 * Asserts nothing.
 *
 *   node --import tsx bench/argocd-journey.ts
 *   BENCH_CHANGES=50 BENCH_PAUSE_MS=1500 node --import tsx bench/argocd-journey.ts
 *   BENCH_SELF_HEAL_BACKOFF=2,3 BENCH_CHANGES=5 node --import tsx bench/argocd-journey.ts   # Argo CD's defaults
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARGOCD_VERSION, type ArgoCd, ensureArgoCd, startArgoCd } from '../test/argocd/argocd.js';
import {
  application,
  apply,
  gitRepository,
  pluginServiceAccount,
  waitForReplicas,
} from '../test/argocd/journey.js';
import { fmtMs, pct, startJourney, waitUntil as waitFor } from './support/gitops.js';

const CHANGES = Number(process.env.BENCH_CHANGES ?? 30);
const PAUSE_MS = Number(process.env.BENCH_PAUSE_MS ?? 1500);
const [backoffTimeout, backoffFactor] = (process.env.BENCH_SELF_HEAL_BACKOFF ?? '1,1')
  .split(',')
  .map(Number) as [number, number];
const NS = 'customers';
const ID = 'customer-42';
const REFRESH = 'argocd.argoproj.io/refresh';

const built = await ensureArgoCd();
if ('error' in built) {
  console.error(`argocd-journey: the Argo CD binary could not be built: ${built.error}`);
  process.exit(1);
}
const journey = await startJourney(NS, ['--argocd-namespace=argocd']);
const { cp, client, follow, stops } = journey;
const dir = mkdtempSync(join(tmpdir(), 'flagops-bench-argocd-'));
let argocd: ArgoCd | undefined;
try {
  await apply(cp.info(), [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'argocd' } }]);
  const plugin = await pluginServiceAccount(cp.info(), {
    factsNamespace: NS,
    argocdNamespace: 'argocd',
    dir,
  });
  argocd = await startArgoCd({
    info: cp.info(),
    binDir: built.binDir,
    pluginEnv: { FLAGOPS_URL: journey.url, FLAGOPS_NAMESPACE: NS, FLAGOPS_TOKEN_FILE: plugin.tokenFile },
    selfHealBackoff: { timeoutSeconds: backoffTimeout, factor: backoffFactor },
  });
  const repo = gitRepository();
  stops.push(() => rmSync(repo.dir, { recursive: true, force: true }));

  const put = (fact: string, value: string | number) => journey.put(NS, ID, fact, value);
  await put('tier', 'gold');
  await put('max-replicas', 1);
  await apply(cp.info(), [
    application({
      name: ID,
      argocdNamespace: 'argocd',
      repoURL: repo.url,
      path: 'app',
      destinationNamespace: ID,
    }),
  ]);
  await waitForReplicas(client, ID, 1, 180_000);

  // Watches timestamp each step as its event arrives.
  type Seen = { t: number; obj: AppObject };
  interface AppObject {
    metadata: { annotations?: Record<string, string> };
    status?: {
      sync?: { status?: string };
      operationState?: { phase?: string; startedAt?: string; finishedAt?: string };
    };
  }
  const appEvents: Seen[] = [];
  const deploymentEvents: { t: number; replicas: number }[] = [];
  await follow('/apis/argoproj.io/v1alpha1/namespaces/argocd/applications', `metadata.name=${ID}`, (obj) =>
    appEvents.push({ t: performance.now(), obj }),
  );
  await follow(`/apis/apps/v1/namespaces/${ID}/deployments`, 'metadata.name=web', (obj) =>
    deploymentEvents.push({ t: performance.now(), replicas: obj.spec.replicas }),
  );
  const synced = (o: AppObject) =>
    o.status?.sync?.status === 'Synced' && o.status.operationState?.phase === 'Succeeded';
  const timeoutMs = Number(process.env.BENCH_TIMEOUT_MS ?? 600_000);
  const controllerSaid = () =>
    `the controller said:\n${readFileSync(join(argocd!.dir, 'argocd-application-controller.log'), 'utf8')
      .split('\n')
      .filter((l) => /auto-sync|Sync operation/i.test(l))
      .slice(-8)
      .join('\n')}`;
  const waitUntil = (check: () => boolean) => waitFor(check, timeoutMs, controllerSaid);
  await waitUntil(() => appEvents.length > 0 && synced(appEvents.at(-1)!.obj));

  const steps: Record<string, number[]> = {
    'PUT answered (fact in the store)': [],
    'refresh annotation set (debounce + patch)': [],
    'hard refresh done (annotation removed)': [],
    'sync operation started': [],
    'Deployment applied': [],
    'sync operation finished': [],
  };
  const total: number[] = [];
  const logPath = join(argocd.dir, 'argocd-application-controller.log');
  const logStart = readFileSync(logPath, 'utf8').length;
  for (let i = 0; i < CHANGES; i++) {
    const target = 2 + (i % 8); // never the previous value (the first Deployment has 1)
    await new Promise((r) => setTimeout(r, PAUSE_MS));
    const a0 = appEvents.length;
    const d0 = deploymentEvents.length;
    const t0 = performance.now();
    await put('max-replicas', target);
    const tPut = performance.now();
    await waitUntil(() => deploymentEvents.slice(d0).some((e) => e.replicas === target));
    const tDeployment = deploymentEvents.slice(d0).find((e) => e.replicas === target)!.t;
    await waitUntil(() => appEvents.length > a0 && synced(appEvents.at(-1)!.obj));
    const after = appEvents.slice(a0);
    const annotated = (e: Seen) => e.obj.metadata.annotations?.[REFRESH] === 'hard';
    const iAnnotated = after.findIndex(annotated);
    const tAnnotated = after[iAnnotated]?.t;
    const tTaken = iAnnotated < 0 ? undefined : after.slice(iAnnotated + 1).find((e) => !annotated(e))?.t;
    const tStarted = after.find((e) => e.obj.status?.operationState?.phase === 'Running')?.t;
    const tFinished = after.find((e) => synced(e.obj) && e.t >= tDeployment)?.t;
    const rel = (t: number | undefined) => (t === undefined ? Number.NaN : t - t0);
    steps['PUT answered (fact in the store)']!.push(tPut - t0);
    steps['refresh annotation set (debounce + patch)']!.push(rel(tAnnotated));
    steps['hard refresh done (annotation removed)']!.push(rel(tTaken));
    steps['sync operation started']!.push(rel(tStarted));
    steps['Deployment applied']!.push(tDeployment - t0);
    steps['sync operation finished']!.push(rel(tFinished));
    total.push(tDeployment - t0);
    if (process.env.BENCH_VERBOSE) console.log(`change ${i + 1}: ${Math.round(tDeployment - t0)} ms`);
  }

  // Argo CD's own account of each refresh: "Reconciliation completed" lines with per-phase milliseconds.
  const reconciles = readFileSync(logPath, 'utf8')
    .slice(logStart)
    .split('\n')
    .filter((l) => l.includes('"Reconciliation completed"') && l.includes(`"application":"${ID}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r['comparison-level'] === 3); // a hard refresh: manifests generated again

  const fmt = fmtMs;
  console.log(
    `argocd-journey: Argo CD ${ARGOCD_VERSION}, ${CHANGES} changes of max-replicas, ${PAUSE_MS} ms apart, self-heal backoff ${backoffTimeout}s ×${backoffFactor}, node ${process.version}`,
  );
  console.log(
    `journey: fact PUT → Deployment applied   p50 ${fmt(pct(total, 50))}   p99 ${fmt(pct(total, 99))}   max ${fmt(pct(total, 100))}`,
  );
  console.log(`each change, ms: ${total.map((t) => Math.round(t)).join(' ')}`);
  console.log('steps, time since the PUT was sent:');
  for (const [name, xs] of Object.entries(steps)) {
    console.log(`  ${name.padEnd(44)} p50 ${fmt(pct(xs, 50))}   p99 ${fmt(pct(xs, 99))}`);
  }
  const field = (k: string) => reconciles.map((r) => Number(r[k])).filter((x) => !Number.isNaN(x));
  console.log(`Argo CD's hard refreshes (controller log, ${reconciles.length} of them):`);
  for (const k of ['compare_app_state_ms', 'git_ms', 'diff_ms', 'persist_app_status_ms', 'time_ms']) {
    const xs = field(k);
    if (xs.length > 0) console.log(`  ${k.padEnd(44)} p50 ${fmt(pct(xs, 50))}   p99 ${fmt(pct(xs, 99))}`);
  }
} finally {
  await argocd?.stop();
  await journey.stop();
  rmSync(dir, { recursive: true, force: true });
}
