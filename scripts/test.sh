#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian machine with the .NET 10 SDK: installs what the tests need when it is
# missing, builds in Release with warnings as errors, runs every test project, and exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

# Debian packages the suite needs: Chromium for the browser tests (driven by playwright-core, which never downloads a
# browser), Node.js and npm to run them, curl as an independent HTTP client of the device emulator, PostgreSQL's server,
# nginx, nats-server and mosquitto.
missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
# PostgreSQL: the storage tests start a cluster of their own (initdb + pg_ctl on a free loopback port, in a temp folder).
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ -x /usr/bin/chromium ] || missing+=(chromium)
# nginx: the reverse-proxy test runs deploy/nginx/wattstream.conf in front of the hub (its own process, loopback ports).
[ -x /usr/sbin/nginx ] || missing+=(nginx)
# nats-server: the NATS tests start their own (JetStream in a temp folder, a loopback port).
command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
# mosquitto: the MQTT source tests start their own brokers (a temp folder, free loopback ports); mosquitto_passwd
# writes their password files. Debian's package would also start a broker on 1883 as a service: the tests never use it.
[ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
# Python with requests: the Novacore seed's Python client runs against the hub (its sseclient is in tests/seed-clients).
python3 -c 'import requests' >/dev/null 2>&1 || missing+=(python3 python3-requests)
if [ ${#missing[@]} -gt 0 ]; then
  log "install ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

log "npm packages (tests/e2e, from its lock file)"
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)

# An earlier version of this repo packed a home-made NATS.NKeys 1.0.1 into the NuGet cache; the official package has
# the same id and version, so a cached home-made copy would shadow it. Remove any copy not authored by the NATS Authors.
nuget_cache=${NUGET_PACKAGES:-$HOME/.nuget/packages}
for nuspec in "$nuget_cache"/nats.nkeys/*/nats.nkeys.nuspec; do
  [ -f "$nuspec" ] || continue
  if ! grep -q '<authors>The NATS Authors</authors>' "$nuspec"; then
    log "remove a cached NATS.NKeys that is not the official package: $(dirname "$nuspec")"
    rm -rf "$(dirname "$nuspec")"
  fi
done

log "restore and build (Release)"
dotnet build Wattstream.slnx -c Release -warnaserror -nologo -v q

log "test"
results=$(mktemp -d)
status=0
# A test that hangs is stopped after 10 minutes (the whole suite takes about 6) and fails, rather than holding CI.
dotnet test Wattstream.slnx -c Release --no-build -nologo --logger "trx" --results-directory "$results" \
  --blame-hang-timeout 10m --blame-hang-dump-type none 2>&1 | tee "$results/output.txt" || status=$?

# One closing line for every runner: the totals over all test projects.
passed=$(grep -hoE 'Passed: +[0-9]+' "$results/output.txt" | awk '{s+=$2} END {print s+0}')
failed=$(grep -hoE 'Failed: +[0-9]+' "$results/output.txt" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -hoE 'Skipped: +[0-9]+' "$results/output.txt" | awk '{s+=$2} END {print s+0}')
echo
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  exit 1
fi
