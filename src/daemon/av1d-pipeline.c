#define G_LOG_DOMAIN "av1d-pipeline"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "av1d-beneath.h"
#include "av1d-classify.h"
#include "av1d-error.h"
#include "av1d-fault.h"
#include "av1d-log.h"
#include "av1d-pipeline.h"
#include "av1d-probe.h"
#include "av1d-runner.h"
#include "av1d-sidecar.h"
#include "av1d-swap.h"
#include "av1d-verify.h"

typedef struct {
	Av1dPipelineContext context;
	Av1dJob *job;
	Av1dPipelineChangedFunc changed_func;
	gpointer changed_data;
	Av1dMediaInfo *info;
	Av1dDecision *decision;
	Av1dPlan *plan;
	Av1dRunner *runner;
	gulong progress_id;
	gint64 encode_started; /* monotonic µs */
	gchar *root;	       /* the library root that holds the source */
	int dir_fd;	       /* the source's folder, opened beneath root when the job began */
	gchar *source_name;    /* the source's name in dir_fd */
	int temp_fd;	       /* the job's private temp folder, -1 until created */
	gchar *temp_name;      /* its name in dir_fd */
} Av1dPipelineData;

static void
av1d_pipeline_data_free(Av1dPipelineData *data)
{
	if (data->runner != NULL && data->progress_id != 0)
		g_signal_handler_disconnect(data->runner, data->progress_id);
	g_clear_object(&data->runner);
	g_clear_pointer(&data->plan, av1d_plan_free);
	g_clear_pointer(&data->decision, av1d_decision_free);
	g_clear_pointer(&data->info, av1d_media_info_free);
	g_clear_pointer(&data->job, av1d_job_unref);
	if (data->dir_fd >= 0)
		close(data->dir_fd);
	if (data->temp_fd >= 0)
		close(data->temp_fd);
	av1d_config_unref(data->context.config);
	g_free(data->root);
	g_free(data->source_name);
	g_free(data->temp_name);
	g_free(data);
}

static void
av1d_pipeline_changed(Av1dPipelineData *data)
{
	if (data->changed_func != NULL)
		data->changed_func(data->job, data->changed_data);
}

/* the job file must say where we are before the step starts */
static void
av1d_pipeline_save(Av1dPipelineData *data)
{
	g_autoptr(GError) error = NULL;

	if (!av1d_job_store_save(data->context.store, data->job, &error))
		g_warning("cannot save job %" G_GUINT64_FORMAT ": %s", data->job->id,
			  error->message);
	av1d_pipeline_changed(data);
}

static void
av1d_pipeline_set_stage(Av1dPipelineData *data, Av1dJobStage stage)
{
	data->job->stage = stage;
	av1d_pipeline_save(data);
}

static void
av1d_pipeline_log_end(Av1dJob *job, const gchar *message_id, GLogLevelFlags level)
{
	g_autofree gchar *what = g_strdup_printf("%s%s%s", av1d_job_status_to_string(job->status),
						 job->reason != NULL ? ": " : "",
						 job->reason != NULL ? job->reason : "");

	av1d_log_job(G_LOG_DOMAIN, level, message_id, job, what);
}

static const gchar *const *
av1d_pipeline_roots(Av1dPipelineData *data)
{
	return (const gchar *const *)data->context.config->library_roots;
}

/* once per decision: the job ends once, and only a changed file or an
 * explicit retry makes a new decision */
static void
av1d_pipeline_write_why(Av1dPipelineData *data)
{
	g_autofree gchar *marker = av1d_sidecar_skip_path(data->job->source_path);
	g_autofree gchar *text =
	    av1d_sidecar_format_why(data->job, g_file_test(marker, G_FILE_TEST_EXISTS));
	g_autoptr(GError) error = NULL;

	if (!av1d_sidecar_write_why(av1d_pipeline_roots(data), data->job->source_path, text,
				    &error))
		g_info("job %" G_GUINT64_FORMAT ": no .why.txt: %s", data->job->id,
		       error->message);
}

/* ends the job (not the task) with @status and @reason */
static void
av1d_pipeline_finish_job(Av1dPipelineData *data, Av1dJobStatus status, const gchar *reason)
{
	g_autoptr(GError) error = NULL;

	av1d_job_set_reason(data->job, reason);
	data->job->eta_seconds = -1;
	if (!av1d_job_set_status(data->job, status, &error))
		g_critical("job %" G_GUINT64_FORMAT ": %s", data->job->id, error->message);
	if (status == AV1D_JOB_STATUS_SUCCESS)
		data->job->stage = AV1D_JOB_STAGE_DONE;
	av1d_pipeline_save(data);
	if (status == AV1D_JOB_STATUS_SKIPPED || status == AV1D_JOB_STATUS_FAILED)
		av1d_pipeline_write_why(data);
	switch (status) {
	case AV1D_JOB_STATUS_SUCCESS:
		av1d_pipeline_log_end(data->job, AV1D_MSG_JOB_FINISHED, G_LOG_LEVEL_INFO);
		break;
	case AV1D_JOB_STATUS_SKIPPED:
		av1d_pipeline_log_end(data->job, AV1D_MSG_JOB_SKIPPED, G_LOG_LEVEL_INFO);
		break;
	default:
		/* a failed job is an outcome, not a fault of the daemon: notice level */
		av1d_pipeline_log_end(data->job, AV1D_MSG_JOB_FAILED, G_LOG_LEVEL_MESSAGE);
		break;
	}
}

/* the job's private folder and what is in it; through the folder the job
 * opened, so a folder renamed meanwhile keeps no stray temp */
static void
av1d_pipeline_remove_temp(Av1dPipelineData *data)
{
	g_autoptr(GError) error = NULL;

	if (data->temp_name == NULL)
		return;
	if (data->temp_fd >= 0)
		close(data->temp_fd);
	data->temp_fd = -1;
	if (!av1d_beneath_remove_temp_dir(data->dir_fd, data->temp_name, &error))
		g_warning("job %" G_GUINT64_FORMAT ": %s", data->job->id, error->message);
	g_clear_pointer(&data->temp_name, g_free);
}

/* copy what the classifier found into the job, for explain, D-Bus and the TUI */
static void
av1d_pipeline_record_decision(Av1dJob *job, const Av1dDecision *decision)
{
	g_free(job->video_codec);
	job->video_codec = g_strdup(decision->video_codec);
	job->video_bitrate = decision->video_bitrate > 0 ? (guint64)decision->video_bitrate : 0;
	job->video_width = decision->width > 0 ? (guint)decision->width : 0;
	job->video_height = decision->height > 0 ? (guint)decision->height : 0;
	job->video_frame_rate = decision->frame_rate;
	job->av1_quality = decision->quality;
	job->source_bit_depth = decision->source_bit_depth;
	g_free(job->source_pix_fmt);
	job->source_pix_fmt = g_strdup(decision->source_pix_fmt);
	job->target_bit_depth = decision->target_bit_depth;
	g_free(job->av1_profile);
	job->av1_profile = g_strdup(decision->av1_profile);
	job->is_hdr = decision->is_hdr;
	job->is_web_like = decision->is_web_like;
	job->web_score = decision->web_score;
}

static void
av1d_pipeline_encode_cb(GObject *source, GAsyncResult *result, gpointer user_data);
static void
av1d_pipeline_verify_cb(GObject *source, GAsyncResult *result, gpointer user_data);

static gboolean
av1d_pipeline_is_cancelled(const GError *error)
{
	return g_error_matches(error, AV1D_ERROR, AV1D_ERROR_CANCELLED) ||
	       g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* the step failed: remove the temp, end the job, and end the task (with the
 * error only when it was a cancellation, which the caller must know of) */
static void
av1d_pipeline_fail(GTask *task_owned, GError *error)
{
	g_autoptr(GTask) task = task_owned;
	Av1dPipelineData *data = g_task_get_task_data(task);
	gboolean cancelled = av1d_pipeline_is_cancelled(error);

	av1d_pipeline_remove_temp(data);
	av1d_pipeline_finish_job(data,
				 cancelled ? AV1D_JOB_STATUS_CANCELLED : AV1D_JOB_STATUS_FAILED,
				 error->message);
	if (cancelled) {
		g_task_return_error(task, error);
		return;
	}
	g_error_free(error);
	g_task_return_boolean(task, TRUE);
}

/* SPEC 7.2: "rejected: new 3.41 GB vs orig 3.60 GB (94.7% > 90%)" */
static gchar *
av1d_pipeline_size_gate_reason(guint64 new_bytes, guint64 orig_bytes, gdouble max_ratio)
{
	g_autofree gchar *new_str = av1d_format_bytes(new_bytes);
	g_autofree gchar *orig_str = av1d_format_bytes(orig_bytes);
	gdouble ratio = orig_bytes > 0 ? (gdouble)new_bytes / (gdouble)orig_bytes : 1.0;

	/* Translators: the size of the new file, the size of the original,
	 * the ratio of the two in percent, then the configured limit in
	 * percent (max_size_ratio) */
	return g_strdup_printf(_("rejected: new %s vs orig %s (%.1f%% > %g%%)"), new_str, orig_str,
			       ratio * 100.0, max_ratio * 100.0);
}

static void
av1d_pipeline_swap_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	Av1dPipelineData *data = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *output_name = av1d_swap_output_name(data->source_name);
	g_autofree gchar *dir = g_path_get_dirname(data->job->source_path);
	Av1dFileIdentity output_identity;
	g_autofree gchar *reason = NULL;
	gdouble saved;

	/* every failed step put back what it changed: the job just fails */
	if (!av1d_swap_run_finish(result, &output_identity, &error)) {
		av1d_pipeline_fail(g_steal_pointer(&task), g_steal_pointer(&error));
		return;
	}
	av1d_pipeline_remove_temp(data);
	av1d_fault_point("swap-done");
	/* from now on the file is known by the output's identity, so that it is
	 * never encoded again, also after a rename */
	data->job->identity = output_identity;
	g_free(data->job->output_path);
	data->job->output_path = g_build_filename(dir, output_name, NULL);
	saved = 100.0 - 100.0 * (gdouble)data->job->new_bytes /
				(gdouble)MAX(data->job->original_bytes, 1);
	if (data->context.config->keep_backup)
		reason = g_strdup_printf(
		    g_dngettext(GETTEXT_PACKAGE,
				/* Translators: the percentage saved, the original
				 * size in bytes, then the new size in bytes */
				"saved %.1f%%: %" PRIu64 " -> %" PRIu64
				" byte; original kept as backup",
				"saved %.1f%%: %" PRIu64 " -> %" PRIu64
				" bytes; original kept as backup",
				(gulong)data->job->new_bytes),
		    saved, data->job->original_bytes, data->job->new_bytes);
	else
		reason = g_strdup_printf(
		    g_dngettext(GETTEXT_PACKAGE,
				/* Translators: the percentage saved, the original
				 * size in bytes, then the new size in bytes */
				"saved %.1f%%: %" PRIu64 " -> %" PRIu64 " byte",
				"saved %.1f%%: %" PRIu64 " -> %" PRIu64 " bytes",
				(gulong)data->job->new_bytes),
		    saved, data->job->original_bytes, data->job->new_bytes);
	av1d_pipeline_finish_job(data, AV1D_JOB_STATUS_SUCCESS, reason);
	av1d_pipeline_log_end(data->job, AV1D_MSG_JOB_SWAPPED, G_LOG_LEVEL_INFO);
	g_task_return_boolean(task, TRUE);
}

/* the marker rule holds up to the swap: one written during the encode
 * (by the user, `av1d skip` or another program) ends the job untouched */
static gboolean
av1d_pipeline_is_marked(Av1dPipelineData *data)
{
	return av1d_sidecar_is_skipped(data->job->source_path, data->root);
}

static void
av1d_pipeline_start_swap(GTask *task_owned)
{
	g_autoptr(GTask) task = task_owned;
	Av1dPipelineData *data = g_task_get_task_data(task);
	g_autoptr(Av1dSwapRequest) req = NULL;
	g_autoptr(GError) error = NULL;

	if (av1d_pipeline_is_marked(data)) {
		av1d_pipeline_remove_temp(data);
		av1d_pipeline_finish_job(data, AV1D_JOB_STATUS_SKIPPED,
					 _("marked with .av1skip during the encode"));
		g_task_return_boolean(task, TRUE);
		return;
	}
	/* what the swap may put in place, and recovery roll forward to */
	if (!av1d_beneath_identity(data->temp_fd, AV1D_TEMP_OUTPUT, &data->job->output_identity,
				   &error)) {
		av1d_pipeline_fail(g_steal_pointer(&task), g_steal_pointer(&error));
		return;
	}
	req = av1d_swap_request_new(data->root, data->job->source_path, data->dir_fd,
				    data->temp_fd, &data->job->identity,
				    &data->job->output_identity,
				    data->context.config->keep_backup);
	/* recorded (and fsync'ed) before the first step, for recovery */
	av1d_pipeline_set_stage(data, AV1D_JOB_STAGE_SWAPPING);
	av1d_fault_point("pipeline-swapping");
	av1d_swap_run_async(req, av1d_pipeline_swap_cb, g_steal_pointer(&task));
}

static void
av1d_pipeline_reject_size(GTask *task_owned)
{
	g_autoptr(GTask) task = task_owned;
	Av1dPipelineData *data = g_task_get_task_data(task);
	g_autofree gchar *reason = av1d_pipeline_size_gate_reason(
	    data->job->new_bytes, data->job->original_bytes, data->context.config->max_size_ratio);
	g_autoptr(GError) error = NULL;

	av1d_pipeline_remove_temp(data);
	if (!av1d_sidecar_write_skip(av1d_pipeline_roots(data), data->job->source_path, reason,
				     &error))
		g_warning("cannot write .av1skip for %s: %s", data->job->source_path,
			  error->message);
	av1d_pipeline_finish_job(data, AV1D_JOB_STATUS_SKIPPED, reason);
	g_task_return_boolean(task, TRUE);
}

static void
av1d_pipeline_verify_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	Av1dPipelineData *data = g_task_get_task_data(task);
	GError *error = NULL;

	if (!av1d_verify_finish(result, &error)) {
		av1d_pipeline_fail(g_steal_pointer(&task), error);
		return;
	}
	if ((gdouble)data->job->new_bytes >
	    (gdouble)data->job->original_bytes * data->context.config->max_size_ratio) {
		av1d_pipeline_reject_size(g_steal_pointer(&task));
		return;
	}
	av1d_pipeline_start_swap(g_steal_pointer(&task));
}

static void
av1d_pipeline_progress_cb(Av1dRunner *runner, gpointer user_data)
{
	Av1dPipelineData *data = user_data;

	data->job->progress = av1d_runner_get_progress(runner);
	data->job->fps = av1d_runner_get_fps(runner);
	data->job->eta_seconds = av1d_runner_get_eta_seconds(runner);
	av1d_pipeline_changed(data);
}

/* SPEC 7: a folder only this job writes in, so that nobody can plant a
 * symlink where the encoder writes and two sources of one stem never share
 * a temp; made through the folder the job opened, never through a path */
static gboolean
av1d_pipeline_make_temp(Av1dPipelineData *data, GError **error)
{
	g_autofree gchar *prefix =
		g_strdup_printf(AV1D_TEMP_DIR_PREFIX "%" G_GUINT64_FORMAT "-", data->job->id);
	g_autofree gchar *dir = g_path_get_dirname(data->job->source_path);
	g_autofree gchar *temp_dir = NULL;

	/* a folder left by an earlier crash of this job goes first */
	av1d_beneath_remove_job_temp_dirs(data->dir_fd, data->job->id);
	data->temp_fd = av1d_beneath_make_temp_dir(data->dir_fd, prefix, &data->temp_name, error);
	if (data->temp_fd < 0)
		return FALSE;
	temp_dir = g_build_filename(dir, data->temp_name, NULL);
	av1d_plan_set_temp_dir(data->plan, temp_dir);
	return TRUE;
}

static void
av1d_pipeline_start_encode(GTask *task)
{
	Av1dPipelineData *data = g_task_get_task_data(task);
	const Av1dPipelineContext *ctx = &data->context;
	Av1dBackendParams backend = ctx->backend;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) argv = NULL;
	g_autofree gchar *display = NULL;

	/* the container is named after the job: av1d-<id> */
	backend.job_id = data->job->id;
	if (!av1d_pipeline_make_temp(data, &error) ||
	    (argv = av1d_plan_build_argv(data->plan, data->decision, &backend, &error)) == NULL) {
		av1d_pipeline_remove_temp(data);
		av1d_pipeline_finish_job(data, AV1D_JOB_STATUS_FAILED, error->message);
		g_task_return_boolean(task, TRUE);
		return;
	}
	av1d_job_set_argv(data->job, (const gchar *const *)argv);
	g_free(data->job->output_path);
	data->job->output_path = g_strdup(data->plan->output_path);
	g_free(data->job->encoder);
	data->job->encoder = g_strdup(av1d_encoder_kind_to_string(ctx->backend.kind));
	av1d_pipeline_set_stage(data, AV1D_JOB_STAGE_ENCODING);

	data->runner = av1d_runner_new((const gchar *const *)argv, data->info->duration_us,
				       data->job->original_bytes);
	if (ctx->backend.kind == AV1D_ENCODER_KIND_DOCKER_QSV) {
		g_autofree gchar *name =
		    g_strdup_printf("av1d-%" G_GUINT64_FORMAT, data->job->id);
		av1d_runner_set_container(data->runner, ctx->backend.docker_bin, name);
	}
	av1d_runner_set_max_projected_bytes(
	    data->runner, (guint64)((gdouble)data->job->original_bytes * ctx->config->max_size_ratio));
	data->progress_id = g_signal_connect(data->runner, "progress",
					     G_CALLBACK(av1d_pipeline_progress_cb), data);
	display = av1d_argv_to_display((const gchar *const *)argv);
	g_info("job %" G_GUINT64_FORMAT ": encoding with %s: %s", data->job->id,
	       av1d_encoder_kind_to_string(ctx->backend.kind), display);
	data->encode_started = g_get_monotonic_time();
	av1d_runner_start(data->runner, g_task_get_cancellable(task), av1d_pipeline_encode_cb,
			  task);
}

static void
av1d_pipeline_encode_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	Av1dPipelineData *data = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *temp = g_strdup(data->plan->temp_path);
	g_autofree gchar *reason = NULL;
	g_autofree gchar *stderr_tail = NULL;
	GCancellable *cancellable;
	struct stat st;

	av1d_fault_point("pipeline-encoded");
	g_info("job %" G_GUINT64_FORMAT ": encoder ran for %" G_GINT64_FORMAT " ms", data->job->id,
	       (g_get_monotonic_time() - data->encode_started) / 1000);
	if (!av1d_runner_finish(data->runner, result, &error)) {
		if (av1d_runner_was_aborted_for_size(data->runner)) {
			g_autoptr(GError) marker_error = NULL;
			av1d_pipeline_remove_temp(data);
			if (!av1d_sidecar_write_skip(av1d_pipeline_roots(data),
						     data->job->source_path, error->message,
						     &marker_error))
				g_warning("cannot write .av1skip: %s", marker_error->message);
			av1d_pipeline_finish_job(data, AV1D_JOB_STATUS_SKIPPED, error->message);
			g_task_return_boolean(task, TRUE);
			return;
		}
		av1d_pipeline_fail(g_steal_pointer(&task), g_steal_pointer(&error));
		return;
	}
	/* ffmpeg may exit 0 after a failed write (e.g. of the trailer); a full
	 * disk must be reported as such, not as a broken file */
	stderr_tail = av1d_runner_get_stderr_tail(data->runner);
	if (stderr_tail != NULL && strstr(stderr_tail, "No space left on device") != NULL) {
		av1d_pipeline_fail(g_steal_pointer(&task),
				   g_error_new(AV1D_ERROR, AV1D_ERROR_NO_SPACE,
					       /* Translators: %s is the temporary output
						* file */
					       _("No space left on device while writing %s"),
					       temp));
		return;
	}
	if (fstatat(data->temp_fd, AV1D_TEMP_OUTPUT, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISREG(st.st_mode)) {
		/* Translators: the temporary output file, then the system's error */
		reason = g_strdup_printf(_("encoder finished but wrote no output %s: %s"), temp,
					 g_strerror(errno));
		av1d_pipeline_remove_temp(data);
		av1d_pipeline_finish_job(data, AV1D_JOB_STATUS_FAILED, reason);
		g_task_return_boolean(task, TRUE);
		return;
	}
	data->job->new_bytes = (guint64)st.st_size;
	data->job->progress = 1.0;
	av1d_pipeline_set_stage(data, AV1D_JOB_STAGE_VERIFYING);
	av1d_fault_point("pipeline-verifying");
	cancellable = g_task_get_cancellable(task);
	av1d_verify_async(data->context.config, temp, data->info, data->plan, data->decision,
			  cancellable, av1d_pipeline_verify_cb, g_steal_pointer(&task));
}

static void
av1d_pipeline_probe_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	Av1dPipelineData *data = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;

	data->info = av1d_probe_file_finish(result, &error);
	if (data->info == NULL) {
		av1d_pipeline_fail(g_steal_pointer(&task), g_steal_pointer(&error));
		return;
	}
	data->decision = av1d_classify(data->info, data->job->source_path, data->context.config);
	av1d_pipeline_record_decision(data->job, data->decision);
	if (data->decision->action == AV1D_ACTION_SKIP) {
		av1d_pipeline_finish_job(data, AV1D_JOB_STATUS_SKIPPED,
					 data->decision->skip_reason);
		g_task_return_boolean(task, TRUE);
		return;
	}
	data->plan = av1d_plan_new(data->info, data->decision, data->job->source_path,
				   data->context.config, &error);
	if (data->plan == NULL) {
		av1d_pipeline_finish_job(data, AV1D_JOB_STATUS_FAILED, error->message);
		g_task_return_boolean(task, TRUE);
		return;
	}
	av1d_pipeline_start_encode(g_steal_pointer(&task));
}

/* the file as the job starts on it: reached beneath its root without a
 * symlink (a folder replaced by one while the job waited is refused), a
 * regular file; *skip says why it must not be encoded at all */
static gboolean
av1d_pipeline_open_source(Av1dPipelineData *data, const gchar **skip, GError **error)
{
	Av1dJob *job = data->job;
	struct stat st;

	data->root = g_strdup(av1d_beneath_find_root(av1d_pipeline_roots(data), job->source_path));
	data->dir_fd = av1d_beneath_open_parent(av1d_pipeline_roots(data), job->source_path,
						&data->source_name, error);
	if (data->dir_fd < 0 ||
	    !av1d_beneath_identity(data->dir_fd, data->source_name, &job->identity, error))
		return FALSE;
	if (fstatat(data->dir_fd, data->source_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_nlink > 1)
		/* SPEC 7.4: a torrent client may still seed the other name */
		*skip = N_("the file has other hard links: replacing this name frees no space, "
			   "and the other names would no longer show the same file");
	else if (av1d_pipeline_is_marked(data))
		*skip = N_("marked with .av1skip");
	return TRUE;
}

/* status running, stage probing, and the file's identity as we start */
static gboolean
av1d_pipeline_begin(Av1dPipelineData *data, const gchar **skip, GError **error)
{
	Av1dJob *job = data->job;

	if (!av1d_pipeline_open_source(data, skip, error))
		return FALSE;
	job->original_bytes = job->identity.size;
	job->new_bytes = 0;
	job->progress = 0.0;
	job->fps = 0.0;
	memset(&job->output_identity, 0, sizeof job->output_identity);
	if (!av1d_job_set_status(job, AV1D_JOB_STATUS_RUNNING, error))
		return FALSE;
	if (*skip != NULL)
		return TRUE;
	job->stage = AV1D_JOB_STAGE_PROBING;
	av1d_pipeline_save(data);
	av1d_log_job(G_LOG_DOMAIN, G_LOG_LEVEL_INFO, AV1D_MSG_JOB_STARTED, job, "started");
	av1d_fault_point("pipeline-probing");
	return TRUE;
}

void
av1d_pipeline_run_async(const Av1dPipelineContext *context,
			Av1dJob *job,
			GCancellable *cancellable,
			Av1dPipelineChangedFunc changed_func,
			gpointer changed_data,
			GAsyncReadyCallback callback,
			gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(NULL, cancellable, callback, user_data);
	Av1dPipelineData *data = g_new0(Av1dPipelineData, 1);
	g_autoptr(GError) error = NULL;
	const gchar *skip = NULL;

	data->context = *context;
	/* the job runs to its end with the config it started with */
	data->context.config = av1d_config_ref(context->config);
	data->job = av1d_job_ref(job);
	data->changed_func = changed_func;
	data->changed_data = changed_data;
	data->dir_fd = -1;
	data->temp_fd = -1;
	g_task_set_task_data(task, data, (GDestroyNotify)av1d_pipeline_data_free);
	g_task_set_source_tag(task, av1d_pipeline_run_async);

	if (!av1d_pipeline_begin(data, &skip, &error)) {
		/* Translators: %s says why the job could not start */
		g_autofree gchar *reason = g_strdup_printf(_("cannot start: %s"), error->message);
		if (job->status == AV1D_JOB_STATUS_PENDING)
			av1d_job_set_status(job, AV1D_JOB_STATUS_RUNNING, NULL);
		av1d_pipeline_finish_job(data, AV1D_JOB_STATUS_FAILED, reason);
		g_task_return_boolean(task, TRUE);
		return;
	}
	if (skip != NULL) {
		av1d_pipeline_finish_job(data, AV1D_JOB_STATUS_SKIPPED, skip);
		g_task_return_boolean(task, TRUE);
		return;
	}
	av1d_probe_file_async(context->config->ffprobe_bin, job->source_path, cancellable,
			      av1d_pipeline_probe_cb, g_steal_pointer(&task));
}

gboolean
av1d_pipeline_run_finish(GAsyncResult *result, GError **error)
{
	return g_task_propagate_boolean(G_TASK(result), error);
}
