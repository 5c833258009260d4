#!/usr/bin/env bash
# blk-guest.sh: sequential virtio-blk throughput seen by the guest, vessel vs QEMU TCG, same
# invocation, same kernel, initramfs and image size.
#
# Usage: bench/blk-guest.sh [--vessel PATH] [-n RUNS] [--quick] [--engine emu|kvm]
#                           [--guest DIR] [--io uring|sync] [--mib N] [--timeout S]
#
# Each run boots the default guest (scripts/build-guest.sh; DIR default $VESSEL_GUEST_DIR or
# ~/.cache/vessel/guest) with a raw image of N MiB (default 256; --quick: 16) as a virtio-blk
# disk, and the guest's /init runs one command (vessel.run=) and powers off:
#   write: dd if=/dev/zero of=/dev/vda bs=1M count=N oflag=direct conv=fsync
#   read:  dd if=/dev/vda of=/dev/null bs=1M count=N iflag=direct
# (the write first, so the read finds data), under busybox `time -p`: the figure is N MiB / dd's
# wall time in the guest (guest clock, 10 ms resolution), so boot time does not count. vessel: --disk path=IMG,io=IO, vmlinux. QEMU:
# -M pc -accel tcg, virtio-blk-pci on -drive format=raw,cache=writeback (the host page cache,
# like vessel), vmlinuz (the same kernel, compressed). RUNS (default 3; --quick 1) per VMM and
# direction, best kept. Ratio vessel / QEMU (> 1: vessel faster). Prints RESULT lines, then a
# table. Exit 1 if a run did not report its dd figure.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
engine=emu
guest=${VESSEL_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vessel/guest}
io=uring
mib=
tmo=
bench_parse_common "$@"
set -- "${bench_args[@]}"
while (($#)); do
  case $1 in
    --engine) engine=$2; shift 2 ;;
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
image=$bench_tmp/disk.img
truncate -s "${mib}M" "$image"
declare -A dd_cmd=(
  [write]="time,-p,dd,if=/dev/zero,of=/dev/vda,bs=1M,count=$mib,oflag=direct,conv=fsync"
  [read]="time,-p,dd,if=/dev/vda,of=/dev/null,bs=1M,count=$mib,iflag=direct"
)

# dd_mib_s FILE: MiB/s from dd's "N+0 records out" and busybox time -p's "real S" lines, or NA.
dd_mib_s() {
  tr -d '\r' <"$1" | awk -v mib="$mib" '/^[0-9]+\+0 records out/ { split($1, r, "+"); n = r[1] }
    /^real [0-9.]+/ { s = $2 }
    END { if (n == mib && s > 0) printf "%.1f", mib / s; else print "NA" }'
}

# run_vmm VMM DIRECTION: one boot; prints the MiB/s (NA when dd did not report).
run_vmm() {
  local vmm=$1 dir=$2 out=$bench_tmp/$1-$2.console
  local append="console=ttyS0 quiet vessel.run=${dd_cmd[$dir]}"
  if [[ $vmm == vessel ]]; then
    timeout "$tmo" "$VESSEL_BIN" run --engine "$engine" --mem 256 --kernel "$guest/vmlinux" \
      --initrd "$guest/initramfs.cpio.gz" --cmdline "$append" --disk "path=$image,io=$io" \
      --console "file:$out" </dev/null >"$bench_tmp/vessel.log" 2>&1
  else
    timeout "$tmo" "$QEMU" -M pc -accel tcg -m 256 -smp 1 -display none -nodefaults -no-reboot \
      -serial "file:$out" -kernel "$guest/vmlinuz" -initrd "$guest/initramfs.cpio.gz" \
      -append "$append" -drive "if=none,id=d0,format=raw,cache=writeback,file=$image" \
      -device virtio-blk-pci,drive=d0 </dev/null >"$bench_tmp/qemu.log" 2>&1
  fi
  dd_mib_s "$out"
}

declare -A best
vmms=(vessel)
if have_qemu; then vmms+=(qemu); else bench_warn "$QEMU missing: QEMU column is NA"; fi
for dir in write read; do
  for vmm in "${vmms[@]}"; do
    : >"$bench_tmp/figs"
    for ((i = 1; i <= runs; i++)); do
      v=$(run_vmm "$vmm" "$dir")
      echo "RESULT vmm=$vmm dir=$dir run=$i mib=$mib mib_s=$v$([[ $vmm == vessel ]] && echo " engine=$engine io=$io")"
      if [[ $v == NA ]]; then
        bench_fail "$vmm $dir run $i: no dd figure; console tail:"
        tail -n 5 "$bench_tmp/$vmm-$dir.console" 2>/dev/null | sed 's/^/    /' >&2
      else
        echo "$v" >>"$bench_tmp/figs"
      fi
    done
    best[$vmm,$dir]=$(sort -g "$bench_tmp/figs" | tail -n1)
  done
done

echo
echo "Guest sequential throughput, $mib MiB, bs=1M, direct I/O (MiB/s, best of $runs); ratio > 1: vessel faster"
printf '%-6s %-22s %-18s %s\n' dir "vessel $engine io=$io" "QEMU tcg -M pc" vessel/QEMU
for dir in write read; do
  printf '%-6s %-22s %-18s %s\n' "$dir" "$(fmt "${best[vessel,$dir]:-}" %.1f)" \
    "$(fmt "${best[qemu,$dir]:-}" %.1f)" "$(ratio "${best[vessel,$dir]:-}" "${best[qemu,$dir]:-}")"
done
bench_finish
