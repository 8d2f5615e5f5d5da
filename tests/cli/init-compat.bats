#!/usr/bin/env bats
# Comparison mode: the scenarios of init-scenarios.bash, run against tini
# and dumb-init as Debian ships them, as a subreaper and as a real PID 1,
# then the behaviours where the three differ, each asserted as it really
# is. docs/init.md ("Compared with tini and dumb-init") sums up what these
# tests show. The command lines:
#   collie init --    subreaper unless PID 1; signals go to the child's group
#   tini -s -g --     -s: subreaper; -g: signals to the child's group (the
#                     default is the child alone); as PID 1: tini -g --
#   dumb-init         signals go to the child's group (it runs the child in
#                     a new session); -c: the child alone. It never
#                     registers as a subreaper: it reaps only as PID 1.

load init-scenarios
bats_require_minimum_version 1.5.0

setup() {
	init_setup
	left_behind=()
}

teardown() {
	# What an init left running: leftovers, a stopped child.
	local pid
	for pid in "${left_behind[@]}"; do
		kill -KILL "$pid" 2> /dev/null || true
	done
	init_teardown
}

need() {
	command -v "$1" > /dev/null ||
		skip "$1 is not installed (Debian package $1; tools/deps.sh test installs it)"
}

# The behaviours every init here shares, with INIT set.
shared_behaviours() {
	scenario_exit_code 0 exit 0
	scenario_exit_code 3 exit 3
	scenario_exit_code 137 kill-self KILL
	for sig in TERM INT HUP USR1; do
		scenario_signal_reaches_child "$sig"
	done
	scenario_signal_reaches_child WINCH fork-wait
}

# after_the_child [STATUS] - once the child has exited, wait for the init
# and check its status (default 0); sets alive (yes/no): was the leftover
# still running when the init exited.
after_the_child() {
	wait_init
	[ "$STATUS" -eq "${1:-0}" ]
	alive=no
	if kill -0 "$leftover" 2> /dev/null; then
		alive=yes
		left_behind+=("$leftover")
	fi
}

# first_signal - after after_the_child, for a leftover that prints the
# first signal it gets: sets first to it. One still running is probed
# with SIGWINCH, which no init sends: a signal the init sent before it
# exited is pending by then, and the lower-numbered signal is taken first.
first_signal() {
	if [ "$alive" = yes ]; then
		kill -WINCH "$leftover" 2> /dev/null || true # it may just have exited
	fi
	read_line
	first="$LINE"
}

@test "tini -s -g: exit codes, signals to the group, orphans reaped, as collie" {
	need tini
	INIT=(tini -s -g --)
	shared_behaviours
	scenario_orphans_are_reaped 1000
}

@test "tini -g as PID 1: exit codes, signals to the group, orphans reaped, as collie" {
	need tini
	need_pidns
	INIT=(tini -g --)
	shared_behaviours
	scenario_orphans_are_reaped 1000
}

@test "dumb-init: exit codes and signals to the group, as collie" {
	need dumb-init
	INIT=(dumb-init)
	shared_behaviours
}

@test "dumb-init as PID 1: exit codes, signals to the group, orphans reaped, as collie" {
	need dumb-init
	need_pidns
	INIT=(dumb-init)
	shared_behaviours
	scenario_orphans_are_reaped 1000
}

@test "the child leads a new process group: in the caller's session under collie and tini, a new session under dumb-init" {
	need tini
	need dumb-init
	local pid pgid sid
	for init in "$COLLIE init --" "tini -s --" "dumb-init"; do
		read -ra INIT <<< "$init"
		start_init print-pgid
		read_line
		read -r pid pgid sid <<< "$LINE"
		wait_init
		[ "$pgid" = "$pid" ]
		if [ "$init" = dumb-init ]; then
			[ "$sid" = "$pid" ]
		else
			[ "$sid" = "$(ps -o sid= -p $$ | tr -d ' ')" ]
		fi
	done
}

# orphan_parent - the child makes an orphan that waits for its stdin to
# close; sets ppid to the orphan's parent, then ends both. An orphan goes
# to the nearest subreaper above it, or else to PID 1.
orphan_parent() {
	local stat
	start_init_stdin orphan echo ready wait-eof
	read_line
	leftover="$LINE"
	read_line
	[ "$LINE" = ready ]
	stat="$(cat "/proc/$leftover/stat")"
	stat="${stat##*) }" # state ppid ...
	ppid="$(echo "$stat" | cut -d' ' -f2)"
	exec 8>&-
	wait_init
	[ "$STATUS" -eq 0 ]
}

@test "not PID 1: collie and tini -s are subreapers, dumb-init is not" {
	need tini
	need dumb-init
	INIT=("$COLLIE" init --)
	orphan_parent
	[ "$ppid" = "$WRAPPER_PID" ]
	INIT=(tini -s --)
	orphan_parent
	[ "$ppid" = "$WRAPPER_PID" ]
	# Under dumb-init the orphan goes where it goes with no init at all.
	INIT=()
	orphan_parent
	local elsewhere="$ppid"
	[ "$elsewhere" != "$WRAPPER_PID" ]
	INIT=(dumb-init)
	orphan_parent
	[ "$ppid" = "$elsewhere" ]
}

@test "-e 143 remaps as tini's -e 143 does" {
	need tini
	for init in "$COLLIE init -e 143 --" "tini -s -e 143 --"; do
		read -ra INIT <<< "$init"
		scenario_exit_code 0 kill-self TERM
		scenario_exit_code 3 exit 3
		scenario_exit_code 137 kill-self KILL
	done
}

@test "-r 15:10 rewrites as dumb-init's --rewrite 15:10 does" {
	need dumb-init
	for init in "$COLLIE init -r 15:10 --" "dumb-init --rewrite 15:10"; do
		read -ra INIT <<< "$init"
		start_ready 1
		signal_shows TERM SIGUSR1
		wait_init
		[ "$STATUS" -eq 0 ]
	done
}

# The child alone (collie -c, tini without -g, dumb-init -c): SIGUSR2 kills
# the child, which waits for its fork; the fork, in the child's group,
# does not get it; what it gets first after that is in first.
signal_the_child_alone() {
	start_init fork-wait print-pgid block-signals echo ready signals 1
	read_line
	leftover="${LINE%% *}" # the fork
	read_line
	[ "$LINE" = ready ]
	kill -USR2 "$WRAPPER_PID"
	after_the_child $((128 + 12))
	first_signal
}

@test "signals to the child alone: collie -c, tini, dumb-init -c; only collie then sends SIGTERM to the rest of the group" {
	need tini
	need dumb-init
	INIT=("$COLLIE" init -c --)
	signal_the_child_alone
	[ "$alive" = no ]
	[ "$first" = SIGTERM ]
	INIT=(tini -s --)
	signal_the_child_alone
	[ "$alive" = yes ]
	[ "$first" = SIGWINCH ]
	INIT=(dumb-init -c)
	signal_the_child_alone
	[ "$alive" = yes ]
	[ "$first" = SIGWINCH ]
}

@test "left in the child's group: collie sends SIGTERM and waits, then SIGKILL; dumb-init sends SIGTERM and exits; tini exits" {
	need tini
	need dumb-init
	INIT=("$COLLIE" init -t 1 --)
	start_leaver block-signals echo left signals 1
	after_the_child
	first_signal
	[ "$alive" = no ]
	[ "$first" = SIGTERM ]
	start_leaver ignore TERM echo left pause
	after_the_child
	[ "$alive" = no ] # SIGKILLed after the grace period, then reaped

	INIT=(dumb-init)
	start_leaver block-signals echo left signals 1
	after_the_child
	first_signal
	[ "$first" = SIGTERM ]
	start_leaver ignore TERM echo left pause
	after_the_child
	[ "$alive" = yes ] # no wait, no SIGKILL

	INIT=(tini -s --)
	start_leaver block-signals echo left signals 1
	after_the_child
	first_signal
	[ "$alive" = yes ]
	[ "$first" = SIGWINCH ]
}

@test "left outside the child's group: collie sends SIGTERM; tini and dumb-init exit and leave it" {
	need tini
	need dumb-init
	for init in "$COLLIE init --" "tini -s --" "dumb-init"; do
		read -ra INIT <<< "$init"
		start_leaver setsid block-signals echo left signals 1
		after_the_child
		first_signal
		if [ "${INIT[0]}" = "$COLLIE" ]; then
			[ "$alive" = no ]
			[ "$first" = SIGTERM ]
		else
			[ "$alive" = yes ]
			[ "$first" = SIGWINCH ]
		fi
	done
}

@test "as PID 1: collie sends what is left SIGTERM; tini and dumb-init exit and the kernel kills it" {
	need tini
	need dumb-init
	need_pidns
	for init in "$COLLIE init --" "tini -g --" "dumb-init"; do
		read -ra INIT <<< "$init"
		start_leaver setsid block-signals echo left signals 1
		wait_init
		[ "$STATUS" -eq 0 ]
		read_line # what it printed before it was gone: the out fifo is at EOF
		first="$LINE"
		if [ "${INIT[0]}" = "$COLLIE" ]; then
			[ "$first" = SIGTERM ]
		else
			[ "$first" = "" ]
		fi
	done
}

has_pending_term() { # PID: SIGTERM (15) pending for the process
	local pending
	pending="$(proc_status "$1" ShdPnd)" && (((16#$pending >> 14) & 1))
}

# stop_child_then_term - the child is stopped (SIGSTOP), then the init
# gets SIGTERM; sets child.
stop_child_then_term() {
	start_init print-pgid pause
	read_line
	child="${LINE%% *}"
	left_behind+=("$child") # should the init not end it
	kill -STOP "$child"
	until_within 10 is_state "$child" T
	kill -TERM "$WRAPPER_PID"
}

@test "a stopped child: tini and dumb-init forward SIGTERM, which stays pending until something continues it" {
	need tini
	need dumb-init
	for init in "tini -s -g --" "dumb-init"; do
		read -ra INIT <<< "$init"
		stop_child_then_term
		until_within 10 has_pending_term "$child" # forwarded
		is_state "$child" T
		kill -0 "$WRAPPER_PID" # the init still waits
		kill -CONT "$child"
		wait_init
		[ "$STATUS" -eq 143 ]
	done
}

@test "a stopped child: collie init continues it after forwarding SIGTERM, as timeout(1) does" {
	INIT=("$COLLIE" init --)
	stop_child_then_term
	until_within 10 has_exited "$WRAPPER_PID"
	wait_init
	[ "$STATUS" -eq 143 ]
}

# Only a stopped child is continued: a SIGCONT also cancels the SIGSTOP of
# a ptrace attach under way (LeakSanitizer's at exit: the child would hang).
# A SIGCONT sent would be taken before SIGWINCH, which is higher.
@test "a running child: collie init forwards SIGTERM and sends no SIGCONT" {
	INIT=("$COLLIE" init --)
	start_ready 2
	signal_shows TERM SIGTERM
	signal_shows WINCH SIGWINCH
	wait_init
	[ "$STATUS" -eq 0 ]
}
