#!/usr/bin/env python3
"""Failover of a cluster's jobs after kill -9, and duplicates over repeated kills (bench/run-failover.sh runs this).

On loopback, in a temporary folder: three nats-servers clustered over routes (JetStream, the hubs' streams and buckets
at three replicas, as deploy/cluster/), an emulated whatwatt device, a webhook receiver (in this process), and three
hub nodes in cluster mode with the same settings: the device as source `w0` (org bench, site dev) and one alert rule
(low voltage below 220 V, hysteresis 3 V, no repeat window) for the site bench/alerts, with the receiver as webhook.
A pusher posts a reading for bench/alerts every 200 ms to a live node, its voltage low for half of each period and
normal for the other half, so the rule fires and resolves once a period.

Each round: wait until the cluster is whole (every node up, the source connected, the site's job held), then kill -9
the node(s) owning `source:w0` and `site:bench/alerts` and time, from the kill:
  - source connected: a surviving node's /api/sources names a survivor as owner, CONNECTED;
  - source reading:   an SSE client on a survivor receives a device reading sent after the kill;
  - site job:         a survivor's /api/cluster lists `site:bench/alerts` under a survivor;
  - alert webhook:    the receiver gets a transition raised from a reading pushed after the kill.
Then restart the killed node(s) under the same node id. At the end: webhook calls per Wattstream-Alert-Id, the
transitions in /api/alerts on every node (same state twice in a row for the rule and DER = a duplicate), the episodes
pushed. Every process is started here and stopped by its pid (atexit and on SIGINT/SIGTERM); the folder is removed.
"""
import argparse
import atexit
import http.client
import http.server
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

parser = argparse.ArgumentParser()
parser.add_argument("--rounds", type=int, default=5)
parser.add_argument("--ttl", type=float, default=5.0, help="Nats:LeaseTtl in seconds")
parser.add_argument("--period", type=float, default=4.0, help="seconds of one low/normal voltage cycle")
parser.add_argument("--hub", default="src/Wattstream.Server/bin/Release/net10.0/wattstream.dll")
parser.add_argument("--json", default="artifacts/bench/failover.jsonl")
parser.add_argument("hub_args", nargs="*", help="more settings for every hub node, e.g. --Nats:DuplicateWindow=00:00:10 (after --)")
args = parser.parse_args()

SECRET = "bench-webhook-secret-0123456789"
DEVICE_PASSWORD = "bench-device-secret"
SITE_JOB = "site:bench/alerts"
SOURCE_JOB = "source:w0"
NAMES = ["hub-a", "hub-b", "hub-c"]

work = tempfile.mkdtemp(prefix="wattstream-failover-")
procs = {}  # name → Popen, every process this script started
base = 20000 + random.randrange(0, 2000) * 10


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def cleanup(*_):
    for name, proc in reversed(list(procs.items())):
        if proc.poll() is None:
            proc.terminate()
    deadline = time.time() + 15
    for proc in procs.values():
        try:
            proc.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    procs.clear()
    if os.environ.get("KEEP_WORK"):
        log(f"kept {work} (logs and stores)")
    else:
        shutil.rmtree(work, ignore_errors=True)


def on_signal(signum, _frame):
    cleanup()
    sys.exit(128 + signum)


atexit.register(cleanup)
signal.signal(signal.SIGINT, on_signal)
signal.signal(signal.SIGTERM, on_signal)


def start(name, argv):
    out = open(os.path.join(work, f"{name}.log"), "ab")
    procs[name] = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=work)
    return procs[name]


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def until(condition, timeout, what, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            value = condition()
            if value:
                return value
        except (OSError, ValueError, KeyError, http.client.HTTPException):
            pass
        time.sleep(interval)
    raise TimeoutError(f"{what}: not within {timeout} s (logs in {work})")


def get_json(port, path, timeout=2.0):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
        return json.load(response)


# --- the receiver: every webhook call with its arrival time ------------------------------------------------------
calls = []  # (arrival, alert id, state, reading timestamp ms)
calls_lock = threading.Lock()


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        alert = json.loads(body)
        data = alert.get("data") or {}
        with calls_lock:
            calls.append((time.time(), self.headers.get("Wattstream-Alert-Id"), alert.get("state"), data.get("timestamp")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_):
        pass


hook_port = base + 9
receiver = http.server.ThreadingHTTPServer(("127.0.0.1", hook_port), Hook)
threading.Thread(target=receiver.serve_forever, daemon=True).start()

# --- nats-servers ----------------------------------------------------------------------------------------------------
nats_urls = []
for i in range(3):
    routes = "\n".join(f"    nats-route://127.0.0.1:{base + 100 + j}" for j in range(3) if j != i)
    conf = os.path.join(work, f"nats-{i}.conf")
    with open(conf, "w") as f:
        f.write(f"server_name: n{i}\nlisten: 127.0.0.1:{base + i}\nhttp: 127.0.0.1:{base + 200 + i}\njetstream {{ store_dir: \"{work}/nats-{i}\" }}\n"
                f"cluster {{\n  name: failover\n  listen: 127.0.0.1:{base + 100 + i}\n  routes: [\n{routes}\n  ]\n}}\n")
    start(f"nats-{i}", ["nats-server", "-c", conf])
    nats_urls.append(f"nats://127.0.0.1:{base + i}")
for i in range(3):
    until(lambda: port_open(base + i), 30, f"nats-server {i}")
# Streams at three replicas can be placed once JetStream has a meta leader that knows all three servers (earlier, a
# hub's stream creation is refused with "no suitable peers for placement", and the hub does not start).


def jetstream_ready():
    metas = [get_json(base + 200 + i, "/jsz").get("meta_cluster") or {} for i in range(3)]
    leader_view = [m for m in metas if m.get("replicas")]  # only the leader lists the others
    return all(m.get("leader") for m in metas) and any(
        len(m["replicas"]) == 2 and all(r.get("current") for r in m["replicas"]) for m in leader_view)


until(jetstream_ready, 90, "the nats-servers: a JetStream meta leader with both others current", interval=0.2)

# --- the device ------------------------------------------------------------------------------------------------------
device_port = base + 8
hub = os.path.abspath(args.hub)
start("device", ["dotnet", hub, "emulate", "whatwatt", "--port", str(device_port), "--password", DEVICE_PASSWORD])
until(lambda: port_open(device_port), 60, "the whatwatt emulator")

# --- hub nodes -------------------------------------------------------------------------------------------------------
hub_ports = {name: base + 10 + i for i, name in enumerate(NAMES)}
ttl = f"00:00:{args.ttl:06.3f}" if args.ttl < 60 else "00:01:00"


def start_hub(name):
    start(name, [
        "dotnet", hub, "serve", "--urls", f"http://127.0.0.1:{hub_ports[name]}",
        f"--Nats:Url={','.join(nats_urls)}", "--Nats:Cluster=true", "--Nats:Replicas=3", f"--Nats:NodeId={name}",
        "--Nats:ConnectTimeout=00:00:30", f"--Nats:LeaseTtl={ttl}",
        f"--Storage:DataDirectory={work}/{name}", "--Simulation:Enabled=false", "--Alerts:ExampleRules=false",
        "--Logging:LogLevel:Default=Warning",
        "--Sources:0:Id=w0", "--Sources:0:Kind=whatwatt", f"--Sources:0:Url=http://127.0.0.1:{device_port}",
        f"--Sources:0:Password={DEVICE_PASSWORD}", "--Sources:0:Org=bench", "--Sources:0:Site=dev", "--Sources:0:Device=gw",
        "--Alerts:Rules:0:Id=lv", "--Alerts:Rules:0:Type=low_voltage", "--Alerts:Rules:0:Org=bench", "--Alerts:Rules:0:Site=alerts",
        "--Alerts:Rules:0:Threshold=220", "--Alerts:Rules:0:Hysteresis=3", "--Alerts:Rules:0:RepeatSeconds=0",
        f"--Alerts:Webhooks:0:Url=http://127.0.0.1:{hook_port}/hook", f"--Alerts:Webhooks:0:Secret={SECRET}",
        "--Alerts:Webhooks:0:Name=bench", *args.hub_args,
    ])


def healthy(name):
    if procs[name].poll() is not None:
        raise SystemExit(f"{name} exited with {procs[name].returncode} (log in {work}/{name}.log)")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{hub_ports[name]}/healthz", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


alive = set()
start_hub(NAMES[0])  # the first makes the streams and buckets at three replicas, then the others find them
until(lambda: healthy(NAMES[0]), 180, NAMES[0])
alive.add(NAMES[0])
for name in NAMES[1:]:
    start_hub(name)
for name in NAMES[1:]:
    until(lambda: healthy(name), 180, name)
    alive.add(name)
log(f"hubs up: {hub_ports}; work folder {work}")

# --- the pusher: a reading for bench/alerts every 200 ms to a live node -----------------------------------------------
pushed = []  # (sent, timestamp ms, low?, accepted?)
stop_pushing = threading.Event()


def push_loop():
    turn = 0
    while not stop_pushing.is_set():
        now = time.time()
        low = (now % args.period) < args.period / 2
        ts = int(now * 1000)
        reading = {"org": "bench", "site": "alerts", "device": "gw", "der": "m1", "type": "meter", "timestamp": ts,
                   "W": 800, "L1_V": 215.0 if low else 230.0, "L2_V": 230.1, "L3_V": 229.8}
        accepted = False
        for attempt in range(3):
            names = sorted(alive)
            if not names:
                break
            name = names[(turn + attempt) % len(names)]
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{hub_ports[name]}/api/readings",
                                                 data=json.dumps(reading).encode(), headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=2) as response:
                    accepted = response.status == 200
                    break
            except OSError:
                continue
        turn += 1
        pushed.append((now, ts, low, accepted))
        stop_pushing.wait(max(0.0, 0.2 - (time.time() - now)))


# --- SSE readers of the device's site, one per node, reconnecting: (arrival, node, reading timestamp) ---------------
readings = []
readings_lock = threading.Lock()


def sse_loop(name):
    while not stop_pushing.is_set():
        if name not in alive:
            time.sleep(0.1)
            continue
        try:
            conn = http.client.HTTPConnection("127.0.0.1", hub_ports[name], timeout=30)
            conn.request("GET", "/stream/sites/dev", headers={"Accept": "text/event-stream"})
            response = conn.getresponse()
            if response.status != 200:
                conn.close()
                time.sleep(0.2)
                continue
            while not stop_pushing.is_set():
                line = response.readline()  # chunked: http.client takes the chunks apart
                if not line:
                    break
                if line.startswith(b"data:"):
                    try:
                        ts = json.loads(line[5:]).get("timestamp")
                    except ValueError:
                        continue
                    with readings_lock:
                        readings.append((time.time(), name, ts))
            conn.close()
        except (OSError, http.client.HTTPException):
            time.sleep(0.2)


def source_state(name):
    answer = get_json(hub_ports[name], "/api/sources")
    for source in answer["sources"] if isinstance(answer, dict) else answer:
        if source.get("id") == "w0":
            return source.get("owner"), source.get("status")
    return None, None


def job_holders(name):
    cluster = get_json(hub_ports[name], "/api/cluster")
    return {n["id"]: (n.get("state"), set(n.get("jobs") or [])) for n in cluster["nodes"]}


def owner_of(name, job):
    for node, (state, jobs) in job_holders(name).items():
        if job in jobs and state == "up":
            return node
    return None


def whole():
    """Every node up and seen by the others, the source connected, the site's job held, by a node's own account."""
    if len(alive) != len(NAMES):
        return None
    view = NAMES[0]
    nodes = job_holders(view)
    if sorted(n for n, (state, _) in nodes.items() if state == "up") != sorted(NAMES):
        return None
    owner, status = source_state(view)
    site_owner = owner_of(view, SITE_JOB)
    if owner in NAMES and status == "CONNECTED" and site_owner in NAMES:
        return owner, site_owner
    return None


threads = [threading.Thread(target=push_loop, daemon=True)] + [threading.Thread(target=sse_loop, args=(n,), daemon=True) for n in NAMES]
for t in threads:
    t.start()

rounds = []
limit = 4 * args.ttl + 20
try:
    for r in range(1, args.rounds + 1):
        owners = until(whole, 120, f"round {r}: the cluster whole again", interval=0.25)
        # Wait until a transition has reached the receiver since the cluster was whole, then a random phase of the cycle.
        mark = time.time()
        until(lambda: any(c[0] > mark for c in calls), 3 * args.period + 10, f"round {r}: a webhook call before the kill")
        time.sleep(random.uniform(0, args.period))
        owners = whole() or owners
        victims = sorted(set(owners))
        survivors = [n for n in NAMES if n not in victims]
        view = survivors[0]
        killed_at = time.time()
        for v in victims:
            alive.discard(v)
            procs[v].send_signal(signal.SIGKILL)
        for v in victims:
            procs[v].wait()
        log(f"round {r}: kill -9 {victims} (source:w0 on {owners[0]}, {SITE_JOB} on {owners[1]})")

        def source_connected():
            owner, status = source_state(view)
            return time.time() if owner in survivors and status == "CONNECTED" else None

        def source_reading():
            with readings_lock:
                hits = [a for a, n, ts in readings if n in survivors and a > killed_at and ts and ts > killed_at * 1000]
            return min(hits) if hits else None

        def site_job():
            return time.time() if owner_of(view, SITE_JOB) in survivors else None

        def webhook():
            with calls_lock:
                hits = [a for a, _, _, ts in calls if a > killed_at and ts and ts > killed_at * 1000]
            return min(hits) if hits else None

        found = {}
        deadline = killed_at + limit
        while time.time() < deadline and len(found) < 4:
            for key, probe in (("source_connected", source_connected), ("source_reading", source_reading),
                               ("site_job", site_job), ("alert_webhook", webhook)):
                if key not in found:
                    try:
                        at = probe()
                    except (OSError, ValueError, KeyError, http.client.HTTPException):
                        at = None
                    if at:
                        found[key] = at - killed_at
            time.sleep(0.1)
        row = {"round": r, "killed": victims, "killed_at": round(killed_at, 3), "ttl": args.ttl, **{k: round(v, 2) for k, v in found.items()}}
        for key in ("source_connected", "source_reading", "site_job", "alert_webhook"):
            row.setdefault(key, None)
        rounds.append(row)
        log(f"round {r}: {row}")
        for v in victims:
            start_hub(v)
        for v in victims:
            until(lambda: healthy(v), 180, f"{v} restarted")
            alive.add(v)
        row["restarted_at"] = round(time.time(), 3)

    # A few more cycles on the whole cluster, then stop pushing and let the last transitions arrive.
    until(whole, 120, "the cluster whole at the end", interval=0.25)
    time.sleep(2 * args.period)
    stop_pushing.set()
    time.sleep(3 + args.period)

    lists = {}
    for name in NAMES:
        lists[name] = [a for a in get_json(hub_ports[name], "/api/alerts?limit=1000&site=alerts")["alerts"] if a.get("rule") == "lv"]
    alerts = sorted(lists[NAMES[0]], key=lambda a: int(a["id"]))
    same_everywhere = all([a["id"] for a in lists[n]] == [a["id"] for a in lists[NAMES[0]]] for n in NAMES)
    doubled_transitions = sum(1 for x, y in zip(alerts, alerts[1:]) if x["state"] == y["state"])
    by_reading = {}
    for a in alerts:
        key = (a["state"], (a.get("data") or {}).get("timestamp"))
        by_reading[key] = by_reading.get(key, 0) + 1
    per_id = {}
    with calls_lock:
        for _, alert_id, _, _ in calls:
            per_id[alert_id] = per_id.get(alert_id, 0) + 1
    ids = {str(a["id"]) for a in alerts}
    episodes = sum(1 for x, y in zip(pushed, pushed[1:]) if y[2] and not x[2] and y[3])
    summary = {
        "kind": "failover-summary", "rounds": args.rounds, "ttl": args.ttl, "period": args.period, "hub_args": args.hub_args,
        "pushed": len(pushed), "pushed_accepted": sum(1 for p in pushed if p[3]), "low_episodes_pushed": episodes,
        "alerts_firing": sum(1 for a in alerts if a["state"] == "firing"),
        "alerts_resolved": sum(1 for a in alerts if a["state"] == "resolved"),
        "alerts_same_state_twice_in_a_row": doubled_transitions,
        "alerts_same_reading_twice": sum(n - 1 for n in by_reading.values() if n > 1),
        "alert_lists_equal_on_every_node": same_everywhere,
        "webhook_calls": sum(per_id.values()), "webhook_ids": len(per_id),
        "webhook_ids_called_more_than_once": sum(1 for n in per_id.values() if n > 1),
        "webhook_calls_beyond_the_first": sum(n - 1 for n in per_id.values() if n > 1),
        "alerts_without_webhook_call": len(ids - set(per_id)),
        "webhook_ids_not_in_alerts": len(set(per_id) - ids),
    }
    # Each transition that repeats the one before it (same rule and DER), with its neighbours, placed against the kills
    # and restarts: where in a round it happened says which handover made it.
    events = [("kill", row["killed_at"]) for row in rounds] + [("restarted", row["restarted_at"]) for row in rounds]

    def where(ms):
        if ms is None:
            return "?"
        t = ms / 1000
        name, at = min(events, key=lambda e: abs(t - e[1]))
        return f"{t - at:+.1f} s from the {name} of round {1 + [e for e in events if e[0] == name].index((name, at))}"

    doubled = []
    for x, y in zip(alerts, alerts[1:]):
        if x["state"] == y["state"]:
            doubled.append({"first": {"id": x["id"], "state": x["state"], "reading": (x.get("data") or {}).get("timestamp"),
                                      "L1_V": (x.get("data") or {}).get("L1_V"), "where": where((x.get("data") or {}).get("timestamp"))},
                            "second": {"id": y["id"], "state": y["state"], "reading": (y.get("data") or {}).get("timestamp"),
                                       "L1_V": (y.get("data") or {}).get("L1_V"), "where": where((y.get("data") or {}).get("timestamp"))}})
    summary["doubled"] = doubled
    # How old a transition's reading was when its webhook call came: a reading judged long after it was pushed.
    ages = [c[0] - c[3] / 1000 for c in calls if c[3]]
    summary["webhook_reading_age_max_s"] = round(max(ages), 2) if ages else None
    summary["webhook_calls_for_readings_older_than_2_ttl"] = sum(1 for a in ages if a > 2 * args.ttl)
    os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
    with open(args.json, "a") as f:
        for row in rounds:
            f.write(json.dumps({"kind": "failover-round", **row}) + "\n")
        f.write(json.dumps(summary) + "\n")
        f.write(json.dumps({"kind": "failover-alerts", "alerts": [{"id": a["id"], "state": a["state"], "reading": (a.get("data") or {}).get("timestamp"),
                                                                  "L1_V": (a.get("data") or {}).get("L1_V")} for a in alerts],
                            "webhook_calls": [{"at": round(c[0], 3), "id": c[1], "state": c[2], "reading": c[3]} for c in calls]}) + "\n")

    def cell(v):
        return "–" if v is None else f"{v:.1f} s"

    print(f"| round | killed | source: owner CONNECTED | source: first reading on a survivor | site job on a survivor | alert transition at the webhook |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for row in rounds:
        print(f"| {row['round']} | {', '.join(row['killed'])} | {cell(row['source_connected'])} | {cell(row['source_reading'])} | {cell(row['site_job'])} | {cell(row['alert_webhook'])} |")
    for key in ("source_connected", "source_reading", "site_job", "alert_webhook"):
        values = [row[key] for row in rounds if row[key] is not None]
        if values:
            print(f"{key}: median {statistics.median(values):.1f} s, max {max(values):.1f} s "
                  f"({max(values) / args.ttl:.2f} × TTL; {len(values)} of {len(rounds)} rounds)")
    print()
    print(json.dumps(summary, indent=1))
finally:
    stop_pushing.set()
    receiver.shutdown()
    cleanup()
