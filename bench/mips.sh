#!/usr/bin/env bash
# mips.sh: guest instructions per second of a CPU-bound payload, vessel's software engine vs
# QEMU TCG, in the same invocation (and, for reference, both on KVM).
#
# Usage: bench/mips.sh [--vessel PATH] [--payloads DIR] [-n RUNS] [--quick]
#
# Payload mips.asm (64-bit, 4-level paging with 4 KiB pages, the loop at CPL 3): a 64-bit LCG
# fills a 4 MiB buffer, then sums it at LCG-chosen random indexes; 15 * 512 Ki + 4 instructions
# per round, counted from the loop structure (see the payload). Each VMM runs ROUNDS = LOW and
# HIGH (2 and 42: 315 M instructions apart; --quick: 1 and 2); MIPS = instructions between the
# two / time between the two, so VMM start-up, firmware and printing cancel out. Minimum of
# RUNS per point (default 3). Every run must print the same checksum (and the known value for
# that ROUNDS): a mismatch is a correctness bug and fails the script.
# Rows: vessel emu (the translator) vs QEMU -accel tcg (the headline); vessel emu-interp (the
# interpreter) vs the same QEMU figure; vessel kvm vs QEMU -accel kvm for
# reference. The loop runs at CPL 3 because on a PVM host guest ring 0 is emulated by the host
# kernel: at CPL 3 the KVM rows show native speed (KVM figures are noisy: the loop takes
# only ~0.1 s there).
# Output: RESULT lines, then a table with the ratio vessel / QEMU (> 1: vessel is faster).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
bench_parse_common "$@"
((${#bench_args[@]} == 0)) || bench_die "unknown option ${bench_args[0]}"
low=2 high=42
((quick)) && low=1 high=2
readonly N=$((512 * 1024))
instructions=$(((high - low) * (15 * N + 4)))
# Checksums of the LCG loop, computed on the host by a straight transcription of the loop.
declare -A known=([1]=52ad58796d9d86f7 [2]=8598e6e28ec74780 [12]=69c3e5bfc5ce2c23 [42]=83dd84de3e187651)

# measure KIND ENGINE: sets mips (NA on failure).
measure() {
  local kind=$1 engine=$2 rounds payload out=$bench_tmp/console sum t
  mips=NA
  : >"$bench_tmp/t$low"; : >"$bench_tmp/t$high"
  for ((i = 0; i < runs; i++)); do
    for rounds in "$low" "$high"; do
      bench_payload "mips_$rounds.elf"
      if [[ $kind == vessel ]]; then vessel_cmd "$engine" "$payload" 32 "$out"
      else qemu_cmd "$engine" "$payload" 32 "$out"; fi
      timed_run
      sum=$(sed -n 's/^checksum=\([0-9a-f]*\).*/\1/p' "$out" 2>/dev/null)
      if ((run_rc != 1)); then
        bench_fail "$kind $engine rounds=$rounds: exit status $run_rc (expected 1): $(tail -n 3 "$bench_tmp/last.log")"
        return
      fi
      if [[ $sum != "${known[$rounds]}" ]]; then
        bench_fail "$kind $engine rounds=$rounds: checksum '${sum}', expected ${known[$rounds]}"
        return
      fi
      echo "$run_s" >>"$bench_tmp/t$rounds"
    done
  done
  local t_low t_high
  t_low=$(stat_min <"$bench_tmp/t$low")
  t_high=$(stat_min <"$bench_tmp/t$high")
  mips=$(awk -v a="$t_low" -v b="$t_high" -v n="$instructions" 'BEGIN { if (b > a) printf "%.1f", n / (b - a) / 1e6; else print "NA" }')
  echo "RESULT bench=mips vmm=$kind engine=$engine rounds=$low,$high t_low_s=$t_low t_high_s=$t_high instructions=$instructions mips=$mips checksum=${known[$high]}"
}

declare -A fig
pairs=("emu tcg")
((quick)) || pairs+=("emu-interp tcg")  # --quick (the smoke test): the default engine only
have_kvm && pairs+=("kvm kvm") || bench_warn "/dev/kvm not usable: kvm rows skipped"
have_qemu || bench_warn "$QEMU not found: QEMU columns are NA"
for pair in "${pairs[@]}"; do
  read -r ve qa <<<"$pair"
  measure vessel "$ve"; fig[v,$ve]=$mips
  [[ -n ${fig[q,$qa]:-} ]] && continue  # QEMU measured once per accelerator
  fig[q,$qa]=NA
  if have_qemu; then measure qemu "$qa"; fig[q,$qa]=$mips; fi
done

echo
echo "guest MIPS (million instructions per second; $instructions instructions between"
echo "ROUNDS=$low and ROUNDS=$high, min of $runs runs); ratio > 1: vessel is faster"
printf '%-22s %-22s %s\n' vessel QEMU vessel/QEMU
for pair in "${pairs[@]}"; do
  read -r ve qa <<<"$pair"
  printf '%-22s %-22s %s\n' "$ve: ${fig[v,$ve]}" "$qa: ${fig[q,$qa]}" "$(ratio "${fig[v,$ve]}" "${fig[q,$qa]}")"
done
bench_finish
