/**
 * What a FactProfile or ClusterFactProfile means for the merged view: a valid layer, or the problem that keeps
 * everything in it from being served. Pure.
 */
import { plainlyValidFacts, quoteName } from '../../api/facts.js';
import { DEFAULT_PRIORITY, FactProfileSpec, type ProfileKind } from '../../api/profiles.js';
import type { FactProfile } from '../../api/types.js';
import type { ProfileLayer } from '../../store/layers.js';

export type ParsedProfile = { ok: true; layer: ProfileLayer } | { ok: false; message: string };

export function parseProfile(obj: FactProfile, kind: ProfileKind): ParsedProfile {
  const parsed = FactProfileSpec.safeParse(obj.spec ?? {});
  if (!parsed.success) {
    const message = `invalid spec: ${parsed.error.issues
      .slice(0, 5)
      .map((i) => `${['spec', ...i.path.map((p) => quoteName(String(p)))].join('.')}: ${i.message}`)
      .join('; ')}`;
    return { ok: false, message };
  }
  const spec = parsed.data;
  // The FactProfile CRD has no such field (the API server prunes or refuses it); said here too, in case.
  if (kind === 'FactProfile' && spec.namespaceSelector !== undefined)
    return {
      ok: false,
      message:
        'invalid spec: spec.namespaceSelector: only a ClusterFactProfile selects namespaces; a FactProfile reaches its own',
    };
  return {
    ok: true,
    layer: {
      kind,
      ...(kind === 'FactProfile' ? { namespace: obj.metadata.namespace ?? '' } : {}),
      name: obj.metadata.name,
      priority: spec.priority ?? DEFAULT_PRIORITY,
      selector: spec.selector,
      ...(spec.namespaceSelector !== undefined ? { namespaceSelector: spec.namespaceSelector } : {}),
      // zod copies; the fast check keeps the object when it is plainly valid.
      facts: plainlyValidFacts(obj.spec ?? {}) ?? spec.facts ?? {},
    },
  };
}
