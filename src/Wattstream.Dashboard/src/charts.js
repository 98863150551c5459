// The charts: the live power of the last 15 minutes, the history of each DER, and the energy bars. Each chart is an
// object made per element; it keeps its own data and draws only what it is handed.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { cell } from './format.js';
import { SERIES_COLORS } from './theme.js';

const HEIGHT = 260;
const widthOf = (el) => Math.max(280, el.clientWidth);

function chartOptions(el, series, range) {
  return {
    title: '', width: widthOf(el), height: HEIGHT,
    scales: { x: { time: true, range: typeof range === 'function' ? range : range ? () => range : undefined } },
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, spanGaps: true }))],
    axes: [{}, { size: 60 }],
  };
}

// ---------- live ----------
export const WINDOW_S = 15 * 60;
// The live series, each the summary's member of that name: the hub's signs (grid + import, PV generation, battery and
// EV + charging, home the balance), plotted as they come.
const LIVE_SERIES = [['grid', 'gridW'], ['pv', 'pvW'], ['battery', 'batteryW'], ['ev', 'evW'], ['house', 'homeW']];
const MEMBER_OF_TYPE = { meter: 'gridW', pv: 'pvW', battery: 'batteryW', v2x_charger: 'evW' };

// A point per summary of the site, over a window that is always the last 15 minutes (ticks read as clock times),
// filled from the hub's balance history when a site opens.
export function createLiveChart(el) {
  let chart = null;
  let columns = [];
  let needed = [];
  let openedAt = 0;
  const draw = () => {
    if (!chart) {
      const range = () => { const now = Date.now() / 1000; return [now - WINDOW_S, now]; };
      chart = new uPlot(chartOptions(el, LIVE_SERIES.map(([k]) => ({ label: k, color: SERIES_COLORS[k] })), range), columns, el);
    } else {
      chart.setData(columns);
    }
  };
  return {
    // A new site: an empty window, waiting for the summaries of the DER types it has.
    reset(site) {
      columns = [[], ...LIVE_SERIES.map(() => [])];
      needed = [...new Set(site.devices.flatMap((d) => d.ders).map((d) => MEMBER_OF_TYPE[d.type]).filter(Boolean))];
      openedAt = Date.now();
      draw();
    },
    add(summary) {
      if (summary.stale) return; // an old balance, not a value of now
      // Until each DER type of the site has reported once, its member is null and the balance incomplete: not drawn,
      // unless one stays silent past a few seconds (the chart must not stop for one offline inverter).
      if (Date.now() - openedAt < 5000 && needed.some((m) => summary[m] == null)) return;
      const t = Date.now() / 1000;
      columns[0].push(t);
      LIVE_SERIES.forEach(([, member], i) => columns[i + 1].push(summary[member] ?? null));
      const cut = columns[0].findIndex((x) => x >= t - WINDOW_S);
      if (cut > 0) for (const c of columns) c.splice(0, cut);
      draw();
    },
    // The window's past, from the hub's balance history (/api/balance): put before the live points.
    prefill(points) {
      const first = columns[0][0] ?? Infinity;
      const since = Date.now() / 1000 - WINDOW_S;
      const past = points.map((p) => [Date.parse(p.timestamp) / 1000, p]).filter(([t]) => t >= since && t < first);
      columns[0].unshift(...past.map(([t]) => t));
      LIVE_SERIES.forEach(([, member], i) => columns[i + 1].unshift(...past.map(([, p]) => p[member] ?? null)));
      draw();
    },
    resize: () => chart?.setSize({ width: widthOf(el), height: HEIGHT }),
    // For the browser tests: a copy of what the chart plots.
    data: () => chart?.data.map((series) => [...series]) ?? null,
  };
}

// ---------- history ----------
// Each DER's power over the chosen window, as stored (the reading's own sign).
export function createHistoryChart(el) {
  let chart = null;
  return {
    show(body) {
      const times = [...new Set(body.series.flatMap((s) => s.points.map((p) => p.time)))].sort();
      const index = new Map(times.map((t, i) => [t, i]));
      const columns = body.series.map((s) => {
        const col = new Array(times.length).fill(null);
        for (const p of s.points) col[index.get(p.time)] = p.w;
        return col;
      });
      const data = [times.map((t) => Date.parse(t) / 1000), ...columns];
      chart?.destroy();
      const palette = Object.values(SERIES_COLORS);
      const range = [Date.parse(body.from) / 1000, Date.parse(body.to) / 1000]; // the whole window, however little is stored yet
      chart = new uPlot(chartOptions(el, body.series.map((s, i) => ({ label: s.der, color: palette[i % palette.length] })), range), data, el);
    },
    resize: () => chart?.setSize({ width: widthOf(el), height: HEIGHT }),
  };
}

// ---------- bars ----------
// Stacked bars: what came in above the line (solar, battery out, grid in), what went out below (export, battery in).
export function renderBars(el, periods, label) {
  const up = (p) => p.pvKwh + p.batteryOutKwh + p.gridImportKwh;
  const down = (p) => p.gridExportKwh + p.batteryInKwh;
  const max = Math.max(0.001, ...periods.map(up), ...periods.map((p) => down(p) * 3));
  el.replaceChildren(...periods.map((p) => {
    const col = document.createElement('div');
    col.className = 'col';
    col.title = `${label(p)}: solar ${p.pvKwh} kWh, battery out ${p.batteryOutKwh}, grid in ${p.gridImportKwh}, export ${p.gridExportKwh}, battery in ${p.batteryInKwh}`;
    const top = document.createElement('div');
    top.className = 'up';
    const bottom = document.createElement('div');
    bottom.className = 'down';
    const seg = (cls, kwh, scale) => { const d = document.createElement('span'); d.className = `seg-${cls}`; d.style.height = `${(kwh / max) * scale}%`; return d; };
    top.append(seg('pv', p.pvKwh, 100), seg('battery', p.batteryOutKwh, 100), seg('grid', p.gridImportKwh, 100));
    bottom.append(seg('export', p.gridExportKwh, 300), seg('charge', p.batteryInKwh, 300));
    col.append(top, bottom, cell('span', label(p)));
    col.lastChild.className = 'label';
    return col;
  }));
  spaceLabels(el);
  const total = periods.reduce((t, p) => t + p.homeKwh, 0);
  el.setAttribute('aria-label', `${el.dataset.what ?? 'Energy'}: ${periods.length} periods, home used ${total.toFixed(1)} kWh in all`);
}

// 24 hour labels do not fit a narrow chart: label every 2nd, 3rd, 6th… column, as many as fit side by side.
const LABEL_STRIDES = [1, 2, 3, 4, 6, 8, 12, 24];
export function spaceLabels(el) {
  const labels = [...el.querySelectorAll('.col > .label')];
  if (labels.length === 0) return;
  for (const l of labels) l.classList.remove('skipped', 'spaced');
  const column = el.clientWidth / labels.length;
  const widest = Math.max(...labels.map((l) => l.scrollWidth)) + 4; // the natural text width, plus a little air
  const stride = LABEL_STRIDES.find((s) => s * column >= widest) ?? labels.length;
  labels.forEach((l, i) => {
    l.classList.toggle('skipped', i % stride !== 0); // keeps its line, so the bars stay aligned
    l.classList.toggle('spaced', stride > 1); // a shown label may spill over its empty neighbours
  });
}
