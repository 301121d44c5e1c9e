import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type FactValue = string | number | boolean;

interface Change {
  revision: number;
  kind: 'facts' | 'secrets';
  action: 'upsert' | 'delete';
  namespace: string;
  name: string;
  keys: string[];
}

/**
 * A small in-process stand-in for the data store's HTTP contract: facts GET/PUT, the SSE watch
 * feed with `Last-Event-ID` resume and `event: reset`, bearer-token checks and an outage switch.
 */
export class FakeStore {
  /** Required bearer token; undefined accepts any request, with or without a header. */
  token: string | undefined;
  /** When set, every request is answered with this status (simulates an unhealthy store). */
  failWith: number | undefined;
  /** When true, requests are accepted but never answered (simulates a hung store). */
  stall = false;
  /** When true, watching every namespace is forbidden (403); `?namespace=` is allowed. */
  forbidClusterWatch = false;
  /** Oldest revision the feed can still resume after; older `Last-Event-ID`s get `event: reset`. */
  resumableAfter = 0;
  readonly requests: Array<{
    method: string;
    path: string;
    query: string;
    authorization: string | undefined;
    lastEventId?: string;
  }> = [];
  /** `unknown` values so that a test can make it serve what the real store never would. */
  private readonly facts = new Map<string, Record<string, unknown>>();
  private readonly history: Change[] = [];
  /** Open watch streams and the namespace each one filters on (undefined: all). */
  private readonly streams = new Map<ServerResponse, string | undefined>();
  private revision = 0;
  private server: Server | undefined;
  private port = 0;

  async start(port = 0): Promise<string> {
    const server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Closes the listener and every connection, so the port refuses connections until `start(port)`. */
  async stop(): Promise<void> {
    for (const res of this.streams.keys()) res.destroy();
    this.streams.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Restarts on the same port after `stop()`. */
  async restart(): Promise<void> {
    await this.start(this.port);
  }

  get watchers(): number {
    return this.streams.size;
  }

  setFact(namespace: string, identity: string, name: string, value: FactValue): void {
    const key = `${namespace}/${identity}`;
    this.facts.set(key, { ...this.facts.get(key), [name]: value });
    this.publish({ kind: 'facts', action: 'upsert', namespace, name: identity, keys: [name] });
  }

  /** Sets several facts at once, with one change event (as a PATCH of the real store). */
  setFacts(namespace: string, identity: string, facts: Record<string, FactValue>): void {
    const key = `${namespace}/${identity}`;
    this.facts.set(key, { ...this.facts.get(key), ...facts });
    this.publish({ kind: 'facts', action: 'upsert', namespace, name: identity, keys: Object.keys(facts) });
  }

  /** Serves `value` as a fact even though it is no fact value (an object, a list, null…). */
  setInvalidFact(namespace: string, identity: string, name: string, value: unknown): void {
    const key = `${namespace}/${identity}`;
    this.facts.set(key, { ...this.facts.get(key), [name]: value });
  }

  /** Changes a fact without telling watchers, to tell cache hits from fresh reads. */
  setFactSilently(namespace: string, identity: string, name: string, value: FactValue): void {
    const key = `${namespace}/${identity}`;
    this.facts.set(key, { ...this.facts.get(key), [name]: value });
  }

  publish(change: Omit<Change, 'revision'>): void {
    const full = { revision: ++this.revision, ...change };
    this.history.push(full);
    for (const [res, ns] of this.streams)
      if (ns === undefined || ns === full.namespace) writeChange(res, full);
  }

  /** Sends raw text to every watcher. */
  broadcast(text: string): void {
    for (const res of this.streams.keys()) res.write(text);
  }

  /** Ends every watch stream from the server side (as a store restart would). */
  dropWatchers(): void {
    for (const res of this.streams.keys()) res.end();
    this.streams.clear();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const lastEventId = header(req, 'last-event-id');
    this.requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: url.search,
      authorization: header(req, 'authorization'),
      ...(lastEventId !== undefined ? { lastEventId } : {}),
    });
    if (this.stall) return;
    if (this.failWith !== undefined) {
      json(res, this.failWith, { error: { code: 'Unavailable', message: 'down' } });
    } else if (this.token !== undefined && header(req, 'authorization') !== `Bearer ${this.token}`) {
      json(res, 401, { error: { code: 'Unauthorized', message: 'bad token' } });
    } else {
      this.route(req, res, url, lastEventId);
    }
  }

  private route(req: IncomingMessage, res: ServerResponse, url: URL, lastEventId: string | undefined): void {
    const facts = url.pathname.match(
      /^\/api\/v1\/namespaces\/([^/]+)\/identities\/([^/]+)\/facts(?:\/([^/]+))?$/,
    );
    const [, ns = '', id = '', name] = (facts ?? []).map((s) =>
      s === undefined ? s : decodeURIComponent(s),
    );
    const key = `${ns}/${id}`;
    if (facts && req.method === 'GET' && !name) {
      const found = this.facts.get(key);
      if (found) json(res, 200, found);
      else json(res, 404, { error: { code: 'NotFound', message: `identity ${key} has no facts` } });
    } else if (facts && req.method === 'PUT' && name) {
      void readBody(req).then((body) => {
        const value = (JSON.parse(body) as { value: FactValue }).value;
        this.setFact(ns, id, name, value);
        json(res, 200, { name, value });
      });
    } else if (req.method === 'GET' && url.pathname === '/api/v1/watch') {
      const namespace = url.searchParams.get('namespace') ?? undefined;
      if (this.forbidClusterWatch && namespace === undefined) {
        json(res, 403, { error: { code: 'Forbidden', message: 'may not watch all namespaces' } });
      } else {
        this.watch(res, lastEventId, namespace);
      }
    } else {
      json(res, 404, { error: { code: 'NotFound', message: 'no route' } });
    }
  }

  private watch(res: ServerResponse, lastEventId: string | undefined, namespace: string | undefined): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    res.write(': connected\n\n');
    if (lastEventId !== undefined) {
      const after = Number(lastEventId);
      if (!Number.isInteger(after) || after < this.resumableAfter) res.write('event: reset\ndata: {}\n\n');
      else
        for (const change of this.history) {
          if (change.revision > after && (namespace === undefined || change.namespace === namespace)) {
            writeChange(res, change);
          }
        }
    }
    this.streams.set(res, namespace);
    res.on('close', () => this.streams.delete(res));
  }
}

function writeChange(res: ServerResponse, change: Change): void {
  res.write(`id: ${change.revision}\nevent: change\ndata: ${JSON.stringify(change)}\n\n`);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}
