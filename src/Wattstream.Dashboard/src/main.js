// Wattstream dashboard: a client of the public endpoints like any other (SSE, REST), nothing special-cased.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './styles.css';

const $ = (id) => document.getElementById(id);
// A value that rounds to zero shows as 0.00, never -0.00 (a small export or credit is not a negative nothing).
const fixed = (v, d = 1) => (v == null ? '–' : Number(v).toFixed(d).replace(/^-(0(\.0*)?)$/, '$1'));
const kw = (w) => (w == null ? '–' : fixed(w / 1000, 2));
const timeText = (t) => new Date(t).toLocaleTimeString();
const WINDOW_S = 15 * 60;
const TYPES = ['grid', 'pv', 'battery', 'ev', 'house'];
const COLORS = { grid: '#6b7cff', pv: '#e0a100', battery: '#1f9d55', ev: '#b04ac9', house: '#e4572e' };

const state = {
  sites: [], site: null, streams: [], latest: {}, lastReadingAt: 0, interval: 1000,
  live: { t: [], grid: [], pv: [], battery: [], ev: [], house: [] },
  liveChart: null, historyChart: null, range: 'hour', meters: new Map(),
};

// ---------- streams ----------
function open(url, handlers) {
  const source = new EventSource(url);
  for (const [name, fn] of Object.entries(handlers)) source.addEventListener(name, fn);
  state.streams.push(source);
  return source;
}

function closeSiteStreams() {
  for (const s of state.streams.splice(0)) s.close();
}

function setConnection(source) {
  const el = $('connection');
  state.connectionSource = source;
  const update = () => {
    if (state.connectionSource !== source) return; // an earlier view's stream
    const st = source.readyState === EventSource.OPEN ? 'live' : source.readyState === EventSource.CONNECTING ? 'connecting' : 'down';
    el.dataset.state = st;
    el.textContent = st === 'live' ? 'live' : st === 'connecting' ? 'reconnecting…' : 'disconnected';
  };
  source.addEventListener('open', update);
  source.addEventListener('error', update);
  update();
}

// ---------- site ----------
// ---------- sign-in ----------
// With Auth:Mode=token the page itself is public but its data is not: the token or key goes to POST /api/session once,
// which sets an HttpOnly cookie that every fetch and EventSource of this origin then carries; script never keeps it.
function askToSignIn() {
  const dialog = $('login');
  if (!dialog.open) dialog.showModal();
  return new Promise(() => {}); // the page reloads after a sign-in
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const res = await fetch('/api/session', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token: $('login-token').value.trim() }),
  });
  if (res.ok) {
    location.reload();
    return;
  }
  const problem = await res.json().catch(() => ({}));
  const error = $('login-error');
  error.textContent = problem.detail || `Sign-in failed (${res.status}).`;
  error.hidden = false;
});

// Sites come a page at a time (/api/sites pages by 1 000). The first page decides the first view at once; the rest
// follow the page links behind it, so the fleet and the site picker reach every site, however many there are.
const siteKey = (s) => `${s.org}/${s.site}`;
const knownSites = new Set();

function addSites(list) {
  const fresh = list.filter((s) => !knownSites.has(siteKey(s)));
  for (const s of fresh) knownSites.add(siteKey(s));
  state.sites.push(...fresh);
  $('site').append(...fresh.map((s) => new Option(`${s.site} (${s.org})`, s.site)));
}

const nextPage = (res) => res.headers.get('Link')?.match(/<([^>]+)>;\s*rel="next"/)?.[1];

async function loadSites() {
  const res = await fetch('/api/sites');
  if (res.status === 401) return askToSignIn();
  addSites(await res.json());
  await route();
  loadMoreSites(res).catch(() => {}); // behind the first view; a page that fails leaves the sites loaded so far
}

async function loadMoreSites(res) {
  for (let next = nextPage(res); next; next = nextPage(res)) {
    res = await fetch(next);
    if (!res.ok) return;
    addSites(await res.json());
    renderFleet();
  }
}

// A deep link to a site not loaded yet asks for that site alone (the listing's ?site= filter), not for every page
// before it.
async function findSite(name) {
  const loaded = state.sites.find((s) => s.site === name);
  if (loaded) return loaded;
  const res = await fetch(`/api/sites?${new URLSearchParams({ site: name })}`);
  if (!res.ok) return null;
  addSites(await res.json());
  return state.sites.find((s) => s.site === name) ?? null;
}

// ---------- views and deep links ----------
// #/ is the fleet, #/sites/{site} a site (#{site}, the first version's links, still opens the site). Without a hash a
// caller with a few sites sees the first one live, an operator with many sees the fleet.
async function route() {
  const h = location.hash;
  const site = h.match(/^#\/sites\/(.+)$/)?.[1] ?? (h.length > 1 && !h.startsWith('#/') ? h.slice(1) : null);
  if (site != null) {
    const found = await findSite(decodeURIComponent(site));
    if (location.hash !== h) return; // the person went elsewhere meanwhile
    if (found) return selectSite(found.site);
  }
  if (h === '#/' || h === '#/fleet' || state.sites.length > 3) return showFleet();
  return selectSite(state.sites[0]?.site);
}

function showView(name) {
  $('fleet-view').hidden = name !== 'fleet';
  $('site-view').hidden = name !== 'site';
  $('nav-fleet').setAttribute('aria-current', name === 'fleet' ? 'page' : 'false');
}

function showFleet() {
  closeSiteStreams();
  state.site = null;
  showView('fleet');
  if (location.hash !== '#/') history.replaceState(null, '', '#/');
  document.title = 'Fleet — Wattstream';
  if (fleet.source) setConnection(fleet.source); // the fleet's one stream is what "live" means here
  renderFleet();
}

function dersOf(site, type) {
  return site.devices.flatMap((d) => d.ders).filter((d) => d.type === type);
}

function selectSite(name) {
  const site = state.sites.find((s) => s.site === name);
  if (!site) return;
  state.site = site;
  showView('site');
  document.title = `${name} — Wattstream`;
  $('site').value = name;
  const link = `#/sites/${encodeURIComponent(name)}`;
  if (location.hash !== link) history.replaceState(null, '', link);
  closeSiteStreams();
  state.latest = {};
  state.lastReadingAt = 0;
  state.watchingSince = Date.now();
  for (const k of Object.keys(state.live)) state.live[k] = [];
  $('node-ev').hidden = dersOf(site, 'v2x_charger').length === 0;

  const readings = open(`/stream/sites/${encodeURIComponent(name)}`, { message: onReading });
  setConnection(readings);

  const meter = dersOf(site, 'meter')[0];
  $('meter-no').textContent = meter ? `#${meter.der}` : '';
  if (meter) open(`/meters/${encodeURIComponent(meter.der)}/api/v1/live`, { live: onMeter });
  renderPhases(null);
  loadHistory();
  renderAlerts();
  prefillLive(site);
  renderToday();
  loadTodayBars();
  loadEnergyHistory();
}

// ---------- readings ----------
function onReading(e) {
  const r = JSON.parse(e.data);
  const now = Date.now();
  if (state.lastReadingAt && r.type === 'meter') state.interval = Math.max(500, Math.min(60000, now - state.lastReadingAt));
  state.lastReadingAt = now;
  state.latest[r.type] = r;
  if (r.type === 'meter') {
    renderFlow();
    pushLive();
  }
}

function flows() {
  const grid = state.latest.meter?.W ?? null;
  const pv = state.latest.pv?.W ?? 0; // ≤ 0 while generating
  const battery = state.latest.battery?.W ?? 0; // + charging
  const ev = state.latest.v2x_charger?.W ?? 0; // + charging the car
  const house = grid == null ? null : grid - battery - ev - pv; // grid = load − PV generation − discharge + EV
  return { grid, pv: -pv, battery, ev, house };
}

function setNode(id, watts, noteId, positive, negative) {
  $(`${id}-kw`).textContent = kw(watts == null ? null : Math.abs(watts));
  if (noteId) {
    const note = $(noteId);
    note.textContent = watts == null ? '' : watts > 5 ? positive : watts < -5 ? negative : 'idle';
    note.parentElement.dataset.flow = watts > 5 ? 'in' : watts < -5 ? 'out' : '';
  }
}

function flowLine(id, towardHouseWatts) {
  const line = $(`line-${id}`);
  const w = towardHouseWatts ?? 0;
  const moving = Math.abs(w) > 20;
  line.classList.toggle('moving', moving);
  line.classList.toggle('reverse', moving && w < 0);
  if (moving) line.style.setProperty('--flow-duration', `${Math.max(0.4, Math.min(6, 3 / Math.sqrt(Math.abs(w) / 1000 + 0.05))).toFixed(2)}s`);
}

function renderFlow() {
  const f = flows();
  setNode('grid', f.grid, 'grid-note', 'importing', 'exporting');
  setNode('pv', f.pv, null);
  setNode('battery', f.battery, 'battery-note', 'charging', 'discharging');
  setNode('ev', f.ev, 'ev-note', 'charging', 'discharging');
  setNode('house', f.house, null);
  // Dots move along each line at a speed that follows the power, toward the house when the house receives.
  flowLine('pv', f.pv);
  flowLine('grid', f.grid);
  flowLine('battery', f.battery == null ? null : -f.battery);
  flowLine('ev', f.ev == null ? null : -f.ev);
  const soc = state.latest.battery?.SoC_nom_fract;
  if (soc != null) {
    $('battery-soc').textContent = `SoC ${(soc * 100).toFixed(0)} %`;
    $('battery-soc-bar').style.width = `${soc * 100}%`;
    $('battery-soc-meter').setAttribute('aria-valuenow', (soc * 100).toFixed(0));
  }
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

// Everything from the network goes into the page as text, never as markup: an id like
// `<img src=x onerror=…>` is shown, not run.
function cell(tag, text) {
  const el = document.createElement(tag);
  el.textContent = text == null ? '' : String(text);
  return el;
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

// ---------- live chart ----------
function chartOptions(el, title, series, range) {
  return {
    title, width: Math.max(280, el.clientWidth), height: 260,
    scales: { x: { time: true, range: typeof range === 'function' ? range : range ? () => range : undefined } },
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, spanGaps: true }))],
    axes: [{}, { size: 60 }],
  };
}

// The DER types of the site that must have reported before a live point is complete.
const siteTypes = (site) => new Set(site.devices.flatMap((d) => d.ders).map((d) => d.type));

function pushLive() {
  // A point drawn before every DER has reported would plot the missing ones as 0: a dip at the newest point. After
  // that, each DER's last value carries over until its reading of this second arrives.
  // A DER that stays silent past a few intervals is not waited for: the chart must not stop for one offline inverter.
  const waited = Date.now() - state.watchingSince > 3 * state.interval;
  if (!waited && [...siteTypes(state.site)].some((type) => !state.latest[type])) return;
  const f = flows();
  const t = Date.now() / 1000;
  state.live.t.push(t);
  for (const k of TYPES) state.live[k].push(f[k] ?? null);
  const cut = state.live.t.findIndex((x) => x >= t - WINDOW_S);
  if (cut > 0) for (const k of Object.keys(state.live)) state.live[k].splice(0, cut);
  drawLive();
}

// The window is always the last 15 minutes (ticks read as clock times), filled from history when a site opens.
function drawLive() {
  const data = [state.live.t, ...TYPES.map((k) => state.live[k])];
  if (!state.liveChart) {
    const el = $('live-chart');
    const range = () => { const now = Date.now() / 1000; return [now - WINDOW_S, now]; };
    state.liveChart = new uPlot(chartOptions(el, '', TYPES.map((k) => ({ label: k, color: COLORS[k] })), range), data, el);
  } else {
    state.liveChart.setData(data);
  }
}

async function prefillLive(site) {
  const to = new Date();
  const q = new URLSearchParams({ site: site.site, from: new Date(to.getTime() - WINDOW_S * 1000).toISOString(), to: to.toISOString(), step: '10s', fields: 'w', agg: 'avg' });
  const res = await fetch(`/api/history?${q}`);
  if (!res.ok || state.site !== site) return;
  const body = await res.json();
  const typeOf = new Map(site.devices.flatMap((d) => d.ders).map((d) => [d.der, d.type]));
  const byTime = new Map();
  for (const s of body.series) {
    for (const p of s.points) {
      const t = Date.parse(p.time) / 1000;
      const row = byTime.get(t) ?? {};
      const key = SERIES_OF_TYPE[typeOf.get(s.der)];
      if (key && p.w != null) row[key] = (row[key] ?? 0) + (key === 'pv' ? -p.w : p.w);
      byTime.set(t, row);
    }
  }
  const first = state.live.t[0] ?? Infinity;
  // Only buckets every DER reported into: the newest one is often still filling, and a missing DER would plot as 0.
  const needed = [...siteTypes(site)].map((type) => SERIES_OF_TYPE[type]).filter(Boolean);
  const times = [...byTime.keys()].filter((t) => t < first && needed.every((k) => byTime.get(t)[k] != null)).sort((a, b) => a - b);
  for (const k of Object.keys(state.live)) state.live[k].unshift(...times.map((t) => (k === 't' ? t : k === 'house' ? house(byTime.get(t)) : byTime.get(t)[k] ?? null)));
  drawLive();
}

const SERIES_OF_TYPE = { meter: 'grid', pv: 'pv', battery: 'battery', v2x_charger: 'ev' };
const house = (r) => (r.grid == null ? null : r.grid + (r.pv ?? 0) - (r.battery ?? 0) - (r.ev ?? 0));

// ---------- history ----------
const RANGES = { hour: { s: 3600, step: '10s' }, day: { s: 86400, step: '5m' }, week: { s: 604800, step: '30m' } };

function historyWindow() {
  const to = new Date();
  return { from: new Date(to.getTime() - RANGES[state.range].s * 1000), to };
}

function historyUrl(format) {
  const r = RANGES[state.range];
  const { from, to } = historyWindow();
  const q = new URLSearchParams({ site: state.site.site, from: from.toISOString(), to: to.toISOString(), step: r.step, fields: 'w', agg: 'avg' });
  if (format) q.set('format', format);
  return `/api/history?${q}`;
}

async function loadHistory() {
  if (!state.site) return;
  $('history-csv').href = historyUrl('csv');
  const res = await fetch(historyUrl());
  if (!res.ok) return;
  const body = await res.json();
  const times = [...new Set(body.series.flatMap((s) => s.points.map((p) => p.time)))].sort();
  const index = new Map(times.map((t, i) => [t, i]));
  const columns = body.series.map((s) => {
    const col = new Array(times.length).fill(null);
    for (const p of s.points) col[index.get(p.time)] = p.w;
    return col;
  });
  const data = [times.map((t) => Date.parse(t) / 1000), ...columns];
  const el = $('history-chart');
  state.historyChart?.destroy();
  const palette = Object.values(COLORS);
  const range = [Date.parse(body.from) / 1000, Date.parse(body.to) / 1000]; // the whole window, however little is stored yet
  state.historyChart = new uPlot(chartOptions(el, '', body.series.map((s, i) => ({ label: s.der, color: palette[i % palette.length] })), range), data, el);
}

// ---------- meters table ----------
async function loadMeters() {
  const meters = await (await fetch('/api/meters')).json();
  for (const m of meters) state.meters.set(m.meterNo, { ...state.meters.get(m.meterNo), ...m });
  renderMeters();
  watchMeters();
}

// The meters' statuses and readings come over one WebSocket, not two EventSources: a browser gives HTTP/1.1 six
// connections per host, and the site view's streams, the alerts and the summaries take the rest, so two more streams
// would leave the page's own requests (history, energy, listing pages) waiting. The socket lives as long as the page
// (a site change does not touch it) and comes back after a drop.
function watchMeters() {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  ws.addEventListener('open', () => {
    ws.send(JSON.stringify({ type: 'subscribe', id: 'meter-status', kind: 'status', subject: '>' }));
    ws.send(JSON.stringify({ type: 'subscribe', id: 'meter-readings', subject: '>', format: 'whatwatt' })); // meters only
  });
  ws.addEventListener('message', (e) => {
    const m = JSON.parse(e.data);
    if (m.type === 'status' && m.derType === 'meter') {
      state.meters.set(m.der, { ...state.meters.get(m.der), meterNo: m.der, status: m.status, lastSeen: m.lastSeen });
      scheduleMeters();
    } else if (m.type === 'reading') {
      const der = m.subject.split('.')[7]; // orgs.{org}.sites.{site}.devices.{device}.ders.{der}.…
      const d = m.data;
      const power = d.P_In == null && d.P_Out == null ? null : (d.P_In ?? 0) - (d.P_Out ?? 0);
      state.meters.set(der, { ...state.meters.get(der), meterNo: der, power, l1v: d.V_P1 ?? null, ein: d.E_In ?? null });
      scheduleMeters();
    }
  });
  ws.addEventListener('close', () => setTimeout(watchMeters, 2000));
}

let metersPending = false;
function scheduleMeters() {
  if (!metersPending) {
    metersPending = true;
    requestAnimationFrame(() => { metersPending = false; renderMeters(); });
  }
}

function visibleMeters() {
  const filter = $('meter-filter').value.trim();
  return [...state.meters.values()].filter((m) => !filter || String(m.meterNo).includes(filter));
}

function renderMeters() {
  $('meters').replaceChildren(...visibleMeters().map((m) => {
    const tr = document.createElement('tr');
    tr.dataset.meter = m.meterNo;
    const status = m.status ?? 'UNKNOWN';
    const badge = cell('span', status);
    badge.className = 'status';
    badge.dataset.status = status;
    const statusCell = document.createElement('td');
    statusCell.append(badge);
    tr.append(
      cell('td', m.meterNo), cell('td', m.site ?? ''), statusCell,
      cell('td', m.lastSeen ? new Date(m.lastSeen).toLocaleString() : '–'),
      cell('td', fixed(m.power, 3)), cell('td', fixed(m.l1v, 1)), cell('td', fixed(m.ein, 1)));
    return tr;
  }));
}

// A text cell a spreadsheet would read as a formula gets a ' in front (OWASP's rule, as in the hub's own CSV answers);
// numbers are written as numbers, so -2.5 stays -2.5.
const csvCell = (v) => {
  const text = typeof v === 'number' || !/^[=+\-@\t\r]/.test(v) ? String(v) : `'${v}`;
  return `"${text.replaceAll('"', '""')}"`;
};

function exportMeters() {
  const header = ['meterNo', 'site', 'status', 'lastSeen', 'power_kW', 'l1_V', 'energy_in_kWh'];
  const rows = visibleMeters().map((m) => [m.meterNo, m.site ?? '', m.status ?? 'UNKNOWN', m.lastSeen ?? '', m.power ?? '', m.l1v ?? '', m.ein ?? '']);
  const csv = [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
  a.download = 'meters.csv';
  document.body.append(a);
  a.click();
  a.remove();
}

// ---------- alerts ----------
// Firing alerts of every site the caller may see (this site's first), and the newest alerts; the alert stream keeps
// both current and resumes after the newest id it has, so a reconnect misses nothing.
const alerts = { firing: new Map(), recent: [], stream: null };
const alertKey = (a) => `${a.rule}|${a.org}|${a.site}|${a.subject ?? ''}`;

async function loadAlerts() {
  const [active, recent] = await Promise.all([fetch('/api/alerts/active'), fetch('/api/alerts?limit=50')]);
  if (!active.ok || !recent.ok) return;
  alerts.firing = new Map((await active.json()).alerts.map((a) => [alertKey(a), a]));
  alerts.recent = (await recent.json()).alerts;
  renderAlerts();
  const after = alerts.recent[0]?.id ?? 0;
  alerts.stream = new EventSource(`/api/alerts/stream?lastEventId=${after}`);
  alerts.stream.addEventListener('alert', onAlert);
}

function onAlert(e) {
  const a = JSON.parse(e.data);
  if (alerts.recent.some((x) => x.id === a.id)) return;
  alerts.recent.unshift(a);
  alerts.recent.length = Math.min(alerts.recent.length, 50);
  if (a.rule !== 'reported') {
    if (a.state === 'firing') alerts.firing.set(alertKey(a), a);
    else alerts.firing.delete(alertKey(a));
  }
  renderAlerts();
}

function renderAlerts() {
  const here = state.site?.site;
  const firing = [...alerts.firing.values()].sort((x, y) => (x.site === here ? -1 : 0) - (y.site === here ? -1 : 0) || x.site.localeCompare(y.site) || x.id - y.id);
  $('alerts-firing').replaceChildren(...firing.map((a) => {
    const li = document.createElement('li');
    li.dataset.site = a.site;
    li.dataset.type = a.type;
    li.classList.toggle('here', a.site === here);
    const site = document.createElement('strong');
    site.textContent = a.site;
    li.append(site, ` ${a.type.replaceAll('_', ' ')}${a.der ? ` · ${a.der}` : ''}: ${a.message} `, cell('span', `since ${timeText(a.timestamp)}`));
    li.lastChild.className = 'muted';
    return li;
  }));
  $('alerts-none').hidden = firing.length > 0;
  const onSite = firing.filter((a) => a.site === here).length;
  $('alerts-count').textContent = firing.length ? `${firing.length} firing${here ? `, ${onSite} on ${here}` : ''}` : '';
  $('alerts-history').replaceChildren(...alerts.recent.map((a) => {
    const tr = document.createElement('tr');
    tr.dataset.state = a.state;
    tr.append(cell('td', timeText(a.timestamp)), cell('td', a.site), cell('td', a.type), cell('td', a.state), cell('td', a.message));
    return tr;
  }));
  renderFleet();
}

// ---------- summaries: the fleet and today's energy ----------
// One stream carries every visible site's summary: the fleet table and the site view's "Today" card both read it.
// The table shows a page of rows at a time (FLEET_PAGE), so a hub of any size costs the page the same to draw.
const FLEET_PAGE = 100;
const fleet = { summaries: new Map(), sort: { key: 'site', dir: 1 }, pending: false, page: 0 };

function openSummaries() {
  const source = new EventSource('/stream/summaries');
  fleet.source = source;
  source.addEventListener('summary', (e) => {
    const s = JSON.parse(e.data);
    fleet.summaries.set(`${s.org}/${s.site}`, { ...s, receivedAt: Date.now() });
    if (state.site?.site === s.site) renderToday();
    if (!fleet.pending) {
      fleet.pending = true;
      setTimeout(() => { fleet.pending = false; renderFleet(); }, 300); // 1 000 sites: one render per 300 ms, not per event
    }
  });
}

const percent = (v) => (v == null ? '–' : `${Math.round(v * 100)} %`);
const siteStatus = (s) => (s.receivedAt == null ? 'no data' : Date.now() - s.receivedAt > 10_000 ? 'stale' : 'live');
const STATUS_BADGE = { live: 'CONNECTED', stale: 'STALE', 'no data': 'UNKNOWN' };
const firingOn = (site) => [...alerts.firing.values()].filter((a) => a.site === site).length;
const sortValue = (s, key) => (key === 'status' ? siteStatus(s) : key === 'alerts' ? firingOn(s.site) : key === 'selfSufficiency' ? s.today?.selfSufficiency ?? s.selfSufficiency : s[key]);

function renderFleet() {
  if ($('fleet-view').hidden) return;
  const filter = $('fleet-filter').value.trim().toLowerCase();
  const { key, dir } = fleet.sort;
  // Every listed site, with its summary when one has come (a site may also have a summary before its page is loaded).
  const sites = new Map(state.sites.map((s) => [siteKey(s), { org: s.org, site: s.site }]));
  for (const [k, s] of fleet.summaries) sites.set(k, s);
  const rows = [...sites.values()]
    .filter((s) => !filter || s.site.toLowerCase().includes(filter) || s.org.toLowerCase().includes(filter))
    .sort((a, b) => {
      const x = sortValue(a, key), y = sortValue(b, key);
      return (x == null) - (y == null) || (typeof x === 'string' ? x.localeCompare(y) : x - y) * dir || a.site.localeCompare(b.site);
    });
  $('fleet-count').textContent = `${rows.length} of ${sites.size} sites`;
  const pages = Math.max(1, Math.ceil(rows.length / FLEET_PAGE));
  fleet.page = Math.min(fleet.page, pages - 1);
  const first = fleet.page * FLEET_PAGE;
  const shown = rows.slice(first, first + FLEET_PAGE);
  $('fleet-page').textContent = rows.length ? `${first + 1}–${first + shown.length} of ${rows.length}` : '';
  $('fleet-prev').disabled = fleet.page === 0;
  $('fleet-next').disabled = fleet.page >= pages - 1;
  $('fleet').replaceChildren(...shown.map((s) => {
    const tr = document.createElement('tr');
    tr.dataset.site = s.site;
    tr.dataset.alerts = String(firingOn(s.site));
    const name = document.createElement('th');
    name.scope = 'row';
    const a = document.createElement('a');
    a.href = `#/sites/${encodeURIComponent(s.site)}`;
    a.textContent = s.site;
    name.append(a);
    const status = cell('td', siteStatus(s));
    status.className = 'status';
    status.dataset.status = STATUS_BADGE[siteStatus(s)];
    const n = (v) => { const td = cell('td', v); td.className = 'num'; return td; };
    tr.append(name, cell('td', s.org), n(kw(s.gridW)), n(kw(s.pvW)), n(percent(s.batterySoc)), n(percent(s.today?.selfSufficiency ?? null)), status, n(firingOn(s.site)));
    return tr;
  }));
}

function renderToday() {
  const s = state.site && [...fleet.summaries.values()].find((x) => x.site === state.site.site && x.org === state.site.org);
  const today = s?.today;
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

// Stacked bars: what came in above the line (solar, battery out, grid in), what went out below (export, battery in).
function renderBars(el, periods, label) {
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
function spaceLabels(el) {
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

async function energy(params) {
  const res = await fetch(`/api/energy?${new URLSearchParams({ site: state.site.site, org: state.site.org, ...params })}`);
  return res.ok ? (await res.json()).periods : null;
}

async function loadTodayBars() {
  if (!state.site) return;
  const periods = await energy({ period: 'hour' });
  if (periods) renderBars($('today-bars'), periods, (p) => p.start.slice(11, 13));
}

const ENERGY_RANGES = { week: { days: 7, period: 'day' }, month: { days: 30, period: 'day' }, year: { days: 365, period: 'month' } };
state.energyRange = 'week';

async function loadEnergyHistory() {
  if (!state.site) return;
  const r = ENERGY_RANGES[state.energyRange];
  const params = { period: r.period, from: new Date(Date.now() - r.days * 86_400_000).toISOString(), to: new Date().toISOString() };
  $('energy-csv').href = `/api/energy?${new URLSearchParams({ site: state.site.site, org: state.site.org, ...params, format: 'csv' })}`;
  const periods = await energy(params);
  if (periods) renderBars($('energy-bars'), periods, (p) => (r.period === 'month' ? p.start.slice(0, 7) : p.start.slice(5, 10)));
}

// ---------- theme ----------
const THEMES = ['auto', 'light', 'dark'];
function applyTheme(theme) {
  if (theme === 'auto') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
  $('theme').setAttribute('aria-label', `Colour theme: ${theme === 'auto' ? 'follows the system' : theme}`);
  $('theme').textContent = theme === 'auto' ? '◐' : theme === 'light' ? '☀' : '☾';
}
applyTheme(localStorage.getItem('wattstream-theme') ?? 'auto');
$('theme').addEventListener('click', () => {
  const next = THEMES[(THEMES.indexOf(localStorage.getItem('wattstream-theme') ?? 'auto') + 1) % THEMES.length];
  localStorage.setItem('wattstream-theme', next);
  applyTheme(next);
});

// ---------- stale banner ----------
setInterval(() => {
  const banner = $('stale');
  const limit = Math.max(5000, 3 * state.interval);
  const since = state.lastReadingAt || state.watchingSince; // a site that has sent nothing since we looked is stale too
  const silent = since && Date.now() - since > limit;
  banner.hidden = !silent || !state.site;
  if (silent) {
    banner.textContent = `Data is stale since ${timeText(since)}: ${state.lastReadingAt ? `no reading for ${Math.round((Date.now() - since) / 1000)} s` : 'no reading has arrived yet'}.`;
  }
}, 1000);

// ---------- wiring ----------
$('site').addEventListener('change', (e) => selectSite(e.target.value));
window.addEventListener('hashchange', () => state.sites.length && route());
$('fleet-filter').addEventListener('input', () => { fleet.page = 0; renderFleet(); });
for (const [id, step] of [['fleet-prev', -1], ['fleet-next', 1]]) {
  $(id).addEventListener('click', () => { fleet.page = Math.max(0, fleet.page + step); renderFleet(); });
}
for (const b of document.querySelectorAll('[data-sort]')) {
  b.addEventListener('click', () => {
    const key = b.dataset.sort;
    fleet.sort = { key, dir: fleet.sort.key === key ? -fleet.sort.dir : 1 };
    fleet.page = 0;
    for (const th of document.querySelectorAll('.fleet-table th')) th.setAttribute('aria-sort', 'none');
    b.parentElement.setAttribute('aria-sort', fleet.sort.dir > 0 ? 'ascending' : 'descending');
    renderFleet();
  });
}
for (const b of document.querySelectorAll('[data-energy]')) {
  b.addEventListener('click', () => {
    state.energyRange = b.dataset.energy;
    for (const o of document.querySelectorAll('[data-energy]')) o.setAttribute('aria-pressed', String(o === b));
    loadEnergyHistory();
  });
}
setInterval(loadTodayBars, 60_000);
for (const b of document.querySelectorAll('[data-range]')) {
  b.addEventListener('click', () => {
    state.range = b.dataset.range;
    for (const o of document.querySelectorAll('[data-range]')) o.setAttribute('aria-pressed', String(o === b));
    loadHistory();
  });
}
$('meter-filter').addEventListener('input', renderMeters);
$('meters-csv').addEventListener('click', exportMeters);
window.addEventListener('resize', () => {
  for (const [chart, el] of [[state.liveChart, $('live-chart')], [state.historyChart, $('history-chart')]]) chart?.setSize({ width: Math.max(280, el.clientWidth), height: 260 });
  for (const id of ['today-bars', 'energy-bars']) spaceLabels($(id));
});

// For the browser tests: a copy of what the live chart plots, read-only.
Object.defineProperty(window, '__wattstreamCharts', {
  value: Object.freeze({ live: () => state.liveChart?.data.map((series) => [...series]) ?? null }),
});
setInterval(loadHistory, 60_000);

openSummaries();
loadSites().then(loadMeters).then(loadAlerts);
