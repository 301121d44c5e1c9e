/**
 * Command-line flags, each also read from FLAGOPS_<FLAG> (dashes become underscores). Parsed once into a typed
 * object; nothing else in the program reads process.env. FLAGS is the one list of flags: the usage text comes
 * from it, and docs/configuration.md is checked against it (config.test.ts).
 */
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import type { z } from 'zod';
import { DEFAULT_MAX_RESULT_BYTES } from './api/sources.js';
import {
  bool,
  duration,
  hostPort,
  namespace,
  namespaceList,
  objectName,
  oneOf,
  optionalNamespace,
  optionalString,
  originList,
  positiveNumber,
  someOf,
  stringList,
  wholeNumber,
} from './flag-values.js';

export { parseDuration } from './flag-values.js';

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
  /** The replicas' shared secret for OFREP event-stream tickets. */
  streamTicketKeyFile?: string;
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
  /** FactRevisions kept per identity unless its spec.revisionHistoryLimit says otherwise; 0: history off. */
  revisionHistoryLimit: number;
  /** Which Applications follow an identity: named like it, and/or annotated flagops.io/identity=<ns>/<name>. */
  argocdApplicationMapping: ('name' | 'annotation' | 'tracking')[];
  /** More namespaces searched for annotated Applications (Argo CD apps in any namespace). */
  argocdApplicationNamespaces: string[];
}

interface Flag<T> {
  help: string;
  default?: string;
  /** A boolean flag may be given bare (`--leader-elect`) to mean true. */
  boolean?: true;
  value: z.ZodType<T, string>;
}

const flag = <T>(value: z.ZodType<T, string>, help: string, def?: string): Flag<T> =>
  def === undefined ? { value, help } : { value, help, default: def };
const boolFlag = (help: string, def: 'true' | 'false'): Flag<boolean> => ({
  value: bool,
  help,
  default: def,
  boolean: true,
});

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
const count = wholeNumber(1, 999_999, 'must be a whole number from 1 to 999999');

/** Every flag, in the order of the usage text. A flag without a default is parsed from "" when not given. */
const FLAGS = {
  kubeconfig: flag(
    optionalString,
    'path to a kubeconfig; default: $KUBECONFIG, else ~/.kube/config, else the in-cluster ServiceAccount',
  ),
  namespaces: flag(namespaceList, 'comma-separated namespaces to watch; empty means all', ''),
  'default-namespace': flag(
    namespace,
    'namespace of the prototype-compatible /api/fact routes and of OFREP requests without one; with --namespaces, the first of them unless given',
    'default',
  ),
  listen: flag(hostPort, 'host:port of the HTTP server', '0.0.0.0:8080'),
  auth: flag(
    oneOf(['kubernetes', 'none'], (v) => `must be "kubernetes" or "none", not "${v}"`),
    'kubernetes (TokenReview + SubjectAccessReview) or none (local runs only: loopback addresses)',
    'kubernetes',
  ),
  'log-level': flag(
    oneOf(LOG_LEVELS, () => `must be one of ${LOG_LEVELS.join(', ')}`),
    LOG_LEVELS.join(', '),
    'info',
  ),
  'webhooks-config': flag(
    optionalString,
    'YAML file listing signed webhooks: name, secretRef {namespace, name, key}, namespaces',
  ),
  'token-audiences': flag(
    stringList,
    'comma-separated audiences a bearer token must be issued for; empty: the API server default',
    '',
  ),
  'max-body-bytes': flag(
    wholeNumber(1024, 64 * 1024 * 1024, 'must be a whole number of bytes from 1024 to 67108864'),
    'largest accepted request body',
    '1048576',
  ),
  'source-max-result-bytes': flag(
    wholeNumber(65_536, 1024 * 1024 * 1024, 'must be a whole number of bytes from 65536 to 1073741824'),
    'bytes of a FactSource query result read before the sync fails with ResultTooLarge (the connection is dropped)',
    String(DEFAULT_MAX_RESULT_BYTES),
  ),
  'cors-allowed-origins': flag(
    originList,
    'comma-separated origins (https://app.example.com, or *) whose browsers may call OFREP and the read API; empty: no CORS',
    '',
  ),
  'max-streams': flag(count, 'change-feed streams open at once on this replica; more get 429', '1000'),
  'max-streams-per-caller': flag(
    count,
    'change-feed streams one caller (one user; anonymous callers are one) may hold open; more get 429',
    '100',
  ),
  'stream-ticket-key-file': flag(
    optionalString,
    'a secret of at least 32 bytes that every replica shares (the chart mounts one from a Secret): an OFREP event-stream URL then opens on any replica; without it, or while the file is absent, a random key of this process',
  ),
  'tls-cert-file': flag(optionalString, 'serve HTTPS with this PEM certificate (with --tls-key-file)'),
  'tls-key-file': flag(optionalString, 'PEM private key for --tls-cert-file'),
  'leader-elect': boolFlag(
    'elect one leader (a Lease) to write status and Events; every replica serves reads',
    'false',
  ),
  'leader-election-namespace': flag(
    namespace,
    'namespace of the leader Lease (set it to the pod namespace)',
    'default',
  ),
  'leader-election-id': flag(objectName, 'name of the leader Lease', 'flagops-data-store'),
  'leader-election-lease-duration': flag(duration, 'how long a lease lasts without renewal', '15s'),
  'leader-election-renew-deadline': flag(
    duration,
    'how long the leader keeps trying to renew before stepping down',
    '10s',
  ),
  'leader-election-retry-period': flag(
    duration,
    'how often replicas try to acquire or renew the lease',
    '2s',
  ),
  'argocd-namespace': flag(
    optionalNamespace,
    'ask Argo CD to hard-refresh the Application named like an identity when its facts change (Applications in this namespace); empty: off',
    '',
  ),
  'status-qps': flag(
    positiveNumber(10_000),
    'status writes a second (with their Events); reads never wait for them',
    '50',
  ),
  'argocd-application-mapping': flag(
    someOf(['name', 'annotation', 'tracking'], (v) => `"${v}" is not name, annotation or tracking`),
    'which Applications a fact change refreshes, one or more of: name (named like the identity, in --argocd-namespace, and in its own namespace if that is an application namespace), annotation (annotated flagops.io/identity=<namespace>/<name> or <namespace>_<name>), tracking (the Application that deployed the DeploymentFacts, by its argocd.argoproj.io/tracking-id annotation or instance label)',
    'name',
  ),
  'status-burst': flag(count, 'status writes allowed at once before --status-qps applies', '100'),
  'expose-to-required': boolFlag(
    'a Secret labelled flagops.io/expose=true serves only the DeploymentSecrets its flagops.io/expose-to annotation names; false: without the annotation it serves every DeploymentSecrets of its namespace (as in 0.1.0)',
    'true',
  ),
  'configmap-projections': boolFlag(
    'keep a ConfigMap flagops-facts-<identity> of the facts of each DeploymentFacts labelled flagops.io/project-configmap=true (needs ConfigMap permissions)',
    'false',
  ),
  'revision-history-limit': flag(
    wholeNumber(0, 100, 'must be a whole number from 0 to 100'),
    'FactRevisions kept per identity (each change of its served facts is recorded, on the leader); a DeploymentFacts spec.revisionHistoryLimit overrides it; 0: no history',
    '10',
  ),
  'argocd-application-namespaces': flag(
    namespaceList,
    'comma-separated namespaces, besides --argocd-namespace, where annotated Applications live (Argo CD apps in any namespace)',
    '',
  ),
  'http-headers-timeout': flag(
    duration,
    'time a client has to send the request headers; then 408 and the socket is closed',
    '5s',
  ),
  'http-request-timeout': flag(
    duration,
    'time a client has to send the whole request, body included (not the response: change feeds stay open)',
    '10s',
  ),
  'http-keep-alive-timeout': flag(duration, 'how long an idle keep-alive connection stays open', '5s'),
  'shutdown-timeout': flag(duration, 'how long in-flight requests may take to finish on SIGTERM', '10s'),
} satisfies Record<string, Flag<unknown>>;

type FlagName = keyof typeof FLAGS;
type Values = { [K in FlagName]: (typeof FLAGS)[K] extends Flag<infer T> ? T : never };
const FLAG_NAMES = Object.keys(FLAGS) as FlagName[];
const isFlag = (name: string): name is FlagName => Object.hasOwn(FLAGS, name);

/** The flags for the docs check: name, default and whether it may be given bare. */
export const flagTable = (): { name: string; default?: string; help: string }[] =>
  FLAG_NAMES.map((name) => ({ name, help: FLAGS[name].help, default: FLAGS[name].default }));

function toConfig(v: Values): Config {
  const tls =
    v['tls-cert-file'] || v['tls-key-file']
      ? { certFile: v['tls-cert-file'] ?? '', keyFile: v['tls-key-file'] ?? '' }
      : undefined;
  return {
    kubeconfig: v.kubeconfig,
    namespaces: v.namespaces,
    defaultNamespace: v['default-namespace'],
    listen: v.listen,
    streamTicketKeyFile: v['stream-ticket-key-file'],
    auth: v.auth,
    logLevel: v['log-level'],
    webhooksConfig: v['webhooks-config'],
    tokenAudiences: v['token-audiences'],
    maxBodyBytes: v['max-body-bytes'],
    sourceMaxResultBytes: v['source-max-result-bytes'],
    corsAllowedOrigins: v['cors-allowed-origins'],
    maxStreams: v['max-streams'],
    maxStreamsPerCaller: v['max-streams-per-caller'],
    tls,
    leaderElection: {
      enabled: v['leader-elect'],
      namespace: v['leader-election-namespace'],
      id: v['leader-election-id'],
      leaseDurationMs: v['leader-election-lease-duration'],
      renewDeadlineMs: v['leader-election-renew-deadline'],
      retryPeriodMs: v['leader-election-retry-period'],
    },
    shutdownTimeoutMs: v['shutdown-timeout'],
    http: {
      headersTimeoutMs: v['http-headers-timeout'],
      requestTimeoutMs: v['http-request-timeout'],
      keepAliveTimeoutMs: v['http-keep-alive-timeout'],
    },
    statusQps: v['status-qps'],
    statusBurst: v['status-burst'],
    argocdNamespace: v['argocd-namespace'],
    exposeToRequired: v['expose-to-required'],
    configMapProjections: v['configmap-projections'],
    revisionHistoryLimit: v['revision-history-limit'],
    argocdApplicationMapping: v['argocd-application-mapping'],
    argocdApplicationNamespaces: v['argocd-application-namespaces'],
  };
}

/** A configuration problem found after flag parsing (an unreadable file, say): also exit code 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export const envName = (flag: string) => `FLAGOPS_${flag.toUpperCase().replace(/-/g, '_')}`;

export function usage(): string {
  const lines = FLAG_NAMES.map((name) => {
    const d = FLAGS[name].default;
    const def = d !== undefined ? ` (default "${d}")` : '';
    return `  --${name.padEnd(33)} ${FLAGS[name].help}${def}\n  ${' '.repeat(35)} env ${envName(name)}`;
  });
  return `Usage: flagops-data-store [flags]\n\nFlags:\n${lines.join('\n')}\n  --${'help'.padEnd(33)} show this help\n`;
}

export type ParseResult = { config: Config } | { help: true } | { error: string };

/**
 * The flags given on the command line, by name (the last wins). Every flag is a string to parseArgs, so that
 * `--leader-elect=false` and `--leader-elect false` work; a boolean flag given bare (last, or before another
 * `--flag`) means true. parseArgs would take the next argument as its value, so bare ones get `=true` first.
 */
function givenFlags(argv: readonly string[]): Map<FlagName, string> | { help: true } | { error: string } {
  const args = argv.map((arg, i) => {
    const name = arg.slice(2);
    const bare = arg.startsWith('--') && isFlag(name) && FLAGS[name].boolean;
    const next = argv[i + 1];
    return bare && (next === undefined || next.startsWith('--')) ? `${arg}=true` : arg;
  });
  const { tokens } = parseArgs({
    args,
    options: {
      ...Object.fromEntries(FLAG_NAMES.map((n) => [n, { type: 'string' as const }])),
      help: { type: 'boolean', short: 'h' },
    },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const given = new Map<FlagName, string>();
  for (const t of tokens) {
    if (t.kind === 'option' && t.name === 'help') return { help: true };
    if (t.kind !== 'option' || !isFlag(t.name) || !t.rawName.startsWith('--')) {
      const arg = t.kind === 'option' ? t.rawName : t.kind === 'positional' ? t.value : '--';
      return { error: `unknown flag ${arg}` };
    }
    if (t.value === undefined) return { error: `flag --${t.name} needs a value` };
    given.set(t.name, t.value);
  }
  return given;
}

/** Checks across flags, after each flag's own. */
function crossCheck(config: Config): string | undefined {
  if (config.namespaces.length > 0 && !config.namespaces.includes(config.defaultNamespace))
    return `--default-namespace=${config.defaultNamespace} is not among --namespaces (${config.namespaces.join(',')}); the prototype routes and OFREP read there`;
  const le = config.leaderElection;
  if (le.enabled && (le.renewDeadlineMs >= le.leaseDurationMs || le.retryPeriodMs >= le.renewDeadlineMs))
    return 'leader election needs retry-period < renew-deadline < lease-duration';
  if (
    config.argocdApplicationNamespaces.length > 0 &&
    !(
      config.argocdNamespace &&
      (config.argocdApplicationMapping.includes('annotation') ||
        config.argocdApplicationMapping.includes('tracking'))
    )
  )
    return '--argocd-application-namespaces needs --argocd-namespace and --argocd-application-mapping with annotation or tracking';
  if (config.http.headersTimeoutMs > config.http.requestTimeoutMs)
    return '--http-headers-timeout must not be longer than --http-request-timeout';
  if (config.tls && (!config.tls.certFile || !config.tls.keyFile))
    return '--tls-cert-file and --tls-key-file go together';
  if (config.auth === 'none' && !isLoopback(config.listen.host))
    return `--auth=none serves every fact and secret to anyone who can connect, so it only listens on loopback; use --listen=127.0.0.1:${config.listen.port}`;
  return undefined;
}

export function parseConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParseResult {
  const given = givenFlags(argv);
  if (!(given instanceof Map)) return given;
  const values: Partial<Record<FlagName, unknown>> = {};
  for (const name of FLAG_NAMES) {
    const parsed = FLAGS[name].value.safeParse(
      given.get(name) ?? env[envName(name)] ?? FLAGS[name].default ?? '',
    );
    if (!parsed.success) return { error: `invalid --${name}: ${parsed.error.issues[0]?.message}` };
    values[name] = parsed.data;
  }
  const config = toConfig(values as Values);
  // Watching some namespaces only: the default namespace is the first of them unless one is given.
  const defaultGiven = given.has('default-namespace') || env[envName('default-namespace')] !== undefined;
  if (config.namespaces.length > 0 && !defaultGiven) config.defaultNamespace = config.namespaces[0]!;
  const error = crossCheck(config);
  return error === undefined ? { config } : { error };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}
