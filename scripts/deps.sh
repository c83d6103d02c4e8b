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
