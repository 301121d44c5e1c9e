// Checks that the shared control plane from global-setup.ts is usable: TLS, admin token, kubectl,
// ServiceAccount tokens, RBAC and etcd compaction.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { compactEtcd } from './control-plane.js';
import { kubectl } from './kubectl.js';

const cp = inject('controlPlane');
const tls = new Agent({ connect: { ca: readFileSync(cp.caCertPath) } });
afterAll(() => tls.close());

async function api(method: string, path: string, token: string, body?: unknown) {
  const res = await request(`${cp.server}${path}`, {
    method: method as 'GET',
    dispatcher: tls,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, text, json: () => JSON.parse(text) };
}

describe('control plane', () => {
  it('is ready and trusted through the CA file', async () => {
    const res = await api('GET', '/readyz', cp.adminToken);
    expect(res.status).toBe(200);
    expect(res.text).toBe('ok');
  });

  it('issues ServiceAccount tokens that authenticate and are bound by RBAC', async () => {
    const ns = `cp-test-${Date.now()}`;
    for (const args of [
      ['create', 'namespace', ns],
      ['-n', ns, 'create', 'serviceaccount', 'reader'],
    ]) {
      const res = await kubectl(cp, args);
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
    }
    const created = await kubectl(cp, ['-n', ns, 'create', 'token', 'reader']);
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();

    const review = await api('POST', '/apis/authentication.k8s.io/v1/tokenreviews', cp.adminToken, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token },
    });
    expect(review.status).toBe(201);
    expect(review.json().status).toMatchObject({
      authenticated: true,
      user: { username: `system:serviceaccount:${ns}:reader` },
    });

    const access = await api('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', token, {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { namespace: ns, verb: 'list', resource: 'secrets' } },
    });
    expect(access.status).toBe(201);
    expect(access.json().status.allowed).toBe(false);

    // The same answer through kubectl with the ServiceAccount's token instead of the admin kubeconfig.
    const canI = await kubectl(cp, ['-n', ns, 'auth', 'can-i', 'list', 'secrets'], { token });
    expect(canI.stdout.trim()).toBe('no');
  });

  it('compacts etcd', async () => {
    expect(await compactEtcd(cp.etcdEndpoint)).toBeGreaterThan(0);
  });
});
