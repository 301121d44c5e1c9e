// Forwards connections between a Unix socket and a TCP address, either way round: inside the cluster's network
// namespace it takes connections on a socket file and passes them to the API server; outside, it takes them on a
// loopback port and passes them to that file, the one thing both namespaces share.
// Usage: node forward.mjs LISTEN CONNECT   (each a socket path or HOST:PORT)
import { rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';

const endpoint = (spec) => {
  const m = /^([\d.]+):(\d+)$/.exec(spec);
  return m ? { host: m[1], port: Number(m[2]) } : { path: spec };
};
const [listen, target] = process.argv.slice(2).map(endpoint);
if (listen.path) rmSync(listen.path, { force: true });
createServer((client) => {
  const upstream = connect(target);
  client.pipe(upstream).pipe(client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
}).listen(listen);
