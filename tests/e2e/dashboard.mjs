// Drives the dashboard in Chromium and reports what a person would see, as JSON on stdout.
// Usage: node dashboard.mjs <url> live <screenshot-dir>   |   node dashboard.mjs <url> stale <meter-no>   |   node dashboard.mjs <url> hostile
//        node dashboard.mjs <url> login <token>
import fs from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import { run } from './browser.mjs';

const require = createRequire(import.meta.url);

// Serious and critical accessibility violations axe-core finds on the page as it is now.
async function axeViolations(page) {
  // Evaluated through the DevTools protocol, not a <script>: the dashboard's CSP (script-src 'self') stays as it is.
  await page.evaluate(await fs.readFile(require.resolve('axe-core/axe.min.js'), 'utf8'));
  const found = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`));
  return found;
}

// Two animation frames: the page has laid out and painted what it had to (a resize, a new chart). A condition, not a
// guess at how long that takes.
const painted = (page) => page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));

// The viewport at a new size, once the page has seen it (its resize handlers have run) and painted.
async function resizeTo(page, width, height) {
  await page.setViewportSize({ width, height });
  await page.waitForFunction((w) => window.innerWidth === w, width, { timeout: 10000 });
  await painted(page);
}

const [url, mode, arg] = process.argv.slice(2);
const result = { consoleErrors: [], pageErrors: [], error: null };
await run(result, async (browser) => {
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
    // The live values as text; they change when a new reading is shown (waited for, up to 10 s).
    await page.evaluate(() => {
      window.liveSample = () => ['grid-kw', 'house-kw', 'm-import', 'm-export'].map((id) => document.getElementById(id).textContent).join('|')
        + '|' + [...document.querySelectorAll('#phases td')].map((td) => td.textContent).join('|');
    });
    const first = await page.evaluate(() => window.liveSample());
    result.valuesChanged = await page.waitForFunction((before) => window.liveSample() !== before, first, { timeout: 10000 })
      .then(() => true, () => false);
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
    // The day's history is fetched (step 5m) and drawn: a new chart in place of the hour's.
    const dayHistory = page.waitForResponse((r) => r.url().includes('/api/history?') && r.url().includes('step=5m'), { timeout: 15000 });
    await page.click('button[data-range="day"]');
    result.dayPressed = await page.getAttribute('button[data-range="day"]', 'aria-pressed');
    await (await dayHistory).finished();
    await page.waitForSelector('#history-chart .uplot', { timeout: 10000 });
    await painted(page);

    await page.screenshot({ path: path.join(arg, 'dashboard-desktop.png'), fullPage: true });
    await resizeTo(page, 390, 844);
    result.phoneOverflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    await page.screenshot({ path: path.join(arg, 'dashboard-phone.png'), fullPage: true });
  } else if (mode === 'hostile') {
    // Markup planted where the hub's data comes from must never become markup in the page: no element, no script.
    await page.waitForSelector('#meters tr', { timeout: 20000 });
    // Two re-renders with new readings: the planted row, if it were to run, has had its chances.
    for (let i = 0; i < 2; i++) {
      const before = await page.textContent('#meters');
      await page.waitForFunction((b) => document.getElementById('meters').textContent !== b, before, { timeout: 20000 });
    }
    result.meters = await page.$$eval('#meters tr', (rows) => rows.map((r) => r.dataset.meter));
    result.plantedElements = await page.evaluate(() => document.querySelectorAll('img[onerror], #meters img, #meters script').length);
    result.bodyHasPayload = (await page.content()).includes('onerror');
  } else if (mode === 'v2') {
    // The fleet: every site, live; sortable and filterable; then a click opens the site view.
    await page.goto(`${url}#/`);
    await page.waitForFunction(() => document.querySelectorAll('#fleet tr').length >= 3 && !document.getElementById('fleet-view').hidden, null, { timeout: 20000 });
    result.fleetSites = await page.$$eval('#fleet tr', (rows) => rows.map((r) => r.dataset.site));
    const fleetText = () => page.textContent('#fleet');
    const before = await fleetText();
    await page.waitForFunction((b) => document.getElementById('fleet').textContent !== b, before, { timeout: 15000 });
    result.fleetUpdates = true;
    await page.click('button[data-sort="pvW"]');
    result.sortState = await page.getAttribute('button[data-sort="pvW"] >> xpath=..', 'aria-sort');
    await page.fill('#fleet-filter', 'site-2');
    await page.waitForFunction(() => document.querySelectorAll('#fleet tr').length === 1, null, { timeout: 5000 });
    result.filtered = await page.$$eval('#fleet tr', (rows) => rows.map((r) => r.dataset.site));
    await page.fill('#fleet-filter', '');
    result.fleetAxe = await axeViolations(page);
    await page.screenshot({ path: path.join(arg, 'fleet-desktop.png'), fullPage: true });
    await resizeTo(page, 390, 844);
    result.fleetPhoneOverflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    await page.screenshot({ path: path.join(arg, 'fleet-phone.png'), fullPage: true });
    await resizeTo(page, 1280, 900);

    // Keyboard: the site's link takes focus and Enter opens it.
    await page.focus('#fleet tr[data-site="site-1"] a');
    // The rows are redrawn as summaries come: the focus stays on site-1's link across a redraw.
    await page.evaluate(() => { document.querySelector('#fleet tr[data-site="site-1"]').dataset.old = '1'; });
    await page.waitForFunction(() => !document.querySelector('#fleet tr[data-site="site-1"]')?.dataset.old, null, { timeout: 10000 });
    result.focusKept = await page.evaluate(() => document.activeElement?.closest('#fleet tr')?.dataset.site ?? null);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => !document.getElementById('site-view').hidden && location.hash === '#/sites/site-1', null, { timeout: 10000 });
    result.hash = await page.evaluate(() => location.hash);

    // The flow animation runs: the dots are somewhere else a moment later.
    await page.waitForSelector('.flow-lines line.moving', { state: 'attached', timeout: 15000 }); // a vertical line has no width: never "visible"
    const flow = page.locator('.flow-grid');
    const first = await flow.screenshot({ animations: 'allow' });
    result.flowMoves = false;
    for (const deadline = Date.now() + 10000; !result.flowMoves && Date.now() < deadline;) {
      await painted(page);
      result.flowMoves = !first.equals(await flow.screenshot({ animations: 'allow' }));
    }
    result.movingLines = await page.$$eval('.flow-lines line.moving', (ls) => ls.map((l) => l.id));

    // Today's bars and gauges agree with the API.
    await page.waitForFunction(() => document.querySelectorAll('#today-bars .col').length > 0, null, { timeout: 15000 });
    await page.waitForFunction(() => document.querySelector('#gauge-sufficiency .gauge-value').textContent !== '–', null, { timeout: 20000 });
    const api = await page.evaluate(async () => {
      const hours = (await (await fetch('/api/energy?site=site-1&period=hour')).json()).periods;
      const summary = (await (await fetch('/api/summaries')).json()).summaries.find((s) => s.site === 'site-1');
      return { hours: hours.length, lastHour: hours[hours.length - 1], sufficiency: summary.today.selfSufficiency };
    });
    result.todayBars = await page.locator('#today-bars .col').count();
    result.apiHours = api.hours;
    const title = await page.getAttribute('#today-bars .col:last-child', 'title');
    result.lastBarTitle = title;
    result.lastBarGridIn = Number(title.match(/grid in ([0-9.]+)/)[1]);
    result.apiLastHourGridIn = api.lastHour.gridImportKwh;
    result.gauge = await page.textContent('#gauge-sufficiency .gauge-value');
    result.apiSufficiency = api.sufficiency;
    result.cost = await page.textContent('#today-cost');
    result.siteAxe = await axeViolations(page);
    await page.click('#theme');
    result.theme = await page.evaluate(() => document.documentElement.dataset.theme ?? 'auto');
    await page.screenshot({ path: path.join(arg, 'site-light.png'), fullPage: true });
    await page.click('#theme');
    await page.screenshot({ path: path.join(arg, 'site-desktop.png'), fullPage: true });
    await resizeTo(page, 390, 844);
    result.sitePhoneOverflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    await page.screenshot({ path: path.join(arg, 'site-phone.png'), fullPage: true });
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
});
