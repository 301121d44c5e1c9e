import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeWatch } from './watch.js';

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url?.includes('status=410')) {
      res.writeHead(410).end('{"kind":"Status","code":410}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"1"}}}\n{"type":"BOOK');
    setTimeout(() => res.write('MARK","object":{"metadata":{"resourceVersion":"9"}}}\nnot json\n'), 20);
    if (req.url?.includes('end=1')) setTimeout(() => res.end(), 40);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const access = () => ({ server: base, prepare: async () => ({ headers: {} }) });

function run(query: Record<string, string>, inactivityMs = 5000) {
  const events: string[] = [];
  let calls = 0;
  let controller: AbortController | undefined;
  const done = new Promise<unknown>((resolve) => {
    void new KubeWatch(access(), inactivityMs)
      .watch(
        '/x',
        query,
        (type, obj) =>
          events.push(
            `${type} ${(obj as { metadata: { resourceVersion: string } }).metadata.resourceVersion}`,
          ),
        (err) => {
          calls++;
          resolve(err);
        },
      )
      .then((c) => {
        controller = c;
      });
  });
  return { events, done, calls: () => calls, abort: () => controller?.abort(new Error('disconnected')) };
}

describe('KubeWatch', () => {
  it('hands over events line by line across chunks, skipping torn lines, and ends with null', async () => {
    const w = run({ end: '1' });
    expect(await w.done).toBeNull();
    expect(w.events).toEqual(['ADDED 1', 'BOOKMARK 9']);
    expect(w.calls()).toBe(1);
  });
  it('reports a non-200 answer with its status code', async () => {
    const w = run({ status: '410' });
    expect(await w.done).toMatchObject({ statusCode: 410 });
  });
  it('reports an abort once, as an error, with no unhandled error event', async () => {
    const w = run({});
    await new Promise((r) => setTimeout(r, 60));
    w.abort();
    expect(await w.done).toBeTruthy();
    await new Promise((r) => setTimeout(r, 20));
    expect(w.calls()).toBe(1);
  });
  it('drops a connection that stays silent', async () => {
    const w = run({}, 150);
    expect(String(await w.done)).toContain('inactive');
  });
});
