// The pieces of the GitOps journey that both the end-to-end test and bench/argocd-journey.ts set up: the
// plugin's and the generator's ServiceAccounts, a file:// git repository of templates, and Applications and
// ApplicationSets built from deploy/argocd/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import type { KubeClient } from '../../src/kube/client.js';
import type { ControlPlaneInfo } from '../control-plane/control-plane.js';
import { kubectl } from '../control-plane/kubectl.js';
import { PLUGIN_DIR } from './argocd.js';

// biome-ignore lint/suspicious/noExplicitAny: manifests are read and edited as plain JSON
export type Manifest = Record<string, any>;

export function pluginManifests(file: string): Manifest[] {
  return (loadAll(readFileSync(join(PLUGIN_DIR, file), 'utf8')) as Manifest[]).filter(Boolean);
}

export async function apply(info: ControlPlaneInfo, objects: Manifest[]): Promise<void> {
  for (const o of objects) {
    const r = await kubectl(info, ['apply', '--server-side', '--force-conflicts', '-f', '-'], {
      input: JSON.stringify(o),
    });
    if (r.code !== 0) throw new Error(`applying ${o.kind} ${o.metadata?.name} failed: ${r.stderr}`);
  }
}

export async function createToken(info: ControlPlaneInfo, namespace: string, name: string): Promise<string> {
  const r = await kubectl(info, ['create', 'token', name, '-n', namespace, '--duration=2h']);
  if (r.code !== 0) throw new Error(`kubectl create token failed: ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * deploy/argocd/rbac.yaml for the facts namespace `ns`, the repo-server's ServiceAccount it binds (Argo CD's
 * install creates it; this harness does not) and a token file for it, as the sidecar's projected volume holds.
 */
export async function pluginServiceAccount(
  info: ControlPlaneInfo,
  opts: { factsNamespace: string; argocdNamespace: string; dir: string },
): Promise<{ token: string; tokenFile: string }> {
  await apply(info, [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'argocd-repo-server', namespace: opts.argocdNamespace },
    },
  ]);
  const rbac = pluginManifests('rbac.yaml').map((o) => {
    o.metadata.namespace = opts.factsNamespace;
    for (const s of o.subjects ?? []) s.namespace = opts.argocdNamespace;
    return o;
  });
  await apply(info, rbac);
  const token = await createToken(info, opts.argocdNamespace, 'argocd-repo-server');
  const tokenFile = join(opts.dir, 'plugin-token');
  writeFileSync(tokenFile, token, { mode: 0o600 });
  return { token, tokenFile };
}

/** A ServiceAccount allowed to `list deploymentfacts` in `ns`, for the ApplicationSet plugin generator. */
export async function generatorToken(info: ControlPlaneInfo, ns: string): Promise<string> {
  await apply(info, [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'flagops-generator', namespace: ns } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'flagops-generator', namespace: ns },
      rules: [{ apiGroups: ['flagops.io'], resources: ['deploymentfacts'], verbs: ['list'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'flagops-generator', namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'flagops-generator' },
      subjects: [{ kind: 'ServiceAccount', name: 'flagops-generator', namespace: ns }],
    },
  ]);
  return createToken(info, ns, 'flagops-generator');
}

export const DEPLOYMENT_TEMPLATE = `# rendered by the flagops-facts plugin
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    flagops.io/tier: {{ fact "tier" | quote }}
spec:
  replicas: {{ fact "max-replicas" }}
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web, identity: {{ identity }} }
    spec:
      containers:
        - name: web
          image: registry.example.invalid/web:1.0
`;

export const FACTS_TEMPLATE = `# facts in git, synced by Argo CD beside facts written through the API
apiVersion: flagops.io/v1alpha1
kind: DeploymentFacts
metadata:
  name: {{ identity }}
  namespace: {{ namespace }}
spec:
  facts:
    owner: team-payments
`;

/**
 * A file:// git repository (Argo CD's own e2e fixtures use those): `app/` holds the Deployment template,
 * `app-with-facts/` the same plus the identity's DeploymentFacts.
 */
export function gitRepository(): { url: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'flagops-git-'));
  for (const [path, text] of [
    ['app/deployment.yaml', DEPLOYMENT_TEMPLATE],
    ['app-with-facts/deployment.yaml', DEPLOYMENT_TEMPLATE],
    ['app-with-facts/facts.yaml', FACTS_TEMPLATE],
  ] as const) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=flagops', '-c', 'user.email=flagops@example.invalid', ...args], {
      cwd: dir,
      stdio: 'pipe',
    });
  git('init', '-q', '-b', 'main');
  git('add', '.');
  git('commit', '-q', '-m', 'templates');
  return { url: `file://${dir}`, dir };
}

/** deploy/argocd/application.yaml, pointed at this run's repository. */
export function application(opts: {
  name: string;
  argocdNamespace: string;
  repoURL: string;
  path: string;
  destinationNamespace: string;
}): Manifest {
  const [app] = pluginManifests('application.yaml') as [Manifest];
  app.metadata.name = opts.name;
  app.metadata.namespace = opts.argocdNamespace;
  app.spec.source.repoURL = opts.repoURL;
  app.spec.source.path = opts.path;
  app.spec.destination.namespace = opts.destinationNamespace;
  return app;
}

interface DeploymentObject {
  spec: { replicas: number };
  metadata: { annotations?: Record<string, string> };
}

/** spec.replicas of Deployment `web` in `namespace`, or undefined while it does not exist. */
export async function replicas(client: KubeClient, namespace: string): Promise<number | undefined> {
  try {
    const d = await client.get<DeploymentObject>(`/apis/apps/v1/namespaces/${namespace}/deployments/web`);
    return d.spec.replicas;
  } catch {
    return undefined;
  }
}

/** Polls until Deployment `web` in `namespace` has `want` replicas; returns the milliseconds it took. */
export async function waitForReplicas(
  client: KubeClient,
  namespace: string,
  want: number,
  timeoutMs = 120_000,
  describe: () => Promise<string> = async () => '',
): Promise<number> {
  const started = performance.now();
  for (;;) {
    const got = await replicas(client, namespace);
    if (got === want) return performance.now() - started;
    if (performance.now() - started > timeoutMs) {
      throw new Error(
        `Deployment ${namespace}/web has ${got} replicas, not ${want}, after ${timeoutMs} ms\n${await describe()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
