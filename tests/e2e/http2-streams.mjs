// Opens <count> EventSource streams at once from one page of the hub's own origin over HTTPS, and reports how many
// received an event and over which protocol. Over HTTP/1.1 a browser holds at most six connections per origin, so the
// seventh stream and later would wait forever; over HTTP/2 they share one connection.
// Usage: node http2-streams.mjs <https-base-url> <stream-path> <count>
import { run } from './browser.mjs';

const [base, path, count = '10'] = process.argv.slice(2);
const result = { received: [], protocol: null, error: null };
await run(result, async (browser) => {
  const context = await browser.newContext({ ignoreHTTPSErrors: true }); // the test's self-signed certificate
  const page = await context.newPage();
  await page.goto(new URL('/healthz', base).toString());
  result.received = await page.evaluate(async ({ path, count }) => {
    const counts = new Array(count).fill(0);
    const sources = counts.map((_, i) => {
      const source = new EventSource(path);
      source.onmessage = () => { counts[i]++; };
      return source;
    });
    const deadline = Date.now() + 15000;
    while (counts.some((c) => c === 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    sources.forEach((s) => s.close());
    return counts;
  }, { path, count: Number(count) });
  result.protocol = await page.evaluate(async () => {
    await fetch('/healthz');
    const entries = performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/healthz'));
    return entries.length ? entries[entries.length - 1].nextHopProtocol : performance.getEntriesByType('navigation')[0].nextHopProtocol;
  });
});
