#!/usr/bin/env bash
# Failover after kill -9 and duplicates over repeated kills, on loopback: three clustered nats-servers (streams and
# buckets at three replicas), three hub nodes in cluster mode, an emulated whatwatt device as their source, a low-voltage
# rule on pushed readings that fires and resolves every period, and a webhook receiver. Each round kills the node(s)
# owning the source and the site's alerts with SIGKILL, times the takeover, and restarts them; at the end it counts
# webhook calls per Wattstream-Alert-Id and the transitions in /api/alerts. bench/failover.py holds the details.
#
# Usage: bench/run-failover.sh [rounds] [lease-ttl-seconds] [period-seconds] [hub settings…]     (defaults 5 5 4)
# Prints a markdown table and a summary; raw lines in artifacts/bench/failover.jsonl. Everything runs in a temporary
# folder, removed at the end (KEEP_WORK=1 keeps it, with every process's log); every process is stopped by its pid, also on
# Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nats-server >/dev/null 2>&1 || { echo "run-failover.sh: nats-server is not installed" >&2; exit 2; }
dotnet build -c Release -v q -nologo src/Wattstream.Server
mkdir -p artifacts/bench
: > artifacts/bench/failover.jsonl
exec python3 bench/failover.py --rounds "${1:-5}" --ttl "${2:-5}" --period "${3:-4}" --json artifacts/bench/failover.jsonl -- "${@:4}"
