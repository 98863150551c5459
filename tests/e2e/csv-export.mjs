// The dashboard's meter export (made in the page, not by the hub): pushes a live reading of the meter, waits for its
// row to show the power, exports, and prints the CSV as JSON on stdout.
// Usage: node csv-export.mjs <url> <meter-no> <download-dir>
import fs from 'node:fs/promises';
import path from 'node:path';
import { run } from './browser.mjs';

const [url, meterNo, dir] = process.argv.slice(2);
const result = { consoleErrors: [], pageErrors: [], error: null };
await run(result, async (browser) => {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') result.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => result.pageErrors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction((m) => [...document.querySelectorAll('#meters tr')].some((r) => r.dataset.meter === m), meterNo, { timeout: 15000 });
  // A live reading reaches the row once the page's meter stream is open; it is pushed from here until it shows (a few
  // times at most), not from the page: the page's six open streams fill Chromium's six HTTP/1.1 connections to the hub.
  const shown = (m) => {
    const row = [...document.querySelectorAll('#meters tr')].find((r) => r.dataset.meter === m);
    return row != null && row.children[4].textContent !== '–';
  };
  const powerShown = () => page.evaluate(shown, meterNo);
  for (let i = 0; i < 30 && !(await powerShown()); i++) {
    const reading = { org: 'csv', site: '-site', device: '-gw', der: meterNo, type: 'meter', timestamp: Date.now(), W: -2500 };
    result.pushed = (await fetch(new URL('/api/readings', url), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(reading) })).status;
    await page.waitForFunction(shown, meterNo, { timeout: 500 }).catch(() => {}); // shown, or push again
  }
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#meters-csv')]);
  const file = path.join(dir, 'meters.csv');
  await download.saveAs(file);
  result.csv = await fs.readFile(file, 'utf8');
});
