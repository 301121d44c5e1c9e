import { describe, expect, it } from 'vitest';
import type { FactProfile } from '../../api/types.js';
import { keepProfile } from './handler.js';
import { decideProfileStatus } from './status.js';

const now = new Date('2026-12-07T10:00:00Z');
const record = (spec: unknown) =>
  keepProfile('FactProfile')({
    apiVersion: 'flagops.io/v1alpha1',
    kind: 'FactProfile',
    metadata: { name: 'gold', namespace: 'ns', generation: 3 },
    spec,
  } as FactProfile);
const cond = (s: { conditions?: { type: string }[] }, type: string) =>
  s.conditions?.find((c) => c.type === type);

describe('decideProfileStatus', () => {
  it('reports what a valid profile selects', () => {
    const { status, warning } = decideProfileStatus(
      record({ selector: {}, facts: { a: 1 } }),
      { selected: 4, ties: new Map() },
      now,
    );
    expect(status).toMatchObject({
      observedGeneration: 3,
      selectedCount: 4,
      conflictCount: 0,
      conflicts: [],
    });
    expect(cond(status, 'Ready')).toMatchObject({
      status: 'True',
      reason: 'Applied',
      message: '1 fact served to 4 identities',
    });
    expect(cond(status, 'Selecting')).toMatchObject({ status: 'True', reason: 'IdentitiesSelected' });
    expect(cond(status, 'PriorityConflict')).toMatchObject({ status: 'False', reason: 'NoPriorityTie' });
    expect(warning).toBeUndefined();
  });

  it('names a selector that matches nothing', () => {
    const { status } = decideProfileStatus(record({ selector: { matchLabels: { t: 'x' } } }), undefined, now);
    expect(cond(status, 'Selecting')).toMatchObject({ status: 'False', reason: 'NoIdentitiesSelected' });
    expect(status.selectedCount).toBe(0);
  });

  it('reports a tie with the other profile and its facts, with a warning', () => {
    const { status, warning } = decideProfileStatus(
      record({ selector: {}, facts: { x: 1 } }),
      { selected: 1, ties: new Map([['ClusterFactProfile/base', new Set(['x'])]]) },
      now,
    );
    expect(status.conflicts).toEqual([{ kind: 'ClusterFactProfile', name: 'base', facts: ['x'] }]);
    expect(cond(status, 'PriorityConflict')).toMatchObject({ status: 'True', reason: 'PriorityTie' });
    expect(warning?.message).toContain('ClusterFactProfile/base (x)');
  });

  it('says an invalid profile serves nothing', () => {
    const { status, warning } = decideProfileStatus(
      record({ selector: {}, facts: { x: [1] } }),
      undefined,
      now,
    );
    expect(cond(status, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(warning?.message).toContain('nothing is served from this profile');
    expect(status.selectedCount).toBe(0);
  });
});
