#!/usr/bin/env bash
# The installed user unit under a real `systemd --user`, with a real journald
# and the session bus from dbus-user-session (SPEC 10, 11), for an ordinary
# user (uid >= 1000, as `journalctl --user` expects) that exists only inside
# the test's mount namespace.
#
# Usage: test-user-unit.sh AV1D_BIN UNIT_FILE DBUS_SERVICE_FILE MEDIA_SH
#   UNIT_FILE and DBUS_SERVICE_FILE are the configured data/ files from the
#   build; the test installs them and a copy of AV1D_BIN into the user's
#   temporary ~/.local, the paths in them pointing there.
#   AV1D_TEST_TRACE=1 traces the inner part.
#
# Checks: the unit stays activating until READY=1 (AV1D_PAUSE_AT holds av1d
# just before it) and then is active; Type=notify, BusName=, WatchdogUSec=30s;
# av1d owns org.av1d on the user bus; STATUS= reaches StatusText; a real
# encode's story is in `journalctl --user AV1D_JOB_ID=1` with MESSAGE_ID,
# AV1D_PATH, AV1D_STATUS, AV1D_SAVED_BYTES and in `journalctl --user -u av1d`;
# the job store is in StateDirectory=; `systemctl --user stop` ends it with
# exit status 0; a SIGTERM from elsewhere turns it deactivating through
# STOPPING=1; WATCHDOG=1 keeps it alive under WatchdogSec=2; a bus call to
# org.av1d starts it through the D-Bus activation file.
#
# Safety (SPEC 11): journald, dbus and `systemd --user` run in a private mount
# namespace (tmpfs on /run, /var/log and /sys/fs/cgroup) and a cgroup
# namespace rooted at fresh cgroups of their own, av1d-test.<pid>, made below
# this script's cgroup in every hierarchy. The manager can neither see nor
# adopt any other process of the machine. Nothing is started until
# /proc/self/cgroup shows the new cgroups; afterwards every process left in
# them is killed by PID and the cgroups are removed, also on failure.
#
# Exit status: 0 pass, 1 fail, 77 skip (not root, or no systemd binaries).
set -eu

SYSTEMD_DIR=/lib/systemd
JOURNALD=$SYSTEMD_DIR/systemd-journald
MANAGER=$SYSTEMD_DIR/systemd
DBUS_SOCKET_UNIT=/usr/lib/systemd/user/dbus.socket
# exists only in this test's mount namespace
TEST_USER=av1d-systemd-test

skip() {
	echo "SKIP: $*"
	exit 77
}

if [ "${1:-}" = --inner ]; then
	phase=inner
	shift
else
	phase=outer
fi

if [ $# -ne 4 ]; then
	echo "usage: $0 AV1D_BIN UNIT_FILE DBUS_SERVICE_FILE MEDIA_SH" >&2
	exit 2
fi
av1d_bin=$1
unit_file=$2
dbus_service_file=$3
media_sh=$4

# ---------------------------------------------------------------------------
# outer: make the cgroups, start the inner part inside them, clean up after
# ---------------------------------------------------------------------------
outer() {
	[ "$(id -u)" -eq 0 ] || skip "needs root: private mount and cgroup namespaces, own cgroups"
	for tool in "$MANAGER" "$JOURNALD" systemctl journalctl busctl unshare setpriv dbus-daemon; do
		command -v "$tool" >/dev/null 2>&1 || skip "no $tool (packages systemd, dbus, util-linux)"
	done
	[ -e "$DBUS_SOCKET_UNIT" ] || skip "no $DBUS_SOCKET_UNIT (package dbus-user-session)"
	[ -d /sys/fs/cgroup ] || skip "no /sys/fs/cgroup"

	tmp=$(mktemp -d "${TMPDIR:-/tmp}/av1d-test-systemd-XXXXXX")
	chmod 755 "$tmp"
	cg_id="av1d-test.$$"
	cgroups=()
	trap outer_cleanup EXIT
	trap 'exit 1' INT TERM HUP

	make_cgroups
	[ "${#cgroups[@]}" -gt 0 ] || fail "found no cgroup hierarchy of this process"

	# a subshell moves itself into the new cgroups, checks, then becomes
	# the inner part; this script stays where it was to clean up
	set +e
	(
		for dir in "${cgroups[@]}"; do
			echo "$BASHPID" >"$dir/cgroup.procs" || exit 1
		done
		while IFS=: read -r _ controllers path; do
			case "$path" in
			*/"$cg_id") ;;
			*)
				echo "FAIL: still in ${controllers:-unified}:$path, not in $cg_id; not starting" >&2
				exit 1
				;;
			esac
		done <"/proc/$BASHPID/cgroup"
		export AV1D_TEST_TMP="$tmp"
		exec timeout -k 5 400 unshare --mount --cgroup --propagation private -- \
			"$BASH" "$0" --inner "$av1d_bin" "$unit_file" "$dbus_service_file" "$media_sh"
	)
	status=$?
	set -e
	if [ $status -eq 124 ]; then
		echo "FAIL: timed out" >&2
	fi
	exit $status
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# one directory av1d-test.<pid> below our own cgroup in every mounted hierarchy
make_cgroups() {
	local mnt path dir
	while read -r mnt; do
		while IFS=: read -r _ _ path; do
			[ -r "$mnt${path%/}/cgroup.procs" ] || continue
			grep -qx "$$" "$mnt${path%/}/cgroup.procs" || continue
			dir="$mnt${path%/}/$cg_id"
			if [ ! -d "$dir" ]; then
				mkdir "$dir"
				cgroups+=("$dir")
				# a v1 cpuset starts empty and takes no task until filled
				if [ -e "$dir/cpuset.cpus" ]; then
					cat "$mnt${path%/}/cpuset.cpus" >"$dir/cpuset.cpus"
					cat "$mnt${path%/}/cpuset.mems" >"$dir/cpuset.mems"
				fi
			fi
			break
		done </proc/self/cgroup
	done < <(awk '$3 == "cgroup" || $3 == "cgroup2" { print $2 }' /proc/self/mounts)
}

# every PID in our cgroups is one we started: the cgroups were made empty
cgroup_pids() {
	local dir
	for dir in "${cgroups[@]}"; do
		[ -d "$dir" ] || continue
		find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null || true
	done | sort -un
}

outer_cleanup() {
	local pids round dir
	for round in $(seq 1 100); do
		pids=$(cgroup_pids)
		[ -n "$pids" ] || break
		# shellcheck disable=SC2086 # a list of PIDs
		kill -KILL $pids 2>/dev/null || true
		sleep 0.1
	done
	for dir in "${cgroups[@]}"; do
		for round in $(seq 1 50); do
			[ -d "$dir" ] || break
			find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
			[ -d "$dir" ] || break
			sleep 0.1
		done
		if [ -d "$dir" ]; then
			echo "WARNING: could not remove $dir" >&2
		fi
	done
	rm -rf "$tmp"
}

# ---------------------------------------------------------------------------
# inner: in the namespaces; journald, systemd --user, then the checks
# ---------------------------------------------------------------------------
MSG_STARTED=5a7f0e6d2c8b4e1a9f3d6c2b1e0a7d42
MSG_FINISHED=8e2b4d6f1a3c4e5b9d7f2a6c0e1b3d53
MSG_SWAPPED=7b9d1f3a5c7e4b2d9f1a3c5e7b9d2f86
MSG_FAILED=c3a1e5f7b9d24c6e8a0f1b3d5e7c9a64
MSG_DAEMON_STARTED=0c5d3e0b8f1b4c5f9c2a7d1e6b3f4a01

ok() {
	echo "ok: $*"
}

# wait_for SECONDS WHAT COMMAND...: poll every 0.1 s
wait_for() {
	local deadline=$(($(date +%s) + $1)) what=$2
	shift 2
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$deadline" ] || fail "timed out waiting for $what"
		sleep 0.1
	done
}

# run as the test user, with the environment a login would give it
as_user() {
	setpriv --reuid="$test_uid" --regid="$test_uid" --init-groups -- "$@"
}

sctl() {
	timeout 45 setpriv --reuid="$test_uid" --regid="$test_uid" --init-groups -- \
		systemctl --user --no-pager "$@"
}

bctl() {
	timeout 30 setpriv --reuid="$test_uid" --regid="$test_uid" --init-groups -- \
		busctl --user "$@"
}

prop() {
	sctl show -p "$1" --value av1d.service
}

state_is() {
	[ "$(sctl is-active av1d.service)" = "$1" ]
}

# the main process stopped itself at an AV1D_PAUSE_AT point
main_is_stopped() {
	local pid
	pid=$(prop MainPID)
	[ "$pid" -gt 0 ] && [ "$(awk '{print $3}' "/proc/$pid/stat")" = T ]
}

expect() {
	local what=$1 want=$2 got=$3
	[ "$got" = "$want" ] || fail "$what: want '$want', got '$got'"
}

expect_match() {
	local what=$1 pattern=$2 text=$3
	grep -qE -- "$pattern" <<<"$text" || fail "$what: no match for '$pattern' in: $text"
}

jctl() {
	timeout 20 setpriv --reuid="$test_uid" --regid="$test_uid" --init-groups -- \
		journalctl --user --no-pager "$@"
}

inner_setup() {
	local host_fs
	host_fs=$(stat -fc %T /sys/fs/cgroup)
	mount -t tmpfs -o mode=755 av1d-test /run
	mount -t tmpfs -o mode=755 av1d-test /var/log
	# cgroup trees whose root is our own cgroup: in a cgroup namespace a
	# fresh mount starts at the namespace's root
	if [ "$host_fs" = cgroup2fs ]; then
		mount -t cgroup2 cgroup2 /sys/fs/cgroup
		cg_trees=(/sys/fs/cgroup)
	else
		mount -t tmpfs -o mode=755 av1d-test /sys/fs/cgroup
		mkdir /sys/fs/cgroup/systemd
		mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd
		cg_trees=(/sys/fs/cgroup/systemd)
		if grep -q '^0::' /proc/self/cgroup; then
			mkdir /sys/fs/cgroup/unified
			mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
			cg_trees+=(/sys/fs/cgroup/unified)
		fi
	fi
	for tree in "${cg_trees[@]}"; do
		grep -qx "$$" "$tree/cgroup.procs" || fail "$tree is not rooted at our own cgroup"
	done
	# journald names its directory after the machine id; a fresh container
	# may have an empty file
	if [ ! -s /etc/machine-id ] && [ -e /etc/machine-id ]; then
		systemd-id128 new >"$tmp/machine-id"
		mount --bind "$tmp/machine-id" /etc/machine-id
	fi
	add_test_user
}

# an ordinary user in copies of /etc/passwd and /etc/group, bind-mounted in
# this namespace only; member of systemd-journal to read the journal
add_test_user() {
	getent passwd "$TEST_USER" >/dev/null && fail "user $TEST_USER exists already"
	test_uid=2000
	while getent passwd "$test_uid" >/dev/null || getent group "$test_uid" >/dev/null; do
		test_uid=$((test_uid + 1))
	done
	getent group systemd-journal >/dev/null || fail "no systemd-journal group"
	cp /etc/passwd "$tmp/passwd"
	echo "$TEST_USER:x:$test_uid:$test_uid:av1d systemd test:$tmp/home:/bin/sh" >>"$tmp/passwd"
	awk -F: -v OFS=: -v user="$TEST_USER" '$1 == "systemd-journal" { $4 = ($4 == "" ? user : $4 "," user) } 1' \
		/etc/group >"$tmp/group"
	echo "$TEST_USER:x:$test_uid:" >>"$tmp/group"
	chmod 644 "$tmp/passwd" "$tmp/group"
	mount --bind "$tmp/passwd" /etc/passwd
	mount --bind "$tmp/group" /etc/group
	[ "$(id -u "$TEST_USER")" = "$test_uid" ] || fail "the test user does not resolve"
	id -Gn "$TEST_USER" | grep -qw systemd-journal || fail "the test user is not in systemd-journal"
}

# the binary, the configured unit and D-Bus service file, installed into the
# user's ~/.local as a user would, the paths pointing there
install_files() {
	local bin=$HOME/.local/bin/av1d
	local units=$XDG_DATA_HOME/systemd/user services=$XDG_DATA_HOME/dbus-1/services
	mkdir -p "$units" "$services" "$XDG_CONFIG_HOME/av1d" "$(dirname "$bin")"
	install -m 755 "$av1d_bin" "$bin"
	sed -E "s|^ExecStart=[^ ]*/av1d( \|$)|ExecStart=$bin\1|" "$unit_file" >"$units/av1d.service"
	grep -qx "ExecStart=$bin" "$units/av1d.service" || fail "no ExecStart= line in $unit_file"
	sed -E "s|^Exec=[^ ]*/av1d( \|$)|Exec=$bin\1|" "$dbus_service_file" >"$services/org.av1d.service"
	grep -qx "Exec=$bin" "$services/org.av1d.service" || fail "no Exec= line in $dbus_service_file"
	# no job_state_dir: the daemon must use the unit's StateDirectory=
	cat >"$XDG_CONFIG_HOME/av1d/config.toml" <<-EOF
		library_roots = ["$library"]
		min_bytes = 1
		stable_secs = 0
		max_size_ratio = 1.0
		encoder = "software"
	EOF
	chown -R "$test_uid:$test_uid" "$HOME" "$library"
}

start_journald() {
	mkdir -p /run/systemd/journal /run/systemd/journald.conf.d /var/log/journal
	chgrp systemd-journal /var/log/journal
	chmod 2755 /var/log/journal
	# persistent, so that the user's entries go to user-<uid>.journal, which
	# is what `journalctl --user` reads; "flushed" as if systemd-journal-flush
	# had run. The kernel's messages are the host's business.
	printf '[Journal]\nStorage=persistent\nReadKMsg=no\n' \
		>/run/systemd/journald.conf.d/av1d-test.conf
	touch /run/systemd/journal/flushed
	"$JOURNALD" >"$tmp/journald.log" 2>&1 &
	journald_pid=$!
	wait_for 10 "journald's sockets" test -S /run/systemd/journal/stdout
}

# systemd --user in the cgroup a real login would give it, so that journald
# fills in _SYSTEMD_USER_UNIT and `journalctl --user -u` works
start_manager() {
	local user_cgroup=/user.slice/user-$test_uid.slice/user@$test_uid.service
	mkdir -p -m 700 "$XDG_RUNTIME_DIR"
	chown "$test_uid:$test_uid" "$XDG_RUNTIME_DIR"
	# "booted with systemd" (sd_booted()), or the user manager refuses to
	# start; true enough inside this namespace
	mkdir -p /run/systemd/system
	(
		# delegated to the user, as user@.service's Delegate=yes does
		for tree in "${cg_trees[@]}"; do
			mkdir -p "$tree$user_cgroup"
			chown -R "$test_uid:$test_uid" "$tree$user_cgroup"
			echo "$BASHPID" >"$tree$user_cgroup/cgroup.procs"
		done
		for tree in "${cg_trees[@]}"; do
			grep -qx "$BASHPID" "$tree$user_cgroup/cgroup.procs" ||
				fail "not in $tree$user_cgroup; not starting systemd --user"
		done
		exec setpriv --reuid="$test_uid" --regid="$test_uid" --init-groups -- "$MANAGER" --user
	) >"$tmp/manager.log" 2>&1 &
	manager_pid=$!
	wait_for 20 "the user manager's socket" test -S "$XDG_RUNTIME_DIR/systemd/private"
	local state
	state=$(sctl is-system-running --wait || true)
	case "$state" in
	running) ;;
	*)
		sctl --failed || true
		fail "systemd --user is $state"
		;;
	esac
	wait_for 10 "the session bus" test -S "$XDG_RUNTIME_DIR/bus"
	ok "journald and systemd --user of uid $test_uid run in their own namespaces and cgroups"
}

inner_cleanup() {
	local status=$?
	if [ $status -ne 0 ]; then
		echo "--- journal (last 60 lines) ---" >&2
		timeout 10 journalctl --no-pager -n 60 -o short-monotonic \
			--directory="/var/log/journal/$(cat /etc/machine-id)" >&2 || true
		echo "--- av1d.service ---" >&2
		sctl status -l av1d.service >&2 || true
		echo "--- manager log ---" >&2
		tail -n 40 "$tmp/manager.log" >&2 || true
		echo "--- processes ---" >&2
		ps -o pid,ppid,stat,wchan:20,cmd -p "$(cat /sys/fs/cgroup/*/cgroup.procs /sys/fs/cgroup/*/*/*/*/cgroup.procs 2>/dev/null | sort -un | xargs | tr ' ' ,)" >&2 || true
	fi
	if [ -n "${manager_pid:-}" ]; then
		kill -TERM "$manager_pid" 2>/dev/null || true
		for _ in $(seq 1 100); do
			kill -0 "$manager_pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	if [ -n "${journald_pid:-}" ]; then
		kill -TERM "$journald_pid" 2>/dev/null || true
		wait "$journald_pid" 2>/dev/null || true
	fi
	exit $status
}

check_activating_until_ready() {
	local pid
	sctl set-environment AV1D_PAUSE_AT=service-before-ready
	sctl start --no-block av1d.service
	wait_for 90 "av1d to pause just before READY=1" main_is_stopped
	pid=$(prop MainPID)
	expect "state before READY=1" activating "$(sctl is-active av1d.service || true)"
	expect "org.av1d owner before READY=1" "b true" "$(bctl call \
		org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner s org.av1d)"
	sleep 1
	expect "state a second later, still without READY=1" activating \
		"$(sctl is-active av1d.service || true)"
	sctl unset-environment AV1D_PAUSE_AT
	kill -CONT "$pid"
	wait_for 10 "av1d to become active after READY=1" state_is active
	ok "activating until READY=1, then active"
}

status_counts_folders() {
	[[ "$(prop StatusText)" =~ watching\ [1-9][0-9]*\ folders$ ]]
}

check_running_unit() {
	local version owner status_text
	expect "Type" notify "$(prop Type)"
	expect "BusName" org.av1d "$(prop BusName)"
	expect "WatchdogUSec" 30s "$(prop WatchdogUSec)"
	expect "NRestarts" 0 "$(prop NRestarts)"
	version=$(bctl get-property org.av1d /org/av1d org.av1d.Manager1 Version)
	expect_match "Manager1.Version over the user bus" '^s "[0-9.]+"$' "$version"
	owner=$(bctl status org.av1d)
	expect_match "org.av1d's owner" '^UserUnit=av1d\.service$' "$owner"
	# the folder count follows the crawl, which may end after READY=1
	wait_for 30 "STATUS= to count the watched folders" status_counts_folders
	status_text=$(prop StatusText)
	expect_match "StatusText" '^[0-9]+ running, [0-9]+ queued; watching [1-9][0-9]* folders$' "$status_text"
	ok "Type=notify, BusName, WatchdogUSec=30s, org.av1d owned by the unit, STATUS=$status_text"
}

# the JSON entry of job $2 (default 1) with MESSAGE_ID $1
job_entry() {
	jctl "AV1D_JOB_ID=${2:-1}" "MESSAGE_ID=$1" -o json
}

job_has_finished() {
	[ -n "$(job_entry "$MSG_FINISHED")" ]
}

job_2_has_failed() {
	[ -n "$(job_entry "$MSG_FAILED" 2)" ]
}

check_job_in_journal() {
	local movie=$library/movie.mkv entry saved before after state_dir state_file story
	as_user cp "$(media_file)" "$tmp/staging/movie.mkv"
	before=$(stat -c %s "$tmp/staging/movie.mkv")
	as_user mv "$tmp/staging/movie.mkv" "$movie"
	wait_for 60 "job 1's finished entry in the journal" job_has_finished

	entry=$(job_entry "$MSG_STARTED")
	expect_match "started entry" "\"AV1D_PATH\":\"$movie\"" "$entry"
	expect_match "started entry" '"_SYSTEMD_USER_UNIT":"av1d.service"' "$entry"
	entry=$(job_entry "$MSG_SWAPPED")
	expect_match "swapped entry" '"AV1D_STATUS":"success"' "$entry"
	entry=$(job_entry "$MSG_FINISHED")
	expect_match "finished entry" "\"AV1D_PATH\":\"$movie\"" "$entry"
	expect_match "finished entry" '"AV1D_STATUS":"success"' "$entry"
	# the original is the backup, the AV1 took its name
	after=$(stat -c %s "$movie")
	expect "backup size" "$before" "$(stat -c %s "$library/movie.orig.mkv")"
	saved=$((before - after))
	expect_match "finished entry" "\"AV1D_SAVED_BYTES\":\"$saved\"" "$entry"
	# started first; swapped and finished follow (in either order)
	story=$(jctl AV1D_JOB_ID=1 -o json --output-fields=MESSAGE_ID |
		grep -oE '"MESSAGE_ID":"[0-9a-f]+"' | cut -d'"' -f4 | xargs)
	expect "the first entry of job 1's story" "$MSG_STARTED" "${story%% *}"
	expect "job 1's story" "$(printf '%s\n' "$MSG_STARTED" "$MSG_SWAPPED" "$MSG_FINISHED" | sort | xargs)" \
		"$(printf '%s\n' $story | sort | xargs)"
	expect_match "journalctl --user -u av1d" "movie\.mkv: " "$(jctl -u av1d.service -o cat)"
	expect_match "daemon started entry" '"MESSAGE":"av1d [0-9.]+ started' \
		"$(jctl -u av1d.service "MESSAGE_ID=$MSG_DAEMON_STARTED" -o json)"
	# StateDirectory=av1d holds the job store
	# StateDirectory=av1d holds the job store: systemd 252 makes it
	# $XDG_CONFIG_HOME/av1d for a user unit, newer ones may use $XDG_STATE_HOME
	state_dir=$(tr '\0' '\n' <"/proc/$(prop MainPID)/environ" | sed -n 's/^STATE_DIRECTORY=//p')
	case "$state_dir" in
	"$XDG_CONFIG_HOME/av1d" | "$XDG_STATE_HOME/av1d") ;;
	*) fail "STATE_DIRECTORY is '$state_dir'" ;;
	esac
	state_file=$state_dir/jobs/1.json
	[ -f "$state_file" ] || fail "no $state_file: $(find "$HOME" -name 1.json)"
	check_failed_job_in_journal
	ok "job 1 in the journal: started, swapped, finished with AV1D_PATH, AV1D_STATUS, AV1D_SAVED_BYTES=$saved; job 2 failed; store in $state_dir"
}

# a file that is not media: job 2 fails, and says so in the journal
check_failed_job_in_journal() {
	local garbage=$library/garbage.mkv entry
	as_user sh -c 'echo "not a film" >"$1"' sh "$tmp/staging/garbage.mkv"
	as_user mv "$tmp/staging/garbage.mkv" "$garbage"
	wait_for 60 "job 2's failed entry in the journal" job_2_has_failed
	entry=$(job_entry "$MSG_FAILED" 2)
	expect_match "failed entry" "\"AV1D_PATH\":\"$garbage\"" "$entry"
	expect_match "failed entry" '"AV1D_STATUS":"failed"' "$entry"
	expect_match "failed entry" '"AV1D_SAVED_BYTES":"0"' "$entry"
	expect_match "failed entry" '"PRIORITY":"5"' "$entry"
	[ -z "$(job_entry "$MSG_FINISHED" 2)" ] || fail "job 2 has a finished entry too"
	[ -z "$(jctl AV1D_JOB_ID=2 "MESSAGE_ID=$MSG_FINISHED" "MESSAGE_ID=$MSG_SWAPPED" -o cat)" ] ||
		fail "job 2 was swapped or finished"
}

check_stop() {
	sctl stop av1d.service
	expect "state after stop" inactive "$(sctl is-active av1d.service || true)"
	expect "Result after stop" success "$(prop Result)"
	expect "ExecMainStatus after stop" 0 "$(prop ExecMainStatus)"
	expect_match "journal after stop" "stopping on signal" "$(jctl -u av1d.service -o cat)"
	ok "systemctl --user stop: inactive, Result=success, exit status 0"
}

# SIGTERM from someone else than systemd: STOPPING=1 alone turns the unit
# deactivating while av1d winds down
check_stopping_notification() {
	local pid
	sctl set-environment AV1D_PAUSE_AT=service-stopping
	sctl start av1d.service
	expect "state after start" active "$(sctl is-active av1d.service || true)"
	sctl kill --kill-whom=main --signal=TERM av1d.service
	wait_for 20 "av1d to pause just after STOPPING=1" main_is_stopped
	pid=$(prop MainPID)
	wait_for 10 "deactivating after STOPPING=1" state_is deactivating
	expect "StatusText after STOPPING=1" stopping "$(prop StatusText)"
	sctl unset-environment AV1D_PAUSE_AT
	kill -CONT "$pid"
	wait_for 20 "inactive after SIGTERM" state_is inactive
	expect "Result after SIGTERM" success "$(prop Result)"
	expect "NRestarts after SIGTERM" 0 "$(prop NRestarts)"
	ok "SIGTERM: STOPPING=1 makes the unit deactivating, then inactive, not failed or restarted"
}

# with a short WatchdogSec= the daemon must keep pinging or be killed
check_watchdog_pings() {
	local dropin=$XDG_CONFIG_HOME/systemd/user/av1d.service.d first last
	mkdir -p "$dropin"
	printf '[Service]\nWatchdogSec=2\n' >"$dropin/watchdog.conf"
	sctl daemon-reload
	sctl start av1d.service
	first=$(prop WatchdogTimestampMonotonic)
	sleep 4.5
	expect "state after 2 watchdog intervals" active "$(sctl is-active av1d.service || true)"
	last=$(prop WatchdogTimestampMonotonic)
	[ "$last" -gt "$first" ] || fail "no WATCHDOG=1 in 4.5 s with WatchdogSec=2 ($first, $last)"
	sctl stop av1d.service
	expect "Result after watchdog run" success "$(prop Result)"
	rm -r "$dropin"
	sctl daemon-reload
	ok "WATCHDOG=1 pings at half of WatchdogSec"
}

check_bus_activation() {
	local version
	expect "state before activation" inactive "$(sctl is-active av1d.service || true)"
	version=$(bctl get-property org.av1d /org/av1d org.av1d.Manager1 Version)
	expect_match "Version through bus activation" '^s "[0-9.]+"$' "$version"
	expect "state after bus activation" active "$(sctl is-active av1d.service || true)"
	sctl stop av1d.service
	ok "D-Bus activation of org.av1d starts av1d.service"
}

media_file() {
	local dir=${TMPDIR:-/tmp}/av1d-test-media
	sh "$media_sh" "$dir" >&2 || fail "tests/media.sh failed"
	echo "$dir/h264-eng-rus.mkv"
}

inner() {
	[ -z "${AV1D_TEST_TRACE:-}" ] || set -x
	tmp=$AV1D_TEST_TMP
	library=$tmp/library
	trap inner_cleanup EXIT
	inner_setup
	export HOME=$tmp/home
	export XDG_CONFIG_HOME=$HOME/.config XDG_DATA_HOME=$HOME/.local/share
	export XDG_STATE_HOME=$HOME/.local/state XDG_CACHE_HOME=$HOME/.cache
	export XDG_RUNTIME_DIR=/run/user/$test_uid USER=$TEST_USER LOGNAME=$TEST_USER
	export DBUS_SESSION_BUS_ADDRESS=unix:path=$XDG_RUNTIME_DIR/bus
	unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID INVOCATION_ID AV1D_PAUSE_AT AV1D_CRASH_AT
	unset AV1D_STATE_DIR STATE_DIRECTORY
	mkdir -p "$HOME" "$library" "$tmp/staging"
	chown "$test_uid:$test_uid" "$tmp/staging"
	install_files
	start_journald
	start_manager
	check_activating_until_ready
	check_running_unit
	check_job_in_journal
	check_stop
	check_stopping_notification
	check_watchdog_pings
	check_bus_activation
}

if [ "$phase" = inner ]; then
	inner
else
	outer
fi
