// An episode as a layered graph, generation by generation, with a table of the same.
import { actionLink, announced, clear, colours, day, h, num, table, withTable } from '../dom.js';
import { api } from '../api.js';
import { chainGraph } from '../layered.js';

/** Beyond this many actions the graph is too large to read: the table alone is shown. */
const MAX_DRAWN = 300;

export default async function chain(ctx) {
  const [id] = ctx.params;
  const c = await api(`/v1/actions/${id}/chain`, ctx);
  const start = c.nodes.find((n) => n.id === id);
  ctx.title(`Chain: ${start ? start.title : id}`);
  const colour = colours(c.nodes.map((n) => n.initiator.code));
  const titles = new Map(c.nodes.map((n) => [n.id, n]));
  const answers = new Map();
  for (const e of c.edges) (answers.get(e.from) || answers.set(e.from, []).get(e.from)).push(e);
  const tbl = table('The episode, generation by generation', ['Generation', 'Date', 'Initiator', 'Action', 'Answers'],
    [...c.nodes].sort((x, y) => x.generation - y.generation || x.announced_on.localeCompare(y.announced_on)).map((n) => ({
      attrs: { 'data-id': n.id },
      cells: [String(n.generation), announced(n), n.initiator.code, actionLink(n),
        (answers.get(n.id) || []).map((e, i) => [i ? '; ' : '', `${e.relation.replaceAll('_', ' ')} `, h('a', { href: `/actions/${e.to}` }, titles.get(e.to)?.title || e.to)])],
    })), { class: 'data', 'data-table': 'chain' });
  const legend = h('ul', { class: 'legend', 'aria-label': 'Initiators' }, [...colour].map(([code, col]) =>
    h('li', {}, h('span', { class: 'swatch', style: `background:${col}` }), code)));
  const s = c.summary;
  const drawn = c.nodes.length <= MAX_DRAWN
    ? withTable(chainGraph(c, colour), tbl, 'The episode as a graph')
    : h('div', {}, h('p', { class: 'hint' }, `${num(c.nodes.length)} actions are too many to draw; here they are as a table.`), tbl);
  clear(ctx.view).append(
    h('p', { class: 'crumbs' }, h('a', { href: '/' }, 'Overview'), ' / ', start ? h('a', { href: `/actions/${id}` }, start.title) : 'action', ' / chain'),
    h('h1', {}, 'Escalation chain'),
    h('p', { class: 'lede' }, `${num(s.actions)} action${s.actions === 1 ? '' : 's'} over ${num(s.span_days)} day${s.span_days === 1 ? '' : 's'}, ${day(s.first_announced_on)} to ${day(s.last_announced_on)}. `,
      s.by_direction.map((d, i) => [i ? '; ' : '', `${d.initiator} → ${d.target}: ${num(d.count)} (severity ${num(d.severity_sum, 1)})`])),
    h('p', { class: 'hint' }, 'Each row is a generation: the actions at the top started the episode, each arrow goes from an answer to what it answers. Colour: the initiator; the deeper the shade, the more severe. Select a node to open the action.'),
    legend,
    drawn);
  const own = ctx.view.querySelector(`.node[data-id="${id}"]`);
  if (own) {
    own.classList.add('current');
    // The action the chain was opened for, in view: deep in a long episode it sat thousands
    // of pixels down (or, on a phone, off to the side) of a box that opened at its start.
    // The box scrolls, not the page.
    const box = own.closest('.graph-scroll');
    if (box) {
      const [b, r] = [box.getBoundingClientRect(), own.getBoundingClientRect()];
      box.scrollTop += r.top - b.top - (b.height - r.height) / 2;
      box.scrollLeft += r.left - b.left - (b.width - r.width) / 2;
    }
  }
  // The generation labels stay at the box's left edge however far it is scrolled: on a
  // phone, centred on its action, the box had them out of view.
  const box = ctx.view.querySelector('.graph-scroll');
  if (box) {
    const labels = box.querySelectorAll('.gen-label');
    const keep = () => labels.forEach((l) => l.setAttribute('x', String(box.scrollLeft + 4)));
    box.addEventListener('scroll', keep, { passive: true });
    keep();
  }
}
