// Search: the full-text search and the filters of GET /v1/actions, page by page. The form
// is the URL: every search can be bookmarked, and the back button goes to the last page.
import { actionLink, actorLink, badge, clear, day, h, humanize, num, severity, table } from '../dom.js';
import { api, qs } from '../api.js';

const FIELDS = ['q', 'initiator', 'target', 'dyad', 'category', 'type', 'status', 'designated', 'tag', 'from', 'to', 'sort', 'page_token'];
const STATUSES = ['threatened', 'announced', 'in_force', 'suspended', 'lifted', 'expired'];
const SORTS = [['-announced_on', 'newest first'], ['announced_on', 'oldest first'], ['-severity', 'most cooperative first'], ['severity', 'most hostile first'], ['-updated_at', 'recently changed'], ['relevance', 'best match (with words)']];

export default async function search(ctx) {
  const params = Object.fromEntries(FIELDS.map((f) => [f, ctx.query.get(f) || '']));
  ctx.title(params.q ? `Search: ${params.q}` : 'Search');
  const [types, page] = await Promise.all([
    api('/v1/action-types', ctx),
    api(`/v1/actions${qs({ ...params, limit: 25, include_total: true })}`, ctx),
  ]);
  const categories = [...new Map(types.items.map((t) => [t.category, t.category])).keys()].sort();

  const input = (name, label, attrs = {}) => [h('label', { for: `f-${name}` }, label), h('input', { id: `f-${name}`, name, value: params[name], ...attrs })];
  const select = (name, label, options) => [h('label', { for: `f-${name}` }, label), h('select', { id: `f-${name}`, name },
    h('option', { value: '' }, 'any'), options.map(([v, l]) => h('option', { value: v, selected: v === params[name] }, l)))];
  const form = h('form', { class: 'search-form', role: 'search', 'aria-label': 'Search actions' },
    h('div', { class: 'search-main' }, ...input('q', 'Words', { type: 'search', placeholder: 'e.g. Xinjiang sanctions', autocomplete: 'off' }), h('button', { type: 'submit' }, 'Search')),
    h('details', { open: FIELDS.slice(1, 11).some((f) => params[f]) || null }, h('summary', {}, 'Filters'),
      h('div', { class: 'filters' },
        h('div', {}, ...input('initiator', 'Initiator (code)', { placeholder: 'USA' })),
        h('div', {}, ...input('target', 'Target (code)', { placeholder: 'CHN' })),
        h('div', {}, ...input('dyad', 'Dyad', { placeholder: 'USA,CHN' })),
        h('div', {}, ...select('category', 'Category', categories.map((c) => [c, humanize(c)]))),
        h('div', {}, ...select('type', 'Type', types.items.map((t) => [t.code, t.label]))),
        h('div', {}, ...select('status', 'Status', STATUSES.map((s) => [s, humanize(s)]))),
        h('div', {}, ...input('designated', 'Names (actor code)', { placeholder: 'chen-quanguo' })),
        h('div', {}, ...input('tag', 'Tag')),
        h('div', {}, ...input('from', 'From', { type: 'date' })),
        h('div', {}, ...input('to', 'To', { type: 'date' })),
        h('div', {}, ...select('sort', 'Order', SORTS)))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    ctx.go(data);
  });

  const next = page.next_page_token ? { ...params, page_token: page.next_page_token } : null;
  const results = page.items.length
    ? h('div', { class: 'scroll' }, table(`${num(page.total)} action${page.total === 1 ? '' : 's'} found`, ['Action', 'Between', 'Type', 'Announced', 'Status', 'Severity'],
      page.items.map((a) => ({ attrs: { 'data-id': a.id }, cells: [actionLink(a), [actorLink(a.initiator), ' → ', actorLink(a.target)], humanize(a.type), day(a.announced_on), badge(a.status), severity(a.severity)] })),
      { class: 'data', 'data-table': 'results' }))
    : h('p', { class: 'empty', 'data-empty': '' }, 'No action matches.');
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' },
    params.page_token ? h('a', { href: `/search${qs({ ...params, page_token: '' })}` }, '« First page') : null,
    next ? h('a', { href: `/search${qs(next)}`, rel: 'next' }, 'Next page »') : null);
  clear(ctx.view).append(h('h1', {}, 'Search'), form, results, pager);
}
