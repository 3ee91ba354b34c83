// A dyad's timeline drawn with uPlot (vendor/, loaded as the global `uPlot`): a bar per
// direction per bucket, and the running balance as a line on its own axis.
import { h, PALETTE } from './dom.js';

// Not Date.UTC, which reads the years 0 to 99 as 1900 to 1999 (the API has years from 1).
const seconds = (iso) => new Date(0).setUTCFullYear(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10)) / 1000;

export function timelineChart(t, names, signal) {
  const x = t.buckets.map((b) => seconds(b.start));
  const ab = t.buckets.map((b) => b.a_to_b.count);
  const ba = t.buckets.map((b) => b.b_to_a.count);
  const balance = t.buckets.map((b) => b.balance);
  const box = h('div', { class: 'plot', role: 'img', 'aria-label': `Actions per ${t.interval}: ${names.ab} and ${names.ba}, with the running severity balance` });
  const bars = (align) => uPlot.paths.bars({ size: [0.45, 40], align });
  const opts = {
    width: 600,
    height: 300,
    scales: { x: { time: true }, n: { range: (u, min, max) => [0, Math.max(1, max)] } },
    axes: [
      { stroke: 'currentColor', grid: { stroke: 'rgba(127,127,127,.15)' } },
      { scale: 'n', label: 'actions', stroke: 'currentColor', grid: { stroke: 'rgba(127,127,127,.15)' } },
      { scale: 'bal', side: 1, label: 'balance', stroke: 'currentColor', grid: { show: false } },
    ],
    series: [
      { label: t.interval },
      { label: names.ab, scale: 'n', stroke: PALETTE[0], fill: PALETTE[0] + 'cc', paths: bars(-1), points: { show: false } },
      { label: names.ba, scale: 'n', stroke: PALETTE[1], fill: PALETTE[1] + 'cc', paths: bars(1), points: { show: false } },
      { label: 'balance', scale: 'bal', stroke: PALETTE[7], width: 2, dash: [6, 3], points: { show: false } },
    ],
    legend: { live: true },
  };
  let plot = null;
  const draw = () => {
    const width = Math.max(280, box.clientWidth || box.parentElement?.clientWidth || 600);
    if (!plot) plot = new uPlot({ ...opts, width }, [x, ab, ba, balance], box);
    else plot.setSize({ width, height: 300 });
  };
  const observer = new ResizeObserver(() => draw());
  // Drawn once the box is in the page, so that it takes the page's width.
  requestAnimationFrame(() => {
    if (signal.aborted) return;
    draw();
    observer.observe(box);
  });
  signal.addEventListener('abort', () => { observer.disconnect(); plot?.destroy(); });
  return box;
}
