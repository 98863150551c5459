#!/usr/bin/env bash
# MQTT ingest: readings/s the hub accepts from Tasmota meters through mosquitto, at QoS 0 and QoS 1, beside the push API
# (POST /api/readings, NDJSON) in the same sitting. The hub (an mqtt source, Format=tasmota, or nothing but the push
# API) on core 0; everything that feeds it on core 1: mosquitto and `wattstream emulate tasmota` (N devices, each its
# own connection, a SENSOR every interval), or the load tool posting batches as fast as the hub answers. MQTT runs at a
# ladder of offered loads (N devices × 1/interval); the maximum is the best step (past it mosquitto drops QoS 0
# messages for the hub, and QoS 1 is held by the acknowledgements). Counted: the hub's own wattstream_readings_accepted_total (/metrics) over a fixed window after a
# warm-up. Runs interleaved (push, QoS 0 steps, QoS 1 steps, push, …). Loopback only.
#
# Usage: bench/run-mqtt.sh [repeats] [seconds] [devices] [intervals]     (defaults: 3 10 200 "20ms 10ms 5ms")
#        BATCH=50 bench/run-mqtt.sh …: readings per push request (default 50; 1 is one reading a request, as MQTT sends)
#        INFLIGHT=20 bench/run-mqtt.sh …: mosquitto's max_inflight_messages toward each client (QoS 1; its default 20)
#        NODELAY=false bench/run-mqtt.sh …: mosquitto's set_tcp_nodelay (default here true; mosquitto's own default is
#          false, and then Nagle's algorithm and delayed ACKs hold every QoS 1 PUBLISH/PUBACK exchange: about 100
#          readings/s whatever is offered)
#        TARGETS="push mqtt-qos0 mqtt-qos1": a subset
# Prints a markdown table (medians, min–max, ratios to the push API); raw lines in artifacts/bench/mqtt.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}
seconds=${2:-10}
devices=${3:-200}
intervals=${4:-20ms 10ms 5ms}
batch=${BATCH:-50}
inflight=${INFLIGHT:-20}
nodelay=${NODELAY:-true}
targets=" ${TARGETS:-push mqtt-qos0 mqtt-qos1} "
wants() { [[ "$targets" == *" $1 "* ]]; }
warmup=5
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || { $sudo apt-get update -qq; DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq mosquitto; }
mosquitto=$(command -v mosquitto || echo /usr/sbin/mosquitto)
mkdir -p artifacts/bench
results=artifacts/bench/mqtt.tsv
: > "$results"
tool=bench/Wattstream.LoadTool/bin/Release/net10.0/Wattstream.LoadTool.dll
wattstream=src/Wattstream.Server/bin/Release/net10.0/wattstream.dll
dotnet build -c Release -v q -nologo src/Wattstream.Server
dotnet build -c Release -v q -nologo bench/Wattstream.LoadTool

wait_port() { for _ in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 did not open" >&2; return 1; }
accepted() { curl -s "http://127.0.0.1:$1/metrics" | awk '/^wattstream_readings_accepted_total/ { print $2 }'; }
stop() { for pid in "$@"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; }

# Counts what the hub on port $1 accepts over the window after the warm-up → readings/s.
measure() {
  sleep "$warmup"
  local before after
  before=$(accepted "$1"); sleep "$seconds"; after=$(accepted "$1")
  awk -v a="$before" -v b="$after" -v s="$seconds" 'BEGIN { printf "%.0f", (b - a) / s }'
}

hub() { # port [settings…] → pid
  local port=$1; shift
  taskset -c 0 dotnet "$wattstream" --urls "http://127.0.0.1:$port" --Simulation:Enabled=false --Storage:Enabled=false \
    --Alerts:ExampleRules=false --Logging:LogLevel:Default=Warning "$@" >/dev/null 2>&1 &
  echo $!
}

run_push() {
  local port=$((8640 + RANDOM % 300)) pid load rate
  pid=$(hub "$port"); wait_port "$port"
  taskset -c 1 dotnet "$tool" --target wattstream-sse --url "http://127.0.0.1:$port" --scenario mqtt-push --clients 1 \
    --rate 0 --batch "$batch" --meters "$devices" --seconds $(( seconds + warmup + 5 )) --warmup 1 >/dev/null 2>&1 &
  load=$!
  rate=$(measure "$port")
  stop "$load" "$pid"
  printf 'push\t0\t%s\n' "$rate" >> "$results"; echo "  push (batch $batch): $rate readings/s" >&2
}

offered() { awk -v d="$devices" -v i="$1" 'BEGIN { sub(/ms$/, "", i); printf "%.0f", d * 1000 / i }'; }

run_mqtt() { # qos interval
  local qos=$1 interval=$2 bport=$((1900 + RANDOM % 500)) port=$((8640 + RANDOM % 300)) folder broker pid emulator rate
  folder=$(mktemp -d)
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\nmax_inflight_messages %s\nset_tcp_nodelay %s\n' "$bport" "$inflight" "$nodelay" > "$folder/mosquitto.conf"
  taskset -c 1 "$mosquitto" -c "$folder/mosquitto.conf" >/dev/null 2>&1 &
  broker=$!
  wait_port "$bport"
  pid=$(hub "$port" --Sources:0:Id=meters --Sources:0:Kind=mqtt --Sources:0:Url="mqtt://127.0.0.1:$bport" \
    --Sources:0:Format=tasmota --Sources:0:Qos="$qos" --Sources:0:Org=bench --Sources:0:Site=bench)
  wait_port "$port"
  for _ in $(seq 1 100); do curl -s "http://127.0.0.1:$port/api/sources" | grep -q '"status":"CONNECTED"' && break; sleep 0.1; done
  taskset -c 1 dotnet "$wattstream" emulate tasmota --broker "mqtt://127.0.0.1:$bport" --devices "$devices" \
    --interval "$interval" --qos "$qos" --seed 1 >/dev/null 2>&1 &
  emulator=$!
  rate=$(measure "$port")
  stop "$emulator" "$pid" "$broker"
  rm -rf "$folder"
  printf 'mqtt-qos%s\t%s\t%s\n' "$qos" "$(offered "$interval")" "$rate" >> "$results"; echo "  mqtt QoS $qos, $(offered "$interval") offered: $rate readings/s" >&2
}

echo "MQTT ingest: $devices Tasmota devices every $intervals vs push batches of $batch; ${seconds} s windows; mosquitto max_inflight_messages $inflight, set_tcp_nodelay $nodelay" >&2
for _ in $(seq 1 "$repeats"); do
  if wants push; then run_push; fi
  for interval in $intervals; do if wants mqtt-qos0; then run_mqtt 0 "$interval"; fi; done
  for interval in $intervals; do if wants mqtt-qos1; then run_mqtt 1 "$interval"; fi; done
done

python3 - "$results" "$batch" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
by = {}
for target, offered, rate in rows: by.setdefault((target, int(offered)), []).append(float(rate))
names = {"push": f"push API (POST /api/readings, {sys.argv[2]} a request)", "mqtt-qos0": "MQTT QoS 0 (mosquitto, tasmota)", "mqtt-qos1": "MQTT QoS 1 (mosquitto, tasmota)"}
push = statistics.median(by[("push", 0)]) if ("push", 0) in by else None
def cell(v): return f"{statistics.median(v):,.0f} ({min(v):,.0f}–{max(v):,.0f})"
print("| ingest | offered readings/s | runs | accepted readings/s, median (min–max) | / push API |")
print("| --- | --- | --- | --- | --- |")
for (target, offered), v in sorted(by.items(), key=lambda kv: (list(names).index(kv[0][0]), kv[0][1])):
    ratio = f"{statistics.median(v) / push:.2f}" if push else "–"
    print(f"| {names[target]} | {'as fast as answered' if target == 'push' else f'{offered:,}'} | {len(v)} | {cell(v)} | {ratio} |")
print()
print("| maximum | accepted readings/s (best step, median) | / push API |")
print("| --- | --- | --- |")
for target in names:
    steps = [statistics.median(v) for (t, _), v in by.items() if t == target]
    if steps:
        print(f"| {names[target]} | {max(steps):,.0f} | {max(steps) / push:.2f} |" if push else f"| {names[target]} | {max(steps):,.0f} | – |")
PY
