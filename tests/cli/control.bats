#!/usr/bin/env bats
# The control socket of collie up and the commands that use it: status,
# start, stop, restart, signal, pid, down; who may connect; what bad
# clients cannot do. Each test runs its own supervisor on its own socket
# (supervise.bash) and waits for events in its trace, never for a time.

load supervise
bats_require_minimum_version 1.5.0

H="$COLLIE_TEST_HELPER"
RAW="$BATS_TEST_DIRNAME/control-client.py"

setup() {
	sv_setup
}

teardown() {
	if [ -n "${RAW_PID:-}" ]; then
		kill "$RAW_PID" 2>/dev/null || true
		wait "$RAW_PID" 2>/dev/null || true
	fi
	sv_teardown
}

# collie ARGS - the command under test, bounded: a hang fails the test.
collie() {
	timeout 30 "$COLLIE" "$@"
}

# json EXPR - evaluate a Python expression over the JSON on stdin (d).
json() {
	python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

# field NAME EXPR - EXPR over `collie status --json NAME`'s one process (p).
field() {
	collie status --json "$1" | json "(lambda p: ($2))(d[0])"
}

# live_in_group PGID - how many processes, zombies aside, are in a group.
live_in_group() {
	local n=0 f rest
	for f in /proc/[0-9]*/stat; do
		rest="$(cat "$f" 2>/dev/null)" || continue
		rest="${rest##*) }"
		read -r state _ pgid _ <<< "$rest"
		[ "$pgid" = "$1" ] && [ "$state" != Z ] && n=$((n + 1))
	done
	echo "$n"
}

@test "status: a table of every process, one process, and --json with every field" {
	conf "[program:web]" "command=$H pause" "numprocs=2" \
		"process_name=web_%(process_num)d" "startsecs=0" \
		"[program:idle]" "command=$H pause" "autostart=false"
	up_ready
	expect "web_1: STARTING -> RUNNING"
	run -0 collie status
	[[ "${lines[0]}" == "NAME"*"STATE"*"PID"*"UPTIME"*"RESTARTS"*"MEMORY"*"LAST EXIT" ]]
	[[ "${lines[1]}" == "idle "*"STOPPED"* ]]
	[[ "${lines[2]}" == "web_0 "*"RUNNING"* ]]
	[[ "${lines[3]}" == "web_1 "*"RUNNING"* ]]
	[ "${#lines[@]}" -eq 4 ]
	run -0 collie status web_1
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[1]}" == "web_1 "* ]]

	collie status --json > "$TMP/status.json"
	[ "$(json 'len(d)' < "$TMP/status.json")" = 3 ]
	[ "$(json '[p["name"] for p in d]' < "$TMP/status.json")" = "['idle', 'web_0', 'web_1']" ]
	[ "$(field web_0 'sorted(p)')" = "['group', 'last_exit', 'memory', 'name', 'pid', 'program', 'restarts', 'state', 'state_ms', 'uptime_ms']" ]
	[ "$(field web_0 'p["program"], p["group"], p["state"], p["restarts"], p["last_exit"]')" = "('web', 'web', 'RUNNING', 0, None)" ]
	[ "$(field web_0 'p["pid"] > 0 and p["uptime_ms"] >= 0 and p["memory"]["rss"] > 0')" = True ]
	[ "$(field web_0 'p["memory"]["processes"]')" = 1 ]
	[ "$(field idle 'p["pid"], p["uptime_ms"], p["memory"]')" = "(0, None, None)" ]
	[ "$(field web_0 'p["pid"]')" = "$(collie pid web_0)" ]
	run -0 collie status --pss --json web_0
	[ "$(echo "$output" | json 'd[0]["memory"]["pss"] > 0')" = True ]
	finish
}

@test "status: names that name nothing are said, and exit 1" {
	conf "[program:a]" "command=$H pause" "startsecs=0"
	up_ready
	run -1 collie status nope
	[ "$output" = "collie: no process named 'nope'" ]
	run -1 collie status a x y
	[ "$output" = "collie: no processes named 'x', 'y'" ]
	finish
}

@test "status: memory counts every member of the process group" {
	conf "[program:tree]" "command=$H fork-wait echo-err forked pause" "startsecs=0"
	up_ready
	expect_out "forked"
	[ "$(field tree 'p["memory"]["processes"]')" = 2 ]
	finish
}

@test "start waits until RUNNING, stop until STOPPED; group:*, all, already so" {
	conf "[program:slow]" "command=$H pause" "startsecs=1" "autostart=false" \
		"[program:w]" "command=$H pause" "startsecs=0" "numprocs=2" \
		"process_name=w_%(process_num)d" "autostart=false"
	up_ready
	run -0 collie start slow
	[ "$output" = "slow: started" ]
	[ "$(field slow 'p["state"]')" = RUNNING ]
	run -0 collie start slow
	[ "$output" = "slow: already running" ]
	run -0 collie start 'w:*'
	[ "${lines[0]}" = "w_0: started" ]
	[ "${lines[1]}" = "w_1: started" ]
	run -0 collie stop all
	[ "${lines[0]}" = "slow: stopped" ]
	[ "$(field slow 'p["state"]')" = STOPPED ]
	[ "$(field w_1 'p["state"]')" = STOPPED ]
	run -0 collie stop w_0
	[ "$output" = "w_0: already stopped" ]
	finish
}

@test "start of a FATAL program waits, as a stopped one does, for its depends_on" {
	# web fails (FATAL) until $TMP/ok exists; db is what it depends on
	conf "[program:db]" "command=$H pause" "startsecs=0" "autostart=false" \
		"[program:web]" "command=test -e $TMP/ok && exec $H pause" "shell=true" \
		"startsecs=1" "startretries=0" "autorestart=false" "depends_on=db"
	up_ready
	run -0 collie start db
	expect "web: BACKOFF -> FATAL"
	run -0 collie stop db
	touch "$TMP/ok"
	python3 "$RAW" sent "$COLLIE_SOCKET" '{"cmd": "start", "args": {"names": ["web"]}}' \
		> "$TMP/raw" &
	RAW_PID=$!
	wait_line "$TMP/raw" "sent"
	# the start waits for db: it is not answered "could not start"
	run -0 collie start db
	wait "$RAW_PID"
	RAW_PID=
	python3 -c 'import json, sys; r = json.loads(open(sys.argv[1]).readlines()[1]); assert r["ok"], r; assert r["processes"][0]["message"] == "started", r' "$TMP/raw"
	[ "$(field web 'p["state"]')" = RUNNING ]
	finish
}

@test "stop waits through the escalation to SIGKILL" {
	conf "[program:stubborn]" "command=$H ignore TERM pause" "startsecs=0" "stopwaitsecs=1"
	up_ready
	expect "stubborn: STARTING -> RUNNING"
	run -0 collie stop stubborn
	[ "$output" = "stubborn: stopped" ]
	[ "$(field stubborn 'p["state"], p["last_exit"]["signal"]')" = "('STOPPED', 'SIGKILL')" ]
	finish
}

@test "restart gives a new process; start of a program that cannot run fails with 1" {
	conf "[program:a]" "command=$H pause" "startsecs=0" \
		"[program:bad]" "command=$H exit 3" "startsecs=1" "startretries=1" \
		"backoff_min=0.05" "autostart=false"
	up_ready
	expect "a: STARTING -> RUNNING"
	old="$(collie pid a)"
	run -0 collie restart a
	[ "$output" = "a: restarted" ]
	new="$(collie pid a)"
	[ "$new" != "$old" ]
	! kill -0 "$old" 2>/dev/null
	[ "$(field a 'p["restarts"], p["last_exit"]["text"]')" = "(1, 'killed by SIGTERM')" ]
	run -1 collie start bad
	[ "$output" = "collie: bad: could not start (FATAL, last exit: exited 3)" ]
	# One failed name among good ones: exit 1, the good one still done.
	run -1 collie restart a bad
	[ "${lines[0]}" = "a: restarted" ]
	finish
}

@test "start/stop/restart: an unknown name fails the request and touches nothing" {
	conf "[program:a]" "command=$H pause" "startsecs=0"
	up_ready
	expect "a: STARTING -> RUNNING"
	run -1 collie stop a nope
	[ "$output" = "collie: no process named 'nope'" ]
	[ "$(field a 'p["state"]')" = RUNNING ]
	run -1 collie start 'nogroup:*'
	[ "$output" = "collie: no process named 'nogroup:*'" ]
	finish
}

@test "start --no-wait answers at once; -t gives up waiting with 1" {
	conf "[program:slow]" "command=$H pause" "startsecs=30" "autostart=false"
	up_ready
	run -0 collie start --no-wait slow
	[ "$output" = "slow: starting" ]
	[ "$(field slow 'p["state"]')" = STARTING ]
	run -1 collie restart -t 0.2 slow
	[[ "$output" == "collie: restart: gave up waiting after 0.2 s (what was asked goes on)" ]]
	finish
}

@test "what was asked goes on without a waiter: restart --no-wait, a client that gave up" {
	conf "[program:stubborn]" "command=$H ignore TERM pause" "startsecs=0" "stopwaitsecs=1"
	up_ready
	expect "stubborn: STARTING -> RUNNING"
	run -0 collie restart --no-wait stubborn
	[ "$output" = "stubborn: restarting" ]
	expect "stubborn: STOPPING -> STOPPED"
	expect "stubborn: STOPPED -> STARTING"
	expect "stubborn: STARTING -> RUNNING"
	run -1 collie restart -t 0.2 stubborn
	[[ "$output" == "collie: restart: gave up waiting after 0.2 s"* ]]
	expect "stubborn: STOPPING -> STOPPED"
	expect "stubborn: STOPPED -> STARTING"
	expect "stubborn: STARTING -> RUNNING"
	finish
}

@test "signal: to the process only, or with --group to its whole group" {
	conf "[program:tree]" "command=$H fork-wait echo-err forked pause" "startsecs=0" \
		"autorestart=false"
	up_ready
	expect_out "forked"
	pgid="$(collie pid tree)"
	run -0 collie signal TERM tree
	[ "$output" = "tree: signalled" ]
	expect "tree: RUNNING -> EXITED"
	# Only the process itself got it: its forked child lives on in the group.
	[ "$(live_in_group "$pgid")" = 1 ]
	run -1 collie signal HUP tree
	[ "$output" = "collie: tree: not running (EXITED)" ]

	run -0 collie start tree
	expect_out "forked"
	pgid="$(collie pid tree)"
	[ "$(live_in_group "$pgid")" = 2 ]
	run -0 collie signal --group KILL tree
	expect "tree: RUNNING -> EXITED"
	# SIGKILL is sent to both at once; the child may need a moment to die.
	for _ in $(seq 100); do
		[ "$(live_in_group "$pgid")" = 0 ] && break
		sleep 0.05
	done
	[ "$(live_in_group "$pgid")" = 0 ]
	[ "$(field tree 'p["last_exit"]["text"]')" = "killed by SIGKILL" ]
	finish
}

@test "pid: the supervisor's, a process's; none for a stopped one" {
	conf "[program:a]" "command=$H pause" "startsecs=0" \
		"[program:off]" "command=$H pause" "autostart=false"
	up_ready
	expect "a: STARTING -> RUNNING"
	run -0 collie pid
	[ "$output" = "$UP_PID" ]
	run -0 collie pid a
	[ "$(cut -d' ' -f4 "/proc/$output/stat")" = "$UP_PID" ] # its parent is collie
	run -1 --separate-stderr collie pid off
	[ "$output" = "" ]
	[ "$stderr" = "collie: off is not running (STOPPED)" ]
	finish
}

@test "down stops everything and returns once the supervisor has exited" {
	conf "[program:a]" "command=$H pause" "startsecs=0" \
		"[program:b]" "command=$H ignore TERM pause" "startsecs=0" "stopwaitsecs=1"
	up_ready
	expect "b: STARTING -> RUNNING"
	a="$(collie pid a)"
	b="$(collie pid b)"
	run -0 collie down
	[ "$output" = "" ]
	# Returned only once collie up is gone: a zombie until the shell reaps it.
	state="$(cut -d' ' -f3 "/proc/$UP_PID/stat" 2> /dev/null || echo gone)"
	[ "$state" = Z ] || [ "$state" = gone ]
	wait_up
	[ "$STATUS" -eq 0 ]
	grep -q "down: stopping everything" "$TMP/seen"
	! kill -0 "$a" 2>/dev/null
	! kill -0 "$b" 2>/dev/null
	[ ! -e "$COLLIE_SOCKET" ]
	run -1 collie status
	[[ "$output" == "collie: status: no supervisor is running on $COLLIE_SOCKET"* ]]
}

@test "bad usage exits 2" {
	run -2 collie start
	[[ "${lines[0]}" == "collie: start: which processes? give NAME..., GROUP:* or all" ]]
	run -2 collie signal
	[ "${lines[0]}" = "collie: signal: which signal?" ]
	run -2 collie signal HUP
	[ "${lines[0]}" = "collie: signal: which processes? give NAME..., GROUP:* or all" ]
	run -2 collie signal NOSUCHSIG a
	[ "${lines[0]}" = "collie: signal: 'NOSUCHSIG' is not a signal (HUP, SIGUSR1, 15, ...)" ]
	run -2 collie status --no-wait
	run -2 collie down extra
	run -2 collie stop -t soon a
	run -0 collie status --help
	[ "$output" = "usage: collie status [-s SOCKET] [--json] [--pss] [NAME...]" ]
}

@test "no supervisor: a clear message and 1; -s chooses the socket" {
	run -1 collie status
	[[ "$output" == "collie: status: no supervisor is running on $COLLIE_SOCKET"* ]]
	conf "[program:a]" "command=$H pause" "startsecs=0"
	up_ready -s "$TMP/other.sock"
	run -0 collie pid -s "$TMP/other.sock"
	[ "$output" = "$UP_PID" ]
	COLLIE_SOCKET="$TMP/other.sock" run -0 collie pid
	[ "$output" = "$UP_PID" ]
	finish
}

@test "the socket is 0600 in a directory collie made 0700" {
	conf "[program:a]" "command=$H pause" "startsecs=0"
	up_ready
	[ "$(stat -c %a "$TMP/run")" = 700 ]
	[ "$(stat -c %a "$COLLIE_SOCKET")" = 600 ]
	[ "$(stat -c %F "$COLLIE_SOCKET")" = socket ]
	finish
	[ ! -e "$COLLIE_SOCKET" ]
}

@test "an unsafe directory is refused: writable by others, or someone else's" {
	[ "$(id -u)" = 0 ] || skip "needs root to make a directory someone else's"
	conf "[program:a]" "command=$H pause" "startsecs=0"
	mkdir -m 0777 "$TMP/open"
	chmod 0777 "$TMP/open"
	run -1 collie up -c "$TMP/collie.ini" -s "$TMP/open/collie.sock"
	[[ "$output" == *"$TMP/open is writable by others (mode 0777) and not sticky: refusing"* ]]
	mkdir -m 0700 "$TMP/theirs"
	chown nobody "$TMP/theirs"
	run -1 collie up -c "$TMP/collie.ini" -s "$TMP/theirs/collie.sock"
	[[ "$output" == *"$TMP/theirs belongs to uid $(id -u nobody), not to you or root"* ]]
	# A sticky world-writable directory (like /tmp) is fine.
	mkdir -m 1777 "$TMP/sticky"
	chmod 1777 "$TMP/sticky"
	up_ready -s "$TMP/sticky/collie.sock"
	[ "$(stat -c %a "$TMP/sticky")" = 1777 ] # never chmod'ed
	finish
}

@test "another uid is refused by SO_PEERCRED, even when the file lets it in" {
	[ "$(id -u)" = 0 ] || skip "needs root to run a client as nobody"
	command -v setpriv > /dev/null || skip "needs setpriv"
	conf "[program:a]" "command=$H pause" "startsecs=0"
	# A path nobody can reach and connect to: directories 0711, socket 0666.
	chmod 0711 "$TMP"
	mkdir -m 0711 "$TMP/shared"
	export COLLIE_SOCKET="$TMP/shared/collie.sock"
	up_ready
	chmod 0666 "$COLLIE_SOCKET"
	run -1 timeout 30 setpriv --reuid=nobody --regid=nogroup --clear-groups "$COLLIE" status
	[ "$output" = "collie: permission denied: uid $(id -u nobody) may not control this supervisor (uid 0)" ]
	run -1 timeout 30 setpriv --reuid=nobody --regid=nogroup --clear-groups "$COLLIE" down
	[[ "$output" == "collie: permission denied: uid $(id -u nobody)"* ]]
	# Nothing happened; root and the owner still get in.
	run -0 collie status a
	[[ "${lines[1]}" == "a "*"RUNNING"* ]]
	finish
}

@test "root may control a supervisor that runs as another user" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	command -v setpriv > /dev/null || skip "needs setpriv"
	conf "[program:a]" "command=$H pause" "startsecs=0"
	chmod 0711 "$TMP"
	chmod 0644 "$TMP/collie.ini"
	mkdir -m 0700 "$TMP/nobody"
	chown nobody "$TMP/nobody" "$TMP/trace"
	export COLLIE_SOCKET="$TMP/nobody/collie.sock"
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$COLLIE" up -v -c "$TMP/collie.ini" 2> "$TMP/trace" > /dev/null 7<&- &
	UP_PID=$!
	exec 7< "$TMP/trace"
	expect "a: STARTING -> RUNNING"
	run -0 collie status a
	[[ "${lines[1]}" == "a "*"RUNNING"* ]]
	run -0 collie down
	wait_up
	[ "$STATUS" -eq 0 ]
}

@test "garbage, oversized and half-sent requests close only their connection" {
	conf "[program:a]" "command=$H pause" "startsecs=0"
	up_ready
	run -0 python3 "$RAW" garbage "$COLLIE_SOCKET"
	[[ "${lines[0]}" == '{"ok":false,"error":"bad request: not JSON: '* ]]
	[ "${lines[-1]}" = EOF ]
	run -0 python3 "$RAW" oversized "$COLLIE_SOCKET"
	[ "${lines[0]}" = '{"ok":false,"error":"bad request: longer than 65536 bytes"}' ]
	[ "${lines[-1]}" = EOF ]
	# The bound is exact: 65536 bytes with the newline pass, one more does not.
	run -0 python3 "$RAW" sized "$COLLIE_SOCKET" 65536
	[ "${lines[0]}" = '{"ok":true,"pid":'"$UP_PID"'}' ]
	run -0 python3 "$RAW" sized "$COLLIE_SOCKET" 65537
	[ "${lines[0]}" = '{"ok":false,"error":"bad request: longer than 65536 bytes"}' ]
	run -0 python3 "$RAW" cutshort "$COLLIE_SOCKET"
	[ "${lines[0]}" = '{"ok":false,"error":"bad request: cut short by the end of input"}' ]
	[ "${lines[-1]}" = EOF ]
	# A half-sent request: while it hangs, others are answered; then it is closed.
	mkfifo "$TMP/raw"
	python3 "$RAW" halfsent "$COLLIE_SOCKET" > "$TMP/raw" &
	RAW_PID=$!
	exec 8< "$TMP/raw"
	read -r -t 20 line <&8
	[ "$line" = sent ]
	run -0 collie status a
	[[ "${lines[1]}" == "a "*"RUNNING"* ]]
	read -r -t 30 line <&8
	[[ "$line" == "EOF after "[4-9]" s" ]]
	exec 8<&-
	wait "$RAW_PID"
	RAW_PID=
	run -0 collie pid
	[ "$output" = "$UP_PID" ]
	finish
}

@test "a client that never reads cannot block the supervisor; many clients at once" {
	conf "[program:a]" "command=$H pause" "startsecs=0"
	up_ready
	mkfifo "$TMP/raw" "$TMP/hold"
	python3 "$RAW" noread "$COLLIE_SOCKET" < "$TMP/hold" > "$TMP/raw" &
	RAW_PID=$!
	exec 9> "$TMP/hold" 8< "$TMP/raw"
	read -r -t 20 line <&8
	[ "$line" = stuffed ]
	run -0 collie status a
	[[ "${lines[1]}" == "a "*"RUNNING"* ]]
	run -0 python3 "$RAW" many "$COLLIE_SOCKET" 100
	[ "$output" = "100 ok" ]
	exec 9>&- 8<&-
	wait "$RAW_PID"
	RAW_PID=
	# 30 clients of the real command at once.
	pids=()
	for i in $(seq 30); do
		collie pid > "$TMP/pid.$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
	[ "$(cat "$TMP"/pid.* | sort -u)" = "$UP_PID" ]
	finish
}

@test "a well-formed request the supervisor cannot do gets an error; the connection stays" {
	conf "[program:a]" "command=$H pause" "startsecs=0"
	up_ready
	run -0 python3 "$RAW" unknown "$COLLIE_SOCKET"
	[ "${lines[0]}" = '{"ok":false,"error":"unknown command '"'bogus'"'"}' ]
	[ "${lines[1]}" = '{"ok":true,"pid":'"$UP_PID"'}' ]
	run -0 python3 "$RAW" request "$COLLIE_SOCKET" '{"cmd": "start", "args": {"names": "a"}}'
	[ "$output" = '{"ok":false,"error":"bad request: \"names\" must be an array of strings"}' ]
	run -0 python3 "$RAW" request "$COLLIE_SOCKET" '[1, 2]'
	[ "$output" = '{"ok":false,"error":"bad request: a request is a JSON object"}' ]
	run -0 python3 "$RAW" request "$COLLIE_SOCKET" '{"cmd": "signal", "args": {"signal": "NOPE", "names": ["a"]}}'
	[[ "$output" == '{"ok":false,"error":"bad request: \"signal\" must name a signal'* ]]
	finish
}

@test "a second supervisor on the same socket fails and starts nothing" {
	conf "[program:a]" "command=$H pause" "startsecs=0"
	up_ready
	expect "a: STARTING -> RUNNING"
	run -1 collie up -v -c "$TMP/collie.ini"
	[[ "$output" == *"collie: up: another supervisor is running on $COLLIE_SOCKET"* ]]
	[[ "$output" != *"STARTING"* ]]
	run -0 collie pid
	[ "$output" = "$UP_PID" ]
	finish
}

@test "a stale socket from a dead supervisor is replaced; a file that is not a socket is not" {
	conf "[program:a]" "command=$H pause" "startsecs=0"
	mkdir -m 0700 "$TMP/run"
	python3 "$RAW" stale "$COLLIE_SOCKET"
	[ -S "$COLLIE_SOCKET" ]
	up_ready
	run -0 collie pid
	[ "$output" = "$UP_PID" ]
	finish
	: > "$TMP/run/collie.sock"
	run -1 collie up -c "$TMP/collie.ini"
	[[ "$output" == *"$COLLIE_SOCKET exists and is not a socket: not touching it"* ]]
	[ -f "$COLLIE_SOCKET" ]
}

@test "up -d returns once the socket answers; down leaves no process behind" {
	conf "[program:a]" "command=$H pause" "startsecs=0" \
		"[program:b]" "command=$H fork-wait pause" "startsecs=0"
	run -0 collie up -d -c "$TMP/collie.ini"
	# Returned: the socket answers at once, and the pidfile names the daemon.
	run -0 collie pid
	daemon="$output"
	[ "$(cat "$TMP/run/collie.pid")" = "$daemon" ]
	[ "$(cut -d' ' -f6 "/proc/$daemon/stat")" != "$daemon" ] # not a session leader
	[ "$(readlink "/proc/$daemon/fd/0")" = /dev/null ]
	# Wait (bounded) until both programs run, then note their processes.
	for _ in $(seq 200); do
		[ "$(collie status --json | json "sum(p['state'] == 'RUNNING' for p in d)")" = 2 ] && break
		sleep 0.05
	done
	a="$(collie pid a)"
	b="$(collie pid b)"
	# A second daemon on the same socket and pidfile is refused.
	run -1 collie up -d -c "$TMP/collie.ini"
	run -0 collie down
	! kill -0 "$daemon" 2>/dev/null
	! kill -0 "$a" 2>/dev/null
	! kill -0 "$b" 2>/dev/null
	[ -z "$(pgrep -g "$b" 2>/dev/null)" ]
	[ ! -e "$TMP/run/collie.pid" ]
}
