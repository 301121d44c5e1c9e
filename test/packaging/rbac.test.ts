// The chart's RBAC is enough for the operator and no more: the operator runs in-process as the chart's
// own ServiceAccount (its token, not the admin's) and reconciles; the same token is refused what the
// operator does not need.
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Config, parseConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { type Operator, startOperator } from '../../src/operator.js';
import type { ControlPlaneInfo } from '../control-plane/control-plane.js';
import { kubectl } from '../control-plane/kubectl.js';
import { applyServerSide, ok, renderChart, uniqueName, waitForCrd } from './packaging.js';

const cp = inject('controlPlane');

interface Install {
  release: string;
  namespace: string;
  serviceAccount: string;
  lease: string;
  token: string;
}

/** Renders the chart with `setJson`, applies it (CRDs included) as admin, and returns a token of its ServiceAccount. */
async function install(namespace: string, extraNamespaces: string[], setJson: string[]): Promise<Install> {
  const release = uniqueName('r');
  const yaml = await renderChart(cp.binDir, { release, namespace, setJson, includeCrds: true });
  const namespaces = [namespace, ...extraNamespaces]
    .map((n) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${n}\n`)
    .join('---\n');
  await applyServerSide(cp, namespaces, 'packaging-test');
  await applyServerSide(cp, yaml, 'packaging-test');
  await waitForCrd(cp, 'deploymentfacts.flagops.io');
  await waitForCrd(cp, 'deploymentsecrets.flagops.io');
  const serviceAccount = `${release}-flagops-data-store`;
  const token = ok(
    await kubectl(cp, ['-n', namespace, 'create', 'token', serviceAccount, '--duration=1h']),
    'kubectl create token',
  ).trim();
  return { release, namespace, serviceAccount, lease: serviceAccount, token };
}

/** `kubectl auth can-i` as the ServiceAccount: true for yes, false for no. */
async function canI(info: ControlPlaneInfo, token: string, args: string[]): Promise<boolean> {
  const r = await kubectl(info, ['auth', 'can-i', ...args], { token });
  if (r.stdout.trim() === 'yes') return true;
  if (r.stdout.trim() === 'no') return false;
  throw new Error(`kubectl auth can-i ${args.join(' ')}: ${r.stderr}`);
}

/** Runs `kubectl auth can-i` for each check, a few at a time; returns the checks whose answer was not `want`. */
async function mismatches(token: string, checks: string[][], want: boolean): Promise<string[]> {
  const answers: boolean[] = [];
  for (let i = 0; i < checks.length; i += 8) {
    answers.push(...(await Promise.all(checks.slice(i, i + 8).map((args) => canI(cp, token, args)))));
  }
  return checks.filter((_, i) => answers[i] !== want).map((args) => args.join(' '));
}

/** A client that authenticates with the ServiceAccount's token only, as in the pod. */
function serviceAccountKubeConfig(token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: cp.server, caFile: cp.caCertPath, skipTLSVerify: false }],
    users: [{ name: 'operator', token }],
    contexts: [{ name: 'operator', cluster: 'test', user: 'operator' }],
    currentContext: 'operator',
  });
  return kc;
}

/** The operator's config as the chart sets it in namespaced mode, leader election included, but without auth. */
function operatorConfig(watched: string[], inst: Install): Config {
  const parsed = parseConfig(
    [
      '--listen=127.0.0.1:0',
      '--auth=none',
      `--namespaces=${watched.join(',')}`,
      `--default-namespace=${watched[0]}`,
      '--leader-elect=true',
      `--leader-election-id=${inst.lease}`,
      '--log-level=warn',
    ],
    { FLAGOPS_LEADER_ELECTION_NAMESPACE: inst.namespace },
  );
  if (!('config' in parsed)) throw new Error(`operator config: ${JSON.stringify(parsed)}`);
  return parsed.config;
}

interface Status {
  observedGeneration?: number;
  conditions?: { type: string; status: string; reason: string; observedGeneration?: number }[];
}

async function waitReady(kind: string, namespace: string, name: string): Promise<Status> {
  const deadline = Date.now() + 20_000;
  let last = '';
  for (;;) {
    const r = await kubectl(cp, ['-n', namespace, 'get', kind, name, '-o', 'json']);
    if (r.code === 0) {
      const o = JSON.parse(r.stdout) as { metadata: { generation: number }; status?: Status };
      const ready = o.status?.conditions?.find((c) => c.type === 'Ready');
      last = JSON.stringify(o.status);
      if (ready?.status === 'True' && o.status?.observedGeneration === o.metadata.generation)
        return o.status!;
    } else {
      last = r.stderr;
    }
    if (Date.now() > deadline) throw new Error(`${kind} ${namespace}/${name} not Ready: ${last}`);
    await sleep(100);
  }
}

describe('chart RBAC, watchNamespaces set', () => {
  const sys = uniqueName('pkg-rbac-sys');
  const watched = [uniqueName('pkg-rbac-a'), uniqueName('pkg-rbac-b')];
  const other = uniqueName('pkg-rbac-other');
  let inst: Install;
  let operator: Operator | undefined;

  beforeAll(async () => {
    inst = await install(
      sys,
      [...watched, other],
      [
        `watchNamespaces=${JSON.stringify(watched)}`,
        `webhooks=${JSON.stringify([{ name: 'billing', secretRef: { name: 'billing-webhook', key: 'hmac' }, namespaces: [watched[0]] }])}`,
      ],
    );
    operator = await startOperator(
      operatorConfig(watched, inst),
      createLogger('warn'),
      serviceAccountKubeConfig(inst.token),
    );
  });
  afterAll(async () => {
    await operator?.stop();
  });

  it('lets the operator reconcile DeploymentFacts and DeploymentSecrets as its ServiceAccount', async () => {
    const [a, b] = watched as [string, string];
    const facts = `apiVersion: flagops.io/v1alpha1
kind: DeploymentFacts
metadata: {name: customer-42, namespace: ${a}}
spec:
  facts: {tier: gold, max-replicas: 5, beta: "true"}
`;
    const secrets = `apiVersion: v1
kind: Secret
metadata: {name: customer-42-db, namespace: ${b}, labels: {flagops.io/expose: "true"}, annotations: {flagops.io/expose-to: customer-42}}
stringData: {url: postgres://fake:fake@db.invalid/x}
---
apiVersion: flagops.io/v1alpha1
kind: DeploymentSecrets
metadata: {name: customer-42, namespace: ${b}}
spec:
  secrets:
    - name: database-url
      secretKeyRef: {name: customer-42-db, key: url}
`;
    await applyServerSide(cp, facts, 'packaging-test');
    await applyServerSide(cp, secrets, 'packaging-test');
    expect(await waitReady('deploymentfacts', a, 'customer-42')).toMatchObject({ observedGeneration: 1 });
    expect(await waitReady('deploymentsecrets', b, 'customer-42')).toMatchObject({ observedGeneration: 1 });
    // Status is written by the leader only: the operator won its Lease in the release namespace.
    const lease = JSON.parse(
      ok(await kubectl(cp, ['-n', sys, 'get', 'lease', inst.lease, '-o', 'json']), 'get lease'),
    ) as {
      spec: { holderIdentity?: string };
    };
    expect(lease.spec.holderIdentity).toBeTruthy();
    expect(operator!.isLeader).toBe(true);
    expect(operator!.store.get(a, 'customer-42')?.facts?.values).toEqual({
      tier: 'gold',
      'max-replicas': 5,
      beta: 'true',
    });
  });

  it('grants what the operator needs in the watched namespaces, cluster-wide reviews and its Lease', async () => {
    const needed: string[][] = [];
    for (const ns of watched) {
      for (const verb of ['get', 'list', 'watch', 'create', 'patch', 'delete']) {
        needed.push([verb, 'secrets', '-n', ns], [verb, 'deploymentfacts.flagops.io', '-n', ns]);
      }
      needed.push(
        ['watch', 'factsources.flagops.io', '-n', ns],
        ['patch', 'factsources.flagops.io', '--subresource=status', '-n', ns],
        ['watch', 'factprofiles.flagops.io', '-n', ns],
        ['patch', 'factprofiles.flagops.io', '--subresource=status', '-n', ns],
        ['create', 'factrevisions.flagops.io', '-n', ns],
        ['delete', 'factrevisions.flagops.io', '-n', ns],
        ['list', 'factrevisions.flagops.io', '-n', ns],
        ['patch', 'deploymentsecrets.flagops.io', '--subresource=status', '-n', ns],
        ['create', 'events', '-n', ns],
        ['create', 'events.events.k8s.io', '-n', ns],
      );
    }
    needed.push(
      ['create', 'tokenreviews.authentication.k8s.io'],
      ['create', 'subjectaccessreviews.authorization.k8s.io'],
      // Cluster-scoped profiles are read in every mode.
      ['watch', 'clusterfactprofiles.flagops.io'],
      ['patch', 'clusterfactprofiles.flagops.io', '--subresource=status'],
      // Namespace labels for a ClusterFactProfile's namespaceSelector.
      ['watch', 'namespaces'],
      // A ClusterFactProfile's Events, in the release namespace.
      ['create', 'events', '-n', sys],
      ['create', 'leases.coordination.k8s.io', '-n', sys],
      ['update', `leases.coordination.k8s.io/${inst.lease}`, '-n', sys],
      // The webhook key Secret, by name, in the unwatched release namespace.
      ['get', 'secrets/billing-webhook', '-n', sys],
    );
    expect(await mismatches(inst.token, needed, true)).toEqual([]);
  });

  it('refuses what the operator does not need', async () => {
    const t = inst.token;
    const refused: string[][] = [
      ['get', 'secrets', '-n', other],
      ['list', 'secrets', '--all-namespaces'],
      ['list', 'secrets', '-n', sys],
      ['get', 'secrets/some-other-secret', '-n', sys],
      ['list', 'deploymentfacts.flagops.io', '--all-namespaces'],
      ['get', 'deploymentfacts.flagops.io', '-n', other],
      ['create', 'deployments.apps', '-n', watched[0]!],
      ['list', 'pods', '-n', watched[0]!],
      ['create', 'pods', '-n', sys],
      ['get', 'configmaps', '-n', sys],
      // ConfigMap projections are off by default.
      ['create', 'configmaps', '-n', watched[0]!],
      ['create', 'factsources.flagops.io', '-n', watched[0]!],
      ['create', 'factprofiles.flagops.io', '-n', watched[0]!],
      ['create', 'clusterfactprofiles.flagops.io'],
      ['patch', 'clusterfactprofiles.flagops.io'],
      ['delete', 'namespaces'],
      ['create', 'namespaces'],
      ['patch', 'namespaces'],
      ['update', 'leases.coordination.k8s.io/some-other-lease', '-n', sys],
      ['create', 'leases.coordination.k8s.io', '-n', watched[0]!],
      ['create', 'clusterrolebindings.rbac.authorization.k8s.io'],
      ['escalate', 'roles.rbac.authorization.k8s.io', '-n', watched[0]!],
      ['update', 'customresourcedefinitions.apiextensions.k8s.io'],
      ['create', 'serviceaccounts/token', '-n', sys],
      ['get', 'deploymentsecrets.flagops.io', '--subresource=values', '-n', watched[0]!],
    ];
    expect(await mismatches(t, refused, false)).toEqual([]);
    // And the API server agrees, not just the review.
    const r = await kubectl(cp, ['-n', other, 'get', 'secrets'], { token: t });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('forbidden');
  });
});

describe('chart RBAC, ConfigMap projections on', () => {
  it('grants ConfigMap writes in the watched namespaces only', async () => {
    const sys = uniqueName('pkg-rbac-proj');
    const watched = uniqueName('pkg-rbac-proj-a');
    const inst = await install(
      sys,
      [watched],
      [`watchNamespaces=${JSON.stringify([watched])}`, 'projections={"configMaps":true}'],
    );
    const needed = ['get', 'create', 'patch', 'delete'].map((verb) => [verb, 'configmaps', '-n', watched]);
    const refused = [
      ['list', 'configmaps', '-n', watched],
      ['update', 'configmaps', '-n', watched],
      ['create', 'configmaps', '-n', sys],
      ['get', 'configmaps', '-n', 'default'],
    ];
    expect(await mismatches(inst.token, needed, true)).toEqual([]);
    expect(await mismatches(inst.token, refused, false)).toEqual([]);
  });
});

describe('chart RBAC, all namespaces', () => {
  it('grants namespaced permissions cluster-wide but no more', async () => {
    const sys = uniqueName('pkg-rbac-all');
    const inst = await install(sys, [], []);
    const needed = [
      ['list', 'secrets', '--all-namespaces'],
      ['watch', 'deploymentfacts.flagops.io', '--all-namespaces'],
      ['watch', 'factsources.flagops.io', '--all-namespaces'],
      ['patch', 'deploymentfacts.flagops.io', '--subresource=status', '-n', 'default'],
      ['create', 'secrets', '-n', 'default'],
      ['create', 'events', '-n', 'kube-system'],
      ['create', 'tokenreviews.authentication.k8s.io'],
      ['create', 'subjectaccessreviews.authorization.k8s.io'],
      ['update', `leases.coordination.k8s.io/${inst.lease}`, '-n', sys],
    ];
    const refused = [
      ['update', 'secrets', '-n', 'default'],
      ['update', 'deploymentfacts.flagops.io', '-n', 'default'],
      ['create', 'deployments.apps', '-n', sys],
      ['list', 'pods', '--all-namespaces'],
      ['get', 'configmaps', '-n', sys],
      ['delete', 'namespaces'],
      ['create', 'leases.coordination.k8s.io', '-n', 'default'],
      ['get', 'leases.coordination.k8s.io', '-n', 'kube-system'],
      ['create', 'clusterroles.rbac.authorization.k8s.io'],
      ['get', 'nodes'],
    ];
    expect(await mismatches(inst.token, needed, true)).toEqual([]);
    expect(await mismatches(inst.token, refused, false)).toEqual([]);
  });
});

describe('aggregated user ClusterRoles', () => {
  it('give facts to readers and secret values to secrets-readers only', async () => {
    const ns = uniqueName('pkg-users');
    await install(ns, [], []); // creates the four ClusterRoles
    const roles = [
      'flagops-facts-reader',
      'flagops-facts-editor',
      'flagops-secrets-reader',
      'flagops-secrets-editor',
      'flagops-sources-editor',
      'flagops-profiles-editor',
    ];
    const bindings = roles
      .map(
        (role) => `apiVersion: v1
kind: ServiceAccount
metadata: {name: ${role}, namespace: ${ns}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ${role}, namespace: ${ns}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ${role}}
subjects: [{kind: ServiceAccount, name: ${role}, namespace: ${ns}}]
`,
      )
      .join('---\n');
    await applyServerSide(cp, bindings, 'packaging-test');
    const checks: [string, string[]][] = [
      ['get deploymentfacts', ['get', 'deploymentfacts.flagops.io']],
      ['list deploymentsecrets', ['list', 'deploymentsecrets.flagops.io']],
      ['patch deploymentfacts', ['patch', 'deploymentfacts.flagops.io']],
      ['get deploymentsecrets/values', ['get', 'deploymentsecrets.flagops.io', '--subresource=values']],
      ['update deploymentsecrets/values', ['update', 'deploymentsecrets.flagops.io', '--subresource=values']],
      ['patch deploymentsecrets', ['patch', 'deploymentsecrets.flagops.io']],
      ['delete deploymentsecrets', ['delete', 'deploymentsecrets.flagops.io']],
      ['list factsources', ['list', 'factsources.flagops.io']],
      ['create factsources', ['create', 'factsources.flagops.io']],
      ['list factprofiles', ['list', 'factprofiles.flagops.io']],
      ['create factprofiles', ['create', 'factprofiles.flagops.io']],
      ['list factrevisions', ['list', 'factrevisions.flagops.io']],
      ['watch factrevisions', ['watch', 'factrevisions.flagops.io']],
      // The operator's history: no user role may rewrite or remove it.
      ['delete factrevisions', ['delete', 'factrevisions.flagops.io']],
      ['update factrevisions', ['update', 'factrevisions.flagops.io']],
    ];
    const table: Record<string, string[]> = {};
    await Promise.all(
      roles.map(async (role) => {
        const token = ok(await kubectl(cp, ['-n', ns, 'create', 'token', role]), 'create token').trim();
        const answers = await Promise.all(checks.map(([, args]) => canI(cp, token, [...args, '-n', ns])));
        table[role] = checks.filter((_, i) => answers[i]).map(([label]) => label);
      }),
    );
    expect(table).toEqual({
      'flagops-facts-reader': [
        'get deploymentfacts',
        'list deploymentsecrets',
        'list factsources',
        'list factprofiles',
        'list factrevisions',
        'watch factrevisions',
      ],
      'flagops-facts-editor': ['get deploymentfacts', 'patch deploymentfacts'],
      'flagops-secrets-reader': ['get deploymentsecrets/values'],
      'flagops-secrets-editor': [
        'list deploymentsecrets',
        'get deploymentsecrets/values',
        'update deploymentsecrets/values',
        'patch deploymentsecrets',
        'delete deploymentsecrets',
      ],
      'flagops-sources-editor': ['list factsources', 'create factsources'],
      'flagops-profiles-editor': ['list factprofiles', 'create factprofiles'],
    });
    // A ClusterFactProfile sets facts in every namespace: no user role grants writing one, not even admin's.
    const admin = 'flagops-admin-check';
    await applyServerSide(
      cp,
      `apiVersion: v1
kind: ServiceAccount
metadata: {name: ${admin}, namespace: ${ns}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ${admin}, namespace: ${ns}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}
subjects: [{kind: ServiceAccount, name: ${admin}, namespace: ${ns}}]
`,
      'packaging-test',
    );
    for (const role of [...roles, admin]) {
      const token = ok(await kubectl(cp, ['-n', ns, 'create', 'token', role]), 'create token').trim();
      expect(await canI(cp, token, ['create', 'clusterfactprofiles.flagops.io']), role).toBe(false);
    }
    // Aggregation labels: readers into view/edit/admin, values into admin only.
    const labels = JSON.parse(
      ok(await kubectl(cp, ['get', 'clusterroles', ...roles, '-o', 'json']), 'get clusterroles'),
    ) as { items: { metadata: { name: string; labels: Record<string, string> } }[] };
    const aggregatesTo = Object.fromEntries(
      labels.items.map((r) => [
        r.metadata.name,
        Object.keys(r.metadata.labels)
          .filter((l) => l.startsWith('rbac.authorization.k8s.io/aggregate-to-'))
          .map((l) => l.replace('rbac.authorization.k8s.io/aggregate-to-', ''))
          .sort(),
      ]),
    );
    expect(aggregatesTo).toEqual({
      'flagops-facts-reader': ['admin', 'edit', 'view'],
      'flagops-facts-editor': ['admin', 'edit'],
      'flagops-secrets-reader': ['admin'],
      'flagops-secrets-editor': ['admin'],
      'flagops-sources-editor': ['admin'],
      'flagops-profiles-editor': ['admin'],
    });
  });
});
