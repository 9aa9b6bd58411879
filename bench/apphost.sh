# Sourced by the bench scripts, from the repository's root:
#
#   . bench/apphost.sh <temp-folder-prefix>
#   build_release                        # sets cli (the aspirekv command)
#   start_apphost [VAR=value ...]        # nodes inherit the AppHost's environment
#   stop_apphost                         # stops it and waits for all it started, to start another
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
  [ -n "$apphost" ] && kill -TERM "$apphost" 2>/dev/null && wait "$apphost" 2>/dev/null || true
  apphost=""
  # DCP stops the broker, epmd and the nodes after the AppHost has exited (also when it stopped
  # before it was ready), and a node writes a last snapshot as it stops, which would make its
  # folder again after the removal: wait for everything that mentions the folder, then end what
  # is left after 30 s, by its pid.
  local left
  for _ in $(seq 1 150); do
    left=$(mentioning "$work")
    # Not a bare return: in the exit trap after `exit 1` it returns 1, and set -e ends the cleanup
    # before the folder is removed (how the bench scripts left their folders behind).
    [ -z "$left" ] && return 0
    sleep 0.2
  done
  echo "$(basename "$0"): ending what the AppHost left: $left" >&2
  kill -KILL $left 2>/dev/null || true
}
mentioning() { # live processes whose command line, environment or working folder mentions $1
  local dir pid
  for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    case "$pid" in "$$" | "$BASHPID" | "$PPID") continue ;; esac
    if grep -qsF -- "$1" "$dir/cmdline" "$dir/environ" || [[ "$(readlink "$dir/cwd" 2>/dev/null)" == *"$1"* ]]; then
      [ "$(cut -d' ' -f3 "$dir/stat" 2>/dev/null)" = Z ] || [ ! -d "$dir" ] || echo "$pid"
    fi
  done
}
cleanup() {
  # The script's own processes first (etcd members keep their data in the folder too).
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  stop_apphost
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
    tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx "Kestrel__Endpoints__grpc__Url=http://127.0.0.1:$port" && { echo "$pid"; return 0; }
  done
}
