/** The Go prototype's routes with its shapes, and OFREP as the official JavaScript OFREP provider reads it. */
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OpenFeature } from '@openfeature/server-sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { useApi } from '../support/api.js';
import { call } from '../support/cluster.js';

const fx = useApi('compat');

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
  const ctx = (targetingKey?: string, extra: Record<string, unknown> = {}) => ({
    context: { targetingKey, ...extra },
  });

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
    const noKey = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags/tier', {
      token: fx.tokens.admin,
      body: ctx(),
    });
    expect(noKey.body.errorCode).toBe('TARGETING_KEY_MISSING');
    const badCtx = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags/tier', {
      token: fx.tokens.admin,
      body: ctx('Bad Name'),
    });
    expect(badCtx.body.errorCode).toBe('INVALID_CONTEXT');
    const parse = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags/tier', {
      token: fx.tokens.admin,
      rawBody: '{oops',
      headers: { 'content-type': 'application/json' },
    });
    expect(parse.status).toBe(400);
    expect(parse.body.errorCode).toBe('PARSE_ERROR');
    const noCtx = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags/tier', {
      token: fx.tokens.admin,
      body: { nothing: 1 },
    });
    expect(noCtx.body.errorCode).toBe('PARSE_ERROR');
    expect(
      (await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags/tier', { body: ctx('customer-7') })).status,
    ).toBe(401);
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
