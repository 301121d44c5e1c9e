/**
 * One PostgreSQL connection per FactSource, kept open between polls: it runs the query and, when the source has a
 * channel, LISTENs on it. Errors come out as SourceErrors whose message has been scrubbed of the connection's
 * secrets and whose reason says what to fix.
 */
import pg from 'pg';
import type { Reason } from '../api/conditions.js';
import { type Connection, ConnectionConfigError, scrub } from './connection.js';
import { InvalidResultError } from './result.js';

export type SourceFailure = Extract<
  Reason,
  | 'ConnectionSecretInvalid'
  | 'ConnectionFailed'
  | 'AuthenticationFailed'
  | 'QueryFailed'
  | 'InvalidResult'
  | 'ApplyFailed'
  | 'InvalidSpec'
>;

/** A failed sync, with a message that is safe for status, Events and logs. */
export class SourceError extends Error {
  override readonly name = 'SourceError';
  constructor(
    readonly reason: SourceFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface QueryResult {
  rows: Record<string, unknown>[];
  columns: string[];
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/** Classifies an error of connecting or querying and scrubs its message. Never returns the error itself. */
export function toSourceError(
  err: unknown,
  secrets: readonly string[],
  phase: 'connect' | 'query',
): SourceError {
  if (err instanceof SourceError) return err;
  if (err instanceof ConnectionConfigError) return new SourceError('ConnectionSecretInvalid', err.message);
  if (err instanceof InvalidResultError) return new SourceError('InvalidResult', err.message);
  const e = err as { message?: string; code?: string; errors?: { message?: string; code?: string }[] };
  // Node's happy-eyeballs connect fails with an AggregateError whose own message is empty.
  const inner = e.errors?.[0];
  const raw = e.message || inner?.message || e.code || inner?.code || 'unknown error';
  const message = scrub(raw, secrets).slice(0, 1024);
  const code = e.code ?? inner?.code ?? '';
  if (code === '28P01' || code === '28000') return new SourceError('AuthenticationFailed', message);
  if (
    CONNECTION_CODES.has(code) ||
    code.startsWith('08') ||
    code === '57P01' ||
    code === '57P03' ||
    code === '3D000'
  )
    return new SourceError('ConnectionFailed', message);
  if (code === '57014') return new SourceError('QueryFailed', `the query was cancelled: ${message}`);
  if (/^[0-9A-Z]{5}$/.test(code)) return new SourceError('QueryFailed', message);
  // No SQLSTATE: a socket or timeout problem of the client.
  if (phase === 'connect' || /terminated|timeout|closed|not queryable/i.test(raw))
    return new SourceError('ConnectionFailed', message);
  return new SourceError('QueryFailed', message);
}

/** Wraps the query so that the server returns at most maxRows + 1 rows, and only from one SELECT. */
export function boundedQuery(sql: string, maxRows: number): string {
  const body = sql.trim().replace(/;\s*$/, '');
  return `SELECT * FROM (\n${body}\n) AS flagops_source LIMIT ${maxRows + 1}`;
}

export class PgSession {
  #client: pg.Client | undefined;
  #fingerprint: string | undefined;
  #channel: string | undefined;
  #secrets: readonly string[] = [];

  constructor(
    /** A NOTIFY arrived on the channel. */
    private readonly onNotify: () => void,
    /** The open connection broke between queries (the database went away). */
    private readonly onLost: (message: string) => void,
  ) {}

  get connected(): boolean {
    return this.#client !== undefined;
  }

  /** Connects (again) when there is no connection or its settings changed; LISTENs on `channel`. */
  async ensure(conn: Connection, channel: string | undefined): Promise<void> {
    this.#secrets = conn.secrets;
    if (this.#client && this.#fingerprint !== conn.fingerprint) await this.close();
    if (!this.#client) {
      const client = new pg.Client(conn.config);
      // An 'error' without a listener would crash the process: a broken idle connection is expected.
      client.on('error', (err) => this.#lost(client, err));
      client.on('end', () => this.#lost(client, new Error('the connection was closed')));
      client.on('notification', (msg) => {
        if (msg.channel === this.#channel) this.onNotify();
      });
      try {
        await client.connect();
      } catch (err) {
        client.removeAllListeners('end');
        await client.end().catch(() => {});
        throw toSourceError(err, conn.secrets, 'connect');
      }
      this.#client = client;
      this.#fingerprint = conn.fingerprint;
      this.#channel = undefined;
    }
    if (channel !== this.#channel) {
      try {
        if (this.#channel) await this.#client.query(`UNLISTEN "${this.#channel}"`);
        // The channel matches ^[a-z_][a-z0-9_$]*$ (schema and zod), so quoting it is safe.
        if (channel) await this.#client.query(`LISTEN "${channel}"`);
        this.#channel = channel;
      } catch (err) {
        await this.close();
        throw toSourceError(err, conn.secrets, 'connect');
      }
    }
  }

  async query(sql: string, maxRows: number): Promise<QueryResult> {
    const client = this.#client;
    if (!client) throw new SourceError('ConnectionFailed', 'not connected');
    let result: pg.QueryResult<Record<string, unknown>>;
    try {
      result = await client.query<Record<string, unknown>>(boundedQuery(sql, maxRows));
    } catch (err) {
      const e = toSourceError(err, this.#secrets, 'query');
      // A query that failed on a broken connection: drop it, the next sync reconnects.
      if (e.reason === 'ConnectionFailed') await this.close();
      throw e;
    }
    if (result.rows.length > maxRows)
      throw new SourceError('InvalidResult', `the query returned more than ${maxRows} rows (spec.maxRows)`);
    return { rows: result.rows, columns: result.fields.map((f) => f.name) };
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#fingerprint = undefined;
    this.#channel = undefined;
    if (!client) return;
    client.removeAllListeners('end');
    client.removeAllListeners('notification');
    await client.end().catch(() => {});
  }

  #lost(client: pg.Client, err: Error) {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#fingerprint = undefined;
    this.#channel = undefined;
    client.removeAllListeners('end');
    client.end().catch(() => {});
    this.onLost(toSourceError(err, this.#secrets, 'connect').message);
  }
}
