#!/bin/sh
# make_corpus.sh - (re)generate the seed corpus of fuzz_image.
#
# Builds fuzz_image.c standalone (-DUDAX_FUZZ_STANDALONE: its own main(),
# no libFuzzer, any C compiler) and runs "--make-corpus", which builds the
# same base pool the fuzzer uses and writes one small patch-list seed per
# interesting corruption (see sd_* in fuzz_image.c).  Seeds address blocks
# by window index, so regenerate them whenever the base pool changes.
#
# usage: tests/fuzz/make_corpus.sh [OUTDIR]     (default tests/fuzz/corpus)
#        CC=clang tests/fuzz/make_corpus.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$here/corpus}
cc=${CC:-cc}
bin=$(mktemp "${TMPDIR:-/tmp}/udax-make-corpus.XXXXXX")
trap 'rm -f "$bin"' EXIT

# shellcheck disable=SC2046
$cc -std=gnu11 -O1 -g -D_GNU_SOURCE -DUDAX_FUZZ_STANDALONE \
    -I"$root/include" -I"$root/src" \
    "$here/fuzz_image.c" $(ls "$root"/src/*/*.c) -lpthread -o "$bin"
rm -rf "$out"
mkdir -p "$out"
"$bin" --make-corpus "$out"
# Replay every seed once: each must run without an invariant violation.
"$bin" "$out"/* >/dev/null
echo "seed corpus: $(ls "$out" | wc -l) files in $out"
