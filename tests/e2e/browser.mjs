// Launches Debian's Chromium headless through playwright-core (which never downloads a browser).
import { chromium } from 'playwright-core';

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    // The machine has no network beyond loopback: keep Chromium from trying to reach Google's services.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

// Runs one check in a fresh Chromium: `main(browser)` fills `result`; whatever happens the browser closes, `result` is
// printed as one JSON line, and the exit code says whether `main` threw (its message is `result.error`).
export async function run(result, main) {
  const browser = await launch();
  try {
    await main(browser);
  } catch (e) {
    result.error = String(e);
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(result));
  process.exit(result.error ? 1 : 0);
}
