// A static lint of the Dockerfile and .dockerignore: the image cannot be built here (no container engine,
// and no registry but the package registries), and hadolint is not packaged by Debian, so the rules that
// matter are checked directly. The entrypoint is checked by compiling src/ as the image's build stage does
// and starting the result.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CHART, REPO, run } from './packaging.js';

interface Instruction {
  cmd: string; // upper case
  args: string;
  line: number;
}
interface Stage {
  from: string; // image with build args substituted
  name?: string;
  instructions: Instruction[];
}

/** Parses a Dockerfile: comments and blank lines dropped, backslash continuations joined. */
function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[]; comments: string } {
  const instructions: Instruction[] = [];
  const lines = text.split('\n');
  let comments = '';
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i]!;
    if (/^\s*#/.test(line)) {
      comments += `${line}\n`;
      continue;
    }
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      line = line.replace(/\\\s*$/, ' ') + lines[++i]!.replace(/^\s*#.*$/, '');
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (m) instructions.push({ cmd: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
  }
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  const subst = (s: string) => s.replace(/\$\{?(\w+)\}?/g, (_, n: string) => args.get(n) ?? `\${${n}}`);
  for (const ins of instructions) {
    if (ins.cmd === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`line ${ins.line}: cannot parse FROM ${ins.args}`);
      stages.push({ from: subst(m[1]!), ...(m[2] ? { name: m[2] } : {}), instructions: [] });
    } else if (stages.length === 0) {
      const m = /^(\w+)=(.*)$/.exec(ins.args);
      // A global ARG's default may use the ARGs before it, as Docker expands them.
      if (ins.cmd === 'ARG' && m) args.set(m[1]!, subst(m[2]!));
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
  }
  return { args, stages, comments };
}

const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
const { args, stages, comments } = parseDockerfile(dockerfile);
const final = stages.at(-1)!;
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  scripts: Record<string, string>;
};

describe('Dockerfile', () => {
  it('is multi-stage, every base image pinned and none of them "latest"', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const stageNames = new Set<string>();
    for (const s of stages) {
      expect(s.from, 'unresolved build argument').not.toMatch(/\$/);
      if (stageNames.has(s.from)) continue;
      const [, image, tag] =
        /^([^@:]+(?::\d+)?(?:\/[^@:]+)*)(?::([^@]+))?(?:@sha256:[a-f0-9]{64})?$/.exec(s.from) ?? [];
      expect(image, `cannot parse image ${s.from}`).toBeDefined();
      expect(tag, `${s.from} has no tag`).toBeDefined();
      expect(tag).not.toMatch(/^latest$|^debug/);
      const digest = s.from.includes('@sha256:');
      const fullVersion = /(^|[^\d.])\d+\.\d+\.\d+([^\d.]|$)/.test(tag!);
      // Distroless publishes moving tags and digests only; then the Dockerfile must say why there is no digest.
      const distroless = image!.startsWith('gcr.io/distroless/');
      expect(digest || fullVersion || distroless, `${s.from}: pin a full version or a digest`).toBe(true);
      if (distroless && !digest) expect(comments).toMatch(/digest/i);
      if (s.name) stageNames.add(s.name);
    }
  });

  it('builds on the Node version that CI tests with', () => {
    const ci = /NODE_VERSION="\$\{FLAGOPS_NODE_VERSION:-([\d.]+)\}"/.exec(
      readFileSync(join(REPO, '.ci', 'ensure-node.sh'), 'utf8'),
    )?.[1];
    expect(ci).toMatch(/^24\.\d+\.\d+$/);
    expect(args.get('NODE_VERSION')).toBe(ci);
    const nodeStages = stages.filter((s) => s.from.startsWith('node:'));
    expect(nodeStages.length).toBeGreaterThan(0);
    for (const s of nodeStages) expect(s.from.startsWith(`node:${ci}-`), s.from).toBe(true);
  });

  it('installs production dependencies only with npm ci --omit=dev, and the final stage takes them from there', () => {
    const runs = stages.flatMap((s) =>
      s.instructions.filter((i) => i.cmd === 'RUN').map((i) => ({ stage: s, run: i.args })),
    );
    expect(
      runs.some(({ run }) => /\bnpm install\b|\bnpm i\b/.test(run)),
      'use npm ci, not npm install',
    ).toBe(false);
    const prod = stages.filter((s) =>
      s.instructions.some((i) => i.cmd === 'RUN' && /\bnpm ci\b.*--omit=dev/.test(i.args)),
    );
    expect(prod).toHaveLength(1);
    const copies = final.instructions.filter((i) => i.cmd === 'COPY').map((i) => i.args);
    expect(copies.some((c) => c.includes(`--from=${prod[0]!.name}`) && /node_modules/.test(c))).toBe(true);
    // The dev dependencies of the build stage never reach the final stage.
    const build = stages.find((s) => s.instructions.some((i) => /npm run build/.test(i.args)))!;
    expect(
      copies.filter((c) => c.includes(`--from=${build.name}`)).every((c) => !/node_modules/.test(c)),
    ).toBe(true);
  });

  it('runs as a numeric non-root user, with no shell and an exec-form entrypoint running dist/main.js', () => {
    const users = final.instructions.filter((i) => i.cmd === 'USER');
    expect(users.length).toBeGreaterThan(0);
    const [uid, gid] = users.at(-1)!.args.split(':');
    expect(uid).toMatch(/^[1-9]\d*$/);
    if (gid !== undefined) expect(gid).toMatch(/^[1-9]\d*$/);
    // The chart's securityContext runs as the same user.
    const deployment = readFileSync(join(CHART, 'templates', 'deployment.yaml'), 'utf8');
    expect(deployment).toContain(`runAsUser: ${uid}`);
    expect(
      final.instructions.filter((i) => i.cmd === 'RUN'),
      'the final stage has no shell',
    ).toEqual([]);
    for (const cmd of ['ENTRYPOINT', 'CMD']) {
      for (const i of final.instructions.filter((x) => x.cmd === cmd)) {
        expect(() => JSON.parse(i.args), `${cmd} must be exec form (a JSON array)`).not.toThrow();
      }
    }
    const entry = final.instructions.filter((i) => i.cmd === 'ENTRYPOINT').at(-1);
    expect(entry).toBeDefined();
    const argv = JSON.parse(entry!.args) as string[];
    expect(argv[0]).toMatch(/\/node$/);
    // Node's own flags may come between node and the script.
    expect(argv.at(-1)).toMatch(/(^|\/)dist\/main\.js$/);
    for (const flag of argv.slice(1, -1)) expect(flag).toMatch(/^--[a-z-]+(=\S+)?$/);
    expect(pkg.bin['flagops-data-store']).toBe('dist/main.js');
  });

  it('fetches nothing with ADD and copies from the build context only what .dockerignore lets in', () => {
    for (const s of stages) expect(s.instructions.filter((i) => i.cmd === 'ADD')).toEqual([]);
    const fromContext = stages
      .flatMap((s) => s.instructions)
      .filter((i) => i.cmd === 'COPY' && !i.args.includes('--from='))
      .flatMap((i) =>
        i.args
          .split(/\s+/)
          .filter((a) => !a.startsWith('--'))
          .slice(0, -1),
      );
    expect(fromContext.length).toBeGreaterThan(0);
    for (const path of fromContext)
      expect(dockerIgnored(path === 'src' ? 'src/main.ts' : path), path).toBe(false);
  });

  it('exposes the port the chart uses', () => {
    const values = readFileSync(join(CHART, 'values.yaml'), 'utf8');
    const port = /^containerPort: (\d+)$/m.exec(values)?.[1];
    expect(final.instructions.find((i) => i.cmd === 'EXPOSE')?.args).toBe(port);
  });
});

describe('.dockerignore', () => {
  it('keeps the sources and lockfile in the build context and leaves the rest out', () => {
    for (const p of [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'src/main.ts',
      'src/api/crds.ts',
    ]) {
      expect(dockerIgnored(p), p).toBe(false);
    }
    for (const p of [
      'node_modules/pino/package.json',
      'dist/main.js',
      '.git/HEAD',
      'test/control-plane/build.sh',
      'src/config.test.ts',
      'src/controller/queue.test.ts',
      'helm/flagops-data-store/Chart.yaml',
      'providers/js/package.json',
      '.env',
    ]) {
      expect(dockerIgnored(p), p).toBe(true);
    }
  });
});

/** Docker's .dockerignore semantics, for the patterns this repository uses: the last matching line wins. */
function dockerIgnored(path: string): boolean {
  const rules = readFileSync(join(REPO, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  let ignored = false;
  for (const rule of rules) {
    const negate = rule.startsWith('!');
    const pattern = (negate ? rule.slice(1) : rule).replace(/^\/+|\/+$/g, '');
    // A pattern matching a directory matches everything under it.
    const parts = path.split('/');
    const re = globToRegExp(pattern);
    const hit = parts.some((_, i) => re.test(parts.slice(0, i + 1).join('/')));
    if (hit) ignored = !negate;
  }
  return ignored;
}

/** Go's filepath.Match plus `**`, as Docker reads .dockerignore: `*` matches dot files too. */
function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

describe('npm run build', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flagops-image-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('produces dist/main.js, which starts, with the UI assets beside it', async () => {
    expect(pkg.scripts.build).toMatch(
      /^tsc -p tsconfig\.build\.json && .*cpSync\('src\/server\/ui\/assets','dist\/server\/ui\/assets'/,
    );
    const tsconfig = JSON.parse(readFileSync(join(REPO, 'tsconfig.build.json'), 'utf8')) as {
      compilerOptions: { rootDir: string; outDir: string };
    };
    expect(tsconfig.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
    // What the image's build stage runs, into a directory of our own instead of dist/.
    const out = join(dir, 'dist');
    const tsc = await run(join(REPO, 'node_modules', '.bin', 'tsc'), [
      '-p',
      'tsconfig.build.json',
      '--outDir',
      out,
    ]);
    expect(tsc.stdout + tsc.stderr).toBe('');
    // The build script's second step: the UI's static files, which tsc does not copy.
    cpSync(join(REPO, 'src/server/ui/assets'), join(out, 'server/ui/assets'), { recursive: true });
    expect(existsSync(join(out, 'server/ui/assets/index.html'))).toBe(true);
    // Laid out as in the image: package.json (for "type": "module"), node_modules and dist/ side by side.
    writeFileSync(join(dir, 'package.json'), readFileSync(join(REPO, 'package.json')));
    symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
    const help = await run(process.execPath, [join(out, 'main.js'), '--help'], { cwd: dir });
    expect(help.stderr).toBe('');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: flagops-data-store/);
  });
});
