/**
 * Webhook signatures: `X-Flagops-Signature: sha256=<hex>` is HMAC-SHA256 over `<timestamp>.<raw body>` with the
 * webhook's shared key, and `X-Flagops-Timestamp` (Unix seconds) must be within five minutes of now. Signing
 * the timestamp with the body is what makes the window meaningful; a signature seen once inside the window is
 * refused as a replay.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-flagops-signature';
export const TIMESTAMP_HEADER = 'x-flagops-timestamp';
export const REPLAY_WINDOW_SECONDS = 300;

export function sign(key: Buffer | string, timestamp: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', key).update(`${timestamp}.`).update(body).digest('hex')}`;
}

export type Verdict = { ok: true } | { ok: false; reason: string };

export function verify(
  key: Buffer,
  headers: { signature?: string; timestamp?: string },
  body: Buffer,
  nowSeconds: number,
): Verdict {
  if (!headers.signature) return { ok: false, reason: `missing ${SIGNATURE_HEADER} header` };
  if (!headers.timestamp || !/^\d{1,12}$/.test(headers.timestamp)) {
    return { ok: false, reason: `missing or malformed ${TIMESTAMP_HEADER} header (Unix seconds)` };
  }
  if (Math.abs(nowSeconds - Number(headers.timestamp)) > REPLAY_WINDOW_SECONDS) {
    return {
      ok: false,
      reason: `${TIMESTAMP_HEADER} is outside the ${REPLAY_WINDOW_SECONDS / 60}-minute window`,
    };
  }
  const expected = Buffer.from(sign(key, headers.timestamp, body));
  const given = Buffer.from(headers.signature);
  // Constant-time comparison; lengths differ only for malformed input, which reveals nothing about the key.
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, reason: 'the signature does not match' };
  }
  return { ok: true };
}

/** Remembers signatures for the replay window, so that each signed request is accepted once. */
export class ReplayGuard {
  readonly #seen = new Map<string, number>();

  constructor(private readonly maxEntries = 100_000) {}

  /** False when the signature was already used. */
  firstUse(signature: string, nowSeconds: number): boolean {
    for (const [sig, expires] of this.#seen) {
      if (expires > nowSeconds && this.#seen.size < this.maxEntries) break;
      this.#seen.delete(sig);
    }
    if (this.#seen.has(signature)) return false;
    this.#seen.set(signature, nowSeconds + 2 * REPLAY_WINDOW_SECONDS);
    return true;
  }

  forget(signature: string): void {
    this.#seen.delete(signature);
  }
}
