#!/bin/sh
# Generate tiny media files for the tests: tests/media.sh OUTDIR
#
# Every file is made from lavfi sources (testsrc2 + sine), 1 s long and small,
# so the whole set takes a few seconds. Files that already exist are kept, so
# running it twice is cheap. Prints nothing on success; on failure prints
# ffmpeg's log and exits non-zero. A half-written file never survives: each
# file is written under a temporary name and renamed into place.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi

out=$1
ffmpeg=${FFMPEG:-ffmpeg}
mkdir -p "$out"
log="$out/.media.log"

# run ffmpeg to produce $1 (via a temporary name) unless it exists already
gen() {
	target=$1
	shift
	if [ -e "$out/$target" ]; then
		return 0
	fi
	tmp="$out/.tmp-$$-$target"
	if ! "$ffmpeg" -hide_banner -nostdin -loglevel error -y "$@" "$tmp" >"$log" 2>&1; then
		echo "$0: generating $target failed:" >&2
		cat "$log" >&2
		rm -f "$tmp"
		exit 1
	fi
	mv "$tmp" "$out/$target"
}

have_encoder() {
	"$ffmpeg" -hide_banner -encoders 2>/dev/null | grep -q " $1 "
}

# inputs shared by several files
srt_eng="$out/.eng.srt"
srt_rus="$out/.rus.srt"
font="$out/.font.ttf"
chapters="$out/.chapters.txt"
[ -e "$srt_eng" ] || printf '1\n00:00:00,000 --> 00:00:00,800\nHello\n\n' >"$srt_eng"
[ -e "$srt_rus" ] || printf '1\n00:00:00,000 --> 00:00:00,800\nPrivet\n\n' >"$srt_rus"
# not a real font; the muxer only needs bytes and a mimetype
[ -e "$font" ] || printf 'av1d test font\n' >"$font"
[ -e "$chapters" ] || printf ';FFMETADATA1\ntitle=Chapters\n\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=500\ntitle=One\n\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=500\nEND=1000\ntitle=Two\n' >"$chapters"

video="testsrc2=size=128x96:rate=25:duration=1"
video10="testsrc2=size=128x96:rate=24000/1001:duration=1"
tone="sine=frequency=440:sample_rate=48000:duration=1"
x264="-c:v libx264 -preset ultrafast -pix_fmt yuv420p"

# shellcheck disable=SC2086 # $x264 is a list of words on purpose
gen h264-eng-rus.mkv \
	-f lavfi -i "$video" -f lavfi -i "$tone" -f lavfi -i "$tone" \
	-i "$srt_eng" -i "$srt_rus" \
	-map 0:v -map 1:a -map 2:a -map 3:s -map 4:s \
	$x264 -c:a aac -b:a 64k -c:s srt \
	-metadata:s:a:0 language=eng -metadata:s:a:1 language=rus \
	-metadata:s:s:0 language=eng -metadata:s:s:1 language=rus \
	-f matroska

if have_encoder libx265; then
	gen hevc-hdr10.mkv \
		-f lavfi -i "$video10" -f lavfi -i "$tone" \
		-c:v libx265 -preset ultrafast -pix_fmt yuv420p10le \
		-x265-params "log-level=error:hdr10=1:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,50):max-cll=1000,400" \
		-color_primaries bt2020 -color_trc smpte2084 -colorspace bt2020nc -color_range tv \
		-c:a aac -b:a 64k -metadata:s:a:0 language=eng -f matroska
else
	# the closest we can do without libx265: 10-bit video tagged as HDR10
	gen hevc-hdr10.mkv \
		-f lavfi -i "$video10" -f lavfi -i "$tone" \
		-c:v ffv1 -pix_fmt yuv420p10le \
		-color_primaries bt2020 -color_trc smpte2084 -colorspace bt2020nc -color_range tv \
		-c:a aac -b:a 64k -metadata:s:a:0 language=eng -f matroska
fi

# shellcheck disable=SC2086
gen movtext.mp4 \
	-f lavfi -i "$video" -f lavfi -i "$tone" -i "$srt_eng" \
	-map 0:v -map 1:a -map 2:s \
	$x264 -c:a aac -b:a 64k -c:s mov_text \
	-metadata:s:a:0 language=eng -metadata:s:s:0 language=eng -f mp4

# shellcheck disable=SC2086
gen font-chapters.mkv \
	-f lavfi -i "$video" -f lavfi -i "$tone" -i "$chapters" \
	-map 0:v -map 1:a -map_metadata 2 -map_chapters 2 \
	-attach "$font" -metadata:s:t:0 mimetype=application/x-truetype-font \
	-metadata:s:t:0 filename=test.ttf \
	$x264 -c:a aac -b:a 64k -metadata:s:a:0 language=eng -f matroska

if have_encoder libsvtav1; then
	av1="-c:v libsvtav1 -preset 12 -crf 50"
else
	av1="-c:v libaom-av1 -cpu-used 8 -crf 50 -b:v 0"
fi
# shellcheck disable=SC2086
gen already-av1.mkv \
	-f lavfi -i "$video" -f lavfi -i "$tone" \
	$av1 -pix_fmt yuv420p -c:a aac -b:a 64k -f matroska

# shellcheck disable=SC2086
gen only-russian.mkv \
	-f lavfi -i "$video" -f lavfi -i "$tone" \
	$x264 -c:a aac -b:a 64k -metadata:s:a:0 language=rus -f matroska

# shellcheck disable=SC2086
gen Movie.2020.1080p.WEB-DL.x264.mkv \
	-f lavfi -i "$video" -f lavfi -i "$tone" \
	$x264 -c:a aac -b:a 64k -metadata:s:a:0 language=eng -f matroska

# the first half of a valid file: the header parses, the data stops short
if [ ! -e "$out/truncated.mkv" ]; then
	size=$(wc -c <"$out/h264-eng-rus.mkv")
	head -c $((size / 2)) "$out/h264-eng-rus.mkv" >"$out/.tmp-$$-truncated.mkv"
	mv "$out/.tmp-$$-truncated.mkv" "$out/truncated.mkv"
fi

# only the start of the header: ffprobe gives up
if [ ! -e "$out/truncated-header.mkv" ]; then
	head -c 400 "$out/h264-eng-rus.mkv" >"$out/.tmp-$$-truncated-header.mkv"
	mv "$out/.tmp-$$-truncated-header.mkv" "$out/truncated-header.mkv"
fi

[ -e "$out/empty.mkv" ] || : >"$out/empty.mkv"
[ -e "$out/garbage.mkv" ] || printf 'this is not a media file at all\n' >"$out/garbage.mkv"

rm -f "$log"
exit 0
