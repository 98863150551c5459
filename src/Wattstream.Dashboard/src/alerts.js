// Alerts: what fires now on every site the caller may see (the open site's first) and the newest alerts. The alert
// stream keeps both current; whoever shows alert counts (the fleet) asks firingOn and is told by onChange.
import { $, cell, timeText } from './format.js';
import { fetchAlerts, openAlertStream } from './api.js';

const RECENT = 50;
const alertKey = (a) => `${a.rule}|${a.org}|${a.site}|${a.subject ?? ''}`;

export function createAlerts(onChange) {
  let firing = new Map();
  let recent = [];
  let here = null;

  function render() {
    const shown = [...firing.values()].sort((x, y) => (x.site === here ? -1 : 0) - (y.site === here ? -1 : 0) || x.site.localeCompare(y.site) || x.id - y.id);
    $('alerts-firing').replaceChildren(...shown.map((a) => {
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
    $('alerts-none').hidden = shown.length > 0;
    const onSite = shown.filter((a) => a.site === here).length;
    $('alerts-count').textContent = shown.length ? `${shown.length} firing${here ? `, ${onSite} on ${here}` : ''}` : '';
    $('alerts-history').replaceChildren(...recent.map((a) => {
      const tr = document.createElement('tr');
      tr.dataset.state = a.state;
      tr.append(cell('td', timeText(a.timestamp)), cell('td', a.site), cell('td', a.type), cell('td', a.state), cell('td', a.message));
      return tr;
    }));
    onChange();
  }

  function onAlert(a) {
    if (recent.some((x) => x.id === a.id)) return;
    recent.unshift(a);
    recent.length = Math.min(recent.length, RECENT);
    if (a.rule !== 'reported') {
      if (a.state === 'firing') firing.set(alertKey(a), a);
      else firing.delete(alertKey(a));
    }
    render();
  }

  return {
    async load() {
      const loaded = await fetchAlerts(RECENT);
      if (!loaded) return;
      firing = new Map(loaded.firing.map((a) => [alertKey(a), a]));
      recent = loaded.recent;
      render();
      openAlertStream(recent[0]?.id ?? 0, onAlert);
    },
    // The site shown first (null on the fleet).
    showFor(site) {
      here = site;
      render();
    },
    firingOn: (site) => [...firing.values()].filter((a) => a.site === site).length,
  };
}
