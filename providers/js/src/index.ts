export { FlagopsStoreError, type StoreErrorKind } from './errors.js';
export { FactsSource } from './facts-source.js';
export { FlagopsContextHook } from './hook.js';
export { DEFAULT_TOKEN_FILE, type FlagopsOptions } from './options.js';
export { FlagopsProvider, type FlagopsProviderOptions } from './provider.js';
export type { Facts, FactValue } from './store-client.js';
