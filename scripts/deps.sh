# shellcheck shell=bash
# Installs what av1d needs to build and test on Debian/Ubuntu; sourced by
# quickstart.sh, test.sh and .ci/run. Only missing packages are installed.

AV1D_PACKAGES=(
  gcc pkg-config meson ninja-build gettext
  libglib2.0-dev libglib2.0-dev-bin libjson-glib-dev libsystemd-dev libncurses-dev libdbus-1-dev
  ffmpeg dbus dbus-user-session systemd tmux procps util-linux coreutils systemd-journal-remote
)

av1d_as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "av1d: need root to install packages: run this as root or install sudo" >&2
    return 1
  fi
}

av1d_install_deps() {
  local missing=() pkg
  for pkg in "${AV1D_PACKAGES[@]}" "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  echo "av1d: installing ${missing[*]}" >&2
  av1d_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  av1d_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# the docker suite needs a Docker engine that answers (it skips without one,
# and CI fails on skips): install the client and engine when there is no
# docker at all (docker.io, not over a docker-ce install), start the engine
# when it is down, and wait for it
av1d_docker_ready() {
  local i
  if ! command -v docker >/dev/null 2>&1; then
    av1d_install_deps docker.io
  fi
  if docker info >/dev/null 2>&1; then
    return 0
  fi
  echo "av1d: starting the Docker engine" >&2
  av1d_as_root systemctl start docker 2>/dev/null || av1d_as_root service docker start || true
  for i in $(seq 30); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "av1d: the Docker engine does not answer (docker info): the docker suite cannot run" >&2
  return 1
}

# configure (once) and build; extra meson options go in AV1D_MESON_OPTIONS
av1d_build() {
  local builddir="$1"
  shift
  if [ ! -f "$builddir/build.ninja" ]; then
    # shellcheck disable=SC2086
    meson setup "$builddir" "$@" ${AV1D_MESON_OPTIONS:-}
  fi
  ninja -C "$builddir"
}
