/** A write that races a delete must not bring the deleted identity (and its old facts) back. */
import { describe, expect, it } from 'vitest';
import type { DeploymentFacts } from '../../src/api/types.js';
import type { KubeClient } from '../../src/kube/client.js';
import { factsPath } from '../../src/kube/paths.js';
import { Store } from '../../src/store/store.js';
import { IdentityWriter } from '../../src/writes/identity-writer.js';
import { adminClient, newNamespace } from '../support/cluster.js';

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
