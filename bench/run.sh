#!/usr/bin/env bash
# bench/run.sh - run the udax benchmark suite and assemble its report.
#
#   bench/run.sh [--quick] [--out DIR] [--bin PATH] [udax-bench options...]
#
# Builds nothing: runs an already built udax-bench (--bin, or $UDAX_BENCH,
# default build/bench/udax-bench), one process per benchmark, and writes
# under DIR (default results/):
#   <bench>.csv     one measurement per row
#   <bench>.md      that benchmark's table
#   results.md      every table, with the command, date and machine load
#   *.png           plots, when gnuplot is installed (Debian: gnuplot-nox)
# Other options (--reps N, --shm DIR, --disk DIR) go to udax-bench.
# --quick finishes in well under two minutes.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bin=${UDAX_BENCH:-build/bench/udax-bench}
out=results
quick=
pass=()
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=--quick ;;
	--out) out=$2; shift ;;
	--bin) bin=$2; shift ;;
	--reps | --shm | --disk) pass+=("$1" "$2"); shift ;;
	-h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done
if [ ! -x "$bin" ]; then
	echo "run.sh: $bin is not built; build first, e.g. cmake --build build --target udax-bench" >&2
	exit 2
fi

mkdir -p "$out"
benches="info bw lat mmap fault fsync lock meta"
start=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for b in $benches; do
	echo "== $b" >&2
	"$bin" $quick ${pass[@]+"${pass[@]}"} --out "$out" "$b" >/dev/null
done
secs=$(( $(date +%s) - start ))

{
	echo "# udax benchmark results"
	echo
	echo "Command: \`bench/run.sh${quick:+ $quick}${pass[*]:+ ${pass[*]}}\` ($(date -u '+%Y-%m-%d %H:%M UTC'), ${secs} s)."
	echo "Load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo
	echo '```'
	df -T /dev/shm /var/tmp /tmp 2>/dev/null || true
	echo '```'
	for b in $benches; do
		cat "$out/$b.md"
	done
} >"$out/results.md"

if command -v gnuplot >/dev/null 2>&1; then
	gnuplot -e "dir='$out'" "$here/plot.gp" && echo "plots: $out/*.png" >&2
else
	echo "gnuplot not found: no plots (Debian: apt-get install gnuplot-nox)" >&2
fi
echo "report: $out/results.md (${secs} s)" >&2
