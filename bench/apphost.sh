# Sourced by the bench scripts, from the repository's root:
#
#   . bench/apphost.sh <temp-folder-prefix>
#   build_release                        # sets cli (the aspirekv command)
#   start_apphost [VAR=value ...]        # nodes inherit the AppHost's environment
#   stop_apphost                         # stops it (and waits for its nodes), to start another
#   endpoint node2 grpc                  # an address from the AppHost's endpoints file
#   node_pid node2                       # the process of a node
#
# Makes a temporary folder (work); runs the AppHost there (Release, no dashboard, which would
# trace every call) and sets ASPIREKV_ENDPOINTS. On exit it stops the AppHost and every pid the
# script added to pids, and removes the folder.
work="$(mktemp -d "/tmp/$1.XXXXXX")"
apphost=""
pids=()
stop_apphost() {
  # The nodes write a last snapshot as they stop, which can outlast the AppHost: wait for them
  # too, or they create their folders again after the folder is removed.
  local nodes=() pid
  if [ -n "$apphost" ] && [ -f "${ASPIREKV_ENDPOINTS:-}" ]; then
    for node in node1 node2 node3; do pid=$(node_pid "$node" 2>/dev/null) && [ -n "$pid" ] && nodes+=("$pid"); done
  fi
  [ -n "$apphost" ] && kill -TERM "$apphost" 2>/dev/null && wait "$apphost" 2>/dev/null || true
  for pid in "${nodes[@]}"; do for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done; done
  apphost=""
}
cleanup() {
  stop_apphost
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

build_release() {
  dotnet build AspireKv.sln -c Release -v quiet -nologo >/dev/null
  cli=(dotnet "$PWD/AspireKv.Cli/bin/Release/net10.0/aspirekv.dll")
}

start_apphost() {
  mkdir -p "$work/apphost"
  (cd "$work/apphost" && exec env "$@" NO_COLOR=1 dotnet "$OLDPWD/AspireKv.AppHost/bin/Release/net10.0/AspireKv.AppHost.dll" --no-dashboard) >"$work/apphost.log" 2>&1 &
  apphost=$!
  for _ in $(seq 1 180); do grep -q "AspireKv is ready" "$work/apphost.log" && break; sleep 1; done
  grep -q "AspireKv is ready" "$work/apphost.log" || { tail -30 "$work/apphost.log"; exit 1; }
  export ASPIREKV_ENDPOINTS="$work/apphost/.aspirekv/endpoints.json"
}

endpoint() { /usr/bin/python3 -c "import json; print(json.load(open('$ASPIREKV_ENDPOINTS'))['resources']['$1']['endpoints']['$2'])"; }

node_pid() { # the node process that listens on the node's gRPC address
  local port; port=$(endpoint "$1" grpc); port=${port##*:}
  for pid in $(pgrep -f AspireKv.Node.dll); do
    tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx "Kestrel__Endpoints__grpc__Url=http://127.0.0.1:$port" && { echo "$pid"; return; }
  done
}
