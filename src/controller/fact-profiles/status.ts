/**
 * The status a FactProfile or ClusterFactProfile should show: Ready (Applied or InvalidSpec), Selecting (whether
 * the selector picks any identity), PriorityConflict (ties at equal priority, reported on both profiles), the
 * selected count and the conflicts. Pure: the clock comes in as `now`.
 */
import {
  CONDITION_PRIORITY_CONFLICT,
  CONDITION_READY,
  CONDITION_SELECTING,
  type Condition,
  Reasons,
} from '../../api/conditions.js';
import type { FactProfileStatus, ProfileConflict } from '../../api/types.js';
import type { ProfileSummary } from '../../store/layered-facts.js';
import { setCondition } from '../conditions.js';
import type { ProfileRecord } from './handler.js';

const MAX_CONFLICTS = 16;
const MAX_CONFLICT_FACTS = 16;

function refOf(key: string): Omit<ProfileConflict, 'facts'> {
  const [kind, a, b] = key.split('/');
  return b === undefined ? { kind: kind!, name: a! } : { kind: kind!, namespace: a!, name: b };
}

export function decideProfileStatus(
  r: ProfileRecord,
  summary: ProfileSummary | undefined,
  now: Date,
): { status: FactProfileStatus; warning?: { reason: string; message: string } } {
  const generation = r.generation;
  const previous = r.status?.conditions;
  const set = (list: Condition[] | undefined, c: Omit<Condition, 'lastTransitionTime'>) =>
    setCondition(list, { ...c, observedGeneration: generation }, now);
  if (!r.parsed.ok) {
    const message = `${r.parsed.message}; nothing is served from this profile`;
    const old = previous?.find((c) => c.type === CONDITION_READY);
    const conditions = set(
      (previous ?? []).filter((c) => c.type === CONDITION_READY),
      { type: CONDITION_READY, status: 'False', reason: Reasons.InvalidSpec, message },
    );
    return {
      status: {
        observedGeneration: generation,
        conditions,
        selectedCount: 0,
        conflictCount: 0,
        conflicts: [],
      },
      ...(old?.message !== message ? { warning: { reason: Reasons.InvalidSpec, message } } : {}),
    };
  }
  const selected = summary?.selected ?? 0;
  const facts = Object.keys(r.parsed.layer.facts).length;
  const conflicts: ProfileConflict[] = [...(summary?.ties ?? [])]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, names]) => ({ ...refOf(key), facts: [...names].sort().slice(0, MAX_CONFLICT_FACTS) }));
  let conditions = set(previous, {
    type: CONDITION_READY,
    status: 'True',
    reason: Reasons.Applied,
    message: `${facts} fact${facts === 1 ? '' : 's'} served to ${selected} identit${selected === 1 ? 'y' : 'ies'}`,
  });
  conditions = set(
    conditions,
    selected > 0
      ? {
          type: CONDITION_SELECTING,
          status: 'True',
          reason: Reasons.IdentitiesSelected,
          message: `selects ${selected}`,
        }
      : {
          type: CONDITION_SELECTING,
          status: 'False',
          reason: Reasons.NoIdentitiesSelected,
          message: 'the selector matches no DeploymentFacts in reach',
        },
  );
  const tieMessage =
    conflicts.length > 0
      ? `same priority ${r.parsed.layer.priority} as ${conflicts
          .slice(0, 3)
          .map((c) => `${c.kind}/${c.namespace ? `${c.namespace}/` : ''}${c.name} (${c.facts.join(', ')})`)
          .join(
            '; ',
          )}${conflicts.length > 3 ? ` and ${conflicts.length - 3} more` : ''}: the name that sorts last wins`
      : '';
  conditions = set(
    conditions,
    conflicts.length > 0
      ? {
          type: CONDITION_PRIORITY_CONFLICT,
          status: 'True',
          reason: Reasons.PriorityTie,
          message: tieMessage,
        }
      : {
          type: CONDITION_PRIORITY_CONFLICT,
          status: 'False',
          reason: Reasons.NoPriorityTie,
          message: 'no profile of the same priority sets the same facts',
        },
  );
  const oldTie = previous?.find((c) => c.type === CONDITION_PRIORITY_CONFLICT);
  return {
    status: {
      observedGeneration: generation,
      conditions,
      selectedCount: selected,
      conflictCount: conflicts.length,
      conflicts: conflicts.slice(0, MAX_CONFLICTS),
    },
    ...(conflicts.length > 0 && oldTie?.message !== tieMessage
      ? { warning: { reason: Reasons.PriorityTie, message: tieMessage } }
      : {}),
  };
}
