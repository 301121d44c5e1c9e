/**
 * The HTTP server. Reads come from the store only; writes go to the API server through the writers. Every route
 * but health, readiness, metrics and the OpenAPI document is authenticated and authorised.
 */
import type { ServerResponse } from 'node:http';
import express, { type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.js';
import type { StoreReader } from '../store/store.js';
import type { IdentityWriter } from '../writes/identity-writer.js';
import { type Auth, authenticate } from './auth/middleware.js';
import { errorMiddleware, HttpError } from './errors.js';
import { openApiDocument } from './openapi.js';
import { requestLog } from './request-log.js';
import { templateMatcher } from './route-template.js';
import { appsetRouter } from './routes/appset.js';
import { compatRouter } from './routes/compat.js';
import { factsRouter } from './routes/facts.js';
import { identitiesRouter } from './routes/identities.js';
import { ofrepErrors, ofrepRouter } from './routes/ofrep.js';
import { secretsRouter } from './routes/secrets.js';
import { watchRouter } from './routes/watch.js';
import { uiRouter } from './ui/router.js';
import { parseNamespace } from './validate.js';

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
  /** Extra routers mounted before the authenticated API (metrics, webhooks). */
  publicRoutes?: RequestHandler[];
  metrics?: Metrics;
  /** Open change-feed responses, so that shutdown can end them. */
  streams?: Set<ServerResponse>;
  /** Most change-feed streams open at once; more get 429. */
  maxStreams?: number;
  /** Whether this operator watches a namespace (all, without --namespaces); other namespaces are 404. */
  watches?: (namespace: string) => boolean;
}

/** Known paths and their methods, so that a wrong method gets 405 with Allow rather than 404. */
const ROUTES: [string, string[]][] = [
  ['/api/v1/identities', ['GET']],
  ['/api/v1/namespaces/:ns/identities/:id', ['GET', 'DELETE']],
  ['/api/v1/namespaces/:ns/identities/:id/facts', ['GET', 'PATCH']],
  ['/api/v1/namespaces/:ns/identities/:id/facts/:name', ['GET', 'PUT', 'DELETE']],
  ['/api/v1/namespaces/:ns/identities/:id/secrets', ['GET']],
  ['/api/v1/namespaces/:ns/identities/:id/secrets/:name', ['GET', 'PUT', 'DELETE']],
  ['/api/v1/watch', ['GET']],
  ['/api/v1/getparams.execute', ['POST']],
  ['/api/v1/webhooks/:name', ['POST']],
  ['/api/identity', ['GET']],
  ['/api/fact/:id', ['GET', 'PUT', 'DELETE']],
  ['/api/fact/:id/:name', ['GET', 'PUT', 'DELETE']],
  ['/api/secret/:id', ['GET']],
  ['/api/secret/:id/:name', ['GET', 'PUT', 'DELETE']],
  ['/ofrep/v1/evaluate/flags', ['POST']],
  ['/ofrep/v1/evaluate/flags/:key', ['POST']],
  ['/healthz', ['GET']],
  ['/readyz', ['GET']],
  ['/openapi.json', ['GET']],
  ['/metrics', ['GET']],
  ['/', ['GET']],
  ['/ui', ['GET']],
  ['/ui/:file', ['GET']],
];

/** The path of a URL without its query, as the client sent it (routers rewrite req.path). */
const pathOf = (url: string) => url.split('?', 1)[0] ?? url;

export function createApp(deps: ServerDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  const template = templateMatcher(ROUTES.map(([path]) => path));
  app.use(requestLog(deps.log, template));
  const metrics = deps.metrics;
  if (metrics) {
    app.use((req, res, next) => {
      const end = metrics.httpRequests.startTimer();
      res.on('finish', () =>
        end({ route: template(pathOf(req.originalUrl)), method: req.method, status: String(res.statusCode) }),
      );
      next();
    });
    app.get('/metrics', async (_req, res) => {
      res.set('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
    });
  }

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const ready = deps.ready();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ok' : 'informers not synced' });
  });
  const doc = openApiDocument();
  app.get('/openapi.json', (_req, res) => {
    res.json(doc);
  });
  for (const handler of deps.publicRoutes ?? []) app.use(handler);
  app.use(uiRouter());

  const json = express.json({
    limit: deps.maxBodyBytes ?? 1024 * 1024,
    strict: false,
    type: ['application/json', 'application/*+json'],
  });
  const authn = authenticate(deps.auth.authenticator);
  const common = { reader: deps.reader, auth: deps.auth };

  app.use('/api', authn, json);
  app.use('/ofrep/v1', authn, json);
  // Writes to a namespace this operator does not watch could never be served (and its RBAC may not reach there).
  app.use('/api/v1/namespaces/:ns', (req, _res, next) => {
    const ns = parseNamespace(req.params.ns);
    if (deps.watches && !deps.watches(ns)) {
      return next(
        new HttpError(404, 'NotFound', `namespace ${ns.slice(0, 63)} is not watched by this operator`),
      );
    }
    next();
  });
  app.use('/api/v1', appsetRouter({ ...common, defaultNamespace: deps.defaultNamespace }));
  app.use('/api/v1', identitiesRouter({ ...common, writer: deps.writer }));
  app.use('/api/v1', watchRouter({ ...common, streams: deps.streams, maxStreams: deps.maxStreams }));
  app.use('/api/v1/namespaces/:ns/identities/:id/facts', factsRouter({ ...common, writer: deps.writer }));
  app.use('/api/v1/namespaces/:ns/identities/:id/secrets', secretsRouter({ ...common, writer: deps.writer }));
  app.use(
    '/api',
    compatRouter({
      ...common,
      writer: deps.writer,
      defaultNamespace: deps.defaultNamespace,
    }),
  );
  app.use('/ofrep/v1', ofrepRouter({ ...common, defaultNamespace: deps.defaultNamespace }), ofrepErrors);

  for (const [path, methods] of ROUTES) {
    app.all(path, (req, _res, next) => {
      // A known method that fell through to here found nothing (an unconfigured webhook, say): a 404, not a 405.
      if (methods.includes(req.method)) return next();
      next(
        new HttpError(405, 'MethodNotAllowed', `use ${methods.join(', ')}`, undefined, {
          allow: methods.join(', '),
        }),
      );
    });
  }
  app.use((req, _res, next) => {
    next(new HttpError(404, 'NotFound', `no route for ${req.method} ${req.path.slice(0, 200)}`));
  });
  app.use(errorMiddleware(deps.log));
  return app;
}
