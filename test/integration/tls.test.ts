/** TLS from files: the operator serves HTTPS with a given certificate and key. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, newNamespace, startTestOperator, type TestOperator } from '../support/cluster.js';

let op: TestOperator;
let ca: string;
let dir: string;

const makeCert = (cn: string) =>
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'tls.key'),
      '-out',
      join(dir, 'tls.crt'),
    ],
    { stdio: 'ignore' },
  );

/** The subject CN of the certificate a new TLS connection is served. */
function servedCn(url: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: Number(port), rejectUnauthorized: false }, () => {
      const cn = socket.getPeerCertificate().subject?.CN;
      socket.end();
      resolve(String(cn));
    });
    socket.once('error', reject);
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flagops-tls-'));
  makeCert('first');
  ca = readFileSync(join(dir, 'tls.crt'), 'utf8');
  const ns = await newNamespace('tls');
  op = await startTestOperator({
    namespaces: [ns],
    extraArgs: [`--tls-cert-file=${join(dir, 'tls.crt')}`, `--tls-key-file=${join(dir, 'tls.key')}`],
    tlsReloadIntervalMs: 100,
  });
});
afterAll(async () => {
  await op?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('--tls-cert-file / --tls-key-file', () => {
  it('serves HTTPS with the given certificate', async () => {
    expect(op.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const dispatcher = new Agent({ connect: { ca } });
    const res = await request(`${op.url}/healthz`, { dispatcher });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ status: 'ok' });
    await dispatcher.close();
  });

  it('picks up a rotated certificate without a restart', async () => {
    expect(await servedCn(op.url)).toBe('first');
    makeCert('second');
    await eventually(async () => expect(await servedCn(op.url)).toBe('second'), 5000, 100);
  });

  it('refuses plain HTTP on the same port', async () => {
    await expect(fetch(`${op.url.replace('https:', 'http:')}/healthz`)).rejects.toThrow();
  });
});
