// The client the end-to-end tests run inside a pod (`kubectl exec <pod> -- node -e <this file> -- <command> …`): it
// calls the operator the way an in-cluster app does, through the Service's DNS name, with the pod's own projected
// ServiceAccount token. Each command prints one JSON line (the loads print a line per write, then a summary).
//   request METHOD URL [BODY]        one call; --anonymous sends no token, --token=T sends T instead of the pod's
//   watch URL TRIGGER_URL BODY       opens the change feed, PUTs BODY to TRIGGER_URL, prints the first change
//   write-load URL SECONDS           PUTs facts w-0, w-1, … to URL/{name} with {id} in URL standing for load-0…7
//                                    (4 writers; an identity holds at most 256 facts) and prints each acknowledged one
//   read-load URL SECONDS            GETs URL (4 readers, keep-alive) and counts what failed
import { readFileSync } from 'node:fs';

const TOKEN_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token';
const args = process.argv.slice(1).filter((a) => !a.startsWith('--'));
const anonymous = process.argv.includes('--anonymous');
const given = process.argv.find((a) => a.startsWith('--token='))?.slice('--token='.length);
const headers = (extra = {}) => ({
  ...(anonymous ? {} : { authorization: `Bearer ${given ?? readFileSync(TOKEN_FILE, 'utf8').trim()}` }),
  ...extra,
});
const print = (v) => process.stdout.write(`${JSON.stringify(v)}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function call(method, url, body) {
  const res = await fetch(url, {
    method,
    headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
    body,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
}

const [command, ...rest] = args;
if (command === 'request') {
  const [method, url, body] = rest;
  print(await call(method, url, body));
} else if (command === 'watch') {
  const [url, trigger, body] = rest;
  const res = await fetch(url, {
    headers: headers({ accept: 'text/event-stream' }),
    signal: AbortSignal.timeout(20_000),
  });
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let triggered;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    // Write only once the stream is open, so the change cannot come before the feed.
    triggered ??= call('PUT', trigger, body);
    const event = /event: change\ndata: (.*)\n/.exec(text);
    if (event) {
      print({
        status: res.status,
        contentType: res.headers.get('content-type'),
        trigger: (await triggered).status,
        change: JSON.parse(event[1]),
      });
      process.exit(0);
    }
  }
  print({ status: res.status, error: 'stream ended without a change', text });
} else if (command === 'write-load') {
  const [prefix, seconds] = rest;
  const end = Date.now() + Number(seconds) * 1000;
  let next = 0;
  const summary = { acked: 0, failed: 0, errors: [] };
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (Date.now() < end) {
        const i = next++;
        const name = `w-${i}`;
        const id = `load-${i % 8}`;
        try {
          const r = await call(
            'PUT',
            `${prefix.replace('{id}', id)}/${name}`,
            JSON.stringify({ value: name }),
          );
          if (r.status >= 200 && r.status < 300) {
            summary.acked++;
            print({ ack: name, id });
          } else {
            summary.failed++;
            if (summary.errors.length < 10)
              summary.errors.push(`${name}: ${r.status} ${r.body.slice(0, 200)}`);
          }
        } catch (err) {
          summary.failed++;
          if (summary.errors.length < 10) summary.errors.push(`${name}: ${err.cause?.code ?? err.message}`);
          await sleep(100);
        }
      }
    }),
  );
  print({ summary });
} else if (command === 'read-load') {
  const [url, seconds] = rest;
  const end = Date.now() + Number(seconds) * 1000;
  const summary = { ok: 0, failed: 0, errors: [] };
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (Date.now() < end) {
        try {
          const r = await call('GET', url);
          if (r.status === 200) summary.ok++;
          else {
            summary.failed++;
            if (summary.errors.length < 10) summary.errors.push(`${r.status} ${r.body.slice(0, 200)}`);
          }
        } catch (err) {
          summary.failed++;
          if (summary.errors.length < 10) summary.errors.push(`${err.cause?.code ?? ''} ${err.message}`);
        }
        await sleep(20);
      }
    }),
  );
  print({ summary });
} else {
  print({ error: `unknown command ${command}` });
  process.exit(2);
}
