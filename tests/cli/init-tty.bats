#!/usr/bin/env bats
# collie init under a real terminal: job control, as bash has it. script(1)
# (util-linux) runs each session on a new pty; the test types into its
# stdin (a fifo held open as fd 8) and reads what the terminal shows from
# its stdout (a fifo, fd 7). Every step waits for a line to appear (a
# marker the typed command computes, so the echo of the typing does not
# match it), bounded in time; nothing waits for a fixed time.

load init-scenarios
bats_require_minimum_version 1.5.0

setup() {
	command -v script > /dev/null || skip "script(1) (util-linux) is not installed"
	TMP="$(mktemp -d)"
	mkfifo "$TMP/in" "$TMP/out"
	# For the shells under test: no history file, no terminal escapes.
	export TERM=dumb HISTFILE=
}

teardown() {
	exec 6>&- 7<&- 8>&- 2> /dev/null || true
	# timeout passes SIGTERM on to script, which ends the session. A
	# collie left in the background with a stopped child outlives it.
	if [ -n "${collie:-}" ]; then
		kill -KILL "$collie" 2> /dev/null || true
	fi
	if [ -n "${TTY_PID:-}" ]; then
		kill -TERM "$TTY_PID" 2> /dev/null || true
		wait "$TTY_PID" 2> /dev/null || true
	fi
	rm -rf "$TMP"
}

# tty_start COMMAND - run COMMAND (a sh command line) on a new terminal.
tty_start() {
	exec 8<> "$TMP/in"
	open_out
	timeout -k 5 60 script -qfec "$1" /dev/null < "$TMP/in" >&6 6>&- 7<&- 8<&- &
	TTY_PID=$!
	read_out
}

# send TEXT - type TEXT, with backslash escapes: \n is Enter, \x1a ^Z,
# \x03 ^C, \x1c ^\.
send() {
	printf '%b' "$1" >&8
}

# expect_line PATTERN - read what the terminal shows until a line matches
# PATTERN (a glob on the whole line, carriage returns removed), at most
# 20 s; sets LINE to it. The lines read are kept in $TMP/screen, shown
# when the pattern does not come.
expect_line() {
	local deadline=$((SECONDS + 20)) r
	while [ "$SECONDS" -lt "$deadline" ]; do
		r=0
		IFS= read -r -t "$((deadline - SECONDS))" LINE <&7 || r=$?
		LINE="${LINE//$'\r'/}"
		printf '%s\n' "$LINE" >> "$TMP/screen"
		# shellcheck disable=SC2053
		[[ "$LINE" == $1 ]] && return 0
		[ "$r" -eq 0 ] || [ "$r" -gt 128 ] || break # EOF
	done
	echo "expected a line like '$1'; the terminal showed:"
	cat "$TMP/screen"
	tty_processes
	return 1
}

# expect_prompt - wait until the shell shows its prompt. After a job
# stopped, bash resets the terminal's modes before it reads again, and what
# is typed before that can lose characters: type only after the prompt.
expect_prompt() {
	expect_line 'SHELL-PROMPT'
}

# tty_processes - show the processes of the terminal's session (that of
# script's child), for a test that failed.
tty_processes() {
	local script sid
	script="$(pgrep -P "$TTY_PID")" && sid="$(pgrep -P "$script")" &&
		ps -o pid,ppid,pgid,sid,tpgid,stat,wchan:20,args --forest -s "$sid"
}

# tty_wait - wait for script to end; sets STATUS to its command's status.
tty_wait() {
	STATUS=0
	wait "$TTY_PID" || STATUS=$?
	TTY_PID=""
}

# ready_prompt - wait until the interactive bash reads, and give it a
# prompt on a line of its own (bash takes no PS1 from its environment).
ready_prompt() {
	send "PS1='SHELL-PROMPT\\\\n'; echo READY-\$((6 * 7))\\n"
	expect_line 'READY-42'
}

# outer_shell - an interactive bash on a new terminal, ready for input.
outer_shell() {
	tty_start "bash --norc --noprofile -i"
	ready_prompt
}

# A job that shows it runs and its parent ("READER-1234"), then reads a
# line from the terminal ("GOT-line").
READER="sh -c 'echo READER-\$PPID; read x; echo GOT-\$x'"

# fg_reads - fg the reader job, type a line, see the job read it and end
# with 0; then end the session.
fg_reads() {
	send 'fg\n'
	expect_line "*sh -c 'echo READER*"
	send 'abc\n'
	expect_line 'GOT-abc'
	send 'echo RC-$?\n'
	expect_line 'RC-0'
	send 'exit\n'
	tty_wait
	[ "$STATUS" -eq 0 ]
}

# bash_under INIT... - on a new terminal, sh runs INIT over an interactive
# bash, then prints "BACK pgid tpgid": its own group and the terminal's
# foreground group, once the init has exited. sh does no job control: the
# init stays in sh's group, which owns the terminal before and after.
bash_under() {
	local init
	printf -v init '%q ' "$@"
	cat > "$TMP/session" <<-END
		$init bash --norc --noprofile -i
		status=\$?
		echo "BACK \$(ps -o pgid=,tpgid= -p \$\$)"
		exit \$status
	END
	tty_start "sh $TMP/session"
	ready_prompt
	send 'echo FG $$ $(ps -o pgid=,tpgid= -p $$)\n'
	expect_line 'FG *'
	read -r _ pid pgid tpgid <<< "$LINE"
}

# bash_exit - exit the bash of bash_under with 7; sets pgid and tpgid
# from BACK.
bash_exit() {
	send 'exit 7\n'
	expect_line 'BACK *'
	read -r _ pgid tpgid <<< "$LINE"
	tty_wait
	[ "$STATUS" -eq 7 ]
}

@test "bash under collie init has the terminal: jobs, ^Z, fg, kill %1; exit ends collie with bash's status, the terminal back" {
	bash_under "$COLLIE" init --
	# bash leads its own group, and that group has the terminal.
	[ "$pgid" = "$pid" ]
	[ "$tpgid" = "$pid" ]
	send 'sleep 1001 &\n'
	expect_line '\[1\] [0-9]*'
	send 'jobs\n'
	expect_line '\[1\]+ *Running *sleep 1001 &'
	send "$READER\\n"
	expect_line 'READER-[0-9]*'
	send '\x1a'
	expect_line '\[2\]+ *Stopped *sh -c*'
	expect_prompt
	send 'echo PROMPT-$((2 + 2))\n'
	expect_line 'PROMPT-4'
	send 'fg\n' # it reads from the terminal again
	expect_line "sh -c 'echo READER*"
	send 'abc\n'
	expect_line 'GOT-abc'
	send 'kill %1; wait %1; echo RC-$?\n'
	expect_line 'RC-143'
	bash_exit
	[ "$tpgid" = "$pgid" ] # collie took the terminal back for sh's group
}

# stop_and_fg INIT... - under an interactive shell, ^Z on the reader job
# run under INIT: the shell reports it stopped and has its prompt back,
# the init's child is stopped too; fg gives the job the terminal again.
stop_and_fg() {
	local init child
	outer_shell
	send "$* $READER\\n"
	expect_line 'READER-[0-9]*'
	init="${LINE#READER-}"
	child="$(cat "/proc/$init/task/$init/children")"
	send '\x1a'
	expect_line '\[1\]+ *Stopped *'
	expect_prompt
	until_within 10 is_state "${child% }" T
	send 'echo PROMPT-$((2 + 2))\n'
	expect_line 'PROMPT-4'
	fg_reads
}

@test "under an interactive shell, ^Z stops collie init's job and fg resumes it, as with dumb-init" {
	stop_and_fg "$COLLIE" init --
	command -v dumb-init > /dev/null || skip "dumb-init is not installed"
	stop_and_fg dumb-init
}

@test "^C and ^\\ reach the child, which has the terminal: collie exits 130, 131" {
	outer_shell
	send "$COLLIE init -- sh -c 'echo FGJOB-\$((1 + 1)); exec sleep 1003'\\n"
	expect_line 'FGJOB-2'
	send '\x03'
	send 'echo RC-$?\n'
	expect_line 'RC-130'
	send "$COLLIE init -- sh -c 'echo FGJOB-\$((1 + 2)); exec sleep 1003'\\n"
	expect_line 'FGJOB-3'
	send '\x1c'
	send 'echo RC-$?\n'
	expect_line 'RC-131'
	send 'exit\n'
	tty_wait
}

@test "bg after ^Z: the job stops again when the child reads the terminal, the shell keeps it; fg gives it back" {
	outer_shell
	send "$COLLIE init -- $READER\\n"
	expect_line 'READER-[0-9]*'
	collie="${LINE#READER-}"
	send '\x1a'
	expect_line '\[1\]+ *Stopped *'
	expect_prompt
	send 'bg\n'
	expect_line '\[1\]+ *&'
	# As a plain job: "Stopped (tty input)" once it reads.
	until_within 10 is_state "$collie" T
	send 'echo PROMPT-$((2 + 2))\n' # the shell reads this, not the job
	expect_line 'PROMPT-4'
	# collie stopped with the child's signal, which bash names in its
	# POSIX mode.
	send 'set -o posix; jobs; set +o posix\n'
	expect_line '\[1\]+ *Stopped(SIGTTIN) *'
	fg_reads
}

@test "started in the background, the child stops when it reads the terminal, and fg gives it the terminal" {
	outer_shell
	send "$COLLIE init -- $READER &\\n"
	expect_line '*READER-[0-9]*' # after the prompt
	collie="${LINE##*READER-}"
	fg_reads
}

# stop_by_signal SIG - SIG sent to collie init stops its job once, and
# fg resumes it.
stop_by_signal() {
	outer_shell
	send "$COLLIE init -- $READER\\n"
	expect_line 'READER-[0-9]*'
	collie="${LINE#READER-}"
	kill -s "$1" "$collie"
	expect_line '\[1\]+ *Stopped *'
	expect_prompt
	send 'set -o posix; jobs; set +o posix\n'
	expect_line "\\[1\\]+ *Stopped(SIG$1) *"
	fg_reads
}

@test "SIGTSTP or SIGTTIN sent to collie init stops its job once; fg resumes it" {
	stop_by_signal TSTP
	stop_by_signal TTIN # not taken for a stale stop of the child's
}

@test "in an orphaned process group (sh does no job control), ^Z does not stop collie for good: the child goes on, as it would without collie" {
	cat > "$TMP/session" <<-END
		$COLLIE init -v -- $READER
		echo RC-\$?
	END
	tty_start "sh $TMP/session"
	expect_line 'READER-[0-9]*'
	send '\x1a'
	expect_line '*orphaned*continuing the child*'
	send 'abc\n'
	expect_line 'GOT-abc'
	expect_line 'RC-0'
	tty_wait
	[ "$STATUS" -eq 0 ]
}

# A job that shows its pid outside the PID namespace it runs in (/proc is
# the caller's: no --mount-proc), then reads a line.
KID="sh -c 'read pid rest < /proc/self/stat; echo KID-\$pid; read x; echo GOT-\$x'"

@test "as PID 1 under a terminal, ^Z does not leave the child stopped: collie continues it; tini leaves it stopped" {
	need_pidns
	outer_shell
	send "unshare --pid --fork $COLLIE init -v -- $KID\\n"
	expect_line 'KID-[0-9]*'
	collie="$(proc_status "${LINE#KID-}" PPid)" # for teardown, should this fail
	send '\x1a'
	expect_line '*stopped by signal 20: continuing it*'
	send 'abc\n'
	expect_line 'GOT-abc'
	send 'echo RC-$?\n'
	expect_line 'RC-0'

	command -v tini > /dev/null || skip "tini is not installed"
	send "unshare --pid --fork tini -- $KID\\n"
	expect_line 'KID-[0-9]*'
	local child="${LINE#KID-}"
	send '\x1a'
	until_within 10 is_state "$child" T
	kill -KILL "$child"
	send 'echo RC-$?\n'
	expect_line 'RC-137'
	run ! grep -q Stopped "$TMP/screen"
	send 'exit\n'
	tty_wait
}

@test "compared: bash under tini has the terminal, which tini does not take back; under dumb-init bash has no job control" {
	command -v tini > /dev/null || skip "tini is not installed"
	command -v dumb-init > /dev/null || skip "dumb-init is not installed"
	bash_under tini -s --
	[ "$pgid" = "$pid" ]
	[ "$tpgid" = "$pid" ]
	bash_exit
	[ "$tpgid" = "$pid" ] # still bash's group, which is gone

	# dumb-init runs bash in a new session, without a controlling terminal.
	bash_under dumb-init
	grep -q 'no job control in this shell' "$TMP/screen"
	[ "$tpgid" = -1 ]
	bash_exit
	[ "$tpgid" = "$pgid" ]
}

@test "compared: ^Z stops tini's child but not tini, so the shell does not get its prompt back" {
	command -v tini > /dev/null || skip "tini is not installed"
	local child init
	outer_shell
	send "tini -s -- sh -c 'echo IDS \$\$ \$PPID; read x'\\n"
	expect_line 'IDS *'
	read -r _ child init <<< "$LINE"
	send '\x1a'
	until_within 10 is_state "$child" T
	[ "$(proc_status "$init" State)" != T ]
	kill -KILL "$child" # tini exits 137, the shell goes on
	send 'echo RC-$?\n'
	expect_line 'RC-137'
	run ! grep -q Stopped "$TMP/screen"
	send 'exit\n'
	tty_wait
}
