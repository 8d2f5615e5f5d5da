#!/usr/bin/env bats
# collie up: supervision as a user sees it. The supervisor runs in the
# foreground with -v, which traces every state change on stderr
# ("collie: NAME: OLD -> NEW"); the tests read that trace from a fifo and
# wait for the transitions they expect (bounded), never for a time.

bats_require_minimum_version 1.5.0

load supervise

H="$COLLIE_TEST_HELPER"

setup() {
	sv_setup
}

teardown() {
	sv_teardown
}

@test "a program starts, runs, and stops on SIGTERM; collie exits 0" {
	conf "[program:sleeper]" "command=$H pause" "startsecs=0"
	up
	expect "sleeper: STARTING -> RUNNING"
	finish
	[ "$STATUS" -eq 0 ]
	grep -q "sleeper: RUNNING -> STOPPING" "$TMP/seen"
	grep -q "sleeper: STOPPING -> STOPPED" "$TMP/seen"
}

@test "SIGINT stops gracefully; a second SIGINT kills at once; collie exits 0" {
	# RUNNING once it ignores SIGTERM (it says so on fd 3), not before
	conf "[program:stubborn]" "command=$H ignore TERM write-ready 3 pause" "startsecs=3600" \
		"ready=fd:3" "stopwaitsecs=60"
	up
	expect "stubborn: STARTING -> RUNNING"
	kill -INT "$UP_PID"
	expect "SIGINT: stopping everything"
	expect "stubborn: RUNNING -> STOPPING"
	kill -INT "$UP_PID"
	expect "second SIGINT: killing everything"
	expect "stubborn: killed by SIGKILL"
	expect "stubborn: STOPPING -> STOPPED"
	wait_up
	[ "$STATUS" -eq 0 ]
	# the kill came from the second SIGINT, not from stopwaitsecs (60 s)
	! grep -q "after the stop signal: SIGKILL" "$TMP/seen"
}

@test "a crash is restarted at once, repeated crashes back off, FATAL after startretries" {
	conf "[program:crash]" "command=$H exit 1" "startsecs=1" "startretries=2" \
		"backoff_min=0.05" "backoff_max=0.2"
	up
	expect "crash: STOPPED -> STARTING"
	expect "crash: STARTING -> BACKOFF"
	expect "crash: BACKOFF -> STARTING"
	expect "crash: STARTING -> BACKOFF"
	expect "crash: BACKOFF -> STARTING"
	expect "crash: STARTING -> BACKOFF"
	expect "crash: BACKOFF -> FATAL"
	finish
	[ "$STATUS" -eq 0 ]
}

@test "autorestart=unexpected restarts only on an unexpected exit code" {
	conf "[program:ok]" "command=$H exit 0" "startsecs=0" "autorestart=unexpected" \
		"[program:bad]" "command=$H exit 3" "startsecs=0" "autorestart=unexpected" \
		"backoff_min=10"
	up
	expect "bad: RUNNING -> EXITED"
	expect "bad: EXITED -> STARTING"
	expect_any "ok: RUNNING -> EXITED"
	finish
	[ "$STATUS" -eq 0 ]
	# ok exited 0, as expected: never started again.
	! grep -q "ok: EXITED -> STARTING" "$TMP/seen"
}

@test "stop escalates to SIGKILL for the whole group, grandchild included" {
	conf "[program:stubborn]" \
		"command=$H ignore TERM fork-wait ignore TERM print-pgid echo grandchild-up pause" \
		"startsecs=0" "stopwaitsecs=1"
	up
	expect_out "grandchild-up"
	grandchild="$(awk '{ print $3; exit }' "$TMP/out")"
	finish
	[ "$STATUS" -eq 0 ]
	grep -q "still running 1.0 s after the stop signal: SIGKILL" "$TMP/seen"
	! kill -0 "$grandchild" 2>/dev/null
}

@test "a process that left its group is ended too before collie exits" {
	conf "[program:escaper]" \
		"command=$H fork-wait setsid print-pgid echo escaped pause" "startsecs=0"
	up
	expect_out "escaped"
	escaped="$(awk '{ print $3; exit }' "$TMP/out")"
	finish
	[ "$STATUS" -eq 0 ]
	grep -q "sending SIGTERM to leftover process $escaped" "$TMP/seen"
	! kill -0 "$escaped" 2>/dev/null
}

@test "programs start in priority order and stop in reverse" {
	conf "[program:second]" "command=$H pause" "startsecs=0" "priority=20" \
		"[program:first]" "command=$H pause" "startsecs=0" "priority=10"
	up
	expect "first: STOPPED -> STARTING"
	expect "second: STOPPED -> STARTING"
	kill -TERM "$UP_PID"
	expect "second: RUNNING -> STOPPING"
	expect "first: RUNNING -> STOPPING"
	wait_up
	[ "$STATUS" -eq 0 ]
}

@test "depends_on waits for the dependency to be RUNNING" {
	conf "[program:app]" "command=$H pause" "startsecs=0" "depends_on=db" "priority=1" \
		"[program:db]" "command=$H pause" "startsecs=1" "priority=2"
	up
	expect "db: STOPPED -> STARTING"
	expect "db: STARTING -> RUNNING"
	expect "app: STOPPED -> STARTING"
	kill -TERM "$UP_PID"
	expect "app: RUNNING -> STOPPING"
	expect "app: STOPPING -> STOPPED"
	expect "db: RUNNING -> STOPPING"
	wait_up
	[ "$STATUS" -eq 0 ]
}

@test "a critical program that exits stops everything; collie exits with its status" {
	conf "[program:main]" "command=$H exit 7" "startsecs=0" "critical=true" "autorestart=false" \
		"[program:side]" "command=$H pause" "startsecs=0"
	up
	wait_up
	[ "$STATUS" -eq 7 ]
	grep -q "main is critical" "$TMP/seen"
	grep -q "side: RUNNING -> STOPPING" "$TMP/seen"
}

@test "a program that daemonizes behind collie's back is still reaped" {
	conf "[program:daemon]" "command=$H double-fork exit 0" "startsecs=0" "autorestart=false"
	up
	expect "daemon: RUNNING -> EXITED"
	expect_any "reaped orphan"
	finish
	[ "$STATUS" -eq 0 ]
}

@test "a bad configuration exits 2 and starts nothing" {
	conf "[program:x]" "command=$H pause" "no_such_key=1"
	run -2 "$COLLIE" up -c "$TMP/collie.ini"
	[[ "$output" == *"no_such_key"* ]]
}

@test "ready=fd:3: RUNNING when the program writes a newline to fd 3, not after startsecs" {
	conf "[program:svc]" "command=$H write-ready 3 pause" "startsecs=3600" "ready=fd:3"
	up
	expect "svc: STARTING -> RUNNING"
	finish
	[ "$STATUS" -eq 0 ]
}

@test "ready=tcp:PORT: RUNNING once the port accepts connections" {
	port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
	conf "[program:web]" "command=python3 -m http.server $port --bind 127.0.0.1" \
		"startsecs=3600" "ready=tcp:$port"
	up
	expect "web: STARTING -> RUNNING"
	# It really listens by now.
	python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 5)"
	finish
	[ "$STATUS" -eq 0 ]
}

@test "ready=notify: RUNNING on READY=1 over NOTIFY_SOCKET (sd_notify)" {
	cat > "$TMP/notify.py" <<'PY'
import os, signal, socket
addr = os.environ["NOTIFY_SOCKET"]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect("\0" + addr[1:] if addr.startswith("@") else addr)
s.send(b"STATUS=warming up\nREADY=1\n")
signal.pause()
PY
	conf "[program:svc]" "command=python3 $TMP/notify.py" "startsecs=3600" "ready=notify"
	up
	expect "svc: STARTING -> RUNNING"
	finish
	[ "$STATUS" -eq 0 ]
}

@test "depends_on waits for readiness, not for startsecs" {
	conf "[program:app]" "command=$H pause" "startsecs=0" "depends_on=db" \
		"[program:db]" "command=$H write-ready 3 pause" "startsecs=3600" "ready=fd:3"
	up
	expect "db: STARTING -> RUNNING"
	expect "app: STOPPED -> STARTING"
	finish
	[ "$STATUS" -eq 0 ]
}

@test "--init (and PID 1) passes other signals on to every program" {
	conf "[program:a]" "command=$H block-signals echo-err a-ready signals 1 exit 0" \
		"startsecs=0" "autorestart=false" \
		"[program:b]" "command=$H block-signals echo-err b-ready signals 1 exit 0" \
		"startsecs=0" "autorestart=false"
	up --init
	expect_out "a-ready"
	expect_out "b-ready"
	kill -USR1 "$UP_PID"
	expect_any "a: RUNNING -> EXITED"
	expect_any "b: RUNNING -> EXITED"
	finish
	[ "$STATUS" -eq 0 ]
	[ "$(grep -c 'SIGUSR1$' "$TMP/out")" -eq 2 ]
}

@test "a supervisord.conf with the sections collie does not implement starts" {
	conf "[unix_http_server]" "file=/tmp/supervisor.sock" "chmod=0700" \
		"[supervisord]" "logfile=/tmp/supervisord.log" "nodaemon=true" \
		"[rpcinterface:supervisor]" \
		"supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface" \
		"[supervisorctl]" "serverurl=unix:///tmp/supervisor.sock" \
		"[eventlistener:crashmail]" "command=/usr/local/bin/crashmail" "events=PROCESS_STATE" \
		"[program:app]" "command=$H pause" "startsecs=0" "stdout_events_enabled=true"
	up
	expect "app: STARTING -> RUNNING"
	finish
	[ "$STATUS" -eq 0 ]
	# One warning for each thing collie ignores, none an error.
	grep -q "warning: .*unix_http_server" "$TMP/seen"
	grep -q "warning: .*eventlistener:crashmail" "$TMP/seen"
}

@test "once every program has stopped, nothing starts again while collie ends leftovers" {
	# escaper leaves a process that ignores SIGTERM: collie then spends
	# its 5 s grace ending it, after every program has stopped. crasher
	# waits 0.2 s between restarts (backoff), idle waits for a start.
	conf "[program:escaper]" "command=$H fork-wait setsid ignore TERM echo escaped pause" \
		"startsecs=0" \
		"[program:crasher]" "command=$H exit 1" "startsecs=0" "autorestart=true" \
		"backoff_min=0.2" "backoff_max=0.2" \
		"[program:idle]" "command=$H echo idle-up pause" "startsecs=0" "autostart=false"
	COLLIE_NO_CGROUP=1 up_ready
	expect_out "escaped"
	# crasher's second exit in a row: its next start waits for the backoff
	expect_any "crasher: EXITED -> STARTING"
	expect "crasher: RUNNING -> EXITED"
	kill -TERM "$UP_PID"
	expect "SIGTERM: stopping everything"
	expect "sending SIGTERM to leftover process"
	run timeout 20 "$COLLIE" start idle
	[ "$status" -eq 1 ]
	[[ "$output" == *"shutting down"* ]]
	# bounded: with a program started now, collie never exited
	timeout 20 tail --pid="$UP_PID" -f /dev/null
	wait_up
	[ "$STATUS" -eq 0 ]
	! grep -q "idle: STOPPED -> STARTING" "$TMP/seen"
	! sed -n '/stopping everything/,$p' "$TMP/seen" | grep -q "crasher: EXITED -> STARTING"
}

@test "startretries counts failed starts since it was last RUNNING, not short runs before" {
	# each run is RUNNING once ready (fd 3) and is killed soon after: short
	# runs, which back off; then, with $TMP/fail, a run that fails to start
	conf "[program:a]" "command=[ -e $TMP/fail ] && exit 1; exec $H write-ready 3 pause" \
		"shell=true" "ready=fd:3" "startretries=2" "backoff_min=0.05" "backoff_max=0.05"
	up_ready
	for _ in 1 2 3 4; do
		expect "a: STARTING -> RUNNING"
		[ "$("$COLLIE" signal KILL a)" = "a: signalled" ]
		expect "a: RUNNING -> EXITED"
	done
	expect "a: EXITED -> STARTING"
	expect "a: STARTING -> RUNNING"
	touch "$TMP/fail"
	"$COLLIE" signal KILL a
	# startretries=2: the first failed start is retried, and the second;
	# the third gives up
	expect "a: STARTING -> BACKOFF"
	expect "a: BACKOFF -> STARTING"
	expect "a: STARTING -> BACKOFF"
	expect "a: BACKOFF -> STARTING"
	expect "a: STARTING -> BACKOFF"
	expect "gave up after 3 failed starts (FATAL)"
	expect "a: BACKOFF -> FATAL"
	finish
	[ "$STATUS" -eq 0 ]
}

@test "a FIFO in a redirection does not stop the supervisor: the start fails instead" {
	# open(2) of a FIFO waits for its other end; in collie's loop that
	# would stop every other program and the control socket with it.
	mkfifo "$TMP/fifo"
	conf "[program:first]" "command=$H echo x > $TMP/fifo" "priority=1" "startsecs=0" \
		"startretries=0" \
		"[program:second]" "command=$H pause" "priority=2" "startsecs=0"
	up
	expect_any "cannot open $TMP/fifo for writing: a FIFO with no reader"
	expect_any "first: BACKOFF -> FATAL"
	expect_any "second: STARTING -> RUNNING"
	finish
	[ "$STATUS" -eq 0 ]
}
