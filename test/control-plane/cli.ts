// Starts a control plane for manual debugging and keeps it running until Ctrl-C:
//   node --import tsx test/control-plane/cli.ts
import { startControlPlane } from './control-plane.js';

const cp = await startControlPlane({ log: (line) => console.error(`[control-plane] ${line}`) });
console.log(`kubeconfig: ${cp.kubeconfigPath}`);
console.log(`export KUBECONFIG=${cp.kubeconfigPath}`);
console.log(`export PATH=${cp.binDir}:$PATH`);
console.error('[control-plane] running; Ctrl-C stops it');

// The control plane's own handlers SIGKILL the children first; this one then waits and removes the temp dir.
const shutdown = async () => {
  await cp.stop();
  process.exit(0);
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
