#!/usr/bin/env bash
# blk-guest.sh: sequential virtio-blk throughput seen by the guest, vessel vs QEMU TCG, same
# invocation, same kernel, initramfs and image size.
#
# Usage: bench/blk-guest.sh [--vessel PATH] [-n RUNS] [--quick] [--engine emu|kvm]
#                           [--exec jit|interp] [--guest DIR] [--io uring|sync] [--mib N]
#                           [--timeout S]
#
# Each run boots the default guest (scripts/build-guest.sh; DIR default $VESSEL_GUEST_DIR or
# ~/.cache/vessel/guest) with a raw image of N MiB (default 256; --quick: 16) as a virtio-blk
# disk, and the guest's /init runs one command (vessel.run=) and powers off:
#   write: dd if=/dev/zero of=/dev/vda bs=1M count=N oflag=direct conv=fsync
#   read:  dd if=/dev/vda of=/dev/null bs=1M count=N iflag=direct
#   lat4k: dd if=/dev/vda of=/dev/null bs=4k count=4096 iflag=direct (one request at a time:
#          the figure is the mean time of one 4 KiB read request, notify to completion seen
#          by dd, in microseconds; lower is better)
# (the write first, so the read finds data), under busybox `time -p`: the figure is N MiB / dd's
# wall time in the guest (guest clock, 10 ms resolution), so boot time does not count. vessel: --disk path=IMG,io=IO, vmlinux,
# on emu the translator (--exec, default jit; the guest's kernel time dominates). QEMU:
# -M pc -accel tcg, virtio-blk-pci on -drive format=raw,cache=writeback (the host page cache,
# like vessel), vmlinuz (the same kernel, compressed). RUNS (default 3; --quick 1) per VMM and
# direction, best kept. Ratio vessel / QEMU (> 1: vessel faster). Prints RESULT lines, then a
# table. Exit 1 if a run did not report its dd figure.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
engine=emu
exec=jit
guest=${VESSEL_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vessel/guest}
io=uring
mib=
tmo=
bench_parse_common "$@"
set -- "${bench_args[@]}"
while (($#)); do
  case $1 in
    --engine) engine=$2; shift 2 ;;
    --exec) exec=$2; shift 2 ;;
    --guest) guest=$2; shift 2 ;;
    --io) io=$2; shift 2 ;;
    --mib) mib=$2; shift 2 ;;
    --timeout) tmo=$2; shift 2 ;;
    *) bench_die "unknown option $1" ;;
  esac
done
[[ -n $mib ]] || { ((quick)) && mib=16 || mib=256; }
[[ -n $tmo ]] || tmo=600
for f in vmlinux vmlinuz initramfs.cpio.gz; do
  [[ -r $guest/$f ]] || { echo "$(basename "$0"): missing $guest/$f (run scripts/build-guest.sh)" >&2; exit 2; }
done
lat_count=4096
((quick)) && lat_count=512
image=$bench_tmp/disk.img
truncate -s "${mib}M" "$image"
declare -A dd_cmd=(
  [write]="time,-p,dd,if=/dev/zero,of=/dev/vda,bs=1M,count=$mib,oflag=direct,conv=fsync"
  [read]="time,-p,dd,if=/dev/vda,of=/dev/null,bs=1M,count=$mib,iflag=direct"
  [lat4k]="time,-p,dd,if=/dev/vda,of=/dev/null,bs=4k,count=$lat_count,iflag=direct"
)

# dd_figure FILE DIRECTION: from dd's "N+0 records out" and busybox time -p's "real S" lines,
# MiB/s (write, read) or microseconds per request (lat4k); NA when dd did not report.
dd_figure() {
  local want=$mib
  [[ $2 == lat4k ]] && want=$lat_count
  tr -d '\r' <"$1" | awk -v want="$want" -v dir="$2" '
    /^[0-9]+\+0 records out/ { split($1, r, "+"); n = r[1] }
    /^real [0-9.]+/ { s = $2 }
    END {
      if (n != want || s <= 0) print "NA"
      else if (dir == "lat4k") printf "%.0f", s * 1e6 / n
      else printf "%.1f", want / s
    }'
}

# run_vmm VMM DIRECTION: one boot; prints its figure (NA when dd did not report).
run_vmm() {
  local vmm=$1 dir=$2 out=$bench_tmp/$1-$2.console
  local append="console=ttyS0 quiet vessel.run=${dd_cmd[$dir]}"
  if [[ $vmm == vessel ]]; then
    local eng=(--engine "$engine")
    [[ $engine == emu ]] && eng+=(--emu-exec "$exec")
    timeout "$tmo" "$VESSEL_BIN" run "${eng[@]}" --mem 256 --kernel "$guest/vmlinux" \
      --initrd "$guest/initramfs.cpio.gz" --cmdline "$append" --disk "path=$image,io=$io" \
      --console "file:$out" </dev/null >"$bench_tmp/vessel.log" 2>&1
  else
    timeout "$tmo" "$QEMU" -M pc -accel tcg -m 256 -smp 1 -display none -nodefaults -no-reboot \
      -serial "file:$out" -kernel "$guest/vmlinuz" -initrd "$guest/initramfs.cpio.gz" \
      -append "$append" -drive "if=none,id=d0,format=raw,cache=writeback,file=$image" \
      -device virtio-blk-pci,drive=d0 </dev/null >"$bench_tmp/qemu.log" 2>&1
  fi
  dd_figure "$out" "$dir"
}

declare -A best
vmms=(vessel)
if have_qemu; then vmms+=(qemu); else bench_warn "$QEMU missing: QEMU column is NA"; fi
for dir in write read lat4k; do
  for vmm in "${vmms[@]}"; do
    : >"$bench_tmp/figs"
    for ((i = 1; i <= runs; i++)); do
      v=$(run_vmm "$vmm" "$dir")
      unit=mib_s
      [[ $dir == lat4k ]] && unit=us_per_req
      echo "RESULT vmm=$vmm dir=$dir run=$i mib=$mib $unit=$v$([[ $vmm == vessel ]] && echo " engine=$engine exec=$exec io=$io")"
      if [[ $v == NA ]]; then
        bench_fail "$vmm $dir run $i: no dd figure; console tail:"
        tail -n 5 "$bench_tmp/$vmm-$dir.console" 2>/dev/null | sed 's/^/    /' >&2
      else
        echo "$v" >>"$bench_tmp/figs"
      fi
    done
    if [[ $dir == lat4k ]]; then
      best[$vmm,$dir]=$(sort -g "$bench_tmp/figs" | head -n1)
    else
      best[$vmm,$dir]=$(sort -g "$bench_tmp/figs" | tail -n1)
    fi
  done
done

echo
echo "Guest sequential throughput, $mib MiB, bs=1M, direct I/O (MiB/s, best of $runs); ratio > 1: vessel faster"
echo "lat4k: one 4 KiB direct read at a time, $lat_count of them (us per request, best of $runs); ratio < 1: vessel faster"
printf '%-6s %-28s %-18s %s\n' dir "vessel $engine $([[ $engine == emu ]] && echo "$exec ")io=$io" \
  "QEMU tcg -M pc" vessel/QEMU
for dir in write read lat4k; do
  printf '%-6s %-28s %-18s %s\n' "$dir" "$(fmt "${best[vessel,$dir]:-}" %.1f)" \
    "$(fmt "${best[qemu,$dir]:-}" %.1f)" "$(ratio "${best[vessel,$dir]:-}" "${best[qemu,$dir]:-}")"
done
bench_finish
