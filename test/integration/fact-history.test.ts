/**
 * Fact history against a real API server: each change of an identity's served facts becomes a FactRevision owned
 * by its DeploymentFacts, naming who changed what through which path; the history route pages them, the facts
 * route serves `?revision` and `?asOf`; the limit prunes; numbers continue across a leader change and a racing
 * second replica does not record a change twice.
 */
import { describe, expect, it } from 'vitest';
import type { FactRevision } from '../../src/api/fact-revision.js';
import {
  REVISION_HASH_LABEL,
  REVISION_IDENTITY_UID_LABEL,
  REVISION_NUMBER_LABEL,
} from '../../src/api/fact-revision.js';
import type { DeploymentFacts } from '../../src/api/types.js';
import { revisionsPath } from '../../src/controller/fact-history/revisions.js';
import { factsPath, profilesPath } from '../../src/kube/paths.js';
import { useApi } from '../support/api.js';
import { adminClient, call, eventually, newNamespace, startTestOperator } from '../support/cluster.js';

const fx = useApi('history');
const client = () => adminClient();
const base = (ns: string, id: string) => `/api/v1/namespaces/${ns}/identities/${id}`;

const createFacts = (ns: string, name: string, facts: object, extra: object = {}) =>
  client().create<DeploymentFacts>(factsPath(ns), {
    apiVersion: 'flagops.io/v1alpha1',
    kind: 'DeploymentFacts',
    metadata: { name, namespace: ns, labels: { app: name } },
    spec: { facts, ...extra },
  });

const history = async (op: { url: string }, ns: string, id: string, token = fx.tokens.admin, query = '') => {
  const r = await call(op, 'GET', `${base(ns, id)}/history${query}`, { token });
  expect(r.status, r.text).toBe(200);
  return r.body as {
    items: { revision: number; facts: object; diff: object; writers: object[] }[];
    continue?: string;
  };
};

const revisionsOf = async (ns: string, uid: string) =>
  (
    await client().get<{ items: FactRevision[] }>(revisionsPath(ns), {
      query: { labelSelector: `${REVISION_IDENTITY_UID_LABEL}=${uid}` },
    })
  ).items
    .map((r) => r.spec.revision)
    .sort((a, b) => a - b);

const patchFacts = async (
  op: { url: string },
  ns: string,
  id: string,
  body: object,
  token: string | undefined = fx.tokens.admin,
) => {
  const r = await call(op, 'PATCH', `${base(ns, id)}/facts?force=true`, { token, body });
  expect(r.status, r.text).toBe(200);
};

describe('fact history', () => {
  it('records each change with its diff and who made it, owned by the DeploymentFacts', async () => {
    const created = await createFacts(fx.ns, 'c-42', { tier: 'gold', region: 'eu-1' });
    await eventually(async () =>
      expect((await history(fx.op, fx.ns, 'c-42', fx.tokens.factsReader)).items).toHaveLength(1),
    );
    const editor = fx.tokens.factsEditor;
    const latest = (facts: object) =>
      eventually(async () => {
        const h = await history(fx.op, fx.ns, 'c-42', fx.tokens.factsReader);
        expect(h.items.at(-1)?.facts).toEqual(facts);
        return h;
      });
    await patchFacts(fx.op, fx.ns, 'c-42', { tier: 'silver', beta: true }, editor);
    await latest({ tier: 'silver', region: 'eu-1', beta: true });
    // managedFields times have second precision: a removal is attributed only to a write in a later second.
    await new Promise((r) => setTimeout(r, 1100));
    await patchFacts(fx.op, fx.ns, 'c-42', { beta: null }, editor);
    await latest({ tier: 'silver', region: 'eu-1' });
    // A kubectl-style write of the spec (the admin client's field manager is undici). undici then owns no fact,
    // so managedFields keep no entry of it: the removal is recorded with nobody named rather than the wrong one.
    await client().mergePatch(factsPath(fx.ns, 'c-42'), { spec: { facts: { region: null } } });
    const page = await latest({ tier: 'silver' });

    const [first, second, third, fourth] = page.items;
    expect(page.items.map((i) => i.revision)).toEqual([1, 2, 3, 4]);
    expect(first).toMatchObject({
      facts: { tier: 'gold', region: 'eu-1' },
      diff: { added: { region: 'eu-1', tier: 'gold' }, changed: {}, removed: {} },
      writers: [{ manager: 'undici', path: 'other', by: 'undici', facts: ['region', 'tier'] }],
    });
    // The API's writes name their user, the removal too (whoever wrote the spec last).
    const by = `user:system:serviceaccount:${fx.ns}:facts-editor`;
    expect(second).toMatchObject({
      diff: { added: { beta: true }, changed: { tier: { from: 'gold', to: 'silver' } }, removed: {} },
      writers: [{ manager: 'flagops-data-store-api', path: 'api', by, facts: ['beta', 'tier'] }],
    });
    expect(third).toMatchObject({
      diff: { added: {}, changed: {}, removed: { beta: true } },
      writers: [{ manager: 'flagops-data-store-api', path: 'api', by, facts: ['beta'] }],
    });
    expect(fourth).toMatchObject({
      diff: { removed: { region: 'eu-1' } },
      writers: [{ manager: 'unknown', path: 'other', by: 'unknown', facts: ['region'] }],
    });

    // The object itself: owned by the DeploymentFacts (garbage collected with it), labelled for selection.
    const uid = created.metadata.uid!;
    const objects = await client().get<{ items: FactRevision[] }>(revisionsPath(fx.ns), {
      query: { labelSelector: `${REVISION_IDENTITY_UID_LABEL}=${uid}` },
    });
    expect(objects.items).toHaveLength(4);
    const obj = objects.items.find((o) => o.spec.revision === 2)!;
    expect(obj.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'DeploymentFacts', name: 'c-42', uid, controller: true }),
    ]);
    expect(obj.metadata.labels?.[REVISION_NUMBER_LABEL]).toBe('2');
    expect(obj.metadata.labels?.[REVISION_HASH_LABEL]).toMatch(/^[0-9a-f]{32}$/);
  });

  it("records the identity's secret key names and version with the facts, never a value", async () => {
    await createFacts(fx.ns, 'c-sec', { tier: 'gold' });
    const value = 'history-S3CRET-4a1f';
    const put = await call(fx.op, 'PUT', `${base(fx.ns, 'c-sec')}/secrets/db-password`, {
      token: fx.tokens.admin,
      body: { value },
    });
    expect(put.status, put.text).toBeLessThan(300);
    await patchFacts(fx.op, fx.ns, 'c-sec', { tier: 'silver' });
    const h = await eventually(async () => {
      const r = await history(fx.op, fx.ns, 'c-sec');
      expect(r.items.at(-1)?.facts).toEqual({ tier: 'silver' });
      expect((r.items.at(-1) as { secrets?: { names: string[] } }).secrets?.names).toEqual(['db-password']);
      return r;
    });
    expect(JSON.stringify(h)).not.toContain(value);
    const stored = await client().get<{ items: FactRevision[] }>(revisionsPath(fx.ns));
    expect(JSON.stringify(stored)).not.toContain(value);
  });

  it('serves the facts of a revision and as of a time, naming the revision; refuses bad input', async () => {
    await createFacts(fx.ns, 'c-asof', { tier: 'gold' });
    await eventually(async () => expect((await history(fx.op, fx.ns, 'c-asof')).items).toHaveLength(1));
    await new Promise((r) => setTimeout(r, 1100)); // recordedAt has millisecond precision; keep a clear gap
    const between = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 50));
    await patchFacts(fx.op, fx.ns, 'c-asof', { tier: 'platinum' }, fx.tokens.factsEditor);
    await eventually(async () => expect((await history(fx.op, fx.ns, 'c-asof')).items).toHaveLength(2));

    const facts = `${base(fx.ns, 'c-asof')}/facts`;
    const t = { token: fx.tokens.factsReader };
    const r1 = await call(fx.op, 'GET', `${facts}?revision=1`, t);
    expect([r1.status, r1.body, r1.headers.get('x-flagops-fact-revision')]).toEqual([
      200,
      { tier: 'gold' },
      '1',
    ]);
    const asOf = await call(fx.op, 'GET', `${facts}?asOf=${encodeURIComponent(between)}`, t);
    expect([asOf.status, asOf.body, asOf.headers.get('x-flagops-fact-revision')]).toEqual([
      200,
      { tier: 'gold' },
      '1',
    ]);
    const now = await call(fx.op, 'GET', `${facts}?asOf=${encodeURIComponent(new Date().toISOString())}`, t);
    expect([now.body, now.headers.get('x-flagops-fact-revision')]).toEqual([{ tier: 'platinum' }, '2']);
    // The plain read is still the store's.
    expect((await call(fx.op, 'GET', facts, t)).body).toEqual({ tier: 'platinum' });

    const missing = await call(fx.op, 'GET', `${facts}?revision=99`, t);
    expect([missing.status, missing.body.error.message]).toEqual([
      404,
      `revision 99 of ${fx.ns}/c-asof is not kept (see its history)`,
    ]);
    const early = await call(fx.op, 'GET', `${facts}?asOf=2000-01-01T00:00:00Z`, t);
    expect(early.status).toBe(404);
    const bad = await call(fx.op, 'GET', `${facts}?revision=abc`, t);
    expect([bad.status, bad.body.error.field]).toEqual([400, 'query.revision']);
    const badTime = await call(fx.op, 'GET', `${facts}?asOf=yesterday`, t);
    expect([badTime.status, badTime.body.error.field]).toEqual([400, 'query.asOf']);
    const both = await call(fx.op, 'GET', `${facts}?revision=1&asOf=${encodeURIComponent(between)}`, t);
    expect([both.status, both.body.error.field]).toEqual([400, 'query.asOf']);
    const noIdentity = await call(fx.op, 'GET', `${base(fx.ns, 'nobody')}/history`, t);
    expect(noIdentity.status).toBe(404);
    // History is a read of the identity's facts: a caller without it is refused.
    const denied = await call(fx.op, 'GET', `${base(fx.ns, 'c-asof')}/history`, {
      token: fx.tokens.secretsReader,
    });
    expect(denied.status).toBe(403);
  });

  it('keeps exactly revisionHistoryLimit revisions, the newest, and pages them', async () => {
    const created = await createFacts(fx.ns, 'c-limit', { n: 0 }, { revisionHistoryLimit: 3 });
    for (let n = 1; n <= 8; n++) {
      await patchFacts(fx.op, fx.ns, 'c-limit', { n }, fx.tokens.factsEditor);
      // Each write recorded before the next (the recorder coalesces writes that come faster).
      await eventually(async () => {
        const h = await history(fx.op, fx.ns, 'c-limit', undefined, '?limit=100');
        expect(h.items.at(-1)?.facts).toEqual({ n });
      });
    }
    await eventually(async () => expect(await revisionsOf(fx.ns, created.metadata.uid!)).toEqual([7, 8, 9]));
    const p1 = await history(fx.op, fx.ns, 'c-limit', undefined, '?limit=2');
    expect(p1.items.map((i) => i.revision)).toEqual([7, 8]);
    expect(p1.continue).toBeTruthy();
    const p2 = await history(
      fx.op,
      fx.ns,
      'c-limit',
      undefined,
      `?limit=2&continue=${encodeURIComponent(p1.continue!)}`,
    );
    expect(p2.items.map((i) => i.revision)).toEqual([9]);
    expect(p2.continue).toBeUndefined();
    expect((await call(fx.op, 'GET', `${base(fx.ns, 'c-limit')}/history?limit=0`)).status).toBe(400);
  });

  it('keeps exactly revisionHistoryLimit revisions after a burst of 1,000 writes to one identity', async () => {
    const created = await createFacts(fx.ns, 'c-burst', { n: 0 }, { revisionHistoryLimit: 4 });
    const uid = created.metadata.uid!;
    for (let n = 1; n <= 1000; n++)
      await client().mergePatch(factsPath(fx.ns, 'c-burst'), { spec: { facts: { n } } });
    await eventually(
      async () => {
        const h = await history(fx.op, fx.ns, 'c-burst', undefined, '?limit=100');
        expect(h.items.at(-1)?.facts).toEqual({ n: 1000 });
        const kept = await revisionsOf(fx.ns, uid);
        expect(kept).toHaveLength(4);
        // The newest four, consecutive: nothing pruned out of order, no number used twice.
        expect(kept).toEqual([0, 1, 2, 3].map((i) => kept[0]! + i));
        expect(h.items.map((i) => i.revision)).toEqual(kept);
      },
      60_000,
      200,
    );
  }, 120_000);

  it("starts a recreated identity at revision 1, apart from the old one's revisions", async () => {
    const old = await createFacts(fx.ns, 'c-again', { v: 'old' });
    await eventually(async () => expect(await revisionsOf(fx.ns, old.metadata.uid!)).toEqual([1]));
    await client().delete(factsPath(fx.ns, 'c-again'));
    await eventually(async () =>
      expect(
        (await call(fx.op, 'GET', `${base(fx.ns, 'c-again')}/facts`, { token: fx.tokens.admin })).status,
      ).toBe(404),
    );
    // No garbage collector runs here: the old revision stays, as it would until the collector gets to it.
    const recreated = await createFacts(fx.ns, 'c-again', { v: 'new' });
    const h = await eventually(async () => {
      const page = await history(fx.op, fx.ns, 'c-again');
      expect(page.items.map((i) => [i.revision, i.facts])).toEqual([[1, { v: 'new' }]]);
      return page;
    });
    expect(h.items[0]!.diff).toEqual({ added: { v: 'new' }, changed: {}, removed: {} });
    expect(await revisionsOf(fx.ns, old.metadata.uid!)).toEqual([1]);
    expect(await revisionsOf(fx.ns, recreated.metadata.uid!)).toEqual([1]);
  });

  it('records a change that a FactProfile makes to the served facts, naming the profile', async () => {
    await createFacts(fx.ns, 'c-prof', { own: 'x' });
    await eventually(async () => expect((await history(fx.op, fx.ns, 'c-prof')).items).toHaveLength(1));
    await client().create(profilesPath(fx.ns), {
      apiVersion: 'flagops.io/v1alpha1',
      kind: 'FactProfile',
      metadata: { name: 'defaults', namespace: fx.ns },
      spec: { selector: { matchLabels: { app: 'c-prof' } }, facts: { maxReplicas: 4 } },
    });
    const h = await eventually(async () => {
      const page = await history(fx.op, fx.ns, 'c-prof');
      expect(page.items).toHaveLength(2);
      return page;
    });
    expect(h.items[1]).toMatchObject({
      facts: { own: 'x', maxReplicas: 4 },
      diff: { added: { maxReplicas: 4 } },
      writers: [
        { manager: `FactProfile/${fx.ns}/defaults`, path: 'profile', by: 'defaults', facts: ['maxReplicas'] },
      ],
    });
  });

  it('continues the numbers across a leader change, records what changed meanwhile, and does not record twice', async () => {
    const ns = await newNamespace('history-lead');
    const start = () => startTestOperator({ namespaces: [ns], auth: 'none' });
    let op = await start();
    const created = await createFacts(ns, 'c-lead', { v: 1 });
    const uid = created.metadata.uid!;
    await eventually(async () => expect(await revisionsOf(ns, uid)).toEqual([1])).catch((e) => {
      console.log(op.logs.filter((l) => /history|revision/.test(l)).join('\n'));
      throw e;
    });
    await patchFacts(op, ns, 'c-lead', { v: 2 });
    await eventually(async () => expect(await revisionsOf(ns, uid)).toEqual([1, 2]));
    await op.stop();

    // Changed while no replica leads: the next leader records it, as revision 3.
    await client().mergePatch(factsPath(ns, 'c-lead'), { spec: { facts: { v: 3 } } });
    op = await start();
    // A second replica that also records (no leader election): each change is still recorded once.
    const second = await start();
    try {
      await eventually(async () => expect(await revisionsOf(ns, uid)).toEqual([1, 2, 3]));
      await patchFacts(op, ns, 'c-lead', { v: 4 });
      await eventually(async () => expect(await revisionsOf(ns, uid)).toEqual([1, 2, 3, 4]));
      await Promise.all([op.history.idle(), second.history.idle()]);
      expect(await revisionsOf(ns, uid)).toEqual([1, 2, 3, 4]);
      const h = await history(op, ns, 'c-lead');
      expect(h.items.map((i) => i.facts)).toEqual([{ v: 1 }, { v: 2 }, { v: 3 }, { v: 4 }]);
      expect(h.items[2]).toMatchObject({ diff: { changed: { v: { from: 2, to: 3 } } } });
      const metrics = (await call(op, 'GET', '/metrics')).text + (await call(second, 'GET', '/metrics')).text;
      expect(metrics).toMatch(/flagops_fact_revisions_total\{result="written"\} [1-9]/);
    } finally {
      await second.stop();
      await op.stop();
    }
  }, 60_000);
});

describe('rollback', () => {
  const rollback = (id: string, revision: unknown, token = fx.tokens.factsEditor, query = '') =>
    call(fx.op, 'POST', `${base(fx.ns, id)}/rollback${query}`, { token, body: { revision } });

  it('writes a revision back through the API writer, and the rollback is itself a revision', async () => {
    const created = await client().create<DeploymentFacts>(factsPath(fx.ns), {
      apiVersion: 'flagops.io/v1alpha1',
      kind: 'DeploymentFacts',
      metadata: { name: 'c-back', namespace: fx.ns },
    });
    await patchFacts(fx.op, fx.ns, 'c-back', { tier: 'gold', replicas: 3 });
    await eventually(async () =>
      expect((await history(fx.op, fx.ns, 'c-back')).items.at(-1)?.facts).toEqual({
        tier: 'gold',
        replicas: 3,
      }),
    );
    const good = (await history(fx.op, fx.ns, 'c-back')).items.at(-1)!.revision;
    await patchFacts(fx.op, fx.ns, 'c-back', { tier: 'bronze', replicas: null, broken: true });
    await eventually(async () =>
      expect((await history(fx.op, fx.ns, 'c-back')).items.at(-1)?.facts).toEqual({
        tier: 'bronze',
        broken: true,
      }),
    );

    const r = await rollback('c-back', good);
    expect([r.status, r.body]).toEqual([200, { rolledBackTo: good, facts: { tier: 'gold', replicas: 3 } }]);
    const served = await call(fx.op, 'GET', `${base(fx.ns, 'c-back')}/facts`, {
      token: fx.tokens.factsReader,
    });
    expect(served.body).toEqual({ tier: 'gold', replicas: 3 });
    const h = await eventually(async () => {
      const page = await history(fx.op, fx.ns, 'c-back');
      expect(page.items.at(-1)?.facts).toEqual({ tier: 'gold', replicas: 3 });
      return page;
    });
    const by = `user:system:serviceaccount:${fx.ns}:facts-editor`;
    expect(h.items.at(-1)!.revision).toBeGreaterThan(good + 1);
    expect(h.items.at(-1)!.writers).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: 'api', by, facts: ['replicas', 'tier'] })]),
    );
    expect(created.metadata.uid).toBeTruthy();
    const metrics = (await call(fx.op, 'GET', '/metrics')).text;
    expect(metrics).toMatch(/flagops_fact_rollbacks_total\{result="done"\} [1-9]/);
  });

  it('refuses to overwrite a fact that GitOps owns, naming it; refuses bad input and callers without patch', async () => {
    await createFacts(fx.ns, 'c-gitops', { tier: 'gold' });
    await eventually(async () => expect((await history(fx.op, fx.ns, 'c-gitops')).items).toHaveLength(1));
    // Argo CD's field manager changes tier: the API must not take it back.
    await client().apply(
      factsPath(fx.ns, 'c-gitops'),
      {
        apiVersion: 'flagops.io/v1alpha1',
        kind: 'DeploymentFacts',
        metadata: { name: 'c-gitops' },
        spec: { facts: { tier: 'silver' } },
      },
      'argocd-controller',
      { force: true },
    );
    await eventually(async () => expect((await history(fx.op, fx.ns, 'c-gitops')).items).toHaveLength(2));

    const refused = await rollback('c-gitops', 1);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'Conflict', field: 'tier' });
    expect(refused.body.error.message).toContain('argocd-controller');
    expect(
      (await call(fx.op, 'GET', `${base(fx.ns, 'c-gitops')}/facts`, { token: fx.tokens.factsReader })).body,
    ).toEqual({
      tier: 'silver',
    });

    expect((await rollback('c-gitops', 99)).status).toBe(404);
    const bad = await rollback('c-gitops', 'one');
    expect([bad.status, bad.body.error.field]).toEqual([400, 'body.revision']);
    expect((await rollback('c-gitops', 1, fx.tokens.factsReader)).status).toBe(403);
    const metrics = (await call(fx.op, 'GET', '/metrics')).text;
    expect(metrics).toMatch(/flagops_fact_rollbacks_total\{result="conflict"\} [1-9]/);
  });
});

describe('fact history and leader election', () => {
  it('is recorded by the leader only: a standby records nothing until it takes over, then what it serves', async () => {
    const ns = await newNamespace('history-le');
    const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/history-leader`;
    await client().create(`/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`, {
      metadata: { name: 'history-leader' },
      spec: {
        holderIdentity: 'someone-else',
        leaseDurationSeconds: 3600,
        renewTime: new Date().toISOString().replace('Z', '000Z'),
      },
    });
    const standby = await startTestOperator({
      namespaces: [ns],
      auth: 'none',
      extraArgs: [
        '--leader-elect',
        `--leader-election-namespace=${ns}`,
        '--leader-election-id=history-leader',
        '--leader-election-lease-duration=3s',
        '--leader-election-renew-deadline=2s',
        '--leader-election-retry-period=200ms',
      ],
    });
    try {
      const created = await createFacts(ns, 'c-le', { v: 1 });
      await client().mergePatch(factsPath(ns, 'c-le'), { spec: { facts: { v: 2 } } });
      await eventually(() => expect(standby.store.get(ns, 'c-le')?.facts?.values).toEqual({ v: 2 }));
      await new Promise((r) => setTimeout(r, 1500));
      expect(standby.isLeader).toBe(false);
      expect(await revisionsOf(ns, created.metadata.uid!)).toEqual([]);

      await client().mergePatch(leasePath, { spec: { holderIdentity: null } });
      await eventually(async () => expect(await revisionsOf(ns, created.metadata.uid!)).toEqual([1]));
      expect(standby.isLeader).toBe(true);
      await patchFacts(standby, ns, 'c-le', { v: 3 }, undefined);
      const h = await eventually(async () => {
        const page = await history(standby, ns, 'c-le', undefined);
        expect(page.items.map((i) => i.facts)).toEqual([{ v: 2 }, { v: 3 }]);
        return page;
      });
      expect(h.items[1]).toMatchObject({ revision: 2, diff: { changed: { v: { from: 2, to: 3 } } } });
    } finally {
      await standby.stop();
    }
  }, 60_000);
});
