import { describe, expect, it } from 'vitest';
import { DeploymentFactsSpec, MAX_FACT_VALUE_CHARS, MAX_FACTS, plainlyValidFacts } from './facts.js';

/** mulberry32: deterministic, so that a failure names its seed. */
const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const names = [
  'tier',
  'max-replicas',
  'a',
  'A9',
  'a.b_c-d',
  'x'.repeat(63),
  'x'.repeat(64),
  '-a',
  'a-',
  '_a',
  'a_',
  '.a',
  '',
  ' ',
  'a b',
  'é',
  '__proto__',
  'constructor',
  'toString',
  '0',
  '1',
  '42',
  'f:x',
  'a/b',
];
const values: unknown[] = [
  'gold',
  '',
  'x'.repeat(MAX_FACT_VALUE_CHARS),
  'x'.repeat(MAX_FACT_VALUE_CHARS + 1),
  'é'.repeat(10),
  0,
  -0,
  1,
  1.5,
  -3,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 2,
  -Number.MAX_SAFE_INTEGER - 2,
  Number.NaN,
  Infinity,
  -Infinity,
  true,
  false,
  null,
  undefined,
  [],
  ['a'],
  {},
  { a: 1 },
  10n,
  Symbol('s'),
  () => 1,
  new Date(0),
];

function genFacts(r: () => number): unknown {
  const p = r();
  if (p < 0.03) return undefined;
  if (p < 0.06) return values[Math.floor(r() * values.length)];
  const o: Record<string, unknown> = p < 0.08 ? Object.create(null) : {};
  const n = r() < 0.02 ? MAX_FACTS + Math.floor(r() * 3) - 1 : Math.floor(r() * 6);
  // Mostly valid input (the common case), with a bad name or value now and then.
  for (let i = 0; i < n; i++) {
    const name = r() < 0.9 ? `f${i}-${Math.floor(r() * 1000)}` : names[Math.floor(r() * names.length)]!;
    const value =
      r() < 0.85
        ? ['gold', 3, true, 'eu-1', 2.5][Math.floor(r() * 5)]
        : values[Math.floor(r() * values.length)];
    Object.defineProperty(o, name, { value, enumerable: r() > 0.01, writable: true, configurable: true });
  }
  if (r() < 0.01) (o as Record<symbol, unknown>)[Symbol('s')] = 1;
  return o;
}

function genSpec(r: () => number): unknown {
  const p = r();
  if (p < 0.03) return values[Math.floor(r() * values.length)];
  const spec: Record<string, unknown> = p < 0.05 ? Object.create(null) : {};
  if (r() < 0.95) spec.facts = genFacts(r);
  if (r() < 0.05) spec.other = 'stripped by zod';
  return spec;
}

describe('plainlyValidFacts', () => {
  it('accepts only what zod accepts, with the same facts, on 50,000 generated specs', () => {
    let fast = 0;
    let refused = 0;
    for (let seed = 1; seed <= 50_000; seed++) {
      const spec = genSpec(rng(seed));
      const quick = plainlyValidFacts(spec);
      const parsed = DeploymentFactsSpec.safeParse(spec);
      if (!parsed.success) refused++;
      if (quick === undefined) continue;
      fast++;
      if (!parsed.success)
        throw new Error(`seed ${seed}: accepted what zod refuses: ${parsed.error.message}`);
      expect(quick, `seed ${seed}`).toEqual(parsed.data.facts ?? {});
      expect(Object.keys(quick), `seed ${seed}`).toEqual(Object.keys(parsed.data.facts ?? {}));
    }
    // The common case takes the fast road, and the generator does reach what zod refuses.
    expect(fast).toBeGreaterThan(30_000);
    expect(refused).toBeGreaterThan(3_000);
  });

  it('takes the common shapes, and leaves the edges to zod', () => {
    expect(plainlyValidFacts({ facts: { tier: 'gold', n: 1, on: false } })).toEqual({
      tier: 'gold',
      n: 1,
      on: false,
    });
    expect(plainlyValidFacts({})).toEqual({});
    expect(plainlyValidFacts({ facts: {} })).toEqual({});
    for (const spec of [
      null,
      [],
      { facts: null },
      { facts: [] },
      { facts: { '-bad': 1 } },
      { facts: { a: null } },
      { facts: { a: 'x'.repeat(MAX_FACT_VALUE_CHARS + 1) } },
      { facts: { a: Number.MAX_SAFE_INTEGER + 2 } },
      // An own __proto__ key, as JSON.parse makes it: zod (and the policy) refuse that name.
      JSON.parse('{"facts": {"__proto__": "x", "a": "b"}}'),
      { facts: Object.fromEntries(Array.from({ length: MAX_FACTS + 1 }, (_, i) => [`f${i}`, i])) },
    ])
      expect(plainlyValidFacts(spec)).toBeUndefined();
  });
});
