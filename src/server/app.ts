/**
 * The HTTP server, on Fastify, built from the one route table (`routes.ts`). Reads come from the store only;
 * writes go to the API server through the writers. The framework, not the handlers, authenticates and
 * authorises each non-public route from the permission it declares (see `route.ts`).
 *
 * Per request, in this order: path parameters and query are validated (400 naming the field); the caller is
 * authenticated and the declared permission checked (401/403/503); a `:ns` outside --namespaces is a 404 (only
 * now, so that callers who may not ask learn nothing); the body is read (413 over --max-body-bytes), parsed
 * and validated (400); a body-dependent permission is checked; the handler answers.
 *
 * The hot path is lean: the handler wrapper of each route is built once at registration, body reading is lazy,
 * one onRequest and one onResponse hook serve every route (request id; metrics and the request log).
 */

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerFactory,
} from 'fastify';
import type { Logger } from 'pino';
import type { SecretObject } from '../api/types.js';
import type { FactRevisions } from '../controller/fact-history/revisions.js';
import type { Metrics } from '../metrics/metrics.js';
import type { StoreReader } from '../store/store.js';
import type { IdentityWriter } from '../writes/identity-writer.js';
import { ANONYMOUS, type User } from './auth/authenticator.js';
import type { Permission } from './auth/authorizer.js';
import { type Auth, authenticate, authorize } from './auth/middleware.js';
import { readJson, readRaw } from './body.js';
import { errorBody, HttpError, methodNotAllowed, notFound, reasonPhrase, toHttpError } from './errors.js';
import { openApiDocument } from './openapi.js';
import { isOrigin } from './origin.js';
import {
  type AnyRoute,
  checkRouteTable,
  METHODS,
  type ParamSpec,
  type RouteContext,
  resolvePermission,
  type ServerContext,
} from './route.js';
import { OfrepError, ofrepError } from './routes/ofrep.js';
import { ticketCodec } from './routes/stream-ticket.js';
import { DEFAULT_MAX_STREAMS, DEFAULT_MAX_STREAMS_PER_CALLER } from './routes/watch.js';
import { ROUTES } from './routes.js';
import { loadUi } from './ui/assets.js';
import { parse } from './validate.js';
import type { WebhookConfig } from './webhooks/config.js';
import { webhookRuntime } from './webhooks/runtime.js';

export interface ServerDeps {
  reader: StoreReader;
  /** The one path by which requests write to Kubernetes. */
  writer: IdentityWriter;
  auth: Auth;
  /** True once every informer has synced. */
  ready: () => boolean;
  log: Logger;
  defaultNamespace: string;
  maxBodyBytes?: number;
  metrics?: Metrics;
  /** Open change-feed responses, so that shutdown can end them. */
  streams?: Set<ServerResponse>;
  /** Most change-feed streams open at once on this replica, and per caller; more get 429. */
  maxStreams?: number;
  maxStreamsPerCaller?: number;
  /** Whether this operator watches a namespace (all, without --namespaces); other namespaces are 404. */
  watches?: (namespace: string) => boolean;
  /** FactRevisions in the API server, for history, ?revision and ?asOf (absent: those answer 404). */
  history?: FactRevisions;
  /** Signed webhooks (--webhooks-config); without any, a POST to a webhook is a 404. */
  webhooks?: {
    configs: readonly WebhookConfig[];
    /** Reads a webhook's key Secret (undefined when it does not exist). */
    readSecret: (namespace: string, name: string) => Promise<SecretObject | undefined>;
    onDelivery?: (webhook: string, result: string) => void;
    nowSeconds?: () => number;
    keyTtlMs?: number;
  };
  /** Origins (`https://app.example.com`, or `*`) that browsers may call OFREP and the read API from. */
  corsAllowedOrigins?: readonly string[];
  /** Where the web UI's files are (default: next to the UI module). */
  uiAssetsDir?: string;
  heartbeatMs?: number;
  /** The secret the replicas share for OFREP event-stream tickets; absent: a random key of this process. */
  streamTicketKey?: Buffer;
  /** The route table (tests only; default: every route). */
  routes?: readonly AnyRoute[];
}

export interface AppOptions {
  /** Builds the node server (HTTPS with certificate reload, say); default: a plain `node:http` server. */
  serverFactory?: FastifyServerFactory;
}

const SANE_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const EMPTY = Object.freeze({}) as Record<string, never>;
/** Headers a browser on an allowed origin may send, and read. */
const CORS_ALLOW_HEADERS = 'Authorization, Content-Type, If-None-Match, X-API-Key, Last-Event-ID';
const CORS_EXPOSE_HEADERS = 'ETag, X-Request-Id, Retry-After';
/** Methods answered 405 (with Allow) on a known path that does not declare them. */
const ALL_METHODS = [...METHODS, 'HEAD', 'OPTIONS'] as const;

/** The per-request context handlers get. A class, so that its methods are not per-request closures. */
class Context implements RouteContext<unknown, unknown, unknown> {
  authorized: boolean;
  constructor(
    readonly deps: ServerContext,
    readonly request: FastifyRequest,
    readonly reply: FastifyReply,
    readonly user: User,
    readonly params: unknown,
    readonly query: unknown,
    readonly body: unknown,
    authorized: boolean,
    private readonly limit: number,
  ) {
    this.authorized = authorized;
  }
  authorize(...permissions: Permission[]): Promise<void> {
    this.authorized = true;
    return authorize(this.deps.auth, this.user, ...permissions);
  }
  readRaw(): Promise<Buffer> {
    return readRaw(this.request.raw, this.limit);
  }
}

export function createApp(deps: ServerDeps, opts: AppOptions = {}): FastifyInstance {
  const routes = deps.routes ?? ROUTES;
  checkRouteTable(routes);
  const log = deps.log;
  const limit = deps.maxBodyBytes ?? 1024 * 1024;
  let doc: unknown;
  const ctx: ServerContext = {
    reader: deps.reader,
    auth: deps.auth,
    writer: deps.writer,
    defaultNamespace: deps.defaultNamespace,
    ready: deps.ready,
    log,
    metrics: deps.metrics,
    history: deps.history,
    streams: {
      open: deps.streams ?? new Set(),
      perCaller: new Map(),
      max: deps.maxStreams ?? DEFAULT_MAX_STREAMS,
      maxPerCaller: deps.maxStreamsPerCaller ?? DEFAULT_MAX_STREAMS_PER_CALLER,
    },
    heartbeatMs: deps.heartbeatMs ?? 15_000,
    tickets: ticketCodec(deps.streamTicketKey),
    webhooks: deps.webhooks?.configs.length
      ? webhookRuntime({
          webhooks: deps.webhooks.configs,
          readSecret: deps.webhooks.readSecret,
          writer: deps.writer,
          log: log.child({ controller: 'webhooks' }),
          onDelivery: deps.webhooks.onDelivery,
          nowSeconds: deps.webhooks.nowSeconds,
          keyTtlMs: deps.webhooks.keyTtlMs,
        })
      : undefined,
    ui: loadUi(deps.uiAssetsDir),
    openapi: () => {
      doc ??= openApiDocument(routes);
      return doc;
    },
  };
  const corsOrigins = deps.corsAllowedOrigins?.length ? new Set(deps.corsAllowedOrigins) : undefined;
  // `*` means any real origin, never `null` or anything that is not an origin: it is not echoed.
  const corsAllowed = (origin: string | undefined): origin is string =>
    origin !== undefined &&
    corsOrigins !== undefined &&
    (corsOrigins.has(origin) || (corsOrigins.has('*') && isOrigin(origin)));

  const app = Fastify({
    ...(opts.serverFactory ? { serverFactory: opts.serverFactory } : {}),
    requestIdHeader: false,
    genReqId: (req: IncomingMessage) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && SANE_ID.test(incoming) ? incoming : randomUUID();
    },
    return503OnClosing: false,
    routerOptions: { maxParamLength: 2048, ignoreTrailingSlash: false, caseSensitive: true },
    frameworkErrors: (err, request, reply) => {
      sendError(request, reply, err, undefined);
    },
  });

  /** Writes any error in the route's format: the API's `{"error": …}` or OFREP's bodies. */
  function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown, r: AnyRoute | undefined) {
    const e = err instanceof OfrepError ? err : toHttpError(err);
    if (e instanceof HttpError && e.status >= 500) {
      const cause = (e.cause ?? err) as { message?: string } | undefined;
      log.error(
        { requestId: request.id, method: request.method, status: e.status, err: cause?.message },
        'request failed',
      );
    }
    if (reply.sent || reply.raw.headersSent) return reply;
    reply.header('x-request-id', request.id);
    const format = r?.errorFormat ?? 'api';
    if (format === 'prototype') {
      const h = toHttpError(e);
      reply.raw.statusMessage = reasonPhrase(h.status, h.message);
      return reply.code(h.status).headers(h.headers).send(errorBody(h));
    }
    if (format !== 'api') {
      const key = (request.params as { key?: string } | undefined)?.key;
      const o = ofrepError(e, format, key);
      return reply.code(o.status).headers(o.headers).send(o.body);
    }
    const h = e instanceof OfrepError ? new HttpError(e.status, 'BadRequest', e.message) : e;
    return reply.code(h.status).headers(h.headers).send(errorBody(h));
  }

  function cors(request: FastifyRequest, reply: FastifyReply) {
    reply.header('vary', 'Origin');
    const origin = request.headers.origin;
    if (corsAllowed(origin))
      reply
        .header('access-control-allow-origin', origin)
        .header('access-control-expose-headers', CORS_EXPOSE_HEADERS);
  }

  /** 404 for a namespace outside --namespaces, wherever the request names it (path, query or body). */
  function checkWatched(namespace: string | undefined) {
    if (namespace !== undefined && deps.watches && !deps.watches(namespace))
      throw notFound(`namespace ${namespace.slice(0, 63)} is not watched by this operator`);
  }

  /** The wrapper of one route, built once: validation, authentication, authorisation, body, handler. */
  function wrap(r: AnyRoute) {
    const paramSpecs = Object.entries((r.params ?? {}) as Record<string, ParamSpec>);
    const readsBody = r.body !== undefined || r.parseBody !== undefined;
    const anyType = r.bodyType === 'any';
    const withCors = r.cors === true && corsOrigins !== undefined;
    const auth = deps.auth;
    return async function handle(request: FastifyRequest, reply: FastifyReply) {
      if (withCors) cors(request, reply);
      try {
        let params: Record<string, unknown> = EMPTY;
        if (paramSpecs.length > 0) {
          params = {};
          const raw = request.params as Record<string, string>;
          for (const [key, spec] of paramSpecs) {
            const res = spec.schema.safeParse(raw[key]);
            if (!res.success)
              throw new HttpError(
                400,
                'BadRequest',
                `${spec.field}: ${res.error.issues[0]!.message}`,
                spec.field,
              );
            if (spec.expand) Object.assign(params, spec.expand(res.data, deps.defaultNamespace));
            else params[key] = res.data;
          }
        }
        const query = r.query ? (parse(r.query, request.query, 'query') as Record<string, unknown>) : EMPTY;
        let user: User = ANONYMOUS;
        if (r.public !== true) {
          user = await authenticate(auth.authenticator, request.headers);
          if (r.permission) {
            const p = resolvePermission(r.permission, params, query, deps.defaultNamespace);
            await authorize(auth, user, p);
            if (r.watchedNamespace) checkWatched(p.namespace);
          } else if (r.watchedNamespace) checkWatched(params.ns as string | undefined);
        }
        let body: unknown;
        if (readsBody) {
          const json = await readJson(request.raw, limit, anyType);
          body = r.parseBody ? r.parseBody(json, ctx) : parse(r.body!, json, 'body');
          if (r.bodyPermission) {
            const p = r.bodyPermission.of(body, ctx);
            await authorize(auth, user, p);
            // After authorisation, as on the path routes: a caller who may not read there learns nothing.
            if (r.watchedNamespace) checkWatched(p.namespace);
          }
        }
        const c = new Context(
          ctx,
          request,
          reply,
          user,
          params,
          query,
          body,
          r.authorizeInHandler === undefined,
          limit,
        );
        const result = await r.handler(c);
        if (!c.authorized && reply.statusCode < 400)
          throw new Error(`route ${r.method} ${r.path} answered without authorising the caller`);
        return result;
      } catch (err) {
        return sendError(request, reply, err, r);
      }
    };
  }

  // Request bodies are read by the routes that want them (body.ts), after authorisation: the parser only
  // lets every content type through.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  const debug = log.isLevelEnabled('debug');
  const metrics = deps.metrics;
  // One labelled histogram child per route template, method and status, found without building a label key.
  const timers = new Map<string, Map<string, Map<number, { observe(seconds: number): void }>>>();
  const timer = (route: string, method: string, status: number) => {
    let byMethod = timers.get(route);
    if (!byMethod) {
      byMethod = new Map();
      timers.set(route, byMethod);
    }
    let byStatus = byMethod.get(method);
    if (!byStatus) {
      byStatus = new Map();
      byMethod.set(method, byStatus);
    }
    let child = byStatus.get(status);
    if (!child) {
      child = metrics!.httpRequests.labels({ route, method, status: String(status) });
      byStatus.set(status, child);
    }
    return child;
  };
  app.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    if (metrics || debug || status >= 500) {
      const route = request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
      if (metrics) timer(route, request.method, status).observe(reply.elapsedTime / 1000);
      if (debug || status >= 500)
        log[status >= 500 ? 'error' : 'debug'](
          {
            requestId: request.id,
            method: request.method,
            route,
            status,
            durationMs: Math.round(reply.elapsedTime),
          },
          'request',
        );
    }
    done();
  });
  app.setErrorHandler((err, request, reply) =>
    sendError(request, reply, err, (request.routeOptions.config as { route?: AnyRoute }).route),
  );
  app.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      notFound(`no route for ${request.method} ${(request.url.split('?', 1)[0] ?? '').slice(0, 200)}`),
      undefined,
    ),
  );

  // The routes, then on each known path the methods it does not declare: 405 with Allow, except a CORS
  // preflight from an allowed origin on a path that serves other origins.
  const byPath = new Map<string, AnyRoute[]>();
  for (const r of routes) {
    app.route({ method: r.method, url: r.path, handler: wrap(r), config: { route: r } });
    byPath.set(r.path, [...(byPath.get(r.path) ?? []), r]);
  }
  for (const [path, declared] of byPath) {
    const allowed = declared.map((r) => r.method);
    const corsMethods = corsOrigins ? declared.filter((r) => r.cors).map((r) => r.method) : [];
    const missing = ALL_METHODS.filter(
      (m) => !allowed.includes(m as never) && !(m === 'HEAD' && allowed.includes('GET')),
    );
    const refuse = methodNotAllowed(allowed);
    app.route({
      method: missing as string[],
      url: path,
      handler: (request, reply) => {
        const origin = request.headers.origin;
        const wanted = request.headers['access-control-request-method']?.toUpperCase();
        if (
          request.method === 'OPTIONS' &&
          corsAllowed(origin) &&
          wanted &&
          corsMethods.includes(wanted as never)
        ) {
          return reply
            .code(204)
            .headers({
              vary: 'Origin',
              'access-control-allow-origin': origin,
              'access-control-allow-methods': corsMethods.join(', '),
              'access-control-allow-headers': CORS_ALLOW_HEADERS,
              'access-control-max-age': '600',
            })
            .send();
        }
        return sendError(request, reply, refuse, undefined);
      },
    });
  }
  return app;
}
