#!/usr/bin/env bash
# extract-vmlinux.sh BZIMAGE OUT: writes the uncompressed ELF kernel (vmlinux) held in a bzImage.
#
# A bzImage is real-mode setup code followed by a small decompressor whose payload is the
# compressed vmlinux (Documentation/arch/x86/boot.rst: payload_offset/payload_length, protocol
# 2.08+). Debian builds with CONFIG_KERNEL_XZ, so the payload is one XZ stream followed by the
# 4-byte uncompressed size that the kernel's build appends. We prefer the header's fields and
# fall back to searching for the XZ magic (FD 37 7A 58 5A 00) when they do not point at one.
set -euo pipefail

die() { echo "extract-vmlinux: $*" >&2; exit 1; }

[[ $# -eq 2 ]] || die "usage: extract-vmlinux.sh BZIMAGE OUT"
in=$1 out=$2
[[ -r $in ]] || die "cannot read $in"
command -v xz >/dev/null || die "xz not found (apt-get install xz-utils)"

readle() {  # readle FILE OFFSET SIZE: little-endian unsigned integer at OFFSET
  od -An -t "u$3" -j "$2" -N "$3" --endian=little "$1" | tr -d ' '
}

size=$(stat -c %s "$in")
(( size > 0x300 )) || die "$in is too small to be a bzImage"
[[ $(dd if="$in" bs=1 skip=$((0x202)) count=4 status=none) == HdrS ]] ||
  die "$in is not a bzImage (no HdrS setup header)"

xz_magic=$'\xfd7zXZ'
offset=""
version=$(readle "$in" $((0x206)) 2)
if (( version >= 0x0208 )); then
  setup_sects=$(readle "$in" $((0x1f1)) 1)
  (( setup_sects == 0 )) && setup_sects=4
  payload=$(( (setup_sects + 1) * 512 + $(readle "$in" $((0x248)) 4) ))
  if (( payload + 6 <= size )) &&
     [[ $(dd if="$in" bs=1 skip="$payload" count=5 status=none | od -An -tx1 | tr -d ' \n') == fd377a585a ]]; then
    offset=$payload
  fi
fi
if [[ -z $offset ]]; then
  # Fallback: the first XZ stream header in the file (grep -b gives its byte offset).
  offset=$(LC_ALL=C grep -obUaP '\xfd\x37\x7a\x58\x5a\x00' "$in" | head -n1 | cut -d: -f1 || true)
  [[ -n $offset ]] || die "no XZ payload found in $in (kernel not XZ-compressed?)"
fi

tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# --single-stream stops at the end of the first stream and ignores the trailing size word (and
# whatever follows); the process substitution keeps tail's SIGPIPE out of pipefail.
xz -dc --single-stream < <(tail -c +"$((offset + 1))" "$in") >"$tmp" 2>/dev/null ||
  die "XZ payload at offset $offset does not decompress"
[[ $(head -c 4 "$tmp" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]] ||
  die "decompressed payload is not an ELF file"
mv "$tmp" "$out"
trap - EXIT
