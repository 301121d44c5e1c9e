import { describe, expect, it } from 'vitest';
import { WriteError } from './errors.js';
import { type CurrentFacts, type FactsChange, planFactsApply } from './plan-facts.js';

/** Facts with owners: `api` (the API's Apply), a GitOps tool, or both. */
function current(
  facts: Record<string, [string | number, ('api' | 'gitops')[]]>,
  generation = 3,
): CurrentFacts {
  const ours = new Set<string>();
  const others = new Map<string, string[]>();
  for (const [k, [, owners]] of Object.entries(facts)) {
    if (owners.includes('api')) ours.add(k);
    if (owners.includes('gitops')) others.set(k, ['argocd-controller']);
  }
  return {
    facts: Object.fromEntries(Object.entries(facts).map(([k, [v]]) => [k, v])),
    generation,
    ownership: { ours, others },
  };
}
const change = (c: Partial<FactsChange>): FactsChange => ({ origin: 'user:test', ...c });
const err = (kind: string, field?: string) => ({ error: kind, ...(field ? { field } : {}) });
const run = (cur: CurrentFacts | undefined, c: FactsChange) => {
  const plan = planFactsApply(cur, c);
  return plan instanceof WriteError ? err(plan.kind, plan.field) : plan;
};

describe('planFactsApply', () => {
  const cases: [string, CurrentFacts | undefined, FactsChange, unknown][] = [
    [
      'a set on a missing identity creates it with the apply itself',
      undefined,
      change({ set: { a: 1 } }),
      { op: 'apply', create: true, desired: { a: 1 }, force: false, forcedRemovals: [] },
    ],
    [
      'a set on a missing identity that also removes a fact it cannot have is a 404, and creates nothing',
      undefined,
      change({ set: { a: 1 }, remove: ['b'] }),
      err('NotFound'),
    ],
    [
      'a webhook set on a missing identity ignores the missing removal',
      undefined,
      change({ set: { a: 1 }, remove: ['b'], ignoreMissing: true }),
      { op: 'apply', create: true, desired: { a: 1 }, force: false, forcedRemovals: [] },
    ],
    ['a removal from a missing identity is a 404', undefined, change({ remove: ['a'] }), err('NotFound')],
    [
      'a webhook removal from a missing identity is a no-op',
      undefined,
      change({ remove: ['a'], ignoreMissing: true }),
      { op: 'none', facts: {}, generation: 0 },
    ],
    [
      'If-Match on a missing identity fails',
      undefined,
      change({ set: { a: 1 }, ifMatch: 1 }),
      err('PreconditionFailed'),
    ],
    ['a stale If-Match fails', current({}), change({ set: { a: 1 }, ifMatch: 2 }), err('PreconditionFailed')],
    [
      'a new fact is applied with every fact the API owns, and none that GitOps owns',
      current({ mine: ['x', ['api']], theirs: ['y', ['gitops']] }),
      change({ set: { a: 1 } }),
      { op: 'apply', create: false, desired: { mine: 'x', a: 1 }, force: false, forcedRemovals: [] },
    ],
    [
      'changing a GitOps-owned fact is a conflict naming it',
      current({ tier: ['silver', ['gitops']] }),
      change({ set: { tier: 'gold' } }),
      err('Conflict', 'tier'),
    ],
    [
      'writing the value GitOps applied is a no-op: the API does not become a co-owner',
      current({ tier: ['gold', ['gitops']] }),
      change({ set: { tier: 'gold' } }),
      { op: 'none', facts: { tier: 'gold' }, generation: 3 },
    ],
    [
      'a same-value GitOps fact beside a real change stays out of the apply',
      current({ tier: ['gold', ['gitops']], mine: ['x', ['api']] }),
      change({ set: { tier: 'gold', mine: 'y' } }),
      { op: 'apply', create: false, desired: { mine: 'y' }, force: false, forcedRemovals: [] },
    ],
    [
      'a forced write takes a GitOps-owned fact over',
      current({ tier: ['silver', ['gitops']] }),
      change({ set: { tier: 'gold' }, force: true }),
      { op: 'apply', create: false, desired: { tier: 'gold' }, force: true, forcedRemovals: [] },
    ],
    [
      'removing a GitOps-owned fact is a conflict',
      current({ tier: ['silver', ['gitops']] }),
      change({ remove: ['tier'] }),
      err('Conflict', 'tier'),
    ],
    [
      'a forced removal of a GitOps-owned fact is done by an update after the apply',
      current({ tier: ['silver', ['gitops']], mine: ['x', ['api']] }),
      change({ remove: ['tier'], force: true }),
      { op: 'apply', create: false, desired: { mine: 'x' }, force: true, forcedRemovals: ['tier'] },
    ],
    [
      'removing an API-owned fact leaves it out of the apply',
      current({ mine: ['x', ['api']], other: [1, ['api']] }),
      change({ remove: ['mine'] }),
      { op: 'apply', create: false, desired: { other: 1 }, force: false, forcedRemovals: [] },
    ],
    [
      'removing a missing fact is a 404',
      current({ a: [1, ['api']] }),
      change({ remove: ['b'] }),
      err('NotFound'),
    ],
    [
      'setting an API-owned fact to its value is a no-op',
      current({ a: [1, ['api']] }),
      change({ set: { a: 1 } }),
      { op: 'none', facts: { a: 1 }, generation: 3 },
    ],
  ];
  for (const [title, cur, c, expected] of cases) it(title, () => expect(run(cur, c)).toEqual(expected));

  it('refuses a write that would leave more than 256 facts, before any apply', () => {
    const many = Object.fromEntries(
      Array.from({ length: 250 }, (_, i) => [`f${i}`, [i, ['gitops']] as [number, 'gitops'[]]]),
    );
    const set = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`n${i}`, i]));
    expect(run(current(many), change({ set }))).toEqual(err('Invalid', 'facts'));
  });
});

describe('nextOrigins', () => {
  it('records who set each fact of this write, keeps the record of the others, and drops removed ones', async () => {
    const { nextOrigins } = await import('./plan-facts.js');
    const before = JSON.stringify({ a: { by: 'user:bob', at: 't0' }, gone: { by: 'user:bob', at: 't0' } });
    expect(JSON.parse(nextOrigins(before, { a: 1, b: 2 }, { b: 2 }, 'webhook:billing', 't1'))).toEqual({
      a: { by: 'user:bob', at: 't0' },
      b: { by: 'webhook:billing', at: 't1' },
    });
    expect(JSON.parse(nextOrigins('{broken', { a: 1 }, {}, 'user:x', 't'))).toEqual({});
  });
});
