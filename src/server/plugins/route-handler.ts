/**
 * The handler of one route, built once at registration: path parameters and query are validated (400 naming the
 * field); the caller is authenticated and the declared permission checked (401/403/503); a namespace outside
 * --namespaces is a 404 (only now, so that callers who may not ask learn nothing); the body is read (413 over
 * --max-body-bytes), parsed and validated (400); a body-dependent permission is checked; the handler answers.
 * Authorisation is the framework's, never the handler's to remember (see route-spec.ts).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ANONYMOUS, type User } from '../auth/authenticator.js';
import type { Permission } from '../auth/authorizer.js';
import { authenticate, authorize } from '../auth/middleware.js';
import { readJson, readRaw } from '../body.js';
import { HttpError, notFound } from '../errors.js';
import {
  type AnyRoute,
  type ParamSpec,
  type RouteContext,
  resolvePermission,
  type ServerContext,
} from '../route-spec.js';
import { parse } from '../validate.js';
import type { CorsPolicy } from './cors.js';
import type { SendError } from './errors.js';

export interface RouteHandlerEnv {
  ctx: ServerContext;
  /** Most bytes a request body may have. */
  limit: number;
  /** Whether this operator watches a namespace (absent: all). */
  watches: ((namespace: string) => boolean) | undefined;
  cors: CorsPolicy | undefined;
  sendError: SendError;
}

const EMPTY = Object.freeze({}) as Record<string, never>;

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

export function routeHandler(r: AnyRoute, env: RouteHandlerEnv) {
  const { ctx, limit, watches, sendError } = env;
  const paramSpecs = Object.entries((r.params ?? {}) as Record<string, ParamSpec>);
  const readsBody = r.body !== undefined || r.parseBody !== undefined;
  const anyType = r.bodyType === 'any';
  const cors = r.cors === true ? env.cors : undefined;
  const auth = ctx.auth;
  const defaultNamespace = ctx.defaultNamespace;
  /** 404 for a namespace outside --namespaces, wherever the request names it (path, query or body). */
  const checkWatched = (namespace: string | undefined) => {
    if (namespace !== undefined && watches && !watches(namespace))
      throw notFound(`namespace ${namespace.slice(0, 63)} is not watched by this operator`);
  };
  return async function handle(request: FastifyRequest, reply: FastifyReply) {
    if (cors) cors.decorate(request, reply);
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
          if (spec.expand) Object.assign(params, spec.expand(res.data, defaultNamespace));
          else params[key] = res.data;
        }
      }
      const query = r.query ? (parse(r.query, request.query, 'query') as Record<string, unknown>) : EMPTY;
      let user: User = ANONYMOUS;
      if (r.public !== true) {
        user = await authenticate(auth.authenticator, request.headers);
        if (r.permission) {
          const p = resolvePermission(r.permission, params, query, defaultNamespace);
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
