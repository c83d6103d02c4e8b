#!/bin/sh
# `ffmpeg` inside the av1d test image (tests/docker/build-image.sh): a
# stand-in for lscr.io/linuxserver/ffmpeg on a machine without an Intel GPU.
#
# av1d runs the production argv (`--entrypoint ffmpeg`, av1_qsv, a render
# node); this shim records that argv, NUL-separated, in .av1d-shim-argv next
# to the output file (the last argument, in the job's private temp folder,
# the only one av1d mounts read-write), and as the output's global tag
# AV1D_SHIM_ARGV (separated by \037), which outlives the temp folder; then
# it runs the machine's own ffmpeg with av1_qsv replaced by libsvtav1 and the
# QSV-only options mapped or dropped:
#   -c:v av1_qsv             -> -c:v libsvtav1
#   -preset slower           -> -preset 12 (fast, for tests)
#   -global_quality Q        -> -crf Q
#   -vf format=nv12,hwupload -> -vf format=yuv420p (p010le -> yuv420p10le)
#   -init_hw_device, -filter_hw_device, -profile:v, -extbrc,
#   -look_ahead_depth, -low_power, -async_depth and their values: dropped
# An input with the sticky bit set (chmod +t) is read at its native rate
# (-re), so that tests can cancel or kill an encode midway: the container
# sees nothing of the library but the input and the temp folder.
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
record=""
sep=$(printf '\037')
prev=""
for arg in "$@"; do
	record="$record$arg$sep"
	if [ "$prev" = -i ] && [ -k "$arg" ]; then
		realtime=1
	fi
	prev=$arg
done

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
	"$last")
		if [ "$n" -eq 0 ]; then
			set -- "$@" -metadata "AV1D_SHIM_ARGV=$record" "$arg"
		else
			set -- "$@" "$arg"
		fi
		;;
	*) set -- "$@" "$arg" ;;
	esac
done
exec "$real" "$@"
