/** The Argo CD ApplicationSet plugin generator contract: POST /api/v1/getparams.execute. */
import { describe, expect, it } from 'vitest';
import { useApi } from '../support/api.js';
import { call } from '../support/cluster.js';

const fx = useApi('appset');

describe('POST /api/v1/getparams.execute', () => {
  it('answers one parameter set per identity with its facts, as Argo CD expects', async () => {
    for (const [id, tier] of [
      ['customer-1', 'gold'],
      ['customer-2', 'silver'],
      ['internal-tools', 'none'],
    ]) {
      await call(fx.op, 'PUT', `/api/v1/namespaces/${fx.ns}/identities/${id}/facts/tier`, {
        token: fx.tokens.admin,
        body: { value: tier },
      });
    }
    const r = await call(fx.op, 'POST', '/api/v1/getparams.execute', {
      token: fx.tokens.factsReader,
      body: {
        applicationSetName: 'customers',
        input: { parameters: { namespace: fx.ns, prefix: 'customer-' } },
      },
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      output: {
        parameters: [
          { identity: 'customer-1', namespace: fx.ns, facts: { tier: 'gold' }, factsText: { tier: 'gold' } },
          {
            identity: 'customer-2',
            namespace: fx.ns,
            facts: { tier: 'silver' },
            factsText: { tier: 'silver' },
          },
        ],
      },
    });
  });

  it('uses the default namespace without parameters, and refuses callers without list permission', async () => {
    const all = await call(fx.op, 'POST', '/api/v1/getparams.execute', {
      token: fx.tokens.admin,
      body: { applicationSetName: 'x', input: {} },
    });
    expect(all.body.output.parameters.map((p: { identity: string }) => p.identity)).toEqual([
      'customer-1',
      'customer-2',
      'internal-tools',
    ]);
    const denied = await call(fx.op, 'POST', '/api/v1/getparams.execute', {
      token: fx.tokens.secretsReader,
      body: {},
    });
    expect(denied.status).toBe(403);
    expect((await call(fx.op, 'POST', '/api/v1/getparams.execute', { body: {} })).status).toBe(401);
  });

  it('refuses unknown parameters with a 400 naming them', async () => {
    const r = await call(fx.op, 'POST', '/api/v1/getparams.execute', {
      token: fx.tokens.admin,
      body: { input: { parameters: { namespace: fx.ns, color: 'red' } } },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.field).toContain('body.input.parameters');
  });
});
