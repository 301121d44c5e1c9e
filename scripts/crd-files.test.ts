import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderCrdFiles } from './crd-files.js';

describe('CRD files', () => {
  it.each([...renderCrdFiles()])(
    '%s matches src/api/crds.ts (run `npm run gen:crds` after changing it)',
    (path, content) => {
      expect(readFileSync(path, 'utf8')).toBe(content);
    },
  );
});
