#!/usr/bin/env bash
# What Aspire's orchestrator (DCP: its API server, controllers and process monitors) and the
# Aspire dashboard cost while AspireKv runs: CPU (% of one core) and memory (RSS), at idle and
# while `aspirekv bench` drives 64 clients of Puts, next to the broker and the nodes.
#
#   bench/dcp-cost.sh [seconds per phase, default 30]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
. bench/apphost.sh aspirekv-dcp-cost
build_release
# With the dashboard, as a user runs it (the bench scripts otherwise run without it).
mkdir -p "$work/apphost"
(cd "$work/apphost" && exec env NO_COLOR=1 dotnet "$OLDPWD/AspireKv.AppHost/bin/Release/net10.0/AspireKv.AppHost.dll" --dashboard-port 0) >"$work/apphost.log" 2>&1 &
apphost=$!
for _ in $(seq 1 180); do grep -q "AspireKv is ready" "$work/apphost.log" && break; sleep 1; done
export ASPIREKV_ENDPOINTS="$work/apphost/.aspirekv/endpoints.json"

descend() { echo "$1"; for child in $(pgrep -P "$1"); do descend "$child"; done; }
groups() { # role=pid for every process of interest: DCP's and the dashboard are descendants of DCP's API server
  local api; api=$(pgrep -f -- "dcp start-apiserver --monitor $apphost" | head -1)
  for pid in $(descend "$api"); do
    case "$(cat "/proc/$pid/comm" 2>/dev/null)" in
      dcp) echo "dcp=$pid" ;;
      Aspire.Dashboar*) echo "dashboard=$pid" ;;
      beam.smp) echo "broker=$pid" ;;
    esac
  done
  echo "apphost=$apphost"
  for pid in $(pgrep -f "AspireKv.Node.dll"); do grep -q "$work" "/proc/$pid/environ" 2>/dev/null && echo "nodes=$pid"; done
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

measure() { # $1: phase name, $2...: a command to run meanwhile (or none: idle)
  local phase=$1; shift
  declare -A before
  mapfile -t list < <(groups)
  for entry in "${list[@]}"; do before[$entry]=$(ticks "${entry#*=}"); done
  local t0; t0=$(date +%s.%N)
  if [ $# -gt 0 ]; then "$@" >/dev/null; else sleep "$seconds"; fi
  local t1; t1=$(date +%s.%N)
  declare -A cpu mem
  for entry in "${list[@]}"; do
    local role=${entry%%=*} pid=${entry#*=}
    cpu[$role]=$(( ${cpu[$role]:-0} + $(ticks "$pid") - ${before[$entry]} ))
    mem[$role]=$(( ${mem[$role]:-0} + $(rss "$pid") ))
  done
  local hz; hz=$(getconf CLK_TCK)
  for role in dcp dashboard apphost broker nodes; do
    printf '%-6s %-9s %6.1f %% of a core  %6d MiB RSS\n' "$phase" "$role" "$(echo "${cpu[$role]:-0} * 100 / $hz / ($t1 - $t0)" | bc -l)" $(( ${mem[$role]:-0} / 1024 ))
  done
}

sleep 10 # let start-up settle
measure idle
measure load "${cli[@]}" bench --clients 64 --duration "${seconds}s" --warmup 3s --workload put --value-size 256 --keys 1000
