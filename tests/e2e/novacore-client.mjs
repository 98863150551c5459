// The Novacore seed's JavaScript client (novacore-realtime.txt, "JavaScript Example"), as its users write it, run in a
// page of the hub's origin in Chromium. Usage: node novacore-client.mjs <base-url> <site-id> <readings-wanted>
// Prints one JSON line: {"lines":[what the seed's client logged],"data":[the events' data],"pageErrors":[…]}.
import { run } from './browser.mjs';

const [base, siteId, wanted = '6'] = process.argv.slice(2);
const result = { lines: [], data: [], pageErrors: [], error: null };
await run(result, async (browser) => {
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'log') result.lines.push(m.text()); });
  page.on('pageerror', (e) => result.pageErrors.push(String(e)));
  await page.goto(`${base}/api/sites`);
  await page.evaluate(({ BASE_URL, siteId }) => {
    const token = 'unused-on-a-loopback-hub';
    window.received = [];
    // --- the seed's client, verbatim ---
    const eventSource = new EventSource(
      `${BASE_URL}/stream/sites/${siteId}`, {
        headers: { Authorization: `Bearer ${token}` }
      }
    );
    eventSource.onmessage = (event) => {
      const reading = JSON.parse(event.data);
      switch (reading.type) {
        case "pv":
          console.log(`Solar: ${reading.W}W`);
          break;
        case "battery":
          console.log(`Battery: ${reading.W}W (SoC: ${reading.SoC_nom_fract * 100}%)`);
          break;
        case "meter":
          console.log(`Grid: ${reading.W}W`);
          break;
      }
    };
    eventSource.onerror = () => {
      console.log("Reconnecting...");
      // EventSource automatically reconnects
    };
    // --- end of the seed's client ---
    eventSource.addEventListener('message', (e) => window.received.push(e.data));
  }, { BASE_URL: base, siteId });
  await page.waitForFunction((n) => window.received.length >= n, Number(wanted), { timeout: 15000 });
  result.data = await page.evaluate(() => window.received);
  // Console messages reach this process a little after the page logged them: wait (bounded) for one per logged type.
  const logged = result.data.filter((d) => ['pv', 'battery', 'meter'].includes(JSON.parse(d).type)).length;
  for (let i = 0; i < 100 && result.lines.length < logged; i++) await new Promise((r) => setTimeout(r, 50));
});
