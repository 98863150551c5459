// The fleet: every site with its live numbers, status and firing alerts; sortable, filterable, a page of rows at a
// time (FLEET_PAGE), so a hub of any size costs the page the same to draw. Its own state is the sort, the page and
// whether a render is due; the sites, the summaries (by org/site) and alert counts are asked for through the functions it is given.
import { $, cell, kw, percent } from './format.js';

const FLEET_PAGE = 100;
// A site's status as the hub says it: stale when the hub marks its summary so, live otherwise, no data before any.
const statusOf = (summary) => (summary == null ? 'no data' : summary.stale ? 'stale' : 'live');
const STATUS_BADGE = { live: 'CONNECTED', stale: 'STALE', 'no data': 'UNKNOWN' };

export function createFleetView({ sites, summaries, firingOn }) {
  let sort = { key: 'site', dir: 1 };
  let page = 0;
  let pending = false;
  const shown = () => !$('fleet-view').hidden;

  const sortValue = (row, key) => (key === 'status' ? statusOf(row.summary)
    : key === 'alerts' ? firingOn(row.site)
      : key === 'site' || key === 'org' ? row[key]
        : key === 'selfSufficiency' ? row.summary?.today?.selfSufficiency ?? row.summary?.selfSufficiency
          : row.summary?.[key]);

  function render() {
    if (!shown()) return;
    const filter = $('fleet-filter').value.trim().toLowerCase();
    const { key, dir } = sort;
    // Every listed site, and every site with a summary (one may come before its listing page is loaded).
    const bySite = new Map(sites().map((s) => [`${s.org}/${s.site}`, { org: s.org, site: s.site, summary: null }]));
    for (const [k, summary] of summaries()) bySite.set(k, { org: summary.org, site: summary.site, summary });
    const all = [...bySite.values()];
    const rows = all
      .filter((s) => !filter || s.site.toLowerCase().includes(filter) || s.org.toLowerCase().includes(filter))
      .sort((a, b) => {
        const x = sortValue(a, key), y = sortValue(b, key);
        return (x == null) - (y == null) || (typeof x === 'string' ? x.localeCompare(y) : x - y) * dir || a.site.localeCompare(b.site);
      });
    $('fleet-count').textContent = `${rows.length} of ${all.length} sites`;
    const pages = Math.max(1, Math.ceil(rows.length / FLEET_PAGE));
    page = Math.min(page, pages - 1);
    const first = page * FLEET_PAGE;
    const visible = rows.slice(first, first + FLEET_PAGE);
    $('fleet-page').textContent = rows.length ? `${first + 1}–${first + visible.length} of ${rows.length}` : '';
    $('fleet-prev').disabled = page === 0;
    $('fleet-next').disabled = page >= pages - 1;
    // Rows are redrawn as summaries arrive (about once a second): a keyboard user's focus on a site's link moves to the
    // new row's link, or it would fall back to the page every second and Enter would open nothing.
    const focused = document.activeElement?.closest?.('#fleet tr')?.dataset.site;
    $('fleet').replaceChildren(...visible.map(({ org, site, summary }) => {
      const tr = document.createElement('tr');
      tr.dataset.site = site;
      tr.dataset.alerts = String(firingOn(site));
      const name = document.createElement('th');
      name.scope = 'row';
      const a = document.createElement('a');
      a.href = `#/sites/${encodeURIComponent(site)}`;
      a.textContent = site;
      name.append(a);
      const status = cell('td', statusOf(summary));
      status.className = 'status';
      status.dataset.status = STATUS_BADGE[statusOf(summary)];
      const n = (v) => { const td = cell('td', v); td.className = 'num'; return td; };
      tr.append(name, cell('td', org), n(kw(summary?.gridW)), n(kw(summary?.pvW)), n(percent(summary?.batterySoc)), n(percent(summary?.today?.selfSufficiency ?? null)), status, n(firingOn(site)));
      return tr;
    }));
    if (focused != null) $('fleet').querySelector(`tr[data-site="${CSS.escape(focused)}"] a`)?.focus();
  }

  $('fleet-filter').addEventListener('input', () => { page = 0; render(); });
  for (const [id, step] of [['fleet-prev', -1], ['fleet-next', 1]]) {
    $(id).addEventListener('click', () => { page = Math.max(0, page + step); render(); });
  }
  for (const b of document.querySelectorAll('[data-sort]')) {
    b.addEventListener('click', () => {
      const key = b.dataset.sort;
      sort = { key, dir: sort.key === key ? -sort.dir : 1 };
      page = 0;
      for (const th of document.querySelectorAll('.fleet-table th')) th.setAttribute('aria-sort', 'none');
      b.parentElement.setAttribute('aria-sort', sort.dir > 0 ? 'ascending' : 'descending');
      render();
    });
  }

  return {
    render,
    // A summary came: one render per 300 ms, not per event (1 000 sites).
    summaryChanged() {
      if (pending || !shown()) return;
      pending = true;
      setTimeout(() => { pending = false; render(); }, 300);
    },
  };
}
