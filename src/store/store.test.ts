import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SecretValue } from './secret-value.js';
import { type ChangeEvent, Store } from './store.js';

const facts = (values: Record<string, string | number>) => ({
  values,
  generation: 1,
  resourceVersion: '1',
  ready: true,
  reason: 'Indexed',
});
const secrets = (values: Record<string, string>) => ({
  values: new Map(Object.entries(values).map(([k, v]) => [k, SecretValue.fromPlain(v)])),
  generation: 1,
  resourceVersion: '1',
  ready: true,
  reason: 'Resolved',
  unresolved: [],
});

describe('Store', () => {
  it('indexes facts and secrets by namespace/name and merges them into one identity', () => {
    const s = new Store();
    s.setFacts('ns', 'a', facts({ tier: 'gold' }));
    s.setSecrets('ns', 'a', secrets({ db: 'hunter2' }));
    const id = s.get('ns', 'a');
    expect(id?.facts?.values).toEqual({ tier: 'gold' });
    expect(id?.secrets?.values.get('db')?.reveal()).toBe('hunter2');
    expect(s.get('other', 'a')).toBeUndefined();
  });

  it('emits one change per real change, with key names only, and keeps the revision on no-ops', () => {
    const s = new Store();
    const seen: ChangeEvent[] = [];
    s.onChange((e) => seen.push(e));
    s.setFacts('ns', 'a', facts({ tier: 'gold', n: 1 }));
    const rev = s.get('ns', 'a')!.revision;
    s.setFacts('ns', 'a', { ...facts({ tier: 'gold', n: 1 }), resourceVersion: '2' });
    expect(s.get('ns', 'a')!.revision).toBe(rev);
    s.setFacts('ns', 'a', facts({ tier: 'silver' }));
    s.setSecrets('ns', 'a', secrets({ db: 'hunter2' }));
    s.setSecrets('ns', 'a', secrets({ db: 'hunter3' }));
    s.deleteFacts('ns', 'a');
    s.deleteSecrets('ns', 'a');
    expect(seen.map((e) => [e.kind, e.action, e.keys])).toEqual([
      ['facts', 'upsert', ['n', 'tier']],
      ['facts', 'upsert', ['n', 'tier']],
      ['secrets', 'upsert', ['db']],
      ['secrets', 'upsert', ['db']],
      ['facts', 'delete', ['tier']],
      ['secrets', 'delete', ['db']],
    ]);
    expect(s.get('ns', 'a')).toBeUndefined();
    expect(JSON.stringify(seen)).not.toContain('hunter');
  });

  it('replays changes since a revision, and says when they are gone', () => {
    const s = new Store(2);
    s.setFacts('ns', 'a', facts({ x: 1 }));
    s.setFacts('ns', 'b', facts({ x: 1 }));
    s.setFacts('ns', 'c', facts({ x: 1 }));
    expect(s.changesSince(1)?.map((e) => e.name)).toEqual(['b', 'c']);
    expect(s.changesSince(3)).toEqual([]);
    expect(s.changesSince(0)).toBeUndefined();
  });

  it('lists in order with namespace, prefix and pagination', () => {
    const s = new Store();
    for (const [ns, n] of [
      ['b', 'x'],
      ['a', 'web-2'],
      ['a', 'web-1'],
      ['a', 'api'],
      ['c', 'web-3'],
    ] as const) {
      s.setFacts(ns, n, facts({ k: 1 }));
    }
    const names = (r: { items: { namespace: string; name: string }[] }) =>
      r.items.map((i) => `${i.namespace}/${i.name}`);
    expect(names(s.list())).toEqual(['a/api', 'a/web-1', 'a/web-2', 'b/x', 'c/web-3']);
    expect(names(s.list({ namespace: 'a', prefix: 'web' }))).toEqual(['a/web-1', 'a/web-2']);
    expect(names(s.list({ prefix: 'web' }))).toEqual(['a/web-1', 'a/web-2', 'c/web-3']);
    const p1 = s.list({ limit: 2 });
    expect(names(p1)).toEqual(['a/api', 'a/web-1']);
    const p2 = s.list({ limit: 2, continue: p1.continue });
    expect(names(p2)).toEqual(['a/web-2', 'b/x']);
    const p3 = s.list({ limit: 2, continue: p2.continue });
    expect(names(p3)).toEqual(['c/web-3']);
    expect(p3.continue).toBeUndefined();
  });

  it('never serialises a secret value', () => {
    const s = new Store();
    s.setSecrets('ns', 'a', secrets({ db: 'hunter2' }));
    const id = s.get('ns', 'a');
    expect(JSON.stringify(id)).not.toContain('hunter2');
    expect(JSON.stringify([...id!.secrets!.values])).not.toContain('hunter2');
    expect(inspect(id, { depth: 10 })).not.toContain('hunter2');
    expect(`${id!.secrets!.values.get('db')}`).toBe('[REDACTED]');
  });
});

describe('Store: empty secrets', () => {
  it('indexes a new empty, ready secrets entry without a change event', () => {
    const s = new Store();
    const seen: ChangeEvent[] = [];
    s.onChange((e) => seen.push(e));
    s.setSecrets('ns', 'a', secrets({}));
    expect(s.get('ns', 'a')?.secrets?.values.size).toBe(0);
    expect(s.list().items.map((i) => i.name)).toEqual(['a']);
    expect(seen).toEqual([]);
    s.setSecrets('ns', 'a', secrets({ k: 'v' }));
    expect(seen.map((e) => e.keys)).toEqual([['k']]);
  });
});

describe('Store: replay buffer', () => {
  it('is bounded by the key names it holds as well as by events', () => {
    const s = new Store(10); // at most 10 events, or 80 key names
    const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    s.setFacts('ns', 'a', facts(many));
    s.setFacts('ns', 'b', facts(many));
    expect(s.changesSince(1)?.map((e) => e.name)).toEqual(['b']);
    expect(s.changesSince(0)).toBeUndefined();
  });

  it('keeps exactly the last events, in order, however many came before (the head moves, the array compacts)', () => {
    const s = new Store(10);
    for (let i = 1; i <= 47; i++) s.setFacts('ns', `id-${i}`, facts({ x: i }));
    expect(s.changesSince(37)?.map((e) => e.revision)).toEqual([38, 39, 40, 41, 42, 43, 44, 45, 46, 47]);
    expect(s.changesSince(36)).toBeUndefined();
    expect(s.changesSince(45)?.map((e) => e.name)).toEqual(['id-46', 'id-47']);
    expect(s.changesSince(47)).toEqual([]);
  });

  it('tells a waiting writer the moment its version is stored, with no polling, or false at the deadline', async () => {
    const s = new Store();
    const seen: string[] = [];
    const visible = s
      .until('ns', 'a', (i) => i?.facts?.resourceVersion === '7', 5_000)
      .then((ok) => seen.push(`visible ${ok}`));
    s.setFacts('ns', 'a', { ...facts({ x: 1 }), resourceVersion: '6' });
    await Promise.resolve();
    expect(seen).toEqual([]);
    // A status-only change keeps the values but moves the resourceVersion: bookkeeping still wakes the writer.
    s.setFacts('ns', 'a', { ...facts({ x: 1 }), resourceVersion: '7' });
    await visible;
    expect(seen).toEqual(['visible true']);
    const gone = s.until('ns', 'a', (i) => i === undefined, 5_000);
    s.deleteFacts('ns', 'a');
    expect(await gone).toBe(true);
    expect(await s.until('ns', 'a', (i) => i?.facts?.resourceVersion === '99', 20)).toBe(false);
  });
});

describe('Store: counts', () => {
  it('match a full recount after every write of a long random sequence', () => {
    const s = new Store(50);
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const recount = () => {
      let f = 0;
      let k = 0;
      let failing = 0;
      for (const i of s.list().items) {
        f += i.facts ? Object.keys(i.facts.values).length : 0;
        k += i.secrets?.values.size ?? 0;
        failing += i.secrets?.unresolved.length ?? 0;
      }
      return { identities: s.size, facts: f, secretKeys: k, secretsFailing: failing };
    };
    for (let step = 0; step < 3_000; step++) {
      const name = `id-${rand(20)}`;
      const values = Object.fromEntries(Array.from({ length: rand(4) }, (_, i) => [`k${i}`, rand(3)]));
      switch (rand(5)) {
        case 0:
          s.deleteFacts('ns', name);
          break;
        case 1:
          s.deleteSecrets('ns', name);
          break;
        case 2:
          s.setSecrets('ns', name, {
            ...secrets(Object.fromEntries(Object.entries(values).map(([k, v]) => [k, String(v)]))),
            unresolved: rand(2) ? [] : ['missing'],
            ready: rand(2) === 0,
          });
          break;
        default:
          s.setFacts('ns', name, { ...facts(values), ready: rand(4) !== 0 });
      }
      expect(s.counts(), `step ${step}`).toEqual(recount());
    }
  });
});

describe('Store: replay buffer against a model', () => {
  it('answers changesSince as a plain list of the last events would, across head moves and compactions', () => {
    for (const capacity of [1, 2, 3, 5, 7]) {
      let seed = capacity * 17;
      const rand = (n: number) => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      const s = new Store(capacity);
      const all: ChangeEvent[] = [];
      s.onChange((e) => all.push(e));
      for (let step = 0; step < 400; step++) {
        // Up to 10 × capacity keys an event, so that the bound on keys held (8 × capacity) drops events too.
        const values = Object.fromEntries(
          Array.from({ length: rand(capacity * 10) }, (_, i) => [`k${i}-${rand(1000)}`, step]),
        );
        if (rand(6) === 0) s.deleteFacts('ns', `id-${rand(5)}`);
        else s.setFacts('ns', `id-${rand(5)}`, facts(values));
        // The model: the newest events, at most `capacity`, and at most 8 × capacity keys unless only one is kept.
        const kept: ChangeEvent[] = [];
        let keys = 0;
        for (let i = all.length - 1; i >= 0 && kept.length < capacity; i--) {
          const e = all[i]!;
          if (kept.length >= 1 && keys + e.keys.length > capacity * 8) break;
          kept.unshift(e);
          keys += e.keys.length;
        }
        for (let r = Math.max(0, s.revision - 12 * capacity); r <= s.revision + 1; r++) {
          const want =
            r >= s.revision
              ? []
              : !kept[0] || kept[0].revision > r + 1
                ? undefined
                : kept.filter((e) => e.revision > r);
          expect(s.changesSince(r), `capacity ${capacity}, step ${step}, since ${r}`).toEqual(want);
        }
      }
    }
  });
});
