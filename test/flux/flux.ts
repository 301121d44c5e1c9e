// A real Flux on loopback against a test control plane: source-controller and kustomize-controller (built by
// test/control-plane/build-flux.sh from their Go modules) as local processes with a kubeconfig, their CRDs from
// the modules' config/crd/bases, a git repository served over smart HTTP (git-server.ts). No kubelet: the
// objects Flux applies are only objects in the API server.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** The Flux 2.7 line, as build-flux.sh builds it by default. */
export const FLUX_VERSIONS = { sourceController: 'v1.7.3', kustomizeController: 'v1.7.3' } as const;
const BUILD_SCRIPT = fileURLToPath(new URL('../control-plane/build-flux.sh', import.meta.url));

/** Builds (or finds) the controllers; their directory, or the reason they could not be built. */
export async function ensureFlux(): Promise<{ binDir: string } | { error: string }> {
  const child = spawn('bash', [BUILD_SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  if (code !== 0 || !binDir || !existsSync(join(binDir, 'kustomize-controller'))) {
    const last = err.trim().split('\n').slice(-5).join(' | ');
    return { error: `${BUILD_SCRIPT} failed (exit code ${code}): ${last}` };
  }
  return { binDir };
}

export interface Flux {
  namespace: string;
  /** The last lines of one controller's log. */
  tail(controller: 'source-controller' | 'kustomize-controller'): string;
  stop(): Promise<void>;
}

const CRDS = ['gitrepositories.source.toolkit.fluxcd.io', 'kustomizations.kustomize.toolkit.fluxcd.io'];

/**
 * Starts both controllers, with their defaults for everything this project relies on (kustomize-controller's
 * --watch-configs-label-selector above all), leader election off and no events receiver. A start that fails on
 * a port another process took first is tried again with new ports.
 */
export async function startFlux(opts: {
  info: ControlPlaneInfo;
  binDir: string;
  namespace?: string;
  log?: (line: string) => void;
}): Promise<Flux> {
  const ns = opts.namespace ?? 'flux-system';
  await must(
    kubectl(opts.info, ['apply', '--server-side', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }),
    }),
    'create namespace',
  );
  await must(
    kubectl(opts.info, ['apply', '--server-side', '-f', join(opts.binDir, '..', 'crds')]),
    'apply CRDs',
  );
  // `kubectl wait` fails outright while a new CRD has no status yet: retry it.
  for (let attempt = 0; ; attempt++) {
    const r = await kubectl(opts.info, [
      'wait',
      '--for=condition=Established',
      '--timeout=30s',
      ...CRDS.map((c) => `crd/${c}`),
    ]);
    if (r.code === 0) break;
    if (attempt >= 50) throw new Error(`Flux's CRDs are not established: ${r.stderr.trim()}`);
    await sleep(200);
  }
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts, ns);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/i.test(String(err))) throw err;
      opts.log?.(`a port was taken; starting Flux again (attempt ${attempt + 1})`);
    }
  }
}

async function startOnce(opts: { info: ControlPlaneInfo; binDir: string }, ns: string): Promise<Flux> {
  const dir = mkdtempSync(join(tmpdir(), 'flagops-flux-'));
  const procs = new Procs(dir);
  const launched = new Map<string, Proc>();
  try {
    const [storage, srcMetrics, srcHealth, ksMetrics, ksHealth] = (await freePorts(5)) as [
      number,
      number,
      number,
      number,
      number,
    ];
    const kubeconfig = join(dir, 'kubeconfig');
    writeAdminKubeconfig(kubeconfig, opts.info, ns);
    for (const d of ['storage', 'home', 'tmp']) mkdirSync(join(dir, d));
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: join(dir, 'home'),
      TMPDIR: join(dir, 'tmp'),
      KUBECONFIG: kubeconfig,
      RUNTIME_NAMESPACE: ns,
    };
    const launch = (name: string, args: string[]) => {
      const p = procs.launch(name, '/usr/bin/env', [
        '-i',
        ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
        join(opts.binDir, name),
        '--enable-leader-election=false',
        '--events-addr=',
        '--log-level=info',
        ...args,
      ]);
      launched.set(name, p);
      return p;
    };
    const source = launch('source-controller', [
      `--storage-path=${join(dir, 'storage')}`,
      `--storage-addr=127.0.0.1:${storage}`,
      // kustomize-controller downloads artifacts from the URL this address makes.
      `--storage-adv-addr=127.0.0.1:${storage}`,
      `--metrics-addr=127.0.0.1:${srcMetrics}`,
      `--health-addr=127.0.0.1:${srcHealth}`,
    ]);
    const kustomize = launch('kustomize-controller', [
      `--metrics-addr=127.0.0.1:${ksMetrics}`,
      `--health-addr=127.0.0.1:${ksHealth}`,
      '--concurrent=4',
      '--requeue-dependency=2s',
    ]);
    await waitFor(source, `http://127.0.0.1:${srcHealth}/readyz`, undefined);
    await waitFor(kustomize, `http://127.0.0.1:${ksHealth}/readyz`, undefined);
    let stopped: Promise<void> | undefined;
    return {
      namespace: ns,
      tail: (name) => launched.get(name)?.tail() ?? `no controller ${name}`,
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

/** A GitRepository of `url`; `interval` long, so that only a change of the referenced objects reconciles. */
export function gitRepository(name: string, namespace: string, url: string, branch: string) {
  return {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'GitRepository',
    metadata: { name, namespace },
    spec: { url, ref: { branch }, interval: '1h', timeout: '30s' },
  };
}

/**
 * A Kustomization applying `path` of the GitRepository into `namespace`, its variables from the ConfigMap
 * `configMap` (postBuild.substituteFrom). Its interval is an hour: within a test, only kustomize-controller's
 * watch of labelled ConfigMaps can reconcile it again.
 */
export function kustomization(opts: {
  name: string;
  namespace: string;
  source: string;
  path: string;
  configMap: string;
}) {
  return {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name: opts.name, namespace: opts.namespace },
    spec: {
      interval: '1h',
      retryInterval: '1h',
      path: opts.path,
      prune: false,
      wait: false,
      targetNamespace: opts.namespace,
      sourceRef: { kind: 'GitRepository', name: opts.source },
      postBuild: { substituteFrom: [{ kind: 'ConfigMap', name: opts.configMap }] },
    },
  };
}

/** A Deployment `name` whose replicas and an annotation come from the Flux variables `max_replicas` and `tier`. */
export const deploymentTemplate = (name: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  annotations:
    flagops.io/tier: "\${tier}"
spec:
  replicas: \${max_replicas}
  selector:
    matchLabels: { app: ${name} }
  template:
    metadata:
      labels: { app: ${name} }
    spec:
      containers:
        - name: web
          image: registry.invalid/web:1
`;

/** The repository: one directory per Deployment name, each a kustomization of that Deployment's template. */
export function repoFiles(names: readonly string[]): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of names) {
    files[`${name}/deployment.yaml`] = deploymentTemplate(name);
    files[`${name}/kustomization.yaml`] =
      'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [deployment.yaml]\n';
  }
  return files;
}

/** Server-side applies `objects` with kubectl (as a person or a pipeline would put Flux objects in place). */
export async function applyObjects(info: ControlPlaneInfo, objects: readonly unknown[]): Promise<void> {
  await must(
    kubectl(info, ['apply', '--server-side', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
    }),
    'apply Flux objects',
  );
}

/** Waits for a Flux object's Ready condition (`kind/name`), with the controllers' logs on failure. */
export async function waitForReady(info: ControlPlaneInfo, namespace: string, object: string, flux: Flux) {
  const r = await kubectl(info, ['wait', '-n', namespace, '--for=condition=Ready', '--timeout=60s', object]);
  if (r.code !== 0)
    throw new Error(
      `${object} is not Ready: ${r.stderr.trim()}\n${flux.tail('source-controller')}\n${flux.tail('kustomize-controller')}`,
    );
}
