import { describe, expect, it } from 'vitest';
import { WorkQueue } from './queue.js';

const tick = (ms = 10) => new Promise((r) => setTimeout(r, ms));

describe('WorkQueue', () => {
  it('de-duplicates queued keys', async () => {
    const q = new WorkQueue({ workers: 1 });
    const seen: string[] = [];
    q.add('a');
    q.add('a');
    q.add('b');
    q.run(async (k) => {
      seen.push(k);
      return {};
    });
    await q.idle();
    await q.stop();
    expect(seen).toEqual(['a', 'b']);
  });

  it('never runs one key on two workers at once, and re-runs a key added while it ran', async () => {
    const q = new WorkQueue({ workers: 4 });
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    q.run(async () => {
      running++;
      runs++;
      maxRunning = Math.max(maxRunning, running);
      await tick(20);
      running--;
      return {};
    });
    q.add('k');
    await tick(5);
    q.add('k');
    q.add('k');
    await tick(80);
    await q.idle();
    await q.stop();
    expect(maxRunning).toBe(1);
    expect(runs).toBe(2);
  });

  it('retries failures with growing backoff and drops what the policy drops', async () => {
    const delays: number[] = [];
    const q = new WorkQueue({
      workers: 1,
      baseDelayMs: 5,
      random: () => 0.5,
      errorPolicy: (err) => ((err as Error).message === 'fatal' ? 'drop' : 'retry'),
      hooks: { onRetry: (_k, d) => delays.push(d) },
    });
    let attempts = 0;
    q.run(async (k) => {
      if (k === 'fatal') throw new Error('fatal');
      if (++attempts < 4) throw new Error('transient');
      return {};
    });
    q.add('fatal');
    q.add('flaky');
    await tick(200);
    await q.stop();
    expect(attempts).toBe(4);
    expect(delays).toEqual([5, 10, 20]);
  });

  it('requeues after the asked delay', async () => {
    const q = new WorkQueue({ workers: 1 });
    const at: number[] = [];
    q.run(async () => {
      at.push(performance.now());
      return at.length === 1 ? { requeueAfterMs: 30 } : {};
    });
    q.add('k');
    await tick(100);
    await q.stop();
    expect(at).toHaveLength(2);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(25);
  });
});
