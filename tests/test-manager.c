/*
 * The scheduler: concurrency, order, pause/resume, cancel, retry, restart.
 * Real ffprobe on real media; the encoder is tests/fakes/slow-ffmpeg, which
 * reports progress for a while and writes nothing, so every job that runs
 * ends "failed" at verification: what is tested here is when jobs run.
 */
#include "config.h"

#include <glib/gstdio.h>

#include "av1d-error.h"
#include "av1d-manager.h"
#include "av1d-test-util.h"

typedef struct {
	gchar *dir;
	gchar *library;
	Av1dConfig *config;
	Av1dJobStore *store;
	Av1dManager *manager;
	GMainLoop *loop;
	guint running_now;
	guint running_max;
	GPtrArray *started; /* job ids in the order they started */
	gboolean idle;
} Fixture;

static gchar *
fake_ffmpeg(void)
{
	return g_build_filename(g_getenv("G_TEST_SRCDIR"), "fakes", "slow-ffmpeg", NULL);
}

static void
on_job_changed(Av1dManager *manager, Av1dJob *job, gpointer user_data)
{
	Fixture *fx = user_data;

	if (job->status == AV1D_JOB_STATUS_RUNNING && job->stage == AV1D_JOB_STAGE_PROBING) {
		fx->running_now++;
		fx->running_max = MAX(fx->running_max, fx->running_now);
		g_ptr_array_add(fx->started, g_memdup2(&job->id, sizeof(job->id)));
	}
}

static void
on_job_finished(Av1dManager *manager, Av1dJob *job, gpointer user_data)
{
	Fixture *fx = user_data;

	fx->running_now--;
}

static void
on_idle(Av1dManager *manager, gpointer user_data)
{
	Fixture *fx = user_data;

	fx->idle = TRUE;
	g_main_loop_quit(fx->loop);
}

static void
make_manager(Fixture *fx)
{
	g_autofree gchar *ffmpeg = fake_ffmpeg();
	Av1dBackendParams backend = {
	    .kind = AV1D_ENCODER_KIND_SOFTWARE,
	    .ffmpeg_bin = ffmpeg,
	};
	g_autoptr(GError) error = NULL;

	g_clear_object(&fx->manager);
	g_clear_object(&fx->store);
	fx->store = av1d_job_store_new(fx->config->job_state_dir, &error);
	g_assert_no_error(error);
	g_assert_true(av1d_job_store_load(fx->store, &error));
	fx->manager = av1d_manager_new(fx->config, fx->store, &backend);
	g_signal_connect(fx->manager, "job-changed", G_CALLBACK(on_job_changed), fx);
	g_signal_connect(fx->manager, "job-finished", G_CALLBACK(on_job_finished), fx);
	g_signal_connect(fx->manager, "idle", G_CALLBACK(on_idle), fx);
}

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *ffmpeg = fake_ffmpeg();
	const gchar *roots[] = {NULL, NULL};

	fx->dir = g_dir_make_tmp("av1d-test-manager-XXXXXX", &error);
	g_assert_no_error(error);
	fx->library = g_build_filename(fx->dir, "library", NULL);
	g_assert_cmpint(g_mkdir(fx->library, 0755), ==, 0);
	roots[0] = fx->library;
	fx->config = av1d_config_new_default();
	g_assert_true(av1d_config_set_roots(fx->config, roots, &error));
	g_free(fx->config->job_state_dir);
	fx->config->job_state_dir = g_build_filename(fx->dir, "state", NULL);
	g_free(fx->config->ffmpeg_bin);
	fx->config->ffmpeg_bin = g_strdup(ffmpeg);
	fx->config->min_bytes = 1;
	fx->config->max_size_ratio = 1.0;
	fx->loop = g_main_loop_new(NULL, FALSE);
	fx->started = g_ptr_array_new_with_free_func(g_free);
	g_setenv("FAKE_FFMPEG_BLOCKS", "4", TRUE);
	g_setenv("FAKE_FFMPEG_INTERVAL", "0.1", TRUE);
	g_setenv("FAKE_FFMPEG_DURATION_US", "1000000", TRUE);
	make_manager(fx);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	g_clear_object(&fx->manager);
	g_clear_object(&fx->store);
	av1d_config_unref(fx->config);
	g_main_loop_unref(fx->loop);
	g_ptr_array_unref(fx->started);
	av1d_test_rm_rf(fx->dir);
	g_free(fx->library);
	g_free(fx->dir);
}

static gboolean
on_timeout(gpointer user_data)
{
	g_error("the queue did not drain in time");
	return G_SOURCE_REMOVE;
}

static void
run_until_idle(Fixture *fx)
{
	guint id = g_timeout_add_seconds(60, on_timeout, NULL);

	fx->idle = FALSE;
	g_main_loop_run(fx->loop);
	g_source_remove(id);
}

static Av1dJob *
enqueue(Fixture *fx, const gchar *as)
{
	g_autofree gchar *path = g_build_filename(fx->library, as, NULL);
	g_autoptr(GError) error = NULL;
	Av1dJob *job;

	if (!g_file_test(path, G_FILE_TEST_EXISTS))
		av1d_test_copy_media("h264-eng-rus.mkv", fx->library, as);
	job = av1d_manager_enqueue(fx->manager, path, &error);
	g_assert_no_error(error);
	g_assert_nonnull(job);
	return job;
}

static guint64
started_id(Fixture *fx, guint i)
{
	return *(guint64 *)g_ptr_array_index(fx->started, i);
}

static void
test_one_at_a_time_in_order(Fixture *fx, gconstpointer data)
{
	guint64 a = enqueue(fx, "a.mkv")->id;
	guint64 b = enqueue(fx, "b.mkv")->id;
	guint64 c = enqueue(fx, "c.mkv")->id;

	g_assert_cmpuint(av1d_manager_get_running_count(fx->manager), ==, 1);
	g_assert_cmpuint(av1d_manager_get_pending_count(fx->manager), ==, 2);
	run_until_idle(fx);
	g_assert_cmpuint(fx->running_max, ==, 1);
	g_assert_cmpuint(fx->started->len, ==, 3);
	g_assert_cmpuint(started_id(fx, 0), ==, a);
	g_assert_cmpuint(started_id(fx, 1), ==, b);
	g_assert_cmpuint(started_id(fx, 2), ==, c);
}

static void
test_concurrency_limit(Fixture *fx, gconstpointer data)
{
	fx->config->max_concurrent_jobs = 2;
	for (guint i = 0; i < 5; i++) {
		g_autofree gchar *name = g_strdup_printf("f%u.mkv", i);
		enqueue(fx, name);
	}
	g_assert_cmpuint(av1d_manager_get_running_count(fx->manager), ==, 2);
	run_until_idle(fx);
	g_assert_cmpuint(fx->running_max, ==, 2);
	g_assert_cmpuint(fx->started->len, ==, 5);
}

static void
test_same_file_is_queued_once(Fixture *fx, gconstpointer data)
{
	Av1dJob *first = enqueue(fx, "a.mkv");
	Av1dJob *second = enqueue(fx, "a.mkv");

	g_assert_true(first == second);
	run_until_idle(fx);
	g_assert_cmpuint(fx->started->len, ==, 1);
}

static void
test_pause_holds_new_jobs(Fixture *fx, gconstpointer data)
{
	Av1dJob *job;

	av1d_manager_set_paused(fx->manager, TRUE);
	job = enqueue(fx, "a.mkv");
	g_assert_cmpuint(av1d_manager_get_running_count(fx->manager), ==, 0);
	g_assert_cmpint(job->status, ==, AV1D_JOB_STATUS_PENDING);
	/* paused with nothing running counts as idle */
	run_until_idle(fx);
	g_assert_cmpuint(fx->started->len, ==, 0);
	av1d_manager_set_paused(fx->manager, FALSE);
	g_assert_cmpuint(av1d_manager_get_running_count(fx->manager), ==, 1);
	run_until_idle(fx);
	g_assert_cmpuint(fx->started->len, ==, 1);
}

static void
test_cancel_running_and_pending(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = g_build_filename(fx->library, "a.mkv", NULL);
	g_autofree gchar *before = NULL, *after = NULL;
	g_autoptr(GError) error = NULL;
	Av1dJob *running, *pending;

	g_setenv("FAKE_FFMPEG_BLOCKS", "100", TRUE);
	running = enqueue(fx, "a.mkv");
	pending = enqueue(fx, "b.mkv");
	before = av1d_test_checksum(path);
	g_assert_true(av1d_manager_cancel(fx->manager, pending->id, &error));
	g_assert_cmpint(pending->status, ==, AV1D_JOB_STATUS_CANCELLED);
	g_assert_true(av1d_manager_cancel(fx->manager, running->id, &error));
	run_until_idle(fx);
	g_assert_cmpint(running->status, ==, AV1D_JOB_STATUS_CANCELLED);
	g_assert_cmpuint(fx->started->len, ==, 1);
	after = av1d_test_checksum(path);
	g_assert_cmpstr(before, ==, after);
	av1d_test_assert_no_temps(fx->library);
	/* nothing left to cancel */
	g_assert_false(av1d_manager_cancel(fx->manager, running->id, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_NOT_FOUND);
}

static void
test_retry(Fixture *fx, gconstpointer data)
{
	Av1dJob *job = enqueue(fx, "a.mkv");
	g_autoptr(GError) error = NULL;

	run_until_idle(fx);
	g_assert_cmpint(job->status, ==, AV1D_JOB_STATUS_FAILED);
	/* a failed job is not queued again by finding the file again */
	g_assert_null(av1d_manager_enqueue(fx->manager, job->source_path, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE);
	g_clear_error(&error);
	g_assert_true(av1d_manager_retry(fx->manager, job->id, &error));
	g_assert_no_error(error);
	run_until_idle(fx);
	g_assert_cmpuint(fx->started->len, ==, 2);
	g_assert_false(av1d_manager_retry(fx->manager, 9999, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_NOT_FOUND);
}

static void
test_interrupted_jobs_run_after_restart(Fixture *fx, gconstpointer data)
{
	Av1dJob *job;
	guint64 id;

	av1d_manager_set_paused(fx->manager, TRUE);
	id = enqueue(fx, "a.mkv")->id;
	/* the daemon stops with the job still queued */
	make_manager(fx);
	job = av1d_job_store_lookup(fx->store, id);
	g_assert_nonnull(job);
	g_assert_cmpint(job->status, ==, AV1D_JOB_STATUS_PENDING);
	av1d_manager_requeue_unfinished(fx->manager);
	run_until_idle(fx);
	g_assert_cmpuint(fx->started->len, ==, 1);
	g_assert_cmpuint(started_id(fx, 0), ==, id);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

#define ADD(path, func) g_test_add(path, Fixture, NULL, fixture_setup, func, fixture_teardown)
	ADD("/av1d/manager/one-job-at-a-time-in-order", test_one_at_a_time_in_order);
	ADD("/av1d/manager/never-more-than-max-concurrent-jobs", test_concurrency_limit);
	ADD("/av1d/manager/same-file-is-queued-once", test_same_file_is_queued_once);
	ADD("/av1d/manager/pause-holds-new-jobs-until-resume", test_pause_holds_new_jobs);
	ADD("/av1d/manager/cancel-running-and-pending-jobs", test_cancel_running_and_pending);
	ADD("/av1d/manager/failed-jobs-run-again-only-on-retry", test_retry);
	ADD("/av1d/manager/queued-jobs-run-after-a-restart", test_interrupted_jobs_run_after_restart);
	return g_test_run();
}
