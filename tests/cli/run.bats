#!/usr/bin/env bats
# collie run: the command language from the command line, as a user runs it.

bats_require_minimum_version 1.5.0

setup() {
	TMP="$(mktemp -d)"
}

teardown() {
	# A pipeline a failed test left behind: its process group, by its id.
	if [ -n "${pg:-}" ]; then
		kill -KILL -- "-$pg" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}

@test "a pipeline prints its last command's output" {
	run "$COLLIE" run "printf 'b\na\n' | sort | head -n 1"
	[ "$status" -eq 0 ]
	[ "$output" = "a" ]
}

@test "the bundled example runs" {
	run "$COLLIE" run --file "$BATS_TEST_DIRNAME/../../examples/pipeline/pipeline.cmd"
	[ "$status" -eq 0 ]
	[[ "$output" == "apple ("*"'s first fruit)" ]]
}

@test "exit code of the last command is collie's" {
	run "$COLLIE" run "$COLLIE_TEST_HELPER exit 3"
	[ "$status" -eq 3 ]
	run "$COLLIE" run "$COLLIE_TEST_HELPER exit 3 | $COLLIE_TEST_HELPER exit 0"
	[ "$status" -eq 0 ]
}

@test "--pipefail reports the rightmost failure" {
	run "$COLLIE" run --pipefail "$COLLIE_TEST_HELPER exit 3 | $COLLIE_TEST_HELPER exit 0"
	[ "$status" -eq 3 ]
}

@test "a command killed by a signal gives 128+N" {
	run "$COLLIE" run "$COLLIE_TEST_HELPER kill-self KILL"
	[ "$status" -eq 137 ]
}

@test "redirections write files, no shell involved" {
	run "$COLLIE" run "$COLLIE_TEST_HELPER echo out echo-err err > $TMP/o 2>&1"
	[ "$status" -eq 0 ]
	[ "$(cat "$TMP/o")" = "$(printf 'out\nerr')" ]
}

@test "variables expand from collie's environment" {
	COLLIE_GREETING="hello there" run "$COLLIE" run 'printf "%s\n" "$COLLIE_GREETING"'
	[ "$status" -eq 0 ]
	[ "$output" = "hello there" ]
}

@test "shell syntax is rejected with the column and a way out" {
	run "$COLLIE" run "echo a && echo b"
	[ "$status" -eq 2 ]
	[[ "$output" == *"column 8"* ]]
	[[ "$output" == *"shell"* ]]
}

@test "a missing program exits 127 and names it" {
	run -127 "$COLLIE" run "collie-no-such-program arg"
	[[ "$output" == *"collie-no-such-program"* ]]
}

@test "a file that is not executable exits 126" {
	printf 'not a program\n' > "$TMP/prog"
	chmod 644 "$TMP/prog"
	run "$COLLIE" run "$TMP/prog"
	[ "$status" -eq 126 ]
}

@test "a redirection that cannot be opened exits 1, not 127 or 126" {
	# sh: a redirection error is a failure of the command (bash exits 1);
	# 127 would say the program was not found.
	run -1 "$COLLIE" run "echo hi > $TMP/no/such/dir/f"
	[[ "$output" == *"cannot open $TMP/no/such/dir/f for writing: No such file or directory"* ]]
	run -1 "$COLLIE" run "cat < $TMP/nothing-here"
	run -1 "$COLLIE" run "echo hi | cat > $TMP"
	[[ "$output" == *"command 2 of 2 (cat): cannot open $TMP for writing: Is a directory"* ]]
	# a path through a file is not found by exec: 126, as bash says
	printf 'x\n' > "$TMP/file"
	run -126 "$COLLIE" run "$TMP/file/prog"
}

@test "SIGTERM to collie reaches the whole pipeline" {
	mkfifo "$TMP/fifo"
	"$COLLIE" run "$COLLIE_TEST_HELPER echo started pause | $COLLIE_TEST_HELPER cat" \
		> "$TMP/fifo" &
	pid=$!
	read -r line < "$TMP/fifo"
	[ "$line" = "started" ]
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	# The whole group got it, so the last command (cat) was killed too.
	[ "$status" -eq 143 ]
	! kill -0 "$pid" 2>/dev/null
}

@test "a SIGTERM that comes while the pipeline is still starting is forwarded, not collie's death" {
	# The first command signals collie (its parent) as soon as it runs,
	# while collie still waits in the start of the second, whose "<" opens
	# a FIFO nobody writes yet. collie must already take SIGTERM then (it
	# stays pending), or it dies of it and what it started is orphaned.
	mkfifo "$TMP/out" "$TMP/in"
	"$COLLIE" run "$COLLIE_TEST_HELPER kill-parent TERM echo started pause | \
		$COLLIE_TEST_HELPER cat < $TMP/in" < /dev/null > "$TMP/out" 2> "$TMP/err" &
	pid=$!
	exec 8< "$TMP/out"
	# pg: the pipeline's group (its first command's pid), for teardown.
	pg=
	pending=0
	for ((i = 0; i < 1000; i++)); do
		[ -n "$pg" ] || pg="$(cut -d' ' -f1 "/proc/$pid/task/$pid/children" 2>/dev/null)" || true
		shd="$(awk '/^ShdPnd:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)" || break
		[ -n "$shd" ] || break
		if (((0x$shd >> 14) & 1)); then
			pending=1
			break
		fi
		sleep 0.01
	done
	exec 9<> "$TMP/in" # a writer: the second command's "<" returns
	status=0
	wait "$pid" || status=$?
	exec 9>&-
	[ "$pending" -eq 1 ]
	[ "$status" -eq 143 ]
	# and the pipeline got it too: the output reaches EOF
	run -0 timeout 10 cat <&8
	exec 8<&-
	pg=
}

@test "--file reads a pipe to its end, and refuses a NUL byte" {
	# The writer sends the second half only once collie has read the
	# first (the pipe is empty again): one read() would run 'echo first'.
	python3 -c '
import fcntl, os, sys, termios, time, array
os.write(1, b"echo first")
buf = array.array("i", [1])
deadline = time.monotonic() + 10
while buf[0] and time.monotonic() < deadline:
	fcntl.ioctl(1, termios.FIONREAD, buf)
	time.sleep(0.001)
try:
	os.write(1, b" second\n")
except BrokenPipeError:
	pass
' | { run "$COLLIE" run --file /dev/stdin; echo "$status $output" > "$TMP/result"; }
	[ "$(cat "$TMP/result")" = "0 first second" ]
	printf 'echo a\0; rm -rf b' > "$TMP/nul.cmd"
	run -2 "$COLLIE" run --file "$TMP/nul.cmd"
	[[ "$output" == *"nul.cmd: a NUL byte at offset 6; a command file is text"* ]]
}

@test "usage errors exit 2" {
	run "$COLLIE" run
	[ "$status" -eq 2 ]
	run "$COLLIE" run a b
	[ "$status" -eq 2 ]
	run "$COLLIE" no-such-command
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown command 'no-such-command'"* ]]
	run "$COLLIE" run --file "$TMP/missing"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$TMP/missing"* ]]
}

@test "version and help" {
	run "$COLLIE" version
	[ "$status" -eq 0 ]
	[[ "$output" == "collie "* ]]
	run "$COLLIE" help
	[ "$status" -eq 0 ]
	[[ "$output" == *"run"* ]]
}
