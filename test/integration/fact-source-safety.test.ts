/**
 * What a FactSource must not be able to do, against a real PostgreSQL and the real control plane (issue 20): write
 * to the database (several statements, a non-SELECT, a session setting carried into the next sync), make the
 * operator hold a huge result in memory, or show the database user name in status, Events or logs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FactSource } from '../../src/api/types.js';
import type { KubeClient } from '../../src/kube/client.js';
import { corePath } from '../../src/kube/paths.js';
import { sourcesPath } from '../../src/sources/runner.js';
import {
  adminClient,
  eventually,
  newNamespace,
  startTestOperator,
  type TestOperator,
} from '../support/cluster.js';
import { type Postgres, startPostgres } from '../support/postgres.js';

let pg: Postgres;
let client: KubeClient;
let ns: string;
let op: TestOperator;

const b64 = (s: string) => Buffer.from(s).toString('base64');
/** A user name that appears nowhere else, so that finding it anywhere is a leak. */
const DB_USER = 'fsrc_reader_q7xk';

beforeAll(async () => {
  client = adminClient();
  [pg, ns] = await Promise.all([startPostgres(), newNamespace('fsrc-safe')]);
  await client.create(corePath('secrets', ns), { metadata: { name: 'db' }, data: { dsn: b64(pg.dsn) } });
  await pg.sql(`CREATE ROLE ${DB_USER} LOGIN PASSWORD 'right-pw-123'`);
  await client.create(corePath('secrets', ns), {
    metadata: { name: 'db-other-user' },
    data: {
      dsn: b64(`postgresql://${DB_USER}:wrong-pw-456@${pg.host}:${pg.port}/${pg.database}`),
    },
  });
  await pg.sql('CREATE TABLE t_victim (identity text, fact text, value text)');
  await pg.sql("INSERT INTO t_victim VALUES ('victim-1', 'tier', 'gold'), ('victim-2', 'tier', 'silver')");
  op = await startTestOperator({ namespaces: [ns], auth: 'none' });
}, 120_000);

afterAll(async () => {
  await op?.stop();
  await pg?.stop();
});

async function createSource(name: string, postgres: Record<string, unknown>, extra = {}): Promise<void> {
  await client.create(sourcesPath(ns), {
    apiVersion: 'flagops.io/v1alpha1',
    kind: 'FactSource',
    metadata: { name },
    spec: { postgres: { connectionSecretRef: { name: 'db', key: 'dsn' }, ...postgres }, ...extra },
  });
}

const ready = (s: FactSource) => s.status?.conditions?.find((c) => c.type === 'Ready');

async function waitReason(name: string, reason: string, timeoutMs = 20_000): Promise<FactSource> {
  return eventually(async () => {
    const s = await client.get<FactSource>(sourcesPath(ns, name));
    expect(ready(s)?.reason, JSON.stringify(s.status)).toBe(reason);
    return s;
  }, timeoutMs);
}

const victims = async () => Number((await pg.sql('SELECT count(*) AS n FROM t_victim')).rows[0].n);

describe('a FactSource query', () => {
  it.each([
    [
      'several statements that commit, begin a read-write transaction and delete',
      // Closes the wrapper's parenthesis and opens it again: without the fix, this deleted every row.
      "SELECT identity, fact, value FROM t_victim) AS x; COMMIT; BEGIN READ WRITE; DELETE FROM t_victim; COMMIT; SELECT * FROM (SELECT 'a' AS identity, 'b' AS fact, 'c' AS value",
      /single statement/,
    ],
    ['a DELETE', 'DELETE FROM t_victim RETURNING identity, fact, value', /one SELECT or WITH/],
    [
      'a WITH that deletes',
      'WITH d AS (DELETE FROM t_victim RETURNING *) SELECT identity, fact, value FROM d',
      /tried to write/,
    ],
  ])('cannot write with %s: QueryNotAllowed, and the rows stay', async (_what, query, message) => {
    const name = `w-${Math.random().toString(36).slice(2, 8)}`;
    await createSource(name, { query }, { intervalSeconds: 1 });
    const s = await waitReason(name, 'QueryNotAllowed');
    expect(ready(s)?.status).toBe('False');
    expect(ready(s)?.message).toMatch(message);
    // Never a JavaScript error text.
    expect(ready(s)?.message).not.toMatch(/Cannot read|undefined|TypeError/);
    expect(await victims()).toBe(2);
    await client.delete(sourcesPath(ns, name));
  });

  it('runs every sync in a read-only transaction, whatever the last sync set for the session', async () => {
    // Each sync turns the session's default to read-write; the next sync must still be read-only.
    await createSource(
      'session-setting',
      {
        query: `SELECT 'c-ro' AS identity, 'ro' AS fact, current_setting('transaction_read_only') AS value
                  FROM (SELECT set_config('default_transaction_read_only', 'off', false)) AS s`,
      },
      { intervalSeconds: 1 },
    );
    await waitReason('session-setting', 'Synced');
    await eventually(() => expect(op.store.get(ns, 'c-ro')?.facts?.values).toEqual({ ro: 'on' }));
    const runner = op.sources.runner(ns, 'session-setting');
    expect(runner).toBeDefined();
    for (let i = 0; i < 3; i++) await runner!.syncNow();
    const s = await waitReason('session-setting', 'Synced');
    expect(s.status?.rows).toBe(1);
    await eventually(() => expect(op.store.get(ns, 'c-ro')?.facts?.values).toEqual({ ro: 'on' }));
  });
});

describe('a FactSource result', () => {
  it('is bounded in bytes while it is read: 100 rows of 5 MB are refused with ResultTooLarge', async () => {
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    try {
      await createSource(
        'huge',
        {
          query: `SELECT 'big-' || g AS identity, 'blob' AS fact, repeat('x', 5 * 1024 * 1024) AS value
                    FROM generate_series(1, 100) AS g`,
        },
        { intervalSeconds: 60, timeoutSeconds: 60 },
      );
      const s = await waitReason('huge', 'ResultTooLarge', 90_000);
      expect(ready(s)?.message).toMatch(/larger than \d+ bytes/);
    } finally {
      clearInterval(sampler);
    }
    // Unbounded, the 500 MB result raised RSS by about 515 MiB; bounded (16 MiB by default), far less.
    expect((peak - before) / 2 ** 20).toBeLessThan(256);
    expect(op.store.get(ns, 'big-1')).toBeUndefined();
  }, 120_000);
});

describe('the database user name', () => {
  it('never appears in status, Events or logs, even when authentication fails', async () => {
    await client.create(sourcesPath(ns), {
      apiVersion: 'flagops.io/v1alpha1',
      kind: 'FactSource',
      metadata: { name: 'other-user' },
      spec: {
        postgres: { connectionSecretRef: { name: 'db-other-user', key: 'dsn' }, query: 'SELECT 1' },
        intervalSeconds: 1,
      },
    });
    const s = await waitReason('other-user', 'AuthenticationFailed');
    expect(ready(s)?.message).toMatch(/password authentication failed/);
    // Let it fail a few more times, so that the Event and the retry logs are there too.
    await eventually(async () => {
      const events = await client.get<{ items: { involvedObject: { name: string } }[] }>(
        corePath('events', ns),
      );
      expect(events.items.some((e) => e.involvedObject.name === 'other-user')).toBe(true);
    });
    await new Promise((r) => setTimeout(r, 1500));
    const statuses = await client.get<{ items: FactSource[] }>(sourcesPath(ns));
    const events = await client.get<{ items: unknown[] }>(corePath('events', ns));
    const everything = [...op.logs, JSON.stringify(statuses), JSON.stringify(events)].join('\n');
    expect(everything).toContain('password authentication failed');
    expect(everything).not.toContain(DB_USER);
    expect(everything).not.toContain('wrong-pw-456');
  });
});
