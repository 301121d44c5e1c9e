/**
 * Per request: the `x-request-id` header, then, on response, the request-duration metric (by route template,
 * method and status) and the request log (debug, or error for a 5xx). One hook each serves every route.
 */
import type { Logger } from 'pino';
import type { Metrics } from '../../metrics/metrics.js';
import { appWide } from './app-wide.js';

type Observer = { observe(seconds: number): void };

export const telemetry = appWide<{ log: Logger; metrics: Metrics | undefined }>(
  (app, { log, metrics }, done) => {
    app.addHook('onRequest', (request, reply, next) => {
      reply.header('x-request-id', request.id);
      next();
    });
    const debug = log.isLevelEnabled('debug');
    // One labelled histogram child per route template, method and status, found without building a label key.
    const timers = new Map<string, Map<string, Map<number, Observer>>>();
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
    app.addHook('onResponse', (request, reply, next) => {
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
      next();
    });
    done();
  },
);
