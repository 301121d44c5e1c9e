/**
 * The ticket in an OFREP event-stream URL. A browser's EventSource cannot send an Authorization header, so the
 * bulk evaluation hands its (authorised) caller a URL that carries who it is and which identity it may follow:
 * encrypted and authenticated (AES-256-GCM), so the URL shows nothing of the caller and cannot be forged or
 * altered. The stream authorises the caller it names again when it opens.
 *
 * The key: derived from --stream-ticket-key-file (a Secret the chart creates and mounts in every replica), so that
 * a URL issued by one replica opens on any other behind the Service; without it, a random key of this process
 * (one replica only: another answers 401).
 *
 * Deterministic within a time window (the IV is an HMAC of the claims, the expiry a window's end), so the same
 * caller gets the same URL for the same state of the identity and a provider keeps its connection. Valid for 5
 * to 10 minutes: long enough for EventSource's reconnects, short enough that a leaked URL soon stops working.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { User } from '../auth/authenticator.js';

export const TICKET_WINDOW_MS = 5 * 60_000;

export interface StreamTicket {
  user: User;
  namespace: string;
  name: string;
  /** The identity's store revision when the ticket was issued: what the caller has seen. */
  revision: number;
  /** The issuing store's epoch: revisions of another replica or process do not compare. */
  epoch: string;
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
  p: string;
  e: number;
}

export interface TicketCodec {
  issue(t: StreamTicket, now?: number): string;
  /** The ticket's content, or undefined when it was not made with this key, was altered, or has expired. */
  open(ticket: string, now?: number): StreamTicket | undefined;
}

/** The smallest shared secret accepted: 32 bytes, as the AES-256 key derived from it. */
export const MIN_TICKET_SECRET_BYTES = 32;

/** A codec keyed by `secret` (shared by the replicas), or by a random key of this process. */
export function ticketCodec(secret?: Buffer): TicketCodec {
  if (secret && secret.length < MIN_TICKET_SECRET_BYTES)
    throw new Error(
      `the stream ticket key must be at least ${MIN_TICKET_SECRET_BYTES} bytes, not ${secret.length}`,
    );
  const ikm = secret ?? randomBytes(32);
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', ikm, 'flagops-data-store', info, 32));
  const encKey = derive('ofrep stream ticket: encryption');
  const ivKey = derive('ofrep stream ticket: iv');
  return {
    issue: (t, now) => issue(encKey, ivKey, t, now),
    open: (ticket, now) => open(encKey, ticket, now),
  };
}

function issue(encKey: Buffer, ivKey: Buffer, t: StreamTicket, now = Date.now()): string {
  const claims: Claims = {
    u: t.user.username,
    ...(t.user.uid !== undefined ? { d: t.user.uid } : {}),
    g: t.user.groups,
    ...(t.user.extra !== undefined ? { x: t.user.extra } : {}),
    a: t.user.anonymous,
    n: t.namespace,
    m: t.name,
    r: t.revision,
    p: t.epoch,
    e: (Math.floor(now / TICKET_WINDOW_MS) + 2) * TICKET_WINDOW_MS,
  };
  const plain = Buffer.from(JSON.stringify(claims));
  const iv = createHmac('sha256', ivKey).update(plain).digest().subarray(0, 12);
  const cipher = createCipheriv('aes-256-gcm', encKey, iv);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

function open(encKey: Buffer, ticket: string, now = Date.now()): StreamTicket | undefined {
  const raw = Buffer.from(ticket, 'base64url');
  if (raw.length < 29) return undefined;
  let claims: Claims;
  try {
    const decipher = createDecipheriv('aes-256-gcm', encKey, raw.subarray(0, 12));
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
    epoch: claims.p,
  };
}

/**
 * The replicas' shared secret from --stream-ticket-key-file. An absent file (an optional Secret volume not created
 * yet) falls back to a key of this process, said once; a file too short to be a key stops the start.
 */
export function readTicketKey(path: string | undefined, log: Logger): Buffer | undefined {
  if (!path) return undefined;
  let key: Buffer;
  try {
    key = readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    log.warn(
      { path },
      'stream ticket key file absent: OFREP event-stream URLs open only on the replica that issued them',
    );
    return undefined;
  }
  const trimmed = Buffer.from(key.toString('utf8').trim(), 'utf8');
  if (trimmed.length < MIN_TICKET_SECRET_BYTES)
    throw new Error(
      `--stream-ticket-key-file ${path} holds ${trimmed.length} bytes; it needs at least ${MIN_TICKET_SECRET_BYTES} (e.g. openssl rand -hex 32)`,
    );
  return trimmed;
}
