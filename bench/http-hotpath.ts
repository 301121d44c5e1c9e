/**
 * The HTTP read path against its ceiling, measured with `wrk` with CPUs pinned: each server runs alone on CPU 0
 * (`taskset -c 0`), wrk on CPU 1. Contenders, in one run and on the same data set (N identities × 4 facts):
 *
 * - the operator's server (`createApp`, `--auth=none`, with its metrics), on `GET` facts of a random identity, the prototype's
 *   `GET /api/fact/<id>` and an OFREP single evaluation;
 * - a bare `node:http` server that looks the identity up in the same store and answers the same bytes as the
 *   operator's `GET` facts (status, `content-type`, `etag`, body).
 *
 * Prints req/s and latency per contender and the ratio to the bare server. Nothing is asserted.
 *
 *   node --import tsx bench/http-hotpath.ts            # BENCH_IDENTITIES, BENCH_SECONDS, BENCH_CONNECTIONS
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
import type { KubeClient } from '../src/kube/client.js';
import { Metrics } from '../src/metrics/metrics.js';
import { createApp } from '../src/server/app.js';
import { allowAll } from '../src/server/auth/authorizer.js';
import { noAuth } from '../src/server/auth/middleware.js';
import { Store } from '../src/store/store.js';

const IDENTITIES = Number(process.env.BENCH_IDENTITIES ?? 5000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
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
    client: {} as KubeClient,
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

async function startChild(kind: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    'taskset',
    ['-c', '0', process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), `--serve=${kind}`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
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

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'http-hotpath-'));
  const lua = (name: string, body: string) => {
    const path = join(dir, `${name}.lua`);
    writeFileSync(path, body);
    return path;
  };
  const n = IDENTITIES;
  const scripts = {
    facts: lua(
      'facts',
      `math.randomseed(7)\nrequest = function()\n  local i = math.random(0, ${n - 1})\n  return wrk.format('GET', '/api/v1/namespaces/ns-' .. (i % ${NAMESPACES}) .. '/identities/customer-' .. i .. '/facts')\nend\n`,
    ),
    prototype: lua(
      'prototype',
      `math.randomseed(7)\nrequest = function()\n  local i = math.random(0, ${Math.floor((n - 1) / NAMESPACES)}) * ${NAMESPACES}\n  return wrk.format('GET', '/api/fact/customer-' .. i)\nend\n`,
    ),
    ofrep: lua(
      'ofrep',
      `math.randomseed(7)\nrequest = function()\n  local i = math.random(0, ${Math.floor((n - 1) / NAMESPACES)}) * ${NAMESPACES}\n  return wrk.format('POST', '/ofrep/v1/evaluate/flags/max-replicas', {['content-type'] = 'application/json'}, '{"context":{"targetingKey":"customer-' .. i .. '"}}')\nend\n`,
    ),
  };
  const contenders: [string, 'bare' | 'operator', string][] = [
    ['bare node:http, GET facts', 'bare', scripts.facts],
    ['operator, GET facts', 'operator', scripts.facts],
    ['operator, GET /api/fact (prototype)', 'operator', scripts.prototype],
    ['operator, POST OFREP single', 'operator', scripts.ofrep],
  ];
  console.log(
    `node ${process.version}, ${IDENTITIES} identities, wrk -t1 -c${CONNECTIONS} ${SECONDS}s after a 3 s warm-up; server on CPU 0, wrk on CPU 1`,
  );
  let bare = 0;
  try {
    for (const [name, kind, script] of contenders) {
      const { child, port } = await startChild(kind);
      try {
        wrk(port, script, 3);
        const r = wrk(port, script, SECONDS);
        if (kind === 'bare') bare = r.rps;
        const ratio = bare ? ` (${((r.rps / bare) * 100).toFixed(0)}% of bare)` : '';
        console.log(
          `${name.padEnd(38)} ${Math.round(r.rps).toLocaleString('en-US').padStart(8)} req/s${ratio}, p50 ${r.p50}, p99 ${r.p99}, ${r.non2xx} non-2xx`,
        );
      } finally {
        child.kill();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const serveArg = process.argv.find((a) => a.startsWith('--serve='));
if (serveArg) await serve(serveArg.slice('--serve='.length));
else await main();
