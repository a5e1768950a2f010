#!/usr/bin/env bash
# test_sqlite.sh - the sqlite3 shell on udax through the LD_PRELOAD
# interposer.
#
# One scripted workload (two tables, two indexes, 20000 INSERTs in 20
# transactions, rows with overflow pages, UPDATE, DELETE, a rolled-back
# transaction, a dropped table, VACUUM, then a join with aggregates and
# PRAGMA integrity_check) runs in three variants:
#   rollback  journal_mode=DELETE, mmap_size=0 (pread/pwrite only)
#   mmap      journal_mode=DELETE, mmap_size=268435456 (reads through a
#             read-only shared mapping of the database file)
#   wal       journal_mode=WAL (the -shm index is a writable shared
#             mapping; the -wal file is written with pwrite)
#   walmmap   WAL and mmap_size=268435456 together
# For each: sqlite3 exits 0, integrity_check prints exactly "ok", the
# whole output equals the same script's output on tmpfs without the
# interposer; a new sqlite3 process reopens the database and its
# queries match the tmpfs database's; udax fsck is clean.
#
# Usage: test_sqlite.sh [--build DIR | --udax P --preload P] [--keep]
#        [VARIANT...]     (default: rollback mmap wal walmmap)
# Prints PASS/FAIL lines and "N passed, N failed"; exit 0, 1, or 77
# when sqlite3 is missing.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh" sqlite "$@"

need_tool sqlite3
need_tool awk
variants=("${ARGS[@]}")
[ ${#variants[@]} -gt 0 ] || variants=(rollback mmap wal walmmap)

pool=$work/sqlite.pool
mkpool "$pool" 512M

# The body of the workload, the same for every variant.
awk 'BEGIN {
	print "CREATE TABLE branch(id INTEGER PRIMARY KEY, city TEXT NOT NULL);"
	print "CREATE TABLE acct(id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
	print "  branch INTEGER NOT NULL REFERENCES branch(id), balance INTEGER NOT NULL, note TEXT);"
	print "CREATE INDEX acct_branch ON acct(branch);"
	print "CREATE INDEX acct_name ON acct(name);"
	for (b = 1; b <= 40; b++)
		printf "INSERT INTO branch VALUES(%d, %ccity%02d%c);\n", b, 39, (b * 7) % 40, 39
	letters = "abcdefghijklmnopqrstuvwxyz"
	for (id = 1; id <= 20000; id++) {
		if (id % 1000 == 1) print "BEGIN;"
		nlen = (id * 37) % 600
		if (id % 97 == 0) nlen = 5000 + id % 3000   # overflow pages
		c = substr(letters, id % 26 + 1, 1)
		note = ""
		while (length(note) < nlen) note = note c id "-"
		note = substr(note, 1, nlen)
		printf "INSERT INTO acct VALUES(%d, %cn%05d%s%c, %d, %d, %c%s%c);\n", id, 39,
			(id * 7919) % 20011, substr(letters, id % 23 + 1, 3), 39,
			id % 40 + 1, (id * 104729) % 100003, 39, note, 39
		if (id % 1000 == 0) print "COMMIT;"
	}
	print "UPDATE acct SET balance = balance * 3 + 7 WHERE id % 7 = 0;"
	print "DELETE FROM acct WHERE id % 11 = 0;"
	printf "BEGIN; DELETE FROM acct WHERE id %% 2 = 0; UPDATE branch SET city = %cgone%c; ROLLBACK;\n", 39, 39
	print "UPDATE acct SET note = NULL WHERE id % 5 = 0;"
	print "CREATE TABLE scratch AS SELECT id, note FROM acct WHERE id % 3 = 0;"
	print "SELECT count(*), total(length(note)) FROM scratch;"
	print "DROP TABLE scratch;"
	print "VACUUM;"
}' >"$work/body.sql"

cat >"$work/queries.sql" <<'EOF'
SELECT b.city, count(*), sum(a.balance), min(a.name), max(length(a.note))
  FROM acct a JOIN branch b ON b.id = a.branch GROUP BY b.city ORDER BY b.city;
SELECT count(*), sum(balance), total(length(note)), count(note) FROM acct;
SELECT id, name, balance FROM acct WHERE name BETWEEN 'n01000' AND 'n01100' ORDER BY name;
SELECT count(*) FROM acct INDEXED BY acct_branch WHERE branch = 17;
PRAGMA integrity_check;
EOF

# header VARIANT: the pragmas that select the variant (each prints a line)
header() {
	case $1 in
	rollback) printf 'PRAGMA journal_mode=DELETE;\nPRAGMA mmap_size=0;\n' ;;
	mmap) printf 'PRAGMA journal_mode=DELETE;\nPRAGMA mmap_size=268435456;\n' ;;
	wal) printf 'PRAGMA journal_mode=WAL;\nPRAGMA mmap_size=0;\n' ;;
	walmmap) printf 'PRAGMA journal_mode=WAL;\nPRAGMA mmap_size=268435456;\n' ;;
	*) say "unknown variant $1"; exit 2 ;;
	esac
}

for v in "${variants[@]}"; do
	{ header "$v"; cat "$work/body.sql" "$work/queries.sql"; } >"$work/$v.sql"
	{ header "$v"; echo 'PRAGMA journal_mode;'; cat "$work/queries.sql"; } >"$work/$v.reopen.sql"

	# reference: tmpfs, no interposer
	mkdir -p "$work/ref-$v"
	if ! sqlite3 -bail "$work/ref-$v/t.db" <"$work/$v.sql" >"$work/ref-$v.out" 2>&1; then
		fail "$v: the tmpfs reference run failed"
		tail -5 "$work/ref-$v.out"
		continue
	fi
	sqlite3 -bail "$work/ref-$v/t.db" <"$work/$v.reopen.sql" >"$work/ref-$v.reopen.out" 2>&1

	"$UDAX_CLI" mkdir "$pool" "/sq-$v" >/dev/null 2>&1
	db=$PREFIX/sq-$v/t.db
	start=$(date +%s.%N)
	under_udax "$pool" sqlite3 -bail "$db" <"$work/$v.sql" >"$work/$v.out" 2>&1
	st=$?
	secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b - a}')
	if [ $st -ne 0 ]; then
		fail "$v: sqlite3 on $db exited $st"
		tail -n 15 "$work/$v.out" | cut -c1-200 | sed 's/^/    | /'
	else
		pass "$v: sqlite3 ran the workload on $db (${secs}s)"
	fi
	last=$(tail -n 1 "$work/$v.out")
	if [ "$last" = ok ]; then
		pass "$v: PRAGMA integrity_check printed ok"
	else
		fail "$v: PRAGMA integrity_check printed '$(echo "$last" | cut -c1-200)'"
	fi
	if cmp -s "$work/$v.out" "$work/ref-$v.out"; then
		pass "$v: output identical to tmpfs ($(wc -l <"$work/$v.out") lines)"
	else
		fail "$v: output differs from the same script on tmpfs"
		diff "$work/$v.out" "$work/ref-$v.out" | head -12 | cut -c1-160 | sed 's/^/    | /'
	fi

	# a new process reopens the database
	under_udax "$pool" sqlite3 -bail "$db" <"$work/$v.reopen.sql" >"$work/$v.reopen.out" 2>&1
	st=$?
	if [ $st -eq 0 ] && cmp -s "$work/$v.reopen.out" "$work/ref-$v.reopen.out"; then
		pass "$v: reopened in a new process: same data as tmpfs, integrity ok"
	else
		fail "$v: reopen (exit $st) differs from tmpfs"
		diff "$work/$v.reopen.out" "$work/ref-$v.reopen.out" | head -12 | cut -c1-160 | sed 's/^/    | /'
	fi
	fsck_clean "fsck_after_$v" "$pool"
done

finish
