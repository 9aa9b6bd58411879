#!/usr/bin/env bash
# The nodes' RSS with a million keys under one garbage-collector setting.
#
#   bench/gc-settings.sh [VAR=value ...]     e.g. bench/gc-settings.sh DOTNET_gcServer=0 DOTNET_GCConserveMemory=7
#
# Starts the AppHost (Release, no dashboard) with the given environment, which its nodes inherit,
# writes 1,000,000 keys of 100 bytes, runs Puts at 64 clients for 40 s, and prints the three
# nodes' RSS at each step.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/apphost.sh aspirekv-gc
build_release
start_apphost "$@"
nodes=()
for pid in $(pgrep -f AspireKv.Node.dll); do # this AppHost's nodes: their data is under its folder
  tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -q "^Node__DataPath=$work/apphost/" && nodes+=("$pid")
done
rss() { for pid in "${nodes[@]}"; do awk '/VmRSS/ {printf "%d MiB  ", $2 / 1024}' "/proc/$pid/status"; done; echo; }

echo "settings: ${*:-(defaults)}"
echo "  idle:                $(rss)"
"${cli[@]}" bench --clients 64 --ops 1 --warmup 0s --keys 1000000 --value-size 100 --workload get-serializable -o json > /dev/null
echo "  1M keys written:     $(rss)"
"${cli[@]}" bench --clients 64 --duration 40s --warmup 0s --keys 1000000 --value-size 100 --workload put --no-populate -o json > /dev/null
echo "  after 40 s of Puts:  $(rss)"
if [ -n "${ASPIREKV_GC_COUNTERS:-}" ] && command -v dotnet-counters >/dev/null; then
  # The collector's own view of node1: heap sizes per generation, fragmentation, committed memory.
  dotnet-counters collect -p "${nodes[0]}" --counters System.Runtime --duration 00:00:04 --format csv -o "$work/counters.csv" >/dev/null 2>&1 || true
  grep -E "heap.size|fragmentation|committed|working_set" "$work/counters.csv" | cut -d, -f3,5 | sort -u -t, -k1,1 | sed 's/^/  /'
fi
if [ -n "${ASPIREKV_GC_DUMP:-}" ] && command -v dotnet-gcdump >/dev/null; then
  # What node1's heap holds, by type (a dump forces a full collection first).
  dotnet-gcdump collect -p "${nodes[0]}" -o "$work/node1.gcdump" >/dev/null 2>&1 && dotnet-gcdump report "$work/node1.gcdump" 2>/dev/null | head -25 | sed 's/^/  /'
  echo "  after the dump's full collection: $(rss)"
fi
