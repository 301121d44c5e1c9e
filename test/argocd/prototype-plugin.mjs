// A stand-in for the flagops plugin's render in the Argo CD end-to-end test: the plugin itself (graytonio/flagops,
// a Go binary) is not served by the Go module proxy, so this renders one Deployment the way its templates would,
// with the flag evaluations made by its data-store provider as test/support/prototype-provider.mjs replays them
// (graytonio/flagops-data-store-openfeature-provider-go@183c66f5, pkg/provider.go): the targeting key is
// ARGOCD_APP_NAME, as the plugin sets FLAGOPS_IDENTITY, and each of the 8 evaluations asks the store again.
// It runs under deploy/argocd/flagops-wrap, exactly as docs/argocd.md sets the plugin up.
import { evaluate } from '../support/prototype-provider.mjs';

const base = process.env.FLAGOPS_PROTOTYPE_BASE; // the plugin config's data-store baseUrl
const id = process.env.ARGOCD_APP_NAME;
const flags = ['max-replicas', 'tier', 'a', 'b', 'c', 'd', 'e', 'f'];
let context;
for (const _flag of flags) {
  const r = await evaluate(base, id);
  if (r.error) {
    process.stderr.write(`template: deployment.yaml: error calling env: ${r.error}\n`);
    process.exit(1);
  }
  context = r.context;
}
process.stdout.write(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: { flagops.io/tier: ${JSON.stringify(context.tier ?? '')} }
spec:
  replicas: ${Number(context['max-replicas'] ?? 1)}
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers: [{ name: web, image: registry.invalid/web:1 }]
`);
