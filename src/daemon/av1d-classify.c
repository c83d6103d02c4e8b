#define G_LOG_DOMAIN "av1d-classify"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "av1d-classify.h"

G_GNUC_PRINTF(2, 3)
static void
add_reason(GPtrArray *reasons, const gchar *format, ...)
{
	va_list args;

	if (reasons == NULL)
		return;
	va_start(args, format);
	g_ptr_array_add(reasons, g_strdup_vprintf(format, args));
	va_end(args);
}

/* hundredths as "+0.50" / "-0.20" */
static gchar *
format_centi(gint centi)
{
	return g_strdup_printf("%c%d.%02d", centi < 0 ? '-' : '+', ABS(centi) / 100,
			       ABS(centi) % 100);
}

const gchar *
av1d_action_to_string(Av1dAction action)
{
	return action == AV1D_ACTION_SKIP ? "skip" : "encode";
}

const gchar *
av1d_source_kind_to_string(Av1dSourceKind kind)
{
	switch (kind) {
	case AV1D_SOURCE_WEB:
		return "web";
	case AV1D_SOURCE_DISC:
		return "disc";
	case AV1D_SOURCE_UNKNOWN:
	default:
		return "unknown";
	}
}

void
av1d_decision_free(Av1dDecision *self)
{
	if (self == NULL)
		return;
	g_free(self->skip_reason);
	g_free(self->video_codec);
	g_free(self->source_pix_fmt);
	g_free(self->color_primaries);
	g_free(self->color_transfer);
	g_free(self->color_space);
	g_free(self->color_range);
	g_clear_pointer(&self->web_reasons, g_ptr_array_unref);
	g_clear_pointer(&self->reasons, g_ptr_array_unref);
	g_free(self->summary);
	g_free(self);
}

/* ---- quality ---- */

/* SVT-AV1 and libaom take a CRF in 0..63, av1_qsv an ICQ global_quality.
 * An offset rather than a ratio keeps one step of the quality table one CRF
 * step, and +4 puts the table's everyday value (32, 1080p 8-bit) at CRF 36,
 * next to SVT-AV1's own default of 35; the result stays monotonic. */
gint
av1d_quality_to_svt_crf(gint quality)
{
	return CLAMP(quality + 4, 0, 63);
}

static gint
quality_base(const Av1dQualityInput *in, GPtrArray *reasons)
{
	gboolean ten = in->target_bit_depth > 8;
	gint base;
	const gchar *label;

	if (in->height >= 2160) {
		base = ten ? 26 : 28;
		label = ">= 2160p";
	} else if (in->height >= 1440) {
		base = ten ? 28 : 30;
		label = ">= 1440p";
	} else if (in->height >= 1080) {
		base = ten ? 30 : 32;
		label = ">= 1080p";
	} else if (in->height > 0) {
		base = ten ? 32 : 34;
		label = "< 1080p";
	} else {
		base = ten ? 32 : 34;
		add_reason(reasons,
			   /* Translators: the base quality value, then the bit depth */
			   _("quality: base %d (height unknown, as < 1080p, %u-bit)"), base,
			   ten ? 10u : 8u);
		return base;
	}
	add_reason(reasons,
		   /* Translators: the base quality value, the height class (e.g.
		    * ">= 1080p"), then the bit depth */
		   _("quality: base %d (%s, %u-bit)"), base, label, ten ? 10u : 8u);
	return base;
}

static gint
quality_codec(const Av1dQualityInput *in, GPtrArray *reasons)
{
	static const struct {
		const gchar *codec;
		gint delta;
	} table[] = {{"h264", 2}, {"hevc", -1}, {"vp9", -1}, {"mpeg2video", 3}};

	for (guint i = 0; in->codec != NULL && i < G_N_ELEMENTS(table); i++) {
		if (g_str_equal(in->codec, table[i].codec)) {
			add_reason(reasons,
				   /* Translators: a codec name, then the adjustment
				    * to the quality value (e.g. +2) */
				   _("quality: source codec %s %+d"), in->codec, table[i].delta);
			return table[i].delta;
		}
	}
	if (in->codec == NULL)
		add_reason(reasons, _("quality: source codec unknown, no adjustment"));
	else
		add_reason(reasons, _("quality: source codec %s, no adjustment"), in->codec);
	return 0;
}

static gint
quality_bpp(const Av1dQualityInput *in, GPtrArray *reasons)
{
	gdouble bpp = in->bits_per_pixel;
	gint delta = 0;

	if (bpp < 0.0) {
		add_reason(reasons,
			   /* Translators: %s says why, e.g. "no bitrate" */
			   _("quality: bits per pixel unknown (%s), no adjustment"),
			   in->bpp_unknown_why != NULL ? in->bpp_unknown_why : _("not measured"));
		return 0;
	}
	if (bpp > 0.6)
		delta = 3;
	else if (bpp > 0.4)
		delta = 2;
	else if (bpp > 0.2)
		delta = 1;
	else if (bpp < 0.1)
		delta = -1;
	if (delta == 0)
		add_reason(reasons, _("quality: bits per pixel %.3f, no adjustment"), bpp);
	else
		/* Translators: bits per pixel, then the adjustment (e.g. +1) */
		add_reason(reasons, _("quality: bits per pixel %.3f %+d"), bpp, delta);
	return delta;
}

static gint
quality_frame_rate(const Av1dQualityInput *in, GPtrArray *reasons)
{
	if (in->frame_rate <= 0.0) {
		add_reason(reasons, _("quality: frame rate unknown, no adjustment"));
		return 0;
	}
	if (in->frame_rate > 50.0) {
		/* Translators: a frame rate; -1 is the adjustment */
		add_reason(reasons, _("quality: %.3f fps > 50 -1"), in->frame_rate);
		return -1;
	}
	if (in->frame_rate < 24.0) {
		/* Translators: a frame rate; +1 is the adjustment */
		add_reason(reasons, _("quality: %.3f fps < 24 +1"), in->frame_rate);
		return 1;
	}
	add_reason(reasons, _("quality: %.3f fps, no adjustment"), in->frame_rate);
	return 0;
}

gint
av1d_quality_for(const Av1dQualityInput *input, GPtrArray *reasons)
{
	gint q;

	g_return_val_if_fail(input != NULL, AV1D_QUALITY_MAX);

	q = quality_base(input, reasons);
	q += quality_codec(input, reasons);
	q += quality_bpp(input, reasons);
	q += quality_frame_rate(input, reasons);
	if (q < AV1D_QUALITY_MIN || q > AV1D_QUALITY_MAX) {
		gint clamped = CLAMP(q, AV1D_QUALITY_MIN, AV1D_QUALITY_MAX);

		add_reason(reasons, _("quality: %d clamped to %d"), q, clamped);
		q = clamped;
	}
	return q;
}

/* ---- the video stream and what it is ---- */

/* the first video stream that is not cover art; *type_index counts every
 * video stream before it because "-map 0:v:<n>" does too */
static const Av1dStreamInfo *
find_video(const Av1dMediaInfo *info, gint *type_index, guint *n_attached_pics)
{
	gint n_video = 0;

	*n_attached_pics = 0;
	for (guint i = 0; i < info->streams->len; i++) {
		const Av1dStreamInfo *s = g_ptr_array_index(info->streams, i);

		if (s->type != AV1D_STREAM_TYPE_VIDEO)
			continue;
		if (!s->is_attached_pic) {
			*type_index = n_video;
			return s;
		}
		(*n_attached_pics)++;
		n_video++;
	}
	*type_index = -1;
	return NULL;
}

static gboolean
is_image_codec(const gchar *codec)
{
	static const gchar *const codecs[] = {"png",  "mjpeg",	  "bmp",    "gif",  "webp",
					      "tiff", "jpeg2000", "jpegls", "ppm",  "pgm",
					      "pam",  "qoi",	  "jpegxl", "apng", NULL};

	return codec != NULL && g_strv_contains(codecs, codec);
}

/* one picture: a format that only holds images, or every real video stream
 * a single frame in an image codec */
static gboolean
is_image_only(const Av1dMediaInfo *info)
{
	g_auto(GStrv) formats = g_strsplit(info->format_name ? info->format_name : "", ",", -1);

	for (guint i = 0; formats[i] != NULL; i++) {
		if (g_str_equal(formats[i], "image2") || g_str_has_suffix(formats[i], "_pipe"))
			return TRUE;
	}
	for (guint i = 0; i < info->streams->len; i++) {
		const Av1dStreamInfo *s = g_ptr_array_index(info->streams, i);

		if (s->type != AV1D_STREAM_TYPE_VIDEO || s->is_attached_pic)
			continue;
		if (!is_image_codec(s->codec_name))
			return FALSE;
		if (s->nb_frames != 1 && !s->is_still_image && s->avg_frame_rate.den != 0)
			return FALSE;
	}
	return TRUE;
}

static gboolean
is_dolby_vision_tag(const gchar *tag)
{
	static const gchar *const tags[] = {"dvhe", "dvh1", "dav1", "dvav", "dva1", NULL};

	for (guint i = 0; tag != NULL && tags[i] != NULL; i++) {
		if (g_ascii_strcasecmp(tag, tags[i]) == 0)
			return TRUE;
	}
	return FALSE;
}

/* any video stream: a DV enhancement layer may be a second stream */
static gchar *
dolby_vision_reason(const Av1dMediaInfo *info)
{
	for (guint i = 0; i < info->streams->len; i++) {
		const Av1dStreamInfo *s = g_ptr_array_index(info->streams, i);
		const Av1dSideData *dovi;

		if (s->type != AV1D_STREAM_TYPE_VIDEO)
			continue;
		dovi = av1d_stream_info_find_side_data(s, AV1D_SIDE_DATA_DOVI_CONFIG);
		if (dovi != NULL && dovi->dv_profile >= 0)
			return g_strdup_printf(_("Dolby Vision (profile %d)"), dovi->dv_profile);
		if (dovi != NULL)
			return g_strdup(_("Dolby Vision (configuration record)"));
		if (is_dolby_vision_tag(s->codec_tag_string))
			/* Translators: %s is a codec tag such as dvh1 */
			return g_strdup_printf(_("Dolby Vision (codec tag %s)"),
					       s->codec_tag_string);
	}
	return NULL;
}

static gchar *
skip_reason(const Av1dMediaInfo *info, const Av1dStreamInfo *video, guint n_attached_pics)
{
	g_autofree gchar *dv = NULL;

	if (video == NULL && n_attached_pics > 0)
		return g_strdup(_("no video stream (only cover art)"));
	if (video == NULL)
		return g_strdup(_("no video stream"));
	if (is_image_only(info))
		/* Translators: %s is the codec name (e.g. png) */
		return g_strdup_printf(_("image-only file (%s)"),
				       video->codec_name ? video->codec_name : _("unknown codec"));
	if (g_strcmp0(video->codec_name, "av1") == 0)
		return g_strdup(_("already AV1"));
	dv = dolby_vision_reason(info);
	if (dv != NULL)
		/* Translators: %s names the Dolby Vision kind, e.g. "Dolby Vision
		 * (profile 8)"; RPU is a technical term */
		return g_strdup_printf(_("%s: skipped because the GPU encoders drop the RPU "
					 "(the dynamic metadata)"),
				       dv);
	if (info->duration_us <= 0 && video->duration_us <= 0)
		return g_strdup(_("duration unknown"));
	return NULL;
}

static gdouble
stream_frame_rate(const Av1dStreamInfo *video)
{
	gdouble fps = av1d_rational_to_double(video->avg_frame_rate);

	return fps > 0.0 ? fps : av1d_rational_to_double(video->r_frame_rate);
}

/* the stream's own bitrate, else the container's minus the audio that is
 * known (what is not known stays in, which overestimates a little) */
static void
decide_video_bitrate(Av1dDecision *d, const Av1dMediaInfo *info, const Av1dStreamInfo *video)
{
	gint64 audio = 0;
	guint unknown_audio = 0;

	if (video->bit_rate > 0) {
		d->video_bitrate = video->bit_rate;
		if (video->bit_rate_source == AV1D_BITRATE_SOURCE_TAG)
			/* Translators: BPS is the name of a Matroska tag */
			add_reason(d->reasons, _("video bitrate %.0f kb/s (BPS tag)"),
				   video->bit_rate / 1000.0);
		else
			/* Translators: bit_rate is ffprobe's field name */
			add_reason(d->reasons, _("video bitrate %.0f kb/s (stream bit_rate)"),
				   video->bit_rate / 1000.0);
		return;
	}
	if (info->bit_rate <= 0) {
		add_reason(d->reasons,
			   _("video bitrate unknown (no stream, tag or container bitrate)"));
		return;
	}
	for (guint i = 0; i < info->streams->len; i++) {
		const Av1dStreamInfo *s = g_ptr_array_index(info->streams, i);

		if (s->type != AV1D_STREAM_TYPE_AUDIO)
			continue;
		if (s->bit_rate > 0)
			audio += s->bit_rate;
		else
			unknown_audio++;
	}
	if (info->bit_rate - audio <= 0) {
		add_reason(d->reasons, _("video bitrate unknown (audio takes the whole container "
					 "bitrate)"));
		return;
	}
	d->video_bitrate = info->bit_rate - audio;
	if (unknown_audio == 0)
		add_reason(d->reasons,
			   /* Translators: the video, container and audio bitrates */
			   _("video bitrate %.0f kb/s (container %.0f kb/s minus audio %.0f kb/s)"),
			   d->video_bitrate / 1000.0, info->bit_rate / 1000.0, audio / 1000.0);
	else
		add_reason(d->reasons,
			   /* Translators: the video, container and audio bitrates, then
			    * how many audio streams have no known bitrate */
			   g_dngettext(GETTEXT_PACKAGE,
				       "video bitrate %.0f kb/s (container %.0f kb/s minus audio "
				       "%.0f kb/s; %u audio bitrate unknown, so an overestimate)",
				       "video bitrate %.0f kb/s (container %.0f kb/s minus audio "
				       "%.0f kb/s; %u audio bitrates unknown, so an overestimate)",
				       unknown_audio),
			   d->video_bitrate / 1000.0, info->bit_rate / 1000.0, audio / 1000.0,
			   unknown_audio);
}

static const gchar *
describe_video(Av1dDecision *d, const Av1dMediaInfo *info, const Av1dStreamInfo *video)
{
	d->video_codec = g_strdup(video->codec_name);
	d->width = video->width;
	d->height = video->height;
	d->frame_rate = stream_frame_rate(video);
	add_reason(d->reasons,
		   /* Translators: the stream index, codec, width and height */
		   _("video: stream #%d (%s, %dx%d)"), video->index,
		   video->codec_name ? video->codec_name : _("unknown codec"), video->width,
		   video->height);
	if (d->frame_rate <= 0.0)
		add_reason(d->reasons,
			   /* Translators: avg_frame_rate and r_frame_rate are ffprobe's
			    * field names */
			   _("frame rate unknown (no avg_frame_rate or r_frame_rate)"));
	decide_video_bitrate(d, info, video);
	if (d->video_bitrate <= 0) {
		/* Translators: why bits per pixel are unknown, shown in "quality:
		 * bits per pixel unknown (%s), no adjustment" */
		return _("no bitrate");
	}
	if (d->width <= 0 || d->height <= 0)
		return _("no dimensions");
	if (d->frame_rate <= 0.0)
		return _("no frame rate");
	d->bits_per_pixel =
		(gdouble)d->video_bitrate / ((gdouble)d->width * d->height * d->frame_rate);
	return NULL;
}

static void
decide_bit_depth(Av1dDecision *d, const Av1dStreamInfo *video)
{
	d->source_pix_fmt = g_strdup(video->pix_fmt);
	d->source_bit_depth = video->bit_depth;
	d->av1_profile = "main";
	if (video->bit_depth > 8) {
		d->target_bit_depth = 10;
		d->upload_format = "p010le";
		d->output_pix_fmt = "yuv420p10le";
	} else {
		d->target_bit_depth = 8;
		d->upload_format = "nv12";
		d->output_pix_fmt = "yuv420p";
	}
	add_reason(d->reasons,
		   /* Translators: the source pixel format, its bit depth, the
		    * target bit depth, the output pixel format and the AV1 profile
		    * name (not translated) */
		   _("source %s is %u-bit: encode %u-bit 4:2:0 (%s), AV1 profile %s"),
		   video->pix_fmt ? video->pix_fmt : _("(pix_fmt unknown)"), video->bit_depth,
		   d->target_bit_depth, d->output_pix_fmt, d->av1_profile);
}

/* "unknown" and friends are no tag worth passing on */
static gchar *
dup_color(const gchar *value)
{
	if (value == NULL || g_str_equal(value, "unknown") || g_str_equal(value, "reserved") ||
	    g_str_equal(value, "unspecified"))
		return NULL;
	return g_strdup(value);
}

static void
decide_hdr(Av1dDecision *d, const Av1dStreamInfo *video)
{
	const gchar *trc = video->color_transfer;
	gboolean pq = g_strcmp0(trc, "smpte2084") == 0;
	gboolean hlg = g_strcmp0(trc, "arib-std-b67") == 0;

	if (!pq && !hlg)
		return;
	if (g_strcmp0(video->color_primaries, "bt2020") != 0) {
		add_reason(d->reasons,
			   /* Translators: %s is a transfer characteristic such as
			    * smpte2084 */
			   _("transfer %s without BT.2020 primaries: treated as SDR"), trc);
		return;
	}
	d->is_hdr = TRUE;
	d->color_primaries = dup_color(video->color_primaries);
	d->color_transfer = dup_color(video->color_transfer);
	d->color_space = dup_color(video->color_space);
	d->color_range = dup_color(video->color_range);
	d->has_mastering_display =
		av1d_stream_info_find_side_data(video, AV1D_SIDE_DATA_MASTERING_DISPLAY) != NULL;
	d->has_content_light =
		av1d_stream_info_find_side_data(video, AV1D_SIDE_DATA_CONTENT_LIGHT) != NULL;
	add_reason(d->reasons,
		   /* Translators: PQ or HLG, then the colour tags (primaries,
		    * transfer, matrix, range: ffmpeg's names or "unknown"), then
		    * whether the two kinds of HDR metadata are "present" or
		    * "absent" */
		   _("HDR (%s, BT.2020): colour tags kept (primaries %s, transfer %s, matrix %s, "
		     "range %s); mastering display %s, content light level %s"),
		   pq ? "PQ" : "HLG", d->color_primaries, d->color_transfer,
		   /* Translators: stands for an unknown colour tag value */
		   d->color_space ? d->color_space : C_("colour tag", "unknown"),
		   d->color_range ? d->color_range : C_("colour tag", "unknown"),
		   /* Translators: said of HDR metadata in the file */
		   d->has_mastering_display ? C_("hdr metadata", "present")
					    : C_("hdr metadata", "absent"),
		   d->has_content_light ? C_("hdr metadata", "present")
					: C_("hdr metadata", "absent"));
}

/* ---- web-rip or disc ---- */

G_GNUC_PRINTF(3, 4)
static void
add_score(Av1dDecision *d, gint centi, const gchar *format, ...)
{
	g_autofree gchar *what = NULL;
	g_autofree gchar *points = format_centi(centi);
	va_list args;

	va_start(args, format);
	what = g_strdup_vprintf(format, args);
	va_end(args);
	d->web_score_centi += centi;
	g_ptr_array_add(d->web_reasons, g_strdup_printf("%s (%s)", what, points));
}

/* release-name markers; a second word makes a marker of two adjacent tokens
 * ("WEB-DL" is WEB then DL). Matching is case-insensitive except for iT
 * (iTunes), which would otherwise match the word "it" in titles. */
static const struct {
	const gchar *first;
	const gchar *second;
	gint centi;
	gboolean exact_case;
} filename_markers[] = {
	{"web", "dl", 50},    {"web", "rip", 50},     {"webdl", NULL, 50},   {"webrip", NULL, 50},
	{"web", NULL, 40},    {"amzn", NULL, 30},     {"nf", NULL, 30},	     {"dsnp", NULL, 30},
	{"hmax", NULL, 30},   {"atvp", NULL, 30},     {"hulu", NULL, 30},    {"pcok", NULL, 30},
	{"pmtp", NULL, 30},   {"iT", NULL, 20, TRUE}, {"blu", "ray", -50},   {"bluray", NULL, -50},
	{"bdrip", NULL, -40}, {"brrip", NULL, -40},   {"remux", NULL, -50},  {"uhd", NULL, -20},
	{"bdmv", NULL, -50},  {"bd25", NULL, -40},    {"bd50", NULL, -40},   {"bd66", NULL, -40},
	{"bd100", NULL, -40}, {"dvd", NULL, -40},     {"dvdrip", NULL, -40}, {"dvd5", NULL, -40},
	{"dvd9", NULL, -40},  {"hd", "dvd", -40},     {"hddvd", NULL, -40},
};

static gboolean
token_is(const gchar *token, const gchar *word, gboolean exact_case)
{
	if (token == NULL)
		return FALSE;
	return exact_case ? g_str_equal(token, word) : g_ascii_strcasecmp(token, word) == 0;
}

/* the basename without its extension, split on anything that is not an
 * ASCII letter or digit: "NF" never matches inside "INFO" */
static GStrv
filename_tokens(const gchar *path)
{
	g_autofree gchar *base = g_path_get_basename(path);
	gchar *dot = strrchr(base, '.');
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	const gchar *p = base;

	if (dot != NULL && dot != base)
		*dot = '\0';
	while (*p != '\0') {
		const gchar *start;

		while (*p != '\0' && !g_ascii_isalnum(*p))
			p++;
		start = p;
		while (g_ascii_isalnum(*p))
			p++;
		if (p > start) {
			g_autofree gchar *token = g_strndup(start, p - start);

			g_strv_builder_add(builder, token);
		}
	}
	return g_strv_builder_end(builder);
}

static void
score_filename(Av1dDecision *d, const gchar *path)
{
	g_auto(GStrv) tokens = filename_tokens(path);
	gboolean seen[G_N_ELEMENTS(filename_markers)] = {FALSE};

	for (guint i = 0; tokens[i] != NULL; i++) {
		for (guint m = 0; m < G_N_ELEMENTS(filename_markers); m++) {
			gboolean exact = filename_markers[m].exact_case;
			const gchar *second = filename_markers[m].second;

			if (!token_is(tokens[i], filename_markers[m].first, exact) ||
			    (second != NULL && !token_is(tokens[i + 1], second, exact)))
				continue;
			if (!seen[m]) {
				g_autofree gchar *token = NULL;

				if (second != NULL)
					token = g_strconcat(tokens[i], "-", tokens[i + 1], NULL);
				else
					token = g_strdup(tokens[i]);
				/* Translators: a word of the file name, e.g. WEB-DL */
				add_score(d, filename_markers[m].centi, _("filename token '%s'"),
					  token);
			}
			seen[m] = TRUE;
			if (second != NULL)
				i++;
			break;
		}
	}
}

static void
score_container(Av1dDecision *d, const gchar *path)
{
	static const struct {
		const gchar *ext;
		gint centi;
	} table[] = {{"mp4", 15},  {"m4v", 15},	 {"webm", 20}, {"m2ts", -30},
		     {"mts", -30}, {"vob", -30}, {"iso", -30}};
	const gchar *dot = strrchr(path, '.');

	if (dot == NULL || strchr(dot, G_DIR_SEPARATOR) != NULL)
		return;
	for (guint i = 0; i < G_N_ELEMENTS(table); i++) {
		if (g_ascii_strcasecmp(dot + 1, table[i].ext) == 0) {
			/* Translators: a file name extension, e.g. mp4 */
			add_score(d, table[i].centi, _("container %s"), table[i].ext);
			return;
		}
	}
}

static gboolean
contains_nocase(const gchar *haystack, const gchar *needle)
{
	g_autofree gchar *h = haystack ? g_ascii_strdown(haystack, -1) : NULL;

	return h != NULL && strstr(h, needle) != NULL;
}

static void
score_tags(Av1dDecision *d, const Av1dMediaInfo *info)
{
	const gchar *brand = av1d_media_info_get_tag(info, "major_brand");
	gboolean makemkv = contains_nocase(info->encoder, "makemkv") ||
			   contains_nocase(info->muxing_app, "makemkv");

	for (guint i = 0; !makemkv && i < info->streams->len; i++) {
		const Av1dStreamInfo *s = g_ptr_array_index(info->streams, i);

		makemkv = contains_nocase(av1d_stream_info_get_tag(s, "_statistics_writing_app"),
					  "makemkv");
	}
	if (makemkv)
		add_score(d, -40, _("muxing application MakeMKV"));
	if (brand != NULL && g_ascii_strncasecmp(brand, "dash", 4) == 0)
		/* Translators: an MP4 major brand, e.g. dash */
		add_score(d, 30, _("MP4 brand %s (a DASH stream)"), brand);
	if (contains_nocase(info->encoder, "google"))
		/* Translators: the file's encoder tag */
		add_score(d, 20, _("encoder tag %s"), info->encoder);
}

/* lossless and high-rate audio comes from discs, lossy streaming codecs from
 * the web; a profile narrows a codec ("DTS-HD MA" and "DTS-HD HRA") */
static const struct {
	const gchar *codec; /* a trailing '_' makes it a prefix */
	const gchar *profile;
	gint centi;
} audio_markers[] = {
	{"truehd", NULL, -20}, {"mlp", NULL, -20},  {"dts", "DTS-HD", -20},
	{"dts", NULL, -10},    {"pcm_", NULL, -20}, {"flac", NULL, -10},
	{"aac", NULL, 10},     {"eac3", NULL, 15},  {"opus", NULL, 10},
};

static gint
audio_marker(const Av1dStreamInfo *s)
{
	for (guint m = 0; s->codec_name != NULL && m < G_N_ELEMENTS(audio_markers); m++) {
		const gchar *codec = audio_markers[m].codec;
		gboolean prefix = g_str_has_suffix(codec, "_");

		if (prefix ? !g_str_has_prefix(s->codec_name, codec)
			   : !g_str_equal(s->codec_name, codec))
			continue;
		if (audio_markers[m].profile != NULL &&
		    (s->profile == NULL || strstr(s->profile, audio_markers[m].profile) == NULL))
			continue;
		return (gint)m;
	}
	return -1;
}

static void
score_streams(Av1dDecision *d, const Av1dMediaInfo *info)
{
	gboolean seen[G_N_ELEMENTS(audio_markers)] = {FALSE};
	guint n_audio = 0, n_subtitles = 0;

	for (guint i = 0; i < info->streams->len; i++) {
		const Av1dStreamInfo *s = g_ptr_array_index(info->streams, i);
		gint m;

		n_subtitles += s->type == AV1D_STREAM_TYPE_SUBTITLE;
		if (s->type != AV1D_STREAM_TYPE_AUDIO)
			continue;
		n_audio++;
		m = audio_marker(s);
		if (m < 0 || seen[m])
			continue;
		seen[m] = TRUE;
		if (audio_markers[m].profile != NULL)
			/* Translators: an audio codec and its profile */
			add_score(d, audio_markers[m].centi, _("audio codec %s (%s)"),
				  s->codec_name, s->profile);
		else
			add_score(d, audio_markers[m].centi, _("audio codec %s"), s->codec_name);
	}
	if (n_audio >= 3)
		add_score(d, -10,
			  g_dngettext(GETTEXT_PACKAGE, "%u audio track", "%u audio tracks",
				      n_audio),
			  n_audio);
	if (n_subtitles >= 6)
		add_score(d, -10,
			  g_dngettext(GETTEXT_PACKAGE, "%u subtitle track", "%u subtitle tracks",
				      n_subtitles),
			  n_subtitles);
}

static void
score_video(Av1dDecision *d, const Av1dStreamInfo *video)
{
	static const gint standard_heights[] = {480, 576, 720, 1080, 1440, 2160, 4320};
	gdouble avg = av1d_rational_to_double(video->avg_frame_rate);
	gdouble r = av1d_rational_to_double(video->r_frame_rate);
	gboolean standard = FALSE;

	/* a muxer's rounding moves avg a little even for constant rates */
	if (avg > 0.0 && r > 0.0 && ABS(avg - r) / r > 0.005)
		/* Translators: the average and the nominal (r) frame rates */
		add_score(d, 20, _("variable frame rate (avg %.3f fps, r %.3f fps)"), avg, r);
	for (guint i = 0; i < G_N_ELEMENTS(standard_heights); i++)
		standard = standard || video->height == standard_heights[i];
	if (video->height > 0 && !standard)
		add_score(d, 15, _("non-standard height %d"), video->height);
	if (video->width > 0 && video->width % 2 != 0)
		add_score(d, 15, _("odd width %d"), video->width);
	if (d->bits_per_pixel > 0.35)
		add_score(d, -20, _("high bits per pixel %.3f"), d->bits_per_pixel);
	else if (d->bits_per_pixel >= 0.0 && d->bits_per_pixel < 0.12)
		add_score(d, 15, _("low bits per pixel %.3f"), d->bits_per_pixel);
}

static void
decide_source_kind(Av1dDecision *d,
		   const Av1dMediaInfo *info,
		   const Av1dStreamInfo *video,
		   const gchar *path)
{
	g_autofree gchar *score = NULL;

	if (path != NULL) {
		score_filename(d, path);
		score_container(d, path);
	}
	score_tags(d, info);
	score_streams(d, info);
	score_video(d, video);
	d->web_score = d->web_score_centi / 100.0;
	if (d->web_score_centi >= AV1D_WEB_THRESHOLD)
		d->source_kind = AV1D_SOURCE_WEB;
	else if (d->web_score_centi <= AV1D_DISC_THRESHOLD)
		d->source_kind = AV1D_SOURCE_DISC;
	d->is_web_like = d->source_kind == AV1D_SOURCE_WEB;
	for (guint i = 0; i < d->web_reasons->len; i++)
		/* Translators: one item of the web score, e.g. "container mp4 (+0.15)" */
		add_reason(d->reasons, _("web score: %s"), (const gchar *)d->web_reasons->pdata[i]);
	score = format_centi(d->web_score_centi);
	/* is_web_like is exactly a web source, so only it has the last part */
	if (d->source_kind == AV1D_SOURCE_WEB)
		/* Translators: %s is the total web score, e.g. +0.50 */
		add_reason(d->reasons,
			   _("web score %s: web source (>= +0.40), timestamps will be "
			     "regenerated and passed through"),
			   score);
	else if (d->source_kind == AV1D_SOURCE_DISC)
		/* Translators: %s is the total web score, e.g. -0.40 */
		add_reason(d->reasons, _("web score %s: disc source (<= -0.30)"), score);
	else
		/* Translators: %s is the total web score, e.g. +0.10 */
		add_reason(d->reasons, _("web score %s: source unknown"), score);
}

/* ---- putting it together ---- */

static void
decide_quality(Av1dDecision *d, const gchar *bpp_unknown_why)
{
	Av1dQualityInput input = {
		.codec = d->video_codec,
		.height = d->height,
		.target_bit_depth = d->target_bit_depth,
		.bits_per_pixel = d->bits_per_pixel,
		.bpp_unknown_why = bpp_unknown_why,
		.frame_rate = d->frame_rate,
	};

	d->quality = av1d_quality_for(&input, d->reasons);
	d->svt_crf = av1d_quality_to_svt_crf(d->quality);
	add_reason(d->reasons,
		   /* Translators: global_quality and crf are encoder options */
		   _("quality: av1_qsv global_quality %d, SVT-AV1/libaom crf %d"), d->quality,
		   d->svt_crf);
}

static gchar *
encode_summary(const Av1dDecision *d)
{
	g_autofree gchar *score = format_centi(d->web_score_centi);
	/* Translators: stands for an unknown codec name */
	const gchar *codec = d->video_codec ? d->video_codec : C_("codec", "unknown");
	const gchar *range = d->is_hdr ? "HDR" : "SDR";

	switch (d->source_kind) {
	case AV1D_SOURCE_WEB:
		/* Translators: codec, width, height, bit depth, HDR or SDR, the
		 * web score (e.g. +0.50), the quality value and the CRF */
		return g_strdup_printf(_("encode: %s %dx%d %u-bit %s, web source (%s), "
					 "global_quality %d (crf %d)"),
				       codec, d->width, d->height, d->source_bit_depth, range,
				       score, d->quality, d->svt_crf);
	case AV1D_SOURCE_DISC:
		/* Translators: codec, width, height, bit depth, HDR or SDR, the
		 * web score (e.g. -0.40), the quality value and the CRF */
		return g_strdup_printf(_("encode: %s %dx%d %u-bit %s, disc source (%s), "
					 "global_quality %d (crf %d)"),
				       codec, d->width, d->height, d->source_bit_depth, range,
				       score, d->quality, d->svt_crf);
	case AV1D_SOURCE_UNKNOWN:
	default:
		/* Translators: codec, width, height, bit depth, HDR or SDR, the
		 * web score (e.g. +0.10), the quality value and the CRF */
		return g_strdup_printf(_("encode: %s %dx%d %u-bit %s, unknown source (%s), "
					 "global_quality %d (crf %d)"),
				       codec, d->width, d->height, d->source_bit_depth, range,
				       score, d->quality, d->svt_crf);
	}
}

Av1dDecision *
av1d_classify(const Av1dMediaInfo *info, const gchar *source_path, const Av1dConfig *config)
{
	g_autoptr(Av1dDecision) d = g_new0(Av1dDecision, 1);
	const Av1dStreamInfo *video;
	const gchar *bpp_unknown_why;
	guint n_attached_pics;

	g_return_val_if_fail(info != NULL, NULL);

	d->reasons = g_ptr_array_new_with_free_func(g_free);
	d->web_reasons = g_ptr_array_new_with_free_func(g_free);
	d->video_bitrate = -1;
	d->bits_per_pixel = -1.0;
	video = find_video(info, &d->video_type_index, &n_attached_pics);
	d->video_index = video != NULL ? video->index : -1;
	d->skip_reason = skip_reason(info, video, n_attached_pics);
	if (d->skip_reason != NULL) {
		d->action = AV1D_ACTION_SKIP;
		/* Translators: %s is why the file is skipped, e.g. "already AV1" */
		add_reason(d->reasons, _("skip: %s"), d->skip_reason);
		d->summary = g_strdup_printf(_("skip: %s"), d->skip_reason);
		return g_steal_pointer(&d);
	}
	bpp_unknown_why = describe_video(d, info, video);
	decide_bit_depth(d, video);
	decide_hdr(d, video);
	decide_source_kind(d, info, video, source_path != NULL ? source_path : info->filename);
	decide_quality(d, bpp_unknown_why);
	d->action = AV1D_ACTION_ENCODE;
	d->summary = encode_summary(d);
	return g_steal_pointer(&d);
}
