#!/usr/bin/env bats
# collie init as a user runs it: in a plain shell (as a subreaper) and as a
# real PID 1 in a new PID namespace. The shared scenarios are also run
# against tini and dumb-init by init-compat.bats.

load init-scenarios
bats_require_minimum_version 1.5.0

setup() {
	init_setup
	INIT=("$COLLIE" init --)
}

teardown() {
	init_teardown
}

@test "exit codes propagate: 0, 3, 128+SIGKILL" {
	scenario_exit_code 0 exit 0
	scenario_exit_code 3 exit 3
	scenario_exit_code 137 kill-self KILL
}

@test "SIGTERM, SIGINT, SIGHUP and SIGUSR1 reach the child" {
	for sig in TERM INT HUP USR1; do
		scenario_signal_reaches_child "$sig"
	done
}

@test "orphans of a double-forking child are reaped" {
	scenario_orphans_are_reaped 1
}

@test "a burst of 1000 short-lived orphans leaves no zombie" {
	scenario_orphans_are_reaped 1000
}

@test "as PID 1: exit codes, signals and orphans" {
	need_pidns
	scenario_exit_code 3 exit 3
	scenario_exit_code 137 kill-self KILL
	for sig in TERM INT HUP USR1; do
		scenario_signal_reaches_child "$sig"
	done
	scenario_orphans_are_reaped 1000
}

@test "-e remaps an exit code to 0" {
	INIT=("$COLLIE" init -e 143 --)
	scenario_exit_code 0 kill-self TERM
	scenario_exit_code 3 exit 3
}

@test "-r rewrites a signal, and R = 0 drops it" {
	INIT=("$COLLIE" init -r TERM:USR1 -r HUP:0 --)
	start_init block-signals echo ready signals 1
	read_line
	[ "$LINE" = ready ]
	kill -HUP "$WRAPPER_PID"  # dropped
	kill -TERM "$WRAPPER_PID" # arrives as SIGUSR1
	read_line
	[ "$LINE" = SIGUSR1 ]
	wait_init
	[ "$STATUS" -eq 0 ]
}

@test "signals go to the whole group by default, to the child alone with -c" {
	# The child forks; the fork (same group) reports what it gets. SIGWINCH
	# is harmless to the child itself (its default action is to ignore).
	scenario_signal_reaches_child WINCH fork-wait

	# With -c only the direct child (blocked in waitpid, default action)
	# gets it: SIGUSR2 kills it, and the fork is cleaned up after it.
	INIT=("$COLLIE" init -c -t 1 --)
	start_init fork-wait block-signals echo ready signals 1
	read_line
	[ "$LINE" = ready ]
	kill -USR2 "$WRAPPER_PID"
	wait_init
	[ "$STATUS" -eq $((128 + 12)) ]
}

@test "what the child leaves behind gets SIGTERM, then SIGKILL after the grace period" {
	INIT=("$COLLIE" init -v -t 1 --)
	start_leaver setsid ignore TERM echo left pause 2> "$TMP/err"
	wait_init
	[ "$STATUS" -eq 0 ]
	grep -q "sending SIGTERM to leftover process $leftover" "$TMP/err"
	grep -q "grace period over" "$TMP/err"
	# It was our child and we reaped it: it is gone, not a zombie.
	! kill -0 "$leftover" 2>/dev/null
}

@test "a leftover that obeys SIGTERM ends collie without waiting for the grace period" {
	INIT=("$COLLIE" init -t 3600 --)
	start_leaver setsid echo left pause
	wait_init # would take an hour if collie waited for the grace period
	[ "$STATUS" -eq 0 ]
	! kill -0 "$leftover" 2>/dev/null
}

@test "a missing program exits 127, bad usage 2" {
	run -127 "$COLLIE" init -- collie-no-such-program
	[[ "$output" == *"collie-no-such-program"* ]]
	run "$COLLIE" init
	[ "$status" -eq 2 ]
	run "$COLLIE" init -e 300 -- true
	[ "$status" -eq 2 ]
	[[ "$output" == *"from 0 to 255"* ]]
	run "$COLLIE" init -r TERM -- true
	[ "$status" -eq 2 ]
	run "$COLLIE" init -r TERM:NOPE -- true
	[ "$status" -eq 2 ]
	[[ "$output" == *"'NOPE' is not a signal"* ]]
	run "$COLLIE" init --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--single-child"* ]]
}

# The default build's collie executable is a small static one that runs
# init itself and executes the whole collie, libexec/collie beside it in the
# build tree, for every other command (cli/main.c).
whole_collie() {
	WHOLE="$(dirname "$COLLIE")/libexec/collie"
	[ -x "$WHOLE" ] || skip "collie is built as one executable (-Dsmall_init=disabled, sanitizers)"
}

@test "collie init needs nothing but the collie executable; the other commands say where the whole collie belongs" {
	whole_collie
	mkdir "$TMP/alone"
	cp "$COLLIE" "$TMP/alone/collie"
	run -3 "$TMP/alone/collie" init -- "$COLLIE_TEST_HELPER" exit 3
	# version too: an installation without the whole collie can say what it is
	run -0 "$TMP/alone/collie" version
	[[ "$output" == "collie "* ]]
	run "$TMP/alone/collie" check -c /dev/null
	[ "$status" -ne 0 ] || skip "a collie is installed where this one looks for the whole collie"
	[ "$status" -eq 1 ]
	[[ "$output" == "collie: every command but init is in /"*"/collie, and it cannot be run: "*"/collie: No such file or directory (install collie again)" ]]
	# What it runs gets the command line as it was and the version to check.
	mkdir "$TMP/alone/libexec"
	printf '#!/bin/sh\necho "$*|$COLLIE_FRONT_VERSION"\n' > "$TMP/alone/libexec/collie"
	chmod +x "$TMP/alone/libexec/collie"
	run -0 "$TMP/alone/collie" status "a b" c
	[ "$output" = "status a b c|$("$COLLIE" version | cut -d' ' -f2)" ]
	# One that cannot run is named, with why.
	chmod -x "$TMP/alone/libexec/collie"
	run -1 "$TMP/alone/collie" status
	[[ "$output" == *"it cannot be run: $TMP/alone/libexec/collie: Permission denied (install collie again)" ]]
	# Its own beside it: everything runs, and the version is not passed on
	# to the programs it runs.
	rm "$TMP/alone/libexec/collie"
	cp "$WHOLE" "$TMP/alone/libexec/collie"
	run -0 "$TMP/alone/collie" help
	[[ "$output" == "usage: collie COMMAND"* ]]
	run -0 "$TMP/alone/collie" run "$COLLIE_TEST_HELPER print-env COLLIE_FRONT_VERSION"
	[ "$output" = "(unset)" ]
}

# In every build (the one executable has the check as well).
@test "the whole collie refuses to be run by a collie executable of another version, and passes the version on to nothing" {
	whole="$(dirname "$COLLIE")/libexec/collie"
	[ -x "$whole" ] || whole="$COLLIE"
	version="$("$COLLIE" version | cut -d' ' -f2)"
	run -1 env COLLIE_FRONT_VERSION=0.0.0-another "$whole" check -c /dev/null
	[ "$output" = "collie: this collie $version was run by the collie executable of version 0.0.0-another: install collie again" ]
	run -0 env COLLIE_FRONT_VERSION="$version" "$whole" run "$COLLIE_TEST_HELPER print-env COLLIE_FRONT_VERSION"
	[ "$output" = "(unset)" ]
}

@test "a collie executable where the whole collie belongs is refused, not executed again and again" {
	whole_collie
	mkdir -p "$TMP/alone/libexec"
	cp "$COLLIE" "$TMP/alone/collie"
	cp "$COLLIE" "$TMP/alone/libexec/collie"
	# (a loop of execs would run until the timeout: 124)
	run -1 timeout 10 "$TMP/alone/collie" status
	[ "$output" = "collie: $TMP/alone/libexec/collie is the small collie executable again, not the whole collie: install collie again" ]
}

@test "a place that is not there is not the telling failure: ENOTDIR is as ENOENT" {
	whole_collie
	mkdir "$TMP/alone"
	cp "$COLLIE" "$TMP/alone/collie"
	# libexec a file: the build tree's place fails with ENOTDIR
	: > "$TMP/alone/libexec"
	run "$TMP/alone/collie" status
	[ "$status" -ne 0 ] || skip "a collie is installed where this one looks for the whole collie"
	[[ "$output" != *"Not a directory"* ]]
	[[ "$output" == *"/collie: No such file or directory (install collie again)" ]]
}

@test "the whole collie runs under the name collie, with the command line the user typed" {
	whole_collie
	mkfifo "$TMP/whole-in" "$TMP/whole-out"
	"$COLLIE" run "$COLLIE_TEST_HELPER echo ready wait-eof" <"$TMP/whole-in" >"$TMP/whole-out" &
	pid=$!
	exec 5>"$TMP/whole-in"
	read -r -t 20 line <"$TMP/whole-out"
	[ "$line" = ready ]
	# ps, pgrep and top show collie; the process is the one started (exec)
	[ "$(cat /proc/$pid/comm)" = collie ]
	[ "$(tr '\0' ' ' </proc/$pid/cmdline)" = "$COLLIE run $COLLIE_TEST_HELPER echo ready wait-eof " ]
	[ "$(readlink /proc/$pid/exe)" = "$(readlink -f "$WHOLE")" ]
	exec 5>&-
	wait "$pid"
}

@test "the whole collie beside an executable at / is found (an image that copies both to its root)" {
	whole_collie
	[ "$(id -u)" = 0 ] && unshare --mount --pid --fork --mount-proc true 2>/dev/null ||
		skip "needs root and unshare for a root file system of its own"
	root="$TMP/root"
	mkdir -p "$root/proc" "$root/libexec"
	cp "$COLLIE" "$root/"
	cp "$WHOLE" "$root/libexec/"
	# the libraries the whole collie needs, where ld.so looks for them
	for lib in $(ldd "$WHOLE" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }' | sort -u); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
	printf '[program:x]\ncommand=/collie version\n' > "$root/c.ini"
	run -0 timeout 20 unshare --mount --pid --fork --mount-proc --root="$root" /collie check -c /c.ini
	[[ "$output" == *"[program:x] ; /c.ini:1"* ]]
}

@test "the collie executable alone is a container's init: PID 1 in a root that holds nothing else" {
	whole_collie
	[ "$(id -u)" = 0 ] && unshare --mount --pid --fork --mount-proc true 2>/dev/null ||
		skip "needs root and unshare for a root file system of its own"
	root="$TMP/empty"
	mkdir -p "$root/proc"
	cp "$COLLIE" "$root/collie"
	# no libc, no ld.so, no /dev: init runs, and runs its child (itself)
	run -0 timeout 20 unshare --mount --pid --fork --mount-proc --root="$root" /collie init -v -- /collie version
	[[ "$output" == *"collie $("$COLLIE" version | cut -d' ' -f2)"* ]]
	[[ "$output" == *"started '/collie' as process 2"* ]]
}
