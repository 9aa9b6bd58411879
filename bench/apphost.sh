# Sourced by the bench scripts: builds Release and runs the AppHost (no dashboard, which would
# trace every call) in a temporary folder that is removed, with the AppHost, on exit.
#
#   . bench/apphost.sh
#   start_apphost <temp-folder-prefix> [VAR=value ...]   # nodes inherit the AppHost's environment
#
# Sets: work (the folder), apphost (its pid), cli (the aspirekv command), ASPIREKV_ENDPOINTS.
work=""
apphost=""
cleanup() {
  [ -n "$apphost" ] && kill -TERM "$apphost" 2>/dev/null && wait "$apphost" 2>/dev/null || true
  [ -n "$work" ] && rm -rf "$work"
}
trap cleanup EXIT

start_apphost() {
  local prefix="$1"; shift
  work="$(mktemp -d "/tmp/$prefix.XXXXXX")"
  dotnet build AspireKv.sln -c Release -v quiet -nologo >/dev/null
  cli=(dotnet "$PWD/AspireKv.Cli/bin/Release/net10.0/aspirekv.dll")
  mkdir -p "$work/apphost"
  (cd "$work/apphost" && exec env "$@" NO_COLOR=1 dotnet "$OLDPWD/AspireKv.AppHost/bin/Release/net10.0/AspireKv.AppHost.dll" --no-dashboard) >"$work/apphost.log" 2>&1 &
  apphost=$!
  for _ in $(seq 1 180); do grep -q "AspireKv is ready" "$work/apphost.log" && break; sleep 1; done
  grep -q "AspireKv is ready" "$work/apphost.log" || { tail -30 "$work/apphost.log"; exit 1; }
  export ASPIREKV_ENDPOINTS="$work/apphost/.aspirekv/endpoints.json"
}
