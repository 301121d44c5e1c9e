/**
 * A small REST client. The generated clients of client-node make content types for server-side apply and status
 * patches awkward; this one speaks the API server's JSON directly and turns every non-2xx answer into a
 * KubeApiError whose message is the API server's own (never the request body). Credentials come from a
 * KubeAccess (access.ts).
 */
import { fetch } from 'undici';
import { accessFromKubeConfig, type KubeAccess } from './access.js';
import { KubeApiError, type KubeStatusCause } from './errors.js';

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** Told the length of a successful response's body, in characters (how big a list page came out). */
  onResponseChars?: (chars: number) => void;
}

export const CONTENT_TYPE = {
  json: 'application/json',
  mergePatch: 'application/merge-patch+json',
  jsonPatch: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

/** What the client needs of a client-node KubeConfig, for callers (tests, tools) that hold one. */
export interface ClientNodeConfig {
  getCurrentCluster(): { server: string } | null;
  applySecurityAuthentication(ctx: unknown): Promise<void>;
}

export class KubeClient {
  readonly server: string;
  readonly access: KubeAccess;

  constructor(
    source: KubeAccess | ClientNodeConfig,
    private readonly defaultTimeoutMs = 15_000,
  ) {
    if ('prepare' in source) this.access = source;
    else {
      const cluster = source.getCurrentCluster();
      if (!cluster) throw new Error('the kubeconfig has no current cluster');
      let access: Promise<KubeAccess> | undefined;
      this.access = {
        server: cluster.server.replace(/\/$/, ''),
        prepare: async (url, method) => {
          access ??= accessFromKubeConfig(source);
          return (await access).prepare(url, method);
        },
      };
    }
    this.server = this.access.server;
  }

  async request<T>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    opts: RequestOptions = {},
  ): Promise<T> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const auth = await this.access.prepare(url.toString(), method);
    const headers: Record<string, string> = {
      ...auth.headers,
      accept: 'application/json',
      ...opts.headers,
    };
    if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? CONTENT_TYPE.json;
    let response: Awaited<ReturnType<typeof fetch>>;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        dispatcher: auth.dispatcher,
        signal: AbortSignal.timeout(opts.timeoutMs ?? this.defaultTimeoutMs),
      });
    } catch (cause) {
      // Network errors and timeouts: the caller treats status 0 as transient and retries.
      throw new KubeApiError(
        0,
        'ServiceUnavailable',
        `the Kubernetes API server is unreachable: ${describe(cause)}`,
        {
          cause,
        },
      );
    }
    const text = await response.text();
    if (response.ok) {
      opts.onResponseChars?.(text.length);
      try {
        return (text ? JSON.parse(text) : undefined) as T;
      } catch {
        // JSON.parse quotes a fragment of its input in its message; that input may be Secret data.
        throw new KubeApiError(
          0,
          'InvalidResponse',
          `the Kubernetes API server sent a malformed response (HTTP ${response.status})`,
        );
      }
    }
    throw toApiError(response.status, text, response.headers.get('retry-after'));
  }

  get<T>(path: string, opts?: RequestOptions) {
    return this.request<T>('GET', path, opts);
  }
  create<T>(path: string, body: unknown, opts?: RequestOptions) {
    return this.request<T>('POST', path, { ...opts, body });
  }
  delete<T>(path: string, opts?: RequestOptions) {
    return this.request<T>('DELETE', path, opts);
  }
  mergePatch<T>(path: string, patch: unknown, opts?: RequestOptions) {
    return this.request<T>('PATCH', path, { ...opts, body: patch, contentType: CONTENT_TYPE.mergePatch });
  }
  /** Server-side apply under `fieldManager`; JSON is valid YAML, so the body is sent as JSON. */
  apply<T>(
    path: string,
    obj: unknown,
    fieldManager: string,
    opts: RequestOptions & { force?: boolean } = {},
  ) {
    return this.request<T>('PATCH', path, {
      ...opts,
      query: { ...opts.query, fieldManager, force: opts.force ? true : undefined },
      body: obj,
      contentType: CONTENT_TYPE.apply,
    });
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}

function toApiError(status: number, text: string, retryAfter: string | null): KubeApiError {
  let reason = '';
  let message = text.slice(0, 500) || `HTTP ${status}`;
  let causes: KubeStatusCause[] = [];
  try {
    const s = JSON.parse(text) as {
      reason?: string;
      message?: string;
      details?: { causes?: KubeStatusCause[] };
    };
    reason = s.reason ?? '';
    message = s.message ?? message;
    causes = s.details?.causes ?? [];
  } catch {
    // not a Status object: keep the raw (truncated) text
  }
  const retryAfterSeconds = retryAfter ? Number(retryAfter) || undefined : undefined;
  return new KubeApiError(status, reason, message, { causes, retryAfterSeconds });
}
