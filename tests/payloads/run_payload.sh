#!/usr/bin/env bash
# Runs one test payload on one engine and checks its console output and exit status against
# the expect-* headers of its source file.
#
#   run_payload.sh ENGINE PAYLOAD_BINARY PAYLOAD_SOURCE      ENGINE: qemu | kvm | emu | emu-interp
#     (emu runs the software engine's translator, emu-interp its interpreter)
#   run_payload.sh compare PAYLOAD_BINARY PAYLOAD_SOURCE     every engine, outputs side by side
#
# Headers read from the .asm file:
#   ; vessel-payload: format=flat|multiboot
#   ; expect-exit: N            the process exit status ((v << 1) | 1 for a write of v to 0xf4)
#   ; expect-output: TEXT       may repeat; concatenated; \n escapes
#   ; pvm-skip: REASON          optional: skip kvm on a PVM host (guest ring 0 goes through
#                               KVM's instruction emulator there, which lacks what REASON says)
# Exit status: 0 pass, 1 fail (a timeout is a failure), 77 skip (engine unavailable here).
# Environment: VESSEL_BIN (the vessel binary; kvm/emu), PAYLOAD_TIMEOUT (seconds, default 60),
# QEMU (default qemu-system-x86_64).
set -u

readonly SKIP=77
timeout_s=${PAYLOAD_TIMEOUT:-60}
qemu=${QEMU:-qemu-system-x86_64}

die() { echo "run_payload: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit "$SKIP"; }

[[ $# -eq 3 ]] || die "usage: $0 qemu|kvm|emu|emu-interp|compare PAYLOAD_BINARY PAYLOAD_SOURCE"
engine=$1 binary=$2 source=$3
[[ -r $binary ]] || die "payload binary '$binary' not found (was it built?)"
[[ -r $source ]] || die "payload source '$source' not found"

header() { sed -n "s/^; $1: //p" "$source"; }
format=$(header vessel-payload | sed -n 's/^format=//p')
expect_exit=$(header expect-exit)
pvm_skip=$(header pvm-skip)
[[ $format == flat || $format == multiboot ]] || die "$source: bad or missing 'vessel-payload: format='"
[[ $expect_exit =~ ^[0-9]+$ ]] || die "$source: bad or missing 'expect-exit:'"

work=$(mktemp -d "${TMPDIR:-/tmp}/vessel-payload.XXXXXX")
trap 'rm -rf "$work"' EXIT
# printf %b turns the \n escapes into newlines; a trailing newline survives in the file.
header expect-output | while IFS= read -r line; do printf '%b' "$line"; done >"$work/expected"

# run_qemu OUT: the cross-check. Flat payloads are boot sectors: SeaBIOS loads the first 512
# bytes from a raw disk to 0x7c00; a longer payload is also put in RAM whole by the generic
# loader device (SeaBIOS then reads the same first sector over it).
run_qemu() {
  local out=$1
  command -v "$qemu" >/dev/null || skip "$qemu is not installed"
  local args=(-accel tcg -M pc -m 16 -display none -nodefaults -no-reboot
              -serial "file:$out" -device isa-debug-exit,iobase=0xf4,iosize=4
              -device pc-testdev)
  if [[ $format == flat ]]; then
    local img=$work/disk.img size
    cp "$binary" "$img"
    size=$(stat -c %s "$img")
    truncate -s $(( (size + 511) / 512 * 512 )) "$img"
    args+=(-drive "format=raw,if=ide,index=0,snapshot=on,file=$img")
    (( size > 512 )) && args+=(-device "loader,file=$binary,addr=0x7c00,force-raw=on")
  else
    args+=(-kernel "$binary")
  fi
  timeout "$timeout_s" "$qemu" "${args[@]}" </dev/null >"$work/qemu.log" 2>&1
}

# run_vessel ENGINE OUT
run_vessel() {
  local kind=$1 out=$2
  [[ -n ${VESSEL_BIN:-} && -x ${VESSEL_BIN:-} ]] || skip "the vessel binary is not built (VESSEL_BIN='${VESSEL_BIN:-}')"
  if [[ $kind == kvm && ! ( -r /dev/kvm && -w /dev/kvm ) ]]; then
    skip "/dev/kvm is missing or not accessible"
  fi
  if [[ $kind == kvm && -n $pvm_skip && -d /sys/module/kvm_pvm ]]; then
    skip "PVM KVM host: $pvm_skip"
  fi
  local engine_args=(--engine "$kind")
  [[ $kind == emu ]] && engine_args=(--engine emu --emu-exec jit)
  [[ $kind == emu-interp ]] && engine_args=(--engine emu --emu-exec interp)
  timeout "$timeout_s" "$VESSEL_BIN" run "${engine_args[@]}" --kernel "$binary" \
    --console "file:$out" --mem 16 </dev/null >"$work/vessel.log" 2>&1
  local status=$?
  # An engine this build or host cannot provide is a skip, not a failure.
  if (( status != 0 && status != 124 )) &&
     grep -iE "engine" "$work/vessel.log" |
       grep -qiE "not part of this build|not available|unavailable|not supported|not (yet )?implemented"; then
    skip "$(grep -iE -m 1 "engine" "$work/vessel.log")"
  fi
  return "$status"
}

run_engine() {
  local kind=$1 out=$2
  : >"$out"
  case $kind in
    qemu) run_qemu "$out" ;;
    kvm | emu | emu-interp) run_vessel "$kind" "$out" ;;
    *) die "unknown engine '$kind'" ;;
  esac
}

check() {
  local kind=$1 status=$2 out=$3 ok=1
  if (( status == 124 )); then
    echo "FAIL ($kind): timed out after ${timeout_s}s"
    ok=0
  elif (( status != expect_exit )); then
    echo "FAIL ($kind): exit status $status, expected $expect_exit"
    ok=0
  fi
  if ! cmp -s "$work/expected" "$out"; then
    echo "FAIL ($kind): console output differs (--- expected, +++ actual):"
    diff -u --label expected --label actual "$work/expected" "$out"
    ok=0
  fi
  if (( ok )); then
    echo "PASS ($kind): $(basename "$binary")"
    return 0
  fi
  for log in "$work/qemu.log" "$work/vessel.log"; do
    [[ -s $log ]] && { echo "--- $(basename "$log"):"; tail -n 30 "$log"; }
  done
  return 1
}

if [[ $engine == compare ]]; then
  for kind in qemu kvm emu; do
    ( run_engine "$kind" "$work/$kind.out" )
    echo "== $kind: exit status $?"
  done
  paste -d '|' <(cat "$work/qemu.out" 2>/dev/null) <(cat "$work/kvm.out" 2>/dev/null) \
    <(cat "$work/emu.out" 2>/dev/null) | column -t -s '|' -N qemu,kvm,emu 2>/dev/null ||
    paste "$work/qemu.out" "$work/kvm.out" "$work/emu.out"
  exit 0
fi

run_engine "$engine" "$work/out"
status=$?
check "$engine" "$status" "$work/out"
