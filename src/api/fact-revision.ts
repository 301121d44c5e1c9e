/**
 * FactRevision: one recorded state of an identity's served facts, like a ControllerRevision. The leader writes one
 * for each change of the served facts (its own and its profiles'), owned by the DeploymentFacts so that the garbage
 * collector removes them with it, and keeps at most `revisionHistoryLimit` of them. Imports nothing else from src/
 * but the API's own modules.
 */
import { createHash } from 'node:crypto';
import type { FactMap } from './facts.js';
import type { ObjectMeta } from './types.js';

export const REVISION_KIND = 'FactRevision';
export const REVISION_PLURAL = 'factrevisions';

/** The DeploymentFacts' uid: selects one identity's revisions (a name may exceed a label value's 63 characters). */
export const REVISION_IDENTITY_UID_LABEL = 'flagops.io/identity-uid';
/** The revision number, as a label, so that a metadata-only list tells the latest without the bodies. */
export const REVISION_NUMBER_LABEL = 'flagops.io/revision';
/** A hash of the facts after the change: a new leader tells whether the served facts are recorded already. */
export const REVISION_HASH_LABEL = 'flagops.io/facts-hash';

export const DEFAULT_REVISION_HISTORY_LIMIT = 10;
/** The most revisions kept per identity: bounds the etcd objects of one identity. */
export const MAX_REVISION_HISTORY_LIMIT = 100;

/** How a change came in: the provenance paths, plus the profiles beneath an identity. */
export type RevisionPath = 'gitops' | 'kubectl' | 'api' | 'webhook' | 'source' | 'profile' | 'other';

/** Who changed which facts of one revision, through what, and when (as far as managedFields recorded it). */
export interface RevisionWriter {
  /** The field manager (or for `profile`, the profile's `Kind/namespace/name`). */
  manager: string;
  path: RevisionPath;
  /** The GitOps tool, `user:<name>`, `webhook:<name>`, the source's or the profile's name. */
  by: string;
  at?: string;
  facts: string[];
}

export interface RevisionDiff {
  added: string[];
  changed: string[];
  removed: string[];
  /**
   * The values before the change of `changed` and `removed` facts. Left out (and `previousOmitted` set) when it
   * would make the object too large for etcd; the revision before holds them then.
   */
  previous?: FactMap;
  previousOmitted?: boolean;
}

export interface FactRevisionSpec {
  /** The DeploymentFacts' name. */
  identity: string;
  revision: number;
  /** The served facts after the change. */
  facts: FactMap;
  diff: RevisionDiff;
  writers: RevisionWriter[];
  /** When the operator recorded it. */
  recordedAt: string;
  /** The DeploymentFacts' resourceVersion and generation the facts were served from. */
  resourceVersion: string;
  generation: number;
  /** The identity's secrets then: key names and the DeploymentSecrets' resourceVersion only, never values. */
  secrets?: { names: string[]; resourceVersion: string };
}

export interface FactRevision {
  apiVersion: string;
  kind: typeof REVISION_KIND;
  metadata: ObjectMeta;
  spec: FactRevisionSpec;
}

const REVISION_DIGITS = 10;
const MAX_NAME = 253;

/**
 * `<identity>-<uid prefix>-<revision, zero-padded>`: deterministic, so two leaders racing for one revision collide on
 * create instead of both writing it; the uid prefix keeps a recreated identity clear of the old one's revisions
 * until the garbage collector removes them; the padding makes the API server's name order the revision order.
 */
export function revisionName(identity: string, uid: string, revision: number): string {
  const tail = `-${uid.replace(/-/g, '').slice(0, 8)}-${String(revision).padStart(REVISION_DIGITS, '0')}`;
  const head =
    identity.length + tail.length <= MAX_NAME ? identity : identity.slice(0, MAX_NAME - tail.length);
  return `${head.replace(/[-.]+$/, '')}${tail}`;
}

/** A stable hash of a fact map (key order does not matter), short enough for a label value. */
export function factsHash(facts: Readonly<FactMap>): string {
  const h = createHash('sha256');
  for (const k of Object.keys(facts).sort()) h.update(`${JSON.stringify(k)}:${JSON.stringify(facts[k])}\n`);
  return h.digest('hex').slice(0, 32);
}
