/**
 * Wires the informers, queues and reconcilers of both kinds. Informers feed queues; queues run reconcilers; the
 * reconcilers write the store and status. Queues start only after every cache has synced, so that a
 * DeploymentSecrets is never judged against a half-listed Secrets cache.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { EXPOSE_LABEL } from '../api/secrets.js';
import type { DeploymentFacts, DeploymentSecrets, SecretObject } from '../api/types.js';
import type { KubeClient } from '../kube/client.js';
import { classify } from '../kube/errors.js';
import { corePath, factsPath, secretsPath } from '../kube/paths.js';
import type { StoreReader, StoreWriter } from '../store/store.js';
import { objectKey, ResourceCache } from './cache.js';
import { factsReconciler } from './deployment-facts/reconciler.js';
import { SecretUsers, secretsReconciler } from './deployment-secrets/reconciler.js';
import type { EventRecorder } from './events.js';
import type { InformerHooks } from './informer.js';
import { errorSummary } from './informer.js';
import { type QueueHooks, WorkQueue } from './queue.js';
import type { StatusWriter } from './status.js';

export interface ControllerHooks extends InformerHooks {
  queue?: (kind: string) => QueueHooks;
}

export interface ControllerManagerOptions {
  kc: KubeConfig;
  client: KubeClient;
  store: StoreWriter & Pick<StoreReader, 'get'>;
  namespaces: readonly string[];
  status: StatusWriter;
  events: EventRecorder;
  log: Logger;
  workers?: number;
  hooks?: ControllerHooks;
}

/** Conflicts come back at once, invalid input is not retried, everything else backs off. */
export function errorPolicy(err: unknown): 'retry' | 'requeue' | 'drop' {
  const c = classify(err);
  if (c === 'conflict') return 'requeue';
  if (c === 'invalid') return 'drop';
  return 'retry';
}

export class ControllerManager {
  readonly facts: ResourceCache<DeploymentFacts>;
  readonly deploymentSecrets: ResourceCache<DeploymentSecrets>;
  readonly secrets: ResourceCache<SecretObject>;
  readonly factsQueue: WorkQueue;
  readonly secretsQueue: WorkQueue;
  readonly #opts: ControllerManagerOptions;
  readonly #users = new SecretUsers();

  constructor(opts: ControllerManagerOptions) {
    this.#opts = opts;
    const common = { kc: opts.kc, client: opts.client, namespaces: opts.namespaces, hooks: opts.hooks };
    const log = opts.log.child({ controller: 'informer' });
    this.facts = new ResourceCache({ ...common, resource: 'deploymentfacts', path: factsPath, log });
    this.deploymentSecrets = new ResourceCache({
      ...common,
      resource: 'deploymentsecrets',
      path: secretsPath,
      log,
    });
    // Only Secrets that opt in are cached and served: otherwise anyone allowed to write a DeploymentSecrets could
    // read any Secret of the namespace through the operator, and the operator would hold every Secret in memory.
    this.secrets = new ResourceCache({
      ...common,
      resource: 'secrets',
      path: (ns) => corePath('secrets', ns),
      labelSelector: `${EXPOSE_LABEL}=true`,
      log,
    });

    const queue = (kind: string) => {
      const extra = opts.hooks?.queue?.(kind);
      return new WorkQueue({
        workers: opts.workers ?? 4,
        errorPolicy,
        hooks: {
          ...extra,
          onProcessed: (key, outcome, durationMs, err) => {
            if (outcome === 'error') {
              opts.log.warn(
                { controller: kind, key, durationMs, err: errorSummary(err) },
                'reconcile failed',
              );
            }
            extra?.onProcessed?.(key, outcome, durationMs, err);
          },
        },
      });
    };
    this.factsQueue = queue('deploymentfacts');
    this.secretsQueue = queue('deploymentsecrets');

    const enqueueFacts = (o: DeploymentFacts) => this.factsQueue.add(objectKey(o));
    this.facts.on('add', enqueueFacts);
    this.facts.on('update', enqueueFacts);
    this.facts.on('delete', enqueueFacts);
    const enqueueSecrets = (o: DeploymentSecrets) => this.secretsQueue.add(objectKey(o));
    this.deploymentSecrets.on('add', enqueueSecrets);
    this.deploymentSecrets.on('update', enqueueSecrets);
    this.deploymentSecrets.on('delete', enqueueSecrets);
    const secretChanged = (s: SecretObject) => {
      for (const user of this.#users.usersOf(s.metadata.namespace, s.metadata.name))
        this.secretsQueue.add(user);
    };
    this.secrets.on('add', secretChanged);
    this.secrets.on('update', secretChanged);
    this.secrets.on('delete', secretChanged);
  }

  get synced(): boolean {
    return this.facts.synced && this.deploymentSecrets.synced && this.secrets.synced;
  }

  async start(): Promise<void> {
    const { store, status, events, log } = this.#opts;
    await Promise.all([this.facts.start(), this.deploymentSecrets.start(), this.secrets.start()]);
    this.factsQueue.run(
      factsReconciler({
        cache: this.facts,
        store,
        status,
        events,
        log: log.child({ controller: 'deploymentfacts' }),
      }),
    );
    this.secretsQueue.run(
      secretsReconciler(
        {
          cache: this.deploymentSecrets,
          secrets: this.secrets,
          store,
          status,
          events,
          log: log.child({ controller: 'deploymentsecrets' }),
        },
        this.#users,
      ),
    );
    log.info(
      { namespaces: this.#opts.namespaces.length ? this.#opts.namespaces : ['*'] },
      'controllers started',
    );
  }

  /** Re-runs every object's reconcile, e.g. after becoming leader so that status catches up. */
  resyncAll(): void {
    for (const o of this.facts.list()) this.factsQueue.add(objectKey(o));
    for (const o of this.deploymentSecrets.list()) this.secretsQueue.add(objectKey(o));
  }

  async stop(): Promise<void> {
    await Promise.all([this.facts.stop(), this.deploymentSecrets.stop(), this.secrets.stop()]);
    await Promise.all([this.factsQueue.stop(), this.secretsQueue.stop()]);
  }
}
