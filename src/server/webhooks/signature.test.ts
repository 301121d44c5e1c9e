/** Webhook signatures and the replay memory, with a fixed clock. */
import { describe, expect, it } from 'vitest';
import { REPLAY_WINDOW_SECONDS, ReplayGuard, sign, verify } from './signature.js';

const KEY = Buffer.from('k3y');
const BODY = Buffer.from('{"namespace":"a","identity":"b","facts":{}}');
const T0 = 1_767_225_600;

/** One delivery as the route handles it: the signature must verify, then be a first use. */
function deliver(
  guard: ReplayGuard,
  timestamp: number,
  now: number,
): 'accepted' | 'refused' | 'replay' | 'full' {
  const headers = { signature: sign(KEY, String(timestamp), BODY), timestamp: String(timestamp) };
  if (!verify(KEY, headers, BODY, now).ok) return 'refused';
  const use = guard.firstUse(headers.signature, timestamp, now);
  return use === 'ok' ? 'accepted' : use;
}

describe('verify', () => {
  it('accepts a timestamp within the window either way, up to its edge, and nothing beyond', () => {
    const headers = (ts: number) => ({ signature: sign(KEY, String(ts), BODY), timestamp: String(ts) });
    for (const skew of [-REPLAY_WINDOW_SECONDS, -1, 0, 1, REPLAY_WINDOW_SECONDS])
      expect(verify(KEY, headers(T0 + skew), BODY, T0).ok, `skew ${skew}`).toBe(true);
    for (const skew of [-REPLAY_WINDOW_SECONDS - 1, REPLAY_WINDOW_SECONDS + 1])
      expect(verify(KEY, headers(T0 + skew), BODY, T0).ok, `skew ${skew}`).toBe(false);
    expect(verify(Buffer.from('other'), headers(T0), BODY, T0)).toEqual({
      ok: false,
      reason: 'the signature does not match',
    });
  });
});

describe('ReplayGuard', () => {
  it('refuses a delivery replayed at the very edge of the window', () => {
    const guard = new ReplayGuard();
    expect(deliver(guard, T0, T0)).toBe('accepted');
    expect(deliver(guard, T0, T0 + REPLAY_WINDOW_SECONDS)).toBe('replay');
    expect(deliver(guard, T0, T0 + REPLAY_WINDOW_SECONDS + 1)).toBe('refused');
  });

  it('remembers a delivery stamped in the future (sender clock ahead) until its timestamp expires', () => {
    const guard = new ReplayGuard();
    const ts = T0 + REPLAY_WINDOW_SECONDS;
    expect(deliver(guard, ts, T0)).toBe('accepted');
    // Twice the window after first use, the timestamp is still accepted: the guard must still remember it.
    expect(deliver(guard, ts, T0 + 2 * REPLAY_WINDOW_SECONDS)).toBe('replay');
    expect(deliver(guard, ts, T0 + 2 * REPLAY_WINDOW_SECONDS + 1)).toBe('refused');
  });

  it('remembers a delivery stamped in the past (sender clock behind) for what is left of its window', () => {
    const guard = new ReplayGuard();
    const ts = T0 - REPLAY_WINDOW_SECONDS;
    expect(deliver(guard, ts, T0)).toBe('accepted');
    expect(deliver(guard, ts, T0)).toBe('replay');
    expect(deliver(guard, ts, T0 + 1)).toBe('refused');
  });

  it('never accepts one signed delivery twice, whatever the skew and whenever it is replayed', () => {
    for (let skew = -REPLAY_WINDOW_SECONDS; skew <= REPLAY_WINDOW_SECONDS; skew += 25) {
      const guard = new ReplayGuard();
      const ts = T0 + skew;
      expect(deliver(guard, ts, T0)).toBe('accepted');
      // Other deliveries come and go meanwhile, so the guard sweeps.
      for (let now = T0; now <= T0 + 3 * REPLAY_WINDOW_SECONDS; now += 7) {
        deliver(guard, now, now);
        expect(deliver(guard, ts, now), `skew ${skew}, now +${now - T0}`).not.toBe('accepted');
      }
    }
  });

  it('forgets what expired, refuses new deliveries rather than evict live ones when full, and forgets on demand', () => {
    const guard = new ReplayGuard(2);
    expect(guard.firstUse('a', T0, T0)).toBe('ok');
    expect(guard.firstUse('b', T0 + 10, T0)).toBe('ok');
    expect(guard.firstUse('c', T0, T0)).toBe('full');
    expect(guard.firstUse('a', T0, T0 + 1)).toBe('replay');
    // `a` expires after T0 + window; `b` ten seconds later.
    expect(guard.firstUse('c', T0 + 301, T0 + REPLAY_WINDOW_SECONDS + 1)).toBe('ok');
    expect(guard.size).toBe(2);
    guard.forget('c');
    expect(guard.firstUse('c', T0 + 301, T0 + REPLAY_WINDOW_SECONDS + 1)).toBe('ok');
  });
});
