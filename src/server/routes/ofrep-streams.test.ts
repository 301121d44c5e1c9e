/**
 * OFREP event streams in-process (ADR-0008's wire format): the bulk evaluation's `eventStreams`, the ticket,
 * `refetchEvaluation` events for the identity's fact changes only, resume, the shared stream caps, and
 * `flagConfigEtag` waiting for this replica to catch up.
 */
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { followSse } from '../../../test/support/sse.js';
import { SecretValue } from '../../store/secret-value.js';
import { type FactsEntry, Store } from '../../store/store.js';
import type { Writer } from '../../writes/writer.js';
import { createApp } from '../app.js';
import { ANONYMOUS, type Authenticator, type User } from '../auth/authenticator.js';
import type { Authorizer, Permission } from '../auth/authorizer.js';
import { TICKET_WINDOW_MS, ticketCodec } from './stream-ticket.js';

const facts = (values: Record<string, string | number>, rv: string): FactsEntry => ({
  values,
  generation: 1,
  resourceVersion: rv,
  ready: true,
  reason: 'Indexed',
});

/** `Bearer <name>` is user <name>. */
const authenticator: Authenticator = {
  authenticate: async (token) => (token ? { username: token, groups: ['g'], anonymous: false } : ANONYMOUS),
};
/** alice may do anything; getter may get but not watch; who is in `revoked` may do nothing any more. */
const revoked = new Set<string>();
const asked: Permission[] = [];
const authorizer: Authorizer = {
  allowed: async (user: User, p: Permission) => {
    asked.push(p);
    if (revoked.has(user.username)) return false;
    if (user.username === 'alice') return true;
    return user.username === 'getter' && p.verb === 'get';
  },
};

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
  revoked.clear();
  asked.length = 0;
});

async function serve(store: Store, maxStreamsPerCaller?: number) {
  const app = createApp({
    reader: store,
    writer: {} as Writer,
    auth: { authenticator, authorizer },
    ready: () => true,
    log: pino({ level: 'silent' }),
    defaultNamespace: 'apps',
    maxStreamsPerCaller,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  closers.push(() => {
    app.server.closeAllConnections();
    app.server.close();
  });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

async function bulk(url: string, token: string, targetingKey = 'customer-1', query = '') {
  const res = await fetch(`${url}/ofrep/v1/evaluate/flags${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ context: { targetingKey } }),
  });
  return { res, body: (await res.json()) as Record<string, unknown> };
}

/** An open stream whose events are collected as they come, closed after the test. */
async function connect(url: string, requestUri: string, headers: Record<string, string> = {}) {
  const stream = await followSse(url + requestUri, headers);
  closers.push(() => void stream.close());
  return stream;
}

const settle = () => new Promise((r) => setTimeout(r, 100));
const requestUriOf = (body: Record<string, unknown>) =>
  (body.eventStreams as { endpoint: { requestUri: string } }[])[0]!.endpoint.requestUri;

describe('the stream ticket', () => {
  const t = {
    user: { username: 'alice', uid: 'u1', groups: ['a', 'b'], anonymous: false },
    namespace: 'apps',
    name: 'customer-1',
    revision: 4,
    epoch: 'e1',
  };
  const codec = ticketCodec();
  const issueTicket = codec.issue;
  const openTicket = codec.open;

  it('round-trips, says nothing in the clear, and is the same within its window', () => {
    const now = 10 * TICKET_WINDOW_MS + 1000;
    const ticket = issueTicket(t, now);
    expect(openTicket(ticket, now)).toEqual(t);
    expect(Buffer.from(ticket, 'base64url').toString('latin1')).not.toMatch(/alice|customer-1|apps/);
    expect(issueTicket(t, now + 60_000)).toBe(ticket);
    expect(issueTicket({ ...t, revision: 5 }, now)).not.toBe(ticket);
  });

  it('expires, and refuses anything altered', () => {
    const now = 10 * TICKET_WINDOW_MS;
    const ticket = issueTicket(t, now);
    expect(openTicket(ticket, now + TICKET_WINDOW_MS + 1)).toBeDefined();
    expect(openTicket(ticket, now + 2 * TICKET_WINDOW_MS)).toBeUndefined();
    const raw = Buffer.from(ticket, 'base64url');
    raw[raw.length - 1]! ^= 1;
    expect(openTicket(raw.toString('base64url'), now)).toBeUndefined();
    expect(openTicket('not-a-ticket', now)).toBeUndefined();
  });

  it('opens on every replica that shares the key, and on no other', () => {
    const secret = Buffer.alloc(32, 7);
    const a = ticketCodec(secret);
    const b = ticketCodec(Buffer.from(secret));
    const now = 10 * TICKET_WINDOW_MS;
    const ticket = a.issue(t, now);
    expect(b.open(ticket, now)).toEqual(t);
    expect(ticketCodec(Buffer.alloc(32, 8)).open(ticket, now)).toBeUndefined();
    expect(openTicket(ticket, now)).toBeUndefined(); // a random key of its own
    expect(() => ticketCodec(Buffer.alloc(16))).toThrow('at least 32 bytes, not 16');
  });
});

describe('OFREP event streams', () => {
  it('names a stream in the bulk evaluation of a caller who may watch, and none otherwise', async () => {
    const store = new Store();
    store.setFacts('apps', 'customer-1', facts({ tier: 'gold' }, '10'));
    const url = await serve(store);
    const { body } = await bulk(url, 'alice');
    expect(body.eventStreams).toEqual([
      { type: 'sse', endpoint: { requestUri: expect.stringMatching(/^\/ofrep\/v1\/event-stream\?ticket=/) } },
    ]);
    expect(asked).toContainEqual({
      verb: 'watch',
      resource: 'deploymentfacts',
      namespace: 'apps',
      name: 'customer-1',
    });
    const getter = await bulk(url, 'getter');
    expect(getter.res.status).toBe(200);
    expect(getter.body.flags).toHaveLength(1);
    expect(getter.body).not.toHaveProperty('eventStreams');
  });

  it("sends refetchEvaluation for each change of the identity's facts, and for nothing else", async () => {
    const store = new Store();
    store.setFacts('apps', 'customer-1', facts({ tier: 'gold' }, '10'));
    const url = await serve(store);
    const { body } = await bulk(url, 'alice');
    const { res, events } = await connect(url, requestUriOf(body));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    await settle();
    expect(events).toEqual([]);

    store.setFacts('apps', 'customer-2', facts({ tier: 'gold' }, '11')); // another identity
    store.setSecrets('apps', 'customer-1', {
      values: new Map([['db', SecretValue.fromPlain('pw')]]),
      generation: 1,
      resourceVersion: '12',
      ready: true,
      reason: 'Resolved',
      unresolved: [],
    }); // secrets are not OFREP's
    store.setFacts('apps', 'customer-1', { ...facts({ tier: 'gold' }, '13') }); // same facts
    store.setFacts('apps', 'customer-1', facts({ tier: 'platinum' }, '14'));
    await settle();
    expect(events).toEqual([
      {
        id: `${store.epoch}.${store.revision}`,
        event: 'message',
        data: { type: 'refetchEvaluation', etag: '"14"' },
      },
    ]);
    store.deleteFacts('apps', 'customer-1');
    await settle();
    expect(events[1]).toEqual({
      id: `${store.epoch}.${store.revision}`,
      event: 'message',
      data: { type: 'refetchEvaluation' },
    });
  });

  it('tells a provider to refetch at once when the identity changed since its evaluation', async () => {
    const store = new Store();
    store.setFacts('apps', 'customer-1', facts({ tier: 'gold' }, '10'));
    const url = await serve(store);
    const { body } = await bulk(url, 'alice');
    store.setFacts('apps', 'customer-1', facts({ tier: 'silver' }, '11'));
    const { events } = await connect(url, requestUriOf(body));
    await settle();
    expect(events.map((e) => e.data)).toEqual([{ type: 'refetchEvaluation', etag: '"11"' }]);
  });

  it('resumes after Last-Event-ID: a refetch if a change was missed, none if not, one if it cannot tell', async () => {
    const store = new Store();
    store.setFacts('apps', 'customer-1', facts({ tier: 'gold' }, '10'));
    const url = await serve(store);
    const uri = requestUriOf((await bulk(url, 'alice')).body);
    const seen = `${store.epoch}.${store.revision}`;
    const quiet = await connect(url, uri, { 'last-event-id': seen });
    const foreign = await connect(url, uri, { 'last-event-id': 'deadbeef.1' });
    await settle();
    expect(quiet.events).toEqual([]);
    expect(foreign.events.map((e) => e.data)).toEqual([{ type: 'refetchEvaluation', etag: '"10"' }]);
    store.setFacts('apps', 'other', facts({ a: 1 }, '11'));
    store.setFacts('apps', 'customer-1', facts({ tier: 'silver' }, '12'));
    store.setFacts('apps', 'customer-1', facts({ tier: 'bronze' }, '13'));
    const missed = await connect(url, uri, { 'last-event-id': seen });
    await settle();
    expect(missed.events).toEqual([
      {
        id: `${store.epoch}.${store.revision}`,
        event: 'message',
        data: { type: 'refetchEvaluation', etag: '"13"' },
      },
    ]);
  });

  it('refuses an altered ticket (401) and a caller who may no longer watch (403)', async () => {
    const store = new Store();
    const url = await serve(store);
    const uri = requestUriOf((await bulk(url, 'alice')).body);
    const altered = await fetch(`${url}${uri.slice(0, -2)}AA`);
    expect(altered.status).toBe(401);
    expect(((await altered.json()) as { error: { message: string } }).error.message).toContain(
      'evaluate the flags again',
    );
    expect((await fetch(`${url}/ofrep/v1/event-stream`)).status).toBe(400);
    revoked.add('alice');
    const refused = await fetch(url + uri);
    expect(refused.status).toBe(403);
  });

  it('takes its slots from the change feed caps, per caller', async () => {
    const store = new Store();
    const url = await serve(store, 1);
    const feed = await fetch(`${url}/api/v1/watch`, { headers: { authorization: 'Bearer alice' } });
    expect(feed.status).toBe(200);
    const uri = requestUriOf((await bulk(url, 'alice')).body);
    const refused = await fetch(url + uri);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('5');
    await feed.body!.cancel();
    await settle();
    const { res } = await connect(url, uri);
    expect(res.status).toBe(200);
  });

  it('waits for the facts a flagConfigEtag names before it answers, and not past 2 s', async () => {
    const store = new Store();
    store.setFacts('apps', 'customer-1', facts({ tier: 'gold' }, '10'));
    const url = await serve(store);
    setTimeout(() => store.setFacts('apps', 'customer-1', facts({ tier: 'silver' }, '12')), 200);
    const started = Date.now();
    const { body } = await bulk(
      url,
      'alice',
      'customer-1',
      '?flagConfigEtag=%2212%22&flagConfigLastModified=1',
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(body.flags).toEqual([expect.objectContaining({ key: 'tier', value: 'silver' })]);
    // One this replica never reaches: the answer it has, after the bounded wait; and one not ours: no wait.
    const late = Date.now();
    expect((await bulk(url, 'alice', 'customer-1', '?flagConfigEtag=%2299%22')).res.status).toBe(200);
    expect(Date.now() - late).toBeGreaterThanOrEqual(1900);
    const quick = Date.now();
    expect((await bulk(url, 'alice', 'customer-1', '?flagConfigEtag=abc')).res.status).toBe(200);
    expect(Date.now() - quick).toBeLessThan(1000);
  });
});
