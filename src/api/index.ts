export * from './conditions.js';
export * from './facts.js';
export * from './field-managers.js';
export * from './group.js';
export * from './profiles.js';
export * from './secrets.js';
export * from './sources.js';
export * from './types.js';
