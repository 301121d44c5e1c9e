/** Secret values through the API: stored in an operator-managed Secret, referenced, revealed only when allowed. */
import { describe, expect, it } from 'vitest';
import type { DeploymentSecrets, SecretObject } from '../../src/api/types.js';
import { corePath, secretsPath } from '../../src/kube/paths.js';
import { managedSecretName } from '../../src/writes/managed-secret.js';
import { kubectl } from '../control-plane/kubectl.js';
import { useApi } from '../support/api.js';
import { adminClient, call, controlPlane } from '../support/cluster.js';

const fx = useApi('secrets');
const base = (id: string) => `/api/v1/namespaces/${fx.ns}/identities/${id}/secrets`;
const VALUES = ['s3cr3t-alpha-9f1', 's3cr3t-beta-77c', 'gitops-s3cr3t-0aa'];

describe('secret writes and reads', () => {
  it('stores a value in a managed Secret owned by the DeploymentSecrets and serves it at once', async () => {
    const put = await call(fx.op, 'PUT', `${base('shop')}/db-password`, {
      token: fx.tokens.admin,
      body: { value: VALUES[0] },
    });
    expect(put.status).toBe(200);
    expect(put.text).not.toContain(VALUES[0]);
    const get = await call(fx.op, 'GET', base('shop'), { token: fx.tokens.secretsReader });
    expect(get.body).toEqual({ 'db-password': VALUES[0] });

    const client = adminClient();
    const ds = await client.get<DeploymentSecrets>(secretsPath(fx.ns, 'shop'));
    expect(ds.spec?.secrets).toEqual([
      { name: 'db-password', secretKeyRef: { name: managedSecretName('shop'), key: 'db-password' } },
    ]);
    const secret = await client.get<
      SecretObject & { metadata: { ownerReferences: { kind: string; uid: string }[] } }
    >(corePath('secrets', fx.ns, managedSecretName('shop')));
    expect(Buffer.from(secret.data!['db-password']!, 'base64').toString()).toBe(VALUES[0]);
    expect(secret.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'DeploymentSecrets', uid: ds.metadata.uid }),
    ]);
    expect(secret.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('flagops-data-store');
  });

  it('rotates a value and shows key names, never values, in the identity view', async () => {
    await call(fx.op, 'PUT', `${base('shop')}/db-password`, {
      token: fx.tokens.admin,
      body: { value: VALUES[1] },
    });
    await call(fx.op, 'PUT', `${base('shop')}/api-key`, { token: fx.tokens.admin, body: { value: 'k-1' } });
    expect(
      (await call(fx.op, 'GET', `${base('shop')}/db-password`, { token: fx.tokens.admin })).body,
    ).toEqual({ 'db-password': VALUES[1] });
    const view = await call(fx.op, 'GET', `/api/v1/namespaces/${fx.ns}/identities/shop`, {
      token: fx.tokens.factsReader,
    });
    expect(view.body.secretKeys).toEqual(['api-key', 'db-password']);
    const list = await call(fx.op, 'GET', `/api/v1/identities?namespace=${fx.ns}`, {
      token: fx.tokens.admin,
    });
    for (const r of [view, list]) for (const v of VALUES) expect(r.text).not.toContain(v);
  });

  it('keeps GitOps secret entries beside API ones, and will not take one over unless forced', async () => {
    const client = adminClient();
    await client.create(corePath('secrets', fx.ns), {
      metadata: {
        name: 'gitops-creds',
        labels: { 'flagops.io/expose': 'true' },
        annotations: { 'flagops.io/expose-to': 'shop' },
      },
      data: { token: Buffer.from(VALUES[2]!).toString('base64') },
    });
    const manifest = {
      apiVersion: 'flagops.io/v1alpha1',
      kind: 'DeploymentSecrets',
      metadata: { name: 'shop', namespace: fx.ns },
      spec: { secrets: [{ name: 'upstream-token', secretKeyRef: { name: 'gitops-creds', key: 'token' } }] },
    };
    const r = await kubectl(controlPlane(), ['apply', '--server-side', '--field-manager=gitops', '-f', '-'], {
      input: JSON.stringify(manifest),
    });
    expect(r.code).toBe(0);
    const get = await call(fx.op, 'GET', base('shop'), { token: fx.tokens.admin });
    expect(Object.keys(get.body).sort()).toEqual(['api-key', 'db-password', 'upstream-token']);
    const takeOver = await call(fx.op, 'PUT', `${base('shop')}/upstream-token`, {
      token: fx.tokens.admin,
      body: { value: 'mine' },
    });
    expect(takeOver.status).toBe(409);
    expect(takeOver.body.error.message).toContain('gitops');
    expect(takeOver.text).not.toContain(VALUES[2]);
    const del = await call(fx.op, 'DELETE', `${base('shop')}/upstream-token`, { token: fx.tokens.admin });
    expect(del.status).toBe(409);
  });

  it('deletes one secret', async () => {
    const del = await call(fx.op, 'DELETE', `${base('shop')}/api-key`, { token: fx.tokens.admin });
    expect(del.status).toBe(200);
    const get = await call(fx.op, 'GET', base('shop'), { token: fx.tokens.admin });
    expect(Object.keys(get.body).sort()).toEqual(['db-password', 'upstream-token']);
    expect((await call(fx.op, 'GET', `${base('shop')}/api-key`, { token: fx.tokens.admin })).status).toBe(
      404,
    );
  });

  it('deleting the identity removes both objects and the managed Secret', async () => {
    await call(fx.op, 'PUT', `/api/v1/namespaces/${fx.ns}/identities/shop/facts/tier`, {
      token: fx.tokens.admin,
      body: { value: 'gold' },
    });
    const del = await call(fx.op, 'DELETE', `/api/v1/namespaces/${fx.ns}/identities/shop`, {
      token: fx.tokens.admin,
    });
    expect(del.status).toBe(200);
    expect(
      (await call(fx.op, 'GET', `/api/v1/namespaces/${fx.ns}/identities/shop`, { token: fx.tokens.admin }))
        .status,
    ).toBe(404);
    const client = adminClient();
    await expect(client.get(secretsPath(fx.ns, 'shop'))).rejects.toMatchObject({ statusCode: 404 });
    await expect(client.get(corePath('secrets', fx.ns, managedSecretName('shop')))).rejects.toMatchObject({
      statusCode: 404,
    });
    // A Secret the operator does not manage is left alone.
    expect((await client.get<SecretObject>(corePath('secrets', fx.ns, 'gitops-creds'))).metadata.name).toBe(
      'gitops-creds',
    );
    expect(
      (await call(fx.op, 'DELETE', `/api/v1/namespaces/${fx.ns}/identities/shop`, { token: fx.tokens.admin }))
        .status,
    ).toBe(404);
  });

  it('never logs a secret value, at any level', () => {
    expect(fx.op.logs.some((l) => l.includes('"level":"trace"') || l.includes('"level":"debug"'))).toBe(true);
    for (const v of [...VALUES, 'k-1']) expect(fx.op.logs.join('\n')).not.toContain(v);
  });
});
