/**
 * Typed facts end to end: a GitOps manifest with `beta: true` and `ratio: 0.5`, applied with the real kubectl, is
 * checked by the API server's admission policy and served with its types by the own API, OFREP (read by the
 * official OFREP provider with typed calls) and the ApplicationSet generator; the prototype's routes render strings.
 */
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OpenFeature } from '@openfeature/server-sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { kubectl } from '../control-plane/kubectl.js';
import { useApi } from '../support/api.js';
import { call, controlPlane, eventually } from '../support/cluster.js';

const fx = useApi('typed');

const manifest = (ns: string, name: string, facts: string) => `apiVersion: flagops.io/v1alpha1
kind: DeploymentFacts
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  facts:
${facts}
`;

const TYPED = `    tier: gold
    replicas: 3
    ratio: 0.5
    beta: true
    legacy: "true"
    paused: false
`;
const EXPECTED = { tier: 'gold', replicas: 3, ratio: 0.5, beta: true, legacy: 'true', paused: false };

const factsPath = (id: string) => `/api/v1/namespaces/${fx.ns}/identities/${id}/facts`;

describe('typed facts from a GitOps manifest', () => {
  afterAll(async () => {
    await OpenFeature.close();
  });

  it('are accepted by the API server through the real kubectl and served with their types', async () => {
    const applied = await kubectl(controlPlane(), ['apply', '-f', '-'], {
      input: manifest(fx.ns, 'customer-typed', TYPED),
    });
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);

    const served = await eventually(async () => {
      const r = await call(fx.op, 'GET', factsPath('customer-typed'), { token: fx.tokens.factsReader });
      expect(r.status).toBe(200);
      expect(r.body).toEqual(EXPECTED);
      return r.body;
    });
    expect(typeof served.beta).toBe('boolean');
    expect(typeof served.ratio).toBe('number');
  });

  it('are evaluated over OFREP with their types', async () => {
    const one = async (key: string) =>
      (
        await call(fx.op, 'POST', `/ofrep/v1/evaluate/flags/${key}`, {
          token: fx.tokens.factsReader,
          body: { context: { targetingKey: 'customer-typed' } },
        })
      ).body;
    expect(await one('beta')).toEqual({
      key: 'beta',
      reason: 'STATIC',
      variant: 'true',
      value: true,
      metadata: {},
    });
    expect(await one('ratio')).toMatchObject({ key: 'ratio', value: 0.5 });
    expect(await one('legacy')).toMatchObject({ key: 'legacy', value: 'true' });
    const bulk = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags', {
      token: fx.tokens.factsReader,
      body: { context: { targetingKey: 'customer-typed' } },
    });
    const values = Object.fromEntries(
      (bulk.body.flags as { key: string; value: unknown }[]).map((f) => [f.key, f.value]),
    );
    expect(values).toEqual(EXPECTED);
  });

  it('are read by the official OFREP provider with the matching typed calls', async () => {
    await OpenFeature.setProviderAndWait(
      'typed',
      new OFREPProvider({
        baseUrl: fx.op.url,
        headers: [['Authorization', `Bearer ${fx.tokens.factsReader}`]],
      }),
    );
    const client = OpenFeature.getClient('typed');
    const context = { targetingKey: 'customer-typed' };
    expect(await client.getBooleanDetails('beta', false, context)).toMatchObject({
      value: true,
      reason: 'STATIC',
    });
    expect(await client.getBooleanValue('paused', true, context)).toBe(false);
    expect(await client.getNumberDetails('ratio', 0, context)).toMatchObject({
      value: 0.5,
      reason: 'STATIC',
    });
    expect(await client.getNumberValue('replicas', 0, context)).toBe(3);
    expect(await client.getStringValue('tier', 'none', context)).toBe('gold');
    // A quoted "true" stays a string: a boolean call on it is a type mismatch, as OpenFeature defines it.
    expect(await client.getBooleanDetails('legacy', false, context)).toMatchObject({
      value: false,
      errorCode: 'TYPE_MISMATCH',
    });
    expect(await client.getStringDetails('beta', 'x', context)).toMatchObject({
      value: 'x',
      errorCode: 'TYPE_MISMATCH',
    });
  });

  it('are given to the ApplicationSet generator with their types', async () => {
    const r = await call(fx.op, 'POST', '/api/v1/getparams.execute', {
      token: fx.tokens.factsReader,
      body: { input: { parameters: { namespace: fx.ns, prefix: 'customer-typed' } } },
    });
    expect(r.status).toBe(200);
    expect(r.body.output.parameters).toEqual([
      {
        identity: 'customer-typed',
        namespace: fx.ns,
        facts: EXPECTED,
        // Every value as JSON writes it, for Argo CD, which prints a plugin's numbers as float64 (1e+06).
        factsText: {
          tier: 'gold',
          replicas: '3',
          ratio: '0.5',
          beta: 'true',
          legacy: 'true',
          paused: 'false',
        },
      },
    ]);
  });

  it("are rendered as strings by the prototype's routes", async () => {
    const r = await call(fx.op, 'GET', '/api/fact/customer-typed', { token: fx.tokens.factsReader });
    expect(r.body).toEqual({
      tier: 'gold',
      replicas: '3',
      ratio: '0.5',
      beta: 'true',
      legacy: 'true',
      paused: 'false',
    });
    const one = await call(fx.op, 'GET', '/api/fact/customer-typed/beta', { token: fx.tokens.factsReader });
    expect(one.body).toEqual({ beta: 'true' });
  });

  it('refuses a nested value, naming the fact, and keeps the facts served', async () => {
    const refused = await kubectl(controlPlane(), ['apply', '-f', '-'], {
      input: manifest(fx.ns, 'customer-typed', `${TYPED}    limits:\n      cpu: 2\n`),
    });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      'spec.facts.limits must be a string, a number or a boolean, not an object',
    );
    const nullValue = await kubectl(controlPlane(), ['create', '-f', '-'], {
      input: manifest(fx.ns, 'customer-null', '    gone: null\n'),
    });
    expect(nullValue.stderr).toContain('spec.facts.gone must be a string, a number or a boolean, not null');
    const r = await call(fx.op, 'GET', factsPath('customer-typed'), { token: fx.tokens.factsReader });
    expect(r.body).toEqual(EXPECTED);
  });
});

describe('typed facts through the API', () => {
  it('are written with their types, next to facts set by GitOps', async () => {
    const put = await call(fx.op, 'PUT', `${factsPath('customer-typed')}/canary`, {
      token: fx.tokens.admin,
      body: { value: true },
    });
    expect(put.status).toBe(200);
    const patched = await call(fx.op, 'PATCH', factsPath('customer-typed'), {
      token: fx.tokens.admin,
      body: { weight: 0.25 },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toEqual({ ...EXPECTED, canary: true, weight: 0.25 });
    const obj = JSON.parse(
      (await kubectl(controlPlane(), ['get', '-n', fx.ns, 'deploymentfacts', 'customer-typed', '-o', 'json']))
        .stdout,
    );
    expect(obj.spec.facts).toMatchObject({ canary: true, weight: 0.25, beta: true });
    expect(
      (
        await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags/canary', {
          token: fx.tokens.factsReader,
          body: { context: { targetingKey: 'customer-typed' } },
        })
      ).body,
    ).toMatchObject({ value: true });
  });

  it('refuses an object, a list, or a number beyond 2^53-1 with a 400 that names the fact', async () => {
    for (const [value, message] of [
      [{ a: 1 }, 'must be a string, a number or a boolean'],
      [[1], 'must be a string, a number or a boolean'],
      [2 ** 60, 'between -(2^53-1) and 2^53-1'],
    ] as const) {
      const r = await call(fx.op, 'PATCH', factsPath('customer-typed'), {
        token: fx.tokens.admin,
        body: { weird: value },
      });
      expect(r.status).toBe(400);
      expect(r.body.error.message).toContain('weird');
      expect(r.body.error.message).toContain(message);
    }
    await eventually(async () =>
      expect(
        (await call(fx.op, 'GET', factsPath('customer-typed'), { token: fx.tokens.factsReader })).body.weird,
      ).toBeUndefined(),
    );
  });
});
