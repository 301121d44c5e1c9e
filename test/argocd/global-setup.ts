// Vitest globalSetup for the "argocd" project: builds (or finds) the Argo CD binary, then starts a control
// plane of its own (Argo CD's application controller watches every resource of the cluster, so it does not
// share the integration tests' one). When the binary cannot be built, the tests skip and say why.
import type { TestProject } from 'vitest/node';
import controlPlaneSetup from '../control-plane/global-setup.js';
import { ensureArgoCd } from './argocd.js';

declare module 'vitest' {
  export interface ProvidedContext {
    argocd: { binDir?: string; error?: string };
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const started = Date.now();
  const built = await ensureArgoCd();
  if ('error' in built) {
    project.provide('argocd', { error: built.error });
    return undefined;
  }
  console.log(`[argocd] binary ready in ${Date.now() - started} ms: ${built.binDir}`);
  project.provide('argocd', { binDir: built.binDir });
  return controlPlaneSetup(project);
}
