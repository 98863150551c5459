#!/usr/bin/env bash
# Before/after fan-out comparison of two builds of Wattstream in one sitting: scenario (a) at N clients, max rate, and
# scenario (c), 10 000 idle connections, for SSE and WebSocket; runs interleaved (before, after, before, after, …) so
# drift on the machine hits both alike. Server pinned to core 0, load generator to core 1. Loopback only.
#
# Usage: bench/run-pair.sh REV [repeats] [seconds] [clients]     (REV: the "before" commit, e.g. HEAD~3)
#        SCENARIOS="a" bench/run-pair.sh REV …                   (only some scenarios: a, b, l, l10, c, e, p1, p1c, p50; default a c)
#        l10: (l) with ten clients a site (1 000 meters on 100 sites, 2 000 single pushes/s); e: (e) at 10 000
#        connections over 1 000 sites (a meter a site every 10 s, 1 000 deliveries/s), 30 s after a 10 s warm-up.
#        p1, p50: the cost of a push — one SSE client, the load tool posting one reading (p1) or NDJSON batches of 50
#        (p50) as fast as each is answered, 10 s after a 10 s warm-up (SSE only: the push path is the same for both);
#        p1c: single-reading pushes from 64 publishers at once (the hub's core busy with pushes alone).
# Prints a markdown table (medians, min–max, after/before ratios); raw lines in artifacts/bench/pair.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?usage: bench/run-pair.sh REV [repeats] [seconds] [clients]}
repeats=${2:-3}
seconds=${3:-6}
clients=${4:-1000}
scenarios=${SCENARIOS:-a c}
mkdir -p artifacts/bench
results=artifacts/bench/pair.jsonl
: > "$results"
before=artifacts/bench/before
tool=bench/Wattstream.LoadTool/bin/Release/net10.0/Wattstream.LoadTool.dll
# The load tool's GC must not decide the latencies it measures: a 256 MB gen0 budget makes its collections rare (issue 31).
# LOAD_GC='' measures with the runtime's default budget instead.
read -r -a load_gc <<< "${LOAD_GC-DOTNET_GCgen0size=0x10000000}"

rm -rf "$before"; git worktree prune
git worktree add -f --detach "$before" "$rev" >/dev/null
trap 'git worktree remove --force "$before" 2>/dev/null || true' EXIT
dotnet build -c Release -v q -nologo "$before/src/Wattstream.Server"
dotnet build -c Release -v q -nologo src/Wattstream.Server
dotnet build -c Release -v q -nologo bench/Wattstream.LoadTool
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"   # 10 000 connections in one process

wait_port() { for _ in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 did not open" >&2; return 1; }

run() { # build target load-tool-arguments…
  local build=$1 target=$2; shift 2
  local root=.; [ "$build" = before ] && root=$before
  local port=$((8140 + RANDOM % 500))
  taskset -c 0 dotnet "$root/src/Wattstream.Server/bin/Release/net10.0/wattstream.dll" --urls "http://127.0.0.1:$port" \
    --Simulation:Enabled=false --Storage:Enabled=false --Logging:LogLevel:Default=Warning >/dev/null 2>&1 &
  local pid=$!
  wait_port "$port"
  echo "  $build $target $*" >&2
  env "${load_gc[@]}" taskset -c 1 dotnet "$tool" --target "$target" --url "http://127.0.0.1:$port" --server-pid "$pid" "$@" --json "$results.tmp" >/dev/null \
    || echo "run failed: $build $target $*" >&2
  # Tag the line with the build, so one file holds both.
  [ -f "$results.tmp" ] && sed "s/^{/{\"Build\":\"$build\",/" "$results.tmp" >> "$results" && rm -f "$results.tmp"
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
}

for _ in $(seq 1 "$repeats"); do
  for build in before after; do
    for target in wattstream-sse wattstream-ws; do
      case " $scenarios " in *" a "*) run "$build" "$target" --scenario a --clients "$clients" --rate 0 --batch 50 --seconds "$seconds" ;; esac
      case " $scenarios " in *" b "*) run "$build" "$target" --scenario b --clients 1000 --sites 10 --meters 1000 --rate 1000 --batch 10 --seconds "$seconds" ;; esac
      case " $scenarios " in *" l "*) run "$build" "$target" --scenario l --clients 1000 --rate 20 --batch 1 --seconds "$seconds" ;; esac
      case " $scenarios " in *" l10 "*) run "$build" "$target" --scenario l10 --clients 1000 --sites 100 --meters 1000 --rate 2000 --batch 1 --seconds "$seconds" ;; esac
      case " $scenarios " in *" c "*) run "$build" "$target" --scenario c --clients 10000 --rate 1 --batch 1 --seconds 2 --warmup 1 ;; esac
      if [ "$target" = wattstream-sse ]; then
        case " $scenarios " in *" p1 "*) run "$build" "$target" --scenario p1 --clients 1 --rate 0 --batch 1 --seconds 10 --warmup 10 ;; esac
        case " $scenarios " in *" p1c "*) run "$build" "$target" --scenario p1c --clients 1 --rate 0 --pushers 64 --batch 1 --seconds 10 --warmup 10 ;; esac
        case " $scenarios " in *" p50 "*) run "$build" "$target" --scenario p50 --clients 1 --rate 0 --batch 50 --seconds 10 --warmup 10 ;; esac
      fi
      case " $scenarios " in *" e "*) run "$build" "$target" --scenario e --clients 10000 --sites 1000 --meters 1000 --rate 100 --batch 10 --seconds 30 --warmup 10 ;; esac
    done
  done
done

python3 - "$results" "$rev" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
for r in rows:  # server CPU per delivered message, in µs
    r["CpuPerMessage"] = r["ServerCpuSeconds"] * 1e6 / r["Received"] if r["Received"] else 0
def pick(scenario, target, build, key):
    return [r[key] for r in rows if r["Scenario"] == scenario and r["Target"] == target and r["Build"] == build and r.get(key) is not None]
def cell(values, fmt):
    if not values: return "–"
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}–{fmt(max(values))})"
measures = [
    ("a", "delivered msgs/s", "DeliveredPerSecond", lambda v: f"{v/1000:.0f} k"),
    ("a", "p99 latency", "P99Micros", lambda v: f"{v/1000:.0f} ms"),
    ("a", "lost", "Lost", lambda v: f"{v:.0f}"),
    ("b", "server CPU per delivered message", "CpuPerMessage", lambda v: f"{v:.2f} µs"),
    ("b", "p99 latency", "P99Micros", lambda v: f"{v/1000:.1f} ms"),
    ("l", "p50 latency", "P50Micros", lambda v: f"{v/1000:.1f} ms"),
    ("l", "p99 latency", "P99Micros", lambda v: f"{v/1000:.1f} ms"),
    ("l", "server CPU per delivered message", "CpuPerMessage", lambda v: f"{v:.2f} µs"),
    ("l10", "p50 latency", "P50Micros", lambda v: f"{v/1000:.1f} ms"),
    ("l10", "p99 latency", "P99Micros", lambda v: f"{v/1000:.1f} ms"),
    ("l10", "p99 outside the tool's pauses", "P99MicrosOutsidePauses", lambda v: f"{v/1000:.1f} ms"),
    ("l10", "server CPU, s in the window", "ServerCpuSeconds", lambda v: f"{v:.2f} s"),
    ("p1", "readings/s (one a request)", "DeliveredPerSecond", lambda v: f"{v:,.0f}"),
    ("p1", "server CPU per reading", "CpuPerMessage", lambda v: f"{v:.1f} µs"),
    ("p1c", "readings/s (one a request, 64 publishers)", "DeliveredPerSecond", lambda v: f"{v:,.0f}"),
    ("p1c", "server CPU per reading", "CpuPerMessage", lambda v: f"{v:.1f} µs"),
    ("p50", "readings/s (NDJSON, 50 a request)", "DeliveredPerSecond", lambda v: f"{v:,.0f}"),
    ("p50", "server CPU per reading", "CpuPerMessage", lambda v: f"{v:.1f} µs"),
    ("c", "memory per idle connection", "RssPerConnectionBytes", lambda v: f"{v/1024:.1f} KB"),
    ("e", "p99 latency", "P99Micros", lambda v: f"{v/1000:.1f} ms"),
    ("e", "p99 outside the tool's pauses", "P99MicrosOutsidePauses", lambda v: f"{v/1000:.1f} ms"),
    ("e", "server CPU, s in the window", "ServerCpuSeconds", lambda v: f"{v:.2f} s"),
]
print(f"| scenario | target | measure | before ({sys.argv[2]}) | after | after/before |")
print("| --- | --- | --- | --- | --- | --- |")
for scenario, name, key, fmt in measures:
    if not any(r["Scenario"] == scenario for r in rows): continue
    for target in ("wattstream-sse", "wattstream-ws"):
        b, a = pick(scenario, target, "before", key), pick(scenario, target, "after", key)
        if not a and not b: continue  # a scenario run for one transport only (p1, p50)
        ratio = f"{statistics.median(a)/statistics.median(b):.2f}" if a and b and statistics.median(b) else "–"
        print(f"| {scenario} | {target} | {name} | {cell(b, fmt)} | {cell(a, fmt)} | {ratio} |")
PY
