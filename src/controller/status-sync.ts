/**
 * Status and Events follow the store, never lead it. The informer handlers put each object's facts or secrets in
 * the store at once and, when the status an object shows differs from the one it should show, leave the desired
 * status here. A rate-limited work queue writes it (leader only), with its Warning Event. A later event for the
 * same object replaces what is pending; the operator's own status write comes back as an event whose status
 * already matches, and so costs nothing further.
 */
import type { Logger } from 'pino';
import { classify } from '../kube/errors.js';
import { splitKey } from './cache.js';
import type { EventRecorder, EventTarget } from './events.js';
import type { ReconcileResult, WorkQueue } from './queue.js';
import type { RateLimiter } from './rate-limiter.js';
import type { StatusWriter } from './status.js';

/** Kept per object until its status is written: tens of thousands at once on a first start, so kept small. */
export interface PendingStatus {
  uid?: string;
  resourceVersion?: string;
  /** The status the object shows now, as last seen by the informer. */
  current: unknown;
  desired: unknown;
  /** A Warning Event to record once the status is written. */
  warning?: { reason: string; message: string };
}

export interface StatusSyncDeps {
  kind: string;
  /** The object's API path, and the apiVersion/kind that Events name. */
  path: (namespace: string, name: string) => string;
  target: { apiVersion: string; kind: string };
  queue: WorkQueue;
  writer: StatusWriter;
  events: EventRecorder;
  limiter: RateLimiter;
  /** How long a failure waits before it is written (default 1 s). */
  settleMs?: number;
  /** Standby replicas keep what is pending, for the day they lead. */
  canWrite: () => boolean;
  log: Logger;
}

export class StatusSync {
  readonly #pending = new Map<string, PendingStatus>();

  constructor(private readonly deps: StatusSyncDeps) {}

  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Leaves `status` to be written for `key`, or clears what was pending when it is undefined. A failure waits
   * `settleMs` first: a DeploymentSecrets and the Secret it references arrive through separate watches, and a
   * reference seen a moment before its Secret must not be reported (status and Warning Event) as missing.
   */
  set(key: string, status: PendingStatus | undefined): void {
    if (!status) {
      this.#pending.delete(key);
      return;
    }
    this.#pending.set(key, status);
    if (!this.deps.canWrite()) return;
    if (status.warning) this.deps.queue.addAfter(key, this.deps.settleMs ?? 1000);
    else this.deps.queue.add(key);
  }

  /** Queues everything pending again, e.g. after this replica became the leader. */
  resync(): void {
    for (const key of this.#pending.keys()) this.deps.queue.add(key);
  }

  run(): void {
    this.deps.queue.run((key) => this.#sync(key));
  }

  async #sync(key: string): Promise<ReconcileResult> {
    const p = this.#pending.get(key);
    if (!p || !this.deps.canWrite()) return {};
    await this.deps.limiter.acquire();
    if (!this.deps.canWrite()) return {};
    if (this.#pending.get(key) !== p) return this.#pending.has(key) ? { requeueAfterMs: 0 } : {};
    const { namespace, name } = splitKey(key);
    let wrote: boolean;
    try {
      wrote = await this.deps.writer.write(this.deps.path(namespace, name), p.current, p.desired);
    } catch (err) {
      // Refused as invalid: retrying the same status cannot help; the object's next event brings a new one.
      if (classify(err) === 'invalid' && this.#pending.get(key) === p) this.#pending.delete(key);
      throw err;
    }
    if (this.#pending.get(key) === p) this.#pending.delete(key);
    if (wrote && p.warning) {
      const target: EventTarget = {
        ...this.deps.target,
        metadata: { name, namespace, uid: p.uid, resourceVersion: p.resourceVersion },
      };
      await this.deps.events.record(target, 'Warning', p.warning.reason, p.warning.message);
    }
    this.deps.log[wrote ? 'info' : 'debug'](
      {
        namespace,
        name,
        resourceVersion: p.resourceVersion,
        statusWritten: wrote,
        reason: p.warning?.reason,
      },
      'status synced',
    );
    return {};
  }
}
