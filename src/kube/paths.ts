import { FACTS_PLURAL, GROUP, SECRETS_PLURAL, VERSION } from '../api/group.js';
import { CLUSTER_PROFILE_PLURAL, PROFILE_PLURAL } from '../api/profiles.js';

const seg = encodeURIComponent;

/** Path of a flagops.io resource collection or object; no namespace means all namespaces. */
export function customPath(
  plural: typeof FACTS_PLURAL | typeof SECRETS_PLURAL | typeof PROFILE_PLURAL | typeof CLUSTER_PROFILE_PLURAL,
  namespace?: string,
  name?: string,
) {
  const ns = namespace ? `/namespaces/${seg(namespace)}` : '';
  return `/apis/${GROUP}/${VERSION}${ns}/${plural}${name ? `/${seg(name)}` : ''}`;
}

export const factsPath = (namespace?: string, name?: string) => customPath(FACTS_PLURAL, namespace, name);
export const secretsPath = (namespace?: string, name?: string) => customPath(SECRETS_PLURAL, namespace, name);

export function corePath(resource: string, namespace?: string, name?: string) {
  const ns = namespace ? `/namespaces/${seg(namespace)}` : '';
  return `/api/v1${ns}/${resource}${name ? `/${seg(name)}` : ''}`;
}
export const profilesPath = (namespace?: string, name?: string) =>
  customPath(PROFILE_PLURAL, namespace, name);
/** Cluster-scoped: the namespace argument (of a cache's per-namespace path) is ignored. */
export const clusterProfilesPath = (_namespace?: string, name?: string) =>
  customPath(CLUSTER_PROFILE_PLURAL, undefined, name);
