/**
 * The web UI: a handful of static files (HTML, CSS, vanilla JavaScript modules; no build step, no framework),
 * served without authentication (public routes of the one route table). The page's own API calls carry the user's bearer token, so the UI can do
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
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { HttpError, notFound } from '../errors.js';
import { route } from '../route.js';
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

function serve(
  assets: UiAssets | undefined,
  name: string,
  ifNoneMatch: string | undefined,
  reply: FastifyReply,
) {
  reply.headers(SECURITY_HEADERS);
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
  reply.headers({ 'content-type': asset.type, 'cache-control': 'no-cache', etag: asset.etag });
  if (ifNoneMatch?.split(',').some((t) => t.trim() === asset.etag)) return reply.code(304).send();
  return reply.code(200).send(asset.body);
}

const tags = ['ui'];
const page = { 200: { description: 'the file', contentType: 'text/html' } };

export const uiRoutes = [
  // Relative redirects, so that the UI also works under a path prefix (kubectl proxy, an ingress path).
  route({
    method: 'GET',
    path: '/',
    tags,
    summary: 'Redirects to ui/',
    public: true,
    responses: { 302: { description: 'to ui/' } },
    errors: [],
    handler: ({ reply }) =>
      reply.headers(SECURITY_HEADERS).header('cache-control', 'no-store').redirect('ui/', 302),
  }),
  route({
    method: 'GET',
    path: '/ui',
    tags,
    summary: 'Redirects to ui/',
    public: true,
    responses: { 301: { description: 'to ui/' } },
    errors: [],
    handler: ({ reply }) =>
      reply.headers(SECURITY_HEADERS).header('cache-control', 'no-store').redirect('ui/', 301),
  }),
  route({
    method: 'GET',
    path: '/ui/',
    tags,
    summary: "The web UI's page (strict CSP; no token needed: its API calls carry the user's)",
    public: true,
    responses: page,
    errors: [503],
    handler: ({ deps, request, reply }) =>
      serve(deps.ui, 'index.html', request.headers['if-none-match'], reply),
  }),
  route({
    method: 'GET',
    path: '/ui/:file',
    tags,
    summary: "The web UI's scripts, style and icon",
    public: true,
    params: { file: { schema: z.string(), field: 'file', description: 'a file of the UI' } },
    responses: page,
    errors: [404, 503],
    handler: ({ params, deps, request, reply }) =>
      serve(deps.ui, params.file, request.headers['if-none-match'], reply),
  }),
];
