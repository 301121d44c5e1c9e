/**
 * Turns FactProfile and ClusterFactProfile events into the merged view at once: a valid profile is applied to the
 * identities it selects, an invalid or deleted one is taken away from them (nothing is served from it).
 */
import type { ProfileKind } from '../../api/profiles.js';
import type { FactProfile, FactProfileStatus } from '../../api/types.js';
import type { LayeredFacts } from '../../store/layered-facts.js';
import { profileKey } from '../../store/layers.js';
import { type ParsedProfile, parseProfile } from './parse.js';

/** What the informer keeps of a profile: enough to judge and write its status without the whole object. */
export interface ProfileRecord {
  readonly key: string;
  readonly kind: ProfileKind;
  readonly namespace?: string;
  readonly name: string;
  readonly uid?: string;
  readonly generation: number;
  readonly resourceVersion?: string;
  readonly status?: FactProfileStatus;
  readonly parsed: ParsedProfile;
}

export const keepProfile =
  (kind: ProfileKind) =>
  (obj: FactProfile): ProfileRecord => {
    const namespace = kind === 'FactProfile' ? (obj.metadata.namespace ?? '') : undefined;
    return {
      key: profileKey({ kind, namespace, name: obj.metadata.name }),
      kind,
      namespace,
      name: obj.metadata.name,
      uid: obj.metadata.uid,
      generation: obj.metadata.generation ?? 0,
      resourceVersion: obj.metadata.resourceVersion,
      status: obj.status,
      parsed: parseProfile(obj, kind),
    };
  };

export function profilesHandler(deps: { layers: LayeredFacts }) {
  return {
    upsert(r: ProfileRecord): void {
      if (r.parsed.ok) deps.layers.setProfile(r.parsed.layer);
      else deps.layers.deleteProfile(r.key);
    },
    remove(r: ProfileRecord): void {
      deps.layers.deleteProfile(r.key);
    },
  };
}
