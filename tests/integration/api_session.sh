#!/bin/sh
# Drives `vessel run --api-sock` with curl the way Firecracker's getting-started guide does:
# poll for readiness, configure, start, watch the guest's output and exit status; then the
# --config-file --no-api mode, a socket path already in use, and SIGTERM before boot.
# Usage: api_session.sh VESSEL_BIN PAYLOAD_BIN (real_mode_hello.bin)
set -eu
VESSEL=$1
PAYLOAD=$2
command -v curl >/dev/null || { echo "curl is not installed: skipped"; exit 77; }
WORK=$(mktemp -d /tmp/vessel-api-XXXXXX)
SOCK=$WORK/api.sock
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$WORK/err" ] && sed 's/^/  stderr: /' "$WORK/err"; exit 1; }

# api METHOD PATH [BODY] -> prints "STATUS BODY"
api() {
  if [ $# -ge 3 ]; then
    curl -s -o "$WORK/resp" -w '%{http_code}' --unix-socket "$SOCK" -X "$1" \
      -H 'Content-Type: application/json' "http://localhost$2" -d "$3"
  else
    curl -s -o "$WORK/resp" -w '%{http_code}' --unix-socket "$SOCK" -X "$1" "http://localhost$2"
  fi
  printf ' '; cat "$WORK/resp"; echo
}
expect() {  # expect STATUS "substring" METHOD PATH [BODY]
  want=$1; sub=$2; shift 2
  got=$(api "$@")
  case "$got" in "$want "*"$sub"*) ;; *) fail "$* -> '$got' (want $want with '$sub')";; esac
}

"$VESSEL" run --api-sock "$SOCK" --engine "${VESSEL_ENGINE:-emu}" >"$WORK/out" 2>"$WORK/err" &
PID=$!
for _ in $(seq 100); do
  [ "$(api GET /machine-config | cut -d' ' -f1)" = 200 ] && break
  sleep 0.05
done
expect 200 '"state":"Not started"' GET /
expect 200 '"vcpu_count":1' GET /machine-config

# A second VMM on the same socket is refused and the first keeps serving.
if "$VESSEL" run --api-sock "$SOCK" 2>"$WORK/err2"; then fail "second vessel took the socket"; fi
grep -q "in use" "$WORK/err2" || fail "no 'in use' message: $(cat "$WORK/err2")"
expect 200 '"state":"Not started"' GET /

expect 204 '' PUT /boot-source "{\"kernel_image_path\": \"$PAYLOAD\"}"
expect 204 '' PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 16}'
expect 204 '' PATCH /machine-config '{"mem_size_mib": 32}'
expect 200 '"mem_size_mib":32' GET /machine-config
: >"$WORK/disk.img"
expect 204 '' PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$WORK/disk.img\", \"is_root_device\": true, \"is_read_only\": true}"
expect 204 '' PUT /logger "{\"log_path\": \"$WORK/log\", \"level\": \"Info\"}"
expect 204 '' PUT /metrics "{\"metrics_path\": \"$WORK/metrics\"}"
expect 204 '' PUT /actions '{"action_type": "FlushMetrics"}'
expect 400 'not supported before starting' PATCH /vm '{"state": "Paused"}'
expect 400 'fault_message' PUT /boot-source '{"kernel_image_path": 3}'
expect 204 '' PUT /actions '{"action_type": "InstanceStart"}'

# real_mode_hello prints and writes 0 to the debug-exit port: the process ends with 1.
status=0
wait "$PID" || status=$?
PID=
[ "$status" = 1 ] || fail "vessel exited with $status, expected 1"
grep -q "Hello from real mode" "$WORK/out" || fail "no guest output: $(cat "$WORK/out")"
[ -e "$SOCK" ] && fail "socket file left behind"
grep -q '"put_api_requests"' "$WORK/metrics" || fail "no metrics line"
[ "$(wc -l <"$WORK/metrics")" -ge 2 ] || fail "metrics: expected a FlushMetrics line and a final one"
grep -q "loaded flat image" "$WORK/log" || fail "the log file did not receive the VMM's log"

# --config-file --no-api boots at once.
cat >"$WORK/vm.json" <<JSON
{"boot-source": {"kernel_image_path": "$PAYLOAD"},
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 16, "engine": "${VESSEL_ENGINE:-emu}"}}
JSON
status=0
"$VESSEL" run --no-api --config-file "$WORK/vm.json" >"$WORK/out2" 2>"$WORK/err" || status=$?
[ "$status" = 1 ] || fail "--no-api exited with $status"
grep -q "Hello from real mode" "$WORK/out2" || fail "--no-api: no guest output"
echo '{"boot-source": {"kernel_image_path": 1}}' >"$WORK/bad.json"
if "$VESSEL" run --no-api --config-file "$WORK/bad.json" 2>"$WORK/err"; then fail "bad config accepted"; fi
grep -q "kernel_image_path" "$WORK/err" || fail "bad config: message does not name the field"

# SIGTERM before boot: a clean stop with 128+15, socket removed.
"$VESSEL" run --api-sock "$SOCK" >/dev/null 2>"$WORK/err" &
PID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
kill -TERM "$PID"
status=0
wait "$PID" || status=$?
PID=
[ "$status" = 143 ] || fail "SIGTERM: exit status $status, expected 143"
[ -e "$SOCK" ] && fail "SIGTERM: socket left behind"
echo "api session: all checks passed"
