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
