// Wattstream dashboard: a client of the public endpoints like any other (SSE, REST, /ws), nothing special-cased.
// This module wires the views together: each keeps its own state, and they hear of each other only through the
// functions passed here.
import './styles.css';
import { $ } from './format.js';
import { initTheme } from './theme.js';
import { createSiteDirectory, initSignIn, openSummaries, showConnection } from './api.js';
import { createAlerts } from './alerts.js';
import { createFleetView } from './fleet.js';
import { createSiteView } from './site.js';
import { createMetersTable } from './meters.js';

initTheme();
initSignIn();

const summaries = openSummaries((s) => {
  site.summaryChanged(s);
  fleet.summaryChanged();
});
showConnection(summaries.source);

const sites = createSiteDirectory((added) => {
  $('site').append(...added.map((s) => new Option(`${s.site} (${s.org})`, s.site)));
  fleet.render();
});
const alerts = createAlerts(() => fleet.render());
const fleet = createFleetView({ sites: sites.list, summaries: summaries.all, firingOn: alerts.firingOn });
const site = createSiteView({ summaryOf: summaries.latest });
const meters = createMetersTable();

// ---------- views and deep links ----------
function showView(name) {
  $('fleet-view').hidden = name !== 'fleet';
  $('site-view').hidden = name !== 'site';
  $('nav-fleet').setAttribute('aria-current', name === 'fleet' ? 'page' : 'false');
}

function showFleet() {
  site.leave();
  showView('fleet');
  if (location.hash !== '#/') history.replaceState(null, '', '#/');
  document.title = 'Fleet — Wattstream';
  alerts.showFor(null);
  fleet.render();
}

function showSite(name) {
  const found = sites.byName(name);
  if (!found) return;
  showView('site');
  $('site').value = name;
  const link = `#/sites/${encodeURIComponent(name)}`;
  if (location.hash !== link) history.replaceState(null, '', link);
  site.show(found);
  alerts.showFor(name);
}

// #/ is the fleet, #/sites/{site} a site (#{site}, the first version's links, still opens the site). Without a hash a
// caller with a few sites sees the first one live, an operator with many sees the fleet.
async function route() {
  const h = location.hash;
  const name = h.match(/^#\/sites\/(.+)$/)?.[1] ?? (h.length > 1 && !h.startsWith('#/') ? h.slice(1) : null);
  if (name != null) {
    const found = await sites.find(decodeURIComponent(name));
    if (location.hash !== h) return; // the person went elsewhere meanwhile
    if (found) return showSite(found.site);
  }
  if (h === '#/' || h === '#/fleet' || sites.list().length > 3) return showFleet();
  return showSite(sites.list()[0]?.site);
}

$('site').addEventListener('change', (e) => showSite(e.target.value));
window.addEventListener('hashchange', () => sites.list().length && route());
window.addEventListener('resize', () => site.resize());

// For the browser tests: a copy of what the live chart plots, read-only.
Object.defineProperty(window, '__wattstreamCharts', { value: Object.freeze({ live: site.liveData }) });

sites.loadFirst(route).then(() => meters.load()).then(() => alerts.load());
