#!/usr/bin/env bats
# examples/container: collie up as the PID 1 of a new PID namespace (what a
# container is, without a Docker engine), running the example's two
# programs; SIGTERM stops them gracefully, in reverse order, and collie exits.

setup() {
	[ "$(id -u)" = 0 ] || skip "a new PID namespace needs root here"
	unshare --pid --fork --mount-proc true 2>/dev/null ||
		skip "unshare --pid --fork --mount-proc is not available"
	TMP="$(mktemp -d)"
	mkfifo "$TMP/trace"
	EXAMPLE="$BATS_TEST_DIRNAME/../../examples/container"
	PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
	export PORT
}

teardown() {
	exec 7<&- 2>/dev/null || true
	[ -n "${TMP:-}" ] && rm -rf "$TMP"
}

expect() {
	local line
	while read -r -t 30 line <&7; do
		echo "$line" >> "$TMP/seen"
		[[ "$line" == *"$1"* ]] && return 0
	done
	echo "did not see '$1'; saw:" >&2
	cat "$TMP/seen" >&2
	return 1
}

@test "the example runs under collie as PID 1 and stops gracefully on SIGTERM" {
	unshare --pid --fork --mount-proc "$COLLIE" up -v -c "$EXAMPLE/collie.ini" \
		2> "$TMP/trace" > "$TMP/out" 7<&- &
	wrapper=$!
	exec 7< "$TMP/trace"
	expect "web: STARTING -> RUNNING"
	expect "worker: STOPPED -> STARTING"
	expect "worker: STARTING -> RUNNING"
	# collie is the one child of unshare --fork, and PID 1 inside.
	collie="$(tr -d ' ' < "/proc/$wrapper/task/$wrapper/children")"
	grep -q "^NSpid:.*[[:space:]]1$" "/proc/$collie/status"
	kill -TERM "$collie"
	expect "worker: RUNNING -> STOPPING"
	expect "web: RUNNING -> STOPPING"
	expect "web: STOPPING -> STOPPED"
	status=0
	wait "$wrapper" || status=$?
	[ "$status" -eq 0 ]
	# The worker's own trap ran: it was stopped, not killed.
	grep -q "worker: SIGTERM, finishing" "$TMP/out"
	! grep -q "SIGKILL" "$TMP/seen"
}
