/** Condition types and reasons written to status, as closed unions so that a typo does not compile. */
export const CONDITION_READY = 'Ready';
/** FactProfile / ClusterFactProfile: whether the selector picks any identity. */
export const CONDITION_SELECTING = 'Selecting';
/** FactProfile / ClusterFactProfile: whether another profile of the same priority sets a fact this one sets. */
export const CONDITION_PRIORITY_CONFLICT = 'PriorityConflict';

export const Reasons = {
  /** DeploymentFacts: the facts are valid and served. */
  Indexed: 'Indexed',
  /** DeploymentSecrets: every reference resolved. */
  Resolved: 'Resolved',
  SecretNotFound: 'SecretNotFound',
  KeyNotFound: 'KeyNotFound',
  /** The Secret exists but is exposed to other identities only (flagops.io/expose-to, or another identity's managed Secret). */
  SecretNotExposed: 'SecretNotExposed',
  /** The spec passed the API server's schema but not ours (for example an object created before a CRD upgrade). */
  InvalidSpec: 'InvalidSpec',
  /** FactSource: the last sync applied every fact of the result. */
  Synced: 'Synced',
  /** FactSource: the last sync ran, but some identities or facts could not be written (see status.errors). */
  PartiallySynced: 'PartiallySynced',
  /** FactSource: suspended by spec.suspend. */
  Suspended: 'Suspended',
  /** FactSource: the connection Secret is missing, or lacks the keys it needs. */
  ConnectionSecretInvalid: 'ConnectionSecretInvalid',
  /** FactSource: the database cannot be reached (refused, unknown host, timeout, down). */
  ConnectionFailed: 'ConnectionFailed',
  /** FactSource: the database refused the credentials. */
  AuthenticationFailed: 'AuthenticationFailed',
  /** FactSource: the database refused or cancelled the query. */
  QueryFailed: 'QueryFailed',
  /** FactSource: the query is not one SELECT or WITH, or it tried to write. */
  QueryNotAllowed: 'QueryNotAllowed',
  /** FactSource: the result lacks the columns of its shape, or has more rows than spec.maxRows. */
  InvalidResult: 'InvalidResult',
  /** FactSource: the result is larger than --source-max-result-bytes; reading it stopped there. */
  ResultTooLarge: 'ResultTooLarge',
  /** FactSource: the Kubernetes API server could not be reached to apply the facts. */
  ApplyFailed: 'ApplyFailed',
  /** Profile: valid, its facts are served to the identities it selects. */
  Applied: 'Applied',
  /** Profile: the selector picks at least one identity. */
  IdentitiesSelected: 'IdentitiesSelected',
  /** Profile: the selector picks no identity (a typo in a label, or no identity yet). */
  NoIdentitiesSelected: 'NoIdentitiesSelected',
  /** Profile: another profile of the same priority sets one of its facts for a shared identity; the name decides. */
  PriorityTie: 'PriorityTie',
  /** Profile: no other profile of the same priority competes for its facts. */
  NoPriorityTie: 'NoPriorityTie',
} as const;
export type Reason = (typeof Reasons)[keyof typeof Reasons];

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: Reason;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}
