# init-scenarios.bash - the behaviours of a container init, written once and
# run against collie init (init.bats, as a subreaper and as a real PID 1)
# and, in comparison mode, tini and dumb-init (init-compat.bats). Each scenario takes the init command line in the
# array INIT, e.g. INIT=("$COLLIE" init --) or INIT=(tini -s -g --).
#
# Synchronisation is by events only: the scripted child writes a line to a
# fifo when it is ready, the test reads it before sending a signal, and
# waits for the init to exit. AS_PID1=1 wraps the init in a new PID
# namespace (unshare --pid --fork --mount-proc) and signals it there.

H="$COLLIE_TEST_HELPER"

init_setup() {
	TMP="$(mktemp -d)"
	mkfifo "$TMP/out" "$TMP/in"
}

init_teardown() {
	exec 6>&- 7<&- 8>&- 2>/dev/null || true
	rm -rf "$TMP"
}

# start_init ARGS... - start the init over the helper with ARGS in the
# background, stdin from INIT_STDIN (default /dev/null), stdout to the fifo,
# read here as fd 7 (bats keeps fds 3 and 4). The init does not inherit the
# test's own fifo ends (7, 8): a writer it held would hide the EOF.
# WRAPPER_PID is what to wait for.
start_init() {
	open_out
	if [ "${AS_PID1:-0}" = 1 ]; then
		unshare --pid --fork --mount-proc "${INIT[@]}" "$H" "$@" \
			< "${INIT_STDIN:-/dev/null}" >&6 6>&- 7<&- 8<&- &
	else
		"${INIT[@]}" "$H" "$@" < "${INIT_STDIN:-/dev/null}" >&6 6>&- 7<&- 8<&- &
	fi
	WRAPPER_PID=$!
	read_out
}

# open_out, then start a job with stdout >&6, then read_out: fd 7 reads
# what the job (and whatever inherits its stdout) writes to $TMP/out, and
# is at EOF once they have all exited. No open waits for the other end:
# the job inherits the write end from us at its fork (fd 6, opened
# read-write, which does not block), and opens nothing. Opening the fifo
# for reading only once the job runs would hang when the job was quicker:
# the fd 7 of the job before, still open, let the job's open go through,
# and the job was gone before ours.
open_out() {
	exec 6<> "$TMP/out"
}

read_out() {
	exec 7< "$TMP/out" 6>&-
}

# start_init_stdin ARGS... - start_init with stdin from a fifo the test
# holds open as fd 8: closing it (exec 8>&-) is the child's EOF.
start_init_stdin() {
	exec 8<> "$TMP/in" # opens without blocking
	INIT_STDIN="$TMP/in" start_init "$@"
}

# init_pid - the pid to signal: the init itself, also inside a namespace,
# where it is the one child of unshare --fork. Call it once the child has
# written a line: then the init surely runs.
init_pid() {
	if [ "${AS_PID1:-0}" = 1 ]; then
		tr -d ' ' < "/proc/$WRAPPER_PID/task/$WRAPPER_PID/children"
	else
		echo "$WRAPPER_PID"
	fi
}

# wait_init - wait for the init; sets STATUS to its exit status.
wait_init() {
	STATUS=0
	wait "$WRAPPER_PID" || STATUS=$?
}

read_line() {
	LINE=""
	read -r -t 20 LINE <&7 || true
}

scenario_exit_code() { # CODE STEPS...
	local want="$1"
	shift
	start_init "$@"
	wait_init
	[ "$STATUS" -eq "$want" ]
}

# With STEPS (e.g. fork-wait), the child runs them first: with fork-wait
# it is a fork in the child's process group that has to get the signal.
scenario_signal_reaches_child() { # SIG [STEPS...]
	local sig="$1"
	shift
	start_ready 1 "$@"
	signal_shows "$sig" "SIG$sig"
	wait_init
	[ "$STATUS" -eq 0 ]
}

# start_ready N [STEPS...] - start_init over a child that runs STEPS,
# blocks every signal, says "ready", then prints the first N signals it
# gets and exits; returns once it is ready.
start_ready() {
	local n="$1"
	shift
	start_init "$@" block-signals echo ready signals "$n"
	read_line
	[ "$LINE" = ready ]
}

# signal_shows SIG LINE - send SIG to the init; the child's next line is
# LINE.
signal_shows() {
	kill -s "$1" "$(init_pid)"
	read_line
	[ "$LINE" = "$2" ]
}

# The child makes N orphans that exit at once, then waits for its stdin to
# close. The init is their subreaper (or PID 1). Reaping is checked while
# the init still runs: its zombie children are counted in /proc until none
# is left, bounded at 10 s (no reporting of reaps is common to all inits).
scenario_orphans_are_reaped() { # N
	local zombies=-1 deadline=$((SECONDS + 10)) pid
	start_init_stdin orphans "$1" echo spawned wait-eof
	read_line
	[ "$LINE" = spawned ]
	pid="$(init_pid)"
	while [ "$SECONDS" -lt "$deadline" ]; do
		zombies="$(zombies_of "$pid")"
		[ "$zombies" -eq 0 ] && break
	done
	exec 8>&-
	wait_init
	[ "$zombies" -eq 0 ]
	[ "$STATUS" -eq 0 ]
}

# start_leaver STEPS... - the child forks a process that runs STEPS (which
# print "left" once it is ready) and is left behind: the child exits as
# soon as this returns (the test closes its stdin). Sets leftover to the
# pid of what is left behind. The child prints that pid and the fork its
# "left" in either order, as they are scheduled.
start_leaver() {
	local first
	start_init_stdin fork-wait-eof close-stdin "$@"
	read_line
	first="$LINE"
	read_line
	if [ "$first" = left ]; then
		leftover="$LINE"
	else
		[ "$LINE" = left ]
		leftover="$first"
	fi
	[ -n "$leftover" ]
	exec 8>&- # the child exits now
}

need_pidns() {
	[ "$(id -u)" = 0 ] || skip "a new PID namespace needs root here"
	unshare --pid --fork --mount-proc true 2>/dev/null ||
		skip "unshare --pid --fork --mount-proc is not available"
	AS_PID1=1
}

# proc_status PID FIELD - the first word of FIELD in /proc/PID/status.
proc_status() {
	local line
	line="$(grep "^$2:" "/proc/$1/status")"
	line="${line#*:}"
	read -r line _ <<< "$line"
	echo "$line"
}

# until_within SECONDS COMMAND... - run COMMAND until it succeeds, failing
# after SECONDS: for what shows only in /proc.
until_within() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ]
	done
}

is_state() { # PID STATE
	[ "$(proc_status "$1" State 2> /dev/null)" = "$2" ]
}

has_exited() { # PID: gone, or a zombie (bash reaps its jobs by itself)
	! kill -0 "$1" 2> /dev/null || is_state "$1" Z
}

# Zombies whose parent is pid, from /proc/*/stat (field 3 state, 4 ppid).
zombies_of() {
	local n=0 f rest state ppid
	for f in /proc/[0-9]*/stat; do
		rest="$(cat "$f" 2>/dev/null)" || continue
		rest="${rest##*) }"
		state="${rest%% *}"
		rest="${rest#* }"
		ppid="${rest%% *}"
		[ "$state" = Z ] && [ "$ppid" = "$1" ] && n=$((n + 1))
	done
	echo "$n"
}
