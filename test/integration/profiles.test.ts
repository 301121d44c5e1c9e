/**
 * Layered facts against a real API server: FactProfiles and ClusterFactProfiles selected by labels, merged by
 * priority beneath each identity's own facts, served by every read route, explained per fact; API writes override a
 * profile for one identity, and deleting the own fact falls back to it.
 *
 * Other files share the control plane: every ClusterFactProfile here selects this run's label only.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { clusterProfilesPath, factsPath, profilesPath } from '../../src/kube/paths.js';
import { useApi } from '../support/api.js';
import { adminClient, call, eventually, suffix } from '../support/cluster.js';

const fx = useApi('profiles', { extraNamespaces: 1 });
const other = () => (fx as typeof fx & { extraNamespaces: string[] }).extraNamespaces[0]!;
const RUN = `run-${suffix()}`;
const client = () => adminClient();
const clusterProfiles: string[] = [];

afterAll(async () => {
  for (const name of clusterProfiles)
    await client()
      .delete(clusterProfilesPath(undefined, name))
      .catch(() => {});
});

const deploymentFacts = (namespace: string, name: string, labels: Record<string, string>, facts: object) =>
  client().create(factsPath(namespace), {
    apiVersion: 'flagops.io/v1alpha1',
    kind: 'DeploymentFacts',
    metadata: { name, namespace, labels: { run: RUN, ...labels } },
    spec: { facts },
  });

const clusterProfile = (name: string, spec: object) => {
  clusterProfiles.push(name);
  return client().create(clusterProfilesPath(), {
    apiVersion: 'flagops.io/v1alpha1',
    kind: 'ClusterFactProfile',
    metadata: { name },
    spec,
  });
};

const profile = (namespace: string, name: string, spec: object) =>
  client().create(profilesPath(namespace), {
    apiVersion: 'flagops.io/v1alpha1',
    kind: 'FactProfile',
    metadata: { name, namespace },
    spec,
  });

const factsOf = async (namespace: string, id: string) => {
  const r = await call(fx.op, 'GET', `/api/v1/namespaces/${namespace}/identities/${id}/facts`, {
    token: fx.tokens.factsReader,
  });
  expect(r.status).toBe(200);
  return r.body;
};

const tierSelector = (tier: string) => ({ matchLabels: { run: RUN, tier } });

describe('layered facts', () => {
  it('serves profiles beneath the own facts, by priority, on the identity, facts and OFREP routes', async () => {
    const gold = `gold-${RUN}`;
    await clusterProfile(gold, { priority: 10, selector: tierSelector('gold'), facts: { maxReplicas: 10 } });
    await profile(fx.ns, 'defaults', {
      selector: { matchLabels: { run: RUN } },
      facts: { maxReplicas: 2, region: 'eu-1' },
    });
    await deploymentFacts(fx.ns, 'c-gold', { tier: 'gold' }, { customer: 'acme' });
    await deploymentFacts(fx.ns, 'c-free', { tier: 'free' }, { customer: 'bob', region: 'us-1' });

    await eventually(async () =>
      expect(await factsOf(fx.ns, 'c-gold')).toEqual({ maxReplicas: 10, region: 'eu-1', customer: 'acme' }),
    );
    expect(await factsOf(fx.ns, 'c-free')).toEqual({ maxReplicas: 2, region: 'us-1', customer: 'bob' });

    const bulk = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags', {
      token: fx.tokens.factsReader,
      body: { context: { targetingKey: 'c-gold' } },
    });
    expect(bulk.status).toBe(200);
    expect(
      Object.fromEntries(bulk.body.flags.map((f: { key: string; value: unknown }) => [f.key, f.value])),
    ).toEqual({ maxReplicas: 10, region: 'eu-1', customer: 'acme' });
    const single = await call(fx.op, 'POST', '/ofrep/v1/evaluate/flags/region', {
      token: fx.tokens.factsReader,
      body: { context: { targetingKey: 'c-gold' } },
    });
    expect(single.body).toMatchObject({ key: 'region', value: 'eu-1' });
    // Each flag names the profile that supplies it; the identity's own facts carry no layer.
    const metadata = Object.fromEntries(
      bulk.body.flags.map((f: { key: string; metadata: unknown }) => [f.key, f.metadata]),
    );
    expect(metadata.customer).toEqual({});
    expect(metadata.maxReplicas.layer).toMatch(/^ClusterFactProfile\//);
    expect(single.body.metadata.layer).toMatch(/Profile\//);

    const explained = await call(fx.op, 'GET', `/api/v1/namespaces/${fx.ns}/identities/c-gold?explain=true`, {
      token: fx.tokens.factsReader,
    });
    expect(explained.status).toBe(200);
    expect(explained.body.explain).toEqual({
      customer: {
        value: 'acme',
        from: { kind: 'DeploymentFacts', namespace: fx.ns, name: 'c-gold' },
        overrode: [],
      },
      maxReplicas: {
        value: 10,
        from: { kind: 'ClusterFactProfile', name: gold, priority: 10 },
        overrode: [
          { from: { kind: 'FactProfile', namespace: fx.ns, name: 'defaults', priority: 0 }, value: 2 },
        ],
      },
      region: {
        value: 'eu-1',
        from: { kind: 'FactProfile', namespace: fx.ns, name: 'defaults', priority: 0 },
        overrode: [],
      },
    });
    // Provenance stays: it names who set the identity's own facts.
    expect(Object.keys(explained.body.provenance)).toEqual(['customer']);
    // Without the query the view has no explain.
    const plain = await call(fx.op, 'GET', `/api/v1/namespaces/${fx.ns}/identities/c-gold`, {
      token: fx.tokens.factsReader,
    });
    expect(plain.body.explain).toBeUndefined();
    const bad = await call(fx.op, 'GET', `/api/v1/namespaces/${fx.ns}/identities/c-gold?explain=maybe`, {
      token: fx.tokens.factsReader,
    });
    expect(bad.status).toBe(400);
  });

  it('follows profile changes, label changes and deletes', async () => {
    const silver = `silver-${RUN}`;
    await deploymentFacts(fx.ns, 'c-silver', { tier: 'silver' }, { customer: 'carol' });
    await clusterProfile(silver, {
      selector: tierSelector('silver'),
      facts: { maxReplicas: 4, support: 'email' },
    });
    await eventually(async () =>
      expect(await factsOf(fx.ns, 'c-silver')).toMatchObject({ support: 'email' }),
    );

    await client().mergePatch(clusterProfilesPath(undefined, silver), {
      spec: { facts: { support: 'phone' } },
    });
    await eventually(async () =>
      expect(await factsOf(fx.ns, 'c-silver')).toEqual({
        customer: 'carol',
        maxReplicas: 4,
        support: 'phone',
        region: 'eu-1',
      }),
    );

    // Relabelled out of the profile's selector: its facts go, the namespace defaults stay.
    await client().mergePatch(factsPath(fx.ns, 'c-silver'), { metadata: { labels: { tier: 'bronze' } } });
    await eventually(async () =>
      expect(await factsOf(fx.ns, 'c-silver')).toEqual({ customer: 'carol', maxReplicas: 2, region: 'eu-1' }),
    );
    await client().mergePatch(factsPath(fx.ns, 'c-silver'), { metadata: { labels: { tier: 'silver' } } });
    await eventually(async () =>
      expect(await factsOf(fx.ns, 'c-silver')).toMatchObject({ support: 'phone' }),
    );

    await client().delete(clusterProfilesPath(undefined, silver));
    await eventually(async () =>
      expect(await factsOf(fx.ns, 'c-silver')).toEqual({ customer: 'carol', maxReplicas: 2, region: 'eu-1' }),
    );
  });

  it("moves the facts ETag when a profile changes the served facts, though the identity's generation stays", async () => {
    const gold = `etag-gold-${RUN}`;
    await deploymentFacts(fx.ns, 'c-etag', { tier: 'etag' }, { customer: 'erin' });
    await clusterProfile(gold, { selector: tierSelector('etag'), facts: { support: 'email' } });
    const read = (headers: Record<string, string> = {}) =>
      call(fx.op, 'GET', `/api/v1/namespaces/${fx.ns}/identities/c-etag/facts`, {
        token: fx.tokens.factsReader,
        headers,
      });
    let first: Awaited<ReturnType<typeof read>> | undefined;
    await eventually(async () => {
      first = await read();
      expect(first.body).toMatchObject({ support: 'email' });
    });
    const etag = first!.headers.get('etag')!;
    expect(etag).toMatch(/^"1\.[0-9a-f]{12}"$/);
    expect((await read({ 'if-none-match': etag })).status).toBe(304);
    await client().mergePatch(clusterProfilesPath(undefined, gold), {
      spec: { facts: { support: 'phone' } },
    });
    await eventually(async () => expect((await read()).body).toMatchObject({ support: 'phone' }));
    const after = await read({ 'if-none-match': etag });
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(etag);
    expect(after.headers.get('etag')).toMatch(/^"1\./);
    // If-Match stays a precondition on the identity's own generation: the profile change does not fail a write.
    const put = await call(fx.op, 'PUT', `/api/v1/namespaces/${fx.ns}/identities/c-etag/facts/note`, {
      token: fx.tokens.factsEditor,
      headers: { 'if-match': etag },
      body: { value: 'x' },
    });
    expect(put.status, put.text).toBeLessThan(300);
  });

  it('keeps a FactProfile to its own namespace', async () => {
    // Labelled like the identities that `defaults` (a FactProfile of the first namespace) selects there.
    await deploymentFacts(other(), 'c-other', { tier: 'free' }, { customer: 'dan' });
    await deploymentFacts(fx.ns, 'c-marker', { tier: 'free' }, { customer: 'eve' });
    // The tokens read the first namespace only: the operator's own store answers for the other one.
    await eventually(() =>
      expect(fx.op.store.get(other(), 'c-other')?.facts?.values).toEqual({ customer: 'dan' }),
    );
    await eventually(async () => expect(await factsOf(fx.ns, 'c-marker')).toMatchObject({ region: 'eu-1' }));
    expect(fx.op.store.get(other(), 'c-other')?.facts?.values).toEqual({ customer: 'dan' });
  });

  it('writes go to the identity: an API write overrides the profile for it alone; deleting it falls back', async () => {
    await deploymentFacts(fx.ns, 'w-1', {}, { customer: 'erin' });
    await deploymentFacts(fx.ns, 'w-2', {}, { customer: 'fay' });
    await eventually(async () => expect(await factsOf(fx.ns, 'w-1')).toMatchObject({ maxReplicas: 2 }));
    const put = await call(fx.op, 'PUT', `/api/v1/namespaces/${fx.ns}/identities/w-1/facts/maxReplicas`, {
      token: fx.tokens.admin,
      body: { value: 5 },
    });
    expect(put.status).toBe(200);
    // Visible at once (the writer waits for the store), for w-1 only.
    expect(await factsOf(fx.ns, 'w-1')).toMatchObject({ maxReplicas: 5 });
    expect(await factsOf(fx.ns, 'w-2')).toMatchObject({ maxReplicas: 2 });
    const own = await client().get<{ spec: { facts: object } }>(factsPath(fx.ns, 'w-1'));
    expect(own.spec.facts).toEqual({ customer: 'erin', maxReplicas: 5 });

    const del = await call(fx.op, 'DELETE', `/api/v1/namespaces/${fx.ns}/identities/w-1/facts/maxReplicas`, {
      token: fx.tokens.admin,
    });
    expect(del.status).toBe(200);
    expect(await factsOf(fx.ns, 'w-1')).toMatchObject({ maxReplicas: 2 });
    // A fact only a profile supplies is not the identity's to delete.
    const notOwn = await call(fx.op, 'DELETE', `/api/v1/namespaces/${fx.ns}/identities/w-1/facts/region`, {
      token: fx.tokens.admin,
    });
    expect(notOwn.status).toBe(404);
    expect(await factsOf(fx.ns, 'w-1')).toMatchObject({ region: 'eu-1' });
  });

  it('serves nothing from an invalid profile', async () => {
    await deploymentFacts(fx.ns, 'c-bad', { tier: 'bad' }, { customer: 'gus' });
    // The schema lets an In without values through; the operator refuses it.
    await profile(fx.ns, 'broken', {
      priority: 50,
      selector: { matchExpressions: [{ key: 'tier', operator: 'In' }] },
      facts: { region: 'nowhere' },
    });
    await profile(fx.ns, 'marker', { selector: tierSelector('bad'), facts: { marker: true } });
    // The later, valid profile is served: the broken one, listed before it, never was.
    await eventually(async () => expect(await factsOf(fx.ns, 'c-bad')).toMatchObject({ marker: true }));
    expect(await factsOf(fx.ns, 'c-bad')).toMatchObject({ region: 'eu-1' });
  });

  it('reports on each profile what it selects, a selector that matches nothing, ties and invalid specs', async () => {
    type Status = {
      selectedCount?: number;
      conflicts?: unknown[];
      conditions?: { type: string; status: string; reason: string; message: string }[];
    };
    const statusOf = async (name: string) =>
      (await client().get<{ status?: Status }>(profilesPath(fx.ns, name))).status ?? {};
    const cond = (s: Status, type: string) => s.conditions?.find((c) => c.type === type);
    await profile(fx.ns, 'nobody', { selector: { matchLabels: { tier: 'nonexistent' } }, facts: { a: 1 } });
    await profile(fx.ns, 'tie-a', { priority: 3, selector: tierSelector('tie'), facts: { x: 'a' } });
    await profile(fx.ns, 'tie-b', { priority: 3, selector: tierSelector('tie'), facts: { x: 'b' } });
    await deploymentFacts(fx.ns, 'c-tie', { tier: 'tie' }, {});
    // The name that sorts last wins the tie.
    await eventually(async () => expect(await factsOf(fx.ns, 'c-tie')).toMatchObject({ x: 'b' }));
    await eventually(async () => {
      const d = await statusOf('defaults');
      expect(cond(d, 'Ready')).toMatchObject({ status: 'True', reason: 'Applied' });
      expect(d.selectedCount).toBeGreaterThanOrEqual(8);
      expect(cond(await statusOf('nobody'), 'Selecting')).toMatchObject({
        status: 'False',
        reason: 'NoIdentitiesSelected',
      });
      for (const [name, otherName] of [
        ['tie-a', 'tie-b'],
        ['tie-b', 'tie-a'],
      ]) {
        const s = await statusOf(name!);
        expect(cond(s, 'PriorityConflict')).toMatchObject({ status: 'True', reason: 'PriorityTie' });
        expect(s.conflicts).toEqual([
          { kind: 'FactProfile', namespace: fx.ns, name: otherName, facts: ['x'] },
        ]);
      }
      expect(cond(await statusOf('broken'), 'Ready')).toMatchObject({
        status: 'False',
        reason: 'InvalidSpec',
      });
    }, 15_000);
    expect(cond(await statusOf('broken'), 'Ready')?.message).toContain('In needs at least one value');
  });

  it("reaches the namespaces a ClusterFactProfile's namespaceSelector picks, following their labels", async () => {
    const name = `ns-selected-${RUN}`;
    await deploymentFacts(fx.ns, 'c-nssel', { tier: 'nssel' }, { customer: 'nina' });
    await clusterProfile(name, {
      selector: tierSelector('nssel'),
      namespaceSelector: { matchLabels: { [`env-${RUN}`]: 'prod' } },
      facts: { replicas: 7 },
    });
    await eventually(async () => expect(await factsOf(fx.ns, 'c-nssel')).not.toHaveProperty('replicas'));
    await client().mergePatch(`/api/v1/namespaces/${fx.ns}`, {
      metadata: { labels: { [`env-${RUN}`]: 'prod' } },
    });
    await eventually(
      async () => expect(await factsOf(fx.ns, 'c-nssel')).toMatchObject({ replicas: 7 }),
      10_000,
    );
    await client().mergePatch(`/api/v1/namespaces/${fx.ns}`, {
      metadata: { labels: { [`env-${RUN}`]: null } },
    });
    await eventually(
      async () => expect(await factsOf(fx.ns, 'c-nssel')).not.toHaveProperty('replicas'),
      10_000,
    );
  });

  it('records Warning Events for a ClusterFactProfile too, which kubectl describe finds', async () => {
    const name = `broken-cluster-${RUN}`;
    await clusterProfile(name, {
      selector: { matchExpressions: [{ key: 'run', operator: 'In', values: [] }] },
      facts: { a: 1 },
    });
    type EventList = {
      items: { reason: string; involvedObject: { kind: string; name: string; namespace?: string } }[];
    };
    await eventually(async () => {
      // Across all namespaces, by the object, as `kubectl describe clusterfactprofile` searches.
      const events = await client().get<EventList>('/api/v1/events', {
        query: { fieldSelector: `involvedObject.kind=ClusterFactProfile,involvedObject.name=${name}` },
      });
      expect(events.items.map((e) => e.reason)).toContain('InvalidSpec');
      expect(events.items[0]!.involvedObject.namespace).toBeUndefined();
    }, 15_000);
  });
});
