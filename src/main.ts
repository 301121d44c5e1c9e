#!/usr/bin/env -S node --max-semi-space-size=4
/** Entry point: parse flags, then wire the operator. Exit code 2 for bad flags. */
import { ConfigError, parseConfig, usage } from './config.js';
import { createLogger } from './logger.js';
import { startOperator } from './operator.js';

async function main(): Promise<void> {
  const parsed = parseConfig(process.argv.slice(2), process.env);
  if ('help' in parsed) {
    process.stdout.write(usage());
    return;
  }
  if ('error' in parsed) {
    // The error alone, last: a pod's termination message is the tail of its log, and must name the flag.
    process.stderr.write(
      `flagops-data-store: ${parsed.error}\n(flagops-data-store --help lists every flag)\n`,
    );
    process.exit(2);
  }
  const log = createLogger(parsed.config.logLevel);
  // A stray rejection is a bug to fix, not a reason to stop serving: log it (message only) and carry on.
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason instanceof Error ? reason.message : String(reason) }, 'unhandled rejection');
  });
  const operator = await startOperator(parsed.config, log);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    operator.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`flagops-data-store: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
