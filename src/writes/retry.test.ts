import { describe, expect, it } from 'vitest';
import { StaleWrite, WriteError } from './errors.js';
import { backoffMs, MAX_ATTEMPTS, retryStale } from './retry.js';

describe('retryStale', () => {
  const noSleep = async () => {};

  it('re-runs a stale attempt until one succeeds', async () => {
    const seen: number[] = [];
    const result = await retryStale(async (n) => {
      seen.push(n);
      if (n < 2) throw new StaleWrite();
      return 'done';
    }, noSleep);
    expect(result).toBe('done');
    expect(seen).toEqual([0, 1, 2]);
  });

  it(`gives up after ${MAX_ATTEMPTS} stale attempts with a Conflict`, async () => {
    let attempts = 0;
    const err = await retryStale(async () => {
      attempts++;
      throw new StaleWrite();
    }, noSleep).catch((e: unknown) => e);
    expect(attempts).toBe(MAX_ATTEMPTS);
    expect(err).toBeInstanceOf(WriteError);
    expect(err).toMatchObject({ kind: 'Conflict', message: expect.stringContaining('kept changing') });
  });

  it('passes any other error through at once', async () => {
    let attempts = 0;
    const boom = new WriteError('Invalid', 'no');
    await expect(
      retryStale(async () => {
        attempts++;
        throw boom;
      }, noSleep),
    ).rejects.toBe(boom);
    expect(attempts).toBe(1);
  });

  it('pauses 5 ms × 2ⁿ, capped at 200 ms, times a factor between 0.5 and 1.5', () => {
    expect(backoffMs(0, () => 0.5)).toBe(5);
    expect(backoffMs(3, () => 0)).toBe(20);
    expect(backoffMs(10, () => 1)).toBe(300);
  });
});
