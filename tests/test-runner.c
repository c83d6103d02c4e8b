#include "config.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "av1d-error.h"
#include "av1d-runner.h"

#define IMAGE "lscr.io/linuxserver/ffmpeg:version-8.0-cli"

/* no test may hang: a run that takes longer than this fails */
#define RUN_TIMEOUT_S 60

static void
assert_contains(const gchar *haystack, const gchar *needle)
{
	if (haystack == NULL || strstr(haystack, needle) == NULL)
		g_error("expected '%s' in: %s", needle, haystack);
}

typedef struct {
	gchar *dir;
	GAsyncResult *result;
	GCancellable *cancellable;
	GArray *progress; /* gdouble per "progress" signal */
	gboolean cancel_on_progress;
	gint64 cancelled_at; /* monotonic µs, 0 = not cancelled */
	gint64 finished_at;
	/* values at the first "progress" signal */
	gdouble first_fps;
	gdouble first_speed;
	gint64 first_eta;
	gint64 first_out_time;
	guint64 first_total_size;
	guint64 first_projected;
	guint progress_notifies;
} Fixture;

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	fx->dir = g_dir_make_tmp("av1d-test-runner-XXXXXX", &error);
	g_assert_no_error(error);
	fx->cancellable = g_cancellable_new();
	fx->progress = g_array_new(FALSE, FALSE, sizeof(gdouble));
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *argv0 = g_strdup("rm");
	gchar *argv[] = {argv0, "-rf", fx->dir, NULL};
	g_autoptr(GError) error = NULL;

	g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, &error);
	g_assert_no_error(error);
	g_clear_object(&fx->result);
	g_clear_object(&fx->cancellable);
	g_array_unref(fx->progress);
	g_free(fx->dir);
}

static gchar *
fixture_path(Fixture *fx, const gchar *name)
{
	return g_build_filename(fx->dir, name, NULL);
}

static void
progress_cb(Av1dRunner *runner, gpointer user_data)
{
	Fixture *fx = user_data;
	gdouble progress = av1d_runner_get_progress(runner);

	if (fx->progress->len == 0) {
		fx->first_fps = av1d_runner_get_fps(runner);
		fx->first_speed = av1d_runner_get_speed(runner);
		fx->first_eta = av1d_runner_get_eta_seconds(runner);
		fx->first_out_time = av1d_runner_get_out_time_us(runner);
		fx->first_total_size = av1d_runner_get_total_size(runner);
		fx->first_projected = av1d_runner_get_projected_bytes(runner);
	}
	g_array_append_val(fx->progress, progress);
	if (fx->cancel_on_progress && fx->cancelled_at == 0) {
		fx->cancelled_at = g_get_monotonic_time();
		g_cancellable_cancel(fx->cancellable);
	}
}

static void
notify_progress_cb(GObject *object, GParamSpec *pspec, gpointer user_data)
{
	Fixture *fx = user_data;

	fx->progress_notifies++;
}

static void
finished_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Fixture *fx = user_data;

	fx->finished_at = g_get_monotonic_time();
	fx->result = g_object_ref(res);
}

static gboolean
timeout_cb(gpointer user_data)
{
	gboolean *timed_out = user_data;

	*timed_out = TRUE;
	return G_SOURCE_REMOVE;
}

/* start @runner and spin the main context until it finishes */
static gboolean
fixture_run(Fixture *fx, Av1dRunner *runner, GError **error)
{
	gboolean timed_out = FALSE;
	guint timeout_id = g_timeout_add_seconds(RUN_TIMEOUT_S, timeout_cb, &timed_out);

	g_signal_connect(runner, "progress", G_CALLBACK(progress_cb), fx);
	g_signal_connect(runner, "notify::progress", G_CALLBACK(notify_progress_cb), fx);
	av1d_runner_start(runner, fx->cancellable, finished_cb, fx);
	while (fx->result == NULL && !timed_out)
		g_main_context_iteration(NULL, TRUE);
	if (timed_out)
		g_error("runner did not finish within %d s (deadlock?)", RUN_TIMEOUT_S);
	g_source_remove(timeout_id);
	return av1d_runner_finish(runner, fx->result, error);
}

/* a runner for tests/fakes/slow-ffmpeg, configured by "VAR=value" pairs */
static Av1dRunner *
slow_runner(gint64 duration_us, const gchar *const *env)
{
	g_autofree gchar *fake = g_test_build_filename(G_TEST_DIST, "fakes", "slow-ffmpeg", NULL);
	const gchar *argv[] = {fake, "-progress", "pipe:1", NULL};
	Av1dRunner *runner = av1d_runner_new(argv, duration_us, 1000000);

	for (guint i = 0; env != NULL && env[i] != NULL; i++) {
		g_auto(GStrv) kv = g_strsplit(env[i], "=", 2);
		av1d_runner_setenv(runner, kv[0], kv[1]);
	}
	return runner;
}

#define ENV(...) ((const gchar *const[]){__VA_ARGS__, NULL})

static gboolean
pid_is_gone(const gchar *pidfile)
{
	g_autofree gchar *contents = NULL;
	gint64 pid;

	g_assert_true(g_file_get_contents(pidfile, &contents, NULL, NULL));
	pid = g_ascii_strtoll(contents, NULL, 10);
	g_assert_cmpint(pid, >, 1);
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* --- real ffmpeg --------------------------------------------------------- */

static void
test_real_encode_reaches_full_progress(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *output = fixture_path(fx, "out.mkv");
	/* -re: ffmpeg reports fps=0 for encodes shorter than a second */
	/* clang-format off */
	const gchar *argv[] = {
		"ffmpeg", "-hide_banner", "-nostdin", "-y",
		"-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2",
		"-c:v", "libsvtav1", "-preset", "12", "-crf", "45",
		"-progress", "pipe:1", "-nostats", "-f", "matroska", output, NULL};
	/* clang-format on */
	g_autoptr(Av1dRunner) runner = av1d_runner_new(argv, 2 * G_USEC_PER_SEC, 1000000);
	g_autoptr(GError) error = NULL;
	GStatBuf st;

	g_assert_true(fixture_run(fx, runner, &error));
	g_assert_no_error(error);
	/* a block every half second, each further along */
	g_assert_cmpuint(fx->progress->len, >=, 3);
	for (guint i = 1; i < fx->progress->len; i++)
		g_assert_cmpfloat(g_array_index(fx->progress, gdouble, i), >=,
				  g_array_index(fx->progress, gdouble, i - 1));
	g_assert_cmpfloat(av1d_runner_get_progress(runner), ==, 1.0);
	g_assert_cmpfloat(av1d_runner_get_fps(runner), >, 0.0);
	g_assert_cmpint(av1d_runner_get_out_time_us(runner), >=, 1900000);
	g_assert_cmpint(av1d_runner_get_eta_seconds(runner), ==, 0);
	g_assert_cmpuint(av1d_runner_get_total_size(runner), >, 0);
	g_assert_cmpuint(av1d_runner_get_projected_bytes(runner), ==,
			 av1d_runner_get_total_size(runner));
	g_assert_cmpuint(fx->progress_notifies, >=, 1);
	g_assert_false(av1d_runner_was_aborted_for_size(runner));
	g_assert_cmpint(g_stat(output, &st), ==, 0);
	g_assert_cmpint(st.st_size, >, 0);
}

static void
test_failing_ffmpeg_reports_stderr(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *input = fixture_path(fx, "missing-input.mkv");
	/* clang-format off */
	const gchar *argv[] = {
		"ffmpeg", "-hide_banner", "-nostdin", "-i", input,
		"-progress", "pipe:1", "-nostats", "-f", "null", "-", NULL};
	/* clang-format on */
	g_autoptr(Av1dRunner) runner = av1d_runner_new(argv, 2 * G_USEC_PER_SEC, 1000000);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *tail = NULL;
	g_autofree gchar *problem = g_strdup_printf("%s: No such file or directory", input);

	g_assert_false(fixture_run(fx, runner, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_ENCODE_FAILED);
	g_test_message("%s", error->message);
	g_assert_true(g_str_has_prefix(error->message, "ffmpeg exited with status 1: "));
	assert_contains(error->message, problem);
	tail = av1d_runner_get_stderr_tail(runner);
	assert_contains(tail, problem);
	g_assert_cmpuint(fx->progress->len, ==, 0);
}

static void
test_missing_executable(Fixture *fx, gconstpointer data)
{
	const gchar *argv[] = {"/nonexistent/av1d-ffmpeg", "-version", NULL};
	g_autoptr(Av1dRunner) runner = av1d_runner_new(argv, G_USEC_PER_SEC, 1000000);
	g_autoptr(GError) error = NULL;

	g_assert_false(fixture_run(fx, runner, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_NOT_FOUND);
	g_test_message("%s", error->message);
	g_assert_true(g_str_has_prefix(error->message, "cannot start /nonexistent/av1d-ffmpeg: "));
}

/* --- the slow fake ------------------------------------------------------- */

static void
test_progress_values_are_parsed(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dRunner) runner =
		slow_runner(8 * G_USEC_PER_SEC,
			    ENV("FAKE_FFMPEG_BLOCKS=4", "FAKE_FFMPEG_INTERVAL=0.05",
				"FAKE_FFMPEG_DURATION_US=8000000", "FAKE_FFMPEG_BLOCK_BYTES=1000",
				"FAKE_FFMPEG_FPS=47.50", "FAKE_FFMPEG_SPEED=2.50x",
				"FAKE_FFMPEG_TIME_KEY=out_time_ms"));
	g_autoptr(GError) error = NULL;

	g_assert_true(fixture_run(fx, runner, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(fx->progress->len, ==, 4);
	g_assert_cmpfloat(g_array_index(fx->progress, gdouble, 0), ==, 0.25);
	g_assert_cmpfloat(g_array_index(fx->progress, gdouble, 1), ==, 0.5);
	g_assert_cmpfloat(g_array_index(fx->progress, gdouble, 2), ==, 0.75);
	g_assert_cmpfloat(g_array_index(fx->progress, gdouble, 3), ==, 1.0);
	/* out_time_ms is µs, whatever its name says */
	g_assert_cmpint(fx->first_out_time, ==, 2000000);
	g_assert_cmpfloat(fx->first_fps, ==, 47.5);
	g_assert_cmpfloat(fx->first_speed, ==, 2.5);
	g_assert_cmpuint(fx->first_total_size, ==, 1000);
	g_assert_cmpuint(fx->first_projected, ==, 4000);
	/* 6 s of media left at 2.5x */
	g_assert_cmpint(fx->first_eta, ==, 3);
	g_assert_cmpuint(fx->progress_notifies, ==, 4);
	g_assert_cmpuint(av1d_runner_get_total_size(runner), ==, 4000);
}

static void
test_failing_fake_reports_status(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dRunner) runner =
		slow_runner(G_USEC_PER_SEC, ENV("FAKE_FFMPEG_BLOCKS=6", "FAKE_FFMPEG_INTERVAL=0.01",
						"FAKE_FFMPEG_EXIT=69"));
	g_autoptr(GError) error = NULL;

	g_assert_false(fixture_run(fx, runner, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_ENCODE_FAILED);
	/* the last five of its eight lines of stderr, oldest first */
	g_assert_cmpstr(error->message, ==,
			"slow-ffmpeg exited with status 69: "
			"[fake @ 0x1234] noise from block 3\n"
			"[fake @ 0x1234] noise from block 4\n"
			"[fake @ 0x1234] noise from block 5\n"
			"[fake @ 0x1234] noise from block 6\n"
			"slow-ffmpeg: Conversion failed!");
}

static void
test_stderr_flood_does_not_deadlock(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dRunner) runner =
		slow_runner(G_USEC_PER_SEC, ENV("FAKE_FFMPEG_BLOCKS=2", "FAKE_FFMPEG_INTERVAL=0.05",
						"FAKE_FFMPEG_DURATION_US=1000000",
						"FAKE_FFMPEG_STDERR_BYTES=1500000"));
	g_autoptr(GError) error = NULL;
	g_autofree gchar *tail = NULL;

	g_assert_true(fixture_run(fx, runner, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(fx->progress->len, ==, 2);
	tail = av1d_runner_get_stderr_tail(runner);
	g_assert_cmpuint(strlen(tail), <=, AV1D_RUNNER_STDERR_TAIL_BYTES);
	g_assert_cmpuint(strlen(tail), >, AV1D_RUNNER_STDERR_TAIL_BYTES - 100);
	assert_contains(tail, "slow-ffmpeg: stderr flood done\n");
	g_assert_true(g_str_has_suffix(tail, "noise from block 2\n"));
	g_assert_null(strstr(tail, "fake encoder starting"));
}

static void
test_cancel_stops_slow_encoder(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *pidfile = fixture_path(fx, "pid");
	g_autofree gchar *pidfile_env = g_strdup_printf("FAKE_FFMPEG_PIDFILE=%s", pidfile);
	g_autoptr(Av1dRunner) runner = slow_runner(
		60 * G_USEC_PER_SEC, ENV("FAKE_FFMPEG_BLOCKS=300", "FAKE_FFMPEG_INTERVAL=0.2",
					 "FAKE_FFMPEG_DURATION_US=60000000", pidfile_env));
	g_autoptr(GError) error = NULL;

	fx->cancel_on_progress = TRUE;
	g_assert_false(fixture_run(fx, runner, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_CANCELLED);
	g_assert_cmpint(fx->cancelled_at, >, 0);
	g_assert_cmpint(fx->finished_at - fx->cancelled_at, <, 3 * G_USEC_PER_SEC);
	g_assert_cmpuint(fx->progress->len, <, 5);
	g_assert_true(pid_is_gone(pidfile));
}

static void
test_cancel_kills_encoder_ignoring_sigterm(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *pidfile = fixture_path(fx, "pid");
	g_autofree gchar *pidfile_env = g_strdup_printf("FAKE_FFMPEG_PIDFILE=%s", pidfile);
	g_autoptr(Av1dRunner) runner = slow_runner(
		60 * G_USEC_PER_SEC, ENV("FAKE_FFMPEG_BLOCKS=300", "FAKE_FFMPEG_INTERVAL=0.2",
					 "FAKE_FFMPEG_IGNORE_TERM=1", pidfile_env));
	g_autoptr(GError) error = NULL;

	av1d_runner_set_kill_timeout(runner, 500);
	fx->cancel_on_progress = TRUE;
	g_assert_false(fixture_run(fx, runner, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_CANCELLED);
	/* SIGTERM did nothing; SIGKILL came after the kill timeout */
	g_assert_cmpint(fx->finished_at - fx->cancelled_at, >=, 450000);
	g_assert_cmpint(fx->finished_at - fx->cancelled_at, <, 4 * G_USEC_PER_SEC);
	g_assert_true(pid_is_gone(pidfile));
}

static void
test_cancelled_before_start(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *pidfile = fixture_path(fx, "pid");
	g_autofree gchar *pidfile_env = g_strdup_printf("FAKE_FFMPEG_PIDFILE=%s", pidfile);
	g_autoptr(Av1dRunner) runner = slow_runner(G_USEC_PER_SEC, ENV(pidfile_env));
	g_autoptr(GError) error = NULL;

	g_cancellable_cancel(fx->cancellable);
	g_assert_false(fixture_run(fx, runner, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_CANCELLED);
	/* it never ran */
	g_assert_false(g_file_test(pidfile, G_FILE_TEST_EXISTS));
}

static void
test_early_abort_when_projected_too_big(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dRunner) runner = slow_runner(
		10 * G_USEC_PER_SEC,
		ENV("FAKE_FFMPEG_BLOCKS=20", "FAKE_FFMPEG_INTERVAL=0.1",
		    "FAKE_FFMPEG_DURATION_US=10000000", "FAKE_FFMPEG_BLOCK_BYTES=10000000"));
	g_autoptr(GError) error = NULL;

	av1d_runner_set_max_projected_bytes(runner, 1000000);
	g_assert_false(fixture_run(fx, runner, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_FAILED);
	g_test_message("%s", error->message);
	/* g_format_size() puts a no-break space before the unit */
	g_assert_cmpstr(error->message, ==,
			"aborted early: projected size 200.0\u00a0MB exceeds 1.0\u00a0MB "
			"(10% encoded, source 1.0\u00a0MB)");
	g_assert_true(av1d_runner_was_aborted_for_size(runner));
	/* not at 5 %, only from 10 % on, and then at once */
	g_assert_cmpfloat(g_array_index(fx->progress, gdouble, 0), ==, 0.05);
	g_assert_cmpfloat(g_array_index(fx->progress, gdouble, 1), ==, 0.1);
	g_assert_cmpuint(fx->progress->len, <=, 4);
}

static void
test_no_early_abort_before_ten_percent(Fixture *fx, gconstpointer data)
{
	/* the media lasts 100 s; the fake stops after 9 s of it */
	g_autoptr(Av1dRunner) runner = slow_runner(
		100 * G_USEC_PER_SEC,
		ENV("FAKE_FFMPEG_BLOCKS=3", "FAKE_FFMPEG_INTERVAL=0.05",
		    "FAKE_FFMPEG_DURATION_US=9000000", "FAKE_FFMPEG_BLOCK_BYTES=10000000"));
	g_autoptr(GError) error = NULL;

	av1d_runner_set_max_projected_bytes(runner, 1000000);
	g_assert_true(fixture_run(fx, runner, &error));
	g_assert_no_error(error);
	g_assert_false(av1d_runner_was_aborted_for_size(runner));
	g_assert_cmpuint(fx->progress->len, ==, 3);
	g_assert_cmpfloat(g_array_index(fx->progress, gdouble, 1), ==, 0.06);
}

static void
test_no_early_abort_within_margin(Fixture *fx, gconstpointer data)
{
	/* always projects 1.04 MB against a 1 MB limit */
	g_autoptr(Av1dRunner) runner = slow_runner(
		10 * G_USEC_PER_SEC,
		ENV("FAKE_FFMPEG_BLOCKS=10", "FAKE_FFMPEG_INTERVAL=0.05",
		    "FAKE_FFMPEG_DURATION_US=10000000", "FAKE_FFMPEG_BLOCK_BYTES=104000"));
	g_autoptr(GError) error = NULL;

	av1d_runner_set_max_projected_bytes(runner, 1000000);
	g_assert_true(fixture_run(fx, runner, &error));
	g_assert_no_error(error);
	g_assert_false(av1d_runner_was_aborted_for_size(runner));
	g_assert_cmpuint(fx->first_projected, ==, 1040000);
	g_assert_cmpuint(fx->progress->len, ==, 10);
}

/* --- docker-qsv through the fake docker ---------------------------------- */

/* `docker run` as SPEC 6 spells it, encoding the lavfi @source at its
 * native rate (-re), so that a long source makes a slow encode */
static GStrv
docker_argv(Fixture *fx, const gchar *name, gboolean with_rm, const gchar *source)
{
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();
	g_autofree gchar *docker = g_test_build_filename(G_TEST_DIST, "fakes", "fake-docker", NULL);
	g_autofree gchar *user = g_strdup_printf("%u:%u", getuid(), getgid());
	g_autofree gchar *mount = g_strdup_printf("%s:%s", fx->dir, fx->dir);
	g_autofree gchar *output = fixture_path(fx, ".movie.av1d-tmp.mkv");
	/* clang-format off */
	const gchar *const ffmpeg_args[] = {
		"-hide_banner", "-nostdin", "-y",
		"-init_hw_device", "qsv=hw:/dev/dri/renderD128", "-filter_hw_device", "hw",
		"-re", "-f", "lavfi", "-i", source, "-map", "0:v:0",
		"-vf", "format=nv12,hwupload=extra_hw_frames=64",
		"-c:v", "av1_qsv", "-preset", "slower", "-global_quality", "30", "-profile:v", "main",
		"-max_muxing_queue_size", "1024", "-progress", "pipe:1", "-nostats", "-f", "matroska",
		NULL};
	/* clang-format on */

	g_strv_builder_add_many(b, docker, "run", NULL);
	if (with_rm)
		g_strv_builder_add(b, "--rm");
	g_strv_builder_add_many(b, "--name", name, "--device", "/dev/null", "--user", user,
				"--group-add", "0", "-e", "LIBVA_DRIVER_NAME=iHD", "-v", mount,
				"--entrypoint", "ffmpeg", IMAGE, NULL);
	g_strv_builder_addv(b, (const gchar **)ffmpeg_args);
	g_strv_builder_add(b, output);
	return g_strv_builder_end(b);
}

static Av1dRunner *
docker_runner(Fixture *fx, const gchar *const *argv, gint64 duration_us)
{
	g_autofree gchar *docker = g_test_build_filename(G_TEST_DIST, "fakes", "fake-docker", NULL);
	g_autofree gchar *log = fixture_path(fx, "docker.log");
	Av1dRunner *runner = av1d_runner_new(argv, duration_us, 1000000);

	av1d_runner_set_container(runner, docker, "av1d-42");
	av1d_runner_setenv(runner, "FAKE_DOCKER_LOG", log);
	av1d_runner_setenv(runner, "FAKE_DOCKER_STATE", fx->dir);
	av1d_runner_setenv(runner, "FAKE_DOCKER_HAS_IMAGE", "1");
	return runner;
}

static gchar *
fixture_read(Fixture *fx, const gchar *name)
{
	g_autofree gchar *path = fixture_path(fx, name);
	g_autoptr(GError) error = NULL;
	gchar *contents = NULL;

	g_file_get_contents(path, &contents, NULL, &error);
	g_assert_no_error(error);
	return contents;
}

static void
test_docker_encode_through_fake_docker(Fixture *fx, gconstpointer data)
{
	g_auto(GStrv) argv =
		docker_argv(fx, "av1d-42", TRUE, "testsrc2=size=320x240:rate=25:duration=1");
	g_autoptr(Av1dRunner) runner =
		docker_runner(fx, (const gchar *const *)argv, G_USEC_PER_SEC);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *log = NULL;
	g_autofree gchar *output = fixture_path(fx, ".movie.av1d-tmp.mkv");

	g_assert_true(fixture_run(fx, runner, &error));
	g_assert_no_error(error);
	g_assert_cmpfloat(av1d_runner_get_progress(runner), ==, 1.0);
	g_assert_true(g_file_test(output, G_FILE_TEST_IS_REGULAR));
	log = fixture_read(fx, "docker.log");
	g_assert_true(g_str_has_prefix(log, "run\n--rm\n--name\nav1d-42\n"));
	/* nothing to kill or remove after a normal end */
	g_assert_null(strstr(log, "kill\n"));
	g_assert_null(strstr(log, "--\nrm\n"));
}

static void
test_docker_validation_failure_is_reported(Fixture *fx, gconstpointer data)
{
	g_auto(GStrv) argv = docker_argv(fx, "av1d-42", FALSE, "testsrc2=duration=1");
	g_autoptr(Av1dRunner) runner =
		docker_runner(fx, (const gchar *const *)argv, G_USEC_PER_SEC);
	g_autoptr(GError) error = NULL;

	g_assert_false(fixture_run(fx, runner, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_ENCODE_FAILED);
	g_assert_cmpstr(error->message, ==,
			"fake-docker exited with status 125: "
			"docker: av1d containers must be started with --rm\n"
			"See 'docker run --help'.");
}

static void
test_cancel_kills_docker_container(Fixture *fx, gconstpointer data)
{
	g_auto(GStrv) argv =
		docker_argv(fx, "av1d-42", TRUE, "testsrc2=size=320x240:rate=25:duration=60");
	g_autoptr(Av1dRunner) runner =
		docker_runner(fx, (const gchar *const *)argv, 60 * G_USEC_PER_SEC);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *log = NULL;
	g_autofree gchar *pidfile = fixture_path(fx, "av1d-42.pid");

	fx->cancel_on_progress = TRUE;
	g_assert_false(fixture_run(fx, runner, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_CANCELLED);
	g_assert_cmpint(fx->finished_at - fx->cancelled_at, <, 5 * G_USEC_PER_SEC);
	log = fixture_read(fx, "docker.log");
	g_test_message("%s", log);
	g_assert_true(g_str_has_prefix(log, "run\n--rm\n--name\nav1d-42\n"));
	g_assert_nonnull(strstr(log, "--\nkill\nav1d-42\n--\n"));
	/* and once the client had exited, nothing was left to remove */
	g_assert_nonnull(strstr(log, "--\nrm\n--force\nav1d-42\n--\n"));
	/* the fake's `kill` found the container by name */
	g_assert_false(g_file_test(pidfile, G_FILE_TEST_EXISTS));
}

static void
test_runner_cancel_without_cancellable(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dRunner) runner = slow_runner(
		60 * G_USEC_PER_SEC, ENV("FAKE_FFMPEG_BLOCKS=300", "FAKE_FFMPEG_INTERVAL=0.2"));
	g_autoptr(GError) error = NULL;
	gboolean timed_out = FALSE;
	guint timeout_id = g_timeout_add_seconds(RUN_TIMEOUT_S, timeout_cb, &timed_out);

	av1d_runner_start(runner, NULL, finished_cb, fx);
	/* wait for the first block, then cancel through the API */
	while (av1d_runner_get_out_time_us(runner) == 0 && !timed_out)
		g_main_context_iteration(NULL, TRUE);
	av1d_runner_cancel(runner);
	while (fx->result == NULL && !timed_out)
		g_main_context_iteration(NULL, TRUE);
	g_assert_false(timed_out);
	g_source_remove(timeout_id);
	g_assert_false(av1d_runner_finish(runner, fx->result, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_CANCELLED);
}

#define ADD_TEST(path, func) g_test_add(path, Fixture, NULL, fixture_setup, func, fixture_teardown)

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	ADD_TEST("/av1d/runner/real-encode-reaches-full-progress",
		 test_real_encode_reaches_full_progress);
	ADD_TEST("/av1d/runner/failing-ffmpeg-reports-its-stderr",
		 test_failing_ffmpeg_reports_stderr);
	ADD_TEST("/av1d/runner/missing-executable-is-named", test_missing_executable);
	ADD_TEST("/av1d/runner/progress-values-are-parsed", test_progress_values_are_parsed);
	ADD_TEST("/av1d/runner/failure-quotes-the-last-lines-of-stderr",
		 test_failing_fake_reports_status);
	ADD_TEST("/av1d/runner/stderr-flood-does-not-deadlock",
		 test_stderr_flood_does_not_deadlock);
	ADD_TEST("/av1d/runner/cancel-stops-a-slow-encoder", test_cancel_stops_slow_encoder);
	ADD_TEST("/av1d/runner/cancel-kills-an-encoder-ignoring-sigterm",
		 test_cancel_kills_encoder_ignoring_sigterm);
	ADD_TEST("/av1d/runner/cancel-through-the-api", test_runner_cancel_without_cancellable);
	ADD_TEST("/av1d/runner/cancelled-before-start-never-runs", test_cancelled_before_start);
	ADD_TEST("/av1d/runner/early-abort-when-projected-size-too-big",
		 test_early_abort_when_projected_too_big);
	ADD_TEST("/av1d/runner/no-early-abort-before-ten-percent",
		 test_no_early_abort_before_ten_percent);
	ADD_TEST("/av1d/runner/no-early-abort-within-the-margin",
		 test_no_early_abort_within_margin);
	ADD_TEST("/av1d/runner/docker-encode-through-fake-docker",
		 test_docker_encode_through_fake_docker);
	ADD_TEST("/av1d/runner/docker-refusal-is-reported",
		 test_docker_validation_failure_is_reported);
	ADD_TEST("/av1d/runner/cancel-kills-the-docker-container",
		 test_cancel_kills_docker_container);

	return g_test_run();
}
