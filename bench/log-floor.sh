#!/usr/bin/env bash
# The broker's floor for the replication log (bench/LogFloor): one publisher and one consumer of
# one fresh stream, with 1 and then 64 messages waiting for a confirm, over AMQP 0.9.1 (as the log
# publishes today), over RabbitMQ's stream protocol, and "hybrid" (published over the stream
# protocol, consumed over AMQP 0.9.1; both as AMQP 1.0 messages, as the node's logs write them).
# Prints, per run: messages confirmed a second, publish -> confirm and publish -> delivery p50/p99,
# and the broker's CPU per message (every broker of the cluster, from /proc). The brokers are the
# AppHost's own (one node, idle).
#
#   bench/log-floor.sh [seconds per run, default 10]
#   Brokers=3 bench/log-floor.sh 10      # on a three-broker cluster (the stream has 3 replicas)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
brokers="${Brokers:-1}"
. bench/apphost.sh aspirekv-log-floor

echo "log-floor: building (Release)"
build_release
start_apphost Brokers="$brokers" Replicas=1

state="$work/apphost/.aspirekv/state"
broker_pids=$(find "$state" -name rabbitmq.pid -exec sh -c 'cat "$1"; echo' _ {} \; | paste -sd, -)
connection=$(/usr/bin/python3 -c "import json; print(json.load(open('$ASPIREKV_ENDPOINTS'))['resources']['messaging']['connectionString'])")
amqp="${connection%%,*}"
userinfo="${amqp#amqp://}"; userinfo="${userinfo%@*}"
user="${userinfo%%:*}"; password=$(/usr/bin/python3 -c "import urllib.parse,sys; print(urllib.parse.unquote(sys.argv[1]))" "${userinfo#*:}")
first=messaging; [ "$brokers" -gt 1 ] && first=messaging-1
# Each broker's stream port is kept in its state file beside its other ports.
stream="127.0.0.1:$(sed -n 's/^stream=//p' "$(find "$state" -path "*$first*" -name broker.state | head -1)")"
echo "log-floor: $brokers broker(s), pids $broker_pids; AMQP ${amqp##*@}, stream $stream; ${seconds} s per run after 3 s of warm-up, 336-byte messages"

floor=(dotnet "$PWD/bench/LogFloor/bin/Release/net10.0/LogFloor.dll")
for in_flight in 1 64; do
  for protocol in amqp stream hybrid; do
    "${floor[@]}" --protocol "$protocol" --amqp "$amqp" --stream "$stream" --user "$user" --password "$password" \
      --in-flight "$in_flight" --seconds "$seconds" --warmup 3 --replicas "$brokers" --broker-pids "$broker_pids" 2>/dev/null
  done
done
