// The site view's charts as data, not pixels: the live chart's newest points and the hourly bars' label boxes.
// Usage: node dashboard-charts.mjs <url> <site>   → JSON on stdout.
import { run } from './browser.mjs';

const painted = (page) => page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));

const [url, site] = process.argv.slice(2);
const result = { consoleErrors: [], pageErrors: [], error: null };
await run(result, async (browser) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') result.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => result.pageErrors.push(String(e)));
  await page.goto(`${url}#/sites/${site}`);
  await page.waitForFunction(() => !document.getElementById('site-view').hidden, null, { timeout: 20000 });

  // Every frame from the site's opening until 8 live points have been added: a series whose newest value is 0 or
  // missing while the value before it was far from 0 (> 50 W) is a dip drawn before its DER's reading arrived.
  Object.assign(result, await page.evaluate(() => new Promise((resolve) => {
    const names = ['grid', 'pv', 'battery', 'ev', 'house'];
    const dips = [];
    let first = null;
    let lastNewest = null;
    let snapshots = 0;
    const deadline = performance.now() + 30000;
    const look = () => {
      const data = window.__wattstreamCharts.live();
      const t = data?.[0] ?? [];
      // Looked at again when history is put in front of the live points, too: the newest point is then seen with its past.
      const shape = `${t.length}:${t[t.length - 1]}`;
      if (t.length >= 2 && shape !== lastNewest) {
        lastNewest = shape;
        snapshots++;
        first ??= t.length;
        names.forEach((name, i) => {
          const s = data[i + 1];
          const newest = s[s.length - 1];
          const before = s[s.length - 2];
          if (before != null && Math.abs(before) > 50 && (newest == null || newest === 0)) dips.push({ name, before, newest, at: t.length - 1 });
        });
      }
      if ((first != null && t.length >= first + 8) || performance.now() > deadline) {
        resolve({ dips, snapshots, points: t.length, series: data ? names.map((n, i) => ({ name: n, values: data[i + 1].slice(-12) })) : null });
      } else requestAnimationFrame(look);
    };
    look();
  })));

  // The hourly bars at three widths: the shown labels' text must be whole (not clipped) and must not overlap.
  await page.waitForFunction(() => document.querySelectorAll('#today-bars .col').length > 0, null, { timeout: 20000 });
  result.hours = await page.locator('#today-bars .col').count();
  result.widths = [];
  for (const width of [1280, 390, 320]) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForFunction((w) => window.innerWidth === w, width, { timeout: 10000 });
    await painted(page);
    result.widths.push({ width, ...await page.evaluate(() => {
      const boxes = [...document.querySelectorAll('#today-bars .label')]
        .filter((l) => l.checkVisibility({ visibilityProperty: true }) && l.textContent !== '')
        .map((l) => {
          const range = document.createRange();
          range.selectNodeContents(l);
          const text = range.getBoundingClientRect();
          const box = l.getBoundingClientRect();
          const clips = getComputedStyle(l).overflowX !== 'visible';
          return { text: l.textContent, left: text.left, right: text.right, clipped: clips && (text.left < box.left - 0.5 || text.right > box.right + 0.5) };
        });
      const overlaps = boxes.slice(1).filter((b, i) => b.left < boxes[i].right).map((b, i) => `${boxes[i].text}|${b.text}`);
      return { shown: boxes.map((b) => b.text), clipped: boxes.filter((b) => b.clipped).map((b) => b.text), overlaps };
    }) });
  }

  // Numbers that round to zero read 0.00, never -0.00 (the day's net cost starts as a tiny export).
  result.negativeZeros = await page.evaluate(() => document.body.innerText.match(/(?<![\d.])-0(\.0+)?(?![\d.]*[1-9])\b/g) ?? []);
});
