#!/usr/bin/env bash
# Long runs of the model testers (docs/testing.md): test_fsx with
# OPS operations (default 1000000) for each of SEEDS (default 5 seeds:
# 1 2 3 and two derived from the time) in every write_lock mode, with
# the gates of GATES (NAME=0 turns a check class off; default: all on, as
# in CI), then
# test_model with MODEL_OPS operations per thread (default 200000).
#   BUILD=build OPS=1000000 SEEDS="1 2 3 4 5" GATES="UDAX_FSX_KERNEL=0" scripts/fsx-long.sh
# Each failure prints its minimized operation list and the line that
# reproduces it (UDAX_FSX_SEEDS=... UDAX_FSX_MODES=...).  Exit status is
# non-zero if any run failed.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OPS=${OPS:-1000000}
MODEL_OPS=${MODEL_OPS:-200000}
t=$(date +%s)
SEEDS=${SEEDS:-"1 2 3 $((t % 100000)) $((t / 7 % 1000003))"}
GATES=${GATES:-}
env_gates=()
for g in $GATES; do env_gates+=("$g"); done
status=0
cmake --build "$BUILD" -j1 --target test_fsx test_model >/dev/null || exit 1
for s in $SEEDS; do
	echo "=== test_fsx seed $s, $OPS operations per mode ${GATES:+(gates: $GATES)}"
	env "${env_gates[@]}" UDAX_FSX_SEEDS="$s" UDAX_FSX_OPS="$OPS" "$BUILD/tests/test_fsx" || status=1
done
echo "=== test_model, $MODEL_OPS operations per thread"
env "${env_gates[@]}" UDAX_MODEL_OPS="$MODEL_OPS" UDAX_MODEL_SEED="${SEEDS%% *}" "$BUILD/tests/test_model" || status=1
exit $status
