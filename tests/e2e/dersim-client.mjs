// The DER simulator seed's Node.js client (dersim-ws-telemetry.txt), as its users write it, plus a check of every key
// the seed documents. Usage: node dersim-client.mjs <ws-url> <messages>
// Prints each message as the seed's client does, then one JSON line: {"messages":N,"missing":[…],"nulls":{asset:[keys]}}.
import WebSocket from "ws";

const [url, count = "6"] = process.argv.slice(2);
const metricKeys = ["power_kw", "reactive_power_kvar", "apparent_power_kva", "voltage_ll_v", "voltage_ln_v", "current_a",
  "frequency_hz", "power_factor", "dc_power_kw", "dc_voltage_v", "dc_current_a", "state_of_charge_pct",
  "soc_reserve_min_pct", "soc_reserve_max_pct", "soc_min_pct", "soc_max_pct", "timestamp"];
const pqKeys = ["active_kw", "reactive_kvar", "apparent_kva", "angle_deg"];
const topKeys = ["metrics", "pq", "status", "clock_time", "dc_mode", "dc_port_count", "device_type", "device_profile_name", "asset_type", "device_index"];

const missing = new Set();
const nulls = {};
const consistency = [];
let messages = 0;
const timer = setTimeout(() => { console.error("timed out"); process.exit(2); }, 20000);

const ws = new WebSocket(url);
ws.on("message", (raw) => {
  if (messages >= Number(count)) return; // closing: what is still in flight is not counted
  const payload = JSON.parse(raw);
  console.log(`${payload.clock_time}: ${payload.metrics.power_kw.toFixed(2)} kW`);
  for (const k of topKeys) if (!(k in payload)) missing.add(k);
  for (const k of metricKeys) if (!(k in payload.metrics)) missing.add(`metrics.${k}`);
  for (const k of pqKeys) if (!(k in payload.pq)) missing.add(`pq.${k}`);
  const asset = payload.asset_type;
  nulls[asset] ??= new Set();
  for (const k of metricKeys) if (payload.metrics[k] === null) nulls[asset].add(`metrics.${k}`);
  for (const k of pqKeys) if (payload.pq[k] === null) nulls[asset].add(`pq.${k}`);
  const m = payload.metrics;
  if (m.apparent_power_kva > 0.01) {
    const s2 = m.power_kw ** 2 + m.reactive_power_kvar ** 2;
    if (Math.abs(Math.sqrt(s2) - m.apparent_power_kva) > 0.002) consistency.push(`${asset}: S² ≠ P² + Q² (${JSON.stringify(m)})`);
    if (Math.abs(m.power_kw / m.apparent_power_kva - m.power_factor) > 0.002) consistency.push(`${asset}: PF ≠ P/S`);
  }
  if (m.voltage_ln_v !== null && Math.abs(m.voltage_ll_v - Math.sqrt(3) * m.voltage_ln_v) > 0.1) consistency.push(`${asset}: V_LL ≠ √3·V_LN`);
  if (++messages === Number(count)) ws.close();
});
ws.on("close", () => {
  clearTimeout(timer);
  const nullsOut = Object.fromEntries(Object.entries(nulls).map(([a, s]) => [a, [...s].sort()]));
  console.log(JSON.stringify({ messages, missing: [...missing], nulls: nullsOut, consistency }));
  process.exit(0);
});
ws.on("error", (e) => { console.error(e.message); process.exit(3); });
