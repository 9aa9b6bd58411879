#!/usr/bin/env bash
# AspireKv and etcd side by side, on this machine, with one load generator (aspirekv bench) that
# drives both in turn with the same closed loop: a 3-member etcd on loopback (Debian's
# etcd-server, installed when missing) and the AppHost's 3 nodes, 256-byte values, 1,000 keys.
#
#   bench/compare-etcd.sh [seconds per workload, default 10]
#   Brokers=3 bench/compare-etcd.sh 10     # AspireKv on a three-broker RabbitMQ cluster
#   WARMUP=60 bench/compare-etcd.sh 10     # warm each system for 60 s first (default 20)
#
# Prints one table: each workload's throughput and latency on etcd, on AspireKv's own API, and on
# AspireKv's etcd API, with the ratios; then where the CPU went: CPU time per operation of each
# process (the broker, each node, each etcd member, and the load generator), from /proc, over
# each run. Every workload spreads its clients over all three nodes of each system; Puts are also
# run with every client on one node (etcd's leader; AspireKv's node1). Starts everything
# privately and stops it again.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
. bench/apphost.sh aspirekv-compare

if ! command -v etcd >/dev/null 2>&1; then
  echo "compare-etcd: installing Debian's etcd-server (its service stays stopped)"
  if [ "$(id -u)" = 0 ]; then as_root=(); elif sudo -n true 2>/dev/null; then as_root=(sudo); else
    echo "compare-etcd: etcd is missing; install it with: sudo apt-get install -y etcd-server" >&2; exit 2; fi
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee /usr/sbin/policy-rc.d >/dev/null; "${as_root[@]}" chmod +x /usr/sbin/policy-rc.d; made_policy=1; fi
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y --no-install-recommends etcd-server >/dev/null || { "${as_root[@]}" apt-get update >/dev/null; DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y --no-install-recommends etcd-server >/dev/null; }
  [ "$made_policy" = 1 ] && "${as_root[@]}" rm -f /usr/sbin/policy-rc.d
fi

echo "compare-etcd: building (Release)"
build_release

# A 3-member etcd on loopback, on ports nobody else uses here.
base=$(( 40000 + (RANDOM % 500) * 10 ))
cluster="m1=http://127.0.0.1:$((base + 1)),m2=http://127.0.0.1:$((base + 3)),m3=http://127.0.0.1:$((base + 5))"
etcd_targets=""
for i in 1 2 3; do
  client=$((base + 2 * i - 2)); peer=$((base + 2 * i - 1))
  etcd --name "m$i" --data-dir "$work/etcd-m$i" \
    --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token aspirekv-compare \
    >"$work/etcd-m$i.log" 2>&1 &
  pids+=("$!")
  etcd_targets+="${etcd_targets:+,}127.0.0.1:$client"
done
for _ in $(seq 1 60); do ETCDCTL_API=3 etcdctl --endpoints "$etcd_targets" endpoint health >/dev/null 2>&1 && break; sleep 1; done
echo "compare-etcd: etcd $(etcd --version | head -1 | awk '{print $3}') at $etcd_targets"

# The AppHost, in a folder of its own.
start_apphost
echo "compare-etcd: AspireKv ready (3 nodes)"

# The processes whose CPU time is counted, as role=pid: the etcd members, the broker's Erlang VM, the nodes.
roles() {
  local system=$1 i=0
  if [ "$system" = etcd ]; then
    for pid in "${pids[@]}"; do i=$((i + 1)); echo "etcd-m$i=$pid"; done
  else
    # One Erlang VM per broker: broker, then broker-2, broker-3 for a cluster (Brokers=3 bench/compare-etcd.sh).
    for pid in $(pgrep -d ' ' -f "beam.smp.*$work/apphost"); do i=$((i + 1)); if [ $i = 1 ]; then echo "broker=$pid"; else echo "broker-$i=$pid"; fi; done
    for pid in $(pgrep -d ' ' -f "AspireKv.Node.dll"); do
      node=$(tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | sed -n 's/^OTEL_SERVICE_NAME=//p')
      grep -q "$work/apphost" "/proc/$pid/environ" 2>/dev/null && echo "$node=$pid"
    done
  fi
}
ticks() { # role=pid... -> role=ticks (user + system, in clock ticks)
  for entry in "$@"; do
    local stat; stat=$(cat "/proc/${entry#*=}/stat" 2>/dev/null) || continue
    echo "${entry%%=*}=$(echo "${stat##*) }" | awk '{print $12 + $13}')"
  done
}
run() { # system, clients, workload, where (all: every node; one: a single node), extra arguments...
  local system=$1 clients=$2 workload=$3 where=$4; shift 4
  local name="$system-$workload-$clients-$where"
  mapfile -t watched < <(roles "$system")
  ticks "${watched[@]}" >"$work/$name.before"
  /usr/bin/time -f "client=%U %S" -o "$work/$name.client" \
    "${cli[@]}" bench --clients "$clients" --duration "${seconds}s" --warmup 0s --keys 1000 --value-size 256 --workload "$workload" -o json "$@" \
    >"$work/$name.json" 2>"$work/$name.err" || { cat "$work/$name.err" >&2; exit 1; }
  ticks "${watched[@]}" >"$work/$name.after"
}
# Warm each system up once (JIT, connections, the keys the reads use), outside the measured runs.
# On two busy cores the nodes' tiered JIT takes well over 15 s to settle (bench/profile-node.sh).
warmup="${WARMUP:-20}"
warm() { "${cli[@]}" bench --clients 16 --duration "${warmup}s" --warmup 0s --keys 1000 --value-size 256 --workload put,get-linearizable,get-serializable -o json "$@" >/dev/null 2>&1; }
warm --api etcd --targets "$etcd_targets"
warm --targets node1,node2,node3
warm --api etcd --targets node1,node2,node3
# etcd's leader, for the run in which every client talks to one node (a follower would forward).
etcd_leader=$(ETCDCTL_API=3 etcdctl --endpoints "$etcd_targets" endpoint status -w json | /usr/bin/python3 -c '
import json, sys
print(next(s["Endpoint"].replace("http://", "") for s in json.load(sys.stdin) if s["Status"]["header"]["member_id"] == s["Status"]["leader"]))')
for spec in "put 64 all" "put 1 all" "get-linearizable 64 all" "get-serializable 64 all" "put 64 one"; do
  set -- $spec
  echo "compare-etcd: $1, $2 client(s), $3 node(s): etcd, AspireKv, AspireKv's etcd API"
  if [ "$3" = all ]; then etcd_at="$etcd_targets"; kv_at=node1,node2,node3; else etcd_at="$etcd_leader"; kv_at=node1; fi
  run etcd "$2" "$1" "$3" --api etcd --targets "$etcd_at"
  run aspirekv "$2" "$1" "$3" --targets "$kv_at"
  run aspirekv-etcd-api "$2" "$1" "$3" --api etcd --targets "$kv_at"
done

/usr/bin/python3 - "$work" "$(getconf CLK_TCK)" <<'PY'
import json, os, sys
work, hz = sys.argv[1], int(sys.argv[2])
runs = [("put", 64, "all"), ("put", 1, "all"), ("get-linearizable", 64, "all"), ("get-serializable", 64, "all"), ("put", 64, "one")]
def load(system, workload, clients, where):
    with open(os.path.join(work, f"{system}-{workload}-{clients}-{where}.json")) as f:
        return json.load(f)["results"][0]
def label(workload, clients, where):
    return f"{workload}, {clients} client{'s' if clients > 1 else ''}" + (", one node (etcd's leader, node1)" if where == "one" else "")
print()
print("| workload | etcd ops/s | AspireKv ops/s | ratio | etcd p50 / p99 ms | AspireKv p50 / p99 ms | AspireKv's etcd API ops/s | ratio |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for workload, clients, where in runs:
    e, a, x = (load(s, workload, clients, where) for s in ("etcd", "aspirekv", "aspirekv-etcd-api"))
    lat = lambda r: f"{r['latencyMs']['p50']:.2f} / {r['latencyMs']['p99']:.2f}"
    print(f"| {label(workload, clients, where)} | {e['opsPerSecond']:,.0f} | {a['opsPerSecond']:,.0f} | {a['opsPerSecond'] / e['opsPerSecond']:.2f}x | {lat(e)} | {lat(a)} | {x['opsPerSecond']:,.0f} | {x['opsPerSecond'] / e['opsPerSecond']:.2f}x |")

def cpu(system, workload, clients, where):
    name = f"{system}-{workload}-{clients}-{where}"
    read = lambda suffix: dict(l.strip().split("=") for l in open(os.path.join(work, f"{name}.{suffix}")) if "=" in l)
    before, after = read("before"), read("after")
    used = {role: (int(after[role]) - int(before[role])) / hz for role in after if role in before}
    user, system_time = open(os.path.join(work, f"{name}.client")).read().split("=")[1].split()
    used["load generator"] = float(user) + float(system_time)
    ops = load(system, workload, clients, where)["operations"]
    return {role: seconds * 1e6 / ops for role, seconds in used.items()}, ops

print()
print("CPU time per operation, in microseconds (user + system, over each measured run):")
print()
for workload, clients, where in runs:
    for system in ("etcd", "aspirekv"):
        per_op, ops = cpu(system, workload, clients, where)
        parts = ", ".join(f"{role} {us:.0f}" for role, us in sorted(per_op.items()))
        print(f"- {label(workload, clients, where)}, {system}: {sum(per_op.values()):.0f} in all ({parts})")
PY
