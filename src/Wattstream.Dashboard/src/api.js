// The hub's public endpoints as the page uses them (SSE, REST, /ws), and sign-in. Nothing here draws a view: each
// function hands what arrives to the callback it is given.
import { $ } from './format.js';

// ---------- sign-in ----------
// With Auth:Mode=token the page itself is public but its data is not: the token or key goes to POST /api/session once,
// which sets an HttpOnly cookie that every fetch and EventSource of this origin then carries; script never keeps it.
export function askToSignIn() {
  const dialog = $('login');
  if (!dialog.open) dialog.showModal();
  return new Promise(() => {}); // the page reloads after a sign-in
}

export function initSignIn() {
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
}

// ---------- streams ----------
export function openStream(url, handlers) {
  const source = new EventSource(url);
  for (const [name, fn] of Object.entries(handlers)) source.addEventListener(name, fn);
  return source;
}

// The header's connection badge follows one stream: the summaries', which every view reads.
export function showConnection(source) {
  const el = $('connection');
  const update = () => {
    const st = source.readyState === EventSource.OPEN ? 'live' : source.readyState === EventSource.CONNECTING ? 'connecting' : 'down';
    el.dataset.state = st;
    el.textContent = st === 'live' ? 'live' : st === 'connecting' ? 'reconnecting…' : 'disconnected';
  };
  source.addEventListener('open', update);
  source.addEventListener('error', update);
  update();
}

// ---------- sites ----------
// Sites come a page at a time (/api/sites pages by 1 000). The first page decides the first view at once; the rest
// follow the page links behind it, so the fleet and the site picker reach every site, however many there are.
const siteKey = (s) => `${s.org}/${s.site}`;
const nextPage = (res) => res.headers.get('Link')?.match(/<([^>]+)>;\s*rel="next"/)?.[1];

export function createSiteDirectory(onAdded) {
  const sites = [];
  const known = new Set();
  const add = (list) => {
    const fresh = list.filter((s) => !known.has(siteKey(s)));
    for (const s of fresh) known.add(siteKey(s));
    sites.push(...fresh);
    onAdded(fresh);
  };
  return {
    list: () => sites,
    byName: (name) => sites.find((s) => s.site === name),
    // The first page; null after asking to sign in. The rest of the pages load behind it (a page that fails leaves
    // the sites loaded so far).
    async loadFirst(then) {
      const res = await fetch('/api/sites');
      if (res.status === 401) return askToSignIn();
      add(await res.json());
      await then();
      (async () => {
        for (let next = nextPage(res), page = res; next; next = nextPage(page)) {
          page = await fetch(next);
          if (!page.ok) return;
          add(await page.json());
        }
      })().catch(() => {});
    },
    // A deep link to a site not loaded yet asks for that site alone (the listing's ?site= filter), not for every page
    // before it.
    async find(name) {
      const loaded = sites.find((s) => s.site === name);
      if (loaded) return loaded;
      const res = await fetch(`/api/sites?${new URLSearchParams({ site: name })}`);
      if (!res.ok) return null;
      add(await res.json());
      return sites.find((s) => s.site === name) ?? null;
    },
  };
}

export const dersOf = (site, type) => site.devices.flatMap((d) => d.ders).filter((d) => d.type === type);

// ---------- summaries ----------
// One stream carries every visible site's summary (the live balance with its power-flow lines, today's energy and
// whether the site is stale, all worked out by the hub). The newest of each site is kept for whichever view asks.
export function openSummaries(onSummary) {
  const latest = new Map();
  const source = openStream('/stream/summaries', {
    summary: (e) => {
      const s = JSON.parse(e.data);
      latest.set(`${s.org}/${s.site}`, s);
      onSummary(s);
    },
  });
  return { source, latest: (org, site) => latest.get(`${org}/${site}`), all: () => latest };
}

// ---------- REST ----------
export async function fetchEnergy(site, params) {
  const res = await fetch(energyUrl(site, params));
  return res.ok ? (await res.json()).periods : null;
}

export const energyUrl = (site, params) => `/api/energy?${new URLSearchParams({ site: site.site, org: site.org, ...params })}`;

// The site's power balance over time, worked out by the hub as its summaries are; null when refused.
export async function fetchBalance(site, params) {
  const res = await fetch(`/api/balance?${new URLSearchParams({ site: site.site, org: site.org, ...params })}`);
  return res.ok ? (await res.json()).points : null;
}

export const historyUrl = (params) => `/api/history?${new URLSearchParams(params)}`;

export async function fetchHistory(params) {
  const res = await fetch(historyUrl(params));
  return res.ok ? res.json() : null;
}

export async function fetchMeters() {
  return (await fetch('/api/meters')).json();
}

// Firing alerts and the newest ones; null when either is refused.
export async function fetchAlerts(limit) {
  const [active, recent] = await Promise.all([fetch('/api/alerts/active'), fetch(`/api/alerts?limit=${limit}`)]);
  if (!active.ok || !recent.ok) return null;
  return { firing: (await active.json()).alerts, recent: (await recent.json()).alerts };
}

// The alert stream resumes after the newest id the page has, so a reconnect misses nothing.
export const openAlertStream = (after, onAlert) => openStream(`/api/alerts/stream?lastEventId=${after}`, { alert: (e) => onAlert(JSON.parse(e.data)) });

// The meters' statuses and readings come over one WebSocket, not two EventSources: a browser gives HTTP/1.1 six
// connections per host, and the site view's streams, the alerts and the summaries take the rest, so two more streams
// would leave the page's own requests (history, energy, listing pages) waiting. The socket lives as long as the page
// (a site change does not touch it) and comes back after a drop.
export function watchMeterFeeds({ onStatus, onReading }) {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  ws.addEventListener('open', () => {
    ws.send(JSON.stringify({ type: 'subscribe', id: 'meter-status', kind: 'status', subject: '>' }));
    ws.send(JSON.stringify({ type: 'subscribe', id: 'meter-readings', subject: '>', format: 'whatwatt' })); // meters only
  });
  ws.addEventListener('message', (e) => {
    const m = JSON.parse(e.data);
    if (m.type === 'status' && m.derType === 'meter') onStatus(m);
    else if (m.type === 'reading') onReading(m.subject.split('.')[7], m.data); // orgs.{org}.sites.{site}.devices.{device}.ders.{der}.…
  });
  ws.addEventListener('close', () => setTimeout(() => watchMeterFeeds({ onStatus, onReading }), 2000));
}
