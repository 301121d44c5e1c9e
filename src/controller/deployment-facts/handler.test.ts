import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { DeploymentFacts } from '../../api/types.js';
import { SecretValue } from '../../store/secret-value.js';
import { Store } from '../../store/store.js';
import { Informer, type ListPage } from '../informer.js';
import type { StatusSync } from '../status-sync.js';
import { type FactsRecord, factsHandler, keepFacts } from './handler.js';

type Cb = (phase: string, obj: unknown) => void;
type Done = (err: unknown) => void;

class FakeWatch {
  calls: { cb: Cb; done: Done }[] = [];
  async watch(_path: string, _query: Record<string, unknown>, cb: Cb, done: Done) {
    this.calls.push({ cb, done });
    return { abort() {} } as AbortController;
  }
  get last() {
    return this.calls.at(-1)!;
  }
}

const df = (name: string, rv: string, facts: unknown): DeploymentFacts =>
  JSON.parse(
    JSON.stringify({
      apiVersion: 'flagops.io/v1alpha1',
      kind: 'DeploymentFacts',
      metadata: {
        name,
        namespace: 'ns',
        resourceVersion: rv,
        generation: Number(rv),
        uid: `uid-${name}`,
        managedFields: [
          {
            manager: 'argocd-controller',
            operation: 'Apply',
            fieldsV1: {
              'f:spec': {
                'f:facts': Object.fromEntries(Object.keys(facts as object).map((k) => [`f:${k}`, {}])),
              },
            },
          },
        ],
      },
      spec: { facts },
    }),
  );
const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

function recount(s: Store) {
  let facts = 0;
  let secretKeys = 0;
  let secretsFailing = 0;
  for (const i of s.list().items) {
    facts += i.facts ? Object.keys(i.facts.values).length : 0;
    secretKeys += i.secrets?.values.size ?? 0;
    secretsFailing += i.secrets?.unresolved.length ?? 0;
  }
  return { identities: s.size, facts, secretKeys, secretsFailing };
}

describe('facts informer, handler and store together', () => {
  it('keep the store, its counts and the cache right through updates, an invalid spec, a 410 relist and deletes', async () => {
    const store = new Store();
    const pending = new Map<string, unknown>();
    const status = {
      set: (key: string, s: unknown) => (s ? pending.set(key, s) : pending.delete(key)),
    } as unknown as StatusSync;
    const watch = new FakeWatch();
    const lists: ListPage<DeploymentFacts>[] = [
      {
        items: [df('a', '1', { x: 'eu', y: 1 }), df('b', '2', { z: true }), df('c', '3', { w: 'w' })],
        metadata: { resourceVersion: '10' },
      },
      {
        items: [df('a', '11', { x: 'us' }), df('b', '12', { z: true, q: 'new' }), df('d', '13', { v: 0 })],
        metadata: { resourceVersion: '20' },
      },
    ];
    let listCalls = 0;
    const informer = new Informer<DeploymentFacts, FactsRecord>({
      resource: 'deploymentfacts',
      path: '/x',
      watch,
      listPage: async () => lists[Math.min(listCalls++, lists.length - 1)]!,
      keep: keepFacts,
      log: pino({ level: 'silent' }),
      baseBackoffMs: 1,
      maxBackoffMs: 4,
      random: () => 0.5,
    });
    const facts = factsHandler({ store, status });
    const upsert = (_r: FactsRecord, raw: DeploymentFacts | undefined) => raw && facts.upsert(raw);
    informer.on('add', upsert);
    informer.on('update', upsert);
    informer.on('delete', (r) => facts.remove(r));
    // Secrets for a (one failing) and c, as the DeploymentSecrets handler would write them.
    const secrets = (failing: string[]) => ({
      values: new Map([['db', SecretValue.fromPlain('s3cret')]]),
      generation: 1,
      resourceVersion: '1',
      ready: failing.length === 0,
      reason: failing.length ? 'SecretNotFound' : 'Resolved',
      unresolved: failing,
    });
    store.setSecrets('ns', 'a', secrets(['missing']));
    store.setSecrets('ns', 'c', secrets([]));

    await informer.start();
    expect(store.counts()).toEqual(recount(store));
    expect(store.counts()).toEqual({ identities: 3, facts: 4, secretKeys: 2, secretsFailing: 1 });
    expect(informer.get('ns', 'a')).toBe('ns/a');

    // b turns invalid: its last facts stay, not Ready.
    watch.last.cb('MODIFIED', df('b', '5', { z: null }));
    expect(store.get('ns', 'b')?.facts).toMatchObject({
      values: { z: true },
      ready: false,
      reason: 'InvalidSpec',
    });
    expect(store.counts()).toEqual(recount(store));
    // a's secret resolves.
    store.setSecrets('ns', 'a', secrets([]));
    expect(store.counts()).toEqual(recount(store));

    // 410: the relist changes a, mends b, drops c (its secrets stay), adds d.
    watch.last.done(Object.assign(new Error('Gone'), { statusCode: 410 }));
    await tick();
    expect(listCalls).toBe(2);
    expect(store.get('ns', 'a')?.facts?.values).toEqual({ x: 'us' });
    expect(store.get('ns', 'b')?.facts).toMatchObject({ values: { z: true, q: 'new' }, ready: true });
    expect(store.get('ns', 'c')?.facts).toBeUndefined();
    expect(store.get('ns', 'c')?.secrets?.values.size).toBe(1);
    expect(store.get('ns', 'd')?.facts?.values).toEqual({ v: 0 });
    expect(informer.list().sort()).toEqual(['ns/a', 'ns/b', 'ns/d']);
    expect(store.counts()).toEqual(recount(store));
    expect(store.counts()).toEqual({ identities: 4, facts: 4, secretKeys: 2, secretsFailing: 0 });
    // Owners: the same managers and facts share one list; another identity is not given a's.
    expect(store.get('ns', 'a')?.facts?.owners?.owners[0]?.facts).toEqual(['x']);
    expect(store.get('ns', 'd')?.facts?.owners?.owners[0]?.facts).toEqual(['v']);

    // Deletes by watch: a's facts (its secrets stay), then d entirely.
    watch.last.cb('DELETED', df('a', '30', {}));
    watch.last.cb('DELETED', df('d', '31', {}));
    expect(store.get('ns', 'a')?.facts).toBeUndefined();
    expect(store.get('ns', 'd')).toBeUndefined();
    expect(store.counts()).toEqual(recount(store));
    expect(store.counts()).toEqual({ identities: 3, facts: 2, secretKeys: 2, secretsFailing: 0 });
    expect(pending.has('ns/a')).toBe(false);
    await informer.stop();
  });
});
