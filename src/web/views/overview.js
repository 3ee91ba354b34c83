// Overview: the busiest dyads of a window, counts by category, and the latest actions,
// kept live from the change stream.
import { actionLink, actorLink, badge, busiest, clear, day, field, h, hbar, num, severity, table, today, addDays, withTable, announced } from '../dom.js';
import { actionTypes, api, ApiError, key, problemBox, qs, typeName } from '../api.js';

const PRESETS = [
  ['Last 30 days', 30],
  ['Last 12 months', 365],
  ['Last 5 years', 5 * 365],
  ['All time', null],
];

export default async function overview(ctx) {
  const from = ctx.query.get('from') || '';
  const to = ctx.query.get('to') || '';
  ctx.title('Overview');

  const fromInput = h('input', { type: 'date', id: 'from', name: 'from', value: from });
  const toInput = h('input', { type: 'date', id: 'to', name: 'to', value: to });
  const form = h('form', { class: 'controls', 'aria-label': 'Window' },
    field(h('label', { for: 'from' }, 'From'), fromInput),
    field(h('label', { for: 'to' }, 'To'), toInput),
    h('button', { type: 'submit' }, 'Show'),
    h('span', { class: 'presets' }, PRESETS.map(([label, days]) => h('button', {
      type: 'button', class: 'chip',
      'aria-pressed': String(days === null ? !from && !to : from === addDays(today(), -days) && !to),
      onclick: () => ctx.go(days === null ? {} : { from: addDays(today(), -days) }),
    }, label))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.go({ from: fromInput.value, to: toInput.value });
  });

  const parts = { lede: h('p', { class: 'lede' }), dyads: h('div', {}), categories: h('div', {}), latest: h('div', { id: 'latest' }) };
  const heading = h('h1', {}, 'Who answered whom');
  // A window the API refuses (from after to) is said under the form that can mend it.
  const first = await read(ctx, from, to).catch((e) => {
    if (e instanceof ApiError && e.status === 400) return e;
    throw e;
  });
  if (first instanceof ApiError) {
    clear(ctx.view).append(heading, form, problemBox(first));
    return;
  }
  const span = from || to ? `${from ? day(from) : 'the beginning'} to ${to ? day(to) : 'today'}` : 'all time';
  const shown = {};
  const show = ({ counts, dyads, latest, types }) => {
    const focus = focusedIn(ctx.view);
    // Redrawn only when changed: a table opened under a chart stays open.
    const drawn = {
      lede: [`${num(counts.total)} actions, ${span}.`],
      dyads: [dyadTable(dyads.items), busiest(dyads)],
      categories: [categoryChart(counts, from, to)],
      latest: [latestList(latest.items, from || to, types)],
    };
    const data = { lede: counts.total, dyads, categories: counts.by_category, latest: latest.items };
    for (const part of Object.keys(parts)) {
      const json = JSON.stringify(data[part]);
      if (shown[part] === json) continue;
      shown[part] = json;
      clear(parts[part]).append(...drawn[part]);
    }
    if (focus) refocus(ctx.view, focus);
  };
  show(first);

  const latest = h('section', { class: 'panel', 'aria-labelledby': 'latest-h' },
    h('h2', { id: 'latest-h' }, from || to ? 'Latest actions of the window ' : 'Latest actions ', h('span', { class: 'live', id: 'live-state' }, '')),
    parts.latest);
  clear(ctx.view).append(
    heading,
    parts.lede,
    form,
    h('div', { class: 'grid' },
      h('section', { class: 'panel', 'aria-labelledby': 'dyads-h' }, h('h2', { id: 'dyads-h' }, 'Most active dyads'), parts.dyads),
      h('section', { class: 'panel', 'aria-labelledby': 'cats-h' }, h('h2', { id: 'cats-h' }, 'Actions by category'), parts.categories)),
    latest);
  follow(ctx, async () => show(await read(ctx, from, to)));
}

/** Everything the overview shows of the window, read together. */
async function read(ctx, from, to) {
  const [counts, dyads, latest, types] = await Promise.all([
    api(`/v1/counts${qs({ from, to })}`, ctx),
    api(`/v1/dyads${qs({ from, to, limit: 10 })}`, ctx),
    api(`/v1/actions${qs({ limit: 12, from, to })}`, ctx),
    actionTypes(),
  ]);
  return { counts, dyads, latest, types };
}

function dyadTable(items) {
  if (!items.length) return h('p', { class: 'empty' }, 'No actions between states in this window.');
  const max = Math.max(...items.map((d) => d.count));
  return h('div', { class: 'scroll' }, table('The dyads with the most actions, both directions together', ['Dyad', 'Actions', 'Each way', 'Last'],
    items.map((d) => ({
      attrs: { 'data-dyad': `${d.a}-${d.b}` },
      cells: [
        h('a', { href: `/dyads/${d.a}/${d.b}` }, `${d.a} ⇄ ${d.b}`),
        hbar(d.count, max),
        `${d.a}→${d.b} ${num(d.a_to_b.count)} · ${d.b}→${d.a} ${num(d.b_to_a.count)}`,
        day(d.last_announced_on),
      ],
    })), { class: 'data stack' }));
}

function categoryChart(counts, from, to) {
  const max = Math.max(1, ...counts.by_category.map((c) => c.count));
  // A list screen readers read as it is (each category's link, then its count); only the
  // bars themselves, which say nothing the numbers do not, are hidden from them.
  const bars = h('ul', { class: 'bars', 'aria-label': 'Actions by category' }, counts.by_category.map((c) => h('li', {},
    h('a', { href: `/search${qs({ category: c.category, from, to })}` }, c.label),
    hbar(c.count, max))));
  const tbl = table('Actions by category', ['Category', 'Actions'], counts.by_category.map((c) => ({ attrs: { 'data-category': c.category }, cells: [c.label, num(c.count)] })), { class: 'data' });
  return withTable(bars, tbl, 'Actions by category');
}

function latestList(items, windowed, types) {
  if (!items.length) return h('p', { class: 'empty' }, windowed ? 'No actions in this window.' : 'No actions yet.');
  return h('ol', { class: 'feed' }, items.map((a) => h('li', { 'data-id': a.id },
    h('div', { class: 'feed-title' }, actionLink(a)),
    h('div', { class: 'feed-meta' }, actorLink(a.initiator), ' → ', actorLink(a.target), ' · ', typeName(types, a.type), ' · ', announced(a), ' ', badge(a.status), ' ', severity(a.severity)))));
}

/** Where the focus is in `body`, if it is: the link's row (its action) and its address. */
function focusedIn(body) {
  const a = document.activeElement;
  if (!a || !body.contains(a) || !a.matches('a[href]')) return null;
  const row = a.closest('li[data-id]');
  return { id: row?.dataset.id, href: a.getAttribute('href') };
}

/** Puts the focus back on the link to the same address, in the same row when it is still
 * listed (an actor's link is in many rows), without scrolling. */
function refocus(body, { id, href }) {
  const same = (a) => a.getAttribute('href') === href;
  const row = id && [...body.querySelectorAll('li[data-id]')].find((li) => li.dataset.id === id);
  const target = (row && [...row.querySelectorAll('a[href]')].find(same)) || [...body.querySelectorAll('a[href]')].find(same);
  target?.focus({ preventScroll: true });
}

/** The page read again (`load`) when the change stream says an action changed: counts,
 * dyads and the latest actions together, at most once a second however busy the stream
 * (each change waiting for the next to stop never read while an import ran, and every
 * change read at once would cost three requests each). A browser's EventSource cannot send
 * a key: with one, or when the stream fails, it polls instead. */
function follow(ctx, load) {
  const state = document.getElementById('live-state');
  let timer = null;
  const soon = () => {
    // A read already due covers this change too.
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      load().catch(() => {});
    }, 1000);
  };
  let poll = null;
  const polling = () => {
    if (poll || ctx.signal.aborted) return;
    state.textContent = '· refreshed every 30 s';
    poll = setInterval(() => load().catch(() => {}), 30000);
  };
  ctx.signal.addEventListener('abort', () => { clearTimeout(timer); clearInterval(poll); });
  if (key() || typeof EventSource === 'undefined') return polling();
  const source = new EventSource('/v1/events?entity=action');
  ctx.signal.addEventListener('abort', () => source.close());
  source.addEventListener('open', () => { state.textContent = '· live'; });
  source.addEventListener('change', soon);
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) polling();
    else state.textContent = '· reconnecting…';
  });
}
