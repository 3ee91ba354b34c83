// An actor: the measures that designate it, with their status on a chosen day, and its
// dyads (a person's or body's are those of its country).
import { actionLink, busiest, day, field, fill, h, humanize, num, table, today } from '../dom.js';
import { api, ApiError, problemBox, qs } from '../api.js';

export default async function actor(ctx) {
  const [code] = ctx.params;
  const asOf = /^\d{4}-\d{2}-\d{2}$/.test(ctx.query.get('as_of') || '') ? ctx.query.get('as_of') : today();
  const who = await api(`/v1/actors/${encodeURIComponent(code)}`, ctx);
  ctx.title(who.name);
  const state = who.kind === 'state' || who.kind === 'igo';
  const dyadsOf = state ? who.code : who.country;
  const [designations, dyads] = await Promise.all([
    // A day the API refuses (30 February) is said under the picker that can mend it.
    api(`/v1/actors/${encodeURIComponent(who.code)}/designations${qs({ as_of: asOf, limit: 200 })}`, ctx).catch((e) => {
      if (e instanceof ApiError && e.status === 400) return e;
      throw e;
    }),
    dyadsOf ? api(`/v1/dyads${qs({ actor: dyadsOf, limit: 20 })}`, ctx) : Promise.resolve(null),
  ]);

  const picker = h('input', { type: 'date', id: 'as-of', value: asOf, required: true });
  const form = h('form', { class: 'controls', 'aria-label': 'Day' },
    field(h('label', { for: 'as-of' }, 'Under which measures on'), picker),
    h('button', { type: 'submit' }, 'Show'),
    h('button', { type: 'button', class: 'chip', onclick: () => ctx.go({}) }, 'Today'));
  const go = () => { if (picker.value) ctx.go({ as_of: picker.value === today() ? '' : picker.value }); };
  // Only Show or Enter goes: a day typed digit by digit is whole (and fires `change`)
  // after each of its parts.
  form.addEventListener('submit', (e) => { e.preventDefault(); go(); });

  if (designations instanceof ApiError) {
    fill(ctx.view, h('h1', {}, h('bdi', {}, who.name)), form, problemBox(designations));
    return;
  }
  const inForce = designations.items.filter((d) => d.in_force).length;
  const rows = designations.items.map((d) => ({
    attrs: { 'data-action': d.action.id, 'data-in-force': String(d.in_force) },
    cells: [actionLink(d.action), `${d.action.initiator.code} → ${d.action.target.code}`, day(d.listed_on),
      h('span', { class: `state ${d.in_force ? 'on' : d.status_on ? 'off' : 'notyet'}`, 'data-state': '' }, stateText(d))],
  }));
  fill(ctx.view,
    h('p', { class: 'crumbs' }, h('a', { href: '/' }, 'Overview'), ' / actor'),
    h('h1', {}, h('bdi', {}, who.name), ' ', h('span', { class: 'kind' }, humanize(who.kind))),
    h('p', { class: 'lede' }, h('bdi', {}, who.description || ''),
      who.aliases.length ? [' Also known as ', who.aliases.map((a, i) => [i ? ', ' : '', h('bdi', {}, a)]), '.'] : ''),
    who.country ? h('p', {}, 'Country: ', h('a', { href: `/actors/${encodeURIComponent(who.country)}` }, who.country)) : null,
    h('section', { class: 'panel', 'aria-labelledby': 'des-h' },
      h('h2', { id: 'des-h' }, 'Designations'),
      form,
      h('p', { class: 'verdict', 'aria-live': 'polite', id: 'verdict' },
        designations.items.length
          ? `On ${day(asOf)}: ${inForce ? `under ${num(inForce)} measure${inForce === 1 ? '' : 's'} in force` : 'under no measure in force'}.`
          : 'No measure designates it.'),
      designations.items.length ? h('div', { class: 'scroll' }, table(['Measures that name ', h('bdi', {}, who.name), `, and their status on ${day(asOf)}`], ['Measure', 'By', 'Listed', `On ${day(asOf)}`], rows, { class: 'data stack', 'data-table': 'designations' })) : null,
      designations.next_page_token ? h('p', { class: 'hint' }, 'Only the first 200 are shown.') : null),
    dyads ? h('section', { class: 'panel', 'aria-labelledby': 'dy-h' },
      h('h2', { id: 'dy-h' }, state ? 'Its dyads' : `Dyads of ${dyadsOf}, its country`),
      dyads.items.length ? h('ul', { class: 'links' }, dyads.items.map((d) => h('li', {},
        h('a', { href: `/dyads/${d.a}/${d.b}` }, `${d.a} ⇄ ${d.b}`), ` — ${num(d.count)} actions, last ${day(d.last_announced_on)}`)))
        : h('p', { class: 'empty' }, 'No actions yet.'),
      busiest(dyads)) : null);
}

function stateText(d) {
  if (d.in_force) return 'in force';
  if (!d.status_on) return 'not yet';
  return humanize(d.status_on);
}
