// A dyad's timeline drawn with uPlot (vendor/, loaded as the global `uPlot`): a bar per
// direction per bucket, and the running balance as a line on its own axis.
import { day, h, MONTHS, num, PALETTE } from './dom.js';

// Not Date.UTC, which reads the years 0 to 99 as 1900 to 1999 (the API has years from 1).
const seconds = (iso) => new Date(0).setUTCFullYear(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10)) / 1000;

const COUNT_STEPS = [1, 2, 5].flatMap((m) => [1, 10, 100, 1e3, 1e4, 1e5, 1e6].map((p) => m * p)).sort((a, b) => a - b);

/** The start of the bucket after the one starting at `s` (seconds), by the calendar. */
function nextStart(s, interval) {
  const d = new Date(s * 1000);
  if (interval === 'day') d.setUTCDate(d.getUTCDate() + 1);
  else if (interval === 'week') d.setUTCDate(d.getUTCDate() + 7);
  else if (interval === 'month') d.setUTCMonth(d.getUTCMonth() + 1);
  else if (interval === 'quarter') d.setUTCMonth(d.getUTCMonth() + 3);
  else d.setUTCFullYear(d.getUTCFullYear() + 1);
  return d.getTime() / 1000;
}

/** Bars that stand inside their bucket's period (from its start to the next bucket's
 * start): the first side in its left half, the second in its right half. uPlot's own bars
 * are centred on (or, aligned, beside) the start, so the first bucket's fell off the chart
 * and each bar stood over the period before its own. */
function periodBars(ends, side) {
  return (u, i) => {
    const [x, counts] = [u.data[0], u.data[i]];
    const other = u.data[side === 0 ? 2 : 1];
    const fill = new Path2D();
    const base = Math.round(u.valToPos(0, 'n', true));
    for (let k = 0; k < x.length; k++) {
      if (!counts[k]) continue;
      const a = u.valToPos(x[k], 'x', true), z = u.valToPos(ends[k], 'x', true);
      const top = Math.round(u.valToPos(counts[k], 'n', true));
      if (z - a < NARROW) {
        // Too narrow for two bars side by side (a daily chart of years): both sides share
        // the period's column, the second drawn over the first only where it is the
        // shorter, so that each shows up to its own count (drawn side by side, they fell on
        // one pixel and the second hid the first).
        const [left, right] = [Math.floor(a), Math.max(Math.floor(a) + 1, Math.floor(z))];
        const bottom = side === 1 && counts[k] > (other[k] || 0)
          ? Math.round(u.valToPos(other[k] || 0, 'n', true)) : base;
        fill.rect(left, top, right - left, bottom - top);
        continue;
      }
      const pad = (z - a) * 0.1, mid = (a + z) / 2, gap = Math.min(1, (z - a) / 20);
      const left = Math.round(side === 0 ? a + pad : mid + gap);
      const right = Math.round(side === 0 ? mid - gap : z - pad);
      fill.rect(left, top, Math.max(1, right - left), base - top);
    }
    return { stroke: fill, fill };
  };
}

/** The running balance at the end of each bucket's period (it counts the bucket's actions),
 * from 0 at the window's start: drawn at the buckets' starts, it moved a period before the
 * actions that move it. Its points, as values, are kept on the chart as `balancePoints`. */
function balanceLine(ends) {
  return (u, i) => {
    const [x, balance] = [u.data[0], u.data[i]];
    const points = x.length ? [[x[0], 0], ...ends.map((end, k) => [end, balance[k]])] : [];
    u.balancePoints = points;
    const line = new Path2D();
    points.forEach(([t, v], k) => {
      const [px, py] = [u.valToPos(t, 'x', true), u.valToPos(v, 'bal', true)];
      if (k === 0) line.moveTo(px, py);
      else line.lineTo(px, py);
    });
    return { stroke: line };
  };
}

/** A value axis as wide as its longest tick label: uPlot's fixed 50 px let `−1,500` run
 * into the axis's title. */
function fitTicks(u, values) {
  const longest = Math.max(0, ...(values || []).map((v) => String(v).length));
  return Math.max(50, Math.ceil(24 + 7.5 * longest));
}

/** Canvas pixels below which a bucket's two bars share one column (`periodBars`). */
const NARROW = 4;

/** A bucket as the reader names it, from its start (seconds, UTC): `9 Jul 2020`,
 * `week of 6 Jul 2020`, `Jul 2020`, `Q3 2020`, `2020`. */
/** The period a bucket starting on the day `iso` covers, as the legend names it. */
export function periodName(iso, interval) {
  return bucketName(seconds(iso), interval);
}

function bucketName(s, interval) {
  const d = new Date(s * 1000);
  const y = d.getUTCFullYear(), m = d.getUTCMonth();
  const iso = `${String(y).padStart(4, '0')}-${String(m + 1).padStart(2, '0')}-${String(d.getUTCDate()).padStart(2, '0')}`;
  if (interval === 'day') return day(iso);
  if (interval === 'week') return `week of ${day(iso)}`;
  if (interval === 'month') return day(iso).replace(/^1 /, '');
  if (interval === 'quarter') return `Q${Math.floor(m / 3) + 1} ${y}`;
  return String(y);
}

/** The time axis's labels, in the page's way of writing dates (`6 Jul`, `Aug`, `2021`; the
 * first of each year with its year): uPlot's own are American (`7/6`). */
function tickNames(u, splits, axis, space, incr) {
  const DAY = 86400;
  return splits.map((s, i) => {
    const d = new Date(s * 1000);
    const y = d.getUTCFullYear(), m = MONTHS[d.getUTCMonth()];
    if (incr >= 365 * DAY) return String(y);
    const first = i === 0 || new Date(splits[i - 1] * 1000).getUTCFullYear() !== y;
    const name = incr >= 28 * DAY ? m : `${d.getUTCDate()} ${m}`;
    return first ? `${name}\n${y}` : name;
  });
}

/** The index of the bucket whose period holds `v`: the last start at or before it. */
function bucketAt(x, v) {
  let lo = 0, hi = x.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (x[mid] <= v) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export function timelineChart(t, names, signal) {
  const x = t.buckets.map((b) => seconds(b.start));
  const ends = x.map((s) => nextStart(s, t.interval));
  const ab = t.buckets.map((b) => b.a_to_b.count);
  const ba = t.buckets.map((b) => b.b_to_a.count);
  const balance = t.buckets.map((b) => b.balance);
  const box = h('div', { class: 'plot', role: 'img', 'aria-label': `Actions per ${t.interval}: ${names.ab} and ${names.ba}, with the running severity balance` });
  // The x axis runs from the first bucket's start to the last one's end: every bucket whole.
  const span = x.length ? [x[0], ends[ends.length - 1]] : null;
  const opts = {
    width: 600,
    height: 300,
    // Buckets are calendar periods of UTC days: drawn in the reader's zone, the axis and the
    // legend put them on the evening before west of UTC ("2019-12-31 4:00pm" for January).
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
    scales: {
      x: { time: true, range: (u, min, max) => span || [min, max] },
      n: { range: (u, min, max) => [0, Math.max(1, max)] },
      // The balance line starts at 0.
      bal: { range: (u, min, max) => uPlot.rangeNum(Math.min(0, min), Math.max(0, max), 0.1, true) },
    },
    axes: [
      { stroke: 'currentColor', grid: { stroke: 'rgba(127,127,127,.15)' }, values: tickNames },
      // Counts are whole: ticks at 1, 2, 5, 10, ... (uPlot's defaults put 0.5 and 1.5 on a
      // short axis).
      { scale: 'n', label: 'actions', stroke: 'currentColor', grid: { stroke: 'rgba(127,127,127,.15)' }, incrs: COUNT_STEPS, size: fitTicks },
      { scale: 'bal', side: 1, label: 'balance', stroke: 'currentColor', grid: { show: false }, values: (u, ticks) => ticks.map((v) => num(v, 2)), size: fitTicks },
    ],
    series: [
      { label: t.interval, value: (u, v) => (v == null ? '--' : bucketName(v, t.interval)) },
      { label: names.ab, scale: 'n', stroke: PALETTE[0], fill: PALETTE[0] + 'cc', paths: periodBars(ends, 0), points: { show: false } },
      { label: names.ba, scale: 'n', stroke: PALETTE[1], fill: PALETTE[1] + 'cc', paths: periodBars(ends, 1), points: { show: false } },
      // The page's text colour (light or dark theme), read when drawn: black vanished on the
      // dark panel.
      { label: 'balance', scale: 'bal', value: (u, v) => (v == null ? '--' : num(v, 1)), stroke: (u) => getComputedStyle(u.root).color, width: 2, dash: [6, 3], paths: balanceLine(ends), points: { show: false } },
    ],
    // The cursor anywhere in a bucket's period shows that bucket (not the nearest start).
    cursor: { dataIdx: (u, s, i, v) => (x.length ? bucketAt(x, v) : i) },
    legend: { live: true },
  };
  let plot = null;
  const draw = () => {
    const width = Math.max(280, box.clientWidth || box.parentElement?.clientWidth || 600);
    if (!plot) {
      plot = new uPlot({ ...opts, width }, [x, ab, ba, balance], box);
      // For the tests and for debugging from the console.
      box.plot = plot;
    } else plot.setSize({ width, height: 300 });
  };
  const observer = new ResizeObserver(() => draw());
  const scheme = matchMedia('(prefers-color-scheme: dark)');
  const redraw = () => plot?.redraw();
  // Drawn once the box is in the page, so that it takes the page's width.
  requestAnimationFrame(() => {
    if (signal.aborted) return;
    draw();
    observer.observe(box);
    scheme.addEventListener('change', redraw);
  });
  signal.addEventListener('abort', () => { observer.disconnect(); scheme.removeEventListener('change', redraw); plot?.destroy(); });
  return box;
}
