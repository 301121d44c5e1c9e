/** Authentication (TokenReview) and authorisation (SubjectAccessReview against real RBAC) of the HTTP API. */
import { describe, expect, it } from 'vitest';
import { factsPath } from '../../src/kube/paths.js';
import { useApi } from '../support/api.js';
import {
  adminClient,
  call,
  eventually,
  newNamespace,
  serviceAccountWithRole,
  tokenFor,
} from '../support/cluster.js';

const fx = useApi('auth');

describe('authentication', () => {
  it('answers 401 without a token when RBAC grants anonymous users nothing', async () => {
    const r = await call(fx.op, 'GET', `/api/v1/namespaces/${fx.ns}/identities/x/facts`);
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Bearer');
    expect(r.body.error.code).toBe('Unauthorized');
  });

  it('answers 401 for a garbage token and for the token of a deleted ServiceAccount', async () => {
    expect((await call(fx.op, 'GET', '/api/v1/identities', { token: 'not-a-token' })).status).toBe(401);
    const client = adminClient();
    const token = await serviceAccountWithRole(fx.ns, 'doomed', [
      { apiGroups: ['flagops.io'], resources: ['deploymentfacts'], verbs: ['list'] },
    ]);
    expect((await call(fx.op, 'GET', `/api/v1/identities?namespace=${fx.ns}`, { token })).status).toBe(200);
    await client.delete(`/api/v1/namespaces/${fx.ns}/serviceaccounts/doomed`);
    // TokenReview answers are cached for a few seconds; the token stops working once the cache expires.
    await eventually(
      async () =>
        expect((await call(fx.op, 'GET', `/api/v1/identities?namespace=${fx.ns}`, { token })).status).toBe(
          401,
        ),
      15_000,
      250,
    );
  });

  it('answers 401 for a malformed Authorization header', async () => {
    const r = await call(fx.op, 'GET', '/api/v1/identities', {
      headers: { authorization: 'Basic Zm9vOmJhcg==' },
    });
    expect(r.status).toBe(401);
  });

  it('serves token-less clients when an admin grants system:unauthenticated read with plain RBAC', async () => {
    const ns = await newNamespace('anon');
    const client = adminClient();
    await client.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
      metadata: { name: 'anon-facts' },
      rules: [{ apiGroups: ['flagops.io'], resources: ['deploymentfacts'], verbs: ['get'] }],
    });
    await client.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
      metadata: { name: 'anon-facts' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'anon-facts' },
      subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'system:unauthenticated' }],
    });
    // This operator only watches its own namespaces, so the facts live there; the grant is what is tested.
    const r = await call(fx.op, 'GET', `/api/v1/namespaces/${ns}/identities/nobody/facts`);
    expect(r.status).toBe(404); // authorised, and the identity simply has no facts
    const other = await call(fx.op, 'GET', `/api/v1/namespaces/${fx.ns}/identities/nobody/facts`);
    expect(other.status).toBe(401);
  });
});

describe('authorisation', () => {
  it('lets a facts reader read facts but not secret values, naming the missing permission', async () => {
    const put = await call(fx.op, 'PUT', `/api/v1/namespaces/${fx.ns}/identities/app/facts/tier`, {
      token: fx.tokens.admin,
      body: { value: 'gold' },
    });
    expect(put.status).toBe(200);
    const facts = await call(fx.op, 'GET', `/api/v1/namespaces/${fx.ns}/identities/app/facts`, {
      token: fx.tokens.factsReader,
    });
    expect(facts.status).toBe(200);
    expect(facts.body).toEqual({ tier: 'gold' });
    const secrets = await call(fx.op, 'GET', `/api/v1/namespaces/${fx.ns}/identities/app/secrets`, {
      token: fx.tokens.factsReader,
    });
    expect(secrets.status).toBe(403);
    expect(secrets.body.error.message).toContain(
      `get deploymentsecrets/values.flagops.io "app" in namespace "${fx.ns}"`,
    );
    expect(secrets.body.error.message).toContain(`system:serviceaccount:${fx.ns}:facts-reader`);
  });

  it('refuses writes to a reader and secret writes to a facts editor', async () => {
    const w = await call(fx.op, 'PUT', `/api/v1/namespaces/${fx.ns}/identities/app/facts/tier`, {
      token: fx.tokens.factsReader,
      body: { value: 'silver' },
    });
    expect(w.status).toBe(403);
    expect(w.body.error.message).toContain('patch deploymentfacts.flagops.io');
    const s = await call(fx.op, 'PUT', `/api/v1/namespaces/${fx.ns}/identities/app/secrets/db`, {
      token: fx.tokens.factsEditor,
      body: { value: 'x' },
    });
    expect(s.status).toBe(403);
  });

  it('does not let a role in another namespace read this one', async () => {
    const other = await newNamespace('auth-other');
    const token = await serviceAccountWithRole(other, 'reader', [
      { apiGroups: ['flagops.io'], resources: ['deploymentfacts'], verbs: ['get', 'list'] },
    ]);
    const r = await call(fx.op, 'GET', `/api/v1/namespaces/${fx.ns}/identities/app/facts`, { token });
    expect(r.status).toBe(403);
    const list = await call(fx.op, 'GET', `/api/v1/identities?namespace=${fx.ns}`, { token });
    expect(list.status).toBe(403);
    const all = await call(fx.op, 'GET', '/api/v1/identities', { token });
    expect(all.status).toBe(403);
  });

  it('lets a secrets reader read values', async () => {
    const put = await call(fx.op, 'PUT', `/api/v1/namespaces/${fx.ns}/identities/app/secrets/db`, {
      token: fx.tokens.admin,
      body: { value: 'hunter2-auth' },
    });
    expect(put.status).toBe(200);
    const r = await call(fx.op, 'GET', `/api/v1/namespaces/${fx.ns}/identities/app/secrets/db`, {
      token: fx.tokens.secretsReader,
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ db: 'hunter2-auth' });
    expect(r.headers.get('cache-control')).toBe('no-store');
  });

  it('labels metrics with route templates only, never names', async () => {
    const text = (await call(fx.op, 'GET', '/metrics')).text;
    expect(text).toContain('route="/api/v1/namespaces/:ns/identities/:id/facts"');
    expect(text).toContain('route="/api/v1/namespaces/:ns/identities/:id/secrets"');
    expect(text).not.toContain(fx.ns);
    expect(text).toMatch(/flagops_reconcile_total\{kind="deploymentfacts",result="success"\} [1-9]/);
  });

  it('keeps health, readiness and the OpenAPI document open', async () => {
    for (const path of ['/healthz', '/readyz', '/openapi.json'])
      expect((await call(fx.op, 'GET', path)).status).toBe(200);
  });

  it('the object really lives in Kubernetes', async () => {
    const obj = await adminClient().get<{ spec: { facts: Record<string, unknown> } }>(
      factsPath(fx.ns, 'app'),
    );
    expect(obj.spec.facts).toEqual({ tier: 'gold' });
    expect(await tokenFor(fx.ns, 'admin')).toBeTruthy();
  });
});
