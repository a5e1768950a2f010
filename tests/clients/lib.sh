# lib.sh - shared by the client tests (test_lmdb.sh, test_sqlite.sh,
# test_fio.sh).  Source it as:   . "$here/lib.sh" NAME "$@"
#
# Finds the programs from the options (or the environment variables
# named after them, or a build directory):
#   --udax PATH       the udax CLI                  (UDAX_CLI)
#   --preload PATH    libudax-preload.so            (UDAX_PRELOAD_LIB)
#   --lmdb-test PATH  tests/clients/lmdb_test       (LMDB_TEST)
#   --build DIR       take all three from a build directory (default:
#                     ./build, then the repository's build/)
#   --keep            keep the work directory (pools, logs) afterwards
# Anything else is left in the array ARGS for the script.
#
# Provides: a work directory $work in /dev/shm (removed by a trap, with
# every pool in it), pass/fail counters, and `under_udax POOL CMD...`,
# which runs CMD with the interposer on POOL under the prefix /udax.
# Exit statuses: 0 all passed, 1 a check failed, 77 something needed is
# missing (CTest's SKIP_RETURN_CODE).

t_name=$1
shift
t_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
t_repo=$(cd "$t_here/../.." && pwd)
t_build=""
t_keep=${KEEP:-0}
ARGS=()
while [ $# -gt 0 ]; do
	case $1 in
	--udax) UDAX_CLI=$2; shift 2 ;;
	--preload) UDAX_PRELOAD_LIB=$2; shift 2 ;;
	--lmdb-test) LMDB_TEST=$2; shift 2 ;;
	--build) t_build=$2; shift 2 ;;
	--keep) t_keep=1; shift ;;
	*) ARGS+=("$1"); shift ;;
	esac
done
if [ -z "$t_build" ] && [ -z "${UDAX_CLI:-}" ] && [ -z "${UDAX_PRELOAD_LIB:-}" ]; then
	for d in ./build "$t_repo/build"; do
		if [ -x "$d/udax" ]; then t_build=$d; break; fi
	done
fi
: "${UDAX_CLI:=${t_build:+$t_build/udax}}"
: "${UDAX_PRELOAD_LIB:=${t_build:+$t_build/libudax-preload.so}}"
: "${LMDB_TEST:=${t_build:+$t_build/tests/clients/lmdb_test}}"

PREFIX=/udax
passed=0
failed=0

say() { printf '%s\n' "$*"; }
pass() { say "PASS: $*"; passed=$((passed + 1)); }
fail() { say "FAIL: $*"; failed=$((failed + 1)); }
skip() { say "SKIP: $t_name: $*"; exit 77; }

# need_tool NAME: skip the whole test when a program is missing.
need_tool() { command -v "$1" >/dev/null 2>&1 || skip "$1 not installed"; }

# A program named explicitly but missing is an error (not built?); one
# that was only looked for in a build directory is a skip.
need_file() {
	local what=$1 path=$2
	[ -n "$path" ] && [ -e "$path" ] && return 0
	[ -z "$path" ] && skip "$what not found (give --udax, --preload or --build)"
	[ -n "$t_build" ] && skip "$what not found: $path"
	say "FAIL: $t_name: $what not found: $path"
	exit 1
}
need_file "the udax CLI" "${UDAX_CLI:-}"
need_file "libudax-preload.so" "${UDAX_PRELOAD_LIB:-}"
UDAX_CLI=$(cd "$(dirname "$UDAX_CLI")" && pwd)/$(basename "$UDAX_CLI")
UDAX_PRELOAD_LIB=$(cd "$(dirname "$UDAX_PRELOAD_LIB")" && pwd)/$(basename "$UDAX_PRELOAD_LIB")
need_tool timeout

work=$(mktemp -d "/dev/shm/udax-clients-$t_name-XXXXXX") || exit 1
t_cleanup() {
	if [ "$t_keep" = 1 ]; then
		say "kept $work"
	else
		rm -rf "$work"
	fi
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

# Per-command time limit (seconds): a hang is a failure, not a stuck test.
T_LIMIT=${T_LIMIT:-120}

# under_udax POOL CMD... - CMD with the interposer on POOL; UDAX_OPTIONS
# comes from the caller's environment variable OPTS (default none).
under_udax() {
	local pool=$1
	shift
	timeout -k 5 "$T_LIMIT" env LD_PRELOAD="$UDAX_PRELOAD_LIB" UDAX_POOL="$pool" \
		UDAX_PREFIX="$PREFIX" UDAX_OPTIONS="${OPTS:-}" "$@"
}

# check NAME CMD... - run CMD with output to $work/NAME.log; pass when it
# exits 0, else fail and show the end of the log.
check() {
	local name=$1 st
	shift
	"$@" >"$work/$name.log" 2>&1
	st=$?
	if [ $st -eq 0 ]; then
		pass "$name"
	else
		fail "$name (exit $st$([ $st -eq 124 ] && echo ', timed out'))"
		tail -n 25 "$work/$name.log" | sed 's/^/    | /'
	fi
	return $st
}

# mkpool PATH SIZE - format a pool with the udax CLI.
mkpool() {
	"$UDAX_CLI" mkfs "$1" "$2" >"$work/mkfs.log" 2>&1 ||
		{ say "cannot mkfs $1:"; cat "$work/mkfs.log"; exit 1; }
}

# fsck_clean NAME POOL - `udax fsck` must exit 0.
fsck_clean() {
	check "$1" "$UDAX_CLI" fsck "$2"
}

finish() {
	say "$passed passed, $failed failed"
	[ $failed -eq 0 ]
	exit $?
}
