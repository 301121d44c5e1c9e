/** The one retry loop of the write path: a stale write reads again and re-plans, with growing jittered pauses. */
import { conflict, StaleWrite } from './errors.js';

export const MAX_ATTEMPTS = 12;

export const backoffMs = (attempt: number, random = Math.random) =>
  Math.min(200, 5 * 2 ** Math.min(attempt, 6)) * (0.5 + random());

export async function retryStale<T>(
  attempt: (n: number) => Promise<T>,
  sleep: (ms: number) => Promise<unknown> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!(err instanceof StaleWrite)) throw err;
      if (n >= MAX_ATTEMPTS - 1) throw conflict('the identity kept changing during the write; try again');
      await sleep(backoffMs(n));
    }
  }
}
