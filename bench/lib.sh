# Shared helpers for the bench/*.sh scripts (sourced, not run). Each script runs vessel and
# QEMU on the same payload in the same invocation and prints both figures and their ratio.
#
# Common options (parsed by bench_parse_common; a script adds its own before calling it):
#   --vessel PATH    the vessel binary (default: $VESSEL_BIN, else build/release/vessel)
#   --payloads DIR   the built bench payloads (default: $BENCH_PAYLOADS, else the bench/
#                    folder next to the vessel binary, i.e. <build dir>/bench)
#   --quick          smoke mode: tiny sizes, one run; checks the script still works
#   -n RUNS          repetitions per measurement (the minimum is kept)
# Environment: QEMU (default qemu-system-x86_64), BENCH_TIMEOUT (seconds per run, default 120).

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VESSEL_BIN=${VESSEL_BIN:-}
BENCH_PAYLOADS=${BENCH_PAYLOADS:-}
QEMU=${QEMU:-qemu-system-x86_64}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-120}
quick=0
runs=3
bench_failed=0

bench_die() { echo "$(basename "$0"): $*" >&2; exit 2; }
bench_warn() { echo "WARNING: $*" >&2; }
# A failure that makes the figure meaningless (a run that did not finish, engines that disagree):
# reported, and the script exits 1 at the end so the smoke test notices.
bench_fail() { echo "FAILED: $*" >&2; bench_failed=1; }

# bench_parse_common "$@": sets quick, runs, VESSEL_BIN, BENCH_PAYLOADS; leaves the rest in
# bench_args.
bench_parse_common() {
  bench_args=()
  while (($#)); do
    case $1 in
      --vessel) VESSEL_BIN=$2; shift 2 ;;
      --payloads) BENCH_PAYLOADS=$2; shift 2 ;;
      --quick) quick=1; shift ;;
      -n) runs=$2; shift 2 ;;
      -h | --help) sed -n '2,/^set -/p' "$0" | sed '$d'; exit 0 ;;
      *) bench_args+=("$1"); shift ;;
    esac
  done
  [[ -n $VESSEL_BIN ]] || VESSEL_BIN=$bench_root/build/release/vessel
  [[ -x $VESSEL_BIN ]] || bench_die "vessel binary '$VESSEL_BIN' not found (--vessel PATH)"
  [[ -n $BENCH_PAYLOADS ]] || BENCH_PAYLOADS=$(dirname "$VESSEL_BIN")/bench
  ((quick)) && runs=1
  bench_tmp=$(mktemp -d "${TMPDIR:-/tmp}/vessel-bench.XXXXXX")
  trap 'rm -rf "$bench_tmp"' EXIT
}

# bench_payload NAME: sets `payload` to the built payload's path (exits if it is missing).
bench_payload() {
  payload=$BENCH_PAYLOADS/$1
  [[ -r $payload ]] || bench_die "payload $payload not found (build the bench_payloads target; --payloads DIR)"
}

have_qemu() { command -v "$QEMU" >/dev/null; }
have_kvm() { [[ -r /dev/kvm && -w /dev/kvm ]]; }

# Wall-clock seconds (microsecond resolution) without forking: $EPOCHREALTIME (bash 5).
now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }

# vessel_cmd ENGINE PAYLOAD MEM_MIB CONSOLE_FILE: the command line, in the array `cmd`.
# ENGINE emu-interp: the software engine with its interpreter (emu: the translator).
vessel_cmd() {
  local engine=(--engine "$1")
  [[ $1 == emu ]] && engine=(--engine emu --emu-exec jit)
  [[ $1 == emu-interp ]] && engine=(--engine emu --emu-exec interp)
  cmd=("$VESSEL_BIN" run "${engine[@]}" --kernel "$2" --mem "$3" --console "file:$4")
}

# qemu_cmd ACCEL PAYLOAD MEM_MIB CONSOLE_FILE: QEMU -M pc with the debug-exit device at 0xf4.
# *.elf: multiboot via -kernel (SeaBIOS + QEMU's multiboot option ROM); *.bin: a boot sector
# on a raw disk (SeaBIOS); *.rom: the image is the firmware itself (-bios, no SeaBIOS).
qemu_cmd() {
  local accel=$1 payload=$2 mem=$3 out=$4
  cmd=("$QEMU" -accel "$accel" -M pc -m "$mem" -smp 1 -display none -nodefaults -no-reboot
       -serial "file:$out" -device isa-debug-exit,iobase=0xf4,iosize=4)
  case $payload in
    *.elf) cmd+=(-kernel "$payload") ;;
    *.rom) cmd+=(-bios "$payload") ;;
    *) cmd+=(-drive "format=raw,if=ide,index=0,snapshot=on,file=$payload") ;;
  esac
}

# timed_run: runs "${cmd[@]}" (stdin from /dev/null, stderr to $bench_tmp/last.log); sets
# run_s (wall seconds) and run_rc.
timed_run() {
  local t0 t1
  t0=$EPOCHREALTIME
  timeout "$BENCH_TIMEOUT" "${cmd[@]}" </dev/null >"$bench_tmp/last.log" 2>&1
  run_rc=$?
  t1=$EPOCHREALTIME
  run_s=$(elapsed "$t0" "$t1")
}

# Minimum and median of numbers on stdin.
stat_min() { sort -g | head -n1; }
stat_median() { sort -g | awk '{a[NR] = $1} END { if (NR) print a[int((NR + 1) / 2)] }'; }

# ratio A B: A / B to 2 decimals, or NA.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "NA" || b == "NA" || b + 0 == 0) print "NA"; else printf "%.2f", a / b }'
}
fmt() { awk -v v="$1" -v f="$2" 'BEGIN { if (v == "" || v == "NA") print "NA"; else printf f, v }'; }

bench_finish() {
  if ((bench_failed)); then
    echo "some runs failed (see FAILED lines above)" >&2
    exit 1
  fi
  exit 0
}
