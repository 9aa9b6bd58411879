#!/usr/bin/env bash
# How long the AppHost takes from `dotnet run --no-build` to every resource healthy (its
# "AspireKv is ready" line), as a user starts it: the launch profile, the Aspire dashboard, a
# fresh state folder each time (the broker's first boot), and then a second start on the same
# state (a restart). Stops each run with SIGTERM and waits until nothing it started is left.
#
#   bench/startup-time.sh [runs, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
work="$(mktemp -d /tmp/aspirekv-startup.XXXXXX)"
trap 'rm -rf "$work"' EXIT
dotnet build AspireKv.AppHost -c Release -v quiet -nologo >/dev/null

one_run() { # $1: label, $2: state folder
  local log="$work/$1.log" start end pid
  start=$(date +%s.%N)
  (cd "$work" && exec env NO_COLOR=1 dotnet run --project "$OLDPWD/AspireKv.AppHost" -c Release --no-build -- --state-dir "$2") >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 1200); do grep -q "AspireKv is ready" "$log" && break; sleep 0.1; done
  end=$(date +%s.%N)
  grep -q "AspireKv is ready" "$log" || { tail -30 "$log"; exit 1; }
  printf '%s: %.1f s\n' "$1" "$(echo "$end - $start" | bc)"
  local apphost; apphost=$(cat "$work/.aspirekv/apphost.pid")
  kill -TERM "$apphost"; wait "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do
    pgrep -f -- "--monitor $apphost " >/dev/null || grep -lqs "$work" /proc/[0-9]*/environ 2>/dev/null || break
    sleep 0.1
  done
}

for i in $(seq 1 "$runs"); do
  one_run "run $i, first start (empty state)" "$work/state-$i"
  one_run "run $i, restart (same state)" "$work/state-$i"
done
