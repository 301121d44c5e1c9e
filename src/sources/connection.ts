/**
 * Turns a connection Secret into a `pg` client configuration, and every error on the way into a message that is
 * safe to show: the DSN, the password and the user never leave this module except inside the pg configuration.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { parse as parseDsn } from 'pg-connection-string';
import type { SecretObject } from '../api/types.js';

/** A connection problem that is the user's to fix (missing Secret or keys); its message names keys only. */
export class ConnectionConfigError extends Error {
  override readonly name = 'ConnectionConfigError';
}

export interface Connection {
  /** Passed to `new pg.Client()` only. Never log or serialise it. */
  readonly config: pg.ClientConfig;
  /** Strings to scrub from any message that leaves the runner (password, DSN). */
  readonly secrets: readonly string[];
  /** The user name, scrubbed as a whole word (it may be a common word, unlike a password). */
  readonly names: readonly string[];
  /** Changes when the connection settings change, so that a rotated password reconnects. Not reversible. */
  readonly fingerprint: string;
}

const decode = (b64: string | undefined) =>
  b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');

/**
 * Reads the connection from the Secret: `key` names a key holding a connection URI (postgresql://…);
 * without it, the keys host, port, dbname (or database), user (or username), password and sslmode are used.
 */
export function connectionFromSecret(
  secret: SecretObject,
  key: string | undefined,
  opts: { timeoutMs: number; applicationName: string },
): Connection {
  const data = secret.data ?? {};
  const name = secret.metadata.name;
  let base: pg.ClientConfig;
  const secrets: string[] = [];
  if (key) {
    const dsn = decode(data[key])?.trim();
    if (!dsn) throw new ConnectionConfigError(`Secret ${name} has no key ${key}`);
    secrets.push(dsn);
    if (!/^postgres(ql)?:\/\//.test(dsn))
      throw new ConnectionConfigError(
        `key ${key} of Secret ${name} must hold a URI postgresql://user:password@host:port/database`,
      );
    let parsed: ReturnType<typeof parseDsn>;
    try {
      parsed = parseDsn(dsn);
    } catch {
      // The parser's own message may quote the DSN.
      throw new ConnectionConfigError(`key ${key} of Secret ${name} is not a valid connection string`);
    }
    if (!parsed.host) throw new ConnectionConfigError(`key ${key} of Secret ${name} names no host`);
    base = {
      host: parsed.host,
      port: parsed.port ? Number(parsed.port) : undefined,
      database: parsed.database ?? undefined,
      user: parsed.user,
      password: parsed.password,
      ssl: parsed.ssl as pg.ClientConfig['ssl'],
    };
  } else {
    const field = (...names: string[]) => {
      for (const n of names) {
        const v = decode(data[n]);
        if (v !== undefined && v !== '') return v.trim();
      }
      return undefined;
    };
    const host = field('host');
    if (!host)
      throw new ConnectionConfigError(
        `Secret ${name} has no key host (or give spec.postgres.connectionSecretRef.key for a DSN)`,
      );
    const port = field('port');
    if (port !== undefined && !/^\d{1,5}$/.test(port))
      throw new ConnectionConfigError(`key port of Secret ${name} is not a port number`);
    const sslmode = field('sslmode');
    base = {
      host,
      port: port ? Number(port) : undefined,
      database: field('dbname', 'database'),
      user: field('user', 'username'),
      password: field('password'),
      ssl: sslFor(sslmode),
    };
  }
  if (typeof base.password === 'string' && base.password) {
    secrets.push(base.password, encodeURIComponent(base.password));
  }
  const config: pg.ClientConfig = {
    ...base,
    connectionTimeoutMillis: opts.timeoutMs,
    // Client side: a query that hangs (network gone) fails; server side: the server cancels a slow statement.
    query_timeout: opts.timeoutMs,
    statement_timeout: opts.timeoutMs,
    // The query only reads: a statement that writes fails in a read-only transaction.
    options: '-c default_transaction_read_only=on',
    application_name: opts.applicationName,
    keepAlive: true,
  };
  const fingerprint = createHash('sha256')
    .update(JSON.stringify([base.host, base.port, base.database, base.user, base.password, base.ssl]))
    .digest('hex')
    .slice(0, 16);
  const user = typeof base.user === 'string' ? base.user : '';
  return {
    config,
    secrets: secrets.filter((s) => s.length >= 3),
    names: user.length >= 3 ? [user] : [],
    fingerprint,
  };
}

function sslFor(mode: string | undefined): pg.ClientConfig['ssl'] {
  switch (mode) {
    case undefined:
    case 'disable':
    case 'allow':
    case 'prefer':
      return undefined;
    case 'require':
      return { rejectUnauthorized: false };
    default:
      // verify-ca, verify-full
      return true;
  }
}

/** PostgreSQL quotes the user or role it talks about: `for user "app"`, `role "app" does not exist`. */
const QUOTED_ROLE = /\b(user|role) "(?:[^"]|"")*"/gi;
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Replaces every secret string in `message` by [REDACTED], and every user name: the quoted user or role of a
 * PostgreSQL message whatever it is, and each of `names` where it stands as a word of its own.
 */
export function scrub(message: string, secrets: readonly string[], names: readonly string[] = []): string {
  let out = message;
  for (const s of secrets) if (s) out = out.split(s).join('[REDACTED]');
  out = out.replace(QUOTED_ROLE, '$1 "[REDACTED]"');
  for (const n of names)
    if (n) out = out.replace(new RegExp(`(?<![\\w$])${escapeRegExp(n)}(?![\\w$])`, 'g'), '[REDACTED]');
  return out;
}
