#define G_LOG_DOMAIN "av1d-explain"

#include "config.h"

#include <inttypes.h>

#include <glib/gi18n-lib.h>

#include "av1d-error.h"
#include "av1d-explain.h"

static void
av1d_explain_append_stream(GString *out, const Av1dStreamInfo *stream)
{
	g_string_append_printf(out, "  #%d %-10s %s", stream->index,
			       av1d_stream_type_to_string(stream->type),
			       stream->codec_name != NULL ? stream->codec_name : "?");
	if (stream->type == AV1D_STREAM_TYPE_VIDEO) {
		g_string_append_c(out, ' ');
		/* Translators: width, height, pixel format (e.g. yuv420p10le)
		 * and bit depth of a video stream */
		g_string_append_printf(out, _("%dx%d %s %u-bit"), stream->width, stream->height,
				       stream->pix_fmt != NULL ? stream->pix_fmt : "?",
				       stream->bit_depth);
		if (stream->is_attached_pic) {
			g_string_append_c(out, ' ');
			/* Translators: a video stream that is cover art */
			g_string_append(out, _("(attached picture)"));
		}
	}
	if (stream->language != NULL)
		g_string_append_printf(out, " [%s]", stream->language);
	if (stream->title != NULL)
		g_string_append_printf(out, " \"%s\"", stream->title);
	if (stream->bit_rate > 0) {
		g_string_append_c(out, ' ');
		/* Translators: a bit rate in kilobits per second */
		g_string_append_printf(out, _("%.0f kb/s"), (gdouble)stream->bit_rate / 1000.0);
	}
	g_string_append_c(out, '\n');
}

static void
av1d_explain_append_probe(GString *out, const Av1dMediaInfo *info)
{
	g_autofree gchar *duration = NULL;
	g_autofree gchar *streams = NULL;
	g_autofree gchar *chapters = NULL;
	g_autofree gchar *attachments = NULL;

	if (info->duration_us >= 0) {
		/* Translators: a duration in seconds */
		duration = g_strdup_printf(_("%.3f s"),
					   (gdouble)info->duration_us / G_USEC_PER_SEC);
	} else {
		duration = g_strdup(_("unknown duration"));
	}
	streams = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "%u stream", "%u streams",
					      info->streams->len),
				  info->streams->len);
	chapters = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "%u chapter", "%u chapters",
					       info->n_chapters),
				   info->n_chapters);
	attachments = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "%u attachment",
						  "%u attachments", info->n_attachments),
				      info->n_attachments);
	/* Translators: the container format name (e.g. "matroska,webm"), the
	 * duration ("5.000 s"), then the counts of streams, chapters and
	 * attachments ("2 streams") */
	g_string_append_printf(out, _("Probe: %s, %s, %s, %s, %s\n"),
			       info->format_name != NULL ? info->format_name : "?", duration,
			       streams, chapters, attachments);
	for (guint i = 0; i < info->streams->len; i++)
		av1d_explain_append_stream(out, g_ptr_array_index(info->streams, i));
}

static void
av1d_explain_append_lines(GString *out, const gchar *title, GPtrArray *lines)
{
	if (lines == NULL || lines->len == 0)
		return;
	g_string_append_printf(out, "%s\n", title);
	for (guint i = 0; i < lines->len; i++)
		g_string_append_printf(out, "  - %s\n", (const gchar *)g_ptr_array_index(lines, i));
}

static void
av1d_explain_append_track(GString *out, const Av1dPlanTrack *track, const gchar *what)
{
	g_string_append_printf(out, "  %-9s 0:%c:%d (#%d) %s%s%s%s\n", what,
			       track->type == AV1D_STREAM_TYPE_VIDEO   ? 'v'
			       : track->type == AV1D_STREAM_TYPE_AUDIO ? 'a'
								       : 's',
			       track->type_index, track->input_index,
			       track->codec_name != NULL ? track->codec_name : "?",
			       track->language != NULL ? " [" : "",
			       track->language != NULL ? track->language : "",
			       track->language != NULL ? "]" : "");
}

static void
av1d_explain_append_plan(GString *out, const Av1dPlan *plan)
{
	g_autofree gchar *output = g_filename_display_name(plan->output_path);
	g_autofree gchar *backup = g_filename_display_name(plan->backup_path);
	g_autofree gchar *temp = g_filename_display_name(plan->temp_path);
	g_autofree gchar *attachments = NULL;
	g_autofree gchar *chapters = NULL;

	g_string_append(out, _("Track plan:\n"));
	/* Translators: a track kind in the track plan of `av1d explain` */
	av1d_explain_append_track(out, plan->video, C_("track kind", "video"));
	for (guint i = 0; i < plan->audio->len; i++)
		av1d_explain_append_track(out, g_ptr_array_index(plan->audio, i),
					  /* Translators: a track kind in the track plan */
					  C_("track kind", "audio"));
	for (guint i = 0; i < plan->subtitles->len; i++)
		av1d_explain_append_track(out, g_ptr_array_index(plan->subtitles, i),
					  /* Translators: a track kind in the track plan */
					  C_("track kind", "subtitle"));
	attachments = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "%u attachment",
						  "%u attachments", plan->n_attachments),
				      plan->n_attachments);
	chapters = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "%u chapter", "%u chapters",
					       plan->n_chapters),
				   plan->n_chapters);
	/* Translators: the counts of attachments and chapters ("1 attachment",
	 * "3 chapters") that the output keeps */
	g_string_append_printf(out, _("  %s, %s, global metadata kept\n"), attachments, chapters);
	av1d_explain_append_lines(out, _("Plan notes:"), plan->notes);
	/* Translators: the output file, the temporary file and the backup of
	 * the original */
	g_string_append_printf(out,
			       _("Output: %s\n  temp while encoding: %s\n  original kept as: %s\n"),
			       output, temp, backup);
}

gchar *
av1d_explain_format(const gchar *path,
		    const Av1dMediaInfo *info,
		    const Av1dDecision *decision,
		    const Av1dPlan *plan,
		    const gchar *const *argv,
		    const Av1dBackendParams *backend)
{
	GString *out = g_string_new(NULL);
	g_autofree gchar *display = g_filename_display_name(path);

	g_string_append_printf(out, _("File: %s\n"), display);
	if (info->size >= 0)
		g_string_append_printf(out,
				       g_dngettext(GETTEXT_PACKAGE, "Size: %" PRId64 " byte\n",
						   "Size: %" PRId64 " bytes\n", (gulong)info->size),
				       info->size);
	av1d_explain_append_probe(out, info);
	g_string_append_printf(out, _("Decision: %s\n"), decision->summary);
	av1d_explain_append_lines(out, _("Reasons:"), decision->reasons);
	/* Translators: %s is the source kind, a fixed English word (web, disc
	 * or unknown), then the web score (e.g. 0.50) */
	g_string_append_printf(out, _("Source kind: %s (web score %.2f)\n"),
			       av1d_source_kind_to_string(decision->source_kind),
			       decision->web_score);
	av1d_explain_append_lines(out, _("Web score:"), decision->web_reasons);
	if (plan != NULL)
		av1d_explain_append_plan(out, plan);
	if (argv != NULL) {
		g_autofree gchar *command = av1d_argv_to_display(argv);
		/* Translators: the encoder backend name (e.g. docker-qsv), then
		 * the command line */
		g_string_append_printf(out, _("Command (%s):\n  %s\n"),
				       av1d_encoder_kind_to_string(backend->kind), command);
	}
	return g_string_free(out, FALSE);
}

/* the decision, plan and argv for a probed file, as text */
static gchar *
av1d_explain_info(const Av1dConfig *config,
		  const Av1dBackendParams *backend,
		  const gchar *path,
		  const Av1dMediaInfo *info,
		  GError **error)
{
	g_autoptr(Av1dDecision) decision = NULL;
	g_autoptr(Av1dPlan) plan = NULL;
	g_auto(GStrv) argv = NULL;

	decision = av1d_classify(info, path, config);
	if (decision->action == AV1D_ACTION_ENCODE) {
		plan = av1d_plan_new(info, decision, path, config, error);
		if (plan == NULL)
			return NULL;
		argv = av1d_plan_build_argv(plan, decision, backend, error);
		if (argv == NULL)
			return NULL;
	}
	return av1d_explain_format(path, info, decision, plan, (const gchar *const *)argv, backend);
}

gchar *
av1d_explain_file_sync(const Av1dConfig *config,
		       const Av1dBackendParams *backend,
		       const gchar *path,
		       GError **error)
{
	g_autoptr(Av1dMediaInfo) info = NULL;

	info = av1d_probe_file_sync(config->ffprobe_bin, path, NULL, error);
	if (info == NULL)
		return NULL;
	return av1d_explain_info(config, backend, path, info, error);
}

/* the backend's strings are copied: the caller's may go before the probe
 * returns */
typedef struct {
	const Av1dConfig *config;
	Av1dBackendParams backend;
	gchar *render_node;
	gchar *docker_bin;
	gchar *docker_image;
	gchar *ffmpeg_bin;
	gchar *path;
} Av1dExplainData;

static void
av1d_explain_data_free(Av1dExplainData *data)
{
	av1d_config_unref(data->config);
	g_free(data->render_node);
	g_free(data->docker_bin);
	g_free(data->docker_image);
	g_free(data->ffmpeg_bin);
	g_free(data->path);
	g_free(data);
}

static Av1dExplainData *
av1d_explain_data_new(const Av1dConfig *config, const Av1dBackendParams *backend, const gchar *path)
{
	Av1dExplainData *data = g_new0(Av1dExplainData, 1);

	data->config = av1d_config_ref(config);
	data->backend = *backend;
	data->render_node = g_strdup(backend->render_node);
	data->docker_bin = g_strdup(backend->docker_bin);
	data->docker_image = g_strdup(backend->docker_image);
	data->ffmpeg_bin = g_strdup(backend->ffmpeg_bin);
	data->backend.render_node = data->render_node;
	data->backend.docker_bin = data->docker_bin;
	data->backend.docker_image = data->docker_image;
	data->backend.ffmpeg_bin = data->ffmpeg_bin;
	data->path = g_strdup(path);
	return data;
}

static void
av1d_explain_probe_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	Av1dExplainData *data = g_task_get_task_data(task);
	g_autoptr(Av1dMediaInfo) info = NULL;
	GError *error = NULL;
	gchar *text;

	info = av1d_probe_file_finish(result, &error);
	if (info == NULL) {
		g_task_return_error(task, error);
		return;
	}
	/* cancelled by a reload: the answer would follow the old config */
	if (g_cancellable_is_cancelled(g_task_get_cancellable(task))) {
		g_task_return_new_error(task, AV1D_ERROR, AV1D_ERROR_CANCELLED,
					_("explaining %s was cancelled"), data->path);
		return;
	}
	text = av1d_explain_info(data->config, &data->backend, data->path, info, &error);
	if (text == NULL)
		g_task_return_error(task, error);
	else
		g_task_return_pointer(task, text, g_free);
}

void
av1d_explain_file_async(const Av1dConfig *config,
			const Av1dBackendParams *backend,
			const gchar *path,
			GCancellable *cancellable,
			GAsyncReadyCallback callback,
			gpointer user_data)
{
	GTask *task = g_task_new(NULL, cancellable, callback, user_data);

	g_task_set_source_tag(task, av1d_explain_file_async);
	/* cancellation is reported in our own domain, like the probe's */
	g_task_set_check_cancellable(task, FALSE);
	g_task_set_task_data(task, av1d_explain_data_new(config, backend, path),
			     (GDestroyNotify)av1d_explain_data_free);
	av1d_probe_file_async(config->ffprobe_bin, path, cancellable, av1d_explain_probe_cb, task);
}

gchar *
av1d_explain_file_finish(GAsyncResult *result, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
	g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == av1d_explain_file_async,
			     NULL);

	return g_task_propagate_pointer(G_TASK(result), error);
}
