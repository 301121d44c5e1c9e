import { describe, expect, it } from 'vitest';
import type { Condition } from '../api/conditions.js';
import { sameStatus, setCondition } from './conditions.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T00:05:00Z');

describe('setCondition', () => {
  const ready: Omit<Condition, 'lastTransitionTime'> = {
    type: 'Ready',
    status: 'True',
    reason: 'Indexed',
    message: '1 fact served',
  };
  it.each([
    ['adds a new condition at now', undefined, ready, '2026-01-01T00:05:00Z'],
    [
      'keeps lastTransitionTime when the status did not change',
      [{ ...ready, message: 'old', lastTransitionTime: '2026-01-01T00:00:00Z' }],
      ready,
      '2026-01-01T00:00:00Z',
    ],
    [
      'moves lastTransitionTime when the status changes',
      [{ ...ready, lastTransitionTime: '2026-01-01T00:00:00Z' }],
      { ...ready, status: 'False' as const, reason: 'InvalidSpec' as const },
      '2026-01-01T00:05:00Z',
    ],
  ])('%s', (_name, list, next, expected) => {
    const out = setCondition(list as Condition[] | undefined, next, t1);
    expect(out).toHaveLength(1);
    expect(out[0]!.lastTransitionTime).toBe(expected);
    expect(out[0]!.message).toBe(next.message);
  });

  it('keeps other condition types', () => {
    const other: Condition = {
      type: 'Synced',
      status: 'True',
      reason: 'Indexed',
      message: '',
      lastTransitionTime: t0.toISOString(),
    };
    expect(setCondition([other], ready, t1).map((c) => c.type)).toEqual(['Ready', 'Synced']);
  });
});

describe('sameStatus', () => {
  it('ignores key order but not values', () => {
    expect(sameStatus({ a: 1, b: { c: 2, d: 3 } }, { b: { d: 3, c: 2 }, a: 1 })).toBe(true);
    expect(sameStatus({ a: 1 }, { a: 2 })).toBe(false);
  });
});

describe('sameStatus agrees with comparing sorted JSON', () => {
  const sortedJson = (v: unknown) =>
    JSON.stringify(v, (_k, val) =>
      val && typeof val === 'object' && !Array.isArray(val)
        ? Object.fromEntries(Object.entries(val).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
        : val,
    );
  // A small deterministic generator (mulberry32), so that a failure names its seed.
  const rng = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const leaves = [
    0,
    -0,
    1,
    1.5,
    'a',
    'b',
    '',
    true,
    false,
    null,
    undefined,
    Number.NaN,
    Infinity,
    new Date(0),
  ];
  const keys = ['a', 'b', 'c', 'type', '__proto__', 'constructor'];
  function gen(r: () => number, depth: number): unknown {
    const p = r();
    if (depth > 2 || p < 0.4) return leaves[Math.floor(r() * leaves.length)];
    if (p < 0.65) return Array.from({ length: Math.floor(r() * 3) }, () => gen(r, depth + 1));
    const o: Record<string, unknown> = {};
    for (const k of keys)
      if (r() < 0.35)
        Object.defineProperty(o, k, {
          value: gen(r, depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
    return o;
  }
  /** The same value with its keys in another order, or slightly changed. */
  function variant(v: unknown, r: () => number): unknown {
    if (Array.isArray(v)) return v.map((e) => variant(e, r));
    if (v && typeof v === 'object' && !(v instanceof Date)) {
      const entries = Object.entries(v).reverse();
      if (r() < 0.1) entries.pop();
      const o: Record<string, unknown> = {};
      for (const [k, e] of entries)
        Object.defineProperty(o, k, {
          value: variant(e, r),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      return o;
    }
    return r() < 0.1 ? leaves[Math.floor(r() * leaves.length)] : v;
  }

  it('on 20,000 generated pairs', () => {
    let same = 0;
    for (let seed = 1; seed <= 20_000; seed++) {
      const r = rng(seed);
      const a = gen(r, 0);
      const b = r() < 0.5 ? variant(a, r) : gen(r, 0);
      const expected = sortedJson(a) === sortedJson(b);
      if (sameStatus(a, b) !== expected)
        throw new Error(`seed ${seed}: ${sortedJson(a)} vs ${sortedJson(b)}`);
      if (expected) same++;
    }
    // Both outcomes are exercised, not only one.
    expect(same).toBeGreaterThan(2_000);
    expect(same).toBeLessThan(18_000);
  });
});
