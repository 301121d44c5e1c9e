import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreClient } from '../src/store-client.js';
import { TokenSource } from '../src/token.js';
import { backoffDelay, type ChangeEvent, Watcher } from '../src/watch.js';
import { FakeStore } from './fake-store.js';
import { eventually } from './helpers.js';

describe('backoffDelay', () => {
  it('doubles from 250–500 ms up to the cap, with jitter', () => {
    expect(backoffDelay(0, 500, 30_000, () => 0)).toBe(250);
    expect(backoffDelay(0, 500, 30_000, () => 1)).toBe(500);
    expect(backoffDelay(3, 500, 30_000, () => 1)).toBe(4_000);
    expect(backoffDelay(50, 500, 30_000, () => 1)).toBe(30_000);
    expect(backoffDelay(50, 500, 30_000, () => 0)).toBe(15_000);
  });
});

describe('Watcher', () => {
  const store = new FakeStore();
  let client: StoreClient;
  beforeAll(async () => {
    const baseUrl = await store.start();
    const tokens = new TokenSource({ token: undefined, tokenFile: undefined, tokenFileOptional: true });
    client = new StoreClient({ baseUrl, timeoutMs: 1_000, fetch, tokens });
  });
  afterAll(() => store.stop());

  function watcher() {
    const changes: ChangeEvent[] = [];
    const resets: string[] = [];
    const logs: string[] = [];
    const w = new Watcher({
      client,
      connectTimeoutMs: 1_000,
      onChange: (c) => changes.push(c),
      onReset: (r) => resets.push(r),
      log: (level, m) => logs.push(`${level}: ${m}`),
    });
    return { w, changes, resets, logs };
  }

  it('reports facts changes only, and resets on connect and on event: reset', async () => {
    const { w, changes, resets } = watcher();
    w.start();
    await eventually(() => w.connected);
    expect(resets).toHaveLength(1); // fresh stream without resume point
    store.publish({ kind: 'secrets', action: 'upsert', namespace: 'n', name: 'a', keys: ['k'] });
    store.publish({ kind: 'facts', action: 'delete', namespace: 'n', name: 'b', keys: [] });
    store.broadcast(': ping\n\nevent: reset\n\n');
    await eventually(() => resets.length === 2);
    expect(changes.map((c) => `${c.kind}:${c.namespace}/${c.name}:${c.action}`)).toEqual([
      'facts:n/b:delete',
    ]);
    await w.close();
  });

  it('asks for a reset-free resume and gets event: reset when the server cannot resume', async () => {
    const { w, resets } = watcher();
    w.start();
    await eventually(() => w.connected);
    store.publish({ kind: 'facts', action: 'upsert', namespace: 'n', name: 'c', keys: ['tier'] });
    await new Promise((r) => setTimeout(r, 50));
    store.resumableAfter = Number.MAX_SAFE_INTEGER; // the server forgot its history
    store.dropWatchers();
    await eventually(() => resets.some((r) => /event: reset/.test(r)), 3_000);
    store.resumableAfter = 0;
    await w.close();
  });

  it('warns once per outage and closes promptly while backing off', async () => {
    store.failWith = 503;
    const { w, logs } = watcher();
    w.start();
    await eventually(
      () => logs.some((l) => l.startsWith('debug: flagops: watch stream still failing')),
      3_000,
    );
    expect(logs.filter((l) => l.startsWith('warn:'))).toHaveLength(1);
    expect(logs[0]).toMatch(/HTTP 503/);
    const started = performance.now();
    await w.close();
    expect(performance.now() - started).toBeLessThan(100);
    store.failWith = undefined;
  });

  it('close() ends the stream on the server side too', async () => {
    const { w } = watcher();
    const before = store.watchers;
    w.start();
    await eventually(() => store.watchers === before + 1);
    await w.close();
    expect(w.connected).toBe(false);
    await eventually(() => store.watchers === before);
  });
});

describe('Watcher scope', () => {
  it('falls back to the default namespace when watching all namespaces is forbidden', async () => {
    const store = new FakeStore();
    store.forbidClusterWatch = true;
    const baseUrl = await store.start();
    const tokens = new TokenSource({ token: undefined, tokenFile: undefined, tokenFileOptional: true });
    const client = new StoreClient({ baseUrl, timeoutMs: 1_000, fetch, tokens });
    const changes: ChangeEvent[] = [];
    const logs: string[] = [];
    const w = new Watcher({
      client,
      connectTimeoutMs: 1_000,
      fallbackNamespace: 'mine',
      onChange: (c) => changes.push(c),
      onReset: () => {},
      log: (level, m) => logs.push(`${level}: ${m}`),
    });
    w.start();
    await eventually(() => w.connected);
    store.publish({ kind: 'facts', action: 'upsert', namespace: 'theirs', name: 'a', keys: ['k'] });
    store.publish({ kind: 'facts', action: 'upsert', namespace: 'mine', name: 'b', keys: ['k'] });
    await eventually(() => changes.length > 0);
    expect(changes.map((c) => c.name)).toEqual(['b']);
    expect(store.requests.filter((r) => r.path === '/api/v1/watch').map((r) => r.query)).toEqual([
      '',
      '?namespace=mine',
    ]);
    expect(logs.some((l) => l.startsWith('info:') && /watching namespace mine only/.test(l))).toBe(true);
    expect(logs.some((l) => l.startsWith('warn:'))).toBe(false);
    await w.close();
    await store.stop();
  });
});
