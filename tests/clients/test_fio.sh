#!/usr/bin/env bash
# test_fio.sh - fio on udax through the LD_PRELOAD interposer.
#
# check (default): four jobs on /udax/fio.dat, each with --thread (job
# processes forked by fio could not share the parent's mount),
# --verify=crc32c --do_verify=1: every block written is read back and
# checked.
#   psync-randwrite  pwrite(2) of 4 KiB blocks in random order
#   psync-write      sequential 1 MiB pwrite(2)s
#   mmap-randwrite   4 KiB stores into a shared writable mapping
#   mmap-write       sequential 1 MiB copies into the mapping
# Each must exit 0, report error 0, write and read back the whole file,
# and print no verify complaint.  The same jobs run on a tmpfs file; both
# bandwidths are printed side by side (no timing assertion).  udax fsck
# must be clean at the end.
#
# bench: longer jobs for docs/clients.md (no verification): 4 KiB random
# and 1 MiB sequential writes and reads, psync and mmap, on a 1 GiB file,
# FIO_BENCH_RUNTIME seconds each (default 30) after FIO_BENCH_RAMP
# seconds of ramp (default 10: a new process first takes a kernel page
# fault on every pool page it touches, see docs/clients.md), plus one
# cold pass (write and read of the whole file by a new process); udax vs
# tmpfs; prints a Markdown table.  About 12 minutes with the defaults.
#
# Usage: test_fio.sh [--build DIR | --udax P --preload P] [--keep] [check|bench]
# Prints PASS/FAIL lines and "N passed, N failed"; exit 0, 1, or 77 when
# fio is missing.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh" fio "$@"

need_tool fio
need_tool awk
mode=${ARGS[0]:-check}

# run_fio NAME TARGET ENGINE RW BS SIZE [extra fio options...]
# Runs one job (under the interposer when TARGET is under $PREFIX),
# terse output to $work/NAME.terse, messages to $work/NAME.err.
# Returns fio's exit status.
run_fio() {
	local name=$1 target=$2 engine=$3 rw=$4 bs=$5 size=$6
	shift 6
	local cmd=(fio --thread --name="$name" --filename="$target" --ioengine="$engine"
		--rw="$rw" --bs="$bs" --size="$size" --output-format=terse --terse-version=3
		--verify_state_save=0 "$@")
	# (in $work: fio may leave files in its working directory)
	case $target in
	"$PREFIX"/*) (cd "$work" && under_udax "$pool" "${cmd[@]}") >"$work/$name.terse" 2>"$work/$name.err" ;;
	*) (cd "$work" && timeout -k 5 "$T_LIMIT" "${cmd[@]}") >"$work/$name.terse" 2>"$work/$name.err" ;;
	esac
}

# field NAME N: field N of the job's terse line (3: name, 5: error,
# 6/7: read KiB/bandwidth KiB/s, 47/48: write KiB/bandwidth KiB/s)
field() {
	awk -F';' -v n="$2" '$1 == "3" {print $n; exit}' "$work/$1.terse"
}
mibs() { awk -v k="${1:-0}" 'BEGIN{printf "%.0f", k / 1024}'; }

if [ "$mode" = bench ]; then
	rt=${FIO_BENCH_RUNTIME:-30}
	ramp=${FIO_BENCH_RAMP:-10}
	T_LIMIT=$((rt + ramp + 300))
	pool=$work/bench.pool
	mkpool "$pool" 2G
	say "fio $(fio --version), ${rt} s per job after ${ramp} s of ramp, 1 GiB file, --thread, one job"
	say ""
	say "| job | engine | udax MiB/s | tmpfs MiB/s | udax / tmpfs |"
	say "| --- | --- | ---: | ---: | ---: |"
	# engine:rw:bs:how - how is "steady" (time based, after the ramp) or
	# "cold" (one pass over the existing file in a new process)
	for spec in psync:randwrite:4k:steady psync:write:1M:steady psync:randread:4k:steady \
		psync:read:1M:steady psync:write:1M:cold psync:read:1M:cold \
		mmap:randwrite:4k:steady mmap:write:1M:steady mmap:randread:4k:steady mmap:read:1M:steady; do
		IFS=: read -r engine rw bs how <<<"$spec"
		for where in udax tmpfs; do
			if [ $where = udax ]; then t=$PREFIX/bench.dat; else t=$work/bench.dat; fi
			if [ "$how" = steady ]; then
				extra=(--time_based --runtime="$rt" --ramp_time="$ramp")
			else
				extra=()
			fi
			run_fio "b-$where" "$t" "$engine" "$rw" "$bs" 1G "${extra[@]}" ||
				{ fail "bench $engine $rw $bs $how on $where: fio exited $?"; sed 's/^/    | /' "$work/b-$where.err" | tail -5; }
		done
		case $rw in *write) col=48 ;; *) col=7 ;; esac
		u=$(field b-udax $col)
		k=$(field b-tmpfs $col)
		ratio=$(awk -v a="${u:-0}" -v b="${k:-0}" 'BEGIN{if (b > 0) printf "%.2f", a / b; else print "-"}')
		label="$rw $bs"
		[ "$how" = cold ] && label="$label, first pass in a new process"
		say "| $label | $engine | $(mibs "$u") | $(mibs "$k") | $ratio |"
	done
	say ""
	fsck_clean fsck_bench "$pool"
	finish
fi

[ "$mode" = check ] || { say "unknown mode $mode (check or bench)"; exit 2; }
pool=$work/fio.pool
mkpool "$pool" 512M
SIZE=${FIO_SIZE:-128M}
size_kb=$(( $(numfmt --from=iec "$SIZE") / 1024 ))
verify=(--verify=crc32c --do_verify=1 --verify_fatal=1)
table=()

for engine in psync mmap; do
	for job in randwrite:4k write:1M; do
		rw=${job%%:*} bs=${job##*:}
		name=$engine-$rw
		"$UDAX_CLI" rm "$pool" /fio.dat >/dev/null 2>&1
		rm -f "$work/fio.dat"
		run_fio "$name" "$PREFIX/fio.dat" "$engine" "$rw" "$bs" "$SIZE" "${verify[@]}"
		st=$?
		err=$(field "$name" 5)
		wkb=$(field "$name" 47)
		rkb=$(field "$name" 6)
		complaints=$(grep -ci 'verify\|bad magic\|crc' "$work/$name.err")
		if [ $st -eq 0 ] && [ "$err" = 0 ] && [ "$wkb" = "$size_kb" ] && [ "$rkb" = "$size_kb" ] &&
			[ "$complaints" = 0 ]; then
			pass "fio $name on udax: $SIZE written and verified (crc32c)"
		else
			fail "fio $name on udax: exit $st, error '$err', wrote '$wkb' KiB, verified '$rkb' KiB (want $size_kb), $complaints verify messages"
			sed 's/^/    | /' "$work/$name.err" | head -20
		fi
		run_fio "$name-tmpfs" "$work/fio.dat" "$engine" "$rw" "$bs" "$SIZE" "${verify[@]}" ||
			say "note: the tmpfs run of $name failed too (exit $?)"
		table+=("$(printf '%-16s %10s %10s %10s %10s' "$name" \
			"$(mibs "$(field "$name" 48)")" "$(mibs "$(field "$name-tmpfs" 48)")" \
			"$(mibs "$(field "$name" 7)")" "$(mibs "$(field "$name-tmpfs" 7)")")")
	done
done

say ""
say "bandwidth in MiB/s (write phase, then the verify read-back); no assertion:"
printf '%-16s %10s %10s %10s %10s\n' job "udax-wr" "tmpfs-wr" "udax-vrfy" "tmpfs-vrfy"
printf '%s\n' "${table[@]}"
say ""
fsck_clean fsck_fio "$pool"
finish
