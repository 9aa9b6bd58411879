#!/usr/bin/env bash
# The replication logs side by side in the nodes: one AppHost after another, one per log
# (Replication__Log), each warmed up, then a lone Put, Puts from 64 clients and linearizable Gets
# from 64 clients, all three nodes, 256-byte values, 1,000 keys; two rounds in turn (A B A B), the
# better round counts. Prints ops/s and p50 / p99 per log and workload.
#
#   bench/log-ab.sh [seconds per workload, default 8] [logs, default "Amqp Stream"]
#   WARMUP=20 bench/log-ab.sh 8 Amqp     # one log (as before and after a change, from two worktrees)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-8}"
read -r -a logs <<< "${2:-Amqp Stream}"
warmup="${WARMUP:-15}"
. bench/apphost.sh aspirekv-log-ab
echo "log-ab: building (Release)"
build_release
workloads=("put 1" "put 64" "get-linearizable 64")
for round in 1 2; do
  for log in "${logs[@]}"; do
    echo "log-ab: round $round, Replication__Log=$log"
    start_apphost Replication__Log="$log"
    "${cli[@]}" bench --clients 16 --duration "${warmup}s" --warmup 0s --keys 1000 --value-size 256 --workload put,get-linearizable --targets node1,node2,node3 -o json >/dev/null
    for w in "${workloads[@]}"; do
      read -r workload clients <<< "$w"
      "${cli[@]}" bench --clients "$clients" --duration "${seconds}s" --warmup 0s --keys 1000 --value-size 256 --workload "$workload" \
        --targets node1,node2,node3 -o json > "$work/$log-$workload-$clients-$round.json"
    done
    stop_apphost
    rm -rf "$work/apphost"
  done
done
/usr/bin/python3 - "$work" "${logs[@]}" <<'PY'
import json, os, sys
work, logs = sys.argv[1], sys.argv[2:]
def load(name):
    return json.load(open(os.path.join(work, name)))["results"][0]
print("| workload | " + " | ".join(logs) + " |")
print("|---|" + "---:|" * len(logs))
for workload, clients in (("put", 1), ("put", 64), ("get-linearizable", 64)):
    cells = []
    for log in logs:
        best = max((load(f"{log}-{workload}-{clients}-{r}.json") for r in (1, 2)), key=lambda d: d["opsPerSecond"])
        cells.append(f"{best['opsPerSecond']:,.0f} ops/s, p50 {best['latencyMs']['p50']:.2f} / p99 {best['latencyMs']['p99']:.2f} ms")
    print(f"| {workload}, {clients} client{'s' if clients > 1 else ''} | " + " | ".join(cells) + " |")
PY
