// The meters table: every meter's status (the hub's status feed: CONNECTED, STALE, …) and its newest reading, with a
// filter and a CSV export. Its state is its own; it lives as long as the page.
import { $, cell, fixed } from './format.js';
import { fetchMeters, watchMeterFeeds } from './api.js';

// A text cell a spreadsheet would read as a formula gets a ' in front (OWASP's rule, as in the hub's own CSV answers);
// numbers are written as numbers, so -2.5 stays -2.5.
const csvCell = (v) => {
  const text = typeof v === 'number' || !/^[=+\-@\t\r]/.test(v) ? String(v) : `'${v}`;
  return `"${text.replaceAll('"', '""')}"`;
};

export function createMetersTable() {
  const meters = new Map();
  let pending = false;
  const update = (meterNo, values) => {
    meters.set(meterNo, { ...meters.get(meterNo), meterNo, ...values });
    if (!pending) {
      pending = true;
      requestAnimationFrame(() => { pending = false; render(); });
    }
  };

  function visible() {
    const filter = $('meter-filter').value.trim();
    return [...meters.values()].filter((m) => !filter || String(m.meterNo).includes(filter));
  }

  function render() {
    $('meters').replaceChildren(...visible().map((m) => {
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

  function exportCsv() {
    const header = ['meterNo', 'site', 'status', 'lastSeen', 'power_kW', 'l1_V', 'energy_in_kWh'];
    const rows = visible().map((m) => [m.meterNo, m.site ?? '', m.status ?? 'UNKNOWN', m.lastSeen ?? '', m.power ?? '', m.l1v ?? '', m.ein ?? '']);
    const csv = [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
    a.download = 'meters.csv';
    document.body.append(a);
    a.click();
    a.remove();
  }

  $('meter-filter').addEventListener('input', render);
  $('meters-csv').addEventListener('click', exportCsv);

  return {
    async load() {
      for (const m of await fetchMeters()) meters.set(m.meterNo, { ...meters.get(m.meterNo), ...m });
      render();
      watchMeterFeeds({
        onStatus: (m) => update(m.der, { status: m.status, lastSeen: m.lastSeen }),
        // The meter's own net power (import − export, kW) as the whatwatt device reports it.
        onReading: (der, d) => update(der, {
          power: d.P_In == null && d.P_Out == null ? null : (d.P_In ?? 0) - (d.P_Out ?? 0), l1v: d.V_P1 ?? null, ein: d.E_In ?? null,
        }),
      });
    },
  };
}
