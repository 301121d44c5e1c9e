/**
 * Reloads the TLS certificate and key when their files change (cert-manager and kubelet rotate them in place),
 * without a restart. A pair that does not load (half-written, mismatched) is logged and the old one kept.
 */
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Server } from 'node:https';
import type { Logger } from 'pino';

export function reloadTlsOnChange(
  server: Server,
  files: { certFile: string; keyFile: string },
  log: Logger,
  intervalMs = 5000,
) {
  const reload = () => {
    try {
      server.setSecureContext({ cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) });
      log.info({ certFile: files.certFile }, 'tls certificate reloaded');
    } catch (err) {
      log.warn(
        { certFile: files.certFile, err: (err as Error).message },
        'tls certificate not reloaded; keeping the old one',
      );
    }
  };
  // Polling, not inotify: mounted Secrets change by swapping a symlink, which a watch on the file misses.
  watchFile(files.certFile, { interval: intervalMs, persistent: false }, reload);
  watchFile(files.keyFile, { interval: intervalMs, persistent: false }, reload);
  return () => {
    unwatchFile(files.certFile, reload);
    unwatchFile(files.keyFile, reload);
  };
}
