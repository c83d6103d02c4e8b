/*
 * The av1d command line as a user meets it: the real binary, its exit codes
 * (SPEC 13: 0 ok, 1 runtime failure, 2 usage/config error) and messages.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <gio/gio.h>
#include <signal.h>

#include "av1d-test-util.h"


static gchar *
make_tmp_dir(void)
{
	g_autoptr(GError) error = NULL;
	gchar *dir = g_dir_make_tmp("av1d-test-cli-XXXXXX", &error);

	g_assert_no_error(error);
	return dir;
}

static void
test_help_documents_everything(void)
{
	g_autoptr(Av1dTestRun) r = AV1D_RUN("--help");
	const gchar *const expected[] = {"--config", "--once", "--dry-run", "--verbose",
					 "--version", "check", "explain PATH", "skip PATH",
					 "Exit status", NULL};

	g_assert_cmpint(r->status, ==, 0);
	for (guint i = 0; expected[i] != NULL; i++)
		g_assert_nonnull(strstr(r->out, expected[i]));
}

static void
test_version(void)
{
	g_autoptr(Av1dTestRun) r = AV1D_RUN("--version");

	g_assert_cmpint(r->status, ==, 0);
	g_assert_cmpstr(r->out, ==, "av1d " PACKAGE_VERSION "\n");
}

static void
test_unknown_option_is_usage_error(void)
{
	g_autoptr(Av1dTestRun) r = AV1D_RUN("--frobnicate");

	g_assert_cmpint(r->status, ==, 2);
	g_assert_nonnull(strstr(r->err, "frobnicate"));
	g_assert_nonnull(strstr(r->err, "--help"));
}

static void
test_subcommand_arguments_are_checked(void)
{
	g_autoptr(Av1dTestRun) explain = AV1D_RUN("explain");
	g_autoptr(Av1dTestRun) skip = AV1D_RUN("skip", "/a", "/b");
	g_autoptr(Av1dTestRun) check = AV1D_RUN("check", "/nonexistent/library");

	g_assert_cmpint(explain->status, ==, 2);
	g_assert_nonnull(strstr(explain->err, "explain"));
	g_assert_cmpint(skip->status, ==, 2);
	g_assert_cmpint(check->status, ==, 2);
	g_assert_nonnull(strstr(check->err, "/nonexistent/library"));
}

static void
test_no_roots_is_usage_error(void)
{
	g_autoptr(Av1dTestRun) r = AV1D_RUN("--once");

	g_assert_cmpint(r->status, ==, 2);
	g_assert_nonnull(strstr(r->err, "no library roots"));
}

static void
test_missing_root_is_usage_error(void)
{
	g_autoptr(Av1dTestRun) r = AV1D_RUN("--once", "/nonexistent/library");

	g_assert_cmpint(r->status, ==, 2);
	g_assert_nonnull(strstr(r->err, "/nonexistent/library"));
}

/* a bad config stops av1d before it creates or changes anything: the state
 * directory it names must not appear */
static void
test_config_error_touches_nothing(void)
{
	g_autofree gchar *dir = make_tmp_dir();
	g_autofree gchar *state = g_build_filename(dir, "state", NULL);
	g_autofree gchar *config = g_build_filename(dir, "config.toml", NULL);
	g_autofree gchar *text = g_strdup_printf("library_roots = [\"%s\"]\n"
						 "job_state_dir = \"%s\"\n"
						 "min_bytes = 0\n",
						 dir, state);
	g_autoptr(Av1dTestRun) r = NULL;

	g_assert_true(g_file_set_contents(config, text, -1, NULL));
	r = AV1D_RUN("--once", "--config", config);
	g_assert_cmpint(r->status, ==, 2);
	g_assert_nonnull(strstr(r->err, "config.toml:3:1: key 'min_bytes'"));
	g_assert_false(g_file_test(state, G_FILE_TEST_EXISTS));
	g_unlink(config);
	g_rmdir(dir);
}

static void
test_once_on_empty_root_succeeds(void)
{
	g_autofree gchar *dir = make_tmp_dir();
	g_autofree gchar *state = g_build_filename(dir, "state", NULL);
	g_autofree gchar *config = g_build_filename(dir, "config.json", NULL);
	g_autofree gchar *text = g_strdup_printf("{\"job_state_dir\": \"%s\"}", state);
	g_autoptr(Av1dTestRun) r = NULL;

	g_assert_true(g_file_set_contents(config, text, -1, NULL));
	r = AV1D_RUN("--once", "--config", config, dir);
	g_assert_cmpint(r->status, ==, 0);
	/* the store was opened where the config said */
	g_assert_true(g_file_test(state, G_FILE_TEST_IS_DIR));
}

static gboolean
on_timeout(gpointer user_data)
{
	g_error("av1d did not react in time");
	return G_SOURCE_REMOVE;
}

/* the daemon runs until SIGTERM/SIGINT and then exits 0 */
static void
assert_signal_stops_cleanly(int signum)
{
	g_autofree gchar *dir = make_tmp_dir();
	g_autofree gchar *state = g_build_filename(dir, "state", NULL);
	g_autoptr(GSubprocessLauncher) launcher =
	    g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDERR_PIPE);
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GDataInputStream) err = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *line = NULL;
	guint timeout_id = g_timeout_add_seconds(30, on_timeout, NULL);

	g_subprocess_launcher_setenv(launcher, "AV1D_STATE_DIR", state, TRUE);
	proc = g_subprocess_launcher_spawn(launcher, &error, g_getenv("AV1D_BIN"), dir, NULL);
	g_assert_no_error(error);
	err = g_data_input_stream_new(g_subprocess_get_stderr_pipe(proc));
	/* wait until the loop runs: the daemon logs "started" */
	do {
		g_free(line);
		line = g_data_input_stream_read_line(err, NULL, NULL, &error);
		g_assert_no_error(error);
		g_assert_nonnull(line);
	} while (strstr(line, "started") == NULL);
	g_subprocess_send_signal(proc, signum);
	g_assert_true(g_subprocess_wait(proc, NULL, &error));
	g_assert_true(g_subprocess_get_if_exited(proc));
	g_assert_cmpint(g_subprocess_get_exit_status(proc), ==, 0);
	g_source_remove(timeout_id);
}

static void
test_sigterm_stops_cleanly(void)
{
	assert_signal_stops_cleanly(SIGTERM);
}

static void
test_sigint_stops_cleanly(void)
{
	assert_signal_stops_cleanly(SIGINT);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

	g_test_add_func("/av1d/cli/help-documents-every-option-and-command",
			test_help_documents_everything);
	g_test_add_func("/av1d/cli/version-prints-the-version", test_version);
	g_test_add_func("/av1d/cli/unknown-option-exits-2", test_unknown_option_is_usage_error);
	g_test_add_func("/av1d/cli/subcommand-arguments-are-checked",
			test_subcommand_arguments_are_checked);
	g_test_add_func("/av1d/cli/no-roots-exits-2", test_no_roots_is_usage_error);
	g_test_add_func("/av1d/cli/missing-root-exits-2", test_missing_root_is_usage_error);
	g_test_add_func("/av1d/cli/config-error-exits-2-and-touches-nothing",
			test_config_error_touches_nothing);
	g_test_add_func("/av1d/cli/once-on-an-empty-root-exits-0", test_once_on_empty_root_succeeds);
	g_test_add_func("/av1d/cli/sigterm-stops-the-daemon-cleanly", test_sigterm_stops_cleanly);
	g_test_add_func("/av1d/cli/sigint-stops-the-daemon-cleanly", test_sigint_stops_cleanly);
	return g_test_run();
}
