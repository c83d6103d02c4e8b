#define G_LOG_DOMAIN "av1d-manager"

#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>

#include "av1d-beneath.h"
#include "av1d-candidate.h"
#include "av1d-encoder.h"
#include "av1d-error.h"
#include "av1d-log.h"
#include "av1d-sidecar.h"
#include "av1d-stable.h"
#include "av1d-swap.h"
#include "av1d-watcher.h"
#include "av1d-manager.h"
#include "av1d-pipeline.h"

struct _Av1dManager {
	GObject parent_instance;
	const Av1dConfig *config;
	Av1dJobStore *store;
	Av1dBackendParams *backend; /* owns its strings */
	GQueue pending;		/* Av1dJob*, ref'd, in order */
	GHashTable *running;	/* id (guint64*) -> GCancellable* */
	gboolean paused;
	gboolean stopping; /* cancel_all() was called: interrupted jobs stay queued */
	GHashTable *requeue_ids; /* ids (guint64*) to queue again once cancelled */
	guint idle_id;
	Av1dWatcher *watcher; /* NULL with --once */
	Av1dStableGate *gate;
	gint64 crawl_started; /* monotonic µs, for the log */
};

G_DEFINE_TYPE(Av1dManager, av1d_manager, G_TYPE_OBJECT)

enum { SIGNAL_JOB_CHANGED, SIGNAL_JOB_FINISHED, SIGNAL_IDLE, SIGNAL_CRAWL_FINISHED, SIGNAL_LAST };
static guint signals[SIGNAL_LAST] = {0};

static void
av1d_manager_pump(Av1dManager *self);

static void
av1d_manager_job_changed_cb(Av1dJob *job, gpointer user_data)
{
	Av1dManager *self = AV1D_MANAGER(user_data);

	g_signal_emit(self, signals[SIGNAL_JOB_CHANGED], 0, job);
}

static gboolean
av1d_manager_emit_idle_cb(gpointer user_data)
{
	Av1dManager *self = AV1D_MANAGER(user_data);

	self->idle_id = 0;
	if (av1d_manager_is_idle(self))
		g_signal_emit(self, signals[SIGNAL_IDLE], 0);
	return G_SOURCE_REMOVE;
}

/* idle is announced from the main loop, never from inside a call that
 * queued or finished a job */
static void
av1d_manager_schedule_idle_check(Av1dManager *self)
{
	if (self->idle_id == 0)
		self->idle_id = g_idle_add_full(G_PRIORITY_LOW, av1d_manager_emit_idle_cb,
						g_object_ref(self), g_object_unref);
}

/* a job stopped by the daemon's own shutdown runs again on the next start */
static void
av1d_manager_mark_interrupted(Av1dManager *self, Av1dJob *job)
{
	g_autoptr(GError) error = NULL;

	if (!av1d_job_set_status(job, AV1D_JOB_STATUS_PENDING, &error)) {
		g_warning("job %" G_GUINT64_FORMAT ": %s", job->id, error->message);
		return;
	}
	job->stage = AV1D_JOB_STAGE_QUEUED;
	av1d_job_set_reason(job, self->stopping
				     ? _("interrupted by a daemon stop; queued again")
				     : _("interrupted (the file was renamed); queued again"));
	if (!av1d_job_store_save(self->store, job, &error))
		g_warning("job %" G_GUINT64_FORMAT ": %s", job->id, error->message);
}

typedef struct {
	Av1dManager *manager;
	Av1dJob *job;
} Av1dManagerRun;

static void
av1d_manager_pipeline_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	Av1dManagerRun *run = user_data;
	Av1dManager *self = run->manager;
	g_autoptr(GError) error = NULL;

	if (!av1d_pipeline_run_finish(result, &error)) {
		g_info("job %" G_GUINT64_FORMAT ": %s", run->job->id, error->message);
		if (self->stopping || g_hash_table_contains(self->requeue_ids, &run->job->id))
			av1d_manager_mark_interrupted(self, run->job);
	}
	g_hash_table_remove(self->running, &run->job->id);
	if (g_hash_table_remove(self->requeue_ids, &run->job->id) && !self->stopping &&
	    run->job->status == AV1D_JOB_STATUS_PENDING)
		g_queue_push_tail(&self->pending, av1d_job_ref(run->job));
	g_signal_emit(self, signals[SIGNAL_JOB_FINISHED], 0, run->job);
	av1d_job_unref(run->job);
	g_free(run);
	av1d_manager_pump(self);
	av1d_manager_schedule_idle_check(self);
	g_object_unref(self);
}

static void
av1d_manager_start_job(Av1dManager *self, Av1dJob *job)
{
	Av1dPipelineContext context = {
	    .config = self->config,
	    .store = self->store,
	    .backend = *self->backend,
	};
	GCancellable *cancellable = g_cancellable_new();
	Av1dManagerRun *run = g_new0(Av1dManagerRun, 1);

	run->manager = g_object_ref(self);
	run->job = job; /* takes the queue's ref */
	g_hash_table_insert(self->running, g_memdup2(&job->id, sizeof(job->id)), cancellable);
	av1d_pipeline_run_async(&context, job, cancellable, av1d_manager_job_changed_cb, self,
				av1d_manager_pipeline_cb, run);
}

static void
av1d_manager_pump(Av1dManager *self)
{
	while (!self->paused && !g_queue_is_empty(&self->pending) &&
	       g_hash_table_size(self->running) < self->config->max_concurrent_jobs)
		av1d_manager_start_job(self, g_queue_pop_head(&self->pending));
	if (av1d_manager_is_idle(self))
		av1d_manager_schedule_idle_check(self);
}

static gboolean
av1d_manager_is_queued(Av1dManager *self, guint64 id)
{
	for (GList *l = self->pending.head; l != NULL; l = l->next) {
		if (((Av1dJob *)l->data)->id == id)
			return TRUE;
	}
	return g_hash_table_contains(self->running, &id);
}

/* the job the store already has for this file, looked up by identity first
 * so that a renamed file is still recognised */
static Av1dJob *
av1d_manager_find_job(Av1dManager *self, const gchar *path, const Av1dFileIdentity *identity)
{
	Av1dJob *job = av1d_job_store_lookup_by_identity(self->store, identity);

	if (job != NULL)
		return job;
	job = av1d_job_store_lookup_by_path(self->store, path);
	if (job != NULL && av1d_file_identity_equal(&job->identity, identity))
		return job;
	/* a job for an older file of the same name: only reuse it while it has
	 * not ended, so that the history of the old file stays as it was */
	if (job != NULL && !av1d_job_is_finished(job))
		return job;
	return NULL;
}

static gboolean
av1d_manager_job_blocks_requeue(Av1dJob *job, GError **error)
{
	switch (job->status) {
	case AV1D_JOB_STATUS_SUCCESS:
	case AV1D_JOB_STATUS_SKIPPED:
	case AV1D_JOB_STATUS_FAILED:
	case AV1D_JOB_STATUS_CANCELLED:
		/* failures are not retried by themselves, or a broken file would
		 * be re-encoded on every scan: Retry is explicit */
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE,
			    "job %" G_GUINT64_FORMAT " for this file already ended: %s%s%s",
			    job->id, av1d_job_status_to_string(job->status),
			    job->reason != NULL ? ": " : "", job->reason != NULL ? job->reason : "");
		return TRUE;
	default:
		return FALSE;
	}
}

Av1dJob *
av1d_manager_enqueue(Av1dManager *self, const gchar *path, GError **error)
{
	Av1dFileIdentity identity;
	Av1dJob *job;

	if (!av1d_file_identity_from_path(path, &identity, error))
		return NULL;
	job = av1d_manager_find_job(self, path, &identity);
	if (job != NULL) {
		if (av1d_manager_is_queued(self, job->id))
			return job;
		if (av1d_manager_job_blocks_requeue(job, error))
			return NULL;
		if (g_strcmp0(job->source_path, path) != 0)
			av1d_job_store_set_source_path(self->store, job, path);
	} else {
		job = av1d_job_store_create_job(self->store, path, error);
		if (job == NULL)
			return NULL;
		job->identity = identity;
		job->original_bytes = identity.size;
		if (!av1d_job_store_save(self->store, job, error))
			return NULL;
	}
	g_queue_push_tail(&self->pending, av1d_job_ref(job));
	g_signal_emit(self, signals[SIGNAL_JOB_CHANGED], 0, job);
	av1d_manager_pump(self);
	return job;
}

static void
av1d_manager_recovered(Av1dManager *self, Av1dJob *job, Av1dJobStatus status, const gchar *reason)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *what = NULL;

	av1d_job_set_stage(job, status == AV1D_JOB_STATUS_SUCCESS ? AV1D_JOB_STAGE_DONE
								   : AV1D_JOB_STAGE_QUEUED);
	av1d_job_set_status(job, status, NULL);
	av1d_job_set_reason(job, reason);
	if (!av1d_job_store_save(self->store, job, &error))
		g_warning("job %" G_GUINT64_FORMAT ": %s", job->id, error->message);
	what = g_strdup_printf("recovered: %s", job->reason);
	av1d_log_job(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, AV1D_MSG_JOB_RECOVERED, job, what);
}

/* the swap was completed: the file is now known by the encode's identity */
static void
av1d_manager_rolled_forward(Av1dManager *self, Av1dJob *job, int dir_fd, const gchar *reason)
{
	g_autofree gchar *name = g_path_get_basename(job->source_path);
	g_autofree gchar *output_name = av1d_swap_output_name(name);
	g_autofree gchar *dir = g_path_get_dirname(job->source_path);
	Av1dFileIdentity output_identity;

	if (av1d_beneath_identity(dir_fd, output_name, &output_identity, NULL)) {
		job->identity = output_identity;
		job->new_bytes = output_identity.size;
	}
	g_free(job->output_path);
	job->output_path = g_build_filename(dir, output_name, NULL);
	av1d_manager_recovered(self, job, AV1D_JOB_STATUS_SUCCESS, reason);
}

/* the source's name holds another file than the job's: the job is
 * forgotten, and the crawl finds that file as a new one */
static void
av1d_manager_forget_job(Av1dManager *self, Av1dJob *job, const gchar *reason)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *what = g_strdup_printf("recovered: %s; the job is forgotten", reason);

	av1d_log_job(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, AV1D_MSG_JOB_RECOVERED, job, what);
	if (!av1d_job_store_remove(self->store, job->id, &error))
		g_warning("job %" G_GUINT64_FORMAT ": %s", job->id, error->message);
}

/* SPEC 7.6: a job a crash left running is recovered by the stage it
 * recorded, in its folder reached beneath its root without a symlink (a
 * folder replaced by one while av1d was down is not touched). Returns TRUE
 * when the job is to run again */
static gboolean
av1d_manager_recover_job(Av1dManager *self, Av1dJob *job)
{
	g_autofree gchar *name = NULL;
	g_autofree gchar *reason = NULL;
	g_autoptr(GError) error = NULL;
	Av1dRecovery recovery;
	int dir_fd = av1d_beneath_open_parent((const gchar *const *)self->config->library_roots,
					      job->source_path, &name, &error);

	if (dir_fd < 0) {
		/* Translators: %s says why the job's folder cannot be reached */
		reason = g_strdup_printf(_("recovery: %s; nothing was touched"), error->message);
		av1d_manager_recovered(self, job, AV1D_JOB_STATUS_FAILED, reason);
		return FALSE;
	}
	recovery = av1d_swap_recover(dir_fd, job->id, name, &job->identity, &job->output_identity,
				     job->stage == AV1D_JOB_STAGE_SWAPPING,
				     self->config->keep_backup, &reason);
	switch (recovery) {
	case AV1D_RECOVERY_ROLLED_FORWARD:
		av1d_manager_rolled_forward(self, job, dir_fd, reason);
		break;
	case AV1D_RECOVERY_SOURCE_KEPT:
		av1d_manager_recovered(self, job, AV1D_JOB_STATUS_PENDING, reason);
		break;
	case AV1D_RECOVERY_ORIGINAL_AS_BACKUP:
		av1d_manager_recovered(self, job, AV1D_JOB_STATUS_FAILED, reason);
		break;
	case AV1D_RECOVERY_SOURCE_CHANGED:
	default:
		av1d_manager_forget_job(self, job, reason);
		break;
	}
	close(dir_fd);
	return recovery == AV1D_RECOVERY_SOURCE_KEPT;
}

/* a daemon killed while it encoded leaves its container running, writing
 * into the temp file that recovery is about to remove: stop it first */
static void
av1d_manager_remove_orphans(Av1dManager *self)
{
	const gchar *docker;
	g_autoptr(GPtrArray) removed = NULL;
	g_autoptr(GError) error = NULL;

	if (self->backend->kind != AV1D_ENCODER_KIND_DOCKER_QSV)
		return;
	docker = self->backend->docker_bin != NULL ? self->backend->docker_bin : "docker";
	if (!av1d_encoder_remove_orphans(docker, self->backend->instance,
					 AV1D_ENCODER_PROBE_TIMEOUT_MS, NULL, &removed,
					 &error)) {
		g_warning("cannot remove containers left by an earlier run: %s", error->message);
		return;
	}
	for (guint i = 0; i < removed->len; i++)
		g_message("removed container %s, left behind by an earlier run of av1d",
			  (const gchar *)g_ptr_array_index(removed, i));
}

void
av1d_manager_requeue_unfinished(Av1dManager *self)
{
	g_autoptr(GPtrArray) jobs = av1d_job_store_get_jobs(self->store);

	av1d_manager_remove_orphans(self);

	for (guint i = 0; i < jobs->len; i++) {
		Av1dJob *job = g_ptr_array_index(jobs, i);

		if (av1d_job_is_finished(job) || av1d_manager_is_queued(self, job->id))
			continue;
		if (job->status == AV1D_JOB_STATUS_RUNNING && !av1d_manager_recover_job(self, job))
			continue;
		job->stage = AV1D_JOB_STAGE_QUEUED;
		g_info("job %" G_GUINT64_FORMAT ": re-queued after a restart", job->id);
		g_queue_push_tail(&self->pending, av1d_job_ref(job));
	}
	av1d_manager_pump(self);
	av1d_manager_schedule_idle_check(self);
}

/* an explicit second chance for a job that ended failed, skipped or
 * cancelled; it runs again from the start, on the file as it is now */
gboolean
av1d_manager_retry(Av1dManager *self, guint64 id, GError **error)
{
	Av1dJob *job = av1d_job_store_lookup(self->store, id);

	if (job == NULL) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_NOT_FOUND, "no job %" G_GUINT64_FORMAT,
			    id);
		return FALSE;
	}
	if (job->status != AV1D_JOB_STATUS_FAILED && job->status != AV1D_JOB_STATUS_SKIPPED &&
	    job->status != AV1D_JOB_STATUS_CANCELLED) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE,
			    "job %" G_GUINT64_FORMAT " is %s; only failed, skipped or cancelled "
			    "jobs can be retried",
			    id, av1d_job_status_to_string(job->status));
		return FALSE;
	}
	if (!av1d_job_set_status(job, AV1D_JOB_STATUS_PENDING, error))
		return FALSE;
	job->stage = AV1D_JOB_STAGE_QUEUED;
	av1d_job_set_reason(job, _("retry requested"));
	if (!av1d_job_store_save(self->store, job, error))
		return FALSE;
	g_queue_push_tail(&self->pending, av1d_job_ref(job));
	g_signal_emit(self, signals[SIGNAL_JOB_CHANGED], 0, job);
	av1d_manager_pump(self);
	return TRUE;
}

gboolean
av1d_manager_cancel(Av1dManager *self, guint64 id, GError **error)
{
	GCancellable *cancellable = g_hash_table_lookup(self->running, &id);

	if (cancellable != NULL) {
		g_cancellable_cancel(cancellable);
		return TRUE;
	}
	for (GList *l = self->pending.head; l != NULL; l = l->next) {
		Av1dJob *job = l->data;
		if (job->id != id)
			continue;
		g_queue_delete_link(&self->pending, l);
		av1d_job_set_status(job, AV1D_JOB_STATUS_CANCELLED, NULL);
		av1d_job_set_reason(job, _("cancelled before it started"));
		if (!av1d_job_store_save(self->store, job, error)) {
			av1d_job_unref(job);
			return FALSE;
		}
		g_signal_emit(self, signals[SIGNAL_JOB_CHANGED], 0, job);
		av1d_job_unref(job);
		av1d_manager_schedule_idle_check(self);
		return TRUE;
	}
	g_set_error(error, AV1D_ERROR, AV1D_ERROR_NOT_FOUND,
		    "no queued or running job %" G_GUINT64_FORMAT, id);
	return FALSE;
}

/* SPEC 7.5: a marker cancels the queued or running jobs on @path, or
 * anywhere below it for a folder */
void
av1d_manager_cancel_marked(Av1dManager *self, const gchar *path)
{
	g_autoptr(GPtrArray) jobs = NULL;
	g_autofree gchar *prefix = NULL;
	Av1dJob *job;
	struct stat st;

	if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		job = av1d_job_store_lookup_by_path(self->store, path);
		if (job != NULL && !av1d_job_is_finished(job) &&
		    av1d_manager_cancel(self, job->id, NULL))
			g_info("job %" G_GUINT64_FORMAT ": cancelled: %s was marked with .av1skip",
			       job->id, path);
		return;
	}
	prefix = g_str_has_suffix(path, G_DIR_SEPARATOR_S) ? g_strdup(path)
							   : g_strconcat(path, G_DIR_SEPARATOR_S, NULL);
	jobs = av1d_job_store_get_jobs(self->store);
	for (guint i = 0; i < jobs->len; i++) {
		job = g_ptr_array_index(jobs, i);
		if (!av1d_job_is_finished(job) && g_str_has_prefix(job->source_path, prefix) &&
		    av1d_manager_cancel(self, job->id, NULL))
			g_info("job %" G_GUINT64_FORMAT ": cancelled: %s was marked with .av1skip",
			       job->id, path);
	}
}

void
av1d_manager_remove_stale_temp(Av1dManager *self, const gchar *path)
{
	g_autofree gchar *name = NULL;
	g_autoptr(GError) error = NULL;
	guint64 id = 0;
	int dir_fd;

	dir_fd = av1d_beneath_open_parent((const gchar *const *)self->config->library_roots, path,
					  &name, &error);
	if (dir_fd < 0) {
		g_debug("not removing %s: %s", path, error->message);
		return;
	}
	if (av1d_sidecar_parse_temp_dir(name, &id) && !g_hash_table_contains(self->running, &id)) {
		if (av1d_beneath_remove_temp_dir(dir_fd, name, &error))
			g_message("removed %s, left behind by job %" G_GUINT64_FORMAT
				  " of an earlier run",
				  path, id);
		else
			g_warning("cannot remove %s: %s", path, error->message);
	}
	close(dir_fd);
}

static void
av1d_manager_temp_found_cb(Av1dWatcher *watcher, const gchar *path, gpointer user_data)
{
	av1d_manager_remove_stale_temp(AV1D_MANAGER(user_data), path);
}

static void
av1d_manager_marker_added_cb(Av1dWatcher *watcher, const gchar *path, gpointer user_data)
{
	av1d_manager_cancel_marked(AV1D_MANAGER(user_data), path);
}

/* stopping the daemon: running encodes are stopped (their temps removed by
 * the pipeline); queued jobs stay pending in the store for the next start */
void
av1d_manager_cancel_all(Av1dManager *self)
{
	GHashTableIter iter;
	gpointer value;

	self->stopping = TRUE;
	g_queue_clear_full(&self->pending, (GDestroyNotify)av1d_job_unref);
	g_hash_table_iter_init(&iter, self->running);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		g_cancellable_cancel(G_CANCELLABLE(value));
}

/* the shutdown both the daemon and --once need: the pipeline's clean-up
 * (temp removed, container killed, job left pending) runs on the main loop,
 * so it is iterated until the last encode has let go */
void
av1d_manager_stop(Av1dManager *self)
{
	av1d_manager_cancel_all(self);
	while (!av1d_manager_is_idle(self))
		g_main_context_iteration(g_main_context_get_thread_default(), TRUE);
}

void
av1d_manager_set_paused(Av1dManager *self, gboolean paused)
{
	self->paused = paused;
	av1d_manager_pump(self);
}

gboolean
av1d_manager_get_paused(Av1dManager *self)
{
	return self->paused;
}

guint
av1d_manager_get_running_count(Av1dManager *self)
{
	return g_hash_table_size(self->running);
}

guint
av1d_manager_get_pending_count(Av1dManager *self)
{
	return g_queue_get_length(&self->pending);
}

gboolean
av1d_manager_is_idle(Av1dManager *self)
{
	return g_hash_table_size(self->running) == 0 &&
	       (self->paused || g_queue_is_empty(&self->pending));
}

/* --- watching ------------------------------------------------------------ */

static Av1dJob *
av1d_manager_find_queued(Av1dManager *self, const gchar *path, GList **link)
{
	for (GList *l = self->pending.head; l != NULL; l = l->next) {
		Av1dJob *job = l->data;
		if (g_strcmp0(job->source_path, path) == 0) {
			*link = l;
			return job;
		}
	}
	return NULL;
}

/* a file already converted or decided on, unchanged since: nothing to do
 * (this keeps a crawl of a finished library from queueing anything) */
static gboolean
av1d_manager_is_settled(Av1dManager *self, const gchar *path)
{
	Av1dFileIdentity identity;
	Av1dJob *job;

	if (!av1d_file_identity_from_path(path, &identity, NULL))
		return FALSE;
	job = av1d_job_store_lookup_by_identity(self->store, &identity);
	return job != NULL && av1d_job_is_finished(job);
}

static void
av1d_manager_file_changed_cb(Av1dWatcher *watcher, const gchar *path, gpointer user_data)
{
	Av1dManager *self = AV1D_MANAGER(user_data);
	GList *link = NULL;

	if (av1d_manager_find_queued(self, path, &link) != NULL || av1d_manager_is_settled(self, path))
		return;
	av1d_stable_gate_file_changed(self->gate, path);
}

static void
av1d_manager_file_stable_cb(Av1dStableGate *gate, const gchar *path, gpointer user_data)
{
	Av1dManager *self = AV1D_MANAGER(user_data);
	g_autoptr(GError) error = NULL;
	Av1dCandidateVerdict verdict;
	struct stat st;

	/* the rules again: an .av1skip may have appeared while it was pending */
	if (lstat(path, &st) != 0)
		return;
	verdict = av1d_candidate_check(self->config, av1d_candidate_find_root(self->config, path),
				       path, &st);
	if (verdict != AV1D_CANDIDATE_YES) {
		g_debug("not queueing %s: %s", path, av1d_candidate_verdict_to_string(verdict));
		return;
	}
	if (av1d_manager_enqueue(self, path, &error) == NULL)
		g_debug("not queueing %s: %s", path, error->message);
}

static void
av1d_manager_file_removed_cb(Av1dWatcher *watcher, const gchar *path, gpointer user_data)
{
	Av1dManager *self = AV1D_MANAGER(user_data);
	GList *link = NULL;
	Av1dJob *job;

	av1d_stable_gate_file_removed(self->gate, path);
	job = av1d_manager_find_queued(self, path, &link);
	if (job != NULL)
		av1d_manager_cancel(self, job->id, NULL);
}

/* the job follows its file; a running encode starts over under the new name */
static void
av1d_manager_file_renamed_cb(Av1dWatcher *watcher,
			     const gchar *old_path,
			     const gchar *new_path,
			     gpointer user_data)
{
	Av1dManager *self = AV1D_MANAGER(user_data);
	Av1dJob *job = av1d_job_store_lookup_by_path(self->store, old_path);
	g_autoptr(GError) error = NULL;

	av1d_stable_gate_file_renamed(self->gate, old_path, new_path);
	if (job == NULL)
		return;
	if (g_hash_table_contains(self->running, &job->id)) {
		g_hash_table_add(self->requeue_ids, g_memdup2(&job->id, sizeof(job->id)));
		av1d_manager_cancel(self, job->id, NULL);
	}
	av1d_job_store_set_source_path(self->store, job, new_path);
	if (!av1d_job_store_save(self->store, job, &error))
		g_warning("job %" G_GUINT64_FORMAT ": %s", job->id, error->message);
	g_signal_emit(self, signals[SIGNAL_JOB_CHANGED], 0, job);
}

/* every job under a renamed folder follows it, as if each file had been
 * renamed: its path, its place in the stability gate, a running encode */
static void
av1d_manager_directory_renamed_cb(Av1dWatcher *watcher,
				  const gchar *old_dir,
				  const gchar *new_dir,
				  gpointer user_data)
{
	Av1dManager *self = AV1D_MANAGER(user_data);
	g_autoptr(GPtrArray) jobs = av1d_job_store_get_jobs(self->store);
	g_autoptr(GPtrArray) old_paths = g_ptr_array_new_with_free_func(g_free);
	gsize old_len = strlen(old_dir);

	/* the paths first: renaming changes what the store's lookups see */
	for (guint i = 0; i < jobs->len; i++) {
		const Av1dJob *job = g_ptr_array_index(jobs, i);

		if (strncmp(job->source_path, old_dir, old_len) == 0 &&
		    job->source_path[old_len] == G_DIR_SEPARATOR)
			g_ptr_array_add(old_paths, g_strdup(job->source_path));
	}
	for (guint i = 0; i < old_paths->len; i++) {
		const gchar *old_path = g_ptr_array_index(old_paths, i);
		g_autofree gchar *new_path = g_strconcat(new_dir, old_path + old_len, NULL);

		av1d_manager_file_renamed_cb(watcher, old_path, new_path, self);
	}
}

static void
av1d_manager_crawl_finished_cb(Av1dWatcher *watcher, gpointer user_data)
{
	Av1dManager *self = AV1D_MANAGER(user_data);

	g_message("crawl finished in %" G_GINT64_FORMAT " ms: %u directories watched",
		  (g_get_monotonic_time() - self->crawl_started) / 1000,
		  av1d_watcher_get_watched_dir_count(watcher));
	g_signal_emit(self, signals[SIGNAL_CRAWL_FINISHED], 0);
}

gboolean
av1d_manager_start_watching(Av1dManager *self, GError **error)
{
	g_return_val_if_fail(self->watcher == NULL, FALSE);
	self->gate = av1d_stable_gate_new(self->config->stable_secs);
	self->watcher = av1d_watcher_new(self->config);
	g_signal_connect(self->gate, "file-stable", G_CALLBACK(av1d_manager_file_stable_cb), self);
	g_signal_connect(self->watcher, "file-changed", G_CALLBACK(av1d_manager_file_changed_cb),
			 self);
	g_signal_connect(self->watcher, "file-removed", G_CALLBACK(av1d_manager_file_removed_cb),
			 self);
	g_signal_connect(self->watcher, "file-renamed", G_CALLBACK(av1d_manager_file_renamed_cb),
			 self);
	g_signal_connect(self->watcher, "directory-renamed",
			 G_CALLBACK(av1d_manager_directory_renamed_cb), self);
	g_signal_connect(self->watcher, "marker-added", G_CALLBACK(av1d_manager_marker_added_cb),
			 self);
	g_signal_connect(self->watcher, "temp-found", G_CALLBACK(av1d_manager_temp_found_cb),
			 self);
	g_signal_connect(self->watcher, "crawl-finished",
			 G_CALLBACK(av1d_manager_crawl_finished_cb), self);
	self->crawl_started = g_get_monotonic_time();
	return av1d_watcher_start(self->watcher, error);
}

void
av1d_manager_rescan(Av1dManager *self)
{
	if (self->watcher == NULL)
		return;
	self->crawl_started = g_get_monotonic_time();
	av1d_watcher_rescan(self->watcher);
}

guint
av1d_manager_get_watched_dir_count(Av1dManager *self)
{
	return self->watcher != NULL ? av1d_watcher_get_watched_dir_count(self->watcher) : 0;
}

static void
av1d_manager_dispose(GObject *object)
{
	Av1dManager *self = AV1D_MANAGER(object);

	if (self->watcher != NULL)
		g_signal_handlers_disconnect_by_data(self->watcher, self);
	if (self->gate != NULL)
		g_signal_handlers_disconnect_by_data(self->gate, self);
	g_clear_object(&self->watcher);
	g_clear_object(&self->gate);
	G_OBJECT_CLASS(av1d_manager_parent_class)->dispose(object);
}

static void
av1d_manager_finalize(GObject *object)
{
	Av1dManager *self = AV1D_MANAGER(object);

	g_clear_handle_id(&self->idle_id, g_source_remove);
	g_queue_clear_full(&self->pending, (GDestroyNotify)av1d_job_unref);
	g_hash_table_unref(self->running);
	g_hash_table_unref(self->requeue_ids);
	g_clear_object(&self->store);
	av1d_config_set(&self->config, NULL);
	g_free(self->backend);
	G_OBJECT_CLASS(av1d_manager_parent_class)->finalize(object);
}

static void
av1d_manager_class_init(Av1dManagerClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->dispose = av1d_manager_dispose;
	object_class->finalize = av1d_manager_finalize;
	signals[SIGNAL_JOB_CHANGED] = g_signal_new("job-changed", G_TYPE_FROM_CLASS(klass),
						   G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
						   G_TYPE_NONE, 1, G_TYPE_POINTER);
	signals[SIGNAL_JOB_FINISHED] = g_signal_new("job-finished", G_TYPE_FROM_CLASS(klass),
						    G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
						    G_TYPE_NONE, 1, G_TYPE_POINTER);
	signals[SIGNAL_IDLE] = g_signal_new("idle", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
					    NULL, NULL, NULL, G_TYPE_NONE, 0);
	signals[SIGNAL_CRAWL_FINISHED] =
	    g_signal_new("crawl-finished", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
			 NULL, NULL, G_TYPE_NONE, 0);
}

static void
av1d_manager_init(Av1dManager *self)
{
	g_queue_init(&self->pending);
	self->running = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_object_unref);
	self->requeue_ids = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
}

Av1dManager *
av1d_manager_new(const Av1dConfig *config, Av1dJobStore *store, const Av1dBackendParams *backend)
{
	Av1dManager *self = g_object_new(AV1D_TYPE_MANAGER, NULL);

	self->config = av1d_config_ref(config);
	self->store = g_object_ref(store);
	self->backend = av1d_backend_params_dup(backend);
	/* containers are labelled with it, so that the cleanup at start-up
	 * finds this daemon's containers and no other's */
	if (self->backend->instance[0] == '\0')
		av1d_backend_params_set_instance(self->backend, config->job_state_dir);
	return self;
}

gboolean
av1d_manager_reload(Av1dManager *self, const Av1dConfig *config, GError **error)
{
	g_return_val_if_fail(AV1D_IS_MANAGER(self), FALSE);
	g_return_val_if_fail(config != NULL, FALSE);

	if (!av1d_config_check_reload(self->config, config, error))
		return FALSE;
	/* running jobs keep the config they started with; the next ones, the
	 * watcher's next folders and the queue's limit follow this one */
	av1d_config_set(&self->config, config);
	if (self->watcher != NULL)
		av1d_watcher_set_config(self->watcher, config);
	av1d_manager_pump(self);
	return TRUE;
}

const Av1dConfig *
av1d_manager_get_config(Av1dManager *self)
{
	g_return_val_if_fail(AV1D_IS_MANAGER(self), NULL);

	return self->config;
}
