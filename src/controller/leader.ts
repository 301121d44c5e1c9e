/**
 * Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection: every replica serves
 * reads from its own informers; only the leader writes status and Events. A lease counts as expired when its
 * record has not changed for leaseDuration as measured on our own clock (so clock skew between replicas does
 * not matter). The leader gives up when it cannot renew within renewDeadline, and releases the lease on
 * shutdown so that a standby takes over at once.
 *
 * The leader-only parts (status writes aside, which ask `isLeader` per write) are switched on and off by the
 * started/stopped callbacks: a step-down timer fires `onStoppedLeading` the moment the renew deadline passes, so a
 * part never keeps working on a lease it may have lost.
 */
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/client.js';
import { errorSummary, KubeApiError } from '../kube/errors.js';

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  log: Logger;
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
  now?: () => number;
}

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

/** A part that works on the leader only: the elector's callbacks switch it on and off. */
export interface LeaderOnly {
  setLeading(leading: boolean): void;
}

const microTime = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');

export class LeaderElector {
  #leader = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  /** Fires when the renew deadline passes without a renewal. */
  #stepDown: NodeJS.Timeout | undefined;
  #lastRenew = 0;
  /** The last record we saw and when we first saw it, to judge expiry on our own clock. */
  #observed: { key: string; at: number } | undefined;
  readonly #opts: LeaderElectionOptions;
  readonly #now: () => number;

  constructor(opts: LeaderElectionOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * True only while the last renewal is younger than the renew deadline: a renewal stuck on a hung API call must
   * not keep a replica writing after a standby may have taken the lease.
   */
  get isLeader(): boolean {
    return this.#leader && this.#now() - this.#lastRenew < this.#opts.renewDeadlineMs;
  }

  #inflight: Promise<void> | undefined;

  start(): void {
    this.#stopped = false;
    this.#inflight = this.#tick();
  }

  /** Stops campaigning and, when leading, releases the lease so that a standby need not wait for it to expire. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    clearTimeout(this.#stepDown);
    // Let an attempt in flight finish first, or it could re-acquire the lease after we released it.
    await this.#inflight;
    if (!this.#leader) return;
    this.#setLeader(false);
    try {
      const lease = await this.#get();
      if (lease?.spec?.holderIdentity === this.#opts.identity) {
        await this.#opts.client.request('PUT', this.#path(lease.metadata.name), {
          body: {
            ...lease,
            spec: {
              ...lease.spec,
              holderIdentity: null,
              leaseDurationSeconds: 1,
              renewTime: microTime(this.#now()),
            },
          },
        });
        this.#opts.log.info({ lease: this.#opts.name }, 'leader lease released');
      }
    } catch (err) {
      this.#opts.log.warn({ lease: this.#opts.name, err: errorSummary(err) }, 'leader lease not released');
    }
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    try {
      await this.#tryAcquireOrRenew();
    } catch (err) {
      this.#opts.log.debug(
        { lease: this.#opts.name, err: errorSummary(err) },
        'leader election attempt failed',
      );
    }
    this.#stepDownIfLapsed();
    if (this.#stopped) return;
    const jitter = this.#leader ? 1 : 1 + Math.random() * 0.2;
    this.#timer = setTimeout(() => {
      this.#inflight = this.#tick();
    }, this.#opts.retryPeriodMs * jitter);
    this.#timer.unref();
  }

  async #tryAcquireOrRenew(): Promise<void> {
    const { identity, leaseDurationMs } = this.#opts;
    const now = this.#now();
    const lease = await this.#get();
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
      renewTime: microTime(now),
    };
    if (!lease) {
      await this.#opts.client.create(
        this.#path(),
        {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.#opts.name, namespace: this.#opts.namespace },
          spec: { ...spec, acquireTime: microTime(now), leaseTransitions: 0 },
        },
        { timeoutMs: this.#requestTimeout() },
      );
      this.#renewed(now);
      return;
    }
    const holder = lease.spec?.holderIdentity ?? '';
    const key = `${holder}/${lease.spec?.renewTime ?? ''}/${lease.metadata.resourceVersion ?? ''}`;
    if (this.#observed?.key !== key) this.#observed = { key, at: now };
    const durationMs = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
    const expired = !holder || now - this.#observed.at > durationMs;
    if (holder !== identity && !expired) {
      if (this.#leader) this.#setLeader(false);
      return;
    }
    const taking = holder !== identity;
    await this.#opts.client.request('PUT', this.#path(lease.metadata.name), {
      timeoutMs: this.#requestTimeout(),
      body: {
        ...lease,
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        spec: {
          ...lease.spec,
          ...spec,
          ...(taking
            ? { acquireTime: microTime(now), leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + 1 }
            : {}),
        },
      },
    });
    this.#renewed(now);
  }

  /** Lease calls must answer well within the renew deadline, or the deadline check would come too late. */
  #requestTimeout(): number {
    return Math.max(250, Math.floor(this.#opts.renewDeadlineMs / 2));
  }

  #renewed(now: number) {
    // A renewal that lands after the deadline had passed (the step-down timer not run yet): the parts stop and
    // start again, as they would have with the timer on time; writes were refused in between.
    this.#stepDownIfLapsed();
    this.#lastRenew = now;
    this.#setLeader(true);
    this.#armStepDown();
  }

  #stepDownIfLapsed() {
    if (!this.#leader || this.#now() - this.#lastRenew < this.#opts.renewDeadlineMs) return;
    this.#opts.log.warn(
      { lease: this.#opts.name },
      'leader lease not renewed within the deadline; stepping down',
    );
    this.#setLeader(false);
  }

  #armStepDown() {
    clearTimeout(this.#stepDown);
    if (this.#stopped) return;
    const left = this.#lastRenew + this.#opts.renewDeadlineMs - this.#now();
    this.#stepDown = setTimeout(
      () => {
        this.#stepDownIfLapsed();
        if (this.#leader) this.#armStepDown(); // renewed meanwhile, or a clock that moved less than the timer
      },
      Math.max(left, 1),
    );
    this.#stepDown.unref();
  }

  #setLeader(leader: boolean) {
    if (this.#leader === leader) return;
    this.#leader = leader;
    if (!leader) clearTimeout(this.#stepDown);
    this.#opts.log.info(
      { lease: this.#opts.name, identity: this.#opts.identity, leader },
      leader ? 'became leader' : 'lost leadership',
    );
    if (leader) this.#opts.onStartedLeading?.();
    else this.#opts.onStoppedLeading?.();
  }

  async #get(): Promise<Lease | undefined> {
    try {
      return await this.#opts.client.get<Lease>(this.#path(this.#opts.name), {
        timeoutMs: this.#requestTimeout(),
      });
    } catch (err) {
      if (err instanceof KubeApiError && err.errorClass === 'notFound') return undefined;
      throw err;
    }
  }

  #path(name?: string) {
    const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.#opts.namespace)}/leases`;
    return name ? `${base}/${encodeURIComponent(name)}` : base;
  }
}
