import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROLES, useApi } from '../support/api.js';
import { renderWithPlugin } from '../support/argocd.js';
import {
  adminClient,
  call,
  eventually,
  newNamespace,
  serviceAccountWithRole,
  tokenFor,
} from '../support/cluster.js';

const ORIGIN = 'https://flags.example.com';
const fx = useApi('atk', {
  extraNamespaces: 3,
  extraArgs: [`--cors-allowed-origins=${ORIGIN}`],
}) as ReturnType<typeof useApi> & { extraNamespaces: string[] };

const FACTS = 'deploymentfacts';
const GET_FACTS = [{ apiGroups: ['flagops.io'], resources: [FACTS], verbs: ['get'] }];
let a: string;
let b: string;
/** Facts readable without a token (docs/security.md's anonymous path). */
let anon: string;
let unwatched: string;
const tok = {} as {
  /** get deploymentfacts in `a` (and in `unwatched`). */
  aReader: string;
  /** get deploymentfacts and deploymentsecrets/values in `a`, for the name `web` only (resourceNames). */
  aNamed: string;
  /** Everything in `a`. */
  aAdmin: string;
  /** Everything in `b`. */
  bAdmin: string;
  /** A ServiceAccount of `a` without any role. */
  aNobody: string;
  /** The repo-server's ServiceAccount (in the default namespace), bound to read facts in every namespace. */
  repoServer: string;
};

/** Binds ServiceAccount `saNs/saName` to `rules` in `ns`. */
async function bind(ns: string, saNs: string, saName: string, rules: object[]) {
  const c = adminClient();
  const name = `${saNs}-${saName}`;
  await c.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, { metadata: { name }, rules });
  await c.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ kind: 'ServiceAccount', name: saName, namespace: saNs }],
  });
}

async function put(
  token: string,
  ns: string,
  id: string,
  kind: 'facts' | 'secrets',
  key: string,
  value: unknown,
) {
  const r = await call(fx.op, 'PUT', `/api/v1/namespaces/${ns}/identities/${id}/${kind}/${key}`, {
    token,
    body: { value },
  });
  expect([200, 202], JSON.stringify(r.body)).toContain(r.status);
}

beforeAll(async () => {
  [a, b, anon] = fx.extraNamespaces as [string, string, string];
  unwatched = await newNamespace('atk-unwatched');
  [tok.aReader, tok.aNamed, tok.aAdmin, tok.bAdmin, tok.aNobody, tok.repoServer] = await Promise.all([
    serviceAccountWithRole(a, 'reader', GET_FACTS),
    serviceAccountWithRole(a, 'named', [
      { apiGroups: ['flagops.io'], resources: [FACTS], verbs: ['get'], resourceNames: ['web'] },
      {
        apiGroups: ['flagops.io'],
        resources: ['deploymentsecrets/values'],
        verbs: ['get'],
        resourceNames: ['web'],
      },
    ]),
    serviceAccountWithRole(a, 'admin', ROLES.admin),
    serviceAccountWithRole(b, 'admin', ROLES.admin),
    serviceAccountWithRole(a, 'nobody', []),
    serviceAccountWithRole(fx.ns, 'argocd-repo-server', GET_FACTS),
  ]);
  await Promise.all([
    bind(unwatched, a, 'reader', [{ apiGroups: ['flagops.io'], resources: [FACTS], verbs: ['get', 'list'] }]),
    // rbac.yaml's advice for apps in any namespace: the repo-server may read facts in each application namespace.
    bind(a, fx.ns, 'argocd-repo-server', GET_FACTS),
    bind(b, fx.ns, 'argocd-repo-server', GET_FACTS),
  ]);
  await put(tok.aAdmin, a, 'web', 'facts', 'tier', 'a-gold');
  await put(tok.aAdmin, a, 'other', 'facts', 'tier', 'a-other');
  await put(tok.aAdmin, a, 'web', 'secrets', 'db', 'pw-a-only');
  await put(tok.bAdmin, b, 'web', 'facts', 'tier', 'b-private');
  await put(tok.bAdmin, b, 'web', 'secrets', 'db', 'pw-b-private');
  await put(fx.tokens.admin, fx.ns, 'web', 'facts', 'tier', 'default-tier');
  const c = adminClient();
  await c.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${anon}/roles`, {
    metadata: { name: 'anon-facts' },
    rules: GET_FACTS,
  });
  await c.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${anon}/rolebindings`, {
    metadata: { name: 'anon-facts' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'anon-facts' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:unauthenticated' }],
  });
  const anonAdmin = await serviceAccountWithRole(anon, 'admin', ROLES.admin);
  await put(anonAdmin, anon, 'web', 'facts', 'tier', 'anon-tier');
  await put(anonAdmin, anon, 'web', 'secrets', 'db', 'pw-anon-ns');
  // Facts in a namespace the operator does not watch: Kubernetes has them, the store never will.
  await adminClient().apply(
    `/apis/flagops.io/v1alpha1/namespaces/${unwatched}/${FACTS}/web`,
    {
      apiVersion: 'flagops.io/v1alpha1',
      kind: 'DeploymentFacts',
      metadata: { name: 'web' },
      spec: { facts: { tier: 'unwatched-tier' } },
    },
    'kubectl',
  );
  await eventually(() => {
    expect(fx.op.store.get(b, 'web')?.secrets).toBeDefined();
    expect(fx.op.store.get(a, 'web')?.secrets).toBeDefined();
    expect(fx.op.store.get(anon, 'web')?.secrets).toBeDefined();
    expect(fx.op.store.get(fx.ns, 'web')?.facts?.values).toEqual({ tier: 'default-tier' });
  });
}, 120_000);

/** A GET with the path sent exactly as written (fetch would resolve `.` and `..` segments first). */
function get(
  path: string,
  token?: string,
  headers: Record<string, string> = {},
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
): Promise<{ status: number; statusText: string; body: any; headers: Headers; text: string }> {
  const { hostname, port } = new URL(fx.op.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        hostname,
        port,
        path,
        method: 'GET',
        headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            body,
            headers: h,
            text,
          });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}
const ofrep = (
  path: string,
  token: string | undefined,
  context: object,
  headers: Record<string, string> = {},
) => call(fx.op, 'POST', `/ofrep/v1/evaluate/flags${path}`, { token, body: { context }, headers });

/** Everything sensitive that a refused answer must never carry. */
const PRIVATE = [
  'pw-anon-ns',
  'b-private',
  'pw-b-private',
  'pw-a-only',
  'default-tier',
  'unwatched-tier',
  'a-other',
];
const leaksNothing = (r: { text: string; headers: Headers }, except: string[] = []) => {
  for (const p of PRIVATE.filter((p) => !except.includes(p))) expect(r.text).not.toContain(p);
  expect(r.headers.get('etag')).toBeNull();
  expect(r.headers.get('x-flagops-identity')).toBeNull();
};

describe('crafted identities on the prototype routes', () => {
  it('refuses malformed forms with a 400 naming the identity, whoever asks, and never a 5xx', async () => {
    const crafted = [
      'a_b_c',
      '_web',
      'web_',
      `${a}_`,
      `${a}__web`,
      `${a}_b_web`,
      `_${a}_web`,
      `${a.toUpperCase()}_web`,
      `${a}_WEB`,
      'WEB',
      `${a}_..`,
      '..',
      '.',
      `${a}_.web`,
      `${a}_web.`,
      `${a}.x_web`, // a dot is no part of a namespace
      `${a}%2Fweb`, // a/web
      `${a}_web%2Ftier`,
      `${a}%EF%BC%BFweb`, // U+FF3F FULLWIDTH LOW LINE, a look-alike of `_`
      `${a}%E2%80%97web`, // U+2017 DOUBLE LOW LINE
      `${a}_w%D0%B5b`, // Cyrillic е in "web"
      `${a}_web%00`,
      `${a}%255Fweb`, // a double-encoded `_` is not one
      `${a}_web;x`,
      `${a}_web+`,
      `${a}_web%20`,
      `%20${a}_web`,
      `${a}%09_web`,
      `${'n'.repeat(64)}_web`, // a namespace is at most 63 characters
      `${a}_${'x'.repeat(254)}`, // a name at most 253
      'x'.repeat(254),
      `${a}_${'x'.repeat(2000)}`,
    ];
    for (const id of crafted) {
      for (const token of [tok.aReader, tok.bAdmin, undefined]) {
        const r = await get(`/api/fact/${id}`, token);
        expect(r.status, id).toBe(400);
        expect(r.body?.error?.field, id).toBe('identity');
        leaksNothing(r);
      }
      const s = await get(`/api/secret/${id}`, tok.aNamed);
      expect(s.status, id).toBe(400);
      leaksNothing(s);
      const o = await ofrep('', tok.bAdmin, { targetingKey: decodeURIComponent(id) });
      expect(o.status, id).toBe(400);
      expect(o.body.errorCode, id).toBe('INVALID_CONTEXT');
      leaksNothing(o);
    }
  });

  it('reads a percent-encoded `_` (%5F, %5f) as the same identity, under the same check', async () => {
    const plain = await get(`/api/fact/${a}_web`, tok.aReader);
    expect(plain.status).toBe(200);
    expect(plain.body).toEqual({ tier: 'a-gold' });
    for (const enc of ['%5F', '%5f']) {
      const r = await get(`/api/fact/${a}${enc}web`, tok.aReader);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ tier: 'a-gold' });
      expect(r.headers.get('etag')).toBe(plain.headers.get('etag'));
      const other = await get(`/api/fact/${b}${enc}web`, tok.aReader);
      expect(other.status).toBe(403);
      leaksNothing(other);
    }
  });

  it('authorises a prefix in the namespace it names: another tenant, the default namespace, an identity named like a namespace', async () => {
    for (const id of [`${b}_web`, `${fx.ns}_web`, 'web', `${b}_${a}`, `${fx.ns}_${a}`, a]) {
      const r = await get(`/api/fact/${id}`, tok.aReader);
      expect(r.status, id).toBe(403);
      leaksNothing(r);
      const one = await get(`/api/fact/${id}/tier`, tok.aReader);
      expect(one.status, id).toBe(403);
      leaksNothing(one);
    }
    // The plain form is the default namespace, and the 403 says so (not the caller's own namespace).
    const plain = await get('/api/fact/web', tok.aReader);
    expect(plain.body.error.message).toContain(`"web" in namespace "${fx.ns}"`);
    // An identity named like another namespace, in the caller's own: its own namespace decides.
    const named = await get(`/api/fact/${a}_${b}`, tok.aReader);
    expect(named.status).toBe(200);
    expect(named.body).toEqual({});
    expect(named.headers.get('x-flagops-identity')).toBe('not-found');
    // The default namespace spelled out is the same identity as the plain form, with the same ETag.
    const spelled = await get(`/api/fact/${fx.ns}_web`, fx.tokens.factsReader);
    const short = await get('/api/fact/web', fx.tokens.factsReader);
    expect(spelled.body).toEqual({ tier: 'default-tier' });
    expect(short.body).toEqual(spelled.body);
    expect(short.headers.get('etag')).toBe(spelled.headers.get('etag'));
  });

  it('takes the namespace from the identity only: a query parameter or header naming another changes nothing', async () => {
    for (const [path, headers] of [
      [`/api/fact/web?namespace=${a}`, {}],
      [`/api/fact/web?ns=${a}`, {}],
      ['/api/fact/web', { 'x-flagops-namespace': a, 'x-namespace': a }],
    ] as const) {
      const r = await get(path, tok.aReader, headers);
      expect(r.status, path).toBe(403);
      expect(r.body.error.message).toContain(`in namespace "${fx.ns}"`);
      leaksNothing(r);
    }
    const q = await call(fx.op, 'POST', `/ofrep/v1/evaluate/flags/tier?namespace=${a}`, {
      token: tok.aReader,
      body: { context: { targetingKey: 'web' } },
      headers: { 'x-flagops-namespace': a },
    });
    expect(q.status).toBe(403);
    leaksNothing(q);
  });

  it('refuses writes and deletes through a prefix naming a namespace the token may not write', async () => {
    for (const [method, path, body] of [
      ['PUT', `/api/fact/${b}_web/tier`, { value: 'pwned' }],
      ['PUT', `/api/fact/${b}_web`, { tier: 'pwned' }],
      ['DELETE', `/api/fact/${b}_web/tier`, undefined],
      ['DELETE', `/api/fact/${b}_web`, undefined],
      ['PUT', `/api/secret/${b}_web/db`, { value: 'pwned' }],
      ['DELETE', `/api/secret/${b}_web/db`, undefined],
      ['PUT', `/api/fact/${unwatched}_web/tier`, { value: 'pwned' }],
    ] as const) {
      const r = await call(fx.op, method, path, { token: tok.aAdmin, body });
      expect(r.status, `${method} ${path}`).toBe(403);
      leaksNothing(r);
    }
    const obj = await adminClient().get<{ spec: { facts: Record<string, unknown> } }>(
      `/apis/flagops.io/v1alpha1/namespaces/${b}/${FACTS}/web`,
    );
    expect(obj.spec.facts).toEqual({ tier: 'b-private' });
    const s = await get(`/api/v1/namespaces/${b}/identities/web/secrets/db`, tok.bAdmin);
    expect(s.body).toEqual({ db: 'pw-b-private' });
  });
});

describe('existence does not leak to callers who may not read', () => {
  it('answers an existing and a missing identity of a forbidden namespace alike, status line included', async () => {
    for (const [existing, missing] of [
      [`/api/fact/${b}_web`, `/api/fact/${b}_ghost-id`],
      [`/api/fact/${b}_web/tier`, `/api/fact/${b}_ghost-id/tier`],
      [`/api/secret/${b}_web`, `/api/secret/${b}_ghost-id`],
      [`/api/secret/${b}_web/db`, `/api/secret/${b}_ghost-id/db`],
    ] as const) {
      for (const token of [tok.aReader, tok.aNobody, undefined]) {
        const r1 = await get(existing, token);
        const r2 = await get(missing, token);
        expect(r1.status, existing).toBe(r2.status);
        expect([401, 403]).toContain(r1.status);
        const norm = (s: string) => s.replaceAll('ghost-id', 'web');
        expect(norm(r2.statusText)).toBe(r1.statusText);
        expect(norm(r2.text)).toBe(r1.text);
        for (const h of ['etag', 'x-flagops-identity', 'cache-control'])
          expect(r1.headers.get(h), h).toBe(r2.headers.get(h));
      }
    }
    for (const key of [`${b}_web`, `${b}_ghost-id`]) {
      const r = await ofrep('/tier', tok.aReader, { targetingKey: key });
      expect(r.status).toBe(403);
      leaksNothing(r);
    }
  });

  it('says a namespace is not watched only to a caller allowed to read there', async () => {
    const allowed = await get(`/api/fact/${unwatched}_web`, tok.aReader);
    expect(allowed.status).toBe(404);
    expect(allowed.body.error.message).toContain('not watched');
    leaksNothing(allowed);
    for (const token of [tok.bAdmin, tok.aNobody, undefined]) {
      const r = await get(`/api/fact/${unwatched}_web`, token);
      expect([401, 403]).toContain(r.status);
      expect(r.text).not.toContain('not watched');
    }
    // A namespace that does not exist at all looks like any other forbidden one.
    const ghost = await get('/api/fact/no-such-namespace-x_web', tok.aReader);
    expect(ghost.status).toBe(403);
  });
});

describe('ETag / If-None-Match', () => {
  it("never answers 304 to a caller who may not read, with the identity's real ETag, a weak one or *", async () => {
    const owner = await get(`/api/fact/${b}_web`, tok.bAdmin);
    expect(owner.status).toBe(200);
    const etag = owner.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]+"$/);
    for (const inm of [etag, `W/${etag}`, '*', `"x", ${etag}`]) {
      for (const token of [tok.aReader, tok.aAdmin, tok.aNobody, undefined]) {
        const r = await get(`/api/fact/${b}_web`, token, { 'if-none-match': inm });
        expect([401, 403], inm).toContain(r.status);
        leaksNothing(r);
      }
    }
    const bulk = await ofrep('', tok.bAdmin, { targetingKey: `${b}_web` });
    expect(bulk.status).toBe(200);
    const ofrepEtag = bulk.headers.get('etag')!;
    for (const token of [tok.aReader, undefined]) {
      const r = await ofrep('', token, { targetingKey: `${b}_web` }, { 'if-none-match': ofrepEtag });
      expect([401, 403]).toContain(r.status);
      leaksNothing(r);
    }
  });

  it("gives the same name in two namespaces different ETags, so one tenant's ETag never matches the other's facts", async () => {
    const mine = await get(`/api/fact/${a}_web`, tok.aReader);
    const theirs = await get(`/api/fact/${b}_web`, tok.bAdmin);
    expect(mine.headers.get('etag')).not.toBe(theirs.headers.get('etag'));
    const again = await get(`/api/fact/${a}_web`, tok.aReader, {
      'if-none-match': theirs.headers.get('etag')!,
    });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ tier: 'a-gold' });
    const cached = await get(`/api/fact/${a}_web`, tok.aReader, {
      'if-none-match': mine.headers.get('etag')!,
    });
    expect(cached.status).toBe(304);
  });
});

describe('secrets through the prototype routes and OFREP', () => {
  it('serves values only with get deploymentsecrets/values on that name in that namespace', async () => {
    const own = await get(`/api/secret/${a}_web`, tok.aNamed);
    expect(own.status).toBe(200);
    expect(own.body).toEqual({ db: 'pw-a-only' });
    expect(own.headers.get('cache-control')).toBe('no-store');
    for (const [path, token] of [
      [`/api/secret/${a}_web`, tok.aReader], // facts only
      [`/api/secret/${a}_web/db`, tok.aReader],
      [`/api/secret/${b}_web`, tok.aNamed], // same name, other namespace
      [`/api/secret/${b}_web/db`, tok.aNamed],
      [`/api/secret/${a}_other`, tok.aNamed], // other name (resourceNames)
      [`/api/secret/${b}_web`, undefined],
      [`/api/secret/web`, tok.aNamed], // the default namespace's web
    ] as const) {
      const r = await get(path, token);
      expect([401, 403], path).toContain(r.status);
      leaksNothing(r);
    }
  });

  it('answers HEAD like GET on the secret routes: refused without the permission, no value either way', async () => {
    const { hostname, port } = new URL(fx.op.url);
    const head = (path: string, token: string) =>
      new Promise<{ status: number; length: string | undefined }>((resolve, reject) => {
        const req = request(
          { hostname, port, path, method: 'HEAD', headers: { authorization: `Bearer ${token}` } },
          (res) => {
            res.resume();
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, length: res.headers['content-length'] }),
            );
          },
        );
        req.on('error', reject);
        req.end();
      });
    expect((await head(`/api/secret/${b}_web`, tok.aNamed)).status).toBe(403);
    expect((await head(`/api/secret/${a}_web`, tok.aReader)).status).toBe(403);
    expect((await head(`/api/secret/${a}_web`, tok.aNamed)).status).toBe(200);
  });

  it('never serves a secret through OFREP, under any name', async () => {
    for (const token of [tok.bAdmin, tok.aAdmin]) {
      const ns = token === tok.bAdmin ? b : a;
      const bulk = await ofrep('', token, { targetingKey: `${ns}_web` });
      expect(bulk.status).toBe(200);
      expect(bulk.text).not.toContain('pw-');
      const one = await ofrep('/db', token, { targetingKey: `${ns}_web` });
      expect(one.status).toBe(404);
      expect(one.body.errorCode).toBe('FLAG_NOT_FOUND');
      expect(one.text).not.toContain('pw-');
    }
  });

  it('does not serve secret routes to other origins, even an allowed one', async () => {
    const r = await get(`/api/secret/${a}_web`, tok.aNamed, { origin: ORIGIN });
    expect(r.status).toBe(200);
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
    const pre = await fetch(`${fx.op.url}/api/secret/${a}_web`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'GET' },
    });
    expect(pre.status).not.toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    // The facts route is served to the allowed origin, a refusal included, never to another origin.
    const facts = await get(`/api/fact/${b}_web`, tok.aReader, { origin: ORIGIN });
    expect(facts.status).toBe(403);
    expect(facts.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(facts.headers.get('access-control-allow-credentials')).toBeNull();
    const evil = await get(`/api/fact/${a}_web`, tok.aReader, { origin: 'https://evil.example.com' });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('cached auth decisions', () => {
  it("never reuse one token's answer for another token, name or namespace", async () => {
    // Each pair runs back to back, well within the TokenReview (10 s) and SubjectAccessReview (5 s) caches.
    expect((await get(`/api/fact/${a}_web`, tok.aNamed)).status).toBe(200);
    expect((await get(`/api/fact/${b}_web`, tok.aNamed)).status).toBe(403); // same name, other namespace
    expect((await get(`/api/fact/${a}_other`, tok.aNamed)).status).toBe(403); // same namespace, other name
    expect((await get(`/api/fact/${a}_web`, tok.aNobody)).status).toBe(403); // other user, same namespace
    expect((await get(`/api/fact/${a}_web`)).status).toBe(401); // anonymous
    expect((await get(`/api/fact/${b}_web`, tok.bAdmin)).status).toBe(200);
    expect((await get(`/api/fact/${b}_web`, tok.aAdmin)).status).toBe(403);
    expect((await get(`/api/fact/${b}_web`, `${tok.bAdmin}x`)).status).toBe(401); // a tampered token
    // OFREP and the prototype route share the authoriser: one's yes is not the other's for another namespace.
    expect((await ofrep('/tier', tok.aReader, { targetingKey: `${a}_web` })).status).toBe(200);
    expect((await ofrep('/tier', tok.aReader, { targetingKey: `${b}_web` })).status).toBe(403);
    expect((await ofrep('/tier', tok.aReader, { targetingKey: 'web', namespace: b })).status).toBe(403);
    // A second token of a ServiceAccount is the same user, with the same rights, and no more.
    const second = await tokenFor(a, 'named');
    expect((await get(`/api/fact/${a}_web`, second)).status).toBe(200);
    expect((await get(`/api/fact/${b}_web`, second)).status).toBe(403);
  });

  it('takes no token from the query string, and a trailing slash or a route that does not exist tells nothing', async () => {
    for (const q of ['access_token', 'token', 'api_key']) {
      const r = await get(`/api/fact/${b}_web?${q}=${tok.bAdmin}`);
      expect(r.status, q).toBe(401);
      leaksNothing(r);
    }
    for (const path of [`/api/fact/${b}_web/`, `/api/fact/${b}_web/tier/x`, `/api/facts/${b}_web`]) {
      const r = await get(path, tok.aReader);
      // An empty fact name is a 400 before any lookup; the others match no route.
      expect([400, 404], path).toContain(r.status);
      expect(r.body.error.message).toMatch(/^(no route for GET |name: )/);
      leaksNothing(r);
    }
  });

  it('takes the token from X-API-Key only without an Authorization header, and a bad header is not anonymous', async () => {
    const r = await get(`/api/fact/${b}_web`, undefined, {
      authorization: `Bearer ${tok.aReader}`,
      'x-api-key': tok.bAdmin,
    });
    expect(r.status).toBe(403);
    const k = await get(`/api/fact/${b}_web`, undefined, { 'x-api-key': tok.bAdmin });
    expect(k.status).toBe(200);
    const bad = await get(`/api/fact/${b}_web`, undefined, {
      authorization: `Basic ${tok.bAdmin}`,
      'x-api-key': tok.bAdmin,
    });
    expect(bad.status).toBe(401);
  });
});

describe('the anonymous read path (get deploymentfacts for system:unauthenticated in one namespace)', () => {
  it("serves that namespace's facts by <namespace>_<name> without a token, on both routes, and nothing more", async () => {
    const r = await get(`/api/fact/${anon}_web`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ tier: 'anon-tier' });
    const o = await ofrep('/tier', undefined, { targetingKey: `${anon}_web` });
    expect(o.status).toBe(200);
    expect(o.body.value).toBe('anon-tier');
    const o2 = await ofrep('/tier', undefined, { targetingKey: 'web', namespace: anon });
    expect(o2.body.value).toBe('anon-tier');
    // Its secrets, other namespaces (the default one included), the identity list and writes all need a token.
    for (const path of [
      `/api/secret/${anon}_web`,
      `/api/secret/${anon}_web/db`,
      `/api/fact/${a}_web`,
      '/api/fact/web',
      '/api/identity',
      `/api/v1/identities?namespace=${anon}`,
    ]) {
      const x = await get(path);
      expect(x.status, path).toBe(401);
      leaksNothing(x);
    }
    for (const [method, path, body] of [
      ['PUT', `/api/fact/${anon}_web/tier`, { value: 'x' }],
      ['DELETE', `/api/fact/${anon}_web`, undefined],
      ['PUT', `/api/secret/${anon}_web/db`, { value: 'x' }],
    ] as const) {
      const x = await call(fx.op, method, path, { body });
      expect(x.status, `${method} ${path}`).toBe(401);
    }
    // A garbage token is refused, not downgraded to the anonymous user.
    expect((await get(`/api/fact/${anon}_web`, 'not-a-token')).status).toBe(401);
    expect((await ofrep('/tier', 'not-a-token', { targetingKey: `${anon}_web` })).status).toBe(401);
  });
});

describe('revocation through the prototype route', () => {
  it('stops a removed RoleBinding from reading <namespace>_<name> once the decision cache expires', async () => {
    const token = await serviceAccountWithRole(a, 'revoked', GET_FACTS);
    expect((await get(`/api/fact/${a}_web`, token)).status).toBe(200);
    await adminClient().delete(`/apis/rbac.authorization.k8s.io/v1/namespaces/${a}/rolebindings/revoked`);
    // SubjectAccessReview answers are cached for 5 s (docs/security.md: about 10 s in all).
    await eventually(
      async () => expect((await get(`/api/fact/${a}_web`, token)).status).toBe(403),
      15_000,
      250,
    );
    expect((await ofrep('/tier', token, { targetingKey: `${a}_web` })).status).toBe(403);
  });
});

describe('OFREP with <namespace>_<name>', () => {
  it('authorises the namespace the targeting key names, and refuses a context.namespace saying otherwise', async () => {
    const ok = await ofrep('/tier', tok.aReader, { targetingKey: `${a}_web` });
    expect(ok.status).toBe(200);
    expect(ok.body.value).toBe('a-gold');
    const conflict = await ofrep('/tier', tok.bAdmin, { targetingKey: `${a}_web`, namespace: b });
    expect(conflict.status).toBe(400);
    expect(conflict.body.errorCode).toBe('INVALID_CONTEXT');
    leaksNothing(conflict);
    const conflict2 = await ofrep('/tier', tok.aReader, { targetingKey: `${b}_web`, namespace: a });
    expect(conflict2.status).toBe(400);
    leaksNothing(conflict2);
    for (const context of [
      { targetingKey: `${b}_web` },
      { targetingKey: 'web', namespace: b },
      { targetingKey: 'web' }, // the default namespace
      { targetingKey: `${fx.ns}_web` },
    ]) {
      for (const path of ['', '/tier']) {
        const r = await ofrep(path, tok.aReader, context);
        expect(r.status, JSON.stringify(context)).toBe(403);
        leaksNothing(r);
      }
    }
  });

  // FINDING 1, fixed: OFREP skips the watched-namespace check that /api/fact/<ns>_<name> and
  // /api/v1/namespaces/<ns>/… make. A caller allowed to read facts in a namespace the operator does not watch is
  // told "no fact tier for identity <ns>/web" (single) or gets 200 with no flags (bulk), so an OpenFeature client
  // silently evaluates defaults instead of learning that this operator does not serve that namespace.
  it('answers a namespace the operator does not watch as such, not as an identity without that flag', async () => {
    const single = await ofrep('/tier', tok.aReader, { targetingKey: `${unwatched}_web` });
    expect(single.status).not.toBe(200);
    expect(single.body.errorDetails).toContain('not watched');
    const bulk = await ofrep('', tok.aReader, { targetingKey: `${unwatched}_web` });
    expect(bulk.status).not.toBe(200);
    expect(bulk.body.errorDetails).toContain('not watched');
    const ctx = await ofrep('', tok.aReader, { targetingKey: 'web', namespace: unwatched });
    expect(ctx.status).not.toBe(200);
  });

  // FINDING 1 (same root, the other body-dependent route), fixed: the ApplicationSet generator answers a namespace the
  // operator does not watch with 200 and no parameter sets. Argo CD takes that for "no identities" and deletes
  // every Application the generator made (an error would keep them), e.g. after a typo in the namespace or a
  // --namespaces change.
  it('refuses an unwatched namespace on the ApplicationSet generator instead of answering no identities', async () => {
    const r = await call(fx.op, 'POST', '/api/v1/getparams.execute', {
      token: tok.aReader,
      body: { applicationSetName: 'x', input: { parameters: { namespace: unwatched } } },
    });
    expect(r.status).toBe(404);
    expect(r.text).toContain('not watched');
  });

  it('refuses an unwatched namespace to a caller who may not read there, before anything else', async () => {
    for (const path of ['', '/tier']) {
      const r = await ofrep(path, tok.bAdmin, { targetingKey: `${unwatched}_web` });
      expect(r.status).toBe(403);
      leaksNothing(r);
    }
  });
});

/** The plugin's render with the repo-server's token, as the sidecar runs it. */
async function render(env: Record<string, string>) {
  const tokenDir = mkdtempSync(join(tmpdir(), 'atk-token-'));
  const tokenFile = join(tokenDir, 'token');
  writeFileSync(tokenFile, tok.repoServer);
  return renderWithPlugin(
    { 'cm.yaml': 'tier: {{ fact "tier" }}\nns: {{ namespace }}\n' },
    {
      FLAGOPS_URL: fx.op.url,
      FLAGOPS_NAMESPACE: fx.ns, // the sidecar's namespace
      FLAGOPS_TOKEN_FILE: tokenFile,
      ...env,
    },
  );
}

describe("render.mjs with the repo-server's token (bound in every application namespace)", () => {
  it("renders an Application in another namespace with that namespace's identity", async () => {
    const r = await render({ ARGOCD_APP_NAME: `${a}_web` });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`tier: a-gold\nns: ${a}\n`);
  });

  // FINDING 2, fixed: an Application outside Argo CD's namespace (Argo CD sets ARGOCD_APP_NAME=<ns>_<name>) chooses any
  // other namespace with its own plugin env FLAGOPS_NAMESPACE, and the render reads it with the repo-server's
  // token, which docs/argocd.md says to bind in every application namespace. A tenant allowed to create
  // Applications in namespace `a` (AppProject sourceNamespaces) thus renders tenant `b`'s facts into its own
  // manifests. docs/argocd.md says the `<namespace>_<name>` form "wins over FLAGOPS_NAMESPACE"; render.mjs's
  // target() lets ARGOCD_ENV_FLAGOPS_NAMESPACE win (and test/argocd/render.test.ts asserts that).
  it('keeps an Application of namespace a in namespace a, whatever its plugin env FLAGOPS_NAMESPACE says', async () => {
    const r = await render({ ARGOCD_APP_NAME: `${a}_web`, ARGOCD_ENV_FLAGOPS_NAMESPACE: b });
    expect(r.stdout).not.toContain('b-private');
    expect(r.stdout).not.toContain(`ns: ${b}`);
  });

  // FINDING 2 (same root), fixed: with the plugin env FLAGOPS_IDENTITY, an Application of namespace `a` drops its own
  // namespace and reads the identity in the sidecar's FLAGOPS_NAMESPACE (the default namespace of Argo CD's own
  // Applications), another tenant's namespace.
  it('keeps an Application of namespace a in namespace a when it names another identity', async () => {
    const r = await render({ ARGOCD_APP_NAME: `${a}_other-app`, ARGOCD_ENV_FLAGOPS_IDENTITY: 'web' });
    expect(r.stdout).not.toContain('default-tier');
    expect(r.stdout).not.toContain(`ns: ${fx.ns}`);
  });
});

describe('deploy/argocd: the token the plugin sends', () => {
  // FINDING 3, fixed: repo-server-patch.yaml projects the repo-server's token with the API server's own audience, and
  // the sidecar sends it to FLAGOPS_URL (plain http:// in the patch) on every render. Whoever can read that
  // traffic, or the store itself, holds a credential that the Kubernetes API accepts as argocd-repo-server. A token
  // for an audience of the store's own (`audience: flagops-data-store`, operator --token-audiences) is useless
  // anywhere else; the operator already supports it (test/integration/audience.test.ts).
  it("projects the plugin's token for the store's audience, not the API server's", () => {
    const patch = readFileSync(
      join(import.meta.dirname, '../../deploy/argocd/repo-server-patch.yaml'),
      'utf8',
    );
    expect(patch).toMatch(/serviceAccountToken:\s*\{[^}]*audience:\s*flagops-data-store/);
  });
});
