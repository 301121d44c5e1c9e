import { describe, expect, it } from 'vitest';
import { TtlCache } from '../src/cache.js';

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('TtlCache', () => {
  it('serves from cache until the TTL expires', async () => {
    let now = 0;
    const cache = new TtlCache<number>(1000, () => now);
    let loads = 0;
    const load = async () => ++loads;
    expect(await cache.get('k', load)).toBe(1);
    now = 999;
    expect(await cache.get('k', load)).toBe(1);
    now = 1000;
    expect(await cache.get('k', load)).toBe(2);
  });

  it('shares one load between concurrent callers and does not cache failures', async () => {
    const cache = new TtlCache<number>(1000);
    const d = deferred<number>();
    let loads = 0;
    const load = () => {
      loads++;
      return d.promise;
    };
    const both = Promise.all([cache.get('k', load), cache.get('k', load)]);
    d.resolve(5);
    expect(await both).toEqual([5, 5]);
    expect(loads).toBe(1);
    await expect(cache.get('x', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await cache.get('x', async () => 9)).toBe(9);
  });

  it('does not store a load that was invalidated while in flight', async () => {
    const cache = new TtlCache<string>(60_000);
    const old = deferred<string>();
    const first = cache.get('k', () => old.promise);
    cache.invalidate('k');
    // A caller after the invalidation must not join the stale load.
    const second = cache.get('k', async () => 'new');
    old.resolve('old');
    expect(await first).toBe('old');
    expect(await second).toBe('new');
    expect(await cache.get('k', async () => 'reloaded')).toBe('new');
  });

  it('with TTL 0 never caches', async () => {
    const cache = new TtlCache<number>(0);
    let n = 0;
    await cache.get('k', async () => ++n);
    expect(await cache.get('k', async () => ++n)).toBe(2);
    expect(cache.size).toBe(0);
  });
});
