/**
 * The flagops plugin's data-store provider against the operator, its calls replayed from its own code
 * (test/support/prototype-provider.mjs: graytonio/flagops-data-store-openfeature-provider-go@183c66f5,
 * pkg/provider.go), with Kubernetes authentication on:
 *
 * - as it is, it sends no token: a 401 it cannot take for facts; with the documented anonymous grant (facts
 *   only) it reads facts and never a secret;
 * - under deploy/argocd/flagops-wrap, built here from this repository, with the repo-server's ServiceAccount
 *   token: Argo CD's `<namespace>_<name>` identity reads that namespace, checked as `/api/v1/namespaces/<ns>`
 *   is (no other namespace by crafting a prefix, none the operator does not watch); a render of 8 evaluations
 *   costs one request; the store's reasons (unknown identity, forbidden, a git-owned fact) are on stderr and
 *   fail the render.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useApi } from '../support/api.js';
import { adminClient, eventually, newNamespace, serviceAccountWithRole } from '../support/cluster.js';
import { outputOf } from '../support/process.js';
import { evaluate, getMap, setIdentityFact } from '../support/prototype-provider.mjs';

const fx = useApi('plugin', { extraNamespaces: 2 }) as ReturnType<typeof useApi> & {
  extraNamespaces: string[];
};
const REPO = join(import.meta.dirname, '../..');
const REPLAY = join(REPO, 'test/support/prototype-provider.mjs');
const dir = mkdtempSync(join(tmpdir(), 'flagops-wrap-'));
const WRAP = join(dir, 'flagops-wrap');
const built = spawnSync('go', ['build', '-o', WRAP, '.'], {
  cwd: join(REPO, 'deploy/argocd/flagops-wrap'),
  encoding: 'utf8',
  env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
});
if (built.status !== 0) throw new Error(`cannot build flagops-wrap: ${built.error ?? built.stderr}`);

const FACTS = 'deploymentfacts';
const factsPath = (ns: string, name = '') =>
  `/apis/flagops.io/v1alpha1/namespaces/${ns}/${FACTS}${name ? `/${name}` : ''}`;
let team: string; // the Application's namespace: Argo CD hands the plugin ARGOCD_APP_NAME=<team>_web
let anon: string; // facts readable without a token (the documented anonymous grant)
let unwatched: string;
let repoServerToken: string;
let editorToken: string;

/** The provider's base URL, as the plugin's config holds it. */
const base = () => `${fx.op.url}/api`;

async function wrapped(
  ops: object[],
  opts: { token?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; results: Record<string, unknown>[]; stderr: string }> {
  const tokenFile = join(dir, `token-${Math.random().toString(36).slice(2)}`);
  writeFileSync(tokenFile, opts.token ?? repoServerToken);
  const child = spawn(WRAP, ['--', process.execPath, REPLAY, base(), JSON.stringify(ops)], {
    env: {
      PATH: process.env.PATH ?? '',
      FLAGOPS_URL: fx.op.url,
      FLAGOPS_TOKEN_FILE: tokenFile,
      FLAGOPS_WRAP_STATS: 'true',
      NO_PROXY: '127.0.0.1', // cleared by the wrapper: it must not let the store's host bypass it
      ...opts.env,
    },
  });
  const { code, stdout, stderr } = await outputOf(child);
  const results = stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code, results, stderr };
}

beforeAll(async () => {
  [team, anon] = fx.extraNamespaces as [string, string];
  unwatched = await newNamespace('plugin-unwatched');
  const c = adminClient();
  const read = [{ apiGroups: ['flagops.io'], resources: [FACTS], verbs: ['get'] }];
  repoServerToken = await serviceAccountWithRole(team, 'argocd-repo-server', read);
  editorToken = await serviceAccountWithRole(team, 'editor', [
    { apiGroups: ['flagops.io'], resources: [FACTS], verbs: ['get', 'patch'] },
  ]);
  // The repo-server's ServiceAccount may also read facts in a namespace the operator does not watch.
  await c.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${unwatched}/roles`, {
    metadata: { name: 'read' },
    rules: read,
  });
  await c.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${unwatched}/rolebindings`, {
    metadata: { name: 'read' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read' },
    subjects: [{ kind: 'ServiceAccount', name: 'argocd-repo-server', namespace: team }],
  });
  // docs/argocd.md's anonymous path: get deploymentfacts for system:unauthenticated, in one namespace.
  await c.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${anon}/roles`, {
    metadata: { name: 'flagops-anonymous-facts' },
    rules: read,
  });
  await c.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${anon}/rolebindings`, {
    metadata: { name: 'flagops-anonymous-facts' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'flagops-anonymous-facts' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:unauthenticated' }],
  });
  const facts = (ns: string, name: string, values: Record<string, unknown>, manager: string) =>
    c.apply(
      factsPath(ns, name),
      {
        apiVersion: 'flagops.io/v1alpha1',
        kind: 'DeploymentFacts',
        metadata: { name },
        spec: { facts: values },
      },
      manager,
    );
  // As Argo CD syncs them from git: owned by its field manager.
  await facts(team, 'web', { tier: 'gold', 'max-replicas': 5, beta: true }, 'argocd-controller');
  await facts(fx.ns, 'web', { tier: 'default-ns' }, 'argocd-controller');
  await facts(unwatched, 'web', { tier: 'unwatched' }, 'argocd-controller');
  await facts(anon, 'web', { tier: 'anon' }, 'argocd-controller');
  await eventually(() => expect(fx.op.store.get(team, 'web')?.facts?.values).toMatchObject({ tier: 'gold' }));
  await eventually(() => expect(fx.op.store.get(anon, 'web')?.facts).toBeDefined());
}, 60_000);

describe('the provider as it is (no token)', () => {
  it('gets a 401 that it cannot take for an identity without facts', async () => {
    expect(await getMap(base(), 'fact', `${team}_web`)).toMatchObject({ error: expect.any(String) });
    expect(await evaluate(base(), `${team}_web`)).toEqual({
      error: 'GENERAL: could not fetch identity context from data store',
    });
  });

  it('with the anonymous grant of facts in one namespace: reads them, and no secret, no write, no other namespace', async () => {
    expect(await evaluate(base(), `${anon}_web`)).toEqual({ context: { tier: 'anon' } });
    expect((await getMap(base(), 'secret', `${anon}_web`)).error).toBeDefined();
    expect((await setIdentityFact(base(), `${anon}_web`, 'tier', 'x')).error).toMatch(/^40[13] /);
    expect((await evaluate(base(), `${team}_web`)).error).toBeDefined();
  });
});

describe('the provider under flagops-wrap, with the repo-server token', () => {
  it("reads <namespace>_<name> (Argo CD's ARGOCD_APP_NAME) in that namespace: 8 evaluations, one request", async () => {
    const r = await wrapped(Array.from({ length: 8 }, () => ({ op: 'eval', id: `${team}_web` })));
    expect(r.code).toBe(0);
    expect(r.results).toHaveLength(8);
    for (const e of r.results)
      expect(e).toEqual({ op: 'eval', context: { tier: 'gold', 'max-replicas': '5', beta: 'true' } });
    expect(r.stderr).toContain('flagops-wrap: 1 request(s) to the store');
  });

  it('no other namespace by crafting a prefix, none the operator does not watch: the render fails naming why', async () => {
    const other = await wrapped([{ op: 'eval', id: `${fx.ns}_web` }]);
    expect(other.code).toBe(1);
    expect(other.results[0]).toMatchObject({ error: expect.stringContaining('GENERAL') });
    expect(other.stderr).toMatch(new RegExp(`GET /api/fact/${fx.ns}_web: 403 .*deploymentfacts`));
    expect(other.stderr).not.toContain('default-ns');
    const hidden = await wrapped([{ op: 'eval', id: `${unwatched}_web` }]);
    expect(hidden.code).toBe(1);
    expect(hidden.stderr).toContain(`404 namespace ${unwatched} is not watched by this operator`);
    expect(hidden.stderr).not.toContain('unwatched"');
    const bad = await wrapped([{ op: 'eval', id: `${team}_a_b` }]);
    expect(bad.stderr).toContain('400 identity: in <namespace>_<name>, the name must be a DNS subdomain');
  });

  it('an unknown identity fails the render, naming it, unless FLAGOPS_WRAP_ALLOW_UNKNOWN=true', async () => {
    const r = await wrapped([{ op: 'eval', id: `${team}_nobody` }]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`identity ${team}/nobody has no DeploymentFacts`);
    const allowed = await wrapped([{ op: 'eval', id: `${team}_nobody` }], {
      env: { FLAGOPS_WRAP_ALLOW_UNKNOWN: 'true' },
    });
    expect(allowed.code).toBe(0);
    expect(allowed.results[0]).toEqual({ op: 'eval', context: {} });
  });

  it('a token that is not valid: 401 named on stderr', async () => {
    const r = await wrapped([{ op: 'eval', id: `${team}_web` }], { token: 'not-a-token' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/GET \/api\/fact\/.*_web: 401 /);
  });

  it('SetIdentityFact on a git-owned fact: the error it returns says to change it in git; a new fact is written and read back in the same render', async () => {
    const r = await wrapped(
      [
        { op: 'eval', id: `${team}_web` },
        { op: 'set', id: `${team}_web`, key: 'tier', value: 'silver' },
        { op: 'set', id: `${team}_web`, key: 'rendered-by', value: 'flagops' },
        { op: 'eval', id: `${team}_web` },
      ],
      { token: editorToken },
    );
    expect(r.results[0]).toMatchObject({ context: { tier: 'gold' } });
    expect(r.results[1]!.error).toMatch(
      new RegExp(
        `^409 fact tier of ${team}/web is managed by argocd-controller, not by this API: change it where it is declared \\(git`,
      ),
    );
    expect(r.results[2]).toEqual({ op: 'set' });
    expect(r.results[3]).toEqual({
      op: 'eval',
      context: { tier: 'gold', 'max-replicas': '5', beta: 'true', 'rendered-by': 'flagops' },
    });
    expect(r.stderr).toContain(`PUT /api/fact/${team}_web/tier: 409 fact tier of ${team}/web`);
    expect(r.code).toBe(1); // a failed write fails the render
    const o = await adminClient().get<{ spec: { facts: Record<string, unknown> } }>(factsPath(team, 'web'));
    expect(o.spec.facts.tier).toBe('gold');
  });
});
