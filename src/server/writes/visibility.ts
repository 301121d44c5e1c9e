/**
 * Polling for visibility: only the routes that wait for a delete still use it. Writers wait on the store's own
 * signal (`StoreReader.until`).
 */
export { reached } from '../../store/store.js';

export async function waitFor(check: () => boolean, timeoutMs: number, intervalMs = 5): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return true;
}
