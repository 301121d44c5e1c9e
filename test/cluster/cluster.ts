// A real one-node Kubernetes cluster for end-to-end tests: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, containerd + runc, kubelet, kube-proxy and CoreDNS, built by build.sh, all inside a network
// namespace this run creates. Nothing is routed out of it: the node's address sits on a veth pair whose two ends
// are both inside, and the default route points at an address nobody has. The test process reaches the API server
// through a Unix socket (forward.mjs) and a loopback port of its own; everything else goes through pods.
//
// What it made it removes (down.sh): its processes by pid file and cgroup, its mounts, cgroups and netns. A
// watchdog runs down.sh if this process dies without stopping the cluster; a start finds and removes clusters whose
// owner process is gone. The settings that make each component run on these machines are in ../shared/NOTES.md
// ("A real node"); the comments below say which error each one avoids.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../control-plane/control-plane.js';
import { kubeconfigYaml } from '../control-plane/kubeconfig.js';
import { run, runSync } from './exec.js';
import { COREDNS_IMAGE, PAUSE_IMAGE } from './images.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const REGISTRY = '/run/flagops-cluster';
const NODE_NAME = 'node-1';
const NODE_IP = '10.200.0.2';
const PEER_IP = '10.200.0.1'; // the veth's other end, also inside the netns
const NOWHERE_IP = '10.200.0.254'; // the default route's gateway: nobody answers
const POD_CIDR = '10.244.0.0/24';
const SERVICE_CIDR = '10.96.0.0/16';
const KUBERNETES_SERVICE_IP = '10.96.0.1';
export const DNS_SERVICE_IP = '10.96.0.10';
const API_PORT = 6443;
const HOST_PACKAGES: Record<string, string> = {
  ip: 'iproute2',
  nsenter: 'util-linux',
  mount: 'mount',
  iptables: 'iptables',
  'iptables-restore': 'iptables',
  conntrack: 'conntrack',
  openssl: 'openssl',
  tar: 'tar',
  ldd: 'libc-bin',
};

/** JSON-serialisable: a vitest globalSetup hands it to tests through provide/inject. */
export interface ClusterInfo {
  server: string; // https://127.0.0.1:<port>, forwarded into the netns
  kubeconfigPath: string; // admin (system:masters)
  adminToken: string;
  caCertPath: string;
  binDir: string;
  stateDir: string;
  netns: string;
  nodeName: string;
}

export interface Cluster extends ClusterInfo {
  info(): ClusterInfo;
  /** Imports an OCI archive into the node's containerd (namespace k8s.io), unpacked for the kubelet. */
  importImage(archive: string): Promise<void>;
  /** Runs a command inside the cluster's network namespace (e.g. to reach a Service IP directly). */
  nsExec(cmd: string, args: string[]): string;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  binDir: string;
  /** OCI archives of the pause and CoreDNS images (images.ts). */
  pauseArchive: string;
  corednsArchive: string;
  log?: (line: string) => void;
}

/** Fails with a clear message, before anything is made, when the machine cannot run a node. */
export function preflight(binDir: string, env: NodeJS.ProcessEnv = process.env): void {
  if (process.getuid?.() !== 0)
    throw new Error('the one-node cluster needs root (network namespaces, mounts, cgroups)');
  const missing = new Set<string>();
  for (const [cmd, pkg] of Object.entries(HOST_PACKAGES)) {
    if (spawnSync('/bin/sh', ['-c', `command -v ${cmd}`], { env }).status !== 0) missing.add(pkg);
  }
  if (missing.size > 0) {
    const list = [...missing].join(' ');
    throw new Error(`the one-node cluster needs the Debian packages: ${list} (apt-get install -y ${list})`);
  }
  for (const bin of ['kube-apiserver', 'etcd', 'kubelet', 'containerd', 'runc', 'coredns', 'kubectl']) {
    if (!existsSync(join(binDir, bin)))
      throw new Error(`${bin} not found in ${binDir}; run test/cluster/build.sh`);
  }
  if (!existsSync('/sys/fs/cgroup/pids'))
    throw new Error('the one-node cluster needs cgroup v1 controllers at /sys/fs/cgroup');
}

/** Imports an OCI archive into the cluster's containerd (namespace k8s.io, where the kubelet looks), unpacked. */
export function importImageInto(cluster: Pick<ClusterInfo, 'binDir' | 'stateDir'>, archive: string): void {
  const address = join(cluster.stateDir, 'containerd/containerd.sock');
  runSync(join(cluster.binDir, 'ctr'), [
    `--address=${address}`,
    '--namespace=k8s.io',
    'images',
    'import',
    '--snapshotter=overlayfs',
    archive,
  ]);
}

/** Removes clusters left by runs that died with their watchdog (down.sh); returns what it removed. */
export function removeStaleClusters(log: (line: string) => void): string[] {
  const removed: string[] = [];
  const dir = join(REGISTRY, 'clusters');
  for (const netns of existsSync(dir) ? readdirSync(dir) : []) {
    const [ownerText, stateDir] = readFileSync(join(dir, netns), 'utf8').trim().split('\n');
    const owner = Number(ownerText);
    if (alive(owner)) continue;
    log(`removing stale cluster ${netns} left by a run that is gone (pid ${owner}, state ${stateDir})`);
    spawnSync('bash', [join(HERE, 'down.sh'), stateDir as string], { stdio: 'inherit', timeout: 60_000 });
    if (existsSync(join(dir, netns))) {
      // down.sh found no state dir to read: remove the netns and registry entry by name.
      spawnSync('ip', ['netns', 'delete', netns]);
      spawnSync('rm', ['-f', join(dir, netns)]);
    }
    removed.push(netns);
  }
  return removed;
}

/** Runs a command without blocking the event loop; never throws on a non-zero exit. */

function alive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const log = opts.log ?? (() => {});
  const { binDir } = opts;
  preflight(binDir);
  removeStaleClusters(log);

  const id = randomBytes(3).toString('hex');
  const netns = `flagops-${id}`;
  const cgroup = `flagops-${id}`;
  const state = join('/tmp', `flagops-node-${id}`);
  for (const d of [
    'pids',
    'logs',
    'pki',
    'etc',
    'cni/net.d',
    'cni/bin',
    'containerd',
    'kubelet',
    'pod-logs',
  ]) {
    mkdirSync(join(state, d), { recursive: true });
  }
  writeFileSync(join(state, 'cluster.env'), `NETNS=${netns}\nCGROUP=${cgroup}\nREGISTRY=${REGISTRY}\n`);
  mkdirSync(join(REGISTRY, 'clusters'), { recursive: true });
  writeFileSync(join(REGISTRY, 'clusters', netns), `${process.pid}\n${state}\n`);
  const watchdog = startWatchdog(state);
  const procs: { name: string; child: ChildProcess; exit?: string }[] = [];
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      watchdog.kill('SIGKILL');
      spawnSync('bash', [join(HERE, 'down.sh'), state], { stdio: 'inherit', timeout: 120_000 });
    })();
    return stopped;
  };

  try {
    saveKernelTunables();
    setUpNetwork(netns);
    makeCgroups(cgroup);
    const { caCertPath } = writePki(state);
    const adminToken = randomBytes(24).toString('hex');
    const tokens = {
      admin: adminToken,
      kubelet: randomBytes(24).toString('hex'),
      proxy: randomBytes(24).toString('hex'),
      controllerManager: randomBytes(24).toString('hex'),
      scheduler: randomBytes(24).toString('hex'),
    };
    writeFileSync(
      join(state, 'pki/tokens.csv'),
      [
        `${tokens.admin},admin,admin,"system:masters"`,
        `${tokens.kubelet},system:node:${NODE_NAME},kubelet,"system:nodes"`,
        `${tokens.proxy},system:kube-proxy,kube-proxy`,
        `${tokens.controllerManager},system:kube-controller-manager,kube-controller-manager`,
        `${tokens.scheduler},system:kube-scheduler,kube-scheduler`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const inner = `https://127.0.0.1:${API_PORT}`;
    const kubeconfig = (name: string, token: string, server = inner) => {
      const path = join(state, 'etc', `${name}.kubeconfig`);
      writeFileSync(path, kubeconfigYaml({ server, caCertPath, token, name: 'flagops-node' }), {
        mode: 0o600,
      });
      return path;
    };

    const launch = (name: string, bin: string, args: string[], { hostNet = false } = {}) => {
      const fd = openSync(join(state, 'logs', `${name}.log`), 'a');
      // The wrapper puts itself into the cluster's cgroup before it becomes the component, so that everything the
      // component starts (containerd's shims and containers above all) can be found and stopped by cgroup.
      const enter = hostNet ? '' : `nsenter --net=/run/netns/${netns} --`;
      const script = `for d in /sys/fs/cgroup/*/${cgroup}/system; do echo $$ > "$d/cgroup.procs"; done; exec ${enter} "$@"`;
      const child = spawn('bash', ['-c', script, name, bin, ...args], {
        stdio: ['ignore', fd, fd],
        detached: true,
        env: { ...process.env, PATH: `${binDir}:${join(state, 'cni/bin')}:${process.env.PATH ?? ''}` },
      });
      closeSync(fd);
      if (child.pid) writeFileSync(join(state, 'pids', `${name}.pid`), `${child.pid}\n`);
      const proc: { name: string; child: ChildProcess; exit?: string } = { name, child };
      child.once('exit', (code, signal) => {
        proc.exit = signal ? `signal ${signal}` : `code ${code}`;
      });
      procs.push(proc);
      return proc;
    };
    const tail = (name: string) => {
      const path = join(state, 'logs', `${name}.log`);
      const lines = existsSync(path) ? readFileSync(path, 'utf8').trimEnd().split('\n') : [];
      return `--- last lines of ${path} ---\n${lines.slice(-25).join('\n')}`;
    };
    const until = async (
      what: string,
      check: () => boolean | Promise<boolean>,
      ms: number,
      logOf?: string,
    ) => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        for (const p of procs) {
          if (p.exit !== undefined)
            throw new Error(`${p.name} exited (${p.exit}) while waiting for ${what}\n${tail(p.name)}`);
        }
        if (await check()) return;
        await sleep(200);
      }
      throw new Error(`timed out after ${ms} ms waiting for ${what}${logOf ? `\n${tail(logOf)}` : ''}`);
    };
    const nsExec = (cmd: string, args: string[]) =>
      runSync('nsenter', [`--net=/run/netns/${netns}`, '--', cmd, ...args]);

    // etcd and the API server: only the netns's own loopback and node address exist, so fixed ports are free.
    launch('etcd', join(binDir, 'etcd'), [
      '--name=node-1',
      `--data-dir=${join(state, 'etcd')}`,
      '--listen-client-urls=http://127.0.0.1:2379',
      '--advertise-client-urls=http://127.0.0.1:2379',
      '--listen-peer-urls=http://127.0.0.1:2380',
      '--initial-advertise-peer-urls=http://127.0.0.1:2380',
      '--initial-cluster=node-1=http://127.0.0.1:2380',
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKey = join(state, 'pki/sa.key');
    writeFileSync(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    launch('kube-apiserver', join(binDir, 'kube-apiserver'), [
      '--etcd-servers=http://127.0.0.1:2379',
      '--bind-address=0.0.0.0',
      `--secure-port=${API_PORT}`,
      // The `kubernetes` Service's endpoint: pods reach the API server on the node's address.
      `--advertise-address=${NODE_IP}`,
      `--tls-cert-file=${join(state, 'pki/apiserver.crt')}`,
      `--tls-private-key-file=${join(state, 'pki/apiserver.key')}`,
      `--client-ca-file=${caCertPath}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--authorization-mode=Node,RBAC',
      `--token-auth-file=${join(state, 'pki/tokens.csv')}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${saKey}`,
      `--service-account-signing-key-file=${saKey}`,
      '--kubelet-preferred-address-types=InternalIP',
      '--enable-admission-plugins=NodeRestriction',
      '--profiling=false',
    ]);
    // The bridge into the netns: a loopback port here -> socket file -> the API server there.
    const socketPath = join(state, 'apiserver.sock');
    launch('api-forward-netns', process.execPath, [
      join(HERE, 'forward.mjs'),
      socketPath,
      `127.0.0.1:${API_PORT}`,
    ]);
    const [hostPort] = await freePorts(1);
    launch(
      'api-forward-host',
      process.execPath,
      [join(HERE, 'forward.mjs'), `127.0.0.1:${hostPort}`, socketPath],
      {
        hostNet: true,
      },
    );
    const server = `https://127.0.0.1:${hostPort}`;
    const kubeconfigPath = kubeconfig('admin-host', adminToken, server);
    const kubectl = (...args: string[]) =>
      run(join(binDir, 'kubectl'), [`--kubeconfig=${kubeconfigPath}`, ...args]);
    await until(
      'kube-apiserver /readyz',
      async () => (await kubectl('get', '--raw=/readyz')).code === 0,
      60_000,
      'kube-apiserver',
    );
    log(`kube-apiserver ready at ${server} (in netns ${netns} at ${NODE_IP}:${API_PORT})`);

    launch('kube-controller-manager', join(binDir, 'kube-controller-manager'), [
      `--kubeconfig=${kubeconfig('controller-manager', tokens.controllerManager)}`,
      '--bind-address=127.0.0.1',
      '--leader-elect=false',
      // Every namespace gets the kube-root-ca.crt ConfigMap that projected ServiceAccount volumes need.
      `--root-ca-file=${caCertPath}`,
      `--service-account-private-key-file=${saKey}`,
      '--use-service-account-credentials=true', // each controller with its own role, as kubeadm runs it
      '--controllers=*',
    ]);
    launch('kube-scheduler', join(binDir, 'kube-scheduler'), [
      `--kubeconfig=${kubeconfig('scheduler', tokens.scheduler)}`,
      '--bind-address=127.0.0.1',
      '--leader-elect=false',
    ]);

    // containerd: everything under the state dir; CNI from our own bin dir.
    for (const p of ['bridge', 'host-local', 'loopback', 'portmap']) {
      runSync('ln', ['-sf', join(binDir, p), join(state, 'cni/bin', p)]);
    }
    writeFileSync(join(state, 'cni/net.d/10-flagops.conflist'), cniConfig(state));
    const containerdSock = join(state, 'containerd/containerd.sock');
    writeFileSync(join(state, 'etc/containerd.toml'), containerdConfig(state, binDir));
    launch('containerd', join(binDir, 'containerd'), [`--config=${join(state, 'etc/containerd.toml')}`]);
    await until(
      'containerd',
      () =>
        existsSync(containerdSock) &&
        spawnSync(join(binDir, 'ctr'), [`--address=${containerdSock}`, 'version']).status === 0,
      30_000,
      'containerd',
    );
    const importImage = async (archive: string) => importImageInto({ binDir, stateDir: state }, archive);
    await importImage(opts.pauseArchive);
    await importImage(opts.corednsArchive);

    writeFileSync(join(state, 'etc/resolv.conf'), '');
    writeFileSync(join(state, 'etc/kubelet.yaml'), kubeletConfig(state, cgroup, containerdSock));
    launch('kubelet', join(binDir, 'kubelet'), [
      `--config=${join(state, 'etc/kubelet.yaml')}`,
      `--kubeconfig=${kubeconfig('kubelet', tokens.kubelet)}`,
      `--root-dir=${join(state, 'kubelet')}`,
      `--hostname-override=${NODE_NAME}`,
      `--node-ip=${NODE_IP}`,
      '--v=1',
    ]);
    writeFileSync(
      join(state, 'etc/kube-proxy.yaml'),
      kubeProxyConfig(kubeconfig('kube-proxy', tokens.proxy)),
    );
    launch('kube-proxy', join(binDir, 'kube-proxy'), [`--config=${join(state, 'etc/kube-proxy.yaml')}`]);

    await until(
      `node ${NODE_NAME} Ready`,
      async () =>
        (
          await kubectl(
            'get',
            'node',
            NODE_NAME,
            '-o',
            'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
          )
        ).stdout === 'True',
      90_000,
      'kubelet',
    );
    log(`node ${NODE_NAME} Ready`);

    const apply = await run(join(binDir, 'kubectl'), [`--kubeconfig=${kubeconfigPath}`, 'apply', '-f', '-'], {
      input: corednsManifests(),
    });
    if (apply.code !== 0) throw new Error(`installing CoreDNS: ${apply.stderr}`);
    const rollout = await kubectl(
      '-n',
      'kube-system',
      'rollout',
      'status',
      'deployment/coredns',
      '--timeout=90s',
    );
    if (rollout.code !== 0) {
      const pods = (await kubectl('-n', 'kube-system', 'describe', 'pods', '-l', 'k8s-app=kube-dns')).stdout;
      throw new Error(
        `CoreDNS did not become ready: ${rollout.stderr}\n${pods.slice(-3000)}\n${tail('kubelet')}`,
      );
    }
    log('CoreDNS ready');

    const info: ClusterInfo = {
      server,
      kubeconfigPath,
      adminToken,
      caCertPath,
      binDir,
      stateDir: state,
      netns,
      nodeName: NODE_NAME,
    };
    return { ...info, info: () => ({ ...info }), importImage, nsExec, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A detached shell holding a pipe from this process: on EOF (this process gone, SIGKILL included) it runs down.sh. */
function startWatchdog(state: string): ChildProcess {
  const child = spawn(
    '/bin/sh',
    ['-c', 'read _; exec bash "$1" "$2"', 'watchdog', join(HERE, 'down.sh'), state],
    {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    },
  );
  child.unref();
  (child.stdin as unknown as { unref(): void }).unref();
  return child;
}

const TUNABLES = ['vm.overcommit_memory', 'kernel.panic', 'kernel.panic_on_oops'];
function saveKernelTunables(): void {
  const path = join(REGISTRY, 'sysctl.orig');
  if (existsSync(path)) return; // another cluster saved the originals
  const lines = TUNABLES.map((k) => `${k} ${runSync('sysctl', ['-n', k]).trim()}`);
  writeFileSync(path, `${lines.join('\n')}\n`);
}

function setUpNetwork(netns: string): void {
  runSync('ip', ['netns', 'add', netns]);
  const ip = (...args: string[]) => runSync('ip', ['-n', netns, ...args]);
  ip('link', 'set', 'lo', 'up');
  ip('link', 'add', 'node0', 'type', 'veth', 'peer', 'name', 'node1');
  ip('addr', 'add', `${NODE_IP}/24`, 'dev', 'node0');
  ip('addr', 'add', `${PEER_IP}/24`, 'dev', 'node1');
  ip('link', 'set', 'node0', 'up');
  ip('link', 'set', 'node1', 'up');
  // kubelet and kube-proxy look for a default route to pick the node's address; this one leads nowhere.
  ip('route', 'add', 'default', 'via', NOWHERE_IP, 'dev', 'node0', 'onlink');
  const sysctl = (kv: string) =>
    runSync('nsenter', [`--net=/run/netns/${netns}`, '--', 'sysctl', '-q', '-w', kv]);
  sysctl('net.ipv4.ip_forward=1');
  sysctl('net.bridge.bridge-nf-call-iptables=1'); // Service traffic between pods on one bridge goes through iptables
}

function makeCgroups(cgroup: string): void {
  for (const controller of readdirSync('/sys/fs/cgroup')) {
    const root = join('/sys/fs/cgroup', controller);
    if (!existsSync(join(root, 'cgroup.procs'))) continue;
    for (const dir of [join(root, cgroup), join(root, cgroup, 'system')]) {
      mkdirSync(dir, { recursive: true });
      if (controller === 'cpuset') {
        // A new cpuset has no CPUs or memory nodes until they are copied from the parent.
        for (const f of ['cpuset.cpus', 'cpuset.mems']) {
          writeFileSync(join(dir, f), readFileSync(join(root, f), 'utf8'));
        }
      }
    }
  }
}

function writePki(state: string): { caCertPath: string } {
  const pki = join(state, 'pki');
  const ssl = (...args: string[]) => runSync('openssl', args, { cwd: pki });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '3',
    '-subj',
    '/CN=flagops-test-ca',
  );
  ssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'apiserver.key',
    '-out',
    'apiserver.csr',
    '-subj',
    '/CN=kube-apiserver',
  );
  const sans = [
    'IP:127.0.0.1',
    `IP:${NODE_IP}`,
    `IP:${KUBERNETES_SERVICE_IP}`,
    'DNS:localhost',
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local',
  ];
  writeFileSync(
    join(pki, 'apiserver.ext'),
    `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans.join(',')}\n`,
  );
  ssl(
    'x509',
    '-req',
    '-in',
    'apiserver.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'apiserver.crt',
    '-days',
    '3',
    '-extfile',
    'apiserver.ext',
  );
  chmodSync(join(pki, 'ca.key'), 0o600);
  return { caCertPath: join(pki, 'ca.crt') };
}

function cniConfig(state: string): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'flagops',
    plugins: [
      {
        type: 'bridge',
        bridge: 'cni0',
        isGateway: true,
        ipMasq: false,
        hairpinMode: true, // a pod reaching itself through its Service
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: POD_CIDR }]],
          routes: [{ dst: '0.0.0.0/0' }],
          dataDir: join(state, 'cni/ipam'),
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  });
}

function containerdConfig(state: string, binDir: string): string {
  const q = JSON.stringify;
  const c = join(state, 'containerd');
  return `version = 3
imports = []
root = ${q(join(c, 'root'))}
state = ${q(join(c, 'state'))}
[grpc]
  address = ${q(join(c, 'containerd.sock'))}
[ttrpc]
  address = ${q(join(c, 'containerd.sock.ttrpc'))}
[plugins]
  [plugins.'io.containerd.internal.v1.opt']
    path = ${q(join(c, 'opt'))}
  [plugins.'io.containerd.nri.v1.nri']
    disable = true
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = ${q(PAUSE_IMAGE)}
  [plugins.'io.containerd.cri.v1.runtime']
    # The VM lacks CAP_SYS_RESOURCE: kubelet's -998 for sandboxes fails without this.
    restrict_oom_score_adj = true
    enable_cdi = false
    netns_mounts_under_state_dir = true
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = 'io.containerd.runc.v2'
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = ${q(join(binDir, 'runc'))}
          SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = [${q(join(state, 'cni/bin'))}]
      conf_dir = ${q(join(state, 'cni/net.d'))}
  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = '127.0.0.1'
`;
}

function kubeletConfig(state: string, cgroup: string, containerdSock: string): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://${containerdSock}
# The machine is cgroup v1 (hybrid): kubelet 1.35+ refuses it unless told otherwise.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /${cgroup}
failSwapOn: false
address: ${NODE_IP}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
# The API server reaches the kubelet (exec, logs) inside a netns nothing else can enter.
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
clusterDNS: [${DNS_SERVICE_IP}]
clusterDomain: cluster.local
resolvConf: ${join(state, 'etc/resolv.conf')}
podLogsDir: ${join(state, 'pod-logs')}
staticPodPath: ""
serializeImagePulls: false
# Images are imported, never pulled: never collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
`;
}

function kubeProxyConfig(kubeconfigPath: string): string {
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: ${JSON.stringify(kubeconfigPath)}}
mode: iptables
clusterCIDR: ${POD_CIDR}
hostnameOverride: ${NODE_NAME}
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
# Zeroes: leave the machine-wide conntrack sysctls alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
`;
}

function corednsManifests(): string {
  return `apiVersion: v1
kind: ServiceAccount
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
- {apiGroups: [""], resources: [endpoints, services, pods, namespaces], verbs: [list, watch]}
- {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects: [{kind: ServiceAccount, name: coredns, namespace: kube-system}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
    .:1053 {
        errors
        health :8080
        ready :8181
        kubernetes cluster.local in-addr.arpa ip6.arpa {
            pods insecure
            fallthrough in-addr.arpa ip6.arpa
        }
        cache 5
    }
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      serviceAccountName: coredns
      dnsPolicy: Default
      securityContext: {runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532}
      containers:
      - name: coredns
        image: ${COREDNS_IMAGE}
        imagePullPolicy: Never
        args: [-conf, /etc/coredns/Corefile]
        ports:
        - {name: dns, containerPort: 1053, protocol: UDP}
        - {name: dns-tcp, containerPort: 1053, protocol: TCP}
        readinessProbe: {httpGet: {path: /ready, port: 8181}, periodSeconds: 2}
        livenessProbe: {httpGet: {path: /health, port: 8080}}
        volumeMounts: [{name: config, mountPath: /etc/coredns}]
      volumes: [{name: config, configMap: {name: coredns}}]
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  clusterIP: ${DNS_SERVICE_IP}
  selector: {k8s-app: kube-dns}
  ports:
  - {name: dns, port: 53, targetPort: 1053, protocol: UDP}
  - {name: dns-tcp, port: 53, targetPort: 1053, protocol: TCP}
`;
}
