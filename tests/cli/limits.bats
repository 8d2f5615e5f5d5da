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
	# 4 pipe ends, a pidfd and a cgroup directory per process, 3 while
	# starting one (the child's copies of its fds 0-2), collie's own, and
	# whatever bats left open (counted by collie).
	[[ "$output" == *"collie.ini: 30 processes need $n file descriptors in collie (120 for output pipes, 30 pidfds, 30 cgroups, 3 while starting one, 13 of collie's own"* ]]
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

# --- closed stdio: collie puts /dev/null there before it opens anything ---

# wait_socket - wait until the control socket answers (20 s bound).
wait_socket() {
	local i
	for ((i = 0; i < 400; i++)); do
		"$COLLIE" status > /dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "the control socket $COLLIE_SOCKET never answered" >&2
	return 1
}

@test "collie up with fds 0, 1 and 2 closed: /dev/null takes their places, the control socket answers" {
	conf "[program:sleeper]" "command=$H pause" "startsecs=0"
	"$COLLIE" up -c "$TMP/collie.ini" <&- >&- 2>&- 3>&- &
	UP_PID=$!
	wait_socket
	# Without the guard the loop's epoll, signalfd and timerfd take 0-2.
	for fd in 0 1 2; do
		[ "$(readlink "/proc/$UP_PID/fd/$fd")" = /dev/null ]
	done
	run -0 "$COLLIE" status sleeper
	[[ "$output" == *"sleeper"*RUNNING* ]]
	kill -TERM "$UP_PID"
	wait "$UP_PID"
	UP_PID=
}

@test "collie up >&-: output meant for stdout goes to /dev/null, not into a pipe or the loop" {
	conf "[program:talk]" "command=$H echo hello pause" "startsecs=0"
	"$COLLIE" up -v -c "$TMP/collie.ini" 2> "$TMP/trace" >&- 7<&- &
	UP_PID=$!
	exec 7< "$TMP/trace"
	expect "talk: STARTING -> RUNNING"
	[ "$(readlink "/proc/$UP_PID/fd/1")" = /dev/null ]
	finish
	[ "$STATUS" -eq 0 ]
	grep -q "talk: stdout: 1 lines, 1 written, 0 dropped" "$TMP/seen"
	! grep -q "cannot write" "$TMP/seen"
}

@test "a client with stderr closed writes nothing into the control socket" {
	# A stand-in supervisor: answers one request with an error, then
	# records whatever else the client sends before it closes.
	mkdir -p "$TMP/run"
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(1)
s.settimeout(30)
print("listening", flush=True)
c, _ = s.accept()
c.settimeout(30)
f = c.makefile("rb")
f.readline()
c.sendall(b"{\"ok\":false,\"error\":\"no process named \x27nosuch\x27\"}\n")
print("rest=%r" % f.read(), flush=True)
' "$COLLIE_SOCKET" > "$TMP/server" 3>&- &
	server=$!
	wait_line "$TMP/server" listening
	rc=0
	"$COLLIE" stop nosuch 2>&- || rc=$?
	wait "$server"
	[ "$rc" -eq 1 ]
	# Without the guard, the socket is fd 2 and the error message goes into it.
	grep -qx "rest=b''" "$TMP/server"
}

# --- user=: the privilege drop through collie up ---

@test "user=nobody: real, effective and saved uid and gid are nobody's, and its groups" {
	[ "$(id -u)" -eq 0 ] || skip "needs root, to switch to another user"
	id nobody > /dev/null 2>&1 || skip "no user nobody on this machine"
	conf "[program:who]" "command=$H print-ids pause" "user=nobody" "startsecs=0"
	up
	expect "who: STARTING -> RUNNING"
	expect_out "who *| "
	finish
	read -r -a ids <<< "$(sed -n 's/^who *| //p' "$TMP/out")"
	u="$(id -u nobody)" g="$(id -g nobody)"
	[ "${ids[*]:0:6}" = "$u $u $u $g $g $g" ]
	# Supplementary groups as initgroups() gives them: nobody's, not root's.
	[ "$(printf '%s\n' "${ids[@]:6}" | sort -n | tr '\n' ' ')" = \
		"$(id -G nobody | tr ' ' '\n' | sort -n | tr '\n' ' ')" ]
}

@test "user= naming no user: collie up refuses the configuration, naming file:line" {
	conf "[program:a]" "command=$H pause" "user=collie-no-such-user"
	run -2 "$COLLIE" up -c "$TMP/collie.ini"
	[[ "$output" == *"$TMP/collie.ini:3: key 'user' in [program:a]: no user 'collie-no-such-user' on this system"* ]]
	[[ "$output" != *STARTING* ]]
}

# need_nobody - skip unless collie up can run as nobody here; then a
# socket directory nobody owns.
need_nobody() {
	[ "$(id -u)" -eq 0 ] || skip "needs root, to run collie up as nobody"
	id nobody > /dev/null 2>&1 || skip "no user nobody on this machine"
	as_nobody=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups)
	"${as_nobody[@]}" "$COLLIE" version > /dev/null 2>&1 ||
		skip "nobody cannot run $COLLIE (a directory on its path is closed to it)"
	chmod 755 "$TMP"
	mkdir "$TMP/nb"
	chown nobody "$TMP/nb"
	export COLLIE_SOCKET="$TMP/nb/collie.sock"
}

# up_as_nobody - up, run as nobody (the config readable by it).
up_as_nobody() {
	chmod 644 "$TMP/collie.ini"
	UP_PREFIX=("${as_nobody[@]}")
	up
}

@test "a user collie cannot switch to: the start fails, is reported, ends FATAL; it never runs as collie's user" {
	need_nobody
	conf "[program:root]" "command=$H print-ids pause" "user=root" "startsecs=0" \
		"startretries=1" "backoff_min=0.05"
	up_as_nobody
	expect "root: STOPPED -> STARTING"
	expect "root: command 1 of 1 ($H): setgroups: Operation not permitted"
	expect "root: STARTING -> BACKOFF"
	expect "root: BACKOFF -> FATAL"
	[ "$(awk '/^Uid:/ { print $2 }' "/proc/$UP_PID/status")" = "$(id -u nobody)" ]
	finish
	[ "$STATUS" -eq 0 ]
	# It printed no ids: it never ran, as root or as nobody.
	! grep -q "root *|" "$TMP/out"
}

@test "a collie that is not root runs user= of its own uid as it is (as supervisord does)" {
	need_nobody
	conf "[program:me]" "command=$H print-ids pause" "user=nobody" "startsecs=0"
	up_as_nobody
	expect "me: STARTING -> RUNNING"
	expect_out "me *| $(id -u nobody) $(id -u nobody) $(id -u nobody) $(id -g nobody) $(id -g nobody) $(id -g nobody)"
	finish
	[ "$STATUS" -eq 0 ]
}
