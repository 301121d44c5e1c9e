/**
 * Review of typed facts: attacks that found holes, and the ones that held, against a real API server with the
 * admission policy from crds/ and an operator started in-process.
 *
 * Objects "created before the policy existed" (the case the policy's ratcheting is for, and any cluster installed
 * with admissionPolicy.enabled=false) are made by briefly excluding objects labelled BYPASS from the policy's
 * binding. Only objects carrying that label are affected, so the other test files, which share the control plane,
 * keep the policy as it is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../control-plane/kubectl.js';
import { useApi } from '../support/api.js';
import { adminClient, call, controlPlane, eventually } from '../support/cluster.js';

const fx = useApi('typed-before');

const BINDING =
  '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/deploymentfacts.flagops.io';
const BYPASS = 'typed-before.flagops.io/bypass';
const factsPath = (id: string) => `/api/v1/namespaces/${fx.ns}/identities/${id}/facts`;
const objPath = (id: string) => `/apis/flagops.io/v1alpha1/namespaces/${fx.ns}/deploymentfacts/${id}`;

interface Dfacts {
  metadata: { generation?: number };
  spec?: { facts?: Record<string, unknown> };
  status?: {
    observedGeneration?: number;
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}
const ready = (o: Dfacts) => o.status?.conditions?.find((c) => c.type === 'Ready');
const isPrimitive = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

const bypassed = (name: string, facts: Record<string, unknown>) => ({
  apiVersion: 'flagops.io/v1alpha1',
  kind: 'DeploymentFacts',
  metadata: { name, namespace: fx.ns, labels: { [BYPASS]: '1' } },
  spec: { facts },
});

async function setBypass(on: boolean): Promise<void> {
  await adminClient().request('PATCH', BINDING, {
    contentType: 'application/json-patch+json',
    body: [
      {
        op: 'add',
        path: '/spec/matchResources',
        value: {
          matchPolicy: 'Equivalent',
          namespaceSelector: {},
          objectSelector: on ? { matchExpressions: [{ key: BYPASS, operator: 'DoesNotExist' }] } : {},
        },
      },
    ],
  });
}

/** Creates objects the policy refuses, as if they predated it. */
async function createPrePolicy(objects: unknown[]): Promise<void> {
  await setBypass(true);
  try {
    for (const o of objects) {
      // The API server picks up the binding change asynchronously.
      await eventually(
        () => adminClient().create(`/apis/flagops.io/v1alpha1/namespaces/${fx.ns}/deploymentfacts`, o),
        15_000,
        200,
      );
    }
  } finally {
    await setBypass(false);
  }
}

describe('objects that predate the policy', () => {
  beforeAll(async () => {
    // A valid object first, so that the operator has served it before it turns invalid.
    await adminClient().create(`/apis/flagops.io/v1alpha1/namespaces/${fx.ns}/deploymentfacts`, {
      apiVersion: 'flagops.io/v1alpha1',
      kind: 'DeploymentFacts',
      metadata: { name: 'long-name', namespace: fx.ns, labels: { [BYPASS]: '1' } },
      spec: { facts: { tier: 'silver' } },
    });
    await eventually(async () =>
      expect(ready(await adminClient().get<Dfacts>(objPath('long-name')))?.status).toBe('True'),
    );
    await createPrePolicy([
      bypassed('legacy', { tier: 'gold', limits: { cpu: 2 } }),
      bypassed('proto', JSON.parse('{"__proto__": {"polluted": [1, 2]}, "a": "b"}')),
    ]);
    await setBypass(true);
    try {
      await eventually(
        () =>
          adminClient().mergePatch(objPath('long-name'), {
            spec: { facts: { [`k${'x'.repeat(17_000)}`]: 'v' } },
          }),
        15_000,
        200,
      );
    } finally {
      await setBypass(false);
    }
  }, 90_000);
  afterAll(async () => {
    await setBypass(false);
  });

  it('a write that changes nothing answers with the facts a read could serve, never an object value', async () => {
    await eventually(async () =>
      expect(ready(await adminClient().get<Dfacts>(objPath('legacy')))?.reason).toBe('InvalidSpec'),
    );
    expect((await call(fx.op, 'GET', factsPath('legacy'), { token: fx.tokens.factsReader })).status).toBe(
      404,
    );
    const r = await call(fx.op, 'PATCH', factsPath('legacy'), { token: fx.tokens.admin, body: {} });
    // Before the fix: 200 {"limits":{"cpu":2},"tier":"gold"}.
    for (const [k, v] of Object.entries(r.body ?? {})) expect(isPrimitive(v), `fact ${k}`).toBe(true);
  });

  it('a forced delete of the bad fact repairs such an object (held)', async () => {
    const r = await call(fx.op, 'DELETE', `${factsPath('legacy')}/limits?force=true`, {
      token: fx.tokens.admin,
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ tier: 'gold' });
    await eventually(async () =>
      expect(ready(await adminClient().get<Dfacts>(objPath('legacy')))?.reason).toBe('Indexed'),
    );
  });

  it('a fact named __proto__ holding an object is InvalidSpec, not dropped silently', async () => {
    const obj = await adminClient().get<Dfacts>(objPath('proto'));
    expect(Object.keys(obj.spec?.facts ?? {})).toContain('__proto__');
    // Before the fix: Ready=True "1 fact served", the object value silently left out.
    await eventually(async () => {
      const c = ready(await adminClient().get<Dfacts>(objPath('proto')));
      expect(c?.reason).toBe('InvalidSpec');
      expect(c?.message).toContain('__proto__');
    });
  });

  it('a very long bad fact name still gets its InvalidSpec status for the current generation', async () => {
    // Before the fix, the status write is refused (condition message over 32768 characters) and dropped.
    await eventually(async () => {
      const o = await adminClient().get<Dfacts>(objPath('long-name'));
      expect(o.status?.observedGeneration).toBe(o.metadata.generation);
      expect(ready(o)?.reason).toBe('InvalidSpec');
      expect(ready(o)?.message).toContain('invalid fact name kxxx');
    }, 15_000);
  });
});

describe('the admission policy', () => {
  const manifest = (name: string, facts: Record<string, unknown>) =>
    JSON.stringify({
      apiVersion: 'flagops.io/v1alpha1',
      kind: 'DeploymentFacts',
      metadata: { name, namespace: fx.ns },
      spec: { facts },
    });

  it('refuses a long bad name with a message naming it (not a cost or messageExpression failure)', async () => {
    for (const [name, facts] of [
      // messageExpression results over 5000 characters are dropped: "failed expression: size(variables.badNames) == 0"
      ['one-long', { [`k${'-'.repeat(6000)}z`]: 'v' }],
      // 256 names of 4000 characters: "composited variable "badNames" fails to evaluate: ... cost limit exceeded"
      [
        'many-long',
        Object.fromEntries(Array.from({ length: 256 }, (_, i) => [`k${i}${'-'.repeat(4000)}z`, 'v'])),
      ],
    ] as const) {
      const r = await kubectl(controlPlane(), ['create', '--dry-run=server', '-f', '-'], {
        input: manifest(name, facts),
      });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/invalid fact name k\d*-/);
    }
  });

  it('accepts the largest legitimate object on create, on a change of every value and on a label edit (held)', async () => {
    const facts = (c: string) =>
      Object.fromEntries(
        Array.from({ length: 256 }, (_, i) => [
          `${String(i).padStart(3, '0')}${'x'.repeat(60)}`,
          c.repeat(4096),
        ]),
      );
    const created = await kubectl(controlPlane(), ['create', '-f', '-'], {
      input: manifest('max', facts('a')),
    });
    expect(created.stderr).toBe('');
    // kubectl replace reads the object first: the operator's status write in between is a (retried) conflict.
    await eventually(async () => {
      const replaced = await kubectl(controlPlane(), ['replace', '-f', '-'], {
        input: manifest('max', facts('b')),
      });
      expect(replaced.stderr).toBe('');
    }, 15_000);
    const labelled = await kubectl(controlPlane(), ['label', '-n', fx.ns, 'deploymentfacts', 'max', 'x=y']);
    expect(labelled.stderr).toBe('');
  });

  it('refuses numbers beyond 2^53-1 in every spelling and accepts the edge values (held)', async () => {
    for (const n of [
      '1e20',
      '9007199254740993',
      '9007199254740992.0',
      '9007199254740991.5',
      '-9223372036854775808',
      '123456789012345678901234567890',
    ]) {
      const r = await kubectl(controlPlane(), ['create', '--dry-run=server', '-f', '-'], {
        input: `{"apiVersion":"flagops.io/v1alpha1","kind":"DeploymentFacts","metadata":{"name":"n","namespace":"${fx.ns}"},"spec":{"facts":{"a":${n}}}}`,
      });
      expect(r.stderr, n).toContain('spec.facts.a must be a number between -(2^53-1) and 2^53-1');
    }
    for (const n of ['9007199254740991', '-9007199254740991', '-0', '-0.0', '1.0e2', '5e-324', '1e-400']) {
      const r = await kubectl(controlPlane(), ['create', '--dry-run=server', '-f', '-'], {
        input: `{"apiVersion":"flagops.io/v1alpha1","kind":"DeploymentFacts","metadata":{"name":"n","namespace":"${fx.ns}"},"spec":{"facts":{"a":${n}}}}`,
      });
      expect(r.code, `${n}: ${r.stderr}`).toBe(0);
    }
  });
});

describe('an object too large for etcd', () => {
  it('FAILED before the fix: is a 413 naming the size, not a 503 outage with Retry-After that a client retries forever', async () => {
    // 240 facts of 4096 two-byte characters: each request is under --max-body-bytes, the object is over etcd's limit
    // (1.5 MiB by default; the API server answers 500 with etcd's or gRPC's message).
    const part = (p: number) =>
      Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`p${p}f${i}`, 'é'.repeat(4096)]));
    const first = await call(fx.op, 'PATCH', factsPath('too-large'), {
      token: fx.tokens.admin,
      body: part(0),
    });
    expect(first.status).toBe(200);
    const second = await call(fx.op, 'PATCH', factsPath('too-large'), {
      token: fx.tokens.admin,
      body: part(1),
    });
    // Before the fix: 503 {"code":"Unavailable","message":"... the Kubernetes API server is unavailable"}.
    expect(second.status).toBe(413);
    expect(second.headers.get('retry-after')).toBeNull();
  });
});
