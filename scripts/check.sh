#!/usr/bin/env bash
# Build and run the whole test suite three times: a plain optimised
# build, AddressSanitizer+UBSan, and ThreadSanitizer.  Ends with one
# line "N passed, N failed" summing every ctest run.
set -u
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
total_pass=0
total_fail=0
status=0

run_config() {
	local dir=$1; shift
	echo "=== build $dir ($*)"
	mkdir -p "$dir"
	if ! cmake -S . -B "$dir" "$@" >"$dir/build.log" 2>&1 ||
	   ! cmake --build "$dir" -j"$JOBS" >>"$dir/build.log" 2>&1; then
		tail -40 "$dir/build.log"
		echo "=== $dir: BUILD FAILED"
		total_fail=$((total_fail + 1))
		status=1
		return
	fi
	local log="$dir/ctest.log"
	(cd "$dir" && ctest --output-on-failure $CTEST_ARGS) 2>&1 | tee "$log"
	local line
	line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$log" | tail -1)
	if [ -z "$line" ]; then
		echo "=== $dir: ctest printed no summary"
		total_fail=$((total_fail + 1))
		status=1
		return
	fi
	local failed total
	failed=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/')
	total=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/')
	total_pass=$((total_pass + total - failed))
	total_fail=$((total_fail + failed))
	[ "$failed" -eq 0 ] || status=1
}

CTEST_ARGS=""
run_config build -DCMAKE_BUILD_TYPE=RelWithDebInfo
# sanitizer builds run several times slower: sample crash states sparser
export UDAX_CRASH_LIGHT=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_config build-asan -DCMAKE_BUILD_TYPE=Debug -DUDAX_SANITIZE=address -DCMAKE_C_COMPILER=clang -DUDAX_MUTANTS=OFF
# udax serves page faults from a synchronous SIGSEGV handler in the
# faulting thread; TSan's signal-safety check assumes asynchronous signals.
# tests/tsan.supp explains the suppressed reports.
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:report_signal_unsafe=0:die_after_fork=0:suppressions=$PWD/tests/tsan.supp"
run_config build-tsan -DCMAKE_BUILD_TYPE=Debug -DUDAX_SANITIZE=thread -DCMAKE_C_COMPILER=clang -DUDAX_MUTANTS=OFF

echo "$total_pass passed, $total_fail failed"
exit $status
