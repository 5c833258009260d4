#!/usr/bin/env bash
# perf_map_test.sh VESSEL PAYLOAD: the translator's perf symbol map (VESSEL_PERF_MAP=1, see
# src/engine/emu/jit/perf_map.hpp). Runs PAYLOAD (a multiboot payload whose loops get
# translated) on the translator with the map on and checks that /tmp/perf-<pid>.map names
# translations in perf's "start size name" form, and the code translations share
# ("vessel:<name>", src/engine/emu/jit/shared_stubs.cpp), each inside one 64 MiB code cache;
# then runs it with the map off and checks that no map is written.
set -u
vessel=$1 payload=$2
fail() { echo "FAIL: $*"; exit 1; }
[[ -x $vessel && -r $payload ]] || fail "usage: $0 VESSEL PAYLOAD"
work=$(mktemp -d "${TMPDIR:-/tmp}/vessel-perfmap.XXXXXX")
trap 'rm -rf "$work"; rm -f "${map:-}"' EXIT

run() {  # run ENV_VALUE: prints the vessel process's pid once it has ended
  # The shell records its pid, then becomes vessel (exec), so the map is named after it.
  # shellcheck disable=SC2016 # $$ and $@ belong to the inner shell
  VESSEL_PERF_MAP=$1 timeout 60 bash -c 'echo $$ >"$0/pid"; exec "$@"' "$work" \
    "$vessel" run --engine emu --emu-exec jit --kernel "$payload" \
    --console "file:$work/console" --mem 16 </dev/null >"$work/log" 2>&1
  cat "$work/pid"
}

pid=$(run 1)
map=/tmp/perf-$pid.map
[[ -s $map ]] || fail "no map at $map (vessel log: $(tail -3 "$work/log"))"
lines=$(wc -l <"$map")
line='^[0-9a-f]+ [0-9a-f]+ (guest:k(16|32|64):0x[0-9a-f]+\+[0-9]+|vessel:[a-z-]+)$'
bad=$(grep -cvE "$line" "$map")
((bad == 0)) || fail "$bad malformed lines in $map: $(grep -vE "$line" "$map" | head -2)"
for stub in enter-exit exit-tails indirect-lookup slow-path-calls; do
  grep -q " vessel:$stub\$" "$map" || fail "the shared stubs' region vessel:$stub is not named"
done
# Every translation lies in the code cache: all of them within 64 MiB of the first.
lo=-1 hi=0
while read -r start size _; do
  ((a = 16#$start, e = a + 16#$size))
  ((lo >= 0 && a >= lo)) || lo=$a
  ((e <= hi)) || hi=$e
done <"$map"
span=$((hi - lo))
((span > 0 && span <= 64 * 1024 * 1024)) || fail "translations span $span bytes"
grep -q 'guest:k64:' "$map" || fail "no 64-bit translation named (the payload's loops run in long mode)"
rm -f "$map"

pid=$(run 0)
[[ ! -e /tmp/perf-$pid.map ]] || fail "VESSEL_PERF_MAP=0 wrote /tmp/perf-$pid.map"
echo "PASS: $lines translations named in the perf map; none without VESSEL_PERF_MAP=1"
