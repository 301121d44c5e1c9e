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

/**
 * Remembers accepted signatures for as long as their timestamp is accepted, so that each signed request is
 * accepted once. A timestamp `ts` is accepted while `|now - ts| <= REPLAY_WINDOW_SECONDS`, so a signature is
 * kept until `ts + REPLAY_WINDOW_SECONDS` inclusive, whichever way the sender's clock is skewed: a delivery
 * stamped in the future is remembered for longer than one stamped in the past. Nothing unexpired is ever
 * evicted: when the memory is full of live signatures, new deliveries are refused (`full`) until some expire.
 */
export class ReplayGuard {
  /** signature → the last second in which its timestamp is still accepted. */
  readonly #seen = new Map<string, number>();
  #sweptAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly maxEntries = 100_000) {}

  /** `ok` (remembered now), `replay` (already used) or `full` (try again later). */
  firstUse(signature: string, timestampSeconds: number, nowSeconds: number): 'ok' | 'replay' | 'full' {
    const known = this.#seen.get(signature);
    if (known !== undefined && known >= nowSeconds) return 'replay';
    if (nowSeconds > this.#sweptAt || this.#seen.size >= this.maxEntries) this.#sweep(nowSeconds);
    if (this.#seen.size >= this.maxEntries) return 'full';
    this.#seen.set(signature, timestampSeconds + REPLAY_WINDOW_SECONDS);
    return 'ok';
  }

  forget(signature: string): void {
    this.#seen.delete(signature);
  }

  get size(): number {
    return this.#seen.size;
  }

  /** Drops what expired; at most once per second unless full. */
  #sweep(nowSeconds: number): void {
    this.#sweptAt = nowSeconds;
    for (const [sig, until] of this.#seen) if (until < nowSeconds) this.#seen.delete(sig);
  }
}
