import { describe, expect, it } from 'vitest';
import type { SecretObject } from '../api/types.js';
import { ConnectionConfigError, connectionFromSecret, scrub } from './connection.js';
import { boundedQuery, toSourceError } from './postgres.js';

const secret = (data: Record<string, string>): SecretObject => ({
  metadata: { name: 'db', namespace: 'ns' },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
});
const opts = { timeoutMs: 5000, applicationName: 'flagops-source/x' };

describe('connectionFromSecret', () => {
  it('reads a DSN from the named key, read-only and with timeouts', () => {
    const c = connectionFromSecret(
      secret({ url: 'postgresql://app:s3cr%40t@db.example:5433/facts' }),
      'url',
      opts,
    );
    expect(c.config).toMatchObject({
      host: 'db.example',
      port: 5433,
      database: 'facts',
      user: 'app',
      password: 's3cr@t',
      connectionTimeoutMillis: 5000,
      query_timeout: 5000,
      statement_timeout: 5000,
      options: '-c default_transaction_read_only=on',
    });
    expect(c.secrets).toEqual(
      expect.arrayContaining(['postgresql://app:s3cr%40t@db.example:5433/facts', 's3cr@t', 's3cr%40t']),
    );
  });

  it('reads separate fields, with the usual alternative key names', () => {
    const c = connectionFromSecret(
      secret({ host: 'h', port: '6543', dbname: 'd', username: 'u', password: 'pw123' }),
      undefined,
      opts,
    );
    expect(c.config).toMatchObject({ host: 'h', port: 6543, database: 'd', user: 'u', password: 'pw123' });
  });

  it('changes its fingerprint when the password rotates', () => {
    const a = connectionFromSecret(secret({ host: 'h', password: 'one-pw' }), undefined, opts);
    const b = connectionFromSecret(secret({ host: 'h', password: 'two-pw' }), undefined, opts);
    expect(a.fingerprint).not.toBe(b.fingerprint);
    expect(a.fingerprint).not.toContain('one-pw');
  });

  it.each([
    [{}, 'url', /Secret db has no key url/],
    [{ url: 'host=h password=hunter22' }, 'url', /must hold a URI/],
    [{ url: 'postgresql://u:hunter22@[bad' }, 'url', /not a valid connection string/],
    [{ user: 'u' }, undefined, /has no key host/],
    [{ host: 'h', port: 'abc' }, undefined, /not a port number/],
  ])('refuses %j (key %s) with a message that names keys, never values', (data, key, message) => {
    let err: unknown;
    try {
      connectionFromSecret(secret(data as Record<string, string>), key, opts);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConnectionConfigError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('hunter22');
  });
});

describe('scrub and toSourceError', () => {
  it('removes every secret from a message', () => {
    expect(scrub('failed for postgresql://u:pw-x@h/d (pw-x)', ['postgresql://u:pw-x@h/d', 'pw-x'])).toBe(
      'failed for [REDACTED] ([REDACTED])',
    );
  });

  it.each([
    [{ code: '28P01', message: 'password authentication failed for user "u"' }, 'AuthenticationFailed'],
    [{ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' }, 'ConnectionFailed'],
    [
      Object.assign(
        new AggregateError(
          [Object.assign(new Error('connect ECONNREFUSED ::1:1'), { code: 'ECONNREFUSED' })],
          '',
        ),
        { code: 'ECONNREFUSED' },
      ),
      'ConnectionFailed',
    ],
    [{ code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND db.invalid' }, 'ConnectionFailed'],
    [{ code: '57P01', message: 'terminating connection due to administrator command' }, 'ConnectionFailed'],
    [{ code: '42601', message: 'syntax error at or near "SELEC"' }, 'QueryFailed'],
    [{ code: '42P01', message: 'relation "nope" does not exist' }, 'QueryFailed'],
    [{ code: '57014', message: 'canceling statement due to statement timeout' }, 'QueryFailed'],
    [new Error('Connection terminated unexpectedly'), 'ConnectionFailed'],
    [new Error('Query read timeout'), 'ConnectionFailed'],
    [
      { code: '42601', message: 'cannot insert multiple commands into a prepared statement' },
      'QueryNotAllowed',
    ],
    [{ code: '25006', message: 'cannot execute DELETE in a read-only transaction' }, 'QueryNotAllowed'],
    [
      {
        code: '0A000',
        message: 'WITH clause containing a data-modifying statement must be at the top level',
      },
      'QueryNotAllowed',
    ],
  ])('%j → %s', (err, reason) => {
    const e = toSourceError(err, ['pw-secret'], 'query');
    expect(e.reason).toBe(reason);
    expect(e.message).not.toBe('');
  });

  it('scrubs the password out of a driver message', () => {
    expect(toSourceError(new Error('bad password pw-secret'), ['pw-secret'], 'connect').message).toBe(
      'bad password [REDACTED]',
    );
  });

  it('never shows the text of a programming error', () => {
    const e = toSourceError(
      new TypeError("Cannot read properties of undefined (reading 'length')"),
      [],
      'query',
    );
    expect(e.reason).toBe('InvalidResult');
    expect(e.message).not.toMatch(/Cannot read|undefined/);
  });

  it.each([
    [
      'password authentication failed for user "fsrc_reader"',
      'password authentication failed for user "[REDACTED]"',
    ],
    ['role "fsrc_reader" does not exist', 'role "[REDACTED]" does not exist'],
    [
      'no pg_hba.conf entry for host "10.0.0.1", user "someone", database "d", no encryption',
      'no pg_hba.conf entry for host "10.0.0.1", user "[REDACTED]", database "d", no encryption',
    ],
    ['permission denied for schema fsrc_reader', 'permission denied for schema [REDACTED]'],
    // A word that merely contains the name stays.
    ['column fsrc_reader_x does not exist', 'column fsrc_reader_x does not exist'],
  ])('scrubs the user name out of %j', (raw, scrubbed) => {
    expect(toSourceError({ code: '28P01', message: raw }, [], 'connect', ['fsrc_reader']).message).toBe(
      scrubbed,
    );
  });

  it('names the user among the strings to scrub, as a word', () => {
    const c = connectionFromSecret(secret({ url: 'postgresql://reader:pw-123@h/d' }), 'url', opts);
    expect(c.names).toEqual(['reader']);
    expect(scrub('user reader; readers', c.secrets, c.names)).toBe('user [REDACTED]; readers');
  });

  it('bounds the query to one SELECT of at most maxRows + 1 rows', () => {
    expect(boundedQuery('SELECT 1 AS x;  \n', 10)).toBe(
      'SELECT * FROM (\nSELECT 1 AS x\n) AS flagops_source LIMIT 11',
    );
  });
});
