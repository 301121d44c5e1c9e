// Regenerates deploy/*.yaml (except kustomization.yaml, namespace.yaml and samples/) from the Helm chart:
//   node --import tsx test/packaging/render-deploy.ts
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBinaries } from '../control-plane/control-plane.js';
import { DEPLOY, renderDeployFiles } from './packaging.js';

const files = await renderDeployFiles(await ensureBinaries());
for (const [file, content] of files) {
  writeFileSync(join(DEPLOY, file), content);
  console.log(`wrote deploy/${file}`);
}
