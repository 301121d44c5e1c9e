/**
 * What a projected ConfigMap holds. Pure. The data are an identity's facts as strings, under keys that Flux's
 * `postBuild.substituteFrom` accepts: Flux refuses the whole substitution when one key does not match
 * `^[_[:alpha:]][_[:alpha:][:digit:]]*$`, so `-` and `.` in fact names become `_`, and a name that starts with a
 * digit gets a leading `_` (`max-replicas` → `max_replicas`). Such keys are valid environment variable names for
 * `envFrom` too. Secrets never come here: the projector reads facts only.
 */
import type { FactMap } from '../../api/facts.js';
import { API_VERSION, FACTS_KIND } from '../../api/group.js';
import type { ObjectMeta } from '../../api/types.js';

/** The opt-in: a DeploymentFacts with this label set to "true" gets a ConfigMap. */
export const PROJECT_LABEL = 'flagops.io/project-configmap';
export const CONFIGMAP_PREFIX = 'flagops-facts-';
/**
 * Flux 2.7+ re-reconciles the Kustomizations (and HelmReleases) that reference a ConfigMap matching its
 * controllers' `--watch-configs-label-selector`, by default `reconcile.fluxcd.io/watch=Enabled` (fluxcd/pkg
 * apis/meta `LabelKeyWatch`), as soon as it changes.
 */
export const FLUX_WATCH_LABEL = 'reconcile.fluxcd.io/watch';
/**
 * Labels that earlier versions set and that mean nothing to Flux: a projection carrying one has it removed on
 * its next write. Removing them from the applied object is not enough, since the ConfigMap's creation (a POST,
 * not an apply) also owns them.
 */
export const STALE_LABELS = ['toolkit.fluxcd.io/watch'] as const;
export const PROJECTION_LABEL = 'flagops.io/projection';

export const configMapName = (identity: string) => `${CONFIGMAP_PREFIX}${identity}`;
/** Object names are at most 253 characters. */
export const canProject = (identity: string) => configMapName(identity).length <= 253;

/** A fact name as a Flux variable (and environment variable) name. */
export function dataKey(fact: string): string {
  const k = fact.replace(/[-.]/g, '_');
  return /^[0-9]/.test(k) ? `_${k}` : k;
}

export interface ProjectedData {
  data: Record<string, string>;
  /** Facts left out because another fact already maps to the same key (the first by name wins). */
  collisions: { fact: string; key: string; with: string }[];
}

export function projectedData(facts: Readonly<FactMap>): ProjectedData {
  const data: Record<string, string> = {};
  const from = new Map<string, string>();
  const collisions: ProjectedData['collisions'] = [];
  for (const fact of Object.keys(facts).sort()) {
    const key = dataKey(fact);
    const taken = from.get(key);
    if (taken !== undefined) {
      collisions.push({ fact, key, with: taken });
      continue;
    }
    from.set(key, fact);
    data[key] = String(facts[fact]);
  }
  return { data, collisions };
}

/** The whole ConfigMap as applied (server-side apply, forced: the projector owns every field it sets). */
export function desiredConfigMap(owner: ObjectMeta & { uid: string }, data: Record<string, string>) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: configMapName(owner.name),
      namespace: owner.namespace,
      labels: {
        [FLUX_WATCH_LABEL]: 'Enabled',
        [PROJECTION_LABEL]: 'facts',
        'app.kubernetes.io/managed-by': 'flagops-data-store',
      },
      // The ConfigMap goes with its DeploymentFacts (garbage collection); no blockOwnerDeletion, which would
      // need permission on deploymentfacts/finalizers.
      ownerReferences: [
        { apiVersion: API_VERSION, kind: FACTS_KIND, name: owner.name, uid: owner.uid, controller: true },
      ],
    },
    data,
  };
}

/** The labels of `labels` that the projector once set and no longer does (see STALE_LABELS). */
export const staleLabels = (labels: Readonly<Record<string, string>> | undefined): string[] =>
  STALE_LABELS.filter((l) => labels?.[l] !== undefined);

/**
 * Whether an existing ConfigMap is the projection of the DeploymentFacts with uid `ownerUid`, and so may be written
 * or deleted: it carries the projection label and names that very object (by uid, not name) as its controller. A
 * ConfigMap of the same name made by anyone else, even one that copies the label and an ownerReference by name,
 * is not; it is never adopted.
 */
export function isProjectionOf(
  cm: {
    metadata?: {
      labels?: Record<string, string>;
      ownerReferences?: { kind?: string; uid?: string; apiVersion?: string; controller?: boolean }[];
    };
  },
  ownerUid: string,
): boolean {
  if (cm.metadata?.labels?.[PROJECTION_LABEL] !== 'facts') return false;
  return (cm.metadata.ownerReferences ?? []).some(
    (r) =>
      r.controller === true &&
      r.kind === FACTS_KIND &&
      r.uid === ownerUid &&
      r.apiVersion?.startsWith('flagops.io/') === true,
  );
}
