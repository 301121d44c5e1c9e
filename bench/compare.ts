/**
 * `npm run bench:compare`: the read path side by side with its peers, in one run, CPUs pinned (the servers and
 * the control plane on CPU 0, the load on CPU 1). Prints a table; asserts nothing.
 *
 * Contenders, each serving GET of one random identity's facts (N identities × 5 facts):
 * - the operator with --auth=none, with a namespace-wide reader, and with a reader limited by resourceNames;
 * - the same build of an earlier commit (--baseline=<git ref>), when asked;
 * - a bare node:http server answering the same bytes (the runtime's ceiling);
 * - a direct kube-apiserver GET of the DeploymentFacts.
 * Peak throughput comes from wrk (closed loop); latency from vegeta at a constant half of each contender's peak,
 * so that queueing in a closed loop does not flatter it. Time to ready and to a full store, and RSS, come from
 * first starts (no status written yet) and restarts (statuses current).
 *
 * While an operator starts (no load running), the control plane runs on the load CPU, as a cluster's API server
 * runs on other machines; during load it shares the server CPU.
 *
 * Flags: --sizes=1000,50000  --seconds=10  --baseline=<ref>  --baseline-sizes=1000
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../src/kube/client.js';
import { factsPath } from '../src/kube/paths.js';
import { ensureBinaries, startControlPlane } from '../test/control-plane/control-plane.js';
import { installCrds, kubectl } from '../test/control-plane/kubectl.js';
import { type HeapGroup, summariseHeap } from './heap-summary.js';

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k!, v ?? 'true'];
  }),
);
const SIZES = (args.sizes ?? '1000,50000').split(',').map(Number);
const SECONDS = Number(args.seconds ?? 10);
const BASELINE = args.baseline as string | undefined;
const BASELINE_SIZES = (args['baseline-sizes'] ?? '1000').split(',').map(Number);
const ROOT = resolve(import.meta.dirname, '..');
const TOOLS = join(process.env.HOME ?? '/root', '.cache/flagops-data-store/tools');
const SERVER_CPU = '0';
const LOAD_CPU = cpus().length > 1 ? '1' : '0';

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || Number.isNaN(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: digits });

interface Row {
  contender: string;
  n: number;
  rps?: number;
  p50?: number;
  p99?: number;
  rate?: number;
  ratio?: number;
  readyS?: number;
  fullS?: number;
  restartReadyS?: number;
  restartFullS?: number;
  rssSyncMb?: number;
  rssSettledMb?: number;
  rssRestartMb?: number;
  rssRestartSettledMb?: number;
  rssLoadMb?: number;
}
const rows: Row[] = [];
const heapGroups: { n: number; total: number; groups: HeapGroup[] }[] = [];
const propagationRows: { label: string; n: number; kube: number[]; api: number[] }[] = [];

// ---------------------------------------------------------------- tools
function ensureTools() {
  if (!existsSync('/usr/bin/wrk'))
    execFileSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'inherit' });
  if (!existsSync(join(TOOLS, 'vegeta'))) {
    mkdirSync(TOOLS, { recursive: true });
    execFileSync('go', ['install', 'github.com/tsenart/vegeta/v12@v12.12.0'], {
      stdio: 'inherit',
      env: { ...process.env, GOBIN: TOOLS },
    });
  }
}

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

// ---------------------------------------------------------------- load
interface Target {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  base: string;
  /** Path with `{i}` where the identity number goes. */
  path: string;
  /** How many identities to pick from. */
  n: number;
  token?: string;
}

function wrkPeak(t: Target): number {
  const dir = mkdtempSync(join(tmpdir(), 'bench-wrk-'));
  const [pre, post] = t.path.split('{i}');
  writeFileSync(
    join(dir, 'random.lua'),
    `math.randomseed(os.time())
${t.token ? `wrk.headers["Authorization"] = "Bearer ${t.token}"` : ''}
request = function()
  return wrk.format("GET", "${pre}" .. math.random(0, ${t.n - 1}) .. "${post ?? ''}")
end
`,
  );
  const r = spawnSync(
    'taskset',
    [
      '-c',
      LOAD_CPU,
      'wrk',
      '-t1',
      '-c64',
      `-d${SECONDS}s`,
      '--latency',
      '-s',
      join(dir, 'random.lua'),
      t.base,
    ],
    { encoding: 'utf8' },
  );
  rmSync(dir, { recursive: true, force: true });
  const m = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(r.stdout);
  if (non2xx) console.log(`    (wrk: ${non2xx[1]} non-2xx answers)`);
  return m ? Number(m[1]) : 0;
}

function vegetaAt(t: Target, rate: number): { p50: number; p99: number; rate: number } {
  const dir = mkdtempSync(join(tmpdir(), 'bench-vegeta-'));
  const lines: string[] = [];
  for (let k = 0; k < 5000; k++) {
    const i = Math.floor(Math.random() * t.n);
    lines.push(`GET ${t.base}${t.path.replace('{i}', String(i))}`);
    if (t.token) lines.push(`Authorization: Bearer ${t.token}`);
    lines.push('');
  }
  writeFileSync(join(dir, 'targets'), lines.join('\n'));
  const attack = spawnSync(
    'taskset',
    [
      '-c',
      LOAD_CPU,
      join(TOOLS, 'vegeta'),
      'attack',
      `-rate=${Math.max(1, Math.round(rate))}/s`,
      `-duration=${SECONDS}s`,
      `-targets=${join(dir, 'targets')}`,
      '-insecure',
      '-workers=32',
      '-max-workers=256',
      '-connections=256',
      '-output',
      join(dir, 'out.bin'),
    ],
    { encoding: 'utf8' },
  );
  if (attack.status !== 0) console.log(`    (vegeta: ${attack.stderr.trim().slice(0, 200)})`);
  const report = spawnSync(join(TOOLS, 'vegeta'), ['report', '-type=json', join(dir, 'out.bin')], {
    encoding: 'utf8',
  });
  rmSync(dir, { recursive: true, force: true });
  const j = JSON.parse(report.stdout || '{}') as {
    latencies?: { '50th': number; '99th': number };
    throughput?: number;
    status_codes?: Record<string, number>;
  };
  const bad = Object.entries(j.status_codes ?? {}).filter(([c]) => c !== '200');
  if (bad.length) console.log(`    (vegeta: answers ${JSON.stringify(Object.fromEntries(bad))})`);
  return {
    p50: (j.latencies?.['50th'] ?? Number.NaN) / 1e6,
    p99: (j.latencies?.['99th'] ?? Number.NaN) / 1e6,
    rate: j.throughput ?? 0,
  };
}

function measure(row: Row, t: Target) {
  const rps = wrkPeak(t);
  const lat = vegetaAt(t, rps / 2);
  Object.assign(row, { rps, p50: lat.p50, p99: lat.p99, rate: lat.rate });
  console.log(
    `  ${row.contender.padEnd(34)} ${fmt(rps).padStart(8)} req/s; at ${fmt(lat.rate)}/s p50 ${fmt(lat.p50, 2)} ms p99 ${fmt(lat.p99, 2)} ms`,
  );
}

// ---------------------------------------------------------------- operator processes
/** The Node flags a build ships with: those of its image's ENTRYPOINT, so each build runs as it would deploy. */
function nodeFlags(dir: string): string[] {
  const m = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(readFileSync(join(dir, 'Dockerfile'), 'utf8'));
  const argv = m ? (JSON.parse(m[1]!) as string[]) : [];
  return argv.slice(1, -1).filter((a) => a.startsWith('--'));
}

interface OperatorProc {
  child: ChildProcess;
  url: string;
  readyS: number;
  fullS: number;
  rssSyncMb: number;
  rssSettledMb: number;
}

/** While an operator starts, nothing loads the server: the control plane gets the other CPU, as a real cluster's
 * API server runs elsewhere. */
let duringStart: (() => void) | undefined;
let afterStart: (() => void) | undefined;

async function startOperatorProc(
  dir: string,
  kubeconfig: string,
  ns: string,
  n: number,
  auth: 'none' | 'kubernetes',
  extra: string[] = [],
  cwd?: string,
): Promise<OperatorProc> {
  const port = await freePort();
  duringStart?.();
  const started = performance.now();
  const child = spawn(
    'taskset',
    [
      '-c',
      SERVER_CPU,
      process.execPath,
      ...nodeFlags(dir),
      ...(cwd ? ['--heapsnapshot-signal=SIGUSR2'] : []),
      join(dir, 'dist/main.js'),
      `--kubeconfig=${kubeconfig}`,
      `--namespaces=${ns}`,
      `--listen=127.0.0.1:${port}`,
      `--auth=${auth}`,
      '--log-level=warn',
      ...extra,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], cwd },
  );
  const url = `http://127.0.0.1:${port}`;
  let readyS = Number.NaN;
  let fullS = Number.NaN;
  const deadline = Date.now() + 30 * 60_000;
  while (Date.now() < deadline && (Number.isNaN(readyS) || Number.isNaN(fullS))) {
    if (child.exitCode !== null) throw new Error(`operator exited with ${child.exitCode}`);
    try {
      if (Number.isNaN(readyS)) {
        const r = await fetch(`${url}/readyz`);
        if (r.status === 200) readyS = (performance.now() - started) / 1000;
      }
      if (Number.isNaN(fullS)) {
        const text = await (await fetch(`${url}/metrics`)).text();
        const m = /^flagops_identities (\d+)/m.exec(text);
        if (m && Number(m[1]) >= n) fullS = (performance.now() - started) / 1000;
      }
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  afterStart?.();
  const rssSyncMb = rssMb(child.pid!);
  // V8 shrinks its heap once allocation calms down: the resident size a few seconds later is the steady one.
  await sleep(10_000);
  return { child, url, readyS, fullS, rssSyncMb, rssSettledMb: rssMb(child.pid!) };
}

async function stopProc(child: ChildProcess) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** Waits until every DeploymentFacts of the namespace shows a status for its current generation. */
async function statusesCurrent(client: KubeClient, ns: string, n: number) {
  for (;;) {
    let current = 0;
    let next: string | undefined;
    do {
      const page = await client.get<{
        items: { metadata: { generation?: number }; status?: { observedGeneration?: number } }[];
        metadata: { continue?: string };
      }>(factsPath(ns), { query: { limit: 5000, continue: next } });
      current += page.items.filter((o) => o.status?.observedGeneration === o.metadata.generation).length;
      next = page.metadata.continue || undefined;
    } while (next);
    if (current >= n) return;
    await sleep(1000);
  }
}

// ---------------------------------------------------------------- memory
/** Takes a heap snapshot of the operator (SIGUSR2) and prints where the bytes are. */
async function heapReport(child: ChildProcess, dir: string, n: number) {
  const before = new Set(readdirSync(dir));
  child.kill('SIGUSR2');
  let file: string | undefined;
  let lastSize = -1;
  for (let i = 0; i < 600; i++) {
    await sleep(500);
    file ??= readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (!file) continue;
    const size = statSync(join(dir, file)).size;
    if (size > 0 && size === lastSize) break;
    lastSize = size;
  }
  if (!file) return console.log('  (no heap snapshot written)');
  const { total, groups } = summariseHeap(join(dir, file));
  console.log(
    `  heap at N = ${fmt(n)}: ${fmt(total / 1e6, 1)} MB live, ${fmt(total / n)} bytes per identity; largest:`,
  );
  for (const g of groups)
    console.log(`    ${fmt(g.bytes / 1e6, 1).padStart(6)} MB  ${fmt(g.count).padStart(9)} × ${g.what}`);
  heapGroups.push({ n, total, groups });
  rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------- propagation
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** Kubernetes write → change feed event, and API write → its 200 (visible to the next GET), in ms. */
async function propagation(url: string, client: KubeClient, ns: string, n: number, samples = 100) {
  const ctrl = new AbortController();
  const res = await fetch(`${url}/api/v1/watch?namespace=${ns}`, { signal: ctrl.signal });
  const waiters = new Map<string, () => void>();
  void (async () => {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let i = buf.indexOf('\n');
        while (i >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.startsWith('data: ')) {
            const e = JSON.parse(line.slice(6)) as { name?: string };
            if (e.name) waiters.get(e.name)?.();
          }
          i = buf.indexOf('\n');
        }
      }
    } catch {
      // aborted
    }
  })();
  const kube: number[] = [];
  const api: number[] = [];
  for (let k = 0; k < samples; k++) {
    const name = `customer-${Math.floor(Math.random() * n)}`;
    const seen = new Promise<void>((r) => waiters.set(name, r));
    const t0 = performance.now();
    await client.mergePatch(factsPath(ns, name), { spec: { facts: { seq: k } } });
    await seen;
    kube.push(performance.now() - t0);
    waiters.delete(name);
    const t1 = performance.now();
    const put = await fetch(`${url}/api/v1/namespaces/${ns}/identities/${name}/facts/api-seq`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value: k + 1000 }),
    });
    await put.arrayBuffer();
    if (put.status === 200) api.push(performance.now() - t1);
  }
  ctrl.abort();
  return { kube, api };
}

// ---------------------------------------------------------------- data
async function populate(client: KubeClient, ns: string, n: number) {
  await client.create('/api/v1/namespaces', { metadata: { name: ns } });
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      for (let i = next++; i < n; i = next++) {
        await client.create(factsPath(ns), {
          apiVersion: 'flagops.io/v1alpha1',
          kind: 'DeploymentFacts',
          metadata: { name: `customer-${i}` },
          spec: {
            facts: {
              tier: i % 3 === 0 ? 'gold' : 'silver',
              'max-replicas': (i % 5) + 1,
              cluster: `eu-${i % 4}`,
              owner: `team-${i % 50}`,
              region: 'europe-west1',
            },
          },
        });
      }
    }),
  );
  console.log(
    `  created ${fmt(n)} DeploymentFacts in ${ns} in ${fmt((performance.now() - started) / 1000, 1)} s`,
  );
}

async function readers(client: KubeClient, ns: string, kubeconfigInfo: { binDir: string }, n: number) {
  const rbac = '/apis/rbac.authorization.k8s.io/v1';
  const names = Array.from({ length: Math.min(n, 1000) }, (_, i) => `customer-${i}`);
  for (const [name, rule] of [
    [
      'wide-reader',
      { apiGroups: ['flagops.io'], resources: ['deploymentfacts'], verbs: ['get', 'list', 'watch'] },
    ],
    [
      'one-by-one-reader',
      { apiGroups: ['flagops.io'], resources: ['deploymentfacts'], verbs: ['get'], resourceNames: names },
    ],
  ] as const) {
    await client.create(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name } });
    await client.create(`${rbac}/namespaces/${ns}/roles`, { metadata: { name }, rules: [rule] });
    await client.create(`${rbac}/namespaces/${ns}/rolebindings`, {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: ns }],
    });
  }
  void kubeconfigInfo;
  return { names: names.length };
}

function build(dir: string) {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: dir, stdio: 'inherit' });
}

function prepareBaseline(ref: string): string {
  const dir = join(tmpdir(), `flagops-baseline-${ref.replace(/[^\w.-]/g, '_')}`);
  if (!existsSync(join(dir, 'dist/main.js'))) {
    rmSync(dir, { recursive: true, force: true });
    execFileSync('git', ['worktree', 'add', '--detach', '-f', dir, ref], { cwd: ROOT, stdio: 'inherit' });
    execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--silent'], { cwd: dir, stdio: 'inherit' });
    build(dir);
  }
  return dir;
}

// ---------------------------------------------------------------- main
ensureTools();
console.log(`bench:compare on ${cpus().length} CPUs (${cpus()[0]?.model}); node ${process.version}`);
console.log(
  `servers and control plane on CPU ${SERVER_CPU}, load on CPU ${LOAD_CPU} (the control plane there while an operator starts); ${SECONDS} s per run\n`,
);
build(ROOT);
const baselineDir = BASELINE ? prepareBaseline(BASELINE) : undefined;
const cp = await startControlPlane({ binDir: await ensureBinaries() });
const cpPids = execFileSync('pgrep', ['-f', dirname(cp.kubeconfigPath)], { encoding: 'utf8' })
  .split('\n')
  .filter(Boolean);
/** The control plane serves from the server CPU while measured; it may use both while the data is created. */
const pinControlPlane = (cpuList: string) => {
  for (const pid of cpPids) spawnSync('taskset', ['-a', '-p', '-c', cpuList, pid], { stdio: 'ignore' });
};
duringStart = () => pinControlPlane(LOAD_CPU);
afterStart = () => pinControlPlane(SERVER_CPU);
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});
try {
  await installCrds(cp.info());
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const client = new KubeClient(kc);

  for (const n of SIZES) {
    console.log(`\n== N = ${fmt(n)} identities × 5 facts`);
    const ns = `bench-${n}`;
    pinControlPlane(`${SERVER_CPU},${LOAD_CPU}`);
    await populate(client, ns, n);
    const { names } = await readers(client, ns, cp, n);
    pinControlPlane(SERVER_CPU);
    const token = async (sa: string) =>
      (await kubectl(cp.info(), ['create', 'token', sa, '-n', ns, '--duration=2h'])).stdout.trim();
    const [wide, narrow] = [await token('wide-reader'), await token('one-by-one-reader')];
    const path = `/api/v1/namespaces/${ns}/identities/customer-{i}/facts`;

    const variants: [string, string][] = [];
    if (baselineDir && BASELINE_SIZES.includes(n)) variants.push([`baseline ${BASELINE}`, baselineDir]);
    variants.push(['operator', ROOT]);
    for (const [label, dir] of variants) {
      // A first start on objects with no status, then a restart once every status is current.
      const nsFirst = variants.length > 1 ? `${ns}-${label === 'operator' ? 'cur' : 'base'}` : ns;
      if (nsFirst !== ns) {
        pinControlPlane(`${SERVER_CPU},${LOAD_CPU}`);
        await populate(client, nsFirst, n);
        pinControlPlane(SERVER_CPU);
      }
      const first = await startOperatorProc(dir, cp.kubeconfigPath, nsFirst, n, 'none', [
        ...(label === 'operator' ? ['--status-qps=2000', '--status-burst=2000'] : []),
      ]);
      children.push(first.child);
      console.log(
        `  ${label}: first start ready ${fmt(first.readyS, 1)} s, store full ${fmt(first.fullS, 1)} s, RSS ${fmt(first.rssSyncMb)} MB, 10 s later ${fmt(first.rssSettledMb)} MB`,
      );
      await statusesCurrent(client, nsFirst, n);
      await stopProc(first.child);
      const snapshotDir =
        label === 'operator' && n === Math.max(...SIZES)
          ? mkdtempSync(join(tmpdir(), 'bench-heap-'))
          : undefined;
      const restart = await startOperatorProc(dir, cp.kubeconfigPath, nsFirst, n, 'none', [], snapshotDir);
      children.push(restart.child);
      console.log(
        `  ${label}: restart ready ${fmt(restart.readyS, 1)} s, store full ${fmt(restart.fullS, 1)} s, RSS ${fmt(restart.rssSyncMb)} MB, 10 s later ${fmt(restart.rssSettledMb)} MB`,
      );
      const row: Row = {
        contender: `${label}, auth off`,
        n,
        readyS: first.readyS,
        fullS: first.fullS,
        rssSyncMb: first.rssSyncMb,
        rssSettledMb: first.rssSettledMb,
        restartReadyS: restart.readyS,
        restartFullS: restart.fullS,
        rssRestartMb: restart.rssSyncMb,
        rssRestartSettledMb: restart.rssSettledMb,
      };
      measure(row, { base: restart.url, path: path.replace(ns, nsFirst), n });
      row.rssLoadMb = rssMb(restart.child.pid!);
      rows.push(row);
      // The same run with a ServiceAccount token in every request, which auth off ignores: what the readers'
      // rows cost beyond this is authentication and authorisation alone, not the 1 KB header.
      const withHeader: Row = { contender: `${label}, auth off, token header sent`, n };
      measure(withHeader, { base: restart.url, path: path.replace(ns, nsFirst), n, token: wide });
      rows.push(withHeader);
      if (snapshotDir) await heapReport(restart.child, snapshotDir, n);
      const prop = await propagation(restart.url, client, nsFirst, n);
      console.log(
        `  ${label}: propagation kube write → change feed p50 ${fmt(pct(prop.kube, 50), 1)} ms p99 ${fmt(pct(prop.kube, 99), 1)} ms; API PUT → visible p50 ${fmt(pct(prop.api, 50), 1)} ms p99 ${fmt(pct(prop.api, 99), 1)} ms (${prop.api.length} of ${prop.kube.length} answered 200)`,
      );
      propagationRows.push({ label, n, ...prop });
      await stopProc(restart.child);

      const authed = await startOperatorProc(dir, cp.kubeconfigPath, nsFirst, n, 'kubernetes');
      children.push(authed.child);
      if (nsFirst !== ns) {
        // The readers' Roles live in the first namespace; copy them for this one.
        await readers(client, nsFirst, cp, n);
      }
      const tok =
        nsFirst === ns
          ? { wide, narrow }
          : {
              wide: (
                await kubectl(cp.info(), ['create', 'token', 'wide-reader', '-n', nsFirst])
              ).stdout.trim(),
              narrow: (
                await kubectl(cp.info(), ['create', 'token', 'one-by-one-reader', '-n', nsFirst])
              ).stdout.trim(),
            };
      const wideRow: Row = { contender: `${label}, namespace-wide reader`, n };
      measure(wideRow, { base: authed.url, path: path.replace(ns, nsFirst), n, token: tok.wide });
      rows.push(wideRow);
      const narrowRow: Row = { contender: `${label}, per-identity reader`, n };
      measure(narrowRow, { base: authed.url, path: path.replace(ns, nsFirst), n: names, token: tok.narrow });
      narrowRow.rssLoadMb = rssMb(authed.child.pid!);
      rows.push(narrowRow);
      await stopProc(authed.child);
    }

    // The runtime's ceiling: a bare node:http server answering the same bytes.
    const body = JSON.stringify({
      tier: 'gold',
      'max-replicas': 1,
      cluster: 'eu-0',
      owner: 'team-0',
      region: 'europe-west1',
    });
    const port = await freePort();
    const bare = spawn(
      'taskset',
      [
        '-c',
        SERVER_CPU,
        process.execPath,
        '-e',
        `const b=Buffer.from(${JSON.stringify(body)});require('node:http').createServer((q,s)=>{s.writeHead(200,{'content-type':'application/json; charset=utf-8','content-length':b.length,etag:'"1"'});s.end(b)}).listen(${port},'127.0.0.1')`,
      ],
      { stdio: 'ignore' },
    );
    children.push(bare);
    await sleep(500);
    const bareRow: Row = { contender: 'bare node:http', n };
    measure(bareRow, { base: `http://127.0.0.1:${port}`, path, n });
    rows.push(bareRow);
    bare.kill('SIGKILL');

    // The API server itself, with the admin token.
    const apiRow: Row = { contender: 'kube-apiserver GET', n };
    measure(apiRow, {
      base: cp.server,
      path: `${factsPath(ns)}/customer-{i}`,
      n,
      token: cp.adminToken,
    });
    rows.push(apiRow);
    for (const r of rows.filter((x) => x.n === n && x.rps)) r.ratio = r.rps! / bareRow.rps!;
  }
} finally {
  for (const c of children) c.kill('SIGKILL');
  await cp.stop();
}

console.log(
  '\n| contender | N | req/s | × bare | p50 ms | p99 ms | at req/s | first start: ready / full s | restart: ready / full s | RSS MB: first / restart / after load |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(
    `| ${r.contender} | ${fmt(r.n)} | ${fmt(r.rps)} | ${fmt(r.ratio, 2)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.rate)} | ${r.readyS !== undefined ? `${fmt(r.readyS, 1)} / ${fmt(r.fullS, 1)}` : ''} | ${r.restartReadyS !== undefined ? `${fmt(r.restartReadyS, 1)} / ${fmt(r.restartFullS, 1)}` : ''} | ${r.rssSyncMb !== undefined || r.rssLoadMb !== undefined ? `${fmt(r.rssSyncMb)} (${fmt(r.rssSettledMb)}) / ${fmt(r.rssRestartMb)} (${fmt(r.rssRestartSettledMb)}) / ${fmt(r.rssLoadMb)}` : ''} |`,
  );
}
console.log('\n| propagation | N | kube write → feed p50 / p99 ms | API PUT → visible p50 / p99 ms |');
console.log('| --- | ---: | ---: | ---: |');
for (const p of propagationRows) {
  console.log(
    `| ${p.label} | ${fmt(p.n)} | ${fmt(pct(p.kube, 50), 1)} / ${fmt(pct(p.kube, 99), 1)} | ${p.api.length ? `${fmt(pct(p.api, 50), 1)} / ${fmt(pct(p.api, 99), 1)}` : '–'} |`,
  );
}
mkdirSync(join(ROOT, '.bench-results'), { recursive: true });
writeFileSync(
  join(ROOT, '.bench-results/compare.json'),
  JSON.stringify({ rows, heap: heapGroups, propagation: propagationRows }, null, 2),
);
