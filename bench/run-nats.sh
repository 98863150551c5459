#!/usr/bin/env bash
# Readings through hub → NATS → subscribers, beside nats-server alone in the same sitting: N NATS clients each
# subscribed to the one bench site; the publisher as fast as the receiving side accepts (--rate 0) or at a fixed rate.
#   nats:            the load tool publishes each reading to nats-server itself (the floor: NATS alone)
#   wattstream-nats: the load tool pushes NDJSON to the hub (--Nats:Url, JetStream on), which publishes every reading
#                    on its Novacore subject; the clients subscribe at nats-server to orgs.bench.sites.bench.>
# Servers (nats-server, and the hub) on core 0, the load generator on core 1; runs interleaved. Loopback only.
#
# Usage: bench/run-nats.sh [repeats] [seconds] [clients] [rate]
# Prints a markdown table (medians, min–max, hub/NATS-alone ratios); raw lines in artifacts/bench/nats.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}
seconds=${2:-6}
clients=${3:-100}
rate=${4:-0}
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
command -v nats-server >/dev/null 2>&1 || { $sudo apt-get update -qq; DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nats-server; }
mkdir -p artifacts/bench
results=artifacts/bench/nats.jsonl
: > "$results"
tool=bench/Wattstream.LoadTool/bin/Release/net10.0/Wattstream.LoadTool.dll
# The load tool's GC must not decide the latencies it measures: a 256 MB gen0 budget makes its collections rare (issue 31).
# LOAD_GC='' measures with the runtime's default budget instead.
read -r -a load_gc <<< "${LOAD_GC-DOTNET_GCgen0size=0x10000000}"
dotnet build -c Release -v q -nologo src/Wattstream.Server
dotnet build -c Release -v q -nologo bench/Wattstream.LoadTool

wait_port() { for _ in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 did not open" >&2; return 1; }

run() { # target
  local target=$1 nport=$((4300 + RANDOM % 500)) hport=$((8640 + RANDOM % 300)) store
  store=$(mktemp -d)
  taskset -c 0 nats-server -a 127.0.0.1 -p "$nport" -js -sd "$store" >/dev/null 2>&1 &
  local npid=$! hpid=""
  wait_port "$nport"
  local publish=()
  if [ "$target" = wattstream-nats ]; then
    taskset -c 0 dotnet src/Wattstream.Server/bin/Release/net10.0/wattstream.dll --urls "http://127.0.0.1:$hport" \
      --Simulation:Enabled=false --Storage:Enabled=false --Nats:Url="nats://127.0.0.1:$nport" --Logging:LogLevel:Default=Warning >/dev/null 2>&1 &
    hpid=$!
    wait_port "$hport"
    publish=(--publish-url "http://127.0.0.1:$hport" --server-pid "$hpid")
  else
    publish=(--server-pid "$npid")
  fi
  echo "  $target" >&2
  env "${load_gc[@]}" taskset -c 1 dotnet "$tool" --target "$target" --url "nats://127.0.0.1:$nport" "${publish[@]}" --scenario nats \
    --clients "$clients" --rate "$rate" --batch 50 --seconds "$seconds" --json "$results" >/dev/null || echo "run failed: $target" >&2
  [ -n "$hpid" ] && { kill "$hpid" 2>/dev/null || true; wait "$hpid" 2>/dev/null || true; }
  kill "$npid" 2>/dev/null || true; wait "$npid" 2>/dev/null || true
  rm -rf "$store"
}

for _ in $(seq 1 "$repeats"); do
  run nats
  run wattstream-nats
done

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def pick(target, key): return [r[key] for r in rows if r["Target"] == target]
def cell(values, fmt):
    if not values: return "–"
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}–{fmt(max(values))})"
measures = [
    ("delivered msgs/s", "DeliveredPerSecond", lambda v: f"{v/1000:.0f} k"),
    ("p50 latency", "P50Micros", lambda v: f"{v/1000:.1f} ms"),
    ("p99 latency", "P99Micros", lambda v: f"{v/1000:.1f} ms"),
    ("lost", "Lost", lambda v: f"{v:.0f}"),
]
print("| measure | nats-server alone | hub → NATS | hub → NATS / alone |")
print("| --- | --- | --- | --- |")
for name, key, fmt in measures:
    a, h = pick("nats", key), pick("wattstream-nats", key)
    ratio = f"{statistics.median(h)/statistics.median(a):.2f}" if a and h and statistics.median(a) else "–"
    print(f"| {name} | {cell(a, fmt)} | {cell(h, fmt)} | {ratio} |")
PY
