/**
 * One PostgreSQL connection per FactSource, kept open between polls: it runs the query and, when the source has a
 * channel, LISTENs on it. Errors come out as SourceErrors whose message has been scrubbed of the connection's
 * secrets and whose reason says what to fix.
 */
import pg from 'pg';
import type { Reason } from '../api/conditions.js';
import { type Connection, ConnectionConfigError, scrub } from './connection.js';
import { InvalidResultError } from './result.js';
import { refuseStatement } from './statement.js';

export type SourceFailure = Extract<
  Reason,
  | 'ConnectionSecretInvalid'
  | 'ConnectionFailed'
  | 'AuthenticationFailed'
  | 'QueryFailed'
  | 'QueryNotAllowed'
  | 'InvalidResult'
  | 'ResultTooLarge'
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

/** A bug's text (`Cannot read properties of undefined`) says nothing to the user and may quote data: never shown. */
const PROGRAMMING_ERRORS = [TypeError, RangeError, ReferenceError, SyntaxError];

/** Classifies an error of connecting or querying and scrubs its message. Never returns the error itself. */
export function toSourceError(
  err: unknown,
  secrets: readonly string[],
  phase: 'connect' | 'query',
  names: readonly string[] = [],
): SourceError {
  if (err instanceof SourceError) return err;
  if (err instanceof ConnectionConfigError) return new SourceError('ConnectionSecretInvalid', err.message);
  if (err instanceof InvalidResultError) return new SourceError('InvalidResult', err.message);
  if (PROGRAMMING_ERRORS.some((t) => err instanceof t))
    return new SourceError('InvalidResult', 'the operator could not read the result of the query');
  const e = err as { message?: string; code?: string; errors?: { message?: string; code?: string }[] };
  // Node's happy-eyeballs connect fails with an AggregateError whose own message is empty.
  const inner = e.errors?.[0];
  const raw = e.message || inner?.message || e.code || inner?.code || 'unknown error';
  const message = scrub(raw, secrets, names).slice(0, 1024);
  const code = e.code ?? inner?.code ?? '';
  if (code === '28P01' || code === '28000') return new SourceError('AuthenticationFailed', message);
  // A prepared statement holds one statement; the server refuses a query string with several.
  if (code === '42601' && /multiple commands/.test(raw))
    return new SourceError(
      'QueryNotAllowed',
      'spec.postgres.query must be a single statement; the database refused several (separated by ;)',
    );
  // Refused by the read-only transaction, or a data-modifying WITH below our wrapper's SELECT.
  if (code === '25006' || (code === '0A000' && /data-modifying/.test(raw)))
    return new SourceError('QueryNotAllowed', `the query tried to write: ${message}`);
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

/** Every sync reads in a transaction of its own that no statement of the query can make writable, then rolls back. */
const BEGIN_READ_ONLY = 'BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY';

/** pg sends a query with the extended protocol (Parse/Bind/Execute: one statement only) when asked; not in @types/pg. */
type ExtendedQuery = pg.QueryConfig & { queryMode: 'extended' };

export interface QueryLimits {
  /** More rows fail the sync (spec.maxRows). */
  maxRows: number;
  /** More bytes received while the result is read close the connection and fail the sync. */
  maxBytes: number;
}

const tooLarge = (maxBytes: number) =>
  new SourceError(
    'ResultTooLarge',
    `the result is larger than ${maxBytes} bytes (--source-max-result-bytes); reading stopped there and nothing was applied`,
  );

export class PgSession {
  #client: pg.Client | undefined;
  #fingerprint: string | undefined;
  #channel: string | undefined;
  #secrets: readonly string[] = [];
  #names: readonly string[] = [];

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
    this.#names = conn.names;
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
        throw toSourceError(err, conn.secrets, 'connect', conn.names);
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
        throw toSourceError(err, conn.secrets, 'connect', conn.names);
      }
    }
  }

  /**
   * Runs the query: refused unless it is one SELECT or WITH, sent as one prepared statement, in a read-only
   * transaction rolled back afterwards (so that no setting it makes outlives it), and read with a byte budget.
   */
  async query(sql: string, limits: QueryLimits): Promise<QueryResult> {
    const client = this.#client;
    if (!client) throw new SourceError('ConnectionFailed', 'not connected');
    const refusal = refuseStatement(sql);
    if (refusal) throw new SourceError('QueryNotAllowed', refusal);
    const meter = this.#meter(client, limits.maxBytes);
    let result: pg.QueryResult<Record<string, unknown>>;
    try {
      await client.query(BEGIN_READ_ONLY);
      const query: ExtendedQuery = { text: boundedQuery(sql, limits.maxRows), queryMode: 'extended' };
      result = await client.query<Record<string, unknown>>(query);
    } catch (err) {
      if (meter.exceeded()) throw tooLarge(limits.maxBytes);
      const e = toSourceError(err, this.#secrets, 'query', this.#names);
      // A query that failed on a broken connection: drop it, the next sync reconnects.
      if (e.reason === 'ConnectionFailed') await this.close();
      else await this.#rollback(client);
      throw e;
    } finally {
      meter.stop();
    }
    await this.#rollback(client);
    if (!Array.isArray(result?.rows) || !Array.isArray(result.fields))
      throw new SourceError('InvalidResult', 'the query returned no rows (it is not a SELECT)');
    if (result.rows.length > limits.maxRows)
      throw new SourceError(
        'InvalidResult',
        `the query returned more than ${limits.maxRows} rows (spec.maxRows)`,
      );
    return { rows: result.rows, columns: result.fields.map((f) => f.name) };
  }

  /**
   * Counts the bytes the connection receives until stop(); past `maxBytes` it drops the connection, so that the
   * driver never buffers more (a row can be as large as the database allows, so counting rows is not enough).
   */
  #meter(client: pg.Client, maxBytes: number) {
    const stream = client.connection.stream;
    let bytes = 0;
    let exceeded = false;
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes <= maxBytes || exceeded) return;
      exceeded = true;
      // Forgotten first: this is not a lost connection to report, and the next sync connects again.
      this.#forget(client);
      stream.destroy();
    };
    stream.on('data', onData);
    return { exceeded: () => exceeded, stop: () => stream.off('data', onData) };
  }

  async #rollback(client: pg.Client) {
    if (this.#client !== client) return;
    try {
      await client.query('ROLLBACK');
    } catch {
      // The connection is broken: the next sync reconnects.
      await this.close();
    }
  }

  async close(): Promise<void> {
    const client = this.#client;
    if (!client) return;
    this.#forget(client);
    await client.end().catch(() => {});
  }

  /** Stops using `client`: its end and notifications no longer reach the runner. */
  #forget(client: pg.Client) {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#fingerprint = undefined;
    this.#channel = undefined;
    client.removeAllListeners('end');
    client.removeAllListeners('notification');
  }

  #lost(client: pg.Client, err: Error) {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#fingerprint = undefined;
    this.#channel = undefined;
    client.removeAllListeners('end');
    client.end().catch(() => {});
    this.onLost(toSourceError(err, this.#secrets, 'connect', this.#names).message);
  }
}
