#!/usr/bin/env bash
# test_exit_race.sh UDAX PRELOAD_SO EXIT_RACE [RUNS] - exit() while other
# threads fault through a udax mapping: no run may die of a signal, and
# the pool is clean and consistent afterwards.
set -u
UDAX=$1 SO=$2 PROG=$3 RUNS=${4:-50}
POOL=/dev/shm/udax-exit-race-$$.pool
trap 'rm -f $POOL' EXIT
"$UDAX" mkfs "$POOL" 128M >/dev/null || { echo "mkfs failed"; exit 1; }
died=0 other=0
for i in $(seq "$RUNS"); do
	UDAX_POOL=$POOL LD_PRELOAD=$SO "$PROG" $((1 + i % 20)) 2>/tmp/udax-exit-race-$$.err
	rc=$?
	if [ $rc -gt 128 ]; then
		died=$((died + 1))
		echo "run $i: died of signal $((rc - 128))"
		head -3 /tmp/udax-exit-race-$$.err
	elif [ $rc -ne 0 ]; then
		other=$((other + 1))
		echo "run $i: exit status $rc"
		head -3 /tmp/udax-exit-race-$$.err
	fi
done
rm -f /tmp/udax-exit-race-$$.err
fail=0
echo "$RUNS runs: $died died of a signal, $other failed otherwise"
[ $died -eq 0 ] && [ $other -eq 0 ] || fail=1
"$UDAX" info "$POOL" | grep -i clean
"$UDAX" fsck "$POOL" || fail=1
[ $fail -eq 0 ] && echo "ok   exit races" || echo "FAIL exit races"
exit $fail
