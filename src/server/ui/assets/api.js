// @ts-check
// The operator's HTTP API, as the signed-in user. The bearer token lives in this tab's sessionStorage only:
// never in localStorage, a cookie or a URL. This module never calls the secret-value routes.

const TOKEN_KEY = 'flagops-data-store.token';

/** The API's base URL, relative to the page (served at <prefix>/ui/), so a path prefix in front works too. */
export const API_BASE = new URL('../api/v1/', location.href);

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {string | undefined} field
   */
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

/** @param {string} token */
export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** @param {Record<string, string>} headers */
export function withAuth(headers) {
  const token = getToken();
  return token ? { ...headers, authorization: `Bearer ${token}` } : headers;
}

/** Turns an error response into an ApiError carrying the server's message. */
export async function errorOf(/** @type {Response} */ res) {
  let body;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const e = body?.error;
  return new ApiError(
    res.status,
    typeof e?.code === 'string' ? e.code : 'Error',
    typeof e?.message === 'string' ? e.message : `the server answered ${res.status} ${res.statusText}`,
    typeof e?.field === 'string' ? e.field : undefined,
  );
}

/**
 * @param {string} method
 * @param {string} path relative to /api/v1/
 * @param {unknown} [body]
 */
export async function request(method, path, body) {
  const headers = withAuth({ accept: 'application/json' });
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(new URL(path, API_BASE), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
    redirect: 'error',
  });
  if (!res.ok) throw await errorOf(res);
  return { status: res.status, data: res.status === 204 ? undefined : await res.json() };
}

const enc = encodeURIComponent;
const identityPath = (/** @type {string} */ ns, /** @type {string} */ id) =>
  `namespaces/${enc(ns)}/identities/${enc(id)}`;

/** @param {{namespace?: string, prefix?: string, limit?: number, continue?: string}} q */
export function listIdentities(q) {
  const params = new URLSearchParams();
  if (q.namespace) params.set('namespace', q.namespace);
  if (q.prefix) params.set('prefix', q.prefix);
  if (q.limit) params.set('limit', String(q.limit));
  if (q.continue) params.set('continue', q.continue);
  const query = params.toString();
  return request('GET', `identities${query ? `?${query}` : ''}`);
}

/** @param {string} ns @param {string} id */
export function getIdentity(ns, id) {
  // explain: where each fact comes from (the identity itself or a profile) and what it overrode.
  return request('GET', `${identityPath(ns, id)}?explain=true`);
}

/** @param {string} ns @param {string} id @param {string} name @param {FactValue} value */
export function putFact(ns, id, name, value) {
  return request('PUT', `${identityPath(ns, id)}/facts/${enc(name)}`, { value });
}

/** @param {string} ns @param {string} id @param {string} name */
export function deleteFact(ns, id, name) {
  return request('DELETE', `${identityPath(ns, id)}/facts/${enc(name)}`);
}

/**
 * One page of an identity's fact history (FactRevisions), oldest first as the API pages it. Facts only: the
 * history holds no secret values.
 * @param {string} ns @param {string} id @param {number} limit @param {string} [cont]
 */
export function getHistory(ns, id, limit, cont) {
  const params = new URLSearchParams({ limit: String(limit) });
  if (cont) params.set('continue', cont);
  return request('GET', `${identityPath(ns, id)}/history?${params}`);
}

/** Writes a revision's facts back (never with ?force: a fact GitOps owns stays a 409). @param {string} ns @param {string} id @param {number} revision */
export function rollback(ns, id, revision) {
  return request('POST', `${identityPath(ns, id)}/rollback`, { revision });
}

/** @typedef {string | number | boolean} FactValue */
/** @typedef {'auto' | 'string' | 'number' | 'boolean'} InputType */

/** @param {FactValue} value @returns {'string' | 'integer' | 'decimal' | 'boolean'} */
export function valueType(value) {
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'decimal';
  return 'string';
}

const NUMBER_TEXT = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$/;
const MAX_NUMBER = Number.MAX_SAFE_INTEGER;

/**
 * The value a fact input stands for, as the user's chosen type says. `auto` takes `true`/`false` as booleans and a
 * number written plainly (`3`, `-0.5`, exactly as JavaScript writes it back) as a number, anything else (`007`,
 * `1.50`, `yes`) as text, so that nothing the user typed is silently reformatted.
 * @param {string} text @param {InputType} [type]
 * @returns {{ value: FactValue } | { error: string }}
 */
export function typedValue(text, type = 'auto') {
  if (type === 'string') return { value: text };
  const t = text.trim();
  const n = NUMBER_TEXT.test(t) ? Number(t) : Number.NaN;
  const inRange = Number.isFinite(n) && Math.abs(n) <= MAX_NUMBER;
  if (type === 'boolean') {
    return t === 'true' || t === 'false' ? { value: t === 'true' } : { error: 'A boolean is true or false.' };
  }
  if (type === 'number') {
    return inRange
      ? { value: n }
      : { error: 'A number is like 3, -12 or 0.5, between -(2^53-1) and 2^53-1.' };
  }
  if (t !== text) return { value: text }; // surrounding spaces are part of a text value
  if (t === 'true' || t === 'false') return { value: t === 'true' };
  if (inRange && String(n) === t) return { value: n };
  return { value: text };
}
