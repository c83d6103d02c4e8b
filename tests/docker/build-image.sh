#!/bin/sh
# Build the stand-in for lscr.io/linuxserver/ffmpeg that the docker suite runs
# av1d against: tests/docker/build-image.sh prints the image's tag.
#
# The image is `docker import` of a tar of this machine's own files: ffmpeg,
# ffprobe, /bin/sh, the shared libraries they need (their ldd closure, the
# dynamic loader and ld.so.cache included) and tests/docker/ffmpeg-shim.sh as
# /usr/local/bin/ffmpeg, which maps av1_qsv to libsvtav1 and records the argv
# it was given (see there). No registry, no pull: it works offline.
#
# The tag is av1d-test-ffmpeg:<hash of the inputs>: this script, the shim,
# and the path, size and mtime of every file copied. An image with that tag
# is reused, so only a change of the inputs (an ffmpeg upgrade, an edit here)
# builds again; images of older inputs are then removed once they are an hour
# old. Concurrent runs (meson runs tests in parallel) serialise on a lock
# file, so one builds and the others wait and reuse.
#
# Environment: DOCKER (docker), FFMPEG (ffmpeg), FFPROBE (ffprobe),
# AV1D_TEST_LOCK_DIR (/tmp) for the lock file.
set -eu

docker=${DOCKER:-docker}
here=$(cd "$(dirname "$0")" && pwd)
shim="$here/ffmpeg-shim.sh"
repo=av1d-test-ffmpeg
lock="${AV1D_TEST_LOCK_DIR:-/tmp}/av1d-test-ffmpeg.lock"

die() {
	echo "build-image.sh: $*" >&2
	exit 1
}

ffmpeg=$(command -v "${FFMPEG:-ffmpeg}") || die "no ffmpeg on this machine"
ffprobe=$(command -v "${FFPROBE:-ffprobe}") || die "no ffprobe on this machine"
"$ffmpeg" -hide_banner -encoders 2>/dev/null | grep -q ' libsvtav1 ' ||
	die "$ffmpeg has no libsvtav1: the shim cannot stand in for av1_qsv"

# the files of the image, one absolute path a line, sorted; each folder is
# resolved but the file's own name kept, so sonames stay sonames and
# /lib/... becomes /usr/lib/... on a merged-/usr system
closure() {
	for bin in "$ffmpeg" "$ffprobe" /bin/sh; do
		echo "$bin"
		# "libx.so.1 => /lib/.../libx.so.1 (0x...)" and "/lib64/ld-linux... (0x...)"
		ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
	done | sort -u | {
		# few distinct folders: resolve each once
		last_dir="" real_dir=""
		while read -r path; do
			dir=${path%/*}
			if [ "$dir" != "$last_dir" ]; then
				last_dir=$dir
				real_dir=$(cd "$dir" && pwd -P)
			fi
			echo "$real_dir/${path##*/}"
		done
	}
	[ -e /etc/ld.so.cache ] && echo /etc/ld.so.cache
}

files=$(closure | sort -u)
[ -n "$files" ] || die "no files found for the image"
# shellcheck disable=SC2086 # one path a line, none with blanks
hash=$({
	cat "$0" "$shim"
	printf '%s\n' "$files" | xargs stat -L -c '%n %s %Y'
} | sha256sum | cut -c1-16)
tag="$repo:$hash"

exec 9>>"$lock"
flock 9

if "$docker" image inspect --format '{{.Id}}' "$tag" >/dev/null 2>&1; then
	echo "$tag"
	exit 0
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/av1d-test-image.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/usr/local/bin" "$stage/tmp"
cp "$shim" "$stage/usr/local/bin/ffmpeg"
chmod 0755 "$stage/usr/local/bin/ffmpeg"
chmod 1777 "$stage/tmp"
# the merged-/usr links, so that /bin/sh and /lib64/ld-linux-*.so.2 resolve
for link in bin lib lib64 sbin; do
	if [ -L "/$link" ]; then
		ln -s "$(readlink "/$link")" "$stage/$link"
	fi
done
# hard links where the staging folder shares the file system, else copies
printf '%s\n' "$files" | while read -r f; do
	mkdir -p "$stage$(dirname "$f")"
	cp -L -l "$f" "$stage$f" 2>/dev/null || cp -L "$f" "$stage$f"
done

echo "build-image.sh: building $tag from $(printf '%s\n' "$files" | wc -l) files" >&2
(cd "$stage" && tar -c -f - --numeric-owner --owner=0 --group=0 .) |
	"$docker" import \
		--change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
		--change 'ENTRYPOINT ["ffmpeg"]' \
		--change 'LABEL org.av1d.test-image=1' \
		--message "av1d test stand-in for lscr.io/linuxserver/ffmpeg" \
		- "$tag" >/dev/null

# drop av1d-test-ffmpeg images of older inputs, but not one built within the
# hour: another checkout's tests may be using it right now
now=$(date +%s)
"$docker" image ls --format '{{.Repository}}:{{.Tag}}' "$repo" | while read -r old; do
	[ "$old" != "$tag" ] || continue
	created=$("$docker" image inspect --format '{{.Created}}' "$old" 2>/dev/null) || continue
	seconds=$(date -d "$created" +%s 2>/dev/null) || continue
	if [ $((now - seconds)) -gt 3600 ]; then
		"$docker" image rm "$old" >/dev/null 2>&1 || true
	fi
done
echo "$tag"
