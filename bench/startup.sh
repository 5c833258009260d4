#!/usr/bin/env bash
# startup.sh: process start to the first guest instruction, vessel vs QEMU, same invocation.
#
# Usage: bench/startup.sh [--vessel PATH] [--payloads DIR] [-n RUNS] [--quick]
#
# Payload startup.asm: a boot sector whose first instructions write 0 to the debug-exit port,
# so the VM ends right there; the figure is the wall time of the whole VMM process (exec,
# dynamic linking, set-up, the first guest instruction, tear-down, exit), per run, from bash's
# $EPOCHREALTIME (no fork around the measurement). RUNS runs per row (default 50 for vessel,
# RUNS / 10 (at least 3) for QEMU, which is slower); median and minimum printed.
# Rows:
#   vessel kvm / emu       --mem 128, --console none, the payload loaded at 0x7c00
#   QEMU kvm / tcg, no firmware   -bios startup_rom.rom: the reset vector exits at once, the
#                          fair comparison with vessel (which has no firmware)
#   QEMU kvm / tcg, SeaBIOS       the same boot sector from a disk through SeaBIOS: what a
#                          QEMU user sees (on a PVM host SeaBIOS runs emulated, slowly)
#   floors: /bin/true (fork + exec on this host) and `vessel --version` (vessel's exec,
#   dynamic linking and option parsing, no VM)
# Ratios: vessel / QEMU without firmware (< 1: vessel starts faster). Goal: vessel <= 5 ms.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
runs=50
bench_parse_common "$@"
((${#bench_args[@]} == 0)) || bench_die "unknown option ${bench_args[0]}"
qemu_runs=$((runs / 10 < 3 ? 3 : runs / 10))
((quick)) && runs=3 && qemu_runs=1
bench_payload startup.bin
boot=$payload
bench_payload startup_rom.rom
rom=$payload

# time_cmd NAME REPS EXPECTED_STATUS: times "${cmd[@]}" REPS times (no timeout wrapper: its
# fork and exec would be counted); prints a RESULT line and sets med_ms.
time_cmd() {
  local name=$1 reps=$2 want=$3 t0 t1 rc
  : >"$bench_tmp/times"
  med_ms=NA
  for ((i = 0; i < reps; i++)); do
    t0=$EPOCHREALTIME
    "${cmd[@]}" </dev/null >/dev/null 2>"$bench_tmp/last.log"
    rc=$?
    t1=$EPOCHREALTIME
    if ((rc != want)); then
      bench_fail "$name: exit status $rc (expected $want): $(tail -n 2 "$bench_tmp/last.log")"
      return
    fi
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }' >>"$bench_tmp/times"
  done
  med_ms=$(stat_median <"$bench_tmp/times")
  local min_ms
  min_ms=$(stat_min <"$bench_tmp/times")
  echo "RESULT bench=startup target=$name runs=$reps median_ms=$med_ms min_ms=$min_ms"
  printf '%-34s median %9s ms   min %9s ms\n' "$name" "$med_ms" "$min_ms" >>"$bench_tmp/table"
}

: >"$bench_tmp/table"
declare -A fig
engines=(emu)
have_kvm && engines=(kvm emu) || bench_warn "/dev/kvm not usable: kvm rows skipped"
cmd=(/bin/true); time_cmd "floor: /bin/true" "$runs" 0
cmd=("$VESSEL_BIN" --version); time_cmd "floor: vessel --version" "$runs" 0
for e in "${engines[@]}"; do
  cmd=("$VESSEL_BIN" run --engine "$e" --kernel "$boot" --mem 128 --console none)
  time_cmd "vessel $e" "$runs" 1
  fig[v,$e]=$med_ms
done
if have_qemu; then
  for e in "${engines[@]}"; do
    a=$e
    [[ $e == emu ]] && a=tcg
    qemu_cmd "$a" "$rom" 128 /dev/null
    time_cmd "qemu $a, no firmware (-bios rom)" "$qemu_runs" 1
    fig[q,$e]=$med_ms
    qemu_cmd "$a" "$boot" 128 /dev/null
    time_cmd "qemu $a, SeaBIOS + boot disk" "$qemu_runs" 1
    fig[qb,$e]=$med_ms
  done
else
  bench_warn "$QEMU not found: QEMU rows skipped"
fi

echo
echo "start-up: process start to the first guest instruction (and exit), wall ms"
cat "$bench_tmp/table"
for e in "${engines[@]}"; do
  a=$e
  [[ $e == emu ]] && a=tcg
  echo "ratio vessel $e / qemu $a: $(ratio "${fig[v,$e]}" "${fig[q,$e]:-NA}") without firmware," \
    "$(ratio "${fig[v,$e]}" "${fig[qb,$e]:-NA}") vs SeaBIOS (< 1: vessel starts faster)"
done
bench_finish
