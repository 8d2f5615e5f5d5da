#!/bin/sh
# tools/check-static.sh - build the static collie (make static) and run it
# the way a FROM scratch image would: as PID 1 of a new PID namespace whose
# root directory holds nothing but the collie binary (no libc, no /proc, no
# shell). Needs root for unshare; says so and skips otherwise.
set -eu
make -s static >/dev/null || { echo "static: FAIL make static"; exit 1; }
bin=build-static/cli/collie
if ldd "$bin" >/dev/null 2>&1; then
	echo "static: FAIL $bin is dynamically linked"
	exit 1
fi
if [ "$(id -u)" != 0 ] || ! unshare --pid --fork true 2>/dev/null; then
	echo "static: skip the empty-root run: needs root and unshare"
	exit 0
fi
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
cp "$bin" "$root/collie"
out="$(timeout 20 unshare --pid --fork --root="$root" /collie init -- /collie version)"
case "$out" in
"collie "*) echo "static: ok   $bin runs as PID 1 in an empty root: $out" ;;
*) echo "static: FAIL in an empty root it printed '$out'"; exit 1 ;;
esac
