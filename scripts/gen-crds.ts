import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { renderCrdFiles } from './crd-files.js';

for (const [path, content] of renderCrdFiles()) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  console.log(`wrote ${path}`);
}
