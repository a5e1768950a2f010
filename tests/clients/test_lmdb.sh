#!/usr/bin/env bash
# test_lmdb.sh - LMDB on udax through the LD_PRELOAD interposer.
#
#   1. lmdb_test write: 40 transactions (inserts, overwrites, deletes) on
#      /udax/db while 3 reader threads check every snapshot they see
#      through LMDB's read-only mapping; the same with MDB_WRITEMAP
#      (stores into a writable mapping, msync) on /udax/dbwm.
#   2. lmdb_test verify, each in a new process.
#   3. The unmodified LMDB tools under the interposer: mdb_stat -a -e
#      (entry counts), mdb_dump -a (record count, and byte-identical to
#      the dump of a reference database written by the same program on
#      tmpfs), mdb_copy -c and mdb_load into the pool, each verified,
#      and an MDB_NOSUBDIR environment (mdb_load -n, mdb_dump -n).
#   4. Crashes (UDAX_OPTIONS=shadow): after a committed transaction,
#      inside an open one, and at fences spread over the next commit;
#      every image must pass fsck and hold exactly the committed state
#      (or, during the commit, exactly the old or the new one).
#   5. udax fsck of both pools.
#
# Usage: test_lmdb.sh [--build DIR | --udax P --preload P --lmdb-test P] [--keep]
# Environment: LMDB_CRASH_SAMPLES (images inside the commit, default 6),
# LMDB_CRASH_SUBSETS (images with random subsets of the pending cache
# lines at each of the commit's last two fences, default 0).
# Prints PASS/FAIL lines and "N passed, N failed"; exit 0, 1, or 77
# when LMDB's tools or lmdb_test are missing.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh" lmdb "$@"

need_tool mdb_stat
need_tool mdb_dump
need_tool mdb_copy
need_tool mdb_load
[ -n "${LMDB_TEST:-}" ] || skip "lmdb_test not built (liblmdb-dev missing?)"
need_file lmdb_test "$LMDB_TEST"

SAMPLES=${LMDB_CRASH_SAMPLES:-6}  # images at fences inside the commit
SUBSETS=${LMDB_CRASH_SUBSETS:-0}  # subset images at each of its last 2 fences
pool=$work/main.pool
mkpool "$pool" 512M
want=$("$LMDB_TEST" model 40)

# -- 1, 2: write and verify ------------------------------------------------
check write under_udax "$pool" "$LMDB_TEST" write $PREFIX/db && grep '^PASS' "$work/write.log"
check write_writemap under_udax "$pool" "$LMDB_TEST" write $PREFIX/dbwm --writemap &&
	grep '^PASS' "$work/write_writemap.log"
check verify under_udax "$pool" "$LMDB_TEST" verify $PREFIX/db --expect 40
check verify_writemap under_udax "$pool" "$LMDB_TEST" verify $PREFIX/dbwm --expect 40

# the reference: same program, no interposer, tmpfs
mkdir -p "$work/ref"
check reference "$LMDB_TEST" write "$work/ref/db"
mdb_dump -a "$work/ref/db" >"$work/ref.dump" 2>"$work/ref.dump.err"

# -- 3: the LMDB tools --------------------------------------------------------
# entries_of FILE DBNAME: the "Entries:" line of that database in mdb_stat -a
entries_of() {
	awk -v db="$2" '/^Status of /{cur=substr($0, 11)} cur==db && /Entries:/{print $2}' "$1"
}
# records_in DUMP: records in an mdb_dump (bytevalue) file, all databases
records_in() {
	awk '/^HEADER=END/{in_=1; next} /^DATA=END/{in_=0} in_ && /^ /{n++} END{print n/2}' "$1"
}

for db in db dbwm; do
	if under_udax "$pool" mdb_stat -a -e $PREFIX/$db >"$work/stat_$db.out" 2>"$work/stat_$db.err"; then
		d=$(entries_of "$work/stat_$db.out" data)
		m=$(entries_of "$work/stat_$db.out" meta)
		if [ "$d" = "$want" ] && [ "$m" = 1 ] && grep -q 'Map size: 268435456' "$work/stat_$db.out"; then
			pass "mdb_stat -a -e /udax/$db: data $d entries, meta $m"
		else
			fail "mdb_stat -a -e /udax/$db: data '$d' entries (want $want), meta '$m' (want 1)"
			sed 's/^/    | /' "$work/stat_$db.out" "$work/stat_$db.err" | head -40
		fi
	else
		fail "mdb_stat -a -e /udax/$db exited $?"
		sed 's/^/    | /' "$work/stat_$db.err" | tail -20
	fi

	if under_udax "$pool" mdb_dump -a $PREFIX/$db >"$work/dump_$db.out" 2>"$work/dump_$db.err"; then
		n=$(records_in "$work/dump_$db.out")
		if [ "$n" != $((want + 1)) ]; then
			fail "mdb_dump -a /udax/$db: $n records, want $((want + 1))"
		elif ! cmp -s "$work/dump_$db.out" "$work/ref.dump"; then
			fail "mdb_dump -a /udax/$db differs from the tmpfs reference"
			diff "$work/dump_$db.out" "$work/ref.dump" | head -10 | cut -c1-120 | sed 's/^/    | /'
		else
			pass "mdb_dump -a /udax/$db: $n records, identical to the tmpfs reference"
		fi
	else
		fail "mdb_dump -a /udax/$db exited $?"
		sed 's/^/    | /' "$work/dump_$db.err" | tail -20
	fi
done

# mdb_copy -c (compacting copy: a writer thread and write(2) to a new file)
"$UDAX_CLI" mkdir "$pool" /dbcopy >/dev/null 2>&1
check mdb_copy under_udax "$pool" mdb_copy -c $PREFIX/db $PREFIX/dbcopy &&
	check verify_copy under_udax "$pool" "$LMDB_TEST" verify $PREFIX/dbcopy --expect 40
# mdb_load of the reference dump into a new environment, dumped back
"$UDAX_CLI" mkdir "$pool" /dbload >/dev/null 2>&1
if check mdb_load under_udax "$pool" mdb_load -f "$work/ref.dump" $PREFIX/dbload; then
	check verify_load under_udax "$pool" "$LMDB_TEST" verify $PREFIX/dbload --expect 40
	if under_udax "$pool" mdb_dump -a $PREFIX/dbload >"$work/dump_load.out" 2>&1 &&
		cmp -s "$work/dump_load.out" "$work/ref.dump"; then
		pass "mdb_dump of the mdb_load'ed environment equals the reference"
	else
		fail "mdb_dump of the mdb_load'ed environment differs from the reference"
	fi
fi
# MDB_NOSUBDIR: the environment is a file plus FILE-lock beside it
if check mdb_load_nosubdir under_udax "$pool" mdb_load -n -f "$work/ref.dump" $PREFIX/nosub.mdb; then
	if under_udax "$pool" mdb_dump -n -a $PREFIX/nosub.mdb >"$work/dump_nosub.out" 2>&1 &&
		cmp -s "$work/dump_nosub.out" "$work/ref.dump"; then
		pass "mdb_dump -n of an MDB_NOSUBDIR environment equals the reference"
	else
		fail "mdb_dump -n of the MDB_NOSUBDIR environment differs from the reference"
	fi
fi
fsck_clean fsck_main "$pool"

# -- 4: crashes ---------------------------------------------------------------
cpool=$work/crash.pool
mkpool "$cpool" 256M
# (the readers were exercised above; here they would only cost time)
LMDB_TEST_READERS=0 check crash_setup_write under_udax "$cpool" "$LMDB_TEST" write $PREFIX/db
LMDB_TEST_READERS=0 check crash_setup_write_writemap under_udax "$cpool" "$LMDB_TEST" write $PREFIX/dbwm --writemap

# check_image NAME IMAGE EXPECT: fsck clean, then lmdb_test verify on it.
check_image() {
	local name=$1 img=$2 exp=$3
	if ! "$UDAX_CLI" fsck "$img" >"$work/$name.fsck" 2>&1; then
		fail "$name: udax fsck of the crash image"
		sed 's/^/    | /' "$work/$name.fsck" | head -20
	elif check "$name" under_udax "$img" "$LMDB_TEST" verify $PREFIX/$db --expect "$exp"; then
		say "    $(grep '^PASS' "$work/$name.log")"
	fi
	rm -f "$img"
}

for db in db dbwm; do
	flag=""
	[ $db = dbwm ] && flag=--writemap
	# Count the fences of the commit on a copy of the pool (the run is
	# deterministic), then sample images at fences spread over it.
	cp "$cpool" "$work/count.pool"
	OPTS=shadow under_udax "$work/count.pool" "$LMDB_TEST" crash $PREFIX/$db "$work/count-img" $flag \
		>"$work/count_$db.log" 2>&1
	fences=$(awk '/^FENCES/{print $2}' "$work/count_$db.log")
	rm -f "$work/count.pool" "$work"/count-img*
	if [ -z "$fences" ]; then
		fail "crash $db: the counting run failed"
		tail -n 20 "$work/count_$db.log" | sed 's/^/    | /'
		continue
	fi
	img=$work/img-$db
	if OPTS=shadow check "crash_$db" under_udax "$cpool" "$LMDB_TEST" crash $PREFIX/$db "$img" $flag \
		--fences "$fences" --samples "$SAMPLES" --subsets "$SUBSETS"; then
		grep 'commit of' "$work/crash_$db.log"
		check_image "image_${db}_committed" "$img" 41
		check_image "image_${db}_open_txn" "$img-open" 41
		for f in "$img"-f* "$img"-s*; do
			[ -e "$f" ] || continue
			check_image "image_${db}_${f##*-}" "$f" 41,42
		done
		check_image "image_${db}_done" "$img-done" 42
	fi
	rm -f "$img"*
done
fsck_clean fsck_crash_pool "$cpool"

finish
