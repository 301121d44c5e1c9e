// @ts-check
// The web UI: a list of identities and one identity's facts and status, kept current by the change feed.
// Plain DOM (no innerHTML anywhere: the page's CSP enforces Trusted Types). Secret VALUES are never requested:
// only the key names the identity views carry.
import {
  ApiError,
  clearToken,
  deleteFact,
  getHistory,
  getIdentity,
  getToken,
  listIdentities,
  putFact,
  rollback,
  setToken,
  typedValue,
  valueType,
} from './api.js';
import { watch } from './watch.js';

const DEFAULT_LIMIT = 25;
const LIMITS = [10, 25, 50, 100];
/** Revisions per history request (the API's most: one request holds an identity's whole history, usually). */
const HISTORY_PAGE = 100;
/** Revisions the timeline shows at first, and how many more each "More" shows. */
const HISTORY_SHOWN = 10;

// ---------------------------------------------------------------------------------------------- DOM helpers

/** @param {string} id */
const $ = (id) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from index.html`);
  return el;
};

/**
 * Creates an element. Attributes named on* become listeners; children are nodes or text.
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...(Node | string | number | null | undefined | false | (Node | string)[])} children
 */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function')
      el.addEventListener(k.slice(2), /** @type {any} */ (v));
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'object' ? c : String(c));
  }
  return el;
}

/** @param {boolean} ready */
const badge = (ready) =>
  h('span', { class: ready ? 'badge ok' : 'badge bad' }, ready ? 'Ready' : 'Not ready');

const el = {
  auth: $('auth'),
  authForm: /** @type {HTMLFormElement} */ ($('auth-form')),
  authReason: $('auth-reason'),
  token: /** @type {HTMLInputElement} */ ($('token')),
  signOut: /** @type {HTMLButtonElement} */ ($('sign-out')),
  error: $('error'),
  feed: $('feed'),
  updated: $('updated'),
  listView: $('list-view'),
  listTitle: $('list-title'),
  filters: /** @type {HTMLFormElement} */ ($('filters')),
  fNamespace: /** @type {HTMLInputElement} */ ($('f-namespace')),
  fPrefix: /** @type {HTMLInputElement} */ ($('f-prefix')),
  fLimit: /** @type {HTMLSelectElement} */ ($('f-limit')),
  nsOptions: $('ns-options'),
  listBody: $('list-body'),
  listEmpty: $('list-empty'),
  prev: /** @type {HTMLButtonElement} */ ($('prev')),
  next: /** @type {HTMLButtonElement} */ ($('next')),
  pageInfo: $('page-info'),
  detailView: $('detail-view'),
  back: /** @type {HTMLAnchorElement} */ ($('back')),
  detailTitle: $('detail-title'),
  detailNamespace: $('detail-namespace'),
  status: $('status'),
  factsBody: $('facts-body'),
  factsEmpty: $('facts-empty'),
  factError: $('fact-error'),
  factStatus: $('fact-status'),
  addFact: /** @type {HTMLFormElement} */ ($('add-fact')),
  newName: /** @type {HTMLInputElement} */ ($('new-name')),
  newValue: /** @type {HTMLInputElement} */ ($('new-value')),
  newType: /** @type {HTMLSelectElement} */ ($('new-type')),
  secretKeys: $('secret-keys'),
  secretsEmpty: $('secrets-empty'),
  historyNote: $('history-note'),
  historyError: $('history-error'),
  historyStatus: $('history-status'),
  historyList: $('history-list'),
  historyMore: /** @type {HTMLButtonElement} */ ($('history-more')),
};

// ------------------------------------------------------------------------------------------------- routing

/** @typedef {{ns: string, prefix: string, limit: number}} Filters */
/** @typedef {{view: 'list', filters: Filters} | {view: 'identity', ns: string, id: string, filters: Filters}} Route */

/** @param {string | null} v */
function parseLimit(v) {
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 && n <= 1000 ? n : DEFAULT_LIMIT;
}

/** @returns {Route} */
function parseHash() {
  const raw = location.hash.replace(/^#/, '');
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  const filters = {
    ns: params.get('ns')?.trim() ?? '',
    prefix: params.get('prefix') ?? '',
    limit: parseLimit(params.get('limit')),
  };
  const m = /^\/identity\/([^/]+)\/([^/]+)$/.exec(path);
  if (m) {
    try {
      return { view: 'identity', ns: decodeURIComponent(m[1]), id: decodeURIComponent(m[2]), filters };
    } catch {
      // a malformed escape: fall through to the list
    }
  }
  return { view: 'list', filters };
}

/** @param {Filters} f */
function filterQuery(f) {
  const p = new URLSearchParams();
  if (f.ns) p.set('ns', f.ns);
  if (f.prefix) p.set('prefix', f.prefix);
  if (f.limit !== DEFAULT_LIMIT) p.set('limit', String(f.limit));
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** @param {Filters} f */
const listHash = (f) => `#/${filterQuery(f)}`;
/** @param {string} ns @param {string} id @param {Filters} f */
const identityHash = (ns, id, f) =>
  `#/identity/${encodeURIComponent(ns)}/${encodeURIComponent(id)}${filterQuery(f)}`;

// --------------------------------------------------------------------------------------------------- state

const state = {
  /** @type {Route} */
  route: parseHash(),
  /** Bumped by every load; an answer for an older load is dropped. */
  seq: 0,
  list: {
    /** The filters the page tokens belong to. */
    key: '',
    /** Continue tokens: pages[i] fetches page i (pages[0] is undefined, the first page). */
    /** @type {(string | undefined)[]} */
    pages: [undefined],
    page: 0,
    /** @type {string | undefined} */
    next: undefined,
    /** @type {any[]} */
    items: [],
  },
  /** @type {any} the identity shown */
  detail: null,
  /** The fact whose value is being edited, if any. */
  /** @type {string | null} */
  editing: null,
  /** The fact whose deletion waits for confirmation, if any. */
  /** @type {string | null} */
  confirmingDelete: null,
  /** A change arrived while editing: re-read once the edit ends. */
  stale: false,
  busy: false,
  /** @type {(() => void) | null} */
  stopWatch: null,
  watchKey: '',
  seenNamespaces: new Set(),
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  refreshTimer: undefined,
  /** @type {Set<string>} keys (identity keys or fact names) to highlight after the next live refresh */
  highlight: new Set(),
  revisions: {
    /** Bumped by every history read; an answer for an older read is dropped. */
    seq: 0,
    /** @type {Revision[]} newest first */
    items: [],
    loaded: false,
    shown: HISTORY_SHOWN,
    /** The server's reason when there is no history to read (off, or its CRD missing): a 404's message. */
    unavailable: '',
    /** @type {number | null} the revision whose rollback waits for confirmation */
    confirming: null,
    /** Re-reads left while the newest revision lags behind the served facts (the leader records it shortly after). */
    retries: 0,
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    timer: undefined,
  },
};

// --------------------------------------------------------------------------------------- errors and auth

function clearError() {
  el.error.hidden = true;
  el.error.textContent = '';
}

/** @param {string} message */
function showError(message) {
  el.error.textContent = message;
  el.error.hidden = false;
}

/** @param {string} message */
function promptForToken(message) {
  stopWatching();
  el.listView.hidden = true;
  el.detailView.hidden = true;
  clearError();
  el.authReason.textContent = message;
  el.auth.hidden = false;
  el.signOut.hidden = true;
  el.token.value = '';
  el.token.focus();
}

/** Shows what went wrong; a 401 asks for a token instead. @param {unknown} err */
function handleError(err) {
  if (err instanceof ApiError && err.status === 401) {
    const hadToken = getToken() !== '';
    if (hadToken) clearToken();
    promptForToken(
      hadToken ? `The operator refused the token: ${err.message}` : `Sign in to continue: ${err.message}`,
    );
    return;
  }
  if (err instanceof ApiError) showError(err.message);
  else showError(`The operator could not be reached: ${err instanceof Error ? err.message : String(err)}`);
}

el.authForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const token = el.token.value.trim().replace(/^Bearer\s+/i, '');
  el.token.value = '';
  if (!token) return;
  setToken(token);
  el.auth.hidden = true;
  el.signOut.hidden = false;
  state.watchKey = '';
  show({ focus: true });
});

el.signOut.addEventListener('click', () => {
  clearToken();
  promptForToken('The token was forgotten. Enter a token to continue.');
});

// ------------------------------------------------------------------------------------ live-update feedback

/** @param {'connecting' | 'live' | 'retrying' | 'denied'} s @param {ApiError} [err] */
function feedState(s, err) {
  el.feed.dataset.state = s;
  if (s === 'live') el.feed.textContent = 'Live';
  else if (s === 'connecting') el.feed.textContent = 'Connecting…';
  else if (s === 'retrying') el.feed.textContent = 'Reconnecting…';
  else {
    el.feed.textContent = `Live updates off: ${err?.message ?? 'refused'}`;
    if (err?.status === 401) handleError(err);
  }
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let updatedTimer;
/** @param {string} text */
function flashUpdated(text) {
  el.updated.textContent = text;
  el.updated.classList.add('show');
  clearTimeout(updatedTimer);
  updatedTimer = setTimeout(() => el.updated.classList.remove('show'), 4000);
}

function stopWatching() {
  state.stopWatch?.();
  state.stopWatch = null;
  state.watchKey = '';
  clearTimeout(state.refreshTimer);
}

/** Watches what the current view shows; keeps the running watch when that has not changed. */
function ensureWatch() {
  const r = state.route;
  const opts = r.view === 'identity' ? { namespace: r.ns, identity: r.id } : { namespace: r.filters.ns };
  const key = JSON.stringify(opts);
  if (key === state.watchKey) return;
  stopWatching();
  state.watchKey = key;
  state.stopWatch = watch({
    ...opts,
    onChange: onChange,
    onReset: () => scheduleRefresh(),
    onState: feedState,
  });
}

/** @param {import('./watch.js').ChangeEvent} e */
function onChange(e) {
  const r = state.route;
  if (r.view === 'identity') {
    if (e.namespace !== r.ns || e.name !== r.id) return;
    if (state.detail && e.revision <= state.detail.revision) return; // already shown (our own write)
    for (const k of e.kind === 'facts' ? (e.keys ?? []) : []) state.highlight.add(`fact:${k}`);
    if (state.editing !== null) {
      state.stale = true;
      flashUpdated('Changed elsewhere: refreshes when you finish editing');
      return;
    }
    scheduleRefresh();
    return;
  }
  const f = r.filters;
  if (f.ns && e.namespace !== f.ns) return;
  if (f.prefix && !e.name.startsWith(f.prefix)) return;
  const shown = state.list.items.find((i) => i.namespace === e.namespace && i.name === e.name);
  if (shown && e.revision <= shown.revision) return;
  state.highlight.add(`identity:${e.namespace}/${e.name}`);
  scheduleRefresh();
}

/** Re-reads the current view soon, once for a burst of changes. */
function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(() => {
    const load = state.route.view === 'identity' ? loadDetail : loadList;
    load({ live: true });
  }, 150);
}

// ----------------------------------------------------------------------------------------------- the list

/** @param {{live?: boolean}} [opts] */
async function loadList(opts = {}) {
  const seq = ++state.seq;
  const f = /** @type {Route} */ (state.route).filters;
  try {
    const { data } = await listIdentities({
      namespace: f.ns,
      prefix: f.prefix,
      limit: f.limit,
      continue: state.list.pages[state.list.page],
    });
    if (seq !== state.seq || state.route.view !== 'list') return;
    clearError();
    state.list.items = data.items;
    state.list.next = data.continue;
    renderList();
    if (opts.live) flashUpdated(`Updated at ${new Date().toLocaleTimeString()}`);
  } catch (err) {
    if (seq !== state.seq) return;
    // Rows of other filters must not stand under an error about these.
    state.list.items = [];
    state.list.next = undefined;
    el.listBody.replaceChildren();
    el.listEmpty.hidden = true;
    el.next.disabled = true;
    handleError(err);
  }
}

function renderList() {
  const { items, page, next } = state.list;
  const f = state.route.filters;
  for (const i of items) state.seenNamespaces.add(i.namespace);
  el.nsOptions.replaceChildren(...[...state.seenNamespaces].sort().map((ns) => h('option', { value: ns })));
  el.listBody.replaceChildren(
    ...items.map((i) => {
      const key = `identity:${i.namespace}/${i.name}`;
      const flash = state.highlight.has(key);
      return h(
        'tr',
        { class: flash ? 'flash' : undefined },
        h('th', { scope: 'row' }, h('a', { href: identityHash(i.namespace, i.name, f) }, i.name)),
        h('td', {}, i.namespace),
        h('td', {}, badge(i.ready)),
        h('td', { class: 'num' }, i.factCount),
        h(
          'td',
          {},
          i.secretKeys.length === 0
            ? h('span', { class: 'muted' }, 'none')
            : h(
                'ul',
                { class: 'keys' },
                ...i.secretKeys.map((/** @type {string} */ k) => h('li', {}, h('code', {}, k))),
              ),
        ),
      );
    }),
  );
  state.highlight.clear();
  el.listEmpty.hidden = items.length > 0;
  el.prev.disabled = page === 0;
  el.next.disabled = !next;
  el.pageInfo.textContent = `Page ${page + 1}`;
}

function readFilters() {
  return {
    ns: el.fNamespace.value.trim(),
    prefix: el.fPrefix.value.trim(),
    limit: parseLimit(el.fLimit.value),
  };
}

/** Puts the filters in the address (without a history entry) and shows the list they select. */
function applyFilters() {
  history.replaceState(null, '', listHash(readFilters()));
  state.route = parseHash();
  show();
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let typingTimer;
el.filters.addEventListener('submit', (e) => {
  e.preventDefault();
  clearTimeout(typingTimer);
  applyFilters();
});
el.fPrefix.addEventListener('input', () => {
  clearTimeout(typingTimer);
  typingTimer = setTimeout(applyFilters, 250);
});
el.fNamespace.addEventListener('change', applyFilters);
el.fLimit.addEventListener('change', applyFilters);
el.prev.addEventListener('click', () => {
  if (state.list.page === 0) return;
  state.list.page--;
  loadList();
});
el.next.addEventListener('click', () => {
  if (!state.list.next) return;
  state.list.pages[state.list.page + 1] = state.list.next;
  state.list.page++;
  loadList();
});

// ------------------------------------------------------------------------------------------- one identity

/** @param {{live?: boolean, focusFact?: string}} [opts] */
async function loadDetail(opts = {}) {
  const r = state.route;
  if (r.view !== 'identity') return;
  // A live refresh never re-renders under an open edit (it would replace what the user is typing): it waits
  // for the edit to end, as a change that arrives during the edit does.
  const deferred = () => {
    if (!opts.live || state.editing === null) return false;
    state.stale = true;
    return true;
  };
  if (deferred()) return;
  const seq = ++state.seq;
  try {
    const { data } = await getIdentity(r.ns, r.id);
    if (seq !== state.seq || state.route !== r || deferred()) return;
    clearError();
    const changed = !state.detail || state.detail.revision !== data.revision;
    state.detail = data;
    state.stale = false;
    renderDetail();
    if (changed) loadHistory();
    if (opts.live && changed) flashUpdated(`Updated at ${new Date().toLocaleTimeString()}`);
    if (opts.focusFact) focusFactButton(opts.focusFact);
  } catch (err) {
    if (seq !== state.seq) return;
    if (err instanceof ApiError && err.status !== 401) {
      state.detail = null;
      renderDetail();
    }
    handleError(err);
  }
}

/** @param {any} s @param {string} what */
function statusRow(s, what) {
  if (!s)
    return [h('dt', {}, what), h('dd', {}, h('span', { class: 'muted' }, `no Deployment${what} object`))];
  const dd = h(
    'dd',
    {},
    badge(s.ready),
    ' ',
    s.reason,
    h('span', { class: 'muted' }, ` (generation ${s.generation})`),
  );
  const rows = [h('dt', {}, what), dd];
  if (s.unresolved?.length) {
    rows.push(
      h('dt', {}, 'Unresolved secret references'),
      h(
        'dd',
        {},
        h(
          'ul',
          { class: 'keys' },
          ...s.unresolved.map((/** @type {string} */ n) => h('li', {}, h('code', {}, n))),
        ),
      ),
    );
  }
  return rows;
}

function renderDetail() {
  const r = state.route;
  if (r.view !== 'identity') return;
  const d = state.detail;
  el.detailTitle.textContent = r.id;
  el.detailNamespace.textContent = r.ns;
  el.back.href = listHash(r.filters);
  document.title = `${r.id} · flagops-data-store`;
  const body = el.detailView.querySelector('.detail-body');
  if (body instanceof HTMLElement) body.hidden = !d;
  if (!d) return;

  el.status.replaceChildren(...statusRow(d.status.facts, 'Facts'), ...statusRow(d.status.secrets, 'Secrets'));

  const names = Object.keys(d.facts).sort();
  // A live re-render (the change feed) must not take the keyboard focus away from the button the user is on.
  const active = document.activeElement;
  const focused =
    active instanceof HTMLButtonElement && el.factsBody.contains(active)
      ? { fact: active.closest('tr')?.dataset.fact, action: active.dataset.action }
      : undefined;
  el.factsBody.replaceChildren(
    ...names.map((name) => factRow(name, d.facts[name], d.provenance?.[name], d.explain?.[name])),
  );
  if (focused?.fact && focused.action) focusFactButton(focused.fact, focused.action);
  el.factsEmpty.hidden = names.length > 0;
  state.highlight.clear();

  el.secretKeys.replaceChildren(
    ...d.secretKeys.map((/** @type {string} */ k) => h('li', {}, h('code', {}, k))),
  );
  el.secretsEmpty.hidden = d.secretKeys.length > 0;
}

/** Where a fact came from, in words: the path, who, and (as a tooltip) when. */
const PATHS = /** @type {Record<string, string>} */ ({
  gitops: 'GitOps',
  kubectl: 'kubectl',
  api: 'API',
  webhook: 'webhook',
  source: 'fact source',
  profile: 'profile',
  other: 'other',
});

/** @param {{ path: string, by: string, at?: string, manager: string } | undefined} p */
function provenanceCell(p) {
  if (!p) return h('td', { class: 'muted' }, '—');
  const who = p.path === 'gitops' || p.path === 'kubectl' || p.path === 'other' ? p.manager : p.by;
  const label = PATHS[p.path] ?? p.path;
  // A manager named after its path (kubectl, kubectl-client-side-apply) says it once.
  const named = who.toLowerCase().startsWith(label.toLowerCase());
  return h(
    'td',
    { title: p.at ? `${p.manager}, ${p.at}` : p.manager },
    ...(named ? [] : [h('span', { class: 'provenance' }, label), ' ']),
    h('code', {}, who),
  );
}

/**
 * @typedef {{ kind: string, namespace?: string, name: string }} LayerRef
 * @typedef {{ value: import('./api.js').FactValue, from: LayerRef, overrode: { from: LayerRef, value: import('./api.js').FactValue }[] }} Explanation
 */

/** @param {LayerRef} ref */
const layerName = (ref) =>
  ref.kind === 'DeploymentFacts'
    ? 'this identity'
    : `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;

/**
 * Which layer the served value comes from (the identity itself, or a profile), and what it overrode.
 * @param {Explanation | undefined} x
 */
function fromCell(x) {
  if (!x) return h('td', { class: 'muted' }, '—');
  const own = x.from.kind === 'DeploymentFacts';
  const overrode = x.overrode.map((o) => `${layerName(o.from)} = ${JSON.stringify(o.value)}`);
  return h(
    'td',
    { class: own ? undefined : 'from-profile', 'data-from': x.from.kind },
    own ? 'this identity' : h('code', {}, layerName(x.from)),
    ...(overrode.length > 0
      ? [' ', h('br'), h('span', { class: 'muted overrode' }, `overrides ${overrode.join(', ')}`)]
      : []),
  );
}

/**
 * When the fact was last changed, as the API server or the API writer recorded it.
 * @param {{ at?: string } | undefined} p
 */
function changedCell(p) {
  const at = p?.at ? new Date(p.at) : undefined;
  if (!at || Number.isNaN(at.getTime())) return h('td', { class: 'muted' }, '—');
  return h(
    'td',
    {},
    h(
      'time',
      { datetime: p?.at, title: p?.at },
      at.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }),
    ),
  );
}

/**
 * @param {string} name @param {import('./api.js').FactValue} value
 * @param {{ path: string, by: string, at?: string, manager: string } | undefined} provenance
 * @param {Explanation | undefined} [explained]
 */
function factRow(name, value, provenance, explained) {
  // A fact a profile supplies can be overridden for this identity (Edit), not deleted: there is nothing of its own.
  const fromProfile = explained !== undefined && explained.from.kind !== 'DeploymentFacts';
  const type = valueType(value);
  const flash = state.highlight.has(`fact:${name}`);
  let valueCell;
  let actions;
  if (state.editing === name) {
    const input = h('input', {
      type: 'text',
      value: String(value),
      'aria-label': `New value of ${name} (${type})`,
      'data-edit': name,
      'data-type': type,
      disabled: state.busy,
      onkeydown: (/** @type {KeyboardEvent} */ e) => {
        if (e.key === 'Enter') {
          e.preventDefault();
          saveEdit(name);
        } else if (e.key === 'Escape') {
          e.preventDefault();
          endEdit(name);
        }
      },
    });
    valueCell = h('td', {}, input);
    actions = [
      h('button', { type: 'button', disabled: state.busy, onclick: () => saveEdit(name) }, 'Save'),
      h(
        'button',
        { type: 'button', class: 'secondary', disabled: state.busy, onclick: () => endEdit(name) },
        'Cancel',
      ),
    ];
  } else {
    valueCell = h(
      'td',
      {},
      value === '' ? h('span', { class: 'muted' }, '(empty)') : h('code', { class: 'value' }, String(value)),
    );
    if (state.confirmingDelete === name) {
      actions = [
        h('span', { class: 'confirm' }, `Delete ${name}?`),
        h(
          'button',
          {
            type: 'button',
            class: 'danger',
            disabled: state.busy,
            'data-action': 'confirm-delete',
            onclick: () => removeFact(name),
          },
          'Delete',
        ),
        h(
          'button',
          { type: 'button', class: 'secondary', disabled: state.busy, onclick: () => cancelDelete(name) },
          'Keep',
        ),
      ];
    } else {
      actions = [
        h(
          'button',
          {
            type: 'button',
            'data-action': 'edit',
            'aria-label': fromProfile ? `Override ${name} for this identity` : `Edit ${name}`,
            disabled: state.busy,
            onclick: () => startEdit(name),
          },
          fromProfile ? 'Override' : 'Edit',
        ),
        ...(fromProfile
          ? []
          : [
              h(
                'button',
                {
                  type: 'button',
                  class: 'secondary',
                  'data-action': 'delete',
                  'aria-label': `Delete ${name}`,
                  disabled: state.busy,
                  onclick: () => askDelete(name),
                },
                'Delete',
              ),
            ]),
      ];
    }
  }
  return h(
    'tr',
    { 'data-fact': name, class: flash ? 'flash' : undefined },
    h('th', { scope: 'row' }, h('code', {}, name)),
    valueCell,
    h('td', {}, type),
    fromCell(explained),
    fromProfile ? h('td', { class: 'muted' }, '—') : provenanceCell(provenance),
    changedCell(provenance),
    h('td', { class: 'actions' }, ...actions),
  );
}

/** @param {string} name */
function focusFactButton(name, action = 'edit') {
  for (const row of el.factsBody.querySelectorAll('tr')) {
    if (row.dataset.fact === name) {
      const b = row.querySelector(`button[data-action="${action}"]`);
      if (b instanceof HTMLElement) b.focus();
      return;
    }
  }
}

function clearFactMessages() {
  el.factError.textContent = '';
  el.factError.hidden = true;
  el.factStatus.textContent = '';
}

/** A problem found before anything is sent (a value that is not of the chosen type). */
function showFactProblem(/** @type {string} */ message) {
  el.factError.textContent = message;
  el.factError.hidden = false;
}

/** @param {unknown} err */
function showFactError(err) {
  if (err instanceof ApiError && err.status === 401) {
    handleError(err);
    return;
  }
  el.factError.textContent =
    err instanceof ApiError ? err.message : `The operator could not be reached: ${String(err)}`;
  el.factError.hidden = false;
}

/** @param {string} name */
function startEdit(name) {
  clearFactMessages();
  state.editing = name;
  state.confirmingDelete = null;
  renderDetail();
  const input = el.factsBody.querySelector('input[data-edit]');
  if (input instanceof HTMLInputElement) {
    input.focus();
    input.select();
  }
}

/** @param {string} name */
function endEdit(name) {
  state.editing = null;
  if (state.stale) loadDetail({ live: true, focusFact: name });
  else {
    renderDetail();
    focusFactButton(name);
  }
}

/** Writes a fact and re-reads the identity; the server's message is shown when it refuses. */
async function write(/** @type {() => Promise<{status: number}>} */ op, /** @type {string} */ done) {
  const r = state.route;
  setBusy(true);
  try {
    const res = await op();
    if (state.route !== r) return true;
    el.factStatus.textContent = res.status === 202 ? `${done}; it will show here in a moment.` : `${done}.`;
    return true;
  } catch (err) {
    showFactError(err);
    return false;
  } finally {
    setBusy(false);
  }
}

/** Disables the fact controls while a write is under way, leaving what the user typed in place. */
function setBusy(/** @type {boolean} */ busy) {
  state.busy = busy;
  for (const c of el.detailView.querySelectorAll(
    '#facts-body button, #facts-body input, #add-fact button, #add-fact input, #add-fact select, #history-list button',
  )) {
    if (c instanceof HTMLButtonElement || c instanceof HTMLInputElement || c instanceof HTMLSelectElement)
      c.disabled = busy;
  }
}

/** The input type for a fact's current type, or the add form's choice. @returns {import('./api.js').InputType} */
function inputTypeOf(/** @type {string | undefined} */ t) {
  if (t === 'boolean' || t === 'string' || t === 'number') return t;
  if (t === 'integer' || t === 'decimal') return 'number';
  return 'auto';
}

/** @param {string} name */
async function saveEdit(name) {
  const r = state.route;
  if (r.view !== 'identity' || state.busy) return;
  const input = el.factsBody.querySelector('input[data-edit]');
  if (!(input instanceof HTMLInputElement)) return;
  const text = input.value;
  clearFactMessages();
  // An edit keeps the fact's type: "true" typed over a string stays a string.
  const typed = typedValue(text, inputTypeOf(input.dataset.type));
  if ('error' in typed) {
    showFactProblem(`${name}: ${typed.error}`);
    input.focus();
    return;
  }
  const ok = await write(() => putFact(r.ns, r.id, name, typed.value), `Saved ${name}`);
  if (ok) {
    state.editing = null;
    await loadDetail({ focusFact: name });
  } else {
    renderDetail();
    const again = el.factsBody.querySelector('input[data-edit]');
    if (again instanceof HTMLInputElement) {
      again.value = text;
      again.focus();
    }
  }
}

/** @param {string} name */
function askDelete(name) {
  clearFactMessages();
  state.confirmingDelete = name;
  state.editing = null;
  renderDetail();
  focusFactButton(name, 'confirm-delete');
}

/** @param {string} name */
function cancelDelete(name) {
  state.confirmingDelete = null;
  renderDetail();
  focusFactButton(name, 'delete');
}

/** @param {string} name */
async function removeFact(name) {
  const r = state.route;
  if (r.view !== 'identity' || state.busy) return;
  clearFactMessages();
  const ok = await write(() => deleteFact(r.ns, r.id, name), `Deleted ${name}`);
  state.confirmingDelete = null;
  if (ok) {
    await loadDetail();
    el.newName.focus();
  } else {
    renderDetail();
    focusFactButton(name, 'delete');
  }
}

el.addFact.addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = state.route;
  if (r.view !== 'identity' || state.busy) return;
  const name = el.newName.value.trim();
  const text = el.newValue.value;
  if (!name) return;
  clearFactMessages();
  const typed = typedValue(text, inputTypeOf(el.newType.value));
  if ('error' in typed) {
    showFactProblem(`${name}: ${typed.error}`);
    el.newValue.focus();
    return;
  }
  const ok = await write(() => putFact(r.ns, r.id, name, typed.value), `Saved ${name}`);
  if (ok) {
    el.newName.value = '';
    el.newValue.value = '';
    el.newType.value = 'auto';
    await loadDetail();
    el.newName.focus();
  } else {
    renderDetail();
  }
});

// ------------------------------------------------------------------------------------------- fact history

/**
 * @typedef {import('./api.js').FactValue} FactValue
 * @typedef {{ manager: string, path: string, by: string, at?: string, facts: string[] }} Writer
 * @typedef {{ added: Record<string, FactValue>, changed: Record<string, { from?: FactValue, to: FactValue }>,
 *   removed: Record<string, FactValue | null>, previousOmitted?: boolean }} RevisionDiff
 * @typedef {{ revision: number, recordedAt: string, facts: Record<string, FactValue>, diff: RevisionDiff,
 *   writers: Writer[] }} Revision
 */

function resetHistory() {
  const hs = state.revisions;
  hs.seq++;
  clearTimeout(hs.timer);
  hs.items = [];
  hs.loaded = false;
  hs.shown = HISTORY_SHOWN;
  hs.unavailable = '';
  hs.confirming = null;
  hs.retries = 0;
  clearHistoryMessages();
  renderHistory();
}

function clearHistoryMessages() {
  el.historyError.textContent = '';
  el.historyError.hidden = true;
  el.historyStatus.textContent = '';
}

/** The same facts, whatever their order. @param {Record<string, unknown>} a @param {Record<string, unknown>} b */
const sameFacts = (a, b) => {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
};

/**
 * Reads the identity's whole history (the API pages it oldest first; the timeline shows the newest first, and an
 * identity keeps at most 100 revisions) and shows it. The leader records a change shortly after it is served: while
 * the newest revision lags behind the facts on screen, it reads again a few times.
 * @param {{ retry?: boolean }} [opts]
 */
async function loadHistory(opts = {}) {
  const r = state.route;
  const hs = state.revisions;
  if (r.view !== 'identity') return;
  const seq = ++hs.seq;
  clearTimeout(hs.timer);
  if (!opts.retry) hs.retries = 5;
  try {
    /** @type {Revision[]} */
    const items = [];
    /** @type {string | undefined} */
    let cont;
    for (let page = 0; page < 10; page++) {
      const { data } = await getHistory(r.ns, r.id, HISTORY_PAGE, cont);
      items.push(...data.items);
      cont = data.continue;
      if (!cont) break;
    }
    if (seq !== hs.seq || state.route !== r) return;
    hs.items = items.sort((a, b) => b.revision - a.revision);
    hs.loaded = true;
    hs.unavailable = '';
    renderHistory();
    const facts = state.detail?.facts;
    if (facts && (hs.items.length === 0 || !sameFacts(hs.items[0].facts, facts)) && hs.retries > 0) {
      hs.retries--;
      hs.timer = setTimeout(() => loadHistory({ retry: true }), 1000);
    }
  } catch (err) {
    if (seq !== hs.seq || state.route !== r) return;
    if (err instanceof ApiError && err.status === 401) {
      handleError(err);
      return;
    }
    hs.items = [];
    hs.loaded = true;
    // History off for this server, or its CRD not installed: the server says so with a 404; that is no error.
    if (err instanceof ApiError && err.status === 404) hs.unavailable = err.message;
    else showHistoryError(err);
    renderHistory();
  }
}

/** @param {unknown} err */
function showHistoryError(err) {
  if (err instanceof ApiError && err.status === 401) {
    handleError(err);
    return;
  }
  el.historyError.textContent =
    err instanceof ApiError ? err.message : `The operator could not be reached: ${String(err)}`;
  el.historyError.hidden = false;
}

function renderHistory() {
  const hs = state.revisions;
  // A re-render must not take the keyboard focus away from the button the user is on.
  const active = document.activeElement;
  const focused =
    active instanceof HTMLButtonElement && el.historyList.contains(active)
      ? { revision: Number(active.closest('li')?.dataset.revision), action: active.dataset.action }
      : undefined;
  const shown = hs.items.slice(0, hs.shown);
  el.historyList.replaceChildren(...shown.map((rev, i) => revisionItem(rev, i === 0 && hs.shown > 0)));
  if (focused?.action) focusRevisionButton(focused.revision, focused.action);
  el.historyMore.hidden = hs.items.length <= hs.shown;
  let note = '';
  if (hs.unavailable) note = hs.unavailable;
  else if (hs.loaded && hs.items.length === 0)
    note =
      'No revisions are recorded for this identity. History is off when --revision-history-limit or the ' +
      "identity's spec.revisionHistoryLimit is 0; otherwise the first is recorded in a moment.";
  el.historyNote.textContent = note;
  el.historyNote.hidden = note === '';
}

/** A fact value as the API holds it: text in quotes, so that "true" and true look different. @param {unknown} v */
const shownValue = (v) => h('code', { class: 'value' }, JSON.stringify(v));

/** Who made a change, through what, to which facts. @param {Writer} w */
function writerItem(w) {
  const who = w.path === 'api' || w.path === 'webhook' || w.path === 'source' ? w.by : w.manager;
  const label = PATHS[w.path] ?? w.path;
  const named = who.toLowerCase().startsWith(label.toLowerCase());
  return h(
    'li',
    { title: w.at ? `${w.manager}, ${w.at}` : w.manager, 'data-path': w.path },
    ...(named ? [] : [h('span', { class: 'provenance' }, label), ' ']),
    h('code', {}, who),
    w.facts.length > 0 ? ': ' : '',
    ...w.facts.flatMap((f, i) => [i > 0 ? ', ' : '', h('code', {}, f)]),
  );
}

/** Added, changed (old → new) and removed facts. @param {RevisionDiff} d */
function diffList(d) {
  const omitted = h('span', { class: 'muted' }, 'old value not kept');
  const rows = [
    ...Object.entries(d.added).map(([k, v]) =>
      h('li', { class: 'added', 'data-change': 'added' }, 'added ', h('code', {}, k), ' = ', shownValue(v)),
    ),
    ...Object.entries(d.changed).map(([k, c]) =>
      h(
        'li',
        { class: 'changed', 'data-change': 'changed' },
        'changed ',
        h('code', {}, k),
        ': ',
        Object.hasOwn(c, 'from') ? shownValue(c.from) : omitted.cloneNode(true),
        ' → ',
        shownValue(c.to),
      ),
    ),
    ...Object.entries(d.removed).map(([k, v]) =>
      h(
        'li',
        { class: 'removed', 'data-change': 'removed' },
        'removed ',
        h('code', {}, k),
        ' (was ',
        v === null && d.previousOmitted ? omitted.cloneNode(true) : shownValue(v),
        ')',
      ),
    ),
  ];
  return rows.length > 0
    ? h('ul', { class: 'diff' }, ...rows)
    : h('p', { class: 'muted' }, 'No change of the facts.');
}

/** One revision of the timeline. @param {Revision} rev @param {boolean} newest */
function revisionItem(rev, newest) {
  const hs = state.revisions;
  const at = new Date(rev.recordedAt);
  const n = rev.revision;
  const names = Object.keys(rev.facts).sort();
  /** @type {Node[]} */
  let actions = [];
  if (hs.confirming === n) {
    actions = [
      h('span', { class: 'confirm' }, `Roll back to revision ${n}? Its facts become this identity's.`),
      h(
        'button',
        {
          type: 'button',
          class: 'danger',
          'data-action': 'confirm-rollback',
          disabled: state.busy,
          onclick: () => doRollback(n),
        },
        'Roll back',
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          'data-action': 'keep',
          disabled: state.busy,
          onclick: () => cancelRollback(n),
        },
        'Keep',
      ),
    ];
  } else if (!newest) {
    actions = [
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          'data-action': 'rollback',
          disabled: state.busy,
          onclick: () => askRollback(n),
        },
        `Roll back to revision ${n}`,
      ),
    ];
  }
  return h(
    'li',
    { 'data-revision': n },
    h(
      'h3',
      {},
      `Revision ${n}`,
      newest ? h('span', { class: 'muted' }, ' (latest)') : null,
      ' ',
      h(
        'time',
        { datetime: rev.recordedAt, title: rev.recordedAt, class: 'muted' },
        Number.isNaN(at.getTime())
          ? rev.recordedAt
          : at.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }),
      ),
    ),
    rev.writers.length > 0
      ? h('ul', { class: 'writers', 'aria-label': `Who made revision ${n}` }, ...rev.writers.map(writerItem))
      : null,
    diffList(rev.diff),
    h(
      'details',
      {},
      h('summary', {}, `Facts after revision ${n} (${names.length})`),
      names.length > 0
        ? h(
            'ul',
            { class: 'keys' },
            ...names.map((k) => h('li', {}, h('code', {}, k), ' = ', shownValue(rev.facts[k]))),
          )
        : h('p', { class: 'muted' }, 'No facts.'),
    ),
    actions.length > 0 ? h('p', { class: 'actions' }, ...actions) : null,
  );
}

/** @param {number} revision @param {string} action */
function focusRevisionButton(revision, action) {
  for (const item of el.historyList.querySelectorAll('li[data-revision]')) {
    if (item instanceof HTMLElement && Number(item.dataset.revision) === revision) {
      const b = item.querySelector(`button[data-action="${action}"]`);
      if (b instanceof HTMLElement) b.focus();
      return;
    }
  }
}

/** @param {number} n */
function askRollback(n) {
  clearHistoryMessages();
  state.revisions.confirming = n;
  renderHistory();
  focusRevisionButton(n, 'confirm-rollback');
}

/** @param {number} n */
function cancelRollback(n) {
  state.revisions.confirming = null;
  renderHistory();
  focusRevisionButton(n, 'rollback');
}

/**
 * Writes revision `n`'s facts back, as the user, never forcing: a fact another field manager owns (GitOps) is the
 * server's 409, shown as it is. Then the facts and the history are read again.
 * @param {number} n
 */
async function doRollback(n) {
  const r = state.route;
  if (r.view !== 'identity' || state.busy) return;
  clearHistoryMessages();
  clearFactMessages();
  setBusy(true);
  let ok = false;
  try {
    const res = await rollback(r.ns, r.id, n);
    ok = true;
    if (state.route === r)
      el.historyStatus.textContent =
        res.status === 202
          ? `Rolled back to revision ${n}; it will show here in a moment.`
          : `Rolled back to revision ${n}.`;
  } catch (err) {
    showHistoryError(err);
  } finally {
    setBusy(false);
  }
  if (state.route !== r) return;
  state.revisions.confirming = null;
  if (ok) {
    await loadDetail();
    await loadHistory();
    el.historyList.querySelector('button')?.focus();
  } else {
    renderHistory();
    focusRevisionButton(n, 'rollback');
  }
}

el.historyMore.addEventListener('click', () => {
  const hs = state.revisions;
  const first = hs.shown;
  hs.shown += HISTORY_SHOWN;
  renderHistory();
  // The keyboard moves on to the first revision the button revealed.
  const next = el.historyList.children[first]?.querySelector('button, summary');
  if (next instanceof HTMLElement) next.focus();
});

// ------------------------------------------------------------------------------------------------- views

/** Shows the view the address names and loads its data. @param {{focus?: boolean}} [opts] */
function show(opts = {}) {
  const r = state.route;
  el.auth.hidden = true;
  el.signOut.hidden = getToken() === '';
  clearError();
  if (r.view === 'list') {
    el.detailView.hidden = true;
    el.listView.hidden = false;
    document.title = 'Identities · flagops-data-store';
    el.fNamespace.value = r.filters.ns;
    if (document.activeElement !== el.fPrefix) el.fPrefix.value = r.filters.prefix;
    if (![...el.fLimit.options].some((o) => o.value === String(r.filters.limit))) {
      el.fLimit.append(h('option', { value: r.filters.limit }, r.filters.limit));
    }
    el.fLimit.value = String(r.filters.limit);
    const key = JSON.stringify(r.filters);
    if (key !== state.list.key) {
      state.list = { key, pages: [undefined], page: 0, next: undefined, items: [] };
    }
    state.detail = null;
    loadList();
    if (opts.focus) el.listTitle.focus();
  } else {
    el.listView.hidden = true;
    el.detailView.hidden = false;
    if (!state.detail || state.detail.namespace !== r.ns || state.detail.name !== r.id) {
      state.detail = null;
      state.editing = null;
      state.confirmingDelete = null;
      clearFactMessages();
      resetHistory();
    }
    renderDetail();
    loadDetail();
    if (opts.focus) el.detailTitle.focus();
  }
  ensureWatch();
}

window.addEventListener('hashchange', () => {
  state.route = parseHash();
  show({ focus: true });
});

for (const n of LIMITS) el.fLimit.append(h('option', { value: n }, n));
show();
