/**
 * The operator against a real kube-apiserver: CRD validation, reconciling into the store, status, Events, secret
 * resolution and rotation, deletes, and recovery from an expired watch.
 */

import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentFacts, DeploymentSecrets } from '../../src/api/types.js';
import type { KubeClient } from '../../src/kube/client.js';
import { KubeClient as Client } from '../../src/kube/client.js';
import { KubeApiError } from '../../src/kube/errors.js';
import { corePath, factsPath, secretsPath } from '../../src/kube/paths.js';
import { type ControlPlane, compactEtcd, startControlPlane } from '../control-plane/control-plane.js';
import { installCrds, kubectl } from '../control-plane/kubectl.js';
import {
  adminClient,
  eventually,
  newNamespace,
  startTestOperator,
  type TestOperator,
} from '../support/cluster.js';
import { metric } from '../support/process.js';

const facts = (namespace: string, name: string, values: unknown) => ({
  apiVersion: 'flagops.io/v1alpha1',
  kind: 'DeploymentFacts',
  metadata: { name, namespace },
  spec: { facts: values },
});

const b64 = (s: string) => Buffer.from(s).toString('base64');
// Secret values used below; none of them may show up in logs, status or Events.
const SECRET_VALUES = ['pa55-w0rd-ONE', 'pa55-w0rd-TWO', 'tok-en-THREE'];

let client: KubeClient;
let ns: string;
let op: TestOperator;

beforeAll(async () => {
  client = adminClient();
  ns = await newNamespace('operator');
  op = await startTestOperator({ namespaces: [ns] });
});
afterAll(async () => {
  await op?.stop();
});

async function createError(body: unknown): Promise<string> {
  try {
    await client.create(factsPath(ns), body);
  } catch (err) {
    expect(err).toBeInstanceOf(KubeApiError);
    return (err as KubeApiError).message;
  }
  throw new Error('the API server accepted an invalid DeploymentFacts');
}

describe('DeploymentFacts validation by the API server', () => {
  it.each([
    [
      'a nested value',
      { tier: { level: 'gold' } },
      'spec.facts.tier must be a string, a number or a boolean, not an object',
    ],
    [
      'a list value',
      { zones: ['a', 'b'] },
      'spec.facts.zones must be a string, a number or a boolean, not a list',
    ],
    ['a null value', { tier: null }, 'spec.facts.tier must be a string, a number or a boolean, not null'],
    [
      'an integer beyond 2^53-1',
      { big: 2 ** 53 + 2 },
      'spec.facts.big must be a number between -(2^53-1) and 2^53-1',
    ],
    [
      'a decimal beyond 2^53-1',
      { huge: 1e300 },
      'spec.facts.huge must be a number between -(2^53-1) and 2^53-1',
    ],
    ['a bad name', { '-tier': 'gold' }, 'invalid fact name -tier'],
    ['a name over 63 characters', { ['x'.repeat(64)]: 'gold' }, `invalid fact name ${'x'.repeat(64)}`],
    [
      '257 facts',
      Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`f${i}`, i])),
      'must have at most 256',
    ],
    ['a 5 KiB value', { blob: 'x'.repeat(5 * 1024) }, 'spec.facts.blob: Too long'],
  ])('rejects %s with a message that names it', async (_what, values, message) => {
    const text = await createError(facts(ns, `bad-${Math.random().toString(36).slice(2, 8)}`, values));
    expect(text).toContain(message);
  });

  it('accepts strings, integers, decimals and booleans, and keeps their types', async () => {
    const values = { tier: 'gold', replicas: 3, ratio: 0.5, beta: true, legacy: false, offset: -1.25 };
    const created = await client.create<DeploymentFacts>(factsPath(ns), facts(ns, 'typed', values));
    expect(created.spec?.facts).toEqual(values);
  });

  it('refuses a bad fact in an update, and lets an update that leaves the facts alone through', async () => {
    await client.create(factsPath(ns), facts(ns, 'updated', { tier: 'gold' }));
    await expect(
      client.mergePatch(factsPath(ns, 'updated'), { spec: { facts: { zones: ['a'] } } }),
    ).rejects.toThrow('spec.facts.zones must be a string, a number or a boolean, not a list');
    await client.mergePatch(factsPath(ns, 'updated'), { metadata: { labels: { team: 'a' } } });
  });

  it('rejects invalid input through the real kubectl too', async () => {
    const r = await kubectl((await import('../support/cluster.js')).controlPlane(), ['apply', '-f', '-'], {
      input: JSON.stringify(facts(ns, 'bad-kubectl', { 'no spaces allowed': 'x' })),
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('invalid fact name no spaces allowed');
  });
});

describe('reconciling DeploymentFacts', () => {
  it('indexes a valid object into the store and reports Ready=True for the current generation', async () => {
    await client.create(factsPath(ns), facts(ns, 'customer-42', { tier: 'gold', 'max-replicas': 5 }));
    await eventually(() =>
      expect(op.store.get(ns, 'customer-42')?.facts?.values).toEqual({ tier: 'gold', 'max-replicas': 5 }),
    );
    const obj = await eventually(async () => {
      const o = await client.get<DeploymentFacts>(factsPath(ns, 'customer-42'));
      expect(o.status?.observedGeneration).toBe(1);
      return o;
    });
    expect(obj.status?.factCount).toBe(2);
    expect(obj.status?.conditions).toEqual([
      expect.objectContaining({ type: 'Ready', status: 'True', reason: 'Indexed', observedGeneration: 1 }),
    ]);

    await client.mergePatch(factsPath(ns, 'customer-42'), { spec: { facts: { tier: 'platinum' } } });
    await eventually(() => expect(op.store.get(ns, 'customer-42')?.facts?.values.tier).toBe('platinum'));
    await eventually(async () => {
      const o = await client.get<DeploymentFacts>(factsPath(ns, 'customer-42'));
      expect(o.metadata.generation).toBe(2);
      expect(o.status?.observedGeneration).toBe(2);
      expect(o.status?.conditions?.[0]?.observedGeneration).toBe(2);
    });
  });

  it('removes a deleted object from the store', async () => {
    await client.create(factsPath(ns), facts(ns, 'short-lived', { a: 1 }));
    await eventually(() => expect(op.store.get(ns, 'short-lived')).toBeDefined());
    await client.delete(factsPath(ns, 'short-lived'));
    await eventually(() => expect(op.store.get(ns, 'short-lived')).toBeUndefined());
  });

  it('ignores namespaces it does not watch', async () => {
    const other = await newNamespace('unwatched');
    await client.create(factsPath(other), facts(other, 'elsewhere', { a: 1 }));
    await new Promise((r) => setTimeout(r, 300));
    expect(op.store.get(other, 'elsewhere')).toBeUndefined();
  });
});

describe('reconciling DeploymentSecrets', () => {
  const ds = (name: string, spec: DeploymentSecrets['spec']) => ({
    apiVersion: 'flagops.io/v1alpha1',
    kind: 'DeploymentSecrets',
    metadata: { name, namespace: ns },
    spec,
  });
  const secret = (name: string, data: Record<string, string>, exposeTo: string) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace: ns,
      labels: { 'flagops.io/expose': 'true' },
      annotations: { 'flagops.io/expose-to': exposeTo },
    },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  });
  const readyOf = async (name: string) =>
    (await client.get<DeploymentSecrets>(secretsPath(ns, name))).status?.conditions?.find(
      (c) => c.type === 'Ready',
    );

  it('reports SecretNotFound, then turns Ready within a second of the Secret being created', async () => {
    await client.create(
      secretsPath(ns),
      ds('app-a', {
        secrets: [{ name: 'db-password', secretKeyRef: { name: 'db-creds', key: 'password' } }],
      }),
    );
    await eventually(async () =>
      expect(await readyOf('app-a')).toMatchObject({ status: 'False', reason: 'SecretNotFound' }),
    );
    const condition = await readyOf('app-a');
    expect(condition?.message).toContain('Secret db-creds not found');

    await client.create(
      corePath('secrets', ns),
      secret('db-creds', { password: SECRET_VALUES[0]! }, 'app-a'),
    );
    const created = Date.now();
    await eventually(
      () =>
        expect(op.store.get(ns, 'app-a')?.secrets?.values.get('db-password')?.reveal()).toBe(
          SECRET_VALUES[0],
        ),
      1000,
      5,
    );
    expect(Date.now() - created).toBeLessThan(1000);
    await eventually(async () =>
      expect(await readyOf('app-a')).toMatchObject({ status: 'True', reason: 'Resolved' }),
    );
  });

  it('updates the store within a second when a Secret rotates, and reports a missing key', async () => {
    await client.create(corePath('secrets', ns), secret('api-creds', { token: SECRET_VALUES[1]! }, 'app-b'));
    await client.create(
      secretsPath(ns),
      ds('app-b', {
        secrets: [
          { name: 'token', secretKeyRef: { name: 'api-creds', key: 'token' } },
          { name: 'missing', secretKeyRef: { name: 'api-creds', key: 'nope' } },
        ],
      }),
    );
    await eventually(() =>
      expect(op.store.get(ns, 'app-b')?.secrets?.values.get('token')?.reveal()).toBe(SECRET_VALUES[1]),
    );
    await eventually(async () =>
      expect(await readyOf('app-b')).toMatchObject({ status: 'False', reason: 'KeyNotFound' }),
    );

    await client.mergePatch(corePath('secrets', ns, 'api-creds'), {
      data: { token: b64(SECRET_VALUES[2]!) },
    });
    const rotated = Date.now();
    await eventually(
      () => expect(op.store.get(ns, 'app-b')?.secrets?.values.get('token')?.reveal()).toBe(SECRET_VALUES[2]),
      1000,
      5,
    );
    expect(Date.now() - rotated).toBeLessThan(1000);
  });

  it('does not serve a Secret that has not opted in with the flagops.io/expose label', async () => {
    await client.create(corePath('secrets', ns), {
      ...secret('private', { key: 'not-for-flagops' }, 'snoop'),
      metadata: { name: 'private', namespace: ns },
    });
    await client.create(secretsPath(ns), ds('snoop', { secretsFrom: [{ secretRef: { name: 'private' } }] }));
    await eventually(async () =>
      expect(await readyOf('snoop')).toMatchObject({ status: 'False', reason: 'SecretNotFound' }),
    );
    expect((await readyOf('snoop'))?.message).toContain('not labelled flagops.io/expose=true');
    expect(op.store.get(ns, 'snoop')?.secrets?.values.size).toBe(0);
    // Opting in later resolves it within a second.
    await client.mergePatch(corePath('secrets', ns, 'private'), {
      metadata: {
        labels: { 'flagops.io/expose': 'true' },
        annotations: { 'flagops.io/expose-to': 'snoop' },
      },
    });
    await eventually(
      () => expect(op.store.get(ns, 'snoop')?.secrets?.values.get('key')?.reveal()).toBe('not-for-flagops'),
      1000,
      5,
    );
  });

  it('records Warning Events naming the problem', async () => {
    const events = await eventually(async () => {
      const list = await client.get<{
        items: { reason: string; message: string; involvedObject: { name: string } }[];
      }>(corePath('events', ns));
      const mine = list.items.filter(
        (e) => e.involvedObject.name === 'app-a' || e.involvedObject.name === 'app-b',
      );
      expect(mine.map((e) => e.reason)).toEqual(expect.arrayContaining(['SecretNotFound', 'KeyNotFound']));
      return list.items;
    });
    expect(events.find((e) => e.reason === 'KeyNotFound')?.message).toContain(
      'key nope not found in Secret api-creds',
    );
  });

  it('removes secrets from the store when the DeploymentSecrets is deleted', async () => {
    await client.delete(secretsPath(ns, 'app-b'));
    await eventually(() => expect(op.store.get(ns, 'app-b')).toBeUndefined());
  });

  it('never lets a secret value into a log line, a status or an Event', async () => {
    const statuses = await client.get<{ items: unknown[] }>(secretsPath(ns));
    const events = await client.get<{ items: unknown[] }>(corePath('events', ns));
    const everything = [...op.logs, JSON.stringify(statuses), JSON.stringify(events)].join('\n');
    expect(op.logs.length).toBeGreaterThan(10);
    for (const value of SECRET_VALUES) {
      expect(everything).not.toContain(value);
      expect(everything).not.toContain(b64(value));
    }
  });
});

describe('a control plane of its own: an expired watch (410 Gone), and no admission policy', () => {
  // A control plane of its own without the watch cache, so that a watch from a compacted resourceVersion
  // really gets 410 from etcd through the API server; and with the CRDs alone, as on a cluster where the facts
  // admission policy was not installed.
  let cp: ControlPlane;
  let own: TestOperator;
  let c: Client;
  beforeAll(async () => {
    cp = await startControlPlane({ extraApiServerArgs: ['--watch-cache=false'] });
    await installCrds(cp.info(), { policy: false });
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    c = new Client(kc);
    await c.create('/api/v1/namespaces', { metadata: { name: 'gone' } });
    own = await startTestOperator({ namespaces: ['gone'], kc });
  }, 120_000);
  afterAll(async () => {
    await own?.stop();
    await cp?.stop();
  });

  it('is recovered by relisting, without losing an update', async () => {
    await c.create(factsPath('gone'), {
      ...facts('gone', 'a', { v: 1 }),
      metadata: { name: 'a', namespace: 'gone' },
    });
    await c.create(factsPath('gone'), {
      ...facts('gone', 'b', { v: 1 }),
      metadata: { name: 'b', namespace: 'gone' },
    });
    await eventually(() => expect(own.store.get('gone', 'b')?.facts?.values).toEqual({ v: 1 }));

    // Stop watching (the informer keeps its resourceVersion), change things, and compact etcd past it.
    await own.controllers.facts.stop();
    await c.mergePatch(factsPath('gone', 'a'), { spec: { facts: { v: 2 } } });
    await c.delete(factsPath('gone', 'b'));
    await c.create(factsPath('gone'), {
      ...facts('gone', 'c', { v: 3 }),
      metadata: { name: 'c', namespace: 'gone' },
    });
    await compactEtcd(cp.etcdEndpoint);
    const relistsBefore = own.logs.filter(
      (l) => l.includes('"msg":"relisted"') && l.includes('deploymentfacts'),
    ).length;

    await own.controllers.facts.start();
    await eventually(() => {
      expect(own.store.get('gone', 'a')?.facts?.values).toEqual({ v: 2 });
      expect(own.store.get('gone', 'b')).toBeUndefined();
      expect(own.store.get('gone', 'c')?.facts?.values).toEqual({ v: 3 });
    });
    const relistsAfter = own.logs.filter(
      (l) => l.includes('"msg":"relisted"') && l.includes('deploymentfacts'),
    ).length;
    expect(relistsAfter).toBeGreaterThan(relistsBefore);
    expect(
      await metric(own.url, 'flagops_watch_relists_total', 'resource="deploymentfacts"'),
    ).toBeGreaterThan(0);
  });

  it("without the policy, the operator's own check reports InvalidSpec naming the fact and keeps serving", async () => {
    const path = factsPath('gone', 'unchecked');
    await c.create(factsPath('gone'), {
      ...facts('gone', 'unchecked', { tier: 'gold', beta: true }),
      metadata: { name: 'unchecked', namespace: 'gone' },
    });
    await eventually(() =>
      expect(own.store.get('gone', 'unchecked')?.facts?.values).toEqual({ tier: 'gold', beta: true }),
    );
    await c.mergePatch(path, { spec: { facts: { limits: { cpu: 2 }, 'bad name': 1 } } });
    const status = await eventually(async () => {
      const o = await c.get<DeploymentFacts>(path);
      expect(o.status?.observedGeneration).toBe(2);
      return o.status!;
    });
    expect(status.conditions?.[0]).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(status.conditions?.[0]?.message).toContain(
      'spec.facts.limits: must be a string, a number or a boolean',
    );
    expect(status.conditions?.[0]?.message).toContain('invalid fact name bad name');
    // Bad input loses nothing: the last valid facts are still served.
    expect(own.store.get('gone', 'unchecked')?.facts?.values).toEqual({ tier: 'gold', beta: true });
  });
});
