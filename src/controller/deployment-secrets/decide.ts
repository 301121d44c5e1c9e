/** Decides the status of a DeploymentSecrets from its resolution summary. Pure: names and counts only. */
import type { ZodError } from 'zod';
import { CONDITION_READY, Reasons } from '../../api/conditions.js';
import type { DeploymentSecrets, DeploymentSecretsStatus } from '../../api/types.js';
import { setCondition } from '../conditions.js';
import { describeProblem, type Problem } from './resolve.js';

export interface SecretsSummary {
  keys: string[];
  problems: Problem[];
}

export interface SecretsDecision {
  status: DeploymentSecretsStatus;
  ready: boolean;
  reason: string;
  warning?: { reason: string; message: string };
}

export function decideSecrets(
  obj: Pick<DeploymentSecrets, 'metadata' | 'status'>,
  summary: SecretsSummary,
  now: Date,
): SecretsDecision {
  const generation = obj.metadata.generation ?? 0;
  const keys = [...summary.keys].sort();
  const first = summary.problems[0];
  const ready = first === undefined;
  const reason = first ? first.reason : Reasons.Resolved;
  const message = ready
    ? `${keys.length} secret${keys.length === 1 ? '' : 's'} resolved`
    : summary.problems.slice(0, 5).map(describeProblem).join('; ') +
      (summary.problems.length > 5 ? `; and ${summary.problems.length - 5} more` : '');
  const previous = obj.status?.conditions?.find((c) => c.type === CONDITION_READY);
  const status: DeploymentSecretsStatus = {
    observedGeneration: generation,
    conditions: setCondition(
      obj.status?.conditions,
      {
        type: CONDITION_READY,
        status: ready ? 'True' : 'False',
        reason,
        message,
        observedGeneration: generation,
      },
      now,
    ),
    resolvedCount: keys.length,
    unresolvedCount: summary.problems.reduce(
      (n, p) => n + (p.reason === 'KeyNotFound' ? 1 : p.names.length),
      0,
    ),
    keys,
  };
  const changed = previous?.reason !== reason || previous.message !== message;
  return { status, ready, reason, ...(!ready && changed ? { warning: { reason, message } } : {}) };
}

/** Status for a spec that passed the API server's schema but not ours (e.g. written before a CRD upgrade). */
export function decideInvalidSecrets(
  obj: Pick<DeploymentSecrets, 'metadata' | 'status'>,
  error: ZodError,
  now: Date,
): SecretsDecision {
  const generation = obj.metadata.generation ?? 0;
  const message = `invalid spec: ${error.issues
    .slice(0, 5)
    .map((i) => `${['spec', ...i.path].join('.')}: ${i.message}`)
    .join('; ')}`;
  const previous = obj.status?.conditions?.find((c) => c.type === CONDITION_READY);
  const changed = previous?.reason !== Reasons.InvalidSpec || previous.message !== message;
  return {
    ready: false,
    reason: Reasons.InvalidSpec,
    status: {
      ...obj.status,
      observedGeneration: generation,
      conditions: setCondition(
        obj.status?.conditions,
        {
          type: CONDITION_READY,
          status: 'False',
          reason: Reasons.InvalidSpec,
          message,
          observedGeneration: generation,
        },
        now,
      ),
    },
    ...(changed ? { warning: { reason: Reasons.InvalidSpec, message } } : {}),
  };
}
