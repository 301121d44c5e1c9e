/**
 * Reading FactRevisions from the API server: history reads go there, not to the operator's memory, which holds
 * only each identity's revision numbers (recorder.ts). One identity's revisions are selected by its uid label.
 */
import {
  type FactRevision,
  REVISION_HASH_LABEL,
  REVISION_IDENTITY_UID_LABEL,
  REVISION_NUMBER_LABEL,
  REVISION_PLURAL,
  revisionName,
} from '../../api/fact-revision.js';
import { GROUP, VERSION } from '../../api/group.js';
import type { DeploymentFacts, ObjectMeta } from '../../api/types.js';
import type { KubeClient } from '../../kube/client.js';
import { isNotFound } from '../../kube/errors.js';
import { factsPath } from '../../kube/paths.js';

export const revisionsPath = (namespace?: string, name?: string) =>
  `/apis/${GROUP}/${VERSION}${namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''}/${REVISION_PLURAL}${
    name ? `/${encodeURIComponent(name)}` : ''
  }`;

/** What an operator upgraded without the FactRevision CRD (helm upgrade never installs CRDs) says and does. */
export const ABSENT_CRD_HINT = `CRD ${REVISION_PLURAL}.${GROUP} is not installed: no fact history until it is. Install the CRDs of this version (helm upgrade does not): kubectl apply --server-side -f crds/`;

/** A list of FactRevisions answered 404: the resource is not served (its CRD is missing). */
export class HistoryUnavailable extends Error {
  override readonly name = 'HistoryUnavailable';
  constructor(cause: unknown) {
    super(ABSENT_CRD_HINT, { cause });
  }
}

/** Lists: a 404 can only mean that the collection is not served. */
async function listing<T>(request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (err) {
    if (isNotFound(err)) throw new HistoryUnavailable(err);
    throw err;
  }
}

/** Metadata only: a list of thousands of revisions without their facts. */
const METADATA_ONLY = { accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1' };

interface List<T> {
  metadata?: { continue?: string; resourceVersion?: string };
  /** null, not [], in an empty metadata-only list. */
  items: T[] | null;
}

/** What a revision's metadata says of it. */
export interface RevisionRef {
  namespace: string;
  /** The owner DeploymentFacts' name and uid. */
  identity: string;
  uid: string;
  revision: number;
  hash: string;
  created: string;
}

export function refOf(meta: ObjectMeta): RevisionRef | undefined {
  const labels = meta.labels ?? {};
  const owner = meta.ownerReferences?.find((o) => o.kind === 'DeploymentFacts');
  const revision = Number(labels[REVISION_NUMBER_LABEL]);
  const uid = labels[REVISION_IDENTITY_UID_LABEL];
  if (!owner || !uid || !Number.isSafeInteger(revision) || revision < 1) return undefined;
  return {
    namespace: meta.namespace,
    identity: owner.name,
    uid,
    revision,
    hash: labels[REVISION_HASH_LABEL] ?? '',
    created: meta.creationTimestamp ?? '',
  };
}

export class FactRevisions {
  constructor(private readonly client: KubeClient) {}

  /** The DeploymentFacts as the API server has it, or undefined. */
  async identity(namespace: string, name: string): Promise<DeploymentFacts | undefined> {
    return this.client.get<DeploymentFacts>(factsPath(namespace, name)).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
  }

  /** Every revision's metadata in a namespace (or all), page by page. */
  async *allRefs(namespace: string | undefined, pageSize = 500): AsyncGenerator<RevisionRef[]> {
    let cont: string | undefined;
    do {
      const page = await listing(
        this.client.get<List<{ metadata: ObjectMeta }>>(revisionsPath(namespace), {
          query: { limit: pageSize, continue: cont },
          headers: METADATA_ONLY,
          timeoutMs: 60_000,
        }),
      );
      yield (page.items ?? []).flatMap((i) => refOf(i.metadata) ?? []);
      cont = page.metadata?.continue || undefined;
    } while (cont);
  }

  /** One identity's revisions' metadata, ascending. */
  async refsOf(namespace: string, uid: string): Promise<RevisionRef[]> {
    const out: RevisionRef[] = [];
    let cont: string | undefined;
    do {
      const page = await listing(
        this.client.get<List<{ metadata: ObjectMeta }>>(revisionsPath(namespace), {
          query: { labelSelector: `${REVISION_IDENTITY_UID_LABEL}=${uid}`, limit: 500, continue: cont },
          headers: METADATA_ONLY,
        }),
      );
      out.push(...(page.items ?? []).flatMap((i) => refOf(i.metadata) ?? []));
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return out.sort((a, b) => a.revision - b.revision);
  }

  /** One page of an identity's revisions, whole, in revision order (the names sort so). */
  async page(
    namespace: string,
    uid: string,
    limit: number,
    cont: string | undefined,
  ): Promise<{ items: FactRevision[]; continue?: string }> {
    const page = await listing(
      this.client.get<List<FactRevision>>(revisionsPath(namespace), {
        query: { labelSelector: `${REVISION_IDENTITY_UID_LABEL}=${uid}`, limit, continue: cont },
      }),
    );
    const items = (page.items ?? []).sort((a, b) => a.spec.revision - b.spec.revision);
    return page.metadata?.continue ? { items, continue: page.metadata.continue } : { items };
  }

  async get(
    namespace: string,
    identity: string,
    uid: string,
    revision: number,
  ): Promise<FactRevision | undefined> {
    return this.client
      .get<FactRevision>(revisionsPath(namespace, revisionName(identity, uid, revision)))
      .catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
  }
}
