#!/usr/bin/env bash
# Fan-out benchmark: Wattstream (SSE, WebSocket) and its peers (ASP.NET Core SignalR, Node.js ws, nats-server) on this
# machine, same payload, server pinned to core 0 and load generator to core 1, every scenario repeated. Loopback only.
#
# Usage: bench/run.sh [repeats] [seconds]    (bench/run.sh --report: rewrite the docs from the last run's results)
#        SCENARIOS="l c" TARGETS="wattstream-sse nats" RESULTS=artifacts/bench/try.jsonl bench/run.sh 1 6: a subset, for
#        working on one figure (the docs are rewritten only from a full run's default results file).
# Writes the generated part of docs/benchmarks.md (between the fan-out markers) and docs/images/fanout.png; the raw
# result lines stay in artifacts/bench/fanout.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
report_only=false; [ "${1:-}" = "--report" ] && { report_only=true; shift; }
repeats=${1:-3}
seconds=${2:-8}
mkdir -p artifacts/bench docs/images
results=${RESULTS:-artifacts/bench/fanout.jsonl}
scenarios=" ${SCENARIOS:-a b l c d e f} "
wants() { [[ "$scenarios" == *" $1 "* ]]; }
tool=bench/Wattstream.LoadTool/bin/Release/net10.0/Wattstream.LoadTool.dll
# The load tool's GC must not decide the latencies it measures: a 256 MB gen0 budget makes its collections rare (issue 31).
# LOAD_GC='' measures with the runtime's default budget instead.
read -r -a load_gc <<< "${LOAD_GC-DOTNET_GCgen0size=0x10000000}"
if ! $report_only; then
: > "$results"

# nats-server and Node.js from Debian.
sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
command -v nats-server >/dev/null 2>&1 || { $sudo apt-get update -qq; DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nats-server; }
command -v npm >/dev/null 2>&1 || { $sudo apt-get update -qq; DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm; }
dotnet build -c Release -v q -nologo src/Wattstream.Server
dotnet build -c Release -v q -nologo bench/Wattstream.LoadTool
dotnet build -c Release -v q -nologo bench/peers/SignalRPeer
(cd bench/peers/node-ws && npm ci --no-audit --no-fund --loglevel=error)
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"   # 10 000 connections in one process

load() { env "${load_gc[@]}" taskset -c 1 dotnet "$tool" "$@" --json "$results" >/dev/null; }
wait_port() { for _ in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 did not open" >&2; return 1; }

start_server() { # name port → pid
  case $1 in
    wattstream) taskset -c 0 dotnet src/Wattstream.Server/bin/Release/net10.0/wattstream.dll --urls "http://127.0.0.1:$2" \
                  --Simulation:Enabled=false --Storage:Enabled=false --Logging:LogLevel:Default=Warning >/dev/null 2>&1 & ;;
    signalr)    taskset -c 0 dotnet bench/peers/SignalRPeer/bin/Release/net10.0/SignalRPeer.dll --urls "http://127.0.0.1:$2" >/dev/null 2>&1 & ;;
    node-ws)    (cd bench/peers/node-ws && exec taskset -c 0 node server.js "$2") >/dev/null 2>&1 & ;;
    nats)       taskset -c 0 nats-server -a 127.0.0.1 -p "$2" >/dev/null 2>&1 & ;;
  esac
  echo $!
}

run() { # target load-tool-arguments… : one fresh server, one run
  local target=$1; shift
  local server=${target%%-sse}; server=${server%%-ws}; [ "$target" = node-ws ] && server=node-ws
  local port=$((8140 + RANDOM % 500)) scheme=http
  [ "$server" = nats ] && scheme=nats
  local pid; pid=$(start_server "$server" "$port"); wait_port "$port"   # taskset and the subshell exec: $! is the server
  echo "  $target $*" >&2
  load --target "$target" --url "$scheme://127.0.0.1:$port" --server-pid "$pid" "$@" || echo "run failed: $target $*" >&2
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
}

all_targets=${TARGETS:-wattstream-sse wattstream-ws signalr node-ws nats}
each() { # load-tool-arguments… : every target, repeated, interleaved so drift on the machine hits all alike
  for _ in $(seq 1 "${each_repeats:-$repeats}"); do for target in $all_targets; do run "$target" "$@"; done; done
}
# Latency rows move most between runs on this machine: they run at least three times, interleaved (median, min–max).
latency_repeats=$(( repeats < 3 ? 3 : repeats ))

if wants a; then
  echo "scenario (a): one meter, N clients, max rate, then half of Wattstream SSE's max" >&2
  for clients in 100 1000; do
    each --scenario a --clients "$clients" --rate 0 --batch 50 --seconds "$seconds"
    half=$(dotnet "$tool" half-rate "$results" --clients "$clients")
    each --scenario a-half --clients "$clients" --rate "$half" --batch 1 --seconds "$seconds"
  done
fi

if wants b; then
  echo "scenario (b): 1 000 meters at 1 reading/s on 10 sites, 1 000 clients each on one site" >&2
  each --scenario b --clients 1000 --sites 10 --meters 1000 --rate 1000 --batch 10 --seconds "$seconds"
fi

if wants l; then
  echo "latency (l): 20 000 messages/s to 1 000 clients, where nothing should be saturated: one meter at 20 readings/s to" >&2
  echo "  all of them (each reading a burst of 1 000), and 1 000 meters on 100 sites at 2 readings/s each (10 clients a site)" >&2
  each_repeats=$latency_repeats each --scenario l --clients 1000 --rate 20 --batch 1 --seconds "$seconds"
  each_repeats=$latency_repeats each --scenario l --clients 1000 --sites 100 --meters 1000 --rate 2000 --batch 1 --seconds "$seconds"
fi

if wants c; then
  echo "scenario (c): 10 000 idle connections, memory once connected and after 30 s idle" >&2
  each --scenario c --clients 10000 --rate 1 --batch 1 --seconds 2 --warmup 1 --idle-seconds 30
fi

if wants e; then
  # 100 000 connections need 100 000 file descriptors in the server and in the load tool: raise the limit as far as this
  # machine lets (past the hard limit needs CAP_SYS_RESOURCE) and scale the scenario down to what fits, saying so.
  ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  e_clients=$(( ($(ulimit -n) - 1000) / 10 * 10 )); [ "$e_clients" -gt 100000 ] && e_clients=100000
  e_sites=$(( e_clients / 10 ))
  [ "$e_clients" -lt 100000 ] && echo "scenario (e) scaled down to $e_clients connections: the file limit here is $(ulimit -n)" >&2
  echo "scenario (e): $e_clients SSE connections over $e_sites sites, one meter each every 10 s" >&2
  for _ in $(seq 1 "$latency_repeats"); do for target in ${TARGETS_E:-wattstream-sse wattstream-ws nats}; do
    run "$target" --scenario e --clients "$e_clients" --sites "$e_sites" --meters "$e_sites" --rate $(( e_sites / 10 )) --batch 10 \
      --seconds 30 --source-addresses $(( (e_clients + 19999) / 20000 ))
  done; done
fi

if wants f; then
  # End to end: a fleet of emulated whatwatt devices (one server, a device per port, Digest, a reading each whole
  # second) on core 1 with the load tool; the hub on core 0 reads every device through its SSE stream, stores the
  # readings in SQLite and fans them out to ten clients a device's site. Settings through the environment, as an
  # operator would pass secrets.
  # F_SPREAD: the devices send spread over 900 ms after each whole second (as unsynchronised meters do), then all on
  # the second (the worst burst); 900 or 0 alone runs one of them.
  f_devices=${F_DEVICES:-1000}; f_clients=$(( f_devices * 10 )); f_port=30000
  echo "scenario (f): $f_devices whatwatt devices → hub (stored) → $f_clients SSE clients" >&2
  for _ in $(seq 1 "$repeats"); do for f_spread in ${F_SPREAD:-900 0}; do
    spread_flag=""; [ "$f_spread" -gt 0 ] && spread_flag=--spread
    taskset -c 1 dotnet src/Wattstream.Server/bin/Release/net10.0/wattstream.dll emulate whatwatt --devices "$f_devices" \
      --port "$f_port" --password bench-secret --whole-seconds $spread_flag >/dev/null 2>&1 &
    fleet=$!
    wait_port $(( f_port + f_devices - 1 ))
    sleep 1; kill -0 "$fleet" 2>/dev/null || { echo "the whatwatt fleet did not start (ports $f_port… taken?)" >&2; continue; }
    port=$((8140 + RANDOM % 500)); data=$(mktemp -d)
    (
      for i in $(seq 0 $(( f_devices - 1 ))); do
        export "Sources__${i}__Id=w$i" "Sources__${i}__Kind=whatwatt" "Sources__${i}__Url=http://127.0.0.1:$(( f_port + i ))" \
          "Sources__${i}__Password=bench-secret" "Sources__${i}__Org=bench" "Sources__${i}__Site=bench-$i" "Sources__${i}__Device=gw"
      done
      exec taskset -c 0 dotnet src/Wattstream.Server/bin/Release/net10.0/wattstream.dll --urls "http://127.0.0.1:$port" \
        --Simulation:Enabled=false --Storage:DataDirectory="$data" --Alerts:ExampleRules=false --Logging:LogLevel:Default=Warning
    ) >/dev/null 2>&1 &
    hub=$!
    wait_port "$port"
    for _ in $(seq 1 120); do   # every source connected
      [ "$(curl -s "http://127.0.0.1:$port/api/sources" | grep -o '"status":"CONNECTED"' | wc -l)" -ge "$f_devices" ] && break; sleep 1
    done
    echo "  wattstream-sse --scenario f --clients $f_clients --sites $f_devices --meters $f_devices --from-devices --device-spread-ms $f_spread" >&2
    load --target wattstream-sse --url "http://127.0.0.1:$port" --server-pid "$hub" --scenario f --clients "$f_clients" \
      --sites "$f_devices" --meters "$f_devices" --from-devices --device-spread-ms "$f_spread" --seconds 30 --warmup 3 || echo "run failed: f" >&2
    kill "$hub" "$fleet" 2>/dev/null || true; wait "$hub" "$fleet" 2>/dev/null || true; rm -rf "$data"
  done; done
fi

if wants d; then
  echo "scenario (d): 10 000 SSE clients reconnect at once with Last-Event-ID" >&2
  for _ in $(seq 1 "$repeats"); do run wattstream-sse --scenario d --clients 10000 --rate 1 --batch 1 --seconds "$seconds" --reconnect-burst; done
fi
fi

if [ -n "${RESULTS:-}" ]; then dotnet "$tool" report "$results"; exit 0; fi   # a working subset: tables only, docs untouched

# The generated part of docs/benchmarks.md.
tables=$(dotnet "$tool" report "$results" --chart docs/images/fanout.png)
generated=$(mktemp)
{
  echo "<!-- fan-out:begin (written by bench/run.sh; edit outside these markers) -->"
  echo "Run of $(date -u -r "$results" +%Y-%m-%d) by \`bench/run.sh $repeats $seconds\` (up to $repeats runs of every row, at least three of the latency rows (l) and (e), ${seconds} s of publishing each; a row with fewer had runs fail, see the notes)."
  echo
  echo "Machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB, $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)."
  echo "Versions: .NET $(dotnet --list-runtimes | sed -n 's/^Microsoft.NETCore.App \([^ ]*\).*/\1/p' | tail -1) (SDK $(dotnet --version)), $(nats-server --version), Node.js $(node --version) with ws $(node -p "require('./bench/peers/node-ws/node_modules/ws/package.json').version"), Microsoft.AspNetCore.SignalR(.Client) $(sed -n 's/.*"Microsoft.AspNetCore.SignalR.Client" Version="\([^"]*\)".*/\1/p' Directory.Packages.props), NATS.Net $(sed -n 's/.*"NATS.Net" Version="\([^"]*\)".*/\1/p' Directory.Packages.props)."
  echo
  echo "$tables"
  echo
  echo "![Delivered messages/s and p99 latency by client count](images/fanout.png)"
  echo "<!-- fan-out:end -->"
} > "$generated"
python3 - "$generated" docs/benchmarks.md <<'EOF'
import re, sys
generated = open(sys.argv[1]).read().rstrip("\n")
doc = open(sys.argv[2]).read()
pattern = re.compile(r"<!-- fan-out:begin.*?<!-- fan-out:end -->", re.S)
doc = pattern.sub(lambda _: generated, doc) if pattern.search(doc) else doc.rstrip("\n") + "\n\n" + generated + "\n"
open(sys.argv[2], "w").write(doc)
EOF
rm -f "$generated"
echo "$tables"
echo "docs/benchmarks.md and docs/images/fanout.png written; raw results: $results" >&2
