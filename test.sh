#!/usr/bin/env bash
# The tests, on a fresh machine: installs what they need and is missing, then runs them.
#   ./test.sh [dotnet test options...]
# Needs: the .NET 10 SDK. Installs with apt (as root, or through sudo without a password):
# rabbitmq-server (private brokers), python3-grpcio and python3-grpc-tools (Python interop),
# chromium (the dashboard's browser test), strace (snapshot durability), etcd-client (etcdctl),
# and nodejs with npm (the Node.js interop clients, which the tests install with npm ci).
set -euo pipefail
cd "$(dirname "$0")"

need=()
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)
/usr/bin/python3 -c 'import grpc, grpc_tools' 2>/dev/null || need+=(python3-grpcio python3-grpc-tools)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/strace ] || need+=(strace)
[ -x /usr/bin/etcdctl ] || need+=(etcd-client)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)

if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing what the tests need: ${need[*]}"
  if [ "$(id -u)" = 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo)
  else
    echo "test.sh: installing needs root. Run this, then ./test.sh again:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
    exit 2
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: this machine has no apt-get; install these with its package manager, then run ./test.sh again: ${need[*]}" >&2
    exit 2
  fi

  export DEBIAN_FRONTEND=noninteractive
  # Keep the package's own broker service from starting: the tests start private brokers.
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
    "${as_root[@]}" chmod +x "$policy"
    made_policy=1
  fi
  trap '[ "$made_policy" = 1 ] && "${as_root[@]}" rm -f "$policy"' EXIT
  "${as_root[@]}" apt-get update
  "${as_root[@]}" apt-get install -y --no-install-recommends "${need[@]}"
fi

dotnet --version
# A background job of a non-interactive shell (as CI may start this) begins with SIGINT ignored,
# and every process under it inherits that, while the tests send Ctrl+C (SIGINT) to the AppHost
# and the CLI. timeout sets handlers of its own, so the command it runs starts with SIGINT at its
# default again; a duration of 0 sets no time limit.
exec timeout 0 dotnet test AspireKv.sln "$@"
