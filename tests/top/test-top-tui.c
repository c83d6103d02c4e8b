/*
 * The real av1top in tmux against the real av1d on a private
 * dbus-daemon, driven by keys the way a person drives it, and checked on
 * the screen (capture-pane), on disk (.av1skip) and on the bus (the real
 * busctl). The daemon's encoder is tests/top/fake-ffmpeg, which plays a
 * long encode, so one job runs and the others stay pending as long as a
 * test needs. `--once --json` is checked against busctl's view.
 *
 * Every wait polls the screen or the bus against a deadline.
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "av1d-test-util.h"
#include "av1top-keys.h"
#include "av1top-model.h"

#define WAIT_SECS 30
#define FILM	  "Über Film.mkv"
#define SECOND	  "second.mkv"
#define THIRD	  "third.mkv"

typedef struct Fixture Fixture;
static void
fixture_kill(Fixture *fx);

/* a wait that fails must not leave the tmux server behind: g_error()
 * skips the teardown */
#define FAIL(fx, ...)                                                                              \
	G_STMT_START                                                                               \
	{                                                                                          \
		fixture_kill(fx);                                                                  \
		g_error(__VA_ARGS__);                                                              \
	}                                                                                          \
	G_STMT_END

struct Fixture {
	gchar *dir;
	gchar *library;
	gchar *config;
	gchar *address;
	gchar *socket; /* our own tmux server */
	gchar *status_file;
	gchar *err_file;
	GSubprocess *bus;
	GSubprocess *daemon;
	gboolean tmux_running;
};

/* --- processes ----------------------------------------------------------- */

/* a failed assertion aborts without the teardown: the tmux server (not our
 * child) is stopped from the SIGABRT handler, av1d and the bus die with us */
static gchar *abort_argv[6];

static void
on_abort(int sig)
{
	pid_t pid;

	if (abort_argv[0] != NULL) {
		pid = fork();
		if (pid == 0) {
			execv(abort_argv[0], abort_argv);
			_exit(127);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
	}
	signal(SIGABRT, SIG_DFL);
	raise(SIGABRT);
}

static void
die_with_parent(gpointer user_data)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* @argv's stdout; its exit status in @status */
static gchar *
run_argv(const gchar *const *argv, gint *status)
{
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	gchar *out = NULL;

	proc = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE |
					   G_SUBPROCESS_FLAGS_STDERR_SILENCE,
				 &error);
	g_assert_no_error(error);
	g_subprocess_communicate_utf8(proc, NULL, NULL, &out, NULL, &error);
	g_assert_no_error(error);
	if (status != NULL)
		*status = g_subprocess_get_if_exited(proc) ? g_subprocess_get_exit_status(proc) : -1;
	return out;
}
#define RUN(status, ...) run_argv((const gchar *const[]){__VA_ARGS__, NULL}, status)

static gchar *
busctl(Fixture *fx, const gchar *const *args)
{
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_autofree gchar *address = g_strdup_printf("--address=%s", fx->address);
	g_auto(GStrv) argv = NULL;

	g_strv_builder_add_many(builder, "busctl", address, NULL);
	g_strv_builder_addv(builder, (const char **)args);
	argv = g_strv_builder_end(builder);
	return run_argv((const gchar *const *)argv, NULL);
}
#define BUSCTL(fx, ...) busctl(fx, (const gchar *const[]){__VA_ARGS__, NULL})
#define MANAGER(fx, ...)                                                                           \
	BUSCTL(fx, "call", "org.av1d", "/org/av1d", "org.av1d.Manager1", __VA_ARGS__)
#define MANAGER_PROPERTY(fx, name)                                                                 \
	BUSCTL(fx, "get-property", "org.av1d", "/org/av1d", "org.av1d.Manager1", name)

/* field @index (2 status, 3 stage) of the job on @name, from ListJobs */
static gchar *
job_field(Fixture *fx, const gchar *name, guint index)
{
	g_autofree gchar *out = BUSCTL(fx, "--json=short", "call", "org.av1d", "/org/av1d",
				       "org.av1d.Manager1", "ListJobs");
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonArray *jobs;

	if (!json_parser_load_from_data(parser, out, -1, NULL))
		return NULL;
	jobs = json_array_get_array_element(
	    json_object_get_array_member(json_node_get_object(json_parser_get_root(parser)),
					 "data"),
	    0);
	for (guint i = 0; i < json_array_get_length(jobs); i++) {
		JsonArray *job = json_array_get_array_element(jobs, i);

		if (g_str_has_suffix(json_array_get_string_element(job, 1), name))
			return g_strdup(json_array_get_string_element(job, index));
	}
	return NULL;
}

static gchar *
job_status(Fixture *fx, const gchar *name)
{
	return job_field(fx, name, 2);
}

/* a file whose job waits in the queue */
static const gchar *
pending_name(Fixture *fx)
{
	const gchar *const names[] = {FILM, SECOND, THIRD};

	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree gchar *status = job_status(fx, names[i]);

		if (g_strcmp0(status, "pending") == 0)
			return names[i];
	}
	g_assert_not_reached();
}

static const gchar *
running_name(Fixture *fx)
{
	const gchar *const names[] = {FILM, SECOND, THIRD};

	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree gchar *status = job_status(fx, names[i]);

		if (g_strcmp0(status, "running") == 0)
			return names[i];
	}
	g_assert_not_reached();
}

#define WAIT_FOR(cond, what)                                                                       \
	G_STMT_START                                                                               \
	{                                                                                          \
		gint64 deadline_ = g_get_monotonic_time() + WAIT_SECS * G_USEC_PER_SEC;            \
		while (!(cond)) {                                                                  \
			if (g_get_monotonic_time() > deadline_)                                    \
				FAIL(fx, "timed out waiting for %s", what);                        \
			g_usleep(50 * 1000);                                                       \
		}                                                                                  \
	}                                                                                          \
	G_STMT_END

static gboolean
output_is(Fixture *fx, gchar *out, const gchar *expected)
{
	gboolean same = g_strcmp0(out, expected) == 0;

	g_free(out);
	return same;
}

static void
start_daemon(Fixture *fx)
{
	g_autoptr(GSubprocessLauncher) launcher =
	    g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
	g_autofree gchar *log = g_build_filename(fx->dir, "daemon.log", NULL);
	g_autoptr(GError) error = NULL;

	g_subprocess_launcher_set_child_setup(launcher, die_with_parent, NULL, NULL);
	/* one job encodes "for ever" (0.1% every half second), so the others
	 * stay queued */
	g_subprocess_launcher_set_stderr_file_path(launcher, log);
	g_subprocess_launcher_setenv(launcher, "DBUS_SESSION_BUS_ADDRESS", fx->address, TRUE);
	g_subprocess_launcher_setenv(launcher, "FAKE_FFMPEG_BLOCKS", "100000", TRUE);
	g_subprocess_launcher_setenv(launcher, "FAKE_FFMPEG_INTERVAL", "0.5", TRUE);
	g_subprocess_launcher_setenv(launcher, "FAKE_FFMPEG_DURATION_US", "100000000", TRUE);
	fx->daemon = g_subprocess_launcher_spawn(launcher, &error, g_getenv("AV1D_BIN"),
						 "--config", fx->config, NULL);
	g_assert_no_error(error);
	WAIT_FOR(output_is(fx, MANAGER_PROPERTY(fx, "RunningCount"), "u 1\n") &&
		     output_is(fx, MANAGER_PROPERTY(fx, "PendingCount"), "u 2\n"),
		 "one job running, two pending");
}

static void
stop_daemon(Fixture *fx)
{
	g_subprocess_send_signal(fx->daemon, SIGTERM);
	g_assert_true(g_subprocess_wait(fx->daemon, NULL, NULL));
	g_assert_true(g_subprocess_get_if_exited(fx->daemon));
	g_clear_object(&fx->daemon);
}

static void
write_config(Fixture *fx)
{
	g_autofree gchar *ffmpeg = g_build_filename(g_getenv("AV1TOP_SRCDIR"), "fake-ffmpeg", NULL);
	g_autofree gchar *text = g_strdup_printf(
	    "library_roots = [\"%s\"]\nmin_bytes = 1\nstable_secs = 0\nencoder = \"software\"\n"
	    "ffmpeg_bin = \"%s\"\nmax_concurrent_jobs = 1\njob_state_dir = \"%s/state\"\n",
	    fx->library, ffmpeg, fx->dir);

	g_assert_true(g_file_set_contents(fx->config, text, -1, NULL));
}

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GDataInputStream) out = NULL;
	g_autoptr(GSubprocessLauncher) launcher = NULL;

	fx->dir = g_dir_make_tmp("av1top-test-XXXXXX", &error);
	g_assert_no_error(error);
	fx->library = g_build_filename(fx->dir, "library", NULL);
	fx->config = g_build_filename(fx->dir, "config.toml", NULL);
	fx->status_file = g_build_filename(fx->dir, "av1top.status", NULL);
	fx->err_file = g_build_filename(fx->dir, "av1top.err", NULL);
	fx->socket = g_strdup_printf("av1top-test-%d-%s", getpid(), strrchr(fx->dir, '-') + 1);
	g_assert_cmpint(g_mkdir(fx->library, 0755), ==, 0);
	av1d_test_copy_media("h264-eng-rus.mkv", fx->library, FILM);
	av1d_test_copy_media("font-chapters.mkv", fx->library, SECOND);
	av1d_test_copy_media("Movie.2020.1080p.WEB-DL.x264.mkv", fx->library, THIRD);
	write_config(fx);

	/* a private bus, so that the test never meets the user's */
	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE |
					     G_SUBPROCESS_FLAGS_STDERR_SILENCE);
	g_subprocess_launcher_set_child_setup(launcher, die_with_parent, NULL, NULL);
	fx->bus = g_subprocess_launcher_spawn(launcher, &error, "dbus-daemon", "--session",
					      "--nofork", "--print-address=1", NULL);
	g_assert_no_error(error);
	out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(fx->bus));
	fx->address = g_data_input_stream_read_line(out, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_nonnull(fx->address);
	if (data == NULL)
		start_daemon(fx);
}

static gchar *
av1top_log(Fixture *fx)
{
	gchar *text = NULL;

	if (!g_file_get_contents(fx->err_file, &text, NULL, NULL))
		return g_strdup("");
	return text;
}

/* av1top asked to quit (SIGTERM, which it handles like q) while its
 * terminal is still there, then the tmux server: a process whose terminal
 * hangs up while it exits can hang in LeakSanitizer's exit check in the
 * ASan build, spinning for good */
static void
stop_tmux(Fixture *fx)
{
	g_autofree gchar *pane = NULL;
	gint64 give_up = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

	if (!fx->tmux_running)
		return;
	pane = RUN(NULL, "tmux", "-L", fx->socket, "display-message", "-p", "#{pane_pid}");
	if (pane != NULL)
		g_strstrip(pane);
	if (pane != NULL && pane[0] != '\0' && !g_file_test(fx->status_file, G_FILE_TEST_EXISTS)) {
		/* av1top is the child of the pane's shell */
		g_free(RUN(NULL, "pkill", "-TERM", "-P", pane));
		while (!g_file_test(fx->status_file, G_FILE_TEST_EXISTS) &&
		       g_get_monotonic_time() < give_up)
			g_usleep(20 * 1000);
	}
	g_free(RUN(NULL, "tmux", "-L", fx->socket, "kill-server"));
	fx->tmux_running = FALSE;
	g_unlink(fx->status_file);
}

/* stops what the test started: tmux, av1d, the bus */
static void
fixture_kill(Fixture *fx)
{
	stop_tmux(fx);
	if (fx->daemon != NULL) {
		g_subprocess_send_signal(fx->daemon, SIGKILL);
		g_subprocess_wait(fx->daemon, NULL, NULL);
	}
	if (fx->bus != NULL) {
		g_subprocess_send_signal(fx->bus, SIGTERM);
		g_subprocess_wait(fx->bus, NULL, NULL);
	}
	g_clear_object(&fx->daemon);
	g_clear_object(&fx->bus);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	for (guint i = 0; i < G_N_ELEMENTS(abort_argv); i++)
		g_clear_pointer(&abort_argv[i], g_free);
	g_autofree gchar *log = av1top_log(fx);

	if (log[0] != '\0')
		g_test_message("av1top stderr:\n%s", log);
	fixture_kill(fx);
	av1d_test_rm_rf(fx->dir);
	g_free(fx->dir);
	g_free(fx->library);
	g_free(fx->config);
	g_free(fx->address);
	g_free(fx->socket);
	g_free(fx->status_file);
	g_free(fx->err_file);
}

/* --- tmux ----------------------------------------------------------------- */

/* av1top in a 120x40 tmux pane; its exit status lands in status_file */
static void
start_av1top(Fixture *fx, const gchar *const *env, const gchar *extra)
{
	g_autofree gchar *bin = g_shell_quote(g_getenv("AV1TOP_BIN"));
	g_autofree gchar *address = g_shell_quote(fx->address);
	g_autofree gchar *err = g_shell_quote(fx->err_file);
	g_autofree gchar *status = g_shell_quote(fx->status_file);
	g_autofree gchar *cmd = g_strdup_printf("%s --bus-address %s %s 2>%s; echo $? >%s", bin,
						address, extra != NULL ? extra : "", err, status);
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_auto(GStrv) argv = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(abort_argv); i++)
		g_clear_pointer(&abort_argv[i], g_free);
	abort_argv[0] = g_find_program_in_path("tmux");
	abort_argv[1] = g_strdup("-L");
	abort_argv[2] = g_strdup(fx->socket);
	abort_argv[3] = g_strdup("kill-server");
	g_strv_builder_add_many(builder, "tmux", "-L", fx->socket, "-f", "/dev/null",
				"new-session", "-d", "-x", "120", "-y", "40", NULL);
	for (guint i = 0; env != NULL && env[i] != NULL; i++)
		g_strv_builder_add_many(builder, "-e", env[i], NULL);
	g_strv_builder_add(builder, cmd);
	argv = g_strv_builder_end(builder);
	/* no pipe of ours may end up in the server, which outlives this call */
	proc = g_subprocess_newv((const gchar *const *)argv,
				 G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
				 &error);
	g_assert_no_error(error);
	g_assert_true(g_subprocess_wait_check(proc, NULL, NULL));
	fx->tmux_running = TRUE;
}

static gchar *
capture(Fixture *fx, gboolean escapes)
{
	if (escapes)
		return RUN(NULL, "tmux", "-L", fx->socket, "capture-pane", "-p", "-e");
	return RUN(NULL, "tmux", "-L", fx->socket, "capture-pane", "-p");
}

/* waits until the screen shows every one of @needles (NULL-terminated),
 * and returns it */
static gchar *
wait_screen_v(Fixture *fx, const gchar *const *needles)
{
	gint64 deadline = g_get_monotonic_time() + WAIT_SECS * G_USEC_PER_SEC;

	for (;;) {
		g_autofree gchar *screen = capture(fx, FALSE);
		gboolean all = screen != NULL;

		for (guint i = 0; all && needles[i] != NULL; i++)
			all = strstr(screen, needles[i]) != NULL;
		if (all)
			return g_steal_pointer(&screen);
		if (g_get_monotonic_time() > deadline) {
			g_autofree gchar *log = av1top_log(fx);

			FAIL(fx, "timed out waiting for \"%s\" on the screen:\n%s\nstderr: %s",
			     needles[0], screen, log);
		}
		g_usleep(50 * 1000);
	}
}
/* the screen, for the caller to free */
#define WAIT_SCREEN_GET(fx, ...) wait_screen_v(fx, (const gchar *const[]){__VA_ARGS__, NULL})
#define WAIT_SCREEN(fx, ...)     g_free(WAIT_SCREEN_GET(fx, __VA_ARGS__))

/* waits until no line of the screen contains @needle */
static void
wait_screen_without(Fixture *fx, const gchar *needle)
{
	gint64 deadline = g_get_monotonic_time() + WAIT_SECS * G_USEC_PER_SEC;

	for (;;) {
		g_autofree gchar *screen = capture(fx, FALSE);

		if (strstr(screen, needle) == NULL)
			return;
		if (g_get_monotonic_time() > deadline)
			FAIL(fx, "timed out waiting for \"%s\" to go:\n%s", needle, screen);
		g_usleep(50 * 1000);
	}
}

static void
send_keys_v(Fixture *fx, const gchar *const *keys)
{
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_auto(GStrv) argv = NULL;

	g_strv_builder_add_many(builder, "tmux", "-L", fx->socket, "send-keys", NULL);
	g_strv_builder_addv(builder, (const char **)keys);
	argv = g_strv_builder_end(builder);
	g_free(run_argv((const gchar *const *)argv, NULL));
}
#define SEND_KEYS(fx, ...) send_keys_v(fx, (const gchar *const[]){__VA_ARGS__, NULL})

/* the status av1top exited with, waiting for it */
static gint
wait_exit_status(Fixture *fx)
{
	g_autofree gchar *text = NULL;

	WAIT_FOR(g_file_test(fx->status_file, G_FILE_TEST_EXISTS) &&
		     g_file_get_contents(fx->status_file, &text, NULL, NULL) &&
		     strchr(text, '\n') != NULL,
		 "av1top to exit");
	return (gint)g_ascii_strtoll(text, NULL, 10);
}

/* narrows the table to the file @name (the filter key), cursor on it */
static void
select_job(Fixture *fx, const gchar *name)
{
	SEND_KEYS(fx, "/");
	WAIT_SCREEN(fx, "Filter: _");
	SEND_KEYS(fx, "-l", name);
	SEND_KEYS(fx, "Enter");
	WAIT_SCREEN(fx, "Filter: ", name);
}

static gboolean
in_library(Fixture *fx, const gchar *name)
{
	g_autofree gchar *path = g_build_filename(fx->library, name, NULL);

	return g_file_test(path, G_FILE_TEST_EXISTS);
}

/* --- the screen ------------------------------------------------------------ */

static void
test_shows_header_and_job_rows(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *screen = NULL;

	start_av1top(fx, NULL, NULL);
	screen = WAIT_SCREEN_GET(fx, "Encoder: software", FILM, SECOND, THIRD, "running", "pending",
			     "Running 1  Pending 2", "Done 0  Failed 0  Skipped 0");
	g_test_message("%s", screen);
	g_assert_nonnull(strstr(screen, "CPU["));
	g_assert_nonnull(strstr(screen, "Mem["));
	g_assert_nonnull(strstr(screen, "Free:"));
	g_assert_nonnull(strstr(screen, fx->library));
	g_assert_nonnull(strstr(screen, "STATUS"));
	g_assert_nonnull(strstr(screen, "PROGRESS"));
	g_assert_nonnull(strstr(screen, "q Quit"));
	/* no GPU on a machine without a render node: no meter */
	if (!g_file_test("/dev/dri", G_FILE_TEST_EXISTS))
		g_assert_null(strstr(screen, "GPU["));
}

static void
test_s_skips_a_pending_job(Fixture *fx, gconstpointer data)
{
	const gchar *name = pending_name(fx);
	g_autofree gchar *marker = g_strdup_printf("%s.av1skip", name);

	start_av1top(fx, NULL, NULL);
	WAIT_SCREEN(fx, name, "pending");
	select_job(fx, name);
	g_assert_false(in_library(fx, marker));
	SEND_KEYS(fx, "s");
	WAIT_FOR(in_library(fx, marker), marker);
	WAIT_SCREEN(fx, "cancelled", ": done");
}

static void
test_p_toggles_paused(Fixture *fx, gconstpointer data)
{
	start_av1top(fx, NULL, NULL);
	WAIT_SCREEN(fx, "Encoder: software", "active");
	SEND_KEYS(fx, "p");
	WAIT_FOR(output_is(fx, MANAGER_PROPERTY(fx, "Paused"), "b true\n"), "Paused true");
	WAIT_SCREEN(fx, "PAUSED", "Resume");
	SEND_KEYS(fx, "p");
	WAIT_FOR(output_is(fx, MANAGER_PROPERTY(fx, "Paused"), "b false\n"), "Paused false");
	wait_screen_without(fx, "PAUSED");
}

static void
test_c_asks_then_cancels_and_R_retries(Fixture *fx, gconstpointer data)
{
	const gchar *name = pending_name(fx);
	g_autofree gchar *status = NULL;

	start_av1top(fx, NULL, NULL);
	WAIT_SCREEN(fx, name);
	select_job(fx, name);
	SEND_KEYS(fx, "c");
	WAIT_SCREEN(fx, "? y/n", name);
	SEND_KEYS(fx, "n");
	WAIT_SCREEN(fx, "Not cancelled");
	status = job_status(fx, name);
	g_assert_cmpstr(status, ==, "pending");
	SEND_KEYS(fx, "c");
	WAIT_SCREEN(fx, "? y/n");
	SEND_KEYS(fx, "y");
	WAIT_SCREEN(fx, "cancelled");
	g_clear_pointer(&status, g_free);
	status = job_status(fx, name);
	g_assert_cmpstr(status, ==, "cancelled");
	SEND_KEYS(fx, "R");
	WAIT_SCREEN(fx, "Retry job", ": done");
	g_clear_pointer(&status, g_free);
	status = job_status(fx, name);
	g_assert_cmpstr(status, ==, "pending");
}

static void
test_daemon_errors_go_to_the_status_bar(Fixture *fx, gconstpointer data)
{
	const gchar *name = pending_name(fx);
	g_autofree gchar *screen = NULL;

	start_av1top(fx, NULL, NULL);
	WAIT_SCREEN(fx, name);
	select_job(fx, name);
	/* a pending job cannot be retried: org.av1d.Error.BadState */
	SEND_KEYS(fx, "R");
	screen = WAIT_SCREEN_GET(fx, "Retry job", "not possible in the job’s state");
	g_assert_nonnull(strstr(screen, "pending"));
	/* and av1top is still there */
	SEND_KEYS(fx, "Escape");
	WAIT_SCREEN(fx, FILM, SECOND, THIRD);
	g_assert_false(g_file_test(fx->status_file, G_FILE_TEST_EXISTS));
}

static gchar *
make_journal(Fixture *fx)
{
	g_autofree gchar *dir = g_build_filename(fx->dir, "journal", NULL);
	g_autofree gchar *file = g_build_filename(dir, "av1d.journal", NULL);
	g_autoptr(GString) text = g_string_new(NULL);
	g_autoptr(GSubprocess) remote = NULL;
	g_autoptr(GError) error = NULL;
	const gchar *remote_bin = g_file_test("/lib/systemd/systemd-journal-remote",
					      G_FILE_TEST_IS_EXECUTABLE)
				      ? "/lib/systemd/systemd-journal-remote"
				      : "/usr/lib/systemd/systemd-journal-remote";

	g_assert_cmpint(g_mkdir(dir, 0755), ==, 0);
	for (guint id = 1; id <= 3; id++)
		g_string_append_printf(text,
				       "__REALTIME_TIMESTAMP=%u000000\n__MONOTONIC_TIMESTAMP=%u\n"
				       "_BOOT_ID=0123456789abcdef0123456789abcdef\n"
				       "MESSAGE=journal line of job %u\nAV1D_JOB_ID=%u\n\n",
				       1764000000 + id, id, id, id);
	remote = g_subprocess_new(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
				  &error, remote_bin, "-o", file, "-", NULL);
	g_assert_no_error(error);
	g_subprocess_communicate_utf8(remote, text->str, NULL, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_true(g_subprocess_get_successful(remote));
	return g_steal_pointer(&dir);
}

static void
test_enter_shows_details_argv_and_journal(Fixture *fx, gconstpointer data)
{
	const gchar *name = running_name(fx);
	g_autofree gchar *journal = make_journal(fx);
	g_autofree gchar *quoted = g_shell_quote(journal);
	g_autofree gchar *extra = g_strdup_printf("--journal-dir %s", quoted);
	g_autofree gchar *screen = NULL;

	start_av1top(fx, NULL, extra);
	WAIT_SCREEN(fx, name);
	select_job(fx, name);
	SEND_KEYS(fx, "Enter");
	screen = WAIT_SCREEN_GET(fx, "source_path", "journal (AV1D_JOB_ID=", "journal line of job ",
			     "argv:", "fake-ffmpeg");
	g_test_message("%s", screen);
	g_assert_nonnull(strstr(screen, name));
	g_assert_nonnull(strstr(screen, "status             running"));
	/* the rest of the argv is further down */
	SEND_KEYS(fx, "End");
	WAIT_SCREEN(fx, "-progress", "matroska");
	SEND_KEYS(fx, "Escape");
	WAIT_SCREEN(fx, "STATUS", "PROGRESS");
}

static void
test_question_mark_lists_every_key(Fixture *fx, gconstpointer data)
{
	guint n_keys = 0;
	const Av1topKeyHelp *keys = av1top_keys_get_help(&n_keys);
	g_autofree gchar *screen = NULL;

	start_av1top(fx, NULL, NULL);
	WAIT_SCREEN(fx, "? Help");
	SEND_KEYS(fx, "?");
	screen = WAIT_SCREEN_GET(fx, "keys", "Press any key");
	for (guint i = 0; i < n_keys; i++) {
		g_autofree gchar *key = av1top_fit(keys[i].key, 10, FALSE);
		g_autofree gchar *line = g_strdup_printf(" %s %s", key, keys[i].description);

		g_assert_nonnull(strstr(screen, line));
	}
	SEND_KEYS(fx, "x");
	WAIT_SCREEN(fx, "STATUS");
}

static void
test_resize_to_40x10_and_back(Fixture *fx, gconstpointer data)
{
	const gchar *const sizes[][2] = {{"40", "10"}, {"12", "3"}, {"1", "1"}, {"120", "40"}};

	start_av1top(fx, NULL, NULL);
	WAIT_SCREEN(fx, "Encoder: software", FILM);
	for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
		g_autofree gchar *screen = NULL;
		g_auto(GStrv) lines = NULL;

		g_free(RUN(NULL, "tmux", "-L", fx->socket, "resize-window", "-x", sizes[i][0], "-y",
			   sizes[i][1]));
		SEND_KEYS(fx, "Down");
		if (i == 0) {
			screen = WAIT_SCREEN_GET(fx, "q Quit", "STATUS", "CPU[");
			lines = g_strsplit(screen, "\n", -1);
			g_assert_cmpuint(g_strv_length(lines), <=, 11);
			for (guint l = 0; lines[l] != NULL; l++)
				g_assert_cmpuint(g_utf8_strlen(lines[l], -1), <=, 40);
		}
		g_usleep(200 * 1000);
		g_assert_false(g_file_test(fx->status_file, G_FILE_TEST_EXISTS));
	}
	WAIT_SCREEN(fx, "Encoder: software", "Done 0", FILM, SECOND, THIRD);
}

static void
test_q_quits_with_status_0(Fixture *fx, gconstpointer data)
{
	start_av1top(fx, NULL, NULL);
	WAIT_SCREEN(fx, FILM);
	SEND_KEYS(fx, "q");
	g_assert_cmpint(wait_exit_status(fx), ==, 0);
}

static void
test_banner_when_the_daemon_stops_table_when_it_returns(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *screen = NULL;

	start_av1top(fx, NULL, NULL);
	WAIT_SCREEN(fx, FILM, "running");
	stop_daemon(fx);
	screen = WAIT_SCREEN_GET(fx, "av1d is not running");
	g_assert_null(strstr(screen, FILM));
	start_daemon(fx);
	WAIT_SCREEN(fx, FILM, SECOND, THIRD, "Encoder: software");
	wait_screen_without(fx, "not running");
}

static void
test_waits_for_a_daemon_that_is_not_there_yet(Fixture *fx, gconstpointer data)
{
	start_av1top(fx, NULL, NULL);
	WAIT_SCREEN(fx, "av1d is not running");
	start_daemon(fx);
	WAIT_SCREEN(fx, FILM, SECOND, THIRD);
	wait_screen_without(fx, "not running");
}

/* an SGR that sets a foreground or background colour */
static gboolean
has_colour(const gchar *screen)
{
	return g_regex_match_simple("\\x1b\\[[0-9;]*[34][0-7](;[0-9;]*)?m", screen, 0, 0);
}

static void
test_no_color_draws_without_colour(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *coloured = NULL;
	g_autofree gchar *plain = NULL;

	start_av1top(fx, NULL, NULL);
	WAIT_SCREEN(fx, FILM, "running");
	coloured = capture(fx, TRUE);
	g_assert_true(has_colour(coloured));
	stop_tmux(fx);
	start_av1top(fx, (const gchar *const[]){"NO_COLOR=1", NULL}, NULL);
	WAIT_SCREEN(fx, FILM, "running");
	plain = capture(fx, TRUE);
	g_assert_false(has_colour(plain));
	/* still tells the selected row apart: reverse video */
	g_assert_nonnull(strstr(plain, "\x1b[7m"));
}

/* --- the command line ------------------------------------------------------ */

static JsonNode *
parse_json(const gchar *text)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;

	json_parser_load_from_data(parser, text, -1, &error);
	g_assert_no_error(error);
	return json_node_copy(json_parser_get_root(parser));
}

static gint64
property_number(Fixture *fx, const gchar *name)
{
	g_autofree gchar *out = MANAGER_PROPERTY(fx, name);

	/* "u 2\n" or "t 0\n" */
	return g_ascii_strtoll(out + 2, NULL, 10);
}

static void
test_once_json_matches_busctl(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *address = g_strdup_printf("--bus-address=%s", fx->address);
	g_autofree gchar *out = NULL, *listed = NULL, *encoder = NULL;
	g_autoptr(JsonNode) snapshot = NULL, bus_view = NULL;
	JsonObject *root, *totals;
	JsonArray *jobs, *bus_jobs;
	gint status = -1;

	g_free(MANAGER(fx, "Pause"));
	/* nothing moves on between the two views but the progress */
	WAIT_FOR(output_is(fx, job_field(fx, running_name(fx), 3), "encoding"), "encoding");
	out = RUN(&status, g_getenv("AV1TOP_BIN"), "--once", "--json", address);
	g_assert_cmpint(status, ==, 0);
	snapshot = parse_json(out);
	listed = BUSCTL(fx, "--json=short", "call", "org.av1d", "/org/av1d", "org.av1d.Manager1",
			"ListJobs");
	bus_view = parse_json(listed);
	root = json_node_get_object(snapshot);
	totals = json_object_get_object_member(root, "totals");
	encoder = MANAGER_PROPERTY(fx, "Encoder");
	g_assert_cmpstr(encoder, ==, "s \"software\"\n");
	g_assert_cmpstr(json_object_get_string_member(root, "encoder"), ==, "software");
	g_assert_true(json_object_get_boolean_member(root, "paused"));
	g_assert_cmpint(json_object_get_int_member(totals, "running"), ==,
			property_number(fx, "RunningCount"));
	g_assert_cmpint(json_object_get_int_member(totals, "pending"), ==,
			property_number(fx, "PendingCount"));
	g_assert_cmpint(json_object_get_int_member(totals, "bytes_saved"), ==,
			property_number(fx, "BytesSaved"));
	g_assert_true(json_object_has_member(json_object_get_object_member(root, "host"),
					     "cpu_percent"));
	jobs = json_object_get_array_member(root, "jobs");
	bus_jobs = json_array_get_array_element(
	    json_object_get_array_member(json_node_get_object(bus_view), "data"), 0);
	g_assert_cmpuint(json_array_get_length(jobs), ==, 3);
	g_assert_cmpuint(json_array_get_length(bus_jobs), ==, 3);
	/* the table's order: the running job first */
	g_assert_cmpstr(json_object_get_string_member(json_array_get_object_element(jobs, 0),
						      "status"),
			==, "running");
	for (guint i = 0; i < json_array_get_length(bus_jobs); i++) {
		JsonArray *bus_job = json_array_get_array_element(bus_jobs, i);
		gboolean found = FALSE;

		for (guint j = 0; j < json_array_get_length(jobs); j++) {
			JsonObject *job = json_array_get_object_element(jobs, j);

			if (json_object_get_int_member(job, "id") !=
			    json_array_get_int_element(bus_job, 0))
				continue;
			found = TRUE;
			g_assert_cmpstr(json_object_get_string_member(job, "path"), ==,
					json_array_get_string_element(bus_job, 1));
			g_assert_cmpstr(json_object_get_string_member(job, "status"), ==,
					json_array_get_string_element(bus_job, 2));
			g_assert_cmpstr(json_object_get_string_member(job, "stage"), ==,
					json_array_get_string_element(bus_job, 3));
			g_assert_cmpint(json_object_get_int_member(job, "original_bytes"), ==,
					json_array_get_int_element(bus_job, 6));
		}
		g_assert_true(found);
	}
}

static void
test_once_without_daemon_fails_with_1(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *address = g_strdup_printf("--bus-address=%s", fx->address);
	g_autoptr(Av1dTestRun) run = g_new0(Av1dTestRun, 1);
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;

	proc = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
				&error, g_getenv("AV1TOP_BIN"), "--once", "--json", address, NULL);
	g_assert_no_error(error);
	g_subprocess_communicate_utf8(proc, NULL, NULL, &run->out, &run->err, &error);
	g_assert_no_error(error);
	g_assert_cmpint(g_subprocess_get_exit_status(proc), ==, 1);
	g_assert_cmpstr(run->out, ==, "");
	g_assert_nonnull(strstr(run->err, "av1d is not running"));
}

/* av1top with @args: exit status, stdout, stderr */
static Av1dTestRun *
run_av1top(const gchar *const *args)
{
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_auto(GStrv) argv = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	Av1dTestRun *run = g_new0(Av1dTestRun, 1);

	g_strv_builder_add(builder, g_getenv("AV1TOP_BIN"));
	g_strv_builder_addv(builder, (const char **)args);
	argv = g_strv_builder_end(builder);
	proc = g_subprocess_newv((const gchar *const *)argv,
				 G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
				 &error);
	g_assert_no_error(error);
	g_subprocess_communicate_utf8(proc, NULL, NULL, &run->out, &run->err, &error);
	g_assert_no_error(error);
	run->status = g_subprocess_get_exit_status(proc);
	return run;
}
#define AV1TOP(...) run_av1top((const gchar *const[]){__VA_ARGS__, NULL})

static void
test_command_line(void)
{
	g_autoptr(Av1dTestRun) help = AV1TOP("--help");
	g_autoptr(Av1dTestRun) version = AV1TOP("--version");
	g_autoptr(Av1dTestRun) bad = AV1TOP("--frobnicate");
	g_autoptr(Av1dTestRun) stray = AV1TOP("extra");
	g_autoptr(Av1dTestRun) json_alone = AV1TOP("--json");
	g_autoptr(Av1dTestRun) both = AV1TOP("--system", "--bus-address=unix:path=/x");
	g_autoptr(Av1dTestRun) no_bus =
	    AV1TOP("--once", "--bus-address=unix:path=/nonexistent/av1top-bus");

	g_assert_cmpint(help->status, ==, 0);
	g_assert_nonnull(strstr(help->out, "--once"));
	g_assert_nonnull(strstr(help->out, "--json"));
	g_assert_nonnull(strstr(help->out, "--bus-address"));
	g_assert_nonnull(strstr(help->out, "--system"));
	g_assert_cmpint(version->status, ==, 0);
	g_assert_cmpstr(version->out, ==, "av1top " PACKAGE_VERSION "\n");
	g_assert_cmpint(bad->status, ==, 2);
	g_assert_nonnull(strstr(bad->err, "--frobnicate"));
	g_assert_nonnull(strstr(bad->err, "--help"));
	g_assert_cmpint(stray->status, ==, 2);
	g_assert_nonnull(strstr(stray->err, "extra"));
	g_assert_cmpint(json_alone->status, ==, 2);
	g_assert_cmpint(both->status, ==, 2);
	g_assert_cmpint(no_bus->status, ==, 1);
	g_assert_nonnull(strstr(no_bus->err, "bus"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	signal(SIGABRT, on_abort);

#define ADD(path, func) g_test_add(path, Fixture, NULL, fixture_setup, func, fixture_teardown)
	/* no daemon at the start */
#define ADD_NO_DAEMON(path, func)                                                                  \
	g_test_add(path, Fixture, "no daemon", fixture_setup, func, fixture_teardown)
	ADD("/av1top/tui/shows-header-and-job-rows", test_shows_header_and_job_rows);
	ADD("/av1top/tui/s-skips-a-pending-job", test_s_skips_a_pending_job);
	ADD("/av1top/tui/p-toggles-paused", test_p_toggles_paused);
	ADD("/av1top/tui/c-asks-then-cancels-and-R-retries", test_c_asks_then_cancels_and_R_retries);
	ADD("/av1top/tui/daemon-errors-go-to-the-status-bar", test_daemon_errors_go_to_the_status_bar);
	ADD("/av1top/tui/enter-shows-details-argv-and-journal",
	    test_enter_shows_details_argv_and_journal);
	ADD("/av1top/tui/question-mark-lists-every-key", test_question_mark_lists_every_key);
	ADD("/av1top/tui/resize-to-40x10-and-back", test_resize_to_40x10_and_back);
	ADD("/av1top/tui/q-quits-with-status-0", test_q_quits_with_status_0);
	ADD("/av1top/tui/banner-when-the-daemon-stops-table-when-it-returns",
	    test_banner_when_the_daemon_stops_table_when_it_returns);
	ADD_NO_DAEMON("/av1top/tui/waits-for-a-daemon-that-is-not-there-yet",
		      test_waits_for_a_daemon_that_is_not_there_yet);
	ADD("/av1top/tui/no-color-draws-without-colour", test_no_color_draws_without_colour);
	ADD("/av1top/cli/once-json-matches-busctl", test_once_json_matches_busctl);
	ADD_NO_DAEMON("/av1top/cli/once-without-daemon-fails-with-1",
		      test_once_without_daemon_fails_with_1);
	g_test_add_func("/av1top/cli/flags-help-version-and-usage-errors", test_command_line);
	return g_test_run();
}
