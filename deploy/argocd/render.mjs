// The flagops-data-store Config Management Plugin's generate step: renders an Argo CD application's manifests
// with the facts of its identity, fetched from flagops-data-store. Plain Node (>= 22), no dependencies; it runs
// in the repo-server sidecar (see plugin.yaml and repo-server-patch.yaml).
//
// Templates: every *.yaml, *.yml and *.json file under the application's path (sorted, hidden entries skipped)
// is printed, separated by `---`, after these placeholders are replaced:
//   {{ fact "max-replicas" }}           the fact's value as is (numbers and booleans keep their YAML type)
//   {{ fact "tier" | quote }}           the value as a double-quoted YAML string
//   {{ identity }}  {{ namespace }}     the identity and its namespace
// Any other {{ … }} is left alone. A fact the identity does not have fails the render, naming the fact.
//
// Environment:
//   FLAGOPS_URL           base URL of flagops-data-store (required), e.g. http://flagops-data-store.flagops-system:8080
//   FLAGOPS_NAMESPACE     namespace of the identities of Argo CD's own Applications; one of them may override
//                         it with the plugin env FLAGOPS_NAMESPACE (ARGOCD_ENV_FLAGOPS_NAMESPACE)
//   ARGOCD_APP_NAME       the identity (set by Argo CD); an Application may override it with the plugin env
//                         FLAGOPS_IDENTITY (ARGOCD_ENV_FLAGOPS_IDENTITY). For an Application outside Argo CD's
//                         namespace Argo CD sets `<namespace>_<name>`: identity <name> in <namespace>, always
//                         that namespace (a plugin env FLAGOPS_NAMESPACE naming another fails the render)
//   FLAGOPS_TOKEN_FILE    a ServiceAccount token sent as `Authorization: Bearer` (default
//                         /var/run/secrets/flagops/token; read on every render, so a rotated token is used)
// Facts are read with GET {FLAGOPS_URL}/api/v1/namespaces/{namespace}/identities/{identity}/facts. Secret
// values are never read: the plugin's ServiceAccount may only `get deploymentfacts`.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const PLACEHOLDER = /\{\{-?\s*(?:fact\s+"([^"\\]+)"|(identity)|(namespace))\s*(\|\s*quote\s*)?-?\}\}/g;

/** Replaces the placeholders of one template. Returns the text and the names of facts it lacked. */
export function renderTemplate(text, { identity, namespace, facts }) {
  const missing = new Set();
  const out = text.replace(PLACEHOLDER, (_all, fact, isIdentity, isNamespace, quote) => {
    let value;
    if (isIdentity) value = identity;
    else if (isNamespace) value = namespace;
    else if (Object.hasOwn(facts, fact)) value = String(facts[fact]);
    else {
      missing.add(fact);
      return '';
    }
    return quote ? JSON.stringify(value) : value;
  });
  return { text: out, missing: [...missing] };
}

/** The template files under `dir`, sorted by path. */
export function templateFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && /\.(ya?ml|json)$/.test(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** Renders every template under `dir` into one multi-document YAML stream. */
export function renderDir(dir, ctx) {
  const docs = [];
  const missing = new Set();
  for (const file of templateFiles(dir)) {
    const r = renderTemplate(readFileSync(file, 'utf8'), ctx);
    for (const m of r.missing) missing.add(m);
    docs.push(r.text.replace(/^---\s*\n/, '').trimEnd());
  }
  if (missing.size > 0) {
    throw new Error(
      `identity ${ctx.namespace}/${ctx.identity} has no fact ${[...missing].sort().join(', ')} (needed by the templates)`,
    );
  }
  return docs.length > 0 ? `${docs.join('\n---\n')}\n` : '';
}

export async function fetchFacts({ url, namespace, identity, token, timeoutMs = 10_000 }) {
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/identities/${encodeURIComponent(identity)}/facts`;
  const res = await fetch(url.replace(/\/$/, '') + path, {
    headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (res.status === 200) return JSON.parse(text);
  let detail = '';
  try {
    detail = JSON.parse(text).error?.message ?? '';
  } catch {
    // not the operator's error body; say the status only
  }
  const what = res.status === 404 ? 'has no facts' : 'facts could not be read';
  const hint =
    res.status === 401
      ? '; the token was refused: the sidecar projects it for audience flagops-data-store, so the operator needs --token-audiences to include it (docs/argocd.md)'
      : '';
  throw new Error(
    `identity ${namespace}/${identity} ${what} (HTTP ${res.status}${detail ? `: ${detail}` : ''})${hint}`,
  );
}

/**
 * The identity and namespace an Application renders with. Argo CD sets ARGOCD_APP_NAME to `<namespace>_<name>`
 * for an Application outside its own namespace (`_` is in no Kubernetes name): that namespace is where the
 * Application lives, so it is the only one it may read. Its plugin env may name another identity there
 * (FLAGOPS_IDENTITY), never another namespace: a tenant who may create Applications in `a` must not render
 * tenant `b`'s facts with the repo-server's token. Applications in Argo CD's own namespace may name both: with
 * AppProject-based multi-tenancy, project members create those too, so bind the repo-server's token only where
 * every such project may read (docs/argocd.md), or keep tenants' Applications in their own namespaces.
 */
export function target(env) {
  const explicit = env.ARGOCD_ENV_FLAGOPS_IDENTITY;
  const app = env.ARGOCD_APP_NAME ?? '';
  const asked = env.ARGOCD_ENV_FLAGOPS_NAMESPACE;
  const at = app.indexOf('_');
  if (at > 0) {
    const namespace = app.slice(0, at);
    if (asked && asked !== namespace) {
      throw new Error(
        `Application ${namespace}/${app.slice(at + 1)} may only read identities of its own namespace ${namespace}, not ${asked} (plugin env FLAGOPS_NAMESPACE)`,
      );
    }
    return { identity: explicit || app.slice(at + 1), namespace };
  }
  return { identity: explicit || app, namespace: asked || env.FLAGOPS_NAMESPACE };
}

export async function main(env = process.env) {
  try {
    const url = env.FLAGOPS_URL;
    const { identity, namespace } = target(env);
    if (!url) throw new Error('FLAGOPS_URL is not set');
    if (!identity) throw new Error('neither ARGOCD_APP_NAME nor ARGOCD_ENV_FLAGOPS_IDENTITY is set');
    if (!namespace) throw new Error('FLAGOPS_NAMESPACE is not set (sidecar env or the Application plugin env)');
    const tokenFile = env.FLAGOPS_TOKEN_FILE ?? '/var/run/secrets/flagops/token';
    const token = tokenFile && existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : undefined;
    const facts = await fetchFacts({ url, namespace, identity, token });
    process.stdout.write(renderDir(process.cwd(), { identity, namespace, facts }));
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : '';
    process.stderr.write(`flagops render: ${err instanceof Error ? err.message : String(err)}${cause}\n`);
    process.exitCode = 1;
  }
}
