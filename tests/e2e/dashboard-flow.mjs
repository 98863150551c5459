// The site view's power flow and stale banner as the hub's summary has them: the page works out no balance and no
// staleness of its own. Usage: node dashboard-flow.mjs <url> <site> <quiet seconds>   → JSON on stdout.
import { run } from './browser.mjs';

const [url, site, quiet] = process.argv.slice(2);
const result = { consoleErrors: [], pageErrors: [], error: null };
await run(result, async (browser) => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => { if (m.type() === 'error') result.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => result.pageErrors.push(String(e)));
  await page.goto(`${url}#/sites/${site}`);
  await page.waitForFunction(() => !document.getElementById('site-view').hidden && document.getElementById('house-kw').textContent !== '–', null, { timeout: 20000 });

  const shown = () => page.evaluate(() => {
    const t = (id) => document.getElementById(id).textContent;
    const line = (id) => ({ moving: document.getElementById(`line-${id}`).classList.contains('moving'), reverse: document.getElementById(`line-${id}`).classList.contains('reverse') });
    return {
      nodes: { house: t('house-kw'), grid: t('grid-kw'), pv: t('pv-kw'), battery: t('battery-kw') },
      notes: { grid: t('grid-note'), battery: t('battery-note') },
      lines: { grid: line('grid'), pv: line('pv'), battery: line('battery') },
      bannerHidden: document.getElementById('stale').hidden,
    };
  });
  result.summary = await page.evaluate(async (s) => (await (await fetch('/api/summaries')).json()).summaries.find((x) => x.site === s), site);
  result.atOpen = await shown();
  // The live chart's oldest point, once the window's past (over a minute old) is in.
  await page.waitForFunction(() => { const t = window.__wattstreamCharts.live()?.[0]; return t?.length > 0 && t[0] < Date.now() / 1000 - 60; }, null, { timeout: 20000 });
  result.pastPoint = await page.evaluate(() => window.__wattstreamCharts.live().map((series) => series[0]));

  // The site stays silent for longer than any rule of the page's own would wait; the hub's Status:StaleAfter is longer.
  await page.waitForTimeout(Number(quiet) * 1000);
  result.afterQuiet = await shown();
  result.summaryAfterQuiet = await page.evaluate(async (s) => (await (await fetch('/api/summaries')).json()).summaries.find((x) => x.site === s), site);
  await page.evaluate(() => { location.hash = '#/'; });
  await page.waitForFunction((s) => !document.getElementById('fleet-view').hidden && document.querySelector(`#fleet tr[data-site="${s}"]`), site, { timeout: 10000 });
  result.fleetStatus = await page.$eval(`#fleet tr[data-site="${site}"] .status`, (td) => ({ text: td.textContent, badge: td.dataset.status }));
});
