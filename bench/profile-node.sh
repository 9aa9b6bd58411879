#!/usr/bin/env bash
# Where a node's CPU goes, from the kernel's own sampler: perf record on node1 while 64 clients
# load the AppHost's 3 nodes, with .NET's perf map so that JIT-compiled methods have names.
#
#   bench/profile-node.sh [workload, default put] [seconds, default 10] [warm-up seconds, default 3]
#
# Extra VAR=value settings for the AppHost and its nodes go in PROFILE_ENV.
#
# Prints node1's CPU split by where it runs (kernel, the runtime, JIT-compiled code, libraries)
# and its busiest functions. Needs perf (Debian: linux-perf); it samples the cpu-clock software
# event, so it works without a hardware PMU.
set -euo pipefail
cd "$(dirname "$0")/.."
workload="${1:-put}"
seconds="${2:-10}"
warmup="${3:-3}"
command -v perf >/dev/null || { echo "profile-node: perf is missing; install it with: apt-get install -y linux-perf" >&2; exit 2; }
. bench/apphost.sh aspirekv-profile
build_release
# The nodes inherit the AppHost's environment: each writes /tmp/perf-PID.map, which perf reads.
# Without W^X (on by default since .NET 7) JIT-compiled code sits in anonymous memory, where perf
# looks it up in that map; with it, the code is in a double-mapped memfd that perf cannot name.
start_apphost DOTNET_PerfMapEnabled=3 DOTNET_EnableWriteXorExecute=0 ${PROFILE_ENV:-}
node_pids=$(for node in node1 node2 node3; do node_pid "$node"; done)
trap 'for p in $apphost $node_pids; do rm -f "/tmp/perf-$p.map" "/tmp/perfinfo-$p.map"; done; cleanup' EXIT
node1=$(node_pid node1)
[ -n "$node1" ] || { echo "profile-node: node1's process was not found" >&2; exit 1; }

"${cli[@]}" bench --clients 64 --duration "$((seconds + 4))s" --warmup "${warmup}s" --keys 1000 --workload "$workload" -o json > "$work/bench.json" &
load=$!
sleep "$((warmup + 2))" # the warm-up and a second or two of the measured run
perf record -e cpu-clock -F 1999 -p "$node1" -o "$work/perf.data" -- sleep "$seconds" 2> "$work/perf.log"
wait "$load"
/usr/bin/python3 -c "import json; r = json.load(open('$work/bench.json'))['results'][0]; print(f\"{r['kind']}: {r['opsPerSecond']:,.0f} ops/s over the 3 nodes\")"
echo
echo "node1's samples by where they ran:"
perf report -i "$work/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -12 || true
echo
echo "node1's busiest functions:"
perf report -i "$work/perf.data" --no-children --sort dso,sym --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -40 || true
