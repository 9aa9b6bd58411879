#!/usr/bin/env bash
# AspireKv and etcd side by side, on this machine, with one load generator (aspirekv bench) that
# drives both in turn with the same closed loop: a 3-member etcd on loopback (Debian's
# etcd-server, installed when missing) and the AppHost's 3 nodes, 256-byte values, 1,000 keys.
# etcd runs twice: with its data on disk, where it fsyncs every write, and on tmpfs (/dev/shm),
# where fsync costs nothing, which is AspireKv's durability (a RabbitMQ stream confirms once its
# replicas have an entry, not once it is on disk). Each workload runs two rounds on each system;
# the better round counts.
#
#   bench/compare-etcd.sh [seconds per workload, default 10]
#   Brokers=3 bench/compare-etcd.sh 10     # AspireKv on a three-broker RabbitMQ cluster
#   Replication__Log=Stream bench/compare-etcd.sh 10   # the nodes on the stream-protocol log
#   WARMUP=60 bench/compare-etcd.sh 10     # warm each system for 60 s first (default 20)
#
# Prints one table: each workload's throughput and latency on etcd (disk, tmpfs), on AspireKv's
# own API, and on AspireKv's etcd API, with the ratios; then where the CPU went: CPU time per operation of each
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

# The AppHost, in a folder of its own.
start_apphost
echo "compare-etcd: AspireKv ready (3 nodes)"

# A 3-member etcd on loopback, on ports nobody else uses here, with its data under $1.
etcd_pids=()
start_etcd() {
  local root=$1 base=$(( 40000 + (RANDOM % 500) * 10 )) i client peer cluster
  cluster="m1=http://127.0.0.1:$((base + 1)),m2=http://127.0.0.1:$((base + 3)),m3=http://127.0.0.1:$((base + 5))"
  etcd_targets="" etcd_pids=()
  for i in 1 2 3; do
    client=$((base + 2 * i - 2)); peer=$((base + 2 * i - 1))
    etcd --name "m$i" --data-dir "$root/etcd-m$i" \
      --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
      --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token aspirekv-compare \
      >"$work/etcd-m$i.log" 2>&1 &
    etcd_pids+=("$!"); pids+=("$!")
    etcd_targets+="${etcd_targets:+,}127.0.0.1:$client"
  done
  for _ in $(seq 1 60); do ETCDCTL_API=3 etcdctl --endpoints "$etcd_targets" endpoint health >/dev/null 2>&1 && break; sleep 1; done
  # etcd's leader, for the run in which every client talks to one node (a follower would forward).
  etcd_leader=$(ETCDCTL_API=3 etcdctl --endpoints "$etcd_targets" endpoint status -w json | /usr/bin/python3 -c '
import json, sys
print(next(s["Endpoint"].replace("http://", "") for s in json.load(sys.stdin) if s["Status"]["header"]["member_id"] == s["Status"]["leader"]))')
  echo "compare-etcd: etcd $(etcd --version | head -1 | awk '{print $3}') at $etcd_targets, data in $root"
}
stop_etcd() {
  for pid in "${etcd_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${etcd_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
shm="$(mktemp -d /dev/shm/aspirekv-compare.XXXXXX)"
trap 'cleanup; rm -rf "$shm"' EXIT

# The processes whose CPU time is counted, as role=pid: the etcd members, the broker's Erlang VM, the nodes.
roles() {
  local system=$1 i=0
  if [ "${system%%-*}" = etcd ]; then
    for pid in "${etcd_pids[@]}"; do i=$((i + 1)); echo "etcd-m$i=$pid"; done
  else
    # One Erlang VM per broker: broker, then broker-2, broker-3 for a cluster (Brokers=3 bench/compare-etcd.sh).
    for pid in $(pgrep -d ' ' -f "beam.smp.*$work/apphost"); do i=$((i + 1)); if [ $i = 1 ]; then echo "broker=$pid"; else echo "broker-$i=$pid"; fi; done
    for node in node1 node2 node3; do echo "$node=$(node_pid "$node")"; done
  fi
}
ticks() { # role=pid... -> role=ticks (user + system, in clock ticks)
  for entry in "$@"; do
    local stat; stat=$(cat "/proc/${entry#*=}/stat" 2>/dev/null) || continue
    echo "${entry%%=*}=$(echo "${stat##*) }" | awk '{print $12 + $13}')"
  done
}
run() { # system, round, clients, workload, where (all: every node; one: a single node), extra arguments...
  local system=$1 round=$2 clients=$3 workload=$4 where=$5; shift 5
  local name="$system-$workload-$clients-$where-$round"
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
specs=("put 64 all" "put 1 all" "get-linearizable 64 all" "get-serializable 64 all" "put 64 one")

warm --targets node1,node2,node3
warm --api etcd --targets node1,node2,node3
for round in 1 2; do
  for spec in "${specs[@]}"; do
    set -- $spec
    echo "compare-etcd: round $round, $1, $2 client(s), $3 node(s): AspireKv, AspireKv's etcd API"
    if [ "$3" = all ]; then kv_at=node1,node2,node3; else kv_at=node1; fi
    run aspirekv "$round" "$2" "$1" "$3" --targets "$kv_at"
    run aspirekv-etcd-api "$round" "$2" "$1" "$3" --api etcd --targets "$kv_at"
  done
done
for medium in disk tmpfs; do
  if [ "$medium" = disk ]; then start_etcd "$work"; else start_etcd "$shm"; fi
  warm --api etcd --targets "$etcd_targets"
  for round in 1 2; do
    for spec in "${specs[@]}"; do
      set -- $spec
      echo "compare-etcd: round $round, $1, $2 client(s), $3 node(s): etcd, data on $medium"
      if [ "$3" = all ]; then etcd_at="$etcd_targets"; else etcd_at="$etcd_leader"; fi
      run "etcd-$medium" "$round" "$2" "$1" "$3" --api etcd --targets "$etcd_at"
    done
  done
  stop_etcd
done

/usr/bin/python3 - "$work" "$(getconf CLK_TCK)" <<'PY'
import json, os, sys
work, hz = sys.argv[1], int(sys.argv[2])
runs = [("put", 64, "all"), ("put", 1, "all"), ("get-linearizable", 64, "all"), ("get-serializable", 64, "all"), ("put", 64, "one")]
def best(system, workload, clients, where):
    """The better of the two rounds, by throughput: (result, name of its files)."""
    rounds = []
    for r in (1, 2):
        name = f"{system}-{workload}-{clients}-{where}-{r}"
        with open(os.path.join(work, name + ".json")) as f:
            rounds.append((json.load(f)["results"][0], name))
    return max(rounds, key=lambda x: x[0]["opsPerSecond"])
def label(workload, clients, where):
    return f"{workload}, {clients} client{'s' if clients > 1 else ''}" + (", one node (etcd's leader, node1)" if where == "one" else "")
systems = ("etcd-disk", "etcd-tmpfs", "aspirekv", "aspirekv-etcd-api")
print()
print("Best of two rounds each; ratios are AspireKv over etcd (throughput), p50 latency in ms.")
print()
print("| workload | etcd disk ops/s | etcd tmpfs ops/s | AspireKv ops/s | vs disk | vs tmpfs | p50 etcd disk / tmpfs / AspireKv | AspireKv's etcd API ops/s | vs tmpfs |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for workload, clients, where in runs:
    d, t, a, x = (best(s, workload, clients, where)[0] for s in systems)
    ops = lambda r: r["opsPerSecond"]
    p50 = lambda r: f"{r['latencyMs']['p50']:.2f}"
    print(f"| {label(workload, clients, where)} | {ops(d):,.0f} | {ops(t):,.0f} | {ops(a):,.0f} | {ops(a) / ops(d):.2f}x | {ops(a) / ops(t):.2f}x | {p50(d)} / {p50(t)} / {p50(a)} | {ops(x):,.0f} | {ops(x) / ops(t):.2f}x |")

def cpu(system, workload, clients, where):
    result, name = best(system, workload, clients, where)
    read = lambda suffix: dict(l.strip().split("=") for l in open(os.path.join(work, f"{name}.{suffix}")) if "=" in l)
    before, after = read("before"), read("after")
    used = {role: (int(after[role]) - int(before[role])) / hz for role in after if role in before}
    user, system_time = open(os.path.join(work, f"{name}.client")).read().split("=")[1].split()
    used["load generator"] = float(user) + float(system_time)
    return {role: seconds * 1e6 / result["operations"] for role, seconds in used.items()}

print()
print("CPU time per operation, in microseconds (user + system, over each better round):")
print()
for workload, clients, where in runs:
    for system in ("etcd-disk", "etcd-tmpfs", "aspirekv"):
        per_op = cpu(system, workload, clients, where)
        parts = ", ".join(f"{role} {us:.0f}" for role, us in sorted(per_op.items()))
        print(f"- {label(workload, clients, where)}, {system}: {sum(per_op.values()):.0f} in all ({parts})")
PY
