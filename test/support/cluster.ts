/** Helpers for integration tests against the real control plane started by the global setup. */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { type KubeAccess, loadKubeAccess } from '../../src/kube/access.js';
import { KubeClient } from '../../src/kube/client.js';
import { KubeApiError } from '../../src/kube/errors.js';
import { createLogger } from '../../src/logger.js';
import { type Operator, startOperator } from '../../src/operator.js';
import type { ControlPlaneInfo } from '../control-plane/control-plane.js';
import { kubectl } from '../control-plane/kubectl.js';

export function controlPlane(): ControlPlaneInfo {
  return inject('controlPlane');
}

export function adminKubeConfig(info = controlPlane()): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(info.kubeconfigPath);
  return kc;
}

export function adminClient(info = controlPlane()): KubeClient {
  return new KubeClient(adminKubeConfig(info));
}

export const suffix = () => randomBytes(3).toString('hex');

/** A client that acts as the holder of `token` (a ServiceAccount's, say), against the test control plane. */
export function clientWithToken(token: string, info = controlPlane()): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser(adminKubeConfig(info).getCurrentCluster()!, { name: 'token-user', token });
  return new KubeClient(kc);
}

/** Whether the object at `path` exists (404 is false; any other error fails the test). */
export function exists(path: string, client = adminClient()): Promise<boolean> {
  return client.get(path).then(
    () => true,
    (err: unknown) => {
      if (err instanceof KubeApiError && err.errorClass === 'notFound') return false;
      throw err;
    },
  );
}

/** Creates a namespace with a unique name. Namespaces are never deleted: no controller would finish it. */
export async function newNamespace(prefix = 'test', client = adminClient()): Promise<string> {
  const name = `${prefix}-${suffix()}`;
  await client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

/** Polls `check` until it stops throwing or the deadline passes; returns its value. */
export async function eventually<T>(
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

export interface TestOperator extends Operator {
  /** Every log line written so far, as raw JSON text. */
  logs: string[];
}

/** Starts the operator in-process, HTTP on a free loopback port, logging at trace level into memory. */
export async function startTestOperator(opts: {
  namespaces: string[];
  auth?: 'kubernetes' | 'none';
  defaultNamespace?: string;
  kc?: KubeConfig | KubeAccess;
  extraArgs?: string[];
  tlsReloadIntervalMs?: number;
  healthyAfterMs?: number;
}): Promise<TestOperator> {
  const parsed = parseConfig(
    [
      `--namespaces=${opts.namespaces.join(',')}`,
      '--listen=127.0.0.1:0',
      `--auth=${opts.auth ?? 'kubernetes'}`,
      '--log-level=trace',
      ...(opts.defaultNamespace ? [`--default-namespace=${opts.defaultNamespace}`] : []),
      ...(opts.extraArgs ?? []),
    ],
    {},
  );
  if (!('config' in parsed)) throw new Error(`bad test config: ${JSON.stringify(parsed)}`);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  const log = createLogger('trace', sink);
  const operator = await startOperator(
    parsed.config,
    log,
    // The operator's own kubeconfig reader, as in production; a given client-node KubeConfig is used as it is.
    opts.kc ?? (await loadKubeAccess(controlPlane().kubeconfigPath)),
    opts.tlsReloadIntervalMs,
    { healthyAfterMs: opts.healthyAfterMs },
  );
  return Object.assign(operator, { logs });
}

/** A ServiceAccount bound to a Role with `rules` in `namespace`, and a token for it. */
export async function serviceAccountWithRole(
  namespace: string,
  name: string,
  rules: { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[],
  client = adminClient(),
): Promise<string> {
  await client.create(`/api/v1/namespaces/${namespace}/serviceaccounts`, { metadata: { name } });
  if (rules.length > 0) {
    await client.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`, {
      metadata: { name },
      rules,
    });
    await client.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    });
  }
  return tokenFor(namespace, name);
}

export async function tokenFor(namespace: string, name: string, duration = '1h'): Promise<string> {
  const r = await kubectl(controlPlane(), [
    'create',
    'token',
    name,
    '-n',
    namespace,
    `--duration=${duration}`,
  ]);
  if (r.code !== 0) throw new Error(`kubectl create token failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** fetch against the operator with an optional bearer token and JSON body. */
export async function call(
  op: { url: string },
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string } = {},
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
): Promise<{ status: number; body: any; headers: Headers; text: string }> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let payload: string | undefined = opts.rawBody;
  if (opts.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    payload = JSON.stringify(opts.body);
  }
  const res = await fetch(op.url + path, { method, headers, body: payload });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, body, headers: res.headers, text };
}
