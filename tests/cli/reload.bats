#!/usr/bin/env bats
# Reloading the configuration of a running collie up: SIGHUP and
# `collie update` apply the difference (sv_reload(), cli/supervisor-reload.c)
# and leave every unchanged process alone. Each test runs its own
# supervisor (supervise.bash) and waits for events in its trace.

load supervise
bats_require_minimum_version 1.5.0

H="$COLLIE_TEST_HELPER"

setup() {
	sv_setup
}

teardown() {
	sv_teardown
}

collie() {
	timeout 30 "$COLLIE" "$@"
}

# pid_of NAME - the pid collie reports for a running process.
pid_of() {
	collie pid "$1"
}

# gone PID - wait (10 s bound) until PID no longer runs (a zombie counts
# as gone: it is someone's to reap).
gone() {
	local i state
	for ((i = 0; i < 1000; i++)); do
		state="$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null || echo gone)"
		[ "$state" = gone ] || [ "$state" = Z ] && return 0
		sleep 0.01
	done
	echo "process $1 still runs" >&2
	return 1
}

@test "SIGHUP applies an added, a removed and a changed program without touching the others" {
	conf "[program:keep]" "command=$H echo keep-up pause" "startsecs=0" \
		"[program:change]" "command=$H echo change-v1 pause" "startsecs=0" \
		"[program:gone]" "command=$H echo gone-up pause" "startsecs=0"
	up_ready
	expect_any "keep: STARTING -> RUNNING"
	expect_any "change: STARTING -> RUNNING"
	expect_any "gone: STARTING -> RUNNING"
	expect_out "change | change-v1"
	keep=$(pid_of keep)
	change=$(pid_of change)
	gone_pid=$(pid_of gone)

	conf "[program:keep]" "command=$H echo keep-up pause" "startsecs=0" \
		"[program:change]" "command=$H echo change-v2 pause" "startsecs=0" \
		"[program:added]" "command=$H echo added-up pause" "startsecs=0"
	kill -HUP "$UP_PID"
	expect "update: added added"
	expect "update: change changed"
	expect "update: gone removed"
	expect_any "gone: removed"
	expect_any "added: STARTING -> RUNNING"
	expect_out "change | change-v2"
	expect_out "added *| added-up"
	gone "$change"
	gone "$gone_pid"
	[ "$(pid_of keep)" = "$keep" ]
	[ "$(pid_of change)" != "$change" ]
	run -0 collie status
	[[ "$output" != *gone* ]]
	[[ "${lines[1]}" == "added "*RUNNING* ]]
	[[ "${lines[2]}" == "change "*RUNNING* ]]
	[[ "${lines[3]}" == "keep "*RUNNING* ]]
	run -1 collie status gone
	[[ "$output" == *"no process named 'gone'"* ]]
	# keep was never stopped: one start in its trace
	finish
	[ "$STATUS" -eq 0 ]
	[ "$(grep -c 'keep: STOPPED -> STARTING' "$TMP/seen")" -eq 1 ]
	[ "$(grep -c 'keep *| keep-up' "$TMP/out")" -eq 1 ]
}

@test "update: prints what changed, waits for the removed to stop, and a second update changes nothing" {
	conf "[program:a]" "command=$H pause" "startsecs=0" \
		"[program:slow]" "command=$H ignore TERM pause" "startsecs=0" "stopwaitsecs=1"
	up_ready
	expect_any "a: STARTING -> RUNNING"
	expect_any "slow: STARTING -> RUNNING"
	slow=$(pid_of slow)
	conf "[program:a]" "command=$H pause" "startsecs=0"
	# slow ignores SIGTERM: the reply comes after its SIGKILL, and then it is gone
	run -0 collie update
	[ "$output" = "slow: removed" ]
	! kill -0 "$slow" 2>/dev/null || [ "$(cut -d' ' -f3 /proc/$slow/stat)" = Z ]
	expect_any "slow: still running 1.0 s after the stop signal: SIGKILL"
	run -0 collie update
	[ "$output" = "no change" ]
	finish
	[ "$STATUS" -eq 0 ]
}

@test "update: a configuration with errors changes nothing and says where it is wrong" {
	conf "[program:a]" "command=$H pause" "startsecs=0"
	up_ready
	expect_any "a: STARTING -> RUNNING"
	a=$(pid_of a)
	conf "[program:a]" "command=$H pause" "startsecs=zero"
	run -1 collie update
	[[ "$output" == *"the configuration has errors; nothing changed"* ]]
	[[ "$output" == *"collie.ini:3"*"startsecs"* ]]
	kill -HUP "$UP_PID"
	expect "SIGHUP: the configuration has errors; nothing changed"
	[ "$(pid_of a)" = "$a" ]
	finish
	[ "$STATUS" -eq 0 ]
}

@test "update: numprocs 2 -> 3 adds one process and keeps the two that run" {
	conf "[program:w]" "command=$H pause" "numprocs=2" \
		"process_name=w_%(process_num)d" "startsecs=0"
	up_ready
	expect_any "w_0: STARTING -> RUNNING"
	expect_any "w_1: STARTING -> RUNNING"
	w0=$(pid_of w_0)
	w1=$(pid_of w_1)
	conf "[program:w]" "command=$H pause" "numprocs=3" \
		"process_name=w_%(process_num)d" "startsecs=0"
	run -0 collie update
	[ "$output" = "w_2: added" ]
	expect_any "w_2: STARTING -> RUNNING"
	[ "$(pid_of w_0)" = "$w0" ]
	[ "$(pid_of w_1)" = "$w1" ]
	conf "[program:w]" "command=$H pause" "numprocs=1" \
		"process_name=w_%(process_num)d" "startsecs=0"
	run -0 collie update
	[ "${lines[0]}" = "w_1: removed" ]
	[ "${lines[1]}" = "w_2: removed" ]
	gone "$w1"
	[ "$(pid_of w_0)" = "$w0" ]
	finish
	[ "$STATUS" -eq 0 ]
}

@test "update: a changed log file -- the old one is closed, the new process writes the new one" {
	conf "[program:a]" "command=$H lines 3 pause" "startsecs=0" \
		"stdout_logfile=$TMP/one.log"
	up_ready
	expect_any "a: STARTING -> RUNNING"
	wait_line "$TMP/one.log" "^3$"
	a=$(pid_of a)
	conf "[program:a]" "command=$H lines 3 pause" "startsecs=0" \
		"stdout_logfile=$TMP/two.log"
	run -0 collie update
	[ "$output" = "a: changed" ]
	wait_line "$TMP/two.log" "^3$"
	gone "$a"
	# collie no longer holds one.log open
	for fd in /proc/"$UP_PID"/fd/*; do
		[ "$(readlink "$fd")" != "$TMP/one.log" ]
	done
	[ "$(wc -l < "$TMP/one.log")" -eq 3 ]
	finish
	[ "$STATUS" -eq 0 ]
}

@test "update: a stop that waits on a process the update removes is answered" {
	conf "[program:slow]" "command=$H ignore TERM pause" "startsecs=0" "stopwaitsecs=2"
	up_ready
	expect_any "slow: STARTING -> RUNNING"
	collie stop slow > "$TMP/stop.out" 2>&1 &
	stop_pid=$!
	expect_any "slow: RUNNING -> STOPPING"
	conf "[program:other]" "command=$H pause" "startsecs=0"
	run -0 collie update --no-wait
	[[ "$output" == *"slow: removed"* ]]
	wait "$stop_pid"
	grep -q "slow: removed from the configuration" "$TMP/stop.out"
	# it goes on stopping out of sight: SIGKILL after its stopwaitsecs
	expect_any "slow: still running 2.0 s after the stop signal: SIGKILL"
	expect_any "slow: removed"
	finish
	[ "$STATUS" -eq 0 ]
}

@test "update: a changed program that others depend on -- they keep running, it restarts" {
	conf "[program:db]" "command=$H echo db-v1 pause" "startsecs=0" \
		"[program:web]" "command=$H pause" "startsecs=0" "depends_on=db"
	up_ready
	expect_any "web: STARTING -> RUNNING"
	web=$(pid_of web)
	conf "[program:db]" "command=$H echo db-v2 pause" "startsecs=0" \
		"[program:web]" "command=$H pause" "startsecs=0" "depends_on=db"
	run -0 collie update
	[ "$output" = "db: changed" ]
	expect_out "db *| db-v2"
	[ "$(pid_of web)" = "$web" ]
	finish
	[ "$STATUS" -eq 0 ]
}

@test "update twice while a changed process still stops: the last version starts once the first is gone, the middle one never" {
	conf "[program:web]" "command=$H ignore TERM echo web-v1 pause" "startsecs=0" \
		"stopwaitsecs=2"
	up_ready
	expect_any "web: STARTING -> RUNNING"
	expect_out "web | web-v1"
	conf "[program:web]" "command=$H ignore TERM echo web-v2 pause" "startsecs=0" \
		"stopwaitsecs=2"
	run -0 collie update --no-wait
	[ "$output" = "web: changed" ]
	conf "[program:web]" "command=$H echo web-v3 pause" "startsecs=0"
	run -0 collie update
	[ "$output" = "web: changed" ]
	expect_out "web | web-v3"
	# v1 stopped (through SIGKILL) before anything started again; v2 never ran
	expect "web: still running 2.0 s after the stop signal: SIGKILL"
	expect "web: STOPPING -> STOPPED"
	expect "web: STOPPED -> STARTING"
	[ "$(grep -c 'web: STOPPED -> STARTING' "$TMP/seen")" -eq 2 ]
	! grep -q "web-v2" "$TMP/out"
	finish
	[ "$STATUS" -eq 0 ]
}
