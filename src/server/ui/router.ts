/**
 * The web UI: a handful of static files (HTML, CSS, vanilla JavaScript modules; no build step, no framework),
 * served without authentication. The page's own API calls carry the user's bearer token, so the UI can do
 * exactly what the user may do through the API and nothing more. It never calls the secret-value routes.
 *
 * The files live in `assets/` next to this module and are read once, when the router is created. Running from
 * the sources (tsx) that is `src/server/ui/assets`; running the compiled `dist/`, the build must copy them to
 * `dist/server/ui/assets`. A checkout's `dist/` without that copy falls back to the sources' directory; when
 * neither exists the UI answers 503 saying so, and the rest of the operator is unaffected.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Response, Router } from 'express';
import { HttpError, notFound } from '../errors.js';

/** Everything from our own origin, nothing inline, no plugins, no framing, no form posts anywhere. */
export const UI_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': UI_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
};

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface Asset {
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

function secure(res: Response): Response {
  return res.set(SECURITY_HEADERS);
}

export interface UiOptions {
  /** Where index.html and its files are; defaults to `defaultAssetsDir()`. */
  assetsDir?: string;
}

export function uiRouter(opts: UiOptions = {}): Router {
  const dir = opts.assetsDir ?? defaultAssetsDir();
  const assets = dir && existsSync(join(dir, 'index.html')) ? loadAssets(dir) : undefined;
  const r = Router({ strict: true });

  // Relative redirects, so that the UI also works under a path prefix (kubectl proxy, an ingress path).
  r.get('/', (_req, res) => {
    secure(res).set('cache-control', 'no-store').redirect(302, 'ui/');
  });
  r.get('/ui', (_req, res) => {
    secure(res).set('cache-control', 'no-store').redirect(301, 'ui/');
  });

  const serve = (name: string, ifNoneMatch: string | undefined, res: Response) => {
    secure(res);
    if (!assets) {
      throw new HttpError(
        503,
        'Unavailable',
        'the web UI is not installed: its files were not found next to the operator (dist/server/ui/assets)',
      );
    }
    const asset = assets.get(name);
    if (!asset) throw notFound(`no UI file ${name.slice(0, 100)}`);
    // No fingerprinted file names, so the browser revalidates every time; an unchanged file is a 304.
    res.set({ 'content-type': asset.type, 'cache-control': 'no-cache', etag: asset.etag });
    if (ifNoneMatch?.split(',').some((t) => t.trim() === asset.etag)) {
      res.status(304).end();
      return;
    }
    res.status(200).send(asset.body);
  };
  r.get('/ui/', (req, res) => serve('index.html', req.get('if-none-match'), res));
  r.get('/ui/:file', (req, res) => serve(req.params.file, req.get('if-none-match'), res));
  return r;
}
