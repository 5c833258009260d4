#!/usr/bin/env bash
# exit-cost.sh: the cost of one exit to the VMM's user space (a guest OUT to an unclaimed
# port), vessel vs QEMU on the same payload, in the same invocation.
#
# Usage: bench/exit-cost.sh [--vessel PATH] [--payloads DIR] [-n RUNS] [--quick]
#
# Payload exit_cost.asm: COUNT x `out 0x80, al` (+ dec, jnz), then the debug-exit port. Each
# VMM runs COUNT = 0 and COUNT = N; the time per exit is the difference over N, so VMM
# start-up, firmware and tear-down cancel out. Minimum of RUNS for each point (default 3).
# N: 100000 on KVM (an exit costs microseconds on PVM), 1000000 on the emulators; --outs N
# sets both (built variants: 10000, 100000, 1000000). --quick: N = 10000, ring 0 only.
# Takes about two minutes on a PVM host (QEMU's SeaBIOS boot alone is ~2 s there).
# Two variants of the loop:
#   ring 0: the loop at CPL 0 (what a kernel driver does). On a PVM host guest ring 0 is
#           emulated by the host kernel, so this includes emulating the loop itself.
#   ring 3: the loop at CPL 3 with IOPL = 3 (the guest runs natively on PVM; the OUT traps).
# Rows: vessel kvm vs QEMU -accel kvm (the exit cost proper), and, for information, vessel
# emu vs QEMU TCG (an emulated OUT costs no exit: it is a call into the device bus).
# Output: one RESULT line per measurement, then a table with the ratio vessel / QEMU
# (< 1: vessel is cheaper). Exit status 1 if a run failed (never because of timing).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
bench_parse_common "$@"
outs_kvm=100000
outs_emu=1000000
rings=(0 3)
set -- "${bench_args[@]}"
while (($#)); do
  case $1 in
    --outs) outs_kvm=$2; outs_emu=$2; shift 2 ;;
    *) bench_die "unknown option $1" ;;
  esac
done
((quick)) && outs_kvm=10000 && outs_emu=10000 && rings=(0)

# measure KIND ENGINE RING HIGH: sets per_exit_us (NA on failure).
measure() {
  local kind=$1 engine=$2 ring=$3 high=$4 count t low_s high_s
  per_exit_us=NA
  : >"$bench_tmp/t0"; : >"$bench_tmp/t1"
  for ((i = 0; i < runs; i++)); do
    for count in 0 "$high"; do
      local payload out=$bench_tmp/console
      bench_payload "exit_cost_r${ring}_${count}.elf"
      if [[ $kind == vessel ]]; then vessel_cmd "$engine" "$payload" 32 "$out"
      else qemu_cmd "$engine" "$payload" 32 "$out"; fi
      timed_run
      if ((run_rc != 1)); then
        bench_fail "$kind $engine ring $ring count $count: exit status $run_rc (expected 1): $(tail -n 3 "$bench_tmp/last.log")"
        return
      fi
      [[ $count == 0 ]] && t=$bench_tmp/t0 || t=$bench_tmp/t1
      echo "$run_s" >>"$t"
    done
  done
  low_s=$(stat_min <"$bench_tmp/t0")
  high_s=$(stat_min <"$bench_tmp/t1")
  per_exit_us=$(awk -v a="$low_s" -v b="$high_s" -v n="$high" 'BEGIN { printf "%.3f", (b - a) / n * 1e6 }')
  echo "RESULT bench=exit-cost vmm=$kind engine=$engine ring=$ring outs=$high t_zero_s=$low_s t_outs_s=$high_s us_per_exit=$per_exit_us"
}

declare -A fig
pairs=()
have_kvm && pairs+=("kvm kvm") || bench_warn "/dev/kvm not usable: kvm rows skipped"
pairs+=("emu tcg")
have_qemu || bench_warn "$QEMU not found: QEMU columns are NA"
for ring in "${rings[@]}"; do
  for pair in "${pairs[@]}"; do
    read -r ve qa <<<"$pair"
    high=$outs_emu
    [[ $ve == kvm ]] && high=$outs_kvm
    measure vessel "$ve" "$ring" "$high"; fig[v,$ve,$ring]=$per_exit_us
    fig[q,$qa,$ring]=NA
    if have_qemu; then measure qemu "$qa" "$ring" "$high"; fig[q,$qa,$ring]=$per_exit_us; fi
  done
done

echo
echo "exit cost, microseconds per OUT (slope between 0 and N OUTs; min of $runs runs)"
echo "N = $outs_kvm on kvm, $outs_emu on emu/tcg; ratio < 1: vessel is cheaper"
printf '%-6s %-26s %-26s %s\n' ring "vessel" "QEMU" "vessel/QEMU"
for ring in "${rings[@]}"; do
  for pair in "${pairs[@]}"; do
    read -r ve qa <<<"$pair"
    printf '%-6s %-26s %-26s %s\n' "$ring" "$ve: $(fmt "${fig[v,$ve,$ring]}" %.3f) us" \
      "$qa: $(fmt "${fig[q,$qa,$ring]}" %.3f) us" "$(ratio "${fig[v,$ve,$ring]}" "${fig[q,$qa,$ring]}")"
  done
done
bench_finish
