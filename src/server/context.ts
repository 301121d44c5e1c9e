/**
 * What `createApp` is given (`ServerDeps`), and the `ServerContext` it builds once from it for every handler:
 * the stream slots, the UI's files, the webhooks' runtime (keys and replay memory), the OpenAPI document.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { SecretObject } from '../api/types.js';
import type { FactRevisions } from '../controller/fact-history/revisions.js';
import type { Metrics } from '../metrics/metrics.js';
import type { StoreReader } from '../store/store.js';
import type { Writer } from '../writes/writer.js';
import type { Auth } from './auth/middleware.js';
import { openApiDocument } from './openapi.js';
import type { AnyRoute, ServerContext } from './route-spec.js';
import { ticketCodec } from './routes/stream-ticket.js';
import { DEFAULT_MAX_STREAMS, DEFAULT_MAX_STREAMS_PER_CALLER } from './routes/watch.js';
import { loadUi } from './ui/assets.js';
import type { WebhookConfig } from './webhooks/config.js';
import { webhookRuntime } from './webhooks/runtime.js';
export interface ServerDeps {
  reader: StoreReader;
  /** The one path by which requests write to Kubernetes. */
  writer: Writer;
  auth: Auth;
  /** True once every informer has synced. */
  ready: () => boolean;
  log: Logger;
  defaultNamespace: string;
  maxBodyBytes?: number;
  metrics?: Metrics;
  /** Open change-feed responses, so that shutdown can end them. */
  streams?: Set<ServerResponse>;
  /** Most change-feed streams open at once on this replica, and per caller; more get 429. */
  maxStreams?: number;
  maxStreamsPerCaller?: number;
  /** Whether this operator watches a namespace (all, without --namespaces); other namespaces are 404. */
  watches?: (namespace: string) => boolean;
  /** FactRevisions in the API server, for history, ?revision and ?asOf (absent: those answer 404). */
  history?: FactRevisions;
  /** Signed webhooks (--webhooks-config); without any, a POST to a webhook is a 404. */
  webhooks?: {
    configs: readonly WebhookConfig[];
    /** Reads a webhook's key Secret (undefined when it does not exist). */
    readSecret: (namespace: string, name: string) => Promise<SecretObject | undefined>;
    onDelivery?: (webhook: string, result: string) => void;
    nowSeconds?: () => number;
    keyTtlMs?: number;
  };
  /** Origins (`https://app.example.com`, or `*`) that browsers may call OFREP and the read API from. */
  corsAllowedOrigins?: readonly string[];
  /** Where the web UI's files are (default: next to the UI module). */
  uiAssetsDir?: string;
  heartbeatMs?: number;
  /** The secret the replicas share for OFREP event-stream tickets; absent: a random key of this process. */
  streamTicketKey?: Buffer;
  /** The route table (tests only; default: every route). */
  routes?: readonly AnyRoute[];
}

export function serverContext(deps: ServerDeps, routes: readonly AnyRoute[]): ServerContext {
  let doc: unknown;
  return {
    reader: deps.reader,
    auth: deps.auth,
    writer: deps.writer,
    defaultNamespace: deps.defaultNamespace,
    ready: deps.ready,
    log: deps.log,
    metrics: deps.metrics,
    history: deps.history,
    streams: {
      open: deps.streams ?? new Set(),
      perCaller: new Map(),
      max: deps.maxStreams ?? DEFAULT_MAX_STREAMS,
      maxPerCaller: deps.maxStreamsPerCaller ?? DEFAULT_MAX_STREAMS_PER_CALLER,
    },
    heartbeatMs: deps.heartbeatMs ?? 15_000,
    tickets: ticketCodec(deps.streamTicketKey),
    webhooks: deps.webhooks?.configs.length
      ? webhookRuntime({
          webhooks: deps.webhooks.configs,
          readSecret: deps.webhooks.readSecret,
          writer: deps.writer,
          log: deps.log.child({ controller: 'webhooks' }),
          onDelivery: deps.webhooks.onDelivery,
          nowSeconds: deps.webhooks.nowSeconds,
          keyTtlMs: deps.webhooks.keyTtlMs,
        })
      : undefined,
    ui: loadUi(deps.uiAssetsDir),
    openapi: () => {
      doc ??= openApiDocument(routes);
      return doc;
    },
  };
}
