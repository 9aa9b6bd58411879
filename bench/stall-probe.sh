#!/usr/bin/env bash
# Where a lone client's longest wait comes from, with a small state and no snapshots to speak of.
#
#   bench/stall-probe.sh [runs, default 2]
#
# Starts the AppHost (3 nodes, 1,000 keys), then for each run:
#   1. the broker alone: one publisher straight to a stream with confirms (no node involved), 20 s;
#   2. the same publisher, side by side with a lone serializable Get client and a lone Put client
#      on node2, 25 s.
# Prints each client's p99.9 and longest wait. Snapshots of 1,000 keys take well under a
# millisecond, so what is left is the machine: processes sharing two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-2}"
. bench/apphost.sh aspirekv-stall
build_release
start_apphost
lone=(--clients 1 --warmup 2s --keys 1000 --value-size 100 -o json)
"${cli[@]}" bench "${lone[@]}" --duration 5s --workload put > /dev/null # populate and warm up
report() { # label file...
  local label=$1; shift
  /usr/bin/python3 - "$label" "$@" <<'PY'
import json, sys
label, files = sys.argv[1], sys.argv[2:]
for f in files:
    name, result = f.rsplit("/", 1)[1].removesuffix(".json"), json.load(open(f))["results"][0]
    l = result["latencyMs"]
    print(f"  {label}, {name}: p50 {l['p50']:.2f} ms, p99.9 {l['p99.9']:.2f} ms, longest {l['max']:.1f} ms")
PY
}
for run in $(seq 1 "$runs"); do
  echo "Run $run"
  "${cli[@]}" bench "${lone[@]}" --baseline broker --duration 20s --workload get-serializable --targets node1 > "$work/broker.json"
  report "broker alone" "$work/broker.json"
  "${cli[@]}" bench "${lone[@]}" --baseline broker --duration 25s --workload get-serializable --targets node1 > "$work/broker.json" &
  b=$!
  "${cli[@]}" bench "${lone[@]}" --duration 25s --workload get-serializable --targets node2 --no-populate > "$work/get.json" &
  g=$!
  "${cli[@]}" bench "${lone[@]}" --duration 25s --workload put --targets node2 --no-populate > "$work/put.json"
  wait "$g" "$b"
  report "side by side" "$work/broker.json" "$work/get.json" "$work/put.json"
done
