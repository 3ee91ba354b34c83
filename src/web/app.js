// The dashboard's router: the path and query name the view and all its state, so every view
// can be bookmarked, shared, and left with the back button.
import { clear, h, isolate } from './dom.js';
import { key, problemBox, setKey } from './api.js';
import overview from './views/overview.js';
import dyad from './views/dyad.js';
import chain from './views/chain.js';
import action from './views/action.js';
import actor from './views/actor.js';
import search from './views/search.js';

const UUID = '([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})';
const ROUTES = [
  [/^\/$/, overview],
  [/^\/search$/, search],
  [/^\/dyads\/([^/]+)\/([^/]+)$/, dyad],
  [new RegExp(`^/actions/${UUID}/chain$`), chain],
  [new RegExp(`^/actions/${UUID}$`), action],
  [/^\/actors\/([^/]+)$/, actor],
];

const view = document.getElementById('view');
let current = null;

// Each history entry keeps its scroll position (in its state), and the position is put
// back once its view is drawn again: the browser's own restoration runs at `popstate`, when
// the view is still empty, and so ended at the top.
history.scrollRestoration = 'manual';

/** Remembers where the page is scrolled, in the current history entry. */
function saveScroll() {
  history.replaceState({ ...history.state, scrollY: Math.round(window.scrollY) }, '');
}

let scrollSaver = null;
window.addEventListener('scroll', () => {
  clearTimeout(scrollSaver);
  scrollSaver = setTimeout(saveScroll, 150);
}, { passive: true });

/** Goes to a URL of the dashboard, as a new history entry unless `replace`. */
export function navigate(url, { replace = false } = {}) {
  clearTimeout(scrollSaver);
  if (replace) history.replaceState(null, '', url);
  else {
    saveScroll();
    history.pushState(null, '', url);
  }
  render(true);
}

/** Draws the view of the current URL. `moved`: the reader went there (a link, back or
 * forward), so the view takes the focus; `scrollY`: the position to return to once drawn. */
async function render(moved = false, scrollY = null) {
  if (current) current.abort();
  const controller = new AbortController();
  current = controller;
  const url = new URL(location.href);
  clear(view);
  const found = ROUTES.map(([re, fn]) => [url.pathname.match(re), fn]).find(([m]) => m);
  const params = found && decodeParams(found[0]);
  markNav(url.pathname);
  if (!params) {
    document.title = 'Not found · riposte';
    view.append(h('h1', {}, 'No such page'),
      problemBox({ problem: { detail: `There is no page at ${url.pathname}. Start from the overview.` } }, null, { heading: false }));
    view.setAttribute('aria-busy', 'false');
    if (moved) view.focus({ preventScroll: true });
    return;
  }
  const ctx = {
    params,
    query: url.searchParams,
    signal: controller.signal,
    view,
    title(t) { document.title = `${isolate(t)} · riposte`; },
    /** Replaces the query with `params` (empty ones dropped): a new history entry. */
    go(params, opts = {}) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, v);
      const s = q.toString();
      navigate(url.pathname + (s ? `?${s}` : ''), opts);
    },
  };
  try {
    await found[1](ctx);
  } catch (e) {
    if (e.name === 'AbortError' || controller.signal.aborted) return;
    // The problem is the page: its title is the heading and the document's title.
    const title = e.status === 401 ? 'API key needed' : e.problem?.title || 'Something went wrong';
    document.title = `${title} · riposte`;
    clear(view);
    view.append(h('h1', {}, title), problemBox(e, () => render(), { heading: e.status === 401 }));
    console.warn('riposte:', e.message);
  }
  if (controller.signal.aborted) return;
  if (moved) view.focus({ preventScroll: true });
  if (scrollY !== null) window.scrollTo(0, scrollY);
  else if (moved) window.scrollTo(0, 0);
}

/** The decoded parts of a matched path; null for a malformed escape (`%E0%A4%A`), which
 * names no page. */
function decodeParams(match) {
  try {
    return match.slice(1).map(decodeURIComponent);
  } catch {
    return null;
  }
}

function markNav(path) {
  for (const a of document.querySelectorAll('header nav a')) {
    const here = a.getAttribute('href') === path;
    if (here) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

// Links inside the dashboard change the view without reloading the page.
document.addEventListener('click', (e) => {
  const a = e.target.closest('a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  if (a.target || a.hasAttribute('download') || a.hasAttribute('data-external')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || /^\/(v1|docs|assets|openapi)/.test(url.pathname)) return;
  e.preventDefault();
  // A link within this view ("Skip to content"): focus moves there, and nothing reloads.
  if (url.hash && url.pathname === location.pathname && url.search === location.search) {
    document.getElementById(decodeURIComponent(url.hash.slice(1)))?.focus();
    return;
  }
  navigate(url.pathname + url.search + url.hash);
});

document.querySelector('form.quick').addEventListener('submit', (e) => {
  e.preventDefault();
  const q = e.target.elements.q.value.trim();
  navigate(`/search${q ? `?q=${encodeURIComponent(q)}` : ''}`);
});

const forget = document.getElementById('forget-key');
forget.hidden = !key();
forget.addEventListener('click', () => {
  setKey(null);
  render();
});

window.addEventListener('popstate', () => {
  clearTimeout(scrollSaver);
  render(true, history.state?.scrollY ?? 0);
});
// A reload comes back to where the page was.
render(false, history.state?.scrollY ?? null);
