/**
 * The operator process minus flag parsing: Kubernetes client, store, controllers and HTTP server. main.ts and
 * the integration tests both build it from a Config.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { type Config, ConfigError } from './config.js';
import { startArgoRefresh } from './controller/argocd-refresh.js';
import { KubeEventRecorder } from './controller/events.js';
import { LeaderElector } from './controller/leader.js';
import { ControllerManager } from './controller/manager.js';
import { KubeStatusWriter } from './controller/status.js';
import { KubeClient } from './kube/client.js';
import { Metrics } from './metrics/metrics.js';
import { createApp } from './server/app.js';
import { TokenReviewAuthenticator } from './server/auth/authenticator.js';
import { allowAll, SubjectAccessReviewAuthorizer } from './server/auth/authorizer.js';
import { type Auth, noAuth } from './server/auth/middleware.js';
import { reloadTlsOnChange } from './server/tls-reload.js';
import { loadWebhooksConfig } from './server/webhooks/config.js';
import { webhooksRouter } from './server/webhooks/route.js';
import { FactsWriter } from './server/writes/facts-writer.js';
import { Store } from './store/store.js';

export interface Operator {
  readonly store: Store;
  readonly metrics: Metrics;
  /** True while this replica may write status and Events (always, without leader election). */
  readonly isLeader: boolean;
  readonly controllers: ControllerManager;
  readonly client: KubeClient;
  /** The address the HTTP server listens on (port resolved when 0 was asked for). */
  readonly address: { host: string; port: number };
  readonly url: string;
  stop(): Promise<void>;
}

export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path) kc.loadFromFile(path);
    else kc.loadFromDefault();
  } catch (err) {
    throw new ConfigError(`cannot load the kubeconfig ${path ?? '(default)'}: ${(err as Error).message}`);
  }
  if (!kc.getCurrentCluster())
    throw new ConfigError(`the kubeconfig ${path ?? '(default)'} has no current cluster`);
  return kc;
}

export async function startOperator(
  config: Config,
  log: Logger,
  kc = loadKubeConfig(config.kubeconfig),
  /** How often certificate files are checked for rotation (tests shorten it). */
  tlsReloadIntervalMs = 5000,
): Promise<Operator> {
  const client = new KubeClient(kc);
  const store = new Store();
  const metrics = new Metrics(store);
  const identity = `${hostname()}_${process.pid}_${randomBytes(3).toString('hex')}`;
  // Read before anything starts, so that a bad file stops the process with a clear message.
  const webhooks = config.webhooksConfig ? loadWebhooksConfig(config.webhooksConfig, config.namespaces) : [];

  let elector: LeaderElector | undefined;
  const canWrite = () => !elector || elector.isLeader;
  const controllers = new ControllerManager({
    kc,
    client,
    store,
    namespaces: config.namespaces,
    status: new KubeStatusWriter(client, log.child({ controller: 'status' }), canWrite),
    events: new KubeEventRecorder(client, log.child({ controller: 'events' }), identity),
    log,
    hooks: {
      onRestart: (resource) => metrics.watchRestarts.inc({ resource }),
      onList: (resource, initial) => {
        if (!initial) metrics.watchRelists.inc({ resource });
      },
      queue: (kind) => ({
        onProcessed: (_key, outcome, durationMs) => {
          metrics.reconciles.inc({ kind, result: outcome });
          metrics.reconcileDuration.observe({ kind }, durationMs / 1000);
        },
        onRetry: () => metrics.queueRetries.inc({ kind }),
        onDepth: (depth) => metrics.queueDepth.set({ kind }, depth),
      }),
    },
  });
  if (config.leaderElection.enabled) {
    const le = config.leaderElection;
    elector = new LeaderElector({
      client,
      namespace: le.namespace,
      name: le.id,
      identity,
      leaseDurationMs: le.leaseDurationMs,
      renewDeadlineMs: le.renewDeadlineMs,
      retryPeriodMs: le.retryPeriodMs,
      log: log.child({ controller: 'leader-election' }),
      // A new leader catches up on status that changed while it was a standby.
      onStartedLeading: () => {
        metrics.leader.set(1);
        controllers.resyncAll();
      },
      onStoppedLeading: () => metrics.leader.set(0),
    });
  } else {
    metrics.leader.set(1);
  }

  const auth: Auth =
    config.auth === 'none'
      ? { authenticator: noAuth, authorizer: allowAll }
      : {
          authenticator: new TokenReviewAuthenticator(client, config.tokenAudiences),
          authorizer: new SubjectAccessReviewAuthorizer(client),
        };
  const streams = new Set<ServerResponse>();
  const app = createApp({
    reader: store,
    client,
    auth,
    ready: () => controllers.synced,
    log: log.child({ controller: 'http' }),
    defaultNamespace: config.defaultNamespace,
    maxBodyBytes: config.maxBodyBytes,
    metrics,
    streams,
    watches: (namespace) => config.namespaces.length === 0 || config.namespaces.includes(namespace),
    publicRoutes: webhooks.length
      ? [
          webhooksRouter({
            webhooks,
            client,
            writer: new FactsWriter(client, store),
            log: log.child({ controller: 'webhooks' }),
            maxBodyBytes: config.maxBodyBytes,
            onDelivery: (webhook, result) => metrics.webhookDeliveries.inc({ webhook, result }),
          }),
        ]
      : [],
  });
  let stopTlsReload: (() => void) | undefined;
  let server: Server;
  if (config.tls) {
    const tlsServer = createTlsServer(
      { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) },
      app,
    );
    stopTlsReload = reloadTlsOnChange(
      tlsServer,
      config.tls,
      log.child({ controller: 'tls' }),
      tlsReloadIntervalMs,
    );
    server = tlsServer;
  } else {
    server = createServer(app);
  }
  // Serve /healthz and /readyz from the start; /readyz turns 200 once the informers have synced.
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
  log.info(
    { listen: `${address.host}:${address.port}`, auth: config.auth, tls: !!config.tls },
    'http server listening',
  );

  await controllers.start();
  elector?.start();
  const stopArgoRefresh = config.argocdNamespace
    ? startArgoRefresh({
        client,
        reader: store,
        namespace: config.argocdNamespace,
        mapping: config.argocdApplicationMapping,
        applicationNamespaces: config.argocdApplicationNamespaces,
        log: log.child({ controller: 'argocd-refresh' }),
        active: () => controllers.synced && canWrite(),
        onRefresh: (result) => metrics.argocdRefreshes.inc({ result }),
      })
    : undefined;

  let stopping: Promise<void> | undefined;
  return {
    store,
    controllers,
    client,
    metrics,
    address,
    url: `${config.tls ? 'https' : 'http'}://${hostForUrl}:${address.port}`,
    get isLeader() {
      return canWrite();
    },
    stop() {
      stopping ??= (async () => {
        // Stop accepting, end change-feed streams (they never finish by themselves), let in-flight requests
        // finish within the bound, then release the lease so that a standby takes over at once.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const res of streams) res.end();
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
        await closed;
        clearTimeout(timer);
        stopTlsReload?.();
        stopArgoRefresh?.();
        await elector?.stop();
        await controllers.stop();
        log.info({}, 'stopped');
      })();
      return stopping;
    },
  };
}
