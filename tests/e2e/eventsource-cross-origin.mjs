// Opens a page served from one origin that subscribes with `new EventSource(...)` to Wattstream on another origin,
// and reports what the page received. Usage: node eventsource-cross-origin.mjs <page-url> <events-wanted>
import { run } from './browser.mjs';

const [pageUrl, wanted = '3'] = process.argv.slice(2);
const result = { consoleErrors: [], pageErrors: [], events: [], error: null };
await run(result, async (browser) => {
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') result.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => result.pageErrors.push(String(e)));
  await page.goto(pageUrl);
  await page.waitForFunction((n) => window.received && window.received.length >= n, Number(wanted), { timeout: 15000 });
  result.events = await page.evaluate(() => window.received);
});
