/**
 * Renders the CRD YAML files and the facts admission policy from src/api/crds.ts: the one list that both `gen:crds`
 * and the drift test use.
 */
import { dump } from 'js-yaml';
import { allCrds, deploymentFactsPolicy, deploymentFactsPolicyBinding } from '../src/api/crds.js';

const HEADER = '# Generated from src/api/crds.ts by `npm run gen:crds`. Do not edit by hand.\n';
const yaml = (obj: unknown) => dump(obj, { lineWidth: -1, noRefs: true });

/** Directories that hold a copy of the CRDs: the plain manifests and the Helm chart. */
export const CRD_DIRS = ['crds', 'helm/flagops-data-store/crds'];
/** The policy with the CRDs (crds/ is a kustomize base that deploy/ includes) and as a chart template. */
export const POLICY_FILE = 'crds/deploymentfacts-policy.yaml';
export const POLICY_TEMPLATE = 'helm/flagops-data-store/templates/admission-policy.yaml';

const LABELS = '__chart_labels__';
const withLabels = <T extends { metadata: object }>(o: T) => ({
  ...o,
  metadata: { ...o.metadata, labels: LABELS },
});

export function renderCrdFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const dir of CRD_DIRS) {
    for (const crd of allCrds) files.set(`${dir}/${crd.metadata.name}.yaml`, HEADER + yaml(crd));
  }
  const policy = [deploymentFactsPolicy, deploymentFactsPolicyBinding];
  files.set(POLICY_FILE, `${HEADER}${policy.map((o) => `---\n${yaml(o)}`).join('')}`);
  // Helm installs crds/ once and never upgrades it; the policy is a template so that upgrades carry its rules.
  const template = policy
    .map((o) => `---\n${yaml(withLabels(o))}`)
    .join('')
    .replaceAll(`labels: ${LABELS}`, 'labels:\n    {{- include "flagops.labels" . | nindent 4 }}');
  files.set(
    POLICY_TEMPLATE,
    `{{- /* ${HEADER.slice(2, -1)}\nThe API server's check of fact values (strings, numbers, booleans): see docs/api.md#facts. */ -}}\n` +
      `{{- if .Values.admissionPolicy.enabled }}\n${template}{{- end }}\n`,
  );
  return files;
}
