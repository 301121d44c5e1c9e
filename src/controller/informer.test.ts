import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Informer } from './informer.js';

interface Obj {
  metadata: { name: string; namespace: string; resourceVersion: string };
}
type Done = (err: unknown) => void;
type Cb = (phase: string, obj: unknown) => void;

const obj = (name: string, rv: string): Obj => ({ metadata: { name, namespace: 'ns', resourceVersion: rv } });
const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

/** A watch whose streams the test drives by hand. */
class FakeWatch {
  calls: { rv: string; cb: Cb; done: Done }[] = [];
  async watch(_path: string, query: Record<string, string>, cb: Cb, done: Done) {
    this.calls.push({ rv: query.resourceVersion ?? '', cb, done });
    return { abort() {} } as AbortController;
  }
  get last() {
    return this.calls.at(-1)!;
  }
}

function setup(lists: { items: Obj[]; rv: string }[]) {
  const watch = new FakeWatch();
  const restarts: string[] = [];
  const relists: boolean[] = [];
  let listCalls = 0;
  const informer = new Informer<Obj>({
    resource: 'things',
    path: '/x',
    watch,
    list: async () => {
      const l = lists[Math.min(listCalls++, lists.length - 1)]!;
      if (l.rv === 'fail') throw Object.assign(new Error('boom'), { statusCode: 500 });
      return { items: l.items, metadata: { resourceVersion: l.rv } };
    },
    log: pino({ level: 'silent' }),
    hooks: { onRestart: (r) => restarts.push(r), onList: (_r, initial) => relists.push(initial) },
    baseBackoffMs: 1,
    maxBackoffMs: 4,
    random: () => 0.5,
  });
  const events: string[] = [];
  informer.on('add', (o) => events.push(`add ${o.metadata.name}@${o.metadata.resourceVersion}`));
  informer.on('update', (o) => events.push(`update ${o.metadata.name}@${o.metadata.resourceVersion}`));
  informer.on('delete', (o) => events.push(`delete ${o.metadata.name}`));
  return { informer, watch, events, restarts, relists, lists: () => listCalls };
}

describe('Informer', () => {
  it('lists, then watches from the list resourceVersion; start resolves after the first list', async () => {
    const t = setup([{ items: [obj('a', '1')], rv: '10' }]);
    await t.informer.start();
    expect(t.informer.synced).toBe(true);
    expect(t.events).toEqual(['add a@1']);
    expect(t.watch.last.rv).toBe('10');
    await t.informer.stop();
  });

  it('relists on a 410 status, firing deletes for vanished objects, without losing updates', async () => {
    const t = setup([
      { items: [obj('a', '1'), obj('b', '2')], rv: '10' },
      { items: [obj('a', '12')], rv: '20' },
    ]);
    await t.informer.start();
    t.watch.last.done(Object.assign(new Error('Gone'), { statusCode: 410 }));
    await tick();
    expect(t.events).toEqual(['add a@1', 'add b@2', 'delete b', 'update a@12']);
    expect(t.watch.last.rv).toBe('20');
    expect(t.relists).toEqual([true, false]);
    await t.informer.stop();
  });

  it('relists on a 410 that arrives as an ERROR event in the stream', async () => {
    const t = setup([
      { items: [obj('a', '1')], rv: '10' },
      { items: [obj('a', '1'), obj('c', '15')], rv: '20' },
    ]);
    await t.informer.start();
    t.watch.last.cb('ERROR', { code: 410, metadata: {} });
    t.watch.last.done(null);
    await tick();
    expect(t.lists()).toBe(2);
    expect(t.events).toEqual(['add a@1', 'add c@15']);
    await t.informer.stop();
  });

  it('restarts after any other error with backoff, resuming from the last resourceVersion', async () => {
    const t = setup([{ items: [obj('a', '1')], rv: '10' }]);
    await t.informer.start();
    t.watch.last.cb('MODIFIED', obj('a', '11'));
    t.watch.last.done(Object.assign(new Error('connection reset'), { statusCode: 500 }));
    await tick(20);
    expect(t.restarts).toEqual(['things']);
    expect(t.watch.calls.map((c) => c.rv)).toEqual(['10', '11']);
    expect(t.lists()).toBe(1);
    await t.informer.stop();
  });

  it('keeps retrying a failing first list, and syncs when it succeeds', async () => {
    const t = setup([
      { items: [], rv: 'fail' },
      { items: [], rv: 'fail' },
      { items: [obj('a', '1')], rv: '10' },
    ]);
    await t.informer.start();
    expect(t.restarts).toHaveLength(2);
    expect(t.events).toEqual(['add a@1']);
    await t.informer.stop();
  });
});
