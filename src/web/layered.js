// An episode drawn as a layered graph: one row per generation, top to bottom; within a row
// nodes are ordered next to what they answer (barycentre sweeps), which keeps most edges
// short and uncrossed. Plain SVG, so nodes are real links: focusable, and opened with Enter.
import { announced, h, isolate } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';
const W = 250, H = 74, GAP_X = 28, GAP_Y = 86, PAD = 16;

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

/** Rows of node ids, ordered to reduce crossings. */
export function layers(nodes, edges) {
  const rows = [];
  for (const n of [...nodes].sort((a, b) => a.announced_on.localeCompare(b.announced_on) || a.id.localeCompare(b.id))) {
    (rows[n.generation] ||= []).push(n.id);
  }
  const dense = rows.filter(Boolean);
  const neighbours = new Map(nodes.map((n) => [n.id, []]));
  for (const e of edges) {
    neighbours.get(e.from)?.push(e.to);
    neighbours.get(e.to)?.push(e.from);
  }
  const position = new Map();
  const place = () => dense.forEach((row) => row.forEach((id, i) => position.set(id, i - (row.length - 1) / 2)));
  place();
  const sweep = (row) => {
    const centre = (id) => {
      const ps = neighbours.get(id).filter((n) => position.has(n)).map((n) => position.get(n));
      return ps.length ? ps.reduce((s, p) => s + p, 0) / ps.length : position.get(id);
    };
    const keyed = row.map((id, i) => [centre(id), i, id]);
    keyed.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    row.splice(0, row.length, ...keyed.map((k) => k[2]));
    place();
  };
  for (let pass = 0; pass < 4; pass++) {
    const order = pass % 2 === 0 ? dense.slice(1) : dense.slice(0, -1).reverse();
    order.forEach(sweep);
  }
  return dense;
}

// Node titles are measured as app.css draws them (.node-title), as well as counted: a line
// of wide letters, or a long word, would otherwise run past its box. They start 14 px in
// and keep as much on the right (2 px was left, against the border).
const ROOM = W - 28;
let measure = null;
function fits(s) {
  if (!measure) {
    measure = document.createElement('canvas').getContext('2d');
    measure.font = `600 13px ${getComputedStyle(document.documentElement).fontFamily}`;
  }
  return measure.measureText(s).width <= ROOM;
}

function wrap(text, width, lines) {
  const ok = (s) => s.length <= width && fits(s);
  const out = [];
  for (const word of text.split(/\s+/).filter(Boolean)) {
    let chars = [...word];
    while (chars.length) {
      const last = out[out.length - 1];
      if (last !== undefined && ok(`${last} ${chars.join('')}`)) {
        out[out.length - 1] = `${last} ${chars.join('')}`;
        break;
      }
      if (out.length === lines) {
        let cut = [...(last.includes(' ') ? last.replace(/\s*\S*$/, '') : last)];
        while (cut.length && !ok(`${cut.join('')}…`)) cut.pop();
        out[lines - 1] = `${cut.join('')}…`;
        return out;
      }
      // A word too long for a line is cut in pieces.
      let n = chars.length;
      while (n > 1 && !ok(chars.slice(0, n).join(''))) n--;
      out.push(chars.slice(0, n).join(''));
      chars = chars.slice(n);
    }
  }
  return out;
}

/** The SVG of an episode: `colour` maps initiator codes to colours. */
export function chainGraph(chain, colour) {
  const rows = layers(chain.nodes, chain.edges);
  const byId = new Map(chain.nodes.map((n) => [n.id, n]));
  const widest = Math.max(...rows.map((r) => r.length));
  const width = PAD * 2 + widest * W + (widest - 1) * GAP_X;
  const height = PAD * 2 + rows.length * H + (rows.length - 1) * GAP_Y;
  const at = new Map();
  rows.forEach((row, r) => {
    const rowWidth = row.length * W + (row.length - 1) * GAP_X;
    const x0 = (width - rowWidth) / 2;
    row.forEach((id, i) => at.set(id, { x: x0 + i * (W + GAP_X), y: PAD + r * (H + GAP_Y), row: r }));
  });
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, class: 'chain-graph', role: 'group', 'aria-label': `Episode of ${chain.nodes.length} actions in ${rows.length} generations` });
  root.append(svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
    svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow' }))));
  rows.forEach((row, r) => root.append(svg('text', { x: 4, y: PAD + r * (H + GAP_Y) - 4, class: 'gen-label' }, `generation ${r}`)));
  const edgeLayer = svg('g', { class: 'edges' });
  const labelLayer = svg('g', { class: 'edge-labels' });
  for (const e of chain.edges) {
    const a = at.get(e.from), b = at.get(e.to);
    if (!a || !b) continue;
    // From the answer to what it answers: the arrow points at the earlier action.
    const down = a.y > b.y;
    const x1 = a.x + W / 2, y1 = down ? a.y : a.y + H;
    const x2 = b.x + W / 2, y2 = down ? b.y + H : b.y;
    const mid = (y1 + y2) / 2;
    edgeLayer.append(svg('path', { d: `M${x1},${y1} C${x1},${mid} ${x2},${mid} ${x2},${y2}`, class: `edge rel-${e.relation}`, 'marker-end': 'url(#arrow)', 'data-from': e.from, 'data-to': e.to, 'data-relation': e.relation }));
    labelLayer.append(svg('text', { x: (x1 + x2) / 2, y: mid + 4, class: 'edge-label', 'text-anchor': 'middle', 'data-relation': e.relation }, e.relation.replaceAll('_', ' ')));
  }
  root.append(edgeLayer);
  const nodeLayer = svg('g', { class: 'nodes' });
  for (const [id, p] of at) {
    const n = byId.get(id);
    const c = colour.get(n.initiator.code);
    // Up to 0.3 of the colour: severity shows, and the texts on it keep 4.5:1 in both
    // themes (up to 0.62, the date line fell to 2:1).
    const shade = 0.08 + 0.22 * Math.min(1, Math.abs(n.severity) / 10);
    // The name starts with what the node shows, title then meta (WCAG's label in name).
    const meta = `${n.initiator.code} → ${n.target.code} · ${announced(n)}`;
    const link = svg('a', { href: `/actions/${id}`, class: 'node', 'data-id': id, 'data-generation': n.generation, 'aria-label': `${isolate(n.title)}; ${meta} (${isolate(n.initiator.name)} to ${isolate(n.target.name)}); generation ${n.generation}; severity ${n.severity}` },
      svg('title', {}, `${isolate(n.title)} (severity ${n.severity})`),
      svg('rect', { x: p.x, y: p.y, width: W, height: H, rx: 6, class: 'node-box' }),
      svg('rect', { x: p.x, y: p.y, width: W, height: H, rx: 6, fill: c, 'fill-opacity': shade.toFixed(2), class: 'node-shade' }),
      svg('rect', { x: p.x, y: p.y, width: 6, height: H, fill: c }),
    );
    const lines = wrap(n.title, 31, 2);
    lines.forEach((l, i) => link.append(svg('text', { x: p.x + 14, y: p.y + 20 + i * 17, class: 'node-title' }, l)));
    link.append(svg('text', { x: p.x + 14, y: p.y + H - 10, class: 'node-meta' }, meta));
    nodeLayer.append(link);
  }
  root.append(nodeLayer, labelLayer);
  return h('div', { class: 'graph-scroll' }, root);
}
