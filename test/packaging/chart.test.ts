// The Helm chart and the kustomize manifests, against real helm and kubectl binaries and a real
// kube-apiserver: lint, render, server-side apply, and the flags the chart passes to the operator.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { parseConfig, usage } from '../../src/config.js';
import { loadWebhooksConfig } from '../../src/server/webhooks/config.js';
import { kubectl } from '../control-plane/kubectl.js';
import {
  applyServerSide,
  CHART,
  DEPLOY,
  DEPLOY_NAMESPACE,
  helm,
  type K8sObject,
  KUBE_VERSION,
  NAMESPACED_VALUES,
  objectIds,
  ok,
  parseObjects,
  REPO,
  renderChart,
  renderDeployFiles,
  SERVICE_MONITOR_CRD,
  uniqueName,
  waitForCrd,
} from './packaging.js';

const cp = inject('controlPlane');

/** --set-json arguments that point the non-default values file at namespaces of this run. */
function namespacedOverrides(watched: [string, string]): string[] {
  return [
    `watchNamespaces=${JSON.stringify(watched)}`,
    `defaultNamespace="${watched[0]}"`,
    `webhooks[0].namespaces=${JSON.stringify([watched[0]])}`,
    `webhooks[1].secretRef.namespace="${watched[1]}"`,
    `webhooks[1].namespaces=${JSON.stringify(watched)}`,
    `argocd.refreshNamespace="${watched[1]}"`,
  ];
}

async function createNamespaces(...names: string[]) {
  const yaml = names.map((n) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${n}\n`).join('---\n');
  await applyServerSide(cp, yaml, 'packaging-test');
}

function deploymentOf(objects: K8sObject[]) {
  const d = objects.find((o) => o.kind === 'Deployment') as
    | (K8sObject & { spec: { template: { spec: { containers: Container[] } } } })
    | undefined;
  if (!d) throw new Error('no Deployment rendered');
  return d;
}
interface Container {
  args: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  securityContext: Record<string, unknown>;
}

describe('helm chart', () => {
  it('passes helm lint --strict with default and with non-default values', async () => {
    ok(
      await helm(cp.binDir, ['lint', '--strict', CHART, '--kube-version', KUBE_VERSION]),
      'helm lint (defaults)',
    );
    ok(
      await helm(cp.binDir, [
        'lint',
        '--strict',
        CHART,
        '--kube-version',
        KUBE_VERSION,
        '--values',
        NAMESPACED_VALUES,
      ]),
      'helm lint (values-namespaced.yaml)',
    );
  });

  it('rejects values the schema does not know, and inconsistent ones', async () => {
    const cases: [string, RegExp][] = [
      ['replicas=2', /schema/],
      ['image.name="x"', /schema/],
      ['replicaCount="two"', /schema/],
      ['logLevel="verbose"', /schema/],
      ['maxBodyBytes=10', /schema/],
      ['webhooks=[{"name":"a","secretRef":{"name":"s","key":"k"}}]', /schema/],
      [
        'webhooks=[{"name":"a","secretRef":{"name":"s","key":"k"},"namespaces":["x"]}]',
        /not in watchNamespaces/,
      ],
      ['leaderElection.enabled=false', /needs leaderElection/],
      ['argocd.applicationMapping="names"', /schema/],
      [
        'argocd={"refreshNamespace":"argocd","applicationMapping":"name","applicationNamespaces":["team-a"]}',
        /needs argocd.refreshNamespace and an applicationMapping with annotation or tracking/,
      ],
    ];
    const results = await Promise.all(
      cases.map(async ([bad]) => {
        const args = [
          'template',
          'x',
          CHART,
          '--kube-version',
          KUBE_VERSION,
          '--set-json',
          'watchNamespaces=["y"]',
        ];
        return helm(cp.binDir, [...args, '--set-json', bad]);
      }),
    );
    cases.forEach(([bad, why], i) => {
      expect(results[i]!.code, `--set-json ${bad} was accepted`).not.toBe(0);
      expect(results[i]!.stderr, bad).toMatch(why);
    });
  });

  it('renders the Argo CD refresh: its mapping and application namespaces, and patch (list only for annotation)', async () => {
    const render = async (applicationMapping: string) =>
      parseObjects(
        await renderChart(cp.binDir, {
          release: 'r',
          namespace: uniqueName('pkg-argo'),
          setJson: [
            `argocd={"refreshNamespace":"argocd","applicationMapping":"${applicationMapping}","applicationNamespaces":["team-a"]}`,
          ],
        }),
      );
    const tracking = await render('name,tracking');
    const args = deploymentOf(tracking).spec.template.spec.containers[0]!.args;
    expect(args).toContain('--argocd-namespace=argocd');
    expect(args).toContain('--argocd-application-mapping=name,tracking');
    expect(args).toContain('--argocd-application-namespaces=team-a');
    const roles = (objects: typeof tracking) =>
      objects
        .filter((o) => o.kind === 'Role' && o.metadata.name.endsWith('-argocd-refresh'))
        .map((o) => [
          o.metadata.namespace,
          (o as unknown as { rules: { verbs: string[] }[] }).rules[0]!.verbs,
        ]);
    expect(roles(tracking).sort()).toEqual([
      ['argocd', ['get', 'patch']],
      ['team-a', ['get', 'patch']],
    ]);
    expect(roles(await render('annotation')).sort()).toEqual([
      ['argocd', ['list', 'patch']],
      ['team-a', ['list', 'patch']],
    ]);
  });

  it('leaves the facts admission policy out with admissionPolicy.enabled=false', async () => {
    const yaml = await renderChart(cp.binDir, {
      release: uniqueName('r'),
      namespace: uniqueName('pkg-nopolicy'),
      setJson: ['admissionPolicy={"enabled":false}'],
    });
    const kinds = parseObjects(yaml).map((o) => o.kind);
    expect(kinds).toContain('Deployment');
    expect(kinds).not.toContain('ValidatingAdmissionPolicy');
    expect(kinds).not.toContain('ValidatingAdmissionPolicyBinding');
  });

  it('renders the default install, which the API server accepts', async () => {
    const ns = uniqueName('pkg-chart');
    const release = uniqueName('r');
    const yaml = await renderChart(cp.binDir, { release, namespace: ns, includeCrds: true });
    const objects = parseObjects(yaml);
    const full = `${release}-flagops-data-store`;
    expect(objectIds(objects).sort()).toEqual(
      [
        'CustomResourceDefinition//deploymentfacts.flagops.io',
        'CustomResourceDefinition//deploymentsecrets.flagops.io',
        'CustomResourceDefinition//factsources.flagops.io',
        'CustomResourceDefinition//factprofiles.flagops.io',
        'CustomResourceDefinition//clusterfactprofiles.flagops.io',
        'CustomResourceDefinition//factrevisions.flagops.io',
        `ServiceAccount/${ns}/${full}`,
        `ClusterRole//${full}`,
        `ClusterRoleBinding//${full}`,
        `Role/${ns}/${full}-leader-election`,
        `RoleBinding/${ns}/${full}-leader-election`,
        `Role/${ns}/${full}-events`,
        `RoleBinding/${ns}/${full}-events`,
        `Secret/${ns}/${full}-stream-ticket`,
        'ClusterRole//flagops-facts-reader',
        'ClusterRole//flagops-facts-editor',
        'ClusterRole//flagops-secrets-reader',
        'ClusterRole//flagops-secrets-editor',
        'ClusterRole//flagops-sources-editor',
        'ClusterRole//flagops-profiles-editor',
        `Service/${ns}/${full}`,
        `Deployment/${ns}/${full}`,
        `PodDisruptionBudget/${ns}/${full}`,
        'ValidatingAdmissionPolicy//deploymentfacts.flagops.io',
        'ValidatingAdmissionPolicyBinding//deploymentfacts.flagops.io',
      ].sort(),
    );

    const d = deploymentOf(objects);
    expect(d.spec).toMatchObject({ replicas: 2 });
    const c = d.spec.template.spec.containers[0]!;
    expect(c.args).toContain('--leader-elect=true');
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.env).toContainEqual({
      name: 'FLAGOPS_LEADER_ELECTION_NAMESPACE',
      valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
    });
    // The replicas share one OFREP event-stream key: a Secret of a random 64-character key, mounted optionally.
    expect(c.args).toContain('--stream-ticket-key-file=/etc/flagops/stream-ticket/key');
    expect((d.spec.template.spec as { volumes?: unknown[] }).volumes).toContainEqual({
      name: 'stream-ticket',
      secret: { secretName: `${full}-stream-ticket`, optional: true },
    });
    const key = objects.find((o) => o.kind === 'Secret' && o.metadata.name === `${full}-stream-ticket`);
    const data = key?.data as { key?: string } | undefined;
    expect(Buffer.from(data?.key ?? '', 'base64').toString()).toMatch(/^[A-Za-z0-9]{64}$/);

    await createNamespaces(ns);
    await applyServerSide(cp, yaml, 'packaging-test');
    const got = ok(
      await kubectl(cp, [
        '-n',
        ns,
        'get',
        'deployment,service,serviceaccount,poddisruptionbudget,role,rolebinding',
        '-o',
        'name',
      ]),
      'kubectl get',
    );
    expect(got.trim().split('\n').sort()).toEqual(
      [
        `deployment.apps/${full}`,
        `service/${full}`,
        `serviceaccount/${full}`,
        `poddisruptionbudget.policy/${full}`,
        `role.rbac.authorization.k8s.io/${full}-leader-election`,
        `rolebinding.rbac.authorization.k8s.io/${full}-leader-election`,
        `role.rbac.authorization.k8s.io/${full}-events`,
        `rolebinding.rbac.authorization.k8s.io/${full}-events`,
      ].sort(),
    );
  });

  it('renders watched namespaces, webhooks, TLS, NetworkPolicy and ServiceMonitor, which the API server accepts', async () => {
    const sys = uniqueName('pkg-sys');
    const watched: [string, string] = [uniqueName('pkg-a'), uniqueName('pkg-b')];
    const release = uniqueName('r');
    const full = `${release}-flagops-data-store`;
    const yaml = await renderChart(cp.binDir, {
      release,
      namespace: sys,
      valuesFiles: [NAMESPACED_VALUES],
      setJson: namespacedOverrides(watched),
    });
    const objects = parseObjects(yaml);
    const ids = objectIds(objects);
    // Namespaced permissions live in Roles in the watched namespaces; the ClusterRole holds reviews only.
    for (const ns of watched) expect(ids).toContain(`Role/${ns}/${full}`);
    // Argo CD refresh: patch on Applications in that namespace only.
    const argo = objects.find(
      (o) => o.kind === 'Role' && o.metadata.name === `${full}-argocd-refresh`,
    ) as K8sObject & {
      rules: unknown[];
    };
    expect(argo.metadata.namespace).toBe(watched[1]);
    expect(argo.rules).toEqual([
      { apiGroups: ['argoproj.io'], resources: ['applications'], verbs: ['patch'] },
    ]);
    const clusterRole = objects.find(
      (o) => o.kind === 'ClusterRole' && o.metadata.name === full,
    ) as K8sObject & {
      rules: { resources: string[] }[];
    };
    expect(clusterRole.rules.flatMap((r) => r.resources).sort()).toEqual([
      'clusterfactprofiles',
      'clusterfactprofiles/status',
      'namespaces',
      'subjectaccessreviews',
      'tokenreviews',
    ]);
    // The billing key lives in the (unwatched) release namespace: readable by name only.
    const keys = objects.find(
      (o) => o.kind === 'Role' && o.metadata.name === `${full}-webhook-keys`,
    ) as K8sObject & {
      rules: unknown[];
    };
    expect(keys.metadata.namespace).toBe(sys);
    expect(keys.rules).toEqual([
      {
        apiGroups: [''],
        resources: ['secrets'],
        resourceNames: ['billing-webhook'],
        verbs: ['get'],
      },
    ]);
    const cm = objects.find((o) => o.kind === 'ConfigMap') as K8sObject & { data: Record<string, string> };
    expect(parseObjects(cm.data['webhooks.yaml']!)[0]).toEqual({
      webhooks: [
        {
          name: 'billing',
          secretRef: { namespace: sys, name: 'billing-webhook', key: 'hmac-key' },
          namespaces: [watched[0]],
        },
        {
          name: 'crm',
          secretRef: { namespace: watched[1], name: 'crm-webhook', key: 'key' },
          namespaces: watched,
        },
      ],
    });
    // The operator's own loader accepts the file.
    const webhooksDir = mkdtempSync(join(tmpdir(), 'flagops-webhooks-'));
    const webhooksFile = join(webhooksDir, 'webhooks.yaml');
    writeFileSync(webhooksFile, cm.data['webhooks.yaml']!);
    expect(loadWebhooksConfig(webhooksFile).map((w) => w.name)).toEqual(['billing', 'crm']);
    rmSync(webhooksDir, { recursive: true, force: true });
    for (const kind of ['NetworkPolicy', 'ServiceMonitor', 'ConfigMap'])
      expect(ids).toContain(`${kind}/${sys}/${full}${kind === 'ConfigMap' ? '-webhooks' : ''}`);
    const c = deploymentOf(objects).spec.template.spec.containers[0]!;
    expect(c.args).toEqual(
      expect.arrayContaining([
        `--namespaces=${watched.join(',')}`,
        `--default-namespace=${watched[0]}`,
        '--leader-election-id=flagops-leader',
        '--tls-cert-file=/etc/flagops/tls/tls.crt',
        '--webhooks-config=/etc/flagops/webhooks/webhooks.yaml',
        '--max-body-bytes=262144',
      ]),
    );

    await createNamespaces(sys, ...watched);
    await applyServerSide(cp, readFileSync(SERVICE_MONITOR_CRD, 'utf8'), 'packaging-test');
    await waitForCrd(cp, 'servicemonitors.monitoring.coreos.com');
    await applyServerSide(cp, yaml, 'packaging-test');
    ok(
      await kubectl(cp, [
        '-n',
        sys,
        'get',
        `servicemonitor/${full}`,
        `networkpolicy/${full}`,
        `configmap/${full}-webhooks`,
      ]),
      'kubectl get',
    );
  });

  it('installs as a Helm release', async () => {
    const ns = uniqueName('pkg-helm');
    const release = uniqueName('r');
    await createNamespaces(ns);
    // The aggregated user ClusterRoles and the facts admission policy have fixed names and already exist,
    // applied by the test setup or another test without Helm's ownership labels: leave them out here.
    const r = await helm(cp.binDir, [
      'install',
      release,
      CHART,
      '--namespace',
      ns,
      '--kubeconfig',
      cp.kubeconfigPath,
      '--set',
      'rbac.createUserRoles=false',
      '--set',
      'admissionPolicy.enabled=false',
    ]);
    ok(r, 'helm install');
    expect(r.stdout).toContain(
      `kubectl -n ${ns} port-forward service/${release}-flagops-data-store 8080:8080`,
    );
    expect(r.stdout).toContain('kubectl create token');
    const status = ok(
      await helm(cp.binDir, ['status', release, '-n', ns, '--kubeconfig', cp.kubeconfigPath, '-o', 'json']),
      'helm status',
    );
    expect(JSON.parse(status).info.status).toBe('deployed');
  });

  it('passes the operator only flags and environment variables it understands', async () => {
    const problems: Record<string, { error?: string; unknownFlags: string[]; unknownEnv: string[] }> = {};
    for (const [label, valuesFiles] of [
      ['defaults', []],
      ['values-namespaced.yaml', [NAMESPACED_VALUES]],
    ] as const) {
      const yaml = await renderChart(cp.binDir, {
        release: 'flags',
        namespace: 'flagops-system',
        valuesFiles: [...valuesFiles],
      });
      const c = deploymentOf(parseObjects(yaml)).spec.template.spec.containers[0]!;
      const env: Record<string, string> = {};
      for (const e of c.env ?? [])
        if (e.name.startsWith('FLAGOPS_')) env[e.name] = e.value ?? 'flagops-system';
      const parsed = parseConfig(c.args, env);
      problems[label] = {
        ...('error' in parsed ? { error: parsed.error } : {}),
        // Every unknown flag, not just the first.
        unknownFlags: c.args.filter((arg) => {
          const one = parseConfig([arg], env);
          return 'error' in one && one.error.startsWith('unknown flag');
        }),
        // parseConfig ignores environment variables of flags it does not have.
        unknownEnv: Object.keys(env).filter((name) => !usage().includes(`env ${name}\n`)),
      };
    }
    expect(problems).toEqual({
      defaults: { unknownFlags: [], unknownEnv: [] },
      'values-namespaced.yaml': { unknownFlags: [], unknownEnv: [] },
    });
  });
});

describe('kustomize manifests (deploy/)', () => {
  it('are the chart rendered with default values', async () => {
    const files = await renderDeployFiles(cp.binDir);
    const stale = [...files].filter(([file, content]) => {
      const path = join(DEPLOY, file);
      return !existsSync(path) || readFileSync(path, 'utf8') !== content;
    });
    expect(
      stale.map(([f]) => `deploy/${f}`),
      'run: node --import tsx test/packaging/render-deploy.ts',
    ).toEqual([]);
    const listed = readFileSync(join(DEPLOY, 'kustomization.yaml'), 'utf8');
    for (const file of files.keys()) expect(listed).toContain(`  - ${file}\n`);
  });

  it('build with kubectl kustomize and apply server-side', async () => {
    expect(
      existsSync(join(REPO, 'crds', 'kustomization.yaml')),
      'deploy/kustomization.yaml includes ../crds, which needs crds/kustomization.yaml',
    ).toBe(true);
    const yaml = ok(await kubectl(cp, ['kustomize', DEPLOY]), 'kubectl kustomize deploy');
    const ids = objectIds(parseObjects(yaml));
    expect(ids).toContain(`Namespace//${DEPLOY_NAMESPACE}`);
    expect(ids).toContain('CustomResourceDefinition//deploymentfacts.flagops.io');
    expect(ids).toContain('CustomResourceDefinition//deploymentsecrets.flagops.io');
    expect(ids).toContain(`Deployment/${DEPLOY_NAMESPACE}/flagops-data-store`);
    await applyServerSide(cp, yaml, 'packaging-test');
    ok(
      await kubectl(cp, [
        '-n',
        DEPLOY_NAMESPACE,
        'get',
        'deployment/flagops-data-store',
        'service/flagops-data-store',
      ]),
      'kubectl get',
    );
  });

  it('samples are valid against the CRDs (server-side dry run)', async () => {
    // The CRDs may not be established yet when this file runs alone.
    await applyServerSide(
      cp,
      readFileSync(join(CHART, 'crds', 'deploymentfacts.flagops.io.yaml'), 'utf8'),
      'packaging-test',
    );
    await applyServerSide(
      cp,
      readFileSync(join(CHART, 'crds', 'deploymentsecrets.flagops.io.yaml'), 'utf8'),
      'packaging-test',
    );
    await applyServerSide(
      cp,
      readFileSync(join(CHART, 'crds', 'factsources.flagops.io.yaml'), 'utf8'),
      'packaging-test',
    );
    await waitForCrd(cp, 'deploymentfacts.flagops.io');
    await waitForCrd(cp, 'deploymentsecrets.flagops.io');
    await waitForCrd(cp, 'factsources.flagops.io');
    const yaml = ok(
      await kubectl(cp, ['kustomize', join(DEPLOY, 'samples')]),
      'kubectl kustomize deploy/samples',
    );
    expect(objectIds(parseObjects(yaml)).sort()).toEqual(
      [
        'DeploymentFacts/default/customer-42',
        'DeploymentFacts/default/customer-7',
        'DeploymentSecrets/default/customer-42',
        'Secret/default/customer-42-credentials',
        'Secret/default/billing-db',
        'FactSource/default/billing',
      ].sort(),
    );
    const r = await kubectl(
      cp,
      ['apply', '--server-side', '--dry-run=server', '--field-manager=packaging-test', '-f', '-'],
      {
        input: yaml,
      },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('deploymentfacts.flagops.io/customer-42 serverside-applied (server dry run)');
  });
});
