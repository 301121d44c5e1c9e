import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../store/store.js';
import type { Writer } from '../../writes/writer.js';
import { createApp } from '../app.js';
import { allowAll } from '../auth/authorizer.js';
import { noAuth } from '../auth/middleware.js';
import { unauthorized } from '../errors.js';
import { defaultAssetsDir } from './assets.js';
import { UI_CSP } from './file-routes.js';

const servers: { close(): void }[] = [];
afterAll(() => {
  for (const s of servers.splice(0)) s.close();
});

async function listen(app: ReturnType<typeof createApp>): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  servers.push({
    close: () => {
      app.server.closeAllConnections();
      app.server.close();
    },
  });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

const appWith = (uiAssetsDir: string) =>
  createApp({
    reader: new Store(),
    writer: {} as Writer,
    auth: { authenticator: noAuth, authorizer: allowAll },
    ready: () => true,
    log: pino({ level: 'silent' }),
    defaultNamespace: 'default',
    uiAssetsDir,
  });

let url: string;
beforeAll(async () => {
  // The whole app with an authenticator that refuses every request: the UI's own files need no token.
  url = await listen(
    createApp({
      reader: new Store(),
      writer: {} as Writer,
      auth: {
        authenticator: {
          authenticate: async () => {
            throw unauthorized();
          },
        },
        authorizer: allowAll,
      },
      ready: () => true,
      log: pino({ level: 'silent' }),
      defaultNamespace: 'default',
    }),
  );
});

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(url + path, { headers, redirect: 'manual' });

describe('the UI router', () => {
  it('serves the page without a token, with a strict CSP and the other security headers', async () => {
    const res = await get('/ui/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toBe(UI_CSP);
    for (const directive of [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*|data:|https?:/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(await res.text()).toContain('<script type="module" src="app.js"></script>');
    // …while the API itself still wants one.
    expect((await get('/api/v1/identities')).status).toBe(401);
  });

  it('serves every asset with its type and the same headers, and revalidates with an ETag', async () => {
    for (const [file, type] of [
      ['app.js', 'text/javascript; charset=utf-8'],
      ['api.js', 'text/javascript; charset=utf-8'],
      ['watch.js', 'text/javascript; charset=utf-8'],
      ['style.css', 'text/css; charset=utf-8'],
      ['favicon.svg', 'image/svg+xml'],
    ]) {
      const res = await get(`/ui/${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get('content-type')).toBe(type);
      expect(res.headers.get('content-security-policy')).toBe(UI_CSP);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const etag = res.headers.get('etag');
      expect(etag).toMatch(/^"[\w-]+"$/);
      const again = await get(`/ui/${file}`, { 'if-none-match': etag! });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe('');
    }
    const head = await fetch(`${url}/ui/app.js`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('redirects / and /ui to /ui/ with relative locations', async () => {
    const root = await get('/');
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('ui/');
    const ui = await get('/ui');
    expect(ui.status).toBe(301);
    expect(ui.headers.get('location')).toBe('ui/');
    expect(new URL('ui/', `${url}/`).pathname).toBe('/ui/');
  });

  it('answers 404 for an unknown file (never a file outside the assets) and 405 for other methods', async () => {
    for (const path of [
      '/ui/nope.js',
      '/ui/..%2Ffile-routes.ts',
      '/ui/%2e%2e%2f%2e%2e%2fapp.ts',
      '/ui/a/b',
    ]) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(await res.text()).not.toContain('import');
    }
    const post = await fetch(`${url}/ui/`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
    expect((await fetch(`${url}/ui/app.js`, { method: 'DELETE' })).status).toBe(405);
  });

  it('answers 503 saying so when its files are missing, without breaking the operator', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ui-empty-'));
    try {
      const base = await listen(appWith(dir));
      const res = await fetch(`${base}/ui/`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/not installed/);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves only known file types from the directory it is given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ui-assets-'));
    try {
      writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
      writeFileSync(join(dir, 'notes.txt'), 'private');
      const base = await listen(appWith(dir));
      expect((await fetch(`${base}/ui/`)).status).toBe(200);
      expect((await fetch(`${base}/ui/notes.txt`)).status).toBe(404);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the UI assets', () => {
  const dir = defaultAssetsDir()!;
  const files = readdirSync(dir);
  const text = (f: string) => readFileSync(join(dir, f), 'utf8');

  it('are found next to the router module', () => {
    expect(dir).toMatch(/src[/\\]server[/\\]ui[/\\]assets[/\\]?$/);
    expect(files).toEqual(
      expect.arrayContaining(['index.html', 'app.js', 'api.js', 'watch.js', 'style.css', 'favicon.svg']),
    );
  });

  it('hold nothing that a strict CSP would refuse: no inline script, style or handler', () => {
    const html = text('index.html');
    for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
      expect(m[1]).toMatch(/\bsrc="[\w.-]+\.js"/);
      expect(m[2]!.trim()).toBe('');
    }
    expect(html).not.toMatch(/<style\b/);
    expect(html).not.toMatch(/\sstyle=/);
    expect(html).not.toMatch(/\son[a-z]+=/);
    // Every URL is relative and local.
    for (const m of html.matchAll(/\s(?:src|href)="([^"]*)"/g)) expect(m[1]).toMatch(/^(#|[\w.-]+$)/);
  });

  it('never touch secret values: no secret-value route, no innerHTML, no persistent storage for the token', () => {
    for (const f of files.filter((f) => f.endsWith('.js'))) {
      const js = text(f);
      expect(js, f).not.toMatch(/\/secrets/);
      expect(js, f).not.toMatch(/\.(inner|outer)HTML\s*\+?=|insertAdjacentHTML\(|document\.write|\beval\(/);
      expect(js, f).not.toMatch(/localStorage\s*[.[]|document\.cookie|indexedDB\./);
    }
  });
});
