/**
 * Waits until the informer-fed store has seen a write, so that a response means "visible to the next read".
 * resourceVersions are opaque, but the API server's are integers in practice; a non-numeric one only matches
 * itself.
 */
export function reached(seen: string | undefined, target: string): boolean {
  if (seen === undefined) return false;
  if (seen === target) return true;
  if (/^\d+$/.test(seen) && /^\d+$/.test(target)) return BigInt(seen) >= BigInt(target);
  return false;
}

export async function waitFor(check: () => boolean, timeoutMs: number, intervalMs = 5): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return true;
}
