// A dyad: its exchange over time and its summary as cards, both directions side by side.
import { announced, clear, day, field, h, num, pct, table, withTable } from '../dom.js';
import { api, ApiError, problemBox, qs } from '../api.js';
import { periodName, timelineChart } from '../timeline.js';

const INTERVALS = ['day', 'week', 'month', 'quarter', 'year'];
/** How many pending threats of each side are named on the card. */
const SHOWN_THREATS = 5;

export default async function dyad(ctx) {
  const [a, b] = ctx.params;
  const from = ctx.query.get('from') || '';
  const to = ctx.query.get('to') || '';
  // Unasked, the API picks the interval (months, or longer where a dyad spans more than
  // 10,000 of them) and says which.
  const asked = INTERVALS.includes(ctx.query.get('interval')) ? ctx.query.get('interval') : '';
  ctx.title(`${a} ⇄ ${b}`);
  const path = `/v1/dyads/${encodeURIComponent(a)}/${encodeURIComponent(b)}`;
  const refused = (e) => {
    if (e instanceof ApiError && e.status === 400) return e;
    throw e;
  };
  const [summary, timeline, actorA, actorB] = await Promise.all([
    // A window the API refuses as a whole (`from` after `to`) leaves the heading and the
    // form, with the problem under it to be corrected there.
    api(`${path}${qs({ from, to })}`, ctx).catch(refused),
    // A window the chart refuses (more than 10,000 buckets) leaves the rest of the page, and the
    // problem in the chart's place.
    api(`${path}/timeline${qs({ from, to, interval: asked })}`, ctx).catch(refused),
    api(`/v1/actors/${encodeURIComponent(a)}`, ctx),
    api(`/v1/actors/${encodeURIComponent(b)}`, ctx),
  ]);
  const heading = h('h1', {}, h('a', { href: `/actors/${encodeURIComponent(actorA.code)}` }, actorA.name), ' ⇄ ', h('a', { href: `/actors/${encodeURIComponent(actorB.code)}` }, actorB.name));
  const crumbs = h('p', { class: 'crumbs' }, h('a', { href: '/' }, 'Overview'), ' / dyad');
  if (summary instanceof ApiError) {
    clear(ctx.view).append(crumbs, heading, windowForm(ctx, from, to, asked, asked || 'month'), problemBox(summary));
    return;
  }
  const names = { ab: `${summary.a} → ${summary.b}`, ba: `${summary.b} → ${summary.a}` };
  // Pending threats are named by their titles (the first few of each side; the rest counted).
  const threatIds = [...summary.a_to_b.pending_threats.slice(0, SHOWN_THREATS), ...summary.b_to_a.pending_threats.slice(0, SHOWN_THREATS)];
  const threats = new Map((await Promise.all(threatIds.map((id) => api(`/v1/actions/${id}`, ctx).catch((e) => {
    if (e.name === 'AbortError') throw e;
    return null;
  })))).filter(Boolean).map((t) => [t.id, t]));
  const none = !summary.a_to_b.count && !summary.b_to_a.count;
  const interval = timeline instanceof ApiError ? asked || 'month' : timeline.interval;

  const form = windowForm(ctx, from, to, asked, interval);

  clear(ctx.view).append(
    crumbs,
    heading,
    h('p', { class: 'lede' }, `${num(summary.a_to_b.count + summary.b_to_a.count)} actions${from || to ? `, ${from ? day(from) : 'from the first'} to ${to ? day(to) : 'today'}` : ''}. Balance of severity: `,
      h('strong', { 'data-value': 'balance' }, num(summary.balance, 1)),
      h('span', { class: 'hint', 'data-value': 'harsher' }, ` (${summary.a} → ${summary.b} summed severity minus ${summary.b} → ${summary.a}: ${
        summary.balance < 0 ? `${summary.a} the harsher` : summary.balance > 0 ? `${summary.b} the harsher` : 'even'})`), ' ',
      none ? null : h('a', { href: `/search${qs({ dyad: `${summary.a},${summary.b}`, from, to })}` }, 'List them')),
    form,
    timeline instanceof ApiError ? problemBox(timeline)
      // Nothing to draw: said in words rather than an empty frame.
      : none ? h('p', { class: 'empty panel', 'data-empty': '' }, 'No actions between ', h('bdi', {}, actorA.name), ' and ', h('bdi', {}, actorB.name),
        from || to ? ` from ${from ? day(from) : 'the first'} to ${to ? day(to) : 'today'}.` : ' yet.')
        : chart(timeline, names, ctx.signal, !to),
    // Seven cards of zeros say nothing the sentence above does not.
    none ? null : h('h2', {}, 'Summary'),
    none ? null : cards(summary, names, threats));
}

/** The window and interval form; `interval` is the one shown (the API's choice when none
 * was asked). */
function windowForm(ctx, from, to, asked, interval) {
  const fromInput = h('input', { type: 'date', id: 'from', value: from });
  const toInput = h('input', { type: 'date', id: 'to', value: to });
  const intervalSelect = h('select', { id: 'interval' }, INTERVALS.map((i) => h('option', { value: i, selected: i === interval }, i)));
  const form = h('form', { class: 'controls', 'aria-label': 'Window and interval' },
    field(h('label', { for: 'from' }, 'From'), fromInput),
    field(h('label', { for: 'to' }, 'To'), toInput),
    field(h('label', { for: 'interval' }, 'Per'), intervalSelect),
    h('button', { type: 'submit' }, 'Show'));
  // The interval stays unasked until the reader picks another.
  const submit = () => ctx.go({ from: fromInput.value, to: toInput.value, interval: !asked && intervalSelect.value === interval ? '' : intervalSelect.value });
  form.addEventListener('submit', (e) => { e.preventDefault(); submit(); });
  // Picking an option (arrow keys included) only chooses: Show or Enter goes. Chromium does
  // not submit a form on Enter in a <select>, so Enter asks for it here.
  intervalSelect.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.altKey) { e.preventDefault(); form.requestSubmit(); }
  });
  return form;
}

/** The timeline; with no end asked (`toToday`), it ends with the last bucket that has
 * actions: the API's window runs to today, and a dyad quiet for years was drawn as a sliver
 * of bars beside a long flat line. */
function chart(t, names, signal, toToday) {
  const busy = (x) => x.a_to_b.count || x.b_to_a.count;
  const rows = t.buckets.filter(busy);
  const tbl = table(`Actions per ${t.interval} (buckets with none left out)`, ['Starting', names.ab, names.ba, 'Balance'],
    rows.map((x) => [day(x.start), num(x.a_to_b.count), num(x.b_to_a.count), num(x.balance, 1)]), { class: 'data', 'data-table': 'timeline' });
  const last = t.buckets.findLastIndex(busy);
  const cut = toToday && last >= 0 && last < t.buckets.length - 1;
  const drawn = cut ? { ...t, buckets: t.buckets.slice(0, last + 1) } : t;
  const figure = withTable(timelineChart(drawn, names, signal), tbl, `Timeline of ${names.ab} and ${names.ba}`);
  if (cut) {
    figure.firstChild.after(h('p', { class: 'hint', 'data-value': 'quiet-since' },
      `No actions after ${t.interval === 'week' ? 'the ' : ''}${periodName(t.buckets[last].start, t.interval)}: the chart ends there (give an end date to draw up to it).`));
  }
  return figure;
}

function cards(s, names, threats) {
  const ab = s.a_to_b, ba = s.b_to_a;
  // Each row says whose figure it is: "USA → CHN" over a median response read as the US
  // answering in a day, where it was China answering the US.
  const byDirection = [names.ab, names.ba];
  const answeredBy = [`${s.a}’s, answered by ${s.b}`, `${s.b}’s, answered by ${s.a}`];
  const answering = [`${s.b} answering ${s.a}`, `${s.a} answering ${s.b}`];
  const answersOf = [`${s.a}’s answers`, `${s.b}’s answers`];
  const pair = (labels, f) => [h('dt', {}, labels[0]), h('dd', { 'data-dir': 'a_to_b' }, f(ab)), h('dt', {}, labels[1]), h('dd', { 'data-dir': 'b_to_a' }, f(ba))];
  const card = (id, title, explain, f, labels = byDirection) => h('section', { class: 'card', 'data-card': id, 'aria-labelledby': `card-${id}` },
    h('h3', { id: `card-${id}` }, title), h('dl', {}, pair(labels, f)), h('p', { class: 'hint' }, explain));
  return h('div', { class: 'cards' },
    card('actions', 'Actions', 'How many, and their summed severity (−10 hostile … +10 cooperative).',
      (d) => `${num(d.count)} · severity ${num(d.severity_sum, 1)}`),
    card('reciprocity', 'Reciprocity', 'Share of each side’s actions that the other side answered.',
      (d) => `${pct(d.reciprocity_rate)} (${num(d.answered)} of ${num(d.count)} answered)`, answeredBy),
    card('response', 'Median response', 'Days from an action to the other side’s first answer.',
      (d) => d.median_response_days === null ? 'no answers' : `${num(d.median_response_days, 1)} day${d.median_response_days === 1 ? '' : 's'}`, answering),
    card('proportionality', 'Proportionality', 'How each side’s answers compare in severity with what they answer.',
      (d) => `mirror ${d.proportionality.mirror} · escalate ${d.proportionality.escalate} · de\u2011escalate ${d.proportionality.de_escalate}`, answersOf),
    card('threats', 'Threats carried out', 'Threats made, and how many were then implemented.',
      (d) => `${num(d.threats_implemented)} of ${num(d.threats)}${d.median_days_to_implement === null ? '' : ` · median ${num(d.median_days_to_implement, 1)} days`}`),
    card('pending', 'Pending threats', 'Threats not (yet) carried out.',
      (d) => d.pending_threats.length ? h('span', {}, `${num(d.pending_threats.length)}: `,
        d.pending_threats.slice(0, SHOWN_THREATS).map((id, i) => [i ? '; ' : '', threatLink(id, threats.get(id))]),
        d.pending_threats.length > SHOWN_THREATS ? `; and ${num(d.pending_threats.length - SHOWN_THREATS)} more` : '') : 'none'),
    // A window with an end counts what was in force on its last day, not today.
    card('in_force', s.to ? `In force on ${day(s.to)}` : 'In force now', `Measures in force on ${day(s.to || new Date().toISOString().slice(0, 10))}.`,
      (d) => num(d.in_force)));
}

/** A pending threat's link, named by its title and day (its id when it could not be read). */
function threatLink(id, t) {
  return h('a', { href: `/actions/${id}` }, t ? [h('bdi', {}, t.title), ` (${announced(t)})`] : `action ${id}`);
}
