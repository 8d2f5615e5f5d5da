#!/usr/bin/env bats
# collie up: log capture. The supervisor runs in the foreground with -v:
# its trace ("collie: NAME: OLD -> NEW") is read from a fifo, and the tests
# wait for the transitions they expect. "All lines written" is the
# process's "RUNNING -> EXITED" (collie reads what a process left in its
# pipe before it traces the exit) and then collie's own exit (which
# flushes everything). Files are waited for with bounded loops; nothing
# waits for a time.

bats_require_minimum_version 1.5.0

load supervise

H="$COLLIE_TEST_HELPER"

setup() {
	sv_setup
	EXPECT_SECONDS=60 # 100,000-line tests on a loaded 2-core machine
}

teardown() {
	[ -z "${TTY_COLLIE:-}" ] || kill -KILL "$TTY_COLLIE" 2>/dev/null || true
	if [ -n "${FOLLOW:-}" ]; then # a `collie logs -f` a failed test left
		kill -CONT "$FOLLOW" 2>/dev/null || true
		kill -TERM "$FOLLOW" 2>/dev/null || true
		wait "$FOLLOW" 2>/dev/null || true
	fi
	sv_teardown
}

# collie ARGS - a client command, bounded: a hang fails the test.
collie() {
	timeout 30 "$COLLIE" "$@"
}

# follow ARGS - `collie logs -f ARGS` in the background, its stdout in
# $TMP/f.out, its stderr in $TMP/f.err, its pid (the client's own: tests
# stop it) in $FOLLOW. follow_status bounds it.
follow() {
	"$COLLIE" logs -f "$@" > "$TMP/f.out" 2> "$TMP/f.err" 7<&- &
	FOLLOW=$!
}

# follow_status - wait (20 s at most) for the follower to end; FSTATUS is
# its status.
follow_status() {
	local i
	for ((i = 0; i < 2000; i++)); do
		[ "$(cut -d' ' -f3 "/proc/$FOLLOW/stat" 2>/dev/null || echo gone)" = Z ] && break
		kill -0 "$FOLLOW" 2>/dev/null || break
		sleep 0.01
	done
	FSTATUS=0
	kill -0 "$FOLLOW" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$FOLLOW/stat")" != Z ] &&
		{ echo "collie logs -f did not end" >&2; return 1; }
	wait "$FOLLOW" || FSTATUS=$?
	FOLLOW=
}

# in_order FILE COUNT WIDTH - FILE is exactly lines 1..COUNT of wide-lines.
in_order() {
	awk -v n="$2" -v w="$3" '
		length($0) != w || $0 + 0 != NR || $0 !~ /^[0-9]+x*$/ { bad++ }
		END { if (NR != n || bad) { print FILENAME ": " NR " lines, " bad " bad"; exit 1 } }
	' "$1"
}

@test "100,000 lines from each of 4 instances: every line in its file, whole, in order" {
	conf "[program:w]" "command=$H wide-lines 100000 23" "numprocs=4" \
		"process_name=%(program_name)s.%(process_num)d" "startsecs=0" "autorestart=false" \
		"stdout_logfile=$TMP/w.%(process_num)d.log"
	up
	for i in 0 1 2 3; do expect "RUNNING -> EXITED"; done
	finish
	[ "$STATUS" -eq 0 ]
	for i in 0 1 2 3; do
		in_order "$TMP/w.$i.log" 100000 23
		grep -q "w.$i: stdout: 100000 lines, 100000 written, 0 dropped" "$TMP/seen"
	done
	# a stream with a log file is not copied to the terminal
	[ ! -s "$TMP/out" ]
}

@test "4 instances to the foreground: prefixed, padded, every line whole and in per-instance order" {
	conf "[program:w]" "command=$H wide-lines 25000 17" "numprocs=4" \
		"process_name=%(program_name)s.%(process_num)d" "startsecs=0" "autorestart=false" \
		"[program:quiet]" "command=$H exit 0" "startsecs=0" "autorestart=false"
	up
	for i in 0 1 2 3 4; do expect "RUNNING -> EXITED"; done
	finish
	[ "$STATUS" -eq 0 ]
	# "w.0   | 1xxx": the names padded to the longest, "quiet"
	awk '
		{ name = substr($0, 1, 5); sep = substr($0, 6, 3); v = substr($0, 9) }
		sep != " | " || name !~ /^w\.[0-3]  $/ || length(v) != 17 || v + 0 != ++seen[name] { bad++ }
		END { for (k in seen) if (seen[k] != 25000) bad++; exit !(NR == 100000 && !bad) }
	' "$TMP/out"
	! grep -q $'\033' "$TMP/out" # not a terminal: no colour
}

@test "redirect_stderr: stderr in the stdout pipe, in the order written" {
	conf "[program:r]" "command=$H echo out1 echo-err err1 echo out2 echo-err err2" \
		"startsecs=0" "autorestart=false" "redirect_stderr=true" "stdout_logfile=$TMP/r.log" \
		"[program:s]" "command=$H echo out echo-err err" "startsecs=0" "autorestart=false" \
		"stdout_logfile=$TMP/s.out" "stderr_logfile=$TMP/s.err"
	up
	expect "RUNNING -> EXITED"
	expect "RUNNING -> EXITED"
	finish
	[ "$(cat "$TMP/r.log")" = $'out1\nerr1\nout2\nerr2' ]
	[ "$(cat "$TMP/s.out")" = out ]
	[ "$(cat "$TMP/s.err")" = err ]
	grep -q "r: stdout: 4 lines, 4 written, 0 dropped" "$TMP/seen"
}

@test "rotation by size: files within maxbytes, no line lost or split across files" {
	conf "[program:rot]" "command=$H wide-lines 400 10" "startsecs=0" "autorestart=false" \
		"stdout_logfile=$TMP/rot.log" "stdout_logfile_maxbytes=1KB" \
		"stdout_logfile_backups=5" \
		"[program:few]" "command=$H wide-lines 500 10" "startsecs=0" "autorestart=false" \
		"stdout_logfile=$TMP/few.log" "stdout_logfile_maxbytes=1KB" \
		"stdout_logfile_backups=2"
	up
	expect "RUNNING -> EXITED"
	expect "RUNNING -> EXITED"
	finish
	# 93 lines of 11 bytes fit in 1024: .4 .. .1 are full, the rest in rot.log
	for f in rot.log.4 rot.log.3 rot.log.2 rot.log.1; do
		[ "$(stat -c %s "$TMP/$f")" -eq 1023 ]
	done
	[ "$(stat -c %s "$TMP/rot.log")" -eq $(((400 - 4 * 93) * 11)) ]
	[ ! -e "$TMP/rot.log.5" ]
	cat "$TMP"/rot.log.{4,3,2,1} "$TMP/rot.log" > "$TMP/all"
	in_order "$TMP/all" 400 10
	# backups=2: the oldest are gone; what is kept is whole and contiguous,
	# lines 280 to 500 (five files were filled, 93 lines each)
	[ ! -e "$TMP/few.log.3" ]
	cat "$TMP"/few.log.{2,1} "$TMP/few.log" > "$TMP/kept"
	[ "$(wc -l < "$TMP/kept")" -eq 221 ]
	awk '$0 + 0 != 279 + NR || length($0) != 10 { exit 1 }' "$TMP/kept"
}

@test "SIGUSR2 reopens the log files after they were renamed" {
	conf "[program:app]" "command=$H block-signals print-pgid signals 1 echo after" \
		"startsecs=0" "autorestart=false" "stdout_logfile=$TMP/app.log"
	up
	wait_line "$TMP/app.log" " "
	pid="$(cut -d' ' -f1 "$TMP/app.log")"
	mv "$TMP/app.log" "$TMP/app.log.1"
	kill -USR2 "$UP_PID"
	expect "SIGUSR2: reopened 1 log files"
	kill -USR1 "$pid"
	expect "app: RUNNING -> EXITED"
	finish
	[ "$(wc -l < "$TMP/app.log.1")" -eq 1 ]
	[ "$(cat "$TMP/app.log")" = $'SIGUSR1\nafter' ]
}

@test "stdout_logfile=/dev/stdout and /dev/stderr: collie's own output, prefixed" {
	conf "[program:a]" "command=$H echo to-out echo-err to-err" "startsecs=0" \
		"autorestart=false" "stdout_logfile=/dev/stdout" "stderr_logfile=/dev/stderr" \
		"[program:longer]" "command=$H echo hi" "startsecs=0" "autorestart=false"
	up
	expect "RUNNING -> EXITED"
	expect "RUNNING -> EXITED"
	finish
	grep -qx "a      | to-out" "$TMP/out"
	grep -qx "longer | hi" "$TMP/out"
	! grep -q "to-err" "$TMP/out"
	grep -qx "a      | to-err" "$TMP/seen"
}

@test "a FIFO as log file: written as a stream, prefixed, never seeked" {
	mkfifo "$TMP/fifo"
	timeout 20 cat "$TMP/fifo" > "$TMP/got" &
	READER=$!
	conf "[program:f]" "command=$H echo one echo two" "startsecs=0" "autorestart=false" \
		"stdout_logfile=$TMP/fifo"
	up
	expect "f: RUNNING -> EXITED"
	finish
	[ "$STATUS" -eq 0 ]
	wait "$READER" # EOF: collie closed it at exit
	# (were collie first to the FIFO, it would retry the open a second
	# later, holding the lines)
	[ "$(cat "$TMP/got")" = $'f | one\nf | two' ]
}

@test "a line longer than 16 KiB is cut into marked pieces; 16 KiB exactly is not" {
	conf "[program:long]" "command=$H long-line 40000 long-line 16384" "startsecs=0" \
		"autorestart=false" "stdout_logfile=$TMP/long.log"
	up
	expect "long: RUNNING -> EXITED"
	finish
	[ "$(wc -l < "$TMP/long.log")" -eq 4 ]
	mapfile -t l < "$TMP/long.log"
	[[ "${l[0]}" == 0123456789*" [...]" ]]
	[ "${#l[0]}" -eq $((16384 + 6)) ]
	[[ "${l[1]}" == "[...] 4567"*" [...]" ]] # 16384 % 10 == 4: the text goes on
	[ "${#l[1]}" -eq $((6 + 16384 + 6)) ]
	[[ "${l[2]}" == "[...] 8901"* ]]
	[ "${#l[2]}" -eq $((6 + 40000 - 2 * 16384)) ]
	[[ "${l[2]}" != *"[...]"*"[...]"* ]]
	[ "${#l[3]}" -eq 16384 ]
	[[ "${l[3]}" != *"[...]"* ]]
	# without the marks, the text is exactly what was written
	head -n 3 "$TMP/long.log" | sed 's/ \[\.\.\.\]$//; s/^\[\.\.\.\] //' | tr -d '\n' > "$TMP/joined"
	"$H" long-line 40000 | tr -d '\n' | cmp - "$TMP/joined"
	grep -q "long: stdout: 4 lines, 4 written, 0 dropped" "$TMP/seen"
}

@test "an unterminated last line is written when the process exits" {
	conf "[program:p]" "command=$H echo whole print partial" "startsecs=0" \
		"autorestart=false" "stdout_logfile=$TMP/p.log"
	up
	expect "p: RUNNING -> EXITED"
	[ "$(cat "$TMP/p.log")" = $'whole\npartial' ] # before collie exits
	finish
}

@test "a restarted process writes into the same pipe: every run's lines are kept" {
	conf "[program:again]" "command=$H echo run print tail exit 3" "startsecs=0" \
		"autorestart=unexpected" "backoff_min=0.01" "backoff_max=0.05" \
		"stdout_logfile=$TMP/again.log"
	up
	expect "again: EXITED -> STARTING"
	expect "again: EXITED -> STARTING"
	expect "again: RUNNING -> EXITED"
	finish
	# run, tail (the unterminated end of each run), run, tail, ...; the
	# run SIGTERM stopped may have got part of the way
	[ "$(grep -cx tail "$TMP/again.log")" -ge 3 ]
	awk '$0 != (NR % 2 ? "run" : "tail") { exit 1 }' "$TMP/again.log"
}

@test "log_timestamps: iso8601 and unix" {
	conf "[program:iso]" "command=$H echo hello" "startsecs=0" "autorestart=false" \
		"stdout_logfile=$TMP/iso.log" "log_timestamps=iso8601" \
		"[program:unix]" "command=$H echo hello" "startsecs=0" "autorestart=false" \
		"stdout_logfile=$TMP/unix.log" "log_timestamps=unix" \
		"[program:fg]" "command=$H echo hello" "startsecs=0" "autorestart=false" \
		"log_timestamps=unix"
	up
	for i in 1 2 3; do expect "RUNNING -> EXITED"; done
	finish
	grep -Eqx '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z hello' "$TMP/iso.log"
	grep -Eqx '[0-9]{10,}\.[0-9]{6} hello' "$TMP/unix.log"
	grep -Eqx 'fg   \| [0-9]{10,}\.[0-9]{6} hello' "$TMP/out"
	# and close to now
	t="$(cut -d. -f1 "$TMP/unix.log")"
	[ $((t - $(date +%s))) -le 1 ] && [ $(($(date +%s) - t)) -le 60 ]
}

@test "a destination that cannot be written: lines held, then dropped and counted, never silently" {
	conf "[program:full]" "command=$H wide-lines 30000 100" "startsecs=0" \
		"autorestart=false" "stdout_logfile=/dev/full"
	up
	expect "full: RUNNING -> EXITED"
	finish
	[ "$STATUS" -eq 0 ]
	grep -q "/dev/full: cannot write: No space left on device; holding its lines" "$TMP/seen"
	grep -q "/dev/full: 1024 KiB held and it still cannot be written" "$TMP/seen"
	grep -q "/dev/full: [0-9]* lines could not be written before exit" "$TMP/seen"
	grep -q "full: stdout: 30000 lines, 0 written, 30000 dropped" "$TMP/seen"
}

@test "a full disk: lines held, the rest counted, and all written with a note once there is room" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to mount a small tmpfs in a private mount namespace"
	unshare --mount --propagation private true 2>/dev/null ||
		skip "unshare --mount is not allowed here"
	mkdir "$TMP/mnt"
	conf "[program:p]" \
		"command=$H block-signals print-pgid signals 1 wide-lines 20000 100 echo-err written signals 1 echo after" \
		"startsecs=0" "autorestart=false" "stdout_logfile=$TMP/mnt/p.log"
	# collie runs in a private mount namespace with a 4 MiB tmpfs on mnt;
	# the test reaches that mount through /proc/PID/root.
	MNT_DIR="$TMP/mnt" unshare --mount --propagation private sh -c \
		'mount -t tmpfs -o size=4m collie-test "$MNT_DIR" && exec "$@"' sh \
		"$COLLIE" up -v -c "$TMP/collie.ini" 2> "$TMP/trace" > "$TMP/out" 7<&- &
	UP_PID=$!
	exec 7< "$TMP/trace"
	expect "p: STARTING -> RUNNING"
	MNT="/proc/$UP_PID/root$TMP/mnt"
	wait_line "$MNT/p.log" " "
	pid="$(cut -d' ' -f1 "$MNT/p.log")"
	dd if=/dev/zero of="$MNT/filler" bs=4k 2>/dev/null || true # until ENOSPC
	kill -USR1 "$pid"
	expect "p.log: cannot write: No space left on device"
	expect "dropping lines"
	wait_line "$TMP/out" "p | written"
	rm "$MNT/filler"
	expect "p.log: writing again"
	kill -USR1 "$pid"
	expect "p: RUNNING -> EXITED"
	cp "$MNT/p.log" "$TMP/p.log"
	finish
	[ "$STATUS" -eq 0 ]
	# every line is there, or counted in a note where the gap is
	dropped="$(awk '/^\[collie\] [0-9]+ lines dropped: No space left on device$/ { n += $2 }
		END { print n + 0 }' "$TMP/p.log")"
	[ "$dropped" -gt 0 ]
	[ "$(sed -n 2p "$TMP/p.log")" = SIGUSR1 ]
	[ "$(tail -n 2 "$TMP/p.log")" = $'SIGUSR1\nafter' ]
	grep -E '^[0-9]+x+$' "$TMP/p.log" > "$TMP/kept"
	[ $(($(wc -l < "$TMP/kept") + dropped)) -eq 20000 ]
	awk 'length($0) != 100 || $0 + 0 <= last { exit 1 } { last = $0 + 0 }' "$TMP/kept"
	grep -q "p: stdout: 20004 lines, $((20004 - dropped)) written, $dropped dropped" "$TMP/seen"
}

@test "syslog: one datagram per line, the process name as the tag" {
	command -v python3 >/dev/null || skip "python3 is needed for a syslog socket"
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
with open(sys.argv[2], "w") as f:
    for i in range(2):
        f.write(s.recv(65536).decode() + "\n")
' "$TMP/log.sock" "$TMP/syslog" &
	RECV=$!
	for ((i = 0; i < 2000; i++)); do [ -S "$TMP/log.sock" ] && break; sleep 0.01; done
	conf "[program:sl]" "command=$H echo hello echo-err oops" "startsecs=0" \
		"autorestart=false" "stdout_syslog=true" "stderr_syslog=true" "stdout_logfile=$TMP/sl.log"
	UP_PREFIX=(env COLLIE_SYSLOG_SOCKET="$TMP/log.sock")
	up
	expect "sl: RUNNING -> EXITED"
	finish
	wait "$RECV"
	grep -Eqx '<14>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} sl: hello' "$TMP/syslog"
	grep -Eqx '<11>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} sl: oops' "$TMP/syslog"
	# syslog is in addition to the file; stderr has no file: the terminal
	[ "$(cat "$TMP/sl.log")" = hello ]
	grep -qx "sl | oops" "$TMP/out"
}

# up_tty [ENV=VALUE...] - collie up with its stdout on a terminal (script(1)),
# what the terminal shows in $TMP/tty; until both programs have exited.
up_tty() {
	script -qfec "exec env $* $COLLIE up -v -c $TMP/collie.ini 2> $TMP/trace" "$TMP/tty" \
		> /dev/null 2>&1 7<&- &
	UP_PID=$!
	exec 7< "$TMP/trace"
	# script's child execs collie: that is the pid to signal (a hangup
	# would not end it: SIGHUP is collie's reload)
	TTY_COLLIE="$(cat "/proc/$UP_PID/task/$UP_PID/children")"
	expect "RUNNING -> EXITED"
	expect "RUNNING -> EXITED"
	kill -TERM "$TTY_COLLIE"
	wait_up
	TTY_COLLIE=
	exec 7<&-
}

@test "colour per program on a terminal, none with NO_COLOR" {
	command -v script > /dev/null || skip "script(1) is needed for a terminal"
	conf "[program:a]" "command=$H echo one" "startsecs=0" "autorestart=false" \
		"[program:b]" "command=$H echo two" "startsecs=0" "autorestart=false"
	up_tty
	grep -q $'\033\\[36ma |\033\\[0m one' "$TMP/tty"
	grep -q $'\033\\[33mb |\033\\[0m two' "$TMP/tty"
	up_tty NO_COLOR=1
	grep -q "a | one" "$TMP/tty"
	! grep -q $'\033' "$TMP/tty"
}

# ---- collie logs ----

@test "logs: all of it across the rotated files, oldest first; -n N the last N lines" {
	conf "[program:rot]" "command=$H wide-lines 400 10" "startsecs=0" "autorestart=false" \
		"stdout_logfile=$TMP/rot.log" "stdout_logfile_maxbytes=1KB" \
		"stdout_logfile_backups=5"
	up_ready
	expect "rot: RUNNING -> EXITED"
	# rot.log.4 .. .1 hold 93 lines each, rot.log the last 28
	[ "$(wc -l < "$TMP/rot.log")" -eq 28 ]
	collie logs rot > "$TMP/all"
	in_order "$TMP/all" 400 10
	collie logs -n 100 rot > "$TMP/last" # rot.log and 72 lines of rot.log.1
	[ "$(wc -l < "$TMP/last")" -eq 100 ]
	awk '$0 + 0 != 300 + NR || length($0) != 10 { exit 1 }' "$TMP/last"
	collie logs -n 250 rot > "$TMP/last" # into rot.log.3
	[ "$(wc -l < "$TMP/last")" -eq 250 ]
	awk '$0 + 0 != 150 + NR { exit 1 }' "$TMP/last"
	collie logs -n 28 rot | cmp - "$TMP/rot.log"
	collie logs -n 1000 rot | cmp - "$TMP/all"
	[ -z "$(collie logs -n 0 rot)" ]
	finish
}

@test "logs: every process prefixed as in the foreground; one NAME, none; GROUP:* selects" {
	conf "[program:web]" "command=$H echo hello-%(process_num)d pause" "numprocs=2" \
		"process_name=web_%(process_num)d" "stdout_logfile=$TMP/web_%(process_num)d.log" \
		"[program:worker]" "command=$H echo working echo-err complaining pause"
	up_ready
	wait_line "$TMP/web_1.log" hello
	wait_line "$TMP/web_0.log" hello
	expect_out "worker | complaining"
	run -0 collie logs
	[ "$output" = $'web_0  | hello-0\nweb_1  | hello-1\nworker | working\nworker | complaining' ]
	run -0 collie logs web_1
	[ "$output" = hello-1 ]
	run -0 collie logs 'web:*'
	[ "$output" = $'web_0 | hello-0\nweb_1 | hello-1' ]
	run -0 collie logs worker web_0
	[ "$output" = $'web_0  | hello-0\nworker | working\nworker | complaining' ]
	finish
}

@test "logs: a process without a log file: its last 4 KiB kept in memory, both streams in order" {
	conf "[program:fg]" "command=$H echo out echo-err err echo out2 pause" \
		"[program:chatty]" "command=$H wide-lines 5000 99 pause" \
		"[program:quiet]" "command=$H pause" \
		"[program:file]" "command=$H wide-lines 5000 99 pause" "stdout_logfile=$TMP/file.log"
	up_ready
	expect_out "fg     | out2"
	expect_out "chatty | 5000x"
	# in the order collie read them: each stream's lines in order (two
	# pipes: which of them is read first is the kernel's choice)
	run -0 collie logs fg
	[ "${#lines[@]}" -eq 3 ]
	[ "$(grep -v err <<< "$output")" = $'out\nout2' ]
	grep -qx err <<< "$output"
	run -0 collie logs -n 1 chatty
	[ "$output" = "5000$(printf 'x%.0s' $(seq 95))" ]
	# the last lines, whole and contiguous, within 4 KiB
	collie logs chatty > "$TMP/tail"
	[ "$(stat -c %s "$TMP/tail")" -le 4096 ]
	[ "$(stat -c %s "$TMP/tail")" -gt $((4096 - 2 * 100)) ]
	[ "$(tail -n 1 "$TMP/tail")" = "5000$(printf 'x%.0s' $(seq 95))" ]
	awk 'length($0) != 99 || (NR > 1 && $0 + 0 != last + 1) { exit 1 } { last = $0 + 0 }' \
		"$TMP/tail"
	# nothing yet: nothing printed, no complaint
	run -0 collie logs quiet
	[ -z "$output" ]
	# with a log file nothing is kept in memory: the file is read
	wait_line "$TMP/file.log" "^5000x"
	collie logs file | cmp - "$TMP/file.log"
	finish
}

@test "logs: unknown names, bad usage and no supervisor: messages and exit status" {
	conf "[program:a]" "command=$H pause"
	up_ready
	run -1 collie logs nope a other
	[ "$output" = "collie: no processes named 'nope', 'other'" ]
	run -1 collie logs -f nope
	[ "$output" = "collie: no process named 'nope'" ]
	run -2 collie logs -n -1 a
	[[ "$output" == *"-n: '-1' is not a number of lines"* ]]
	run -2 collie logs -n many
	[[ "$output" == *"-n: 'many' is not a number of lines"* ]]
	run -2 collie logs --reopen a
	[[ "$output" == *"--reopen reopens every log file: it takes no NAME, -f or -n"* ]]
	run -2 collie logs --reopen -f
	run -2 collie logs --json
	[[ "$output" == *"--json does not apply here"* ]]
	run -2 collie status -f
	run -0 collie logs --help
	[[ "$output" == "usage: collie logs [-s SOCKET] [-f] [-n N] [NAME...]"* ]]
	finish
	run -1 collie logs
	[[ "$output" == *"no supervisor is running on"* ]]
}

@test "logs -f: the kept lines, then the new ones as they come, prefixed; ends with 0 when the supervisor exits" {
	conf "[program:app]" "command=$H echo first block-signals signals 1 echo second pause" \
		"stdout_logfile=$TMP/app.log" \
		"[program:fg]" "command=$H echo fg-first block-signals signals 1 echo fg-second pause"
	up_ready
	wait_line "$TMP/app.log" first
	expect_out "fg-first"
	follow
	wait_line "$TMP/f.out" "fg  | fg-first"
	kill -USR1 "$(collie pid app)"
	wait_line "$TMP/f.out" "app | second"
	kill -USR1 "$(collie pid fg)"
	wait_line "$TMP/f.out" "fg  | fg-second"
	[ "$(grep -c . "$TMP/f.out")" -eq 6 ]
	grep -qx "app | first" "$TMP/f.out"
	grep -qx "app | SIGUSR1" "$TMP/f.out"
	finish
	follow_status
	[ "$FSTATUS" -eq 0 ]
	[ "$(cat "$TMP/f.err")" = "collie: logs: the supervisor has exited" ]
}

@test "logs -f: no line lost or repeated at the seam between the kept lines and the followed ones" {
	# a writer that writes numbered lines until told to stop, while collie
	# rotates its file; the follower starts in the middle of it
	conf "[program:w]" "command=$H count-until $TMP/stop 100" "startsecs=0" \
		"autorestart=false" "stdout_logfile=$TMP/w.log" "stdout_logfile_maxbytes=1KB" \
		"stdout_logfile_backups=1000"
	up_ready
	wait_line "$TMP/w.log" "^300$"
	follow w
	wait_line "$TMP/f.out" "^300$"
	# the follower is past its kept lines once it shows lines written after it started
	start="$(cat "$TMP"/w.log* | wc -l)"
	wait_line "$TMP/f.out" "^$((start + 1000))$"
	touch "$TMP/stop"
	expect "w: RUNNING -> EXITED"
	last="$(tail -n 1 "$TMP/w.log")"
	# it rotated while followed (about 200 lines a file)
	[ "$(head -n 1 "$TMP/w.log")" -gt $((start + 200)) ]
	wait_line "$TMP/f.out" "^$last$"
	finish
	follow_status
	[ "$FSTATUS" -eq 0 ]
	# 1 .. last, each once, in order
	awk '$0 != NR { print "line " NR ": " $0; exit 1 } END { exit NR != '"$last"' }' "$TMP/f.out"
}

@test "logs -f: a follower that does not read blocks nothing, costs a bounded buffer, and is told what it missed" {
	conf "[program:big]" "command=$H echo start block-signals signals 1 lines 100000" \
		"startsecs=0" "autorestart=false" "stdout_logfile=$TMP/big.log" \
		"[program:other]" "command=$H block-signals signals 1 lines 1000" \
		"startsecs=0" "autorestart=false" "stdout_logfile=$TMP/other.log"
	up_ready
	wait_line "$TMP/big.log" start
	follow big
	wait_line "$TMP/f.out" start
	kill -STOP "$FOLLOW"
	kill -USR1 "$(collie pid big)"
	expect_any "big: RUNNING -> EXITED"
	# every line is in the file, and the supervisor goes on: another
	# program's lines are written, the control socket answers
	[ "$(wc -l < "$TMP/big.log")" -eq 100002 ]
	kill -USR1 "$(collie pid other)"
	expect_any "other: RUNNING -> EXITED"
	[ "$(wc -l < "$TMP/other.log")" -eq 1001 ]
	run -0 collie status big
	kill -CONT "$FOLLOW"
	wait_line "$TMP/f.out" "lines dropped: this reader did not keep up"
	finish
	follow_status
	[ "$FSTATUS" -eq 0 ]
	# each line it got in order, and every other line counted
	dropped="$(awk '/^\[collie\] [0-9]+ lines dropped/ { n += $2 } END { print n + 0 }' "$TMP/f.out")"
	grep -Ex '[0-9]+' "$TMP/f.out" > "$TMP/got"
	[ $(($(wc -l < "$TMP/got") + dropped + 1)) -eq 100001 ] # + SIGUSR1
	# what was kept for it while it was stopped is bounded: 256 KiB of
	# messages of about 60 bytes, and what its socket held (100,000
	# lines would be 6 MB)
	[ "$(wc -l < "$TMP/got")" -lt 20000 ]
	awk '$0 + 0 <= last { exit 1 } { last = $0 + 0 }' "$TMP/got"
}

@test "logs --reopen: after a rename the lines go to a new file; says how many it reopened" {
	conf "[program:app]" "command=$H block-signals echo before signals 1 echo after pause" \
		"stdout_logfile=$TMP/app.log" \
		"[program:two]" "command=$H pause" "stdout_logfile=$TMP/two.log" \
		"stderr_logfile=$TMP/two.err"
	up_ready
	wait_line "$TMP/app.log" before
	mv "$TMP/app.log" "$TMP/app.log.old"
	# renamed and not reopened: collie writes a file logs cannot find
	run -1 collie logs app
	[[ "$output" == *"app: $TMP/app.log is not the file collie writes any more"* ]]
	run -0 collie logs --reopen
	[ "$output" = "reopened 3 log files" ]
	kill -USR1 "$(collie pid app)"
	wait_line "$TMP/app.log" after
	[ "$(cat "$TMP/app.log")" = $'SIGUSR1\nafter' ]
	[ "$(cat "$TMP/app.log.old")" = before ]
	# and what logs reads is the new file
	run -0 collie logs app
	[ "$output" = $'SIGUSR1\nafter' ]
	finish
}

@test "logs --reopen: a file that cannot be opened again is said, exit 1; collie goes on" {
	mkdir "$TMP/d"
	conf "[program:app]" "command=$H echo one pause" "stdout_logfile=$TMP/d/app.log"
	up_ready
	wait_line "$TMP/d/app.log" one
	mv "$TMP/d" "$TMP/gone"
	run -1 collie logs --reopen
	[ "${lines[0]}" = "reopened 0 log files" ]
	[ "${lines[1]}" = "collie: logs --reopen: $TMP/d/app.log: No such file or directory" ]
	[ "${lines[2]}" = "collie: reopen: 1 log file cannot be written" ]
	run -0 collie status app
	finish
}
