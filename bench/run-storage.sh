#!/usr/bin/env bash
# Storage benchmarks: SQLite, and PostgreSQL on a temporary cluster of its own (free loopback port, temp folder,
# removed at the end). Usage: bench/run-storage.sh [extra BenchmarkDotNet arguments]; FILTER="*Ingest*" for a part
set -euo pipefail
cd "$(dirname "$0")/.."

bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
dir=$(mktemp -d /tmp/wattstream-bench-pg.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)
as_pg=()
if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir"; as_pg=(runuser -u postgres --); fi
cleanup() { "${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT

"${as_pg[@]}" "$bin/initdb" -D "$dir/data" -A trust -U wattstream -E UTF8 >/dev/null
# Durable settings (fsync on), as a real deployment would run.
"${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c shared_buffers=512MB" start >/dev/null

export WATTSTREAM_BENCH_PG="Host=127.0.0.1;Port=$port;Username=wattstream;Database=postgres"
dotnet run -c Release --project bench/Wattstream.Benchmarks -- --filter "${FILTER:-*StorageBenchmarks*}" "$@"
