import { describe, expect, it } from 'vitest';
import { TtlCache } from './ttl-cache.js';

describe('TtlCache', () => {
  it('expires entries, keeps them as stale answers for a grace period, and evicts the oldest when full', () => {
    let now = 0;
    const c = new TtlCache<string>(2, () => now);
    c.set('a', 'A', 100);
    expect(c.get('a')).toBe('A');
    now = 150;
    expect(c.get('a')).toBeUndefined();
    expect(c.stale('a', 100)).toBe('A');
    expect(c.stale('a', 10)).toBeUndefined();
    c.set('b', 'B', 100);
    c.set('c', 'C', 100);
    expect(c.stale('a', 1000)).toBeUndefined();
    expect(c.get('b')).toBe('B');
  });
});

describe('InFlight', () => {
  it('shares one call per key while it runs, and runs at most `limit` calls at once', async () => {
    const { InFlight } = await import('./ttl-cache.js');
    const f = new InFlight<number>(2);
    let calls = 0;
    let running = 0;
    let maxRunning = 0;
    const call = (v: number) => async () => {
      calls++;
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setTimeout(r, 10));
      running--;
      return v;
    };
    const results = await Promise.all([
      f.run('a', call(1)),
      f.run('a', call(99)),
      f.run('b', call(2)),
      f.run('c', call(3)),
      f.run('d', call(4)),
    ]);
    expect(results).toEqual([1, 1, 2, 3, 4]);
    expect(calls).toBe(4);
    expect(maxRunning).toBe(2);
    expect(await f.run('a', call(5))).toBe(5);
  });
});
