// Graceful shutdown with keep-alive clients: a Service keeps a client's connections on the pod that is stopping,
// so while it drains every response must close its connection (the client then reconnects elsewhere), and the
// drain must end when the requests do, not when the shutdown timeout cuts them off.
import { Agent, request as httpRequest } from 'node:http';
import { afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { newNamespace, startTestOperator, type TestOperator } from '../support/cluster.js';

let op: TestOperator;
let ns: string;
// A long timeout: if the drain waited for it, stop() would outlast the test's own timeout.
const start = () =>
  startTestOperator({ namespaces: [ns], auth: 'none', extraArgs: ['--shutdown-timeout=120s'] });
beforeAll(async () => {
  ns = await newNamespace('shutdown');
}, 60_000);
beforeEach(async () => {
  op = await start();
}, 60_000);
afterEach(async () => {
  await op?.stop();
});

interface Answer {
  status: number;
  connection?: string;
}

function get(agent: Agent, path: string): Promise<Answer> {
  return send(agent, 'GET', path).finish();
}

/** Starts a request and sends its body only on finish(): until then the request is under way on the server. */
function send(agent: Agent, method: string, path: string, body = '') {
  let answer!: Promise<Answer>;
  const req = httpRequest(new URL(path, op.url), {
    agent,
    method,
    headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {},
  });
  answer = new Promise((resolve, reject) => {
    req.once('response', (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
    });
    req.once('error', reject);
  });
  req.flushHeaders();
  return {
    finish: () => {
      req.end(body);
      return answer;
    },
  };
}

it('closes keep-alive connections with the responses it sends while stopping, and stops when they are answered', async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const before = await get(agent, '/healthz');
    expect(before).toEqual({ status: 200, connection: 'keep-alive' });
    // On the kept-alive socket, a write whose body has not arrived yet is under way as stop() begins.
    const write = send(
      agent,
      'PUT',
      `/api/v1/namespaces/${ns}/identities/drain/facts/tier`,
      '{"value":"gold"}',
    );
    await new Promise((r) => setTimeout(r, 300));
    const stopped = op.stop();
    await new Promise((r) => setTimeout(r, 100));
    const answer = await write.finish();
    expect(answer.status).toBeLessThan(300);
    expect(answer.connection).toBe('close');
    await stopped; // within the test's timeout, far below the 120 s shutdown timeout
  } finally {
    agent.destroy();
  }
}, 20_000);

it('answers the next request on a connection that was idle when stopping began, then closes idle ones', async () => {
  // A keep-alive client between two requests: closing its idle connection at once would reset the request it is
  // about to send (the listener is closed by then, so it could not reconnect here either).
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    expect(await get(agent, '/healthz')).toEqual({ status: 200, connection: 'keep-alive' });
    const began = Date.now();
    const stopped = op.stop();
    await new Promise((r) => setTimeout(r, 200));
    expect(await get(agent, '/healthz')).toEqual({ status: 200, connection: 'close' });
    await stopped;
    expect(Date.now() - began).toBeLessThan(5_000);
  } finally {
    agent.destroy();
  }
}, 20_000);

it('does not let an idle keep-alive connection hold the drain open', async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    expect(await get(agent, '/healthz')).toEqual({ status: 200, connection: 'keep-alive' });
    const began = Date.now();
    await op.stop();
    // The idle grace (1 s), far below the server's keep-alive timeout and the 120 s shutdown timeout.
    expect(Date.now() - began).toBeLessThan(3_000);
  } finally {
    agent.destroy();
  }
}, 20_000);
