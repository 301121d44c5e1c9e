// Runs the kubectl built by build.sh against a test control plane.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import type { ControlPlaneInfo } from './control-plane.js';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl as admin, or as the bearer of `token` when given. Never throws on a non-zero exit code. */
export function kubectl(
  info: Pick<ControlPlaneInfo, 'server' | 'kubeconfigPath' | 'caCertPath' | 'binDir'>,
  args: string[],
  opts: { input?: string; token?: string } = {},
): Promise<KubectlResult> {
  const auth = opts.token
    ? // An explicit server/token/CA with an empty kubeconfig, so that no admin credential leaks in.
      [
        `--kubeconfig=/dev/null`,
        `--server=${info.server}`,
        `--token=${opts.token}`,
        `--certificate-authority=${info.caCertPath}`,
      ]
    : [`--kubeconfig=${info.kubeconfigPath}`];
  const child = spawn(join(info.binDir, 'kubectl'), [...auth, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    // Keep the discovery cache next to the kubeconfig instead of in ~/.kube.
    env: { ...process.env, KUBECACHEDIR: join(dirname(info.kubeconfigPath), 'kube-cache') },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdin.end(opts.input ?? '');
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

/**
 * Installs the project's CRDs and the facts admission policy (crds/, as kustomize), and waits until the API server
 * serves the CRDs and enforces the policy. `policy: false` installs the CRDs alone, as on a cluster where the
 * policy is missing.
 */
export async function installCrds(info: ControlPlaneInfo, opts: { policy?: boolean } = {}): Promise<void> {
  const crds = [
    'deploymentfacts',
    'deploymentsecrets',
    'factsources',
    'factprofiles',
    'clusterfactprofiles',
    'factrevisions',
  ].map((plural) => `crd/${plural}.flagops.io`);
  const source =
    opts.policy === false ? crds.flatMap((crd) => ['-f', `crds/${crd.slice(4)}.yaml`]) : ['-k', 'crds/'];
  const applied = await kubectl(info, ['apply', '--server-side', ...source]);
  const established = await kubectl(info, ['wait', '--for=condition=Established', '--timeout=60s', ...crds]);
  if (applied.code !== 0 || established.code !== 0) {
    throw new Error(`installing the CRDs failed: ${applied.stderr}${established.stderr}`);
  }
  if (opts.policy !== false) await policyEnforced(info);
}

/** The API server loads a new policy asynchronously: probe with a server-side dry run until it refuses. */
async function policyEnforced(info: ControlPlaneInfo): Promise<void> {
  const probe = JSON.stringify({
    apiVersion: 'flagops.io/v1alpha1',
    kind: 'DeploymentFacts',
    metadata: { name: 'policy-probe', namespace: 'default' },
    spec: { facts: { probe: { nested: true } } },
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await kubectl(info, ['create', '--dry-run=server', '-f', '-'], { input: probe });
    if (r.code !== 0 && r.stderr.includes('spec.facts.probe')) return;
    if (Date.now() > deadline)
      throw new Error(`the facts admission policy is not enforced: ${r.stdout}${r.stderr}`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

/** The stdout of a command that must succeed; its stderr in the error otherwise. */
export async function must(p: Promise<KubectlResult>, what: string): Promise<string> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} failed: ${r.stderr.trim()}`);
  return r.stdout;
}
