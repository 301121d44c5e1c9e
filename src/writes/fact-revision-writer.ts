/**
 * The write path of FactRevisions: create one (create-only, so that two leaders racing for one revision number
 * collide instead of both writing), and delete those beyond the limit. The recorder decides; this only writes.
 */
import {
  type FactRevision,
  type FactRevisionSpec,
  factsHash,
  REVISION_HASH_LABEL,
  REVISION_IDENTITY_UID_LABEL,
  REVISION_KIND,
  REVISION_NUMBER_LABEL,
  revisionName,
} from '../api/fact-revision.js';
import { API_VERSION, FACTS_KIND } from '../api/group.js';
import { revisionsPath } from '../controller/fact-history/revisions.js';
import type { KubeClient } from '../kube/client.js';
import { isNotFound, KubeApiError } from '../kube/errors.js';

export type CreateResult = 'created' | 'exists';

export class FactRevisionWriter {
  constructor(private readonly client: KubeClient) {}

  /** Creates the revision, owned by the DeploymentFacts (garbage collected with it); `exists` when taken. */
  async create(namespace: string, uid: string, spec: FactRevisionSpec): Promise<CreateResult> {
    const body: FactRevision = {
      apiVersion: API_VERSION,
      kind: REVISION_KIND,
      metadata: {
        name: revisionName(spec.identity, uid, spec.revision),
        namespace,
        labels: {
          [REVISION_IDENTITY_UID_LABEL]: uid,
          [REVISION_NUMBER_LABEL]: String(spec.revision),
          [REVISION_HASH_LABEL]: factsHash(spec.facts),
        },
        ownerReferences: [
          { apiVersion: API_VERSION, kind: FACTS_KIND, name: spec.identity, uid, controller: true },
        ],
      },
      spec,
    };
    try {
      await this.client.create(revisionsPath(namespace), body);
      return 'created';
    } catch (err) {
      if (err instanceof KubeApiError && err.reason === 'AlreadyExists') return 'exists';
      throw err;
    }
  }

  /** Deletes one revision; one already gone is fine. */
  async delete(namespace: string, identity: string, uid: string, revision: number): Promise<void> {
    await this.client
      .delete(revisionsPath(namespace, revisionName(identity, uid, revision)))
      .catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
  }
}
