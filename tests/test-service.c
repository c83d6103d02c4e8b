/*
 * The real daemon on a private session bus, driven with the real busctl:
 * it owns org.av1d, answers Manager1 calls, rejects paths outside the
 * library with org.av1d.Error.OutsideLibrary, and stops cleanly on SIGTERM.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>

#include "av1d-test-util.h"

typedef struct {
	gchar *dir;
	gchar *library;
	gchar *config;
	gchar *address;
	GSubprocess *bus;
	GSubprocess *daemon;
} Fixture;

/* @debug: busctl prints only an error's message; its debug log also names
 * the error ("error-name=org.av1d.Error.…") */
static gchar *
busctl_full(Fixture *fx, gboolean debug, gint *status, const gchar *const *args)
{
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(
	    G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_autofree gchar *address = g_strdup_printf("--address=%s", fx->address);
	g_auto(GStrv) argv = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	gchar *out = NULL, *err = NULL;

	if (debug)
		g_subprocess_launcher_setenv(launcher, "SYSTEMD_LOG_LEVEL", "debug", TRUE);
	g_strv_builder_add_many(builder, "busctl", address, NULL);
	g_strv_builder_addv(builder, (const char **)args);
	argv = g_strv_builder_end(builder);
	proc = g_subprocess_launcher_spawnv(launcher, (const gchar *const *)argv, &error);
	g_assert_no_error(error);
	g_subprocess_communicate_utf8(proc, NULL, NULL, &out, &err, &error);
	g_assert_no_error(error);
	*status = g_subprocess_get_exit_status(proc);
	g_test_message("busctl %s -> %d: %s", args[0], *status, out);
	return out;
}

#define BUSCTL(fx, status, ...)                                                                    \
	busctl_full(fx, FALSE, status, (const gchar *const[]){__VA_ARGS__, NULL})
#define BUSCTL_DEBUG(fx, status, ...)                                                              \
	busctl_full(fx, TRUE, status, (const gchar *const[]){__VA_ARGS__, NULL})

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GDataInputStream) out = NULL;
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *log = NULL;
	gint status = 1;

	fx->dir = g_dir_make_tmp("av1d-test-service-XXXXXX", &error);
	g_assert_no_error(error);
	fx->library = g_build_filename(fx->dir, "library", NULL);
	fx->config = g_build_filename(fx->dir, "config.toml", NULL);
	g_assert_cmpint(g_mkdir(fx->library, 0755), ==, 0);
	text = g_strdup_printf("library_roots = [\"%s\"]\nmin_bytes = 1\nstable_secs = 0\n"
			       "job_state_dir = \"%s/state\"\n",
			       fx->library, fx->dir);
	g_assert_true(g_file_set_contents(fx->config, text, -1, NULL));

	/* a private bus, so that the test never meets the user's */
	fx->bus = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "dbus-daemon",
				   "--session", "--nofork", "--print-address=1", NULL);
	g_assert_no_error(error);
	out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(fx->bus));
	fx->address = g_data_input_stream_read_line(out, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_nonnull(fx->address);

	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
	log = g_build_filename(fx->dir, "daemon.log", NULL);
	g_subprocess_launcher_set_stderr_file_path(launcher, log);
	g_subprocess_launcher_setenv(launcher, "DBUS_SESSION_BUS_ADDRESS", fx->address, TRUE);
	fx->daemon = g_subprocess_launcher_spawn(launcher, &error, g_getenv("AV1D_BIN"),
						 "--config", fx->config, NULL);
	g_assert_no_error(error);
	/* wait until the name is on the bus */
	for (guint i = 0; i < 300; i++) {
		g_autofree gchar *owned =
		    BUSCTL(fx, &status, "call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
			   "org.freedesktop.DBus", "NameHasOwner", "s", "org.av1d");
		if (g_strcmp0(owned, "b true\n") == 0)
			break;
		g_usleep(50 * 1000);
	}
	g_assert_cmpint(status, ==, 0);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	if (fx->daemon != NULL) {
		g_subprocess_send_signal(fx->daemon, SIGKILL);
		g_subprocess_wait(fx->daemon, NULL, NULL);
	}
	g_subprocess_send_signal(fx->bus, SIGTERM);
	g_subprocess_wait(fx->bus, NULL, NULL);
	g_clear_object(&fx->daemon);
	g_clear_object(&fx->bus);
	av1d_test_rm_rf(fx->dir);
	g_free(fx->dir);
	g_free(fx->library);
	g_free(fx->config);
	g_free(fx->address);
}

static void
test_owns_the_name_and_answers(Fixture *fx, gconstpointer data)
{
	gint status = 0;
	g_autofree gchar *version =
	    BUSCTL(fx, &status, "get-property", "org.av1d", "/org/av1d", "org.av1d.Manager1",
		   "Version");
	g_autofree gchar *tree = NULL;
	g_autofree gchar *roots = NULL;

	g_assert_cmpint(status, ==, 0);
	g_assert_cmpstr(version, ==, "s \"" PACKAGE_VERSION "\"\n");
	roots = BUSCTL(fx, &status, "get-property", "org.av1d", "/org/av1d", "org.av1d.Manager1",
		       "Roots");
	g_assert_nonnull(strstr(roots, fx->library));
	tree = BUSCTL(fx, &status, "introspect", "org.av1d", "/org/av1d");
	g_assert_cmpint(status, ==, 0);
	g_assert_nonnull(strstr(tree, "org.av1d.Manager1"));
	g_assert_nonnull(strstr(tree, "org.freedesktop.DBus.ObjectManager"));
}

static void
test_pause_and_resume(Fixture *fx, gconstpointer data)
{
	gint status = 0;
	g_autofree gchar *paused = NULL;
	g_autofree gchar *resumed = NULL;

	g_free(BUSCTL(fx, &status, "call", "org.av1d", "/org/av1d", "org.av1d.Manager1", "Pause"));
	g_assert_cmpint(status, ==, 0);
	paused = BUSCTL(fx, &status, "get-property", "org.av1d", "/org/av1d", "org.av1d.Manager1",
			"Paused");
	g_assert_cmpstr(paused, ==, "b true\n");
	g_free(BUSCTL(fx, &status, "call", "org.av1d", "/org/av1d", "org.av1d.Manager1", "Resume"));
	resumed = BUSCTL(fx, &status, "get-property", "org.av1d", "/org/av1d", "org.av1d.Manager1",
			 "Paused");
	g_assert_cmpstr(resumed, ==, "b false\n");
}

static void
test_skip_outside_the_library_is_refused(Fixture *fx, gconstpointer data)
{
	gint status = 0;
	g_autofree gchar *sneaky = g_build_filename(fx->library, "..", "..", "etc", "passwd", NULL);
	g_autofree gchar *direct = BUSCTL_DEBUG(fx, &status, "call", "org.av1d", "/org/av1d",
						"org.av1d.Manager1", "Skip", "s", "/etc/passwd");
	g_autofree gchar *dotdot = NULL;

	g_assert_cmpint(status, !=, 0);
	g_assert_nonnull(strstr(direct, "org.av1d.Error.OutsideLibrary"));
	dotdot = BUSCTL_DEBUG(fx, &status, "call", "org.av1d", "/org/av1d", "org.av1d.Manager1",
			      "Skip", "s", sneaky);
	g_assert_cmpint(status, !=, 0);
	g_assert_nonnull(strstr(dotdot, "org.av1d.Error.OutsideLibrary"));
	g_assert_false(g_file_test("/etc/passwd.av1skip", G_FILE_TEST_EXISTS));
}

static void
test_sigterm_stops_cleanly(Fixture *fx, gconstpointer data)
{
	g_subprocess_send_signal(fx->daemon, SIGTERM);
	g_assert_true(g_subprocess_wait(fx->daemon, NULL, NULL));
	g_assert_true(g_subprocess_get_if_exited(fx->daemon));
	g_assert_cmpint(g_subprocess_get_exit_status(fx->daemon), ==, 0);
	g_clear_object(&fx->daemon);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

#define ADD(path, func) g_test_add(path, Fixture, NULL, fixture_setup, func, fixture_teardown)
	ADD("/av1d/service/owns-the-name-and-answers-busctl", test_owns_the_name_and_answers);
	ADD("/av1d/service/pause-and-resume-through-busctl", test_pause_and_resume);
	ADD("/av1d/service/skip-outside-the-library-is-refused",
	    test_skip_outside_the_library_is_refused);
	ADD("/av1d/service/sigterm-stops-cleanly", test_sigterm_stops_cleanly);
	return g_test_run();
}
