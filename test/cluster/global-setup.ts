// Vitest globalSetup for the "cluster" project: builds the node's components (build.sh, cached), assembles the
// images from local parts, starts a one-node cluster in a network namespace of its own, and imports the product
// image under two tags (the second for the upgrade test). Tests get the cluster through inject('cluster').
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { type ClusterInfo, startCluster } from './cluster.js';
import { runSync } from './exec.js';
import { buildProductImages, buildSystemImages, PRODUCT_REPOSITORY } from './images.js';

export interface ClusterImages {
  repository: string;
  tag: string; // what the chart's appVersion names: installs need no override of the tag
  nextTag: string; // the same build labelled as another revision, for `helm upgrade`
}

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: ClusterInfo;
    clusterImages: ClusterImages;
  }
}

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** Runs build.sh (prints progress to stderr) and returns the binaries' directory. */
export function ensureNodeBinaries(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(REPO, 'test/cluster/build.sh')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0
        ? resolve(out.trim().split('\n').pop() as string)
        : reject(new Error(`build.sh exited ${code}`)),
    );
  });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (line: string) => console.log(`[cluster] ${line}`);
  let t = Date.now();
  const binDir = await ensureNodeBinaries();
  log(`binaries ready in ${Date.now() - t} ms: ${binDir}`);
  const work = mkdtempSync(join(tmpdir(), 'flagops-images-'));
  t = Date.now();
  const nodeBin = runSync('bash', [join(REPO, '.ci/ensure-node.sh')]).trim();
  const { pause, coredns } = await buildSystemImages(binDir, work);
  const { version } = (await import('../../package.json', { with: { type: 'json' } })).default as {
    version: string;
  };
  const images: ClusterImages = {
    repository: PRODUCT_REPOSITORY,
    tag: version,
    nextTag: `${version}-next`,
  };
  const product = join(work, 'product.tar');
  const productNext = join(work, 'product-next.tar');
  await buildProductImages({
    nodeBin: join(nodeBin, 'node'),
    variants: [
      { tag: images.tag, out: product },
      { tag: images.nextTag, out: productNext, labels: { 'org.opencontainers.image.revision': 'next' } },
    ],
    log,
  });
  log(`images assembled in ${Date.now() - t} ms`);

  t = Date.now();
  const cluster = await startCluster({ binDir, pauseArchive: pause, corednsArchive: coredns, log });
  try {
    await cluster.importImage(product);
    await cluster.importImage(productNext);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  rmSync(work, { recursive: true, force: true });
  log(`cluster up in ${Date.now() - t} ms; KUBECONFIG=${cluster.kubeconfigPath}`);
  project.provide('cluster', cluster.info());
  project.provide('clusterImages', images);
  return () => cluster.stop();
}
