#!/usr/bin/env bash
# What an idle connection is made of: starts Wattstream (server on core 0), opens N idle connections of one transport
# with the load tool (core 1), dumps the server's memory with the runtime's createdump and counts its live objects by
# part of the stack (bench/Wattstream.HeapCensus). Loopback only.
#
# Usage: bench/run-census.sh [wattstream-sse|wattstream-ws] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-wattstream-sse}
clients=${2:-10000}
dotnet build -c Release -v q -nologo src/Wattstream.Server >/dev/null
dotnet build -c Release -v q -nologo bench/Wattstream.LoadTool >/dev/null
dotnet build -c Release -v q -nologo bench/Wattstream.HeapCensus >/dev/null
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
runtime=$(dotnet --list-runtimes | sed -n 's/^Microsoft.NETCore.App \([^ ]*\) \[\(.*\)\]$/\2\/\1/p' | tail -1)
dump=$(mktemp -u /tmp/wattstream-census.XXXXXX.dmp)
port=$((8140 + RANDOM % 500))

taskset -c 0 dotnet src/Wattstream.Server/bin/Release/net10.0/wattstream.dll --urls "http://127.0.0.1:$port" \
  --Simulation:Enabled=false --Storage:Enabled=false --Logging:LogLevel:Default=Warning >/dev/null 2>&1 &
server=$!
trap 'kill "$server" "${load:-}" 2>/dev/null || true; rm -f "$dump"' EXIT
for _ in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done

# Scenario (c)'s shape: everyone connected, a reading a second, held long enough to dump in the middle.
taskset -c 1 dotnet bench/Wattstream.LoadTool/bin/Release/net10.0/Wattstream.LoadTool.dll --target "$target" \
  --url "http://127.0.0.1:$port" --clients "$clients" --rate 1 --batch 1 --seconds 60 --warmup 1 --scenario c >/dev/null &
load=$!
for _ in $(seq 1 120); do
  [ "$(ss -Htn state established "( sport = :$port )" | wc -l)" -ge "$clients" ] && break; sleep 1
done
sleep 5
rss=$(awk '/VmRSS/ {print $2 / 1024 " MB"}' "/proc/$server/status")   # before the dump, which touches pages
"$runtime/createdump" --withheap -f "$dump" "$server" >/dev/null
echo "$target, $clients idle connections; server RSS $rss"
dotnet bench/Wattstream.HeapCensus/bin/Release/net10.0/Wattstream.HeapCensus.dll "$dump" "$clients" --types "${TYPES:-0}"
