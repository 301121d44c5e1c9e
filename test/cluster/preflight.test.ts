// The cluster harness refuses to start on a machine that lacks what a node needs, naming the Debian packages.
import { expect, it } from 'vitest';
import { preflight } from './cluster.js';

it.runIf(process.getuid?.() === 0)('names the missing host packages and how to install them', () => {
  expect(() => preflight('/nonexistent', { PATH: '/nonexistent' })).toThrow(
    /needs the Debian packages: iproute2 util-linux mount iptables conntrack openssl tar libc-bin \(apt-get install -y /,
  );
});

it.runIf(process.getuid?.() === 0)('names a missing binary and the script that builds it', () => {
  expect(() => preflight('/nonexistent')).toThrow(
    /kube-apiserver not found in \/nonexistent; run test\/cluster\/build.sh/,
  );
});
