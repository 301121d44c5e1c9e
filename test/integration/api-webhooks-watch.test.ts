/** Signed webhooks from outside systems, and the Server-Sent Events change feed. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentFacts } from '../../src/api/types.js';
import { corePath, factsPath } from '../../src/kube/paths.js';
import { sign } from '../../src/server/webhooks/signature.js';
import { kubectl } from '../control-plane/kubectl.js';
import { ROLES } from '../support/api.js';
import {
  adminClient,
  call,
  controlPlane,
  eventually,
  newNamespace,
  serviceAccountWithRole,
  startTestOperator,
  type TestOperator,
} from '../support/cluster.js';

const KEY = 'webhook-shared-key-7d1e';
let ns: string;
let forbiddenNs: string;
let op: TestOperator;
let token: string;
let dir: string;

beforeAll(async () => {
  const client = adminClient();
  ns = await newNamespace('hooks');
  forbiddenNs = await newNamespace('hooks-no');
  token = await serviceAccountWithRole(ns, 'admin', ROLES.admin);
  await client.create(corePath('secrets', ns), {
    metadata: { name: 'billing-key' },
    data: { key: Buffer.from(KEY).toString('base64') },
  });
  dir = mkdtempSync(join(tmpdir(), 'flagops-hooks-'));
  const file = join(dir, 'webhooks.yaml');
  writeFileSync(
    file,
    `webhooks:\n  - name: billing\n    secretRef: { namespace: ${ns}, name: billing-key, key: key }\n    namespaces: [${ns}]\n`,
  );
  op = await startTestOperator({ namespaces: [ns, forbiddenNs], extraArgs: [`--webhooks-config=${file}`] });
}, 60_000);
afterAll(async () => {
  await op?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A body and the headers of one signed delivery, to send more than once. */
function signed(body: unknown) {
  const raw = JSON.stringify(body);
  const ts = String(Math.floor(Date.now() / 1000));
  return {
    raw,
    headers: {
      'content-type': 'application/json',
      'x-flagops-timestamp': ts,
      'x-flagops-signature': sign(KEY, ts, raw),
    },
  };
}

function post(
  body: unknown,
  opts: { key?: string; timestamp?: number; signature?: string | null; name?: string } = {},
) {
  const raw = JSON.stringify(body);
  const ts = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-flagops-timestamp': ts };
  const signature = opts.signature === undefined ? sign(opts.key ?? KEY, ts, raw) : opts.signature;
  if (signature !== null) headers['x-flagops-signature'] = signature;
  return call(op, 'POST', `/api/v1/webhooks/${opts.name ?? 'billing'}`, { rawBody: raw, headers });
}

describe('signed webhooks', () => {
  it('applies facts from a correctly signed request and records the origin', async () => {
    const r = await post({ namespace: ns, identity: 'customer-42', facts: { tier: 'gold', seats: 12 } });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ tier: 'gold', seats: 12 });
    expect(op.store.get(ns, 'customer-42')?.facts?.values).toEqual({ tier: 'gold', seats: 12 });
    const obj = await adminClient().get<DeploymentFacts>(factsPath(ns, 'customer-42'));
    expect(obj.metadata.annotations?.['flagops.io/last-written-by']).toBe('webhook:billing');
  });

  it('tells in the identity view where each fact came from: GitOps, kubectl, the API, a webhook, a source', async () => {
    const id = 'provenance';
    const manifest = JSON.stringify({
      apiVersion: 'flagops.io/v1alpha1',
      kind: 'DeploymentFacts',
      metadata: { name: id, namespace: ns },
      spec: { facts: { tier: 'gold' } },
    });
    const gitops = await kubectl(
      controlPlane(),
      ['apply', '--server-side', '--field-manager=argocd-controller', '-f', '-'],
      { input: manifest },
    );
    expect(gitops.code).toBe(0);
    const patch = await kubectl(controlPlane(), [
      '-n',
      ns,
      'patch',
      'deploymentfacts',
      id,
      '--type=merge',
      '-p',
      '{"spec":{"facts":{"region":"eu"}}}',
    ]);
    expect(patch.code).toBe(0);
    const put = await call(op, 'PUT', `/api/v1/namespaces/${ns}/identities/${id}/facts/max-replicas`, {
      token,
      body: { value: 3 },
    });
    expect(put.status).toBe(200);
    expect((await post({ namespace: ns, identity: id, facts: { plan: 'pro' } })).status).toBe(200);
    // What a fact source does: server-side apply under its own field manager.
    await adminClient().apply(
      factsPath(ns, id),
      {
        apiVersion: 'flagops.io/v1alpha1',
        kind: 'DeploymentFacts',
        metadata: { name: id, namespace: ns },
        spec: { facts: { seats: 12 } },
      },
      'flagops-source/billing-db',
    );
    await eventually(async () => {
      const view = await call(op, 'GET', `/api/v1/namespaces/${ns}/identities/${id}`, { token });
      expect(view.status).toBe(200);
      expect(view.body.provenance).toMatchObject({
        tier: { manager: 'argocd-controller', path: 'gitops', by: 'argocd-controller' },
        region: { manager: 'kubectl-patch', path: 'kubectl' },
        'max-replicas': {
          manager: 'flagops-data-store-api',
          path: 'api',
          by: `user:system:serviceaccount:${ns}:admin`,
        },
        plan: { manager: 'flagops-data-store-api', path: 'webhook', by: 'webhook:billing' },
        seats: { manager: 'flagops-source/billing-db', path: 'source', by: 'billing-db' },
      });
      for (const p of Object.values(view.body.provenance as Record<string, { at?: string }>))
        expect(p.at).toMatch(/^\d{4}-/);
    });
  });

  it('answers a refused write with its 4xx, counts it as rejected, and lets the sender retry the same request', async () => {
    const manifest = JSON.stringify({
      apiVersion: 'flagops.io/v1alpha1',
      kind: 'DeploymentFacts',
      metadata: { name: 'gitops-owned', namespace: ns },
      spec: { facts: { tier: 'silver' } },
    });
    expect(
      (
        await kubectl(
          controlPlane(),
          ['apply', '--server-side', '--field-manager=argocd-controller', '-f', '-'],
          { input: manifest },
        )
      ).code,
    ).toBe(0);
    const { raw, headers } = signed({ namespace: ns, identity: 'gitops-owned', facts: { tier: 'gold' } });
    const first = await call(op, 'POST', '/api/v1/webhooks/billing', { rawBody: raw, headers });
    expect(first.status).toBe(409);
    expect(first.body.error.message).toContain('argocd-controller');
    // Not a replay: the refused delivery did not happen, so the same signed request may come again.
    expect((await call(op, 'POST', '/api/v1/webhooks/billing', { rawBody: raw, headers })).status).toBe(409);
    const text = await (await fetch(`${op.url}/metrics`)).text();
    expect(text).toMatch(/flagops_webhook_deliveries_total\{webhook="billing",result="rejected_409"\} 2/);
  });

  it('removes a fact given as null, idempotently', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(
      (await post({ namespace: ns, identity: 'customer-42', facts: { seats: null } }, { timestamp: now }))
        .body,
    ).toEqual({ tier: 'gold' });
    // Another timestamp: the same signed request twice would be a replay. (Taken from the first one, not from
    // the clock, which may have ticked in between and made it the same.)
    const again = await post(
      { namespace: ns, identity: 'customer-42', facts: { seats: null } },
      { timestamp: now - 1 },
    );
    expect(again.status).toBe(200);
  });

  it.each([
    ['a missing signature', { signature: null }, 'missing x-flagops-signature'],
    ['a wrong key', { key: 'not-the-key' }, 'does not match'],
    ['a tampered signature', { signature: `sha256=${'0'.repeat(64)}` }, 'does not match'],
    ['a stale timestamp', { timestamp: Math.floor(Date.now() / 1000) - 3600 }, 'outside the 5-minute window'],
  ])('refuses %s with 401', async (_what, opts, message) => {
    const r = await post({ namespace: ns, identity: 'customer-42', facts: { tier: 'hacked' } }, opts);
    expect(r.status).toBe(401);
    expect(r.body.error.message).toContain(message);
    expect(op.store.get(ns, 'customer-42')?.facts?.values.tier).toBe('gold');
  });

  it('refuses a replayed request', async () => {
    const body = { namespace: ns, identity: 'customer-43', facts: { tier: 'silver' } };
    const { raw, headers } = signed(body);
    expect((await call(op, 'POST', '/api/v1/webhooks/billing', { rawBody: raw, headers })).status).toBe(200);
    const replay = await call(op, 'POST', '/api/v1/webhooks/billing', { rawBody: raw, headers });
    expect(replay.status).toBe(401);
    expect(replay.body.error.message).toContain('replay');
  });

  it('lets a sender retry a signed request that failed', async () => {
    const body = { namespace: forbiddenNs, identity: 'x', facts: { a: '1' } };
    const { raw, headers } = signed(body);
    expect((await call(op, 'POST', '/api/v1/webhooks/billing', { rawBody: raw, headers })).status).toBe(403);
    // Not "replay": the first delivery did not happen.
    expect((await call(op, 'POST', '/api/v1/webhooks/billing', { rawBody: raw, headers })).status).toBe(403);
  });

  it('refuses namespaces the webhook may not write, unknown webhooks and bad bodies', async () => {
    const other = await post({ namespace: forbiddenNs, identity: 'x', facts: { a: '1' } });
    expect(other.status).toBe(403);
    expect(other.body.error.message).toContain(forbiddenNs);
    expect((await post({ namespace: ns, identity: 'x', facts: {} }, { name: 'nope' })).status).toBe(404);
    const bad = await post({ namespace: ns, identity: 'x', facts: { tier: { nested: 1 } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('body.facts.tier');
  });

  it('never logs the key or a signature', () => {
    const logs = op.logs.join('\n');
    expect(logs).not.toContain(KEY);
    expect(logs).not.toContain(Buffer.from(KEY).toString('base64'));
    expect(logs).not.toContain('sha256=');
  });
});

/** Reads SSE events from a streaming response until `count` events of type `change`/`reset` have arrived. */
async function readEvents(res: Response, count: number, timeoutMs = 5000) {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: { id?: string; event: string; data: Record<string, unknown> }[] = [];
  let buffer = '';
  const deadline = Date.now() + timeoutMs;
  while (events.length < count && Date.now() < deadline) {
    const { value, done } = await Promise.race([
      reader.read(),
      new Promise<{ value: undefined; done: true }>((r) =>
        setTimeout(() => r({ value: undefined, done: true }), deadline - Date.now()),
      ),
    ]);
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    for (let i = buffer.indexOf('\n\n'); i >= 0; i = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, i);
      buffer = buffer.slice(i + 2);
      const fields = Object.fromEntries(
        block
          .split('\n')
          .filter((l) => !l.startsWith(':') && l.includes(':'))
          .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
      );
      if (fields.event)
        events.push({ id: fields.id, event: fields.event, data: JSON.parse(fields.data ?? 'null') });
    }
  }
  await reader.cancel();
  return events;
}

describe('the change feed', () => {
  const watch = (query = '', headers: Record<string, string> = {}) =>
    fetch(`${op.url}/api/v1/watch${query}`, { headers: { authorization: `Bearer ${token}`, ...headers } });

  it('sends one event per change with key names only, and resumes from Last-Event-ID', async () => {
    const res = await watch(`?namespace=${ns}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const pending = readEvents(res, 2);
    await call(op, 'PUT', `/api/v1/namespaces/${ns}/identities/feed/facts/tier`, {
      token,
      body: { value: 'gold' },
    });
    await call(op, 'PUT', `/api/v1/namespaces/${ns}/identities/feed/secrets/db`, {
      token,
      body: { value: 'feed-secret-value' },
    });
    const events = await pending;
    expect(events.map((e) => [e.event, e.data.kind, e.data.name, e.data.keys])).toEqual([
      ['change', 'facts', 'feed', ['tier']],
      ['change', 'secrets', 'feed', ['db']],
    ]);
    expect(JSON.stringify(events)).not.toContain('feed-secret-value');

    const lastId = events[0]!.id!;
    const resumed = await readEvents(
      await watch(`?namespace=${ns}&identity=feed`, { 'last-event-id': lastId }),
      1,
    );
    expect(resumed[0]).toMatchObject({ event: 'change', id: events[1]!.id, data: { kind: 'secrets' } });
  });

  it('requires watch permission', async () => {
    const reader = await serviceAccountWithRole(ns, 'getter', [
      { apiGroups: ['flagops.io'], resources: ['deploymentfacts'], verbs: ['get'] },
    ]);
    const res = await fetch(`${op.url}/api/v1/watch?namespace=${ns}`, {
      headers: { authorization: `Bearer ${reader}` },
    });
    expect(res.status).toBe(403);
    await eventually(async () => expect((await fetch(`${op.url}/api/v1/watch`)).status).toBe(401));
  });
});
