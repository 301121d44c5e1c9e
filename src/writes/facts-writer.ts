/**
 * Facts set and removed: read, plan (plan-facts.ts), apply with preconditions, and on a stale write read and plan
 * again. A new identity is created by the apply itself, guarded so that a concurrent creator's facts are re-read
 * rather than replaced.
 */
import { type FactMap, FactName, FactValue } from '../api/facts.js';
import { API_FIELD_MANAGER } from '../api/field-managers.js';
import { API_VERSION, FACTS_KIND } from '../api/group.js';
import type { DeploymentFacts } from '../api/types.js';
import type { KubeClient } from '../kube/client.js';
import { FACTS_FIELDS, ownership } from '../kube/managed-fields.js';
import { factsPath } from '../kube/paths.js';
import { FACT_ORIGINS_ANNOTATION } from '../store/provenance.js';
import { reached, type StoreReader } from '../store/store.js';
import { WriteError } from './errors.js';
import { ABSENT_RESOURCE_VERSION, applyGuarded, readOrAbsent, withObject, writeOrStale } from './kube-io.js';
import { checkFactsChange } from './limits.js';
import { type FactsChange, type FactsPlan, nextOrigins, planFactsApply } from './plan-facts.js';
import { retryStale } from './retry.js';
import { type FactsWriteResult, ORIGIN_ANNOTATION } from './writer.js';

/**
 * The facts a write answers with: the object's, but only those a read could serve. An object that predates the
 * admission policy (or a cluster without it) may hold an object, a list or a null; the store never serves those, and
 * neither does a write's answer.
 */
function served(raw: Record<string, unknown> | undefined): FactMap {
  const out: FactMap = {};
  for (const [k, v] of Object.entries(raw ?? {})) {
    const value = FactValue.safeParse(v);
    if (value.success && FactName.safeParse(k).success) out[k] = value.data;
  }
  return out;
}

/** The seconds-precision timestamp of a fact's origin record. */
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** The apply of a facts plan: the API's whole spec.facts, who asked, and the preconditions. */
function factsApplyBody(
  namespace: string,
  name: string,
  obj: DeploymentFacts | undefined,
  plan: Extract<FactsPlan, { op: 'apply' }>,
  change: FactsChange,
) {
  return {
    apiVersion: API_VERSION,
    kind: FACTS_KIND,
    metadata: {
      name,
      namespace,
      annotations: {
        [ORIGIN_ANNOTATION]: change.origin,
        [FACT_ORIGINS_ANNOTATION]: nextOrigins(
          obj?.metadata.annotations?.[FACT_ORIGINS_ANNOTATION],
          plan.desired,
          change.set ?? {},
          change.origin,
          now(),
        ),
      },
      // Both preconditions on an existing object: a resourceVersion alone does not stop an apply from re-creating
      // an object deleted meanwhile; the uid does. A new one: see ABSENT_RESOURCE_VERSION.
      ...(plan.create
        ? { resourceVersion: ABSENT_RESOURCE_VERSION }
        : { resourceVersion: obj!.metadata.resourceVersion, uid: obj!.metadata.uid }),
    },
    spec: { facts: plan.desired },
  };
}

export class FactsWriter {
  constructor(
    private readonly client: KubeClient,
    private readonly reader: StoreReader,
    private readonly visibilityTimeoutMs: number,
  ) {}

  async writeFacts(namespace: string, name: string, change: FactsChange): Promise<FactsWriteResult> {
    const bad = checkFactsChange(change);
    if (bad) throw bad;
    const what = `DeploymentFacts ${namespace}/${name}`;
    const path = factsPath(namespace, name);
    return retryStale(async () => {
      const obj = await readOrAbsent<DeploymentFacts>(this.client, path, what);
      const plan = planFactsApply(
        obj && {
          facts: obj.spec?.facts ?? {},
          generation: obj.metadata.generation ?? 0,
          ownership: ownership(obj.metadata.managedFields, API_FIELD_MANAGER, FACTS_FIELDS),
        },
        change,
      );
      if (plan instanceof WriteError) throw withObject(plan, what);
      if (plan.op === 'none') {
        return {
          resourceVersion: obj?.metadata.resourceVersion ?? '',
          generation: plan.generation,
          facts: served(plan.facts),
          visible: true,
        };
      }
      let written = await applyGuarded<DeploymentFacts>(
        this.client,
        path,
        factsApplyBody(namespace, name, obj, plan, change),
        plan.force,
        what,
      );
      if (plan.forcedRemovals.length > 0) {
        // Another manager owns these facts; only an update removes them. Their owner may set them again.
        written = await writeOrStale(
          () =>
            this.client.mergePatch<DeploymentFacts>(
              path,
              {
                metadata: { resourceVersion: written.metadata.resourceVersion, uid: written.metadata.uid },
                spec: { facts: Object.fromEntries(plan.forcedRemovals.map((k) => [k, null])) },
              },
              { query: { fieldManager: API_FIELD_MANAGER } },
            ),
          what,
        );
      }
      const rv = written.metadata.resourceVersion ?? '';
      const visible = await this.reader.until(
        namespace,
        name,
        (i) => reached(i?.facts?.resourceVersion, rv),
        this.visibilityTimeoutMs,
      );
      return {
        resourceVersion: rv,
        generation: written.metadata.generation ?? 0,
        facts: served(written.spec?.facts),
        visible,
      };
    });
  }
}
