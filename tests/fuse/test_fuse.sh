#!/bin/bash
# test_fuse.sh - end-to-end test of `udax mount`: a udax pool mounted
# through FUSE and used by unmodified tools (cp, tar, rsync, git,
# sqlite3, fio, coreutils, python3).
#
#   test_fuse.sh UDAX [RENAMEAT2]     the full test
#   test_fuse.sh --readme UDAX        the README's mount example
#
# UDAX is the udax binary (default $UDAX_CLI); RENAMEAT2 the helper built
# from tests/fuse/renameat2.c (rename-flag checks are skipped without it).
# Prints one line per check and ends with "N passed, N failed"; exits 1
# on any failure, 77 (CTest: skipped) when FUSE cannot be used here.
set -u

MODE=full
if [ "${1:-}" = --readme ]; then
	MODE=readme
	shift
fi
UDAX=${1:-${UDAX_CLI:-}}
RENAMEAT2=${2:-}
HERE=$(cd "$(dirname "$0")" && pwd)
SRCROOT=$(cd "$HERE/../.." && pwd)

PASS=0
FAIL=0
DPID=
T=
POOL=
MNT=

ok() { echo "ok   - $*"; PASS=$((PASS + 1)); }
bad() { echo "FAIL - $*"; FAIL=$((FAIL + 1)); }
note() { echo "     # $*"; }
skip_check() { echo "skip - $*"; }
skip_all() { echo "SKIP: $*"; exit 77; }

# check DESCRIPTION COMMAND...: passes if COMMAND exits 0; shows its
# output otherwise.
check() {
	local desc=$1
	shift
	if "$@" >"$T/check.out" 2>&1; then
		ok "$desc"
	else
		bad "$desc"
		tail -n 25 "$T/check.out" | sed 's/^/     | /'
	fi
}

# expect_fail DESCRIPTION PATTERN COMMAND...: passes if COMMAND fails and
# its output matches the extended regex PATTERN.
expect_fail() {
	local desc=$1 pat=$2
	shift 2
	if "$@" >"$T/check.out" 2>&1; then
		bad "$desc (succeeded)"
	elif grep -Eq -- "$pat" "$T/check.out"; then
		ok "$desc"
	else
		bad "$desc (wrong error)"
		tail -n 10 "$T/check.out" | sed 's/^/     | /'
	fi
}

# eq DESCRIPTION GOT WANT
eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		bad "$1: got '$2', want '$3'"
	fi
}

have() { command -v "$1" >/dev/null 2>&1; }

is_mounted() { grep -q " $1 [^ ]* [^-]*- fuse.udax " /proc/self/mountinfo; }

wait_mounted() {
	local i
	for i in $(seq 200); do
		is_mounted "$1" && return 0
		[ -n "$DPID" ] && ! kill -0 "$DPID" 2>/dev/null && return 1
		sleep 0.05
	done
	return 1
}

cleanup() {
	set +e
	if [ -n "$MNT" ] && is_mounted "$MNT"; then
		"$UDAX" umount "$MNT" >/dev/null 2>&1 ||
			umount -l "$MNT" 2>/dev/null ||
			fusermount3 -uz "$MNT" 2>/dev/null
	fi
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		kill "$DPID" 2>/dev/null
		wait "$DPID" 2>/dev/null
	fi
	[ -n "$POOL" ] && rm -f "$POOL"
	[ -n "$T" ] && rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------
# Can FUSE be used here at all?
# ------------------------------------------------------------------
[ -n "$UDAX" ] && [ -x "$UDAX" ] || { echo "usage: $0 [--readme] UDAX [RENAMEAT2]" >&2; exit 2; }
[ -c /dev/fuse ] || skip_all "/dev/fuse does not exist"
( exec 9<>/dev/fuse ) 2>/dev/null || skip_all "/dev/fuse cannot be opened (no permission, or no FUSE in this container)"
if [ "$(id -u)" != 0 ] && ! have fusermount3; then
	skip_all "not root and no fusermount3"
fi
out=$("$UDAX" mount /nonexistent.pool /nonexistent.dir 2>&1)
if [ $? = 2 ] && echo "$out" | grep -q "without FUSE support"; then
	skip_all "udax was built without FUSE support (libfuse3-dev)"
fi

T=$(mktemp -d /tmp/udax-fuse-test.XXXXXX) || exit 1
chmod 755 "$T"   # user nobody must reach the mount point
POOL=/dev/shm/udax-fuse-test.$$.$RANDOM.pool
MNT=$T/mnt
mkdir "$MNT"
START=$(date +%s)

finish() {
	echo "$PASS passed, $FAIL failed ($(( $(date +%s) - START )) s)"
	[ "$FAIL" = 0 ]
	exit $?
}

# ------------------------------------------------------------------
# --readme: the commands of the README's FUSE example, as written
# there, with only the pool, mount point and binary paths made unique.
# ------------------------------------------------------------------
if [ "$MODE" = readme ]; then
	# The sh block after the README's "<!-- example:fuse -->" marker.
	cmds=
	if [ -f "$SRCROOT/README.md" ]; then
		cmds=$(awk '/<!-- example:fuse -->/ { m = 1; next }
			m == 1 && /^```/ { m = 2; next }
			m == 2 && /^```/ { exit }
			m == 2 { print }' "$SRCROOT/README.md")
	fi
	if ! echo "$cmds" | grep -q 'udax mount'; then
		note "README.md has no <!-- example:fuse --> block: using the example it should hold"
		cmds='./build/udax mkfs /dev/shm/udax.pool 1G
mkdir -p /tmp/udax-mnt && ./build/udax mount /dev/shm/udax.pool /tmp/udax-mnt
cp -r /usr/share/doc/fio /tmp/udax-mnt/ && ls /tmp/udax-mnt/fio
./build/udax umount /tmp/udax-mnt'
	fi
	# What the example copies in, to compare afterwards.
	copied=$(echo "$cmds" | sed -n 's|.*cp -r \([^ ]*\) /tmp/udax-mnt/*\( .*\)*$|\1|p' | head -n 1)
	if [ -n "$copied" ] && [ ! -e "$copied" ]; then
		skip_all "$copied, which the README example copies, is missing here"
	fi
	n=0
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		n=$((n + 1))
		cmd=${line//.\/build\/udax/$UDAX}
		cmd=${cmd//\/dev\/shm\/udax.pool/$POOL}
		cmd=${cmd//\/tmp\/udax-mnt/$MNT}
		echo "     \$ $line"
		if bash -c "$cmd" >"$T/readme.out" 2>&1; then
			ok "README step $n"
			sed 's/^/     | /' "$T/readme.out" | head -n 8
		else
			bad "README step $n: $line"
			sed 's/^/     | /' "$T/readme.out" | tail -n 20
		fi
	done <<<"$cmds"
	check "README: unmounted at the end" bash -c "! grep -q ' $MNT ' /proc/self/mountinfo"
	if [ -n "$copied" ]; then
		check "README: the copy matches $copied" \
			bash -c "'$UDAX' mount '$POOL' '$MNT' && diff -r '$copied' '$MNT/$(basename "$copied")'; rc=\$?; '$UDAX' umount '$MNT'; exit \$rc"
	fi
	check "README: fsck clean" "$UDAX" fsck "$POOL"
	finish
fi

# ------------------------------------------------------------------
# A source tree with the interesting cases, beside a real one.
# ------------------------------------------------------------------
SRC=$T/src
mkdir -p "$SRC/gen/deep/a/b/c/d" "$SRC/gen/empty dir"
if [ -d /usr/include/linux ]; then
	cp -a /usr/include/linux "$SRC/linux"
else
	cp -a "$SRCROOT/src" "$SRC/linux"
fi
head -c 3145728 /dev/urandom >"$SRC/gen/random.bin"
: >"$SRC/gen/empty"
truncate -s 10M "$SRC/gen/sparse"
printf 'in the middle' | dd of="$SRC/gen/sparse" bs=1 seek=5000000 conv=notrunc status=none
echo "deep" >"$SRC/gen/deep/a/b/c/d/leaf.txt"
echo "spaces and ünïcödé" >"$SRC/gen/name with spaces ünïcödé.txt"
echo secret >"$SRC/gen/private"
chmod 600 "$SRC/gen/private"
chmod 751 "$SRC/gen/deep"
ln -s ../random.bin "$SRC/gen/deep/link-to-random"
ln -s "does-not-exist" "$SRC/gen/dangling"
ln "$SRC/gen/random.bin" "$SRC/gen/hardlink.bin"
touch -d '2001-02-03 04:05:06.123456789' "$SRC/gen/empty"

# Everything ls -l would show but sizes of directories and link counts
# of the tree's root (which differ between file systems anyway).
listing() {
	(cd "$1" && find . -mindepth 1 \( -type d -printf '%y %m %n %U:%G %P\n' \) -o \
		\( -printf '%y %m %n %U:%G %s %T@ %P -> %l\n' \) | LC_ALL=C sort)
}

# ------------------------------------------------------------------
# Mounting, and what must fail before daemonising
# ------------------------------------------------------------------
check "mkfs 1G pool in /dev/shm" "$UDAX" mkfs "$POOL" 1G
expect_fail "mount of a missing pool fails with a message" "nonexistent|No such file" \
	"$UDAX" mount /dev/shm/nonexistent-udax.pool "$MNT"
expect_fail "mount on a missing directory fails with a message" "cannot mount" \
	"$UDAX" mount "$POOL" "$T/no-such-dir"
head -c 8388608 /dev/urandom >"$T/garbage.pool"
expect_fail "mount of a file that is not a udax pool fails" "not a udax|Invalid|invalid" \
	"$UDAX" mount "$T/garbage.pool" "$MNT"
expect_fail "umount of a directory that is not mounted fails" "not mounted" \
	"$UDAX" umount "$MNT"
expect_fail "mount with an unknown option fails" "unknown|invalid|Invalid" \
	"$UDAX" mount -o no_such_option "$POOL" "$MNT"
is_mounted "$MNT" && bad "nothing may be left mounted after failed mounts"

# The first mount stays in the foreground (in the background of this
# script) so that sanitizer reports land in a log.
"$UDAX" mount -f "$POOL" "$MNT" 2>"$T/daemon1.log" &
DPID=$!
if wait_mounted "$MNT"; then
	ok "udax mount -f: mounted"
else
	bad "udax mount -f: not mounted"
	cat "$T/daemon1.log"
	finish
fi
mkdir "$T/mnt2"
expect_fail "a second mount of the same pool is refused" "in use|busy|Busy" \
	"$UDAX" mount "$POOL" "$T/mnt2"
check "mount point is fuse.udax with default_permissions" \
	grep -Eq " $MNT [^ ]* [^-]*- fuse.udax $POOL .*default_permissions" /proc/self/mountinfo

# ------------------------------------------------------------------
# statfs
# ------------------------------------------------------------------
read -r bs blocks bfree files ffree namemax <<<"$(stat -f -c '%S %b %f %c %d %l' "$MNT")"
eq "statfs: block size" "$bs" 4096
if [ "$blocks" -gt 250000 ] && [ "$blocks" -le 262144 ] && [ "$bfree" -le "$blocks" ] &&
	[ "$bfree" -gt $((blocks - 1000)) ] && [ "$files" -gt 0 ] && [ "$ffree" -le "$files" ]; then
	ok "statfs: $blocks blocks, $bfree free, $files inodes, $ffree free"
else
	bad "statfs: $blocks blocks, $bfree free, $files inodes, $ffree free"
fi
eq "statfs: name_max" "$namemax" 255
check "df shows the pool" bash -c "df -P '$MNT' | grep -q '$POOL'"

# ------------------------------------------------------------------
# Copying trees in and out
# ------------------------------------------------------------------
check "cp -a a tree in" cp -a "$SRC" "$MNT/cp"
check "diff -r: the copy is identical" diff -r --no-dereference "$SRC" "$MNT/cp"
listing "$SRC" >"$T/src.list"
listing "$MNT/cp" >"$T/cp.list"
check "cp -a kept modes, owners, link counts, mtimes (ns), symlinks" diff "$T/src.list" "$T/cp.list"
check "cmp of a 3 MiB random file" cmp "$SRC/gen/random.bin" "$MNT/cp/gen/random.bin"
eq "hard link kept by cp -a" "$(stat -c %i "$MNT/cp/gen/random.bin")" "$(stat -c %i "$MNT/cp/gen/hardlink.bin")"
check "cp -r (no -a) of the real tree" cp -r "$SRC/linux" "$MNT/cpr"
check "diff -r after cp -r" diff -r "$SRC/linux" "$MNT/cpr"

check "tar c into the mount" tar -C "$SRC" -cf "$MNT/tree.tar" .
mkdir "$MNT/tarx"
check "tar x on the mount" tar -C "$MNT/tarx" -xpf "$MNT/tree.tar"
check "diff -r after the tar round trip" diff -r --no-dereference "$SRC" "$MNT/tarx"
mkdir "$T/untar"
check "tar c from the mount, x on the host" bash -c "tar -C '$MNT/tarx' -cf - . | tar -C '$T/untar' -xpf -"
check "diff -r host <- mount" diff -r --no-dereference "$SRC" "$T/untar"

if have rsync; then
	check "rsync -aH in" rsync -aH "$SRC/" "$MNT/rs/"
	check "rsync -aH out" rsync -aH "$MNT/rs/" "$T/rsback/"
	check "diff -r after the rsync round trip" diff -r --no-dereference "$SRC" "$T/rsback"
	listing "$T/rsback" >"$T/rs.list"
	check "rsync -aH kept attributes" diff "$T/src.list" "$T/rs.list"
	eq "rsync again transfers nothing (times and sizes kept)" \
		"$(rsync -aHi "$SRC/" "$MNT/rs/" | grep -v '^\.d' | head -n 3)" ""
else
	skip_check "rsync not installed"
fi
eq "sparse file keeps its size" "$(stat -c %s "$MNT/cp/gen/sparse")" 10485760

# ------------------------------------------------------------------
# git
# ------------------------------------------------------------------
if have git; then
	G=$MNT/repo
	gitc() { git -C "$G" -c user.name=udax -c user.email=udax@example.invalid -c init.defaultBranch=main "$@"; }
	mkdir "$G"
	check "git init" gitc init -q
	# A couple of hundred files: enough for packs, deltas and renames.
	cp -a "$SRC/gen" "$G/"
	find "$SRC/linux" -maxdepth 1 -name '*.h' | LC_ALL=C sort | head -n 200 | xargs cp -t "$G/"
	check "git add -A" gitc add -A
	check "git commit" gitc commit -q -m first
	echo "change" >>"$G/$(cd "$G" && ls *.h | head -n 1)"
	gitc mv "$(cd "$G" && ls *.h | tail -n 1)" renamed.h
	check "git second commit (modify, rename)" gitc commit -qam second
	check "git gc" gitc gc -q
	check "git fsck --full" gitc fsck --full --strict
	eq "git log shows both commits" "$(gitc log --format=%s | tr '\n' ' ')" "second first "
	eq "git status is clean" "$(gitc status --porcelain)" ""
else
	skip_check "git not installed"
fi

# ------------------------------------------------------------------
# sqlite3, without and with mmap
# ------------------------------------------------------------------
sqlite_workload() {  # $1 db, $2 mmap_size, $3 journal mode
	cat <<EOF | sqlite3 -batch "$1" 2>&1
.output /dev/null
PRAGMA mmap_size=$2;
PRAGMA journal_mode=$3;
PRAGMA synchronous=FULL;
.output stdout
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT);
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000)
  INSERT INTO t(k, v) SELECT (x * 7919) % 1000, hex(randomblob(48)) FROM c;
COMMIT;
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000)
  INSERT INTO t(k, v) SELECT (x * 104729) % 1000, hex(randomblob(200)) FROM c;
COMMIT;
CREATE INDEX t_k ON t(k);
BEGIN;
UPDATE t SET v = v || 'updated' WHERE id % 3 = 0;
DELETE FROM t WHERE id % 5 = 0;
COMMIT;
BEGIN;
INSERT INTO t(k, v) SELECT k + 1, v FROM t WHERE id % 7 = 0;
ROLLBACK;
VACUUM;
SELECT count(*), count(DISTINCT k) FROM t;
PRAGMA integrity_check;
EOF
}
if have sqlite3; then
	out=$(sqlite_workload "$MNT/db0.sqlite" 0 DELETE)
	eq "sqlite3 (mmap_size=0): 20000 rows in, updates, deletes, index, integrity" \
		"$(echo "$out" | tr '\n' ' ')" "16000|800 ok "
	out=$(sqlite_workload "$MNT/db1.sqlite" 268435456 DELETE)
	eq "sqlite3 (mmap_size=256 MiB): same workload through mmap" \
		"$(echo "$out" | tr '\n' ' ')" "16000|800 ok "
	out=$(sqlite_workload "$MNT/db2.sqlite" 268435456 WAL)
	eq "sqlite3 (WAL, shared-memory index mmap'ed on the mount)" \
		"$(echo "$out" | tr '\n' ' ')" "16000|800 ok "
	eq "sqlite3: integrity_check of a db reopened" \
		"$(sqlite3 -batch "$MNT/db1.sqlite" 'PRAGMA integrity_check;')" ok
else
	skip_check "sqlite3 not installed"
fi

# ------------------------------------------------------------------
# fio with verification
# ------------------------------------------------------------------
if have fio; then
	check "fio psync 4k random writes, 64 MiB, verify=crc32c" \
		fio --name=rand --filename="$MNT/fio.dat" --size=64m --bs=4k --rw=randwrite \
		--ioengine=psync --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 \
		--fsync=256 --runtime=20 --output="$T/fio1.out"
	check "fio psync 1M sequential writes + verify, 2 jobs" \
		fio --name=seq --directory="$MNT" --size=32m --bs=1m --rw=write --numjobs=2 \
		--ioengine=psync --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 \
		--runtime=20 --output="$T/fio2.out"
	grep -E 'WRITE:' "$T/fio1.out" "$T/fio2.out" | sed 's/^.*WRITE:/     # fio WRITE:/'
	rm -f "$MNT"/fio.dat "$MNT"/seq.*
else
	skip_check "fio not installed"
fi

# ------------------------------------------------------------------
# fallocate, punch, SEEK_DATA / SEEK_HOLE, truncate
# ------------------------------------------------------------------
F=$MNT/falloc
check "fallocate -l 8M" fallocate -l 8M "$F"
eq "fallocate: size 8 MiB, 16384 blocks of 512" "$(stat -c '%s %b %B' "$F")" "8388608 16384 512"
check "fallocate -p (punch 1M..3M)" fallocate -p -o 1M -l 2M "$F"
eq "punch: size kept, blocks freed" "$(stat -c '%s %b' "$F")" "8388608 12288"
seekpy() {
	python3 - "$@" <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
out = []
for w, off in zip(sys.argv[2::2], sys.argv[3::2]):
    try:
        out.append(str(os.lseek(fd, int(off), os.SEEK_HOLE if w == "hole" else os.SEEK_DATA)))
    except OSError as e:
        out.append(type(e).__name__ + ":" + str(e.errno))
print(" ".join(out))
EOF
}
eq "SEEK_HOLE/SEEK_DATA see the punched hole" \
	"$(seekpy "$F" hole 0 data 1048576 hole 3145728 data 8388608)" "1048576 3145728 8388608 OSError:6"
check "fallocate -n (keep size) on an empty file" bash -c ": > '$MNT/keep' && fallocate -n -l 1M '$MNT/keep'"
eq "keep size: size 0, 2048 blocks" "$(stat -c '%s %b' "$MNT/keep")" "0 2048"
head -c 1048576 /dev/urandom >"$MNT/zr"
if fallocate -z -o 4096 -l 8192 "$MNT/zr" 2>"$T/zr.err"; then
	eq "fallocate -z: the range reads as zeros" \
		"$(dd if="$MNT/zr" bs=4096 skip=1 count=2 status=none | tr -d '\0' | wc -c)" 0
elif grep -q "not supported" "$T/zr.err"; then
	skip_check "fallocate -z: this kernel's FUSE does not pass ZERO_RANGE on"
else
	bad "fallocate -z: $(cat "$T/zr.err")"
fi
expect_fail "fallocate collapse-range is refused" "not supported|Operation not supported" \
	fallocate -c -o 0 -l 4096 "$MNT/zr"
truncate -s 0 "$MNT/sp"
check "write at 5 MiB into an empty file" bash -c "printf x | dd of='$MNT/sp' bs=1 seek=5242880 conv=notrunc status=none"
eq "sparse file: SEEK_DATA/SEEK_HOLE" "$(seekpy "$MNT/sp" data 0 hole 5242880)" "5242880 5242881"
eq "sparse file: 4 KiB allocated" "$(stat -c '%s %b' "$MNT/sp")" "5242881 8"
check "truncate(2) by path (no open file)" python3 -c "import os; os.truncate('$MNT/sp', 100)"
eq "truncate by path: size, blocks" "$(stat -c '%s %b' "$MNT/sp")" "100 0"
check "ftruncate through an open file" truncate -s 3M "$MNT/sp"
eq "ftruncate grows with a hole" "$(stat -c '%s %b' "$MNT/sp")" "3145728 0"

# ------------------------------------------------------------------
# rename flags, open files that lose their name
# ------------------------------------------------------------------
echo A >"$MNT/ra"
echo B >"$MNT/rb"
if [ -n "$RENAMEAT2" ] && [ -x "$RENAMEAT2" ]; then
	expect_fail "RENAME_NOREPLACE onto an existing name: EEXIST" "errno EEXIST" "$RENAMEAT2" noreplace "$MNT/ra" "$MNT/rb"
	check "RENAME_NOREPLACE onto a new name" "$RENAMEAT2" noreplace "$MNT/ra" "$MNT/rc"
	check "RENAME_EXCHANGE" "$RENAMEAT2" exchange "$MNT/rc" "$MNT/rb"
	eq "RENAME_EXCHANGE swapped the contents" "$(cat "$MNT/rb")$(cat "$MNT/rc")" "AB"
	expect_fail "RENAME_EXCHANGE with a missing name: ENOENT" "errno ENOENT" "$RENAMEAT2" exchange "$MNT/rb" "$MNT/nothere"
	mkdir -p "$MNT/xd/sub"
	check "RENAME_EXCHANGE of a file and a directory" "$RENAMEAT2" exchange "$MNT/rb" "$MNT/xd"
	eq "exchanged file and directory" "$(stat -c %F "$MNT/rb")/$(cat "$MNT/xd")" "directory/A"
	expect_fail "RENAME_WHITEOUT is refused" "errno (EINVAL|EPERM|EOPNOTSUPP)" "$RENAMEAT2" whiteout "$MNT/rc" "$MNT/rd"
else
	skip_check "rename flags: no renameat2 helper given"
fi
expect_fail "rename of a directory into itself: EINVAL" "Errno 22" \
	python3 -c "import os; os.rename('$MNT/tarx', '$MNT/tarx/inside')"
# A file removed or renamed over while open; with hide_unlinked ($2 = 1)
# fstat works on it too.
open_unlinked() {
	python3 - "$1" "$2" <<'EOF'
import os, sys
m, hidden = sys.argv[1], sys.argv[2] == "1"
p = os.path.join(m, "doomed")
with open(p, "wb") as f:
    f.write(b"x" * 10000)
fd = os.open(p, os.O_RDWR)
os.unlink(p)
assert not os.path.exists(p)
assert os.pread(fd, 3, 0) == b"xxx"
if hidden:
    st = os.fstat(fd)
    assert st.st_size == 10000, st
os.pwrite(fd, b"hello", 20000)
assert os.pread(fd, 5, 20000) == b"hello"
os.ftruncate(fd, 5)
assert os.pread(fd, 100, 0) == b"xxxxx"
if hidden:
    assert os.fstat(fd).st_size == 5
os.fsync(fd)
os.close(fd)
# rename over a file that is open
a, b = os.path.join(m, "over-a"), os.path.join(m, "over-b")
open(a, "w").write("new")
open(b, "w").write("old")
fd = os.open(b, os.O_RDONLY)
os.rename(a, b)
assert os.pread(fd, 10, 0) == b"old"
assert open(b).read() == "new"
os.close(fd)
# the kernel sends RELEASE after close returns, and only then does the
# hidden name go (hide_unlinked): allow it time on a slow (sanitizer) run
import time
for _ in range(200):
    left = [n for n in os.listdir(m) if n.startswith(".fuse_hidden")]
    if not left:
        break
    time.sleep(0.05)
assert not left, left
EOF
}
check "open file survives unlink and rename-over (read, write, ftruncate, fsync)" open_unlinked "$MNT" 0

# ------------------------------------------------------------------
# Permissions, enforced by the kernel (default_permissions)
# ------------------------------------------------------------------
if have setpriv && id nobody >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
	NB="setpriv --reuid=65534 --regid=65534 --clear-groups"
	echo secret >"$MNT/secret"
	chmod 600 "$MNT/secret"
	expect_fail "nobody cannot read root's 0600 file" "Permission denied" $NB cat "$MNT/secret"
	echo public >"$MNT/public"
	chmod 644 "$MNT/public"
	check "nobody can read a 0644 file" $NB cat "$MNT/public"
	expect_fail "nobody cannot write a 0644 file of root's" "Permission denied" $NB bash -c "echo x >> '$MNT/public'"
	expect_fail "nobody cannot create files in root's 0755 directory" "Permission denied" $NB touch "$MNT/nb"
	expect_fail "nobody cannot chmod root's file" "Operation not permitted" $NB chmod 777 "$MNT/public"
	mkdir "$MNT/pub"
	chmod 0777 "$MNT/pub"
	check "nobody creates a file in a 0777 directory" $NB bash -c "echo mine > '$MNT/pub/nbfile'"
	eq "... owned by nobody, mode 0644 (umask 022)" "$(stat -c '%u:%g %a' "$MNT/pub/nbfile")" "65534:65534 644"
	check "nobody makes a directory and a symlink there" $NB bash -c "mkdir '$MNT/pub/nbdir' && ln -s nbfile '$MNT/pub/nblink'"
	eq "... owned by nobody too" "$(stat -c '%u:%g' "$MNT/pub/nbdir" "$MNT/pub/nblink" | tr '\n' ' ')" "65534:65534 65534:65534 "
	check "nobody chmods its own file" $NB chmod 600 "$MNT/pub/nbfile"
	check "root can still read it" cat "$MNT/pub/nbfile"
	mkdir "$MNT/tmpdir"
	chmod 1777 "$MNT/tmpdir"
	echo r >"$MNT/tmpdir/rootfile"
	expect_fail "sticky directory: nobody cannot remove root's file" "not permitted|Permission denied" $NB rm -f "$MNT/tmpdir/rootfile"
	check "chown by root" chown 65534:65534 "$MNT/public"
	eq "chown took effect" "$(stat -c '%u:%g' "$MNT/public")" "65534:65534"
	mkdir "$MNT/sgid"
	chgrp 100 "$MNT/sgid"
	chmod 2775 "$MNT/sgid"
	touch "$MNT/sgid/f"
	mkdir "$MNT/sgid/d"
	eq "set-group-ID directory hands down its group (and the bit to subdirectories)" \
		"$(stat -c '%g' "$MNT/sgid/f") $(stat -c '%g %a' "$MNT/sgid/d")" "100 100 2755"
	echo x >"$MNT/pub/suid"
	chmod 6777 "$MNT/pub/suid"
	$NB bash -c "echo y >> '$MNT/pub/suid'"
	eq "a write by another user clears set-user-ID/set-group-ID" "$(stat -c '%a' "$MNT/pub/suid")" "777"
else
	skip_check "permission checks need root, setpriv and user nobody"
fi

# ------------------------------------------------------------------
# Links, attributes, odd requests
# ------------------------------------------------------------------
echo target-data >"$MNT/lt"
check "ln -s" ln -s lt "$MNT/sl"
eq "readlink" "$(readlink "$MNT/sl")" "lt"
eq "reading through the symlink" "$(cat "$MNT/sl")" "target-data"
eq "stat of a symlink (lstat): type and size" "$(stat -c '%F %s' "$MNT/sl")" "symbolic link 2"
long=$(printf 'x%.0s' $(seq 4096))
expect_fail "a 4096-byte symlink target is too long" "too long" ln -s "$long" "$MNT/longlink"
check "a 4095-byte symlink target (in a block) is fine" ln -s "${long:1}" "$MNT/longlink"
eq "... and reads back" "$(readlink "$MNT/longlink")" "${long:1}"
check "a 147-byte target (inline) is fine" ln -s "${long:0:147}" "$MNT/inlinelink"
eq "... and reads back" "$(readlink "$MNT/inlinelink")" "${long:0:147}"
check "a file dated 1960 (tar, rsync restore such times)" touch -d 1960-01-01T00:00:00Z "$MNT/lt"
eq "... keeps its date" "$(TZ=UTC stat -c %y "$MNT/lt")" "1960-01-01 00:00:00.000000000 +0000"
ln -s tarx "$MNT/dirlink"
check "a symlink to a directory used in a path" test -f "$MNT/dirlink/gen/random.bin"
check "ln (hard link)" ln "$MNT/lt" "$MNT/hl"
eq "hard link: link count 2 on both names, same inode" \
	"$(stat -c '%h %i' "$MNT/lt") $(stat -c '%h %i' "$MNT/hl")" \
	"2 $(stat -c %i "$MNT/lt") 2 $(stat -c %i "$MNT/lt")"
echo more >>"$MNT/hl"
eq "write through one name, size seen through the other" "$(stat -c %s "$MNT/lt")" 17
expect_fail "hard link to a directory is refused" "not allowed|not permitted|Operation not permitted" ln "$MNT/tarx" "$MNT/dirhl"
check "touch -d sets ns times" touch -d '1999-12-31 23:59:58.987654321' "$MNT/lt"
eq "... mtime" "$(stat -c %y "$MNT/lt" | cut -c1-29)" "1999-12-31 23:59:58.987654321"
check "chmod" chmod 640 "$MNT/lt"
eq "... mode" "$(stat -c %a "$MNT/lt")" 640
check "xattrs: none listed, none to get, setting one fails with EOPNOTSUPP" python3 - "$MNT/lt" <<'EOF'
import errno, os, sys
p = sys.argv[1]
assert os.listxattr(p) == [], os.listxattr(p)
try:
    os.getxattr(p, "user.x"); raise SystemExit("getxattr worked")
except OSError as e:
    assert e.errno == errno.ENODATA, e
try:
    os.setxattr(p, "user.x", b"1"); raise SystemExit("setxattr worked")
except OSError as e:
    assert e.errno == errno.EOPNOTSUPP, e
EOF
expect_fail "mkfifo is refused" "not permitted|Operation not permitted" mkfifo "$MNT/fifo"
check "mmap through the page cache: store, msync, read back with read(2)" python3 - "$MNT/mm" <<'EOF'
import mmap, os, sys
p = sys.argv[1]
with open(p, "wb") as f:
    f.truncate(1 << 20)
fd = os.open(p, os.O_RDWR)
m = mmap.mmap(fd, 1 << 20)
m[4096:4101] = b"hello"
m[-5:] = b"tail!"
m.flush()
m.close()
os.close(fd)
d = open(p, "rb").read()
assert d[4096:4101] == b"hello" and d[-5:] == b"tail!" and d[:4096] == bytes(4096)
EOF
check "ls -la of the root lists . and .." bash -c "ls -la '$MNT' | grep -Eq ' \\.\\.?\$'"
eq "inode number of . in readdir matches stat" \
	"$(ls -ai "$MNT/cp" | awk '$2 == "." {print $1}')" "$(stat -c %i "$MNT/cp")"
check "a directory with 2000 entries, listed" bash -c "mkdir '$MNT/many' && cd '$MNT/many' && for i in \$(seq 2000); do : > f\$i; done && [ \$(ls | wc -l) = 2000 ] && [ \$(find . -type f | wc -l) = 2000 ]"
check "4 writers at once (multi-threaded daemon)" bash -c "
	for i in 1 2 3 4; do head -c 8388608 '$SRC/gen/random.bin' > '$MNT/par\$i' & done; wait
	for i in 1 2 3 4; do cmp '$SRC/gen/random.bin' '$MNT/par\$i' || exit 1; done"
check "rm -rf of a tree" rm -rf "$MNT/cpr"

# Remember what must survive the remount.
( cd "$MNT" && find cp tarx rs -type f -print0 2>/dev/null | LC_ALL=C sort -z | xargs -0 md5sum ) >"$T/sums"
listing "$MNT/cp" >"$T/cp.list.before"
INO_BEFORE=$(stat -c %i "$MNT/cp/gen/random.bin")
FREE_BEFORE=$(stat -f -c %f "$MNT")

# ------------------------------------------------------------------
# Unmount, check, remount
# ------------------------------------------------------------------
check "udax umount" "$UDAX" umount "$MNT"
wait "$DPID"
rc=$?
DPID=
eq "the foreground daemon exited 0" "$rc" 0
if grep -Eq "Sanitizer|runtime error|udax mount:" "$T/daemon1.log"; then
	bad "daemon log is clean"
	head -n 40 "$T/daemon1.log" | sed 's/^/     | /'
else
	ok "daemon log is clean"
fi
check "not mounted any more" bash -c "! grep -q ' $MNT ' /proc/self/mountinfo"
check "udax fsck: clean" "$UDAX" fsck "$POOL"
check "udax info: marked clean" bash -c "'$UDAX' info '$POOL' | grep -Eq '^clean: +yes'"
eq "udax stat gives the inode number FUSE showed" \
	"$("$UDAX" stat "$POOL" /cp/gen/random.bin | sed -n 's/.*Inode: \([0-9]*\).*/\1/p')" "$INO_BEFORE"
eq "udax df agrees with statfs (Available, KiB)" \
	"$("$UDAX" df "$POOL" | awk 'NR == 2 { print $4 }')" "$((FREE_BEFORE * 4))"

check "udax mount -o hide_unlinked (daemonised) returns once mounted" "$UDAX" mount -o hide_unlinked "$POOL" "$MNT"
check "mounted" is_mounted "$MNT"
check "data survived: checksums" bash -c "cd '$MNT' && md5sum --quiet -c '$T/sums'"
listing "$MNT/cp" >"$T/cp.list.after"
check "data survived: modes, owners, times, links" diff "$T/cp.list.before" "$T/cp.list.after"
check "diff -r against the source again" diff -r --no-dereference "$SRC" "$MNT/cp"
if have git; then
	check "git fsck after remount" gitc fsck --full
fi
check "hide_unlinked: fstat of an open, unlinked file works too; nothing left behind" open_unlinked "$MNT" 1
if have sqlite3; then
	eq "sqlite3 integrity_check after remount" "$(sqlite3 -batch "$MNT/db2.sqlite" 'PRAGMA integrity_check;')" ok
fi
check "udax umount (daemonised mount)" "$UDAX" umount "$MNT"
check "udax fsck: clean again" "$UDAX" fsck "$POOL"

check "udax mount -o ro" "$UDAX" mount -o ro "$POOL" "$MNT"
check "read-only mount: reading works" cmp "$SRC/gen/random.bin" "$MNT/cp/gen/random.bin"
expect_fail "read-only mount: writing fails with EROFS" "Read-only file system" touch "$MNT/new"
check "read-only mount is ro in the mount table" grep -Eq " $MNT ro," /proc/self/mountinfo
check "udax umount (read-only)" "$UDAX" umount "$MNT"
check "udax fsck: clean at the end" "$UDAX" fsck "$POOL"

finish
