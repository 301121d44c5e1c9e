/**
 * Deletes: the identity (its DeploymentFacts, DeploymentSecrets and managed Secret, each only with the permission
 * the caller was found to have), or its DeploymentFacts alone. Each delete is guarded by the uid and
 * resourceVersion read (plan-delete.ts): an object created or replaced meanwhile is never deleted.
 */
import { isManagedSecretOf } from '../api/secrets.js';
import type { DeploymentFacts, DeploymentSecrets, SecretObject } from '../api/types.js';
import type { KubeClient } from '../kube/client.js';
import { KubeApiError } from '../kube/errors.js';
import { corePath, factsPath, secretsPath } from '../kube/paths.js';
import type { StoreReader } from '../store/store.js';
import { fromKube, StaleWrite, WriteError } from './errors.js';
import { readOrAbsent, versionOf, withObject } from './kube-io.js';
import { managedSecretName } from './managed-secret.js';
import { type DeleteTarget, type IdentityObjects, planDelete } from './plan-delete.js';
import { retryStale } from './retry.js';

export class DeleteWriter {
  constructor(
    private readonly client: KubeClient,
    private readonly reader: StoreReader,
    private readonly visibilityTimeoutMs: number,
  ) {}

  async deleteIdentity(
    namespace: string,
    name: string,
    allowed: { facts: boolean; secrets: boolean },
  ): Promise<void> {
    const what = `identity ${namespace}/${name}`;
    const deleted = await retryStale(async () => {
      const objects = await this.#identityObjects(namespace, name);
      const plan = planDelete(objects, allowed);
      if (plan instanceof WriteError) throw withObject(plan, what);
      for (const d of plan.deletes) await this.#deleteGuarded(namespace, name, d.target, d.preconditions);
      return new Set(plan.deletes.map((d) => d.target));
    });
    // Visible once what this call deleted has left the store (an object created meanwhile is someone else's).
    await this.reader.until(
      namespace,
      name,
      (i) => !(deleted.has('facts') && i?.facts) && !(deleted.has('secrets') && i?.secrets),
      this.visibilityTimeoutMs,
    );
  }

  async deleteFacts(namespace: string, name: string): Promise<void> {
    const what = `DeploymentFacts ${namespace}/${name}`;
    await retryStale(async () => {
      const facts = await readOrAbsent<DeploymentFacts>(this.client, factsPath(namespace, name), what);
      const plan = planDelete({ facts: versionOf(facts) }, { facts: true, secrets: false });
      if (plan instanceof WriteError) throw withObject(plan, what);
      for (const d of plan.deletes) await this.#deleteGuarded(namespace, name, d.target, d.preconditions);
    });
    await this.reader.until(namespace, name, (i) => !i?.facts, this.visibilityTimeoutMs);
  }

  async #identityObjects(namespace: string, name: string): Promise<IdentityObjects> {
    const secretName = managedSecretName(name);
    const [facts, secrets, managed] = await Promise.all([
      readOrAbsent<DeploymentFacts>(
        this.client,
        factsPath(namespace, name),
        `DeploymentFacts ${namespace}/${name}`,
      ),
      readOrAbsent<DeploymentSecrets>(
        this.client,
        secretsPath(namespace, name),
        `DeploymentSecrets ${namespace}/${name}`,
      ),
      readOrAbsent<SecretObject>(
        this.client,
        corePath('secrets', namespace, secretName),
        `Secret ${namespace}/${secretName}`,
      ),
    ]);
    // Labels and name may be shortened with a hash, so they can be another identity's: the annotation decides.
    const ours = managed !== undefined && isManagedSecretOf(managed, name);
    return {
      facts: versionOf(facts),
      secrets: versionOf(secrets),
      managedSecret: ours ? versionOf(managed) : undefined,
    };
  }

  async #deleteGuarded(
    namespace: string,
    name: string,
    target: DeleteTarget,
    pre: { uid: string; resourceVersion: string },
  ): Promise<void> {
    const path =
      target === 'facts'
        ? factsPath(namespace, name)
        : target === 'secrets'
          ? secretsPath(namespace, name)
          : corePath('secrets', namespace, managedSecretName(name));
    try {
      await this.client.request('DELETE', path, {
        body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: pre },
      });
    } catch (err) {
      // Gone already (a concurrent delete): that is what was asked. Changed or replaced: read and plan again.
      if (err instanceof KubeApiError && err.errorClass === 'notFound') return;
      if (err instanceof KubeApiError && err.errorClass === 'conflict') throw new StaleWrite();
      throw fromKube(err, `deleting ${namespace}/${name}`);
    }
  }
}
