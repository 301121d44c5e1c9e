/**
 * Slow clients cannot hold a socket (issue 20): headers and a body trickled a byte at a time, and an idle
 * keep-alive connection, are cut off after the configured timeouts; a change-feed stream, whose request is
 * complete, is not. Deadlines are generous multiples of the timeouts: the point is that the socket is closed at
 * all, where it used to stay open for 60 to 90 seconds.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newNamespace, startTestOperator, type TestOperator } from '../support/cluster.js';

let op: TestOperator;
let defaults: TestOperator;

beforeAll(async () => {
  const ns = await newNamespace('slow');
  [op, defaults] = await Promise.all([
    startTestOperator({
      namespaces: [ns],
      auth: 'none',
      extraArgs: ['--http-headers-timeout=1s', '--http-request-timeout=2s', '--http-keep-alive-timeout=1s'],
    }),
    startTestOperator({ namespaces: [ns], auth: 'none' }),
  ]);
});
afterAll(async () => {
  await Promise.all([op?.stop(), defaults?.stop()]);
});

interface Trickle {
  socket: Socket;
  /** Everything the server sent. */
  received: () => string;
  /** Resolves with the milliseconds from connect to the server closing the socket. */
  closed: Promise<number>;
}

/** Connects, writes `head` at once, then one byte of `rest` every `everyMs` until the server closes. */
function trickle(url: string, head: string, rest = 'x'.repeat(10_000), everyMs = 200): Trickle {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  const started = Date.now();
  let received = '';
  let i = 0;
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    received += d;
  });
  socket.on('error', () => {});
  const timer = setInterval(() => {
    if (i < rest.length && socket.writable) socket.write(rest[i++]!);
  }, everyMs);
  const closed = new Promise<number>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer);
      resolve(Date.now() - started);
    }),
  );
  socket.once('connect', () => socket.write(head));
  return { socket, received: () => received, closed };
}

/** Fails after `ms` unless `p` settles first; the socket is destroyed either way. */
async function within<T>(t: Trickle, p: Promise<T>, ms: number): Promise<T | 'still open'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'still open'>((r) => {
    timer = setTimeout(() => r('still open'), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
    t.socket.destroy();
  }
}

describe('slow clients', () => {
  it('lose a socket whose headers trickle in, with 408, after the headers timeout', async () => {
    const t = trickle(op.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    expect(await within(t, t.closed, 10_000)).not.toBe('still open');
    expect(t.received()).toMatch(/^HTTP\/1\.1 408/);
  });

  it('lose a socket whose body trickles in, after the request timeout', async () => {
    const t = trickle(
      op.url,
      'POST /ofrep/v1/evaluate/flags HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n',
    );
    expect(await within(t, t.closed, 12_000)).not.toBe('still open');
  });

  it('lose an idle keep-alive connection after the keep-alive timeout', async () => {
    const t = trickle(op.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', '');
    expect(await within(t, t.closed, 10_000)).not.toBe('still open');
    expect(t.received()).toMatch(/^HTTP\/1\.1 200/);
  });

  it('with the defaults too: trickled headers lose the socket within seconds, not a minute and a half', async () => {
    const t = trickle(defaults.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    expect(await within(t, t.closed, 20_000)).not.toBe('still open');
    expect(t.received()).toMatch(/^HTTP\/1\.1 408/);
  }, 30_000);

  it('keep a change-feed stream open longer than the request timeout', async () => {
    const t = trickle(op.url, 'GET /api/v1/watch HTTP/1.1\r\nHost: x\r\n\r\n', '');
    expect(await within(t, t.closed, 4_000)).toBe('still open');
    expect(t.received()).toMatch(/^HTTP\/1\.1 200/);
  });
});
