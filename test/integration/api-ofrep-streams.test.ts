/**
 * OFREP event streams (ADR-0008) against a real control plane: the published `@openfeature/ofrep-web-provider`,
 * with no polling, follows fact changes made through the API and by GitOps over the stream its bulk evaluation
 * names (EventSource is undici's, the WHATWG one Node lacks: no Authorization header, as in a browser); the
 * stream's scoping and RBAC; and the bulk ETag, which moves with the served facts even where the generation
 * does not (an object deleted and created again) and stays put for metadata-only changes.
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';
import { OpenFeature, ProviderEvents } from '@openfeature/web-sdk';
import { EventSource } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useApi } from '../support/api.js';
import {
  adminClient,
  call,
  eventually,
  serviceAccountWithRole,
  startTestOperator,
  type TestOperator,
} from '../support/cluster.js';
import { applyFacts } from '../support/gitops.js';
import { followSse } from '../support/sse.js';

const fx = useApi('ofrep-sse');
const ctx = (targetingKey: string) => ({ context: { targetingKey } });
const dfPath = (ns: string, name = '') =>
  `/apis/flagops.io/v1alpha1/namespaces/${ns}/deploymentfacts${name ? `/${name}` : ''}`;

let getterToken: string;
beforeAll(async () => {
  (globalThis as Record<string, unknown>).EventSource ??= EventSource;
  getterToken = await serviceAccountWithRole(fx.ns, 'getter', [
    { apiGroups: ['flagops.io'], resources: ['deploymentfacts'], verbs: ['get'] },
  ]);
}, 60_000);

describe('with the published @openfeature/ofrep-web-provider (no polling)', () => {
  afterAll(async () => {
    await OpenFeature.close();
  });

  it('follows fact changes made through the API and by GitOps over the event stream', async () => {
    await applyFacts(fx.ns, 'web-1', { tier: 'gold', seats: 3 }, true);
    await eventually(async () => {
      const r = await call(fx.op, 'GET', `/api/v1/namespaces/${fx.ns}/identities/web-1/facts`, {
        token: fx.tokens.admin,
      });
      expect(r.body).toEqual({ tier: 'gold', seats: 3 });
    });
    await OpenFeature.setContext('sse', { targetingKey: 'web-1' });
    await OpenFeature.setProviderAndWait(
      'sse',
      new OFREPWebProvider({
        baseUrl: fx.op.url,
        headers: [['Authorization', `Bearer ${fx.tokens.factsReader}`]],
        cacheMode: 'disabled',
        pollInterval: 0,
      }),
    );
    const client = OpenFeature.getClient('sse');
    let changes = 0;
    client.addHandler(ProviderEvents.ConfigurationChanged, () => {
      changes++;
    });
    expect(client.getStringValue('tier', 'none')).toBe('gold');
    expect(client.getNumberValue('seats', 0)).toBe(3);

    // Through the API (server-side apply as the API's field manager; git owns tier and seats)…
    expect(
      (
        await call(fx.op, 'PUT', `/api/v1/namespaces/${fx.ns}/identities/web-1/facts/region`, {
          token: fx.tokens.admin,
          body: { value: 'eu-west-1' },
        })
      ).status,
    ).toBe(200);
    await eventually(() => expect(client.getStringValue('region', 'none')).toBe('eu-west-1'), 10_000);
    // …and by GitOps, another field manager.
    await applyFacts(fx.ns, 'web-1', { tier: 'platinum', seats: 7 }, true);
    await eventually(() => expect(client.getStringValue('tier', 'none')).toBe('platinum'), 10_000);
    await eventually(() => expect(client.getNumberValue('seats', 0)).toBe(7), 10_000);
    expect(changes).toBeGreaterThanOrEqual(2);
    // The stream's URL carries a ticket: it is never logged.
    const bulk = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags', {
      token: fx.tokens.factsReader,
      body: ctx('web-1'),
    });
    const ticket = new URL(bulk.body.eventStreams[0].endpoint.requestUri, fx.op.url).searchParams.get(
      'ticket',
    )!;
    expect(ticket.length).toBeGreaterThan(20);
    expect(fx.op.logs.join('\n')).not.toContain(ticket);
  });
});

describe('the event stream', () => {
  it('is named only to callers who may watch the identity, and speaks ADR-0008', async () => {
    await applyFacts(fx.ns, 'wire-1', { tier: 'gold' }, false);
    const denied = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags', {
      token: getterToken,
      body: ctx('wire-1'),
    });
    expect(denied.status).toBe(200);
    expect(denied.body).not.toHaveProperty('eventStreams');

    const ok = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags', {
      token: fx.tokens.factsReader,
      body: ctx('wire-1'),
    });
    expect(ok.body.eventStreams).toEqual([
      { type: 'sse', endpoint: { requestUri: expect.stringMatching(/^\/ofrep\/v1\/event-stream\?ticket=/) } },
    ]);
    const stream = await followSse(fx.op.url + ok.body.eventStreams[0].endpoint.requestUri);
    expect(stream.res.status).toBe(200);
    expect(stream.res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    await applyFacts(fx.ns, 'wire-2', { tier: 'gold' }, false); // another identity: nothing
    await applyFacts(fx.ns, 'wire-1', { tier: 'silver' }, false);
    await eventually(() => expect(stream.events).toHaveLength(1), 10_000);
    const [event] = stream.events;
    expect(event!.event).toBe('message');
    expect(event!.id).toMatch(/^[0-9a-f]{8}\.\d+$/);
    expect(event!.data).toEqual({ type: 'refetchEvaluation', etag: expect.stringMatching(/^"\d+"$/) });
    // The etag, sent back as flagConfigEtag, is answered at once here: this replica has those facts.
    const refetch = await call(
      fx.op,
      'POST',
      `/ofrep/v1/evaluate/flags?flagConfigEtag=${encodeURIComponent(event!.data.etag!)}`,
      { token: fx.tokens.factsReader, body: ctx('wire-1') },
    );
    expect(refetch.body.flags).toEqual([expect.objectContaining({ key: 'tier', value: 'silver' })]);
    await stream.close();
  });
});

describe('replicas behind one Service', () => {
  // Two replicas that share --stream-ticket-key-file (the chart's Secret), and one with a key of its own.
  const replicas: TestOperator[] = [];
  afterAll(async () => {
    for (const r of replicas) await r.stop();
  });

  it('open an event-stream URL that another replica issued, and refetch at once (its revisions do not compare)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ticket-key-'));
    const keyFile = join(dir, 'key');
    writeFileSync(keyFile, `${'k'.repeat(64)}\n`);
    for (const extraArgs of [
      [`--stream-ticket-key-file=${keyFile}`],
      [`--stream-ticket-key-file=${keyFile}`],
      [],
    ])
      replicas.push(await startTestOperator({ namespaces: [fx.ns], extraArgs }));
    const [a, b, alone] = replicas as [TestOperator, TestOperator, TestOperator];
    await applyFacts(fx.ns, 'rep-1', { tier: 'gold' }, false);
    await eventually(async () =>
      expect(
        (
          await call(a, 'POST', '/ofrep/v1/evaluate/flags', {
            token: fx.tokens.factsReader,
            body: ctx('rep-1'),
          })
        ).body.flags,
      ).toHaveLength(1),
    );
    const issued = await call(a, 'POST', '/ofrep/v1/evaluate/flags', {
      token: fx.tokens.factsReader,
      body: ctx('rep-1'),
    });
    const uri = issued.body.eventStreams[0].endpoint.requestUri as string;

    const onB = await followSse(b.url + uri);
    expect(onB.res.status).toBe(200);
    await eventually(() => expect(onB.events).toHaveLength(1), 10_000); // the refetch a foreign ticket gets
    await applyFacts(fx.ns, 'rep-1', { tier: 'silver' }, false);
    await eventually(() => expect(onB.events).toHaveLength(2), 10_000);
    await onB.close();

    const onAlone = await followSse(alone.url + uri);
    expect(onAlone.res.status).toBe(401);
    expect(await onAlone.res.text()).toContain('issued with another key');
  });

  it('refuses to start with a key too short to be one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ticket-key-'));
    writeFileSync(join(dir, 'key'), 'short\n');
    await expect(
      startTestOperator({ namespaces: [fx.ns], extraArgs: [`--stream-ticket-key-file=${join(dir, 'key')}`] }),
    ).rejects.toThrow('holds 5 bytes; it needs at least 32');
  });
});

describe('the bulk ETag', () => {
  // As a caller who may not watch: no stream URL (whose ticket has a time window) in the answer or its ETag.
  const bulk = (name: string, etag?: string) =>
    call(fx.op, 'POST', '/ofrep/v1/evaluate/flags', {
      token: getterToken,
      body: ctx(name),
      headers: etag ? { 'if-none-match': etag } : {},
    });
  const view = (name: string) =>
    call(fx.op, 'GET', `/api/v1/namespaces/${fx.ns}/identities/${name}`, { token: fx.tokens.admin });

  it('changes when the facts do though the generation does not: deleted, then created again', async () => {
    const kube = adminClient();
    const manifest = (tier: string) => ({
      apiVersion: 'flagops.io/v1alpha1',
      kind: 'DeploymentFacts',
      metadata: { name: 'etag-1', namespace: fx.ns },
      spec: { facts: { tier } },
    });
    await kube.create(dfPath(fx.ns), manifest('gold'));
    await eventually(async () => expect((await bulk('etag-1')).body.flags).toHaveLength(1));
    const first = await bulk('etag-1');
    expect((await view('etag-1')).body.status.facts.generation).toBe(1);

    await kube.delete(dfPath(fx.ns, 'etag-1'));
    await eventually(async () => expect((await bulk('etag-1')).body.flags).toEqual([]));
    await kube.create(dfPath(fx.ns, ''), manifest('silver'));
    await eventually(async () =>
      expect((await bulk('etag-1')).body.flags).toEqual([expect.objectContaining({ value: 'silver' })]),
    );
    // The same generation as the first object's: only the served facts tell the two apart.
    expect((await view('etag-1')).body.status.facts.generation).toBe(1);
    const again = await bulk('etag-1', first.headers.get('etag')!);
    expect(again.status).toBe(200);
    expect(again.headers.get('etag')).not.toBe(first.headers.get('etag'));
  });

  it('stays put for changes that serve nothing new: labels, annotations, status', async () => {
    await applyFacts(fx.ns, 'etag-2', { tier: 'gold' }, true);
    await eventually(async () => expect((await bulk('etag-2')).body.flags).toHaveLength(1));
    // Let the operator's own status write land first, then take the ETag.
    await eventually(async () => expect((await view('etag-2')).body.status.facts.ready).toBe(true));
    const before = await bulk('etag-2');
    const patched = await adminClient().mergePatch(dfPath(fx.ns, 'etag-2'), {
      metadata: { labels: { team: 'payments' }, annotations: { note: 'metadata only' } },
    });
    const rv = (patched as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    await eventually(async () => expect((await view('etag-2')).body.status.facts.resourceVersion).toBe(rv));
    const after = await bulk('etag-2', before.headers.get('etag')!);
    expect(after.status).toBe(304);
  });
});
