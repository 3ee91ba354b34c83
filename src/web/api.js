// The public API, as any client sees it. A key, when the server needs one for reads, is
// asked for once and kept in sessionStorage: it goes away with the tab.
import { h } from './dom.js';

const KEY = 'riposte.key';

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export function key() {
  return sessionStorage.getItem(KEY);
}

export function setKey(k) {
  if (k) sessionStorage.setItem(KEY, k);
  else sessionStorage.removeItem(KEY);
  document.getElementById('forget-key').hidden = !k;
}

let inFlight = 0;
let shown = null;

function busy(delta) {
  inFlight += delta;
  const bar = document.getElementById('progress');
  const view = document.getElementById('view');
  view.setAttribute('aria-busy', String(inFlight > 0));
  if (inFlight > 0 && !shown) {
    // Only loads that take a moment show the bar: quick ones would just flicker.
    shown = setTimeout(() => { bar.hidden = false; }, 150);
  } else if (inFlight === 0) {
    clearTimeout(shown);
    shown = null;
    bar.hidden = true;
  }
}

/** GET a path of the API as JSON; an error answer becomes an ApiError with its problem. */
export async function api(path, { signal } = {}) {
  const headers = { Accept: 'application/json' };
  const k = key();
  if (k) headers.Authorization = `Bearer ${k}`;
  busy(+1);
  try {
    let res;
    try {
      res = await fetch(path, { headers, signal });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError(0, { title: 'The server cannot be reached', detail: `The server did not answer (${e.message}). Check that riposte is running, then reload.` });
    }
    if (res.ok) return await res.json();
    let problem;
    try {
      problem = await res.json();
    } catch {
      problem = { title: res.statusText || 'Error', status: res.status };
    }
    throw new ApiError(res.status, problem);
  } finally {
    busy(-1);
  }
}

let types = null;

/** The action types by code (`label`, `category`, ...), read once while the page is open:
 * they change with a migration, not with the data. Read without a view's signal, so that
 * leaving a view does not cancel them for the next; a failure is not kept. */
export function actionTypes() {
  types ||= api('/v1/action-types').then((t) => new Map(t.items.map((x) => [x.code, x])), (e) => {
    types = null;
    throw e;
  });
  return types;
}

/** A type's name as the API labels it ("Visa restriction / entry ban"), else its code. */
export function typeName(types, code) {
  return types.get(code)?.label || String(code || '').replaceAll('_', ' ');
}

/** The query string of a plain object, leaving out empty values. */
export function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** A problem's text with its `quoted` values set as code, as the API quotes them (the
 * backticks themselves were shown). */
function quoted(text) {
  const parts = String(text).split('`');
  // An unpaired backtick quotes nothing: the text as it is.
  if (parts.length % 2 === 0) return String(text);
  return parts.map((part, i) => (i % 2 ? h('code', {}, part) : part));
}

/** Shows an API error in place of a view: its detail and, per field, what was wrong. A 401
 * asks for a key and calls `retry` once one is given. `heading: false` leaves out the
 * problem's title, for a page whose heading already says it. */
export function problemBox(err, retry, { heading = true } = {}) {
  if (err instanceof ApiError && err.status === 401) return keyForm(err, retry, heading);
  const p = err.problem || { title: 'Something went wrong', detail: String(err.message || err) };
  const errors = Array.isArray(p.errors) ? p.errors : [];
  // One field at fault is already the detail ("parameter `sort`: ..."): said once.
  const repeated = errors.length === 1 && p.detail && p.detail.includes(errors[0].message);
  return h('div', { class: 'problem', role: 'alert' },
    heading ? h('strong', {}, p.title || 'Error') : null,
    p.detail ? h('p', {}, quoted(p.detail)) : null,
    errors.length && !repeated
      ? h('ul', {}, errors.map((e) => h('li', {}, h('code', {}, e.field), ': ', quoted(e.message))))
      : null);
}

function keyForm(err, retry, heading) {
  const input = h('input', { id: 'api-key', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const form = h('form', { class: 'problem keyform', role: 'alert' },
    heading ? h('strong', {}, 'This server needs an API key to read') : null,
    h('p', {}, quoted(err.problem.detail || '')),
    h('label', { for: 'api-key' }, 'Read key'), ' ', input, ' ',
    h('button', { type: 'submit' }, 'Use this key'),
    h('p', { class: 'hint' }, 'It is kept for this browser tab only, and sent to this server only.'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setKey(input.value.trim());
    retry();
  });
  setTimeout(() => input.focus(), 0);
  return form;
}
