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
