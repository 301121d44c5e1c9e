/**
 * The web UI's files, read once: they live in `assets/` next to this module. Running from the sources (tsx) that
 * is `src/server/ui/assets`; running the compiled `dist/`, the build must copy them to `dist/server/ui/assets`. A
 * checkout's `dist/` without that copy falls back to the sources' directory.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/** The assets' directory: next to this module, else (a dist/ built without copying them) in the sources. */
export function defaultAssetsDir(): string | undefined {
  const candidates = [
    fileURLToPath(new URL('./assets/', import.meta.url)),
    fileURLToPath(new URL('../../../src/server/ui/assets/', import.meta.url)),
  ];
  return candidates.find((dir) => existsSync(join(dir, 'index.html')));
}

export type UiAssets = ReadonlyMap<string, Asset>;

function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const type = CONTENT_TYPES[extname(entry.name)];
    if (!entry.isFile() || !type) continue;
    const body = readFileSync(join(dir, entry.name));
    const hash = createHash('sha256').update(body).digest('base64url').slice(0, 22);
    assets.set(entry.name, { body, type, etag: `"${hash}"` });
  }
  return assets;
}

/** The UI's files from `dir` (default: next to this module), or undefined when they are not there. */
export function loadUi(dir = defaultAssetsDir()): UiAssets | undefined {
  return dir && existsSync(join(dir, 'index.html')) ? loadAssets(dir) : undefined;
}
