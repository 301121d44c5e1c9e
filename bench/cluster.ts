/**
 * Start and stop times of the one-node test cluster (test/cluster/cluster.ts): each rep starts a cluster (netns,
 * control plane, containerd, kubelet, kube-proxy, node Ready, CoreDNS Ready) and stops it (everything removed).
 * Prints every rep, then the median and range of each. Needs root and test/cluster/build.sh's binaries.
 *
 *   node --import tsx bench/cluster.ts [--reps=5]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster } from '../test/cluster/cluster.js';
import { ensureNodeBinaries } from '../test/cluster/global-setup.js';
import { buildSystemImages } from '../test/cluster/images.js';

const reps = Number(process.argv.find((a) => a.startsWith('--reps='))?.slice(7) ?? 5);
const binDir = await ensureNodeBinaries();
const work = mkdtempSync(join(tmpdir(), 'flagops-bench-cluster-'));
const { pause, coredns } = await buildSystemImages(binDir, work);
const up: number[] = [];
const down: number[] = [];
for (let i = 0; i < reps; i++) {
  let t = performance.now();
  const cluster = await startCluster({ binDir, pauseArchive: pause, corednsArchive: coredns });
  up.push(performance.now() - t);
  t = performance.now();
  await cluster.stop();
  down.push(performance.now() - t);
  console.log(
    `rep ${i + 1}: up ${(up.at(-1)! / 1000).toFixed(2)} s, down ${(down.at(-1)! / 1000).toFixed(2)} s`,
  );
}
rmSync(work, { recursive: true, force: true });
const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const f = (ms: number) => (ms / 1000).toFixed(2);
  return `median ${f(s[Math.floor(s.length / 2)]!)} s (${f(s[0]!)}–${f(s.at(-1)!)})`;
};
console.log(`cluster up:   ${summary(up)}\ncluster down: ${summary(down)}  (${reps} reps)`);
