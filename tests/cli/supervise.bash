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

# up [ARGS] - start collie up on $TMP/collie.ini, trace into fd 7,
# collie's stdout (the programs' output) into $TMP/out. $UP_PREFIX (an
# array) runs in front of collie.
up() {
	"${UP_PREFIX[@]}" "$COLLIE" up -v -c "$TMP/collie.ini" "$@" 2> "$TMP/trace" > "$TMP/out" 7<&- &
	UP_PID=$!
	exec 7< "$TMP/trace"
}

# wait_line FILE TEXT - wait until FILE has a line with TEXT (20 s bound).
wait_line() {
	local i
	for ((i = 0; i < 2000; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.01
	done
	echo "no '$2' in $1:" >&2
	cat "$1" >&2 2>/dev/null || true
	return 1
}

# expect_out TEXT - wait until collie's stdout, where the programs' output
# goes ("NAME | line", cli/logs.c), has a line with TEXT.
expect_out() {
	wait_line "$TMP/out" "$1"
}

# up_ready [ARGS] - up, and wait until its control socket listens.
up_ready() {
	up "$@"
	expect "control socket"
}

# expect TEXT - wait for a trace line containing TEXT after the one the
# previous expect matched ($EXPECT_SECONDS bound, 20 by default):
# successive expects check order.
# expect_any TEXT - the same, but the line may be anywhere in the trace
# (for a process whose lines interleave with another's).
CURSOR=0

expect() {
	_expect "$1" "$CURSOR"
}

expect_any() {
	local saved="$CURSOR"
	_expect "$1" 0
	CURSOR="$saved"
}

_expect() {
	local line n
	touch "$TMP/seen"
	n="$(tail -n +"$(($2 + 1))" "$TMP/seen" | grep -nF -m1 -- "$1" | cut -d: -f1)"
	if [ -n "$n" ]; then
		CURSOR=$(($2 + n))
		return 0
	fi
	while read -r -t "${EXPECT_SECONDS:-20}" line <&7; do
		echo "$line" >> "$TMP/seen"
		if [[ "$line" == *"$1"* ]]; then
			CURSOR="$(wc -l < "$TMP/seen")"
			return 0
		fi
	done
	echo "did not see '$1'; saw:" >&2
	cat "$TMP/seen" >&2
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
