/** What GitOps does to facts in these tests: the real kubectl applying a DeploymentFacts manifest. */
import { expect } from 'vitest';
import { kubectl } from '../control-plane/kubectl.js';
import { controlPlane } from './cluster.js';

export const factsManifest = (namespace: string, name: string, facts: Record<string, unknown>) =>
  JSON.stringify({
    apiVersion: 'flagops.io/v1alpha1',
    kind: 'DeploymentFacts',
    metadata: { name, namespace },
    spec: { facts },
  });

/** `kubectl apply` (client-side), or server-side under the field manager `gitops`; fails the test on error. */
export async function applyFacts(
  namespace: string,
  name: string,
  facts: Record<string, unknown>,
  serverSide: boolean,
): Promise<void> {
  const r = await kubectl(
    controlPlane(),
    ['apply', ...(serverSide ? ['--server-side', '--field-manager=gitops'] : []), '-f', '-'],
    { input: factsManifest(namespace, name, facts) },
  );
  expect(r.stderr).not.toMatch(/error|conflict/i);
  expect(r.code).toBe(0);
}
