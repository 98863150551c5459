#!/usr/bin/env bash
# Scenario (e), the city district, spread over several hub nodes of one cluster: one nats-server (JetStream), N hub
# nodes with Nats:Cluster=true, and one load-tool process per node holding that node's SSE clients and pushing that
# node's sites' readings (one meter a site every 10 s, ten clients a site). Each process has its own sites
# (--site-prefix), so none counts another's readings, but every node carries every reading (the stream feeds them all).
# The processes connect all their clients first and publish together (--barrier), so the measured windows coincide.
# Every process here may open at most `ulimit -n` files (20 000 on this machine, the hard limit): a node holds
# clients-per-node connections plus its own files, a load process the same connections plus its own.
#
# Usage: bench/run-district.sh [nodes] [clients-per-node] [seconds]     (defaults 5 19000 30)
# Prints one row per node and the totals; raw lines in artifacts/bench/district.jsonl, every process's log in
# artifacts/bench/district-logs/. Loopback only; a temporary folder
# removed at the end; every process stopped by its pid, also on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
nodes=${1:-5}
per_node=${2:-19000}
seconds=${3:-30}
sites=$((per_node / 10))
command -v nats-server >/dev/null 2>&1 || { echo "run-district.sh: nats-server is not installed" >&2; exit 2; }
tool=bench/Wattstream.LoadTool/bin/Release/net10.0/Wattstream.LoadTool.dll
# The load tool's GC must not decide the latencies it measures: a 256 MB gen0 budget makes its collections rare (issue 31).
# LOAD_GC='' measures with the runtime's default budget instead.
read -r -a load_gc <<< "${LOAD_GC-DOTNET_GCgen0size=0x10000000}"
hub=src/Wattstream.Server/bin/Release/net10.0/wattstream.dll
dotnet build -c Release -v q -nologo src/Wattstream.Server
dotnet build -c Release -v q -nologo bench/Wattstream.LoadTool
mkdir -p artifacts/bench
results=artifacts/bench/district.jsonl
: > "$results"
ulimit -n "$(ulimit -Hn)"
echo "file limit per process: $(ulimit -n); $nodes nodes × $per_node SSE clients = $((nodes * per_node)), $((nodes * sites)) sites" >&2

work=$(mktemp -d)
pids=()
loads=()
stop_all() {
  local p
  for p in "${loads[@]}" "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${loads[@]}" "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  loads=(); pids=()
  # Each process's log is kept beside the results (a failed run says why there).
  rm -rf artifacts/bench/district-logs; mkdir -p artifacts/bench/district-logs
  cp "$work"/*.log artifacts/bench/district-logs/ 2>/dev/null || true
  rm -rf "$work"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_port() { for _ in $(seq 1 "${2:-100}"); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 did not open" >&2; return 1; }
nport=$((4300 + RANDOM % 500))
nats-server -a 127.0.0.1 -p "$nport" -js -sd "$work/nats" >"$work/nats.log" 2>&1 &
pids+=($!)
wait_port "$nport"

# The load tool keeps up to 256 pushes in flight when the hub falls behind (five hubs and five load processes share two
# cores here); at the default of 8 pushes read at once a node answered 429 and the tool gave up (60 000 and 95 000).
ports=(); hubs=()
for k in $(seq 0 $((nodes - 1))); do
  port=$((9100 + k * 7 + RANDOM % 7))
  dotnet "$hub" --urls "http://127.0.0.1:$port" --Simulation:Enabled=false --Storage:Enabled=false \
    --Storage:DataDirectory="$work/hub-$k" --Nats:Url="nats://127.0.0.1:$nport" --Nats:Cluster=true --Nats:NodeId="hub-$k" \
    --Ingest:MaxConcurrentPushes=256 --Logging:LogLevel:Default=Warning >"$work/hub-$k.log" 2>&1 &
  pids+=($!); hubs+=($!); ports+=("$port")
  wait_port "$port" 1200
done
echo "nodes up: ports ${ports[*]}" >&2

mkdir -p "$work/barrier"
for k in $(seq 0 $((nodes - 1))); do
  url="http://127.0.0.1:${ports[k]}"
  env "${load_gc[@]}" dotnet "$tool" --target wattstream-sse --url "$url" --client-urls "$url" --server-pid "${hubs[k]}" --scenario e-cluster \
    --clients "$per_node" --sites "$sites" --meters "$sites" --rate $((sites / 10)) --batch 10 --seconds "$seconds" \
    --site-prefix "d$k" --barrier "$work/barrier" --json "$work/result-$k.jsonl" >"$work/load-$k.log" 2>&1 &
  loads+=($!)
done

# Go once every load process has connected all its clients (or as soon as one has failed: then the run is reported as such).
started=$(date +%s)
while [ "$(ls "$work/barrier" | grep -c '^ready\.')" -lt "$nodes" ]; do
  for p in "${loads[@]}"; do kill -0 "$p" 2>/dev/null || { echo "a load process ended before its clients were connected:" >&2; tail -n 5 "$work"/load-*.log >&2; exit 1; }; done
  [ $(( $(date +%s) - started )) -lt 900 ] || { echo "clients not connected within 15 minutes" >&2; exit 1; }
  sleep 1
done
echo "all $((nodes * per_node)) clients connected after $(( $(date +%s) - started )) s; publishing for $seconds s" >&2
rss_connected=0
for h in "${hubs[@]}"; do rss_connected=$((rss_connected + $(awk '/VmRSS/ {print $2}' "/proc/$h/status") * 1024)); done
echo "the hubs' RSS with every client connected: $((rss_connected / 1048576)) MB" >&2
touch "$work/barrier/go"
failed=0
for p in "${loads[@]}"; do wait "$p" || failed=1; done
loads=()
cat "$work"/result-*.jsonl > "$results" 2>/dev/null || true   # one file each: appends from five processes at once interleave
[ "$failed" = 0 ] || { echo "a load process failed:" >&2; tail -n 5 "$work"/load-*.log >&2; }

python3 - "$results" "$rss_connected" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| node | clients | delivered msgs/s | p50 | p99 | p99.9 | lost | duplicates | server CPU | peak RSS | RSS a connection |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for i, r in enumerate(rows):
    print(f"| {i} | {r['Clients']} | {r['DeliveredPerSecond']:.0f} | {r['P50Micros']/1000:.1f} ms | {r['P99Micros']/1000:.1f} ms | {r['P999Micros']/1000:.1f} ms | "
          f"{r['Lost']} | {r['Duplicates']} | {r['ServerCpuSeconds']/r['Seconds']*100:.0f} % | {r['ServerPeakRssBytes']/2**20:.0f} MB | {r['RssPerConnectionBytes']/1024:.1f} KB |")
clients = sum(r["Clients"] for r in rows)
print()
print(f"total: {clients} connections on {len(rows)} nodes; delivered {sum(r['DeliveredPerSecond'] for r in rows):.0f} msgs/s; "
      f"received {sum(r['Received'] for r in rows)} of {sum(r['Expected'] for r in rows)} expected, lost {sum(r['Lost'] for r in rows)}, "
      f"duplicates {sum(r['Duplicates'] for r in rows)}; worst p99 {max(r['P99Micros'] for r in rows)/1000:.1f} ms; "
      f"hubs' RSS with every client connected {int(sys.argv[2])/2**20:.0f} MB, peak sum {sum(r['ServerPeakRssBytes'] for r in rows)/2**20:.0f} MB; "
      f"hubs' CPU {sum(r['ServerCpuSeconds'] for r in rows)/rows[0]['Seconds']*100:.0f} % of a core; "
      f"load tools client-bound: {sum(1 for r in rows if r.get('ClientBound'))} of {len(rows)}")
PY
