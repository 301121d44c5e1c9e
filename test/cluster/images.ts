// The images a one-node test cluster runs, assembled from local parts (no registry, no engine):
// - the product image: the Dockerfile's runtime stage (user, env, workdir, entrypoint, ports, labels read from the
//   Dockerfile itself, so they cannot drift), with Node from the project's pinned download (.ci/ensure-node.sh),
//   `npm ci --omit=dev` and dist/ from `npm run build`, on a base of the C libraries Node links against (what the
//   Dockerfile's distroless cc base provides);
// - pause and CoreDNS: one static binary each, from test/cluster/build.sh.

import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSync } from './exec.js';
import { type ImageConfig, writeOciArchive } from './oci.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

export const PRODUCT_REPOSITORY = 'ghcr.io/flagops/flagops-data-store';
export const PAUSE_IMAGE = 'flagops.local/pause:1';
export const COREDNS_IMAGE = 'flagops.local/coredns:1.14.7';

/** The runtime (last) stage of the Dockerfile as an image config. */
export function dockerfileRuntimeConfig(
  dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8'),
): ImageConfig {
  const lines = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const lastFrom = lines.findLastIndex((l) => /^FROM\s/i.test(l));
  const config: ImageConfig = { Env: [], Labels: {} };
  for (const line of lines.slice(lastFrom + 1)) {
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [, instr, rest] = m as unknown as [string, string, string];
    switch (instr.toUpperCase()) {
      case 'ENV':
        for (const [k, v] of pairs(rest)) config.Env?.push(`${k}=${v}`);
        break;
      case 'LABEL':
        for (const [k, v] of pairs(rest)) (config.Labels as Record<string, string>)[k] = v;
        break;
      case 'USER':
        config.User = rest;
        break;
      case 'WORKDIR':
        config.WorkingDir = rest;
        break;
      case 'EXPOSE':
        config.ExposedPorts = Object.fromEntries(
          rest.split(/\s+/).map((p) => [p.includes('/') ? p : `${p}/tcp`, {}]),
        );
        break;
      case 'ENTRYPOINT':
        config.Entrypoint = JSON.parse(rest) as string[];
        break;
      case 'CMD':
        config.Cmd = JSON.parse(rest) as string[];
        break;
    }
  }
  config.Env = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...(config.Env ?? [])];
  return config;
}

/** `k=v k2="v 2"` pairs, as ENV and LABEL take them. */
function pairs(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const m of text.matchAll(/([\w.-]+)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
    const raw = m[2] as string;
    out.push([m[1] as string, raw.startsWith('"') ? (JSON.parse(raw) as string) : raw]);
  }
  return out;
}

/** A minimal /etc with root, distroless's nonroot (65532) and any `users`, and a world-writable /tmp. */
function writeBaseFiles(root: string, users: { name: string; uid: number }[] = []): void {
  const all = [{ name: 'nonroot', uid: 65532 }, ...users];
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(
    join(root, 'etc/passwd'),
    `root:x:0:0:root:/root:/sbin/nologin\n${all.map((u) => `${u.name}:x:${u.uid}:${u.uid}:${u.name}:/home/${u.name}:/sbin/nologin\n`).join('')}`,
  );
  writeFileSync(join(root, 'etc/group'), `root:x:0:\n${all.map((u) => `${u.name}:x:${u.uid}:\n`).join('')}`);
  mkdirSync(join(root, 'tmp'), { mode: 0o1777 });
  runSync('chmod', ['1777', join(root, 'tmp')]);
  for (const u of all) {
    mkdirSync(join(root, 'home', u.name), { recursive: true });
    runSync('chown', [`${u.uid}:${u.uid}`, join(root, 'home', u.name)]);
  }
}

/** Copies a dynamically linked binary's shared libraries (as ldd resolves them here) and its loader. */
function copySharedLibraries(binary: string, root: string): void {
  const ldd = spawnSync('ldd', [binary], { encoding: 'utf8' });
  if (ldd.status !== 0) return; // "not a dynamic executable": a static binary needs nothing
  for (const line of ldd.stdout.split('\n')) {
    const path = /(\/\S+)\s+\(0x/.exec(line)?.[1];
    if (!path) continue;
    const dest = join(root, path);
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(realpathSync(path), dest);
  }
}

export interface ProductImageOptions {
  nodeBin: string; // the pinned node binary (.ci/ensure-node.sh)
  /** One archive each; extra labels (e.g. a revision) make two tags of one build two images. */
  variants: { tag: string; out: string; labels?: Record<string, string> }[];
  log?: (line: string) => void;
}

/** Builds dist/ and the production node_modules once, then one product image archive per variant. */
export async function buildProductImages(opts: ProductImageOptions): Promise<void> {
  const log = opts.log ?? (() => {});
  const work = mkdtempSync(join(tmpdir(), 'flagops-image-'));
  try {
    const env = { ...process.env, PATH: `${dirname(opts.nodeBin)}:${process.env.PATH ?? ''}` };
    log('npm run build');
    runSync('npm', ['run', 'build'], { cwd: REPO, env });
    const base = join(work, 'base');
    writeBaseFiles(base);
    copySharedLibraries(opts.nodeBin, base);

    const app = join(work, 'app');
    mkdirSync(join(app, 'usr/local/bin'), { recursive: true });
    copyFileSync(opts.nodeBin, join(app, 'usr/local/bin/node'));
    for (const f of ['package.json', 'package-lock.json']) cpSync(join(REPO, f), join(app, 'app', f));
    log('npm ci --omit=dev');
    runSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: join(app, 'app'),
      env: { ...env, NODE_ENV: 'production' },
    });
    rmSync(join(app, 'app/package-lock.json'));
    cpSync(join(REPO, 'dist'), join(app, 'app/dist'), { recursive: true });

    for (const v of opts.variants) {
      const config = dockerfileRuntimeConfig();
      config.Labels = { ...config.Labels, ...v.labels };
      const ref = `${PRODUCT_REPOSITORY}:${v.tag}`;
      await writeOciArchive({ ref, layers: [base, app], config }, v.out);
      log(`image ${ref} -> ${v.out}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** An image of one static binary at /<name>, run as `user`. */
export async function buildStaticImage(
  ref: string,
  binary: string,
  out: string,
  config: ImageConfig,
): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'flagops-image-'));
  try {
    writeBaseFiles(work);
    copyFileSync(binary, join(work, basename(binary)));
    await writeOciArchive({ ref, layers: [work], config }, out);
    return ref;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The pause and CoreDNS images the cluster itself needs, as archives in `dir`. */
export async function buildSystemImages(
  binDir: string,
  dir: string,
): Promise<{ pause: string; coredns: string }> {
  const pause = join(dir, 'pause.tar');
  const coredns = join(dir, 'coredns.tar');
  await buildStaticImage(PAUSE_IMAGE, join(binDir, 'pause'), pause, {
    Entrypoint: ['/pause'],
    User: '65535:65535',
  });
  await buildStaticImage(COREDNS_IMAGE, join(binDir, 'coredns'), coredns, { Entrypoint: ['/coredns'] });
  return { pause, coredns };
}

export interface ToolImageOptions {
  ref: string;
  out: string;
  /** Host files copied into the image (with the shared libraries each links against). */
  files: { from: string; to: string }[];
  /** Symbolic links inside the image: `path` -> `target`. */
  links?: { path: string; target: string }[];
  users?: { name: string; uid: number }[];
  config: ImageConfig;
}

/** An image of a few host binaries, for third-party components the tests run as pods (Argo CD, Redis). */
export async function buildToolImage(opts: ToolImageOptions): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'flagops-image-'));
  try {
    writeBaseFiles(work, opts.users);
    for (const f of opts.files) {
      mkdirSync(dirname(join(work, f.to)), { recursive: true });
      copyFileSync(realpathSync(f.from), join(work, f.to));
      copySharedLibraries(f.from, work);
    }
    for (const l of opts.links ?? []) {
      mkdirSync(dirname(join(work, l.path)), { recursive: true });
      symlinkSync(l.target, join(work, l.path));
    }
    await writeOciArchive({ ref: opts.ref, layers: [work], config: opts.config }, opts.out);
    return opts.ref;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
