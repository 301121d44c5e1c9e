/**
 * The GitOps journey end to end, against a real Argo CD (application controller, repo-server, CMP server running
 * deploy/argocd/plugin.yaml, ApplicationSet controller) on the real control plane: a fact changes, the operator
 * asks for a hard refresh, the plugin re-renders with the new fact, Argo CD applies the Deployment.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { factsPath } from '../../src/kube/paths.js';
import { kubectl } from '../control-plane/kubectl.js';
import {
  adminClient,
  call,
  controlPlane,
  eventually,
  newNamespace,
  startTestOperator,
  type TestOperator,
} from '../support/cluster.js';
import { metric } from '../support/process.js';
import { type ArgoCd, PLUGIN_DIR, startArgoCd } from './argocd.js';
import {
  application,
  apply,
  generatorToken,
  gitRepository,
  type Manifest,
  pluginManifests,
  pluginServiceAccount,
  replicas,
  waitForReplicas,
} from './journey.js';

const argo = inject('argocd');
if (argo.error)
  console.warn(
    `[argocd] SKIPPING the Argo CD end-to-end test: the Argo CD binary could not be built: ${argo.error}`,
  );

describe.skipIf(!argo.binDir)('the GitOps journey with a real Argo CD', () => {
  let op: TestOperator;
  let argocd: ArgoCd;
  let ns: string;
  /** A second namespace where Argo CD has Applications (apps in any namespace) and the identities they render. */
  let teamNs: string;
  let repo: { url: string; dir: string };
  let pluginToken: string;
  let admin: string;
  let dir: string;
  const client = () => adminClient();
  const info = () => controlPlane();
  const app = (name: string) =>
    client().get<Manifest>(`/apis/argoproj.io/v1alpha1/namespaces/${argocd.namespace}/applications/${name}`);
  /** What Argo CD says about an Application, and the tails of its logs, for failure messages. */
  const describeApp = (name: string) => async () => {
    let status = 'no such Application';
    try {
      const a = await app(name);
      status = JSON.stringify({
        sync: a.status?.sync,
        conditions: a.status?.conditions,
        op: a.status?.operationState?.message,
      });
    } catch {}
    return `${name}: ${status}\n${argocd.tail('argocd-application-controller')}\n${argocd.tail('argocd-cmp-server')}`;
  };
  const putFact = async (id: string, fact: string, value: string | number) => {
    const r = await call(op, 'PUT', `/api/v1/namespaces/${ns}/identities/${id}/facts/${fact}`, {
      token: admin,
      body: { value },
    });
    expect(r.status, r.text).toBe(200);
  };

  beforeAll(async () => {
    const started = Date.now();
    admin = info().adminToken;
    dir = mkdtempSync(join(tmpdir(), 'flagops-argocd-e2e-'));
    ns = await newNamespace('customers');
    teamNs = await newNamespace('team-apps');
    op = await startTestOperator({
      namespaces: [ns, teamNs],
      auth: 'kubernetes',
      extraArgs: [
        '--argocd-namespace=argocd',
        '--argocd-application-mapping=name,annotation',
        `--argocd-application-namespaces=${teamNs}`,
      ],
    });
    // The plugin's ServiceAccount (the repo-server's) and deploy/argocd/rbac.yaml, before Argo CD starts.
    await apply(info(), [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'argocd' } }]);
    const plugin = await pluginServiceAccount(info(), { factsNamespace: ns, argocdNamespace: 'argocd', dir });
    pluginToken = plugin.token;
    // rbac.yaml again for the second namespace: the plugin reads the facts of the Applications there too.
    await pluginServiceAccount(info(), { factsNamespace: teamNs, argocdNamespace: 'argocd', dir });
    // deploy/argocd/flagops-wrap around a stand-in for the flagops plugin's render, whose flag evaluations are its
    // data-store provider's calls (test/argocd/prototype-plugin.mjs): a CMP server of its own, as a sidecar.
    const wrap = join(dir, 'flagops-wrap');
    const built = spawnSync('go', ['build', '-o', wrap, '.'], {
      cwd: join(PLUGIN_DIR, 'flagops-wrap'),
      encoding: 'utf8',
      env: { ...process.env, CGO_ENABLED: '0' },
    });
    if (built.status !== 0) throw new Error(`cannot build flagops-wrap: ${built.error ?? built.stderr}`);
    argocd = await startArgoCd({
      info: info(),
      binDir: argo.binDir!,
      pluginEnv: { FLAGOPS_URL: op.url, FLAGOPS_NAMESPACE: ns, FLAGOPS_TOKEN_FILE: plugin.tokenFile },
      applicationNamespaces: [teamNs],
      extraPlugins: [
        {
          name: 'flagops-prototype',
          command: [wrap, '--', process.execPath, join(import.meta.dirname, 'prototype-plugin.mjs')],
          env: {
            FLAGOPS_URL: op.url,
            FLAGOPS_TOKEN_FILE: plugin.tokenFile,
            FLAGOPS_PROTOTYPE_BASE: `${op.url}/api`,
          },
        },
      ],
    });
    repo = gitRepository();
    console.log(`[argocd e2e] operator, Argo CD and the git repository ready in ${Date.now() - started} ms`);
  });
  afterAll(async () => {
    await argocd?.stop();
    await op?.stop();
    for (const d of [dir, repo?.dir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it("deploy/argocd installs: kustomize builds the plugin ConfigMap, the sidecar patch fits Argo CD's repo-server", async () => {
    const built = await kubectl(info(), ['kustomize', PLUGIN_DIR]);
    expect(built.code, built.stderr).toBe(0);
    const objects = loadAll(built.stdout) as Manifest[];
    const cm = objects.find((o) => o.kind === 'ConfigMap');
    expect(cm?.metadata).toMatchObject({ name: 'flagops-plugin', namespace: 'argocd' });
    expect(Object.keys(cm?.data ?? {}).sort()).toEqual(['plugin.yaml', 'render.mjs']);
    expect(
      objects
        .filter((o) => o.kind !== 'ConfigMap')
        .map((o) => o.kind)
        .sort(),
    ).toEqual(['Role', 'RoleBinding']);
    // Argo CD's own repo-server Deployment from the module, patched as docs/argocd.md says (no kubelet runs it).
    const deployment = join(
      argo.binDir!,
      '..',
      'manifests/base/repo-server/argocd-repo-server-deployment.yaml',
    );
    expect((await kubectl(info(), ['apply', '--server-side', '-n', 'argocd', '-f', deployment])).code).toBe(
      0,
    );
    const patched = await kubectl(info(), [
      'patch',
      '-n',
      'argocd',
      'deployment/argocd-repo-server',
      '--patch-file',
      join(PLUGIN_DIR, 'repo-server-patch.yaml'),
    ]);
    expect(patched.code, patched.stderr).toBe(0);
    const d = await client().get<Manifest>('/apis/apps/v1/namespaces/argocd/deployments/argocd-repo-server');
    const names = d.spec.template.spec.containers.map((c: Manifest) => c.name);
    expect(names.sort()).toEqual(['argocd-repo-server', 'flagops-facts']);
    const sidecar = d.spec.template.spec.containers.find((c: Manifest) => c.name === 'flagops-facts');
    expect(sidecar.command).toEqual(['/var/run/argocd/argocd-cmp-server']);
    expect(sidecar.volumeMounts.map((m: Manifest) => m.name).sort()).toEqual(
      ['flagops-plugin', 'flagops-tmp', 'flagops-token', 'plugins', 'var-files'].sort(),
    );
    // The repo-server mounts no token; only the sidecar gets one.
    expect(d.spec.template.spec.automountServiceAccountToken).toBe(false);
  });

  it('syncs a Deployment whose replicas come from the fact max-replicas', async () => {
    await putFact('customer-42', 'max-replicas', 3);
    await putFact('customer-42', 'tier', 'gold');
    await apply(info(), [
      application({
        name: 'customer-42',
        argocdNamespace: argocd.namespace,
        repoURL: repo.url,
        path: 'app-with-facts',
        destinationNamespace: 'customer-42',
      }),
    ]);
    const ms = await waitForReplicas(client(), 'customer-42', 3, 180_000, describeApp('customer-42'));
    console.log(
      `[argocd e2e] Application created → Deployment applied with replicas 3: ${Math.round(ms)} ms`,
    );
    const d = await client().get<Manifest>('/apis/apps/v1/namespaces/customer-42/deployments/web');
    expect(d.metadata.annotations['flagops.io/tier']).toBe('gold');
    expect(d.spec.template.metadata.labels.identity).toBe('customer-42');
  });

  it('follows a fact PUT through the API with no other action (hard refresh → re-render → auto-sync)', async () => {
    await eventually(
      async () => expect((await app('customer-42')).status?.sync?.status).toBe('Synced'),
      60_000,
      200,
    );
    const requested = (await metric(op.url, 'flagops_argocd_refresh_total', 'result="requested"')) ?? 0;
    const started = performance.now();
    await putFact('customer-42', 'max-replicas', 5);
    await waitForReplicas(client(), 'customer-42', 5, 120_000, describeApp('customer-42'));
    console.log(
      `[argocd e2e] fact PUT → Deployment replicas 5: ${Math.round(performance.now() - started)} ms`,
    );
    // The operator asked for the refresh, and Argo CD consumed the request.
    expect(await metric(op.url, 'flagops_argocd_refresh_total', 'result="requested"')).toBeGreaterThan(
      requested,
    );
    await eventually(
      async () =>
        expect(
          (await app('customer-42')).metadata.annotations?.['argocd.argoproj.io/refresh'],
        ).toBeUndefined(),
      30_000,
      200,
    );
  });

  it("an Application in a second namespace: Argo CD's <namespace>_<name> renders that namespace's identity, and a fact change re-renders it", async () => {
    const teamApp = () =>
      client().get<Manifest>(`/apis/argoproj.io/v1alpha1/namespaces/${teamNs}/applications/web`);
    const describeTeam = async () =>
      `${JSON.stringify((await teamApp().catch(() => undefined))?.status?.conditions)}\n${argocd.tail('argocd-cmp-server')}`;
    const put = async (fact: string, value: string | number) => {
      const r = await call(op, 'PUT', `/api/v1/namespaces/${teamNs}/identities/web/facts/${fact}`, {
        token: admin,
        body: { value },
      });
      expect(r.status, r.text).toBe(200);
    };
    await put('max-replicas', 2);
    await put('tier', 'team-gold');
    // An identity `web` in the default namespace too, which must not be what renders.
    await call(op, 'PUT', `/api/v1/namespaces/${ns}/identities/web/facts/max-replicas`, {
      token: admin,
      body: { value: 7 },
    });
    await apply(info(), [
      application({
        name: 'web',
        argocdNamespace: teamNs,
        repoURL: repo.url,
        path: 'app',
        destinationNamespace: 'team-web',
      }),
    ]);
    await waitForReplicas(client(), 'team-web', 2, 180_000, describeTeam);
    const d = await client().get<Manifest>('/apis/apps/v1/namespaces/team-web/deployments/web');
    expect(d.metadata.annotations['flagops.io/tier']).toBe('team-gold');
    // What Argo CD handed the plugin is the instance name, <namespace>_<name>, on what it applied.
    expect(d.metadata.annotations['argocd.argoproj.io/tracking-id']).toMatch(new RegExp(`^${teamNs}_web:`));
    expect(d.spec.template.metadata.labels.identity).toBe('web');
    // The same name on the prototype route, with the plugin's token: that namespace's facts.
    const proto = await call(op, 'GET', `/api/fact/${teamNs}_web`, { token: pluginToken });
    expect(proto.status, proto.text).toBe(200);
    expect(proto.body).toMatchObject({ 'max-replicas': '2', tier: 'team-gold' });
    await eventually(async () => expect((await teamApp()).status?.sync?.status).toBe('Synced'), 60_000, 200);
    // The name mapping finds the Application in the identity's own namespace: no annotation, no other action.
    const started = performance.now();
    await put('max-replicas', 4);
    await waitForReplicas(client(), 'team-web', 4, 120_000, describeTeam);
    console.log(
      `[argocd e2e] second namespace: fact PUT → Deployment replicas 4: ${Math.round(performance.now() - started)} ms`,
    );
  });

  it("the flagops plugin's provider under flagops-wrap, as Argo CD runs it: the repo-server token, <ns>_<name>, a re-render on change, and the cause of a failed render", async () => {
    const protoApp = (name: string) =>
      client().get<Manifest>(`/apis/argoproj.io/v1alpha1/namespaces/${teamNs}/applications/${name}`);
    const describeProto = (name: string) => async () =>
      `${JSON.stringify((await protoApp(name).catch(() => undefined))?.status?.conditions)}\n${argocd.tail('argocd-cmp-server-flagops-prototype')}`;
    const prototypeApp = (name: string, destination: string) => {
      const a = application({
        name,
        argocdNamespace: teamNs,
        repoURL: repo.url,
        path: 'app',
        destinationNamespace: destination,
      });
      a.spec.source.plugin = { name: 'flagops-prototype' };
      return a;
    };
    for (const [fact, value] of [
      ['max-replicas', 3],
      ['tier', 'proto-gold'],
    ] as const) {
      const r = await call(op, 'PUT', `/api/v1/namespaces/${teamNs}/identities/proto/facts/${fact}`, {
        token: admin,
        body: { value },
      });
      expect(r.status, r.text).toBe(200);
    }
    await apply(info(), [prototypeApp('proto', 'team-proto')]);
    await waitForReplicas(client(), 'team-proto', 3, 180_000, describeProto('proto'));
    const d = await client().get<Manifest>('/apis/apps/v1/namespaces/team-proto/deployments/web');
    expect(d.metadata.annotations['flagops.io/tier']).toBe('proto-gold');
    await eventually(
      async () => expect((await protoApp('proto')).status?.sync?.status).toBe('Synced'),
      60_000,
      200,
    );
    const r = await call(op, 'PUT', `/api/v1/namespaces/${teamNs}/identities/proto/facts/max-replicas`, {
      token: admin,
      body: { value: 6 },
    });
    expect(r.status, r.text).toBe(200);
    await waitForReplicas(client(), 'team-proto', 6, 120_000, describeProto('proto'));
    // An Application whose identity has no facts: Argo CD shows the store's reason, not the provider's generic one.
    await apply(info(), [prototypeApp('proto-nobody', 'team-proto-nobody')]);
    const message = await eventually(
      async () => {
        const c = ((await protoApp('proto-nobody')).status?.conditions ?? []).find(
          (x: Manifest) => x.type === 'ComparisonError',
        );
        expect(c?.message).toContain(`identity ${teamNs}/proto-nobody has no DeploymentFacts`);
        return c.message as string;
      },
      120_000,
      500,
    );
    console.log(
      `[argocd e2e] a failed render of the prototype provider, as Argo CD shows it: ${message.slice(0, 300)}`,
    );
    expect(message).not.toContain('proto-gold');
    await client().delete(`/apis/argoproj.io/v1alpha1/namespaces/${teamNs}/applications/proto-nobody`);
  });

  it('follows a fact changed by kubectl apply of the DeploymentFacts', async () => {
    const facts = (maxReplicas: number) =>
      JSON.stringify({
        apiVersion: 'flagops.io/v1alpha1',
        kind: 'DeploymentFacts',
        metadata: { name: 'customer-43', namespace: ns },
        spec: { facts: { tier: 'silver', 'max-replicas': maxReplicas } },
      });
    expect((await kubectl(info(), ['apply', '-f', '-'], { input: facts(2) })).code).toBe(0);
    await apply(info(), [
      application({
        name: 'customer-43',
        argocdNamespace: argocd.namespace,
        repoURL: repo.url,
        path: 'app',
        destinationNamespace: 'customer-43',
      }),
    ]);
    await waitForReplicas(client(), 'customer-43', 2, 180_000, describeApp('customer-43'));
    await eventually(
      async () => expect((await app('customer-43')).status?.sync?.status).toBe('Synced'),
      60_000,
      200,
    );
    const started = performance.now();
    const r = await kubectl(info(), ['apply', '-f', '-'], { input: facts(4) });
    expect(r.code, r.stderr).toBe(0);
    await waitForReplicas(client(), 'customer-43', 4, 120_000, describeApp('customer-43'));
    console.log(
      `[argocd e2e] kubectl apply → Deployment replicas 4: ${Math.round(performance.now() - started)} ms`,
    );
  });

  it('keeps a GitOps-owned fact through API writes, and Argo CD shows the Application Synced', async () => {
    const read = () =>
      client().get<{
        spec: { facts: Record<string, unknown> };
        metadata: { managedFields: { manager: string }[] };
      }>(`${factsPath(ns)}/customer-42`);
    const facts = await read();
    expect(facts.spec.facts).toEqual({ owner: 'team-payments', 'max-replicas': 5, tier: 'gold' });
    const managers = facts.metadata.managedFields.map((m) => m.manager);
    expect(managers).toEqual(expect.arrayContaining(['argocd-controller', 'flagops-data-store-api']));
    // The API may not take over the fact git sets…
    const refused = await call(op, 'PUT', `/api/v1/namespaces/${ns}/identities/customer-42/facts/owner`, {
      token: admin,
      body: { value: 'someone-else' },
    });
    expect(refused.status).toBe(409);
    // …and its own writes do not remove it, nor make Argo CD see drift (ignoreDifferences, ServerSideApply).
    await putFact('customer-42', 'max-replicas', 6);
    await waitForReplicas(client(), 'customer-42', 6, 120_000, describeApp('customer-42'));
    expect((await read()).spec.facts.owner).toBe('team-payments');
    await eventually(
      async () => {
        const a = await app('customer-42');
        expect(a.status?.sync?.status).toBe('Synced');
        expect(a.status?.operationState?.phase).toBe('Succeeded');
        const own = (a.status?.resources ?? []).find((r: Manifest) => r.kind === 'DeploymentFacts');
        expect(own).toMatchObject({ name: 'customer-42', namespace: ns, status: 'Synced' });
      },
      60_000,
      200,
    );
  });

  it('the ApplicationSet creates exactly the Applications of matching identities, and follows fact changes', async () => {
    for (const [id, tier, max] of [
      ['tenant-1', 'gold', 1],
      ['tenant-2', 'silver', 2],
      ['tenant-3', 'gold', 3],
    ] as const) {
      await putFact(id, 'tier', tier);
      await putFact(id, 'max-replicas', max);
    }
    // A number Argo CD would print as 1e+06 from `facts`; `factsText` renders it as written.
    await putFact('tenant-3', 'seats', 1_000_000);
    const token = await generatorToken(info(), ns);
    const objects = pluginManifests('applicationset.yaml').map((o) => {
      if (o.kind === 'Secret') o.stringData.token = token;
      if (o.kind === 'ConfigMap') o.data.baseUrl = op.url;
      if (o.kind === 'ApplicationSet') {
        const g = o.spec.generators[0];
        g.plugin.input.parameters = { namespace: ns, prefix: 'tenant-' };
        g.plugin.requeueAfterSeconds = 3; // short, so that the test sees selection changes quickly
        // Named unlike the identity: only the annotation mapping refreshes these Applications.
        o.spec.template.metadata.name = '{{ .identity }}-web';
        // Argo CD deletes a removed Application's resources in the foreground by default, which needs the garbage
        // collector of kube-controller-manager; this control plane runs none. Background deletion does not.
        o.spec.template.metadata.finalizers = ['resources-finalizer.argocd.argoproj.io/background'];
        o.spec.template.metadata.annotations['flagops.io/seats'] =
          '{{ index .factsText "seats" | default "" }}';
        o.spec.template.spec.source.repoURL = repo.url;
        o.spec.template.spec.source.path = 'app';
      }
      return o;
    });
    await apply(info(), objects);
    const owned = async () => {
      const list = await client().get<{ items: Manifest[] }>(
        `/apis/argoproj.io/v1alpha1/namespaces/${argocd.namespace}/applications`,
      );
      return list.items
        .filter((a) => (a.metadata.ownerReferences ?? []).some((r: Manifest) => r.kind === 'ApplicationSet'))
        .map((a) => a.metadata.name)
        .sort();
    };
    await eventually(
      async () => expect(await owned()).toEqual(['tenant-1-web', 'tenant-3-web']),
      120_000,
      250,
    );
    const a3 = await app('tenant-3-web');
    expect(a3.metadata.annotations['flagops.io/identity']).toBe(`${ns}/tenant-3`);
    expect(a3.metadata.annotations['flagops.io/seats']).toBe('1000000');
    // The plugin renders them with their identity's facts (plugin env FLAGOPS_IDENTITY / FLAGOPS_NAMESPACE)…
    await waitForReplicas(client(), 'tenant-3', 3, 180_000, describeApp('tenant-3-web'));
    await eventually(
      async () => expect((await app('tenant-3-web')).status?.sync?.status).toBe('Synced'),
      60_000,
      200,
    );
    // …and a fact change reaches them through the annotation mapping.
    const started = performance.now();
    await putFact('tenant-3', 'max-replicas', 7);
    await waitForReplicas(client(), 'tenant-3', 7, 120_000, describeApp('tenant-3-web'));
    console.log(
      `[argocd e2e] fact PUT → Deployment replicas 7 (annotated Application): ${Math.round(performance.now() - started)} ms`,
    );
    // An identity joining and one leaving the selection.
    await putFact('tenant-2', 'tier', 'gold');
    await putFact('tenant-1', 'tier', 'silver');
    await eventually(
      async () => expect(await owned()).toEqual(['tenant-2-web', 'tenant-3-web']),
      120_000,
      250,
    );
    // Removing the Application removed what it had applied.
    await eventually(async () => expect(await replicas(client(), 'tenant-1')).toBeUndefined(), 60_000, 250);
    expect(await replicas(client(), 'tenant-3')).toBe(7);
  });

  it("the plugin's ServiceAccount reads facts but gets 403 on secret values; a wrong generator token gets 401", async () => {
    const facts = await call(op, 'GET', `/api/v1/namespaces/${ns}/identities/customer-42/facts`, {
      token: pluginToken,
    });
    expect(facts.status).toBe(200);
    expect(facts.body).toMatchObject({ 'max-replicas': 6 });
    for (const path of [
      `/api/v1/namespaces/${ns}/identities/customer-42/secrets`,
      `/api/v1/namespaces/${ns}/identities/customer-42/secrets/database-url`,
    ]) {
      expect((await call(op, 'GET', path, { token: pluginToken })).status).toBe(403);
    }
    // Nor may it write facts.
    const write = await call(op, 'PUT', `/api/v1/namespaces/${ns}/identities/customer-42/facts/tier`, {
      token: pluginToken,
      body: { value: 'platinum' },
    });
    expect(write.status).toBe(403);

    // The generator with a wrong token: the operator answers 401, and the real ApplicationSet controller reports it.
    const wrong = await call(op, 'POST', '/api/v1/getparams.execute', {
      token: 'not-a-token',
      body: { applicationSetName: 'x', input: { parameters: { namespace: ns } } },
    });
    expect(wrong.status).toBe(401);
    const objects = pluginManifests('applicationset.yaml').map((o) => {
      o.metadata.name = `${o.metadata.name}-wrong`;
      if (o.kind === 'Secret') o.stringData.token = 'not-a-token';
      if (o.kind === 'ConfigMap') {
        o.data.baseUrl = op.url;
        o.data.token = '$flagops-generator-wrong:token';
      }
      if (o.kind === 'ApplicationSet') {
        o.spec.generators[0].plugin.configMapRef.name = 'flagops-generator-wrong';
        o.spec.generators[0].plugin.input.parameters = { namespace: ns, prefix: 'tenant-' };
        o.spec.template.spec.source.repoURL = repo.url;
      }
      return o;
    });
    await apply(info(), objects);
    await eventually(
      async () => {
        const set = await client().get<Manifest>(
          `/apis/argoproj.io/v1alpha1/namespaces/${argocd.namespace}/applicationsets/gold-customers-wrong`,
        );
        const errorCondition = (set.status?.conditions ?? []).find(
          (c: Manifest) => c.type === 'ErrorOccurred',
        );
        expect(errorCondition?.status).toBe('True');
        expect(errorCondition?.message).toMatch(/401/);
      },
      60_000,
      250,
    );
    expect(JSON.stringify(op.logs)).not.toContain(pluginToken);
  });
});
