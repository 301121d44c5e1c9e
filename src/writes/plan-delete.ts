/**
 * Plans the deletion of an identity from what was read. Pure. Every delete carries the uid and resourceVersion
 * that were read, so an object created or replaced after the read (and after the caller was authorised) is never
 * deleted: the delete fails, and the writer reads and plans again.
 */
import { forbidden, notFound, type WriteError } from './errors.js';

export interface ObjectVersion {
  uid: string;
  resourceVersion: string;
}

export interface IdentityObjects {
  facts?: ObjectVersion;
  secrets?: ObjectVersion;
  /** The managed Secret, when it carries the operator's labels for this identity. */
  managedSecret?: ObjectVersion;
}

export type DeleteTarget = 'facts' | 'secrets' | 'managedSecret';

export interface DeletePlan {
  deletes: { target: DeleteTarget; preconditions: ObjectVersion }[];
}

export function planDelete(
  objects: IdentityObjects,
  allowed: { secrets: boolean; facts: boolean },
): DeletePlan | WriteError {
  if (!objects.facts && !objects.secrets) return notFound('identity not found');
  if (objects.facts && !allowed.facts)
    return forbidden('deleting the identity needs delete on deploymentfacts');
  if (objects.secrets && !allowed.secrets)
    return forbidden('the identity has secrets: deleting it needs delete on deploymentsecrets');
  const deletes: DeletePlan['deletes'] = [];
  if (objects.facts) deletes.push({ target: 'facts', preconditions: objects.facts });
  if (objects.secrets) deletes.push({ target: 'secrets', preconditions: objects.secrets });
  // The managed Secret holds values only its DeploymentSecrets serves: it goes only with the permission that
  // deleting that DeploymentSecrets needs.
  if (objects.managedSecret && allowed.secrets)
    deletes.push({ target: 'managedSecret', preconditions: objects.managedSecret });
  return { deletes };
}
