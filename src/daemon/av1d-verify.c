#define G_LOG_DOMAIN "av1d-verify"

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "av1d-error.h"
#include "av1d-verify.h"

/* SPEC 7.1: durations may differ by 1 s or 0.1% of the source's, whichever
 * is more (muxers round, audio priming adds a few ms), so a 2-hour film may
 * lose no more than 7.2 s */
#define AV1D_VERIFY_MIN_TOLERANCE_US   G_USEC_PER_SEC
#define AV1D_VERIFY_TOLERANCE_PERMILLE 1
/* quick: windows of 2% of the duration but at least 1 s, so that a window
 * spans a keyframe interval's worth of frames */
#define AV1D_VERIFY_MIN_WINDOW_US  G_USEC_PER_SEC
#define AV1D_VERIFY_WINDOW_PERCENT 2
/* enough of ffmpeg's stderr to say what broke, short enough for a job reason */
#define AV1D_VERIFY_STDERR_LINES      3
#define AV1D_VERIFY_STDERR_LINE_CHARS 200

/* what the output must match, copied from the source info, plan and decision */
typedef struct {
	guint target_bit_depth;
	gint64 source_duration_us;	 /* -1 = unknown */
	gint64 source_video_duration_us; /* -1 = unknown */
	guint n_audio;
	guint n_subtitles;
	guint n_attachments;
} Av1dVerifyExpect;

/* one ffmpeg run: a window of a quick verify, or the whole file */
typedef struct {
	gint64 start_us; /* -1: the whole file */
	gint64 length_us;
	gboolean to_end; /* the window ends where the video ends */
} Av1dVerifyStep;

typedef struct {
	gchar *ffmpeg_bin;
	gchar *ffprobe_bin;
	Av1dVerifyMode mode;
	gchar *output_path;
	Av1dVerifyExpect expect;
	gint video_index; /* the output's AV1 stream, once probed */
	gint64 output_duration_us;
	GArray *steps; /* Av1dVerifyStep */
	guint next_step;
	GSubprocess *proc; /* the running step */
} Av1dVerifyData;

static void
av1d_verify_data_free(Av1dVerifyData *data)
{
	g_free(data->ffmpeg_bin);
	g_free(data->ffprobe_bin);
	g_free(data->output_path);
	g_clear_pointer(&data->steps, g_array_unref);
	g_clear_object(&data->proc);
	g_free(data);
}

/* "2.021": "." whatever the locale, for messages and ffmpeg arguments alike */
static gchar *
av1d_verify_format_seconds(gint64 us)
{
	gchar buf[G_ASCII_DTOSTR_BUF_SIZE];

	return g_strdup(g_ascii_formatd(buf, sizeof buf, "%.3f", (gdouble)us / G_USEC_PER_SEC));
}

static gint64
av1d_verify_tolerance_us(gint64 duration_us)
{
	return MAX(AV1D_VERIFY_MIN_TOLERANCE_US,
		   duration_us / 1000 * AV1D_VERIFY_TOLERANCE_PERMILLE);
}

/* the format's duration; a source without one (some raw streams) falls
 * back to its longest stream, as classify accepts such files */
static gint64
av1d_verify_source_duration_us(const Av1dMediaInfo *info)
{
	gint64 longest = -1;

	if (info->duration_us >= 0)
		return info->duration_us;
	for (guint i = 0; i < info->streams->len; i++) {
		const Av1dStreamInfo *s = g_ptr_array_index(info->streams, i);

		longest = MAX(longest, s->duration_us);
	}
	return longest;
}

/* the planned video stream's own duration, -1 when the source has none */
static gint64
av1d_verify_source_video_duration_us(const Av1dMediaInfo *info, const Av1dPlan *plan)
{
	if (plan->video == NULL)
		return -1;
	for (guint i = 0; i < info->streams->len; i++) {
		const Av1dStreamInfo *s = g_ptr_array_index(info->streams, i);

		if (s->index == plan->video->input_index)
			return s->duration_us;
	}
	return -1;
}

static void
av1d_verify_expect_init(Av1dVerifyExpect *expect,
			const Av1dMediaInfo *source_info,
			const Av1dPlan *plan,
			guint target_bit_depth)
{
	expect->target_bit_depth = target_bit_depth;
	expect->source_duration_us = av1d_verify_source_duration_us(source_info);
	expect->source_video_duration_us = av1d_verify_source_video_duration_us(source_info, plan);
	expect->n_audio = plan->audio->len;
	expect->n_subtitles = plan->subtitles->len;
	expect->n_attachments = plan->n_attachments;
}

/* ---- checks 2-4: what the probe says ---- */

static gboolean
av1d_verify_check_bit_depth(const Av1dStreamInfo *video, guint target, GError **error)
{
	if (video->pix_fmt == NULL) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_VERIFY_FAILED,
			    _("verify: expected %u-bit video, found no pixel format"), target);
		return FALSE;
	}
	/* bit_depth is the prober's reading of pix_fmt, the same one classify
	 * used on the source */
	if (video->bit_depth != target) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_VERIFY_FAILED,
			    /* Translators: the bit depth expected, then the pixel format
			     * found (e.g. yuv420p) and its bit depth */
			    _("verify: expected %u-bit video, found %s (%u-bit)"), target,
			    video->pix_fmt, video->bit_depth);
		return FALSE;
	}
	return TRUE;
}

static gboolean
av1d_verify_check_video(const Av1dMediaInfo *info,
			guint target_bit_depth,
			const Av1dStreamInfo **video,
			GError **error)
{
	g_autoptr(GString) codecs = g_string_new(NULL);
	const Av1dStreamInfo *av1 = NULL;
	guint n_video = 0;

	for (guint i = 0; i < info->streams->len; i++) {
		const Av1dStreamInfo *s = g_ptr_array_index(info->streams, i);

		/* cover art is a "video" stream too, but not the film */
		if (s->type != AV1D_STREAM_TYPE_VIDEO || s->is_attached_pic)
			continue;
		n_video++;
		g_string_append_printf(codecs, "%s%s", codecs->len > 0 ? ", " : "",
				       /* Translators: stands for a codec name in a list */
				       s->codec_name != NULL ? s->codec_name : _("unknown codec"));
		if (g_strcmp0(s->codec_name, "av1") == 0)
			av1 = s;
	}
	if (n_video == 0) {
		g_set_error_literal(error, AV1D_ERROR, AV1D_ERROR_VERIFY_FAILED,
				    _("verify: expected 1 AV1 video stream, found no video "
				      "stream"));
		return FALSE;
	}
	if (n_video > 1) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_VERIFY_FAILED,
			    /* Translators: the number of video streams found, then
			     * their codecs (e.g. "hevc, av1"); there are always
			     * two or more */
			    g_dngettext(GETTEXT_PACKAGE,
					"verify: expected 1 AV1 video stream, found %u video "
					"stream (video: %s)",
					"verify: expected 1 AV1 video stream, found %u video "
					"streams (video: %s)",
					n_video),
			    n_video, codecs->str);
		return FALSE;
	}
	if (av1 == NULL) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_VERIFY_FAILED,
			    /* Translators: %s lists the codecs found (e.g. "hevc") */
			    _("verify: expected 1 AV1 video stream, found 0 (video: %s)"),
			    codecs->str);
		return FALSE;
	}
	*video = av1;
	return av1d_verify_check_bit_depth(av1, target_bit_depth, error);
}

static gboolean
av1d_verify_check_duration(const Av1dMediaInfo *info,
			   const Av1dVerifyExpect *expect,
			   GError **error)
{
	g_autofree gchar *source = av1d_verify_format_seconds(expect->source_duration_us);
	g_autofree gchar *output = av1d_verify_format_seconds(info->duration_us);
	g_autofree gchar *allowed = NULL;
	gint64 tolerance;

	if (expect->source_duration_us < 0) {
		g_set_error_literal(error, AV1D_ERROR, AV1D_ERROR_VERIFY_FAILED,
				    _("verify: the source's duration is unknown, so the output's "
				      "cannot be compared with it"));
		return FALSE;
	}
	if (info->duration_us < 0) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_VERIFY_FAILED,
			    _("verify: expected a duration of %s s, found none"), source);
		return FALSE;
	}
	tolerance = av1d_verify_tolerance_us(expect->source_duration_us);
	if (ABS(info->duration_us - expect->source_duration_us) <= tolerance)
		return TRUE;
	allowed = av1d_verify_format_seconds(tolerance);
	g_set_error(error, AV1D_ERROR, AV1D_ERROR_VERIFY_FAILED,
		    /* Translators: the output's duration, the source's and the
		     * tolerance, all in seconds */
		    _("verify: duration %s s differs from the source's %s s by more than %s s "
		      "(1 s or 0.1%%, whichever is more)"),
		    output, source, allowed);
	return FALSE;
}

/* the file's duration is its longest stream's: a subtitle shown until 1:30
 * or an audio track would hide a picture that stops at 0:30, so the video
 * streams are compared too when both files say how long they are */
static gboolean
av1d_verify_check_video_duration(const Av1dStreamInfo *video,
				 const Av1dVerifyExpect *expect,
				 GError **error)
{
	g_autofree gchar *source = NULL;
	g_autofree gchar *output = NULL;
	g_autofree gchar *allowed = NULL;
	gint64 tolerance;

	if (expect->source_video_duration_us < 0 || video->duration_us < 0)
		return TRUE;
	tolerance = av1d_verify_tolerance_us(expect->source_video_duration_us);
	if (ABS(video->duration_us - expect->source_video_duration_us) <= tolerance)
		return TRUE;
	source = av1d_verify_format_seconds(expect->source_video_duration_us);
	output = av1d_verify_format_seconds(video->duration_us);
	allowed = av1d_verify_format_seconds(tolerance);
	g_set_error(error, AV1D_ERROR, AV1D_ERROR_VERIFY_FAILED,
		    /* Translators: the output's video duration, the source's and
		     * the tolerance, all in seconds */
		    _("verify: video duration %s s differs from the source video's %s s by more "
		      "than %s s (1 s or 0.1%%, whichever is more)"),
		    output, source, allowed);
	return FALSE;
}

static guint
av1d_verify_count_type(const Av1dMediaInfo *info, Av1dStreamType type)
{
	guint n = 0;

	for (guint i = 0; i < info->streams->len; i++)
		n += ((const Av1dStreamInfo *)g_ptr_array_index(info->streams, i))->type == type;
	return n;
}

typedef enum {
	AV1D_VERIFY_COUNT_AUDIO,
	AV1D_VERIFY_COUNT_SUBTITLES,
	AV1D_VERIFY_COUNT_ATTACHMENTS,
} Av1dVerifyCount;

static gboolean
av1d_verify_check_count(Av1dVerifyCount what, guint expected, guint found, GError **error)
{
	if (expected == found)
		return TRUE;
	switch (what) {
	case AV1D_VERIFY_COUNT_AUDIO:
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_VERIFY_FAILED,
			    /* Translators: the number expected, then the number found */
			    g_dngettext(GETTEXT_PACKAGE,
					"verify: expected %u audio stream, found %u",
					"verify: expected %u audio streams, found %u", expected),
			    expected, found);
		break;
	case AV1D_VERIFY_COUNT_SUBTITLES:
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_VERIFY_FAILED,
			    /* Translators: the number expected, then the number found */
			    g_dngettext(GETTEXT_PACKAGE,
					"verify: expected %u subtitle stream, found %u",
					"verify: expected %u subtitle streams, found %u", expected),
			    expected, found);
		break;
	case AV1D_VERIFY_COUNT_ATTACHMENTS:
	default:
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_VERIFY_FAILED,
			    /* Translators: the number expected, then the number found */
			    g_dngettext(GETTEXT_PACKAGE, "verify: expected %u attachment, found %u",
					"verify: expected %u attachments, found %u", expected),
			    expected, found);
		break;
	}
	return FALSE;
}

static gboolean
av1d_verify_check_expect(const Av1dMediaInfo *info,
			 const Av1dVerifyExpect *expect,
			 const Av1dStreamInfo **video,
			 GError **error)
{
	return av1d_verify_check_video(info, expect->target_bit_depth, video, error) &&
	       av1d_verify_check_duration(info, expect, error) &&
	       av1d_verify_check_video_duration(*video, expect, error) &&
	       av1d_verify_check_count(AV1D_VERIFY_COUNT_AUDIO, expect->n_audio,
				       av1d_verify_count_type(info, AV1D_STREAM_TYPE_AUDIO),
				       error) &&
	       av1d_verify_check_count(AV1D_VERIFY_COUNT_SUBTITLES, expect->n_subtitles,
				       av1d_verify_count_type(info, AV1D_STREAM_TYPE_SUBTITLE),
				       error) &&
	       av1d_verify_check_count(AV1D_VERIFY_COUNT_ATTACHMENTS, expect->n_attachments,
				       info->n_attachments, error);
}

gboolean
av1d_verify_check_info(const Av1dMediaInfo *output_info,
		       const Av1dMediaInfo *source_info,
		       const Av1dPlan *plan,
		       guint target_bit_depth,
		       GError **error)
{
	Av1dVerifyExpect expect;
	const Av1dStreamInfo *video = NULL;

	g_return_val_if_fail(output_info != NULL, FALSE);
	g_return_val_if_fail(source_info != NULL, FALSE);
	g_return_val_if_fail(plan != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	av1d_verify_expect_init(&expect, source_info, plan, target_bit_depth);
	return av1d_verify_check_expect(output_info, &expect, &video, error);
}

/* ---- check 5: decoding ---- */

/* what the windows are spread over: the video stream's own duration when the
 * muxer wrote one, so that audio running past the picture does not put the
 * last window where there is no frame */
static gint64
av1d_verify_video_duration_us(const Av1dMediaInfo *info, const Av1dStreamInfo *video)
{
	if (video->duration_us > 0)
		return MIN(video->duration_us, info->duration_us);
	return info->duration_us;
}

static GArray *
av1d_verify_full_steps(void)
{
	GArray *steps = g_array_new(FALSE, FALSE, sizeof(Av1dVerifyStep));
	Av1dVerifyStep whole = {-1, -1, TRUE};

	g_array_append_val(steps, whole);
	return steps;
}

/* windows at 0%, 25%, 50%, 75% and 95%, none past the end; a short file
 * gets fewer, as windows that would start at the same place are merged */
static GArray *
av1d_verify_quick_steps(gint64 duration_us)
{
	static const guint percent[] = {0, 25, 50, 75, 95};
	GArray *steps;
	gint64 length;

	if (duration_us <= 0)
		return av1d_verify_full_steps();
	steps = g_array_new(FALSE, FALSE, sizeof(Av1dVerifyStep));
	length = MAX(AV1D_VERIFY_MIN_WINDOW_US, duration_us / 100 * AV1D_VERIFY_WINDOW_PERCENT);
	length = MIN(length, duration_us);
	for (guint i = 0; i < G_N_ELEMENTS(percent); i++) {
		Av1dVerifyStep step;

		step.start_us = MIN(duration_us / 100 * percent[i], duration_us - length);
		/* whole milliseconds: the argument is printed with three decimals */
		step.start_us -= step.start_us % 1000;
		step.length_us = length;
		step.to_end = step.start_us + length >= duration_us - 1000;
		if (steps->len > 0 &&
		    step.start_us <= g_array_index(steps, Av1dVerifyStep, steps->len - 1).start_us)
			continue;
		g_array_append_val(steps, step);
	}
	return steps;
}

/* relative paths get "./" so that "-x.mkv" is no option and "a:b.mkv" no
 * protocol */
static gchar *
av1d_verify_path_arg(const gchar *path)
{
	if (g_path_is_absolute(path))
		return g_strdup(path);
	return g_strconcat("." G_DIR_SEPARATOR_S, path, NULL);
}

static GStrv
av1d_verify_step_argv(const Av1dVerifyData *data, const Av1dVerifyStep *step)
{
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_autofree gchar *input = av1d_verify_path_arg(data->output_path);
	g_autofree gchar *video = g_strdup_printf("0:%d", data->video_index);

	/* -v error: a clean file prints nothing, so anything printed is a fault;
	 * -progress: the frame count and end time prove frames were decoded */
	g_strv_builder_add_many(builder, data->ffmpeg_bin, "-hide_banner", "-nostdin", "-nostats",
				"-v", "error", "-xerror", "-progress", "pipe:1", NULL);
	if (step->start_us >= 0) {
		g_autofree gchar *start = av1d_verify_format_seconds(step->start_us);
		g_autofree gchar *length = av1d_verify_format_seconds(step->length_us);

		g_strv_builder_add_many(builder, "-ss", start, "-t", length, "-i", input, "-map",
					video, NULL);
	} else {
		/* the null muxer has no subtitle encoder: copying still reads every
		 * subtitle packet; attachments are not streams ffmpeg can map */
		g_strv_builder_add_many(builder, "-i", input, "-map", video, "-map", "0:a?", "-map",
					"0:s?", "-c:s", "copy", NULL);
	}
	g_strv_builder_add_many(builder, "-f", "null", "-", NULL);
	return g_strv_builder_end(builder);
}

/* "verify: decoding … failed: <why>", one sentence for each kind of step */
static void
av1d_verify_set_step_failed(GError **error, const Av1dVerifyStep *step, const gchar *why)
{
	g_autofree gchar *start = NULL;
	g_autofree gchar *length = NULL;

	if (step->start_us < 0) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_VERIFY_FAILED,
			    /* Translators: %s says why, often ffmpeg's own (English) message */
			    _("verify: decoding the whole output failed: %s"), why);
		return;
	}
	start = av1d_verify_format_seconds(step->start_us);
	length = av1d_verify_format_seconds(step->length_us);
	g_set_error(error, AV1D_ERROR, AV1D_ERROR_VERIFY_FAILED,
		    /* Translators: how many seconds were decoded, from which second
		     * on, then why it failed (often ffmpeg's own English message) */
		    _("verify: decoding %s s from %s s failed: %s"), length, start, why);
}

/* "[matroska,webm @ 0x55d0c8a0] File ended prematurely" -> "matroska,webm:
 * File ended prematurely": the address means nothing to people; line is
 * valid UTF-8 */
static gchar *
av1d_verify_clean_line(const gchar *line)
{
	const gchar *at = strstr(line, " @ ");
	const gchar *close = strstr(line, "] ");
	g_autofree gchar *clean = NULL;
	g_autofree gchar *start = NULL;

	if (line[0] == '[' && at != NULL && close != NULL && at < close)
		clean = g_strdup_printf("%.*s: %s", (int)(at - line - 1), line + 1, close + 2);
	else
		clean = g_strdup(line);
	if (g_utf8_strlen(clean, -1) <= AV1D_VERIFY_STDERR_LINE_CHARS)
		return g_steal_pointer(&clean);
	start = g_utf8_substring(clean, 0, AV1D_VERIFY_STDERR_LINE_CHARS);
	return g_strconcat(start, "…", NULL);
}

/* What ffmpeg prints at -v error that says nothing about the file's data:
 * the null muxer's timestamp complaints. Decoding from a seek point, frame
 * times rounded to Matroska's milliseconds can map two frames of a 23.976
 * or 24 fps film to one tick of the muxer's time base; the frames are all
 * decoded and ffmpeg exits 0. Every other line (demuxer, parser, decoder)
 * counts as damage: a notice missing here costs a retry, a damage line
 * ignored would cost a film. */
static const struct {
	const gchar *context; /* "[context @ 0x…]" the line starts with, NULL = any */
	const gchar *text;    /* what the message contains, NULL = anything */
} av1d_verify_notices[] = {
	{"null", NULL},
	{NULL, "non monotonically increasing dts to muxer"},
	{NULL, "Non-monotonous DTS in output stream"},
	{NULL, "Timestamps are unset in a packet for stream"},
};

/* line as ffmpeg printed it (stripped, valid UTF-8) */
static gboolean
av1d_verify_line_is_notice(const gchar *line)
{
	const gchar *at = strstr(line, " @ ");
	g_autofree gchar *context = NULL;

	if (line[0] == '[' && at != NULL)
		context = g_strndup(line + 1, (gsize)(at - line - 1));
	for (guint i = 0; i < G_N_ELEMENTS(av1d_verify_notices); i++) {
		const gchar *want = av1d_verify_notices[i].context;
		const gchar *text = av1d_verify_notices[i].text;

		if (want != NULL && g_strcmp0(context, want) != 0)
			continue;
		if (text == NULL || strstr(line, text) != NULL)
			return TRUE;
	}
	return FALSE;
}

/* the first lines ffmpeg printed that may mean damage, NULL when none */
static gchar *
av1d_verify_damage_lines(GBytes *err)
{
	gsize len = 0;
	const gchar *data = err != NULL ? g_bytes_get_data(err, &len) : NULL;
	g_autofree gchar *text = data != NULL ? g_utf8_make_valid(data, (gssize)len) : NULL;
	g_auto(GStrv) lines = text != NULL ? g_strsplit_set(text, "\r\n", -1) : NULL;
	g_autoptr(GString) out = g_string_new(NULL);
	guint kept = 0;

	for (guint i = 0; lines != NULL && lines[i] != NULL && kept < AV1D_VERIFY_STDERR_LINES;
	     i++) {
		const gchar *raw = g_strstrip(lines[i]);
		g_autofree gchar *line = NULL;

		if (raw[0] == '\0' || g_str_has_prefix(raw, "Last message repeated") ||
		    av1d_verify_line_is_notice(raw))
			continue;
		line = av1d_verify_clean_line(raw);
		g_string_append_printf(out, "%s%s", kept > 0 ? "; " : "", line);
		kept++;
	}
	if (kept == 0)
		return NULL;
	return g_string_free(g_steal_pointer(&out), FALSE);
}

/* the last frame= and out_time_us= of the -progress blocks; -1 when absent */
static void
av1d_verify_parse_progress(GBytes *out, gint64 *frames, gint64 *out_time_us)
{
	gsize len = 0;
	const gchar *data = out != NULL ? g_bytes_get_data(out, &len) : NULL;
	g_autofree gchar *text = data != NULL ? g_strndup(data, len) : NULL;
	g_auto(GStrv) lines = text != NULL ? g_strsplit(text, "\n", -1) : NULL;

	*frames = -1;
	*out_time_us = -1;
	for (guint i = 0; lines != NULL && lines[i] != NULL; i++) {
		const gchar *line = g_strstrip(lines[i]);
		gint64 value;

		if (g_str_has_prefix(line, "frame=") &&
		    g_ascii_string_to_signed(line + 6, 10, 0, G_MAXINT64, &value, NULL))
			*frames = value;
		else if (g_str_has_prefix(line, "out_time_us=") &&
			 g_ascii_string_to_signed(line + 12, 10, G_MININT64, G_MAXINT64, &value,
						  NULL))
			*out_time_us = value;
	}
}

/* the last window must decode the film's last seconds: a file cut short
 * (its header still claims the whole duration) ends before the window does.
 * A quarter of the window, at most the duration tolerance, may be missing:
 * the end of the video may come a little before the end of the audio, and
 * -progress reports the last frame's start, not its end */
static gboolean
av1d_verify_check_window_end(const Av1dVerifyStep *step, gint64 out_time_us, GError **error)
{
	gint64 slack = MIN(step->length_us / 4, av1d_verify_tolerance_us(step->length_us));
	g_autofree gchar *start = NULL;
	g_autofree gchar *length = NULL;
	g_autofree gchar *reached = NULL;

	if (!step->to_end || out_time_us >= step->length_us - slack)
		return TRUE;
	start = av1d_verify_format_seconds(step->start_us);
	length = av1d_verify_format_seconds(step->length_us);
	reached = av1d_verify_format_seconds(MAX(out_time_us, 0));
	g_set_error(error, AV1D_ERROR, AV1D_ERROR_VERIFY_FAILED,
		    /* Translators: the length of the last window in seconds, the second
		     * it starts at, then how many seconds were decoded */
		    _("verify: decoding the last %s s (from %s s on) stopped after %s s"), length,
		    start, reached);
	return FALSE;
}

/* a decode that printed nothing and exited 0 must still have decoded
 * something, and the whole file to the end: a demuxer that stops quietly at
 * a broken cluster would otherwise pass */
static gboolean
av1d_verify_check_progress(const Av1dVerifyData *data,
			   const Av1dVerifyStep *step,
			   GBytes *out,
			   GError **error)
{
	g_autofree gchar *reached = NULL;
	g_autofree gchar *duration = NULL;
	gint64 frames, out_time_us;

	av1d_verify_parse_progress(out, &frames, &out_time_us);
	if (frames <= 0 && step->start_us < 0) {
		g_set_error_literal(error, AV1D_ERROR, AV1D_ERROR_VERIFY_FAILED,
				    _("verify: decoding the whole output produced no video frame"));
		return FALSE;
	}
	if (frames <= 0) {
		g_autofree gchar *start = av1d_verify_format_seconds(step->start_us);
		g_autofree gchar *length = av1d_verify_format_seconds(step->length_us);

		g_set_error(error, AV1D_ERROR, AV1D_ERROR_VERIFY_FAILED,
			    /* Translators: how many seconds were decoded, from which
			     * second on */
			    _("verify: decoding %s s from %s s produced no video frame"), length,
			    start);
		return FALSE;
	}
	if (step->start_us >= 0)
		return av1d_verify_check_window_end(step, out_time_us, error);
	if (out_time_us >=
	    data->output_duration_us - av1d_verify_tolerance_us(data->output_duration_us))
		return TRUE;
	reached = av1d_verify_format_seconds(MAX(out_time_us, 0));
	duration = av1d_verify_format_seconds(data->output_duration_us);
	g_set_error(error, AV1D_ERROR, AV1D_ERROR_VERIFY_FAILED,
		    /* Translators: the second the decode reached, then the duration */
		    _("verify: decoding the whole output stopped at %s s of %s s"), reached,
		    duration);
	return FALSE;
}

static gboolean
av1d_verify_check_step(const Av1dVerifyData *data,
		       const Av1dVerifyStep *step,
		       GSubprocess *proc,
		       GBytes *out,
		       GBytes *err,
		       GError **error)
{
	g_autofree gchar *lines = av1d_verify_damage_lines(err);
	g_autofree gchar *why = NULL;

	if (g_subprocess_get_if_signaled(proc) && lines != NULL) {
		/* Translators: a signal number, then ffmpeg's own (English) message */
		why = g_strdup_printf(_("ffmpeg was killed by signal %d: %s"),
				      g_subprocess_get_term_sig(proc), lines);
	} else if (g_subprocess_get_if_signaled(proc)) {
		why = g_strdup_printf(_("ffmpeg was killed by signal %d"),
				      g_subprocess_get_term_sig(proc));
	} else if (lines != NULL) {
		why = g_steal_pointer(&lines);
	} else if (g_subprocess_get_exit_status(proc) != 0) {
		why = g_strdup_printf(_("ffmpeg exited with status %d and no message"),
				      g_subprocess_get_exit_status(proc));
	}
	if (why != NULL) {
		av1d_verify_set_step_failed(error, step, why);
		return FALSE;
	}
	return av1d_verify_check_progress(data, step, out, error);
}

static void
av1d_verify_return_cancelled(GTask *task)
{
	g_task_return_new_error(task, AV1D_ERROR, AV1D_ERROR_CANCELLED, _("verify: cancelled"));
}

static void
av1d_verify_run_next_step(GTask *task_owned);

static void
av1d_verify_step_done_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	Av1dVerifyData *data = g_task_get_task_data(task);
	GSubprocess *proc = G_SUBPROCESS(source);
	const Av1dVerifyStep *step = &g_array_index(data->steps, Av1dVerifyStep, data->next_step);
	g_autoptr(GBytes) out = NULL;
	g_autoptr(GBytes) err = NULL;
	g_autoptr(GError) local_error = NULL;
	GError *error = NULL;

	if (!g_subprocess_communicate_finish(proc, result, &out, &err, &local_error)) {
		/* a cancelled communicate leaves ffmpeg running */
		g_subprocess_force_exit(proc);
		if (g_error_matches(local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			av1d_verify_return_cancelled(task);
		else
			g_task_return_new_error(task, AV1D_ERROR, AV1D_ERROR_VERIFY_FAILED,
						_("verify: reading ffmpeg's output: %s"),
						local_error->message);
		return;
	}
	if (!av1d_verify_check_step(data, step, proc, out, err, &error)) {
		g_task_return_error(task, error);
		return;
	}
	data->next_step++;
	av1d_verify_run_next_step(g_steal_pointer(&task));
}

static void
av1d_verify_run_next_step(GTask *task_owned)
{
	g_autoptr(GTask) task = task_owned;
	Av1dVerifyData *data = g_task_get_task_data(task);
	GCancellable *cancellable = g_task_get_cancellable(task);
	g_autoptr(GError) local_error = NULL;
	g_autofree gchar *display = NULL;
	g_auto(GStrv) argv = NULL;

	if (g_cancellable_is_cancelled(cancellable)) {
		av1d_verify_return_cancelled(task);
		return;
	}
	if (data->next_step >= data->steps->len) {
		g_task_return_boolean(task, TRUE);
		return;
	}
	argv = av1d_verify_step_argv(data,
				     &g_array_index(data->steps, Av1dVerifyStep, data->next_step));
	display = av1d_argv_to_display((const gchar *const *)argv);
	g_debug("running %s", display);
	g_clear_object(&data->proc);
	data->proc = g_subprocess_newv(
		(const gchar *const *)argv,
		G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &local_error);
	if (data->proc == NULL) {
		g_task_return_new_error(task, AV1D_ERROR, AV1D_ERROR_VERIFY_FAILED,
					/* Translators: the ffmpeg binary, then why */
					_("verify: cannot run ffmpeg binary “%s”: %s"),
					data->ffmpeg_bin, local_error->message);
		return;
	}
	/* always drained: ffmpeg blocks on a full pipe */
	g_subprocess_communicate_async(data->proc, NULL, cancellable, av1d_verify_step_done_cb,
				       g_steal_pointer(&task));
}

static void
av1d_verify_probed_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	Av1dVerifyData *data = g_task_get_task_data(task);
	g_autoptr(Av1dMediaInfo) info = NULL;
	g_autoptr(GError) local_error = NULL;
	const Av1dStreamInfo *video = NULL;
	GError *error = NULL;

	info = av1d_probe_file_finish(result, &local_error);
	if (info == NULL) {
		if (g_error_matches(local_error, AV1D_ERROR, AV1D_ERROR_CANCELLED))
			av1d_verify_return_cancelled(task);
		else
			g_task_return_new_error(task, AV1D_ERROR, AV1D_ERROR_VERIFY_FAILED,
						/* Translators: %s is the probe's error */
						_("verify: %s"), local_error->message);
		return;
	}
	if (!av1d_verify_check_expect(info, &data->expect, &video, &error)) {
		g_task_return_error(task, error);
		return;
	}
	data->video_index = video->index;
	data->output_duration_us = info->duration_us;
	if (data->mode == AV1D_VERIFY_FULL)
		data->steps = av1d_verify_full_steps();
	else
		data->steps = av1d_verify_quick_steps(av1d_verify_video_duration_us(info, video));
	av1d_verify_run_next_step(g_steal_pointer(&task));
}

void
av1d_verify_async(const Av1dConfig *config,
		  const gchar *output_path,
		  const Av1dMediaInfo *source_info,
		  const Av1dPlan *plan,
		  const Av1dDecision *decision,
		  GCancellable *cancellable,
		  GAsyncReadyCallback callback,
		  gpointer user_data)
{
	g_autoptr(GTask) task = NULL;
	Av1dVerifyData *data;

	g_return_if_fail(config != NULL);
	g_return_if_fail(output_path != NULL);
	g_return_if_fail(source_info != NULL);
	g_return_if_fail(plan != NULL);
	g_return_if_fail(decision != NULL);

	task = g_task_new(NULL, cancellable, callback, user_data);
	g_task_set_source_tag(task, av1d_verify_async);
	/* cancellation is reported in our own domain */
	g_task_set_check_cancellable(task, FALSE);
	data = g_new0(Av1dVerifyData, 1);
	data->ffmpeg_bin = g_strdup(config->ffmpeg_bin != NULL && config->ffmpeg_bin[0] != '\0'
					    ? config->ffmpeg_bin
					    : "ffmpeg");
	data->ffprobe_bin = g_strdup(config->ffprobe_bin);
	data->mode = config->verify;
	data->output_path = g_strdup(output_path);
	data->video_index = -1;
	av1d_verify_expect_init(&data->expect, source_info, plan, decision->target_bit_depth);
	g_task_set_task_data(task, data, (GDestroyNotify)av1d_verify_data_free);
	if (g_cancellable_is_cancelled(cancellable)) {
		av1d_verify_return_cancelled(task);
		return;
	}
	av1d_probe_file_async(data->ffprobe_bin, data->output_path, cancellable,
			      av1d_verify_probed_cb, g_steal_pointer(&task));
}

gboolean
av1d_verify_finish(GAsyncResult *result, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(result, NULL), FALSE);
	g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == av1d_verify_async, FALSE);

	return g_task_propagate_boolean(G_TASK(result), error);
}
