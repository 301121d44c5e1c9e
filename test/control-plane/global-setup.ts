// Vitest globalSetup for the "integration" project: one control plane per test run, shared by all
// test files through inject('controlPlane').
import type { TestProject } from 'vitest/node';
import { type ControlPlaneInfo, ensureBinaries, startControlPlane } from './control-plane.js';
import { kubectl } from './kubectl.js';

declare module 'vitest' {
  export interface ProvidedContext {
    controlPlane: ControlPlaneInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const binDir = await ensureBinaries();
  const started = Date.now();
  const cp = await startControlPlane({ binDir });
  console.log(
    `[control-plane] kube-apiserver ${cp.server} (etcd ${cp.etcdEndpoint}) ready in ${Date.now() - started} ms; KUBECONFIG=${cp.kubeconfigPath}`,
  );
  // The CRDs are cluster-wide: install them once, from crds/, before any test file starts.
  const applied = await kubectl(cp.info(), ['apply', '--server-side', '-f', 'crds/']);
  const established = await kubectl(cp.info(), [
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    '-f',
    'crds/',
  ]);
  if (applied.code !== 0 || established.code !== 0) {
    await cp.stop();
    throw new Error(`installing the CRDs failed: ${applied.stderr}${established.stderr}`);
  }
  project.provide('controlPlane', cp.info());
  return () => cp.stop();
}
