// A real Argo CD on loopback against a test control plane, as Argo CD's own Procfile runs it for local
// development: one binary (built by test/control-plane/build-argocd.sh), the component chosen by
// ARGOCD_BINARY_NAME, ARGOCD_FAKE_IN_CLUSTER=true, a kubeconfig, Redis on loopback. It runs the application
// controller, the repo-server, the CMP server (deploy/argocd/plugin.yaml, sharing the plugin socket directory
// with the repo-server) and the ApplicationSet controller, with Argo CD's CRDs and default ConfigMaps/Secret
// from the module's manifests/. No kubelet: applied objects are only objects in the API server.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  type ControlPlaneInfo,
  freePorts,
  type Proc,
  Procs,
  waitFor,
} from '../control-plane/control-plane.js';
import { writeAdminKubeconfig } from '../control-plane/kubeconfig.js';
import { kubectl, must } from '../control-plane/kubectl.js';

export const ARGOCD_VERSION = 'v3.2.12';
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PLUGIN_DIR = join(REPO_ROOT, 'deploy/argocd');

/** Builds (or finds) the Argo CD binary; its directory, or the reason it could not be built. */
export async function ensureArgoCd(): Promise<{ binDir: string } | { error: string }> {
  const script = join(REPO_ROOT, 'test/control-plane/build-argocd.sh');
  const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
    process.stderr.write(c);
  });
  const code = await new Promise<number | null>((resolve) => {
    child.once('error', () => resolve(null));
    child.once('close', resolve);
  });
  const binDir = out.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !binDir || !existsSync(join(binDir, 'argocd'))) {
    return { error: `${script} failed (exit code ${code}): ${err.trim().split('\n').slice(-5).join(' | ')}` };
  }
  return { binDir };
}

export interface ArgoCdOptions {
  info: ControlPlaneInfo;
  binDir: string;
  /** Environment of the CMP server, which its generate command inherits (FLAGOPS_URL, FLAGOPS_NAMESPACE, …). */
  pluginEnv: Record<string, string>;
  /** Argo CD's apps in any namespace: namespaces besides its own whose Applications it reconciles. */
  applicationNamespaces?: readonly string[];
  /** More Config Management Plugins, each in a CMP server of its own (a sidecar each, as in a cluster). */
  extraPlugins?: readonly { name: string; command: readonly string[]; env: Record<string, string> }[];
  namespace?: string;
  /**
   * argocd-cmd-params-cm `controller.self.heal.backoff.timeout.seconds` / `.factor`. Argo CD's defaults (2 s,
   * ×3 up to 300 s, reset after 330 s synced) delay every re-render of an unchanged git revision after the
   * first; docs/argocd.md recommends a constant 1 s.
   */
  selfHealBackoff?: { timeoutSeconds: number; factor: number };
  log?: (line: string) => void;
}

export interface ArgoCd {
  namespace: string;
  dir: string;
  /** The last lines of one component's log. */
  tail(component: string): string;
  stop(): Promise<void>;
}

const COMPONENTS = [
  'argocd-cmp-server',
  'argocd-repo-server',
  'argocd-application-controller',
  'argocd-applicationset-controller',
] as const;

/**
 * Starts Argo CD. Ports are picked free and released before the components bind them; on a busy machine another
 * process may take one first, so a start that fails on a taken port is tried again with new ports.
 */
export async function startArgoCd(opts: ArgoCdOptions): Promise<ArgoCd> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/i.test(String(err))) throw err;
      opts.log?.(`a port was taken; starting Argo CD again (attempt ${attempt + 1})`);
    }
  }
}

async function startOnce(opts: ArgoCdOptions): Promise<ArgoCd> {
  const redis = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
  if (!redis)
    throw new Error('redis-server not found: install it (apt-get install redis-server; .ci/run does)');
  const ns = opts.namespace ?? 'argocd';
  const manifests = join(opts.binDir, '..', 'manifests');
  const log = opts.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'flagops-argocd-'));
  const procs = new Procs(dir);
  const launched = new Map<string, Proc>();
  try {
    const [redisPort, repoPort, repoMetrics, ctrlMetrics, appsetMetrics, appsetProbe, appsetWebhook] =
      (await freePorts(7)) as [number, number, number, number, number, number, number];

    // Argo CD's CRDs and its ConfigMaps/Secret, from the module it was built from.
    await must(
      kubectl(opts.info, ['apply', '--server-side', '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }),
      }),
      'create namespace',
    );
    await must(kubectl(opts.info, ['apply', '--server-side', '-k', join(manifests, 'crds')]), 'apply CRDs');
    // `kubectl wait` fails outright while a new CRD has no status yet: retry it.
    for (let attempt = 0; ; attempt++) {
      const r = await kubectl(opts.info, [
        'wait',
        '--for=condition=Established',
        '--timeout=30s',
        'crd/applications.argoproj.io',
        'crd/applicationsets.argoproj.io',
        'crd/appprojects.argoproj.io',
      ]);
      if (r.code === 0) break;
      if (attempt >= 50) throw new Error(`Argo CD's CRDs are not established: ${r.stderr.trim()}`);
      await sleep(200);
    }
    await must(
      kubectl(opts.info, ['apply', '--server-side', '-n', ns, '-k', join(manifests, 'base/config')]),
      'apply config',
    );
    const backoff = opts.selfHealBackoff ?? { timeoutSeconds: 1, factor: 1 };
    await must(
      kubectl(opts.info, ['apply', '--server-side', '--force-conflicts', '-f', '-'], {
        input: JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'argocd-cmd-params-cm', namespace: ns },
          data: {
            'controller.self.heal.backoff.timeout.seconds': String(backoff.timeoutSeconds),
            'controller.self.heal.backoff.factor': String(backoff.factor),
          },
        }),
      }),
      'configure self-heal backoff',
    );
    // argocd-server creates the default AppProject and the server key; it does not run here.
    await must(
      kubectl(opts.info, ['apply', '--server-side', '--force-conflicts', '-f', '-'], {
        input: JSON.stringify({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'argocd-secret', namespace: ns },
          stringData: { 'server.secretkey': randomBytes(32).toString('base64') },
        }),
      }),
      'set server.secretkey',
    );
    await must(
      kubectl(opts.info, ['apply', '--server-side', '-f', '-'], {
        input: JSON.stringify({
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'AppProject',
          metadata: { name: 'default', namespace: ns },
          spec: {
            sourceRepos: ['*'],
            destinations: [{ server: '*', namespace: '*' }],
            clusterResourceWhitelist: [{ group: '*', kind: '*' }],
            ...(opts.applicationNamespaces?.length
              ? { sourceNamespaces: [...opts.applicationNamespaces] }
              : {}),
          },
        }),
      }),
      'create the default AppProject',
    );

    // Every component reads the kubeconfig (ARGOCD_FAKE_IN_CLUSTER) and takes its namespace from the context.
    const kubeconfig = join(dir, 'kubeconfig');
    writeAdminKubeconfig(kubeconfig, opts.info, ns);
    const sockDir = join(dir, 'plugins');
    const pluginConfig = join(dir, 'cmp-config');
    for (const d of ['plugins', 'cmp-config', 'tls', 'ssh', 'gpg-source', 'gpg-keys', 'home', 'tmp'])
      mkdirSync(join(dir, d), { recursive: true });
    copyFileSync(join(PLUGIN_DIR, 'plugin.yaml'), join(pluginConfig, 'plugin.yaml'));
    // The CMP server only reads plugin.yaml; render.mjs is where the sidecar's ConfigMap mount would put it.
    copyFileSync(join(PLUGIN_DIR, 'render.mjs'), join(pluginConfig, 'render.mjs'));

    const baseEnv: Record<string, string> = {
      PATH: `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: join(dir, 'home'),
      TMPDIR: join(dir, 'tmp'),
      KUBECONFIG: kubeconfig,
      ARGOCD_FAKE_IN_CLUSTER: 'true',
      ARGOCD_TLS_DATA_PATH: join(dir, 'tls'),
      ARGOCD_SSH_DATA_PATH: join(dir, 'ssh'),
      ARGOCD_GPG_DATA_PATH: join(dir, 'gpg-source'),
      ARGOCD_GNUPGHOME: join(dir, 'gpg-keys'),
      ARGOCD_GPG_ENABLED: 'false',
      ARGOCD_PLUGINSOCKFILEPATH: sockDir,
      ARGOCD_APPLICATION_CONTROLLER_SELF_HEAL_BACKOFF_TIMEOUT_SECONDS: String(backoff.timeoutSeconds),
      ARGOCD_APPLICATION_CONTROLLER_SELF_HEAL_BACKOFF_FACTOR: String(backoff.factor),
    };
    const bin = join(opts.binDir, 'argocd');
    const launch = (name: string, args: string[], env: Record<string, string> = {}, label = name) => {
      const p = procs.launch(label, '/usr/bin/env', [
        '-i',
        ...Object.entries({ ...baseEnv, ...env, ARGOCD_BINARY_NAME: name }).map(([k, v]) => `${k}=${v}`),
        bin,
        ...args,
      ]);
      launched.set(label, p);
      return p;
    };

    const redisProc = procs.launch('redis', redis, [
      '--port',
      String(redisPort),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ]);
    launched.set('redis', redisProc);
    await waitForPort(redisProc, redisPort);

    const cmp = launch('argocd-cmp-server', ['--config-dir-path', pluginConfig, '--loglevel', 'info'], {
      FLAGOPS_RENDER_SCRIPT: join(pluginConfig, 'render.mjs'),
      ...opts.pluginEnv,
    });
    for (const plugin of opts.extraPlugins ?? []) {
      const config = join(dir, `cmp-config-${plugin.name}`);
      mkdirSync(config, { recursive: true });
      writeFileSync(
        join(config, 'plugin.yaml'),
        JSON.stringify({
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'ConfigManagementPlugin',
          metadata: { name: plugin.name },
          spec: { generate: { command: plugin.command } },
        }),
      );
      const p = launch(
        'argocd-cmp-server',
        ['--config-dir-path', config, '--loglevel', 'info'],
        plugin.env,
        `argocd-cmp-server-${plugin.name}`,
      );
      await waitForFile(p, join(sockDir, `${plugin.name}.sock`));
    }
    const repo = launch('argocd-repo-server', [
      '--address=127.0.0.1',
      `--port=${repoPort}`,
      '--metrics-address=127.0.0.1',
      `--metrics-port=${repoMetrics}`,
      `--redis=127.0.0.1:${redisPort}`,
      '--disable-tls',
      '--loglevel=info',
    ]);
    const ctrl = launch(
      'argocd-application-controller',
      [
        `--redis=127.0.0.1:${redisPort}`,
        `--repo-server=127.0.0.1:${repoPort}`,
        '--repo-server-plaintext',
        `--metrics-port=${ctrlMetrics}`,
        '--status-processors=4',
        '--operation-processors=4',
        '--loglevel=info',
        ...(opts.applicationNamespaces?.length
          ? [`--application-namespaces=${opts.applicationNamespaces.join(',')}`]
          : []),
      ],
      { HOSTNAME: 'argocd-application-controller-0' },
    );
    const appset = launch('argocd-applicationset-controller', [
      `--argocd-repo-server=127.0.0.1:${repoPort}`,
      '--repo-server-plaintext',
      `--metrics-addr=127.0.0.1:${appsetMetrics}`,
      `--probe-addr=127.0.0.1:${appsetProbe}`,
      `--webhook-addr=127.0.0.1:${appsetWebhook}`,
      '--enable-scm-providers=false',
      '--loglevel=info',
    ]);
    await waitForFile(cmp, join(sockDir, 'flagops-facts.sock'));
    await waitFor(repo, `http://127.0.0.1:${repoMetrics}/metrics`, undefined);
    await waitFor(ctrl, `http://127.0.0.1:${ctrlMetrics}/metrics`, undefined);
    await waitFor(appset, `http://127.0.0.1:${appsetMetrics}/metrics`, undefined);
    log(`argo cd ${ARGOCD_VERSION} running in ${dir} (redis :${redisPort}, repo-server :${repoPort})`);

    let stopped: Promise<void> | undefined;
    return {
      namespace: ns,
      dir,
      tail: (name) => launched.get(name)?.tail() ?? `no component ${name}`,
      stop: () => {
        stopped ??= procs.stopAll();
        return stopped;
      },
    };
  } catch (err) {
    const tails = [...launched.values()].map((p) => p.tail()).join('\n');
    await procs.stopAll({ keepLogs: true });
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${tails}`, { cause: err });
  }
}

export const ARGOCD_COMPONENTS = COMPONENTS;

async function waitForFile(proc: Proc, path: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (proc.exit !== undefined) throw new Error(`${proc.name} exited (${proc.exit})\n${proc.tail()}`);
    if (Date.now() > deadline) throw new Error(`${path} did not appear\n${proc.tail()}`);
    await sleep(100);
  }
}

async function waitForPort(proc: Proc, port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exit !== undefined) throw new Error(`${proc.name} exited (${proc.exit})\n${proc.tail()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`${proc.name} is not listening on ${port}\n${proc.tail()}`);
    await sleep(100);
  }
}
