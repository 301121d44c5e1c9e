/**
 * Applies a source's facts to the identities' DeploymentFacts with server-side apply under the source's own field
 * manager (`flagops-source/<name>`), never forced:
 *  - each apply carries every fact the source holds on that identity, so a fact that left the result is removed
 *    by the API server (SSA drops fields a manager stops applying, unless another manager also owns them);
 *  - a fact that another manager owns (GitOps, the API, another source) is left out of the apply and reported;
 *  - a refusal by the API server is reported for that identity; the other identities still apply.
 * Ownership comes from the one managedFields reader (kube/managed-fields.ts).
 */
import type { FactMap } from '../api/facts.js';
import { API_VERSION, FACTS_KIND } from '../api/group.js';
import type { DeploymentFacts, FactSourceError } from '../api/types.js';
import type { KubeClient } from '../kube/client.js';
import { KubeApiError } from '../kube/errors.js';
import { FACTS_FIELDS, ownership } from '../kube/managed-fields.js';
import { factsPath } from '../kube/paths.js';

export interface IdentityPlan {
  identity: string;
  /** Every fact this source should hold on the identity after the apply. */
  facts: FactMap;
  /** Facts of the result that another manager owns: left alone. */
  conflicts: { fact: string; owners: string[] }[];
  /** False when the object already holds exactly these facts under this manager. */
  needed: boolean;
  /** Whether the DeploymentFacts exists (an apply creates it otherwise). */
  exists: boolean;
}

/**
 * What to apply where. Pure. Covers every identity of the result and every existing object on which this manager
 * still owns facts (those facts left the result and are removed).
 */
export function planApply(
  manager: string,
  desired: ReadonlyMap<string, FactMap>,
  current: readonly DeploymentFacts[],
): IdentityPlan[] {
  const byName = new Map(current.map((o) => [o.metadata.name, o]));
  const names = new Set(desired.keys());
  for (const o of current) {
    if (ownership(o.metadata.managedFields, manager, FACTS_FIELDS).ours.size > 0) names.add(o.metadata.name);
  }
  const plans: IdentityPlan[] = [];
  for (const identity of names) {
    const obj = byName.get(identity);
    const own = ownership(obj?.metadata.managedFields, manager, FACTS_FIELDS);
    const existing = obj?.spec?.facts ?? {};
    const facts: FactMap = {};
    const conflicts: IdentityPlan['conflicts'] = [];
    for (const [fact, value] of Object.entries(desired.get(identity) ?? {})) {
      const owners = own.others.get(fact);
      if (owners) conflicts.push({ fact, owners });
      else facts[fact] = value;
    }
    const held = [...own.ours].filter((k) => Object.hasOwn(existing, k));
    const same =
      held.length === own.ours.size &&
      held.length === Object.keys(facts).length &&
      held.every((k) => Object.hasOwn(facts, k) && facts[k] === existing[k]);
    const needed = obj ? !same : Object.keys(facts).length > 0;
    plans.push({ identity, facts, conflicts, needed, exists: !!obj });
  }
  return plans;
}

/** Every DeploymentFacts of the namespace, in pages of 500. */
export async function listFacts(client: KubeClient, namespace: string): Promise<DeploymentFacts[]> {
  const items: DeploymentFacts[] = [];
  let next: string | undefined;
  do {
    const page = await client.get<{ items: DeploymentFacts[]; metadata?: { continue?: string } }>(
      factsPath(namespace),
      { query: { limit: 500, continue: next }, timeoutMs: 60_000 },
    );
    items.push(...page.items);
    next = page.metadata?.continue || undefined;
  } while (next);
  return items;
}

export interface ApplyOutcome {
  /** Identities applied (or already up to date). */
  applied: number;
  /** Facts the source holds after this sync, over all identities it could write. */
  factsWritten: number;
  problems: FactSourceError[];
}

/** API-server messages are short and carry names, not connection details; still, keep them bounded. */
const bounded = (m: string) => (m.length > 512 ? `${m.slice(0, 509)}...` : m);

/**
 * Applies the plans, a few identities at a time. An identity the API server refuses (invalid, forbidden, a field
 * conflict won by another writer meanwhile) is a problem of that identity; an unreachable API server throws.
 */
export async function applyPlans(
  client: KubeClient,
  namespace: string,
  manager: string,
  plans: readonly IdentityPlan[],
  concurrency = 8,
): Promise<ApplyOutcome> {
  const outcome: ApplyOutcome = { applied: 0, factsWritten: 0, problems: [] };
  for (const p of plans) {
    for (const c of p.conflicts) {
      outcome.problems.push({
        identity: p.identity,
        fact: c.fact,
        reason: 'Conflict',
        message: `fact ${c.fact} is managed by ${c.owners.join(', ')}; left alone`,
      });
    }
  }
  let fatal: unknown;
  let i = 0;
  const worker = async () => {
    while (i < plans.length && fatal === undefined) {
      const p = plans[i++]!;
      if (!p.needed) {
        outcome.applied++;
        outcome.factsWritten += Object.keys(p.facts).length;
        continue;
      }
      try {
        await client.apply(
          factsPath(namespace, p.identity),
          {
            apiVersion: API_VERSION,
            kind: FACTS_KIND,
            metadata: { name: p.identity, namespace },
            // No spec at all when nothing is left: the manager then owns no fact, and its former facts go.
            ...(Object.keys(p.facts).length > 0 ? { spec: { facts: p.facts } } : {}),
          },
          manager,
        );
        outcome.applied++;
        outcome.factsWritten += Object.keys(p.facts).length;
      } catch (err) {
        if (!(err instanceof KubeApiError)) {
          fatal = err;
          return;
        }
        const c = err.errorClass;
        if (
          c === 'invalid' ||
          c === 'conflict' ||
          c === 'forbidden' ||
          c === 'tooLarge' ||
          c === 'notFound'
        ) {
          const reason =
            c === 'conflict'
              ? 'Conflict'
              : c === 'forbidden'
                ? 'Forbidden'
                : c === 'notFound'
                  ? 'NotFound'
                  : 'Rejected';
          outcome.problems.push({ identity: p.identity, reason, message: bounded(err.message) });
        } else {
          fatal = err;
          return;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(plans.length, 1)) }, worker));
  if (fatal !== undefined) throw fatal;
  return outcome;
}
