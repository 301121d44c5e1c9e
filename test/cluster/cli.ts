// The one-node cluster by hand:
//   node --import tsx test/cluster/cli.ts up     build (cached), start, print KUBECONFIG; Ctrl-C stops and cleans up
//   node --import tsx test/cluster/cli.ts down   remove clusters whose test run is gone (normally the watchdog does)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeStaleClusters, startCluster } from './cluster.js';
import { ensureNodeBinaries } from './global-setup.js';
import { buildSystemImages } from './images.js';

const log = (line: string) => console.log(`[cluster] ${line}`);
const command = process.argv[2];
if (command === 'down') {
  const removed = removeStaleClusters(log);
  log(removed.length ? `removed ${removed.join(', ')}` : 'no stale clusters');
} else if (command === 'up') {
  const binDir = await ensureNodeBinaries();
  const work = mkdtempSync(join(tmpdir(), 'flagops-images-'));
  const { pause, coredns } = await buildSystemImages(binDir, work);
  const started = Date.now();
  const cluster = await startCluster({ binDir, pauseArchive: pause, corednsArchive: coredns, log });
  rmSync(work, { recursive: true, force: true });
  log(`up in ${Date.now() - started} ms`);
  console.log(`export KUBECONFIG=${cluster.kubeconfigPath}   # state and logs: ${cluster.stateDir}/logs`);
  const stop = async () => {
    const t = Date.now();
    await cluster.stop();
    log(`down in ${Date.now() - t} ms`);
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  setInterval(() => {}, 1 << 30);
} else {
  console.error('usage: cli.ts up | down');
  process.exit(2);
}
