/**
 * Keeps a ConfigMap `flagops-facts-<identity>` for every DeploymentFacts labelled
 * `flagops.io/project-configmap: "true"`, on the leader only. Only labelled objects are listed and watched (label
 * selector), so the cache stays small; the data come from the store's change feed (what the API serves), so a
 * fact change reaches the ConfigMap as soon as the store has it. Removing the label or deleting the object deletes
 * the ConfigMap (the ownerReference lets the garbage collector do the same).
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { PROJECTION_FIELD_MANAGER } from '../../api/field-managers.js';
import { API_VERSION, FACTS_KIND } from '../../api/group.js';
import type { DeploymentFacts } from '../../api/types.js';
import type { KubeClient } from '../../kube/client.js';
import { classify, errorSummary, isNotFound, KubeApiError } from '../../kube/errors.js';
import { corePath, factsPath } from '../../kube/paths.js';
import type { StoreReader } from '../../store/store.js';
import { objectKey, ResourceCache, splitKey } from '../cache.js';
import type { EventRecorder } from '../events.js';
import type { InformerHooks } from '../informer.js';
import type { LeaderOnly } from '../leader.js';
import { WorkQueue } from '../queue.js';
import {
  canProject,
  configMapName,
  desiredConfigMap,
  isProjectionOf,
  PROJECT_LABEL,
  projectedData,
  staleLabels,
} from './configmap.js';

interface ExistingConfigMap {
  metadata?: {
    uid?: string;
    labels?: Record<string, string>;
    ownerReferences?: { apiVersion?: string; kind?: string; uid?: string; controller?: boolean }[];
  };
}

export interface ProjectorOptions {
  client: KubeClient;
  reader: Pick<StoreReader, 'get' | 'onChange'>;
  namespaces: readonly string[];
  events: EventRecorder;
  log: Logger;
  hooks?: InformerHooks;
  /** Every projection is re-applied this often, which also brings back a ConfigMap deleted by hand. */
  resyncMs?: number;
}

/**
 * Projects while leading (`setLeading`, from the leader elector, only once the store has synced) and once its own
 * cache has synced.
 */
export class ConfigMapProjector implements LeaderOnly {
  readonly cache: ResourceCache<DeploymentFacts>;
  readonly queue: WorkQueue;
  readonly #opts: ProjectorOptions;
  readonly #log: Logger;
  /** Key → hash of the last applied ConfigMap (with the owner's uid), to skip applies that change nothing. */
  readonly #applied = new Map<string, string>();
  /**
   * Key → uid of the DeploymentFacts last seen under it. A ConfigMap is deleted only when it is the projection of
   * that object, and an unlabelled object has left the cache by then: the informer's event still carried its uid.
   */
  readonly #owners = new Map<string, string>();
  /** Key → the last collision warning recorded, so that it is recorded once per change. */
  readonly #warned = new Map<string, string>();
  #active = false;
  #leading = false;
  /** Between start() and stop(). */
  #running = false;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(opts: ProjectorOptions) {
    this.#opts = opts;
    this.#log = opts.log.child({ controller: 'projections' });
    this.cache = new ResourceCache<DeploymentFacts>({
      client: opts.client,
      resource: 'deploymentfacts',
      path: factsPath,
      namespaces: opts.namespaces,
      labelSelector: `${PROJECT_LABEL}=true`,
      log: opts.log.child({ controller: 'informer', selector: PROJECT_LABEL }),
      hooks: opts.hooks,
    });
    this.queue = new WorkQueue({
      workers: 2,
      errorPolicy: (err) => (classify(err) === 'invalid' ? 'drop' : 'retry'),
      hooks: {
        onProcessed: (key, outcome, durationMs, err) => {
          if (outcome === 'error')
            this.#log.warn({ key, durationMs, err: errorSummary(err) }, 'projection failed');
        },
      },
    });
    const enqueue = (o: DeploymentFacts) => {
      if (o.metadata.uid) this.#owners.set(objectKey(o), o.metadata.uid);
      if (this.#active) this.queue.add(objectKey(o));
    };
    this.cache.on('add', enqueue);
    this.cache.on('update', enqueue);
    this.cache.on('delete', enqueue);
  }

  start(): void {
    this.#running = true;
    this.queue.run((key) => this.#reconcile(key));
    this.cache.start().then(
      () => this.#check(),
      (err: unknown) => {
        this.#log.warn({ err: errorSummary(err) }, 'projection informer failed');
      },
    );
    this.#unsubscribe = this.#opts.reader.onChange((e) => {
      if (e.kind !== 'facts' || !this.#active) return;
      if (this.cache.get(e.namespace, e.name)) this.queue.add(`${e.namespace}/${e.name}`);
    });
    this.#timer = setInterval(() => {
      this.#applied.clear();
      if (this.#active) this.#resync();
    }, this.#opts.resyncMs ?? 600_000);
    this.#timer.unref();
  }

  setLeading(leading: boolean): void {
    this.#leading = leading;
    this.#check();
  }

  #check() {
    const active = this.#leading && this.cache.synced && this.#running;
    if (active === this.#active) return;
    this.#active = active;
    // A new leader re-checks everything; what the last one applied may be stale.
    this.#applied.clear();
    if (active) this.#resync();
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearInterval(this.#timer);
    this.#unsubscribe?.();
    this.#active = false;
    await this.cache.stop();
    await this.queue.stop();
  }

  #resync() {
    for (const o of this.cache.list()) this.queue.add(objectKey(o));
  }

  async #reconcile(key: string): Promise<undefined> {
    if (!this.#active) return;
    const { namespace, name } = splitKey(key);
    const obj = this.cache.get(namespace, name);
    if (!obj || obj.metadata.deletionTimestamp) {
      await this.#delete(namespace, name);
      return;
    }
    if (!canProject(name) || !obj.metadata.uid) {
      await this.#warnOnce(
        obj,
        'ProjectionFailed',
        `ConfigMap name ${configMapName(name)} is longer than 253 characters`,
      );
      return;
    }
    // The facts the API serves for this identity; never its secrets.
    const facts = this.#opts.reader.get(namespace, name)?.facts?.values ?? {};
    const { data, collisions } = projectedData(facts);
    const body = desiredConfigMap({ ...obj.metadata, uid: obj.metadata.uid }, data);
    const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    if (this.#applied.get(key) !== hash) {
      if (!(await this.#write(obj, body))) {
        this.#applied.delete(key);
        return;
      }
      this.#applied.set(key, hash);
      this.#log.info(
        { kind: FACTS_KIND, namespace, name, keys: Object.keys(data).length },
        'configmap projected',
      );
    }
    if (collisions.length) {
      const message = `facts left out of ConfigMap ${configMapName(name)}: ${collisions
        .map((c) => `${c.fact} (key ${c.key} is taken by ${c.with})`)
        .join(', ')}`;
      await this.#warnOnce(obj, 'ProjectionKeyCollision', message);
    } else this.#warned.delete(key);
    return;
  }

  /**
   * Writes the projection, checking first, on every write, that the ConfigMap of that name is ours (or absent):
   * false, with a Warning, when it is someone else's. The write itself fails if the ConfigMap changed hands since:
   * a new one is created with POST (which refuses an existing name), an existing one is applied with its uid
   * (which the API server refuses for a different object of the same name).
   */
  async #write(obj: DeploymentFacts, body: ReturnType<typeof desiredConfigMap>): Promise<boolean> {
    const { namespace, name, uid: ownerUid } = obj.metadata;
    const existing = await this.#get(namespace, name);
    if (existing && !isProjectionOf(existing, ownerUid!)) {
      await this.#warnOnce(
        obj,
        'ProjectionFailed',
        `ConfigMap ${configMapName(name)} exists and is not a projection of this DeploymentFacts; left alone`,
      );
      return false;
    }
    let uid = existing?.metadata?.uid;
    if (!uid) {
      const { data: _, ...shell } = body;
      const created = await this.#opts.client.create<ExistingConfigMap>(
        corePath('configmaps', namespace),
        shell,
        { query: { fieldManager: PROJECTION_FIELD_MANAGER } },
      );
      uid = created.metadata?.uid;
    }
    try {
      await this.#opts.client.apply(
        corePath('configmaps', namespace, configMapName(name)),
        { ...body, metadata: { ...body.metadata, uid } },
        PROJECTION_FIELD_MANAGER,
        { force: true },
      );
    } catch (err) {
      // Replaced since it was read (the API server calls a different uid an invalid update): check again.
      if (classify(err) === 'invalid' && /metadata\.uid/.test((err as Error).message))
        throw new KubeApiError(409, 'Conflict', `ConfigMap ${configMapName(name)} was replaced meanwhile`);
      throw err;
    }
    // A projection written by an earlier version keeps its old labels through the apply (see STALE_LABELS).
    const stale = staleLabels(existing?.metadata?.labels);
    if (stale.length) {
      await this.#opts.client.mergePatch(
        corePath('configmaps', namespace, configMapName(name)),
        { metadata: { uid, labels: Object.fromEntries(stale.map((l) => [l, null])) } },
        { query: { fieldManager: PROJECTION_FIELD_MANAGER } },
      );
      this.#log.info({ kind: FACTS_KIND, namespace, name, labels: stale }, 'stale projection labels removed');
    }
    return true;
  }

  async #delete(namespace: string, name: string) {
    const key = `${namespace}/${name}`;
    this.#applied.delete(key);
    this.#warned.delete(key);
    const ownerUid = this.#owners.get(key);
    this.#owners.delete(key);
    if (!canProject(name) || !ownerUid) return;
    const path = corePath('configmaps', namespace, configMapName(name));
    const cm = await this.#get(namespace, name);
    // Someone else's ConfigMap of the same name stays; the uid precondition keeps it so if it was replaced since.
    if (!cm || !isProjectionOf(cm, ownerUid)) return;
    try {
      await this.#opts.client.delete(path, { body: { preconditions: { uid: cm.metadata?.uid } } });
      this.#log.info({ kind: FACTS_KIND, namespace, name }, 'configmap projection deleted');
    } catch (err) {
      if (!isNotFound(err) && classify(err) !== 'conflict') throw err;
    }
  }

  async #get(namespace: string, name: string): Promise<ExistingConfigMap | undefined> {
    try {
      return await this.#opts.client.get<ExistingConfigMap>(
        corePath('configmaps', namespace, configMapName(name)),
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async #warnOnce(obj: DeploymentFacts, reason: string, message: string) {
    const key = objectKey(obj);
    if (this.#warned.get(key) === message) return;
    this.#warned.set(key, message);
    this.#log.warn(
      {
        kind: FACTS_KIND,
        namespace: obj.metadata.namespace,
        name: obj.metadata.name,
        reason,
        detail: message,
      },
      'projection problem',
    );
    await this.#opts.events.record(
      { apiVersion: API_VERSION, kind: FACTS_KIND, metadata: obj.metadata },
      'Warning',
      reason,
      message,
    );
  }
}
