/**
 * The one route table's types. Each route is declared once (method, path, the permission it needs or `public`,
 * its params/query/body schemas, its responses, its handler), and everything else derives from the list in
 * `route-table.ts`: the Fastify registration, the 405 + `Allow` table, metric and log route labels (the templates),
 * CORS preflights and the OpenAPI document.
 *
 * **Authorisation is the framework's** (`app.ts`), never the handler's to remember. A route declares exactly one
 * of:
 *
 * - `public: true`: no authentication, no authorisation (health, metrics, the UI's files, signed webhooks);
 * - `permission`: a permission built from the path and query, checked after authentication and before the
 *   body is read;
 * - `bodyPermission`: a permission that depends on the parsed body (OFREP's `context.targetingKey`, the
 *   ApplicationSet generator's namespace), checked after the body is parsed and before the handler runs;
 * - `authorizeInHandler`: the escape hatch, for a permission that only the handler can work out (say, a change
 *   feed that filters events by what the caller may read per identity). The string says why. The handler gets
 *   `ctx.authorize`, and a 2xx answer from a handler that never called it is refused as a 500, so it cannot be
 *   forgotten either.
 *
 * Any route may call `ctx.authorize` for an additional permission (deleting an identity that has secrets).
 * `checkRouteTable` enforces the rule at start-up and in a unit test.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { FactRevisions } from '../controller/fact-history/revisions.js';
import type { Metrics } from '../metrics/metrics.js';
import type { StoreReader } from '../store/store.js';
import type { Writer } from '../writes/writer.js';
import type { User } from './auth/authenticator.js';
import type { Permission } from './auth/authorizer.js';
import type { Auth } from './auth/middleware.js';
import type { TicketCodec } from './routes/stream-ticket.js';
import type { UiAssets } from './ui/assets.js';
import type { WebhookRuntime } from './webhooks/runtime.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export const METHODS: readonly Method[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** Where a permission's namespace or name comes from. */
export type Source = { param: string } | { query: string } | 'defaultNamespace';

/** A permission built from the request's path and query: `verb resource[/subresource]`, scoped. */
export interface PermissionSpec {
  verb: Permission['verb'];
  resource: Permission['resource'];
  subresource?: Permission['subresource'];
  /** Absent (or an absent query parameter): cluster-wide. */
  namespace?: Source;
  name?: Source;
}

/** One path parameter: its schema and the field name a 400 names. */
export interface ParamSpec<T = unknown> {
  schema: z.ZodType<T>;
  field: string;
  description: string;
  /** A parameter that stands for several: the params it provides instead of its own (see `expand`). */
  provides?: readonly string[];
  expand?: (value: T, defaultNamespace: string) => Record<string, unknown>;
}

/** Open change-feed streams, counted for the global and per-caller caps. */
export interface StreamSlots {
  readonly open: Set<ServerResponse>;
  readonly perCaller: Map<string, number>;
  readonly max: number;
  readonly maxPerCaller: number;
}

/** What handlers reach: built once per server by `createApp`. */
export interface ServerContext {
  readonly reader: StoreReader;
  readonly auth: Auth;
  /** The one path by which requests write to Kubernetes. */
  readonly writer: Writer;
  readonly defaultNamespace: string;
  readonly ready: () => boolean;
  readonly log: Logger;
  readonly metrics?: Metrics;
  /** FactRevisions in the API server (history reads). */
  readonly history?: FactRevisions;
  readonly streams: StreamSlots;
  readonly heartbeatMs: number;
  /** Seals and opens the tickets of OFREP event-stream URLs (stream-ticket.ts). */
  readonly tickets: TicketCodec;
  readonly webhooks?: WebhookRuntime;
  readonly ui: UiAssets | undefined;
  readonly openapi: () => unknown;
}

export interface RouteContext<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  /** The authenticated caller; `ANONYMOUS` for a token-less request, `LOCAL_USER` with --auth=none. */
  readonly user: User;
  readonly deps: ServerContext;
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  /** Throws 401/403 unless the caller has every permission given. */
  authorize(...permissions: Permission[]): Promise<void>;
  /** The raw request body (for a route without a `body` schema, such as a signed webhook). */
  readRaw(): Promise<Buffer>;
}

export interface ResponseDoc {
  description: string;
  /** JSON body (absent: no body, or not JSON). */
  schema?: z.ZodType;
  contentType?: string;
}

/**
 * How errors are written: the API's `{"error": {…}}`; the same with the message also as the status line's
 * reason phrase (`prototype`: the prototype's Go provider reports a failed write as `resp.Status`, nothing else);
 * or OFREP's bodies (single evaluation carries the key).
 */
export type ErrorFormat = 'api' | 'prototype' | 'ofrep-single' | 'ofrep-bulk';

export interface Route<P = unknown, Q = unknown, B = unknown> {
  readonly method: Method;
  /** Fastify syntax: `/api/v1/namespaces/:ns/identities/:id/facts`. Also the metric and log label. */
  readonly path: string;
  readonly tags: readonly string[];
  readonly summary: string;

  readonly public?: true;
  readonly permission?: PermissionSpec;
  readonly bodyPermission?: {
    /** How the permission reads in the docs, e.g. `get deploymentfacts {targetingKey}`. */
    readonly describe: string;
    of(body: B, deps: ServerContext): Permission;
  };
  readonly authorizeInHandler?: string;

  readonly params?: { readonly [K in keyof P]: ParamSpec<P[K]> };
  /** Parsed with field prefix `query`; a strict object refuses unknown parameters. */
  readonly query?: z.ZodType<Q>;
  /** The JSON body's schema: what is validated (400 naming the field) and documented. */
  readonly body?: z.ZodType<B>;
  /** Replaces the schema's parse for a body whose errors have their own codes (OFREP). */
  readonly parseBody?: (json: unknown, deps: ServerContext) => B;
  /** `json` (default): only a JSON Content-Type is read. `any`: JSON whatever the Content-Type (prototype). */
  readonly bodyType?: 'json' | 'any';
  /** Extra OpenAPI parameters (headers). */
  readonly docParameters?: readonly object[];
  /** A signed webhook's request body, documented though read raw. */
  readonly docBody?: z.ZodType;

  readonly responses: Readonly<Record<number, ResponseDoc>>;
  /** Error statuses for the docs (503 is implied on authenticated routes). */
  readonly errors: readonly number[];
  readonly errorFormat?: ErrorFormat;
  /** Served to browsers on other origins allowed by --cors-allowed-origins. */
  readonly cors?: true;
  /**
   * 404 for a namespace outside --namespaces (checked after authorisation): the permission's namespace, from the
   * path, the query or the body, else `:ns`. A cluster-wide request (no namespace) is not checked.
   */
  readonly watchedNamespace?: true;

  /** The answer: a value is sent as JSON with status 200 unless the handler set another. */
  handler(ctx: RouteContext<P, Q, B>): unknown;
}

// biome-ignore lint/suspicious/noExplicitAny: a table holds routes of every parameter type
export type AnyRoute = Route<any, any, any>;

/** Declares a route with its types inferred. */
export const route = <P, Q, B>(r: Route<P, Q, B>): AnyRoute => r as AnyRoute;

/** Throws unless every route declares exactly one way to be authorised, and no method/path is declared twice. */
export function checkRouteTable(routes: readonly AnyRoute[]): void {
  const seen = new Set<string>();
  for (const r of routes) {
    const id = `${r.method} ${r.path}`;
    if (seen.has(id)) throw new Error(`route ${id} is declared twice`);
    seen.add(id);
    const ways = [r.public, r.permission, r.bodyPermission, r.authorizeInHandler].filter(
      (w) => w !== undefined,
    ).length;
    if (ways === 0)
      throw new Error(
        `route ${id} declares no permission: give it permission, bodyPermission, authorizeInHandler or public: true`,
      );
    if (ways > 1) throw new Error(`route ${id} declares more than one way to be authorised`);
    if (r.bodyPermission && !r.body && !r.parseBody)
      throw new Error(`route ${id} has a bodyPermission but no body`);
    const declared = new Set<string>();
    for (const [key, spec] of Object.entries((r.params ?? {}) as Record<string, ParamSpec>)) {
      for (const p of spec.provides ?? [key]) declared.add(p);
    }
    for (const s of [r.permission?.namespace, r.permission?.name]) {
      if (s && typeof s === 'object' && 'param' in s && !declared.has(s.param))
        throw new Error(`route ${id}: its permission names a path parameter ${s.param} it does not declare`);
    }
    const ns = r.permission?.namespace;
    const namespaced =
      declared.has('ns') || r.bodyPermission !== undefined || (typeof ns === 'object' && 'query' in ns);
    if (r.watchedNamespace && !namespaced)
      throw new Error(
        `route ${id} checks the watched namespace but names none (no :ns, query or body namespace)`,
      );
  }
}

/** The permission a spec names for one request's parsed params and query. */
export function resolvePermission(
  spec: PermissionSpec,
  params: Record<string, unknown>,
  query: Record<string, unknown> | undefined,
  defaultNamespace: string,
): Permission {
  const value = (s: Source | undefined): string | undefined => {
    if (s === undefined) return undefined;
    if (s === 'defaultNamespace') return defaultNamespace;
    if ('param' in s) return params[s.param] as string;
    return query?.[s.query] as string | undefined;
  };
  const p: Permission = { verb: spec.verb, resource: spec.resource };
  if (spec.subresource) p.subresource = spec.subresource;
  const namespace = value(spec.namespace);
  if (namespace !== undefined) p.namespace = namespace;
  const name = value(spec.name);
  if (name !== undefined) p.name = name;
  return p;
}

/** `get deploymentfacts {id} in {ns}`: a permission spec as the docs show it. */
export function describePermissionSpec(spec: PermissionSpec): string {
  const show = (s: Source | undefined, what: string) => {
    if (s === undefined) return what === 'namespace' ? 'cluster-wide' : '';
    if (s === 'defaultNamespace') return 'in the default namespace';
    const v = 'param' in s ? `{${s.param}}` : `?${s.query}`;
    return what === 'namespace' ? `in ${v}${'query' in s ? ' (cluster-wide without it)' : ''}` : v;
  };
  const res = `${spec.resource}${spec.subresource ? `/${spec.subresource}` : ''}`;
  return [spec.verb, res, show(spec.name, 'name'), show(spec.namespace, 'namespace')]
    .filter(Boolean)
    .join(' ');
}
