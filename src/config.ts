/**
 * Command-line flags, each also read from FLAGOPS_<FLAG> (dashes become underscores). Parsed once into a typed
 * object; nothing else in the program reads process.env.
 */
import { isIP } from 'node:net';
import { DEFAULT_MAX_RESULT_BYTES } from './api/sources.js';
import { isOrigin } from './server/origin.js';

export interface Config {
  kubeconfig?: string;
  namespaces: string[];
  defaultNamespace: string;
  listen: { host: string; port: number };
  auth: 'kubernetes' | 'none';
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  webhooksConfig?: string;
  tokenAudiences: string[];
  maxBodyBytes: number;
  /** Bytes of a FactSource's query result read before its sync fails. */
  sourceMaxResultBytes: number;
  /** Origins whose browsers may call OFREP and the read API (CORS); empty: none. */
  corsAllowedOrigins: string[];
  /** Change-feed streams open at once on this replica, and per caller. */
  maxStreams: number;
  maxStreamsPerCaller: number;
  tls?: { certFile: string; keyFile: string };
  leaderElection: {
    enabled: boolean;
    namespace: string;
    id: string;
    leaseDurationMs: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
  };
  shutdownTimeoutMs: number;
  /** Slow clients: time to send the headers, the whole request, and how long an idle keep-alive socket stays. */
  http: { headersTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number };
  /** Status writes (each with its Events) a second across both kinds, and the burst allowed. */
  statusQps: number;
  statusBurst: number;
  /** Namespace of Argo CD Applications to hard-refresh when facts change; undefined: off. */
  argocdNamespace?: string;
  /** An exposed Secret serves only the identities named by its flagops.io/expose-to annotation. */
  exposeToRequired: boolean;
  /** Keep ConfigMaps of the facts of DeploymentFacts labelled flagops.io/project-configmap=true. */
  configMapProjections: boolean;
  /** Which Applications follow an identity: named like it, and/or annotated flagops.io/identity=<ns>/<name>. */
  argocdApplicationMapping: ('name' | 'annotation')[];
  /** More namespaces searched for annotated Applications (Argo CD apps in any namespace). */
  argocdApplicationNamespaces: string[];
}

interface FlagSpec {
  name: string;
  help: string;
  default?: string;
  /** A boolean flag may be given bare (`--leader-elect`) to mean true. */
  boolean?: true;
  parse: (value: string, c: Partial<Config>) => string | undefined; // returns an error message
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** `a, b,,c` → `['a', 'b', 'c']`. */
const splitList = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const FLAGS: FlagSpec[] = [
  {
    name: 'kubeconfig',
    help: 'path to a kubeconfig; default: $KUBECONFIG, else ~/.kube/config, else the in-cluster ServiceAccount',
    parse: (v, c) => {
      c.kubeconfig = v || undefined;
      return undefined;
    },
  },
  {
    name: 'namespaces',
    help: 'comma-separated namespaces to watch; empty means all',
    default: '',
    parse: (v, c) => {
      const list = splitList(v);
      const bad = list.find((n) => !DNS_LABEL.test(n));
      if (bad) return `"${bad}" is not a valid namespace name`;
      c.namespaces = [...new Set(list)];
      return undefined;
    },
  },
  {
    name: 'default-namespace',
    help: 'namespace of the prototype-compatible /api/fact routes and of OFREP requests without one; with --namespaces, the first of them unless given',
    default: 'default',
    parse: (v, c) => {
      if (!DNS_LABEL.test(v)) return `"${v}" is not a valid namespace name`;
      c.defaultNamespace = v;
      return undefined;
    },
  },
  {
    name: 'listen',
    help: 'host:port of the HTTP server',
    default: '0.0.0.0:8080',
    parse: (v, c) => {
      const m = /^(\[[^\]]+\]|[^:]*):(\d{1,5})$/.exec(v);
      const port = m ? Number(m[2]) : Number.NaN;
      if (!m || port > 65535) return `"${v}" is not host:port`;
      c.listen = { host: m[1]!.replace(/^\[|\]$/g, '') || '0.0.0.0', port };
      return undefined;
    },
  },
  {
    name: 'auth',
    help: 'kubernetes (TokenReview + SubjectAccessReview) or none (local runs only: loopback addresses)',
    default: 'kubernetes',
    parse: (v, c) => {
      if (v !== 'kubernetes' && v !== 'none') return `must be "kubernetes" or "none", not "${v}"`;
      c.auth = v;
      return undefined;
    },
  },
  {
    name: 'log-level',
    help: LOG_LEVELS.join(', '),
    default: 'info',
    parse: (v, c) => {
      if (!(LOG_LEVELS as readonly string[]).includes(v)) return `must be one of ${LOG_LEVELS.join(', ')}`;
      c.logLevel = v as Config['logLevel'];
      return undefined;
    },
  },
  {
    name: 'webhooks-config',
    help: 'YAML file listing signed webhooks: name, secretRef {namespace, name, key}, namespaces',
    parse: (v, c) => {
      c.webhooksConfig = v || undefined;
      return undefined;
    },
  },
  {
    name: 'token-audiences',
    help: 'comma-separated audiences a bearer token must be issued for; empty: the API server default',
    default: '',
    parse: (v, c) => {
      c.tokenAudiences = splitList(v);
      return undefined;
    },
  },
  {
    name: 'max-body-bytes',
    help: 'largest accepted request body',
    default: '1048576',
    parse: (v, c) => {
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < 1024 || n > 64 * 1024 * 1024)
        return 'must be a whole number of bytes from 1024 to 67108864';
      c.maxBodyBytes = n;
      return undefined;
    },
  },
  {
    name: 'source-max-result-bytes',
    help: 'bytes of a FactSource query result read before the sync fails with ResultTooLarge (the connection is dropped)',
    default: String(DEFAULT_MAX_RESULT_BYTES),
    parse: (v, c) => {
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < 65_536 || n > 1024 * 1024 * 1024)
        return 'must be a whole number of bytes from 65536 to 1073741824';
      c.sourceMaxResultBytes = n;
      return undefined;
    },
  },
  {
    name: 'cors-allowed-origins',
    help: 'comma-separated origins (https://app.example.com, or *) whose browsers may call OFREP and the read API; empty: no CORS',
    default: '',
    parse: (v, c) => {
      const list = splitList(v);
      const bad = list.find((o) => o !== '*' && !isOrigin(o));
      if (bad)
        return `"${bad}" is not an origin such as https://app.example.com (scheme, host, optional port; no path)`;
      c.corsAllowedOrigins = [...new Set(list)];
      return undefined;
    },
  },
  countFlag(
    'max-streams',
    '1000',
    'change-feed streams open at once on this replica; more get 429',
    (c, n) => {
      c.maxStreams = n;
    },
  ),
  countFlag(
    'max-streams-per-caller',
    '100',
    'change-feed streams one caller (one user; anonymous callers are one) may hold open; more get 429',
    (c, n) => {
      c.maxStreamsPerCaller = n;
    },
  ),
  {
    name: 'tls-cert-file',
    help: 'serve HTTPS with this PEM certificate (with --tls-key-file)',
    parse: (v, c) => {
      if (v) c.tls = { certFile: v, keyFile: c.tls?.keyFile ?? '' };
      return undefined;
    },
  },
  {
    name: 'tls-key-file',
    help: 'PEM private key for --tls-cert-file',
    parse: (v, c) => {
      if (v) c.tls = { certFile: c.tls?.certFile ?? '', keyFile: v };
      return undefined;
    },
  },
  {
    name: 'leader-elect',
    help: 'elect one leader (a Lease) to write status and Events; every replica serves reads',
    default: 'false',
    boolean: true,
    parse: (v, c) => {
      if (v !== 'true' && v !== 'false') return 'must be true or false';
      leader(c).enabled = v === 'true';
      return undefined;
    },
  },
  {
    name: 'leader-election-namespace',
    help: 'namespace of the leader Lease (set it to the pod namespace)',
    default: 'default',
    parse: (v, c) => {
      if (!DNS_LABEL.test(v)) return `"${v}" is not a valid namespace name`;
      leader(c).namespace = v;
      return undefined;
    },
  },
  {
    name: 'leader-election-id',
    help: 'name of the leader Lease',
    default: 'flagops-data-store',
    parse: (v, c) => {
      if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(v)) return `"${v}" is not a valid object name`;
      leader(c).id = v;
      return undefined;
    },
  },
  durationFlag('leader-election-lease-duration', '15s', 'how long a lease lasts without renewal', (c, ms) => {
    leader(c).leaseDurationMs = ms;
  }),
  durationFlag(
    'leader-election-renew-deadline',
    '10s',
    'how long the leader keeps trying to renew before stepping down',
    (c, ms) => {
      leader(c).renewDeadlineMs = ms;
    },
  ),
  durationFlag(
    'leader-election-retry-period',
    '2s',
    'how often replicas try to acquire or renew the lease',
    (c, ms) => {
      leader(c).retryPeriodMs = ms;
    },
  ),
  {
    name: 'argocd-namespace',
    help: 'ask Argo CD to hard-refresh the Application named like an identity when its facts change (Applications in this namespace); empty: off',
    default: '',
    parse: (v, c) => {
      if (v && !DNS_LABEL.test(v)) return `"${v}" is not a valid namespace name`;
      c.argocdNamespace = v || undefined;
      return undefined;
    },
  },
  {
    name: 'status-qps',
    help: 'status writes a second (with their Events); reads never wait for them',
    default: '50',
    parse: (v, c) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0 || n > 10_000) return `"${v}" is not a number between 0 and 10000`;
      c.statusQps = n;
      return undefined;
    },
  },
  {
    name: 'argocd-application-mapping',
    help: 'which Applications a fact change refreshes: name (named like the identity, in --argocd-namespace, and in its own namespace if that is an application namespace), annotation (annotated flagops.io/identity=<namespace>/<name> or <namespace>_<name>), or name,annotation',
    default: 'name',
    parse: (v, c) => {
      const list = [...new Set(splitList(v))];
      const bad = list.find((m) => m !== 'name' && m !== 'annotation');
      if (bad !== undefined || list.length === 0) return `"${bad ?? v}" is not name or annotation`;
      c.argocdApplicationMapping = list as Config['argocdApplicationMapping'];
      return undefined;
    },
  },
  countFlag('status-burst', '100', 'status writes allowed at once before --status-qps applies', (c, n) => {
    c.statusBurst = n;
  }),
  {
    name: 'expose-to-required',
    help: 'a Secret labelled flagops.io/expose=true serves only the DeploymentSecrets its flagops.io/expose-to annotation names; false: without the annotation it serves every DeploymentSecrets of its namespace (as in 0.1.0)',
    default: 'true',
    boolean: true,
    parse: (v, c) => {
      if (v !== 'true' && v !== 'false') return 'must be true or false';
      c.exposeToRequired = v === 'true';
      return undefined;
    },
  },
  {
    name: 'configmap-projections',
    help: 'keep a ConfigMap flagops-facts-<identity> of the facts of each DeploymentFacts labelled flagops.io/project-configmap=true (needs ConfigMap permissions)',
    default: 'false',
    boolean: true,
    parse: (v, c) => {
      if (v !== 'true' && v !== 'false') return 'must be true or false';
      c.configMapProjections = v === 'true';
      return undefined;
    },
  },
  {
    name: 'argocd-application-namespaces',
    help: 'comma-separated namespaces, besides --argocd-namespace, where annotated Applications live (Argo CD apps in any namespace)',
    default: '',
    parse: (v, c) => {
      const list = splitList(v);
      const bad = list.find((n) => !DNS_LABEL.test(n));
      if (bad) return `"${bad}" is not a valid namespace name`;
      c.argocdApplicationNamespaces = [...new Set(list)];
      return undefined;
    },
  },
  durationFlag(
    'http-headers-timeout',
    '5s',
    'time a client has to send the request headers; then 408 and the socket is closed',
    (c, ms) => {
      http(c).headersTimeoutMs = ms;
    },
  ),
  durationFlag(
    'http-request-timeout',
    '10s',
    'time a client has to send the whole request, body included (not the response: change feeds stay open)',
    (c, ms) => {
      http(c).requestTimeoutMs = ms;
    },
  ),
  durationFlag(
    'http-keep-alive-timeout',
    '5s',
    'how long an idle keep-alive connection stays open',
    (c, ms) => {
      http(c).keepAliveTimeoutMs = ms;
    },
  ),
  durationFlag(
    'shutdown-timeout',
    '10s',
    'how long in-flight requests may take to finish on SIGTERM',
    (c, ms) => {
      c.shutdownTimeoutMs = ms;
    },
  ),
];

function countFlag(
  name: string,
  def: string,
  help: string,
  set: (c: Partial<Config>, n: number) => void,
): FlagSpec {
  return {
    name,
    help,
    default: def,
    parse: (v, c) => {
      if (!/^\d{1,6}$/.test(v) || Number(v) < 1) return 'must be a whole number from 1 to 999999';
      set(c, Number(v));
      return undefined;
    },
  };
}

function http(c: Partial<Config>): Config['http'] {
  c.http ??= {} as Config['http'];
  return c.http;
}

function leader(c: Partial<Config>): Config['leaderElection'] {
  c.leaderElection ??= {} as Config['leaderElection'];
  return c.leaderElection;
}

/** A duration such as `500ms`, `15s` or `2m`. */
export function parseDuration(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(v);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm']);
}

function durationFlag(
  name: string,
  def: string,
  help: string,
  set: (c: Partial<Config>, ms: number) => void,
): FlagSpec {
  return {
    name,
    help,
    default: def,
    parse: (v, c) => {
      const ms = parseDuration(v);
      if (ms === undefined || ms <= 0) return `"${v}" is not a duration such as 500ms, 15s or 2m`;
      set(c, ms);
      return undefined;
    },
  };
}

/** A configuration problem found after flag parsing (an unreadable file, say): also exit code 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export const envName = (flag: string) => `FLAGOPS_${flag.toUpperCase().replace(/-/g, '_')}`;

export function usage(): string {
  const lines = FLAGS.map((f) => {
    const def = f.default !== undefined ? ` (default "${f.default}")` : '';
    return `  --${f.name.padEnd(33)} ${f.help}${def}\n  ${' '.repeat(35)} env ${envName(f.name)}`;
  });
  return `Usage: flagops-data-store [flags]\n\nFlags:\n${lines.join('\n')}\n  --${'help'.padEnd(33)} show this help\n`;
}

export type ParseResult = { config: Config } | { help: true } | { error: string };

export function parseConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParseResult {
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return { help: true };
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    const flag = m && FLAGS.find((f) => f.name === m[1]);
    if (!m || !flag) return { error: `unknown flag ${arg.split('=')[0]}` };
    let value = m[2];
    if (value === undefined && flag.boolean && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--')))
      value = 'true';
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) return { error: `flag --${flag.name} needs a value` };
    }
    given.set(flag.name, value);
  }
  const c: Partial<Config> = {};
  for (const flag of FLAGS) {
    const value = given.get(flag.name) ?? env[envName(flag.name)] ?? flag.default;
    if (value === undefined) continue;
    const err = flag.parse(value, c);
    if (err) return { error: `invalid --${flag.name}: ${err}` };
  }
  const config = c as Config;
  // Watching some namespaces only: the default namespace is the first of them unless one is given.
  const defaultGiven = given.has('default-namespace') || env[envName('default-namespace')] !== undefined;
  if (config.namespaces.length > 0 && !defaultGiven) config.defaultNamespace = config.namespaces[0]!;
  if (config.namespaces.length > 0 && !config.namespaces.includes(config.defaultNamespace)) {
    return {
      error: `--default-namespace=${config.defaultNamespace} is not among --namespaces (${config.namespaces.join(',')}); the prototype routes and OFREP read there`,
    };
  }
  const le = config.leaderElection;
  if (le.enabled && (le.renewDeadlineMs >= le.leaseDurationMs || le.retryPeriodMs >= le.renewDeadlineMs)) {
    return { error: 'leader election needs retry-period < renew-deadline < lease-duration' };
  }
  if (
    config.argocdApplicationNamespaces.length > 0 &&
    !(config.argocdNamespace && config.argocdApplicationMapping.includes('annotation'))
  ) {
    return {
      error:
        '--argocd-application-namespaces needs --argocd-namespace and --argocd-application-mapping with annotation',
    };
  }
  if (config.http.headersTimeoutMs > config.http.requestTimeoutMs) {
    return { error: '--http-headers-timeout must not be longer than --http-request-timeout' };
  }
  if (config.tls && (!config.tls.certFile || !config.tls.keyFile)) {
    return { error: '--tls-cert-file and --tls-key-file go together' };
  }
  if (config.auth === 'none' && !isLoopback(config.listen.host)) {
    return {
      error: `--auth=none serves every fact and secret to anyone who can connect, so it only listens on loopback; use --listen=127.0.0.1:${config.listen.port}`,
    };
  }
  return { config };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}
