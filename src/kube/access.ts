/**
 * How the operator reaches the API server: its URL, the TLS settings and the credentials of each request.
 *
 * The operator's own paths (in-cluster ServiceAccount, and kubeconfigs with a token, a token file or a client
 * certificate) are read here with a YAML parser and undici, without loading client-node: client-node's
 * KubeConfig pulls in its whole generated API (about 90 MB of resident memory) just to be imported. Anything else
 * a kubeconfig can say (exec plugins, auth providers, proxies) is handed to client-node's KubeConfig, loaded only
 * then.
 */
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { load } from 'js-yaml';
import { Agent, type Dispatcher } from 'undici';

export interface RequestAuth {
  headers: Record<string, string>;
  dispatcher?: Dispatcher;
}

export interface KubeAccess {
  /** The API server's base URL, without a trailing slash. */
  readonly server: string;
  /** Credentials and TLS for one request to `url`. */
  prepare(url: string, method: string): Promise<RequestAuth>;
}

export class KubeAccessError extends Error {
  override readonly name = 'KubeAccessError';
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Bound ServiceAccount tokens rotate; client-go re-reads the file about once a minute. */
const TOKEN_FILE_TTL_MS = 60_000;

interface KubeconfigFile {
  'current-context'?: string;
  contexts?: { name: string; context: { cluster: string; user?: string } }[];
  clusters?: { name: string; cluster: Record<string, unknown> }[];
  users?: { name: string; user?: Record<string, unknown> }[];
}

/**
 * Loads access from `path`, else $KUBECONFIG (its first file), else ~/.kube/config, else the in-cluster
 * ServiceAccount. Throws KubeAccessError naming what is wrong.
 */
export async function loadKubeAccess(
  path: string | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<KubeAccess> {
  const listed = env.KUBECONFIG?.split(':').filter(Boolean) ?? [];
  // Several files are merged as kubectl merges them: client-node knows how (it reads $KUBECONFIG itself).
  if (!path && listed.length > 1) return viaClientNode(undefined);
  const file = path ?? listed[0] ?? defaultKubeconfig();
  if (file) return fromKubeconfigFile(file);
  if (env.KUBERNETES_SERVICE_HOST) return inCluster(env);
  throw new KubeAccessError('no kubeconfig found and not running in a cluster');
}

function defaultKubeconfig(): string | undefined {
  const p = join(homedir(), '.kube', 'config');
  try {
    return statSync(p).isFile() ? p : undefined;
  } catch {
    return undefined;
  }
}

function inCluster(env: Readonly<Record<string, string | undefined>>): KubeAccess {
  const host = env.KUBERNETES_SERVICE_HOST!;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const dispatcher = new Agent({ connect: { ca: readFileSync(join(SA_DIR, 'ca.crt')) } });
  const token = tokenFile(join(SA_DIR, 'token'));
  return {
    server,
    prepare: async () => ({ headers: { authorization: `Bearer ${token()}` }, dispatcher }),
  };
}

/** Reads a token file, again at most once a TTL, so that rotated tokens are picked up. */
function tokenFile(path: string): () => string {
  let value = '';
  let readAt = -Infinity;
  return () => {
    const now = Date.now();
    if (now - readAt > TOKEN_FILE_TTL_MS) {
      value = readFileSync(path, 'utf8').trim();
      readAt = now;
    }
    return value;
  };
}

async function fromKubeconfigFile(file: string): Promise<KubeAccess> {
  let doc: KubeconfigFile;
  try {
    doc = (load(readFileSync(file, 'utf8')) ?? {}) as KubeconfigFile;
  } catch (err) {
    throw new KubeAccessError(`cannot load the kubeconfig ${file}: ${(err as Error).message}`);
  }
  const contextName = doc['current-context'];
  const context = doc.contexts?.find((c) => c.name === contextName)?.context;
  const cluster = doc.clusters?.find((c) => c.name === context?.cluster)?.cluster;
  if (!context || !cluster || typeof cluster.server !== 'string')
    throw new KubeAccessError(`the kubeconfig ${file} has no current cluster`);
  const user = doc.users?.find((u) => u.name === context.user)?.user ?? {};
  const simpleUser = Object.keys(user).every((k) =>
    [
      'token',
      'tokenFile',
      'client-certificate',
      'client-certificate-data',
      'client-key',
      'client-key-data',
    ].includes(k),
  );
  const simpleCluster = Object.keys(cluster).every((k) =>
    [
      'server',
      'certificate-authority',
      'certificate-authority-data',
      'insecure-skip-tls-verify',
      'tls-server-name',
    ].includes(k),
  );
  if (!simpleUser || !simpleCluster) return viaClientNode(file);

  const base = dirname(file);
  const readRef = (dataKey: string, fileKey: string, from: Record<string, unknown>): Buffer | undefined => {
    const data = from[dataKey];
    if (typeof data === 'string') return Buffer.from(data, 'base64');
    const ref = from[fileKey];
    if (typeof ref === 'string') return readFileSync(isAbsolute(ref) ? ref : join(base, ref));
    return undefined;
  };
  let dispatcher: Agent;
  let token: (() => string) | undefined;
  try {
    dispatcher = new Agent({
      connect: {
        ca: readRef('certificate-authority-data', 'certificate-authority', cluster),
        cert: readRef('client-certificate-data', 'client-certificate', user),
        key: readRef('client-key-data', 'client-key', user),
        rejectUnauthorized: cluster['insecure-skip-tls-verify'] !== true,
        ...(typeof cluster['tls-server-name'] === 'string' ? { servername: cluster['tls-server-name'] } : {}),
      },
    });
    if (typeof user.token === 'string') {
      const t = user.token;
      token = () => t;
    } else if (typeof user.tokenFile === 'string') {
      const f = user.tokenFile;
      token = tokenFile(isAbsolute(f) ? f : join(base, f));
      token();
    }
  } catch (err) {
    throw new KubeAccessError(`cannot use the kubeconfig ${file}: ${(err as Error).message}`);
  }
  const server = cluster.server.replace(/\/$/, '');
  return {
    server,
    prepare: async (): Promise<RequestAuth> => ({
      headers: token ? { authorization: `Bearer ${token()}` } : ({} as Record<string, string>),
      dispatcher,
    }),
  };
}

/** Exec plugins, auth providers, proxies, merged $KUBECONFIG lists: client-node's KubeConfig knows them all. */
async function viaClientNode(file: string | undefined): Promise<KubeAccess> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  try {
    if (file) kc.loadFromFile(file);
    else kc.loadFromDefault();
  } catch (err) {
    throw new KubeAccessError(
      `cannot load the kubeconfig ${file ?? '$KUBECONFIG'}: ${(err as Error).message}`,
    );
  }
  return accessFromKubeConfig(kc);
}

/** Access through a client-node KubeConfig (any kubeconfig it can read). */
export async function accessFromKubeConfig(kc: {
  getCurrentCluster(): { server: string } | null;
  applySecurityAuthentication(ctx: unknown): Promise<void>;
}): Promise<KubeAccess> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeAccessError('the kubeconfig has no current cluster');
  const { HttpMethod, RequestContext } = await import('@kubernetes/client-node');
  return {
    server: cluster.server.replace(/\/$/, ''),
    async prepare(url, method) {
      const ctx = new RequestContext(url, HttpMethod[method as keyof typeof HttpMethod]);
      await kc.applySecurityAuthentication(ctx);
      return { headers: ctx.getHeaders(), dispatcher: ctx.getDispatcher() as Dispatcher | undefined };
    },
  };
}
