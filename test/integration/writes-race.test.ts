/**
 * Writes that race other writers: one racing a delete must not bring the deleted identity (and its old facts)
 * back; first writers of a new identity must not drop each other's facts or values; a new identity is created by
 * the apply itself, in one request.
 */
import { describe, expect, it } from 'vitest';
import type { DeploymentFacts, DeploymentSecrets } from '../../src/api/types.js';
import type { KubeClient } from '../../src/kube/client.js';
import { factsPath, secretsPath } from '../../src/kube/paths.js';
import { Store } from '../../src/store/store.js';
import { IdentityWriter } from '../../src/writes/identity-writer.js';
import { adminClient, newNamespace } from '../support/cluster.js';

/** The client, recording the name of every call the writer makes (get, create, apply, mergePatch, request…). */
function recording(client: KubeClient): { client: KubeClient; calls: string[] } {
  const calls: string[] = [];
  const wrapped = new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        return value.apply(target, args);
      };
    },
  });
  return { client: wrapped, calls };
}

describe('IdentityWriter creating a new identity', () => {
  it('creates the DeploymentFacts with one apply: no create, no re-read', async () => {
    const ns = await newNamespace('create');
    const { client, calls } = recording(adminClient());
    const result = await new IdentityWriter(client, new Store(), 1).writeFacts(ns, 'fresh', {
      set: { a: 1 },
      origin: 'test',
    });
    expect(calls).toEqual(['get', 'apply']);
    expect(result).toMatchObject({ generation: 1, facts: { a: 1 } });
    const obj = await adminClient().get<DeploymentFacts>(factsPath(ns, 'fresh'));
    expect(obj.spec?.facts).toEqual({ a: 1 });
    expect(obj.metadata.resourceVersion).toBe(result.resourceVersion);
  });

  it("keeps every first writer's facts when several create the identity at once", async () => {
    const ns = await newNamespace('create');
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
    await Promise.all(
      keys.map((k, i) =>
        new IdentityWriter(adminClient(), new Store(), 1).writeFacts(ns, 'contested', {
          set: { [k]: i },
          origin: `test:${k}`,
        }),
      ),
    );
    const obj = await adminClient().get<DeploymentFacts>(factsPath(ns, 'contested'));
    expect(obj.spec?.facts).toEqual(Object.fromEntries(keys.map((k, i) => [k, i])));
  });

  it("creates the DeploymentSecrets with an apply, and keeps every first writer's entry", async () => {
    const ns = await newNamespace('create');
    const { client, calls } = recording(adminClient());
    await new IdentityWriter(client, new Store(), 1).putSecret(ns, 'fresh', 'token', 's3cret', {
      force: false,
      origin: 'test',
    });
    // read the DeploymentSecrets, create it by apply, read the Secret, create it, apply the entry
    expect(calls).toEqual(['get', 'apply', 'get', 'create', 'apply']);
    const keys = ['k1', 'k2', 'k3', 'k4'];
    await Promise.all(
      keys.map((k) =>
        new IdentityWriter(adminClient(), new Store(), 1).putSecret(ns, 'contested', k, `v-${k}`, {
          force: false,
          origin: 'test',
        }),
      ),
    );
    const ds = await adminClient().get<DeploymentSecrets>(secretsPath(ns, 'contested'));
    expect((ds.spec?.secrets ?? []).map((e) => e.name).sort()).toEqual(keys);
  });
});

describe('IdentityWriter against a concurrent delete', () => {
  it('re-reads the deletion instead of re-creating the object with its old facts', async () => {
    const ns = await newNamespace('race');
    const client = adminClient();
    const writer = new IdentityWriter(client, new Store(), 1);
    await writer.writeFacts(ns, 'victim', { set: { old: 'value', keep: 1 }, origin: 'test' });

    // The first apply is preceded by a delete of the object, as if another caller deleted the identity between
    // the writer's read and its apply.
    let deleted = false;
    const racing = new Proxy(client, {
      get(target, prop, receiver) {
        if (prop === 'apply' && !deleted) {
          return async (...args: Parameters<KubeClient['apply']>) => {
            deleted = true;
            await target.delete(factsPath(ns, 'victim'));
            return target.apply(...args);
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    await new IdentityWriter(racing, new Store(), 1).writeFacts(ns, 'victim', {
      set: { new: 2 },
      origin: 'test',
    });
    expect(deleted).toBe(true);
    const obj = await client.get<DeploymentFacts>(factsPath(ns, 'victim'));
    expect(obj.spec?.facts).toEqual({ new: 2 });
  });
});
