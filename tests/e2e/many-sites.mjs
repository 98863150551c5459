// The dashboard on a hub with more sites than one listing page holds: a deep link to a site past the first page, then
// the fleet's page control and filter, down to the last site. Reports what a person would see, as JSON on stdout.
// Usage: node many-sites.mjs <url> <deep-linked site> <last site> <number of sites>
import { run } from './browser.mjs';

const [url, deepSite, lastSite, total] = process.argv.slice(2);
const result = { consoleErrors: [], pageErrors: [], error: null };
await run(result, async (browser) => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => { if (m.type() === 'error') result.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => result.pageErrors.push(String(e)));

  // The deep link: whichever view the page settles on is what the person sees. The site view is not hidden in the page
  // as served, so it counts only once the dashboard has routed (the title names the view then).
  await page.goto(`${url}#/sites/${encodeURIComponent(deepSite)}`);
  await page.waitForFunction(() => (!document.getElementById('site-view').hidden && document.title !== 'Wattstream')
    || (!document.getElementById('fleet-view').hidden && document.querySelectorAll('#fleet tr').length > 0), null, { timeout: 20000 });
  result.deepLink = await page.evaluate(() => ({
    view: document.getElementById('site-view').hidden ? 'fleet' : 'site',
    hash: location.hash,
    title: document.title,
    picked: document.getElementById('site').value,
    meter: document.getElementById('meter-no').textContent, // set with the site view, in the same task
  }));

  // The fleet: every site once all listing pages are in, shown a page of rows at a time.
  await page.evaluate(() => { location.hash = '#/'; });
  await page.waitForFunction((n) => !document.getElementById('fleet-view').hidden
    && document.getElementById('fleet-count').textContent.endsWith(`of ${n} sites`), total, { timeout: 20000 });
  result.fleetCount = await page.textContent('#fleet-count');
  result.firstPageRows = await page.locator('#fleet tr').count();

  // The page control reaches the last site (sorted by site, the default).
  let clicks = 0;
  for (; clicks < 100 && !(await page.isDisabled('#fleet-next')); clicks++) await page.click('#fleet-next');
  result.pageClicks = clicks;
  result.lastPageText = await page.textContent('#fleet-page');
  result.lastPageSites = await page.$$eval('#fleet tr', (rows) => rows.map((r) => r.dataset.site));
  await page.click('#fleet-prev');
  result.afterPrevText = await page.textContent('#fleet-page');

  // The filter finds it too, from any page, and its link opens the site.
  await page.fill('#fleet-filter', lastSite);
  await page.waitForFunction(() => document.querySelectorAll('#fleet tr').length === 1, null, { timeout: 5000 });
  result.filtered = await page.$$eval('#fleet tr', (rows) => rows.map((r) => r.dataset.site));
  await page.click(`#fleet tr[data-site="${lastSite}"] a`);
  await page.waitForFunction(() => !document.getElementById('site-view').hidden, null, { timeout: 10000 });
  result.openedFromFleet = await page.evaluate(() => ({ hash: location.hash, picked: document.getElementById('site').value }));
  result.pickerOptions = await page.locator('#site option').count();
});
