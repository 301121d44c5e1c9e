/**
 * What the HTTP routes and webhooks may ask of the write path. Routes depend on this interface only; the operator
 * wires `IdentityWriter` (identity-writer.ts), which hands each operation to the facts, secrets or delete writer.
 *
 * Callers authorise before calling: a writer touches nothing but what its arguments name. Every operation returns
 * once the informer-fed store shows the write, or says it is not visible yet (it is committed all the same).
 */
import type { FactMap } from '../api/facts.js';
import type { FactsChange } from './plan-facts.js';

export type { FactsChange } from './plan-facts.js';

/** Who last wrote an identity's object through the API (`user:<name>`, `webhook:<name>`). */
export const ORIGIN_ANNOTATION = 'flagops.io/last-written-by';

export interface FactsWriteResult {
  resourceVersion: string;
  generation: number;
  facts: FactMap;
  /** False when the store did not show the write within the timeout (it is committed all the same). */
  visible: boolean;
}

/** How a secret write was asked for: `force` takes over an entry another manager owns. */
export interface SecretWriteOptions {
  force: boolean;
  origin: string;
}

export interface Writer {
  writeFacts(namespace: string, name: string, change: FactsChange): Promise<FactsWriteResult>;
  /** Returns whether the new value was visible to reads before the timeout. */
  putSecret(
    namespace: string,
    name: string,
    key: string,
    value: string,
    opts: SecretWriteOptions,
  ): Promise<boolean>;
  removeSecret(namespace: string, name: string, key: string, opts: SecretWriteOptions): Promise<void>;
  /** The identity's DeploymentFacts and DeploymentSecrets (and managed Secret), each only if `allowed`. */
  deleteIdentity(
    namespace: string,
    name: string,
    allowed: { facts: boolean; secrets: boolean },
  ): Promise<void>;
  /** The DeploymentFacts only (the prototype's DELETE /api/fact/:id). */
  deleteFacts(namespace: string, name: string): Promise<void>;
}
