import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { KubeClient } from '../kube/client.js';
import { KubeApiError } from '../kube/errors.js';
import { LeaderElector } from './leader.js';

/** An in-memory Lease endpoint with resourceVersion checks, and a switch to make it unreachable. */
class FakeLeases {
  lease:
    | {
        metadata: { name: string; namespace: string; resourceVersion: string };
        spec: Record<string, unknown>;
      }
    | undefined;
  rv = 0;
  down = false;
  client = {
    get: async () => {
      if (this.down) throw new KubeApiError(0, 'ServiceUnavailable', 'unreachable');
      if (!this.lease) throw new KubeApiError(404, 'NotFound', 'not found');
      return structuredClone(this.lease);
    },
    create: async (
      _path: string,
      body: { metadata: { name: string; namespace: string }; spec: Record<string, unknown> },
    ) => {
      if (this.down) throw new KubeApiError(0, 'ServiceUnavailable', 'unreachable');
      if (this.lease) throw new KubeApiError(409, 'AlreadyExists', 'exists');
      this.lease = { metadata: { ...body.metadata, resourceVersion: String(++this.rv) }, spec: body.spec };
      return this.lease;
    },
    request: async (
      _method: string,
      _path: string,
      opts: { body: { metadata: { resourceVersion: string }; spec: Record<string, unknown> } },
    ) => {
      if (this.down) throw new KubeApiError(0, 'ServiceUnavailable', 'unreachable');
      if (opts.body.metadata.resourceVersion !== this.lease?.metadata.resourceVersion)
        throw new KubeApiError(409, 'Conflict', 'stale');
      this.lease = {
        metadata: { ...this.lease.metadata, resourceVersion: String(++this.rv) },
        spec: opts.body.spec,
      };
      return this.lease;
    },
  } as unknown as KubeClient;
}

function elector(leases: FakeLeases, identity: string, clock: { now: number }, events: string[]) {
  return new LeaderElector({
    client: leases.client,
    namespace: 'ns',
    name: 'lease',
    identity,
    leaseDurationMs: 3000,
    renewDeadlineMs: 2000,
    retryPeriodMs: 100_000, // ticks are driven by hand through start()
    log: pino({ level: 'silent' }),
    now: () => clock.now,
    onStartedLeading: () => events.push(`${identity} leads`),
    onStoppedLeading: () => events.push(`${identity} stops`),
  });
}

const settle = () => new Promise((r) => setTimeout(r, 10));

describe('LeaderElector', () => {
  it('elects one leader; a standby takes over only after the lease expired on its own clock', async () => {
    const leases = new FakeLeases();
    const clock = { now: 1_000_000 };
    const events: string[] = [];
    const a = elector(leases, 'a', clock, events);
    const b = elector(leases, 'b', clock, events);
    a.start();
    await settle();
    b.start();
    await settle();
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    // a dies (stops renewing). b first observes the record, then waits a lease duration before taking over.
    clock.now += 2000;
    b.start();
    await settle();
    expect(b.isLeader).toBe(false);
    clock.now += 3001;
    b.start();
    await settle();
    expect(b.isLeader).toBe(true);
    expect(leases.lease?.spec.holderIdentity).toBe('b');
    expect(leases.lease?.spec.leaseTransitions).toBe(1);
    expect(events).toEqual(['a leads', 'b leads']);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('stops counting as leader once the last renewal is older than the renew deadline', async () => {
    const leases = new FakeLeases();
    const clock = { now: 1_000_000 };
    const a = elector(leases, 'a', clock, []);
    a.start();
    await settle();
    expect(a.isLeader).toBe(true);
    leases.down = true;
    clock.now += 2001;
    // No tick has run yet: the getter alone must already say no.
    expect(a.isLeader).toBe(false);
    await a.stop();
  });

  it('calls onStoppedLeading when the renew deadline passes, without waiting for the next attempt', async () => {
    const leases = new FakeLeases();
    const events: string[] = [];
    const a = new LeaderElector({
      client: leases.client,
      namespace: 'ns',
      name: 'lease',
      identity: 'a',
      leaseDurationMs: 300,
      renewDeadlineMs: 50,
      retryPeriodMs: 100_000, // no second attempt: only the step-down timer can stop it
      log: pino({ level: 'silent' }),
      onStartedLeading: () => events.push('a leads'),
      onStoppedLeading: () => events.push('a stops'),
    });
    a.start();
    await settle();
    expect(events).toEqual(['a leads']);
    for (let i = 0; i < 200 && events.length < 2; i++) await settle();
    expect(events).toEqual(['a leads', 'a stops']);
    expect(a.isLeader).toBe(false);
    await a.stop();
  });

  it('stops and starts again when a renewal lands after the deadline', async () => {
    const leases = new FakeLeases();
    const clock = { now: 1_000_000 };
    const events: string[] = [];
    const a = elector(leases, 'a', clock, events);
    a.start();
    await settle();
    clock.now += 2500; // the step-down timer (real time) has not run yet
    a.start();
    await settle();
    expect(events).toEqual(['a leads', 'a stops', 'a leads']);
    expect(a.isLeader).toBe(true);
    await a.stop();
  });

  it('releases the lease on stop so that a standby takes over at once', async () => {
    const leases = new FakeLeases();
    const clock = { now: 1_000_000 };
    const events: string[] = [];
    const a = elector(leases, 'a', clock, events);
    const b = elector(leases, 'b', clock, events);
    a.start();
    await settle();
    await a.stop();
    expect(leases.lease?.spec.holderIdentity).toBeNull();
    b.start();
    await settle();
    expect(b.isLeader).toBe(true);
    expect(events).toEqual(['a leads', 'a stops', 'b leads']);
    await b.stop();
  });
});
