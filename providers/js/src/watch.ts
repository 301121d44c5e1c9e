import { describeFetchError, FlagopsStoreError } from './errors.js';
import { SseParser } from './sse.js';
import type { StoreClient } from './store-client.js';

/** The server pings every 15 s; three missed pings mean a dead (possibly half-open) connection. */
const IDLE_TIMEOUT_MS = 45_000;
const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;

/** The JSON payload of an `event: change`. */
export interface ChangeEvent {
  revision?: number;
  kind: 'facts' | 'secrets' | string;
  action: 'upsert' | 'delete' | string;
  namespace: string;
  name: string;
  keys?: string[];
}

export interface WatcherOptions {
  client: StoreClient;
  /** Timeout for the server to answer the watch request (not for the stream itself). */
  connectTimeoutMs: number;
  /** Facts of `namespace/name` changed. */
  onChange(change: ChangeEvent): void;
  /** Changes may have been missed (fresh stream, `event: reset`, unreadable event): drop everything. */
  onReset(reason: string): void;
  log(level: 'debug' | 'info' | 'warn', message: string): void;
  /**
   * Namespace to watch instead when watching every namespace is forbidden (403): a token with
   * namespace-scoped RBAC can still keep that namespace's facts fresh.
   */
  fallbackNamespace?: string;
  idleTimeoutMs?: number;
  maxDelayMs?: number;
}

/**
 * Capped exponential backoff with jitter: attempt 0 waits 250–500 ms, doubling up to the cap, so
 * a fleet of clients does not reconnect in lock-step after a store restart.
 */
export function backoffDelay(
  attempt: number,
  baseMs = MIN_DELAY_MS,
  maxMs = MAX_DELAY_MS,
  random = Math.random,
) {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Follows `GET /api/v1/watch` in the background and reports changes. Reconnects with backoff and
 * `Last-Event-ID`; `close()` aborts the request and clears every timer, so nothing it started
 * keeps Node alive afterwards.
 */
export class Watcher {
  private closed = false;
  private loop: Promise<void> | undefined;
  private controller: AbortController | undefined;
  private sleepTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private lastEventId: string | undefined;
  private retryMs: number | undefined;
  private failing = false;
  private isConnected = false;
  /** undefined: every namespace. */
  private namespace: string | undefined;

  constructor(private readonly options: WatcherOptions) {}

  /** True while a stream is established, i.e. while cached facts are kept fresh by it. */
  get connected(): boolean {
    return this.isConnected;
  }

  start(): void {
    if (this.loop || this.closed) return;
    this.loop = this.run();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.controller?.abort();
    clearTimeout(this.sleepTimer);
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.closed) {
      try {
        await this.stream();
        if (!this.closed)
          this.options.log('debug', 'flagops: watch stream ended by the server; reconnecting');
      } catch (err) {
        if (this.narrowScope(err)) continue;
        if (!this.closed) this.reportFailure(err);
      }
      if (this.closed) break;
      // A stream that got established resets the backoff; repeated failures to connect grow it.
      if (this.isConnected) attempt = 0;
      this.isConnected = false;
      const base = Math.max(100, this.retryMs ?? MIN_DELAY_MS);
      await this.sleep(backoffDelay(attempt++, base, this.options.maxDelayMs));
    }
    this.isConnected = false;
  }

  /** One connection: resolves when the server ends the stream, rejects on failure. */
  private async stream(): Promise<void> {
    const { client, connectTimeoutMs } = this.options;
    const controller = new AbortController();
    this.controller = controller;
    const headers: Record<string, string> = { accept: 'text/event-stream', 'cache-control': 'no-cache' };
    if (this.lastEventId !== undefined) headers['last-event-id'] = this.lastEventId;

    // Only the connect is bounded by the timeout; the stream itself is bounded by idleness.
    const connectTimer = setTimeout(
      () => controller.abort(new Error('watch connect timed out')),
      connectTimeoutMs,
    );
    connectTimer.unref();
    let res: Response;
    try {
      res = await client.send(client.watchUrl(this.namespace), { headers, signal: controller.signal });
    } finally {
      clearTimeout(connectTimer);
    }
    if (res.status !== 200 || !res.body) {
      const body = await res.text().catch(() => '');
      throw client.statusError(res.status, safeJson(body));
    }

    this.isConnected = true;
    if (this.failing) this.options.log('info', 'flagops: watch stream reconnected');
    else this.options.log('debug', 'flagops: watch stream connected');
    this.failing = false;
    // Without a resume point we cannot know what changed before this stream existed.
    if (this.lastEventId === undefined)
      this.options.onReset('watch stream (re)connected without a resume point');

    const parser = new SseParser(this.lastEventId);
    const decoder = new TextDecoder();
    const reader = res.body.getReader();
    const idleMs = this.options.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    const idleTimer = setTimeout(() => controller.abort(new Error('watch stream idle')), idleMs);
    idleTimer.unref();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        idleTimer.refresh();
        for (const event of parser.push(decoder.decode(value, { stream: true }))) {
          this.dispatch(event.event, event.data);
        }
        this.lastEventId = parser.lastEventId;
        if (parser.retryMs !== undefined) this.retryMs = parser.retryMs;
      }
    } finally {
      clearTimeout(idleTimer);
      controller.abort(); // release the socket whichever way we leave
    }
  }

  private dispatch(event: string, data: string): void {
    if (event === 'reset') {
      this.options.onReset('server sent event: reset');
      return;
    }
    if (event !== 'change') return;
    let change: unknown;
    try {
      change = JSON.parse(data);
    } catch {
      change = undefined;
    }
    if (!isChange(change)) {
      // Safer to drop the whole cache than to keep facts we were told changed.
      this.options.onReset(`unreadable change event: ${data.slice(0, 200)}`);
      return;
    }
    if (change.kind === 'facts') this.options.onChange(change);
  }

  /** On 403 for the cluster-wide feed, switch to the fallback namespace; true if it did. */
  private narrowScope(err: unknown): boolean {
    const { fallbackNamespace } = this.options;
    if (this.closed || this.namespace !== undefined || fallbackNamespace === undefined) return false;
    if (!(err instanceof FlagopsStoreError) || err.status !== 403) return false;
    this.namespace = fallbackNamespace;
    this.options.log(
      'info',
      'flagops: not allowed to watch every namespace (HTTP 403); ' +
        `watching namespace ${fallbackNamespace} only, ` +
        'facts of other namespaces refresh after the cache TTL',
    );
    return true;
  }

  private reportFailure(err: unknown): void {
    const detail = err instanceof FlagopsStoreError ? err.message : describeFetchError(err);
    if (this.failing) {
      this.options.log('debug', `flagops: watch stream still failing: ${detail}`);
      return;
    }
    this.failing = true;
    this.options.log(
      'warn',
      `flagops: watch stream to ${this.options.client.watchUrl(this.namespace)} failed: ${detail}; ` +
        'retrying with backoff ' +
        '(cached facts fall back to their TTL until it reconnects)',
    );
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.sleepTimer = setTimeout(resolve, ms);
      this.sleepTimer.unref();
    });
  }
}

function isChange(value: unknown): value is ChangeEvent {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.kind === 'string' && typeof v.namespace === 'string' && typeof v.name === 'string';
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
