#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian machine with the .NET 10 SDK: installs what the tests need when it is
# missing, builds in Release with warnings as errors, runs every test project, and exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

# Nothing beyond the .NET SDK is needed yet; later suites add their installs here (apt-get for nats-server,
# postgresql, chromium; npm ci for front-end packages) so that a fresh machine needs no manual step.

log "restore and build (Release)"
dotnet build Wattstream.slnx -c Release -warnaserror -nologo -v q

log "test"
results=$(mktemp -d)
status=0
dotnet test Wattstream.slnx -c Release --no-build -nologo --logger "trx" --results-directory "$results" 2>&1 | tee "$results/output.txt" || status=$?

# One closing line for every runner: the totals over all test projects.
passed=$(grep -hoE 'Passed: +[0-9]+' "$results/output.txt" | awk '{s+=$2} END {print s+0}')
failed=$(grep -hoE 'Failed: +[0-9]+' "$results/output.txt" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -hoE 'Skipped: +[0-9]+' "$results/output.txt" | awk '{s+=$2} END {print s+0}')
echo
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  exit 1
fi
