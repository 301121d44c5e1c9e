/**
 * The write routes (facts, secrets, deleting an identity) against a fake writer and the in-memory store: what each
 * route hands the writer, how it answers the writer's results and errors, and that a caller refused by the
 * authoriser or a namespace outside --namespaces never reaches the writer. No API server: the writer's own
 * behaviour is tested against a real one in test/integration/.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Store } from '../../store/store.js';
import { conflict, forbidden, invalid, WriteError } from '../../writes/errors.js';
import type { FactsWriteResult, Writer } from '../../writes/writer.js';
import { createApp } from '../app.js';
import type { Authenticator, User } from '../auth/authenticator.js';
import type { Authorizer, Permission } from '../auth/authorizer.js';
import { unauthorized } from '../errors.js';

const alice: User = { username: 'alice', groups: [], anonymous: false };
const authenticator: Authenticator = {
  authenticate: async (token) => {
    if (token === 'alice') return alice;
    throw unauthorized('the bearer token is invalid or expired');
  },
};
/** Alice may do anything in `apps` and `other`, except delete DeploymentSecrets when `noSecretDelete` is set. */
let noSecretDelete = false;
const asked: Permission[] = [];
const authorizer: Authorizer = {
  allowed: async (_user, p) => {
    asked.push(p);
    if (p.namespace === 'forbidden') return false;
    return !(noSecretDelete && p.verb === 'delete' && p.resource === 'deploymentsecrets');
  },
};

/** The writer's calls, and what the next call answers (a result or an error). */
const calls: { op: keyof Writer; args: unknown[] }[] = [];
let next: { result?: unknown; error?: unknown } = {};
const answer =
  (op: keyof Writer) =>
  async (...args: unknown[]) => {
    calls.push({ op, args });
    if (next.error) throw next.error;
    return next.result;
  };
const writer: Writer = {
  writeFacts: answer('writeFacts') as Writer['writeFacts'],
  putSecret: answer('putSecret') as Writer['putSecret'],
  removeSecret: answer('removeSecret') as Writer['removeSecret'],
  deleteIdentity: answer('deleteIdentity') as Writer['deleteIdentity'],
  deleteFacts: answer('deleteFacts') as Writer['deleteFacts'],
};
const written = (facts: FactsWriteResult['facts'], visible = true): FactsWriteResult => ({
  resourceVersion: '7',
  generation: 3,
  facts,
  visible,
});

const app = createApp({
  reader: new Store(),
  writer,
  auth: { authenticator, authorizer },
  ready: () => true,
  log: pino({ level: 'silent' }),
  defaultNamespace: 'apps',
  watches: (ns) => ns !== 'unwatched',
});
beforeAll(() => app.ready());
afterAll(() => app.close());
beforeEach(() => {
  calls.length = 0;
  asked.length = 0;
  next = {};
  noSecretDelete = false;
});

const send = (method: 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown, headers = {}) =>
  app.inject({
    method,
    url,
    headers: {
      authorization: 'Bearer alice',
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
const FACTS = '/api/v1/namespaces/apps/identities/web/facts';
const SECRETS = '/api/v1/namespaces/apps/identities/web/secrets';

describe('fact writes', () => {
  it("PUT hands the writer one set, with the caller as origin, ?force and If-Match; 200 with the generation's ETag", async () => {
    next = { result: written({ tier: 'gold', other: 1 }) };
    const res = await send('PUT', `${FACTS}/tier?force=true`, { value: 'gold' }, { 'if-match': '"2"' });
    expect(res.statusCode).toBe(200);
    expect(res.headers.etag).toBe('"3"');
    expect(res.json()).toEqual({ tier: 'gold' });
    expect(calls).toEqual([
      {
        op: 'writeFacts',
        args: ['apps', 'web', { set: { tier: 'gold' }, force: true, ifMatch: 2, origin: 'user:alice' }],
      },
    ]);
  });

  it('PATCH splits the body into sets and removals (null), and answers the facts after the write', async () => {
    next = { result: written({ a: 1 }) };
    const res = await send('PATCH', FACTS, { a: 1, b: null });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ a: 1 });
    expect(calls[0]!.args[2]).toMatchObject({ set: { a: 1 }, remove: ['b'], force: false });
  });

  it('answers 202 when the write is not yet visible on this replica', async () => {
    next = { result: written({ a: 1 }, false) };
    expect((await send('PUT', `${FACTS}/a`, { value: 1 })).statusCode).toBe(202);
  });

  it('DELETE of one fact is a removal, answered with the remaining facts', async () => {
    next = { result: written({ kept: true }) };
    const res = await send('DELETE', `${FACTS}/gone`);
    expect(res.json()).toEqual({ kept: true });
    expect(calls[0]!.args[2]).toMatchObject({ remove: ['gone'] });
  });

  it("answers the writer's conflict as 409 naming the fact, and its invalid input as 400 naming the field", async () => {
    next = { error: conflict('fact tier is managed by argocd-controller', 'tier', ['argocd-controller']) };
    const c = await send('PUT', `${FACTS}/tier`, { value: 'gold' });
    expect(c.statusCode).toBe(409);
    expect(c.json().error).toMatchObject({ code: 'Conflict', field: 'tier' });
    next = { error: invalid('an identity holds at most 256 facts', 'facts') };
    const i = await send('PUT', `${FACTS}/tier`, { value: 'gold' });
    expect(i.statusCode).toBe(400);
    expect(i.json().error).toMatchObject({ field: 'facts' });
  });

  it('refuses a bad body, a forbidden caller and an unwatched namespace without calling the writer', async () => {
    expect((await send('PUT', `${FACTS}/tier`, { value: { nested: 1 } })).statusCode).toBe(400);
    expect(
      (await send('PUT', '/api/v1/namespaces/forbidden/identities/web/facts/tier', { value: 1 })).statusCode,
    ).toBe(403);
    const unwatched = await send('PUT', '/api/v1/namespaces/unwatched/identities/web/facts/tier', {
      value: 1,
    });
    expect(unwatched.statusCode).toBe(404);
    expect(unwatched.json().error.message).toContain('not watched');
    expect(calls).toEqual([]);
  });
});

describe('secret writes', () => {
  it('PUT hands the writer the value and answers without it', async () => {
    next = { result: true };
    const res = await send('PUT', `${SECRETS}/token`, { value: 's3cret-value' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ name: 'token', stored: true });
    expect(res.body).not.toContain('s3cret-value');
    expect(calls).toEqual([
      {
        op: 'putSecret',
        args: ['apps', 'web', 'token', 's3cret-value', { force: false, origin: 'user:alice' }],
      },
    ]);
    expect(asked).toContainEqual(
      expect.objectContaining({ verb: 'update', resource: 'deploymentsecrets', subresource: 'values' }),
    );
  });

  it('PUT answers 202 when the value is not yet visible', async () => {
    next = { result: false };
    expect((await send('PUT', `${SECRETS}/token`, { value: 'v' })).statusCode).toBe(202);
  });

  it('DELETE hands the writer the key and ?force', async () => {
    const res = await send('DELETE', `${SECRETS}/token?force=true`);
    expect(res.json()).toEqual({ name: 'token', deleted: true });
    expect(calls).toEqual([
      { op: 'removeSecret', args: ['apps', 'web', 'token', { force: true, origin: 'user:alice' }] },
    ]);
  });
});

describe('deleting an identity', () => {
  const ONE = '/api/v1/namespaces/apps/identities/web';

  it('asks delete on the DeploymentSecrets before the writer, and passes the answer on', async () => {
    const res = await send('DELETE', ONE);
    expect(res.json()).toEqual({ namespace: 'apps', name: 'web', deleted: true });
    expect(calls).toEqual([{ op: 'deleteIdentity', args: ['apps', 'web', { facts: true, secrets: true }] }]);
    noSecretDelete = true;
    await send('DELETE', ONE);
    expect(calls[1]).toEqual({
      op: 'deleteIdentity',
      args: ['apps', 'web', { facts: true, secrets: false }],
    });
  });

  it("answers the writer's refusal for the secrets as 403 naming the missing permission", async () => {
    noSecretDelete = true;
    next = { error: forbidden('identity apps/web has a DeploymentSecrets') };
    const res = await send('DELETE', ONE);
    expect(res.statusCode).toBe(403);
    expect(res.json().error.message).toContain('deploymentsecrets');
  });

  it('answers the writer 404 as 404', async () => {
    next = { error: new WriteError('NotFound', 'identity apps/web: the identity does not exist') };
    expect((await send('DELETE', ONE)).statusCode).toBe(404);
  });
});
