/**
 * Wires the informers, the store and the status queues of both kinds. Data flows one way: each list page and
 * watch event updates the store at once (the handlers are synchronous), so a replica holds every object of its
 * initial lists the moment it reports synced. Status writes and Events follow from separate, rate-limited queues
 * that never delay a read. DeploymentSecrets are listed only after the Secrets they reference, so that none is
 * judged against a half-listed Secrets cache.
 */
import type { Logger } from 'pino';
import { API_VERSION, FACTS_KIND, SECRETS_KIND } from '../api/group.js';
import {
  CLUSTER_PROFILE_KIND,
  CLUSTER_PROFILE_PLURAL,
  PROFILE_KIND,
  PROFILE_PLURAL,
} from '../api/profiles.js';
import { EXPOSE_LABEL } from '../api/secrets.js';
import type { DeploymentFacts, DeploymentSecrets, FactProfile, SecretObject } from '../api/types.js';
import type { KubeClient } from '../kube/client.js';
import { classify, errorSummary } from '../kube/errors.js';
import { clusterProfilesPath, corePath, factsPath, profilesPath, secretsPath } from '../kube/paths.js';
import { LayeredFacts } from '../store/layered-facts.js';
import type { StoreReader, StoreWriter } from '../store/store.js';
import { ResourceCache } from './cache.js';
import { sameStatus } from './conditions.js';
import { type FactsRecord, factsHandler, keepFacts } from './deployment-facts/handler.js';
import { keepSecret, keepSecrets, type SecretsRecord, secretsHandler } from './deployment-secrets/handler.js';
import type { EventRecorder } from './events.js';
import { keepProfile, type ProfileRecord, profilesHandler } from './fact-profiles/handler.js';
import { decideProfileStatus } from './fact-profiles/status.js';
import type { InformerHooks } from './informer.js';
import { type QueueHooks, WorkQueue } from './queue.js';
import { RateLimiter } from './rate-limiter.js';
import type { StatusWriter } from './status.js';
import { StatusSync } from './status-sync.js';

export interface ControllerHooks extends InformerHooks {
  queue?: (kind: string) => QueueHooks;
}

export interface ControllerManagerOptions {
  client: KubeClient;
  store: StoreWriter & Pick<StoreReader, 'get'>;
  namespaces: readonly string[];
  status: StatusWriter;
  events: EventRecorder;
  log: Logger;
  /** Whether this replica may write status and Events now (the leader, or every replica without election). */
  canWrite?: () => boolean;
  /** Status writes (with their Events) a second, and the burst allowed. */
  statusQps?: number;
  statusBurst?: number;
  workers?: number;
  /** A watch up this long resets its backoff (tests shorten it). */
  healthyAfterMs?: number;
  hooks?: ControllerHooks;
  /** --expose-to-required (default true). */
  requireExposeTo?: boolean;
}

/**
 * Objects per list page of DeploymentFacts and DeploymentSecrets. The API server's cost of a list is largely per
 * page (each page of a paged list from its cache walks the rest of the collection), so at 50,000 objects 100 pages of
 * 500 took it about twice as long as 25 pages of 2,000 (docs/benchmarks.md). Two pages are held at once (the next is
 * fetched while this one is handled): about 2 × 2.5 MB of JSON for these small objects. Secrets keep the default:
 * one can hold up to 1 MiB.
 */
export const LIST_PAGE_SIZE = 2000;

/** How long profile status waits after a change of an identity or a profile, at most. */
const PROFILE_STATUS_DELAY_MS = 500;

/** Conflicts come back at once, invalid input is not retried, everything else backs off. */
export function errorPolicy(err: unknown): 'retry' | 'requeue' | 'drop' {
  const c = classify(err);
  if (c === 'conflict') return 'requeue';
  if (c === 'invalid') return 'drop';
  return 'retry';
}

interface NamespaceObject {
  metadata: { name: string; resourceVersion?: string; labels?: Record<string, string> };
}
interface NamespaceLabels {
  name: string;
  labels: Record<string, string> | undefined;
}

export class ControllerManager {
  readonly facts: ResourceCache<DeploymentFacts, FactsRecord>;
  readonly deploymentSecrets: ResourceCache<DeploymentSecrets, SecretsRecord>;
  readonly secrets: ResourceCache<SecretObject>;
  readonly profiles: ResourceCache<FactProfile, ProfileRecord>;
  readonly clusterProfiles: ResourceCache<FactProfile, ProfileRecord>;
  /** Namespace labels, for ClusterFactProfiles' namespaceSelector: nothing else of a Namespace is kept. */
  readonly namespaces: ResourceCache<NamespaceObject, NamespaceLabels>;
  /** The precomputed merged view of profiles and own facts that the store serves. */
  readonly layers: LayeredFacts;
  readonly factsStatus: StatusSync;
  readonly secretsStatus: StatusSync;
  readonly profilesStatus: StatusSync;
  readonly clusterProfilesStatus: StatusSync;
  #profileStatusTimer: NodeJS.Timeout | undefined;
  readonly #queues: WorkQueue[] = [];
  readonly #limiter: RateLimiter;
  readonly #opts: ControllerManagerOptions;
  #stopped = false;

  constructor(opts: ControllerManagerOptions) {
    this.#opts = opts;
    const common = {
      client: opts.client,
      namespaces: opts.namespaces,
      hooks: opts.hooks,
      healthyAfterMs: opts.healthyAfterMs,
    };
    const log = opts.log.child({ controller: 'informer' });
    this.facts = new ResourceCache({
      ...common,
      resource: 'deploymentfacts',
      path: factsPath,
      keep: keepFacts,
      pageSize: LIST_PAGE_SIZE,
      log,
    });
    this.deploymentSecrets = new ResourceCache({
      ...common,
      resource: 'deploymentsecrets',
      path: secretsPath,
      keep: keepSecrets,
      pageSize: LIST_PAGE_SIZE,
      log,
    });
    // Only Secrets that opt in are cached and served: otherwise anyone allowed to write a DeploymentSecrets could
    // read any Secret of the namespace through the operator, and the operator would hold every Secret in memory.
    this.secrets = new ResourceCache({
      ...common,
      resource: 'secrets',
      path: (ns) => corePath('secrets', ns),
      labelSelector: `${EXPOSE_LABEL}=true`,
      keep: keepSecret,
      log,
    });

    // Profiles came in 0.2: an operator upgraded without its new CRDs (helm upgrade never installs them) still
    // serves, without profiles, and says what to do.
    const absentCrdHint = (plural: string) =>
      `CRD ${plural}.flagops.io is not installed: serving without profiles until it is. Install the CRDs of this version (helm upgrade does not): kubectl apply --server-side -f crds/`;
    this.profiles = new ResourceCache({
      ...common,
      resource: PROFILE_PLURAL,
      path: profilesPath,
      keep: keepProfile(PROFILE_KIND),
      absentCrdHint: absentCrdHint(PROFILE_PLURAL),
      log,
    });
    // Cluster-scoped: one informer whatever namespaces are watched; its profiles reach only watched identities.
    this.clusterProfiles = new ResourceCache({
      ...common,
      namespaces: [],
      resource: CLUSTER_PROFILE_PLURAL,
      path: clusterProfilesPath,
      keep: keepProfile(CLUSTER_PROFILE_KIND),
      absentCrdHint: absentCrdHint(CLUSTER_PROFILE_PLURAL),
      log,
    });

    const canWrite = () => !this.#stopped && (opts.canWrite?.() ?? true);
    this.#limiter = new RateLimiter(opts.statusQps ?? 50, opts.statusBurst ?? 100);
    const statusSync = (
      kind: string,
      path: (ns: string, name: string) => string,
      target: { apiVersion: string; kind: string },
    ) => {
      const extra = opts.hooks?.queue?.(kind);
      const queue = new WorkQueue({
        // Enough writers in flight that the rate limit, not the API server's latency, sets the pace.
        workers: opts.workers ?? 8,
        errorPolicy,
        hooks: {
          ...extra,
          onProcessed: (key, outcome, durationMs, err) => {
            if (outcome === 'error') {
              opts.log.warn(
                { controller: kind, key, durationMs, err: errorSummary(err) },
                'status write failed',
              );
            }
            extra?.onProcessed?.(key, outcome, durationMs, err);
          },
        },
      });
      this.#queues.push(queue);
      return new StatusSync({
        kind,
        path,
        target,
        queue,
        writer: opts.status,
        events: opts.events,
        limiter: this.#limiter,
        canWrite,
        log: opts.log.child({ controller: kind }),
      });
    };
    const target = (kind: string) => ({ apiVersion: API_VERSION, kind });
    this.factsStatus = statusSync('deploymentfacts', factsPath, target(FACTS_KIND));
    this.secretsStatus = statusSync('deploymentsecrets', secretsPath, target(SECRETS_KIND));
    this.profilesStatus = statusSync('factprofiles', profilesPath, target(PROFILE_KIND));
    this.clusterProfilesStatus = statusSync(
      'clusterfactprofiles',
      clusterProfilesPath,
      target(CLUSTER_PROFILE_KIND),
    );
    this.layers = new LayeredFacts(opts.store);
    this.namespaces = new ResourceCache({
      ...common,
      namespaces: [],
      resource: 'namespaces',
      path: () => corePath('namespaces'),
      keep: (o: NamespaceObject) => ({ name: o.metadata.name, labels: o.metadata.labels }),
      log,
    });
    // A relabelled namespace changes what namespaceSelector profiles select: their status follows.
    this.namespaces.on('add', (n) => {
      this.layers.setNamespaceLabels(n.name, n.labels);
      this.#profileStatusLater();
    });
    this.namespaces.on('update', (n) => {
      this.layers.setNamespaceLabels(n.name, n.labels);
      this.#profileStatusLater();
    });
    this.namespaces.on('delete', (n) => {
      this.layers.deleteNamespace(n.name);
      this.#profileStatusLater();
    });
    const profiles = profilesHandler({ layers: this.layers });
    for (const cache of [this.profiles, this.clusterProfiles]) {
      cache.on('add', (r) => {
        profiles.upsert(r);
        this.#profileStatusLater();
      });
      cache.on('update', (r) => {
        profiles.upsert(r);
        this.#profileStatusLater();
      });
      cache.on('delete', (r) => {
        profiles.remove(r);
        (r.namespace === undefined ? this.clusterProfilesStatus : this.profilesStatus).set(
          `${r.namespace ?? ''}/${r.name}`,
          undefined,
        );
        this.#profileStatusLater();
      });
    }

    const facts = factsHandler({ store: opts.store, status: this.factsStatus, layers: this.layers });
    const upsertFacts = (_r: FactsRecord, raw: DeploymentFacts | undefined) => {
      if (raw) facts.upsert(raw);
      this.#profileStatusLater();
    };
    this.facts.on('add', upsertFacts);
    this.facts.on('update', upsertFacts);
    this.facts.on('delete', (r) => {
      facts.remove(r);
      this.#profileStatusLater();
    });

    const secrets = secretsHandler({
      store: opts.store,
      status: this.secretsStatus,
      secret: (ns, name) => this.secrets.get(ns, name),
      record: (ns, name) => this.deploymentSecrets.get(ns, name),
      requireExposeTo: opts.requireExposeTo,
    });
    this.deploymentSecrets.on('add', (r) => secrets.upsert(r));
    this.deploymentSecrets.on('update', (r) => secrets.upsert(r));
    this.deploymentSecrets.on('delete', (r) => secrets.remove(r));
    const secretChanged = (s: SecretObject) => secrets.secretChanged(s.metadata.namespace, s.metadata.name);
    this.secrets.on('add', secretChanged);
    this.secrets.on('update', secretChanged);
    this.secrets.on('delete', secretChanged);
  }

  /**
   * Profile status depends on every identity (how many each selects, which tie): worked out at most twice a
   * second, in one walk, and only while there are profiles at all.
   */
  #profileStatusLater(): void {
    if (this.#profileStatusTimer || this.#stopped) return;
    if (this.profiles.list().length === 0 && this.clusterProfiles.list().length === 0) return;
    this.#profileStatusTimer = setTimeout(() => {
      this.#profileStatusTimer = undefined;
      this.#profileStatusNow();
    }, PROFILE_STATUS_DELAY_MS);
    this.#profileStatusTimer.unref();
  }

  #profileStatusNow(): void {
    const summary = this.layers.summarize();
    const now = new Date();
    for (const [cache, sync] of [
      [this.profiles, this.profilesStatus],
      [this.clusterProfiles, this.clusterProfilesStatus],
    ] as const) {
      for (const r of cache.list()) {
        const d = decideProfileStatus(r, summary.get(r.key), now);
        sync.set(
          `${r.namespace ?? ''}/${r.name}`,
          sameStatus(r.status ?? {}, d.status)
            ? undefined
            : {
                uid: r.uid,
                resourceVersion: r.resourceVersion,
                current: r.status,
                desired: d.status,
                // A cluster-scoped profile's Events go to the operator's namespace (events.ts).
                warning: d.warning,
              },
        );
      }
    }
  }

  /** True once the store holds every object of the initial lists, with its Secrets resolved. */
  get synced(): boolean {
    return (
      this.namespaces.synced &&
      this.profiles.synced &&
      this.clusterProfiles.synced &&
      this.facts.synced &&
      this.deploymentSecrets.synced &&
      this.secrets.synced
    );
  }

  async start(): Promise<void> {
    this.factsStatus.run();
    this.secretsStatus.run();
    this.profilesStatus.run();
    this.clusterProfilesStatus.run();
    // Namespaces and profiles before DeploymentFacts: each identity is then merged once, instead of again for
    // every profile.
    await Promise.all([
      Promise.all([this.namespaces.start(), this.profiles.start(), this.clusterProfiles.start()]).then(() =>
        this.facts.start(),
      ),
      this.secrets.start().then(() => this.deploymentSecrets.start()),
    ]);
    this.#opts.log.info(
      { namespaces: this.#opts.namespaces.length ? this.#opts.namespaces : ['*'] },
      'controllers started',
    );
  }

  /** Queues every pending status again, e.g. after becoming leader. */
  resyncAll(): void {
    this.factsStatus.resync();
    this.secretsStatus.resync();
    this.profilesStatus.resync();
    this.clusterProfilesStatus.resync();
  }

  /** Resolves once no status write is queued or running (tests). */
  async idle(): Promise<void> {
    await Promise.all(this.#queues.map((q) => q.idle()));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#profileStatusTimer);
    await Promise.all([
      this.facts.stop(),
      this.deploymentSecrets.stop(),
      this.secrets.stop(),
      this.profiles.stop(),
      this.clusterProfiles.stop(),
      this.namespaces.stop(),
    ]);
    this.#limiter.release();
    await Promise.all(this.#queues.map((q) => q.stop()));
  }
}
