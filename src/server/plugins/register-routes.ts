/**
 * The route table's registration: each route with its handler (route-handler.ts), then on each known path the
 * methods it does not declare: 405 with Allow, except a CORS preflight from an allowed origin on a path that
 * serves other origins.
 */
import { methodNotAllowed } from '../errors.js';
import { type AnyRoute, METHODS } from '../route-spec.js';
import { appWide } from './app-wide.js';
import { type RouteHandlerEnv, routeHandler } from './route-handler.js';

/** Methods answered 405 (with Allow) on a known path that does not declare them. */
const ALL_METHODS = [...METHODS, 'HEAD', 'OPTIONS'] as const;

export const registerRoutes = appWide<RouteHandlerEnv & { routes: readonly AnyRoute[] }>((app, env, done) => {
  const { routes, cors, sendError } = env;
  const byPath = new Map<string, AnyRoute[]>();
  for (const r of routes) {
    app.route({ method: r.method, url: r.path, handler: routeHandler(r, env), config: { route: r } });
    byPath.set(r.path, [...(byPath.get(r.path) ?? []), r]);
  }
  for (const [path, declared] of byPath) {
    const allowed = declared.map((r) => r.method);
    const corsMethods = declared.filter((r) => r.cors).map((r) => r.method);
    const missing = ALL_METHODS.filter(
      (m) => !allowed.includes(m as never) && !(m === 'HEAD' && allowed.includes('GET')),
    );
    const refuse = methodNotAllowed(allowed);
    app.route({
      method: missing as string[],
      url: path,
      handler: (request, reply) =>
        cors?.preflight(request, reply, corsMethods) ? reply : sendError(request, reply, refuse, undefined),
    });
  }
  done();
});
