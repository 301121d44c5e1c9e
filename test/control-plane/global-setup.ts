// Vitest globalSetup for the "integration" project: one control plane per test run, shared by all
// test files through inject('controlPlane').
import type { TestProject } from 'vitest/node';
import { type ControlPlaneInfo, ensureBinaries, startControlPlane } from './control-plane.js';
import { installCrds } from './kubectl.js';

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
  try {
    await installCrds(cp.info());
  } catch (err) {
    await cp.stop();
    throw err;
  }
  project.provide('controlPlane', cp.info());
  return () => cp.stop();
}
