#!/usr/bin/env bash
# smoke.sh: runs every benchmark script in --quick mode (tiny sizes, one run each) so they do
# not rot; the ctest `bench.smoke` (label bench-smoke). It checks that each script runs to the
# end and that its runs succeed (exit statuses, checksums), never timing figures.
#
# Usage: bench/smoke.sh [--vessel PATH] [--payloads DIR]
# Exit status: 0 all passed, 1 a script failed, 77 nothing to run (vessel not built).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
args=("$@")
vessel=${VESSEL_BIN:-}
for ((i = 0; i < ${#args[@]}; i++)); do [[ ${args[i]} == --vessel ]] && vessel=${args[i + 1]}; done
[[ -n $vessel && -x $vessel ]] || { echo "SKIP: vessel binary '${vessel}' not built"; exit 77; }

failed=()
for script in exit-cost mips startup memory-overhead boot api-snapshot; do
  echo "=== $script --quick"
  start=$SECONDS
  "$here/$script.sh" --quick "${args[@]}"
  rc=$?
  if [[ $script == boot && $rc == 2 ]]; then
    echo "=== boot: SKIP (no default guest: scripts/build-guest.sh)"
  elif ((rc != 0)); then
    failed+=("$script")
  fi
  echo "=== $script: exit status $rc, $((SECONDS - start)) s"
done
if ((${#failed[@]})); then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all benchmark scripts ran"
