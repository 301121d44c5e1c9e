/** API group, version and kinds of the flagops.io custom resources. Imports nothing else from src/. */
export const GROUP = 'flagops.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}` as const;

export const FACTS_KIND = 'DeploymentFacts';
export const FACTS_PLURAL = 'deploymentfacts';
export const SECRETS_KIND = 'DeploymentSecrets';
export const SECRETS_PLURAL = 'deploymentsecrets';

/** The subresource whose `get` permission lets a caller read resolved secret values over HTTP. */
export const SECRET_VALUES_SUBRESOURCE = 'values';
