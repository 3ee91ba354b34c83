// One action: what it is, whom it names, its sources and their quotes, its status over time,
// what it answers and what answers it.
import { actionLink, actorLink, announced, badge, clear, day, h, humanize, severity } from '../dom.js';
import { actionTypes, api, typeName } from '../api.js';

export default async function action(ctx) {
  const [id] = ctx.params;
  // A deleted action, reached from a search that included them, is shown as the API shows
  // it; nothing answers it any more, and it is in no chain.
  const deleted = ctx.query.get('show_deleted') === 'true' ? '?show_deleted=true' : '';
  const [a, history, answeredBy, types] = await Promise.all([
    api(`/v1/actions/${id}${deleted}`, ctx),
    api(`/v1/actions/${id}/history${deleted}`, ctx),
    deleted ? { items: [] } : api(`/v1/actions/${id}/responses?limit=200`, ctx),
    actionTypes(),
  ]);
  ctx.title(a.title);
  // The titles of what it answers (a deleted one keeps its id).
  const answered = await Promise.all(a.responds_to.slice(0, 50).map((r) =>
    api(`/v1/actions/${r.action}`, ctx).then((doc) => ({ ...r, doc }), (e) => {
      if (e.name === 'AbortError') throw e;
      return { ...r, doc: null };
    })));

  const facts = [
    ['Initiator', actorLink(a.initiator)],
    ['Target', actorLink(a.target)],
    ['Authority', a.authority ? actorLink(a.authority) : '—'],
    ['Type', `${typeName(types, a.type)} (${humanize(a.category)})`],
    ['Status', badge(a.status)],
    ['Announced', announced(a)],
    ['In effect', a.effective_from ? `${day(a.effective_from)} to ${a.effective_to ? day(a.effective_to) : 'open'}` : '—'],
    ['Severity', severity(a.severity)],
    ['Legal basis', a.legal_basis || '—'],
    ['Programme', a.program || '—'],
    ['Tags', a.tags.length ? a.tags.map((t, i) => [i ? ' ' : '', h('a', { class: 'tag', href: `/search?tag=${encodeURIComponent(t)}` }, t)]) : '—'],
  ];
  clear(ctx.view).append(
    h('p', { class: 'crumbs' }, h('a', { href: '/' }, 'Overview'), ' / ',
      h('a', { href: `/dyads/${a.initiator.code}/${a.target.code}` }, `${a.initiator.code} ⇄ ${a.target.code}`), ' / action'),
    h('h1', {}, a.title),
    h('p', { class: 'lede' }, a.summary || ''),
    a.deleted_at
      ? h('p', { class: 'notice', 'data-deleted': '' }, `Deleted on ${day(a.deleted_at)}: no list, count or chain includes it. `,
        h('code', {}, `POST /v1/actions/${a.id}/restore`), ' with a write key brings it back.')
      // An action that answers nothing and that nothing answers is an episode of one.
      : a.responds_to.length || answeredBy.items.length
        ? h('p', {}, h('a', { class: 'button', href: `/actions/${a.id}/chain` }, 'See its escalation chain'))
        : null,
    h('div', { class: 'two' },
      h('section', { class: 'panel', 'aria-labelledby': 'facts-h' }, h('h2', { id: 'facts-h' }, 'Facts'),
        h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]))),
      h('section', { class: 'panel', 'aria-labelledby': 'status-h' }, h('h2', { id: 'status-h' }, 'Status history'), statusLine(history.items))),
    h('section', { class: 'panel', 'aria-labelledby': 'named-h' }, h('h2', { id: 'named-h' }, 'Whom it names'),
      a.designations.length
        ? h('ul', { class: 'names' }, a.designations.map((d) => h('li', {}, actorLink(d.actor), ` (${humanize(d.actor.kind)}), listed ${day(d.listed_on)}`)))
        : h('p', { class: 'empty' }, 'No people or bodies are named.')),
    h('section', { class: 'panel', 'aria-labelledby': 'sources-h' }, h('h2', { id: 'sources-h' }, 'Sources'),
      a.sources.length ? h('ul', { class: 'sources' }, a.sources.map((s) => h('li', {},
        httpUrl(s.url)
          ? h('a', { href: s.url, rel: 'noopener noreferrer nofollow', target: '_blank' }, s.publisher || httpUrl(s.url).hostname)
          : [s.publisher ? [h('bdi', {}, s.publisher), ': '] : '', h('span', { class: 'url' }, s.url)],
        s.published_on ? `, ${day(s.published_on)}` : '',
        s.quote ? h('blockquote', { cite: s.url }, s.quote) : null))) : h('p', { class: 'empty' }, 'No sources.')),
    h('div', { class: 'two' },
      h('section', { class: 'panel', 'aria-labelledby': 'answers-h' }, h('h2', { id: 'answers-h' }, 'It answers'),
        answered.length ? h('ul', { class: 'links' }, answered.map((r) => h('li', { 'data-relation': r.relation },
          h('span', { class: 'rel' }, humanize(r.relation)), ' ',
          r.doc ? [actionLink(r.doc), ` (${r.doc.initiator.code}, ${announced(r.doc)})`] : h('code', {}, r.action)))) : h('p', { class: 'empty' }, 'Nothing: it starts an episode.')),
      h('section', { class: 'panel', 'aria-labelledby': 'answered-h' }, h('h2', { id: 'answered-h' }, 'Answered by'),
        answeredBy.items.length ? h('ul', { class: 'links' }, answeredBy.items.map((r) => {
          const rel = r.responds_to.find((x) => x.action === a.id)?.relation;
          return h('li', { 'data-relation': rel || '' }, h('span', { class: 'rel' }, humanize(rel)), ' ', actionLink(r), ` (${r.initiator.code}, ${announced(r)})`);
        })) : h('p', { class: 'empty' }, 'No answer recorded yet.'))));
}

/** The statuses on a small time line: a dot per change, spaced by date. */
function statusLine(items) {
  if (!items.length) return h('p', { class: 'empty' }, 'No status recorded.');
  const t = items.map((s) => Date.parse(s.on + 'T00:00:00Z'));
  const min = Math.min(...t), max = Math.max(...t);
  const x = (v) => (max === min ? 50 : 6 + (88 * (v - min)) / (max - min));
  const line = h('div', { class: 'statusline', 'aria-hidden': 'true' },
    h('span', { class: 'rule' }),
    items.map((s, i) => h('span', { class: `dot st-${s.status}`, style: `left:${x(t[i])}%`, title: `${humanize(s.status)} on ${day(s.on)}` })));
  return h('div', {}, line, h('ol', { class: 'statuses' }, items.map((s) => h('li', {},
    badge(s.status), ` ${day(s.on)}`, s.note ? [' — ', h('bdi', {}, s.note)] : '',
    httpUrl(s.source_url) ? [' ', h('a', { href: s.source_url, rel: 'noopener noreferrer nofollow', target: '_blank' }, 'source')]
      : s.source_url ? [' (source: ', h('span', { class: 'url' }, s.source_url), ')'] : ''))));
}

/** The URL if it is an http(s) one the browser can open, else null: a database filled
 * before the API refused them may hold some the browser's parser refuses
 * (`https://a%zz.org/`), and those are shown as text. */
function httpUrl(url) {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u : null;
  } catch {
    return null;
  }
}
