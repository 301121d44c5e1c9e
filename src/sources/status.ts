/**
 * The status of a FactSource after a sync attempt. Pure: the clock comes in as `now`. Counts of the last
 * successful sync stay when a later one fails, so that `kubectl get fsrc` keeps saying what is being served.
 */
import { CONDITION_READY, type Reason } from '../api/conditions.js';
import { MAX_STATUS_ERRORS } from '../api/sources.js';
import type { FactSourceError, FactSourceStatus } from '../api/types.js';
import { setCondition } from '../controller/conditions.js';

export type SyncOutcome =
  | {
      ok: true;
      rows: number;
      identities: number;
      factsWritten: number;
      problems: FactSourceError[];
    }
  | { ok: false; reason: Reason; message: string };

/** lastSyncTime alone is refreshed at most this often, so that a fast poll does not write status every time. */
export const SYNC_TIME_REFRESH_MS = 60_000;

export interface StatusDecision {
  status: FactSourceStatus;
  /** A Warning Event to record when the status is written: the Ready condition changed to a problem. */
  warning?: { reason: string; message: string };
}

export function decideStatus(
  prev: FactSourceStatus | undefined,
  outcome: SyncOutcome,
  generation: number,
  now: Date,
): StatusDecision {
  const before = prev?.conditions?.find((c) => c.type === CONDITION_READY);
  let status: FactSourceStatus;
  let ready: { status: 'True' | 'False'; reason: Reason; message: string };
  if (outcome.ok) {
    const problems = outcome.problems;
    const counts = `${outcome.rows} rows, ${outcome.identities} identities, ${outcome.factsWritten} facts`;
    ready =
      problems.length === 0
        ? { status: 'True', reason: 'Synced', message: counts }
        : {
            status: 'True',
            reason: 'PartiallySynced',
            message: `${counts}; ${problems.length} not written: ${summary(problems)}`,
          };
    const stamp = now.toISOString().replace(/\.\d+Z$/, 'Z');
    const prevSync = prev?.lastSyncTime ? Date.parse(prev.lastSyncTime) : Number.NaN;
    status = {
      ...prev,
      rows: outcome.rows,
      identities: outcome.identities,
      factsWritten: outcome.factsWritten,
      errorCount: problems.length,
      errors: problems.slice(0, MAX_STATUS_ERRORS),
      lastSyncTime: stamp,
    };
    // Nothing but the time changed, and recently: keep the old time, so that no write is needed.
    const unchanged =
      before?.status === ready.status &&
      before.reason === ready.reason &&
      before.message === ready.message &&
      prev?.observedGeneration === generation &&
      now.getTime() - prevSync < SYNC_TIME_REFRESH_MS;
    if (unchanged && prev?.lastSyncTime) status.lastSyncTime = prev.lastSyncTime;
  } else {
    ready = { status: 'False', reason: outcome.reason, message: outcome.message };
    status = { ...prev };
  }
  status.observedGeneration = generation;
  status.conditions = setCondition(
    prev?.conditions,
    { type: CONDITION_READY, ...ready, observedGeneration: generation },
    now,
  );
  // A new failure, or a different set of problems (not merely new counts), is worth an Event.
  const changed =
    before?.reason !== ready.reason ||
    (ready.status === 'False'
      ? before?.message !== ready.message
      : JSON.stringify(prev?.errors ?? []) !== JSON.stringify(status.errors ?? []));
  const problem = ready.status === 'False' || ready.reason === 'PartiallySynced';
  return {
    status,
    warning: changed && problem ? { reason: ready.reason, message: ready.message } : undefined,
  };
}

function summary(problems: readonly FactSourceError[]): string {
  const shown = problems
    .slice(0, 3)
    .map((p) => `${p.identity}${p.fact ? `/${p.fact}` : ''}: ${p.message}`)
    .join('; ');
  return problems.length > 3 ? `${shown}; and ${problems.length - 3} more` : shown;
}
