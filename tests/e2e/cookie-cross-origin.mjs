// Signs in on the hub's own origin (the session cookie), then opens a page of another origin on the same host (another
// port) that tries to use that cookie: read the API, push a reading, open a WebSocket and an EventSource.
// Usage: node cookie-cross-origin.mjs <hub-url> <token> <page-url>; prints what each attempt got, as JSON.
import { run } from './browser.mjs';

const [hubUrl, token, pageUrl] = process.argv.slice(2);
const result = { error: null };
await run(result, async (browser) => {
  const page = await browser.newPage();
  await page.goto(`${hubUrl}/healthz`);
  result.login = await page.evaluate(async (t) => (await fetch('/api/session', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: t }),
  })).status, token);
  result.sameOrigin = await page.evaluate(async () => {
    const sites = await fetch('/api/sites');
    const push = await fetch('/api/readings', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ org: 'demo', site: 'own-site', device: 'd', der: 'own', type: 'meter', timestamp: Date.now(), W: 1 }),
    });
    return { sites: sites.status, push: push.status };
  });

  await page.goto(pageUrl);
  result.crossOrigin = await page.evaluate(async (hub) => {
    const out = {};
    try {
      const r = await fetch(`${hub}/api/sites`, { credentials: 'include' });
      out.sites = { status: r.status, body: await r.text() };
    } catch (e) { out.sites = { error: String(e) }; }
    try {
      const r = await fetch(`${hub}/api/readings`, {
        method: 'POST', credentials: 'include', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ org: 'demo', site: 'csrf-site', device: 'd', der: 'csrf', type: 'meter', timestamp: Date.now(), W: 1 }),
      });
      out.push = { status: r.status };
    } catch (e) { out.push = { error: String(e) }; }
    try {
      // A form-like push (no preflight): the body type alone refuses it, and no-cors hides the answer anyway.
      await fetch(`${hub}/api/readings`, {
        method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'Content-Type': 'text/plain' },
        body: JSON.stringify({ org: 'demo', site: 'csrf-site', device: 'd', der: 'csrf-plain', type: 'meter', timestamp: Date.now(), W: 1 }),
      });
    } catch (e) { out.plain = String(e); }
    out.ws = await new Promise((resolve) => {
      const ws = new WebSocket(`${hub.replace('http', 'ws')}/ws`);
      const messages = [];
      let opened = false;
      ws.onopen = () => { opened = true; ws.send(JSON.stringify({ type: 'subscribe', id: 's', subject: 'orgs.>' })); };
      ws.onmessage = (m) => messages.push(m.data);
      setTimeout(() => { resolve({ opened, messages: messages.length }); ws.close(); }, 2000);
    });
    out.sse = await new Promise((resolve) => {
      const source = new EventSource(`${hub}/api/sse/meters`, { withCredentials: true });
      let received = 0;
      let opened = false;
      source.onopen = () => { opened = true; };
      source.onmessage = () => { received += 1; };
      source.addEventListener('meter', () => { received += 1; });
      setTimeout(() => { resolve({ opened, received }); source.close(); }, 2000);
    });
    return out;
  }, hubUrl);
});
