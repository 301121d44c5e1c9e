/**
 * FactSource against a real PostgreSQL (Debian's, started on loopback by test/support/postgres.ts) and the real
 * control plane: rows become facts, NOTIFY is reflected within a second, removed rows remove facts, facts owned by
 * GitOps are left alone and reported, refusals are per identity, the database going away keeps the facts and turns
 * Ready False until it comes back, and bad input gives a clear condition. No connection secret leaks anywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentFacts, FactSource } from '../../src/api/types.js';
import type { KubeClient } from '../../src/kube/client.js';
import { corePath, factsPath } from '../../src/kube/paths.js';
import { sourcesPath } from '../../src/sources/runner.js';
import { describeProvenance } from '../../src/store/provenance.js';
import { kubectl } from '../control-plane/kubectl.js';
import {
  adminClient,
  call,
  controlPlane,
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

beforeAll(async () => {
  client = adminClient();
  [pg, ns] = await Promise.all([startPostgres(), newNamespace('fsrc')]);
  await client.create(corePath('secrets', ns), {
    metadata: { name: 'db-dsn' },
    data: { dsn: b64(pg.dsn) },
  });
  await client.create(corePath('secrets', ns), {
    metadata: { name: 'db-fields' },
    data: {
      host: b64(pg.host),
      port: b64(String(pg.port)),
      dbname: b64(pg.database),
      username: b64(pg.user),
      password: b64(pg.password),
    },
  });
  await client.create(corePath('secrets', ns), {
    metadata: { name: 'db-wrong-password' },
    data: { dsn: b64(pg.dsn.replace(encodeURIComponent(pg.password), 'not-the-pw-123')) },
  });
  op = await startTestOperator({ namespaces: [ns], auth: 'none' });
}, 120_000);

afterAll(async () => {
  await op?.stop();
  await pg?.stop();
});

async function createSource(name: string, spec: Record<string, unknown>): Promise<void> {
  await client.create(sourcesPath(ns), {
    apiVersion: 'flagops.io/v1alpha1',
    kind: 'FactSource',
    metadata: { name },
    spec,
  });
}

const getSource = (name: string) => client.get<FactSource>(sourcesPath(ns, name));
const ready = (s: FactSource) => s.status?.conditions?.find((c) => c.type === 'Ready');

/** Waits until the source's Ready condition has `reason` (for its current generation) and returns the source. */
async function waitReason(name: string, reason: string, timeoutMs = 15_000): Promise<FactSource> {
  return eventually(async () => {
    const s = await getSource(name);
    expect(ready(s)?.reason, JSON.stringify(s.status)).toBe(reason);
    expect(s.status?.observedGeneration).toBe(s.metadata.generation);
    return s;
  }, timeoutMs);
}

const served = (identity: string) => op.store.get(ns, identity)?.facts?.values;
const stored = async (identity: string) =>
  (await client.get<DeploymentFacts>(factsPath(ns, identity))).spec?.facts;

async function table(name: string, rows: [string, string, string | null][]) {
  await pg.sql(`CREATE TABLE ${name} (identity text, fact text, value text)`);
  for (const r of rows) await pg.sql(`INSERT INTO ${name} VALUES ($1, $2, $3)`, r);
}

describe('a PostgreSQL FactSource', () => {
  it('turns rows into facts, with counts in status and the printer columns', async () => {
    await table('t_rows', [
      ['customer-1', 'tier', 'gold'],
      ['customer-1', 'region', 'eu-west-1'],
      ['customer-2', 'tier', 'silver'],
    ]);
    await pg.sql('CREATE TABLE t_ints (identity text, replicas int)');
    await pg.sql("INSERT INTO t_ints VALUES ('customer-1', 5)");
    await createSource('billing', {
      postgres: {
        connectionSecretRef: { name: 'db-dsn', key: 'dsn' },
        // An integer column stays an integer fact.
        query:
          'SELECT identity, fact, value FROM t_rows UNION ALL SELECT identity, $$max-replicas$$, replicas::text FROM t_ints',
      },
      intervalSeconds: 2,
    });
    const s = await waitReason('billing', 'Synced');
    expect(s.status).toMatchObject({ rows: 4, identities: 2, factsWritten: 4, errorCount: 0 });
    expect(s.status?.lastSyncTime).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(ready(s)?.status).toBe('True');
    await eventually(() =>
      expect(served('customer-1')).toEqual({ tier: 'gold', region: 'eu-west-1', 'max-replicas': '5' }),
    );
    expect(served('customer-2')).toEqual({ tier: 'silver' });
    // Written under the source's own field manager.
    const obj = await client.get<DeploymentFacts>(factsPath(ns, 'customer-1'));
    expect(
      obj.metadata.managedFields?.some(
        (m) => m.manager === 'flagops-source/billing' && m.operation === 'Apply',
      ),
    ).toBe(true);

    // Provenance names the source as the fact's origin.
    expect(describeProvenance(op.store.get(ns, 'customer-1')?.facts?.owners).tier).toMatchObject({
      manager: 'flagops-source/billing',
      path: 'source',
      by: 'billing',
    });

    const table_ = await kubectl(controlPlane(), ['-n', ns, 'get', 'fsrc', 'billing']);
    expect(table_.stdout).toMatch(/NAME\s+READY\s+IDENTITIES\s+FACTS\s+ERRORS\s+REASON\s+LAST SYNC\s+AGE/);
    expect(table_.stdout).toMatch(/billing\s+True\s+2\s+4\s+0\s+Synced/);
  });

  it('reflects an UPDATE plus NOTIFY in a GET within a second, and removes the fact of a deleted row', async () => {
    await table('t_notify', [
      ['customer-n', 'tier', 'gold'],
      ['customer-n', 'owner', 'team-a'],
    ]);
    await createSource('notify', {
      postgres: {
        connectionSecretRef: { name: 'db-fields' },
        query: 'SELECT identity, fact, value FROM t_notify',
        listenChannel: 'flagops_facts',
      },
      // Polling alone would take an hour: only the NOTIFY can make the change visible in time.
      intervalSeconds: 3600,
    });
    await waitReason('notify', 'Synced');
    await eventually(() => expect(served('customer-n')).toEqual({ tier: 'gold', owner: 'team-a' }));
    const path = `/api/v1/namespaces/${ns}/identities/customer-n/facts`;

    await pg.sql("UPDATE t_notify SET value = 'platinum' WHERE fact = 'tier'; NOTIFY flagops_facts");
    const started = Date.now();
    let body: unknown;
    while (Date.now() - started < 1000) {
      body = (await call(op, 'GET', path)).body;
      if ((body as { tier?: string }).tier === 'platinum') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(body).toEqual({ tier: 'platinum', owner: 'team-a' });
    expect(Date.now() - started).toBeLessThan(1000);

    await pg.sql("DELETE FROM t_notify WHERE fact = 'owner'; NOTIFY flagops_facts");
    await eventually(
      async () => expect((await call(op, 'GET', path)).body).toEqual({ tier: 'platinum' }),
      1000,
    );
    expect(await stored('customer-n')).toEqual({ tier: 'platinum' });
  });

  it('leaves a fact owned by GitOps alone and reports it on that identity, writing the rest', async () => {
    const gitops = await kubectl(
      controlPlane(),
      ['apply', '--server-side', '--field-manager=gitops', '-f', '-'],
      {
        input: JSON.stringify({
          apiVersion: 'flagops.io/v1alpha1',
          kind: 'DeploymentFacts',
          metadata: { name: 'customer-g', namespace: ns },
          spec: { facts: { tier: 'bronze', cluster: 'eu-1' } },
        }),
      },
    );
    expect(gitops.code, gitops.stderr).toBe(0);
    await table('t_conflict', [
      ['customer-g', 'tier', 'gold'],
      ['customer-g', 'seats', '40'],
    ]);
    await createSource('conflicting', {
      postgres: { connectionSecretRef: { name: 'db-dsn', key: 'dsn' }, query: 'SELECT * FROM t_conflict' },
      intervalSeconds: 2,
    });
    const s = await waitReason('conflicting', 'PartiallySynced');
    expect(ready(s)?.status).toBe('True');
    expect(s.status?.errorCount).toBe(1);
    expect(s.status?.errors).toEqual([
      {
        identity: 'customer-g',
        fact: 'tier',
        reason: 'Conflict',
        message: 'fact tier is managed by gitops; left alone',
      },
    ]);
    expect(ready(s)?.message).toContain('customer-g/tier');
    await eventually(() =>
      expect(served('customer-g')).toEqual({ tier: 'bronze', cluster: 'eu-1', seats: '40' }),
    );
    // GitOps still owns its facts, and re-applying its manifest keeps the source's fact.
    const again = await kubectl(
      controlPlane(),
      ['apply', '--server-side', '--field-manager=gitops', '-f', '-'],
      {
        input: JSON.stringify({
          apiVersion: 'flagops.io/v1alpha1',
          kind: 'DeploymentFacts',
          metadata: { name: 'customer-g', namespace: ns },
          spec: { facts: { tier: 'bronze', cluster: 'eu-2' } },
        }),
      },
    );
    expect(again.code, again.stderr).toBe(0);
    expect(await stored('customer-g')).toEqual({ tier: 'bronze', cluster: 'eu-2', seats: '40' });
    const events = await eventually(async () => {
      const list = await client.get<{
        items: { reason: string; message: string; involvedObject: { kind: string; name: string } }[];
      }>(corePath('events', ns));
      const e = list.items.find(
        (i) => i.involvedObject.kind === 'FactSource' && i.involvedObject.name === 'conflicting',
      );
      expect(e).toBeDefined();
      return e!;
    });
    expect(events.reason).toBe('PartiallySynced');
    expect(events.message).toContain('managed by gitops');
  });

  it('reports a value the API server refuses on that identity only (columns shape)', async () => {
    await pg.sql('CREATE TABLE t_cols (identity text, tier text, seats int, beta boolean)');
    await pg.sql(
      "INSERT INTO t_cols VALUES ('customer-c1', 'gold', 10, true), ('customer-c2', NULL, 3, false)",
    );
    // 257 facts for one identity: more than a DeploymentFacts may hold (the CRD's maxProperties).
    await createSource('wide', {
      postgres: {
        connectionSecretRef: { name: 'db-dsn', key: 'dsn' },
        query: `SELECT identity, 'tier' AS fact, tier AS value FROM t_cols WHERE tier IS NOT NULL
                UNION ALL SELECT identity, 'seats', seats::text FROM t_cols
                UNION ALL SELECT 'customer-big', 'f' || g, g::text FROM generate_series(1, 257) g`,
      },
      intervalSeconds: 2,
    });
    const s = await waitReason('wide', 'PartiallySynced');
    expect(s.status?.errors).toHaveLength(1);
    expect(s.status?.errors?.[0]).toMatchObject({ identity: 'customer-big', reason: 'Rejected' });
    expect(s.status?.errors?.[0]?.message).toMatch(/256/);
    await eventually(() => expect(served('customer-c1')).toEqual({ tier: 'gold', seats: '10' }));
    expect(served('customer-c2')).toEqual({ seats: '3' });
    expect(served('customer-big')).toBeUndefined();

    await createSource('by-columns', {
      postgres: {
        connectionSecretRef: { name: 'db-dsn', key: 'dsn' },
        query:
          'SELECT identity || \'-cols\' AS identity, tier, seats AS "seat-count", beta, 0.25::float8 AS weight FROM t_cols',
        shape: 'columns',
      },
      intervalSeconds: 2,
    });
    await waitReason('by-columns', 'Synced');
    await eventually(() =>
      expect(served('customer-c1-cols')).toEqual({
        tier: 'gold',
        'seat-count': 10,
        beta: true,
        weight: 0.25,
      }),
    );
    // Booleans and floats keep their type.
    expect(served('customer-c2-cols')).toEqual({ 'seat-count': 3, beta: false, weight: 0.25 });
  });

  it.each([
    ['a malformed query', { query: 'SELECT identity, FROM nowhere' }, 'QueryFailed', /syntax error/],
    ['a missing table', { query: 'SELECT * FROM no_such_table' }, 'QueryFailed', /no_such_table/],
    [
      'a statement that writes',
      { query: "DELETE FROM t_rows RETURNING identity, 'x' AS fact, 'y' AS value" },
      'QueryNotAllowed',
      /must be one SELECT or WITH statement; it starts with DELETE/,
    ],
    ['a result without the columns', { query: 'SELECT 1 AS x' }, 'InvalidResult', /no column identity/],
    [
      'a missing Secret',
      { connectionSecretRef: { name: 'nope', key: 'dsn' } },
      'ConnectionSecretInvalid',
      /Secret nope not found/,
    ],
    [
      'a missing Secret key',
      { connectionSecretRef: { name: 'db-dsn', key: 'url' } },
      'ConnectionSecretInvalid',
      /no key url/,
    ],
    [
      'a wrong password',
      { connectionSecretRef: { name: 'db-wrong-password', key: 'dsn' } },
      'AuthenticationFailed',
      /password authentication failed/,
    ],
  ])('gives a clear condition for %s, and keeps running', async (_what, override, reason, message) => {
    const name = `bad-${Math.random().toString(36).slice(2, 8)}`;
    await createSource(name, {
      postgres: {
        connectionSecretRef: { name: 'db-dsn', key: 'dsn' },
        query: 'SELECT identity, fact, value FROM t_rows',
        ...override,
      },
      intervalSeconds: 2,
    });
    const s = await waitReason(name, reason);
    expect(ready(s)?.status).toBe('False');
    expect(ready(s)?.message).toMatch(message);
    expect((await call(op, 'GET', '/healthz')).status).toBe(200);
    await client.delete(sourcesPath(ns, name));
  });

  it('gives ConnectionFailed for an unreachable host', async () => {
    await client.create(corePath('secrets', ns), {
      metadata: { name: 'db-unreachable' },
      data: { host: b64('db.invalid'), port: b64('5432'), user: b64('x'), password: b64('unreachable-pw') },
    });
    await client.create(corePath('secrets', ns), {
      metadata: { name: 'db-closed-port' },
      data: { dsn: b64('postgresql://x:closed-port-pw@127.0.0.1:1/x') },
    });
    await createSource('unreachable', {
      postgres: { connectionSecretRef: { name: 'db-unreachable' }, query: 'SELECT 1' },
      intervalSeconds: 2,
      timeoutSeconds: 2,
    });
    await createSource('closed-port', {
      postgres: { connectionSecretRef: { name: 'db-closed-port', key: 'dsn' }, query: 'SELECT 1' },
      intervalSeconds: 2,
    });
    const a = await waitReason('unreachable', 'ConnectionFailed');
    expect(ready(a)?.message).toMatch(/db\.invalid|timeout|ENOTFOUND|EAI_AGAIN/i);
    const b = await waitReason('closed-port', 'ConnectionFailed');
    expect(ready(b)?.message).toMatch(/ECONNREFUSED/);
  });

  it('keeps the last facts served while the database is down, turns Ready False, and resumes when it is back', async () => {
    await table('t_outage', [['customer-o', 'tier', 'gold']]);
    await createSource('outage', {
      postgres: {
        connectionSecretRef: { name: 'db-dsn', key: 'dsn' },
        query: 'SELECT * FROM t_outage',
        listenChannel: 'outage',
      },
      intervalSeconds: 2,
    });
    await waitReason('outage', 'Synced');
    await eventually(() => expect(served('customer-o')).toEqual({ tier: 'gold' }));

    await pg.stopServer();
    try {
      const down = await waitReason('outage', 'ConnectionFailed');
      expect(ready(down)?.status).toBe('False');
      // The facts stay, in the object and in what the API serves; the counts of the last sync stay too.
      expect(down.status).toMatchObject({ rows: 1, identities: 1, factsWritten: 1 });
      expect(served('customer-o')).toEqual({ tier: 'gold' });
      expect((await call(op, 'GET', `/api/v1/namespaces/${ns}/identities/customer-o/facts`)).body).toEqual({
        tier: 'gold',
      });
      expect(await stored('customer-o')).toEqual({ tier: 'gold' });
    } finally {
      await pg.startServer();
    }
    await pg.sql("UPDATE t_outage SET value = 'platinum'");
    await waitReason('outage', 'Synced');
    await eventually(() => expect(served('customer-o')).toEqual({ tier: 'platinum' }));
    // LISTEN is back too.
    await pg.sql("UPDATE t_outage SET value = 'diamond'; NOTIFY outage");
    await eventually(() => expect(served('customer-o')).toEqual({ tier: 'diamond' }), 1500);
  });

  it('stops a suspended source and keeps its facts; resuming syncs again', async () => {
    await pg.sql("UPDATE t_rows SET value = 'ruby' WHERE identity = 'customer-2'");
    await client.mergePatch(sourcesPath(ns, 'billing'), { spec: { suspend: true } });
    const s = await waitReason('billing', 'Suspended');
    expect(ready(s)?.status).toBe('False');
    await new Promise((r) => setTimeout(r, 2500)); // longer than the interval
    expect(served('customer-2')).toEqual({ tier: 'silver' });
    await client.mergePatch(sourcesPath(ns, 'billing'), { spec: { suspend: false } });
    await waitReason('billing', 'Synced');
    await eventually(() => expect(served('customer-2')).toEqual({ tier: 'ruby' }));
  });

  it('removes the facts of a deleted FactSource, and only those', async () => {
    await eventually(() => expect(served('customer-g')).toMatchObject({ seats: '40' }));
    await client.delete(sourcesPath(ns, 'conflicting'));
    await eventually(() => expect(served('customer-g')).toEqual({ tier: 'bronze', cluster: 'eu-2' }));
  });

  it('never shows the password or the DSN in logs, status or Events', async () => {
    const statuses = await client.get<{ items: FactSource[] }>(sourcesPath(ns));
    const events = await client.get<{ items: unknown[] }>(corePath('events', ns));
    expect(statuses.items.length).toBeGreaterThan(3);
    const everything = [...op.logs, JSON.stringify(statuses), JSON.stringify(events)].join('\n');
    for (const secret of [
      pg.password,
      encodeURIComponent(pg.password),
      pg.dsn,
      'not-the-pw-123',
      'unreachable-pw',
      'closed-port-pw',
    ]) {
      expect(everything).not.toContain(secret);
    }
  });
});

describe('a FactSource and leader election', () => {
  it('runs on the leader only', async () => {
    const lns = await newNamespace('fsrc-leader');
    await client.create(corePath('secrets', lns), { metadata: { name: 'db' }, data: { dsn: b64(pg.dsn) } });
    await pg.sql(
      "CREATE TABLE t_leader AS SELECT 'customer-l'::text AS identity, 'tier'::text AS fact, 'gold'::text AS value",
    );
    // Another replica holds the Lease, for an hour.
    const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${lns}/leases/sources-leader`;
    await client.create(`/apis/coordination.k8s.io/v1/namespaces/${lns}/leases`, {
      metadata: { name: 'sources-leader' },
      spec: {
        holderIdentity: 'someone-else',
        leaseDurationSeconds: 3600,
        renewTime: new Date().toISOString().replace('Z', '000Z'),
      },
    });
    const standby = await startTestOperator({
      namespaces: [lns],
      auth: 'none',
      extraArgs: [
        '--leader-elect',
        `--leader-election-namespace=${lns}`,
        '--leader-election-id=sources-leader',
        '--leader-election-lease-duration=3s',
        '--leader-election-renew-deadline=2s',
        '--leader-election-retry-period=200ms',
      ],
    });
    try {
      await client.create(sourcesPath(lns), {
        apiVersion: 'flagops.io/v1alpha1',
        kind: 'FactSource',
        metadata: { name: 'leader' },
        spec: {
          postgres: { connectionSecretRef: { name: 'db', key: 'dsn' }, query: 'SELECT * FROM t_leader' },
          intervalSeconds: 1,
        },
      });
      await new Promise((r) => setTimeout(r, 2000));
      expect(standby.isLeader).toBe(false);
      expect((await client.get<FactSource>(sourcesPath(lns, 'leader'))).status).toBeUndefined();
      expect(standby.store.get(lns, 'customer-l')).toBeUndefined();

      // The other replica lets go: this one takes over and runs the source.
      await client.mergePatch(leasePath, { spec: { holderIdentity: null } });
      await eventually(() =>
        expect(standby.store.get(lns, 'customer-l')?.facts?.values).toEqual({ tier: 'gold' }),
      );
      expect(standby.isLeader).toBe(true);
      const s = await eventually(async () => {
        const o = await client.get<FactSource>(sourcesPath(lns, 'leader'));
        expect(ready(o)?.reason).toBe('Synced');
        return o;
      });
      expect(s.status?.identities).toBe(1);
    } finally {
      await standby.stop();
    }
  });
});
