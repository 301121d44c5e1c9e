import { writeFileSync } from 'node:fs';

/** A kubeconfig with one cluster, one token user and one context: every harness (control plane, node, Argo CD, Flux) writes one. */
export function kubeconfigYaml(o: {
  server: string;
  caCertPath: string;
  token: string;
  /** The name of the cluster and of the context (default `flagops-test`). */
  name?: string;
  namespace?: string;
}): string {
  // JSON strings are valid YAML scalars, which sidesteps quoting rules for paths.
  const q = JSON.stringify;
  const name = o.name ?? 'flagops-test';
  return `apiVersion: v1
kind: Config
clusters:
- name: ${q(name)}
  cluster:
    server: ${q(o.server)}
    certificate-authority: ${q(o.caCertPath)}
users:
- name: admin
  user:
    token: ${q(o.token)}
contexts:
- name: ${q(name)}
  context:
    cluster: ${q(name)}
    user: admin${o.namespace !== undefined ? `\n    namespace: ${q(o.namespace)}` : ''}
current-context: ${q(name)}
`;
}

/** Writes the admin's kubeconfig of a test control plane to `path` (0600), its context in `namespace`. */
export function writeAdminKubeconfig(
  path: string,
  info: { server: string; caCertPath: string; adminToken: string },
  namespace: string,
): void {
  writeFileSync(
    path,
    kubeconfigYaml({ server: info.server, caCertPath: info.caCertPath, token: info.adminToken, namespace }),
    { mode: 0o600 },
  );
}
