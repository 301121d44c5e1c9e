import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Informer, type ListPage } from './informer.js';

interface Obj {
  metadata: { name: string; namespace: string; resourceVersion: string };
  spec?: { big: string };
}
type Done = (err: unknown) => void;
type Cb = (phase: string, obj: unknown) => void;

const obj = (name: string, rv: string): Obj => ({
  metadata: { name, namespace: 'ns', resourceVersion: rv },
  spec: { big: 'x'.repeat(10) },
});
const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

/** A watch whose streams the test drives by hand. */
class FakeWatch {
  calls: { query: Record<string, unknown>; rv: string; cb: Cb; done: Done }[] = [];
  async watch(_path: string, query: Record<string, unknown>, cb: Cb, done: Done) {
    this.calls.push({ query, rv: String(query.resourceVersion ?? ''), cb, done });
    return { abort() {} } as AbortController;
  }
  get last() {
    return this.calls.at(-1)!;
  }
}

/** Lists, each a list of pages; the last list repeats. A page with rv 'fail' throws. */
function setup(lists: ListPage<Obj>[][], opts: { healthyAfterMs?: number; now?: () => number } = {}) {
  const watch = new FakeWatch();
  const restarts: string[] = [];
  const delays: number[] = [];
  const relists: boolean[] = [];
  const pages: (string | undefined)[] = [];
  let listCalls = 0;
  let current: ListPage<Obj>[] = [];
  const informer = new Informer<Obj, { name: string; rv: string }>({
    resource: 'things',
    path: '/x',
    watch,
    listPage: async (next) => {
      pages.push(next);
      if (next === undefined) current = lists[Math.min(listCalls++, lists.length - 1)]!;
      const page = current[next === undefined ? 0 : Number(next)]!;
      if (page.metadata?.resourceVersion === 'fail')
        throw Object.assign(new Error('boom'), { statusCode: 500 });
      return page;
    },
    keep: (o) => ({ name: o.metadata.name, rv: o.metadata.resourceVersion }),
    log: pino({ level: 'silent' }),
    hooks: {
      onRestart: (r, delay) => {
        restarts.push(r);
        delays.push(delay);
      },
      onList: (_r, initial) => relists.push(initial),
    },
    baseBackoffMs: 1,
    maxBackoffMs: 4,
    random: () => 0.5,
    ...opts,
  });
  const events: string[] = [];
  informer.on('add', (v, raw) => events.push(`add ${v.name}@${v.rv}${raw?.spec ? '+raw' : ''}`));
  informer.on('update', (v) => events.push(`update ${v.name}@${v.rv}`));
  informer.on('delete', (v) => events.push(`delete ${v.name}`));
  return { informer, watch, events, restarts, delays, relists, pages, lists: () => listCalls };
}

const one = (items: Obj[], rv: string): ListPage<Obj>[] => [{ items, metadata: { resourceVersion: rv } }];

describe('Informer', () => {
  it('lists page by page, keeps only what `keep` returns, then watches with bookmarks from the list version', async () => {
    const t = setup([
      [
        { items: [obj('a', '1')], metadata: { resourceVersion: '10', continue: '1' } },
        { items: [obj('b', '2')], metadata: { resourceVersion: '10' } },
      ],
    ]);
    await t.informer.start();
    expect(t.informer.synced).toBe(true);
    expect(t.pages).toEqual([undefined, '1']);
    expect(t.events).toEqual(['add a@1+raw', 'add b@2+raw']);
    expect(t.informer.get('ns', 'a')).toEqual({ name: 'a', rv: '1' });
    expect(t.watch.last.rv).toBe('10');
    expect(t.watch.last.query.allowWatchBookmarks).toBe(true);
    expect(t.watch.last.query.timeoutSeconds).toBeGreaterThan(0);
    await t.informer.stop();
  });

  it('is synced only after the last page has been handed over', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const seen: string[] = [];
    const informer = new Informer<Obj>({
      resource: 'things',
      path: '/x',
      watch: new FakeWatch(),
      listPage: async (next) => {
        if (next === undefined) return { items: [obj('a', '1')], metadata: { continue: '1' } };
        await gate;
        return { items: [obj('b', '2')], metadata: { resourceVersion: '5' } };
      },
      log: pino({ level: 'silent' }),
    });
    informer.on('add', (o) => seen.push(o.metadata.name));
    const started = informer.start();
    await tick();
    expect(seen).toEqual(['a']);
    expect(informer.synced).toBe(false);
    release();
    await started;
    expect(seen).toEqual(['a', 'b']);
    expect(informer.synced).toBe(true);
    await informer.stop();
  });

  it('relists on a 410 status, firing deletes for vanished objects and skipping unchanged ones', async () => {
    const t = setup([one([obj('a', '1'), obj('b', '2')], '10'), one([obj('a', '12'), obj('c', '3')], '20')]);
    await t.informer.start();
    t.watch.last.done(Object.assign(new Error('Gone'), { statusCode: 410 }));
    await tick();
    expect(t.events).toEqual(['add a@1+raw', 'add b@2+raw', 'update a@12', 'add c@3+raw', 'delete b']);
    expect(t.watch.last.rv).toBe('20');
    expect(t.relists).toEqual([true, false]);
    await t.informer.stop();
  });

  it('relists on a 410 that arrives as an ERROR event in the stream', async () => {
    const t = setup([one([obj('a', '1')], '10'), one([obj('a', '1'), obj('c', '15')], '20')]);
    await t.informer.start();
    t.watch.last.cb('ERROR', { code: 410, metadata: {} });
    t.watch.last.done(null);
    await tick();
    expect(t.lists()).toBe(2);
    expect(t.events).toEqual(['add a@1+raw', 'add c@15+raw']);
    await t.informer.stop();
  });

  it('follows watch events and bookmarks, resuming from the last version after an error', async () => {
    const t = setup([one([obj('a', '1')], '10')]);
    await t.informer.start();
    t.watch.last.cb('MODIFIED', obj('a', '11'));
    t.watch.last.cb('ADDED', obj('d', '12'));
    t.watch.last.cb('DELETED', obj('d', '13'));
    t.watch.last.cb('BOOKMARK', { metadata: { resourceVersion: '40' } });
    t.watch.last.done(Object.assign(new Error('connection reset'), { statusCode: 500 }));
    await tick(20);
    expect(t.events).toEqual(['add a@1+raw', 'update a@11', 'add d@12+raw', 'delete d']);
    expect(t.restarts).toEqual(['things']);
    expect(t.watch.calls.map((c) => c.rv)).toEqual(['10', '40']);
    expect(t.lists()).toBe(1);
    await t.informer.stop();
  });

  it('resumes at once, without a relist or a backoff, when the server ends a watch at its timeout', async () => {
    let clock = 0;
    const t = setup([one([obj('a', '1')], '10')], { now: () => clock });
    await t.informer.start();
    clock += 300_000;
    t.watch.last.done(null);
    await tick();
    expect(t.watch.calls).toHaveLength(2);
    expect(t.restarts).toEqual([]);
    expect(t.lists()).toBe(1);
    await t.informer.stop();
  });

  it('resets the backoff after a healthy period, so an ordinary error reconnects at once', async () => {
    let clock = 0;
    const t = setup([one([obj('a', '1')], '10')], { healthyAfterMs: 10_000, now: () => clock });
    await t.informer.start();
    const fail = async (upForMs: number) => {
      clock += upForMs;
      t.watch.last.done(Object.assign(new Error('reset'), { statusCode: 500 }));
      await tick(10);
    };
    for (let i = 0; i < 4; i++) await fail(60_000); // each watch was up a minute before it failed
    for (let i = 0; i < 4; i++) await fail(10); // each failed at once
    expect(t.watch.calls).toHaveLength(9);
    // base 1 ms, cap 4 ms, jitter factor 1: healthy failures always wait the base; quick ones climb to the cap.
    expect(t.delays).toEqual([1, 1, 1, 1, 2, 4, 4, 4]);
    await t.informer.stop();
  });

  it('keeps retrying a failing first list, and syncs when it succeeds', async () => {
    const t = setup([one([], 'fail'), one([], 'fail'), one([obj('a', '1')], '10')]);
    await t.informer.start();
    expect(t.restarts).toHaveLength(2);
    expect(t.events).toEqual(['add a@1+raw']);
    await t.informer.stop();
  });
});

describe('a resource whose CRD may be missing (absentCrdHint)', () => {
  it('is synced as empty while the list is 404, says so once, and fills once the resource is served', async () => {
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => warnings.push(JSON.parse(l).msg) });
    let served = false;
    const watch = new FakeWatch();
    const informer = new Informer<Obj, Obj>({
      resource: 'factprofiles',
      path: '/x',
      watch,
      listPage: async () => {
        if (!served)
          throw Object.assign(new Error('the server could not find the requested resource'), {
            statusCode: 404,
          });
        return { items: [obj('gold', '7')], metadata: { resourceVersion: '7' } };
      },
      log,
      absentRetryMs: 5,
      absentCrdHint: 'CRD factprofiles.flagops.io is not installed',
    });
    await informer.start(); // resolves: readiness does not wait for a CRD that is not there
    expect(informer.synced).toBe(true);
    expect(informer.absent).toBe(true);
    expect(informer.list()).toEqual([]);
    await tick(30); // retried several times, said once
    expect(warnings).toEqual(['CRD factprofiles.flagops.io is not installed']);
    served = true;
    await tick(30);
    expect(informer.absent).toBe(false);
    expect(informer.list().map((o) => o.metadata.name)).toEqual(['gold']);
    expect(watch.calls.length).toBe(1); // watching from the list's version
    await informer.stop();
  });
});
