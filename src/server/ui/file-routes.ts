/**
 * The web UI: a handful of static files (HTML, CSS, vanilla JavaScript modules; no build step, no framework),
 * served without authentication (public routes of the one route table). The page's own API calls carry the user's bearer token, so the UI can do
 * exactly what the user may do through the API and nothing more. It never calls the secret-value routes.
 *
 * The files are read once, by assets.ts; when they are missing the UI answers 503 saying so, and the rest of the
 * operator is unaffected.
 */
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { HttpError, notFound } from '../errors.js';
import { route } from '../route-spec.js';
import type { UiAssets } from './assets.js';

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
