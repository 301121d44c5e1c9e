/**
 * `flagops.io/expose-to` is required by default (issue 20): a Secret labelled `flagops.io/expose: "true"` without
 * it serves no DeploymentSecrets of its namespace; `--expose-to-required=false` brings back the old behaviour, in
 * which it serves all of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentSecrets } from '../../src/api/types.js';
import type { KubeClient } from '../../src/kube/client.js';
import { corePath, secretsPath } from '../../src/kube/paths.js';
import {
  adminClient,
  eventually,
  newNamespace,
  startTestOperator,
  type TestOperator,
} from '../support/cluster.js';

let client: KubeClient;
let strictNs: string;
let legacyNs: string;
let strict: TestOperator;
let legacy: TestOperator;

beforeAll(async () => {
  client = adminClient();
  [strictNs, legacyNs] = await Promise.all([newNamespace('expose-strict'), newNamespace('expose-legacy')]);
  [strict, legacy] = await Promise.all([
    startTestOperator({ namespaces: [strictNs], auth: 'none' }),
    startTestOperator({ namespaces: [legacyNs], auth: 'none', extraArgs: ['--expose-to-required=false'] }),
  ]);
});
afterAll(async () => {
  await Promise.all([strict?.stop(), legacy?.stop()]);
});

async function setUp(ns: string) {
  await client.create(corePath('secrets', ns), {
    metadata: { name: 'shared', labels: { 'flagops.io/expose': 'true' } },
    stringData: { token: 'shared-token-value' },
  });
  await client.create(corePath('secrets', ns), {
    metadata: {
      name: 'narrowed',
      labels: { 'flagops.io/expose': 'true' },
      annotations: { 'flagops.io/expose-to': 'app' },
    },
    stringData: { token: 'narrowed-token-value' },
  });
  for (const name of ['app', 'snoop'])
    await client.create(secretsPath(ns), {
      apiVersion: 'flagops.io/v1alpha1',
      kind: 'DeploymentSecrets',
      metadata: { name },
      spec: {
        secrets: [
          { name: 'shared', secretKeyRef: { name: 'shared', key: 'token' } },
          { name: 'narrowed', secretKeyRef: { name: 'narrowed', key: 'token' } },
        ],
      },
    });
}

const ready = async (ns: string, name: string) =>
  (await client.get<DeploymentSecrets>(secretsPath(ns, name))).status?.conditions?.find(
    (c) => c.type === 'Ready',
  );
const served = (op: TestOperator, ns: string, name: string) =>
  Object.fromEntries([...(op.store.get(ns, name)?.secrets?.values ?? [])].map(([k, v]) => [k, v.reveal()]));

describe('flagops.io/expose-to', () => {
  it('is required by default: a labelled Secret without it serves nobody, with SecretNotExposed', async () => {
    await setUp(strictNs);
    await eventually(async () =>
      expect(await ready(strictNs, 'snoop')).toMatchObject({ status: 'False', reason: 'SecretNotExposed' }),
    );
    await eventually(async () =>
      expect(await ready(strictNs, 'app')).toMatchObject({ status: 'False', reason: 'SecretNotExposed' }),
    );
    expect((await ready(strictNs, 'app'))?.message).toContain(
      'Secret shared is not exposed to this identity',
    );
    expect(served(strict, strictNs, 'app')).toEqual({ narrowed: 'narrowed-token-value' });
    expect(served(strict, strictNs, 'snoop')).toEqual({});

    // Naming the identity serves it, at once.
    await client.mergePatch(corePath('secrets', strictNs, 'shared'), {
      metadata: { annotations: { 'flagops.io/expose-to': 'app' } },
    });
    await eventually(() =>
      expect(served(strict, strictNs, 'app')).toEqual({
        shared: 'shared-token-value',
        narrowed: 'narrowed-token-value',
      }),
    );
    expect(served(strict, strictNs, 'snoop')).toEqual({});
  });

  it('is optional with --expose-to-required=false: a labelled Secret without it serves every identity', async () => {
    await setUp(legacyNs);
    await eventually(() =>
      expect(served(legacy, legacyNs, 'snoop')).toEqual({ shared: 'shared-token-value' }),
    );
    await eventually(() =>
      expect(served(legacy, legacyNs, 'app')).toEqual({
        shared: 'shared-token-value',
        narrowed: 'narrowed-token-value',
      }),
    );
  });
});
