// Search: the full-text search and the filters of GET /v1/actions, page by page. The form
// is the URL: every search can be bookmarked, and the back button goes to the last page.
import { actionLink, actorLink, announced, badge, clear, h, humanize, num, severity, table } from '../dom.js';
import { actionTypes, api, ApiError, problemBox, qs, typeName } from '../api.js';

// Every parameter of GET /v1/actions but `limit` and `include_total`, which are the page's:
// the words, the filters, then the order and the page.
const FIELDS = ['q', 'initiator', 'target', 'dyad', 'category', 'type', 'status', 'designated', 'tag', 'severity_min', 'severity_max',
  'from', 'to', 'as_of', 'answered', 'updated_since', 'show_deleted', 'sort', 'page_token'];
const STATUSES = ['threatened', 'announced', 'in_force', 'suspended', 'lifted', 'expired'];
const SORTS = [['-announced_on', 'newest first'], ['announced_on', 'oldest first'], ['-severity', 'most cooperative first'], ['severity', 'most hostile first'], ['-updated_at', 'recently changed'], ['relevance', 'best match (with words)']];

// The page's own: where in the results a later page starts (page tokens say nothing a
// person can read), carried from page to page and never sent to the API.
const PAGE = ['at'];

export default async function search(ctx) {
  const params = Object.fromEntries(FIELDS.map((f) => [f, ctx.query.get(f) || '']));
  const ignored = [...new Set(ctx.query.keys())].filter((k) => !FIELDS.includes(k) && !PAGE.includes(k));
  const at = params.page_token ? Math.max(1, Math.floor(Number(ctx.query.get('at'))) || 1) : 1;
  ctx.title(params.q ? `Search: ${params.q}` : 'Search');
  const [types, page] = await Promise.all([
    actionTypes(),
    // A search the API refuses (best match without words, a mistyped day) is shown with its
    // form, to be corrected there.
    // With words and no order chosen, the best matches come first (the API's default is
    // newest first, which buried them).
    api(`/v1/actions${qs({ ...params, sort: params.sort || (params.q ? 'relevance' : ''), limit: 25, include_total: true })}`, ctx).catch((e) => {
      if (e instanceof ApiError && e.status === 400) return e;
      throw e;
    }),
  ]);
  const categories = [...new Set([...types.values()].map((t) => t.category))].sort();

  const input = (name, label, attrs = {}) => {
    const field = h('input', { id: `f-${name}`, name, value: params[name], ...attrs });
    // A date or number the browser cannot hold (2020-13-01, abc) showed as an empty field
    // under the problem naming it: shown as it was sent, to be mended.
    if (params[name] && field.value !== params[name]) {
      field.type = 'text';
      field.value = params[name];
      field.setAttribute('aria-invalid', 'true');
    }
    return [h('label', { for: `f-${name}` }, label), field];
  };
  // A value the options lack (`in_force,lifted`) is one more option, kept when the form is sent again.
  const select = (name, label, options, none = 'any') => [h('label', { for: `f-${name}` }, label), h('select', { id: `f-${name}`, name },
    h('option', { value: '' }, none), options.map(([v, l]) => h('option', { value: v, selected: v === params[name] }, l)),
    params[name] && !options.some(([v]) => v === params[name]) ? h('option', { value: params[name], selected: true }, params[name]) : null)];
  const form = h('form', { class: 'search-form', role: 'search', 'aria-label': 'Search actions' },
    h('div', { class: 'search-main' }, ...input('q', 'Words', { type: 'search', placeholder: 'e.g. Xinjiang sanctions', autocomplete: 'off' }), h('button', { type: 'submit' }, 'Search')),
    h('details', { open: FIELDS.slice(1, -2).some((f) => params[f]) || null }, h('summary', {}, 'Filters'),
      h('div', { class: 'filters' },
        h('div', {}, ...input('initiator', 'Initiator (code)', { placeholder: 'e.g. USA' })),
        h('div', {}, ...input('target', 'Target (code)', { placeholder: 'e.g. CHN' })),
        h('div', {}, ...input('dyad', 'Dyad', { placeholder: 'e.g. USA,CHN' })),
        h('div', {}, ...select('category', 'Category', categories.map((c) => [c, humanize(c)]))),
        h('div', {}, ...select('type', 'Type', [...types.values()].map((t) => [t.code, t.label]))),
        h('div', {}, ...select('status', 'Status', STATUSES.map((s) => [s, humanize(s)]))),
        h('div', {}, ...input('designated', 'Names (actor code)', { placeholder: 'e.g. chen-quanguo' })),
        h('div', {}, ...input('tag', 'Tag')),
        h('div', {}, ...input('severity_min', 'Severity at least', { type: 'number', min: -10, max: 10, step: 'any', placeholder: '\u221210 to 10' })),
        h('div', {}, ...input('severity_max', 'Severity at most', { type: 'number', min: -10, max: 10, step: 'any', placeholder: '\u221210 to 10' })),
        h('div', {}, ...input('from', 'From', { type: 'date' })),
        h('div', {}, ...input('to', 'To', { type: 'date' })),
        h('div', {}, ...input('as_of', 'In force on', { type: 'date' })),
        h('div', {}, ...select('answered', 'Answered', [['true', 'answered'], ['false', 'not answered']])),
        h('div', {}, ...input('updated_since', 'Changed since', { placeholder: 'e.g. 2020-07-10T00:00:00Z' })),
        h('div', { class: 'check' }, h('input', { id: 'f-show_deleted', name: 'show_deleted', type: 'checkbox', value: 'true', checked: params.show_deleted === 'true' }),
          h('label', { for: 'f-show_deleted' }, 'Include deleted actions')),
        h('div', {}, ...select('sort', 'Order', SORTS, 'best match with words, else newest first')))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    ctx.go(data);
  });

  const next = page.next_page_token ? { ...params, page_token: page.next_page_token, at: at + page.items.length } : null;
  const found = page instanceof ApiError ? '' : `${num(page.total)} action${page.total === 1 ? '' : 's'} found`;
  // Which of them this page shows, once there is more than one page.
  const shown = page instanceof ApiError || (at === 1 && !next) ? ''
    : ` · ${num(at)}–${num(at + page.items.length - 1)} shown`;
  const results = page instanceof ApiError ? problemBox(page) : page.items.length
    ? h('div', { class: 'scroll' }, table(`${found}${shown}`, ['Action', 'Between', 'Type', 'Announced', 'Status', 'Severity'],
      page.items.map((a) => ({ attrs: { 'data-id': a.id }, cells: [actionLink(a), [actorLink(a.initiator), ' → ', actorLink(a.target)], typeName(types, a.type), announced(a), badge(a.status), severity(a.severity)] })),
      { class: 'data stack', 'data-table': 'results' }))
    : h('p', { class: 'empty', 'data-empty': '' }, 'No action matches.');
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' },
    params.page_token ? h('a', { href: `/search${qs({ ...params, page_token: '' })}` }, '« First page') : null,
    next ? h('a', { href: `/search${qs(next)}`, rel: 'next' }, 'Next page »') : null);
  clear(ctx.view).append(h('h1', {}, 'Search'),
    ignored.length ? h('p', { class: 'hint', 'data-ignored': '' }, 'Not parameters of the search, so ignored: ', ignored.map((k, i) => [i ? ', ' : '', h('bdi', {}, k)]), '.') : '',
    form, results, pager);
}
