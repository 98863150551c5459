#!/usr/bin/env bash
# Scenario (e) with the hub's JIT and CPU per second (dotnet-counters) beside nats-server: what the runtime's warm-up
# costs in the measured window, with dynamic PGO as the host ships it (off) and switched back on (DOTNET_TieredPGO=1).
# Hub pinned to core 0, load tool to core 1; runs interleaved. Loopback only.
#
# Usage: bench/run-warmup.sh [runs] [clients] [seconds]     (defaults: 2 runs, 10 000 connections, 40 s)
# Prints a markdown table; raw load-tool lines in artifacts/bench/warmup.jsonl, counters in artifacts/bench/warmup-*.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-2}
clients=${2:-10000}
seconds=${3:-40}
sites=$(( clients / 10 ))
mkdir -p artifacts/bench artifacts/tools
results=artifacts/bench/warmup.jsonl
: > "$results"
tool=bench/Wattstream.LoadTool/bin/Release/net10.0/Wattstream.LoadTool.dll
# The load tool's GC must not decide the latencies it measures: a 256 MB gen0 budget makes its collections rare (issue 31).
# LOAD_GC='' measures with the runtime's default budget instead.
read -r -a load_gc <<< "${LOAD_GC-DOTNET_GCgen0size=0x10000000}"
counters=artifacts/tools/dotnet-counters
[ -x "$counters" ] || dotnet tool install --tool-path artifacts/tools dotnet-counters >/dev/null
command -v nats-server >/dev/null 2>&1 || { echo "nats-server is needed (scripts/test.sh installs it)" >&2; exit 1; }
dotnet build -c Release -v q -nologo src/Wattstream.Server
dotnet build -c Release -v q -nologo bench/Wattstream.LoadTool
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

wait_port() { for _ in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 did not open" >&2; return 1; }
# The sum of a counter over the last 20 one-second rows before the run ended (the load tool's measured steady state).
last20() { grep "$2" "$1" | tail -22 | head -20 | awk -F, '{s+=$5} END {printf "%.2f", s}'; }

load() { # label target url pid
  env "${load_gc[@]}" taskset -c 1 dotnet "$tool" --target "$2" --url "$3" --server-pid "$4" --scenario e --clients "$clients" --sites "$sites" \
    --meters "$sites" --rate $(( sites / 10 )) --batch 10 --seconds "$seconds" --json "$results" >/dev/null 2>&1 || echo "run failed: $1" >&2
}

hub() { # label pgo(0|1)
  local port=$((8140 + RANDOM % 500)) csv="artifacts/bench/warmup-$1.csv"
  DOTNET_TieredPGO=$2 taskset -c 0 dotnet src/Wattstream.Server/bin/Release/net10.0/wattstream.dll --urls "http://127.0.0.1:$port" \
    --Simulation:Enabled=false --Storage:Enabled=false --Logging:LogLevel:Default=Warning >/dev/null 2>&1 &
  local pid=$!
  wait_port "$port"
  "$counters" collect -p "$pid" --counters System.Runtime --refresh-interval 1 --format csv -o "$csv" --duration "00:00:00:$(( seconds + 5 ))" >/dev/null 2>&1 &
  local watcher=$!
  load "$1" wattstream-sse "http://127.0.0.1:$port" "$pid"
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; wait "$watcher" 2>/dev/null || true
  local cpu; cpu=$(tail -1 "$results" | grep -o '"ServerCpuSeconds":[0-9.]*' | cut -d: -f2 | awk '{printf "%.2f", $1}')
  local p99; p99=$(tail -1 "$results" | grep -o '"P99Micros":[0-9]*' | cut -d: -f2)
  local user sys; user=$(last20 "$csv" "process.cpu.time.*user"); sys=$(last20 "$csv" "process.cpu.time.*system")
  echo "| Wattstream SSE, PGO $([ "$2" = 0 ] && echo off || echo on) | $(last20 "$csv" jit.compilation.time) s | $(awk -v a="$user" -v b="$sys" 'BEGIN {printf "%.2f", a + b}') s | $cpu s | $((p99 / 1000)) ms |"
}

nats() {
  local port=$((4300 + RANDOM % 400))
  taskset -c 0 nats-server -a 127.0.0.1 -p "$port" >/dev/null 2>&1 &
  local pid=$!
  wait_port "$port"
  load nats nats "nats://127.0.0.1:$port" "$pid"
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  local cpu; cpu=$(tail -1 "$results" | grep -o '"ServerCpuSeconds":[0-9.]*' | cut -d: -f2 | awk '{printf "%.2f", $1}')
  local p99; p99=$(tail -1 "$results" | grep -o '"P99Micros":[0-9]*' | cut -d: -f2)
  echo "| nats-server | – | – | $cpu s | $((p99 / 1000)) ms |"
}

echo "scenario (e): $clients SSE connections over $sites sites, $seconds s, $runs runs interleaved" >&2
echo "| server | JIT, last 20 s | CPU (user + system), last 20 s | server CPU, ${seconds} s window | p99 |"
echo "| --- | --- | --- | --- | --- |"
for r in $(seq 1 "$runs"); do
  hub "pgo-off-$r" 0
  hub "pgo-on-$r" 1
  nats
done
