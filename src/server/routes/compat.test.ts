/**
 * The prototype routes as the flagops plugin's data-store provider uses them: Argo CD's `<namespace>_<name>`
 * identities checked exactly as `/api/v1/namespaces/<ns>/…` is, error bodies its decoder cannot take for facts,
 * the message in the status line (all its writes report), ETag / 304, and what an unready or unknown identity
 * answers.
 */
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../store/store.js';
import { conflict } from '../../writes/errors.js';
import type { Writer } from '../../writes/writer.js';
import { createApp } from '../app.js';
import { ANONYMOUS, type Authenticator, type User } from '../auth/authenticator.js';
import type { Authorizer, Permission } from '../auth/authorizer.js';
import { unauthorized } from '../errors.js';

const reader: User = { username: 'reader', groups: [], anonymous: false };
const authenticator: Authenticator = {
  authenticate: async (token) => {
    if (token === undefined) return ANONYMOUS;
    if (token === 'reader') return reader;
    throw unauthorized('the bearer token is invalid or expired');
  },
};
const asked: Permission[] = [];
// The reader may read facts in `apps` (the default namespace), `team-a` and `hidden`, never in `team-b`.
const authorizer: Authorizer = {
  allowed: async (user, p) => {
    asked.push(p);
    return user === reader && p.namespace !== 'team-b' && p.resource === 'deploymentfacts';
  },
};

const store = new Store();
const facts = (values: Record<string, string | number | boolean>, ready = true) => ({
  values,
  generation: 1,
  resourceVersion: '1',
  ready,
  reason: ready ? 'Indexed' : 'InvalidSpec',
});
let url: string;
let close: () => Promise<unknown>;
beforeAll(async () => {
  store.setFacts('apps', 'web', facts({ tier: 'silver' }));
  store.setFacts('team-a', 'web', facts({ tier: 'gold', 'max-replicas': 5 }));
  store.setFacts('team-b', 'web', facts({ tier: 'bronze' }));
  store.setFacts('hidden', 'web', facts({ tier: 'x' }));
  store.setFacts('team-a', 'broken', facts({ tier: 'old' }, false));
  const writer = {
    writeFacts: async () => {
      throw conflict(
        'fact tier is managed by argocd-controller; repeat with ?force=true to take it over',
        'tier',
        ['argocd-controller'],
      );
    },
  } as unknown as Writer;
  const app = createApp({
    reader: store,
    writer,
    auth: { authenticator, authorizer },
    ready: () => true,
    log: pino({ level: 'silent' }),
    defaultNamespace: 'apps',
    watches: (ns) => ns !== 'hidden',
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  close = () => app.close();
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(() => close());

/** One request as Go's net/http sends it (no Accept, no Content-Type), with the raw status line. */
function go(
  method: string,
  path: string,
  opts: { token?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; statusLine: string; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${path}`,
      {
        method,
        headers: {
          'user-agent': 'Go-http-client/1.1',
          'accept-encoding': 'gzip',
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(opts.body !== undefined ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            statusLine: `${res.statusCode} ${res.statusMessage}`,
            headers: res.headers,
            text,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** What Go's json.Decoder does with the body into map[string]string: the facts, or an error. */
function decodeAsProvider(text: string): Record<string, string> | Error {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return e as Error;
  }
  if (v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) return new Error('cannot unmarshal into map[string]string');
  for (const x of Object.values(v as object))
    if (x !== null && typeof x !== 'string')
      return new Error('cannot unmarshal into Go value of type string');
  return v as Record<string, string>;
}

describe("Argo CD's <namespace>_<name> on the prototype routes", () => {
  it('reads the identity in that namespace, asking the same permission as /api/v1/namespaces/<ns>', async () => {
    asked.length = 0;
    const r = await go('GET', '/api/fact/team-a_web', { token: 'reader' });
    expect(r.status).toBe(200);
    expect(decodeAsProvider(r.text)).toEqual({ tier: 'gold', 'max-replicas': '5' });
    expect(asked).toEqual([{ verb: 'get', resource: 'deploymentfacts', namespace: 'team-a', name: 'web' }]);
    asked.length = 0;
    expect(decodeAsProvider((await go('GET', '/api/fact/web', { token: 'reader' })).text)).toEqual({
      tier: 'silver',
    });
    expect(asked).toEqual([{ verb: 'get', resource: 'deploymentfacts', namespace: 'apps', name: 'web' }]);
    const one = await go('GET', '/api/fact/team-a_web/tier', { token: 'reader' });
    expect(decodeAsProvider(one.text)).toEqual({ tier: 'gold' });
  });

  it('gives no way into a namespace the caller may not read, nor one the operator does not watch', async () => {
    const forbidden = await go('GET', '/api/fact/team-b_web', { token: 'reader' });
    expect(forbidden.status).toBe(403);
    expect(forbidden.text).not.toContain('bronze');
    expect(decodeAsProvider(forbidden.text)).toBeInstanceOf(Error);
    expect(forbidden.statusLine).toMatch(/^403 .*deploymentfacts.*team-b/);
    const unwatched = await go('GET', '/api/fact/hidden_web', { token: 'reader' });
    expect(unwatched.status).toBe(404);
    expect(unwatched.statusLine).toBe('404 namespace hidden is not watched by this operator');
    expect((await go('GET', '/api/fact/team-b_web', {})).status).toBe(401);
  });

  it.each([
    ['a_b_c', 'the name must be a DNS subdomain'],
    ['_web', 'the namespace must be a DNS label'],
    ['team-a_', 'the name must be a DNS subdomain'],
    ['Team-A_web', 'the namespace must be a DNS label'],
    ['te.am_web', 'the namespace must be a DNS label'],
    ['Web', '<namespace>_<name>'],
  ])('%s is a 400 naming the identity', async (id, message) => {
    const r = await go('GET', `/api/fact/${id}`, { token: 'reader' });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text).error).toMatchObject({ code: 'BadRequest', field: 'identity' });
    expect(JSON.parse(r.text).error.message).toContain(message);
    expect(decodeAsProvider(r.text)).toBeInstanceOf(Error);
  });
});

describe('what the provider can tell apart', () => {
  it('an identity without DeploymentFacts: {} as the prototype answered, and a header saying so', async () => {
    const r = await go('GET', '/api/fact/team-a_nobody', { token: 'reader' });
    expect(r.status).toBe(200);
    expect(r.text).toBe('{}');
    expect(r.headers['x-flagops-identity']).toBe('not-found');
    expect((await go('GET', '/api/fact/team-a_web', { token: 'reader' })).headers['x-flagops-identity']).toBe(
      undefined,
    );
  });

  it('an identity that is not Ready is a 409 naming the reason, never its last facts', async () => {
    const r = await go('GET', '/api/fact/team-a_broken', { token: 'reader' });
    expect(r.status).toBe(409);
    expect(r.text).not.toContain('old');
    expect(decodeAsProvider(r.text)).toBeInstanceOf(Error);
    expect(r.statusLine).toContain('identity team-a/broken is not Ready (InvalidSpec)');
    expect((await go('GET', '/api/fact/team-a_broken/tier', { token: 'reader' })).status).toBe(409);
  });

  it('a write of a git-owned fact: 409 whose status line (what SetIdentityFact returns) says what to do', async () => {
    const r = await go('PUT', '/api/fact/team-a_web/tier', { token: 'reader', body: '{"value":"gold"}\n' });
    expect(r.status).toBe(409);
    expect(r.statusLine).toMatch(
      /^409 fact tier of team-a\/web is managed by argocd-controller, not by this API: change it where it is declared/,
    );
    expect(r.statusLine).toContain('?force=true');
    expect(JSON.parse(r.text).error).toMatchObject({ code: 'Conflict', field: 'tier' });
  });
});

describe('ETag', () => {
  it('answers 304 to If-None-Match while the facts are unchanged, and moves with a change', async () => {
    const first = await go('GET', '/api/fact/team-a_web', { token: 'reader' });
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[0-9a-f]{20}"$/);
    const again = await go('GET', '/api/fact/team-a_web', {
      token: 'reader',
      headers: { 'if-none-match': etag },
    });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
    // another identity's ETag differs, and so does this one's after a change
    expect((await go('GET', '/api/fact/web', { token: 'reader' })).headers.etag).not.toBe(etag);
    store.setFacts('team-a', 'web', { ...facts({ tier: 'platinum', 'max-replicas': 5 }), generation: 2 });
    const changed = await go('GET', '/api/fact/team-a_web', {
      token: 'reader',
      headers: { 'if-none-match': etag },
    });
    expect(changed.status).toBe(200);
    expect(decodeAsProvider(changed.text)).toMatchObject({ tier: 'platinum' });
    expect(changed.headers.etag).not.toBe(etag);
  });
});

describe('OFREP with the same identities', () => {
  const evaluate = (targetingKey: string, extra: Record<string, unknown> = {}) =>
    go('POST', '/ofrep/v1/evaluate/flags/max-replicas', {
      token: 'reader',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ context: { targetingKey, ...extra } }),
    });

  it('evaluates <namespace>_<name> in that namespace, with that namespace asked', async () => {
    asked.length = 0;
    const r = await evaluate('team-a_web');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toMatchObject({ key: 'max-replicas', value: 5 });
    expect(asked).toEqual([{ verb: 'get', resource: 'deploymentfacts', namespace: 'team-a', name: 'web' }]);
    expect((await evaluate('team-a_web', { namespace: 'team-a' })).status).toBe(200);
    expect((await evaluate('team-b_web')).status).toBe(403);
  });

  it('refuses a context.namespace that contradicts the key, and malformed keys', async () => {
    const r = await evaluate('team-a_web', { namespace: 'team-b' });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toMatchObject({ errorCode: 'INVALID_CONTEXT' });
    expect(JSON.parse((await evaluate('a_b_c')).text)).toMatchObject({ errorCode: 'INVALID_CONTEXT' });
  });
});
