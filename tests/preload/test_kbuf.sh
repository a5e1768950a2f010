#!/usr/bin/env bash
# test_kbuf.sh UDAX PRELOAD_SO KBUF_CHECK - a udax mapping handed to the
# kernel under the interposer (kbuf_check.c), then the crash image it
# saved must hold what the file held after its last fsync, and be clean.
set -u
UDAX=$1 SO=$2 CHECK=$3
POOL=/dev/shm/udax-kbuf-test-$$.pool
IMG=$POOL.crash EXP=/tmp/udax-kbuf-$$.expected OUT=/tmp/udax-kbuf-$$.out
pass=0 fail=0
trap 'rm -f $POOL $IMG $EXP $OUT' EXIT
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
expect() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

"$UDAX" mkfs "$POOL" 64M >/dev/null || { echo "mkfs failed"; exit 1; }
out=$(UDAX_POOL=$POOL UDAX_OPTIONS=shadow UDAX_MAP_BUDGET=200 LD_PRELOAD=$SO "$CHECK" "$IMG" "$EXP")
echo "$out"
expect "kbuf_check: every check" test "$(echo "$out" | tail -1 | sed 's/.* passed, //')" = "0 failed"
expect "the crash image is clean" "$UDAX" fsck "$IMG"
expect "the crash image holds the fsync'ed data" \
	bash -c "'$UDAX' get '$IMG' /k '$OUT' >/dev/null && cmp '$OUT' '$EXP'"
expect "fsck clean after kbuf_check" "$UDAX" fsck "$POOL"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
