/**
 * Prometheus metrics. Label values come only from bounded sets (route templates, kinds, results, configured
 * webhook names): never identity names, namespaces or anything from a secret.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { StoreReader } from '../store/store.js';

export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests: Histogram<'route' | 'method' | 'status'>;
  readonly reconciles: Counter<'kind' | 'result'>;
  readonly reconcileDuration: Histogram<'kind'>;
  readonly queueDepth: Gauge<'kind'>;
  readonly queueRetries: Counter<'kind'>;
  readonly watchRestarts: Counter<'resource'>;
  readonly watchRelists: Counter<'resource'>;
  readonly webhookDeliveries: Counter<'webhook' | 'result'>;
  readonly leader: Gauge;
  readonly argocdRefreshes: Counter<'result'>;
  readonly factRevisions: Counter<'result'>;
  readonly rollbacks: Counter<'result'>;
  readonly authReviews: Counter<'scope' | 'result'>;
  /** Set by the wiring: pending status writes by kind. */
  pendingStatus: () => Record<string, number> = () => ({});

  constructor(store: StoreReader) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: 'flagops_' });
    this.httpRequests = new Histogram({
      name: 'flagops_http_request_duration_seconds',
      help: 'HTTP requests by route template, method and status',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [r],
    });
    this.reconciles = new Counter({
      name: 'flagops_reconcile_total',
      help: 'Status syncs (status writes with their Events) by kind and result',
      labelNames: ['kind', 'result'],
      registers: [r],
    });
    this.reconcileDuration = new Histogram({
      name: 'flagops_reconcile_duration_seconds',
      help: 'Status sync duration by kind',
      labelNames: ['kind'],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [r],
    });
    this.queueDepth = new Gauge({
      name: 'flagops_workqueue_depth',
      help: 'Keys waiting in the work queue',
      labelNames: ['kind'],
      registers: [r],
    });
    this.queueRetries = new Counter({
      name: 'flagops_workqueue_retries_total',
      help: 'Keys put back on the work queue after an error',
      labelNames: ['kind'],
      registers: [r],
    });
    this.watchRestarts = new Counter({
      name: 'flagops_watch_restarts_total',
      help: 'Watches restarted after an error',
      labelNames: ['resource'],
      registers: [r],
    });
    this.watchRelists = new Counter({
      name: 'flagops_watch_relists_total',
      help: 'Full lists after the first one (410 Gone or a restart without a resourceVersion)',
      labelNames: ['resource'],
      registers: [r],
    });
    this.webhookDeliveries = new Counter({
      name: 'flagops_webhook_deliveries_total',
      help: 'Webhook deliveries by configured webhook and result',
      labelNames: ['webhook', 'result'],
      registers: [r],
    });
    this.factRevisions = new Counter({
      name: 'flagops_fact_revisions_total',
      help: 'FactRevisions written, pruned beyond the limit, lost to another leader (conflict) or failed (error)',
      labelNames: ['result'],
      registers: [r],
    });
    this.rollbacks = new Counter({
      name: 'flagops_fact_rollbacks_total',
      help: 'Rollbacks of an identity to a FactRevision, by result',
      labelNames: ['result'],
      registers: [r],
    });
    this.argocdRefreshes = new Counter({
      name: 'flagops_argocd_refresh_total',
      help: 'Argo CD hard refreshes asked for after a fact change, by result',
      labelNames: ['result'],
      registers: [r],
    });
    this.authReviews = new Counter({
      name: 'flagops_auth_reviews_total',
      help: 'SubjectAccessReviews sent, by scope (namespace, name, cluster) and answer',
      labelNames: ['scope', 'result'],
      registers: [r],
    });
    const pending = () => this.pendingStatus();
    new Gauge({
      name: 'flagops_status_pending',
      help: 'Objects whose status differs from what it should show, waiting for a (rate-limited) write',
      labelNames: ['kind'],
      registers: [r],
      collect() {
        for (const [kind, n] of Object.entries(pending())) this.set({ kind }, n);
      },
    });
    this.leader = new Gauge({
      name: 'flagops_leader',
      help: '1 while this replica holds the leader Lease',
      registers: [r],
    });
    const counts = () => store.counts();
    new Gauge({
      name: 'flagops_identities',
      help: 'Identities in the store',
      registers: [r],
      collect() {
        this.set(counts().identities);
      },
    });
    new Gauge({
      name: 'flagops_facts',
      help: 'Facts in the store',
      registers: [r],
      collect() {
        this.set(counts().facts);
      },
    });
    new Gauge({
      name: 'flagops_secrets_resolved',
      help: 'Secret keys resolved into the store',
      registers: [r],
      collect() {
        this.set(counts().secretKeys);
      },
    });
    new Gauge({
      name: 'flagops_secrets_failing',
      help: 'Secret references that did not resolve',
      registers: [r],
      collect() {
        this.set(counts().secretsFailing);
      },
    });
  }
}
