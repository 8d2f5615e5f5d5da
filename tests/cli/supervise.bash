# supervise.bash - helpers for bats tests that run `collie up` in the
# background: it runs with -v, which traces every state change on stderr
# ("collie: NAME: OLD -> NEW") and says when its control socket listens
# ("collie: control socket PATH"); tests read that trace from a fifo and
# wait for what they expect (bounded), never for a time.
#
# Each test gets $TMP and its own control socket ($COLLIE_SOCKET, in a
# directory collie creates), never the machine's /run/collie.sock.

sv_setup() {
	TMP="$(mktemp -d)"
	mkfifo "$TMP/trace"
	export COLLIE_SOCKET="$TMP/run/collie.sock"
}

sv_teardown() {
	local state
	# A test that failed left collie up running: SIGTERM, so it stops its
	# programs too (SIGKILL would orphan them); SIGKILL if it is not done
	# (a zombie, as our child) within 15 s.
	if [ -n "${UP_PID:-}" ] && kill -0 "$UP_PID" 2>/dev/null; then
		kill -TERM "$UP_PID" 2>/dev/null || true
		for _ in $(seq 300); do
			state="$(cut -d' ' -f3 "/proc/$UP_PID/stat" 2>/dev/null || echo gone)"
			[ "$state" = Z ] || [ "$state" = gone ] && break
			sleep 0.05
		done
		kill -KILL "$UP_PID" 2>/dev/null || true
		wait "$UP_PID" 2>/dev/null || true
	fi
	exec 7<&- 2>/dev/null || true
	rm -rf "$TMP"
}

# conf LINE... - write the config file.
conf() {
	printf '%s\n' "$@" > "$TMP/collie.ini"
}

# up [ARGS] - start collie up on $TMP/collie.ini, trace into fd 7.
up() {
	"$COLLIE" up -v -c "$TMP/collie.ini" "$@" 2> "$TMP/trace" > "$TMP/out" 7<&- &
	UP_PID=$!
	exec 7< "$TMP/trace"
}

# expect_out TEXT - wait until collie's stdout, where the programs' output
# goes ("NAME | line", cli/logs.c), has a line with TEXT (20 s bound).
expect_out() {
	local i
	for ((i = 0; i < 2000; i++)); do
		grep -q -- "$1" "$TMP/out" && return 0
		sleep 0.01
	done
	echo "did not see '$1' in collie's stdout:" >&2
	cat "$TMP/out" >&2
	return 1
}

# up_ready [ARGS] - up, and wait until its control socket listens.
up_ready() {
	up "$@"
	expect "control socket"
}

# expect TEXT - read trace lines until one contains TEXT (20 s bound).
expect() {
	local line
	while read -r -t 20 line <&7; do
		echo "$line" >> "$TMP/seen"
		[[ "$line" == *"$1"* ]] && return 0
	done
	echo "did not see '$1'; saw:" >&2
	cat "$TMP/seen" >&2 || true
	return 1
}

# wait_up - wait for collie up to exit; STATUS is its exit status. The
# rest of the trace is then in $TMP/seen too.
wait_up() {
	STATUS=0
	wait "$UP_PID" || STATUS=$?
	UP_PID=
	cat <&7 >> "$TMP/seen"
}

# finish - SIGTERM collie up and wait_up.
finish() {
	kill -TERM "$UP_PID"
	wait_up
}
