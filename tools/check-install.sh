#!/bin/sh
# tools/check-install.sh BUILD_DIR - install into a scratch DESTDIR and
# check that everything a user of collie needs is there and works: the
# binary, the headers, both libraries with their SONAME, the pkg-config
# file and the man page; then build a small program against the installed
# library through pkg-config and run it.
set -eu
build="${1:-build}"
dest="$(mktemp -d)"
trap 'rm -rf "$dest"' EXIT

meson install -C "$build" --destdir "$dest" >/dev/null
prefix="$(meson introspect "$build" --buildoptions |
	python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')"
libdir="$(meson introspect "$build" --buildoptions |
	python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="libdir"][0])')"
root="$dest$prefix"
case "$libdir" in /*) lib="$dest$libdir" ;; *) lib="$root/$libdir" ;; esac

fail=0
need() {
	if [ -e "$1" ]; then echo "install: ok   $2"; else echo "install: MISSING $2 ($1)"; fail=1; fi
}
need "$root/bin/collie" "collie binary"
# The small init's whole collie (cli/meson.build, -Dsmall_init), where built.
whole="$(meson introspect "$build" --installed |
	python3 -c 'import json,sys; print(*[d for d in json.load(sys.stdin).values() if d.endswith("/collie/collie")])')"
if [ -n "$whole" ]; then
	whole="$dest$whole"
	need "$whole" "the whole collie, which the collie executable runs for every command but init"
	if readelf -lW "$root/bin/collie" | grep -q INTERP; then
		echo "install: the collie executable is not the small static init"; fail=1
	fi
fi
for h in common fd sig reap spawn loop cmdline daemon unix proc; do
	need "$root/include/collie/$h.h" "header collie/$h.h"
done
need "$lib/libcollie.a" "static library"
need "$lib/libcollie.so.0" "shared library SONAME link"
need "$lib/pkgconfig/collie.pc" "pkg-config file"
need "$root/share/man/man1/collie.1" "man page collie(1)"
need "$root/share/man/man5/collie.conf.5" "man page collie.conf(5)"
[ "$fail" = 0 ] || exit 1

soname="$(objdump -p "$lib/libcollie.so.0" | awk '/SONAME/ {print $2}')"
[ "$soname" = "libcollie.so.0" ] || { echo "install: SONAME is '$soname'"; exit 1; }

cat > "$dest/use.c" <<'PROG'
#include <collie/spawn.h>
#include <collie/reap.h>
#include <stdio.h>

int main(void)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	char *argv[] = { "true", NULL };
	struct col_child c;
	struct col_status st;
	char buf[64];

	o.argv = argv;
	o.flags = COL_SPAWN_SEARCH_PATH;
	if (col_spawn_start(&o, &c, NULL) < 0 || col_reap_pidfd(c.pidfd, 0, &st) != 1)
		return 1;
	col_status_format(&st, buf, sizeof(buf));
	printf("%s\n", buf);
	col_child_release(&c);
	return 0;
}
PROG
PKG_CONFIG_SYSROOT_DIR="$dest" PKG_CONFIG_PATH="$lib/pkgconfig" \
	cc -o "$dest/use" "$dest/use.c" $(PKG_CONFIG_SYSROOT_DIR="$dest" PKG_CONFIG_PATH="$lib/pkgconfig" pkg-config --cflags --libs collie)
out="$(LD_LIBRARY_PATH="$lib" "$dest/use")"
[ "$out" = "exited 0" ] || { echo "install: program built with pkg-config printed '$out'"; exit 1; }
echo "install: ok   a program built with pkg-config against the installed library runs"

# The installed collie runs from where it is, finding the whole collie
# relative to itself (not yet at $prefix: this is DESTDIR). `check` needs
# the whole collie; which one runs the commands is the parent of what
# `collie run` starts.
conf="$dest/c.ini"
printf '[program:x]\ncommand=true\n' > "$conf"
out="$("$root/bin/collie" check -c "$conf" 2>&1 >/dev/null)" ||
	{ echo "install: the installed collie cannot run 'check': $out" | tail -n 3; exit 1; }
if [ -n "$whole" ]; then
	ran="$("$root/bin/collie" run "sh -c 'readlink /proc/\$PPID/exe'")"
	[ "$ran" = "$whole" ] ||
		{ echo "install: the installed collie ran '$ran', not the whole collie under $root"; exit 1; }
fi
echo "install: ok   the installed collie runs${whole:+ (the whole collie found relative to it)}"

# An absolute bindir (outside the prefix) has no relative place for the
# whole collie: the collie executable must go to the absolute one, not
# execute itself (cli/meson.build). Only the small executable is built;
# a script stands in for the whole collie at the absolute place.
if [ -n "$whole" ]; then
	abs="$dest/abs"
	meson setup "$abs/build" "$(dirname "$0")/.." -Dprefix="$abs/prefix" -Dbindir="$abs/bin" \
		-Dsmall_init=enabled -Dtests=false -Dbench=false >/dev/null
	meson compile -C "$abs/build" cli/collie >/dev/null
	mkdir -p "$abs/bin" "$abs/prefix/libexec/collie"
	cp "$abs/build/cli/collie" "$abs/bin/collie"
	printf '#!/bin/sh\necho "the whole collie: $*"\n' > "$abs/prefix/libexec/collie/collie"
	chmod +x "$abs/prefix/libexec/collie/collie"
	out="$(timeout 10 "$abs/bin/collie" status 2>&1)" || true
	[ "$out" = "the whole collie: status" ] ||
		{ echo "install: with bindir $abs/bin, 'collie status' gave '$out', not the whole collie"; exit 1; }
	echo "install: ok   with an absolute bindir, the collie executable runs the whole collie at its absolute place"
fi
