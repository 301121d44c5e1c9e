/**
 * The writers' calls to the API server, each mapping its errors once: a 404 on a read is "absent", a 409 for a
 * stale resourceVersion (or uid) is a `StaleWrite` (read again and re-plan), a field-manager conflict is the
 * caller's `Conflict`, anything else a `WriteError` through `fromKube`.
 */
import { API_FIELD_MANAGER } from '../api/field-managers.js';
import type { KubeClient } from '../kube/client.js';
import { KubeApiError } from '../kube/errors.js';
import { conflict, fromKube, StaleWrite, WriteError } from './errors.js';

/**
 * The resourceVersion an apply that creates an identity's object carries: no object ever has it (etcd revisions
 * do not come near 2^64 - 1), and the API server ignores a resourceVersion when the apply creates the object. So
 * the apply creates the object when it is absent, and is a stale write (409) when a concurrent writer created it
 * first: re-planned from the object as it is, instead of replacing that writer's fields with ours.
 */
export const ABSENT_RESOURCE_VERSION = '18446744073709551615';

export async function readOrAbsent<T>(
  client: KubeClient,
  path: string,
  what: string,
): Promise<T | undefined> {
  try {
    return await client.get<T>(path);
  } catch (err) {
    if (err instanceof KubeApiError && err.errorClass === 'notFound') return undefined;
    throw fromKube(err, `reading ${what}`);
  }
}

/** Creates an object; one created meanwhile is used as it is, or (`staleIfExists`) means: read and plan again. */
export async function createOrUse(
  client: KubeClient,
  path: string,
  body: unknown,
  what: string,
  staleIfExists = false,
): Promise<void> {
  try {
    await client.create(path, body, { query: { fieldManager: API_FIELD_MANAGER } });
  } catch (err) {
    if (err instanceof KubeApiError && err.errorClass === 'conflict') {
      if (staleIfExists) throw new StaleWrite();
      return; // created meanwhile: use it
    }
    throw fromKube(err, `creating ${what}`);
  }
}

/** A server-side apply under the API's field manager; it creates the object when absent. */
export async function applyGuarded<T>(
  client: KubeClient,
  path: string,
  obj: unknown,
  force: boolean,
  what: string,
): Promise<T> {
  try {
    return await client.apply<T>(path, obj, API_FIELD_MANAGER, { force });
  } catch (err) {
    if (err instanceof KubeApiError && err.causes.some((c) => c.reason === 'FieldManagerConflict'))
      throw conflict(`${err.message}; repeat with ?force=true to take it over`);
    if (err instanceof KubeApiError && err.errorClass === 'conflict') throw new StaleWrite();
    throw fromKube(err, `writing ${what}`);
  }
}

/** Runs a write, turning a 409 (a stale resourceVersion), or a failed JSON-patch test, into a re-plan. */
export async function writeOrStale<T>(
  write: () => Promise<T>,
  what: string,
  invalidMeansStale = false,
): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (err instanceof KubeApiError && err.errorClass === 'conflict') throw new StaleWrite();
    if (invalidMeansStale && err instanceof KubeApiError && err.errorClass === 'invalid')
      throw new StaleWrite();
    throw fromKube(err, `writing ${what}`);
  }
}

export function versionOf(obj: { metadata: { uid?: string; resourceVersion?: string } } | undefined) {
  return obj?.metadata.uid && obj.metadata.resourceVersion
    ? { uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion }
    : undefined;
}

/** Planner errors speak of "the identity"; the caller's message names the object. */
export function withObject(err: WriteError, what: string): WriteError {
  return new WriteError(
    err.kind,
    `${what}: ${err.message}`,
    err.field,
    err.retryAfterSeconds,
    err.owners ? { owners: err.owners } : undefined,
  );
}
