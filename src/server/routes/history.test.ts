import { describe, expect, it } from 'vitest';
import type { FactRevision } from '../../api/fact-revision.js';
import { revisionView, rollbackChange } from './history.js';

describe('rollbackChange', () => {
  it('sets what differs, removes own facts the revision lacks, and leaves a profile fact that still matches', () => {
    expect(
      rollbackChange(
        { tier: 'gold', replicas: 3, region: 'eu' },
        { tier: 'bronze', broken: true, region: 'eu' },
        { tier: 'bronze', broken: true },
      ),
    ).toEqual({ set: { tier: 'gold', replicas: 3 }, remove: ['broken'] });
  });
  it('changes nothing when the served facts are the revision', () => {
    expect(rollbackChange({ a: 1 }, { a: 1 }, { a: 1 })).toEqual({ set: {}, remove: [] });
  });
});

describe('revisionView', () => {
  it('shows old and new values, and says when the old ones were left out', () => {
    const r = {
      spec: {
        identity: 'x',
        revision: 2,
        facts: { a: 2, b: true },
        diff: { added: ['b'], changed: ['a'], removed: ['c'], previous: { a: 1, c: 'gone' } },
        writers: [],
        recordedAt: '2026-12-08T14:02:00.000Z',
        resourceVersion: '9',
        generation: 2,
      },
    } as unknown as FactRevision;
    expect(revisionView(r).diff).toEqual({
      added: { b: true },
      changed: { a: { from: 1, to: 2 } },
      removed: { c: 'gone' },
    });
    const omitted = {
      spec: { ...r.spec, diff: { ...r.spec.diff, previous: undefined, previousOmitted: true } },
    };
    expect(revisionView(omitted as unknown as FactRevision).diff).toEqual({
      added: { b: true },
      changed: { a: { to: 2 } },
      removed: { c: null },
      previousOmitted: true,
    });
  });
});
