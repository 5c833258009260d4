#!/usr/bin/env bash
# boot.sh: Linux boot time to the init marker, vessel's software engine vs QEMU TCG, same
# invocation, on both entry paths (bzImage, decompressed in the guest; vmlinux, the ELF).
#
# Usage: bench/boot.sh [--vessel PATH] [-n RUNS] [--quick] [--engine emu|emu-interp|kvm]
# (--engine emu, the default, measures both the translator (emu) and the interpreter
# (emu-interp) next to the same QEMU figure)
#                      [--guest DIR] [--timeout S]
#
# Guest: the default guest from scripts/build-guest.sh (DIR/vmlinuz, DIR/vmlinux,
# DIR/initramfs.cpio.gz; default $VESSEL_GUEST_DIR or ~/.cache/vessel/guest). Its /init
# prints VESSEL-BOOT-OK and, with vessel.bench=1 on the command line, powers off at once.
# Command line: "console=ttyS0 quiet vessel.bench=1"; 256 MiB; 1 vCPU.
# vessel: the wall time from `vessel -v run` to the marker on its serial console (stdio, read line
# by line as in /work/shared/bench/qemu-boot.sh), its peak RSS (/usr/bin/time) and, for the
# translator, its statistics line (blocks translated, cache hits, chaining, fallbacks). A boot that
# fails or times out (--timeout, default 120 s; --quick: 5 s) is reported as such and the
# script carries on.
# QEMU: /work/shared/bench/qemu-boot.sh -M pc (TCG) on the same files and command line.
# RUNS boots per VMM and path (default 3; --quick: 1, vmlinux only). Ratio vessel / QEMU
# (< 1: vessel boots faster). Shared 2-core machines vary by +-30 % between runs: compare the
# ratio, not absolute times. Exit status: 0 unless the guest files are missing (2); a failing
# vessel boot is reported with its last lines and does not fail the script (the smoke test's
# --quick timeout of 5 s is shorter than a boot: measure with --quick --timeout 120).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
engine=emu
guest=${VESSEL_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vessel/guest}
tmo=
qemu_boot=${QEMU_BOOT:-/work/shared/bench/qemu-boot.sh}
bench_parse_common "$@"
set -- "${bench_args[@]}"
while (($#)); do
  case $1 in
    --engine) engine=$2; shift 2 ;;
    --guest) guest=$2; shift 2 ;;
    --timeout) tmo=$2; shift 2 ;;
    *) bench_die "unknown option $1" ;;
  esac
done
[[ -n $tmo ]] || { ((quick)) && tmo=5 || tmo=120; }
MARKER=VESSEL-BOOT-OK APPEND="console=ttyS0 quiet vessel.bench=1" MEM=256
initrd=$guest/initramfs.cpio.gz
paths=(vmlinuz vmlinux)
((quick)) && paths=(vmlinux)
for f in "$initrd" "${paths[@]/#/$guest/}"; do
  [[ -r $f ]] || { echo "$(basename "$0"): missing $f (run scripts/build-guest.sh)" >&2; exit 2; }
done
[[ -x /usr/bin/time ]] || bench_die "need /usr/bin/time (apt-get install time)"

engines=("$engine")
[[ $engine == emu ]] && ! ((quick)) && engines=(emu emu-interp)  # --quick: the default only

# vessel_boot KERNEL ENGINE: one boot; prints "wall_s rss_kb ok status" (status 124: timed out).
vessel_boot() {
  local kernel=$1 eng=(--engine "$2") start hit=$bench_tmp/hit
  [[ $2 == emu ]] && eng=(--engine emu --emu-exec jit)
  [[ $2 == emu-interp ]] && eng=(--engine emu --emu-exec interp)
  rm -f "$hit"
  start=$EPOCHREALTIME
  /usr/bin/time -v -o "$bench_tmp/time" timeout "$tmo" "$VESSEL_BIN" -v run "${eng[@]}" \
    --kernel "$kernel" --initrd "$initrd" --cmdline "$APPEND" --mem "$MEM" --console stdio \
    </dev/null 2>"$bench_tmp/vessel.err" |
    while IFS= read -r line; do
      case $line in *"$MARKER"*) [[ -f $hit ]] || echo "$EPOCHREALTIME" >"$hit" ;; esac
      echo "$line" >>"$bench_tmp/vessel.console"
    done
  local status=${PIPESTATUS[0]} rss wall=NA ok=0
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$bench_tmp/time" 2>/dev/null)
  if [[ -f $hit ]]; then
    ok=1
    wall=$(awk -v a="$start" -v b="$(cat "$hit")" 'BEGIN { printf "%.2f", b - a }')
  fi
  echo "$wall ${rss:-NA} $ok $status"
}

declare -A fig
for p in "${paths[@]}"; do
  kernel=$guest/$p
  for e in "${engines[@]}"; do
  : >"$bench_tmp/walls"; : >"$bench_tmp/rss"; ok_n=0
  for ((i = 1; i <= runs; i++)); do
    : >"$bench_tmp/vessel.console"
    read -r wall rss ok status < <(vessel_boot "$kernel" "$e")
    echo "RESULT vmm=vessel engine=$e kernel=$p run=$i wall_s=$wall rss_kb=$rss ok=$ok status=$status"
    # -v: the translator's statistics of the run (blocks, cache hits, chaining, fallbacks).
    grep -m1 -o 'vCPU 0: .*translator: .*' "$bench_tmp/vessel.err" | sed 's/^/  /'
    if ((ok)); then
      ok_n=$((ok_n + 1)); echo "$wall" >>"$bench_tmp/walls"; echo "$rss" >>"$bench_tmp/rss"
    else
      if ((status == 124)); then echo "  vessel did not reach $MARKER within ${tmo}s; last words:"
      else echo "  vessel ended with status $status before $MARKER; last words:"; fi
      { tail -n 3 "$bench_tmp/vessel.console"; tail -n 3 "$bench_tmp/vessel.err"; } | sed 's/^/    /'
    fi
  done
  fig[v,$e,$p]=$(stat_median <"$bench_tmp/walls"); fig[vr,$e,$p]=$(stat_median <"$bench_tmp/rss")
  fig[vn,$e,$p]="$ok_n/$runs"
  echo "MEDIAN vmm=vessel engine=$e kernel=$p runs_ok=$ok_n/$runs wall_s=${fig[v,$e,$p]:-NA} rss_kb=${fig[vr,$e,$p]:-NA}"
  done

  fig[q,$p]=; fig[qr,$p]=; fig[qn,$p]=0/0
  if [[ -x $qemu_boot ]] && have_qemu; then
    APPEND=$APPEND MEM=$MEM QEMU=$QEMU "$qemu_boot" -M pc -n "$runs" -t "$tmo" -m "$MARKER" \
      "$kernel" "$initrd" >"$bench_tmp/qemu.out" 2>&1
    sed "s/^/  qemu $p: /" "$bench_tmp/qemu.out"
    read -r qn qw qr < <(awk '/^MEDIAN/ { for (i = 1; i <= NF; i++) { split($i, kv, "=");
      v[kv[1]] = kv[2] } print v["runs_ok"], v["wall_s"], v["rss_kb"] }' "$bench_tmp/qemu.out")
    fig[q,$p]=${qw:-}; fig[qr,$p]=${qr:-}; fig[qn,$p]=${qn:-0/0}
  else
    bench_warn "$qemu_boot or $QEMU missing: QEMU column is NA"
  fi
done

echo
echo "Linux boot to $MARKER (wall s, median; peak RSS KiB); ratio < 1: vessel boots faster"
printf '%-8s %-12s %-30s %-30s %s\n' kernel vessel "vessel" "QEMU tcg -M pc" vessel/QEMU
for p in "${paths[@]}"; do
  for e in "${engines[@]}"; do
  printf '%-8s %-12s %-30s %-30s %s\n' "$p" "$e" \
    "$(fmt "${fig[v,$e,$p]}" %.2f) s, $(fmt "${fig[vr,$e,$p]}" %.0f) KiB (${fig[vn,$e,$p]} ok)" \
    "$(fmt "${fig[q,$p]}" %.2f) s, $(fmt "${fig[qr,$p]}" %.0f) KiB (${fig[qn,$p]} ok)" \
    "$(ratio "${fig[v,$e,$p]}" "${fig[q,$p]}")"
  done
done
exit 0
