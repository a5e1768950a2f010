#!/usr/bin/env bash
# readme_examples.sh SRC - run the README's example blocks (marked
# <!-- example:NAME -->) exactly as written, from the repository root.
# The FUSE block is skipped when this machine cannot mount FUSE.
set -u
cd "$1"
pass=0 fail=0 skip=0
for name in fuse preload run; do
	block=$(awk -v m="<!-- example:$name -->" '
		$0 == m { on = 1; next }
		on && /^```sh/ { inblk = 1; next }
		inblk && /^```/ { exit }
		inblk { print }' README.md)
	if [ -z "$block" ]; then
		echo "FAIL $name: no example block in README.md"
		fail=$((fail + 1))
		continue
	fi
	if [ "$name" = fuse ] && { [ ! -e /dev/fuse ] || ! grep -q "mount" <(./build/udax help 2>&1); }; then
		echo "skip $name: no FUSE here"
		skip=$((skip + 1))
		continue
	fi
	echo "--- $name"
	echo "$block"
	if bash -euxo pipefail -c "$block"; then
		echo "ok   $name"
		pass=$((pass + 1))
	else
		echo "FAIL $name"
		fail=$((fail + 1))
		mountpoint -q /tmp/udax-mnt 2>/dev/null && fusermount3 -u /tmp/udax-mnt
	fi
done
rm -f /dev/shm/udax.pool
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] || exit 1
[ "$pass" -gt 0 ] || exit 77
