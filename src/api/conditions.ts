/** Condition types and reasons written to status, as closed unions so that a typo does not compile. */
export const CONDITION_READY = 'Ready';

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
