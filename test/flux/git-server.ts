// A git repository served over smart HTTP on loopback, for Flux's source-controller (which clones http(s) and
// ssh URLs only, never file://). Git's own `git http-backend` answers; this module is the CGI gateway around it.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface GitServer {
  /** The clone URL of the repository, http://127.0.0.1:<port>/repo.git. */
  url: string;
  /** The branch that holds the files. */
  branch: string;
  stop(): Promise<void>;
}

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=flagops', '-c', 'user.email=flagops@example.invalid', ...args], {
    cwd,
    stdio: 'pipe',
  });

/** Commits `files` (path → text) to a new repository and serves it. */
export async function startGitServer(files: Record<string, string>): Promise<GitServer> {
  const dir = mkdtempSync(join(tmpdir(), 'flagops-git-http-'));
  const work = join(dir, 'work');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(work, path)), { recursive: true });
    writeFileSync(join(work, path), text);
  }
  git(work, 'init', '-q', '-b', 'main');
  git(work, 'add', '.');
  git(work, 'commit', '-q', '-m', 'manifests');
  const root = join(dir, 'served');
  mkdirSync(root);
  git(dir, 'clone', '-q', '--bare', work, join(root, 'repo.git'));
  const backend = join(execFileSync('git', ['--exec-path']).toString().trim(), 'git-http-backend');

  const server = createServer((req, res) => cgi(backend, root, req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/repo.git`,
    branch: 'main',
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One request through git http-backend as a CGI program (RFC 3875): request body in, `Status:` + headers out. */
function cgi(backend: string, root: string, req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''),
    GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
  };
  if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
  const child = spawn(backend, [], { env, stdio: ['pipe', 'pipe', 'ignore'] });
  req.pipe(child.stdin);
  let head = Buffer.alloc(0);
  let started = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (started) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    started = true;
    let status = 200;
    for (const line of head.subarray(0, end).toString().split('\r\n')) {
      const i = line.indexOf(':');
      const [name, value] = [line.slice(0, i).trim(), line.slice(i + 1).trim()];
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
      else res.setHeader(name, value);
    }
    res.writeHead(status);
    res.write(head.subarray(end + 4));
  });
  child.on('close', (code) => {
    if (!started) res.writeHead(code === 0 ? 200 : 500);
    res.end();
  });
  child.on('error', () => {
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
}
