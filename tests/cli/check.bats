#!/usr/bin/env bats
# collie check: the configuration layer as a user meets it -- bad configs
# with their messages, good configs with every key, includes, Procfiles,
# and the compatibility corpus of real supervisord configs and Procfiles.

load compat
bats_require_minimum_version 1.5.0

setup() {
	TMP="$(mktemp -d)"
	cd "$TMP"
}

teardown() {
	cd /
	rm -rf "$TMP"
}

# bad MESSAGE CONFIG: CONFIG (in c.ini) is refused, exit 2, with MESSAGE.
bad() {
	printf '%s\n' "$2" > "$TMP/c.ini"
	run "$COLLIE" check -c c.ini
	if [ "$status" -ne 2 ] || [[ "$output" != *"$1"* ]]; then
		echo "expected exit 2 and: $1"
		echo "got exit $status and: $output"
		return 1
	fi
}

@test "bad: unknown key, with the nearest known one" {
	bad "c.ini:3: unknown key 'comand' in [program:a]; did you mean 'command'?" \
		$'[program:a]\ncommand=true\ncomand=true'
}

@test "bad: two [program:NAME] with one name name both lines" {
	bad "c.ini:3: [program:a] is defined twice, here and at c.ini:1" \
		$'[program:a]\ncommand=true\n[program:a]\ncommand=false'
}

@test "bad: malformed section headers" {
	bad "c.ini:1: malformed section header '[program:a'" $'[program:a\ncommand=true'
	bad "c.ini:1: malformed section header [program]: write [program:NAME]" \
		$'[program]\ncommand=true'
	bad "c.ini:1: malformed section header [program:a b]: the program name 'a b' contains ' '" \
		$'[program:a b]\ncommand=true'
	bad "c.ini:2: 'command true' is not 'key = value'" $'[program:a]\ncommand true'
	bad "c.ini:1: key 'command' is outside any section" $'command=true'
}

@test "bad: a name that is not UTF-8, which the control protocol cannot carry" {
	bad "the program name holds a byte that is not UTF-8 (0xff at byte 1); write the name in UTF-8" \
		$'[program:a\xffb]\ncommand=true'
	bad "the group name holds a byte that is not UTF-8 (0xc3 at byte 1)" \
		$'[group:g\xc3]\nprograms=a\n[program:a]\ncommand=true'
	bad "c.ini:3: key 'process_name' in [program:é]: the process name holds a byte that is not UTF-8 (0xe9 at byte 2)" \
		$'[program:\xc3\xa9]\ncommand=true\nprocess_name=%(program_name)s\xe9'
}

@test "bad: unknown section, with a suggestion" {
	bad "c.ini:1: unknown section [programs:a]; did you mean [program:a]?" \
		$'[programs:a]\ncommand=true'
}

@test "bad: values of the wrong type" {
	bad "c.ini:3: key 'autostart' in [program:a]: 'maybe' is not a boolean; use true or false" \
		$'[program:a]\ncommand=true\nautostart=maybe'
	bad "c.ini:3: key 'numprocs' in [program:a]: 0 is out of range; use a whole number from 1" \
		$'[program:a]\ncommand=true\nnumprocs=0'
	bad "c.ini:3: key 'startretries' in [program:a]: 'three' is not a whole number" \
		$'[program:a]\ncommand=true\nstartretries=three'
	bad "c.ini:3: key 'stopsignal' in [program:a]: 'TREM' is not a signal; use a name such as TERM" \
		$'[program:a]\ncommand=true\nstopsignal=TREM'
	bad "c.ini:3: key 'user' in [program:a]: no user 'collie-no-such-user' on this system" \
		$'[program:a]\ncommand=true\nuser=collie-no-such-user'
	bad "c.ini:3: key 'exitcodes' in [program:a]: '0,256' is not a list of exit codes" \
		$'[program:a]\ncommand=true\nexitcodes=0,256'
	bad "c.ini:3: key 'stdout_logfile_maxbytes' in [program:a]: '5XB' is not a size" \
		$'[program:a]\ncommand=true\nstdout_logfile_maxbytes=5XB'
	bad "c.ini:3: key 'umask' in [program:a]: '089' is not a umask" \
		$'[program:a]\ncommand=true\numask=089'
	bad "c.ini:3: key 'autorestart' in [program:a]: 'sometimes' is not an autorestart value" \
		$'[program:a]\ncommand=true\nautorestart=sometimes'
	bad "c.ini:3: key 'startsecs' in [program:a]: '-1' is not a number of seconds" \
		$'[program:a]\ncommand=true\nstartsecs=-1'
}

@test "bad: an unset environment variable in %(ENV_X)s" {
	unset COLLIE_UNSET_VAR
	bad "c.ini:2: key 'command' in [program:a]: %(ENV_COLLIE_UNSET_VAR)s names the environment variable COLLIE_UNSET_VAR, which is not set" \
		$'[program:a]\ncommand=echo %(ENV_COLLIE_UNSET_VAR)s'
}

@test "bad: expansions supervisord cannot do" {
	bad "c.ini:2: key 'command' in [program:a]: '%H' at column 6 is not an expansion; write %(name)s, or %% for a literal %" \
		$'[program:a]\ncommand=echo %HOME%'
	bad "c.ini:3: key 'user' in [program:a]: %(user) is not a name collie can expand" \
		$'[program:a]\ncommand=true\nuser=%(user)s'
	bad "c.ini:2: key 'command' in [program:a]: '%(' at column 6 has no ')'" \
		$'[program:a]\ncommand=echo %(program_name'
	bad "c.ini:3: key 'priority' in [program:a]: %(process_num) is known only in the keys expanded per process" \
		$'[program:a]\ncommand=true\npriority=%(process_num)d'
	bad "c.ini:2: key 'command' in [program:a]: %(program_name)d needs a number, but the value is text" \
		$'[program:a]\ncommand=echo %(program_name)d'
}

@test "bad: [include] without files=" {
	bad "c.ini:3: [include] has no files= key" $'[program:a]\ncommand=true\n[include]\nfile=x'
}

@test "bad: depends_on with a cycle or an unknown name" {
	bad "c.ini:3: depends_on makes a cycle: a -> b -> c -> a" \
		$'[program:a]\ncommand=true\ndepends_on=b\n[program:b]\ncommand=true\ndepends_on=c\n[program:c]\ncommand=true\ndepends_on=a'
	bad "c.ini:3: depends_on makes a cycle: a -> a" \
		$'[program:a]\ncommand=true\ndepends_on=a'
	bad "c.ini:3: depends_on names 'wbe', which is no [program:NAME]; did you mean 'web'?" \
		$'[program:a]\ncommand=true\ndepends_on=wbe\n[program:web]\ncommand=true'
}

@test "bad: ready= that is no readiness rule" {
	bad "c.ini:3: key 'ready' in [program:a]: 'tcp:70000' is not a readiness rule; use startsecs, notify, fd:N" \
		$'[program:a]\ncommand=true\nready=tcp:70000'
	bad "c.ini:3: key 'ready' in [program:a]: 'fd:1' is not a readiness rule" \
		$'[program:a]\ncommand=true\nready=fd:1'
	bad "c.ini:3: key 'ready' in [program:a]: 'http' is not a readiness rule" \
		$'[program:a]\ncommand=true\nready=http'
}

@test "bad: a command the command language rejects, with its column" {
	bad "c.ini:2: key 'command' in [program:a]: column 8: " $'[program:a]\ncommand=echo a && echo b'
	[[ "$output" == *"shell=true"* ]]
	bad "c.ini:4: key 'command' in [program:a]: line 3, column 3: " \
		$'[program:a]\ncommand=echo\n  a\n  b && c\n[program:b]\ncommand=true'
	printf '[program:a]\ncommand=echo a && echo b\nshell=true\n' > c.ini
	run "$COLLIE" check -c c.ini
	[ "$status" -eq 0 ]
	[[ "$output" == *"command = /bin/sh -c 'echo a && echo b'"* ]]
}

@test "bad: the other checks across keys" {
	bad "c.ini:1: [program:a] has numprocs=2, so process_name must contain %(process_num)d" \
		$'[program:a]\ncommand=true\nnumprocs=2'
	bad "c.ini:1: [program:a] has stopasgroup=true and killasgroup=false" \
		$'[program:a]\ncommand=true\nstopasgroup=true\nkillasgroup=false'
	bad "c.ini:1: [program:a] has no command= key" $'[program:a]\nautostart=false'
	bad "c.ini:4: process name 'x' is used twice, by [program:b] and [program:a] (c.ini:1)" \
		$'[program:a]\ncommand=true\nprocess_name=x\n[program:b]\ncommand=true\nprocess_name=x'
	bad "c.ini:3: key 'environment' in [program:a]: the value of B has an unquoted blank" \
		$'[program:a]\ncommand=true\nenvironment=A=1,B=two words'
	bad "c.ini:2: programs= in [group:g] names 'b', which is no [program:NAME]" \
		$'[group:g]\nprograms=a,b\n[program:a]\ncommand=true'
}

@test "bad: every error is reported, not just the first" {
	bad "c.ini:3: key 'autostart'" $'[program:a]\ncommand=true\nautostart=x\nstartsecs=y'
	[[ "$output" == *"c.ini:4: key 'startsecs'"* ]]
}

@test "bad: no configuration in the current directory" {
	run "$COLLIE" check
	[ "$status" -eq 2 ]
	[[ "$output" == *"no collie.ini or Procfile in the current directory"* ]]
}

@test "good: every key, with its effective value" {
	mkdir logs
	printf 'FROM_FILE="a b"\n# comment\nexport OTHER=1\n' > app.env
	export COLLIE_TEST_VAR=from-env
	cat > collie.ini <<-'EOF2'
	[supervisord]
	environment = GLOBAL="g"

	[group:app]
	programs = web, worker
	priority = 5

	[program:web]
	command = ./server --port 80%(process_num)02d --name "%(program_name)s-%(group_name)s" --var $COLLIE_TEST_VAR
	process_name = %(program_name)s_%(process_num)02d
	numprocs = 2
	numprocs_start = 1
	priority = 10
	autostart = false
	autorestart = true
	exitcodes = 0,2
	startsecs = 0.5
	startretries = 7
	stopsignal = QUIT
	stopwaitsecs = 3
	stopasgroup = true
	user = nobody
	directory = %(here)s
	umask = 027
	environment = A="1,2",B='x y',C=%(ENV_COLLIE_TEST_VAR)s
	redirect_stderr = true
	stdout_logfile = %(here)s/logs/%(program_name)s-%(process_num)d.log
	stdout_logfile_maxbytes = 1MB
	stdout_logfile_backups = 3
	stdout_syslog = true
	backoff_min = 0.1
	backoff_max = 30
	ready = tcp:8080
	critical = true
	envfile = app.env
	rlimit_nofile = 4096
	rlimit_nproc = 100
	rlimit_as = 1GB
	rlimit_core = unlimited
	log_timestamps = iso8601

	[program:worker]
	command = worker --queue high
	depends_on = web
	ready = notify
	stderr_logfile = logs/err.log
	; a blank before the unit, as supervisord's int() allows
	stderr_logfile_maxbytes = 512 KB
	stderr_logfile_backups = 0
	stderr_syslog = yes
	log_timestamps = unix
	shell = false

	[program:cron]
	command = while sleep 60; do date; done
	shell = true
	ready = fd:3
	EOF2
	run --separate-stderr "$COLLIE" check
	[ "$status" -eq 0 ]
	[ -z "$stderr" ] || { echo "warnings: $stderr"; return 1; }
	for want in \
		"[group:app]" "priority = 5" "programs = web, worker" \
		"[program:web] ; collie.ini:8" "group = app" "priority = 10" "autostart = false" \
		"autorestart = true" "exitcodes = 0,2" "startsecs = 0.5" "startretries = 7" \
		"stopsignal = QUIT" "stopwaitsecs = 3" "stopasgroup = true" "killasgroup = true" \
		"user = nobody ; uid $(id -u nobody)" "umask = 027" "redirect_stderr = true" \
		"numprocs = 2" "backoff_min = 0.1" "backoff_max = 30" "ready = tcp:8080" \
		"critical = true" "rlimit_nofile = 4096" "rlimit_nproc = 100" "rlimit_as = 1GB" \
		"rlimit_core = unlimited" "log_timestamps = iso8601" "envfile = $TMP/app.env" \
		"[process:web_01] ; process_num 1" "[process:web_02] ; process_num 2" \
		"command = ./server --port 8001 --name web-app --var from-env" \
		"directory = $TMP" "environment A=1,2" "environment B=x y" "environment C=from-env" \
		"environment GLOBAL=g" "environment FROM_FILE=a b" "environment OTHER=1" \
		"stdout_logfile = $TMP/logs/web-2.log ; maxbytes 1MB, backups 3, syslog true" \
		"[program:worker]" "depends_on = web" "ready = notify" "log_timestamps = unix" \
		"command = worker --queue high" \
		"stderr_logfile = logs/err.log ; maxbytes 512KB, backups 0, syslog true" \
		"[program:cron]" "ready = fd:3" "shell = true" \
		"command = /bin/sh -c 'while sleep 60; do date; done'"; do
		[[ "$output" == *"$want"* ]] || { echo "missing: $want"; echo "$output"; return 1; }
	done
}

@test "good: the defaults are supervisord's" {
	printf '[program:a]\ncommand=true\n' > collie.ini
	run "$COLLIE" check
	[ "$status" -eq 0 ]
	for want in "priority = 999" "autostart = true" "autorestart = unexpected" "exitcodes = 0" \
		"startsecs = 1" "startretries = 3" "stopsignal = TERM" "stopwaitsecs = 10" \
		"stopasgroup = false" "killasgroup = false" "redirect_stderr = false" \
		"numprocs = 1" "backoff_min = 0" "backoff_max = 60" "ready = startsecs" \
		"shell = false" "stdout_logfile = NONE ; maxbytes 50MB, backups 10, syslog false"; do
		[[ "$output" == *"$want"* ]] || { echo "missing: $want"; return 1; }
	done
}

@test "good: %% %(host_node_name)s and printf widths" {
	printf '[program:a]\ncommand=date +%%%%s %(host_node_name)s x%%(process_num)-3dx %%(process_num)+d %%(process_num)#x\nnumprocs_start=10\n' > collie.ini
	run "$COLLIE" check
	[ "$status" -eq 0 ]
	[[ "$output" == *"command = date +%s $(uname -n) x10 x +10 0xa"* ]]
}

@test "good: continuation lines, inline comments, CRLF, a repeated key" {
	printf '[program:a]\r\ncommand = echo one ; a comment\r\n    two # another\r\n\r\n    three\r\nautostart=true\r\nautostart=false\r\n' > collie.ini
	run "$COLLIE" check
	[ "$status" -eq 0 ]
	[[ "$output" == *"command = echo one two three"* ]]
	[[ "$output" == *"autostart = false"* ]]
	[[ "$output" == *"c"*"collie.ini:7: key 'autostart' repeated in [program:a] (first at line 6); the last one wins"* ]]
}

@test "good: indented keys are keys; only a deeper indent continues a value" {
	# configparser's rule (supervisord's reader): a line continues the
	# value only when it is indented deeper than its key's line.
	printf '[program:a]\n  command = echo one\n      two\n  # comment\n\n      three\n  autostart = false\n\tpriority = 5\n' > collie.ini
	run --separate-stderr "$COLLIE" check
	[ "$status" -eq 0 ] || { echo "$output $stderr"; return 1; }
	[[ "$output" == *"command = echo one two three"$'\n'* ]]
	[[ "$output" == *"autostart = false"* ]]
	[[ "$output" == *"priority = 5"* ]]
}

@test "bad: a NUL byte, a directory, are said with where and what" {
	printf '[program:a]\ncommand=echo a\0 rm -rf /\n' > c.ini
	run "$COLLIE" check -c c.ini
	[ "$status" -eq 2 ]
	[[ "$output" == *"c.ini:2: the line holds a NUL byte"* ]]
	printf 'A=1\0 B=2\n' > e.env
	printf '[program:a]\ncommand=true\nenvfile=e.env\n' > c.ini
	run "$COLLIE" check -c c.ini
	[ "$status" -eq 2 ]
	[[ "$output" == *"e.env:1: the line holds a NUL byte"* ]]
	mkdir d.ini
	run "$COLLIE" check -c d.ini
	[ "$status" -eq 2 ]
	[[ "$output" == *"d.ini: cannot read the file: Is a directory"* ]]
	printf 'web: ./web\0 --flag\n' > Procfile
	run "$COLLIE" check -c Procfile
	[ "$status" -eq 2 ]
	[[ "$output" == *"Procfile:1: the line holds a NUL byte"* ]]
	rm Procfile
	mkdir Procfile
	run "$COLLIE" check -c Procfile
	[ "$status" -eq 2 ]
	[[ "$output" == *"Procfile: cannot read the file: Is a directory"* ]]
}

@test "good: environment= keys that supervisord takes: dots, dashes, a leading digit" {
	printf '[program:a]\ncommand=env\nenvironment=spring.profiles.active=prod,X-API-KEY="k",1X=y\n' > collie.ini
	run --separate-stderr "$COLLIE" check
	[ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
	[[ "$output" == *"environment spring.profiles.active=prod"* ]]
	[[ "$output" == *"environment X-API-KEY=k"* ]]
	[[ "$output" == *"environment 1X=y"* ]]
	bad "c.ini:3: key 'environment' in [program:a]: expected KEY=value pairs" \
		$'[program:a]\ncommand=env\nenvironment=A@B=1'
}

@test "good: a long command line is not cut" {
	long=$(printf 'x%.0s' $(seq 1 3000))
	printf '[program:a]\ncommand=echo %s\n' "$long" > collie.ini
	run "$COLLIE" check
	[ "$status" -eq 0 ]
	[[ "$output" == *"command = echo $long"* ]]
}

@test "good: supervisord's own sections are accepted with one warning each" {
	cat > collie.ini <<-'EOF2'
	[unix_http_server]
	file=/tmp/x.sock
	[supervisord]
	nodaemon=true
	[rpcinterface:supervisor]
	supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
	[supervisorctl]
	serverurl=unix:///tmp/x.sock
	[eventlistener:l]
	command=listener
	events=PROCESS_STATE
	[program:a]
	command=true
	stdout_events_enabled=true
	depend=b
	EOF2
	run --separate-stderr "$COLLIE" check
	[ "$status" -eq 0 ]
	[ "$(grep -c warning <<< "$stderr")" -eq 7 ] || { echo "$stderr"; return 1; }
	[[ "$stderr" == *"collie.ini:1: [unix_http_server] is supervisord's XML-RPC server"* ]]
	[[ "$stderr" == *"collie.ini:3: [supervisord] settings are supervisord's own; collie ignores nodaemon"* ]]
	[[ "$stderr" == *"collie.ini:9: [eventlistener:l] is an event listener"* ]]
	[[ "$stderr" == *"collie.ini:14: key 'stdout_events_enabled' in [program:a] is for supervisord's event listeners"* ]]
	[[ "$stderr" == *"collie.ini:15: unknown key 'depend' in [program:a]; ignored, as supervisord ignores it (did you mean 'depends_on'?)"* ]]
}

@test "include: globs relative to the including file, nested, none matching" {
	mkdir -p etc/conf.d etc/more
	printf '[include]\nfiles = conf.d/*.conf nothing/*.conf\n' > etc/main.ini
	printf '[program:b]\ncommand=b\n[include]\nfiles=../more/*.ini\n' > etc/conf.d/b.conf
	printf '[program:a]\ncommand=a %%(here)s\n' > etc/conf.d/a.conf
	printf '[program:c]\ncommand=c\n[group:g]\nprograms=a,c\n' > etc/more/c.ini
	run --separate-stderr "$COLLIE" check -c etc/main.ini
	[ "$status" -eq 0 ]
	[[ "$output" == *"files read: etc/main.ini etc/conf.d/a.conf etc/conf.d/b.conf etc/conf.d/../more/c.ini"* ]]
	[[ "$output" == *"command = a $TMP/etc/conf.d"* ]]
	[[ "$output" == *"[program:c] ; etc/conf.d/../more/c.ini:1"* ]]
	[[ "$stderr" == *"etc/main.ini:2: no file matches include 'etc/nothing/*.conf'; skipped"* ]]
	cd etc
	run "$COLLIE" check -c main.ini
	[ "$status" -eq 0 ]
	[[ "$output" == *"files read: main.ini conf.d/a.conf conf.d/b.conf"* ]]
}

@test "include: a glob that matches a directory skips it, as supervisord does" {
	mkdir -p conf.d/old
	printf '[include]\nfiles = conf.d/*\n' > main.ini
	printf '[program:a]\ncommand=a\n' > conf.d/a.conf
	run --separate-stderr "$COLLIE" check -c main.ini
	[ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
	[[ "$output" == *"files read: main.ini conf.d/a.conf"$'\n'* ]]
	[[ "$stderr" == *"main.ini:2: include 'conf.d/*' matches the directory 'conf.d/old'; skipped, as supervisord does"* ]]
}

@test "Procfile: found with no -c, .env beside it, PORT per instance, -m" {
	printf 'web: ./web --port $PORT\n\n# a comment\nworker: ./work && echo done\nclock: ./clock\n' > Procfile
	printf 'SECRET="a\\nb"\nLITERAL='"'"'x\\ny'"'"'\n' > .env
	run "$COLLIE" check -m web=2,worker=1
	[ "$status" -eq 0 ]
	for want in "[process:web.1] ; process_num 1" "environment PORT=5000" \
		"[process:web.2] ; process_num 2" "environment PORT=5001" \
		"[process:worker.1]" "environment PORT=5100" "environment PS=worker.1" \
		"command = /bin/sh -c './work && echo done'" "directory = $TMP" \
		"environment LITERAL=x\\ny"; do
		[[ "$output" == *"$want"* ]] || { echo "missing: $want"; echo "$output"; return 1; }
	done
	[[ "$output" == *"environment SECRET=a"$'\n'"b"* ]]
	# clock is not in the formation: kept, not started
	[[ "$output" == *"[program:clock]"*"autostart = false"* ]]
	run "$COLLIE" check -m all=2
	[[ "$output" == *"[process:clock.2]"*"environment PORT=5201"* ]]
	printf 'PORT=6000\n' > .env
	run "$COLLIE" check
	[[ "$output" == *"[process:worker.1]"*"environment PORT=6100"* ]]
	run "$COLLIE" check -m wbe=2
	[ "$status" -eq 2 ]
	[[ "$output" == *"-m wbe=2: the Procfile has no process type 'wbe'; did you mean 'web'?"* ]]
	run "$COLLIE" check -m web=lots
	[ "$status" -eq 2 ]
	[[ "$output" == *"'web=lots' is not NAME=COUNT"* ]]
}

@test "Procfile: collie.ini is preferred, and -m applies only to Procfiles" {
	printf 'web: ./web\n' > Procfile
	printf '[program:ini]\ncommand=true\n' > collie.ini
	run "$COLLIE" check
	[[ "$output" == *"[program:ini]"* ]]
	run "$COLLIE" check -m web=2
	[ "$status" -eq 2 ]
	[[ "$output" == *"a formation applies to a Procfile"* ]]
}

need_corpus() {
	[ -d "$COLLIE_COMPAT_DIR/supervisord" ] ||
		skip "the compatibility corpus is not at COLLIE_COMPAT_DIR ($COLLIE_COMPAT_DIR)"
}

@test "corpus: every supervisord config that supervisord accepts passes" {
	need_corpus
	[ "$(id -u)" = 0 ] && unshare --mount true 2>/dev/null ||
		skip "needs root and unshare --mount, to give the corpus's users (ds, paperless, nginx, ...) in a private /etc/passwd"
	compat_supervisord "$TMP" > "$TMP/results"
	# supervisord rejects these three (corpus README, "Invalid as committed").
	expected="rejected Stunable__stella_site__deploy_supervisor.conf
rejected celery__celery__extra_supervisord_supervisord.conf
rejected fcwu__docker-ubuntu-vnc-desktop__rootfs_etc_supervisor_conf.d_supervisord.conf"
	diff <(grep -v '^ok ' "$TMP/results") <(echo "$expected")
	# 55 files parse with supervisord; less the five ONLYOFFICE fragments
	# checked in one run with their ds.conf group: 50 + 1 runs
	[ "$(grep -c '^ok ' "$TMP/results")" -eq 51 ]
	# the AWX file: collie ignores event listeners, so their Python
	# result_handler is never imported and the file passes
	grep -q '^ok ansible__awx__tools_docker-compose_supervisor.conf' "$TMP/results"
	# only warnings for the files that pass
	for f in $(sed -n 's/^ok //p' "$TMP/results"); do
		! grep -v ' warning: ' "$TMP/$f.out" || { echo "in $f"; return 1; }
	done
	# the rejected ones, with messages comparable to supervisord's
	grep -q "celery__celery__extra_supervisord_supervisord.conf:24: \[include\] has no files= key" \
		"$TMP/celery__celery__extra_supervisord_supervisord.conf.out"
	grep -q "is not an expansion; write %(name)s, or %% for a literal %" \
		"$TMP/fcwu__docker-ubuntu-vnc-desktop__rootfs_etc_supervisor_conf.d_supervisord.conf.out"
	grep -q "%(proj_path) is not a name collie can expand" \
		"$TMP/Stunable__stella_site__deploy_supervisor.conf.out"
	# D3f0's command ends in '~/bg.jpg &', shell syntax that supervisord
	# passes to feh as two literal arguments. The command language refuses
	# it; in a supervisord config that is a warning (the file still loads,
	# as supervisord's does), and the program fails to start until it is
	# given shell=true.
	grep -q "warning: .*column 16: '~' is not expanded.*will fail to start" \
		"$TMP/D3f0__coreemu_vnc__etc_supervisor_conf.d_supervisord.conf.out"
}

@test "corpus: every Procfile loads; the irregular ones with warnings" {
	need_corpus
	local n=0 f
	for f in "$COLLIE_COMPAT_DIR"/procfile/*.Procfile; do
		run --separate-stderr "$COLLIE" check -c "$f"
		[ "$status" -eq 0 ] || { echo "$f: $output $stderr"; return 1; }
		n=$((n + 1))
	done
	[ "$n" -eq 22 ]
	run --separate-stderr "$COLLIE" check -c "$COLLIE_COMPAT_DIR/procfile/dokku__dokku__tests_apps_dockerfile-procfile-bad.Procfile"
	[[ "$stderr" == *"Procfile:8: '<<<<<<< HEAD=0' is not 'name: command'; line skipped"* ]]
	[[ "$stderr" == *"Procfile:11: process type 'worker' is defined again (first at line 9); the last one wins"* ]]
	[[ "$output" == *"command = /bin/sh -c 'node worker-2.js'"* ]]
	run --separate-stderr "$COLLIE" check -c "$COLLIE_COMPAT_DIR/procfile/malika65__booking-system.Procfile"
	[[ "$stderr" == *"Procfile:2: '.listen(process.env.PORT || 5000)' is not 'name: command'"* ]]
	[[ "$stderr" == *"Procfile:5: process type 'worker' is defined again (first at line 3)"* ]]
	# the second worker keeps the first one's place: release 5000, worker 5100, web 5200
	[[ "$output" == *"[process:worker.1]"*"PORT=5100"* ]]
	[[ "$output" == *"[process:web.1]"*"PORT=5200"* ]]
}
