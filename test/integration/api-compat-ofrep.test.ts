/**
 * The Go prototype's routes with its shapes (and its clients' habits), OFREP as the official JavaScript OFREP
 * provider reads it and as its specification defines it, and CORS for browsers on an allowed origin.
 */
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OpenFeature } from '@openfeature/server-sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { ofrepViolations } from '../fixtures/ofrep/spec.js';
import { useApi } from '../support/api.js';
import { call } from '../support/cluster.js';

const ORIGIN = 'https://flags.example.com';
const fx = useApi('compat', { extraArgs: [`--cors-allowed-origins=${ORIGIN},http://localhost:3000`] });

const ctx = (targetingKey?: string, extra: Record<string, unknown> = {}) => ({
  context: { targetingKey, ...extra },
});

describe('the prototype routes (default namespace)', () => {
  it('sets, reads and deletes facts with the prototype shapes, values as strings', async () => {
    expect(
      (
        await call(fx.op, 'PUT', '/api/fact/customer-7/tier', {
          token: fx.tokens.admin,
          body: { value: 'gold' },
        })
      ).body,
    ).toEqual({
      tier: 'gold',
    });
    await call(
      fx.op,
      'PUT',
      '/api/v1/namespaces/NS/identities/customer-7/facts/max-replicas'.replace('NS', fx.ns),
      {
        token: fx.tokens.admin,
        body: { value: 5 },
      },
    );
    const all = await call(fx.op, 'GET', '/api/fact/customer-7', { token: fx.tokens.factsReader });
    expect(all.status).toBe(200);
    expect(all.body).toEqual({ tier: 'gold', 'max-replicas': '5' });
    expect(
      (await call(fx.op, 'GET', '/api/fact/customer-7/max-replicas', { token: fx.tokens.admin })).body,
    ).toEqual({ 'max-replicas': '5' });
    // Deleting one fact deletes only that fact.
    expect(
      (await call(fx.op, 'DELETE', '/api/fact/customer-7/tier', { token: fx.tokens.admin })).status,
    ).toBe(200);
    expect((await call(fx.op, 'GET', '/api/fact/customer-7', { token: fx.tokens.admin })).body).toEqual({
      'max-replicas': '5',
    });
    expect((await call(fx.op, 'GET', '/api/fact/nobody', { token: fx.tokens.admin })).body).toEqual({});
    const missing = await call(fx.op, 'GET', '/api/fact/customer-7/tier', { token: fx.tokens.admin });
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toContain('tier');
  });

  it("accepts a JSON body with no Content-Type, as the prototype's own provider sends it", async () => {
    for (const [path, body, answer] of [
      ['/api/fact/customer-9/tier', '{"value":"bronze"}', { tier: 'bronze' }],
      ['/api/fact/customer-9', '{"region":"us"}', { tier: 'bronze', region: 'us' }],
      ['/api/secret/customer-9/db', '{"value":"pw-no-type"}', { db: 'stored' }],
    ] as const) {
      // fetch would add text/plain to a string body; a Uint8Array goes without a Content-Type.
      const res = await fetch(fx.op.url + path, {
        method: 'PUT',
        headers: { authorization: `Bearer ${fx.tokens.admin}` },
        body: new TextEncoder().encode(body),
      });
      expect(res.status, path).toBe(200);
      expect(await res.json()).toEqual(answer);
    }
    expect((await call(fx.op, 'GET', '/api/fact/customer-9', { token: fx.tokens.admin })).body).toEqual({
      tier: 'bronze',
      region: 'us',
    });
    // Any Content-Type, too; and a body that is not JSON is still a 400 naming the problem.
    const text = await call(fx.op, 'PUT', '/api/fact/customer-9/tier', {
      token: fx.tokens.admin,
      rawBody: '{"value":"silver"}',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(200);
    const bad = await call(fx.op, 'PUT', '/api/fact/customer-9/tier', {
      token: fx.tokens.admin,
      rawBody: 'silver',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('not valid JSON');
  });

  it('sets several facts with a map, and lists identities in the prototype shape', async () => {
    const put = await call(fx.op, 'PUT', '/api/fact/customer-8', {
      token: fx.tokens.admin,
      body: { tier: 'silver', region: 'eu' },
    });
    expect(put.body).toEqual({ tier: 'silver', region: 'eu' });
    await call(fx.op, 'PUT', '/api/secret/customer-8/db', {
      token: fx.tokens.admin,
      body: { value: 'pw-compat-1' },
    });
    const ids = await call(fx.op, 'GET', '/api/identity', { token: fx.tokens.admin });
    expect(ids.body.identities['customer-8']).toEqual({ facts: true, secrets: true });
    expect(ids.body.identities['customer-7']).toEqual({ facts: true, secrets: false });
    expect((await call(fx.op, 'GET', '/api/secret/customer-8', { token: fx.tokens.admin })).body).toEqual({
      db: 'pw-compat-1',
    });
    expect(
      (await call(fx.op, 'GET', '/api/secret/customer-8', { token: fx.tokens.factsReader })).status,
    ).toBe(403);
    expect(
      (await call(fx.op, 'DELETE', '/api/secret/customer-8/db', { token: fx.tokens.admin })).status,
    ).toBe(200);
    expect((await call(fx.op, 'GET', '/api/secret/customer-8/db', { token: fx.tokens.admin })).status).toBe(
      404,
    );
  });
});

describe('OFREP', () => {
  it('evaluates one fact with its type, and answers spec errors', async () => {
    const ok = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags/max-replicas', {
      token: fx.tokens.factsReader,
      body: ctx('customer-7'),
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ key: 'max-replicas', reason: 'STATIC', variant: '5', value: 5, metadata: {} });
    const missing = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags/nope', {
      token: fx.tokens.admin,
      body: ctx('customer-7'),
    });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ key: 'nope', errorCode: 'FLAG_NOT_FOUND' });
    expect(ofrepViolations('single', missing.status, missing.body)).toEqual([]);
    const noKey = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags/tier', {
      token: fx.tokens.admin,
      body: ctx(),
    });
    expect(noKey.body).toMatchObject({ key: 'tier', errorCode: 'TARGETING_KEY_MISSING' });
    expect(ofrepViolations('single', noKey.status, noKey.body)).toEqual([]);
    const badCtx = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags/tier', {
      token: fx.tokens.admin,
      body: ctx('Bad Name'),
    });
    expect(badCtx.body.errorCode).toBe('INVALID_CONTEXT');
    expect(ofrepViolations('single', badCtx.status, badCtx.body)).toEqual([]);
    const parse = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags/tier', {
      token: fx.tokens.admin,
      rawBody: '{oops',
      headers: { 'content-type': 'application/json' },
    });
    expect(parse.status).toBe(400);
    // A single evaluation whose body is not JSON still names its flag.
    expect(parse.body).toMatchObject({ key: 'tier', errorCode: 'PARSE_ERROR' });
    expect(ofrepViolations('single', parse.status, parse.body)).toEqual([]);
    const large = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags/tier', {
      token: fx.tokens.admin,
      body: ctx('customer-7', { pad: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(large.status).toBe(400);
    expect(large.body).toMatchObject({ key: 'tier', errorCode: 'PARSE_ERROR' });
    expect(ofrepViolations('single', large.status, large.body)).toEqual([]);
    const bulkParse = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags', {
      token: fx.tokens.admin,
      rawBody: '{oops',
      headers: { 'content-type': 'application/json' },
    });
    expect(bulkParse.body.errorCode).toBe('PARSE_ERROR');
    expect(ofrepViolations('bulk', bulkParse.status, bulkParse.body)).toEqual([]);
    const noCtx = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags/tier', {
      token: fx.tokens.admin,
      body: { nothing: 1 },
    });
    expect(noCtx.body.errorCode).toBe('PARSE_ERROR');
    expect(ofrepViolations('single', noCtx.status, noCtx.body)).toEqual([]);
    const anonymous = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags/tier', { body: ctx('customer-7') });
    expect(anonymous.status).toBe(401);
    expect(ofrepViolations('single', anonymous.status, anonymous.body)).toEqual([]);
    const forbidden = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags', {
      token: fx.tokens.secretsReader,
      body: ctx('customer-7'),
    });
    expect(forbidden.status).toBe(403);
    expect(ofrepViolations('bulk', forbidden.status, forbidden.body)).toEqual([]);
  });

  it('accepts the token as X-API-Key too', async () => {
    const r = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags/max-replicas', {
      body: ctx('customer-7'),
      headers: { 'x-api-key': fx.tokens.factsReader },
    });
    expect(r.status).toBe(200);
    expect(r.body.value).toBe(5);
  });

  it('never serves secrets', async () => {
    const r = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags', {
      token: fx.tokens.admin,
      body: ctx('customer-8'),
    });
    expect(r.text).not.toContain('pw-compat');
  });

  it('answers bulk requests with an ETag that changes with the facts, and 304 when it matches', async () => {
    const first = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags', {
      token: fx.tokens.admin,
      body: ctx('customer-8'),
    });
    expect(first.status).toBe(200);
    expect(first.body.flags).toEqual(
      expect.arrayContaining([
        { key: 'tier', reason: 'STATIC', variant: 'silver', value: 'silver', metadata: {} },
        { key: 'region', reason: 'STATIC', variant: 'eu', value: 'eu', metadata: {} },
      ]),
    );
    const etag = first.headers.get('etag')!;
    const again = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags', {
      token: fx.tokens.admin,
      body: ctx('customer-8'),
      headers: { 'if-none-match': etag },
    });
    expect(again.status).toBe(304);
    await call(fx.op, 'PUT', '/api/fact/customer-8/tier', {
      token: fx.tokens.admin,
      body: { value: 'gold' },
    });
    const changed = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags', {
      token: fx.tokens.admin,
      body: ctx('customer-8'),
      headers: { 'if-none-match': etag },
    });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
  });

  describe('with the official @openfeature/ofrep-provider', () => {
    afterAll(async () => {
      await OpenFeature.close();
    });
    it('reads typed facts', async () => {
      await OpenFeature.setProviderAndWait(
        'ofrep',
        new OFREPProvider({
          baseUrl: fx.op.url,
          headers: [['Authorization', `Bearer ${fx.tokens.factsReader}`]],
        }),
      );
      const client = OpenFeature.getClient('ofrep');
      const context = { targetingKey: 'customer-7' };
      expect(await client.getNumberValue('max-replicas', 1, context)).toBe(5);
      const tier = await client.getStringDetails('region', 'none', { targetingKey: 'customer-8' });
      expect(tier).toMatchObject({ value: 'eu', reason: 'STATIC' });
      const missing = await client.getStringDetails('absent', 'fallback', context);
      expect(missing).toMatchObject({ value: 'fallback', errorCode: 'FLAG_NOT_FOUND' });
      const wrongType = await client.getBooleanDetails('max-replicas', false, context);
      expect(wrongType).toMatchObject({ value: false, errorCode: 'TYPE_MISMATCH' });
    });
  });
});

describe('CORS (--cors-allowed-origins)', () => {
  const preflight = (path: string, origin: string, method = 'POST') =>
    fetch(fx.op.url + path, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': method,
        'access-control-request-headers': 'authorization, content-type',
      },
    });

  it('answers a preflight from an allowed origin for OFREP and the read API', async () => {
    for (const [path, method] of [
      ['/ofrep/v1/evaluate/flags', 'POST'],
      ['/ofrep/v1/evaluate/flags/tier', 'POST'],
      [`/api/v1/namespaces/${fx.ns}/identities/customer-7/facts`, 'GET'],
      ['/api/v1/identities', 'GET'],
    ] as const) {
      const res = await preflight(path, ORIGIN, method);
      expect(res.status, path).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
      expect(res.headers.get('access-control-allow-methods')).toContain(method);
      const allowed = res.headers.get('access-control-allow-headers')!.toLowerCase();
      for (const h of ['authorization', 'content-type', 'if-none-match']) expect(allowed).toContain(h);
      expect(res.headers.get('vary')).toContain('Origin');
    }
  });

  it('gives a preflight from another origin, or for a route not served to other origins, no CORS headers', async () => {
    for (const [path, origin, method] of [
      ['/ofrep/v1/evaluate/flags', 'https://evil.example.com', 'POST'],
      ['/ofrep/v1/evaluate/flags', 'null', 'POST'],
      [`/api/v1/namespaces/${fx.ns}/identities/customer-8/secrets`, ORIGIN, 'GET'],
      [`/api/v1/namespaces/${fx.ns}/identities/customer-7/facts`, ORIGIN, 'PATCH'],
    ] as const) {
      const res = await preflight(path, origin, method);
      expect(res.status, `${origin} ${method} ${path}`).not.toBe(204);
      for (const [name] of res.headers) expect(name).not.toMatch(/^access-control-/);
    }
  });

  it('lets the allowed origin read answers and their ETag, and nobody else', async () => {
    const ok = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags', {
      token: fx.tokens.admin,
      body: ctx('customer-8'),
      headers: { origin: ORIGIN },
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(ok.headers.get('access-control-expose-headers')).toContain('ETag');
    // An error is readable too, so that a browser app can show it.
    const denied = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags', {
      body: ctx('customer-8'),
      headers: { origin: ORIGIN },
    });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    const other = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags', {
      token: fx.tokens.admin,
      body: ctx('customer-8'),
      headers: { origin: 'https://evil.example.com' },
    });
    expect(other.status).toBe(200);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
