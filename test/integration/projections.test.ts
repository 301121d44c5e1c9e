/**
 * ConfigMap projections against the real control plane: a labelled DeploymentFacts gets a ConfigMap of its facts
 * as strings (what Flux's postBuild.substituteFrom reads), it follows fact changes within a second, it never
 * holds secrets, and it goes when the label or the DeploymentFacts goes. There is no garbage collector in the test
 * control plane, so the deletions seen here are the projector's own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../src/kube/client.js';
import { isNotFound } from '../../src/kube/errors.js';
import { corePath, factsPath, secretsPath } from '../../src/kube/paths.js';
import { kubectl } from '../control-plane/kubectl.js';
import {
  adminClient,
  controlPlane,
  eventually,
  newNamespace,
  startTestOperator,
  type TestOperator,
} from '../support/cluster.js';

interface ConfigMap {
  metadata: {
    name: string;
    uid: string;
    labels?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
  };
  data?: Record<string, unknown>;
}

let client: KubeClient;
let ns: string;
let op: TestOperator;

beforeAll(async () => {
  client = adminClient();
  ns = await newNamespace('proj');
  op = await startTestOperator({ namespaces: [ns], auth: 'none', extraArgs: ['--configmap-projections'] });
});
afterAll(async () => {
  await op?.stop();
});

const LABEL = 'flagops.io/project-configmap';
const cmPath = (identity: string) => corePath('configmaps', ns, `flagops-facts-${identity}`);
const getCm = (identity: string) => client.get<ConfigMap>(cmPath(identity));
async function gone(path: string): Promise<boolean> {
  try {
    await client.get(path);
    return false;
  } catch (err) {
    if (isNotFound(err)) return true;
    throw err;
  }
}

async function applyFacts(
  identity: string,
  facts: Record<string, unknown>,
  labels: Record<string, string> = {},
) {
  const r = await kubectl(controlPlane(), ['apply', '--server-side', '--field-manager=gitops', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'flagops.io/v1alpha1',
      kind: 'DeploymentFacts',
      metadata: { name: identity, namespace: ns, labels },
      spec: { facts },
    }),
  });
  expect(r.code, r.stderr).toBe(0);
}

/**
 * What Flux's kustomize-controller does with postBuild.substituteFrom: every key must be a valid variable name
 * (else the whole substitution fails), every value a string (newlines dropped), then ${var} is replaced.
 */
function fluxSubstitute(template: string, data: Record<string, unknown>): string {
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) {
    if (!/^[_a-zA-Z][_a-zA-Z0-9]*$/.test(k)) throw new Error(`'${k}' var name is invalid`);
    if (typeof v !== 'string') throw new Error(`'${k}' is not a string`);
    vars[k] = v.replaceAll('\n', '');
  }
  return template.replace(/\$\{([_a-zA-Z][_a-zA-Z0-9]*)\}/g, (_m, k: string) => vars[k] ?? '');
}

async function projectionFailed(identity: string) {
  return eventually(async () => {
    const list = await client.get<{
      items: { reason: string; message: string; involvedObject: { kind: string; name: string } }[];
    }>(corePath('events', ns));
    const e = list.items.find((i) => i.involvedObject.name === identity && i.reason === 'ProjectionFailed');
    expect(e).toBeDefined();
    expect(e!.message).toContain('is not a projection');
    return e!;
  });
}

describe('ConfigMap projections', () => {
  it('keep a ConfigMap of the facts as strings, owned by the DeploymentFacts and watched by Flux; never secrets', async () => {
    await client.create(corePath('secrets', ns), {
      metadata: {
        name: 'c1-db',
        labels: { 'flagops.io/expose': 'true' },
        annotations: { 'flagops.io/expose-to': 'customer-1' },
      },
      stringData: { password: 'projected-never-pw' },
    });
    await client.create(secretsPath(ns), {
      apiVersion: 'flagops.io/v1alpha1',
      kind: 'DeploymentSecrets',
      metadata: { name: 'customer-1' },
      spec: { secrets: [{ name: 'db-password', secretKeyRef: { name: 'c1-db', key: 'password' } }] },
    });
    await applyFacts(
      'customer-1',
      { tier: 'gold', 'max-replicas': 5, 'beta.ui': 'true' },
      { [LABEL]: 'true' },
    );
    await eventually(() => expect(op.store.get(ns, 'customer-1')?.secrets?.values.size).toBe(1));

    const cm = await eventually(async () => {
      const c = await getCm('customer-1');
      expect(c.data).toEqual({ tier: 'gold', max_replicas: '5', beta_ui: 'true' });
      return c;
    });
    expect(cm.metadata.labels?.['reconcile.fluxcd.io/watch']).toBe('Enabled');
    const owner = await client.get<{ metadata: { uid: string } }>(factsPath(ns, 'customer-1'));
    expect(cm.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'flagops.io/v1alpha1',
        kind: 'DeploymentFacts',
        name: 'customer-1',
        uid: owner.metadata.uid,
        controller: true,
      },
    ]);
    // The postBuild.substituteFrom contract: a string map whose keys are variable names.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Flux template, not a JavaScript one
    const template = 'replicas: ${max_replicas}\ntier: ${tier}\nbeta: "${beta_ui}"';
    expect(fluxSubstitute(template, cm.data ?? {})).toBe('replicas: 5\ntier: gold\nbeta: "true"');
    expect(JSON.stringify(cm)).not.toContain('projected-never-pw');
    expect(JSON.stringify(cm)).not.toContain('db-password');
  });

  it('follow a fact change within a second', async () => {
    await getCm('customer-1');
    await applyFacts('customer-1', { tier: 'platinum', 'max-replicas': 5 }, { [LABEL]: 'true' });
    const started = Date.now();
    let data: Record<string, unknown> | undefined;
    while (Date.now() - started < 1000) {
      data = (await getCm('customer-1')).data;
      if (data?.tier === 'platinum') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    // A removed fact leaves the ConfigMap too.
    expect(data).toEqual({ tier: 'platinum', max_replicas: '5' });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('are not made without the label, and go when the label goes', async () => {
    await applyFacts('customer-2', { tier: 'silver' });
    await eventually(() => expect(op.store.get(ns, 'customer-2')?.facts?.values).toEqual({ tier: 'silver' }));
    await applyFacts('customer-3', { tier: 'bronze' }, { [LABEL]: 'true' });
    await eventually(async () => expect((await getCm('customer-3')).data).toEqual({ tier: 'bronze' }));
    // customer-2 was written before customer-3, and never got a ConfigMap.
    expect(await gone(cmPath('customer-2'))).toBe(true);

    await client.mergePatch(factsPath(ns, 'customer-3'), { metadata: { labels: { [LABEL]: null } } });
    await eventually(async () => expect(await gone(cmPath('customer-3'))).toBe(true));
  });

  it('disappear with their DeploymentFacts, and leave a ConfigMap of the same name that is not theirs', async () => {
    await client.delete(factsPath(ns, 'customer-1'));
    await eventually(async () => expect(await gone(cmPath('customer-1'))).toBe(true));

    await client.create(corePath('configmaps', ns), {
      metadata: { name: 'flagops-facts-customer-4' },
      data: { mine: 'yes' },
    });
    await applyFacts('customer-4', { tier: 'gold' }, { [LABEL]: 'true' });
    const event = await eventually(async () => {
      const list = await client.get<{
        items: { reason: string; message: string; involvedObject: { kind: string; name: string } }[];
      }>(corePath('events', ns));
      const e = list.items.find(
        (i) => i.involvedObject.name === 'customer-4' && i.reason === 'ProjectionFailed',
      );
      expect(e).toBeDefined();
      return e!;
    });
    expect(event.message).toContain('is not a projection');
    await client.delete(factsPath(ns, 'customer-4'));
    await eventually(() => expect(op.store.get(ns, 'customer-4')).toBeUndefined());
    await new Promise((r) => setTimeout(r, 300));
    const cm = await getCm('customer-4');
    expect(cm.data).toEqual({ mine: 'yes' });
    expect(cm.metadata.ownerReferences).toBeUndefined();
  });

  it('never take over a foreign ConfigMap made after the projection was deleted: not on a fact write, not on unlabel', async () => {
    await applyFacts('customer-t', { tier: 'gold' }, { [LABEL]: 'true' });
    await eventually(async () => expect((await getCm('customer-t')).data).toEqual({ tier: 'gold' }));
    await client.delete(cmPath('customer-t'));
    await client.create(corePath('configmaps', ns), {
      metadata: { name: 'flagops-facts-customer-t', labels: { 'flagops.io/projection': 'facts' } },
      data: { mine: 'yes' },
    });
    // The next fact write must not overwrite it.
    await applyFacts('customer-t', { tier: 'platinum' }, { [LABEL]: 'true' });
    await eventually(() =>
      expect(op.store.get(ns, 'customer-t')?.facts?.values).toEqual({ tier: 'platinum' }),
    );
    await projectionFailed('customer-t');
    let cm = await getCm('customer-t');
    expect(cm.data).toEqual({ mine: 'yes' });
    expect(cm.metadata.ownerReferences).toBeUndefined();
    // Nor does removing the label delete it.
    await client.mergePatch(factsPath(ns, 'customer-t'), { metadata: { labels: { [LABEL]: null } } });
    await eventually(() => expect(op.projector?.cache.get(ns, 'customer-t')).toBeUndefined());
    await new Promise((r) => setTimeout(r, 300));
    cm = await getCm('customer-t');
    expect(cm.data).toEqual({ mine: 'yes' });
  });

  it('tell their own ConfigMap by the owner uid and label, not by an ownerReference naming the identity', async () => {
    await client.create(corePath('configmaps', ns), {
      metadata: {
        name: 'flagops-facts-customer-u',
        labels: { 'flagops.io/projection': 'facts' },
        ownerReferences: [
          {
            apiVersion: 'flagops.io/v1alpha1',
            kind: 'DeploymentFacts',
            name: 'customer-u',
            uid: '00000000-0000-0000-0000-000000000000',
            controller: true,
          },
        ],
      },
      data: { mine: 'yes' },
    });
    await applyFacts('customer-u', { tier: 'gold' }, { [LABEL]: 'true' });
    await projectionFailed('customer-u');
    expect((await getCm('customer-u')).data).toEqual({ mine: 'yes' });
    await client.mergePatch(factsPath(ns, 'customer-u'), { metadata: { labels: { [LABEL]: null } } });
    await eventually(() => expect(op.projector?.cache.get(ns, 'customer-u')).toBeUndefined());
    await new Promise((r) => setTimeout(r, 300));
    expect((await getCm('customer-u')).data).toEqual({ mine: 'yes' });
  });

  it('written by an earlier version, get the label Flux watches and lose the old one on the next write', async () => {
    // What versions before the fix left behind: created (POST) and then applied by the projector's field
    // manager with the label `toolkit.fluxcd.io/watch`, which Flux ignores.
    await applyFacts('customer-v', { tier: 'gold' });
    const owner = await client.get<{ metadata: { uid: string } }>(factsPath(ns, 'customer-v'));
    const old = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'flagops-facts-customer-v',
        namespace: ns,
        labels: {
          'toolkit.fluxcd.io/watch': 'Enabled',
          'flagops.io/projection': 'facts',
          'app.kubernetes.io/managed-by': 'flagops-data-store',
        },
        ownerReferences: [
          {
            apiVersion: 'flagops.io/v1alpha1',
            kind: 'DeploymentFacts',
            name: 'customer-v',
            uid: owner.metadata.uid,
            controller: true,
          },
        ],
      },
    };
    const created = await client.create<ConfigMap>(corePath('configmaps', ns), old, {
      query: { fieldManager: 'flagops-data-store-projections' },
    });
    await client.apply(
      cmPath('customer-v'),
      { ...old, data: { tier: 'silver' } },
      'flagops-data-store-projections',
      { force: true },
    );

    await applyFacts('customer-v', { tier: 'gold' }, { [LABEL]: 'true' });
    const cm = await eventually(async () => {
      const c = await getCm('customer-v');
      expect(c.data).toEqual({ tier: 'gold' });
      expect(c.metadata.labels?.['toolkit.fluxcd.io/watch']).toBeUndefined();
      return c;
    });
    expect(cm.metadata.labels).toEqual({
      'reconcile.fluxcd.io/watch': 'Enabled',
      'flagops.io/projection': 'facts',
      'app.kubernetes.io/managed-by': 'flagops-data-store',
    });
    // The same object, updated in place: Flux's watch sees a change of the ConfigMap it references.
    expect(cm.metadata.uid).toBe(created.metadata.uid);
  });
});
