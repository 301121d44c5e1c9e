import type { Condition } from './conditions.js';
import type { DeploymentFactsSpec } from './facts.js';
import type { FactProfileSpec } from './profiles.js';
import type { DeploymentSecretsSpec } from './secrets.js';
import type { FactSourceSpec } from './sources.js';

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  managedFields?: ManagedFieldsEntry[];
  ownerReferences?: OwnerReference[];
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: 'Apply' | 'Update';
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface DeploymentFactsStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  factCount?: number;
}

export interface DeploymentSecretsStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  /** Number of secret keys that resolved. */
  resolvedCount?: number;
  /** Number of references that did not resolve. */
  unresolvedCount?: number;
  /** Key names only, never values. */
  keys?: string[];
}

export interface DeploymentFacts {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: DeploymentFactsSpec;
  status?: DeploymentFactsStatus;
}

export interface DeploymentSecrets {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: DeploymentSecretsSpec;
  status?: DeploymentSecretsStatus;
}

/** The parts of a core/v1 Secret the operator reads. `data` values are base64. */
export interface SecretObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  type?: string;
  data?: Record<string, string>;
}

/** One problem of a FactSource sync, on one identity (and fact). Names and API-server messages only. */
export interface FactSourceError {
  identity: string;
  fact?: string;
  reason: string;
  message: string;
}

export interface FactSourceStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  lastSyncTime?: string;
  rows?: number;
  identities?: number;
  factsWritten?: number;
  errorCount?: number;
  errors?: FactSourceError[];
}

export interface FactSource {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: FactSourceSpec;
  status?: FactSourceStatus;
}

/** Another profile of the same priority that sets some of the same facts for an identity both select. */
export interface ProfileConflict {
  kind: string;
  namespace?: string;
  name: string;
  /** The fact names both set (the first few). */
  facts: string[];
}

export interface FactProfileStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  /** Identities the selector picks. */
  selectedCount?: number;
  conflictCount?: number;
  conflicts?: ProfileConflict[];
}

/** FactProfile (metadata.namespace set) or ClusterFactProfile (no namespace). */
export interface FactProfile {
  apiVersion: string;
  kind: string;
  metadata: Omit<ObjectMeta, 'namespace'> & { namespace?: string };
  spec?: FactProfileSpec;
  status?: FactProfileStatus;
}
