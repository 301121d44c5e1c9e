import { describe, expect, it } from 'vitest';
import type { FactSourceStatus } from '../api/types.js';
import { decideStatus } from './status.js';

const t0 = new Date('2026-01-01T00:00:00.000Z');
const later = (ms: number) => new Date(t0.getTime() + ms);
const ok = { ok: true as const, rows: 4, identities: 2, factsWritten: 3, problems: [] };

describe('decideStatus', () => {
  it('reports a successful sync with counts, Ready=True and observedGeneration', () => {
    const d = decideStatus(undefined, ok, 3, t0);
    expect(d.status).toEqual({
      rows: 4,
      identities: 2,
      factsWritten: 3,
      errorCount: 0,
      errors: [],
      lastSyncTime: '2026-01-01T00:00:00Z',
      observedGeneration: 3,
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Synced',
          message: '4 rows, 2 identities, 3 facts',
          observedGeneration: 3,
          lastTransitionTime: '2026-01-01T00:00:00Z',
        },
      ],
    });
    expect(d.warning).toBeUndefined();
  });

  it('keeps lastSyncTime when nothing else changed recently, so that no write is needed', () => {
    const first = decideStatus(undefined, ok, 1, t0).status;
    expect(decideStatus(first, ok, 1, later(30_000)).status).toEqual(first);
    expect(decideStatus(first, ok, 1, later(61_000)).status.lastSyncTime).toBe('2026-01-01T00:01:01Z');
    expect(decideStatus(first, { ...ok, rows: 5 }, 1, later(1000)).status.lastSyncTime).toBe(
      '2026-01-01T00:00:01Z',
    );
  });

  it('on failure keeps the last counts, turns Ready False with the reason, and warns once', () => {
    const first = decideStatus(undefined, ok, 1, t0).status;
    const down = {
      ok: false as const,
      reason: 'ConnectionFailed' as const,
      message: 'connect ECONNREFUSED 127.0.0.1:5',
    };
    const d = decideStatus(first, down, 1, later(5000));
    expect(d.status).toMatchObject({
      rows: 4,
      identities: 2,
      factsWritten: 3,
      lastSyncTime: '2026-01-01T00:00:00Z',
    });
    expect(d.status.conditions?.[0]).toMatchObject({
      status: 'False',
      reason: 'ConnectionFailed',
      lastTransitionTime: '2026-01-01T00:00:05Z',
    });
    expect(d.warning).toEqual({ reason: 'ConnectionFailed', message: down.message });
    expect(decideStatus(d.status, down, 1, later(9000)).warning).toBeUndefined();
  });

  it('reports per-identity problems as PartiallySynced, warning only when the problems change', () => {
    const problems = [
      {
        identity: 'c',
        fact: 'tier',
        reason: 'Conflict',
        message: 'fact tier is managed by gitops; left alone',
      },
    ];
    const d = decideStatus(undefined, { ...ok, problems }, 1, t0);
    expect(d.status.conditions?.[0]).toMatchObject({ status: 'True', reason: 'PartiallySynced' });
    expect(d.status.conditions?.[0]?.message).toContain('c/tier: fact tier is managed by gitops');
    expect(d.status).toMatchObject({ errorCount: 1, errors: problems });
    expect(d.warning?.reason).toBe('PartiallySynced');
    const again = decideStatus(d.status as FactSourceStatus, { ...ok, rows: 9, problems }, 1, later(1000));
    expect(again.warning).toBeUndefined();
  });

  it('lists at most 20 problems but counts them all', () => {
    const problems = Array.from({ length: 25 }, (_, i) => ({
      identity: `i${i}`,
      reason: 'Rejected',
      message: 'no',
    }));
    const d = decideStatus(undefined, { ...ok, problems }, 1, t0);
    expect(d.status.errorCount).toBe(25);
    expect(d.status.errors).toHaveLength(20);
    expect(d.status.conditions?.[0]?.message).toContain('and 22 more');
  });
});
