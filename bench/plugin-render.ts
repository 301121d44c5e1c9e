/**
 * One render of the flagops plugin with the data-store provider: requests to the store and wall time per render,
 * before (the provider as it is: one `GET /api/fact/<id>` per flag evaluation) and after (the same provider
 * under deploy/argocd/flagops-wrap: one request per identity per render), side by side. The provider's calls
 * are replayed from its code by test/support/prototype-provider.mjs (graytonio/flagops-data-store-openfeature-
 * provider-go@183c66f5, pkg/provider.go); each render is a process, as Argo CD's CMP server runs it.
 *
 * The store is the operator's server (`createApp`, `--auth=none`), requests counted as it receives them; a
 * per-request delay (BENCH_LATENCY_MS, default rows 0 and 5 ms) stands in for the network and a TokenReview /
 * SubjectAccessReview cache miss. Nothing is asserted.
 *
 *   node --import tsx bench/plugin-render.ts   # BENCH_EVALUATIONS (8), BENCH_RENDERS (15), BENCH_LATENCY_MS
 *
 * Needs Go (to build flagops-wrap).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createApp } from '../src/server/app.js';
import { allowAll } from '../src/server/auth/authorizer.js';
import { noAuth } from '../src/server/auth/middleware.js';
import { Store } from '../src/store/store.js';
import type { Writer } from '../src/writes/writer.js';

const EVALUATIONS = Number(process.env.BENCH_EVALUATIONS ?? 8);
const RENDERS = Number(process.env.BENCH_RENDERS ?? 15);
const LATENCIES = (process.env.BENCH_LATENCY_MS ?? '0,5').split(',').map(Number);
const REPO = fileURLToPath(new URL('..', import.meta.url));
const REPLAY = join(REPO, 'test/support/prototype-provider.mjs');

const dir = mkdtempSync(join(tmpdir(), 'bench-plugin-'));
const WRAP = join(dir, 'flagops-wrap');
const built = spawnSync('go', ['build', '-o', WRAP, '.'], {
  cwd: join(REPO, 'deploy/argocd/flagops-wrap'),
  encoding: 'utf8',
  env: { ...process.env, CGO_ENABLED: '0' },
});
if (built.status !== 0) throw new Error(`cannot build flagops-wrap: ${built.error ?? built.stderr}`);
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, 'unused-with-auth-none');

const store = new Store();
store.setFacts('apps', 'web', {
  values: { tier: 'gold', 'max-replicas': 5, region: 'eu-west-1', beta: true },
  generation: 1,
  resourceVersion: '1',
  ready: true,
  reason: 'Indexed',
});
const app = createApp({
  reader: store,
  writer: {} as Writer,
  auth: { authenticator: noAuth, authorizer: allowAll },
  ready: () => true,
  log: pino({ level: 'silent' }),
  defaultNamespace: 'default',
});
let requests = 0;
let latency = 0;
app.addHook('onRequest', async () => {
  requests++;
  if (latency > 0) await new Promise((r) => setTimeout(r, latency));
});
await app.listen({ port: 0, host: '127.0.0.1' });
const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
const ops = JSON.stringify(Array.from({ length: EVALUATIONS }, () => ({ op: 'eval', id: 'apps_web' })));

function render(wrapped: boolean): Promise<void> {
  const args = [REPLAY, `${url}/api`, ops];
  const child = wrapped
    ? spawn(WRAP, ['--', process.execPath, ...args], {
        env: { PATH: process.env.PATH ?? '', FLAGOPS_URL: url, FLAGOPS_TOKEN_FILE: tokenFile },
        stdio: ['ignore', 'ignore', 'inherit'],
      })
    : spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  return new Promise((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`render exited ${code}`)))),
  );
}

async function measure(wrapped: boolean) {
  await render(wrapped); // warm-up
  const times: number[] = [];
  const before = requests;
  for (let i = 0; i < RENDERS; i++) {
    const t = performance.now();
    await render(wrapped);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { perRender: (requests - before) / RENDERS, medianMs: times[Math.floor(times.length / 2)]! };
}

console.log(
  `flagops plugin render: ${EVALUATIONS} flag evaluations of one identity, ${RENDERS} renders per row (median)\n`,
);
console.log('latency/request | before: requests | before: ms/render | after: requests | after: ms/render');
for (const l of LATENCIES) {
  latency = l;
  // Alternate so that load from elsewhere on the machine hurts both alike.
  const b = await measure(false);
  const a = await measure(true);
  console.log(
    `${`${l} ms`.padStart(15)} | ${String(b.perRender).padStart(16)} | ${b.medianMs.toFixed(1).padStart(17)} | ${String(a.perRender).padStart(15)} | ${a.medianMs.toFixed(1).padStart(16)}`,
  );
}
await app.close();
