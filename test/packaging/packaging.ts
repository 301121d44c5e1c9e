// Helpers of the packaging tests: run helm and kubectl from the control plane's bin dir, render the
// chart, and render deploy/ from it.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAll } from 'js-yaml';
import type { ControlPlaneInfo } from '../control-plane/control-plane.js';
import { type KubectlResult, kubectl } from '../control-plane/kubectl.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const CHART = join(REPO, 'helm', 'flagops-data-store');
export const DEPLOY = join(REPO, 'deploy');
export const NAMESPACED_VALUES = fileURLToPath(new URL('./values-namespaced.yaml', import.meta.url));
export const SERVICE_MONITOR_CRD = fileURLToPath(
  new URL('./fixtures/servicemonitor-crd.yaml', import.meta.url),
);
/** Oldest Kubernetes the chart supports (Chart.yaml kubeVersion). A helm built from source defaults to v1.20. */
export const KUBE_VERSION = '1.30.0';
/** deploy/ is the chart rendered with default values under this release name and namespace. */
export const DEPLOY_RELEASE = 'flagops-data-store';
export const DEPLOY_NAMESPACE = 'flagops-system';

/** Runs a program; never throws on a non-zero exit code. */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<KubectlResult> {
  const child = spawn(cmd, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    cwd: opts.cwd ?? REPO,
    env: opts.env ?? process.env,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  child.stdin.end(opts.input ?? '');
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

/** Throws with stderr when the command failed; returns stdout. */
export function ok(r: KubectlResult, what: string): string {
  if (r.code !== 0) throw new Error(`${what} failed (exit code ${r.code}):\n${r.stderr || r.stdout}`);
  return r.stdout;
}

/** A DNS label unique to this run: `<prefix>-<8 hex>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export function helm(binDir: string, args: readonly string[], opts: { input?: string } = {}) {
  // Keep helm's cache and config out of $HOME.
  const home = join(REPO, 'node_modules', '.cache', 'flagops-helm');
  return run(join(binDir, 'helm'), args, {
    ...opts,
    env: {
      ...process.env,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
    },
  });
}

export interface RenderOptions {
  release: string;
  namespace: string;
  valuesFiles?: string[];
  /** --set-json pairs: key=JSON. */
  setJson?: string[];
  includeCrds?: boolean;
}

export async function renderChart(binDir: string, o: RenderOptions): Promise<string> {
  const args = ['template', o.release, CHART, '--namespace', o.namespace, '--kube-version', KUBE_VERSION];
  for (const f of o.valuesFiles ?? []) args.push('--values', f);
  for (const s of o.setJson ?? []) args.push('--set-json', s);
  if (o.includeCrds) args.push('--include-crds');
  return ok(await helm(binDir, args), `helm ${args.join(' ')}`);
}

/** Splits multi-document YAML, dropping empty documents. */
export function splitDocs(yaml: string): string[] {
  return yaml
    .split(/^---\s*$/m)
    .map((d) => d.trim())
    .filter((d) => d.replace(/^#.*$/gm, '').trim() !== '');
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: unknown;
}

export function parseObjects(yaml: string): K8sObject[] {
  return (loadAll(yaml) as (K8sObject | null)[]).filter((o): o is K8sObject => o !== null);
}

/** `Kind/namespace/name` (namespace empty when cluster-scoped) of each object. */
export function objectIds(objects: readonly K8sObject[]): string[] {
  return objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
}

export async function applyServerSide(
  cp: ControlPlaneInfo,
  yaml: string,
  fieldManager: string,
): Promise<string> {
  const r = await kubectl(cp, ['apply', '--server-side', `--field-manager=${fieldManager}`, '-f', '-'], {
    input: yaml,
  });
  return ok(r, 'kubectl apply --server-side');
}

const GENERATED = (file: string) =>
  `# Generated from helm/flagops-data-store/templates/${file} (default values, release ${DEPLOY_RELEASE},\n` +
  `# namespace ${DEPLOY_NAMESPACE}) by \`node --import tsx test/packaging/render-deploy.ts\`. Do not edit by hand;\n` +
  '# test/packaging/chart.test.ts checks that it is up to date.\n';

/**
 * deploy/<template>.yaml for every chart template that renders something with default values: the chart's
 * output, less Helm's own label, labelled as managed by kustomize. The admission policy is left out: deploy/
 * includes it with the CRDs from ../crds.
 */
export async function renderDeployFiles(binDir: string): Promise<Map<string, string>> {
  const out = await renderChart(binDir, { release: DEPLOY_RELEASE, namespace: DEPLOY_NAMESPACE });
  const byFile = new Map<string, string[]>();
  for (const doc of splitDocs(out)) {
    const m = /^# Source: flagops-data-store\/templates\/(\S+)\n/.exec(doc);
    if (!m) throw new Error(`rendered document without a Source comment:\n${doc}`);
    // deploy/ takes the admission policy from ../crds (the same objects, generated by gen:crds).
    if (m[1] === 'admission-policy.yaml') continue;
    // A random key rendered into a file every user applies would be one key for all: deploy/ users create it
    // (docs/install.md), and the pods mount it optionally.
    if (m[1] === 'stream-ticket-key.yaml') continue;
    const body = doc
      .slice(m[0].length)
      .replace(/^\s*helm\.sh\/chart: .*\n/gm, '')
      .replace(/app\.kubernetes\.io\/managed-by: Helm/g, 'app.kubernetes.io/managed-by: kustomize');
    byFile.set(m[1]!, [...(byFile.get(m[1]!) ?? []), body]);
  }
  return new Map(
    [...byFile].map(([file, docs]) => [file, `${GENERATED(file)}---\n${docs.join('\n---\n')}\n`]),
  );
}

/** Waits until a CRD is Established, i.e. the API server serves its resource. */
export async function waitForCrd(cp: ControlPlaneInfo, name: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const r = await kubectl(cp, ['wait', '--for=condition=Established', `crd/${name}`, '--timeout=10s']);
    if (r.code === 0) return;
    if (Date.now() > deadline) throw new Error(`CRD ${name} not established: ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}
