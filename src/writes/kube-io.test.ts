/**
 * How the writers' API-server calls classify what the API server answers: the decision between "absent", a
 * stale write (read again and re-plan), the caller's conflict and a WriteError. A fake client stands in for the
 * API server; what the real one answers is tested in test/integration/writes-race.test.ts and write-path.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { KubeClient } from '../kube/client.js';
import { KubeApiError } from '../kube/errors.js';
import { StaleWrite, WriteError } from './errors.js';
import { applyGuarded, createOrUse, readOrAbsent, versionOf, withObject, writeOrStale } from './kube-io.js';

const refusing = (err: unknown) =>
  ({
    get: async () => {
      throw err;
    },
    create: async () => {
      throw err;
    },
    apply: async () => {
      throw err;
    },
  }) as unknown as KubeClient;
const notFound = new KubeApiError(404, 'NotFound', 'deploymentfacts "web" not found');
const stale = new KubeApiError(409, 'Conflict', 'the object has been modified; please apply your changes');
const fieldConflict = new KubeApiError(
  409,
  'Conflict',
  'Apply failed with 1 conflict: conflict with "kubectl"',
  {
    causes: [
      { reason: 'FieldManagerConflict', message: 'conflict with "kubectl"', field: '.spec.facts.tier' },
    ],
  },
);
const invalid = new KubeApiError(422, 'Invalid', 'spec.facts.tier: Invalid value', {
  causes: [{ reason: 'FieldValueInvalid', message: 'Invalid value', field: 'spec.facts.tier' }],
});
const down = new KubeApiError(503, 'ServiceUnavailable', 'etcd is down');
const caught = async (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe('readOrAbsent', () => {
  it('is undefined for a 404, and a WriteError naming the object for anything else', async () => {
    expect(await readOrAbsent(refusing(notFound), '/p', 'DeploymentFacts a/web')).toBeUndefined();
    const err = await caught(readOrAbsent(refusing(down), '/p', 'DeploymentFacts a/web'));
    expect(err).toBeInstanceOf(WriteError);
    expect(err).toMatchObject({
      kind: 'Unavailable',
      message: expect.stringContaining('reading DeploymentFacts a/web'),
    });
  });
});

describe('applyGuarded', () => {
  it("is the caller's Conflict for another field manager's field, with the way out", async () => {
    const err = await caught(applyGuarded(refusing(fieldConflict), '/p', {}, false, 'x'));
    expect(err).toBeInstanceOf(WriteError);
    expect(err).toMatchObject({ kind: 'Conflict', message: expect.stringContaining('?force=true') });
  });
  it('is a stale write for a failed precondition (a stale resourceVersion, or an object created meanwhile)', async () => {
    expect(await caught(applyGuarded(refusing(stale), '/p', {}, false, 'x'))).toBeInstanceOf(StaleWrite);
  });
  it("is the caller's Invalid naming the field for a 422", async () => {
    expect(await caught(applyGuarded(refusing(invalid), '/p', {}, false, 'x'))).toMatchObject({
      kind: 'Invalid',
      field: 'spec.facts.tier',
    });
  });
});

describe('createOrUse', () => {
  it('uses an object created meanwhile, or re-plans when asked to', async () => {
    const exists = new KubeApiError(409, 'AlreadyExists', 'secrets "flagops-web" already exists');
    await expect(createOrUse(refusing(exists), '/p', {}, 'x')).resolves.toBeUndefined();
    expect(await caught(createOrUse(refusing(exists), '/p', {}, 'x', true))).toBeInstanceOf(StaleWrite);
  });
});

describe('writeOrStale', () => {
  it('turns a 409 into a stale write, and a 422 only for a JSON-patch test', async () => {
    expect(await caught(writeOrStale(() => Promise.reject(stale), 'x'))).toBeInstanceOf(StaleWrite);
    expect(await caught(writeOrStale(() => Promise.reject(invalid), 'x'))).toMatchObject({ kind: 'Invalid' });
    expect(await caught(writeOrStale(() => Promise.reject(invalid), 'x', true))).toBeInstanceOf(StaleWrite);
  });
});

describe('versionOf and withObject', () => {
  it('takes both preconditions or none', () => {
    expect(versionOf({ metadata: { uid: 'u', resourceVersion: '5' } })).toEqual({
      uid: 'u',
      resourceVersion: '5',
    });
    expect(versionOf({ metadata: { uid: 'u' } })).toBeUndefined();
    expect(versionOf(undefined)).toBeUndefined();
  });
  it('names the object in a planner error, keeping its kind, field and owners', () => {
    const e = withObject(
      new WriteError('Conflict', 'fact tier is managed by kubectl', 'tier', undefined, {
        owners: ['kubectl'],
      }),
      'DeploymentFacts a/web',
    );
    expect(e).toMatchObject({
      kind: 'Conflict',
      message: 'DeploymentFacts a/web: fact tier is managed by kubectl',
      field: 'tier',
      owners: ['kubectl'],
    });
  });
});
