import { describeFetchError, FlagopsStoreError } from './errors.js';
import type { TokenSource } from './token.js';

/**
 * One fact value as the store serves it: a string, a number (an integer or a decimal) or a boolean, with its
 * JSON type. A quoted `"true"` is the string `'true'`, not the boolean; nothing here converts between types.
 */
export type FactValue = string | number | boolean;

/** The facts of one identity: plain key/values, each a {@link FactValue}. */
export type Facts = Record<string, FactValue>;

export interface StoreClientOptions {
  baseUrl: string;
  timeoutMs: number;
  fetch: typeof fetch;
  tokens: TokenSource;
}

/** Thin HTTP client for the data store's REST API; maps every failure to a {@link FlagopsStoreError}. */
export class StoreClient {
  constructor(private readonly options: StoreClientOptions) {}

  factsUrl(namespace: string, identity: string): string {
    const [ns, id] = [encodeURIComponent(namespace), encodeURIComponent(identity)];
    return `${this.options.baseUrl}/api/v1/namespaces/${ns}/identities/${id}/facts`;
  }

  /** The change feed, for every namespace or only `namespace`. */
  watchUrl(namespace?: string): string {
    const query = namespace === undefined ? '' : `?namespace=${encodeURIComponent(namespace)}`;
    return `${this.options.baseUrl}/api/v1/watch${query}`;
  }

  /** Reads the facts of `namespace/identity`; an identity without facts yields `{}`. */
  async getFacts(namespace: string, identity: string): Promise<Facts> {
    const url = this.factsUrl(namespace, identity);
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    try {
      const res = await this.send(url, { headers: { accept: 'application/json' }, signal });
      const body = await readJson(res);
      if (res.status === 200) {
        if (!isPlainObject(body)) {
          throw this.error('invalid-response', `expected a JSON object of facts from ${url}`);
        }
        // The store types every fact; anything else is not its answer, and is refused rather than
        // handed to flag rules as a value they were never written for.
        const bad = Object.keys(body).find((name) => !isFactValue(body[name]));
        if (bad !== undefined) {
          throw this.error(
            'invalid-response',
            `fact ${JSON.stringify(bad)} from ${url} is not a string, a number or a boolean`,
          );
        }
        return body as Facts;
      }
      // The store answers 404 + {"error":…} for an identity that has no facts yet. A 404 without
      // that body comes from something else (wrong baseUrl, a proxy) and must not read as "no facts".
      if (res.status === 404 && isPlainObject(body) && 'error' in body) return {};
      throw this.statusError(res.status, body);
    } catch (err) {
      if (err instanceof FlagopsStoreError) throw err;
      throw this.error('unreachable', describeFetchError(err), err);
    }
  }

  /**
   * `fetch` with the bearer token. A 401 with a file-based token re-reads the file once and
   * retries, since kubelet may have rotated the token since we last looked.
   */
  async send(url: string, init: RequestInit & { headers: Record<string, string> }): Promise<Response> {
    const { tokens, fetch } = this.options;
    const first = await tokens.get();
    const res = await fetch(url, { ...init, headers: withToken(init.headers, first) });
    if (res.status !== 401 || !tokens.rotates) return res;
    tokens.invalidate();
    const second = await tokens.get();
    if (second === first) return res;
    await res.body?.cancel();
    return fetch(url, { ...init, headers: withToken(init.headers, second) });
  }

  /** Maps a non-success HTTP status to the error the evaluation reports. */
  statusError(status: number, body?: unknown): FlagopsStoreError {
    const detail = serverMessage(body);
    const suffix = detail ? `: ${detail}` : '';
    if (status === 401 || status === 403) {
      return this.error('unauthorized', `request rejected with HTTP ${status}${suffix}`, undefined, status);
    }
    if (status >= 500 || status === 429) {
      return this.error('unreachable', `HTTP ${status}${suffix}`, undefined, status);
    }
    return this.error('invalid-response', `unexpected HTTP ${status}${suffix}`, undefined, status);
  }

  private error(
    kind: FlagopsStoreError['kind'],
    detail: string,
    cause?: unknown,
    status?: number,
  ): FlagopsStoreError {
    const what =
      kind === 'unreachable'
        ? 'flagops data store unreachable'
        : kind === 'unauthorized'
          ? 'flagops data store denied access'
          : 'flagops data store gave an invalid answer';
    return new FlagopsStoreError(kind, `${what} (${this.options.baseUrl}): ${detail}`, { cause, status });
  }
}

function withToken(headers: Record<string, string>, token: string | undefined): Record<string, string> {
  return token ? { ...headers, authorization: `Bearer ${token}` } : headers;
}

/** The body as JSON, or undefined when it is not JSON (an HTML error page, an empty 502…). */
async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What the store serves as a fact value; objects, lists and nulls are not facts. */
function isFactValue(value: unknown): value is FactValue {
  return (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

/** `error.message` of the store's `{"error":{"code","message"}}` body, when present. */
function serverMessage(body: unknown): string | undefined {
  if (!isPlainObject(body) || !isPlainObject(body.error)) return undefined;
  const { message } = body.error;
  return typeof message === 'string' ? message : undefined;
}
