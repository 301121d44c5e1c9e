/**
 * A real PostgreSQL for integration tests: Debian's binaries (`apt-get install postgresql`), a cluster made by
 * initdb in a temporary directory, one postmaster on a free loopback port. As root (CI), the server runs as the
 * `postgres` user, because initdb and postgres refuse to run as root. Like test/control-plane/, the postmaster
 * gets its own process group and a watchdog shell kills that group and removes the directory when this process
 * dies in any way, so no server outlives its test file.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

export interface Postgres {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  /** A libpq connection URI with the password. */
  dsn: string;
  /** Runs SQL as the superuser on a fresh connection. */
  sql(text: string, params?: unknown[]): Promise<pg.QueryResult>;
  /** Fast shutdown (clients are disconnected); data are kept for start(). */
  stopServer(): Promise<void>;
  /** Starts the server again on the same port with the same data. */
  startServer(): Promise<void>;
  /** Stops the server and removes everything. Idempotent. */
  stop(): Promise<void>;
}

/** The newest Debian PostgreSQL bin directory, e.g. /usr/lib/postgresql/15/bin. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions[0])
    throw new Error(`no PostgreSQL under ${root}: apt-get install -y postgresql (.ci/run does)`);
  return join(root, versions[0], 'bin');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

export async function startPostgres(): Promise<Postgres> {
  const bin = postgresBinDir();
  const owner = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'flagops-pg-'));
  const data = join(dir, 'data');
  const user = 'flagops';
  const database = 'postgres';
  // Not a real secret, but treated like one: the tests check that it never appears in logs or status.
  const password = `pw-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}`;
  writeFileSync(join(dir, 'pwfile'), `${password}\n`, { mode: 0o600 });
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
    chownSync(join(dir, 'pwfile'), owner.uid, owner.gid);
  }
  const asOwner = owner ? { uid: owner.uid, gid: owner.gid } : {};
  const env = { ...process.env, LC_ALL: 'C', HOME: dir };

  // A watchdog: when this process goes, it kills the postmaster's group and removes the directory.
  const watchdog = spawn(
    '/bin/sh',
    [
      '-c',
      `read _
[ -f "$1/postmaster.pgid" ] && kill -KILL -"$(cat "$1/postmaster.pgid")" 2>/dev/null
sleep 1
rm -rf "$1"`,
      'pg-watchdog',
      dir,
    ],
    { stdio: ['pipe', 'ignore', 'ignore'], detached: true },
  );
  watchdog.unref();
  (watchdog.stdin as unknown as { unref(): void }).unref();

  execFileSync(
    join(bin, 'initdb'),
    [
      '-D',
      data,
      '-U',
      user,
      `--pwfile=${join(dir, 'pwfile')}`,
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '--no-sync',
      '-E',
      'UTF8',
    ],
    { ...asOwner, env, stdio: ['ignore', 'ignore', 'pipe'], cwd: dir },
  );
  const port = await freePort();
  const host = '127.0.0.1';
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const logPath = join(dir, 'postgres.log');

  const startServer = async () => {
    if (child && child.exitCode === null && child.signalCode === null) throw new Error('postgres is running');
    const fd = openSync(logPath, 'a');
    if (owner) chownSync(logPath, owner.uid, owner.gid);
    child = spawn(
      join(bin, 'postgres'),
      [
        '-D',
        data,
        '-h',
        host,
        '-p',
        String(port),
        '-k',
        dir,
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=50',
        '-c',
        'shared_buffers=16MB',
      ],
      { ...asOwner, env, stdio: ['ignore', fd, fd], detached: true, cwd: dir },
    );
    closeSync(fd);
    const c = child;
    if (c.pid) writeFileSync(join(dir, 'postmaster.pgid'), `${c.pid}\n`);
    exited = new Promise((resolve) => c.once('exit', () => resolve()));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (c.exitCode !== null || c.signalCode !== null)
        throw new Error(`postgres exited (${c.exitCode ?? c.signalCode})\n${tail(logPath)}`);
      try {
        const client = new pg.Client({ host, port, user, password, database, connectionTimeoutMillis: 2000 });
        await client.connect();
        await client.end();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`postgres not ready: ${String(err)}\n${tail(logPath)}`);
        await sleep(100);
      }
    }
  };

  const stopServer = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    // SIGINT is PostgreSQL's fast shutdown: it disconnects clients and exits cleanly.
    c.kill('SIGINT');
    const timedOut = await Promise.race([exited.then(() => false), sleep(15_000, true, { ref: false })]);
    if (timedOut && c.pid) {
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        // gone
      }
      await exited;
    }
    rmSync(join(dir, 'postmaster.pgid'), { force: true });
  };

  try {
    await startServer();
  } catch (err) {
    await stopServer();
    watchdog.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  let stopped: Promise<void> | undefined;
  const dsn = `postgresql://${user}:${encodeURIComponent(password)}@${host}:${port}/${database}`;
  return {
    host,
    port,
    database,
    user,
    password,
    dsn,
    async sql(text, params) {
      const client = new pg.Client({ host, port, user, password, database });
      await client.connect();
      try {
        return await client.query(text, params);
      } finally {
        await client.end();
      }
    },
    stopServer,
    startServer,
    stop() {
      stopped ??= (async () => {
        await stopServer();
        watchdog.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      })();
      return stopped;
    },
  };
}

function tail(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8').trimEnd().split('\n').slice(-20).join('\n') : '';
}
