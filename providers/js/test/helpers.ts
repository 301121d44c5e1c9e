import type { Logger } from '@openfeature/server-sdk';

export { maxReplicasFlags, pollUntil, putFact } from '../examples/max-replicas.js';

/** A logger that remembers what was logged, per level. */
export function recordingLogger() {
  const lines: Record<'error' | 'warn' | 'info' | 'debug', string[]> = {
    error: [],
    warn: [],
    info: [],
    debug: [],
  };
  const at =
    (level: keyof typeof lines) =>
    (...args: unknown[]) =>
      lines[level].push(args.map(String).join(' '));
  const logger: Logger = { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
  return { logger, lines };
}

/** Waits until `check` is true, failing after `ms`. */
export async function eventually(check: () => boolean, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

let counter = 0;
/** A fresh identity name per test, so tests never see each other's facts. */
export function uniqueIdentity(prefix = 'id'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}
