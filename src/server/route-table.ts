/**
 * Every route of the HTTP server, declared once. `app.ts` registers them (with the 405 + Allow table, CORS
 * preflights, metric and log labels derived from them), and `openapi.ts` documents them.
 */
import type { AnyRoute } from './route-spec.js';
import { appsetRoutes } from './routes/appset.js';
import { compatRoutes } from './routes/compat.js';
import { factsRoutes } from './routes/facts.js';
import { historyRoutes } from './routes/history.js';
import { identitiesRoutes } from './routes/identities.js';
import { ofrepRoutes } from './routes/ofrep.js';
import { ofrepStreamRoutes } from './routes/ofrep-streams.js';
import { operationsRoutes } from './routes/operations.js';
import { secretsRoutes } from './routes/secrets.js';
import { watchRoutes } from './routes/watch.js';
import { uiRoutes } from './ui/file-routes.js';
import { webhookRoutes } from './webhooks/delivery.js';

export const ROUTES: readonly AnyRoute[] = [
  ...identitiesRoutes,
  ...factsRoutes,
  ...historyRoutes,
  ...secretsRoutes,
  ...watchRoutes,
  ...appsetRoutes,
  ...webhookRoutes,
  ...compatRoutes,
  ...ofrepRoutes,
  ...ofrepStreamRoutes,
  ...operationsRoutes,
  ...uiRoutes,
];
