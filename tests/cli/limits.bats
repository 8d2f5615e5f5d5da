#!/usr/bin/env bats
# collie up and the limits of the process it runs in: RLIMIT_NOFILE
# (raised for collie, given back to the programs, checked at load), closed
# stdio, and user= (the privilege drop, and what happens when collie cannot
# make it). Same harness as up.bats (supervise.bash).

bats_require_minimum_version 1.5.0

load supervise

H="$COLLIE_TEST_HELPER"

setup() {
	sv_setup
}

teardown() {
	sv_teardown
}

# many N [KEY=VALUE...] - a [program:many] of N instances running
# $MANY_COMMAND (default: the helper's pause).
many() {
	local n="$1"
	shift
	conf "[program:many]" "command=${MANY_COMMAND:-$H pause}" "numprocs=$n" \
		"process_name=%(program_name)s.%(process_num)d" "startsecs=0" "$@"
}

# with_nofile SOFT HARD CMD... - run CMD with those RLIMIT_NOFILE limits.
with_nofile() {
	local soft="$1" hard="$2"
	shift 2
	prlimit --nofile="$soft:$hard" "$@"
}

@test "300 instances under a soft RLIMIT_NOFILE of 1024 all run; each program gets 1024 back" {
	hard="$(ulimit -Hn)"
	[ "$hard" = unlimited ] || [ "$hard" -ge 2048 ] ||
		skip "needs a hard RLIMIT_NOFILE of 2048 or more (it is $hard)"
	many 300
	printf '%s\n' "[program:probe]" "command=$H print-rlimit nofile pause" "startsecs=0" \
		"[program:own]" "command=$H print-rlimit nofile pause" "startsecs=0" \
		"rlimit_nofile=2000" >> "$TMP/collie.ini"
	UP_PREFIX=(prlimit --nofile="1024:$hard")
	up
	for i in $(seq 0 299); do
		expect_any "many.$i: STARTING -> RUNNING"
	done
	expect_any "probe: STARTING -> RUNNING"
	expect_any "RLIMIT_NOFILE: soft limit raised from 1024 to $hard"
	# collie's own soft limit is the hard one; the programs' is not.
	[ "$(awk '/^Max open files/ { print $4 }' "/proc/$UP_PID/limits")" = "$hard" ]
	expect_out "probe *| 1024 $hard"
	expect_out "own *| 2000 2000"
	run "$COLLIE" status
	[ "$status" -eq 0 ]
	[ "$(grep -c RUNNING <<< "$output")" -eq 302 ]
	finish_draining
	[ "$STATUS" -eq 0 ]
	! grep -q "Too many open files" "$TMP/seen"
}

@test "a soft limit already at the hard one is left alone, and programs inherit it" {
	hard="$(ulimit -Hn)"
	[ "$hard" != unlimited ] || skip "the hard RLIMIT_NOFILE is unlimited"
	conf "[program:probe]" "command=$H print-rlimit nofile pause" "startsecs=0"
	UP_PREFIX=(prlimit --nofile="$hard:$hard")
	up
	expect "probe: STARTING -> RUNNING"
	expect_out "probe | $hard $hard"
	finish
	! grep -q "RLIMIT_NOFILE" "$TMP/seen"
}

# finish_draining - finish, reading the trace while collie stops: 300
# processes' stop lines fill the fifo before wait_up would read them, and
# collie would block writing its stderr.
finish_draining() {
	kill -TERM "$UP_PID"
	timeout 60 cat <&7 >> "$TMP/seen"
	wait_up
}

# need - what collie says $TMP/collie.ini needs, asked with a hard limit of 40.
need() {
	with_nofile 40 40 "$COLLIE" check -c "$TMP/collie.ini" 2>&1 |
		sed -n 's/.* need \([0-9]*\) file descriptors.*/\1/p'
}

@test "a hard RLIMIT_NOFILE below what the configuration needs: check and up refuse it, naming the numbers" {
	many 30
	n="$(need)"
	[ -n "$n" ]
	run -0 with_nofile "$n" "$n" "$COLLIE" check -c "$TMP/collie.ini"
	run -2 with_nofile $((n - 1)) $((n - 1)) "$COLLIE" check -c "$TMP/collie.ini"
	# 4 pipe ends and a pidfd per process, 4 while starting one (the
	# child's copies of its fds 0-2 and /dev/null), collie's own, and
	# whatever bats left open (counted by collie).
	[[ "$output" == *"collie.ini: 30 processes need $n file descriptors in collie (120 for output pipes, 30 pidfds, 4 while starting one, 10 of collie's own"* ]]
	[[ "$output" == *"more than its hard limit RLIMIT_NOFILE of $((n - 1)); raise the hard limit to $n or more (as root: ulimit -Hn $n;"* ]]
	[[ "$output" == *"or run fewer processes (the most: [program:many] at $TMP/collie.ini:1, 30 of them), or set redirect_stderr=true (2 fewer per process)"* ]]
	# up refuses the same way, before starting anything.
	run -2 with_nofile $((n - 1)) $((n - 1)) "$COLLIE" up -v -c "$TMP/collie.ini"
	[[ "$output" == *"30 processes need $n file descriptors"* ]]
	[[ "$output" != *STARTING* ]]
	# redirect_stderr=true: 2 fewer each.
	many 30 redirect_stderr=true
	[ "$(need)" -eq $((n - 60)) ]
}

@test "at exactly the hard limit collie counted, every process runs and the control socket answers" {
	MANY_COMMAND="$H write-ready 3 pause"
	many 30 "stdout_logfile=$TMP/%(process_num)d.log" "ready=fd:3"
	n="$(need)"
	[ -n "$n" ]
	UP_PREFIX=(prlimit --nofile="$n:$n")
	up_ready
	for i in $(seq 0 29); do
		expect_any "many.$i: STARTING -> RUNNING"
	done
	run "$COLLIE" status
	[ "$status" -eq 0 ]
	[ "$(grep -c RUNNING <<< "$output")" -eq 30 ]
	finish
	[ "$STATUS" -eq 0 ]
	! grep -q "Too many open files" "$TMP/seen"
}
