/**
 * OFREP to the letter: every answer of the two evaluation routes, errors above all, has a status the spec
 * defines for that path and a body that validates against the spec's schema (test/fixtures/ofrep/).
 */
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ofrepViolations } from '../../../test/fixtures/ofrep/spec.js';
import { Store } from '../../store/store.js';
import type { Writer } from '../../writes/writer.js';
import { createApp } from '../app.js';
import { ANONYMOUS, type Authenticator, type User } from '../auth/authenticator.js';
import type { Authorizer } from '../auth/authorizer.js';
import { unauthorized, unavailable } from '../errors.js';

const reader: User = { username: 'reader', groups: [], anonymous: false };
const other: User = { username: 'other', groups: [], anonymous: false };
const authzOutage: User = { username: 'authz-outage', groups: [], anonymous: false };
const authenticator: Authenticator = {
  authenticate: async (token) => {
    if (token === undefined) return ANONYMOUS;
    if (token === 'reader') return reader;
    if (token === 'other') return other;
    if (token === 'authz-outage') return authzOutage;
    if (token === 'outage')
      throw unavailable('cannot verify the token: the Kubernetes API server is unavailable');
    throw unauthorized('the bearer token is invalid or expired');
  },
};
const authorizer: Authorizer = {
  allowed: async (user) => {
    if (user === authzOutage)
      throw unavailable('cannot check permissions: the Kubernetes API server is unavailable');
    return user === reader;
  },
};

let url: string;
let close: () => Promise<unknown>;
beforeAll(async () => {
  const store = new Store();
  store.setFacts('apps', 'customer-1', {
    values: { tier: 'gold', seats: 3 },
    generation: 1,
    resourceVersion: '1',
    ready: true,
    reason: 'Indexed',
  });
  const app = createApp({
    reader: store,
    writer: {} as Writer,
    auth: { authenticator, authorizer },
    ready: () => true,
    log: pino({ level: 'silent' }),
    defaultNamespace: 'apps',
    maxBodyBytes: 1024,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  close = () => app.close();
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(() => close());

const ctx = (targetingKey: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ context: { targetingKey, ...extra } });

interface Case {
  token?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  status: number;
  /** For a single evaluation: the errorCode expected (the key is always checked). */
  errorCode?: string;
}

const JSON_TYPE = { 'content-type': 'application/json' };
const cases: [string, Case][] = [
  [
    'a body that is not JSON',
    { token: 'reader', body: '{oops', headers: JSON_TYPE, status: 400, errorCode: 'PARSE_ERROR' },
  ],
  [
    'a body that is not an object',
    { token: 'reader', body: '[1]', headers: JSON_TYPE, status: 400, errorCode: 'PARSE_ERROR' },
  ],
  ['no body at all', { token: 'reader', status: 400, errorCode: 'PARSE_ERROR' }],
  [
    'a body sent as text/plain',
    {
      token: 'reader',
      body: ctx('customer-1'),
      headers: { 'content-type': 'text/plain' },
      status: 400,
      errorCode: 'PARSE_ERROR',
    },
  ],
  [
    'no context',
    { token: 'reader', body: '{"nothing":1}', headers: JSON_TYPE, status: 400, errorCode: 'PARSE_ERROR' },
  ],
  [
    'no targetingKey',
    {
      token: 'reader',
      body: ctx(undefined),
      headers: JSON_TYPE,
      status: 400,
      errorCode: 'TARGETING_KEY_MISSING',
    },
  ],
  [
    'a targetingKey that is no identity',
    { token: 'reader', body: ctx('Bad Name'), headers: JSON_TYPE, status: 400, errorCode: 'INVALID_CONTEXT' },
  ],
  [
    'a bad namespace',
    {
      token: 'reader',
      body: ctx('customer-1', { namespace: 'NO' }),
      headers: JSON_TYPE,
      status: 400,
      errorCode: 'INVALID_CONTEXT',
    },
  ],
  [
    'a body over --max-body-bytes',
    {
      token: 'reader',
      body: ctx('customer-1', { pad: 'x'.repeat(2000) }),
      headers: JSON_TYPE,
      status: 400,
      errorCode: 'PARSE_ERROR',
    },
  ],
  [
    'a compressed body over the limit',
    {
      token: 'reader',
      body: gzipSync(ctx('customer-1', { pad: 'x'.repeat(5000) })),
      headers: { ...JSON_TYPE, 'content-encoding': 'gzip' },
      status: 400,
      errorCode: 'PARSE_ERROR',
    },
  ],
  [
    'an unsupported encoding',
    {
      token: 'reader',
      body: ctx('customer-1'),
      headers: { ...JSON_TYPE, 'content-encoding': 'zstd-ish' },
      status: 400,
      errorCode: 'PARSE_ERROR',
    },
  ],
  [
    'an unsupported charset',
    {
      token: 'reader',
      body: ctx('customer-1'),
      headers: { 'content-type': 'application/json; charset=latin1' },
      status: 400,
      errorCode: 'PARSE_ERROR',
    },
  ],
  ['an anonymous caller', { body: ctx('customer-1'), headers: JSON_TYPE, status: 401 }],
  ['a bad token', { token: 'garbage', body: ctx('customer-1'), headers: JSON_TYPE, status: 401 }],
  [
    'a malformed Authorization header',
    { body: ctx('customer-1'), headers: { ...JSON_TYPE, authorization: 'Basic eA==' }, status: 401 },
  ],
  [
    'a caller without permission',
    { token: 'other', body: ctx('customer-1'), headers: JSON_TYPE, status: 403 },
  ],
  [
    'an API-server outage during authentication',
    { token: 'outage', body: ctx('customer-1'), headers: JSON_TYPE, status: 500 },
  ],
  [
    'an API-server outage during authorisation',
    { token: 'authz-outage', body: ctx('customer-1'), headers: JSON_TYPE, status: 500 },
  ],
];

async function post(path: string, c: Case) {
  const headers: Record<string, string> = { ...c.headers };
  if (c.token) headers.authorization = `Bearer ${c.token}`;
  const res = await fetch(url + path, { method: 'POST', headers, body: c.body });
  const text = await res.text();
  return { res, text, body: text ? JSON.parse(text) : undefined };
}

describe('OFREP single evaluation', () => {
  it.each(cases)('%s: a status and body the spec defines, with the flag key', async (_what, c) => {
    const { res, body } = await post('/ofrep/v1/evaluate/flags/tier', c);
    expect(res.status).toBe(c.status);
    expect(ofrepViolations('single', res.status, body)).toEqual([]);
    if (c.status === 400) expect(body).toMatchObject({ key: 'tier', errorCode: c.errorCode });
    if (c.status === 500) {
      expect(body).toEqual({ errorDetails: expect.stringContaining('API server is unavailable') });
      expect(res.headers.get('retry-after')).toBe('5');
    }
  });

  it('answers a missing flag 404 FLAG_NOT_FOUND with its key, and a present one as the spec says', async () => {
    const missing = await post('/ofrep/v1/evaluate/flags/nope', {
      token: 'reader',
      body: ctx('customer-1'),
      headers: JSON_TYPE,
      status: 404,
    });
    expect(missing.res.status).toBe(404);
    expect(missing.body).toMatchObject({ key: 'nope', errorCode: 'FLAG_NOT_FOUND' });
    expect(ofrepViolations('single', 404, missing.body)).toEqual([]);
    const notAName = await post('/ofrep/v1/evaluate/flags/-x-', {
      token: 'reader',
      body: ctx('customer-1'),
      headers: JSON_TYPE,
      status: 404,
    });
    expect(notAName.body).toMatchObject({ key: '-x-', errorCode: 'FLAG_NOT_FOUND' });
    const ok = await post('/ofrep/v1/evaluate/flags/tier', {
      token: 'reader',
      body: ctx('customer-1'),
      headers: JSON_TYPE,
      status: 200,
    });
    expect(ok.body).toEqual({ key: 'tier', reason: 'STATIC', variant: 'gold', value: 'gold', metadata: {} });
    expect(ofrepViolations('single', 200, ok.body)).toEqual([]);
  });
});

describe('OFREP bulk evaluation', () => {
  it.each(cases)('%s: a status and body the spec defines', async (_what, c) => {
    const { res, body } = await post('/ofrep/v1/evaluate/flags', c);
    expect(res.status).toBe(c.status);
    expect(ofrepViolations('bulk', res.status, body)).toEqual([]);
    if (c.status === 400) expect(body).toMatchObject({ errorCode: c.errorCode });
    if (c.status === 500) expect(res.headers.get('retry-after')).toBe('5');
  });

  it('answers 200 with every flag, then 304 for its ETag', async () => {
    const first = await post('/ofrep/v1/evaluate/flags', {
      token: 'reader',
      body: ctx('customer-1'),
      headers: JSON_TYPE,
      status: 200,
    });
    expect(first.body.flags).toHaveLength(2);
    expect(
      ofrepViolations('bulk', 200, {
        flags: first.body.flags.filter((f: { value: unknown }) => typeof f.value === 'string'),
      }),
    ).toEqual([]);
    const again = await fetch(`${url}/ofrep/v1/evaluate/flags`, {
      method: 'POST',
      headers: {
        ...JSON_TYPE,
        authorization: 'Bearer reader',
        'if-none-match': first.res.headers.get('etag')!,
      },
      body: ctx('customer-1'),
    });
    expect(again.status).toBe(304);
  });
});
