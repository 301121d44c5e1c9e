/**
 * The HTTP server, on Fastify, built from the one route table (`route-table.ts`). Reads come from the store only;
 * writes go to the API server through the writer. The framework, not the handlers, authenticates and authorises
 * each non-public route from the permission it declares (see `route-spec.ts` and `plugins/route-handler.ts`).
 *
 * One plugin per concern, registered in this order: lazy request bodies, telemetry (request id, metrics, request
 * log), error answers, the route table (its handlers, the 405 + Allow table and CORS preflights).
 *
 * The hot path is lean: the handler of each route is built once at registration, body reading is lazy, one
 * onRequest and one onResponse hook serve every route.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyServerFactory } from 'fastify';
import { type ServerDeps, serverContext } from './context.js';
import { corsPolicy } from './plugins/cors.js';
import { errorHandlers, errorSender } from './plugins/errors.js';
import { lazyBodies } from './plugins/lazy-bodies.js';
import { registerRoutes } from './plugins/register-routes.js';
import { telemetry } from './plugins/telemetry.js';
import { checkRouteTable } from './route-spec.js';
import { ROUTES } from './route-table.js';

export type { ServerDeps } from './context.js';

export interface AppOptions {
  /** Builds the node server (HTTPS with certificate reload, say); default: a plain `node:http` server. */
  serverFactory?: FastifyServerFactory;
}

const SANE_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export function createApp(deps: ServerDeps, opts: AppOptions = {}): FastifyInstance {
  const routes = deps.routes ?? ROUTES;
  checkRouteTable(routes);
  const ctx = serverContext(deps, routes);
  const sendError = errorSender(deps.log);
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
  app.register(lazyBodies);
  app.register(telemetry, { log: deps.log, metrics: deps.metrics });
  app.register(errorHandlers, { sendError });
  app.register(registerRoutes, {
    routes,
    ctx,
    limit: deps.maxBodyBytes ?? 1024 * 1024,
    watches: deps.watches,
    cors: corsPolicy(deps.corsAllowedOrigins),
    sendError,
  });
  return app;
}
