/**
 * The ticket in an OFREP event-stream URL. A browser's EventSource cannot send an Authorization header, so the
 * bulk evaluation hands its (authorised) caller a URL that carries who it is and which identity it may follow:
 * encrypted and authenticated (AES-256-GCM) with a key of this process, so the URL shows nothing of the caller
 * and cannot be forged or altered. The stream authorises the caller it names again when it opens.
 *
 * Deterministic within a time window (the IV is an HMAC of the claims, the expiry a window's end), so the same
 * caller gets the same URL for the same state of the identity and a provider keeps its connection. Valid for 5
 * to 10 minutes: long enough for EventSource's reconnects, short enough that a leaked URL soon stops working.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { User } from '../auth/authenticator.js';

export const TICKET_WINDOW_MS = 5 * 60_000;

export interface StreamTicket {
  user: User;
  namespace: string;
  name: string;
  /** The identity's store revision when the ticket was issued: what the caller has seen. */
  revision: number;
}

interface Claims {
  u: string;
  d?: string;
  g: string[];
  x?: Record<string, string[]>;
  a: boolean;
  n: string;
  m: string;
  r: number;
  e: number;
}

const ENC_KEY = randomBytes(32);
const IV_KEY = randomBytes(32);

export function issueTicket(t: StreamTicket, now = Date.now()): string {
  const claims: Claims = {
    u: t.user.username,
    ...(t.user.uid !== undefined ? { d: t.user.uid } : {}),
    g: t.user.groups,
    ...(t.user.extra !== undefined ? { x: t.user.extra } : {}),
    a: t.user.anonymous,
    n: t.namespace,
    m: t.name,
    r: t.revision,
    e: (Math.floor(now / TICKET_WINDOW_MS) + 2) * TICKET_WINDOW_MS,
  };
  const plain = Buffer.from(JSON.stringify(claims));
  const iv = createHmac('sha256', IV_KEY).update(plain).digest().subarray(0, 12);
  const cipher = createCipheriv('aes-256-gcm', ENC_KEY, iv);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** The ticket's content, or undefined when it is not one of this process's, was altered, or has expired. */
export function openTicket(ticket: string, now = Date.now()): StreamTicket | undefined {
  const raw = Buffer.from(ticket, 'base64url');
  if (raw.length < 29) return undefined;
  let claims: Claims;
  try {
    const decipher = createDecipheriv('aes-256-gcm', ENC_KEY, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    claims = JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString());
  } catch {
    return undefined;
  }
  if (!(claims.e > now)) return undefined;
  return {
    user: {
      username: claims.u,
      ...(claims.d !== undefined ? { uid: claims.d } : {}),
      groups: claims.g,
      ...(claims.x !== undefined ? { extra: claims.x } : {}),
      anonymous: claims.a,
    },
    namespace: claims.n,
    name: claims.m,
    revision: claims.r,
  };
}
