// The whatwatt seed's browser-side PowerAlert (whatwatt-live-sse.md, "Real-time alerting system"), as its users write
// it, given a meter's device base URL on the hub. The one edit: its callback's relative fetch('/api/alerts') is made
// relative to that base, so the alert goes to the meter's /api/alerts. Usage: node power-alert.mjs <hub-url> <meter>
// Prints one JSON line: {"posted":[{"status":201,"alert":{…}}],…}.
import { run } from './browser.mjs';

const [hubUrl, meter] = process.argv.slice(2);
const result = { consoleErrors: [], pageErrors: [], posted: [], error: null };
await run(result, async (browser) => {
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') result.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => result.pageErrors.push(String(e)));
  await page.route('**/favicon.ico', (r) => r.fulfill({ status: 204 })); // the JSON page's icon: not the client's concern
  await page.goto(new URL('/api/sites', hubUrl).toString()); // a page of the hub's origin
  await page.evaluate((deviceUrl) => {
    class PowerAlert {
      constructor(deviceUrl, thresholds, notificationCallback) {
        this.deviceUrl = deviceUrl;
        this.thresholds = thresholds;
        this.notify = notificationCallback;
        this.lastAlerts = {};
        this.eventSource = null;
      }

      start() {
        const url = `${this.deviceUrl}/api/v1/live`;
        this.eventSource = new EventSource(url);

        this.eventSource.addEventListener('live', (event) => {
          const data = JSON.parse(event.data);
          this.checkThresholds(data);
        });
      }

      checkThresholds(data) {
        const now = Date.now();

        // High power consumption alert
        if (data.P_In > this.thresholds.maxImportPower) {
          this.sendAlert('high_consumption',
            `High power consumption: ${data.P_In.toFixed(2)} kW`, data);
        }

        // Low voltage alert
        const minVoltage = Math.min(data.V_P1 || 999, data.V_P2 || 999, data.V_P3 || 999);
        if (minVoltage < this.thresholds.minVoltage && minVoltage > 0) {
          this.sendAlert('low_voltage',
            `Low voltage detected: ${minVoltage}V`, data);
        }

        // Solar production drop (if applicable)
        if (this.thresholds.expectedSolarPower &&
          data.P_Out < this.thresholds.expectedSolarPower * 0.8) {
          this.sendAlert('solar_drop',
            `Solar production below expected: ${data.P_Out.toFixed(2)} kW`, data);
        }

        // Phase imbalance
        const phases = [data.P_P1_In || 0, data.P_P2_In || 0, data.P_P3_In || 0];
        const activePhases = phases.filter(p => p > 0);
        if (activePhases.length > 1) {
          const maxPhase = Math.max(...activePhases);
          const minPhase = Math.min(...activePhases);
          const imbalance = ((maxPhase - minPhase) / maxPhase) * 100;

          if (imbalance > this.thresholds.maxPhaseImbalance) {
            this.sendAlert('phase_imbalance',
              `Phase imbalance: ${imbalance.toFixed(1)}%`, data);
          }
        }
      }

      sendAlert(type, message, data) {
        const now = Date.now();
        const lastAlert = this.lastAlerts[type] || 0;

        // Rate limiting: only send alert every 5 minutes for same type
        if (now - lastAlert > 5 * 60 * 1000) {
          this.notify({
            type: type,
            message: message,
            timestamp: new Date().toISOString(),
            data: data
          });
          this.lastAlerts[type] = now;
        }
      }
    }

    window.posted = [];
    // Thresholds that fire at once: any import is "high", no voltage is low, no solar expected, no imbalance counts.
    const alertSystem = new PowerAlert(
      deviceUrl,
      { maxImportPower: -1, minVoltage: 0, maxPhaseImbalance: 1000 },
      (alert) => {
        fetch(`${deviceUrl}/api/alerts`, {
          method: 'POST',
          headers: {'Content-Type': 'application/json'},
          body: JSON.stringify(alert)
        }).then(async (r) => window.posted.push({ status: r.status, alert: await r.json() }));
      }
    );

    alertSystem.start();
  }, new URL(`/meters/${encodeURIComponent(meter)}`, hubUrl).toString());
  await page.waitForFunction(() => window.posted.length >= 1, null, { timeout: 15000 });
  result.posted = await page.evaluate(() => window.posted);
});
