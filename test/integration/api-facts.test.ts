/**
 * Fact writes through the API live beside facts applied by GitOps (the real kubectl, client- and server-side
 * apply), in both orders; conflicts name the owner; every answer to bad input is a 4xx with a clear body.
 */
import { describe, expect, it } from 'vitest';
import type { DeploymentFacts } from '../../src/api/types.js';
import { factsPath } from '../../src/kube/paths.js';
import { useApi } from '../support/api.js';
import { adminClient, call } from '../support/cluster.js';
import { applyFacts } from '../support/gitops.js';

const fx = useApi('facts');
const base = (id: string) => `/api/v1/namespaces/${fx.ns}/identities/${id}/facts`;
const apply = (id: string, facts: Record<string, unknown>, serverSide: boolean) =>
  applyFacts(fx.ns, id, facts, serverSide);
const stored = async (id: string) =>
  (await adminClient().get<DeploymentFacts>(factsPath(fx.ns, id))).spec?.facts;

describe('writes', () => {
  it('makes a PUT visible to the very next GET', async () => {
    for (const value of ['a', 'b', 'c', 7]) {
      const put = await call(fx.op, 'PUT', `${base('fresh')}/k`, { token: fx.tokens.admin, body: { value } });
      expect(put.status).toBe(200);
      const get = await call(fx.op, 'GET', base('fresh'), { token: fx.tokens.factsReader });
      expect(get.body).toEqual({ k: value });
    }
  });

  it.each([
    ['client-side', false],
    ['server-side', true],
  ])(
    'keeps GitOps keys and API keys side by side: kubectl (%s) apply first, then the API',
    async (_how, serverSide) => {
      const id = `gitops-first-${serverSide ? 'ssa' : 'csa'}`;
      await apply(id, { cluster: 'eu-1', owner: 'team-a' }, serverSide);
      expect(
        (await call(fx.op, 'PUT', `${base(id)}/tier`, { token: fx.tokens.admin, body: { value: 'gold' } }))
          .status,
      ).toBe(200);
      // GitOps re-applies its manifest (as Argo CD does on every sync): the API's key stays.
      await apply(id, { cluster: 'eu-1', owner: 'team-b' }, serverSide);
      expect(await stored(id)).toEqual({ cluster: 'eu-1', owner: 'team-b', tier: 'gold' });
      // The API writes again: GitOps keys stay.
      expect(
        (await call(fx.op, 'PUT', `${base(id)}/tier`, { token: fx.tokens.admin, body: { value: 'silver' } }))
          .status,
      ).toBe(200);
      expect(await stored(id)).toEqual({ cluster: 'eu-1', owner: 'team-b', tier: 'silver' });
      const get = await call(fx.op, 'GET', base(id), { token: fx.tokens.factsReader });
      expect(get.body).toEqual({ cluster: 'eu-1', owner: 'team-b', tier: 'silver' });
    },
  );

  it.each([
    ['client-side', false],
    ['server-side', true],
  ])(
    'keeps both sets of keys when the API writes first and kubectl (%s) applies after',
    async (_how, serverSide) => {
      const id = `api-first-${serverSide ? 'ssa' : 'csa'}`;
      expect(
        (await call(fx.op, 'PUT', `${base(id)}/tier`, { token: fx.tokens.admin, body: { value: 'gold' } }))
          .status,
      ).toBe(200);
      await apply(id, { cluster: 'us-2' }, serverSide);
      await apply(id, { cluster: 'us-3' }, serverSide);
      expect(await stored(id)).toEqual({ cluster: 'us-3', tier: 'gold' });
      expect(
        (await call(fx.op, 'PUT', `${base(id)}/replicas`, { token: fx.tokens.admin, body: { value: 3 } }))
          .status,
      ).toBe(200);
      expect(await stored(id)).toEqual({ cluster: 'us-3', tier: 'gold', replicas: 3 });
    },
  );

  it('does not silently take over a GitOps fact: 409 naming the owner, unless forced', async () => {
    await apply('owned', { tier: 'bronze' }, true);
    const put = await call(fx.op, 'PUT', `${base('owned')}/tier`, {
      token: fx.tokens.admin,
      body: { value: 'gold' },
    });
    expect(put.status).toBe(409);
    expect(put.body.error.message).toContain('gitops');
    expect(put.body.error.message).toContain('force=true');
    const del = await call(fx.op, 'DELETE', `${base('owned')}/tier`, { token: fx.tokens.admin });
    expect(del.status).toBe(409);
    expect(await stored('owned')).toEqual({ tier: 'bronze' });

    const forced = await call(fx.op, 'PUT', `${base('owned')}/tier?force=true`, {
      token: fx.tokens.admin,
      body: { value: 'gold' },
    });
    expect(forced.status).toBe(200);
    expect(await stored('owned')).toEqual({ tier: 'gold' });
  });

  it('deletes a GitOps fact only when forced', async () => {
    await apply('owned-del', { tier: 'bronze', keep: 'x' }, true);
    const forced = await call(fx.op, 'DELETE', `${base('owned-del')}/tier?force=true`, {
      token: fx.tokens.admin,
    });
    expect(forced.status).toBe(200);
    expect(await stored('owned-del')).toEqual({ keep: 'x' });
  });

  it('deletes one fact only, and patches several with null meaning remove', async () => {
    const p = await call(fx.op, 'PATCH', base('multi'), {
      token: fx.tokens.admin,
      body: { a: '1', b: 2, c: 'three' },
    });
    expect(p.status).toBe(200);
    expect(p.body).toEqual({ a: '1', b: 2, c: 'three' });
    expect((await call(fx.op, 'DELETE', `${base('multi')}/b`, { token: fx.tokens.admin })).status).toBe(200);
    const p2 = await call(fx.op, 'PATCH', base('multi'), {
      token: fx.tokens.admin,
      body: { a: null, d: 'four' },
    });
    expect(p2.body).toEqual({ c: 'three', d: 'four' });
    expect((await call(fx.op, 'GET', `${base('multi')}/d`, { token: fx.tokens.admin })).body).toEqual({
      d: 'four',
    });
    expect((await call(fx.op, 'GET', `${base('multi')}/a`, { token: fx.tokens.admin })).status).toBe(404);
  });

  it('gives optimistic concurrency with If-Match on the ETag (the generation)', async () => {
    const put = await call(fx.op, 'PUT', `${base('cas')}/v`, { token: fx.tokens.admin, body: { value: 1 } });
    const etag = put.headers.get('etag')!;
    expect(etag).toMatch(/^"\d+"$/);
    const ok = await call(fx.op, 'PUT', `${base('cas')}/v`, {
      token: fx.tokens.admin,
      body: { value: 2 },
      headers: { 'if-match': etag },
    });
    expect(ok.status).toBe(200);
    const stale = await call(fx.op, 'PUT', `${base('cas')}/v`, {
      token: fx.tokens.admin,
      body: { value: 3 },
      headers: { 'if-match': etag },
    });
    expect(stale.status).toBe(412);
    expect(stale.body.error.code).toBe('PreconditionFailed');
    expect(await stored('cas')).toEqual({ v: 2 });
  });

  it('records who wrote last on the object', async () => {
    const obj = await adminClient().get<DeploymentFacts>(factsPath(fx.ns, 'cas'));
    expect(obj.metadata.annotations?.['flagops.io/last-written-by']).toBe(
      `user:system:serviceaccount:${fx.ns}:admin`,
    );
    expect(
      obj.metadata.managedFields?.some(
        (m) => m.manager === 'flagops-data-store-api' && m.operation === 'Apply',
      ),
    ).toBe(true);
  });
});

describe('empty writes', () => {
  it('do not create an object', async () => {
    const r = await call(fx.op, 'PATCH', base('never-created'), { token: fx.tokens.admin, body: {} });
    expect(r.status).toBe(404);
    expect(
      (await call(fx.op, 'PUT', '/api/fact/never-created', { token: fx.tokens.admin, body: {} })).status,
    ).toBe(404);
  });
});

describe('reads', () => {
  it('lists identities with counts, filters and pagination, and shows one identity', async () => {
    const list = await call(fx.op, 'GET', `/api/v1/identities?namespace=${fx.ns}&limit=2`, {
      token: fx.tokens.admin,
    });
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(2);
    expect(list.body.continue).toBeTruthy();
    const next = await call(
      fx.op,
      'GET',
      `/api/v1/identities?namespace=${fx.ns}&limit=2&continue=${encodeURIComponent(list.body.continue)}`,
      {
        token: fx.tokens.admin,
      },
    );
    expect(next.body.items[0].name > list.body.items[1].name).toBe(true);
    const prefixed = await call(fx.op, 'GET', `/api/v1/identities?namespace=${fx.ns}&prefix=gitops-first`, {
      token: fx.tokens.admin,
    });
    expect(prefixed.body.items.map((i: { name: string }) => i.name)).toEqual([
      'gitops-first-csa',
      'gitops-first-ssa',
    ]);
    expect(prefixed.body.items[0]).toMatchObject({
      namespace: fx.ns,
      factCount: 3,
      secretKeys: [],
      ready: true,
    });
    const one = await call(fx.op, 'GET', `/api/v1/namespaces/${fx.ns}/identities/multi`, {
      token: fx.tokens.admin,
    });
    expect(one.body).toMatchObject({
      name: 'multi',
      facts: { c: 'three', d: 'four' },
      status: { facts: { ready: true } },
    });
  });
});

describe('bad input gets a 4xx that names the problem, never a 5xx', () => {
  const cases: [
    string,
    string,
    string,
    { body?: unknown; rawBody?: string; headers?: Record<string, string> },
    number,
    string,
  ][] = [
    [
      'malformed JSON',
      'PUT',
      '/k',
      { rawBody: '{"value": ', headers: { 'content-type': 'application/json' } },
      400,
      'not valid JSON',
    ],
    ['a wrong type', 'PUT', '/k', { body: { value: { nested: true } } }, 400, 'body.value'],
    ['a list', 'PUT', '/k', { body: { value: [true] } }, 400, 'must be a string, a number or a boolean'],
    ['a null (use DELETE)', 'PUT', '/k', { body: { value: null } }, 400, 'body.value'],
    ['an unsafe integer', 'PUT', '/k', { body: { value: 2 ** 53 } }, 400, 'between -(2^53-1) and 2^53-1'],
    ['an unknown body field', 'PUT', '/k', { body: { value: 'x', extra: 1 } }, 400, 'body'],
    ['a missing body', 'PUT', '/k', {}, 400, 'body'],
    ['a bad fact name', 'PUT', '/-bad-', { body: { value: 'x' } }, 400, 'name'],
    ['a too long value', 'PUT', '/k', { body: { value: 'x'.repeat(4097) } }, 400, '4096'],
    ['a bad patch key', 'PATCH', '', { body: { 'bad key': 'x' } }, 400, 'invalid fact name "bad key"'],
    ['a bad force flag', 'PUT', '/k?force=maybe', { body: { value: 'x' } }, 400, 'force'],
    [
      'a bad If-Match',
      'PUT',
      '/k',
      { body: { value: 'x' }, headers: { 'if-match': 'yesterday' } },
      400,
      'If-Match',
    ],
    ['an unknown fact', 'GET', '/nope', {}, 404, 'not found'],
    ['deleting an unknown fact', 'DELETE', '/nope', {}, 404, 'not found'],
    [
      'a body over the limit',
      'PUT',
      '/k',
      {
        rawBody: JSON.stringify({ value: 'x'.repeat(2 * 1024 * 1024) }),
        headers: { 'content-type': 'application/json' },
      },
      413,
      'too large',
    ],
    ['a wrong method', 'POST', '/k', { body: { value: 'x' } }, 405, 'GET, PUT, DELETE'],
  ];
  it.each(cases)('%s', async (_what, method, suffix, opts, status, message) => {
    const r = await call(fx.op, method, `${base('multi')}${suffix}`, { token: fx.tokens.admin, ...opts });
    expect(r.status).toBe(status);
    expect(r.body.error.message).toContain(message);
    expect(typeof r.body.error.code).toBe('string');
  });

  it.each([
    ['a bad namespace', 'GET', '/api/v1/namespaces/Bad_NS/identities/x/facts', 400],
    ['a bad identity', 'GET', '/api/v1/namespaces/NS/identities/UPPER/facts', 400],
    ['an unknown identity', 'GET', '/api/v1/namespaces/NS/identities/nobody-here', 404],
    ['an unknown route', 'GET', '/api/v2/whatever', 404],
    ['a bad list limit', 'GET', '/api/v1/identities?namespace=NS&limit=0', 400],
    ['an unknown query parameter', 'GET', '/api/v1/identities?namespace=NS&color=red', 400],
    ['a webhook that is not configured', 'POST', '/api/v1/webhooks/billing', 404],
  ])('%s', async (_what, method, path, status) => {
    const r = await call(fx.op, method, path.replace('NS', fx.ns), { token: fx.tokens.admin });
    expect(r.status).toBe(status);
    expect(r.body.error.message).toBeTruthy();
  });

  it('checks a namespace the operator does not watch only after authorisation: callers learn nothing', async () => {
    const path = '/api/v1/namespaces/kube-system/identities/x/facts/k';
    // Not allowed there: the same answer as in a watched namespace, never "not watched".
    const denied = await call(fx.op, 'PUT', path, { token: fx.tokens.admin, body: { value: 'x' } });
    expect(denied.status).toBe(403);
    const anonymous = await call(fx.op, 'PUT', path, { body: { value: 'x' } });
    expect(anonymous.status).toBe(401);
    expect(JSON.stringify([denied.body, anonymous.body])).not.toContain('not watched');
  });
});
