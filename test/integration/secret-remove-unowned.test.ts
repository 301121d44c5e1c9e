/**
 * Review finding: removing a secret entry that no field manager owns (managedFields cleared, as `kubectl` users
 * and migration tools do) answered `200 {"deleted": true}` and left the entry in place, still served. The facts
 * path removes such facts by an update; the secrets path left them out of the API's apply, which removes nothing
 * the API never owned.
 */

import { describe, expect, it } from 'vitest';
import type { DeploymentSecrets } from '../../src/api/types.js';
import { secretsPath } from '../../src/kube/paths.js';
import { useApi } from '../support/api.js';
import { adminClient, call } from '../support/cluster.js';

const fx = useApi('rv-unowned');
const client = adminClient();

describe('removing a secret entry nobody owns', () => {
  it('removes it, or does not say it did', async () => {
    await client.create(secretsPath(fx.ns), {
      apiVersion: 'flagops.io/v1alpha1',
      kind: 'DeploymentSecrets',
      metadata: { name: 'orphan' },
      spec: { secrets: [{ name: 'token', secretKeyRef: { name: 'some-secret', key: 'token' } }] },
    });
    // Clear managedFields: the entry now has no owner.
    await client.mergePatch(secretsPath(fx.ns, 'orphan'), { metadata: { managedFields: [{}] } });
    const del = await call(fx.op, 'DELETE', `/api/v1/namespaces/${fx.ns}/identities/orphan/secrets/token`, {
      token: fx.tokens.admin,
    });
    const ds = await client.get<DeploymentSecrets>(secretsPath(fx.ns, 'orphan'));
    const still = (ds.spec?.secrets ?? []).some((e) => e.name === 'token');
    // Either it is gone, or the answer is not a success.
    expect({ status: del.status, still }).toEqual({ status: 200, still: false });
  });
});
