// DOM helpers. Text from the API only ever goes in through textContent or attributes,
// never as HTML.

/** h('a', {href: '/x', class: 'y'}, 'text', child) */
export function h(tag, attrs = {}, ...children) {
  const svg = SVG_TAGS.has(tag);
  const node = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  append(node, children);
  return node;
}

const SVG_TAGS = new Set(['svg', 'g', 'rect', 'path', 'line', 'text', 'title', 'defs', 'marker', 'circle', 'tspan']);

function append(node, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

/** Replaces what `node` holds with `children`, leaving out null and false as h() does
 * (Element.append would write them out as "null"). */
export function fill(node, ...children) {
  append(clear(node), children);
  return node;
}

/** `s` between U+2068 and U+2069, for user text in a string that cannot hold a <bdi> (a
 * document title, an aria-label): its bidi controls end there. */
export function isolate(s) {
  return `\u2068${s}\u2069`;
}

export const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** '2020-07-09' -> '9 Jul 2020' (dates are calendar days: no time zone involved). */
export function day(iso) {
  if (!iso) return '—';
  const [y, m, d] = iso.slice(0, 10).split('-').map(Number);
  return `${d} ${MONTHS[m - 1]} ${y}`;
}

/** When an action was announced, no finer than it is known: '9 Jul 2020', 'Jul 2020' for
 * an action dated to the month, '2020' to the year (stored as the period's first day). */
export function announced(a) {
  if (!a.announced_on) return '—';
  const [y, m] = a.announced_on.slice(0, 10).split('-').map(Number);
  if (a.date_precision === 'year') return String(y);
  if (a.date_precision === 'month') return `${MONTHS[m - 1]} ${y}`;
  return day(a.announced_on);
}

/** Today as YYYY-MM-DD, UTC, like the API's defaults. */
export function today() {
  return new Date().toISOString().slice(0, 10);
}

export function addDays(iso, n) {
  const t = new Date(iso + 'T00:00:00Z');
  t.setUTCDate(t.getUTCDate() + n);
  return t.toISOString().slice(0, 10);
}

export function num(n, digits = 0) {
  if (n === null || n === undefined) return '—';
  // A true minus sign, as the pages write the scale (−10 … +10): a hyphen sits higher and
  // narrower than the plus beside it, and screen readers say "dash" or nothing for it.
  return Number(n).toLocaleString('en-GB', { maximumFractionDigits: digits, minimumFractionDigits: 0 }).replace(/^-/, '\u2212');
}

// Says so when a ranking of dyads (`GET /v1/dyads`) holds only the busiest of them.
export function busiest(ranking) {
  const n = ranking.items.length;
  return ranking.total > n ? h('p', { class: 'hint' }, `The ${num(n)} busiest of ${num(ranking.total)} dyads.`) : null;
}

/** A bar of `value` out of `max` with the number beside it. The bar has a track of its own
 * and the number a width of its own (`.hbar .n`): sharing one flex row, long bars were
 * squeezed to fit their number and stopped being proportional. A zero draws no bar. */
export function hbar(value, max) {
  const bar = value > 0 ? h('span', { style: `width:${(100 * value) / Math.max(max, 1)}%` }) : null;
  return h('span', { class: 'hbar' }, h('span', { class: 'track', 'aria-hidden': 'true' }, bar), ' ',
    h('span', { class: 'n' }, num(value)));
}

export function pct(x) {
  return x === null || x === undefined ? '—' : `${Math.round(x * 100)}%`;
}

export function humanize(code) {
  // `de_escalates` is "de-escalates", as the dyad cards write it.
  return String(code || '').replace(/^de_/, 'de-').replaceAll('_', ' ');
}

// Okabe–Ito: told apart by the common forms of colour blindness.
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];

/** The colour of an initiator in a view: in order of first appearance. */
export function colours(codes) {
  const map = new Map();
  for (const c of codes) if (!map.has(c)) map.set(c, PALETTE[map.size % PALETTE.length]);
  return map;
}

/** A label and its field, kept on one line when a form wraps. */
export function field(label, control) {
  return h('span', { class: 'field' }, label, control);
}

/** A table with a caption; rows are arrays of cells (nodes or text). Each cell carries its
 * column's name (`data-label`), which a table drawn as cards (`.stack`, at phone width)
 * shows before it. */
export function table(caption, columns, rows, attrs = {}) {
  const label = (i) => (typeof columns[i] === 'string' ? columns[i] : null);
  return h('table', attrs,
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', r.attrs || {}, (r.cells || r).map((c, i) =>
      i === 0 ? h('th', { scope: 'row' }, c) : h('td', { 'data-label': label(i) }, c))))));
}

/** A figure with a chart and a "Show as table" toggle for the same data. */
export function withTable(chartNode, tableNode, label) {
  tableNode.hidden = true;
  const button = h('button', { type: 'button', class: 'link', 'aria-expanded': 'false' }, 'Show as table');
  button.addEventListener('click', () => {
    const show = tableNode.hidden;
    tableNode.hidden = !show;
    button.setAttribute('aria-expanded', String(show));
    button.textContent = show ? 'Hide table' : 'Show as table';
  });
  return h('figure', { class: 'chart', 'aria-label': label }, chartNode, h('div', { class: 'table-toggle' }, button), h('div', { class: 'scroll' }, tableNode));
}

export function actorLink(actor) {
  if (!actor) return '—';
  return h('a', { href: `/actors/${encodeURIComponent(actor.code)}`, title: actor.name }, actor.name);
}

export function actionLink(a) {
  if (!a.deleted_at) return h('a', { href: `/actions/${a.id}` }, a.title);
  // Listed only where deleted actions were asked for: said, and opened as the API shows them.
  return [h('a', { href: `/actions/${a.id}?show_deleted=true` }, a.title), ' ', h('span', { class: 'badge deleted' }, 'deleted')];
}

/** The severity as a small labelled bar (-10 hostile .. +10 cooperative). */
export function severity(s) {
  const hostile = s < 0;
  return h('span', { class: `sev ${hostile ? 'hostile' : 'friendly'}`, title: `severity ${s} on −10 (hostile) to +10 (cooperative)` },
    h('span', { class: 'sev-track' }, h('span', { class: 'sev-bar', style: `width:${Math.min(100, Math.abs(s) * 10)}%` })),
    h('span', { class: 'sev-num' }, (s > 0 ? '+' : '') + num(s, 1)));
}

export function badge(status) {
  return h('span', { class: `badge st-${status}` }, humanize(status));
}
