// A real Kubernetes control plane (etcd + kube-apiserver, no controller-manager or scheduler) for
// integration tests, started from binaries that build.sh compiles once per machine. Modelled on
// controller-runtime's envtest.
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
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
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { kubeconfigYaml } from './kubeconfig.js';

/** JSON-serialisable: vitest's globalSetup hands it to tests through provide/inject. */
export interface ControlPlaneInfo {
  server: string; // https://127.0.0.1:<port>
  kubeconfigPath: string; // admin kubeconfig, current-context flagops-test
  adminToken: string; // member of system:masters
  caCertPath: string;
  binDir: string; // kube-apiserver, etcd, kubectl, helm
  etcdEndpoint: string; // http://127.0.0.1:<port>
  serviceAccountIssuer: string;
}

export interface ControlPlane extends ControlPlaneInfo {
  info(): ControlPlaneInfo;
  /** Stops only kube-apiserver (etcd keeps running), for outage tests. */
  stopApiServer(): Promise<void>;
  /** Starts kube-apiserver again on the same port with the same certificates and keys; waits for /readyz. */
  startApiServer(): Promise<void>;
  /** Compacts etcd at its current revision and returns that revision. */
  compactEtcd(): Promise<number>;
  /** Kills everything and removes the temporary directory. Idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  binDir?: string;
  log?: (line: string) => void;
  extraApiServerArgs?: string[];
}

const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const READY_TIMEOUT_MS = 60_000;

/** Builds (or finds) the binaries with build.sh and returns their directory. Build progress goes to stderr. */
export async function ensureBinaries(): Promise<string> {
  const script = fileURLToPath(new URL('./build.sh', import.meta.url));
  const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  const binDir = out.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !binDir) throw new Error(`${script} failed (exit code ${code})`);
  return binDir;
}

export async function startControlPlane(opts: StartOptions = {}): Promise<ControlPlane> {
  const binDir = opts.binDir ?? (await ensureBinaries());
  const log = opts.log ?? (() => {});
  for (const bin of ['etcd', 'kube-apiserver']) {
    if (!existsSync(join(binDir, bin))) throw new Error(`${bin} not found in ${binDir}; run build.sh`);
  }

  const dir = mkdtempSync(join(tmpdir(), 'flagops-cp-'));
  const procs = new Procs(dir);
  try {
    const [etcdPort, peerPort, apiPort] = await freePorts(3);
    const etcdEndpoint = `http://127.0.0.1:${etcdPort}`;
    const server = `https://127.0.0.1:${apiPort}`;
    const certDir = join(dir, 'certs');
    // kube-apiserver writes a self-signed serving certificate with its CA appended into --cert-dir (SANs
    // 127.0.0.1, 10.0.0.1, kubernetes.default.svc, but not localhost) and reuses it on restart, so
    // clients can trust that file.
    const caCertPath = join(certDir, 'apiserver.crt');

    // One RSA key both signs and verifies ServiceAccount tokens (TokenRequest, TokenReview).
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKeyPath = join(dir, 'sa.key');
    writeFileSync(saKeyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });

    const adminToken = randomBytes(32).toString('hex');
    const tokenFile = join(dir, 'tokens.csv');
    writeFileSync(tokenFile, `${adminToken},admin,admin,"system:masters"\n`, { mode: 0o600 });

    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigYaml({ server, caCertPath, token: adminToken }), { mode: 0o600 });

    const info: ControlPlaneInfo = {
      server,
      kubeconfigPath,
      adminToken,
      caCertPath,
      binDir,
      etcdEndpoint,
      serviceAccountIssuer: SERVICE_ACCOUNT_ISSUER,
    };

    const etcd = procs.launch('etcd', join(binDir, 'etcd'), [
      '--name=flagops-test',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdEndpoint}`,
      `--advertise-client-urls=${etcdEndpoint}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=flagops-test=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync', // throwaway data: durability does not matter, speed does
      '--log-level=warn',
    ]);
    await waitFor(etcd, `${etcdEndpoint}/health`, undefined);
    log(`etcd listening on ${etcdEndpoint}`);

    const apiServerArgs = [
      `--etcd-servers=${etcdEndpoint}`,
      `--cert-dir=${certDir}`,
      `--secure-port=${apiPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      // No controller-manager runs, so nothing would create the "default" ServiceAccount pods need.
      '--disable-admission-plugins=ServiceAccount',
      '--authorization-mode=RBAC',
      `--token-auth-file=${tokenFile}`,
      `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
      `--service-account-key-file=${saKeyPath}`,
      `--service-account-signing-key-file=${saKeyPath}`,
      ...(opts.extraApiServerArgs ?? []),
    ];
    let stopped: Promise<void> | undefined;
    const startApiServer = async () => {
      if (stopped) throw new Error('control plane is stopped');
      if (procs.running('kube-apiserver')) throw new Error('kube-apiserver is already running');
      const apiServer = procs.launch('kube-apiserver', join(binDir, 'kube-apiserver'), apiServerArgs);
      await waitFor(apiServer, `${server}/readyz`, adminToken, caCertPath);
      log(`kube-apiserver listening on ${server}`);
    };
    await startApiServer();

    return {
      ...info,
      info: () => ({ ...info }),
      stopApiServer: () => procs.kill('kube-apiserver'),
      startApiServer,
      compactEtcd: () => compactEtcd(etcdEndpoint),
      stop: () => {
        stopped ??= procs.stopAll();
        return stopped;
      },
    };
  } catch (err) {
    await procs.stopAll({ keepLogs: true }); // the error names a log file; keep it to read
    throw err;
  }
}

/** Compacts etcd at its current revision through its JSON gateway and returns the revision. */
export async function compactEtcd(etcdEndpoint: string): Promise<number> {
  // Any range answer carries the store's current revision in its header.
  const range = (await etcdPost(etcdEndpoint, '/v3/kv/range', {
    key: Buffer.from('/').toString('base64'),
  })) as {
    header?: { revision?: string };
  };
  const revision = Number(range.header?.revision);
  if (!(revision > 0)) throw new Error(`etcd returned no revision: ${JSON.stringify(range)}`);
  await etcdPost(etcdEndpoint, '/v3/kv/compaction', { revision: String(revision), physical: true });
  return revision;
}

async function etcdPost(endpoint: string, path: string, body: unknown): Promise<unknown> {
  const res = await request(`${endpoint}${path}`, { method: 'POST', body: JSON.stringify(body) });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`etcd ${path}: HTTP ${res.statusCode}: ${text}`);
  return JSON.parse(text);
}

/** Binds port 0 to let the kernel pick free ports; they are released right away for the children to bind. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => {
      const srv = createServer();
      return new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => resolve(srv));
      });
    }),
  );
  const ports = servers.map((s) => {
    const addr = s.address();
    if (addr === null || typeof addr === 'string') throw new Error('unexpected server address');
    return addr.port;
  });
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** Polls url until it answers 200, failing early if the process exits and with its log tail on timeout. */
export async function waitFor(
  proc: Proc,
  url: string,
  token: string | undefined,
  caCertPath?: string,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no answer yet';
  let agent: Agent | undefined;
  try {
    while (Date.now() < deadline) {
      if (proc.exit !== undefined) throw new Error(`${proc.name} exited (${proc.exit})\n${proc.tail()}`);
      // The serving certificate appears only once kube-apiserver has started, so read it late.
      if (caCertPath && !agent && existsSync(caCertPath)) {
        agent = new Agent({ connect: { ca: readFileSync(caCertPath) } });
      }
      if (!caCertPath || agent) {
        try {
          const res = await request(url, {
            headers: token ? { authorization: `Bearer ${token}` } : {},
            ...(agent ? { dispatcher: agent } : {}),
            headersTimeout: 5_000,
            bodyTimeout: 5_000,
          });
          const body = await res.body.text();
          if (res.statusCode === 200) return;
          last = `HTTP ${res.statusCode}: ${body.slice(-2000)}`;
        } catch (err) {
          last = String(err);
        }
      }
      await sleep(100);
    }
    throw new Error(`${proc.name} not ready at ${url} after ${READY_TIMEOUT_MS} ms: ${last}\n${proc.tail()}`);
  } finally {
    await agent?.close();
  }
}

export interface Proc {
  name: string;
  child: ChildProcess;
  logPath: string;
  exit?: string; // set once it has exited
  exited: Promise<void>;
  tail(): string;
}

/**
 * The child processes of one control plane. Each child gets its own process group (detached), a pid file
 * and a log file in the temp dir. A watchdog shell holds the read end of a pipe from this process; when
 * this process dies in any way, SIGKILL included, the kernel closes the pipe, the watchdog reads EOF,
 * SIGKILLs every process group named by a pid file (a SIGTERMed etcd would wait for kube-apiserver's
 * connections to drain) and removes the temp dir.
 */
export class Procs {
  private readonly procs = new Map<string, Proc>();
  private readonly watchdog: ChildProcess;
  private readonly onExit = () => this.killAllSync();
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.killAllSync();
    // Keep the default behaviour (terminate) unless someone else handles the signal.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };

  constructor(private readonly dir: string) {
    const script = `read _
for f in "$1"/*.pid; do [ -f "$f" ] && kill -KILL -"$(cat "$f")"; done 2>/dev/null
sleep 1
rm -rf "$1"`;
    this.watchdog = spawn('/bin/sh', ['-c', script, 'watchdog', dir], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true, // survives a Ctrl-C to our process group long enough to clean up
    });
    this.watchdog.unref();
    (this.watchdog.stdin as unknown as { unref(): void }).unref();
    process.on('exit', this.onExit);
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  launch(name: string, bin: string, args: string[]): Proc {
    const logPath = join(this.dir, `${name}.log`);
    const fd = openSync(logPath, 'a');
    const child = spawn(bin, args, { stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    const pidFile = join(this.dir, `${name}.pid`);
    if (child.pid) writeFileSync(pidFile, `${child.pid}\n`);
    const proc: Proc = {
      name,
      child,
      logPath,
      exited: new Promise((resolve) => {
        const done = (why: string) => {
          proc.exit ??= why;
          rmSync(pidFile, { force: true });
          resolve();
        };
        child.once('error', (err) => done(String(err)));
        child.once('exit', (code, signal) => done(signal ? `signal ${signal}` : `code ${code}`));
      }),
      tail: () => {
        const lines = existsSync(logPath) ? readFileSync(logPath, 'utf8').trimEnd().split('\n') : [];
        return `--- last lines of ${logPath} ---\n${lines.slice(-30).join('\n')}`;
      },
    };
    this.procs.set(name, proc);
    return proc;
  }

  running(name: string): boolean {
    const proc = this.procs.get(name);
    return proc !== undefined && proc.exit === undefined;
  }

  /** Signals the process group and waits for the exit; a SIGTERM is followed by SIGKILL after a grace period. */
  async kill(name: string, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const proc = this.procs.get(name);
    if (!proc) return;
    if (proc.exit === undefined && proc.child.pid) {
      signalGroup(proc.child.pid, signal);
      const timedOut = await Promise.race([
        proc.exited.then(() => false),
        sleep(10_000, true, { ref: false }),
      ]);
      if (timedOut) signalGroup(proc.child.pid, 'SIGKILL');
    }
    await proc.exited;
    this.procs.delete(name);
  }

  async stopAll({ keepLogs = false } = {}): Promise<void> {
    // Everything is thrown away, so there is no point in kube-apiserver's graceful shutdown (about 1 s).
    await Promise.all([...this.procs.keys()].map((name) => this.kill(name, 'SIGKILL')));
    process.off('exit', this.onExit);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    this.watchdog.kill('SIGKILL');
    for (const entry of keepLogs ? readdirSync(this.dir) : []) {
      if (!entry.endsWith('.log')) rmSync(join(this.dir, entry), { recursive: true, force: true });
    }
    if (!keepLogs) rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }

  private killAllSync(): void {
    for (const proc of this.procs.values()) {
      if (proc.exit === undefined && proc.child.pid) signalGroup(proc.child.pid, 'SIGKILL');
    }
    // The watchdog removes the temp dir once this process is gone and nothing writes into it any more.
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
