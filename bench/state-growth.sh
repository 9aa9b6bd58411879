#!/usr/bin/env bash
# What a large state costs: 1,000,000 keys of 100 bytes in the AppHost's 3 nodes.
#
#   bench/state-growth.sh [keys, default 1000000] [rate, default 200]
#
# Measures and prints: each node's RSS; the snapshot's size, capture time (under the apply lock)
# and write time; the longest a lone client's serializable Get and Put waited while snapshots were
# written; Put throughput at 64 clients with this many keys against 1,000; and the time from start
# to serving for a node restarted from its snapshot, and from the log alone.
#
# The two lone clients that measure stalls each call at `rate` operations per second (aspirekv
# bench --rate), so that they find out what a snapshot holds up rather than load the machine
# themselves; rate 0 runs them flat out, as closed loops.
set -euo pipefail
cd "$(dirname "$0")/.."
keys="${1:-1000000}"
rate="${2:-200}"
. bench/apphost.sh aspirekv-growth
build_release
# Nodes inherit the AppHost's environment: this makes them log each snapshot with its timings.
start_apphost "Logging__LogLevel__AspireKv.Node.Snapshots=Debug"
rss() { awk '/VmRSS/ {r = $2} /VmHWM/ {h = $2} END {printf "%.0f MiB (peak %.0f MiB)", r / 1024, h / 1024}' "/proc/$1/status"; }
now() { date +%s.%N; }
since() { awk "BEGIN {printf \"%.2f\", $(now) - $1}"; }

echo "Put, 64 clients, 1,000 keys"
"${cli[@]}" bench --clients 64 --duration 10s --warmup 3s --keys 1000 --value-size 100 --workload put -o json > "$work/put-1k.json"

echo "Writing $keys keys of 100 bytes..."
begin=$(now)
"${cli[@]}" bench --clients 64 --ops 1 --warmup 0s --keys "$keys" --value-size 100 --workload get-serializable -o json > /dev/null
echo "  written in $(since "$begin") s"

echo "Put, 64 clients, $keys keys"
"${cli[@]}" bench --clients 64 --duration 10s --warmup 3s --keys "$keys" --value-size 100 --workload put -o json > "$work/put-1m.json"
sleep 11 # the snapshots of that load are written

# Each lone client warms up for 2 s first: its first call (connecting, compiling) takes 80-100 ms.
echo "Stalls: a lone client's serializable Gets, and another's Puts, on node2 for 25 s at $rate/s each (0: flat out; snapshots every 10 s)"
mark=$(wc -l < "$work/apphost.log")
"${cli[@]}" bench --clients 1 --rate "$rate" --duration 25s --warmup 2s --keys "$keys" --value-size 100 --workload get-serializable --targets node2 --no-populate -o json > "$work/lone-get.json" &
lone=$!
"${cli[@]}" bench --clients 1 --rate "$rate" --duration 25s --warmup 2s --keys "$keys" --value-size 100 --workload put --targets node2 -o json > "$work/lone-put.json"
wait "$lone"
echo "Snapshots written meanwhile:"
tail -n +"$mark" "$work/apphost.log" | grep "Wrote a snapshot" | sed 's/^.*Wrote/  Wrote/' || true

for node in node1 node2 node3; do echo "$node: RSS $(rss "$(node_pid $node)"), snapshot $(stat -c %s "$work/apphost/.aspirekv/state/$node/snapshot.akv") bytes"; done

# Restarts: node3 is stopped (SIGTERM: it writes a last snapshot) and run again by hand with the
# environment the AppHost gave it, and timed until /health says Healthy.
pid=$(node_pid node3)
cp "/proc/$pid/environ" "$work/node3.env"
health="$(endpoint node3 http)/health"
restart() { # label
  kill -TERM "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  [ "$1" = "from the log" ] && rm -f "$work/apphost/.aspirekv/state/node3/snapshot.akv"
  local begin; begin=$(now)
  (cd "$PWD/AspireKv.Node/bin/Release/net10.0" && exec /usr/bin/python3 -c 'import os, sys; env = dict(e.split("=", 1) for e in open(sys.argv[1]).read().split("\0") if "=" in e); os.execvpe("dotnet", ["dotnet", "AspireKv.Node.dll"], env)' "$work/node3.env") >"$work/node3-$RANDOM.log" 2>&1 &
  pid=$!
  until curl -s "$health" 2>/dev/null | grep -q '^Healthy'; do sleep 0.05; done
  echo "node3 restarted $1: serving after $(since "$begin") s, RSS $(rss "$pid")"
}
restart "from its snapshot"
restart "from the log"
kill -TERM "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done

/usr/bin/python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
load = lambda name: json.load(open(os.path.join(work, name)))["results"][0]
small, large = load("put-1k.json"), load("put-1m.json")
print(f"Put, 64 clients: {small['opsPerSecond']:,.0f}/s with 1,000 keys, {large['opsPerSecond']:,.0f}/s with the large state (p99 {small['latencyMs']['p99']:.1f} ms and {large['latencyMs']['p99']:.1f} ms)")
for name in ("lone-get.json", "lone-put.json"):
    r = load(name)
    print(f"Lone client on node2, {r['kind']}: p50 {r['latencyMs']['p50']:.2f} ms, p99.9 {r['latencyMs']['p99.9']:.2f} ms, longest {r['latencyMs']['max']:.1f} ms")
PY
