// What the end-to-end tests do to the one-node cluster: kubectl and helm as admin, and the client pod
// (pod-client.mjs) run with `kubectl exec`, so that every call to the operator starts inside the cluster.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { kubectl as kubectlAs } from '../control-plane/kubectl.js';
import type { ClusterInfo } from './cluster.js';
import { REPO, type Result, run } from './exec.js';

export { REPO, type Result, run };

const CLIENT = readFileSync(new URL('./pod-client.mjs', import.meta.url), 'utf8');

export function kube(info: ClusterInfo) {
  const kubectl = (args: string[], opts: { input?: string; token?: string } = {}) =>
    kubectlAs(info, args, opts);
  /** kubectl that must succeed; returns stdout. */
  const k = async (...args: string[]) => {
    const r = await kubectl(args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  const apply = async (yaml: string) => {
    const r = await kubectl(['apply', '--server-side', '-f', '-'], { input: yaml });
    if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr}`);
  };
  const json = async <T = Record<string, unknown>>(...args: string[]) =>
    JSON.parse(await k(...args, '-o', 'json')) as T;
  const helm = (args: string[]): Promise<Result> =>
    run(join(info.binDir, 'helm'), args, {
      env: { KUBECONFIG: info.kubeconfigPath, HELM_CACHE_HOME: join(info.stateDir, 'helm') },
    });

  /** Runs pod-client.mjs in `pod` (namespace `ns`) and returns its last JSON line. */
  const client = async <T = ClientAnswer>(ns: string, pod: string, ...args: string[]): Promise<T> => {
    const r = await kubectl(['-n', ns, 'exec', pod, '--', 'node', '-e', CLIENT, '--', ...args]);
    const last = r.stdout.trim().split('\n').pop() ?? '';
    if (r.code !== 0 || !last.startsWith('{')) {
      throw new Error(
        `client ${args.join(' ')} exited ${r.code}: ${r.stderr.slice(-2000)} ${r.stdout.slice(-2000)}`,
      );
    }
    return JSON.parse(last) as T;
  };
  /** Starts a long client command (a load); `done` resolves with every JSON line it printed. */
  const clientInBackground = (ns: string, pod: string, ...args: string[]) => {
    const child = spawn(
      join(info.binDir, 'kubectl'),
      [
        `--kubeconfig=${info.kubeconfigPath}`,
        '-n',
        ns,
        'exec',
        pod,
        '--',
        'node',
        '-e',
        CLIENT,
        '--',
        ...args,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    return { child, done: collect(child) };
  };
  return { kubectl, k, apply, json, helm, client, clientInBackground };
}

export interface ClientAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function collect(
  child: ChildProcess,
): Promise<{ code: number; lines: Record<string, unknown>[]; stderr: string }> {
  let out = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolve) => {
    child.once('close', (code) =>
      resolve({
        code: code ?? 1,
        lines: out
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>),
        stderr,
      }),
    );
  });
}

/** Polls `check` until it returns a value other than undefined/false, or fails with `what` after `ms`. */
export async function eventually<T>(
  what: string,
  ms: number,
  check: () => Promise<T | undefined | false>,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await sleep(250);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** A pod running the product image idle, for `kubectl exec` of pod-client.mjs; its ServiceAccount's token is mounted. */
export function clientPodYaml(ns: string, name: string, serviceAccount: string, image: string): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}, labels: {app: flagops-e2e-client}}
spec:
  serviceAccountName: ${serviceAccount}
  terminationGracePeriodSeconds: 1
  securityContext: {runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: client
    image: ${image}
    imagePullPolicy: Never
    command: [/usr/local/bin/node, -e, "setInterval(() => {}, 1 << 30)"]
    securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
`;
}
