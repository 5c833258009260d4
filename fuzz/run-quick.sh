#!/bin/sh
# Builds the fuzz targets with clang (libFuzzer + ASan + UBSan) in build/fuzz and runs each for
# SECONDS seconds (default 60). Usage: fuzz/run-quick.sh [SECONDS]. Exit status non-zero if a
# target crashed; crash inputs are left in build/fuzz/crashes/.
set -eu
seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build/fuzz
cxx=${CXX_FUZZ:-$(command -v clang++-19 || command -v clang++)}
launcher=
if command -v ccache >/dev/null; then launcher=-DCMAKE_CXX_COMPILER_LAUNCHER=ccache; fi
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$cxx" -DVESSEL_FUZZ=ON -DVESSEL_TESTS=OFF $launcher >/dev/null
ninja -C "$build" -j2 fuzz_virtqueue fuzz_blk_request fuzz_blk_device fuzz_console fuzz_net_frame
mkdir -p "$build/crashes"
status=0
for target in fuzz_virtqueue fuzz_blk_request fuzz_blk_device fuzz_console fuzz_net_frame; do
  corpus=$build/corpus/$target
  mkdir -p "$corpus"
  echo "== $target for ${seconds}s"
  if ! "$build/fuzz/$target" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
      -artifact_prefix="$build/crashes/$target-" -print_final_stats=1 "$corpus" 2>"$build/$target.log"; then
    status=1
  fi
  grep -E "stat::number_of_executed_units|Done|ERROR|SUMMARY" "$build/$target.log" || true
done
exit $status
