#!/bin/sh
# The unprivileged user the docker suite runs one daemon as:
# tests/docker/add-test-user.sh prints "<uid> <gid>" of av1d-test.
#
# Creates the system user av1d-test (and its group) when it is missing and
# lets it use the Docker socket the way a real av1d user would: by membership
# of the socket's group (docker). Needs root; run by the tests' setup only.
# Concurrent runs serialise on the same lock as build-image.sh.
#
# Environment: AV1D_TEST_USER (av1d-test), AV1D_TEST_LOCK_DIR (/tmp),
# DOCKER_HOST (unix:///var/run/docker.sock).
set -eu

user=${AV1D_TEST_USER:-av1d-test}
lock="${AV1D_TEST_LOCK_DIR:-/tmp}/av1d-test-user.lock"
host=${DOCKER_HOST:-unix:///var/run/docker.sock}
socket=${host#unix://}

die() {
	echo "add-test-user.sh: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root to create $user"

exec 9>>"$lock"
flock 9

if ! id -u "$user" >/dev/null 2>&1; then
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$user" || die "useradd $user failed"
fi

# the daemon's user reaches the engine through the socket's group
[ -S "$socket" ] || die "no Docker socket at $socket"
group=$(stat -c '%G' "$socket")
gid=$(stat -c '%g' "$socket")
[ "$gid" -ne 0 ] || die "$socket belongs to group root: give it a docker group first"
case " $(id -Gn "$user") " in
*" $group "*) ;;
*) usermod -a -G "$group" "$user" || die "cannot add $user to group $group" ;;
esac

echo "$(id -u "$user") $(id -g "$user")"
