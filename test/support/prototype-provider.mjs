// The HTTP calls of the flagops plugin's data-store provider, replayed as it makes them. Source:
// graytonio/flagops-data-store-openfeature-provider-go, commit 183c66f5ab48fea5ef4bc5364b6bc30ff715e4c4,
// pkg/provider.go (module github.com/graytonio/flagops-data-store/providers/go), the provider the plugin wraps
// its flag provider in (`flagopsds.NewProvider(env.Datastore.BaseURL, provider)`). The Go module proxy does not
// serve that module, so its code cannot be built here; these are its calls:
//
// - every flag evaluation with a targeting key: `GET <base>/fact/<targetingKey>` (url.JoinPath), a fresh
//   request each time, no headers of its own, the body decoded with json.NewDecoder into map[string]string
//   whatever the status; any error becomes the evaluation's GENERAL error "could not fetch identity context
//   from data store" (status and body are not shown);
// - GetIdentityFacts / GetIdentitySecrets: the same GET of `/fact/<id>` / `/secret/<id>`;
// - SetIdentityFact / SetIdentitySecret: `PUT <base>/fact/<id>/<key>` with json.Encoder's `{"value":"…"}\n`,
//   no Content-Type; nil on 200, otherwise errors.New(resp.Status), the status line as sent.
//
// Go's default client (the provider's `&http.Client{}`) sends `User-Agent: Go-http-client/1.1` and
// `Accept-Encoding: gzip`, and goes through HTTP_PROXY for http:// URLs as an absolute-URI request; so does this
// replay (Go skips the proxy for loopback hosts; a cluster's store is a Service name, not loopback).
//
// Run as a command: `node prototype-provider.mjs <base> <ops.json>`; ops are {op: 'eval'|'getFacts'|
// 'getSecrets'|'set', id, key?, value?}. One JSON line per op on stdout; exit 1 if any evaluation failed, as the
// plugin's template fails.
import { request } from 'node:http';
import { pathToFileURL } from 'node:url';

/** url.JoinPath then URL.String: segments escaped as Go's EscapedPath does. */
export function joinPath(base, ...elems) {
  const u = new URL(base);
  const esc = (s) =>
    encodeURIComponent(s).replace(/%(21|24|26|27|28|29|2A|2B|2C|3B|3D|3A|40)/gi, (m) =>
      decodeURIComponent(m),
    );
  const segs = [u.pathname.replace(/\/$/, ''), ...elems.map((e) => e.replace(/^\//, '')).map(esc)];
  u.pathname = segs.join('/');
  return u;
}

/** One request as Go's net/http sends it, through HTTP_PROXY when set. */
export function goRequest(method, target, body) {
  const proxy = process.env.HTTP_PROXY || process.env.http_proxy;
  const via = proxy ? new URL(proxy) : target;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: via.hostname,
        port: via.port,
        method,
        path: proxy ? target.href : target.pathname + target.search,
        headers: {
          host: target.host,
          'user-agent': 'Go-http-client/1.1',
          'accept-encoding': 'gzip',
          ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode, statusLine: `${res.statusCode} ${res.statusMessage}`, text }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** json.NewDecoder(body).Decode(&map[string]string{}): the first JSON value, which must be such a map. */
export function decodeStringMap(text) {
  let v;
  try {
    v = JSON.parse(text);
  } catch {
    return { error: text.trim() === '' ? 'EOF' : 'invalid character' };
  }
  if (v === null) return { value: {} };
  if (typeof v !== 'object' || Array.isArray(v))
    return { error: 'json: cannot unmarshal into map[string]string' };
  for (const x of Object.values(v))
    if (x !== null && typeof x !== 'string')
      return { error: 'json: cannot unmarshal into Go value of type string' };
  return { value: v };
}

export async function getMap(base, kind, id) {
  try {
    const r = await goRequest('GET', joinPath(base, `/${kind}`, id));
    return decodeStringMap(r.text);
  } catch (e) {
    return { error: String(e) };
  }
}

/** What one flag evaluation asks: the identity's context, or the provider's GENERAL error. */
export async function evaluate(base, targetingKey) {
  const r = await getMap(base, 'fact', targetingKey);
  return r.error
    ? { error: 'GENERAL: could not fetch identity context from data store' }
    : { context: r.value };
}

export async function setIdentityFact(base, id, key, value) {
  const body = `${JSON.stringify({ value })}\n`;
  try {
    const r = await goRequest('PUT', joinPath(base, '/fact', id, key), body);
    return r.status === 200 ? {} : { error: r.statusLine };
  } catch (e) {
    return { error: String(e) };
  }
}

async function main() {
  const [base, opsJson] = process.argv.slice(2);
  let failed = false;
  for (const o of JSON.parse(opsJson)) {
    let r;
    if (o.op === 'eval') {
      r = await evaluate(base, o.id);
      if (r.error) failed = true;
    } else if (o.op === 'getFacts') r = await getMap(base, 'fact', o.id);
    else if (o.op === 'getSecrets') r = await getMap(base, 'secret', o.id);
    else if (o.op === 'set') r = await setIdentityFact(base, o.id, o.key, o.value);
    process.stdout.write(`${JSON.stringify({ op: o.op, ...r })}\n`);
  }
  if (failed) {
    process.stderr.write(
      'template: error calling env: GENERAL: could not fetch identity context from data store\n',
    );
    process.exit(1);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
