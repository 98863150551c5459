#!/usr/bin/env bash
# The Wattstream cluster on one machine, on loopback: three nats-servers clustered over routes (nats-{a,b,c}.conf, the
# stream at three replicas), three hub nodes in cluster mode, nginx in front of them (deploy/nginx/wattstream.conf with
# the three nodes as its upstream). Prints the URL, runs until Ctrl-C (or SIGTERM), then stops everything it started
# by pid. See README.md.
#
#   deploy/cluster/run.sh [hub settings…]     e.g.  deploy/cluster/run.sh --Simulation:Interval=00:00:00.250
#
# Environment: WATTSTREAM_DLL (the hub; default the Release build), WATTSTREAM_CLUSTER_DIR (data and logs; default
# $TMPDIR/wattstream-cluster, kept across runs), WATTSTREAM_CLUSTER_PORT_OFFSET (added to every port; default 0).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
dll=${WATTSTREAM_DLL:-$repo/src/Wattstream.Server/bin/Release/net10.0/wattstream.dll}
run=${WATTSTREAM_CLUSTER_DIR:-${TMPDIR:-/tmp}/wattstream-cluster}
export WATTSTREAM_CLUSTER_PORT_OFFSET=${WATTSTREAM_CLUSTER_PORT_OFFSET:-0}
port() { echo $(($1 + WATTSTREAM_CLUSTER_PORT_OFFSET)); }

[ -f "$dll" ] || { echo "run.sh: no hub at $dll (dotnet build src/Wattstream.Server -c Release, or set WATTSTREAM_DLL)" >&2; exit 2; }
command -v nats-server >/dev/null || { echo "run.sh: nats-server is not installed" >&2; exit 2; }
[ -x /usr/sbin/nginx ] || { echo "run.sh: nginx is not installed (/usr/sbin/nginx)" >&2; exit 2; }
mkdir -p "$run/nginx/temp" "$run/data"

# Every loopback port in a configuration, moved by the offset in one pass (two rewrites in turn could move a port twice).
shift_ports() { perl -pe 's/127\.0\.0\.1:(\d+)/"127.0.0.1:" . ($1 + $ENV{WATTSTREAM_CLUSTER_PORT_OFFSET})/ge' "$1"; }

pids=()
stop() {
    trap - EXIT INT TERM
    local pid i
    # Last started first: nginx, the hubs (they drain their clients), then the nats-servers.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        pid=${pids[i]}
        kill -TERM "$pid" 2>/dev/null || continue
        for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    echo "stopped"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started() { pids+=("$2"); echo "$1 pid $2"; }

# Polls a URL until it answers 2xx, or gives up after $2 seconds (at once when process $3, if given, has exited).
wait_for() {
    for _ in $(seq $(($2 * 5))); do
        curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null && return 0
        if [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null; then
            echo "run.sh: the process behind $1 exited (logs in $run)" >&2
            return 1
        fi
        sleep 0.2
    done
    echo "run.sh: $1 did not answer within $2 s (logs in $run)" >&2
    return 1
}

urls=()
for name in a b c; do
    shift_ports "$here/nats-$name.conf" > "$run/nats-$name.conf"
    (cd "$run" && exec nats-server -c "$run/nats-$name.conf" > "$run/nats-$name.log" 2>&1) &
    started "nats-$name" $!
    urls+=("nats://127.0.0.1:$(port $((4222 + ${#urls[@]})))")
done
nats_url=$(IFS=,; echo "${urls[*]}")
# The stream can be made once the servers have elected a JetStream meta leader (each names it on /jsz).
for monitor in 8222 8223 8224; do
    wait_for "http://127.0.0.1:$(port $monitor)/healthz" 60
    for _ in $(seq 300); do curl -fsS --max-time 2 "http://127.0.0.1:$(port $monitor)/jsz" | grep -q '"leader"' && break; sleep 0.2; done
done

hubs=()
for name in a b c; do
    hub_port=$(port $((8111 + ${#hubs[@]})))
    # The same settings on every node: the simulator, each source, each site's alerts and the status and summary
    # publishing are jobs, each run by one node and moved with its lease (docs/scaling.md). One seed, so the simulated
    # site is the same whichever node steps it.
    own=(--Simulation:Seed=1)
    dotnet "$dll" serve --urls "http://127.0.0.1:$hub_port" --Nats:Url="$nats_url" --Nats:Cluster=true --Nats:Replicas=3 \
        --Nats:NodeId="hub-$name" --Nats:ConnectTimeout=00:00:30 --Storage:DataDirectory="$run/data/hub-$name" "${own[@]}" "$@" \
        > "$run/hub-$name.log" 2>&1 &
    started "hub-$name" $!
    hubs+=("http://127.0.0.1:$hub_port")
    # The first node makes the stream (three replicas: the servers agree on it) before the others start and find it.
    if [ "$name" = a ]; then wait_for "${hubs[0]}/readyz" 180 "${pids[-1]}"; fi
done
for i in 1 2; do wait_for "${hubs[i]}/readyz" 180 "${pids[-3 + i]}"; done
echo "hubs ready: ${hubs[*]}"

# deploy/nginx/wattstream.conf as it is, with the three nodes as its upstream.
perl -pe 's/^(\s*)server 127\.0\.0\.1:8111;/$1server 127.0.0.1:8111;\n$1server 127.0.0.1:8112;\n$1server 127.0.0.1:8113;/' \
    "$repo/deploy/nginx/wattstream.conf" > "$run/nginx/wattstream.upstream.conf"
shift_ports "$run/nginx/wattstream.upstream.conf" > "$run/nginx/wattstream.conf"
cp "$here/nginx.conf" "$run/nginx/nginx.conf"
/usr/sbin/nginx -p "$run/nginx" -c "$run/nginx/nginx.conf" > "$run/nginx.log" 2>&1 &
started nginx $!
url="http://127.0.0.1:$(port 8080)"
wait_for "$url/readyz" 30 "${pids[-1]}"

echo "Wattstream cluster: $url   (nodes ${hubs[*]}; NATS $nats_url; logs in $run; Ctrl-C stops it)"
# Waits for the children; a signal interrupts the wait and the trap stops them all.
wait
