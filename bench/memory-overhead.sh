#!/usr/bin/env bash
# memory-overhead.sh: the VMM's own memory, i.e. its resident set minus the guest RAM the
# guest has touched, for an idle guest; vessel vs QEMU in the same invocation.
#
# Usage: bench/memory-overhead.sh [--vessel PATH] [--payloads DIR] [-n RUNS] [--quick]
#
# Payload mem_idle.asm: touches 32 MiB of guest RAM (one write per 4 KiB page), prints
# "ready", then spins in a PAUSE loop. Each VMM runs it with 128 MiB of guest RAM; once
# "ready" is on the console (plus 0.5 s to settle) the script reads /proc/PID/status (VmRSS,
# RssAnon, RssFile) and /proc/PID/smaps, where the guest RAM is the one mapping whose size is
# the guest RAM size (vessel: its anonymous guest mapping; QEMU: pc.ram), then kills the VMM.
#   overhead      = VmRSS - Rss(guest RAM mapping)          (the figure; goal <= 3 MiB)
#   anon overhead = RssAnon - Rss(guest RAM mapping)        (private memory: heap, stacks,
#                   caches; the rest is file-backed code shared by every VMM on the host)
# Guest-touched RAM differs between VMMs (QEMU's firmware and option ROMs touch some), which
# is why it is measured, not assumed. Rows: vessel kvm vs QEMU kvm, vessel emu vs QEMU TCG.
# Minimum of RUNS (default 3). Ratio vessel / QEMU (< 1: vessel is leaner).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
bench_parse_common "$@"
((${#bench_args[@]} == 0)) || bench_die "unknown option ${bench_args[0]}"
readonly MEM_MIB=128
bench_payload mem_idle.elf

# sample KIND ENGINE: one run; appends "rss anon file guest" (KiB) to $bench_tmp/samples.
sample() {
  local kind=$1 engine=$2 out=$bench_tmp/console pid ok=0
  : >"$out"
  if [[ $kind == vessel ]]; then vessel_cmd "$engine" "$payload" "$MEM_MIB" "$out"
  else qemu_cmd "$engine" "$payload" "$MEM_MIB" "$out"; fi
  "${cmd[@]}" </dev/null >"$bench_tmp/last.log" 2>&1 &
  pid=$!
  for ((w = 0; w < 300; w++)); do  # up to 30 s (QEMU KVM boots SeaBIOS emulated on PVM)
    grep -q ready "$out" 2>/dev/null && { ok=1; break; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if ((ok)); then
    sleep 0.5
    local status guest
    status=$(awk '/^VmRSS:/ {r = $2} /^RssAnon:/ {a = $2} /^RssFile:/ {f = $2} END {print r, a, f}' \
      "/proc/$pid/status")
    # smaps: a header line per mapping, then "Size:" and "Rss:" lines (kB).
    guest=$(awk -v want=$((MEM_MIB * 1024)) '/^Size:/ {s = $2} /^Rss:/ && s == want {g += $2; n++}
      END {print (n == 1 ? g : "NA")}' "/proc/$pid/smaps")
    echo "$status $guest" >>"$bench_tmp/samples"
  fi
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  ((ok)) || bench_fail "$kind $engine: no 'ready' on the console: $(tail -n 3 "$bench_tmp/last.log")"
  return $((!ok))
}

# measure KIND ENGINE: sets over_kib (NA on failure), prints a RESULT line.
measure() {
  local kind=$1 engine=$2 line
  over_kib=NA
  : >"$bench_tmp/samples"
  for ((i = 0; i < runs; i++)); do sample "$kind" "$engine" || return; done
  # The run with the least overhead (the others caught the VMM mid-allocation or were noisy).
  line=$(awk '$4 != "NA" {print $1 - $4, $0}' "$bench_tmp/samples" | sort -n | head -n1)
  [[ -n $line ]] || { bench_fail "$kind $engine: guest RAM mapping not found in smaps"; return; }
  read -r over_kib rss anon file guest <<<"$line"
  echo "RESULT bench=memory-overhead vmm=$kind engine=$engine guest_mib=$MEM_MIB rss_kib=$rss" \
    "rss_anon_kib=$anon rss_file_kib=$file guest_touched_kib=$guest overhead_kib=$over_kib" \
    "anon_overhead_kib=$((anon - guest))"
  printf '%-8s %-4s %9s %9s %9s %11s %12s %12s\n' "$kind" "$engine" "$rss" "$anon" "$file" "$guest" \
    "$over_kib" "$((anon - guest))" >>"$bench_tmp/table"
  anon_over_kib=$((anon - guest))
}

printf '%-8s %-4s %9s %9s %9s %11s %12s %12s\n' VMM eng "RSS" "anon" "file" "guest RSS" "overhead" \
  "anon ovh" >"$bench_tmp/table"
declare -A fig
pairs=()
have_kvm && pairs+=("kvm kvm") || bench_warn "/dev/kvm not usable: kvm rows skipped"
pairs+=("emu tcg")
have_qemu || bench_warn "$QEMU not found: QEMU rows skipped"
for pair in "${pairs[@]}"; do
  read -r ve qa <<<"$pair"
  measure vessel "$ve"; fig[v,$ve]=$over_kib; fig[va,$ve]=${anon_over_kib:-NA}
  fig[q,$qa]=NA; fig[qa,$qa]=NA
  if have_qemu; then measure qemu "$qa"; fig[q,$qa]=$over_kib; fig[qa,$qa]=${anon_over_kib:-NA}; fi
done

echo
echo "memory overhead with an idle guest ($MEM_MIB MiB guest, 32 MiB touched), KiB; min of $runs runs"
cat "$bench_tmp/table"
for pair in "${pairs[@]}"; do
  read -r ve qa <<<"$pair"
  echo "vessel $ve: $(fmt "${fig[v,$ve]}" %.0f) KiB ($(awk -v k="${fig[v,$ve]}" 'BEGIN {printf "%.2f", k / 1024}') MiB)" \
    "vs qemu $qa: $(fmt "${fig[q,$qa]}" %.0f) KiB; ratio $(ratio "${fig[v,$ve]}" "${fig[q,$qa]}")" \
    "(anon only: $(ratio "${fig[va,$ve]}" "${fig[qa,$qa]}")); < 1: vessel is leaner"
done
bench_finish
