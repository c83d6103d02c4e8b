/*
 * Stopping an encode that runs in a real container (issue 9): a D-Bus
 * Cancel, a daemon stop (SIGTERM) and a kill -9 of the daemon, each while the
 * container encodes (the image's shim reads the input at its native rate, so
 * the encode of a 20 s clip lasts 20 s). After a cancel or a stop the
 * container is gone within 5 s (`docker kill`); after a kill -9 it lives on,
 * and the next start removes it and rolls the job back. Every time: no temp
 * left, the original byte-identical.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>

#include "av1d-docker-test.h"
#include "av1d-test-util.h"

#define CLIP	     "clip.mkv"
#define CLIP_SECONDS 20

typedef struct {
	Av1dDockerWorld *w;
	gchar *source;
	gchar *checksum;
	gchar *log;    /* the daemon's stderr */
	GSubprocess *bus;
	gchar *address;
	GSubprocess *daemon;
} Fixture;

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	if (!av1d_docker_test_require_engine())
		return;
	fx->w = av1d_docker_world_new();
	fx->source = av1d_docker_world_add_long_clip(fx->w, CLIP, CLIP_SECONDS);
	fx->checksum = av1d_test_checksum(fx->source);
	fx->log = g_build_filename(fx->w->dir, "daemon.log", NULL);
	/* the sticky bit makes the shim read at the native rate */
	g_assert_cmpint(g_chmod(fx->source, 01644), ==, 0);
	av1d_docker_world_use_image(fx->w, "docker-qsv");
}

static void
stop_process(GSubprocess **proc, gint sig)
{
	if (*proc == NULL)
		return;
	g_subprocess_send_signal(*proc, sig);
	g_assert_true(g_subprocess_wait(*proc, NULL, NULL));
	g_clear_object(proc);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	stop_process(&fx->daemon, SIGKILL);
	stop_process(&fx->bus, SIGTERM);
	g_clear_pointer(&fx->w, av1d_docker_world_free);
	g_free(fx->source);
	g_free(fx->checksum);
	g_free(fx->log);
	g_free(fx->address);
}

static void
start_bus(Fixture *fx)
{
	const gchar *argv[] = {"dbus-daemon", "--session", "--print-address=1", "--nofork", NULL};
	g_autoptr(GDataInputStream) out = NULL;
	g_autoptr(GError) error = NULL;

	fx->bus = g_subprocess_newv(
		argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);
	g_assert_no_error(error);
	out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(fx->bus));
	fx->address = g_data_input_stream_read_line(out, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_nonnull(fx->address);
}

/* daemon mode on the private bus, or --once */
static void
start_av1d(Fixture *fx, gboolean once)
{
	g_autoptr(GSubprocessLauncher) launcher =
		g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
	g_autoptr(GError) error = NULL;

	g_subprocess_launcher_set_stderr_file_path(launcher, fx->log);
	if (fx->address != NULL)
		g_subprocess_launcher_setenv(launcher, "DBUS_SESSION_BUS_ADDRESS", fx->address,
					     TRUE);
	fx->daemon = g_subprocess_launcher_spawn(launcher, &error, g_getenv("AV1D_BIN"),
						 "--config", fx->w->config,
						 once ? "--once" : NULL, NULL);
	g_assert_no_error(error);
}

static gchar *
read_log(Fixture *fx)
{
	gchar *text = NULL;

	g_file_get_contents(fx->log, &text, NULL, NULL);
	return text != NULL ? text : g_strdup("");
}

/* the job's status once it is @status, or a test error after 60 s */
static void
wait_job_status(Fixture *fx, const gchar *status)
{
	gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

	while (g_get_monotonic_time() < deadline) {
		g_autoptr(JsonObject) job = av1d_docker_world_job(fx->w, fx->w->first_id);

		if (job != NULL &&
		    g_strcmp0(json_object_get_string_member(job, "status"), status) == 0)
			return;
		g_usleep(100 * 1000);
	}
	g_error("job never became %s; daemon log:\n%s", status, read_log(fx));
}

/* what must hold however the encode was stopped */
static void
assert_original_untouched(Fixture *fx)
{
	g_autofree gchar *listing = av1d_test_list_dir(fx->w->library);
	g_autofree gchar *checksum = av1d_test_checksum(fx->source);

	g_assert_cmpstr(checksum, ==, fx->checksum);
	av1d_test_assert_no_temps(fx->w->library);
	g_assert_null(strstr(listing, ".orig."));
}

/* the container is gone within 5 s of @since (monotonic µs) */
static void
assert_container_gone(Fixture *fx, const gchar *instance, gint64 since)
{
	gint64 waited = av1d_docker_wait_no_containers(instance, 5000);
	g_autofree gchar *left = NULL;

	if (waited < 0) {
		left = av1d_docker_containers(instance);
		g_error("containers still there 5 s after the stop: %s", left);
	}
	g_test_message("container gone %" G_GINT64_FORMAT " ms after the stop",
		       (g_get_monotonic_time() - since) / 1000);
	g_assert_cmpint(g_get_monotonic_time() - since, <, 5 * G_USEC_PER_SEC);
}

static void
test_cancel_mid_encode(Fixture *fx, gconstpointer data)
{
	g_autoptr(GDBusConnection) bus = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *instance = NULL;
	gint64 cancelled_at;

	if (fx->w == NULL)
		return;
	start_bus(fx);
	start_av1d(fx, FALSE);
	instance = av1d_docker_world_wait_encoding(fx->w, fx->w->first_id, fx->w->library);
	g_usleep(G_USEC_PER_SEC);

	bus = g_dbus_connection_new_for_address_sync(
		fx->address,
		G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
			G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
		NULL, NULL, &error);
	g_assert_no_error(error);
	cancelled_at = g_get_monotonic_time();
	reply = g_dbus_connection_call_sync(bus, "org.av1d", "/org/av1d", "org.av1d.Manager1",
					    "Cancel", g_variant_new("(t)", fx->w->first_id), NULL,
					    G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
	g_assert_no_error(error);
	assert_container_gone(fx, instance, cancelled_at);
	wait_job_status(fx, "cancelled");
	assert_original_untouched(fx);

	/* the daemon goes on, and stops cleanly */
	g_subprocess_send_signal(fx->daemon, SIGTERM);
	g_assert_true(g_subprocess_wait(fx->daemon, NULL, NULL));
	g_assert_true(g_subprocess_get_if_exited(fx->daemon));
	g_assert_cmpint(g_subprocess_get_exit_status(fx->daemon), ==, 0);
	g_clear_object(&fx->daemon);
}

static void
test_stop_mid_encode(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *instance = NULL;
	g_autoptr(JsonObject) job = NULL;
	gint64 stopped_at;

	if (fx->w == NULL)
		return;
	start_bus(fx);
	start_av1d(fx, FALSE);
	instance = av1d_docker_world_wait_encoding(fx->w, fx->w->first_id, fx->w->library);
	g_usleep(G_USEC_PER_SEC);

	stopped_at = g_get_monotonic_time();
	g_subprocess_send_signal(fx->daemon, SIGTERM);
	assert_container_gone(fx, instance, stopped_at);
	g_assert_true(g_subprocess_wait(fx->daemon, NULL, NULL));
	g_assert_true(g_subprocess_get_if_exited(fx->daemon));
	g_assert_cmpint(g_subprocess_get_exit_status(fx->daemon), ==, 0);
	g_clear_object(&fx->daemon);
	/* interrupted, not failed: it runs again on the next start */
	job = av1d_docker_world_job(fx->w, fx->w->first_id);
	g_assert_cmpstr(json_object_get_string_member(job, "status"), ==, "pending");
	assert_original_untouched(fx);
}

static void
test_kill_9_mid_encode(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *instance = NULL;
	g_autofree gchar *running = NULL;
	g_autofree gchar *log = NULL;
	g_autofree gchar *removed = NULL;
	g_autofree gchar *backup = NULL;
	g_autofree gchar *backup_sum = NULL;
	g_autofree gchar *codec = NULL;
	g_autofree gchar *left = NULL;
	g_autofree gchar *checksum = NULL;
	g_autofree gchar *listing = NULL;

	if (fx->w == NULL)
		return;
	start_av1d(fx, TRUE);
	instance = av1d_docker_world_wait_encoding(fx->w, fx->w->first_id, fx->w->library);
	g_usleep(G_USEC_PER_SEC);
	stop_process(&fx->daemon, SIGKILL);

	/* the daemon is gone, its container is not: it still writes the temp */
	running = av1d_docker_containers(instance);
	g_test_message("after kill -9: %s", running);
	g_assert_nonnull(strstr(running, " Up "));
	checksum = av1d_test_checksum(fx->source);
	g_assert_cmpstr(checksum, ==, fx->checksum);

	/* the next start removes it first, rolls the job back, then encodes
	 * again (at full speed this time) */
	g_assert_cmpint(g_chmod(fx->source, 0644), ==, 0);
	start_av1d(fx, TRUE);
	g_assert_true(g_subprocess_wait(fx->daemon, NULL, NULL));
	log = read_log(fx);
	g_test_message("restart:\n%s", log);
	g_assert_true(g_subprocess_get_if_exited(fx->daemon));
	g_assert_cmpint(g_subprocess_get_exit_status(fx->daemon), ==, 0);
	g_clear_object(&fx->daemon);
	removed = g_strdup_printf("removed container av1d-%" G_GUINT64_FORMAT " (job %" G_GUINT64_FORMAT,
				  fx->w->first_id, fx->w->first_id);
	g_assert_nonnull(strstr(log, removed));
	g_assert_nonnull(strstr(log, "recovered: "));
	g_assert_true(strstr(log, removed) < strstr(log, "recovered: "));
	left = av1d_docker_containers(instance);
	g_assert_cmpstr(left, ==, "");

	/* nothing lost: the original is the backup, byte for byte */
	backup = g_build_filename(fx->w->library, "clip.orig.mkv", NULL);
	backup_sum = av1d_test_checksum(backup);
	g_assert_cmpstr(backup_sum, ==, fx->checksum);
	codec = av1d_test_video_codec(fx->source, NULL);
	g_assert_cmpstr(codec, ==, "av1");
	av1d_test_assert_no_temps(fx->w->library);
}

#define ADD(path, func) g_test_add(path, Fixture, NULL, fixture_setup, func, fixture_teardown)

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

	ADD("/av1d/docker/faults/cancel-mid-encode-removes-the-container",
	    test_cancel_mid_encode);
	ADD("/av1d/docker/faults/daemon-stop-mid-encode-removes-the-container",
	    test_stop_mid_encode);
	ADD("/av1d/docker/faults/kill-9-mid-encode-next-start-removes-the-orphan",
	    test_kill_9_mid_encode);
	return g_test_run();
}
