import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../../store/store.js';
import type { Writer } from '../../writes/writer.js';
import { createApp } from '../app.js';
import { ANONYMOUS, type Authenticator } from '../auth/authenticator.js';
import { allowAll } from '../auth/authorizer.js';
import { noAuth } from '../auth/middleware.js';

const facts = (v: number) => ({
  values: { v },
  generation: 1,
  resourceVersion: String(v),
  ready: true,
  reason: 'Indexed',
});
const servers: { close(): void }[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** `Bearer <name>` is user <name>; no token is the anonymous user. */
const byToken: Authenticator = {
  authenticate: async (token) =>
    token ? { username: token, groups: [], anonymous: false } : { ...ANONYMOUS },
};

async function serve(
  store: Store,
  maxStreams?: number,
  maxStreamsPerCaller?: number,
  authenticator = noAuth,
) {
  const app = createApp({
    maxStreams,
    maxStreamsPerCaller,
    reader: store,
    writer: {} as Writer,
    auth: { authenticator, authorizer: allowAll },
    ready: () => true,
    log: pino({ level: 'silent' }),
    defaultNamespace: 'default',
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  servers.push({
    close: () => {
      app.server.closeAllConnections();
      app.server.close();
    },
  });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

async function firstEvents(url: string, headers: Record<string, string>, count: number) {
  const res = await fetch(url, { headers });
  const reader = res.body!.getReader();
  let text = '';
  while ((text.match(/\nevent: /g) ?? []).length < count)
    text += new TextDecoder().decode((await reader.read()).value);
  await reader.cancel();
  return text
    .split('\n\n')
    .filter((b) => b.includes('event: '))
    .map((b) => ({ id: /id: (\S+)/.exec(b)?.[1], event: /event: (\w+)/.exec(b)?.[1] }));
}

describe('GET /api/v1/watch', () => {
  it('replays what a client missed since Last-Event-ID', async () => {
    const store = new Store();
    for (let i = 1; i <= 3; i++) store.setFacts('ns', `id-${i}`, facts(i));
    const url = await serve(store);
    const events = await firstEvents(`${url}/api/v1/watch`, { 'last-event-id': `${store.epoch}.1` }, 2);
    expect(events).toEqual([
      { id: `${store.epoch}.2`, event: 'change' },
      { id: `${store.epoch}.3`, event: 'change' },
    ]);
  });

  it('sends reset when the replay buffer no longer reaches back that far', async () => {
    const store = new Store(2);
    for (let i = 1; i <= 5; i++) store.setFacts('ns', `id-${i}`, facts(i));
    const url = await serve(store);
    const events = await firstEvents(`${url}/api/v1/watch`, { 'last-event-id': `${store.epoch}.1` }, 1);
    expect(events[0]).toEqual({ id: `${store.epoch}.5`, event: 'reset' });
  });

  it.each([
    ['another replica or an earlier process', 'deadbeef.2'],
    ['the future', 'EPOCH.99'],
    ['a malformed id', 'yesterday'],
  ])('sends reset for an id from %s', async (_what, id) => {
    const store = new Store();
    for (let i = 1; i <= 3; i++) store.setFacts('ns', `id-${i}`, facts(i));
    const url = await serve(store);
    const events = await firstEvents(
      `${url}/api/v1/watch`,
      { 'last-event-id': id.replace('EPOCH', store.epoch) },
      1,
    );
    expect(events[0]).toEqual({ id: `${store.epoch}.3`, event: 'reset' });
  });

  it('answers 429 when too many streams are open, and counts a closed one out', async () => {
    const url = await serve(new Store(), 1);
    const first = await fetch(`${url}/api/v1/watch`);
    expect(first.status).toBe(200);
    const second = await fetch(`${url}/api/v1/watch`);
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('5');
    await first.body!.cancel();
    await new Promise((r) => setTimeout(r, 50));
    const third = await fetch(`${url}/api/v1/watch`);
    expect(third.status).toBe(200);
    await third.body!.cancel();
  });

  it('holds the cap under concurrent requests', async () => {
    const url = await serve(new Store(), 2);
    const responses = await Promise.all(Array.from({ length: 5 }, () => fetch(`${url}/api/v1/watch`)));
    expect(responses.map((r) => r.status).sort()).toEqual([200, 200, 429, 429, 429]);
    await Promise.all(responses.map((r) => r.body?.cancel()));
  });

  it('caps streams per caller as well, anonymous callers counting as one', async () => {
    const url = await serve(new Store(), 10, 2, byToken);
    const open = (token?: string) =>
      fetch(`${url}/api/v1/watch`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    const anonymous = await Promise.all(Array.from({ length: 5 }, () => open()));
    expect(anonymous.map((r) => r.status).sort()).toEqual([200, 200, 429, 429, 429]);
    const refused = anonymous.find((r) => r.status === 429)!;
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain(
      'for this caller',
    );
    const alice = await open('alice');
    expect(alice.status).toBe(200);
    // A closed stream gives its caller's slot back.
    await Promise.all(anonymous.filter((r) => r.status === 200).map((r) => r.body?.cancel()));
    await new Promise((r) => setTimeout(r, 50));
    const again = await open();
    expect(again.status).toBe(200);
    await Promise.all([alice, again].map((r) => r.body?.cancel()));
  });

  it('answers HEAD with the headers of a stream, holding no slot', async () => {
    const url = await serve(new Store(), 1);
    for (let i = 0; i < 3; i++) {
      const head = await fetch(`${url}/api/v1/watch`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    }
    const stream = await fetch(`${url}/api/v1/watch`);
    expect(stream.status).toBe(200);
    await stream.body!.cancel();
  });

  it('refuses a bad query with 400', async () => {
    const url = await serve(new Store());
    const res = await fetch(`${url}/api/v1/watch?namespace=Not_Valid`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { field: string } }).error.field).toBe('query.namespace');
  });
});
