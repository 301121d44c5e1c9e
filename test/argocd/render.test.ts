/** The pure parts of deploy/argocd/render.mjs, the flagops-facts plugin's render step (vitest project unit). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

interface Ctx {
  identity: string;
  namespace: string;
  facts: Record<string, string | number | boolean>;
}
interface RenderModule {
  renderTemplate(text: string, ctx: Ctx): { text: string; missing: string[] };
  templateFiles(dir: string): string[];
  renderDir(dir: string, ctx: Ctx): string;
  target(env: Record<string, string>): { identity?: string; namespace?: string };
}
const render = (await import(
  new URL('../../deploy/argocd/render.mjs', import.meta.url).href
)) as RenderModule;
const ctx: Ctx = {
  identity: 'customer-42',
  namespace: 'customers',
  facts: { 'max-replicas': 5, tier: 'go"ld', beta: true, ratio: 0.5 },
};

describe('renderTemplate', () => {
  it.each([
    ['replicas: {{ fact "max-replicas" }}', 'replicas: 5'],
    ['replicas: {{fact "max-replicas"}}', 'replicas: 5'],
    ['tier: {{ fact "tier" | quote }}', 'tier: "go\\"ld"'],
    ['tier: {{ fact "max-replicas" | quote }}', 'tier: "5"'],
    ['enabled: {{ fact "beta" }}', 'enabled: true'],
    ['enabled: {{ fact "beta" | quote }}', 'enabled: "true"'],
    ['weight: {{ fact "ratio" }}', 'weight: 0.5'],
    ['name: {{ identity }}.{{ namespace }}', 'name: customer-42.customers'],
    ['v: {{ .Values.x }} {{ fact tier }}', 'v: {{ .Values.x }} {{ fact tier }}'], // not ours: left alone
  ])('%s → %s', (template, expected) => {
    expect(render.renderTemplate(template, ctx)).toEqual({ text: expected, missing: [] });
  });

  it('names the facts it lacks, once each', () => {
    const r = render.renderTemplate('{{ fact "a" }} {{ fact "b" | quote }} {{ fact "a" }}', ctx);
    expect(r.missing).toEqual(['a', 'b']);
  });
});

describe('renderDir', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flagops-render-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'b'));
  mkdirSync(join(dir, '.git'));
  writeFileSync(join(dir, 'a.yaml'), '---\nkind: A\nreplicas: {{ fact "max-replicas" }}\n');
  writeFileSync(join(dir, 'b', 'c.yml'), 'kind: C\n');
  writeFileSync(join(dir, 'd.json'), '{"kind": "D"}\n');
  writeFileSync(join(dir, 'README.md'), '{{ fact "nope" }}');
  writeFileSync(join(dir, '.hidden.yaml'), 'kind: Hidden\n');
  writeFileSync(join(dir, '.git', 'x.yaml'), 'kind: Git\n');

  it('renders the YAML and JSON files, sorted, hidden entries skipped, as one stream', () => {
    expect(render.renderDir(dir, ctx)).toBe('kind: A\nreplicas: 5\n---\nkind: C\n---\n{"kind": "D"}\n');
  });

  it('fails naming the missing facts and the identity, never a value', () => {
    writeFileSync(join(dir, 'e.yaml'), 'x: {{ fact "zone" }}\ny: {{ fact "tier" }}\nz: {{ fact "owner" }}\n');
    expect(() => render.renderDir(dir, ctx)).toThrow(
      'identity customers/customer-42 has no fact owner, zone (needed by the templates)',
    );
    rmSync(join(dir, 'e.yaml'));
  });
});

describe('target', () => {
  it.each<[Record<string, string>, { identity?: string; namespace?: string }]>([
    [
      { ARGOCD_APP_NAME: 'customer-42', FLAGOPS_NAMESPACE: 'customers' },
      { identity: 'customer-42', namespace: 'customers' },
    ],
    // an Application outside Argo CD's namespace: Argo CD's <namespace>_<name>
    [
      { ARGOCD_APP_NAME: 'team-a_web', FLAGOPS_NAMESPACE: 'customers' },
      { identity: 'web', namespace: 'team-a' },
    ],
    // another identity, but always in the Application's own namespace
    [
      {
        ARGOCD_APP_NAME: 'team-a_web',
        ARGOCD_ENV_FLAGOPS_IDENTITY: 'customer-7',
        FLAGOPS_NAMESPACE: 'customers',
      },
      { identity: 'customer-7', namespace: 'team-a' },
    ],
    // the plugin env naming the Application's own namespace is no conflict
    [
      { ARGOCD_APP_NAME: 'team-a_web', ARGOCD_ENV_FLAGOPS_NAMESPACE: 'team-a' },
      { identity: 'web', namespace: 'team-a' },
    ],
    // Argo CD's own Applications may name both
    [
      {
        ARGOCD_APP_NAME: 'web',
        ARGOCD_ENV_FLAGOPS_IDENTITY: 'customer-7',
        ARGOCD_ENV_FLAGOPS_NAMESPACE: 'other',
        FLAGOPS_NAMESPACE: 'customers',
      },
      { identity: 'customer-7', namespace: 'other' },
    ],
  ])('%j → %j', (env, expected) => {
    expect(render.target(env)).toEqual(expected);
  });

  it('refuses an Application outside Argo CD namespace that names another namespace', () => {
    expect(() =>
      render.target({ ARGOCD_APP_NAME: 'team-a_web', ARGOCD_ENV_FLAGOPS_NAMESPACE: 'team-b' }),
    ).toThrow('Application team-a/web may only read identities of its own namespace team-a, not team-b');
  });
});
