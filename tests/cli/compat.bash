# compat.bash - run `collie check` over the compatibility corpus
# ($COLLIE_COMPAT_DIR, see its README.md), for check.bats.
#
#   compat_supervisord OUTDIR   one line per .conf: "ok FILE", "rejected FILE"
#                               and the messages in OUTDIR/FILE.out
#
# The corpus needs what supervisord needs to load it (README: "%(ENV_X)s
# expansions", "Host-dependent checks"):
#  - every ENV_ variable it names, with a value of the right type where the
#    variable feeds a typed key (numbers, booleans, a signal, a size, a
#    user), "" where the README says it may expand to nothing, a word
#    otherwise. FOO is not set: issue-1170a defines it in [supervisord]
#    environment=, which collie implements.
#  - the users its programs run as. They are real users, not a stub: the
#    check runs in a private mount namespace where /etc/passwd and
#    /etc/group are copies of the machine's with the missing users added,
#    so getpwnam() and getgrouplist() answer as on the original systems
#    and the machine's files are untouched. The same namespace puts empty
#    directories over the absolute [include] paths (/etc/supervisor/conf.d,
#    /app/conf.d, /opt/docker/etc/supervisor.d) that exist here, so what
#    this machine holds there cannot change the result.
#  - fragments (files without [supervisord]) are loaded as the only
#    include of a minimal main config; the ONLYOFFICE ds.conf group file
#    together with its five sibling fragments.

compat_users="ds pushserver ttnba fetchmail _mta-sts paperless nginx docker www-data nobody"

compat_env() {
	local v
	for v in $(grep -oh 'ENV_[A-Za-z0-9_]*' "$COLLIE_COMPAT_DIR"/supervisord/* | sort -u); do
		v=${v#ENV_}
		case $v in
		PATH | HOME | FOO) ;;
		NUMPROCS | NUM_WORKERS_* | MAX_WORKER_NUM | WEB_WORKERS | LOGFILE_BACKUPS | \
			SUPERVISOR_STOPWAITSECS | POSTGREY_DELAY | POSTGREY_MAX_AGE | \
			POSTGREY_AUTO_WHITELIST_CLIENTS | FETCHMAIL_POLL | SUPERVISOR_HTTP_PORT)
			export "$v=2" ;;
		DISPLAY_WIDTH) export "$v=1024" ;;
		DISPLAY_HEIGHT) export "$v=768" ;;
		GEOMETRY) export "$v=1024x768x24" ;;
		LOGFILE_MAXBYTES) export "$v=10MB" ;;
		SE_VIDEO_INTERNAL_UPLOAD | CHROME | SUPERVISOR_KILLASGROUP | SUPERVISOR_STOPASGROUP)
			export "$v=true" ;;
		SELENIUM_NODE_CHROME_STOP_SIGNAL | SUPERVISOR_STOPSIGNAL) export "$v=TERM" ;;
		SUPERVISOR_PHP_USER) export "$v=www-data" ;;
		SUPERVISOR_PHP_COMMAND)
			export "$v=/usr/bin/php -d variables_order=EGPCS /var/www/html/artisan serve" ;;
		CELERY_MAIN_OPTIONS | GRANIAN_MODE_ARGS | GRANIAN_ARGS) export "$v=" ;;
		LOG_LEVEL | SE_SUPERVISORD_LOG_LEVEL) export "$v=info" ;;
		*DIR | PG | BIN_UTILS | FLESHLOCATION) export "$v=/tmp" ;;
		*) export "$v=value-of-$v" ;;
		esac
	done
}

# Copy /etc/passwd and /etc/group with the corpus users added.
compat_make_users() {
	local dir=$1 u id=61000
	cp /etc/passwd "$dir/passwd"
	cp /etc/group "$dir/group"
	for u in $compat_users; do
		if ! grep -q "^$u:" "$dir/passwd"; then
			echo "$u:x:$id:$id::/nonexistent:/usr/sbin/nologin" >> "$dir/passwd"
			echo "$u:x:$id:" >> "$dir/group"
		fi
		id=$((id + 1))
	done
}

# The main config to check for a corpus file (a fragment gets one).
compat_main() {
	local f=$1 dir=$2 b
	b=$(basename "$f")
	if grep -q '^\[supervisord\]' "$f"; then
		echo "$f"
		return
	fi
	case $b in
	ONLYOFFICE__*_ds-*.conf) echo "skip" ; return ;;
	ONLYOFFICE__*_ds.conf)
		printf '[supervisord]\n[include]\nfiles = %s\n' \
			"$(ls "$COLLIE_COMPAT_DIR"/supervisord/ONLYOFFICE__*.conf | tr '\n' ' ')" \
			> "$dir/main-$b" ;;
	*) printf '[supervisord]\n[include]\nfiles = %s\n' "$f" > "$dir/main-$b" ;;
	esac
	echo "$dir/main-$b"
}

# Runs inside the private mount namespace (see the top).
compat_run() {
	local out=$1 f main d
	mount --bind "$out/passwd" /etc/passwd
	mount --bind "$out/group" /etc/group
	for d in /etc/supervisor/conf.d /app/conf.d /opt/docker/etc/supervisor.d; do
		[ -d "$d" ] && mount -t tmpfs none "$d"
	done
	compat_env
	for f in "$COLLIE_COMPAT_DIR"/supervisord/*.conf; do
		main=$(compat_main "$f" "$out")
		[ "$main" = skip ] && continue
		if "$COLLIE" check -c "$main" > /dev/null 2> "$out/$(basename "$f").out"; then
			echo "ok $(basename "$f")"
		else
			echo "rejected $(basename "$f")"
		fi
	done
}

compat_supervisord() {
	local out=$1
	compat_make_users "$out"
	unshare --mount bash -c "set -e; source '$BATS_TEST_DIRNAME/compat.bash'; \
		COLLIE='$COLLIE' COLLIE_COMPAT_DIR='$COLLIE_COMPAT_DIR' compat_run '$out'"
}
