#define G_LOG_DOMAIN "av1d-plan"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "av1d-error.h"
#include "av1d-plan.h"
#include "av1d-sidecar.h"

/* ---- languages ---- */

/* one language per row: the ISO 639-2/B code (what Matroska files carry)
 * first, then 639-2/T, 639-1 and the English name */
static const gchar *const languages[][6] = {
	{"eng", "en", "english", NULL},
	{"rus", "ru", "russian", NULL},
	{"ger", "deu", "de", "german", NULL},
	{"fre", "fra", "fr", "french", NULL},
	{"spa", "es", "spanish", "castilian", NULL},
	{"ita", "it", "italian", NULL},
	{"jpn", "ja", "japanese", NULL},
	{"ukr", "uk", "ukrainian", NULL},
	{"chi", "zho", "zh", "chinese", NULL},
	{"kor", "ko", "korean", NULL},
	{"por", "pt", "portuguese", NULL},
	{"pol", "pl", "polish", NULL},
	{"dut", "nld", "nl", "dutch", "flemish", NULL},
	{"swe", "sv", "swedish", NULL},
	{"fin", "fi", "finnish", NULL},
	{"nor", "no", "nob", "nb", "norwegian", NULL},
	{"dan", "da", "danish", NULL},
	{"cze", "ces", "cs", "czech", NULL},
	{"hun", "hu", "hungarian", NULL},
	{"tur", "tr", "turkish", NULL},
	{"ara", "ar", "arabic", NULL},
	{"heb", "he", "iw", "hebrew", NULL},
	{"hin", "hi", "hindi", NULL},
	{"gre", "ell", "el", "greek", NULL},
	{"rum", "ron", "ro", "romanian", NULL},
	{"bul", "bg", "bulgarian", NULL},
	{"hrv", "hr", "croatian", NULL},
	{"srp", "sr", "serbian", NULL},
	{"slo", "slk", "sk", "slovak", NULL},
	{"slv", "sl", "slovenian", NULL},
	{"tha", "th", "thai", NULL},
	{"vie", "vi", "vietnamese", NULL},
	{"ind", "id", "indonesian", NULL},
	{"per", "fas", "fa", "persian", NULL},
	{"ice", "isl", "is", "icelandic", NULL},
	{"cat", "ca", "catalan", NULL},
};

/* "pt-BR" and "en_US" name the language before the separator */
static gchar *
language_base(const gchar *tag)
{
	gsize len = strcspn(tag, "-_");

	return g_ascii_strdown(tag, (gssize)len);
}

const gchar *
av1d_language_canonical(const gchar *tag)
{
	g_autofree gchar *base = NULL;

	if (tag == NULL)
		return NULL;
	base = language_base(tag);
	for (guint i = 0; i < G_N_ELEMENTS(languages); i++) {
		for (guint j = 0; languages[i][j] != NULL; j++) {
			if (g_str_equal(base, languages[i][j]))
				return languages[i][0];
		}
	}
	return NULL;
}

gboolean
av1d_language_matches(const gchar *a, const gchar *b)
{
	const gchar *ca, *cb;
	g_autofree gchar *base_a = NULL;
	g_autofree gchar *base_b = NULL;

	if (a == NULL || b == NULL || a[0] == '\0' || b[0] == '\0')
		return FALSE;
	ca = av1d_language_canonical(a);
	cb = av1d_language_canonical(b);
	if (ca != NULL || cb != NULL)
		return ca == cb;
	base_a = language_base(a);
	base_b = language_base(b);
	return g_str_equal(base_a, base_b);
}

/* untagged, undetermined, multiple and no-language streams are never dropped */
static gboolean
is_excluded_language(const gchar *language, const gchar *const *exclude)
{
	static const gchar *const always_kept[] = {"und", "mul", "zxx", "mis", NULL};
	g_autofree gchar *base = NULL;

	if (language == NULL || language[0] == '\0' || exclude == NULL)
		return FALSE;
	base = language_base(language);
	if (base[0] == '\0' || g_strv_contains(always_kept, base))
		return FALSE;
	for (guint i = 0; exclude[i] != NULL; i++) {
		if (av1d_language_matches(language, exclude[i]))
			return TRUE;
	}
	return FALSE;
}

/* ---- the plan ---- */

static void
plan_track_free(Av1dPlanTrack *track)
{
	if (track == NULL)
		return;
	g_free(track->codec_name);
	g_free(track->language);
	g_free(track);
}

void
av1d_plan_free(Av1dPlan *self)
{
	if (self == NULL)
		return;
	g_free(self->source_path);
	g_free(self->output_path);
	g_free(self->temp_dir);
	g_free(self->temp_path);
	g_free(self->backup_path);
	plan_track_free(self->video);
	g_clear_pointer(&self->audio, g_ptr_array_unref);
	g_clear_pointer(&self->subtitles, g_ptr_array_unref);
	g_clear_pointer(&self->notes, g_ptr_array_unref);
	g_free(self);
}

G_GNUC_PRINTF(2, 3)
static void
add_note(Av1dPlan *plan, const gchar *format, ...)
{
	va_list args;

	va_start(args, format);
	g_ptr_array_add(plan->notes, g_strdup_vprintf(format, args));
	va_end(args);
}

static gboolean
plan_paths(Av1dPlan *plan, const gchar *source_path, GError **error)
{
	g_autofree gchar *dir = g_path_get_dirname(source_path);
	g_autofree gchar *base = g_path_get_basename(source_path);
	g_autofree gchar *stem = NULL;
	g_autofree gchar *name = NULL;
	const gchar *dot = strrchr(base, '.');

	if (g_str_equal(base, ".") || g_str_equal(base, "..") ||
	    g_str_equal(base, G_DIR_SEPARATOR_S)) {
		g_autofree gchar *display = g_filename_display_name(source_path);

		g_set_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS,
			    _("planning %s: not a file name"), display);
		return FALSE;
	}
	/* ".hidden" is all stem */
	stem = dot != NULL && dot != base ? g_strndup(base, dot - base) : g_strdup(base);
	plan->source_path = g_strdup(source_path);
	name = g_strconcat(stem, ".mkv", NULL);
	plan->output_path = g_build_filename(dir, name, NULL);
	g_free(name);
	/* the pipeline names the job's private folder when it creates it;
	 * until then (explain, --dry-run) the pattern stands in */
	name = g_strconcat(AV1D_TEMP_DIR_PREFIX, "XXXXXX", NULL);
	plan->temp_dir = g_build_filename(dir, name, NULL);
	plan->temp_path = g_build_filename(plan->temp_dir, AV1D_TEMP_OUTPUT, NULL);
	g_free(name);
	name = dot != NULL && dot != base ? g_strconcat(stem, ".orig", dot, NULL)
					  : g_strconcat(stem, ".orig", NULL);
	plan->backup_path = g_build_filename(dir, name, NULL);
	return TRUE;
}

/* text subtitles that Matroska cannot carry but ffmpeg decodes to text;
 * anything else is copied as it is */
static gboolean
needs_srt(const gchar *codec)
{
	static const gchar *const codecs[] = {
		"mov_text", "microdvd", "sami", "realtext", "subviewer", "subviewer1", "mpl2",
		"pjs",	    "vplayer",	"stl",	"jacosub",  "eia_608",	 NULL};

	return codec != NULL && g_strv_contains(codecs, codec);
}

static Av1dPlanTrack *
plan_track_new(const Av1dStreamInfo *s, gint type_index)
{
	Av1dPlanTrack *track = g_new0(Av1dPlanTrack, 1);

	track->type = s->type;
	track->input_index = s->index;
	track->type_index = type_index;
	track->codec_name = g_strdup(s->codec_name);
	track->language = g_strdup(s->language);
	track->to_srt = s->type == AV1D_STREAM_TYPE_SUBTITLE && needs_srt(s->codec_name);
	return track;
}

static const gchar *
language_label(const gchar *language)
{
	/* Translators: a stream without a language tag */
	return language != NULL ? language : _("untagged");
}

static void
plan_video(Av1dPlan *plan, const Av1dStreamInfo *s, gint type_index, const Av1dDecision *decision)
{
	if (s->index == decision->video_index && plan->video == NULL) {
		plan->video = plan_track_new(s, type_index);
		return;
	}
	if (s->is_attached_pic)
		/* Translators: the stream index, then its codec (e.g. mjpeg) */
		add_note(plan, _("dropping video stream #%d (%s): cover art"), s->index,
			 s->codec_name ? s->codec_name : _("unknown codec"));
	else
		/* Translators: the stream index, then its codec (e.g. h264) */
		add_note(plan, _("dropping video stream #%d (%s): only the first video is encoded"),
			 s->index, s->codec_name ? s->codec_name : _("unknown codec"));
}

/* audio: everything not excluded, but never nothing */
static void
plan_audio(Av1dPlan *plan, GPtrArray *candidates, const gchar *const *exclude)
{
	g_autoptr(GPtrArray) dropped = g_ptr_array_new();

	for (guint i = 0; i < candidates->len; i++) {
		Av1dPlanTrack *track = candidates->pdata[i];

		if (is_excluded_language(track->language, exclude))
			g_ptr_array_add(dropped, track);
	}
	if (dropped->len > 0 && dropped->len == candidates->len) {
		/* Translators: excluded languages are those of exclude_languages
		 * in the config */
		add_note(plan, _("all audio is in excluded languages; keeping all audio"));
		g_ptr_array_set_size(dropped, 0);
	}
	for (guint i = 0; i < candidates->len; i++) {
		Av1dPlanTrack *track = candidates->pdata[i];

		if (g_ptr_array_find(dropped, track, NULL)) {
			/* Translators: the stream index, then its language tag
			 * (e.g. rus) */
			add_note(plan, _("dropping audio stream #%d (%s): excluded language"),
				 track->input_index, track->language);
			plan_track_free(track);
		} else {
			g_ptr_array_add(plan->audio, track);
		}
	}
}

static void
plan_subtitle(Av1dPlan *plan, const Av1dStreamInfo *s, gint type_index, const gchar *const *exclude)
{
	Av1dPlanTrack *track;

	if (is_excluded_language(s->language, exclude)) {
		/* Translators: the stream index, then its language tag (e.g. rus) */
		add_note(plan, _("dropping subtitle stream #%d (%s): excluded language"), s->index,
			 s->language);
		return;
	}
	track = plan_track_new(s, type_index);
	if (track->to_srt)
		add_note(plan,
			 /* Translators: the stream index, its language tag (or
			  * "untagged"), its codec, then the codec again */
			 _("converting subtitle stream #%d (%s) from %s to SRT: "
			   "Matroska cannot carry %s"),
			 s->index, language_label(s->language), s->codec_name, s->codec_name);
	g_ptr_array_add(plan->subtitles, track);
}

static void
plan_streams(Av1dPlan *plan,
	     const Av1dMediaInfo *info,
	     const Av1dDecision *decision,
	     const gchar *const *exclude)
{
	g_autoptr(GPtrArray) audio = g_ptr_array_new();
	gint n_video = 0, n_audio = 0, n_subtitles = 0;

	for (guint i = 0; i < info->streams->len; i++) {
		const Av1dStreamInfo *s = g_ptr_array_index(info->streams, i);

		switch (s->type) {
		case AV1D_STREAM_TYPE_VIDEO:
			plan_video(plan, s, n_video++, decision);
			break;
		case AV1D_STREAM_TYPE_AUDIO:
			g_ptr_array_add(audio, plan_track_new(s, n_audio++));
			break;
		case AV1D_STREAM_TYPE_SUBTITLE:
			plan_subtitle(plan, s, n_subtitles++, exclude);
			break;
		case AV1D_STREAM_TYPE_ATTACHMENT:
			plan->n_attachments++;
			break;
		case AV1D_STREAM_TYPE_DATA:
			/* Translators: the stream index, then its codec */
			add_note(plan, _("dropping data stream #%d (%s): Matroska cannot carry it"),
				 s->index, s->codec_name ? s->codec_name : _("unknown codec"));
			break;
		case AV1D_STREAM_TYPE_OTHER:
		default:
			/* Translators: the stream index, then ffprobe's codec_type
			 * (e.g. "attachment"), or "(none)" */
			add_note(plan, _("dropping stream #%d of unknown type %s"), s->index,
				 s->codec_type ? s->codec_type : _("(none)"));
			break;
		}
	}
	plan_audio(plan, audio, exclude);
}

Av1dPlan *
av1d_plan_new(const Av1dMediaInfo *info,
	      const Av1dDecision *decision,
	      const gchar *source_path,
	      const Av1dConfig *config,
	      GError **error)
{
	g_autoptr(Av1dPlan) plan = NULL;
	g_autofree gchar *display = NULL;
	const gchar *const *exclude = NULL;

	g_return_val_if_fail(info != NULL && decision != NULL && source_path != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	display = g_filename_display_name(source_path);
	if (decision->action != AV1D_ACTION_ENCODE) {
		if (decision->skip_reason != NULL)
			g_set_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS,
				    /* Translators: a file, then why it is skipped */
				    _("planning %s: skipped (%s)"), display, decision->skip_reason);
		else
			g_set_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS,
				    _("planning %s: skipped (no reason)"), display);
		return NULL;
	}
	if (config != NULL)
		exclude = (const gchar *const *)config->exclude_languages;
	plan = g_new0(Av1dPlan, 1);
	plan->audio = g_ptr_array_new_with_free_func((GDestroyNotify)plan_track_free);
	plan->subtitles = g_ptr_array_new_with_free_func((GDestroyNotify)plan_track_free);
	plan->notes = g_ptr_array_new_with_free_func(g_free);
	plan->n_chapters = info->n_chapters;
	if (!plan_paths(plan, source_path, error))
		return NULL;
	plan_streams(plan, info, decision, exclude);
	if (plan->video == NULL) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS,
			    _("planning %s: video stream #%d is not in the file"), display,
			    decision->video_index);
		return NULL;
	}
	return g_steal_pointer(&plan);
}

/* ---- argv ---- */

static void
add_args(GPtrArray *argv, ...) G_GNUC_NULL_TERMINATED;

static void
add_args(GPtrArray *argv, ...)
{
	va_list args;
	const gchar *arg;

	va_start(args, argv);
	while ((arg = va_arg(args, const gchar *)) != NULL)
		g_ptr_array_add(argv, g_strdup(arg));
	va_end(args);
}

G_GNUC_PRINTF(2, 3)
static void
add_argf(GPtrArray *argv, const gchar *format, ...)
{
	va_list args;

	va_start(args, format);
	g_ptr_array_add(argv, g_strdup_vprintf(format, args));
	va_end(args);
}

/* web sources: regenerate missing timestamps and keep the source's own
 * (often variable) timing instead of duplicating or dropping frames */
static void
add_input(GPtrArray *argv, const Av1dPlan *plan, const Av1dDecision *decision)
{
	if (decision->is_web_like)
		add_args(argv, "-fflags", "+genpts", "-copyts", "-start_at_zero", NULL);
	add_args(argv, "-i", plan->source_path, NULL);
}

static void
add_maps(GPtrArray *argv, const Av1dPlan *plan)
{
	add_args(argv, "-map", NULL);
	add_argf(argv, "0:v:%d", plan->video->type_index);
	for (guint i = 0; i < plan->audio->len; i++) {
		const Av1dPlanTrack *track = plan->audio->pdata[i];

		add_args(argv, "-map", NULL);
		add_argf(argv, "0:a:%d", track->type_index);
	}
	for (guint i = 0; i < plan->subtitles->len; i++) {
		const Av1dPlanTrack *track = plan->subtitles->pdata[i];

		add_args(argv, "-map", NULL);
		add_argf(argv, "0:s:%d", track->type_index);
	}
	add_args(argv, "-map", "0:t?", "-map_chapters", "0", NULL);
}

/* HDR keeps the source's colour description; SDR leaves it to the encoder */
static void
add_color(GPtrArray *argv, const Av1dDecision *decision)
{
	if (!decision->is_hdr)
		return;
	if (decision->color_primaries != NULL)
		add_args(argv, "-color_primaries", decision->color_primaries, NULL);
	if (decision->color_transfer != NULL)
		add_args(argv, "-color_trc", decision->color_transfer, NULL);
	if (decision->color_space != NULL)
		add_args(argv, "-colorspace", decision->color_space, NULL);
	if (decision->color_range != NULL)
		add_args(argv, "-color_range", decision->color_range, NULL);
}

/* avoid_negative_ts is a muxer option: before -i it would be ignored */
static void
add_web_output(GPtrArray *argv, const Av1dDecision *decision)
{
	if (decision->is_web_like)
		add_args(argv, "-fps_mode", "passthrough", "-avoid_negative_ts", "make_zero", NULL);
}

/* subtitle codecs are per output stream, so k counts kept subtitles */
static void
add_copies_and_output(GPtrArray *argv, const Av1dPlan *plan)
{
	gboolean any_srt = FALSE;

	add_args(argv, "-c:a", "copy", NULL);
	for (guint i = 0; i < plan->subtitles->len; i++)
		any_srt = any_srt || ((const Av1dPlanTrack *)plan->subtitles->pdata[i])->to_srt;
	if (!any_srt)
		add_args(argv, "-c:s", "copy", NULL);
	for (guint k = 0; any_srt && k < plan->subtitles->len; k++) {
		const Av1dPlanTrack *track = plan->subtitles->pdata[k];

		add_argf(argv, "-c:s:%u", k);
		add_args(argv, track->to_srt ? "srt" : "copy", NULL);
	}
	add_args(argv, "-c:t", "copy", "-max_muxing_queue_size", "1024", "-progress", "pipe:1",
		 "-nostats", "-f", "matroska", plan->temp_path, NULL);
}

static void
add_qsv_ffmpeg_args(GPtrArray *argv,
		    const Av1dPlan *plan,
		    const Av1dDecision *decision,
		    const Av1dBackendParams *params)
{
	add_args(argv, "-hide_banner", "-nostdin", "-y", "-init_hw_device", NULL);
	/* the device string picks the MFX implementation; child_device picks
	 * the GPU, which matters on machines with more than one */
	add_argf(argv, "qsv=hw:hw,child_device=%s", params->render_node);
	add_args(argv, "-filter_hw_device", "hw", NULL);
	add_input(argv, plan, decision);
	add_maps(argv, plan);
	add_args(argv, "-vf", NULL);
	add_argf(argv, "format=%s,hwupload=extra_hw_frames=64", decision->upload_format);
	add_args(argv, "-c:v", "av1_qsv", "-preset", "slower", "-global_quality", NULL);
	add_argf(argv, "%d", decision->quality);
	add_args(argv, "-profile:v", decision->av1_profile, NULL);
	add_color(argv, decision);
	add_web_output(argv, decision);
	add_copies_and_output(argv, plan);
}

static void
add_software_args(GPtrArray *argv,
		  const Av1dPlan *plan,
		  const Av1dDecision *decision,
		  const Av1dBackendParams *params)
{
	g_autofree gchar *crf = g_strdup_printf("%d", decision->svt_crf);

	add_args(argv, params->ffmpeg_bin ? params->ffmpeg_bin : "ffmpeg", "-hide_banner",
		 "-nostdin", "-y", NULL);
	add_input(argv, plan, decision);
	add_maps(argv, plan);
	if (params->use_libaom)
		add_args(argv, "-c:v", "libaom-av1", "-cpu-used", "6", "-row-mt", "1", "-crf", crf,
			 "-b:v", "0", NULL);
	else
		add_args(argv, "-c:v", "libsvtav1", "-preset", "8", "-crf", crf, NULL);
	add_args(argv, "-pix_fmt", decision->output_pix_fmt, NULL);
	add_color(argv, decision);
	add_web_output(argv, decision);
	add_copies_and_output(argv, plan);
}

/* -v splits on ':', so a path with one goes through --mount, whose value is
 * CSV: quoting the fields keeps commas and quotes in the path intact */
static void
add_docker_mount(GPtrArray *argv, const gchar *path, gboolean read_only)
{
	g_auto(GStrv) parts = NULL;
	g_autofree gchar *quoted = NULL;

	if (strchr(path, ':') == NULL) {
		add_args(argv, "-v", NULL);
		add_argf(argv, "%s:%s%s", path, path, read_only ? ":ro" : "");
		return;
	}
	parts = g_strsplit(path, "\"", -1);
	quoted = g_strjoinv("\"\"", parts);
	add_args(argv, "--mount", NULL);
	add_argf(argv, "type=bind,\"source=%s\",\"target=%s\"%s", quoted, quoted,
		 read_only ? ",readonly" : "");
}

static void
add_docker_args(GPtrArray *argv, const Av1dPlan *plan, const Av1dBackendParams *params)
{
	add_args(argv, params->docker_bin ? params->docker_bin : "docker", "run", "--rm", "--name",
		 NULL);
	add_argf(argv, "av1d-%" G_GUINT64_FORMAT, params->job_id);
	add_args(argv, "--label", NULL);
	add_argf(argv, AV1D_DOCKER_LABEL_JOB "=%" G_GUINT64_FORMAT, params->job_id);
	if (params->instance[0] != '\0') {
		add_args(argv, "--label", NULL);
		add_argf(argv, AV1D_DOCKER_LABEL_STATE "=%s", params->instance);
	}
	add_args(argv, "--device", params->render_node, "--user", NULL);
	add_argf(argv, "%u:%u", params->uid, params->gid);
	add_args(argv, "--group-add", NULL);
	add_argf(argv, "%u", params->render_gid);
	add_args(argv, "-e", "LIBVA_DRIVER_NAME=iHD", NULL);
	/* only the job's private folder read-write, the source itself
	 * read-only: the container can touch nothing else of the library */
	add_docker_mount(argv, plan->temp_dir, FALSE);
	add_docker_mount(argv, plan->source_path, TRUE);
	add_args(argv, "--entrypoint", "ffmpeg", params->docker_image, NULL);
}

static gboolean
check_backend_params(const Av1dBackendParams *params, GError **error)
{
	gboolean qsv = params->kind == AV1D_ENCODER_KIND_DOCKER_QSV ||
		       params->kind == AV1D_ENCODER_KIND_QSV;

	if (!qsv && params->kind != AV1D_ENCODER_KIND_SOFTWARE) {
		g_set_error(
			error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS,
			/* Translators: %s is "auto" or "(invalid)", not translated */
			_("encoder kind %s must be resolved to a backend before building a "
			  "command"),
			params->kind == AV1D_ENCODER_KIND_AUTO ? "auto" : "(invalid)");
		return FALSE;
	}
	if (qsv && (params->render_node == NULL || params->render_node[0] == '\0')) {
		g_set_error_literal(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS,
				    _("the QSV encoders need a render node"));
		return FALSE;
	}
	if (params->kind == AV1D_ENCODER_KIND_DOCKER_QSV &&
	    (params->docker_image == NULL || params->docker_image[0] == '\0')) {
		g_set_error_literal(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS,
				    _("the docker-qsv encoder needs a docker image"));
		return FALSE;
	}
	return TRUE;
}

GStrv
av1d_plan_build_argv(const Av1dPlan *plan,
		     const Av1dDecision *decision,
		     const Av1dBackendParams *params,
		     GError **error)
{
	g_autoptr(GPtrArray) argv = NULL;

	g_return_val_if_fail(plan != NULL && decision != NULL && params != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (decision->action != AV1D_ACTION_ENCODE) {
		g_set_error_literal(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS,
				    _("a skipped file has no command"));
		return NULL;
	}
	if (!check_backend_params(params, error))
		return NULL;
	argv = g_ptr_array_new_with_free_func(g_free);
	switch (params->kind) {
	case AV1D_ENCODER_KIND_DOCKER_QSV:
		add_docker_args(argv, plan, params);
		add_qsv_ffmpeg_args(argv, plan, decision, params);
		break;
	case AV1D_ENCODER_KIND_QSV:
		add_args(argv, params->ffmpeg_bin ? params->ffmpeg_bin : "ffmpeg", NULL);
		add_qsv_ffmpeg_args(argv, plan, decision, params);
		break;
	case AV1D_ENCODER_KIND_SOFTWARE:
	case AV1D_ENCODER_KIND_AUTO:
	default:
		add_software_args(argv, plan, decision, params);
		break;
	}
	g_ptr_array_add(argv, NULL);
	return (GStrv)g_ptr_array_free(g_steal_pointer(&argv), FALSE);
}

Av1dBackendParams *
av1d_backend_params_dup(const Av1dBackendParams *params)
{
	const gchar *sources[4];
	const gchar **targets[4];
	gsize bytes = sizeof(Av1dBackendParams);
	Av1dBackendParams *copy;
	gchar *next;

	g_return_val_if_fail(params != NULL, NULL);
	sources[0] = params->render_node;
	sources[1] = params->docker_bin;
	sources[2] = params->docker_image;
	sources[3] = params->ffmpeg_bin;
	for (guint i = 0; i < G_N_ELEMENTS(sources); i++)
		bytes += sources[i] != NULL ? strlen(sources[i]) + 1 : 0;
	copy = g_malloc(bytes);
	*copy = *params;
	targets[0] = &copy->render_node;
	targets[1] = &copy->docker_bin;
	targets[2] = &copy->docker_image;
	targets[3] = &copy->ffmpeg_bin;
	/* the strings right behind the struct, so that one g_free() frees all */
	next = (gchar *)(copy + 1);
	for (guint i = 0; i < G_N_ELEMENTS(sources); i++) {
		gsize size;

		if (sources[i] == NULL)
			continue;
		size = strlen(sources[i]) + 1;
		*targets[i] = memcpy(next, sources[i], size);
		next += size;
	}
	return copy;
}

/* the same folder always gives the same id, also when named through ".."
 * or a relative path; different folders practically never share one */
void
av1d_backend_params_set_instance(Av1dBackendParams *params, const gchar *job_state_dir)
{
	g_autofree gchar *canonical = NULL;
	g_autofree gchar *hash = NULL;

	g_return_if_fail(params != NULL);
	g_return_if_fail(job_state_dir != NULL);

	canonical = g_canonicalize_filename(job_state_dir, NULL);
	hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, canonical, -1);
	g_strlcpy(params->instance, hash, sizeof(params->instance));
}

/* words made only of these need no quotes; anything else gets g_shell_quote */
static gboolean
needs_quoting(const gchar *arg)
{
	if (arg[0] == '\0')
		return TRUE;
	for (const gchar *p = arg; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && strchr("_-+=:,./@%", *p) == NULL)
			return TRUE;
	}
	return FALSE;
}

gchar *
av1d_argv_to_display(const gchar *const *argv)
{
	g_autoptr(GString) out = g_string_new(NULL);

	g_return_val_if_fail(argv != NULL, NULL);

	for (guint i = 0; argv[i] != NULL; i++) {
		g_autofree gchar *quoted = needs_quoting(argv[i]) ? g_shell_quote(argv[i]) : NULL;

		if (i > 0)
			g_string_append_c(out, ' ');
		g_string_append(out, quoted != NULL ? quoted : argv[i]);
	}
	/* file names need not be UTF-8; the display must be */
	return g_utf8_make_valid(out->str, (gssize)out->len);
}

void
av1d_plan_set_temp_dir(Av1dPlan *self, const gchar *temp_dir)
{
	g_return_if_fail(self != NULL && temp_dir != NULL);

	g_free(self->temp_dir);
	g_free(self->temp_path);
	self->temp_dir = g_strdup(temp_dir);
	self->temp_path = g_build_filename(temp_dir, AV1D_TEMP_OUTPUT, NULL);
}
