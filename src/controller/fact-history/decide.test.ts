import { describe, expect, it } from 'vitest';
import { factsHash, revisionName } from '../../api/fact-revision.js';
import type { ProfileLayer } from '../../store/layers.js';
import { factOwners } from '../../store/provenance.js';
import { beyondLimit, diffFacts, lastWriterOf, writersOf } from './decide.js';

const apply = (manager: string, facts: string[], time = '2026-12-08T14:02:00Z') => ({
  manager,
  operation: 'Apply' as const,
  time,
  fieldsV1: { 'f:spec': { 'f:facts': Object.fromEntries(facts.map((f) => [`f:${f}`, {}])) } },
});

describe('diffFacts', () => {
  it('names added, changed and removed facts, with the old values', () => {
    expect(diffFacts({ tier: 'gold', a: 1, gone: true }, { tier: 'silver', a: 1, b: 'x' })).toEqual({
      added: ['b'],
      changed: ['tier'],
      removed: ['gone'],
      previous: { tier: 'gold', gone: true },
    });
  });
  it('treats a first revision as all added, and keeps a value type change as a change', () => {
    expect(diffFacts(undefined, { a: 1 })).toEqual({ added: ['a'], changed: [], removed: [] });
    expect(diffFacts({ a: 1 }, { a: '1' }).changed).toEqual(['a']);
  });
  it('leaves the old values out beyond the budget, and says so', () => {
    const d = diffFacts({ a: 'x'.repeat(100) }, { a: 'y' }, 50);
    expect(d).toEqual({ added: [], changed: ['a'], removed: [], previousOmitted: true });
  });
});

describe('writersOf', () => {
  const owners = factOwners(
    [apply('argocd-controller', ['region']), apply('flagops-data-store-api', ['tier'])],
    { 'flagops.io/fact-origins': JSON.stringify({ tier: { by: 'user:alice', at: '2026-12-08T14:01:00Z' } }) },
    ['region', 'tier'],
  );
  const layer: ProfileLayer = {
    kind: 'FactProfile',
    namespace: 'ns',
    name: 'defaults',
    priority: 0,
    selector: {},
    facts: { maxReplicas: 3 },
  };

  it('names the user behind an API write, the GitOps tool, and the profile that serves a fact', () => {
    const served = {
      values: { region: 'eu', tier: 'gold', maxReplicas: 3 },
      own: { region: 'eu', tier: 'gold' },
      layers: [layer],
      owners,
    };
    const diff = diffFacts({ region: 'us', maxReplicas: 2 }, served.values);
    // Added facts first, then changed ones, each in name order.
    expect(writersOf(served, diff, undefined)).toEqual([
      {
        manager: 'flagops-data-store-api',
        path: 'api',
        by: 'user:alice',
        at: '2026-12-08T14:01:00Z',
        facts: ['tier'],
      },
      { manager: 'FactProfile/ns/defaults', path: 'profile', by: 'defaults', facts: ['maxReplicas'] },
      {
        manager: 'argocd-controller',
        path: 'gitops',
        by: 'argocd-controller',
        at: '2026-12-08T14:02:00Z',
        facts: ['region'],
      },
    ]);
  });

  it('gives removed facts to whoever wrote the spec last', () => {
    const last = lastWriterOf(
      [
        apply('kubectl-client-side-apply', ['a'], '2026-12-08T10:00:00Z'),
        apply('flagops-data-store-api', [], '2026-12-08T11:00:00Z'),
      ],
      'webhook:billing',
    );
    expect(last).toEqual({
      manager: 'flagops-data-store-api',
      path: 'webhook',
      by: 'webhook:billing',
      at: '2026-12-08T11:00:00Z',
    });
    expect(writersOf({ values: {} }, diffFacts({ a: 1 }, {}), last)).toEqual([{ ...last, facts: ['a'] }]);
    expect(writersOf({ values: {} }, diffFacts({ a: 1 }, {}), undefined)[0]).toMatchObject({
      path: 'other',
      by: 'unknown',
    });
  });

  it('names a last writer only for a write in a later second than the previous revision', () => {
    const entries = [apply('kubectl-edit', ['a'], '2026-12-08T10:00:05Z')];
    expect(lastWriterOf(entries, undefined, '2026-12-08T10:00:05.900Z')).toBeUndefined();
    expect(lastWriterOf(entries, undefined, '2026-12-08T10:00:04.999Z')).toMatchObject({
      manager: 'kubectl-edit',
      path: 'kubectl',
    });
  });

  it('leaves status entries out of the last writer', () => {
    expect(
      lastWriterOf(
        [
          {
            manager: 'flagops-data-store-operator',
            subresource: 'status',
            time: '2027-01-01T00:00:00Z',
            fieldsV1: { 'f:status': {} },
          },
        ],
        undefined,
      ),
    ).toBeUndefined();
    expect(lastWriterOf([apply('flagops-source/crm', ['a'])], undefined)).toMatchObject({
      path: 'source',
      by: 'crm',
    });
  });
});

describe('beyondLimit', () => {
  it('deletes the oldest beyond the limit, and all with a limit of 0', () => {
    expect(beyondLimit([3, 4, 5, 6], 2)).toEqual([3, 4]);
    expect(beyondLimit([3, 4], 10)).toEqual([]);
    expect(beyondLimit([3, 4], 0)).toEqual([3, 4]);
  });
});

describe('revision names and hashes', () => {
  it('sort by revision, fit 253 characters and end with the padded number', () => {
    const uid = '0f3c9a1e-1111-2222-3333-444455556666';
    expect(revisionName('customer-42', uid, 7)).toBe('customer-42-0f3c9a1e-0000000007');
    expect(revisionName('a', uid, 9) < revisionName('a', uid, 10)).toBe(true);
    const long = revisionName(`${'x'.repeat(230)}.-y${'z'.repeat(30)}`, uid, 1);
    expect(long.length).toBeLessThanOrEqual(253);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
  });
  it('hash facts regardless of key order, and tell values of another type apart', () => {
    expect(factsHash({ a: 1, b: 'x' })).toBe(factsHash({ b: 'x', a: 1 }));
    expect(factsHash({ a: 1 })).not.toBe(factsHash({ a: '1' }));
    expect(factsHash({ a: 1 })).toMatch(/^[0-9a-f]{32}$/);
  });
});
