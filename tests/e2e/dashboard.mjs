// Drives the dashboard in Chromium and reports what a person would see, as JSON on stdout.
// Usage: node dashboard.mjs <url> live <screenshot-dir>   |   node dashboard.mjs <url> stale <meter-no>   |   node dashboard.mjs <url> hostile
//        node dashboard.mjs <url> login <token>
import fs from 'node:fs/promises';
import path from 'node:path';
import { launch } from './browser.mjs';

const [url, mode, arg] = process.argv.slice(2);
const browser = await launch();
const result = { consoleErrors: [], pageErrors: [], error: null };
try {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') result.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => result.pageErrors.push(String(e)));
  result.dialogs = [];
  page.on('dialog', async (d) => { result.dialogs.push(d.message()); await d.dismiss(); });
  await page.goto(url);

  if (mode === 'login') {
    // A hub with tokens: the page asks to sign in, refuses a wrong token, then shows the token's sites live.
    await page.waitForSelector('dialog#login[open]', { timeout: 10000 });
    result.loginShown = true;
    await page.fill('#login-token', 'not-a-token');
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#login-error:not([hidden])', { timeout: 10000 });
    result.loginError = await page.textContent('#login-error');
    await page.fill('#login-token', arg);
    await Promise.all([page.waitForNavigation(), page.click('#login-form button[type=submit]')]);
    await page.waitForFunction(() => document.getElementById('m-import').textContent !== '–', null, { timeout: 10000 });
    result.sites = await page.$$eval('#site option', (os) => os.map((o) => o.value));
    result.meter = await page.textContent('#meter-no');
    result.connection = await page.textContent('#connection');
    result.cookieVisibleToScript = await page.evaluate(() => document.cookie.includes('wattstream_session'));
  } else if (mode === 'live') {
    // Live values arrive and change.
    await page.waitForFunction(() => document.getElementById('m-import').textContent !== '–', null, { timeout: 10000 });
    const sample = () => page.evaluate(() => ['grid-kw', 'house-kw', 'm-import', 'm-export'].map((id) => document.getElementById(id).textContent).join('|')
      + '|' + [...document.querySelectorAll('#phases td')].map((td) => td.textContent).join('|'));
    const first = await sample();
    const seen = new Set([first]);
    for (let i = 0; i < 10 && seen.size < 2; i++) {
      await page.waitForTimeout(500);
      seen.add(await sample());
    }

    result.valuesChanged = seen.size > 1;
    result.connection = await page.textContent('#connection');
    result.firstMeter = await page.textContent('#meter-no');
    result.liveChart = await page.locator('#live-chart canvas').count();

    // The site picker switches the data.
    const options = await page.$$eval('#site option', (os) => os.map((o) => o.value));
    result.sites = options;
    await page.selectOption('#site', options[1]);
    await page.waitForFunction((before) => document.getElementById('meter-no').textContent !== before, result.firstMeter, { timeout: 10000 });
    await page.waitForFunction(() => document.getElementById('m-import').textContent !== '–', null, { timeout: 10000 });
    result.secondMeter = await page.textContent('#meter-no');
    result.evHiddenOnSecondSite = await page.locator('#node-ev').isHidden();

    // The meters table and its CSV export.
    await page.waitForFunction(() => document.querySelectorAll('#meters tr').length >= 3, null, { timeout: 10000 });
    result.meterRows = await page.locator('#meters tr').count();
    result.statuses = await page.$$eval('#meters .status', (s) => s.map((x) => x.dataset.status));
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#meters-csv')]);
    const file = path.join(arg, 'meters.csv');
    await download.saveAs(file);
    result.csv = await fs.readFile(file, 'utf8');
    await page.fill('#meter-filter', '22442');
    result.filteredRows = await page.locator('#meters tr').count();
    await page.fill('#meter-filter', '');

    // History and its CSV link.
    result.historyCsvHref = await page.getAttribute('#history-csv', 'href');
    await page.click('button[data-range="day"]');
    result.dayPressed = await page.getAttribute('button[data-range="day"]', 'aria-pressed');

    await page.waitForTimeout(1500);
    await page.screenshot({ path: path.join(arg, 'dashboard-desktop.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(500);
    result.phoneOverflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    await page.screenshot({ path: path.join(arg, 'dashboard-phone.png'), fullPage: true });
  } else if (mode === 'hostile') {
    // Markup planted where the hub's data comes from must never become markup in the page: no element, no script.
    await page.waitForSelector('#meters tr', { timeout: 20000 });
    await page.waitForTimeout(1500); // a few re-renders
    result.meters = await page.$$eval('#meters tr', (rows) => rows.map((r) => r.dataset.meter));
    result.plantedElements = await page.evaluate(() => document.querySelectorAll('img[onerror], #meters img, #meters script').length);
    result.bodyHasPayload = (await page.content()).includes('onerror');
  } else if (mode === 'alerts') {
    // Firing alerts per site at load, then a new alert arrives live over the alert stream; its text stays text.
    await page.waitForSelector('#alerts-firing li', { timeout: 20000 });
    result.firing = await page.$$eval('#alerts-firing li', (lis) => lis.map((li) => ({ site: li.dataset.site, type: li.dataset.type, here: li.classList.contains('here'), text: li.textContent })));
    result.count = await page.textContent('#alerts-count');
    await page.waitForFunction((marker) => document.getElementById('alerts-history').textContent.includes(marker), arg, { timeout: 20000 });
    result.newest = await page.$eval('#alerts-history tr', (tr) => [...tr.children].map((td) => td.textContent));
    result.plantedElements = await page.evaluate(() => document.querySelectorAll('#alerts-history img, #alerts-firing img').length);
    await page.screenshot({ path: path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'artifacts', 'screenshots', 'dashboard-alerts.png'), fullPage: true }).catch(() => {});
  } else if (mode === 'stale') {
    await page.waitForSelector(`#meters tr[data-meter="${arg}"] .status[data-status="STALE"]`, { timeout: 20000 });
    result.staleShown = true;
    await page.waitForSelector('#stale:not([hidden])', { timeout: 20000 });
    result.banner = await page.textContent('#stale');
  }
} catch (e) {
  result.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
process.exit(result.error ? 1 : 0);
