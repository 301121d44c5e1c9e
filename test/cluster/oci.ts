// Writes OCI image archives (an oci-layout directory as one tar) from local directories, without a registry or a
// container engine: what `ctr images import` reads. Layers are plain tars made by GNU tar with sorted names,
// mtime 0 and numeric root ownership, so the same inputs give the same digests.
import { createHash } from 'node:crypto';
import {
  createReadStream,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runSync } from './exec.js';

/** The parts of an OCI image config that a Dockerfile's runtime stage sets. */
export interface ImageConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Labels?: Record<string, string>;
}

export interface ImageSpec {
  /** Full reference, e.g. ghcr.io/flagops/flagops-data-store:0.1.0 */
  ref: string;
  /** Root filesystems, one layer each, bottom first. */
  layers: string[];
  config: ImageConfig;
}

/** Builds the archive at `out` and returns the manifest digest. */
export async function writeOciArchive(spec: ImageSpec, out: string): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'flagops-oci-'));
  try {
    const blobs = join(work, 'blobs', 'sha256');
    mkdirSync(blobs, { recursive: true });
    const layers: { digest: string; size: number; diffId: string }[] = [];
    for (const [i, dir] of spec.layers.entries()) {
      const tarPath = join(work, `layer-${i}.tar`);
      runSync('tar', [
        '--sort=name',
        '--mtime=@0',
        '--owner=0',
        '--group=0',
        '--numeric-owner',
        '--xattrs-exclude=*',
        '-cf',
        tarPath,
        '-C',
        dir,
        '.',
      ]);
      // Uncompressed: the archive only travels to a local containerd, and gzip would cost most of the build.
      const digest = await sha256File(tarPath);
      renameSync(tarPath, join(blobs, digest));
      layers.push({ digest, size: statSync(join(blobs, digest)).size, diffId: digest });
    }
    const config = {
      architecture: 'amd64',
      os: 'linux',
      config: spec.config,
      rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${l.diffId}`) },
      history: layers.map(() => ({ created: '1970-01-01T00:00:00Z', created_by: 'test/cluster/oci.ts' })),
    };
    const configBlob = blob(blobs, JSON.stringify(config));
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob },
      layers: layers.map((l) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar',
        digest: `sha256:${l.digest}`,
        size: l.size,
      })),
    };
    const manifestBlob = blob(blobs, JSON.stringify(manifest));
    const tag = spec.ref.slice(spec.ref.lastIndexOf(':') + 1);
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifestBlob,
          platform: { architecture: 'amd64', os: 'linux' },
          // ctr names the image by the first; other tools read the second (the tag alone).
          annotations: { 'io.containerd.image.name': spec.ref, 'org.opencontainers.image.ref.name': tag },
        },
      ],
    };
    writeFileSync(join(work, 'index.json'), JSON.stringify(index));
    writeFileSync(join(work, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    mkdirSync(dirname(out), { recursive: true });
    runSync('tar', [
      '--sort=name',
      '--mtime=@0',
      '--owner=0',
      '--group=0',
      '-cf',
      `${out}.tmp`,
      '-C',
      work,
      '.',
    ]);
    renameSync(`${out}.tmp`, out);
    return manifestBlob.digest;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function blob(dir: string, text: string): { digest: string; size: number } {
  const digest = createHash('sha256').update(text).digest('hex');
  writeFileSync(join(dir, digest), text);
  return { digest: `sha256:${digest}`, size: Buffer.byteLength(text) };
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
