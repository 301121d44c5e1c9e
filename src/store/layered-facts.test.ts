import { describe, expect, it } from 'vitest';
import { FANOUT_CHUNK, LayeredFacts } from './layered-facts.js';
import { compareLayers, explainLayers, type ProfileLayer, selects, tiesOf } from './layers.js';
import { type ChangeEvent, Store } from './store.js';

const own = (values: Record<string, string | number | boolean>) => ({
  values,
  owners: undefined,
  generation: 1,
  resourceVersion: '1',
  ready: true,
  reason: 'Indexed',
});

const cluster = (name: string, priority: number, facts: ProfileLayer['facts'], selector = {}) =>
  ({ kind: 'ClusterFactProfile', name, priority, selector, facts }) as ProfileLayer;
const ns = (namespace: string, name: string, priority: number, facts: ProfileLayer['facts'], selector = {}) =>
  ({ kind: 'FactProfile', namespace, name, priority, selector, facts }) as ProfileLayer;

function setup() {
  const store = new Store();
  const layers = new LayeredFacts(store);
  const events: ChangeEvent[] = [];
  store.onChange((e) => events.push(e));
  return { store, layers, events, served: (n: string, m = 'a') => store.get(m, n)?.facts?.values };
}

describe('selects', () => {
  it('matches labels and expressions as Kubernetes does', () => {
    const l = { tier: 'gold', region: 'eu' };
    expect(selects({}, undefined)).toBe(true);
    expect(selects({ matchLabels: { tier: 'gold' } }, l)).toBe(true);
    expect(selects({ matchLabels: { tier: 'silver' } }, l)).toBe(false);
    expect(selects({ matchLabels: { tier: 'gold' } }, undefined)).toBe(false);
    expect(selects({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['gold', 'x'] }] }, l)).toBe(
      true,
    );
    expect(selects({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['gold'] }] }, l)).toBe(
      false,
    );
    expect(selects({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, l)).toBe(true);
    expect(selects({ matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, l)).toBe(false);
    expect(selects({ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, l)).toBe(true);
    // An inherited property is no label.
    expect(selects({ matchExpressions: [{ key: 'toString', operator: 'Exists' }] }, {})).toBe(false);
  });
});

describe('order and ties', () => {
  it('applies by priority, then name (the last wins), then cluster before namespaced', () => {
    const sorted = [ns('a', 'b', 5, {}), cluster('z', 1, {}), cluster('b', 5, {}), ns('a', 'a', 5, {})].sort(
      compareLayers,
    );
    expect(sorted.map((l) => `${l.kind}/${l.name}`)).toEqual([
      'ClusterFactProfile/z',
      'FactProfile/a',
      'ClusterFactProfile/b',
      'FactProfile/b',
    ]);
  });
  it('reports equal-priority profiles that set the same fact', () => {
    const ls = [cluster('a', 1, { x: 1, y: 2 }), cluster('b', 1, { x: 3 }), cluster('c', 2, { x: 4 })];
    expect(tiesOf(ls)).toEqual([{ a: 'ClusterFactProfile/a', b: 'ClusterFactProfile/b', facts: ['x'] }]);
  });
});

describe('LayeredFacts', () => {
  it('serves profiles beneath the own facts, in priority order', () => {
    const { layers, served } = setup();
    layers.setProfile(cluster('defaults', 0, { maxReplicas: 2, region: 'eu' }));
    layers.setProfile(cluster('gold', 10, { maxReplicas: 10 }, { matchLabels: { tier: 'gold' } }));
    layers.setOwn('a', 'one', { tier: 'gold' }, own({ name: 'one' }));
    layers.setOwn('a', 'two', {}, own({ name: 'two', region: 'us' }));
    expect(served('one')).toEqual({ maxReplicas: 10, region: 'eu', name: 'one' });
    expect(served('two')).toEqual({ maxReplicas: 2, region: 'us', name: 'two' });
  });

  it('recomputes the identities a profile change touches, one change each, and none for the others', () => {
    const { layers, events, served } = setup();
    layers.setOwn('a', 'gold', { tier: 'gold' }, own({}));
    layers.setOwn('a', 'silver', { tier: 'silver' }, own({}));
    layers.setOwn('b', 'gold', { tier: 'gold' }, own({}));
    events.length = 0;
    const recomputed = layers.setProfile(ns('a', 'p', 0, { max: 5 }, { matchLabels: { tier: 'gold' } }));
    expect(recomputed).toBe(1);
    expect(served('gold')).toEqual({ max: 5 });
    expect(served('gold', 'b')).toEqual({}); // a FactProfile reaches its own namespace only
    expect(events.map((e) => [e.namespace, e.name, e.keys])).toEqual([['a', 'gold', ['max']]]);
    // Selecting silver instead: gold falls back, silver gains it.
    layers.setProfile(ns('a', 'p', 0, { max: 5 }, { matchLabels: { tier: 'silver' } }));
    expect(served('gold')).toEqual({});
    expect(served('silver')).toEqual({ max: 5 });
    layers.deleteProfile('FactProfile/a/p');
    expect(served('silver')).toEqual({});
  });

  it('an own fact overrides the profile for that identity only; removing it falls back', () => {
    const { layers, served } = setup();
    layers.setProfile(cluster('d', 0, { max: 2 }));
    layers.setOwn('a', 'x', {}, own({ max: 7 }));
    layers.setOwn('a', 'y', {}, own({}));
    expect(served('x')).toEqual({ max: 7 });
    expect(served('y')).toEqual({ max: 2 });
    layers.setOwn('a', 'x', {}, own({}));
    expect(served('x')).toEqual({ max: 2 });
  });

  it('follows label changes, and forgets deleted identities', () => {
    const { layers, store, served } = setup();
    layers.setProfile(cluster('gold', 0, { max: 9 }, { matchLabels: { tier: 'gold' } }));
    layers.setOwn('a', 'x', {}, own({}));
    expect(served('x')).toEqual({});
    layers.setOwn('a', 'x', { tier: 'gold' }, own({}));
    expect(served('x')).toEqual({ max: 9 });
    layers.deleteOwn('a', 'x');
    expect(store.get('a', 'x')).toBeUndefined();
    expect(layers.setProfile(cluster('gold', 0, { max: 1 }))).toBe(0);
    expect(layers.selectedCount({ selector: {} })).toBe(0);
  });

  it('shares one frozen layer list among identities with the same profiles', () => {
    const { layers, store } = setup();
    layers.setProfile(cluster('d', 0, { max: 2 }));
    layers.setOwn('a', 'x', {}, own({}));
    layers.setOwn('a', 'y', {}, own({}));
    const x = store.get('a', 'x')!.facts!.layers!;
    expect(x).toBe(store.get('a', 'y')!.facts!.layers);
    expect(Object.isFrozen(x)).toBe(true);
  });

  it('explains each fact: the winning layer and what it overrode', () => {
    const { layers, store } = setup();
    layers.setProfile(cluster('defaults', 0, { max: 2, region: 'eu' }));
    layers.setProfile(ns('a', 'gold', 10, { max: 10 }));
    layers.setOwn('a', 'x', {}, own({ region: 'us' }));
    const f = store.get('a', 'x')!.facts!;
    expect(explainLayers(f.layers!, f.own!, { namespace: 'a', name: 'x' })).toEqual({
      region: {
        value: 'us',
        from: { kind: 'DeploymentFacts', namespace: 'a', name: 'x' },
        overrode: [{ from: { kind: 'ClusterFactProfile', name: 'defaults', priority: 0 }, value: 'eu' }],
      },
      max: {
        value: 10,
        from: { kind: 'FactProfile', namespace: 'a', name: 'gold', priority: 10 },
        overrode: [{ from: { kind: 'ClusterFactProfile', name: 'defaults', priority: 0 }, value: 2 }],
      },
    });
  });
});

describe('LayeredFacts.summarize', () => {
  it('counts the identities each profile applies to and the ties at equal priority, both ways', () => {
    const { layers } = setup();
    layers.setProfile(cluster('a', 1, { x: 1, y: 1 }));
    layers.setProfile(cluster('b', 1, { x: 2 }, { matchLabels: { t: 'b' } }));
    layers.setProfile(cluster('c', 2, { x: 3 }));
    layers.setOwn('a', 'one', { t: 'b' }, own({}));
    layers.setOwn('a', 'two', {}, own({}));
    layers.setOwn('b', 'three', { t: 'b' }, own({}));
    const s = layers.summarize();
    expect(s.get('ClusterFactProfile/a')).toEqual({
      selected: 3,
      ties: new Map([['ClusterFactProfile/b', new Set(['x'])]]),
    });
    expect(s.get('ClusterFactProfile/b')).toEqual({
      selected: 2,
      ties: new Map([['ClusterFactProfile/a', new Set(['x'])]]),
    });
    expect(s.get('ClusterFactProfile/c')).toEqual({ selected: 3, ties: new Map() });
    // The same profile again (as a status write brings it back) recomputes nothing.
    expect(layers.setProfile(cluster('c', 2, { x: 3 }))).toBe(0);
  });
});

describe('a profile change that reaches more identities than one chunk', () => {
  const settle = async (layers: LayeredFacts) => {
    while (layers.pending > 0) await new Promise((r) => setImmediate(r));
  };

  it('recomputes FANOUT_CHUNK at once and the rest in later turns, the latest profiles winning', async () => {
    const { store, layers, served } = setup();
    const n = FANOUT_CHUNK * 2 + 10;
    for (let i = 0; i < n; i++) layers.setOwn('a', `c-${i}`, { tier: 'gold' }, own({ i }));
    expect(layers.setProfile(cluster('gold', 0, { max: 1 }, { matchLabels: { tier: 'gold' } }))).toBe(n);
    expect(layers.pending).toBe(n - FANOUT_CHUNK); // the event loop is free in between
    expect(served('c-0')).toEqual({ i: 0, max: 1 });
    expect(served(`c-${n - 1}`)).toEqual({ i: n - 1 });
    // A second change before the first has reached everyone: nobody ends with the first's value.
    layers.setProfile(cluster('gold', 0, { max: 2 }, { matchLabels: { tier: 'gold' } }));
    // An identity written meanwhile is written with the current profiles at once.
    layers.setOwn('a', `c-${n - 1}`, { tier: 'gold' }, own({ i: 'new' }));
    expect(served(`c-${n - 1}`)).toEqual({ i: 'new', max: 2 });
    await settle(layers);
    for (let i = 0; i < n - 1; i++) expect(store.get('a', `c-${i}`)?.facts?.values.max).toBe(2);
  });

  it('forgets an identity deleted while it waits', async () => {
    const { store, layers } = setup();
    const n = FANOUT_CHUNK + 5;
    for (let i = 0; i < n; i++) layers.setOwn('a', `c-${i}`, undefined, own({ i }));
    layers.setProfile(cluster('all', 0, { max: 1 }));
    layers.deleteOwn('a', `c-${n - 1}`);
    await settle(layers);
    expect(store.get('a', `c-${n - 1}`)).toBeUndefined();
    expect(store.get('a', `c-${n - 2}`)?.facts?.values).toEqual({ i: n - 2, max: 1 });
  });
});

describe("a ClusterFactProfile's namespaceSelector", () => {
  it('reaches the identities of the namespaces whose labels it selects, following label changes', async () => {
    const { layers, store } = setup();
    const served = (ns: string, n: string) => store.get(ns, n)?.facts?.values;
    layers.setNamespaceLabels('a', { env: 'prod' });
    layers.setNamespaceLabels('b', { env: 'dev' });
    layers.setOwn('a', 'web', undefined, own({ x: 1 }));
    layers.setOwn('b', 'web', undefined, own({ x: 2 }));
    layers.setProfile({
      ...cluster('prod', 0, { replicas: 5 }),
      namespaceSelector: { matchLabels: { env: 'prod' } },
    });
    expect(served('a', 'web')).toEqual({ x: 1, replicas: 5 });
    expect(served('b', 'web')).toEqual({ x: 2 });
    expect(layers.selectedCount({ selector: {}, namespaceSelector: { matchLabels: { env: 'prod' } } })).toBe(
      1,
    );
    // b is relabelled prod, a loses its label: the profile follows the namespaces.
    layers.setNamespaceLabels('b', { env: 'prod' });
    layers.setNamespaceLabels('a', {});
    expect(served('a', 'web')).toEqual({ x: 1 });
    expect(served('b', 'web')).toEqual({ x: 2, replicas: 5 });
    // A namespace not seen yet is selected by no namespaceSelector, not even a NotIn.
    layers.setOwn('c', 'web', undefined, own({ x: 3 }));
    layers.setProfile({
      ...cluster('not-dev', 1, { y: 1 }),
      namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }] },
    });
    expect(served('c', 'web')).toEqual({ x: 3 });
    layers.setNamespaceLabels('c', undefined); // seen, without labels
    expect(served('c', 'web')).toEqual({ x: 3, y: 1 });
    layers.deleteNamespace('c');
    expect(served('c', 'web')).toEqual({ x: 3 });
    // Labels that did not change recompute nothing.
    const revision = store.revision;
    layers.setNamespaceLabels('b', { env: 'prod' });
    expect(store.revision).toBe(revision);
  });
});

describe('profile changes made while a fan-out drains', () => {
  it('keep one chain: each turn recomputes one chunk, however many changes came meanwhile', async () => {
    const { layers } = setup();
    const n = FANOUT_CHUNK * 5;
    for (let i = 0; i < n; i++) layers.setOwn('a', `c-${i}`, undefined, own({ i }));
    for (let k = 0; k < 4; k++) layers.setProfile(cluster(`p-${k}`, k, { [`f${k}`]: k }));
    // Each change reaches all n again and recomputes one chunk now; the rest waits for the one scheduled chain.
    expect(layers.pending).toBe(n - FANOUT_CHUNK);
    await new Promise((r) => setImmediate(r));
    expect(layers.pending).toBe(n - 2 * FANOUT_CHUNK); // one chunk in that turn, not one per change
  });
});
