/**
 * The field managers the operator writes under, in one place. Server-side apply records them in managedFields;
 * provenance, the writers and the sources read ownership by these names.
 */

/** HTTP writes: facts, secret values, webhook deliveries. */
export const API_FIELD_MANAGER = 'flagops-data-store-api';
/** `/status` of DeploymentFacts, DeploymentSecrets and FactSources. */
export const STATUS_FIELD_MANAGER = 'flagops-data-store-operator';
/** The ConfigMaps of `--configmap-projections`. */
export const PROJECTION_FIELD_MANAGER = 'flagops-data-store-projections';
/** Each FactSource writes under its own field manager, `flagops-source/<name>`. */
export const SOURCE_FIELD_MANAGER_PREFIX = 'flagops-source/';
export const sourceFieldManager = (name: string) => `${SOURCE_FIELD_MANAGER_PREFIX}${name}`;
