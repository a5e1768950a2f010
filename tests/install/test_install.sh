#!/usr/bin/env bash
# test_install.sh SRCDIR BUILDDIR - install into a temporary DESTDIR and use
# what was installed the way a packager and a library user would:
#
#   - every file of cmake/install.cmake is there (the interposer when built);
#   - libudax.so has the SONAME libudax.so.N and exports exactly the calls
#     declared in udax.h, each with the symbol version UDAX_1;
#   - a client built with `pkg-config --cflags --libs udax` alone (and one
#     linked statically with `--static`) formats a pool under /dev/shm,
#     mounts it, writes, reads back and unmounts; the installed `udax`
#     finds the pool clean;
#   - the man pages render without a warning (groff -ww, man --warnings),
#     name every command and every call, and `man udax_open` works;
#   - the bash completion completes commands.
#
# The install paths come from CMake in the environment (UDAX_BINDIR,
# UDAX_LIBDIR, ...: see cmake/install.cmake).  Exits 77 (skipped) when
# no C compiler or pkg-config is available, and also after all the other
# checks passed when groff is missing (the man pages were not checked).
set -u
src=$1 build=$2
: "${UDAX_CMAKE:=cmake}" "${UDAX_CC:=cc}"
for v in UDAX_PREFIX_DIR UDAX_BINDIR UDAX_LIBDIR UDAX_INCLUDEDIR UDAX_MANDIR \
         UDAX_DATADIR UDAX_HAVE_PRELOAD UDAX_SOVERSION UDAX_VERSION; do
	if [ -z "${!v:-}" ]; then
		echo "test_install: $v not set (run through ctest)" >&2
		exit 2
	fi
done
command -v "$UDAX_CC" >/dev/null || { echo "SKIP: no C compiler"; exit 77; }
command -v pkg-config >/dev/null || { echo "SKIP: pkg-config not installed"; exit 77; }

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

tmp=$(mktemp -d /tmp/udax-install.XXXXXX)
pool=/dev/shm/udax-install-$$.pool
trap 'rm -rf "$tmp"; rm -f "$pool" "$pool".static' EXIT
dest=$tmp/dest
bindir=$dest$UDAX_BINDIR libdir=$dest$UDAX_LIBDIR mandir=$dest$UDAX_MANDIR

# ---- install ---------------------------------------------------------
if ! DESTDIR=$dest "$UDAX_CMAKE" --install "$build" >"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log"
	fail "cmake --install into DESTDIR"
	exit 1
fi
ok "cmake --install with DESTDIR=$dest"
if grep -v "^--" "$tmp/install.log" | grep -q .; then
	fail "cmake --install printed more than its file list:"
	grep -v "^--" "$tmp/install.log"
fi
# Nothing may land outside DESTDIR's prefix.
outside=$(cd "$dest" && find . -type f -o -type l | grep -v "^\.$UDAX_PREFIX_DIR/")
[ -z "$outside" ] || fail "files installed outside the prefix: $outside"

so=libudax.so.$UDAX_SOVERSION
expect="$bindir/udax $libdir/libudax.a $libdir/libudax.so $libdir/$so
	$dest$UDAX_INCLUDEDIR/udax.h $libdir/pkgconfig/udax.pc
	$mandir/man1/udax.1 $mandir/man3/udax.3 $mandir/man7/udax-preload.7
	$mandir/man3/udax_open.3 $dest$UDAX_DATADIR/bash-completion/completions/udax"
if [ "$UDAX_HAVE_PRELOAD" = 1 ]; then
	expect="$expect $libdir/libudax-preload.so"
	# `udax run` looks for it relative to its own binary.
	[ -e "$bindir/../lib/libudax-preload.so" ] ||
		[ "$(cd "$bindir/.." && pwd)/lib" != "$(cd "$libdir" && pwd)" ] ||
		fail "libudax-preload.so is not at bin/../lib/"
fi
for f in $expect; do
	[ -e "$f" ] || fail "not installed: ${f#$dest}"
done
[ -L "$libdir/libudax.so" ] || fail "libudax.so is not a symlink (the development link)"
[ -x "$bindir/udax" ] || fail "udax not executable"
ok "installed files present"

# ---- SONAME and exported symbols -------------------------------------
soname=$(readelf -d "$libdir/$so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "$so" ] && ok "SONAME $soname" || fail "SONAME is '$soname', want $so"

# Defined dynamic symbols: name@@VERSION (readelf -W keeps them whole).
readelf --dyn-syms -W "$libdir/$so" |
	awk 'NR > 3 && $7 != "UND" && $8 != "" { print $8 }' | sort >"$tmp/exported"
grep -v '^UDAX_1$' "$tmp/exported" | grep -v '@@UDAX_1$' >"$tmp/unversioned"
[ -s "$tmp/unversioned" ] && fail "exported without version UDAX_1: $(tr '\n' ' ' <"$tmp/unversioned")"
grep -v '^UDAX_1$' "$tmp/exported" | sed 's/@@UDAX_1$//' | sort -u >"$tmp/exported.names"
grep -oE '^[a-z_ 0-9]+[ *]udax_[a-z0-9_]+\(' "$src/include/udax.h" |
	grep -oE 'udax_[a-z0-9_]+' | sort -u >"$tmp/declared"
if ! diff -u "$tmp/declared" "$tmp/exported.names" >"$tmp/symdiff"; then
	fail "exports differ from udax.h's calls (- declared only, + exported only):"
	grep '^[-+]udax' "$tmp/symdiff"
else
	ok "exports: the $(wc -l <"$tmp/declared") calls of udax.h, all @@UDAX_1"
fi
readelf -V "$libdir/$so" | grep -q "Name: UDAX_1" || fail "no version definition UDAX_1"
if command -v objdump >/dev/null; then
	n=$(objdump -T "$libdir/$so" | grep -c ' UDAX_1 *udax_')
	[ "$n" -eq "$(wc -l <"$tmp/declared")" ] || fail "objdump -T shows $n udax_* symbols at UDAX_1"
fi

# ---- a client built with pkg-config alone ----------------------------
export PKG_CONFIG_LIBDIR=$libdir/pkgconfig PKG_CONFIG_PATH=
export PKG_CONFIG_SYSROOT_DIR=$dest
ver=$(pkg-config --modversion udax)
[ "$ver" = "$UDAX_VERSION" ] && ok "pkg-config --modversion udax: $ver" ||
	fail "pkg-config --modversion udax says '$ver', want $UDAX_VERSION"
flags=$(pkg-config --cflags --libs udax) || fail "pkg-config --cflags --libs udax"
echo "pkg-config --cflags --libs udax: $flags"

cat >"$tmp/client.c" <<'EOF'
/* The README's API example, built against the installed library.
 * udax.h comes first: it must need no other header before it. */
#include <udax.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define CHECK(call) do { long r_ = (long)(call); if (r_ < 0) { \
	fprintf(stderr, "%s: %s (%ld) %s\n", #call, strerror((int)-r_), r_, \
		udax_last_error()); return 1; } } while (0)

int main(int argc, char **argv)
{
	static const char msg[] = "hello from an installed libudax";
	char buf[sizeof(msg)] = "";
	struct stat st;
	udax_fs *fs;
	int fd;

	if (argc != 2)
		return 2;
	CHECK(udax_mkfs(argv[1], 16u << 20, UDAX_MKFS_FORCE));
	CHECK(udax_mount(argv[1], NULL, &fs));
	CHECK(udax_mkdir(fs, "/db", 0755));
	CHECK(fd = udax_open(fs, "/db/log", O_RDWR | O_CREAT, 0644));
	CHECK(udax_pwrite(fs, fd, msg, sizeof(msg), 0));
	CHECK(udax_fsync(fs, fd));
	CHECK(udax_close(fs, fd));
	CHECK(udax_unmount(fs));

	CHECK(udax_mount(argv[1], "ro", &fs));
	CHECK(fd = udax_open(fs, "/db/log", O_RDONLY, 0));
	CHECK(udax_fstat(fs, fd, &st));
	if (udax_pread(fs, fd, buf, sizeof(buf), 0) != (long)sizeof(msg) ||
	    memcmp(buf, msg, sizeof(msg)) || st.st_size != (off_t)sizeof(msg)) {
		fprintf(stderr, "read back '%s'\n", buf);
		return 1;
	}
	CHECK(udax_close(fs, fd));
	CHECK(udax_unmount(fs));
	CHECK(udax_fsck(argv[1], NULL, NULL) == 0 ? 0 : -1);
	printf("%s (udax %s)\n", buf, UDAX_VERSION_STRING);
	return 0;
}
EOF
# shellcheck disable=SC2086  # pkg-config's output is a list of words
if "$UDAX_CC" -std=c11 -Wall -Wextra -Werror -o "$tmp/client" "$tmp/client.c" $flags 2>"$tmp/cc.log"; then
	ok "client built: $UDAX_CC client.c \$(pkg-config --cflags --libs udax)"
	if ! out=$(LD_LIBRARY_PATH=$libdir "$tmp/client" "$pool" 2>&1); then
		fail "client run: $out"
	else
		ok "client: $out"
	fi
	lib=$(LD_LIBRARY_PATH=$libdir ldd "$tmp/client" | awk '/libudax/ { print $3 }')
	[ "$lib" = "$libdir/$so" ] || fail "client resolved libudax as '$lib', want $libdir/$so"
	readelf -d "$tmp/client" | grep -q "NEEDED.*\[$so\]" || fail "client does not need $so"
	objdump -T "$tmp/client" 2>/dev/null | grep -qE '\(UDAX_1\) +udax_mount$' ||
		fail "client's udax_mount reference is not versioned UDAX_1"
else
	cat "$tmp/cc.log"
	fail "client does not build with pkg-config's flags"
fi

# The same client linked with the static library.
sflags=$(pkg-config --cflags --libs --static udax | sed 's/-ludax\b/-l:libudax.a/')
# shellcheck disable=SC2086
if "$UDAX_CC" -std=c11 -Wall -Wextra -Werror -o "$tmp/client_static" "$tmp/client.c" $sflags 2>"$tmp/cc.log"; then
	readelf -d "$tmp/client_static" | grep -q "NEEDED.*libudax" &&
		fail "static client still needs libudax.so"
	out=$("$tmp/client_static" "$pool.static" 2>&1) && ok "static client: $out" ||
		fail "static client run: $out"
else
	cat "$tmp/cc.log"
	fail "client does not link statically with pkg-config --static"
fi

# The example of udax(3) builds as printed (with the installed library).
sed -n '/^\.SH EXAMPLES/,/^\.EE/p' "$mandir/man3/udax.3" | sed '1,2d;$d' |
	sed 's/\\e/\\/g; s/\\-/-/g' >"$tmp/example.c"
# shellcheck disable=SC2086
"$UDAX_CC" -Wall -Werror -o "$tmp/example" "$tmp/example.c" $flags 2>"$tmp/cc.log" &&
	ok "udax(3)'s example builds" || { cat "$tmp/cc.log"; fail "udax(3)'s example does not build"; }

# The header is usable from C++ as well.
if command -v c++ >/dev/null; then
	echo '#include <udax.h>' | c++ -x c++ -fsyntax-only -Wall -Werror \
		$(pkg-config --cflags udax) - 2>"$tmp/cxx.log" ||
		{ cat "$tmp/cxx.log"; fail "udax.h does not compile as C++"; }
fi

# ---- the installed command -------------------------------------------
v=$("$bindir/udax" --version 2>&1)
[ "$v" = "udax $UDAX_VERSION" ] && ok "installed udax --version: $v" || fail "udax --version: $v"
if [ -e "$pool" ]; then
	"$bindir/udax" fsck "$pool" >"$tmp/fsck.log" 2>&1 && ok "installed udax fsck: clean" ||
		{ cat "$tmp/fsck.log"; fail "installed udax fsck of the client's pool"; }
	"$bindir/udax" cat "$pool" /db/log | grep -q "hello from an installed" ||
		fail "installed udax cat /db/log"
fi

# ---- bash completion -------------------------------------------------
comp=$dest$UDAX_DATADIR/bash-completion/completions/udax
if bash -n "$comp"; then
	got=$(PATH=$bindir:$PATH bash -c '
		source "$1"
		complete -p udax >/dev/null || exit 1
		COMP_WORDS=(udax mkf); COMP_CWORD=1
		_udax; echo "${COMPREPLY[*]}"
		COMP_WORDS=(udax ls "$2" /d); COMP_CWORD=3
		_udax; echo "${COMPREPLY[*]}"' _ "$comp" "$pool" 2>&1)
	case $got in
	"mkfs"$'\n'"/db/") ok "bash completion: commands and paths in the pool" ;;
	*) fail "bash completion gave: $got" ;;
	esac
else
	fail "completion script has syntax errors"
fi

# ---- man pages -------------------------------------------------------
man_checked=0
if command -v groff >/dev/null; then
	man_checked=1
	for page in man1/udax.1 man3/udax.3 man7/udax-preload.7; do
		w=$(LC_ALL=C groff -ww -man -z "$mandir/$page" 2>&1)
		[ -z "$w" ] && ok "groff -ww -man: $page" || fail "groff warns on $page: $w"
		if command -v man >/dev/null; then
			w=$(LC_ALL=C MANWIDTH=80 man --warnings -l "$mandir/$page" 2>&1 >/dev/null)
			[ -z "$w" ] && ok "man --warnings -l: $page" || fail "man warns on $page: $w"
		fi
	done
	# a call's own name finds udax(3)
	if command -v man >/dev/null; then
		MANWIDTH=80 man -M "$mandir" udax_open 2>/dev/null | grep -q "udax_open" ||
			fail "man udax_open does not show udax(3)"
	fi
else
	echo "SKIP (man pages): groff is not installed (apt-get install groff-base man-db)"
fi
# Every command of `udax help` has its entry in udax(1), every call of
# udax.h its synopsis in udax(3).
"$bindir/udax" help 2>&1 | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }' \
	>"$tmp/commands"
[ -s "$tmp/commands" ] || fail "no commands in 'udax help'"
while read -r c; do
	grep -q "^\.B $c\b\|^\.BR $c\b\|^\.B \"$c " "$mandir/man1/udax.1" ||
		fail "udax(1) has no entry for the command '$c'"
done <"$tmp/commands"
while read -r f; do
	grep -q "^\.BI \".* $f(\|^\.BI \".*\*$f(\|^\.B .*$f(" "$mandir/man3/udax.3" ||
		fail "udax(3) has no synopsis of $f"
done <"$tmp/declared"

if [ "$failures" -ne 0 ]; then
	echo "test_install: $failures failure(s)"
	exit 1
fi
if [ "$man_checked" = 0 ]; then
	echo "SKIP: everything else passed; man pages not rendered (no groff)"
	exit 77
fi
echo "test_install: all passed"
