/**
 * The one path by which the operator writes an identity to Kubernetes: the `Writer` (writer.ts) the routes and
 * webhooks are given. Each operation goes to the writer of its concern: facts (facts-writer.ts), secret values
 * (secrets-writer.ts), deletes (delete-writer.ts). Each of those reads, plans with a pure planner, writes with
 * preconditions, and on a stale write reads and plans again (retry.ts).
 */
import type { KubeClient } from '../kube/client.js';
import type { StoreReader } from '../store/store.js';
import { DeleteWriter } from './delete-writer.js';
import { FactsWriter } from './facts-writer.js';
import type { FactsChange } from './plan-facts.js';
import { SecretsWriter } from './secrets-writer.js';
import type { FactsWriteResult, SecretWriteOptions, Writer } from './writer.js';

export class IdentityWriter implements Writer {
  readonly #facts: FactsWriter;
  readonly #secrets: SecretsWriter;
  readonly #deletes: DeleteWriter;

  /** `visibilityTimeoutMs`: how long an operation waits for the store to show its write. */
  constructor(client: KubeClient, reader: StoreReader, visibilityTimeoutMs = 10_000) {
    this.#facts = new FactsWriter(client, reader, visibilityTimeoutMs);
    this.#secrets = new SecretsWriter(client, reader, visibilityTimeoutMs);
    this.#deletes = new DeleteWriter(client, reader, visibilityTimeoutMs);
  }

  writeFacts(namespace: string, name: string, change: FactsChange): Promise<FactsWriteResult> {
    return this.#facts.writeFacts(namespace, name, change);
  }
  putSecret(namespace: string, name: string, key: string, value: string, opts: SecretWriteOptions) {
    return this.#secrets.putSecret(namespace, name, key, value, opts);
  }
  removeSecret(namespace: string, name: string, key: string, opts: SecretWriteOptions) {
    return this.#secrets.removeSecret(namespace, name, key, opts);
  }
  deleteIdentity(namespace: string, name: string, allowed: { facts: boolean; secrets: boolean }) {
    return this.#deletes.deleteIdentity(namespace, name, allowed);
  }
  deleteFacts(namespace: string, name: string) {
    return this.#deletes.deleteFacts(namespace, name);
  }
}
