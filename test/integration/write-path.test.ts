/**
 * The write path as an attacker and as GitOps would try it, on the real control plane with real RBAC and the real
 * kubectl: guarded deletes, same-value writes that leave GitOps in charge, per-identity exposure of API-written
 * secret values, and limits checked before the API server is asked anything.
 */

import { describe, expect, it } from 'vitest';
import type { DeploymentFacts, DeploymentSecrets } from '../../src/api/types.js';
import { corePath, factsPath, secretsPath } from '../../src/kube/paths.js';
import { managedSecretName } from '../../src/writes/managed-secret.js';
import { useApi } from '../support/api.js';
import {
  adminClient,
  call,
  clientWithToken,
  eventually,
  exists,
  serviceAccountWithRole,
} from '../support/cluster.js';
import { applyFacts } from '../support/gitops.js';

const fx = useApi('writepath');
const client = adminClient();
const FLAGOPS = 'flagops.io';
const ident = (id: string) => `/api/v1/namespaces/${fx.ns}/identities/${id}`;

describe('deleting an identity', () => {
  it('cannot delete a DeploymentSecrets created during the request by a caller who may delete facts only', async () => {
    const token = await serviceAccountWithRole(fx.ns, 'facts-deleter', [
      { apiGroups: [FLAGOPS], resources: ['deploymentfacts'], verbs: ['get', 'list', 'delete', 'patch'] },
    ]);
    // The race in a bounded loop: the DeploymentSecrets appears while the delete is in flight.
    for (let round = 0; round < 8; round++) {
      const id = `race-${round}`;
      await client.create(factsPath(fx.ns), {
        apiVersion: 'flagops.io/v1alpha1',
        kind: 'DeploymentFacts',
        metadata: { name: id },
        spec: { facts: { a: 1 } },
      });
      const [del] = await Promise.all([
        call(fx.op, 'DELETE', ident(id), { token }),
        (async () => {
          await new Promise((r) => setTimeout(r, round * 3));
          await client.create(secretsPath(fx.ns), {
            apiVersion: 'flagops.io/v1alpha1',
            kind: 'DeploymentSecrets',
            metadata: { name: id },
            spec: { secrets: [] },
          });
        })(),
      ]);
      expect([200, 403]).toContain(del.status);
      // Whatever the interleaving, the DeploymentSecrets survives: the caller may not delete it.
      expect(await exists(secretsPath(fx.ns, id))).toBe(true);
    }
  });

  it('refuses, deleting nothing, when the identity has secrets the caller may not delete', async () => {
    const token = await serviceAccountWithRole(fx.ns, 'facts-deleter-2', [
      { apiGroups: [FLAGOPS], resources: ['deploymentfacts'], verbs: ['delete'] },
    ]);
    await call(fx.op, 'PUT', `${ident('both')}/facts/a`, { token: fx.tokens.admin, body: { value: 1 } });
    await call(fx.op, 'PUT', `${ident('both')}/secrets/s`, { token: fx.tokens.admin, body: { value: 'v' } });
    const del = await call(fx.op, 'DELETE', ident('both'), { token });
    expect(del.status).toBe(403);
    expect(del.body.error.message).toContain('delete deploymentsecrets');
    expect(await exists(factsPath(fx.ns, 'both'))).toBe(true);
    expect(await exists(secretsPath(fx.ns, 'both'))).toBe(true);
    expect(await exists(corePath('secrets', fx.ns, managedSecretName('both')))).toBe(true);
  });

  it('deletes nothing on a 404, not even a managed Secret left behind', async () => {
    const name = managedSecretName('ghost');
    await client.create(corePath('secrets', fx.ns), {
      metadata: {
        name,
        labels: { 'app.kubernetes.io/managed-by': 'flagops-data-store', 'flagops.io/identity': 'ghost' },
      },
      data: { k: Buffer.from('v').toString('base64') },
    });
    const del = await call(fx.op, 'DELETE', ident('ghost'), { token: fx.tokens.admin });
    expect(del.status).toBe(404);
    expect(await exists(corePath('secrets', fx.ns, name))).toBe(true);
  });

  it('deletes every object, the managed Secret with them, for a caller allowed both', async () => {
    await call(fx.op, 'PUT', `${ident('gone')}/facts/a`, { token: fx.tokens.admin, body: { value: 1 } });
    await call(fx.op, 'PUT', `${ident('gone')}/secrets/s`, { token: fx.tokens.admin, body: { value: 'v' } });
    const del = await call(fx.op, 'DELETE', ident('gone'), { token: fx.tokens.admin });
    expect(del.status).toBe(200);
    expect(await exists(factsPath(fx.ns, 'gone'))).toBe(false);
    expect(await exists(secretsPath(fx.ns, 'gone'))).toBe(false);
    expect(await exists(corePath('secrets', fx.ns, managedSecretName('gone')))).toBe(false);
    expect((await call(fx.op, 'GET', ident('gone'), { token: fx.tokens.admin })).status).toBe(404);
  });
});

describe('a same-value API write leaves GitOps in charge of its field', () => {
  const apply = (id: string, facts: Record<string, unknown>, serverSide: boolean) =>
    applyFacts(fx.ns, id, facts, serverSide);
  const stored = async (id: string) => (await client.get<DeploymentFacts>(factsPath(fx.ns, id))).spec?.facts;

  for (const serverSide of [true, false]) {
    it(`kubectl ${serverSide ? 'server-side' : 'client-side'} apply can still change and then remove it`, async () => {
      const id = `gitops-${serverSide ? 'ssa' : 'csa'}`;
      await apply(id, { tier: 'silver', region: 'eu' }, serverSide);
      await eventually(async () =>
        expect((await call(fx.op, 'GET', `${ident(id)}/facts`, { token: fx.tokens.admin })).status).toBe(200),
      );
      // The API writes the value GitOps applied, beside a fact of its own.
      const put = await call(fx.op, 'PATCH', `${ident(id)}/facts`, {
        token: fx.tokens.admin,
        body: { tier: 'silver', api: 'x' },
      });
      expect(put.status).toBe(200);
      const obj = await client.get<DeploymentFacts>(factsPath(fx.ns, id));
      const apiFields = obj.metadata.managedFields?.find(
        (m) => m.manager === 'flagops-data-store-api',
      )?.fieldsV1;
      expect(JSON.stringify(apiFields)).not.toContain('f:tier');
      // GitOps changes it, then removes it: both succeed, and the API's own fact stays.
      await apply(id, { tier: 'gold', region: 'eu' }, serverSide);
      expect(await stored(id)).toEqual({ tier: 'gold', region: 'eu', api: 'x' });
      await apply(id, { region: 'eu' }, serverSide);
      expect(await stored(id)).toEqual({ region: 'eu', api: 'x' });
    });
  }
});

describe('secret values are exposed to their own identity only', () => {
  it('a caller limited to one identity by resourceNames cannot read another identity’s API-written values through a DeploymentSecrets of its own', async () => {
    const VALUE = 'victim-s3cret-value';
    const put = await call(fx.op, 'PUT', `${ident('victim')}/secrets/password`, {
      token: fx.tokens.admin,
      body: { value: VALUE },
    });
    expect(put.status).toBe(200);
    const token = await serviceAccountWithRole(fx.ns, 'attacker', [
      {
        apiGroups: [FLAGOPS],
        resources: ['deploymentsecrets'],
        verbs: ['get', 'patch', 'update'],
        resourceNames: ['attacker'],
      },
      { apiGroups: [FLAGOPS], resources: ['deploymentsecrets'], verbs: ['create'] },
      {
        apiGroups: [FLAGOPS],
        resources: ['deploymentsecrets/values'],
        verbs: ['get'],
        resourceNames: ['attacker'],
      },
    ]);
    // The attacker's own DeploymentSecrets points at the victim's managed Secret, with the attacker's token.
    const created = await clientWithToken(token).create(secretsPath(fx.ns), {
      apiVersion: 'flagops.io/v1alpha1',
      kind: 'DeploymentSecrets',
      metadata: { name: 'attacker' },
      spec: {
        secrets: [{ name: 'stolen', secretKeyRef: { name: managedSecretName('victim'), key: 'password' } }],
      },
    });
    expect(created).toBeTruthy();
    await eventually(async () => {
      const ds = await client.get<DeploymentSecrets>(secretsPath(fx.ns, 'attacker'));
      expect(ds.status?.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('SecretNotExposed');
    });
    const read = await call(fx.op, 'GET', `${ident('attacker')}/secrets`, { token });
    expect(read.text).not.toContain(VALUE);
    const ds = await client.get<DeploymentSecrets>(secretsPath(fx.ns, 'attacker'));
    expect(JSON.stringify(ds.status)).not.toContain(VALUE);
    // The victim itself still reads its value.
    const own = await call(fx.op, 'GET', `${ident('victim')}/secrets/password`, { token: fx.tokens.admin });
    expect(own.body).toEqual({ password: VALUE });
  });
});

describe('limits before the API server', () => {
  it('answers an over-limit PATCH with 400 at once, with no write', async () => {
    const body = Object.fromEntries(Array.from({ length: 30_000 }, (_, i) => [`f${i}`, i]));
    const started = performance.now();
    const r = await call(fx.op, 'PATCH', `${ident('huge')}/facts`, { token: fx.tokens.admin, body });
    const ms = performance.now() - started;
    expect(r.status).toBe(400);
    expect(r.body.error.field).toBeDefined();
    expect(r.body.error.message).toContain('256');
    expect(await exists(factsPath(fx.ns, 'huge'))).toBe(false);
    console.log(`over-limit PATCH answered in ${ms.toFixed(0)} ms`);
  });

  it('refuses a lone surrogate with 400 naming the fact, at once', async () => {
    const r = await call(fx.op, 'PUT', `${ident('lone')}/facts/name`, {
      token: fx.tokens.admin,
      headers: { 'content-type': 'application/json' },
      rawBody: '{"value":"a\\ud800b"}',
    });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain('name');
    expect(await exists(factsPath(fx.ns, 'lone'))).toBe(false);
    const s = await call(fx.op, 'PUT', `${ident('lone')}/secrets/pw`, {
      token: fx.tokens.admin,
      headers: { 'content-type': 'application/json' },
      rawBody: '{"value":"\\udc00"}',
    });
    expect(s.status).toBe(400);
    expect(await exists(secretsPath(fx.ns, 'lone'))).toBe(false);
  });
});
