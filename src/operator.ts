/**
 * The operator process minus flag parsing: Kubernetes client, store, controllers and HTTP server. main.ts and
 * the integration tests both build it from a Config.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { KubeEventRecorder } from './controller/events.js';
import { ControllerManager } from './controller/manager.js';
import { KubeStatusWriter } from './controller/status.js';
import { KubeClient } from './kube/client.js';
import { createApp } from './server/app.js';
import { TokenReviewAuthenticator } from './server/auth/authenticator.js';
import { allowAll, SubjectAccessReviewAuthorizer } from './server/auth/authorizer.js';
import { type Auth, noAuth } from './server/auth/middleware.js';
import { loadWebhooksConfig } from './server/webhooks/config.js';
import { webhooksRouter } from './server/webhooks/route.js';
import { FactsWriter } from './server/writes/facts-writer.js';
import { Store } from './store/store.js';

export interface Operator {
  readonly store: Store;
  readonly controllers: ControllerManager;
  readonly client: KubeClient;
  /** The address the HTTP server listens on (port resolved when 0 was asked for). */
  readonly address: { host: string; port: number };
  readonly url: string;
  stop(): Promise<void>;
}

export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

export async function startOperator(
  config: Config,
  log: Logger,
  kc = loadKubeConfig(config.kubeconfig),
): Promise<Operator> {
  const client = new KubeClient(kc);
  const store = new Store();
  const identity = `${process.pid}@${(await import('node:os')).hostname()}`;
  const controllers = new ControllerManager({
    kc,
    client,
    store,
    namespaces: config.namespaces,
    status: new KubeStatusWriter(client, log.child({ controller: 'status' })),
    events: new KubeEventRecorder(client, log.child({ controller: 'events' }), identity),
    log,
  });

  // Serve /healthz and /readyz from the start; /readyz turns 200 once the informers have synced.
  const auth: Auth =
    config.auth === 'none'
      ? { authenticator: noAuth, authorizer: allowAll }
      : {
          authenticator: new TokenReviewAuthenticator(client, config.tokenAudiences),
          authorizer: new SubjectAccessReviewAuthorizer(client),
        };
  // Read before anything starts, so that a bad file stops the process with a clear message.
  const webhooks = config.webhooksConfig ? loadWebhooksConfig(config.webhooksConfig) : [];
  const app = createApp({
    reader: store,
    client,
    auth,
    ready: () => controllers.synced,
    log: log.child({ controller: 'http' }),
    defaultNamespace: config.defaultNamespace,
    maxBodyBytes: config.maxBodyBytes,
    publicRoutes: webhooks.length
      ? [
          webhooksRouter({
            webhooks,
            client,
            writer: new FactsWriter(client, store),
            log: log.child({ controller: 'webhooks' }),
            maxBodyBytes: config.maxBodyBytes,
          }),
        ]
      : [],
  });
  const server: Server = config.tls
    ? createTlsServer({ cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) }, app)
    : createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const address = { host: config.listen.host, port: addr.port };
  const hostForUrl =
    address.host === '0.0.0.0'
      ? '127.0.0.1'
      : address.host.includes(':')
        ? `[${address.host}]`
        : address.host;
  log.info({ listen: `${address.host}:${address.port}`, auth: config.auth }, 'http server listening');

  await controllers.start();

  return {
    store,
    controllers,
    client,
    address,
    url: `${config.tls ? 'https' : 'http'}://${hostForUrl}:${address.port}`,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await controllers.stop();
    },
  };
}
