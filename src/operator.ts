/**
 * The operator process minus flag parsing: Kubernetes client, store, controllers and HTTP server. main.ts and
 * the integration tests both build it from a Config.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { SecretObject } from './api/types.js';
import { type Config, ConfigError } from './config.js';
import { startArgoRefresh } from './controller/argocd-refresh.js';
import { KubeEventRecorder } from './controller/events.js';
import { FactHistoryRecorder } from './controller/fact-history/recorder.js';
import { FactRevisions } from './controller/fact-history/revisions.js';
import { LeaderElector, type LeaderOnly } from './controller/leader.js';
import { ControllerManager } from './controller/manager.js';
import { ConfigMapProjector } from './controller/projections/projector.js';
import { KubeStatusWriter } from './controller/status.js';
import { type KubeAccess, loadKubeAccess } from './kube/access.js';
import { type ClientNodeConfig, KubeClient } from './kube/client.js';
import { isNotFound } from './kube/errors.js';
import { corePath } from './kube/paths.js';
import { Metrics } from './metrics/metrics.js';
import { createApp } from './server/app.js';
import { TokenReviewAuthenticator } from './server/auth/authenticator.js';
import { allowAll, SubjectAccessReviewAuthorizer } from './server/auth/authorizer.js';
import { type Auth, noAuth } from './server/auth/middleware.js';
import { nodeServer } from './server/node-server.js';
import { readTicketKey } from './server/routes/stream-ticket.js';
import { loadWebhooksConfig, type WebhookConfig } from './server/webhooks/config.js';
import { SourcesController } from './sources/controller.js';
import { Store } from './store/store.js';
import { IdentityWriter } from './writes/identity-writer.js';

export interface Operator {
  readonly store: Store;
  readonly metrics: Metrics;
  /** True while this replica may write status and Events (always, without leader election). */
  readonly isLeader: boolean;
  readonly controllers: ControllerManager;
  /** FactSource runners (leader only). */
  readonly sources: SourcesController;
  /** ConfigMap projections, when --configmap-projections is on (leader only). */
  readonly projector: ConfigMapProjector | undefined;
  /** FactRevisions of each change of served facts (leader only). */
  readonly history: FactHistoryRecorder;
  readonly client: KubeClient;
  /** The address the HTTP server listens on (port resolved when 0 was asked for). */
  readonly address: { host: string; port: number };
  readonly url: string;
  stop(): Promise<void>;
}

/** Timings that tests shorten; not flags. */
export interface OperatorTuning {
  /** A watch up this long resets its restart backoff (default 10 s). */
  healthyAfterMs?: number;
}

/** The API server's address and credentials from --kubeconfig, $KUBECONFIG, ~/.kube/config or the cluster. */
export async function loadAccess(path: string | undefined): Promise<KubeAccess> {
  try {
    return await loadKubeAccess(path);
  } catch (err) {
    throw new ConfigError(err instanceof Error ? err.message : String(err));
  }
}

export async function startOperator(
  config: Config,
  log: Logger,
  /** Where the API server is and how to authenticate; default: from the configuration. */
  kube?: KubeAccess | ClientNodeConfig,
  /** How often certificate files are checked for rotation (tests shorten it). */
  tlsReloadIntervalMs = 5000,
  tuning: OperatorTuning = {},
): Promise<Operator> {
  const client = new KubeClient(kube ?? (await loadAccess(config.kubeconfig)));
  const store = new Store();
  const metrics = new Metrics(store);
  const identity = `${hostname()}_${process.pid}_${randomBytes(3).toString('hex')}`;
  const base: Base = { config, log, client, store, metrics, identity };
  // Read before anything starts, so that a bad file stops the process with a clear message.
  const webhooks = config.webhooksConfig ? loadWebhooksConfig(config.webhooksConfig, config.namespaces) : [];

  let elector: LeaderElector | undefined;
  const canWrite = () => !elector || elector.isLeader;
  /** FactSources, projections, Argo CD refreshes: switched by the elector's callbacks (or on for good without). */
  const leaderOnly: LeaderOnly[] = [];
  const setLeading = (leading: boolean) => {
    for (const part of leaderOnly) part.setLeading(leading);
  };
  const controllers = controllerManager(base, canWrite, tuning);
  elector = leaderElector(base, controllers, setLeading);

  const http = await startHttp(base, {
    auth: serverAuth(base),
    ready: () => controllers.synced,
    webhooks,
    tlsReloadIntervalMs,
  });

  await controllers.start();
  // Leader only, from here on the store has synced: the parts below start and stop as leadership moves.
  const { sources, projector, argoRefresh, history } = startLeaderOnlyParts(base, canWrite);
  leaderOnly.push(history, sources, ...(projector ? [projector] : []), ...(argoRefresh ? [argoRefresh] : []));
  if (elector) elector.start();
  else setLeading(true);

  let stopping: Promise<void> | undefined;
  return {
    store,
    controllers,
    sources,
    projector,
    history,
    client,
    metrics,
    address: http.address,
    url: http.url,
    get isLeader() {
      return canWrite();
    },
    stop() {
      stopping ??= (async () => {
        // Stop accepting and drain the HTTP server, then release the lease so that a standby takes over at once.
        await http.drain();
        argoRefresh?.stop();
        history.setLeading(false);
        // Before the lease goes: a runner must not write after a standby may have taken over.
        await Promise.all([sources.stop(), projector?.stop()]);
        await elector?.stop();
        await controllers.stop();
        log.info({}, 'stopped');
      })();
      return stopping;
    },
  };
}

/** What every start-up step is given. */
interface Base {
  readonly config: Config;
  readonly log: Logger;
  readonly client: KubeClient;
  readonly store: Store;
  readonly metrics: Metrics;
  /** This replica's name for the lease and its Events. */
  readonly identity: string;
}

/** The informers, handlers and status queues (not started), with their metrics. */
function controllerManager(
  { config, log, client, store, metrics, identity }: Base,
  canWrite: () => boolean,
  tuning: OperatorTuning,
): ControllerManager {
  const controllers = new ControllerManager({
    client,
    store,
    namespaces: config.namespaces,
    status: new KubeStatusWriter(client, log.child({ controller: 'status' }), canWrite),
    events: new KubeEventRecorder(
      client,
      log.child({ controller: 'events' }),
      identity,
      config.leaderElection.namespace,
    ),
    canWrite,
    healthyAfterMs: tuning.healthyAfterMs,
    statusQps: config.statusQps,
    statusBurst: config.statusBurst,
    requireExposeTo: config.exposeToRequired,
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
  metrics.pendingStatus = () => ({
    deploymentfacts: controllers.factsStatus.pending,
    deploymentsecrets: controllers.secretsStatus.pending,
  });
  return controllers;
}

/** The lease's elector (not started), or none without --leader-election: this replica then leads for good. */
function leaderElector(
  { config, log, client, metrics, identity }: Base,
  controllers: ControllerManager,
  setLeading: (leading: boolean) => void,
): LeaderElector | undefined {
  if (!config.leaderElection.enabled) {
    metrics.leader.set(1);
    return undefined;
  }
  const le = config.leaderElection;
  return new LeaderElector({
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
      setLeading(true);
    },
    onStoppedLeading: () => {
      metrics.leader.set(0);
      setLeading(false);
    },
  });
}

/** The HTTP API's authentication and authorisation: Kubernetes' TokenReview and SubjectAccessReview, or none. */
function serverAuth({ config, client, metrics }: Base): Auth {
  return config.auth === 'none'
    ? { authenticator: noAuth, authorizer: allowAll }
    : {
        authenticator: new TokenReviewAuthenticator(client, config.tokenAudiences),
        authorizer: new SubjectAccessReviewAuthorizer(client, undefined, undefined, {
          onReview: (result, scope) => metrics.authReviews.inc({ scope, result }),
        }),
      };
}

interface HttpServer {
  /** The address the server listens on (port resolved when 0 was asked for). */
  readonly address: { host: string; port: number };
  readonly url: string;
  /** Stops accepting, ends the change-feed streams, lets in-flight requests finish within the bound. */
  drain(): Promise<void>;
}

/** The HTTP server, listening: /healthz and /readyz from the start; /readyz turns 200 once `ready`. */
async function startHttp(
  { config, log, client, store, metrics }: Base,
  opts: {
    auth: Auth;
    ready: () => boolean;
    webhooks: readonly WebhookConfig[];
    tlsReloadIntervalMs: number;
  },
): Promise<HttpServer> {
  const streams = new Set<ServerResponse>();
  const node = nodeServer(config, log, opts.tlsReloadIntervalMs);
  const app = createApp(
    {
      reader: store,
      writer: new IdentityWriter(client, store),
      auth: opts.auth,
      ready: opts.ready,
      log: log.child({ controller: 'http' }),
      defaultNamespace: config.defaultNamespace,
      maxBodyBytes: config.maxBodyBytes,
      metrics,
      streams,
      maxStreams: config.maxStreams,
      maxStreamsPerCaller: config.maxStreamsPerCaller,
      streamTicketKey: readTicketKey(config.streamTicketKeyFile, log),
      corsAllowedOrigins: config.corsAllowedOrigins,
      watches: (namespace) => config.namespaces.length === 0 || config.namespaces.includes(namespace),
      history: new FactRevisions(client),
      webhooks: {
        configs: opts.webhooks,
        readSecret: (namespace, name) =>
          client.get<SecretObject>(corePath('secrets', namespace, name)).catch((err: unknown) => {
            if (isNotFound(err)) return undefined;
            throw err;
          }),
        onDelivery: (webhook, result) => metrics.webhookDeliveries.inc({ webhook, result }),
      },
    },
    // A node server of our own, so that TLS can be reloaded and shutdown can close connections as it must.
    { serverFactory: node.factory },
  );
  await app.ready();
  const { address, url } = await node.listen();
  log.info(
    { listen: `${address.host}:${address.port}`, auth: config.auth, tls: !!config.tls },
    'http server listening',
  );
  return { address, url, drain: () => node.drain(streams) };
}

/** FactSources, ConfigMap projections, Argo CD refreshes and fact history: started, each acting only while leading. */
function startLeaderOnlyParts(
  { config, log, client, store, metrics, identity }: Base,
  canWrite: () => boolean,
) {
  const events = new KubeEventRecorder(
    client,
    log.child({ controller: 'events' }),
    identity,
    config.leaderElection.namespace,
  );
  const informerHooks = {
    onRestart: (resource: string) => metrics.watchRestarts.inc({ resource }),
    onList: (resource: string, initial: boolean) => {
      if (!initial) metrics.watchRelists.inc({ resource });
    },
  };
  const sources = new SourcesController({
    client,
    namespaces: config.namespaces,
    status: new KubeStatusWriter(client, log.child({ controller: 'status' }), canWrite),
    events,
    log,
    hooks: informerHooks,
    maxResultBytes: config.sourceMaxResultBytes,
  });
  sources.start();
  const projector = config.configMapProjections
    ? new ConfigMapProjector({
        client,
        reader: store,
        namespaces: config.namespaces,
        events,
        log,
        hooks: informerHooks,
      })
    : undefined;
  projector?.start();
  const argoRefresh = config.argocdNamespace
    ? startArgoRefresh({
        client,
        reader: store,
        namespace: config.argocdNamespace,
        mapping: config.argocdApplicationMapping,
        applicationNamespaces: config.argocdApplicationNamespaces,
        log: log.child({ controller: 'argocd-refresh' }),
        onRefresh: (result) => metrics.argocdRefreshes.inc({ result }),
      })
    : undefined;
  const history = new FactHistoryRecorder({
    client,
    reader: store,
    namespaces: config.namespaces,
    defaultLimit: config.revisionHistoryLimit,
    log: log.child({ controller: 'fact-history' }),
    onRevision: (result) => metrics.factRevisions.inc({ result }),
  });
  return { sources, projector, argoRefresh, history };
}
