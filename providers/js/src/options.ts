import type { Logger } from '@openfeature/core';
import { isNamespaceName } from './names.js';

/** Where in-cluster pods find their (kubelet-rotated) ServiceAccount token. */
export const DEFAULT_TOKEN_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** Options shared by {@link FlagopsContextHook} and {@link FlagopsProvider}. */
export interface FlagopsOptions {
  /** Base URL of the data store, e.g. `http://flagops-data-store.flagops-system.svc:8080`. */
  baseUrl: string;
  /** Namespace used when the evaluation context has no `namespace` attribute. Default `"default"`. */
  defaultNamespace?: string;
  /**
   * Fixed bearer token. Takes precedence over `tokenFile`. An empty string means "send no
   * Authorization header" and also turns off the default token file.
   */
  token?: string;
  /**
   * File holding the bearer token; re-read when it changes (kubelet rotates projected tokens) and
   * after a 401. When neither `token` nor `tokenFile` is given, the in-cluster ServiceAccount token
   * is used if that file exists, else no header is sent.
   */
  tokenFile?: string;
  /** How long facts of one identity are cached. Default 30 000 ms; 0 disables the cache. */
  cacheTtlMs?: number;
  /** Timeout of one facts request (and of opening the watch stream). Default 2000 ms. */
  timeoutMs?: number;
  /** Follow `/api/v1/watch` to drop cached facts as soon as they change. Default true. */
  watch?: boolean;
  /** `fetch` implementation to use (tests, proxies). Default the global `fetch`. */
  fetch?: typeof fetch;
  /** Where to log. Default the OpenFeature SDK's logger once one is seen, console before that. */
  logger?: Logger;
}

/** Options after defaults are applied. */
export interface ResolvedOptions {
  baseUrl: string;
  defaultNamespace: string;
  token: string | undefined;
  tokenFile: string | undefined;
  /** True when `tokenFile` is only the in-cluster default, so its absence is not an error. */
  tokenFileOptional: boolean;
  cacheTtlMs: number;
  timeoutMs: number;
  watch: boolean;
  fetch: typeof fetch;
  logger: Logger | undefined;
}

export function resolveOptions(options: FlagopsOptions): ResolvedOptions {
  if (!options || typeof options.baseUrl !== 'string' || options.baseUrl === '') {
    throw new TypeError('flagops: option baseUrl is required');
  }
  // Validate early so a typo fails at start-up rather than on every evaluation.
  const url = new URL(options.baseUrl);
  const defaultNamespace = options.defaultNamespace || 'default';
  if (!isNamespaceName(defaultNamespace)) {
    throw new TypeError(
      `flagops: defaultNamespace ${JSON.stringify(defaultNamespace)} is not a namespace name`,
    );
  }
  const tokenFile = options.token !== undefined ? undefined : (options.tokenFile ?? DEFAULT_TOKEN_FILE);
  return {
    baseUrl: url.href.replace(/\/+$/, ''),
    defaultNamespace,
    token: options.token,
    tokenFile,
    tokenFileOptional: options.tokenFile === undefined,
    cacheTtlMs: atLeast(options.cacheTtlMs, 30_000, 0, 'cacheTtlMs'),
    timeoutMs: atLeast(options.timeoutMs, 2_000, 1, 'timeoutMs'),
    watch: options.watch ?? true,
    fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    logger: options.logger,
  };
}

function atLeast(value: number | undefined, fallback: number, min: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min) {
    throw new TypeError(`flagops: option ${name} must be a number >= ${min}`);
  }
  return value;
}
