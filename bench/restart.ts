/**
 * Restarts of two (or more) operator builds, interleaved A/B/A/B, against a control plane that is already up and
 * populated (bench:compare's full run takes an hour; this takes minutes). Each start: the operator on CPU 0 with its
 * image's Node flags, the control plane moved to CPU 1 while it starts (as bench:compare does), then time to
 * /readyz 200 and to a full store (flagops_identities ≥ N), RSS then and 10 s later, optionally RSS after a wrk
 * load and a heap snapshot. Prints every run and the median and range per build.
 *
 *   node --import tsx bench/restart.ts --kubeconfig=<path> --ns=bench-50000 --n=50000 \
 *     --dirs=/tmp/base,. --reps=5 [--touch] [--load=10] [--heap [--heap-dir=<dir>]] [--cpu-prof=<dir>]
 *
 * Each dir holds dist/main.js, package.json, node_modules and the Dockerfile whose ENTRYPOINT gives the flags.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../src/kube/client.js';
import { factsPath } from '../src/kube/paths.js';
import { summariseHeap } from './heap-summary.js';

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k!, v ?? 'true'];
  }),
);
const KUBECONFIG = args.kubeconfig ?? process.env.KUBECONFIG!;
const NS = args.ns ?? 'bench-50000';
const N = Number(args.n ?? 50_000);
const DIRS = (args.dirs ?? '.').split(',').map((d) => resolve(d));
const REPS = Number(args.reps ?? 3);
const LOAD = Number(args.load ?? 0);
const HEAP = args.heap === 'true';
const CPU_PROF = args['cpu-prof'];
/**
 * Write an annotation on one object of the namespace just before each start. The API server (1.34+) serves the
 * continue pages of a paged list from a snapshot of its cache only while the list's resourceVersion is recent; in a
 * namespace quiet for some minutes every continue page is read from etcd instead, several times slower (seen here:
 * 3 s against 12–15 s for 50,000 objects). bench:compare restarts right after the statuses were written, so --touch
 * reproduces its condition; without it a quiet namespace is measured.
 */
const TOUCH = args.touch === 'true';
/** Keep each heap snapshot here (else it is deleted after its summary). */
const HEAP_DIR = args['heap-dir'];

const cpPids = execFileSync('pgrep', ['-f', dirname(KUBECONFIG)], { encoding: 'utf8' })
  .split('\n')
  .filter(Boolean);
const pinControlPlane = (cpus: string) => {
  for (const pid of cpPids) spawnSync('taskset', ['-a', '-p', '-c', cpus, pid], { stdio: 'ignore' });
};

function nodeFlags(dir: string): string[] {
  const m = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(readFileSync(join(dir, 'Dockerfile'), 'utf8'));
  const argv = m ? (JSON.parse(m[1]!) as string[]) : [];
  return argv.slice(1, -1).filter((a) => a.startsWith('--'));
}

const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

/** The node process under taskset (taskset execs it, so the pid is the same). */
async function stop(child: ChildProcess) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

interface Run {
  dir: string;
  readyS: number;
  fullS: number;
  rssSync: number;
  rssSettled: number;
  rssLoad?: number;
  rps?: number;
  heapMb?: number;
}

const kc = new KubeConfig();
kc.loadFromFile(KUBECONFIG);
const client = new KubeClient(kc);

async function once(dir: string, rep: number): Promise<Run> {
  const port = await freePort();
  if (TOUCH)
    await client.mergePatch(factsPath(NS, 'customer-0'), {
      metadata: { annotations: { 'bench.flagops.io/touched': String(Date.now()) } },
    });
  const work = mkdtempSync(join(tmpdir(), 'bench-restart-'));
  pinControlPlane('1');
  const started = performance.now();
  const child = spawn(
    'taskset',
    [
      '-c',
      '0',
      process.execPath,
      ...nodeFlags(dir),
      '--heapsnapshot-signal=SIGUSR2',
      ...(CPU_PROF
        ? [
            '--cpu-prof',
            `--cpu-prof-dir=${resolve(CPU_PROF)}`,
            `--cpu-prof-name=${rep}-${dir.replace(/\W/g, '_')}.cpuprofile`,
          ]
        : []),
      join(dir, 'dist/main.js'),
      `--kubeconfig=${KUBECONFIG}`,
      `--namespaces=${NS}`,
      `--listen=127.0.0.1:${port}`,
      '--auth=none',
      '--log-level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], cwd: work },
  );
  const url = `http://127.0.0.1:${port}`;
  let readyS = Number.NaN;
  let fullS = Number.NaN;
  while (Number.isNaN(readyS) || Number.isNaN(fullS)) {
    if (child.exitCode !== null) throw new Error(`operator exited with ${child.exitCode}`);
    try {
      if (Number.isNaN(readyS) && (await fetch(`${url}/readyz`)).status === 200)
        readyS = (performance.now() - started) / 1000;
      if (Number.isNaN(fullS)) {
        const m = /^flagops_identities (\d+)/m.exec(await (await fetch(`${url}/metrics`)).text());
        if (m && Number(m[1]) >= N) fullS = (performance.now() - started) / 1000;
      }
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  const rssSync = rssMb(child.pid!);
  pinControlPlane('0');
  await sleep(10_000);
  const run: Run = { dir, readyS, fullS, rssSync, rssSettled: rssMb(child.pid!) };
  if (LOAD) {
    const lua = join(work, 'random.lua');
    writeFileSync(
      lua,
      `request = function() return wrk.format("GET", "/api/v1/namespaces/${NS}/identities/customer-" .. math.random(0, ${N - 1}) .. "/facts") end\n`,
    );
    const r = spawnSync('taskset', ['-c', '1', 'wrk', '-t1', '-c64', `-d${LOAD}s`, '-s', lua, url], {
      encoding: 'utf8',
    });
    run.rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? 0);
    run.rssLoad = rssMb(child.pid!);
  }
  if (HEAP) {
    child.kill('SIGUSR2');
    let file: string | undefined;
    let last = -1;
    for (let i = 0; i < 600; i++) {
      await sleep(500);
      file ??= readdirSync(work).find((f) => f.endsWith('.heapsnapshot'));
      if (!file) continue;
      const size = statSync(join(work, file)).size;
      if (size > 0 && size === last) break;
      last = size;
    }
    if (file) {
      const { total, groups } = summariseHeap(join(work, file), 12);
      if (HEAP_DIR)
        copyFileSync(join(work, file), join(HEAP_DIR, `${rep}-${dir.replace(/\W/g, '_')}.heapsnapshot`));
      run.heapMb = total / 1e6;
      console.log(`  heap ${dir}: ${(total / 1e6).toFixed(1)} MB, ${Math.round(total / N)} B/identity`);
      for (const g of groups)
        console.log(
          `    ${(g.bytes / 1e6).toFixed(1).padStart(6)} MB ${String(g.count).padStart(9)} × ${g.what}`,
        );
    }
  }
  await stop(child);
  rmSync(work, { recursive: true, force: true });
  console.log(
    `  ${dir}: ready ${readyS.toFixed(2)} s, full ${fullS.toFixed(2)} s, RSS ${rssSync.toFixed(0)} MB, 10 s later ${run.rssSettled.toFixed(0)} MB${run.rssLoad !== undefined ? `, after ${LOAD} s of wrk (${Math.round(run.rps!)} req/s) ${run.rssLoad.toFixed(0)} MB` : ''}`,
  );
  return run;
}

const runs: Run[] = [];
for (let rep = 0; rep < REPS; rep++) {
  // Alternate the order too, so that neither build always follows the other.
  const order = rep % 2 === 0 ? DIRS : [...DIRS].reverse();
  for (const dir of order) runs.push(await once(dir, rep));
}
pinControlPlane('0,1');

const med = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const stat = (xs: number[], d = 2) =>
  xs.length && !xs.some(Number.isNaN)
    ? `${med(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`
    : '–';
console.log(
  '\n| build | runs | full s | ready s | RSS sync MB | RSS +10 s MB | RSS after load MB | req/s | heap MB |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const dir of DIRS) {
  const rs = runs.filter((r) => r.dir === dir);
  const col = (f: (r: Run) => number | undefined, d = 2) =>
    stat(
      rs.map(f).filter((x): x is number => x !== undefined),
      d,
    );
  console.log(
    `| ${dir} | ${rs.length} | ${col((r) => r.fullS)} | ${col((r) => r.readyS)} | ${col((r) => r.rssSync, 0)} | ${col((r) => r.rssSettled, 0)} | ${col((r) => r.rssLoad, 0)} | ${col((r) => r.rps, 0)} | ${col((r) => r.heapMb, 1)} |`,
  );
}
