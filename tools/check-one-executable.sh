#!/bin/sh
# tools/check-one-executable.sh - build collie as one executable
# (-Dsmall_init=disabled, as the sanitizer build and the static build are,
# and as collie is built where musl-gcc is missing) and check that every
# kind of command runs from it alone: init, run, check, and a supervisor
# controlled through its socket. The default build's small init and whole
# collie are what the test suites cover.
set -eu
b=build-one
[ -f "$b/build.ninja" ] || meson setup "$b" -Dsmall_init=disabled -Dtests=false -Dbench=false --werror >/dev/null
meson configure "$b" -Dsmall_init=disabled >/dev/null # (a build-one of before the option)
meson compile -C "$b" cli/collie >/dev/null
c="$b/cli/collie"
fail() { echo "one-executable: FAIL $*"; exit 1; }
[ ! -e "$b/cli/libexec/collie" ] || fail "a whole collie beside the executable was built"
grep -q "every command but init is in" "$c" && fail "$c is the small init"
[ "$("$c" version)" = "collie $(meson introspect "$b" --projectinfo |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')" ] || fail "version"
"$c" init -- sh -c 'exit 3' && fail "init: exit 3 became 0" || [ $? -eq 3 ] || fail "init: exit code"
[ "$(USER=someone "$c" run --file examples/pipeline/pipeline.cmd)" = "apple (someone's first fruit)" ] ||
	fail "run: the example"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
printf '[program:sleeper]\ncommand=sleep 60\nstartsecs=0\n' > "$tmp/c.ini"
"$c" check -c "$tmp/c.ini" >/dev/null || fail "check"
export COLLIE_SOCKET="$tmp/run/collie.sock"
# up in the foreground; wait (bounded) until it answers, stop it with down.
"$c" up -c "$tmp/c.ini" 2>"$tmp/err" &
up=$!
i=0
until "$c" status sleeper 2>/dev/null | grep -q RUNNING; do
	i=$((i + 1))
	[ "$i" -le 200 ] || { kill "$up"; wait "$up" || true; fail "up: never RUNNING: $(cat "$tmp/err")"; }
	sleep 0.05
done
"$c" down >/dev/null || fail "down"
wait "$up" || fail "up exited $?"
echo "one-executable: ok   $c runs init, run, check and a supervisor alone"
