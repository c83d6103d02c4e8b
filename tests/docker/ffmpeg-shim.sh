#!/bin/sh
# `ffmpeg` inside the av1d test image (tests/docker/build-image.sh): a
# stand-in for lscr.io/linuxserver/ffmpeg on a machine without an Intel GPU.
#
# av1d runs the production argv (`--entrypoint ffmpeg`, av1_qsv, a render
# node); this shim records that argv, NUL-separated, in .av1d-shim-argv next
# to the output file (the last argument, in the folder av1d mounts
# read-write), then runs the machine's own ffmpeg with av1_qsv replaced by
# libsvtav1 and the QSV-only options mapped or dropped:
#   -c:v av1_qsv             -> -c:v libsvtav1
#   -preset slower           -> -preset 12 (fast, for tests)
#   -global_quality Q        -> -crf Q
#   -vf format=nv12,hwupload -> -vf format=yuv420p (p010le -> yuv420p10le)
#   -init_hw_device, -filter_hw_device, -profile:v, -extbrc,
#   -look_ahead_depth, -low_power, -async_depth and their values: dropped
# With a file .av1d-test-realtime in that folder, the input is read at its
# native rate (-re), so that tests can cancel or kill an encode midway.
# It is a POSIX sh script run by the host's /bin/sh, copied into the image.
set -u

real=/usr/bin/ffmpeg

last=""
for last in "$@"; do :; done
case $last in
*/*) dir=${last%/*} ;;
*) dir=. ;;
esac
[ -n "$dir" ] || dir=/
if ! printf '%s\0' "$@" >"$dir/.av1d-shim-argv"; then
	echo "av1d test shim: cannot record the argv in $dir" >&2
	exit 1
fi
realtime=""
[ -e "$dir/.av1d-test-realtime" ] && realtime=1

# rotate the arguments: each one is taken from the front and what replaces it
# is appended, so that after $n turns "$@" holds only the new list
skip=""
n=$#
while [ "$n" -gt 0 ]; do
	arg=$1
	shift
	n=$((n - 1))
	case $skip in
	drop) skip="" ; continue ;;
	preset) skip="" ; set -- "$@" 12 ; continue ;;
	quality) skip="" ; set -- "$@" "$arg" ; continue ;;
	vf)
		skip=""
		vf=${arg%%,hwupload*}
		case $vf in
		format=nv12) vf=format=yuv420p ;;
		format=p010le) vf=format=yuv420p10le ;;
		esac
		set -- "$@" "$vf"
		continue
		;;
	esac
	case $arg in
	-init_hw_device | -filter_hw_device | -profile:v | -extbrc | -look_ahead_depth | \
		-low_power | -async_depth)
		skip=drop ;;
	-preset | -preset:v) set -- "$@" "$arg" ; skip=preset ;;
	-global_quality | -global_quality:v) set -- "$@" -crf ; skip=quality ;;
	-vf | -filter:v) set -- "$@" "$arg" ; skip=vf ;;
	-i)
		if [ -n "$realtime" ]; then
			set -- "$@" -re -i
		else
			set -- "$@" -i
		fi
		;;
	av1_qsv) set -- "$@" libsvtav1 ;;
	*) set -- "$@" "$arg" ;;
	esac
done
exec "$real" "$@"
