/**
 * Watches FactSource objects and, on the leader only, runs one SourceRunner per object. Every replica keeps the
 * (small) cache; when leadership moves, the old leader stops its runners (closing their database connections)
 * and the new one starts them. Deleting a FactSource removes the facts it wrote (best effort, on the leader).
 */

import type { Logger } from 'pino';
import { sourceFieldManager } from '../api/field-managers.js';
import { SOURCES_KIND } from '../api/sources.js';
import type { FactSource } from '../api/types.js';
import { objectKey, ResourceCache } from '../controller/cache.js';
import type { EventRecorder } from '../controller/events.js';
import type { InformerHooks } from '../controller/informer.js';
import type { LeaderOnly } from '../controller/leader.js';
import type { StatusWriter } from '../controller/status.js';
import type { KubeClient } from '../kube/client.js';
import { errorSummary } from '../kube/errors.js';
import { applyPlans, listFacts, planApply } from './apply.js';
import { SourceRunner, sourcesPath } from './runner.js';

export interface SourcesControllerOptions {
  client: KubeClient;
  namespaces: readonly string[];
  status: StatusWriter;
  events: EventRecorder;
  log: Logger;
  hooks?: InformerHooks;
  notifyDebounceMs?: number;
  /** Bytes of a query result read before a sync fails (--source-max-result-bytes). */
  maxResultBytes?: number;
}

/** Runs the sources while leading (`setLeading`, from the leader elector) and once its cache has synced. */
export class SourcesController implements LeaderOnly {
  readonly cache: ResourceCache<FactSource>;
  readonly #runners = new Map<string, SourceRunner>();
  readonly #opts: SourcesControllerOptions;
  readonly #log: Logger;
  #active = false;
  #leading = false;
  #stopped = false;

  constructor(opts: SourcesControllerOptions) {
    this.#opts = opts;
    this.#log = opts.log.child({ controller: 'fact-sources' });
    this.cache = new ResourceCache<FactSource>({
      client: opts.client,
      resource: 'factsources',
      path: sourcesPath,
      namespaces: opts.namespaces,
      log: opts.log.child({ controller: 'informer' }),
      hooks: opts.hooks,
    });
    this.cache.on('add', (o) => this.#upsert(o));
    this.cache.on('update', (o) => this.#upsert(o));
    this.cache.on('delete', (o) => void this.#delete(o));
  }

  /** Starts the informer, without waiting for it: a missing CRD must not hold up the operator. */
  start(): void {
    this.#stopped = false;
    this.cache.start().then(
      () => this.#check(),
      (err: unknown) => {
        this.#log.warn({ resource: 'factsources', err: errorSummary(err) }, 'fact source informer failed');
      },
    );
  }

  setLeading(leading: boolean): void {
    this.#leading = leading;
    this.#check();
  }

  #check() {
    const active = this.#leading && this.cache.synced && !this.#stopped;
    if (active && !this.#active) {
      this.#active = true;
      this.#log.info({}, 'running fact sources');
      for (const o of this.cache.list()) this.#upsert(o);
    } else if (!active && this.#active) {
      this.#active = false;
      this.#log.info({}, 'not leading: fact sources stopped');
      void this.#stopRunners();
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#active = false;
    await this.#stopRunners();
    await this.cache.stop();
  }

  /** The runner of a source, while this replica runs it (tests). */
  runner(namespace: string, name: string): SourceRunner | undefined {
    return this.#runners.get(`${namespace}/${name}`);
  }

  #upsert(o: FactSource) {
    if (!this.#active || this.#stopped) return;
    const key = objectKey(o);
    const existing = this.#runners.get(key);
    if (existing && existing.uid === o.metadata.uid) {
      existing.update(o);
      return;
    }
    if (existing) void existing.stop();
    const runner = new SourceRunner(
      {
        client: this.#opts.client,
        status: this.#opts.status,
        events: this.#opts.events,
        log: this.#log,
        notifyDebounceMs: this.#opts.notifyDebounceMs,
        maxResultBytes: this.#opts.maxResultBytes,
      },
      o,
    );
    this.#runners.set(key, runner);
    runner.start();
  }

  async #delete(o: FactSource) {
    const key = objectKey(o);
    const runner = this.#runners.get(key);
    this.#runners.delete(key);
    await runner?.stop();
    if (!this.#active || this.#stopped) return;
    // The source is gone: the facts it wrote go too, as if its result had become empty.
    const { namespace, name } = o.metadata;
    const manager = sourceFieldManager(name);
    try {
      const plans = planApply(manager, new Map(), await listFacts(this.#opts.client, namespace));
      const outcome = await applyPlans(this.#opts.client, namespace, manager, plans);
      this.#log.info(
        { kind: SOURCES_KIND, namespace, name, identities: plans.length, problems: outcome.problems.length },
        'facts of deleted source removed',
      );
    } catch (err) {
      this.#log.warn(
        { kind: SOURCES_KIND, namespace, name, err: errorSummary(err) },
        'facts of deleted source not removed',
      );
    }
  }

  async #stopRunners() {
    const runners = [...this.#runners.values()];
    this.#runners.clear();
    await Promise.all(runners.map((r) => r.stop()));
  }
}
