/**
 * The HTTP server: health and readiness now; the API routes join here. Reads come from the store only.
 */
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { StoreReader } from '../store/store.js';

export interface ServerDeps {
  reader: StoreReader;
  /** True once every informer has synced. */
  ready: () => boolean;
  log: Logger;
}

export function createApp(deps: ServerDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const ready = deps.ready();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ok' : 'informers not synced' });
  });
  app.use((_req, res) => {
    res.status(404).json({ error: { code: 'NotFound', message: 'no such route' } });
  });
  return app;
}
