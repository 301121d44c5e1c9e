import { describe, expect, it } from 'vitest';
import type { DeploymentSecrets, SecretObject } from '../../api/types.js';
import { decideSecrets } from './decide.js';
import { resolveSecrets } from './resolve.js';

const now = new Date('2026-02-03T04:05:06Z');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const secret = (name: string, data: Record<string, string>): SecretObject => ({
  metadata: { name, namespace: 'ns', annotations: { 'flagops.io/expose-to': 'app' } },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
});
const ds = (spec: DeploymentSecrets['spec']): DeploymentSecrets => ({
  apiVersion: 'flagops.io/v1alpha1',
  kind: 'DeploymentSecrets',
  metadata: { name: 'app', namespace: 'ns', generation: 2 },
  spec,
});

describe('resolveSecrets: exposure', () => {
  const labelled = (name: string, labels: Record<string, string>, annotations?: Record<string, string>) => ({
    ...secret(name, { k: `value-of-${name}` }),
    metadata: { name, namespace: 'ns', labels, ...(annotations ? { annotations } : {}) },
  });
  const managed = (identity: string) =>
    labelled(
      `flagops-${identity}`,
      { 'app.kubernetes.io/managed-by': 'flagops-data-store', 'flagops.io/identity': identity },
      { 'flagops.io/expose-to': identity },
    );
  const cases: [string, ReturnType<typeof labelled>, string, boolean][] = [
    ['a plain exposed Secret serves no identity: expose-to is required', labelled('s', {}), 'app', false],
    ['expose-to naming the identity', labelled('s', {}, { 'flagops.io/expose-to': 'x, app' }), 'app', true],
    ['expose-to naming others only', labelled('s', {}, { 'flagops.io/expose-to': 'x,y' }), 'app', false],
    ['an empty expose-to serves nobody', labelled('s', {}, { 'flagops.io/expose-to': '' }), 'app', false],
    ['a managed Secret serves its own identity', managed('app'), 'app', true],
    ["another identity's managed Secret is not served", managed('other'), 'app', false],
  ];
  for (const [title, s, identity, served] of cases) {
    it(title, () => {
      const r = resolveSecrets(
        { secrets: [{ name: 'v', secretKeyRef: { name: s.metadata.name, key: 'k' } }] },
        (n) => (n === s.metadata.name ? s : undefined),
        identity,
      );
      expect(r.values.has('v')).toBe(served);
      expect(r.problems).toEqual(
        served ? [] : [{ reason: 'SecretNotExposed', secret: s.metadata.name, names: ['v'] }],
      );
      // Whatever the answer, no value is ever in a problem.
      expect(JSON.stringify(r.problems)).not.toContain('value-of');
    });
  }
});

describe('resolveSecrets: exposure without expose-to (--expose-to-required=false)', () => {
  it('serves a labelled Secret without expose-to to every identity, and still honours expose-to', () => {
    const plain: SecretObject = { metadata: { name: 'plain', namespace: 'ns' }, data: { k: b64('v') } };
    const narrowed: SecretObject = {
      metadata: { name: 'narrowed', namespace: 'ns', annotations: { 'flagops.io/expose-to': 'other' } },
      data: { k: b64('v') },
    };
    const spec = {
      secrets: [
        { name: 'a', secretKeyRef: { name: 'plain', key: 'k' } },
        { name: 'b', secretKeyRef: { name: 'narrowed', key: 'k' } },
      ],
    };
    const lookup = (n: string) => (n === 'plain' ? plain : n === 'narrowed' ? narrowed : undefined);
    const legacy = resolveSecrets(spec, lookup, 'app', { requireExposeTo: false });
    expect([...legacy.values.keys()]).toEqual(['a']);
    expect(legacy.problems).toEqual([{ reason: 'SecretNotExposed', secret: 'narrowed', names: ['b'] }]);
    const strict = resolveSecrets(spec, lookup, 'app');
    expect([...strict.values.keys()]).toEqual([]);
  });
});

describe('resolveSecrets', () => {
  const secrets = new Map([
    ['db', secret('db', { password: 's3cret-db', user: 'app' })],
    ['api', secret('api', { token: 's3cret-token' })],
  ]);
  const lookup = (n: string) => secrets.get(n);

  it('resolves key references and whole Secrets with a prefix; explicit entries win', () => {
    const r = resolveSecrets(
      {
        secretsFrom: [{ secretRef: { name: 'db' }, prefix: 'db_' }],
        secrets: [
          { name: 'token', secretKeyRef: { name: 'api', key: 'token' } },
          { name: 'db_user', secretKeyRef: { name: 'api', key: 'token' } },
        ],
      },
      lookup,
      'app',
    );
    expect(Object.fromEntries([...r.values].map(([k, v]) => [k, v.reveal()]))).toEqual({
      db_password: 's3cret-db',
      db_user: 's3cret-token',
      token: 's3cret-token',
    });
    expect(r.problems).toEqual([]);
    expect([...r.referenced].sort()).toEqual(['api', 'db']);
  });

  it('reports missing Secrets and keys by name and keeps what resolved', () => {
    const r = resolveSecrets(
      {
        secrets: [
          { name: 'a', secretKeyRef: { name: 'missing', key: 'k' } },
          { name: 'b', secretKeyRef: { name: 'missing', key: 'k2' } },
          { name: 'c', secretKeyRef: { name: 'api', key: 'nope' } },
          { name: 'd', secretKeyRef: { name: 'api', key: 'token' } },
        ],
      },
      lookup,
      'app',
    );
    expect([...r.values.keys()]).toEqual(['d']);
    expect(r.problems).toEqual([
      { reason: 'SecretNotFound', secret: 'missing', names: ['a', 'b'] },
      { reason: 'KeyNotFound', secret: 'api', key: 'nope', name: 'c' },
    ]);
  });
});

describe('decideSecrets', () => {
  it('is Ready=True/Resolved with key names when everything resolved', () => {
    const d = decideSecrets(ds({}), { keys: ['b', 'a'], problems: [] }, now);
    expect(d.ready).toBe(true);
    expect(d.status).toMatchObject({
      observedGeneration: 2,
      resolvedCount: 2,
      unresolvedCount: 0,
      keys: ['a', 'b'],
    });
    expect(d.status.conditions![0]).toMatchObject({
      status: 'True',
      reason: 'Resolved',
      observedGeneration: 2,
    });
    expect(d.warning).toBeUndefined();
  });

  it('is Ready=False with the first problem as reason, and warns only when it changes', () => {
    const problems = [
      { reason: 'SecretNotFound' as const, secret: 'db', names: ['password'] },
      { reason: 'KeyNotFound' as const, secret: 'api', key: 'tok', name: 'token' },
    ];
    const d = decideSecrets(ds({}), { keys: [], problems }, now);
    expect(d.ready).toBe(false);
    expect(d.status.unresolvedCount).toBe(2);
    expect(d.status.conditions![0]).toMatchObject({
      status: 'False',
      reason: 'SecretNotFound',
      message:
        'Secret db not found or not labelled flagops.io/expose=true (needed by password); key tok not found in Secret api (needed by token)',
    });
    expect(d.warning?.reason).toBe('SecretNotFound');
    const again = decideSecrets({ ...ds({}), status: d.status }, { keys: [], problems }, now);
    expect(again.warning).toBeUndefined();
  });
});

describe('decideInvalidSecrets', () => {
  it('reports InvalidSpec naming the field, and warns once', async () => {
    const { DeploymentSecretsSpec } = await import('../../api/secrets.js');
    const { decideInvalidSecrets } = await import('./decide.js');
    const parsed = DeploymentSecretsSpec.safeParse({
      secrets: [{ name: '-bad', secretKeyRef: { name: 'x', key: 'k' } }],
    });
    expect(parsed.success).toBe(false);
    const d = decideInvalidSecrets(ds({}), parsed.error!, now);
    expect(d.ready).toBe(false);
    expect(d.status.conditions![0]).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(d.status.conditions![0]!.message).toContain('spec.secrets.0.name');
    expect(d.warning?.reason).toBe('InvalidSpec');
    expect(decideInvalidSecrets({ ...ds({}), status: d.status }, parsed.error!, now).warning).toBeUndefined();
  });
});
