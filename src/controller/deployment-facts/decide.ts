/**
 * Decides what a DeploymentFacts means for the store and its status. Pure: no I/O, no clock, no logger.
 */
import { CONDITION_READY, Reasons } from '../../api/conditions.js';
import { DeploymentFactsSpec, type FactMap, plainlyValidFacts, quoteName } from '../../api/facts.js';
import type { DeploymentFacts, DeploymentFactsStatus } from '../../api/types.js';
import { setCondition } from '../conditions.js';

export type FactsStoreOp =
  | { op: 'set'; values: FactMap }
  /** Keep serving the last valid facts while the spec is invalid: bad input loses nothing. */
  | { op: 'keep' };

export interface FactsDecision {
  store: FactsStoreOp;
  status: DeploymentFactsStatus;
  /** A Warning Event to record, when the Ready condition just changed to a failure. */
  warning?: { reason: string; message: string };
}

const servedMessages: string[] = [];
/** `N facts served`, one string per count (tens of thousands of statuses say the same few things). */
function servedMessage(count: number): string {
  if (count > 1024) return `${count} facts served`;
  servedMessages[count] ??= `${count} fact${count === 1 ? '' : 's'} served`;
  return servedMessages[count]!;
}

export function decideFacts(obj: DeploymentFacts, now: Date): FactsDecision {
  const generation = obj.metadata.generation ?? 0;
  // Every object of every list comes through here: the plainly valid ones skip zod, which judges everything else.
  const fast = plainlyValidFacts(obj.spec ?? {});
  const parsed = fast
    ? { success: true as const, data: { facts: fast } }
    : DeploymentFactsSpec.safeParse(obj.spec ?? {});
  const previous = obj.status?.conditions?.find((c) => c.type === CONDITION_READY);
  if (!parsed.success) {
    const message = `invalid spec: ${parsed.error.issues
      .slice(0, 5)
      .map((i) => `${['spec', ...i.path.map((p) => quoteName(String(p)))].join('.')}: ${i.message}`)
      .join('; ')}`;
    const condition = {
      type: CONDITION_READY,
      status: 'False' as const,
      reason: Reasons.InvalidSpec,
      message,
      observedGeneration: generation,
    };
    const changed = previous?.reason !== condition.reason || previous.message !== message;
    return {
      store: { op: 'keep' },
      status: {
        observedGeneration: generation,
        conditions: setCondition(obj.status?.conditions, condition, now),
        factCount: 0,
      },
      ...(changed ? { warning: { reason: Reasons.InvalidSpec, message } } : {}),
    };
  }
  const values = parsed.data.facts ?? {};
  const count = Object.keys(values).length;
  return {
    store: { op: 'set', values },
    status: {
      observedGeneration: generation,
      conditions: setCondition(
        obj.status?.conditions,
        {
          type: CONDITION_READY,
          status: 'True',
          reason: Reasons.Indexed,
          message: servedMessage(count),
          observedGeneration: generation,
        },
        now,
      ),
      factCount: count,
    },
  };
}
