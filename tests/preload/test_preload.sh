#!/usr/bin/env bash
# test_preload.sh UDAX PRELOAD_SO CHECKER - the interposer end to end:
# the POSIX checks of preload_check, unmodified tools (cp, cmp, ls, rm,
# sqlite3 if present), and bad input: a missing pool and a pool busy in
# another process each give one clear message and the call's errno.
set -u
UDAX=$1 SO=$2 CHECK=$3
POOL=/dev/shm/udax-preload-test-$$.pool
pass=0 fail=0
trap 'kill $holder 2>/dev/null; rm -f $POOL /tmp/udax-preload-$$.*' EXIT
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
expect() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
pre() { UDAX_POOL=$POOL LD_PRELOAD=$SO "$@"; }

"$UDAX" mkfs "$POOL" 256M >/dev/null || { echo "mkfs failed"; exit 1; }

echo "--- preload_check"
out=$(pre "$CHECK" 2>/tmp/udax-preload-$$.err)
echo "$out" | tail -1
expect "preload_check: every POSIX check" test "$(echo "$out" | tail -1 | sed 's/.* passed, //')" = "0 failed"
grep FAIL /tmp/udax-preload-$$.err
expect "a stream left open is flushed before the pool is unmounted at exit" \
	test "$("$UDAX" cat "$POOL" /at-exit 2>&1)" = "flushed at exit"
expect "fsck clean after preload_check" "$UDAX" fsck "$POOL"

echo "--- symbols"
leaked=$(nm -D --defined-only "$SO" | awk '$2 == "T" { print $3 }' |
	grep -E '^(pmem_|pool_|meta_|tx_|alloc_|xmap_|dir_|dax_|vm_|crc32c|iget|iput|ialloc|set_error)' | head)
expect "only udax_* and the interposed libc calls are exported (leaked: ${leaked:-none})" test -z "$leaked"

echo "--- unmodified tools"
head -c 3000000 /dev/urandom >/tmp/udax-preload-$$.bin
expect "cp a host file in" pre cp /tmp/udax-preload-$$.bin /udax/copy.bin
expect "cmp reads it back" pre cmp /tmp/udax-preload-$$.bin /udax/copy.bin
expect "cp -r a tree in" pre cp -r /usr/share/common-licenses /udax/lic
expect "diff -r agrees" pre diff -r /usr/share/common-licenses /udax/lic
expect "ls -l lists it" bash -c "UDAX_POOL=$POOL LD_PRELOAD=$SO ls -l /udax/lic | grep -q GPL-3"
expect "mv renames" pre mv /udax/copy.bin /udax/moved.bin
expect "rm -r removes a tree" pre rm -r /udax/lic
if command -v sqlite3 >/dev/null; then
	r=$(pre sqlite3 /udax/t.db "PRAGMA mmap_size=1000000; CREATE TABLE t(x); INSERT INTO t VALUES (1),(2); SELECT sum(x) FROM t; PRAGMA integrity_check;" | tr '\n' ' ')
	expect "sqlite3 with mmap: '$r'" test "$r" = "1000000 3 ok "
fi
expect "the host side is untouched" test ! -e /udax
expect "fsck clean after the programs" "$UDAX" fsck "$POOL"

echo "--- bad input"
err=$(UDAX_POOL=/dev/shm/udax-no-such-$$.pool LD_PRELOAD=$SO ls /udax/a /udax/b 2>&1 >/dev/null)
echo "$err"
expect "missing pool: one message" test "$(echo "$err" | grep -c 'udax-preload: cannot mount pool')" = 1
expect "missing pool: ENOENT from the call" bash -c "echo '$err' | grep -q 'No such file or directory'"
# an unusable prefix ("/" would take /proc and every file): said, and off
out=$(UDAX_POOL=$POOL UDAX_PREFIX=/ LD_PRELOAD=$SO cat /etc/hostname 2>&1)
expect "prefix /: refused with a message" bash -c "echo '$out' | grep -q 'UDAX_PREFIX=/ is not usable'"
expect "prefix /: the program runs on the host untouched" bash -c "echo '$out' | grep -qF '$(cat /etc/hostname)'"
# not a pool: refused, said once, and the file is left as it was
head -c 8388608 /dev/urandom >/tmp/udax-preload-$$.notpool
cp /tmp/udax-preload-$$.notpool /tmp/udax-preload-$$.orig
err=$(UDAX_POOL=/tmp/udax-preload-$$.notpool LD_PRELOAD=$SO cat /udax/a /udax/b 2>&1 >/dev/null)
echo "$err"
expect "not a pool: one message" test "$(echo "$err" | grep -c 'udax-preload: cannot mount pool')" = 1
expect "not a pool: EINVAL from the call" bash -c "echo '$err' | grep -q 'Invalid argument'"
expect "not a pool: the file is untouched" cmp -s /tmp/udax-preload-$$.notpool /tmp/udax-preload-$$.orig
# hold the pool read-write in one process, use it from another: both
# mount it (processes share a pool), and each sees the other's files.
UDAX_POOL=$POOL LD_PRELOAD=$SO bash -c 'exec 3</udax/moved.bin && sleep 30; true' >/dev/null 2>&1 &
holder=$!
sleep 0.3
expect "shared pool: the holder is mounted" kill -0 $holder
expect "shared pool: another process reads beside the holder" pre cmp /tmp/udax-preload-$$.bin /udax/moved.bin
expect "shared pool: and writes" pre cp /tmp/udax-preload-$$.bin /udax/beside.bin
expect "shared pool: what it wrote reads back" pre cmp /tmp/udax-preload-$$.bin /udax/beside.bin
kill $holder; wait $holder 2>/dev/null
expect "still usable once the holder is gone" pre cmp /tmp/udax-preload-$$.bin /udax/moved.bin
expect "fsck clean at the end" "$UDAX" fsck "$POOL"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
