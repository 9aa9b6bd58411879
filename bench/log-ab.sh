#!/usr/bin/env bash
# The replication logs side by side in the nodes: one AppHost after another, one per log
# (Replication__Log), each warmed up, then a lone Put, Puts from 64 clients and linearizable Gets
# from 64 clients, and a lone serializable Get (the floor of a call: no log on its path), all three
# nodes, 256-byte values, 1,000 keys; two rounds in turn (A B A B), the
# better round counts. Prints ops/s and p50 / p99 per variant and workload.
#
#   bench/log-ab.sh [seconds per workload, default 8] [variants, default "Amqp|Stream"]
#   WARMUP=20 bench/log-ab.sh 8 Amqp     # one log (as before and after a change, from two worktrees)
#   bench/log-ab.sh 8 "Amqp|Amqp;RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=+S 1:1"
#   API=etcd bench/log-ab.sh 8 Amqp     # through the nodes' etcd API instead of AspireKv's own
#
# Variants are separated by |; each is a log name and VAR=value settings for the AppHost (and so
# for its broker and nodes), separated by ;.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-8}"
IFS='|' read -r -a variants <<< "${2:-Amqp|Stream}"
warmup="${WARMUP:-15}"
. bench/apphost.sh aspirekv-log-ab
echo "log-ab: building (Release)"
build_release
workloads=("put 1" "put 64" "get-linearizable 64" "get-serializable 1")
api=(--api "${API:-native}")
for round in 1 2; do
  for i in "${!variants[@]}"; do
    IFS=';' read -r -a settings <<< "${variants[$i]}"
    log="${settings[0]}"
    echo "log-ab: round $round, Replication__Log=${variants[$i]}"
    start_apphost Replication__Log="$log" "${settings[@]:1}"
    "${cli[@]}" bench --clients 16 --duration "${warmup}s" --warmup 0s --keys 1000 --value-size 256 --workload put,get-linearizable --targets node1,node2,node3 "${api[@]}" -o json >/dev/null
    for w in "${workloads[@]}"; do
      read -r workload clients <<< "$w"
      "${cli[@]}" bench --clients "$clients" --duration "${seconds}s" --warmup 0s --keys 1000 --value-size 256 --workload "$workload" \
        --targets node1,node2,node3 "${api[@]}" -o json > "$work/$i-$workload-$clients-$round.json"
    done
    stop_apphost
    rm -rf "$work/apphost"
  done
done
/usr/bin/python3 - "$work" "${variants[@]}" <<'PY'
import json, os, sys
work, logs = sys.argv[1], sys.argv[2:]
def load(name):
    return json.load(open(os.path.join(work, name)))["results"][0]
print("| workload | " + " | ".join(logs) + " |")
print("|---|" + "---:|" * len(logs))
for workload, clients in (("put", 1), ("put", 64), ("get-linearizable", 64), ("get-serializable", 1)):
    cells = []
    for i, log in enumerate(logs):
        best = max((load(f"{i}-{workload}-{clients}-{r}.json") for r in (1, 2)), key=lambda d: d["opsPerSecond"])
        cells.append(f"{best['opsPerSecond']:,.0f} ops/s, p50 {best['latencyMs']['p50']:.2f} / p99 {best['latencyMs']['p99']:.2f} ms")
    print(f"| {workload}, {clients} client{'s' if clients > 1 else ''} | " + " | ".join(cells) + " |")
PY
