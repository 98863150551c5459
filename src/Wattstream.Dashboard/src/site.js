// A site: its power flow, stale banner and today's energy (all from the hub's summary of the site: the flow's lines
// come signed toward the home, and `stale` is the hub's word), its grid meter (the whatwatt live stream), alerts shown
// first for it, and its charts. The open site, its meter stream, the chosen ranges and the charts are this view's own.
import { $, cell, fixed, kw, pressOnly, timeText } from './format.js';
import { dersOf, energyUrl, fetchBalance, fetchEnergy, fetchHistory, historyUrl, openStream } from './api.js';
import { WINDOW_S, createHistoryChart, createLiveChart, renderBars, spaceLabels } from './charts.js';

const HISTORY_RANGES = { hour: { s: 3600, step: '10s' }, day: { s: 86400, step: '5m' }, week: { s: 604800, step: '30m' } };
const ENERGY_RANGES = { week: { days: 7, period: 'day' }, month: { days: 30, period: 'day' }, year: { days: 365, period: 'month' } };
const REFRESH_MS = 60_000;

// A node's value and word: `towardHome` is the hub's line power, + toward the home.
function setNode(id, towardHome, noteId, toward, away) {
  $(`${id}-kw`).textContent = kw(towardHome == null ? null : Math.abs(towardHome));
  if (noteId) $(noteId).textContent = towardHome == null ? '' : towardHome > 5 ? toward : towardHome < -5 ? away : 'idle';
}

// Dots move along each line at a speed that follows the power, toward the house when the house receives.
function flowLine(id, towardHome) {
  const line = $(`line-${id}`);
  const w = towardHome ?? 0;
  const moving = Math.abs(w) > 20;
  line.classList.toggle('moving', moving);
  line.classList.toggle('reverse', moving && w < 0);
  if (moving) line.style.setProperty('--flow-duration', `${Math.max(0.4, Math.min(6, 3 / Math.sqrt(Math.abs(w) / 1000 + 0.05))).toFixed(2)}s`);
}

function renderFlow(summary) {
  const lines = summary?.toHomeW ?? {};
  setNode('grid', lines.grid, 'grid-note', 'importing', 'exporting');
  setNode('pv', lines.pv, null);
  setNode('battery', lines.battery, 'battery-note', 'discharging', 'charging');
  setNode('ev', lines.ev, 'ev-note', 'discharging', 'charging');
  $('house-kw').textContent = kw(summary?.homeW);
  for (const id of ['pv', 'grid', 'battery', 'ev']) flowLine(id, lines[id]);
  const soc = summary?.batterySoc;
  if (soc != null) {
    $('battery-soc').textContent = `SoC ${(soc * 100).toFixed(0)} %`;
    $('battery-soc-bar').style.width = `${soc * 100}%`;
    $('battery-soc-meter').setAttribute('aria-valuenow', (soc * 100).toFixed(0));
  }
}

function renderStale(site, summary) {
  const banner = $('stale');
  banner.hidden = !summary?.stale;
  if (summary?.stale) banner.textContent = `Data is stale since ${timeText(summary.staleSince)}: the hub has no fresh reading of ${site.site}.`;
}

function renderToday(summary) {
  const today = summary?.today;
  for (const [id, value] of [['gauge-sufficiency', today?.selfSufficiency], ['gauge-consumption', today?.selfConsumption]]) {
    const g = $(id);
    const pct = value == null ? null : Math.round(value * 100);
    g.querySelector('.gauge-value').textContent = pct == null ? '–' : `${pct} %`;
    g.querySelector('.value').style.strokeDasharray = `${pct ?? 0} 100`;
    g.setAttribute('aria-valuenow', String(pct ?? 0));
  }
  const money = (v) => (v == null ? '–' : `${fixed(v, 2)} ${today?.currency ?? ''}`.trim());
  $('today-cost').textContent = money(today?.cost);
  $('today-earnings').textContent = money(today?.earnings);
  $('today-net').textContent = money(today?.net);
  $('today-home').textContent = today ? fixed(today.homeKwh, 2) : '–';
  $('today-note').textContent = today && today.notes.includes('no data for part of the period') ? '(partial: the hub has not seen the whole day)' : '';
}

function renderPhases(m) {
  const rows = [1, 2, 3].map((p) => {
    const power = m ? (m[`P_P${p}_In`] ?? 0) - (m[`P_P${p}_Out`] ?? 0) : null;
    return { p, v: m?.[`V_P${p}`], a: m?.[`I_P${p}`], power };
  });
  const currents = rows.map((r) => r.a ?? 0);
  const mean = currents.reduce((x, y) => x + y, 0) / 3;
  const imbalance = mean > 0.5 ? Math.max(...currents.map((c) => Math.abs(c - mean))) / mean : 0;
  $('phases').replaceChildren(...rows.map((r) => {
    const tr = document.createElement('tr');
    const off = imbalance > 0.25 && Math.abs((r.a ?? 0) - mean) / mean > 0.25;
    const th = cell('th', `L${r.p}`);
    th.scope = 'row';
    const current = cell('td', fixed(r.a, 2));
    if (off) current.className = 'imbalanced';
    tr.append(th, cell('td', fixed(r.v, 1)), current, cell('td', fixed(r.power, 3)));
    return tr;
  }));
  $('imbalance').textContent = !m ? '' : mean <= 0.5
    ? 'Current imbalance: too little load to judge'
    : `Current imbalance ${(imbalance * 100).toFixed(0)} %${imbalance > 0.25 ? ' — unbalanced' : ''}`;
}

function onMeter(e) {
  const m = JSON.parse(e.data);
  $('m-import').textContent = fixed(m.P_In, 3);
  $('m-export').textContent = fixed(m.P_Out, 3);
  $('m-pf').textContent = fixed(m.PF, 2);
  $('m-tariff').textContent = m.T != null ? `T${m.T}` : '–';
  $('m-ein').textContent = fixed(m.E_In, 1);
  $('m-ein-t').textContent = `(${fixed(m.E_In_T1, 1)} / ${fixed(m.E_In_T2, 1)})`;
  $('m-eout').textContent = fixed(m.E_Out, 1);
  $('m-eout-t').textContent = `(${fixed(m.E_Out_T1, 1)} / ${fixed(m.E_Out_T2, 1)})`;
  renderPhases(m);
}

// summaryOf(org, site): the hub's newest summary of a site, or undefined before one has come.
export function createSiteView({ summaryOf }) {
  const live = createLiveChart($('live-chart'));
  const historyChart = createHistoryChart($('history-chart'));
  let site = null;
  let meterStream = null;
  let historyRange = 'hour';
  let energyRange = 'week';

  function historyParams() {
    const r = HISTORY_RANGES[historyRange];
    const to = new Date();
    return { site: site.site, from: new Date(to.getTime() - r.s * 1000).toISOString(), to: to.toISOString(), step: r.step, fields: 'w', agg: 'avg' };
  }

  async function loadHistory() {
    if (!site) return;
    const params = historyParams();
    $('history-csv').href = historyUrl({ ...params, format: 'csv' });
    const body = await fetchHistory(params);
    if (body) historyChart.show(body);
  }

  async function loadTodayBars() {
    if (!site) return;
    const periods = await fetchEnergy(site, { period: 'hour' });
    if (periods) renderBars($('today-bars'), periods, (p) => p.start.slice(11, 13));
  }

  async function loadEnergyHistory() {
    if (!site) return;
    const r = ENERGY_RANGES[energyRange];
    const params = { period: r.period, from: new Date(Date.now() - r.days * 86_400_000).toISOString(), to: new Date().toISOString() };
    $('energy-csv').href = energyUrl(site, { ...params, format: 'csv' });
    const periods = await fetchEnergy(site, params);
    if (periods) renderBars($('energy-bars'), periods, (p) => (r.period === 'month' ? p.start.slice(0, 7) : p.start.slice(5, 10)));
  }

  async function prefillLive() {
    const opened = site;
    const to = new Date();
    const points = await fetchBalance(site, { from: new Date(to.getTime() - WINDOW_S * 1000).toISOString(), to: to.toISOString(), step: '10s' });
    if (points && site === opened) live.prefill(points);
  }

  function renderSummary(summary) {
    renderFlow(summary);
    renderToday(summary);
    renderStale(site, summary);
  }

  for (const b of document.querySelectorAll('[data-range]')) {
    b.addEventListener('click', () => {
      historyRange = b.dataset.range;
      pressOnly('[data-range]', b);
      loadHistory();
    });
  }
  for (const b of document.querySelectorAll('[data-energy]')) {
    b.addEventListener('click', () => {
      energyRange = b.dataset.energy;
      pressOnly('[data-energy]', b);
      loadEnergyHistory();
    });
  }
  setInterval(loadHistory, REFRESH_MS);
  setInterval(loadTodayBars, REFRESH_MS);

  return {
    show(next) {
      meterStream?.close();
      site = next;
      document.title = `${site.site} — Wattstream`;
      $('node-ev').hidden = dersOf(site, 'v2x_charger').length === 0;
      const meter = dersOf(site, 'meter')[0];
      $('meter-no').textContent = meter ? `#${meter.der}` : '';
      meterStream = meter ? openStream(`/meters/${encodeURIComponent(meter.der)}/api/v1/live`, { live: onMeter }) : null;
      renderPhases(null);
      live.reset(site);
      prefillLive();
      renderSummary(summaryOf(site.org, site.site));
      loadHistory();
      loadTodayBars();
      loadEnergyHistory();
    },
    leave() {
      meterStream?.close();
      meterStream = null;
      site = null;
      $('stale').hidden = true;
    },
    summaryChanged(summary) {
      if (!site || summary.org !== site.org || summary.site !== site.site) return;
      renderSummary(summary);
      live.add(summary);
    },
    resize() {
      live.resize();
      historyChart.resize();
      for (const id of ['today-bars', 'energy-bars']) spaceLabels($(id));
    },
    liveData: live.data,
  };
}
