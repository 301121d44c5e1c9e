// Vitest globalSetup for the "flux" project: builds (or finds) Flux's source-controller and kustomize-controller,
// then starts a control plane of their own (kustomize-controller watches Kustomizations, ConfigMaps and Secrets
// of every namespace). When the controllers cannot be built, the tests skip and say why.
import type { TestProject } from 'vitest/node';
import controlPlaneSetup from '../control-plane/global-setup.js';
import { ensureFlux } from './flux.js';

declare module 'vitest' {
  export interface ProvidedContext {
    flux: { binDir?: string; error?: string };
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const started = Date.now();
  const built = await ensureFlux();
  if ('error' in built) {
    project.provide('flux', { error: built.error });
    return undefined;
  }
  console.log(`[flux] controllers ready in ${Date.now() - started} ms: ${built.binDir}`);
  project.provide('flux', { binDir: built.binDir });
  return controlPlaneSetup(project);
}
