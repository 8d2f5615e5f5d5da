#!/usr/bin/env bats
# collie up with one cgroup v2 per process (cli/cgroup.c): a stop ends the
# whole tree, also what left the process group or daemonized, and collie
# leaves no cgroup behind. Skipped, saying why, where collie cannot make
# cgroups here (no cgroup2 mount, not delegated); the fallback test runs
# everywhere.

bats_require_minimum_version 1.5.0

load supervise

H="$COLLIE_TEST_HELPER"

# The cgroup2 mount point, and this shell's cgroup2 directory.
cgroup2_mount() {
	awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' \
		/proc/self/mountinfo | head -n 1
}

# cgroup_dir PID - the absolute cgroup2 directory of process PID.
cgroup_dir() {
	local d
	d="$MNT$(sed -n 's/^0:://p' "/proc/$1/cgroup")"
	echo "${d%/}"
}

# gone PID - PID is not running (reaped, or a zombie waiting to be).
gone() {
	local state
	state="$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null || echo gone)"
	[ "$state" = Z ] || [ "$state" = gone ]
}

need_cgroups() {
	MNT="$(cgroup2_mount)"
	[ -n "$MNT" ] || skip "no cgroup2 file system is mounted"
	OWN="$(cgroup_dir self)"
	# (not named collie-*: a collie starting meanwhile would remove it)
	mkdir "$OWN/bats-probe-$$" 2>/dev/null ||
		skip "cannot make a cgroup in $OWN (not delegated to this user)"
	rmdir "$OWN/bats-probe-$$"
}

setup() {
	sv_setup
}

teardown() {
	# The other collie of the PID namespace test, if it failed midway:
	# SIGTERM to the collie inside (unshare does not pass it on).
	if [ -n "${other:-}" ] && kill -0 "$other" 2>/dev/null; then
		kill -TERM $(cat "/proc/$other/task/$other/children") 2>/dev/null || true
		timeout 20 tail --pid="$other" -f /dev/null || kill -KILL "$other"
		wait "$other" 2>/dev/null || true
	fi
	sv_teardown
	[ -z "${iso:-}" ] || rmdir "$iso" 2>/dev/null || true
}

@test "stop ends a grandchild that called setsid and ignores SIGTERM, and removes its cgroup" {
	need_cgroups
	conf "[program:escaper]" \
		"command=$H fork-wait setsid ignore TERM print-pgid echo escaped pause" \
		"startsecs=0" "stopwaitsecs=1"
	up_ready
	expect_out "escaped"
	escaped="$(awk '{ print $3; exit }' "$TMP/out")"
	dir="$(cgroup_dir "$escaped")"
	[ "$dir" = "$OWN/collie-$UP_PID/escaper" ]
	run "$COLLIE" stop escaper
	[ "$status" -eq 0 ]
	[[ "$output" == *"escaper: stopped"* ]]
	# It left the group, so the stop signal reached it only as a leftover
	# of its cgroup; it ignored that, so it died of the cgroup's SIGKILL.
	expect "escaper: sending SIGTERM to leftover process $escaped"
	expect "still running 1.0 s after the stop signal: SIGKILL"
	expect "escaper: STOPPING -> STOPPED"
	gone "$escaped"
	[ ! -d "$dir" ]
	[ -d "$OWN/collie-$UP_PID" ]
	finish
	[ "$STATUS" -eq 0 ]
	[ ! -d "$OWN/collie-$UP_PID" ]
}

@test "a program that double-forks a daemon and exits: stop ends the daemon with stopsignal" {
	need_cgroups
	conf "[program:forker]" \
		"command=$H double-fork block-signals echo daemon-ready signals 1" \
		"startsecs=0" "autorestart=false" "stopwaitsecs=10"
	up_ready
	expect "forker: RUNNING -> EXITED"
	expect_out "daemon-ready"
	# The pid (from the first process) and the daemon's line come in either order.
	daemon="$(awk '$3 ~ /^[0-9]+$/ { print $3; exit }' "$TMP/out")"
	[ "$(cgroup_dir "$daemon")" = "$OWN/collie-$UP_PID/forker" ]
	run "$COLLIE" stop forker
	[ "$status" -eq 0 ]
	[[ "$output" == *"forker: stopped"* ]]
	expect "forker: EXITED -> STOPPING"
	expect "forker: STOPPING -> STOPPED"
	# Its stopsignal, not the SIGKILL after stopwaitsecs.
	expect_out "SIGTERM"
	! grep -q "SIGKILL" "$TMP/seen"
	gone "$daemon"
	[ ! -d "$OWN/collie-$UP_PID/forker" ]
	# Stopping it again: nothing is left, nothing to do.
	run "$COLLIE" stop forker
	[ "$status" -eq 0 ]
	[[ "$output" == *"already stopped"* ]]
	finish
	[ "$STATUS" -eq 0 ]
}

@test "collie's exit ends what is left in its cgroups and removes them all" {
	need_cgroups
	conf "[program:forker]" "command=$H double-fork ignore TERM echo daemon-up pause" \
		"startsecs=0" "autorestart=false" \
		"[program:plain]" "command=$H pause" "startsecs=0"
	up_ready
	expect_any "forker: RUNNING -> EXITED"
	expect_any "plain: STARTING -> RUNNING"
	expect_out "daemon-up"
	# The pid (from the first process) and the daemon's line come in either order.
	daemon="$(awk '$3 ~ /^[0-9]+$/ { print $3; exit }' "$TMP/out")"
	[ -d "$OWN/collie-$UP_PID/forker" ]
	[ -d "$OWN/collie-$UP_PID/plain" ]
	finish
	[ "$STATUS" -eq 0 ]
	gone "$daemon"
	[ ! -d "$OWN/collie-$UP_PID" ]
}

@test "a cgroup left by a collie that is gone is emptied and removed at start" {
	need_cgroups
	# collie up runs in a cgroup of this test's own, and the stale tree
	# is made there: any collie removes the stale trees beside its own,
	# and the other suites' collies run beside this one. (Not named
	# collie-*: a collie would take it for a stale tree.)
	iso="$OWN/bats-iso-$$"
	mkdir "$iso"
	UP_PREFIX=(sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$iso")
	# A pid that no longer runs: a finished child of ours.
	"$H" exit 0 &
	dead=$!
	wait "$dead"
	stale="$iso/collie-$dead"
	mkdir -p "$stale/web"
	"$H" pause 7<&- &
	victim=$!
	echo "$victim" > "$stale/web/cgroup.procs"
	conf "[program:plain]" "command=$H pause" "startsecs=0"
	up_ready
	# Removed before the control socket listens: no waiting needed.
	expect_any "removing cgroup ${iso#"$MNT"}/collie-$dead"
	gone "$victim"
	st=0
	wait "$victim" || st=$?
	[ "$st" -eq $((128 + 9)) ]
	[ ! -d "$stale" ]
	finish
	[ "$STATUS" -eq 0 ]
}

@test "without cgroups (COLLIE_NO_CGROUP=1, for tests) the subreaper still ends an escaped process" {
	conf "[program:escaper]" "command=$H fork-wait setsid print-pgid echo escaped pause" \
		"startsecs=0"
	COLLIE_NO_CGROUP=1 up_ready
	expect_any "no cgroups: COLLIE_NO_CGROUP is set"
	expect_out "escaped"
	escaped="$(awk '{ print $3; exit }' "$TMP/out")"
	if MNT="$(cgroup2_mount)" && [ -n "$MNT" ]; then
		[ "$(cgroup_dir "$escaped")" = "$(cgroup_dir self)" ]
	fi
	finish
	[ "$STATUS" -eq 0 ]
	grep -q "sending SIGTERM to leftover process $escaped" "$TMP/seen"
	gone "$escaped"
}

@test "a collie in another PID namespace sharing the cgroup leaves a running collie's tree alone" {
	need_cgroups
	unshare --pid --fork --mount-proc true 2>/dev/null ||
		skip "cannot make a PID namespace here (unshare --pid needs root)"
	conf "[program:plain]" "command=$H pause" "startsecs=0"
	up_ready
	expect "plain: STARTING -> RUNNING"
	plain="$("$COLLIE" pid plain)"
	tree="$OWN/collie-$UP_PID"
	[ -d "$tree/plain" ]
	# The other collie sees no process $UP_PID: a pid says nothing across
	# namespaces, only the lock on the tree does.
	printf '%s\n' "[program:other]" "command=$H pause" "startsecs=0" > "$TMP/other.ini"
	unshare --pid --fork --mount-proc "$COLLIE" up -v -c "$TMP/other.ini" \
		-s "$TMP/run2/other.sock" > /dev/null 2> "$TMP/other.err" 7<&- &
	other=$!
	wait_line "$TMP/other.err" "other: STARTING -> RUNNING"
	! grep -q "removing cgroup" "$TMP/other.err"
	[ -d "$tree/plain" ]
	! gone "$plain"
	"$COLLIE" down -s "$TMP/run2/other.sock"
	wait "$other"
	other=
	[ "$(cgroup_dir "$plain")" = "$tree/plain" ]
	finish
	[ "$STATUS" -eq 0 ]
}

@test "a second SIGINT kills at once also what left the process group" {
	need_cgroups
	conf "[program:escaper]" \
		"command=$H fork-wait setsid ignore TERM print-pgid echo escaped pause" \
		"startsecs=0" "stopwaitsecs=60"
	up_ready
	expect_out "escaped"
	escaped="$(awk '{ print $3; exit }' "$TMP/out")"
	kill -INT "$UP_PID"
	expect "escaper: sending SIGTERM to leftover process $escaped"
	kill -INT "$UP_PID"
	expect "second SIGINT: killing everything"
	expect "escaper: STOPPING -> STOPPED"
	wait_up
	[ "$STATUS" -eq 0 ]
	gone "$escaped"
	# not through stopwaitsecs (60 s)
	! grep -q "after the stop signal: SIGKILL" "$TMP/seen"
}

# What a run that ended by itself left in its cgroup goes before the next
# start there (supervisor.c, end_leftovers()).

@test "a restarted program: what its run left is ended before the next run starts" {
	need_cgroups
	# Each run forks a child that waits for one signal, prints its name
	# and exits (signals blocked before the fork: the stop signal comes as
	# soon as the first process has exited); the run itself exits at once
	# and is started again.
	conf "[program:forker]" "command=$H block-signals double-fork signals 1" \
		"startsecs=0" "autorestart=true" "stopwaitsecs=10"
	up_ready
	expect "forker: RUNNING -> EXITED"
	expect "forker: sending SIGTERM to leftover process"
	expect "forker: EXITED -> STARTING"
	# The first child's SIGTERM line comes before the second run's first
	# line (its child's pid): the second run started once the first child
	# had exited. Both went to the same pipe, in the order written.
	for ((i = 0; i < 2000; i++)); do
		[ "$(grep -c "forker | [0-9]" "$TMP/out")" -ge 2 ] && break
		sleep 0.01
	done
	term_at="$(grep -n "forker | SIGTERM" "$TMP/out" | head -n 1 | cut -d: -f1)"
	second_at="$(grep -n "forker | [0-9]" "$TMP/out" | sed -n 2p | cut -d: -f1)"
	[ -n "$term_at" ] && [ -n "$second_at" ] && [ "$term_at" -lt "$second_at" ]
	first="$(awk '$3 ~ /^[0-9]+$/ { print $3; exit }' "$TMP/out")"
	gone "$first"
	finish
	[ "$STATUS" -eq 0 ]
}

@test "a program that goes FATAL leaves nothing running; what ignores the stop signal is killed at stopwaitsecs" {
	need_cgroups
	# It exits at once, before startsecs: a failed start, then FATAL; its
	# child ignores SIGTERM from birth (set before the fork: the stop
	# signal comes as soon as the first process has exited).
	conf "[program:failer]" "command=$H ignore TERM double-fork echo child-up pause" \
		"startsecs=5" "startretries=1" "stopwaitsecs=1"
	up_ready
	expect "failer: sending SIGTERM to leftover process"
	expect "failer: STARTING -> BACKOFF"
	expect "failer: what its last run left behind still runs 1.0 s after the stop signal: SIGKILL"
	# only then the second try
	expect "failer: BACKOFF -> STARTING"
	expect "failer: sending SIGTERM to leftover process"
	expect "failer: STARTING -> BACKOFF"
	expect "failer: BACKOFF -> FATAL"
	expect "failer: what its last run left behind still runs 1.0 s after the stop signal: SIGKILL"
	# Both children gone, collie still running, nothing in the cgroup.
	for ((i = 0; i < 2000; i++)); do
		[ -z "$(cat "$OWN/collie-$UP_PID/failer/cgroup.procs")" ] && break
		sleep 0.01
	done
	[ -z "$(cat "$OWN/collie-$UP_PID/failer/cgroup.procs")" ]
	for pid in $(awk '$3 ~ /^[0-9]+$/ { print $3 }' "$TMP/out"); do
		gone "$pid"
	done
	[ "$(grep -c "failer | [0-9]" "$TMP/out")" -eq 2 ]
	run "$COLLIE" status failer
	[[ "$output" == *FATAL* ]]
	finish
	[ "$STATUS" -eq 0 ]
}

@test "a stop while a failed run's leftovers are still being ended waits for them, and starts nothing" {
	need_cgroups
	conf "[program:failer]" "command=$H ignore TERM double-fork echo child-up pause" \
		"startsecs=5" "startretries=3" "stopwaitsecs=2"
	up_ready
	expect "failer: sending SIGTERM to leftover process"
	expect "failer: STARTING -> BACKOFF"
	expect_out "child-up"
	run "$COLLIE" stop failer
	[ "$status" -eq 0 ]
	[[ "$output" == *"failer: stopped"* ]]
	expect "failer: BACKOFF -> STOPPING"
	expect "failer: STOPPING -> STOPPED"
	child="$(awk '$3 ~ /^[0-9]+$/ { print $3; exit }' "$TMP/out")"
	gone "$child"
	[ ! -d "$OWN/collie-$UP_PID/failer" ]
	finish
	[ "$STATUS" -eq 0 ]
	# It was never started again.
	[ "$(grep -c "BACKOFF -> STARTING" "$TMP/seen")" -eq 0 ]
}

@test "collie start of a FATAL program whose leftovers are being ended: STOPPING until they are gone, then it starts" {
	need_cgroups
	# The first run fails at once (before startsecs) and leaves a child
	# that ignores SIGTERM; once $TMP/fixed exists, a run just waits.
	conf "[program:failer]" \
		"command=sh -c 'test -e $TMP/fixed && exec $H pause; exec $H ignore TERM double-fork echo child-up pause'" \
		"startsecs=1" "startretries=0" "stopwaitsecs=2"
	up_ready
	expect "failer: BACKOFF -> FATAL"
	expect_out "child-up"
	touch "$TMP/fixed"
	run "$COLLIE" start failer
	[ "$status" -eq 0 ]
	[[ "$output" == *"failer: started"* ]]
	expect "failer: FATAL -> STOPPING"
	expect "what its last run left behind still runs 2.0 s after the stop signal: SIGKILL"
	expect "failer: STOPPING -> STOPPED"
	expect "failer: STOPPED -> STARTING"
	expect "failer: STARTING -> RUNNING"
	finish
	[ "$STATUS" -eq 0 ]
}

@test "collie stop while a start waits for leftovers: nothing starts" {
	need_cgroups
	conf "[program:failer]" "command=$H ignore TERM double-fork echo child-up pause" \
		"startsecs=1" "startretries=0" "stopwaitsecs=2"
	up_ready
	expect "failer: BACKOFF -> FATAL"
	"$COLLIE" start failer > "$TMP/start.out" 2>&1 &
	start=$!
	expect "failer: FATAL -> STOPPING"
	run "$COLLIE" stop failer
	[ "$status" -eq 0 ]
	expect "failer: STOPPING -> STOPPED"
	start_status=0
	wait "$start" || start_status=$?
	[ "$start_status" -eq 1 ]
	grep -q "stopped before it was running" "$TMP/start.out"
	finish
	[ "$STATUS" -eq 0 ]
	! sed -n '/failer: FATAL -> STOPPING/,$p' "$TMP/seen" | grep -q "failer: STOPPED -> STARTING"
}

@test "collie's shutdown while a restart waits for a run's leftovers starts nothing" {
	need_cgroups
	# forker's run (RUNNING at once: startsecs=0) exits at once, to be
	# started again, and leaves a child that ignores SIGTERM, killed at
	# 3 s; slow keeps collie stopping for 4 s, after that.
	conf "[program:slow]" "command=$H ignore TERM echo slow-up pause" "startsecs=0" \
		"stopwaitsecs=4" "priority=1" \
		"[program:forker]" "command=$H ignore TERM double-fork echo child-up pause" \
		"startsecs=0" "autorestart=true" "stopwaitsecs=3" "priority=2"
	up_ready
	expect_any "forker: RUNNING -> EXITED"
	expect "forker: sending SIGTERM to leftover process"
	kill -TERM "$UP_PID"
	expect "stopping everything"
	expect "forker: what its last run left behind still runs 3.0 s after the stop signal: SIGKILL"
	wait_up
	[ "$STATUS" -eq 0 ]
	! sed -n '/stopping everything/,$p' "$TMP/seen" | grep -q "forker: EXITED -> STARTING"
}

@test "a reload that changes a FATAL program whose leftovers are being ended: the new version starts once they are gone" {
	need_cgroups
	conf "[program:failer]" "command=$H ignore TERM double-fork echo v1-child pause" \
		"startsecs=1" "startretries=0" "stopwaitsecs=2"
	up_ready
	expect "failer: BACKOFF -> FATAL"
	expect_out "v1-child"
	conf "[program:failer]" "command=$H echo v2-up pause" "startsecs=0" "stopwaitsecs=2"
	kill -HUP "$UP_PID"
	# the old one is STOPPING until its leftover is killed, then removed
	expect "failer: FATAL -> STOPPING"
	expect_any "update: failer changed"
	expect "what its last run left behind still runs 2.0 s after the stop signal: SIGKILL"
	expect "failer: STOPPING -> STOPPED"
	expect "failer: STOPPED -> STARTING"
	expect_out "v2-up"
	child="$(awk '$3 ~ /^[0-9]+$/ { print $3; exit }' "$TMP/out")"
	gone "$child"
	# nothing of v1 is in the cgroup v2 runs in
	for pid in $(cat "$OWN/collie-$UP_PID/failer/cgroup.procs"); do
		[ "$pid" != "$child" ]
	done
	finish
	[ "$STATUS" -eq 0 ]
}
