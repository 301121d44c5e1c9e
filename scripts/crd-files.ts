/** Renders the CRD YAML files from src/api/crds.ts: the one list that both `gen:crds` and the drift test use. */
import { dump } from 'js-yaml';
import { allCrds } from '../src/api/crds.js';

const HEADER = '# Generated from src/api/crds.ts by `npm run gen:crds`. Do not edit by hand.\n';

/** Directories that hold a copy of the CRDs: the plain manifests and the Helm chart. */
export const CRD_DIRS = ['crds', 'helm/flagops-data-store/crds'];

export function renderCrdFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const dir of CRD_DIRS) {
    for (const crd of allCrds) {
      files.set(`${dir}/${crd.metadata.name}.yaml`, HEADER + dump(crd, { lineWidth: -1, noRefs: true }));
    }
  }
  return files;
}
