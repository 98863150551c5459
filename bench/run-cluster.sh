#!/usr/bin/env bash
# Several hub nodes as one service (Nats:Cluster=true) beside one hub, in the same sitting. N SSE clients of the one
# bench site; the load tool pushes readings to a node (NDJSON, --rate 0: as fast as it accepts) and times each reading
# from push to delivery.
#   embedded:     one hub, in-process (no NATS): the single-node figure everything is compared with
#   cluster-1:    one cluster node: push → JetStream → its feed → its clients
#   cluster-2:    two cluster nodes, N/2 clients on each, pushing to node A
#   cluster-a-b:  two cluster nodes, all N clients on node B, pushing to node A (hub → NATS → hub)
#   cluster-3:    three cluster nodes on three clustered nats-servers (the stream at three replicas, as
#                 deploy/cluster/), N/3 clients on each, pushing to node A
#   nats:         nats-server alone, N core-NATS subscribers (the floor of the NATS hop)
# Servers (nats-server and every hub node) on core 0, the load generator on core 1; runs interleaved. Loopback only.
#
# Usage: bench/run-cluster.sh [repeats] [seconds] [clients]
# Prints a markdown table (medians, min–max, ratios against embedded); raw lines in artifacts/bench/cluster.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}
seconds=${2:-6}
clients=${3:-200}
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
command -v nats-server >/dev/null 2>&1 || { $sudo apt-get update -qq; DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nats-server; }
mkdir -p artifacts/bench
results=artifacts/bench/cluster.jsonl
: > "$results"
tool=bench/Wattstream.LoadTool/bin/Release/net10.0/Wattstream.LoadTool.dll
# The load tool's GC must not decide the latencies it measures: a 256 MB gen0 budget makes its collections rare (issue 31).
# LOAD_GC='' measures with the runtime's default budget instead.
read -r -a load_gc <<< "${LOAD_GC-DOTNET_GCgen0size=0x10000000}"
hub=src/Wattstream.Server/bin/Release/net10.0/wattstream.dll
dotnet build -c Release -v q -nologo src/Wattstream.Server
dotnet build -c Release -v q -nologo bench/Wattstream.LoadTool

wait_port() { for _ in $(seq 1 "${2:-100}"); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 did not open" >&2; return 1; }
pids=()
start_hub() { # port [settings…]
  local port=$1; shift
  taskset -c 0 dotnet "$hub" --urls "http://127.0.0.1:$port" --Simulation:Enabled=false --Storage:Enabled=false \
    --Storage:DataDirectory="$store/hub-$port" --Logging:LogLevel:Default=Warning "$@" >/dev/null 2>&1 &
  pids+=($!)
  wait_port "$port" "${hub_wait:-100}"
}
# Whatever a run leaves when the script stops early (a port that did not open, Ctrl-C): stopped by pid.
trap 'stop_all; rm -rf "${store:-}"' EXIT

# Three nats-servers clustered over routes on loopback, JetStream each (deploy/cluster/nats-*.conf, on free ports).
start_nats3() { # store first-client-port → the comma-separated client URLs in $nats_urls
  local store=$1 base=$2 i j routes
  nats_urls=""
  for i in 0 1 2; do
    routes=""
    for j in 0 1 2; do [ "$j" = "$i" ] || routes+="    nats-route://127.0.0.1:$((base + 100 + j))"$'\n'; done
    mkdir -p "$store/n$i"
    cat > "$store/n$i.conf" <<CONF
server_name: n$i
listen: 127.0.0.1:$((base + i))
http: 127.0.0.1:$((base + 200 + i))
jetstream { store_dir: "$store/n$i" }
cluster {
  name: bench
  listen: 127.0.0.1:$((base + 100 + i))
  routes: [
$routes  ]
}
CONF
    taskset -c 0 nats-server -c "$store/n$i.conf" >/dev/null 2>&1 &
    pids+=($!)
    nats_urls+="${nats_urls:+,}nats://127.0.0.1:$((base + i))"
  done
  for i in 0 1 2; do wait_port $((base + i)); done
  # Replicated streams can be placed once JetStream has a meta leader that knows all three servers; before that a hub's
  # stream creation is refused ("no suitable peers for placement") and the hub exits.
  for _ in $(seq 1 450); do
    python3 - "$base" <<'PY' && break
import json, sys, urllib.request
base = int(sys.argv[1])
try:
    metas = [json.load(urllib.request.urlopen(f"http://127.0.0.1:{base + 200 + i}/jsz", timeout=2)).get("meta_cluster") or {} for i in range(3)]
except OSError:
    sys.exit(1)
leader = [m for m in metas if m.get("replicas")]  # only the leader lists the others
sys.exit(0 if all(m.get("leader") for m in metas) and any(len(m["replicas"]) == 2 and all(r.get("current") for r in m["replicas"]) for m in leader) else 1)
PY
    sleep 0.2
  done
}
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; pids=(); }

run() { # scenario
  local scenario=$1 nport=$((4300 + RANDOM % 500)) a=$((8640 + RANDOM % 150)) b=$((8800 + RANDOM % 150))
  store=$(mktemp -d)   # global: the exit trap removes it; each hub's (unused) data directory lives in it too
  local target=wattstream-sse url publish clienturls
  if [ "$scenario" = cluster-3 ]; then
    start_nats3 "$store" "$nport"
  elif [ "$scenario" != embedded ]; then
    taskset -c 0 nats-server -a 127.0.0.1 -p "$nport" -js -sd "$store" >/dev/null 2>&1 &
    pids+=($!)
    wait_port "$nport"
  fi
  local cluster=(--Nats:Url="nats://127.0.0.1:$nport" --Nats:Cluster=true --Nats:PublishStatus=false)
  case $scenario in
    embedded)    start_hub "$a"; url="http://127.0.0.1:$a"; publish=$url; clienturls=$url ;;
    cluster-1)   start_hub "$a" "${cluster[@]}" --Nats:NodeId=a; url="http://127.0.0.1:$a"; publish=$url; clienturls=$url ;;
    cluster-2)   start_hub "$a" "${cluster[@]}" --Nats:NodeId=a; start_hub "$b" "${cluster[@]}" --Nats:NodeId=b
                 url="http://127.0.0.1:$a"; publish=$url; clienturls="http://127.0.0.1:$a,http://127.0.0.1:$b" ;;
    cluster-a-b) start_hub "$a" "${cluster[@]}" --Nats:NodeId=a; start_hub "$b" "${cluster[@]}" --Nats:NodeId=b
                 url="http://127.0.0.1:$b"; publish="http://127.0.0.1:$a"; clienturls=$url ;;
    cluster-3)   local c=$((8960 + RANDOM % 30)) three=(--Nats:Url="$nats_urls" --Nats:Cluster=true --Nats:Replicas=3 --Nats:ConnectTimeout=00:00:30)
                 # A node listens once NATS answered and the stream is there; the first makes it at three replicas once
                 # the servers have a JetStream leader (up to 2 min), then the others find it.
                 hub_wait=1200 start_hub "$a" "${three[@]}" --Nats:NodeId=a
                 hub_wait=1200 start_hub "$b" "${three[@]}" --Nats:NodeId=b
                 hub_wait=1200 start_hub "$c" "${three[@]}" --Nats:NodeId=c
                 url="http://127.0.0.1:$a"; publish=$url; clienturls="http://127.0.0.1:$a,http://127.0.0.1:$b,http://127.0.0.1:$c" ;;
    nats)        target=nats; url="nats://127.0.0.1:$nport"; publish=$url; clienturls=$url ;;
  esac
  echo "  $scenario" >&2
  env "${load_gc[@]}" taskset -c 1 dotnet "$tool" --target "$target" --url "$url" --publish-url "$publish" --client-urls "$clienturls" \
    --server-pid "${pids[0]}" --scenario "$scenario" --clients "$clients" --rate 0 --batch 50 --seconds "$seconds" \
    --json "$results" >/dev/null || echo "run failed: $scenario" >&2
  stop_all
  rm -rf "$store"
}

for _ in $(seq 1 "$repeats"); do
  for scenario in ${SCENARIOS:-embedded cluster-1 cluster-2 cluster-a-b cluster-3 nats}; do run "$scenario"; done
done

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
order = [s for s in ["embedded", "cluster-1", "cluster-2", "cluster-a-b", "cluster-3", "nats"] if any(r["Scenario"] == s for r in rows)]
def pick(s, key): return [r[key] for r in rows if r["Scenario"] == s]
def med(v): return statistics.median(v) if v else None
def cell(values, fmt):
    if not values: return "–"
    return f"{fmt(med(values))} ({fmt(min(values))}–{fmt(max(values))})"
measures = [
    ("delivered msgs/s", "DeliveredPerSecond", lambda v: f"{v/1000:.0f} k"),
    ("readings/s pushed", "Published", None),
    ("p50 latency", "P50Micros", lambda v: f"{v/1000:.1f} ms"),
    ("p99 latency", "P99Micros", lambda v: f"{v/1000:.1f} ms"),
    ("lost", "Lost", lambda v: f"{v:.0f}"),
    ("duplicates", "Duplicates", lambda v: f"{v:.0f}"),
]
print("| measure | " + " | ".join(order) + " |")
print("| --- |" + " --- |" * len(order))
for name, key, fmt in measures:
    if key == "Published":
        vals = {s: [r["Published"] / r["Seconds"] for r in rows if r["Scenario"] == s] for s in order}
        fmt = lambda v: f"{v/1000:.1f} k"
    else:
        vals = {s: pick(s, key) for s in order}
    print(f"| {name} | " + " | ".join(cell(vals[s], fmt) for s in order) + " |")
base = med(pick("embedded", "DeliveredPerSecond"))
print()
print("delivered msgs/s against embedded: " + ", ".join(
    f"{s} {med(pick(s, 'DeliveredPerSecond'))/base:.2f}" for s in order[1:] if base and pick(s, "DeliveredPerSecond")))
PY
