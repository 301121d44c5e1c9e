/**
 * The HTTP read path against its ceiling, measured with `wrk` with CPUs pinned: each server runs alone on CPU 0
 * (`taskset -c 0`), wrk on CPU 1. Contenders, in one run and on the same data set (N identities × 4 facts):
 *
 * - the operator's server (`createApp`, `--auth=none`, with its metrics), on `GET` facts of a random identity, the prototype's
 *   `GET /api/fact/<id>` and an OFREP single evaluation;
 * - a bare `node:http` server that looks the identity up in the same store and answers the same bytes as the
 *   operator's `GET` facts (status, `content-type`, `etag`, body).
 *
 * Contenders take turns, round after round, and the medians are printed with the ratio to the bare server, so
 * that load from elsewhere on the machine hurts them alike. Nothing is asserted.
 *
 *   node --import tsx bench/http-hotpath.ts   # BENCH_IDENTITIES, BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS
 *   BENCH_BASELINE_DIR=/path/to/other/checkout node --import tsx bench/http-hotpath.ts   # also measure that one
 *
 * Needs `wrk` and `taskset` (Debian: `apt-get install -y wrk util-linux`).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Metrics } from '../src/metrics/metrics.js';
import { createApp } from '../src/server/app.js';
import { allowAll } from '../src/server/auth/authorizer.js';
import { noAuth } from '../src/server/auth/middleware.js';
import { Store } from '../src/store/store.js';
import type { Writer } from '../src/writes/writer.js';

const IDENTITIES = Number(process.env.BENCH_IDENTITIES ?? 5000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Another checkout whose operator is measured too (its bench/http-hotpath.ts serves it), e.g. the last release. */
const BASELINE_DIR = process.env.BENCH_BASELINE_DIR;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const NAMESPACES = 20;

function fill(store: Store) {
  for (let i = 0; i < IDENTITIES; i++) {
    store.setFacts(`ns-${i % NAMESPACES}`, `customer-${i}`, {
      values: {
        tier: i % 3 === 0 ? 'gold' : 'silver',
        'max-replicas': (i % 5) + 1,
        region: 'eu-west-1',
        owner: `team-${i % 50}`,
      },
      generation: 1,
      resourceVersion: String(i + 1),
      ready: true,
      reason: 'Indexed',
    });
  }
}

/** Child mode: serve, print the port on stdout, run until killed. */
async function serve(kind: string) {
  const store = new Store();
  fill(store);
  let port: number;
  if (kind === 'bare') {
    const server = createServer((req, res) => {
      // /api/v1/namespaces/<ns>/identities/<id>/facts
      const parts = (req.url ?? '').split('/');
      const facts = store.get(parts[4] ?? '', parts[6] ?? '')?.facts;
      if (!facts) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        etag: `"${facts.generation}"`,
      });
      res.end(JSON.stringify(facts.values));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  } else {
    port = await serveOperator(store);
  }
  process.stdout.write(`${port}\n`);
}

async function serveOperator(store: Store): Promise<number> {
  const app = createApp({
    reader: store,
    writer: {} as Writer,
    auth: { authenticator: noAuth, authorizer: allowAll },
    ready: () => true,
    log: pino({ level: 'info' }),
    defaultNamespace: 'ns-0',
    // As the operator runs it: metrics on, request log at info (per-request lines are debug).
    metrics: new Metrics(store),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as AddressInfo).port;
}

interface Result {
  rps: number;
  p50: string;
  p99: string;
  non2xx: number;
}

function wrk(port: number, script: string, seconds: number): Result {
  const out = execFileSync(
    'taskset',
    [
      '-c',
      '1',
      'wrk',
      '-t1',
      `-c${CONNECTIONS}`,
      `-d${seconds}s`,
      '--latency',
      '-s',
      script,
      `http://127.0.0.1:${port}`,
    ],
    { encoding: 'utf8' },
  );
  const line = (re: RegExp) => re.exec(out)?.[1] ?? '?';
  return {
    rps: Number(line(/Requests\/sec:\s+([\d.]+)/)),
    p50: line(/\s50%\s+(\S+)/),
    p99: line(/\s99%\s+(\S+)/),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
  };
}

/** A server child pinned to CPU 0: this script in `--serve` mode, from `dir` (another checkout, for a baseline). */
async function startChild(kind: string, dir?: string): Promise<{ child: ChildProcess; port: number }> {
  const script = dir ? join(dir, 'bench', 'http-hotpath.ts') : fileURLToPath(import.meta.url);
  const child = spawn(
    'taskset',
    ['-c', '0', process.execPath, '--import', 'tsx', script, `--serve=${kind}`],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      ...(dir ? { cwd: dir } : {}),
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (d) => {
      text += String(d);
      if (text.includes('\n')) resolve(Number(text.trim()));
    });
    child.once('exit', (code) => reject(new Error(`server ${kind} exited with ${code}`)));
  });
  return { child, port };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'http-hotpath-'));
  const lua = (name: string, body: string) => {
    const path = join(dir, `${name}.lua`);
    writeFileSync(path, body);
    return path;
  };
  const n = IDENTITIES;
  const every = Math.floor((n - 1) / NAMESPACES);
  const scripts = {
    'GET facts': lua(
      'facts',
      `request = function()\n  local i = math.random(0, ${n - 1})\n  return wrk.format('GET', '/api/v1/namespaces/ns-' .. (i % ${NAMESPACES}) .. '/identities/customer-' .. i .. '/facts')\nend\n`,
    ),
    'GET /api/fact (prototype)': lua(
      'prototype',
      `request = function()\n  local i = math.random(0, ${every}) * ${NAMESPACES}\n  return wrk.format('GET', '/api/fact/customer-' .. i)\nend\n`,
    ),
    'POST OFREP single': lua(
      'ofrep',
      `request = function()\n  local i = math.random(0, ${every}) * ${NAMESPACES}\n  return wrk.format('POST', '/ofrep/v1/evaluate/flags/max-replicas', {['content-type'] = 'application/json'}, '{"context":{"targetingKey":"customer-' .. i .. '"}}')\nend\n`,
    ),
  };
  type Route = keyof typeof scripts;
  // Contenders are measured in turn, round after round, so that a noisy neighbour hurts them alike; medians
  // are reported.
  const contenders: { name: string; kind: 'bare' | 'operator'; dir?: string; routes: Route[] }[] = [
    { name: 'bare node:http', kind: 'bare', routes: ['GET facts'] },
    { name: 'operator', kind: 'operator', routes: Object.keys(scripts) as Route[] },
  ];
  if (BASELINE_DIR)
    contenders.push({
      name: 'baseline operator',
      kind: 'operator',
      dir: BASELINE_DIR,
      routes: Object.keys(scripts) as Route[],
    });
  console.log(
    `node ${process.version}, ${IDENTITIES} identities, wrk -t1 -c${CONNECTIONS}, ${ROUNDS} rounds of ${SECONDS} s (after a 2 s warm-up) per contender and route, in turn; server on CPU 0, wrk on CPU 1; medians`,
  );
  if (BASELINE_DIR) console.log(`baseline: the operator in ${BASELINE_DIR}`);
  const results = new Map<string, Result[]>();
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of contenders) {
        const { child, port } = await startChild(c.kind, c.dir);
        try {
          for (const route of c.routes) {
            wrk(port, scripts[route], 2);
            const key = `${c.name}, ${route}`;
            results.set(key, [...(results.get(key) ?? []), wrk(port, scripts[route], SECONDS)]);
          }
        } finally {
          child.kill();
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const bareRounds = results.get('bare node:http, GET facts')!.map((r) => r.rps);
  for (const [key, rs] of results) {
    const rps = median(rs.map((r) => r.rps));
    const mid = rs.find((r) => r.rps === rps)!;
    // Each round's figure against the bare server's in the same round: steadier than a ratio of medians.
    const ratio = median(rs.map((r, i) => r.rps / bareRounds[i]!));
    console.log(
      `${key.padEnd(48)} ${Math.round(rps).toLocaleString('en-US').padStart(8)} req/s, ${(ratio * 100).toFixed(0).padStart(3)}% of bare (median of per-round ratios; rounds ${rs.map((r) => Math.round(r.rps)).join(', ')}), p50 ${mid.p50}, p99 ${mid.p99}, ${rs.reduce((a, r) => a + r.non2xx, 0)} non-2xx`,
    );
  }
}

const serveArg = process.argv.find((a) => a.startsWith('--serve='));
if (serveArg) await serve(serveArg.slice('--serve='.length));
else await main();
