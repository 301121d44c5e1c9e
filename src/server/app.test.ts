/** The route table and what the framework derives from it: authorisation, 405 + Allow, labels, OpenAPI. */
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Metrics } from '../metrics/metrics.js';
import { Store } from '../store/store.js';
import type { Writer } from '../writes/writer.js';
import { createApp, type ServerDeps } from './app.js';
import type { User } from './auth/authenticator.js';
import { type Authorizer, allowAll, type Permission } from './auth/authorizer.js';
import { noAuth } from './auth/middleware.js';
import { openApiDocument } from './openapi.js';
import { type AnyRoute, checkRouteTable, route } from './route-spec.js';
import { ROUTES } from './route-table.js';

const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of closers.splice(0)) await c();
});

function store() {
  const s = new Store();
  s.setFacts('apps', 'customer-1', {
    values: { tier: 'gold', seats: 3 },
    generation: 2,
    resourceVersion: '7',
    ready: true,
    reason: 'Indexed',
  });
  return s;
}

async function serve(extra: Partial<ServerDeps> = {}) {
  const app = createApp({
    reader: store(),
    writer: {} as Writer,
    auth: { authenticator: noAuth, authorizer: allowAll },
    ready: () => true,
    log: pino({ level: 'silent' }),
    defaultNamespace: 'apps',
    ...extra,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  closers.push(() => app.close());
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

describe('the route table', () => {
  it('declares, for every route, exactly one way to be authorised', () => {
    expect(() => checkRouteTable(ROUTES)).not.toThrow();
    for (const r of ROUTES) {
      const ways = [r.public, r.permission, r.bodyPermission, r.authorizeInHandler].filter(
        (w) => w !== undefined,
      );
      expect(ways, `${r.method} ${r.path}`).toHaveLength(1);
    }
    // The public routes are exactly these: probes, metrics, the document, the UI's files and signed webhooks.
    expect(
      ROUTES.filter((r) => r.public)
        .map((r) => r.path)
        .sort(),
    ).toEqual([
      '/',
      '/api/v1/webhooks/:name',
      '/healthz',
      '/metrics',
      '/openapi.json',
      '/readyz',
      '/ui',
      '/ui/',
      '/ui/:file',
    ]);
  });

  it('refuses a non-public route that declares no permission, and one declared twice', () => {
    const bare = {
      method: 'GET',
      path: '/x',
      tags: [],
      summary: 'x',
      responses: {},
      errors: [],
      handler: () => 1,
    } as const;
    expect(() => checkRouteTable([...ROUTES, route(bare)])).toThrow('route GET /x declares no permission');
    expect(() =>
      checkRouteTable([route({ ...bare, public: true }), route({ ...bare, public: true })]),
    ).toThrow('declared twice');
    expect(() =>
      checkRouteTable([
        route({ ...bare, public: true, permission: { verb: 'get', resource: 'deploymentfacts' } }),
      ]),
    ).toThrow('more than one way');
    expect(() =>
      checkRouteTable([
        route({ ...bare, permission: { verb: 'get', resource: 'deploymentfacts', name: { param: 'id' } } }),
      ]),
    ).toThrow('path parameter id');
    // createApp checks the table too: a server cannot start with an unauthorised route.
    expect(() =>
      createApp({
        reader: new Store(),
        writer: {} as Writer,
        auth: { authenticator: noAuth, authorizer: allowAll },
        ready: () => true,
        log: pino({ level: 'silent' }),
        defaultNamespace: 'apps',
        routes: [route(bare)],
      }),
    ).toThrow('declares no permission');
  });

  it('documents every route, and only those, in the OpenAPI document', () => {
    const doc = openApiDocument(ROUTES);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(
      ROUTES.map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`).sort(),
    );
    const put = doc.paths['/api/v1/namespaces/{ns}/identities/{id}/facts/{name}']!.put as {
      summary: string;
      parameters: { name: string; in: string }[];
      requestBody: unknown;
      responses: Record<string, unknown>;
    };
    expect(put.summary).toContain('needs patch deploymentfacts {id} in {ns}');
    expect(put.parameters.map((p) => `${p.in}:${p.name}`)).toEqual([
      'path:ns',
      'path:id',
      'path:name',
      'query:force',
      'header:If-Match',
    ]);
    expect(Object.keys(put.responses).sort()).toEqual([
      '200',
      '400',
      '401',
      '403',
      '409',
      '412',
      '413',
      '503',
    ]);
    expect(JSON.stringify(doc.paths['/healthz'])).toContain('"security":[]');
  });
});

describe('the framework', () => {
  /** An authorizer that records what it was asked and allows only `get`. */
  function recording() {
    const asked: Permission[] = [];
    const authorizer: Authorizer = {
      allowed: async (_u: User, p: Permission) => {
        asked.push(p);
        return p.verb === 'get';
      },
    };
    return { asked, authorizer };
  }

  it('authorises every route from its declared permission before the handler runs', async () => {
    const { asked, authorizer } = recording();
    const url = await serve({ auth: { authenticator: noAuth, authorizer } });
    const ok = await fetch(`${url}/api/v1/namespaces/apps/identities/customer-1/facts`);
    expect(ok.status).toBe(200);
    expect(asked).toEqual([
      { verb: 'get', resource: 'deploymentfacts', namespace: 'apps', name: 'customer-1' },
    ]);
    asked.length = 0;
    const denied = await fetch(`${url}/api/v1/namespaces/apps/identities/customer-1/facts/tier`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{"value":"x"}',
    });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { error: { message: string } }).error.message).toBe(
      'user "local" may not patch deploymentfacts.flagops.io "customer-1" in namespace "apps"',
    );
    asked.length = 0;
    // A permission that depends on the body is checked once the body is parsed.
    const ofrep = await fetch(`${url}/ofrep/v1/evaluate/flags/tier`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ context: { targetingKey: 'customer-1', namespace: 'apps' } }),
    });
    expect(ofrep.status).toBe(200);
    expect(asked).toEqual([
      { verb: 'get', resource: 'deploymentfacts', namespace: 'apps', name: 'customer-1' },
    ]);
  });

  it('refuses a 2xx from an in-handler route that never authorised, and serves one that did', async () => {
    const base = {
      method: 'GET' as const,
      tags: [],
      summary: 'x',
      responses: {},
      errors: [],
      authorizeInHandler: 'test',
    };
    const url = await serve({
      routes: [
        route({ ...base, path: '/forgot', handler: () => ({ leaked: true }) }),
        route({
          ...base,
          path: '/checked',
          handler: async (ctx) => {
            await ctx.authorize({ verb: 'get', resource: 'deploymentfacts', namespace: 'apps' });
            return { ok: true };
          },
        }),
      ],
    });
    const forgot = await fetch(`${url}/forgot`);
    expect(forgot.status).toBe(500);
    expect(await forgot.text()).not.toContain('leaked');
    expect((await fetch(`${url}/checked`)).status).toBe(200);
  });

  it('answers 404 for a namespace the operator does not watch, after authorisation', async () => {
    const url = await serve({ watches: (ns) => ns === 'apps' });
    const res = await fetch(`${url}/api/v1/namespaces/other/identities/x/facts`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
      'namespace other is not watched by this operator',
    );
    expect((await fetch(`${url}/api/v1/namespaces/apps/identities/customer-1/facts`)).status).toBe(200);
  });

  it('answers a namespace named by the query or the body as unwatched too, in each route its own way', async () => {
    const url = await serve({ watches: (ns) => ns === 'apps' });
    const post = (path: string, body: unknown) =>
      fetch(url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    for (const path of ['/api/v1/identities?namespace=other', '/api/v1/watch?namespace=other']) {
      const res = await fetch(url + path);
      expect(res.status, path).toBe(404);
      expect(await res.text()).toContain('namespace other is not watched by this operator');
    }
    // OFREP: the context's mistake, so a client does not evaluate defaults as if the identity lacked the flag.
    for (const [path, key] of [
      ['/ofrep/v1/evaluate/flags/tier', 'tier'],
      ['/ofrep/v1/evaluate/flags', undefined],
    ]) {
      for (const context of [{ targetingKey: 'other_web' }, { targetingKey: 'web', namespace: 'other' }]) {
        const res = await post(path!, { context });
        expect(res.status, `${path} ${JSON.stringify(context)}`).toBe(400);
        expect(await res.json()).toEqual({
          ...(key ? { key } : {}),
          errorCode: 'INVALID_CONTEXT',
          errorDetails: 'namespace other is not watched by this operator',
        });
      }
    }
    // The ApplicationSet generator: an error keeps Argo CD's Applications, "no identities" would delete them.
    const appset = await post('/api/v1/getparams.execute', {
      applicationSetName: 'x',
      input: { parameters: { namespace: 'other' } },
    });
    expect(appset.status).toBe(404);
    expect(await appset.text()).toContain('namespace other is not watched by this operator');
    expect(
      (await post('/ofrep/v1/evaluate/flags', { context: { targetingKey: 'apps_customer-1' } })).status,
    ).toBe(200);
    expect((await fetch(`${url}/api/v1/identities?namespace=apps`)).status).toBe(200);
  });

  it('answers 405 with Allow on every known path for every method it does not declare', async () => {
    const url = await serve();
    const byPath = new Map<string, AnyRoute[]>();
    for (const r of ROUTES) byPath.set(r.path, [...(byPath.get(r.path) ?? []), r]);
    for (const [path, routes] of byPath) {
      const concrete = path.replace(/:ns/, 'apps').replace(/:\w+/g, 'x');
      const allowed = routes.map((r) => r.method);
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
        if (allowed.includes(method as never)) continue;
        const res = await fetch(url + concrete, { method });
        expect(res.status, `${method} ${path}`).toBe(405);
        expect(res.headers.get('allow')).toBe(allowed.join(', '));
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('MethodNotAllowed');
      }
    }
  });

  it('echoes a sane X-Request-Id, replaces any other, and labels metrics with templates only', async () => {
    const metrics = new Metrics(new Store());
    const url = await serve({ metrics });
    const sane = await fetch(`${url}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
    expect(sane.headers.get('x-request-id')).toBe('abc-123');
    const insane = await fetch(`${url}/nowhere`, { headers: { 'x-request-id': 'a b<script>' } });
    expect(insane.status).toBe(404);
    expect(insane.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    await fetch(`${url}/api/v1/namespaces/apps/identities/customer-1/facts/tier`);
    await fetch(`${url}/api/fact/customer-1`, { method: 'PATCH' });
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toContain(
      'route="/api/v1/namespaces/:ns/identities/:id/facts/:name",method="GET",status="200"',
    );
    expect(text).toContain('route="/api/fact/:id",method="PATCH",status="405"');
    expect(text).toContain('route="unmatched",method="GET",status="404"');
    expect(text).not.toContain('customer-1');
    expect(text).not.toContain('nowhere');
  });

  it('reads a body only within --max-body-bytes: 413, also for a body that is compressed', async () => {
    const url = await serve({ maxBodyBytes: 1024 });
    const path = `${url}/api/v1/namespaces/apps/identities/customer-1/facts/tier`;
    const big = JSON.stringify({ value: 'x'.repeat(2000) });
    const res = await fetch(path, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    expect(res.status).toBe(413);
    const { gzipSync } = await import('node:zlib');
    const zipped = await fetch(path, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(big),
    });
    expect(zipped.status).toBe(413);
    const odd = await fetch(path, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'content-encoding': 'zstd-ish' },
      body: '{}',
    });
    expect(odd.status).toBe(415);
  });

  it('keeps `__proto__` and `constructor` ordinary names in bodies and paths', async () => {
    const url = await serve();
    const res = await fetch(`${url}/api/v1/namespaces/apps/identities/customer-1/facts/constructor`);
    expect(res.status).toBe(404);
    const patch = await fetch(`${url}/api/v1/namespaces/apps/identities/customer-1/facts`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: '{"__proto__": "x"}',
    });
    expect(patch.status).toBe(400);
    expect(((await patch.json()) as { error: { field: string } }).error.field).toBe('body.__proto__');
  });

  it('validates path parameters with the field they name', async () => {
    const url = await serve();
    const res = await fetch(`${url}/api/v1/namespaces/Bad_NS/identities/x/facts`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: {
        code: 'BadRequest',
        message: 'namespace: must be a DNS label (lowercase letters, digits and dashes)',
        field: 'namespace',
      },
    });
    // A long (valid) identity is routed, not cut off by the router.
    const long = 'a'.repeat(250);
    expect((await fetch(`${url}/api/v1/namespaces/apps/identities/${long}/facts`)).status).toBe(404);
    const bad = await fetch(`${url}/api/fact/%ZZ`);
    expect(bad.status).toBe(400);
    expect(z.object({ error: z.object({ code: z.string() }) }).safeParse(await bad.json()).success).toBe(
      true,
    );
  });
});

describe('CORS with --cors-allowed-origins=*', () => {
  const ofrep = (url: string, origin: string) =>
    fetch(`${url}/ofrep/v1/evaluate/flags`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body: JSON.stringify({ context: { targetingKey: 'customer-1' } }),
    });
  const preflight = (url: string, origin: string) =>
    fetch(`${url}/ofrep/v1/evaluate/flags`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST' },
    });

  it('echoes a real origin', async () => {
    const url = await serve({ corsAllowedOrigins: ['*'] });
    const res = await ofrep(url, 'https://app.example.com');
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect((await preflight(url, 'http://localhost:3000')).status).toBe(204);
  });

  it.each(['null', 'file://', 'https://app.example.com/path', 'javascript:alert(1)'])(
    'never allows the opaque or malformed origin %j (sandboxed frames, file: pages)',
    async (origin) => {
      const url = await serve({ corsAllowedOrigins: ['*'] });
      const res = await ofrep(url, origin);
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      const pre = await preflight(url, origin);
      expect(pre.status).not.toBe(204);
      for (const [name] of pre.headers) expect(name).not.toMatch(/^access-control-/);
    },
  );
});
