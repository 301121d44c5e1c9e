/**
 * Review finding: `managedSecretName` is not injective. An identity of more than 245 characters gets the shortened
 * name `flagops-<first 234 characters>-<hash>`, and that is also the plain `flagops-<identity>` of the 245-character
 * identity `<first 234 characters>-<hash>`. A caller allowed to write (and read) the values of that second
 * identity only, by `resourceNames`, writes into the victim's managed Secret: its merge patch relabels the Secret
 * for the attacker's identity (labels, `flagops.io/expose-to`, ownerReferences), so the victim's values stop being
 * served to the victim, are served to the attacker's DeploymentSecrets, and (removing a data key, deleting the identity) could be deleted through the
 * attacker's identity.
 */

import { describe, expect, it } from 'vitest';
import type { DeploymentSecrets, SecretObject } from '../../src/api/types.js';
import { corePath, secretsPath } from '../../src/kube/paths.js';
import { managedSecretName } from '../../src/writes/managed-secret.js';
import { useApi } from '../support/api.js';
import {
  adminClient,
  call,
  clientWithToken,
  eventually,
  exists,
  serviceAccountWithRole,
} from '../support/cluster.js';

const fx = useApi('rv-collide');
const client = adminClient();
const FLAGOPS = 'flagops.io';
const ident = (id: string) => `/api/v1/namespaces/${fx.ns}/identities/${id}`;

describe('managed Secret names of two identities never collide', () => {
  it("a caller limited to its own identity cannot take over, read or delete a long-named identity's managed Secret", async () => {
    const VALUE = 'long-victim-s3cret-value';
    const victim = `victim-${'a'.repeat(243)}`; // 250 characters: its managed Secret name is shortened with a hash
    const shared = managedSecretName(victim);
    const attacker = shared.slice('flagops-'.length); // 245 characters: `flagops-<attacker>` is the same name
    expect(managedSecretName(attacker)).toBe(shared);

    const put = await call(fx.op, 'PUT', `${ident(victim)}/secrets/password`, {
      token: fx.tokens.admin,
      body: { value: VALUE },
    });
    expect(put.status).toBe(200);

    // The attacker's role: its own identity only, as in docs/security.md's attack.
    const token = await serviceAccountWithRole(fx.ns, 'attacker', [
      {
        apiGroups: [FLAGOPS],
        resources: ['deploymentsecrets'],
        verbs: ['get', 'patch', 'update'],
        resourceNames: [attacker],
      },
      {
        apiGroups: [FLAGOPS],
        resources: ['deploymentsecrets/values'],
        verbs: ['get', 'update'],
        resourceNames: [attacker],
      },
    ]);

    // A secret write to its own identity must not touch the victim's Secret.
    const own = await call(fx.op, 'PUT', `${ident(attacker)}/secrets/mine`, {
      token,
      body: { value: 'x' },
    });
    expect.soft(own.status).not.toBe(200);
    const secret = await client.get<SecretObject>(corePath('secrets', fx.ns, shared));
    expect.soft(secret.metadata.annotations?.['flagops.io/expose-to']).toBe(victim);

    // Its own DeploymentSecrets (kubectl, with its own token) pointing at the shared name gets no value.
    const attackerClient = clientWithToken(token);
    const spec = { secrets: [{ name: 'stolen', secretKeyRef: { name: shared, key: 'password' } }] };
    if (await exists(secretsPath(fx.ns, attacker)))
      await attackerClient.mergePatch(secretsPath(fx.ns, attacker), { spec });
    else
      await client.create(secretsPath(fx.ns), {
        apiVersion: 'flagops.io/v1alpha1',
        kind: 'DeploymentSecrets',
        metadata: { name: attacker },
        spec,
      });
    await eventually(async () => {
      const ds = await client.get<DeploymentSecrets>(secretsPath(fx.ns, attacker));
      expect(ds.status?.observedGeneration).toBe(ds.metadata.generation);
    });
    const read = await call(fx.op, 'GET', `${ident(attacker)}/secrets`, { token });
    expect.soft(read.text).not.toContain(VALUE);

    // The victim still reads its value.
    await eventually(async () => {
      const v = await call(fx.op, 'GET', `${ident(victim)}/secrets/password`, { token: fx.tokens.admin });
      expect(v.body).toEqual({ password: VALUE });
    });
  });
});
