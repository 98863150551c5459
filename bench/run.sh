#!/usr/bin/env bash
# Fan-out benchmark: Wattstream (SSE, WebSocket) and its peers (ASP.NET Core SignalR, Node.js ws, nats-server) on this machine,
# same payload, server pinned to core 0 and load generator to core 1, each run repeated. Loopback only.
# Usage: bench/run.sh [repeats] [seconds]  — prints a markdown table (docs/benchmarks.md records one).
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}
seconds=${2:-8}
results=$(mktemp /tmp/wattstream-fanout.XXXXXX.jsonl)

# nats-server from Debian; NATS.Net's NATS.NKeys from our own package (nuget.config maps it to tools/packages).
command -v nats-server >/dev/null 2>&1 || { sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo; $sudo apt-get update -qq; DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nats-server; }
dotnet pack tools/NATS.NKeys -c Release -o tools/packages -v q -nologo
dotnet build -c Release -v q -nologo src/Wattstream.Server
dotnet build -c Release -v q -nologo bench/Wattstream.LoadTool
dotnet build -c Release -v q -nologo bench/peers/SignalRPeer
(cd bench/peers/node-ws && npm ci --no-audit --no-fund --loglevel=error)

load() { taskset -c 1 dotnet bench/Wattstream.LoadTool/bin/Release/net10.0/Wattstream.LoadTool.dll "$@" --json "$results" >/dev/null; }
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

run_all() { # clients rate
  for r in $(seq 1 "$repeats"); do
    for pair in wattstream:wattstream-sse wattstream:wattstream-ws signalr:signalr node-ws:node-ws nats:nats; do
      server=${pair%%:*}; target=${pair##*:}; port=$((8140 + RANDOM % 500))
      pid=$(start_server "$server" "$port"); wait_port "$port"   # taskset and the subshell exec: $! is the server
      scheme=http; [ "$server" = nats ] && scheme=nats
      load --target "$target" --url "$scheme://127.0.0.1:$port" --clients "$1" --rate "$2" --seconds "$seconds" --server-pid "$pid" \
        || echo "run failed: $target $1 clients at rate $2" >&2
      kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
    done
  done
}

for clients in 100 1000; do
  run_all "$clients" 0                                   # scenario (a): the publisher as fast as the server takes it
  half=$(dotnet bench/Wattstream.LoadTool/bin/Release/net10.0/Wattstream.LoadTool.dll half-rate "$results" --clients "$clients")
  run_all "$clients" "$half"                             # latency at half of Wattstream SSE's maximum rate
done

dotnet bench/Wattstream.LoadTool/bin/Release/net10.0/Wattstream.LoadTool.dll report "$results"
echo "raw results: $results" >&2
