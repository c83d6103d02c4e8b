/*
 * The D-Bus service driven the way people drive it: the real busctl, as a
 * subprocess, against a private dbus-daemon. The service runs in this
 * process over a real manager whose encoder is tests/fakes/slow-ffmpeg
 * (progress for a while, no output, so every job that runs ends "failed"),
 * so the main loop keeps running while busctl waits for its answer.
 *
 * busctl prints only the message of a failed call; with
 * SYSTEMD_LOG_LEVEL=debug it also logs the reply, "error-name=<name>",
 * which is what the rejections are checked against.
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "av1d-dbus.h"
#include "av1d-error.h"
#include "av1d-explain.h"
#include "av1d-sidecar.h"
#include "av1d-test-util.h"

#define MANAGER_IFACE "org.av1d.Manager1"
#define JOB_IFACE     "org.av1d.Job1"
#define MEDIA	      "h264-eng-rus.mkv"
#define WAIT_SECS     30

/* "crawl finished" log messages: Rescan has no other outward sign when
 * inotify sees everything anyway */
static gint crawls_finished;

typedef struct {
	gchar *object_path;
	gint64 time; /* monotonic µs */
} ProgressEvent;

typedef struct {
	gchar *dir; /* canonical */
	gchar *library;
	gchar *outside;
	gchar *ffmpeg;
	Av1dConfig *config;
	Av1dConfig *reloaded;	    /* what Reload swaps in */
	Av1dConfig *service_config; /* the service's own, when not config */
	Av1dBackendParams backend;
	Av1dJobStore *store;
	Av1dManager *manager;
	GSubprocess *bus_daemon;
	gchar *address;
	GDBusConnection *server;
	GDBusConnection *client; /* listens to the signals */
	guint subscriptions[3];
	Av1dDbus *dbus;
	guint owner_id;
	gboolean name_acquired;
	guint tick_id;
	guint reload_calls;
	gboolean reload_fails;
	GPtrArray *jobs_added;	 /* "<id> <path>" */
	GPtrArray *jobs_removed; /* "<id>" */
	GPtrArray *progress;	 /* ProgressEvent* */
	gboolean saw_eta;	 /* an EtaSeconds >= 0 went out while encoding */
} Fixture;

/* --- helpers ------------------------------------------------------------- */

static void
progress_event_free(ProgressEvent *event)
{
	g_free(event->object_path);
	g_free(event);
}

static gboolean
tick_cb(gpointer user_data)
{
	/* only wakes the loop so that WAIT_UNTIL looks at its deadline */
	return G_SOURCE_CONTINUE;
}

#define WAIT_UNTIL(cond)                                                                   \
	G_STMT_START                                                                       \
	{                                                                                  \
		gint64 deadline_ = g_get_monotonic_time() + WAIT_SECS * G_USEC_PER_SEC;    \
		while (!(cond)) {                                                          \
			if (g_get_monotonic_time() > deadline_)                            \
				g_error("timed out waiting for %s", #cond);                \
			g_main_context_iteration(NULL, TRUE);                              \
		}                                                                          \
	}                                                                                  \
	G_STMT_END

static gchar *
fx_path(Fixture *fx, const gchar *relative)
{
	return g_build_filename(fx->dir, relative, NULL);
}

static gboolean
exists(Fixture *fx, const gchar *relative)
{
	g_autofree gchar *path = fx_path(fx, relative);
	GStatBuf st;

	return g_lstat(path, &st) == 0;
}

static void
communicate_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	*(GAsyncResult **)user_data = g_object_ref(result);
}

static gchar *
bytes_to_string(GBytes *bytes)
{
	gsize size = 0;
	const gchar *data = g_bytes_get_data(bytes, &size);

	return size > 0 ? g_strndup(data, size) : g_strdup("");
}

static void
log_run(const gchar *const *argv, Av1dTestRun *run)
{
	g_autofree gchar *cmd = g_strjoinv(" ", (gchar **)argv);
	g_autofree gchar *cmd_valid = g_utf8_make_valid(cmd, -1);
	g_autofree gchar *out = g_utf8_make_valid(run->out, -1);
	g_autofree gchar *err = NULL;
	const gchar *failed = strstr(run->err, "Call failed");

	/* the debug log is long: keep the line that matters */
	err = g_utf8_make_valid(failed != NULL ? failed : "", -1);
	g_test_message("%s -> %d: %s%s", cmd_valid, run->status, out, err);
}

/* a busctl that runs while the test goes on */
typedef struct {
	GSubprocess *proc;
	GAsyncResult *result;
	GStrv argv;
} Busctl;

static Busctl *
busctl_start(Fixture *fx, const gchar *const *args)
{
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(
	    G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
	g_autoptr(GStrvBuilder) argv = g_strv_builder_new();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *address = g_strdup_printf("--address=%s", fx->address);
	Busctl *call = g_new0(Busctl, 1);

	/* the debug log has the name of an error reply */
	g_subprocess_launcher_setenv(launcher, "SYSTEMD_LOG_LEVEL", "debug", TRUE);
	g_strv_builder_add(argv, "busctl");
	g_strv_builder_add(argv, address);
	g_strv_builder_addv(argv, (const gchar **)args);
	call->argv = g_strv_builder_end(argv);
	call->proc = g_subprocess_launcher_spawnv(launcher, (const gchar *const *)call->argv,
						  &error);
	g_assert_no_error(error);
	g_subprocess_communicate_async(call->proc, NULL, NULL, communicate_cb, &call->result);
	return call;
}

/* the main loop runs meanwhile: the service answers from this process */
static Av1dTestRun *
busctl_finish(Busctl *call)
{
	g_autoptr(GBytes) out = NULL, err = NULL;
	g_autoptr(GError) error = NULL;
	Av1dTestRun *run = g_new0(Av1dTestRun, 1);

	WAIT_UNTIL(call->result != NULL);
	g_subprocess_communicate_finish(call->proc, call->result, &out, &err, &error);
	g_assert_no_error(error);
	run->out = bytes_to_string(out);
	run->err = bytes_to_string(err);
	run->status = g_subprocess_get_if_exited(call->proc)
			  ? g_subprocess_get_exit_status(call->proc)
			  : -1;
	log_run((const gchar *const *)call->argv, run);
	g_object_unref(call->proc);
	g_object_unref(call->result);
	g_strfreev(call->argv);
	g_free(call);
	return run;
}

static Av1dTestRun *
busctl_argv(Fixture *fx, const gchar *const *args)
{
	return busctl_finish(busctl_start(fx, args));
}

static Av1dTestRun *
busctl_va(Fixture *fx, gboolean json, const gchar *first, va_list ap)
{
	g_autoptr(GPtrArray) args = g_ptr_array_new();

	if (json)
		g_ptr_array_add(args, (gpointer) "--json=short");
	for (const gchar *arg = first; arg != NULL; arg = va_arg(ap, const gchar *))
		g_ptr_array_add(args, (gpointer)arg);
	g_ptr_array_add(args, NULL);
	return busctl_argv(fx, (const gchar *const *)args->pdata);
}

static G_GNUC_NULL_TERMINATED Av1dTestRun *
busctl(Fixture *fx, const gchar *first, ...)
{
	Av1dTestRun *run;
	va_list ap;

	va_start(ap, first);
	run = busctl_va(fx, FALSE, first, ap);
	va_end(ap);
	return run;
}

/* the "data" member of busctl's JSON answer; the call must succeed */
static G_GNUC_NULL_TERMINATED JsonNode *
busctl_json(Fixture *fx, const gchar *first, ...)
{
	g_autoptr(Av1dTestRun) run = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	va_list ap;

	va_start(ap, first);
	run = busctl_va(fx, TRUE, first, ap);
	va_end(ap);
	g_assert_cmpint(run->status, ==, 0);
	json_parser_load_from_data(parser, run->out, -1, &error);
	g_assert_no_error(error);
	return json_node_copy(
	    json_object_get_member(json_node_get_object(json_parser_get_root(parser)), "data"));
}

#define CALL(fx, ...)                                                                              \
	busctl(fx, "call", AV1D_DBUS_NAME, AV1D_DBUS_PATH, MANAGER_IFACE, __VA_ARGS__, NULL)
#define CALL_JSON(fx, ...)                                                                         \
	busctl_json(fx, "call", AV1D_DBUS_NAME, AV1D_DBUS_PATH, MANAGER_IFACE, __VA_ARGS__, NULL)
#define PROPERTY(fx, name)                                                                         \
	busctl_json(fx, "get-property", AV1D_DBUS_NAME, AV1D_DBUS_PATH, MANAGER_IFACE, name, NULL)

static void
assert_succeeded(Av1dTestRun *run)
{
	g_assert_cmpint(run->status, ==, 0);
	g_assert_null(strstr(run->err, "Call failed"));
}

/* the reply was the D-Bus error @name, with @message in it when not NULL */
static void
assert_bus_error(Av1dTestRun *run, const gchar *name, const gchar *message)
{
	g_autofree gchar *needle = g_strdup_printf("error-name=%s ", name);

	g_assert_cmpint(run->status, !=, 0);
	g_assert_nonnull(strstr(run->err, needle));
	if (message != NULL)
		g_assert_nonnull(strstr(run->err, message));
}

static gint64
json_int(JsonNode *node)
{
	return json_node_get_int(node);
}

static guint64
property_uint(Fixture *fx, const gchar *name)
{
	g_autoptr(JsonNode) data = PROPERTY(fx, name);

	return (guint64)json_int(data);
}

static gboolean
property_bool(Fixture *fx, const gchar *name)
{
	g_autoptr(JsonNode) data = PROPERTY(fx, name);

	return json_node_get_boolean(data);
}

static gchar *
id_string(guint64 id)
{
	return g_strdup_printf("%" G_GUINT64_FORMAT, id);
}

static guint64
bus_enqueue(Fixture *fx, const gchar *path)
{
	g_autoptr(JsonNode) data = CALL_JSON(fx, "Enqueue", "s", path);

	return (guint64)json_int(json_array_get_element(json_node_get_array(data), 0));
}

static gchar *
add_media(Fixture *fx, const gchar *relative)
{
	g_autofree gchar *path = fx_path(fx, relative);
	g_autofree gchar *dir = g_path_get_dirname(path);
	g_autofree gchar *name = g_path_get_basename(path);

	g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
	av1d_test_copy_media(MEDIA, dir, name);
	return g_steal_pointer(&path);
}

static Av1dJob *
job(Fixture *fx, guint64 id)
{
	Av1dJob *found = av1d_job_store_lookup(fx->store, id);

	g_assert_nonnull(found);
	return found;
}

/* --- signals ------------------------------------------------------------- */

static void
on_signal(GDBusConnection *connection,
	  const gchar *sender,
	  const gchar *object_path,
	  const gchar *interface_name,
	  const gchar *signal_name,
	  GVariant *parameters,
	  gpointer user_data)
{
	Fixture *fx = user_data;

	if (g_strcmp0(signal_name, "JobAdded") == 0) {
		guint64 id;
		const gchar *path;
		g_variant_get(parameters, "(t&s)", &id, &path);
		g_ptr_array_add(fx->jobs_added,
				g_strdup_printf("%" G_GUINT64_FORMAT " %s", id, path));
	} else if (g_strcmp0(signal_name, "JobRemoved") == 0) {
		guint64 id;
		g_variant_get(parameters, "(t)", &id);
		g_ptr_array_add(fx->jobs_removed, id_string(id));
	} else if (g_strcmp0(signal_name, "PropertiesChanged") == 0) {
		g_autoptr(GVariant) changed = g_variant_get_child_value(parameters, 1);
		ProgressEvent *event;
		gint64 eta = -1;
		if (g_variant_lookup(changed, "EtaSeconds", "x", &eta) && eta >= 0)
			fx->saw_eta = TRUE;
		if (!g_variant_lookup(changed, "Progress", "d", NULL))
			return;
		event = g_new0(ProgressEvent, 1);
		event->object_path = g_strdup(object_path);
		event->time = g_get_monotonic_time();
		g_ptr_array_add(fx->progress, event);
	}
}

static void
subscribe(Fixture *fx)
{
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GError) error = NULL;

	fx->subscriptions[0] = g_dbus_connection_signal_subscribe(
	    fx->client, NULL, MANAGER_IFACE, "JobAdded", AV1D_DBUS_PATH, NULL,
	    G_DBUS_SIGNAL_FLAGS_NONE, on_signal, fx, NULL);
	fx->subscriptions[1] = g_dbus_connection_signal_subscribe(
	    fx->client, NULL, MANAGER_IFACE, "JobRemoved", AV1D_DBUS_PATH, NULL,
	    G_DBUS_SIGNAL_FLAGS_NONE, on_signal, fx, NULL);
	fx->subscriptions[2] = g_dbus_connection_signal_subscribe(
	    fx->client, NULL, "org.freedesktop.DBus.Properties", "PropertiesChanged", NULL,
	    JOB_IFACE, G_DBUS_SIGNAL_FLAGS_NONE, on_signal, fx, NULL);
	/* a round trip to the bus (not to our service): the match rules are
	 * in place once it returns */
	reply = g_dbus_connection_call_sync(fx->client, "org.freedesktop.DBus",
					    "/org/freedesktop/DBus", "org.freedesktop.DBus",
					    "GetId", NULL, NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL,
					    &error);
	g_assert_no_error(error);
}

/* --- fixture ------------------------------------------------------------- */

static void
die_with_parent(gpointer user_data)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
}

static void
start_bus(Fixture *fx)
{
	const gchar *argv[] = {"dbus-daemon", "--session", "--print-address=1", "--nofork", NULL};
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(
	    G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
	g_autoptr(GError) error = NULL;
	g_autoptr(GDataInputStream) out = NULL;
	GDBusConnectionFlags flags = G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
				     G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION;

	/* a test that aborts must not leave a bus behind */
	g_subprocess_launcher_set_child_setup(launcher, die_with_parent, NULL, NULL);
	fx->bus_daemon = g_subprocess_launcher_spawnv(launcher, argv, &error);
	g_assert_no_error(error);
	/* a separate process: reading its first line cannot deadlock us */
	out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(fx->bus_daemon));
	fx->address = g_data_input_stream_read_line(out, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_nonnull(fx->address);
	g_strstrip(fx->address);
	fx->server = g_dbus_connection_new_for_address_sync(fx->address, flags, NULL, NULL, &error);
	g_assert_no_error(error);
	fx->client = g_dbus_connection_new_for_address_sync(fx->address, flags, NULL, NULL, &error);
	g_assert_no_error(error);
}

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *tmp = g_dir_make_tmp("av1d-test-dbus-XXXXXX", &error);
	const gchar *roots[] = {NULL, NULL};

	g_assert_no_error(error);
	fx->dir = realpath(tmp, NULL);
	fx->library = fx_path(fx, "library");
	fx->outside = fx_path(fx, "outside");
	g_assert_cmpint(g_mkdir(fx->library, 0755), ==, 0);
	g_assert_cmpint(g_mkdir(fx->outside, 0755), ==, 0);
	fx->ffmpeg = g_build_filename(g_getenv("G_TEST_SRCDIR"), "fakes", "slow-ffmpeg", NULL);
	roots[0] = fx->library;
	fx->config = av1d_config_new_default();
	g_assert_true(av1d_config_set_roots(fx->config, roots, &error));
	g_free(fx->config->job_state_dir);
	fx->config->job_state_dir = fx_path(fx, "state");
	g_free(fx->config->ffmpeg_bin);
	fx->config->ffmpeg_bin = g_strdup(fx->ffmpeg);
	fx->config->min_bytes = 1;
	fx->config->max_size_ratio = 1.0;
	fx->config->stable_secs = 60; /* the watcher queues nothing by itself */
	fx->backend = (Av1dBackendParams){
	    .kind = AV1D_ENCODER_KIND_SOFTWARE,
	    .ffmpeg_bin = fx->ffmpeg,
	};
	g_setenv("FAKE_FFMPEG_BLOCKS", "4", TRUE);
	g_setenv("FAKE_FFMPEG_INTERVAL", "0.1", TRUE);
	g_setenv("FAKE_FFMPEG_DURATION_US", "1000000", TRUE);
	/* small enough never to trip the projected-size abort */
	g_setenv("FAKE_FFMPEG_BLOCK_BYTES", "100", TRUE);
	fx->store = av1d_job_store_new(fx->config->job_state_dir, &error);
	g_assert_no_error(error);
	g_assert_true(av1d_job_store_load(fx->store, &error));
	fx->manager = av1d_manager_new(fx->config, fx->store, &fx->backend);
	fx->jobs_added = g_ptr_array_new_with_free_func(g_free);
	fx->jobs_removed = g_ptr_array_new_with_free_func(g_free);
	fx->progress = g_ptr_array_new_with_free_func((GDestroyNotify)progress_event_free);
	fx->tick_id = g_timeout_add(100, tick_cb, NULL);
	start_bus(fx);
	subscribe(fx);
}

static gboolean
reload_cb(gpointer user_data, GError **error)
{
	Fixture *fx = user_data;

	fx->reload_calls++;
	if (fx->reload_fails) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_CONFIG,
			    "/etc/av1d/config.toml:3: key 'min_bytes': expected an integer");
		return FALSE;
	}
	av1d_dbus_set_config(fx->dbus, fx->reloaded);
	return TRUE;
}

static void
name_acquired_cb(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	((Fixture *)user_data)->name_acquired = TRUE;
}

static void
name_lost_cb(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	g_error("lost the name %s", name);
}

/* what the daemon does: export, then own the name */
static void
start_service(Fixture *fx)
{
	g_autoptr(GError) error = NULL;

	fx->dbus = av1d_dbus_new(fx->manager, fx->store,
				 fx->service_config != NULL ? fx->service_config : fx->config,
				 &fx->backend, "software", "the test says so");
	av1d_dbus_set_reload_func(fx->dbus, reload_cb, fx, NULL);
	g_assert_true(av1d_dbus_export(fx->dbus, fx->server, &error));
	g_assert_no_error(error);
	fx->owner_id = g_bus_own_name_on_connection(fx->server, AV1D_DBUS_NAME,
						    G_BUS_NAME_OWNER_FLAGS_NONE, name_acquired_cb,
						    name_lost_cb, fx, NULL);
	WAIT_UNTIL(fx->name_acquired);
}

static void
stop_bus(Fixture *fx)
{
	g_autoptr(GError) error = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(fx->subscriptions); i++)
		g_dbus_connection_signal_unsubscribe(fx->client, fx->subscriptions[i]);
	g_dbus_connection_close_sync(fx->client, NULL, NULL);
	g_dbus_connection_close_sync(fx->server, NULL, NULL);
	g_clear_object(&fx->client);
	g_clear_object(&fx->server);
	g_subprocess_send_signal(fx->bus_daemon, SIGTERM);
	g_subprocess_wait(fx->bus_daemon, NULL, &error);
	g_assert_no_error(error);
	g_clear_object(&fx->bus_daemon);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	if (fx->owner_id != 0)
		g_bus_unown_name(fx->owner_id);
	if (fx->dbus != NULL)
		av1d_dbus_unexport(fx->dbus);
	g_clear_object(&fx->dbus);
	/* running encodes stop and remove their temps */
	av1d_manager_cancel_all(fx->manager);
	WAIT_UNTIL(av1d_manager_is_idle(fx->manager));
	stop_bus(fx);
	g_source_remove(fx->tick_id);
	g_clear_object(&fx->manager);
	g_clear_object(&fx->store);
	av1d_test_rm_rf(fx->dir);
	av1d_config_unref(fx->config);
	g_clear_pointer(&fx->reloaded, av1d_config_unref);
	g_clear_pointer(&fx->service_config, av1d_config_unref);
	g_ptr_array_unref(fx->jobs_added);
	g_ptr_array_unref(fx->jobs_removed);
	g_ptr_array_unref(fx->progress);
	g_free(fx->address);
	g_free(fx->ffmpeg);
	g_free(fx->library);
	g_free(fx->outside);
	g_free(fx->dir);
}

/* --- tests --------------------------------------------------------------- */

static void
test_introspect(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dTestRun) run = NULL;
	g_autoptr(JsonNode) version = NULL, encoder = NULL, reason = NULL, roots = NULL;
	JsonArray *array;

	start_service(fx);
	run = busctl(fx, "introspect", AV1D_DBUS_NAME, AV1D_DBUS_PATH, NULL);
	assert_succeeded(run);
	g_assert_nonnull(strstr(run->out, MANAGER_IFACE));
	g_assert_nonnull(strstr(run->out, "org.freedesktop.DBus.ObjectManager"));
	g_assert_nonnull(strstr(run->out, ".ListJobs"));
	g_assert_nonnull(strstr(run->out, ".JobAdded"));
	version = PROPERTY(fx, "Version");
	g_assert_cmpstr(json_node_get_string(version), ==, PACKAGE_VERSION);
	encoder = PROPERTY(fx, "Encoder");
	g_assert_cmpstr(json_node_get_string(encoder), ==, "software");
	reason = PROPERTY(fx, "EncoderReason");
	g_assert_cmpstr(json_node_get_string(reason), ==, "the test says so");
	roots = PROPERTY(fx, "Roots");
	array = json_node_get_array(roots);
	g_assert_cmpuint(json_array_get_length(array), ==, 1);
	g_assert_cmpstr(json_array_get_string_element(array, 0), ==, fx->library);
	g_assert_false(property_bool(fx, "Paused"));
}

/* one ListJobs entry: (id, path, status, stage, reason, progress, orig, new) */
static void
assert_list_entry(JsonArray *entry, guint64 id, const gchar *path, const gchar *status,
		  guint64 original_bytes)
{
	g_assert_cmpuint(json_array_get_length(entry), ==, 8);
	g_assert_cmpint(json_array_get_int_element(entry, 0), ==, (gint64)id);
	g_assert_cmpstr(json_array_get_string_element(entry, 1), ==, path);
	g_assert_cmpstr(json_array_get_string_element(entry, 2), ==, status);
	g_assert_cmpstr(json_array_get_string_element(entry, 3), ==, "queued");
	g_assert_cmpstr(json_array_get_string_element(entry, 4), ==, "");
	g_assert_cmpfloat(json_array_get_double_element(entry, 5), ==, 0.0);
	g_assert_cmpint(json_array_get_int_element(entry, 6), ==, (gint64)original_bytes);
	g_assert_cmpint(json_array_get_int_element(entry, 7), ==, 0);
}

static void
test_enqueue_and_list(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *a = add_media(fx, "library/a.mkv");
	g_autofree gchar *b = add_media(fx, "library/sub/b.mkv");
	g_autofree gchar *odd = add_media(fx, "library/caf\xe9.mkv");
	g_autofree gchar *odd_uri = g_filename_to_uri(odd, NULL, NULL);
	/* a row over 255 bytes: its framing offsets take two bytes each */
	g_autofree gchar *long_dir = g_strnfill(200, 'd');
	g_autofree gchar *long_name = g_strnfill(150, 'e');
	g_autofree gchar *long_relative = g_strdup_printf("library/%s/%s.mkv", long_dir, long_name);
	g_autofree gchar *deep = add_media(fx, long_relative);
	g_autofree gchar *notes = fx_path(fx, "library/notes.txt");
	g_autoptr(Av1dTestRun) run = NULL;
	g_autoptr(JsonNode) list = NULL;
	g_autoptr(GError) error = NULL;
	JsonArray *jobs;
	guint64 id_a, id_b, id_odd, id_deep;
	GStatBuf st;

	start_service(fx);
	g_assert_cmpint(g_stat(a, &st), ==, 0);
	assert_succeeded(run = CALL(fx, "Pause"));
	id_a = bus_enqueue(fx, a);
	id_b = bus_enqueue(fx, b);
	g_assert_cmpuint(id_a, !=, id_b);
	/* the same file again is the same job */
	g_assert_cmpuint(bus_enqueue(fx, a), ==, id_a);
	id_deep = bus_enqueue(fx, deep);
	/* a name D-Bus cannot carry comes in through the core */
	id_odd = av1d_manager_enqueue(fx->manager, odd, &error)->id;
	g_assert_no_error(error);
	g_assert_true(g_file_set_contents(notes, "not media", -1, NULL));
	g_clear_pointer(&run, av1d_test_run_free);
	run = CALL(fx, "Enqueue", "s", notes);
	assert_bus_error(run, "org.av1d.Error.InvalidArgument",
			 "extension not in the configured list");

	list = CALL_JSON(fx, "ListJobs");
	jobs = json_array_get_array_element(json_node_get_array(list), 0);
	g_assert_cmpuint(json_array_get_length(jobs), ==, 4);
	assert_list_entry(json_array_get_array_element(jobs, 0), id_a, a, "pending",
			  (guint64)st.st_size);
	assert_list_entry(json_array_get_array_element(jobs, 1), id_b, b, "pending",
			  (guint64)st.st_size);
	assert_list_entry(json_array_get_array_element(jobs, 2), id_deep, deep, "pending",
			  (guint64)st.st_size);
	assert_list_entry(json_array_get_array_element(jobs, 3), id_odd, odd_uri, "pending",
			  (guint64)st.st_size);
	g_assert_cmpuint(property_uint(fx, "PendingCount"), ==, 4);
	g_assert_cmpuint(property_uint(fx, "RunningCount"), ==, 0);

	/* the URI names the file in return */
	g_clear_pointer(&run, av1d_test_run_free);
	assert_succeeded(run = CALL(fx, "Skip", "s", odd_uri));
	g_assert_true(exists(fx, "library/caf\xe9.mkv.av1skip"));
	g_assert_cmpint(job(fx, id_odd)->status, ==, AV1D_JOB_STATUS_CANCELLED);
	g_assert_cmpuint(property_uint(fx, "PendingCount"), ==, 3);
}

static void
test_get_job(Fixture *fx, gconstpointer data)
{
	static const gchar *const fields[] = {
	    "id", "source_path", "output_path", "status", "stage", "reason", "created_at",
	    "started_at", "finished_at", "original_bytes", "new_bytes", "is_web_like",
	    "web_score", "video_codec", "video_bitrate", "video_width", "video_height",
	    "video_frame_rate", "av1_quality", "source_bit_depth", "source_pix_fmt",
	    "target_bit_depth", "av1_profile", "is_hdr", "encoder", "argv", "progress", "fps"};
	static const gchar *const types[] = {
	    "t", "s", "s", "s", "s", "s", "x", "x", "x", "t", "t", "b", "d", "s",
	    "t", "u", "u", "d", "i", "u", "s", "u", "s", "b", "s", "as", "d", "d"};
	g_autofree gchar *a = add_media(fx, "library/a.mkv");
	g_autofree gchar *id = NULL;
	g_autoptr(JsonNode) reply = NULL;
	g_autoptr(Av1dTestRun) run = NULL;
	JsonObject *dict;
	guint64 job_id;

	G_STATIC_ASSERT(G_N_ELEMENTS(fields) == G_N_ELEMENTS(types));
	start_service(fx);
	job_id = bus_enqueue(fx, a);
	/* it runs and fails at verification: every field is filled in */
	WAIT_UNTIL(job(fx, job_id)->status == AV1D_JOB_STATUS_FAILED);
	id = id_string(job_id);
	reply = CALL_JSON(fx, "GetJob", "t", id);
	dict = json_array_get_object_element(json_node_get_array(reply), 0);
	g_assert_cmpuint(json_object_get_size(dict), ==, G_N_ELEMENTS(fields));
	for (guint i = 0; i < G_N_ELEMENTS(fields); i++) {
		JsonObject *field = json_object_get_object_member(dict, fields[i]);
		g_assert_nonnull(field);
		g_assert_cmpstr(json_object_get_string_member(field, "type"), ==, types[i]);
	}
#define FIELD(name) json_object_get_member(json_object_get_object_member(dict, name), "data")
	g_assert_cmpint(json_node_get_int(FIELD("id")), ==, (gint64)job_id);
	g_assert_cmpstr(json_node_get_string(FIELD("source_path")), ==, a);
	g_assert_cmpstr(json_node_get_string(FIELD("status")), ==, "failed");
	g_assert_cmpstr(json_node_get_string(FIELD("stage")), ==,
			av1d_job_stage_to_string(job(fx, job_id)->stage));
	g_assert_cmpstr(json_node_get_string(FIELD("reason")), ==, job(fx, job_id)->reason);
	g_assert_cmpstr(json_node_get_string(FIELD("video_codec")), ==, "h264");
	g_assert_cmpstr(json_node_get_string(FIELD("encoder")), ==, "software");
	g_assert_cmpint(json_node_get_int(FIELD("original_bytes")), ==,
			(gint64)job(fx, job_id)->original_bytes);
	g_assert_cmpint(json_node_get_int(FIELD("finished_at")), >, 0);
	g_assert_cmpuint(json_array_get_length(json_node_get_array(FIELD("argv"))), ==,
			 g_strv_length(job(fx, job_id)->argv));
#undef FIELD
	run = CALL(fx, "GetJob", "t", "999999");
	assert_bus_error(run, "org.av1d.Error.NotFound", "no job 999999");
}

static void
test_skip_and_unskip(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *a = add_media(fx, "library/a.mkv");
	g_autofree gchar *c = add_media(fx, "library/c.mkv");
	g_autofree gchar *b = add_media(fx, "library/sub/b.mkv");
	g_autofree gchar *sub = fx_path(fx, "library/sub");
	g_autofree gchar *gone = fx_path(fx, "library/gone.mkv");
	g_autofree gchar *gone_marker = fx_path(fx, "library/gone.mkv.av1skip");
	Av1dTestRun *run;
	guint64 id_a, id_c;

	g_setenv("FAKE_FFMPEG_BLOCKS", "100", TRUE);
	start_service(fx);
	id_a = bus_enqueue(fx, a);
	id_c = bus_enqueue(fx, c);
	WAIT_UNTIL(job(fx, id_a)->stage == AV1D_JOB_STAGE_ENCODING);

	/* a queued job is cancelled at once, a running one stops */
	assert_succeeded(run = CALL(fx, "Skip", "s", c));
	av1d_test_run_free(run);
	g_assert_true(exists(fx, "library/c.mkv.av1skip"));
	g_assert_cmpint(job(fx, id_c)->status, ==, AV1D_JOB_STATUS_CANCELLED);
	assert_succeeded(run = CALL(fx, "Skip", "s", a));
	av1d_test_run_free(run);
	g_assert_true(exists(fx, "library/a.mkv.av1skip"));
	WAIT_UNTIL(job(fx, id_a)->status == AV1D_JOB_STATUS_CANCELLED);
	av1d_test_assert_no_temps(fx->library);
	run = CALL(fx, "Enqueue", "s", a);
	assert_bus_error(run, "org.av1d.Error.InvalidArgument", "marked with .av1skip");
	av1d_test_run_free(run);

	/* Unskip takes the marker away and queues the file again */
	assert_succeeded(run = CALL(fx, "Unskip", "s", a));
	av1d_test_run_free(run);
	g_assert_false(exists(fx, "library/a.mkv.av1skip"));
	g_assert_cmpint(job(fx, id_a)->status, !=, AV1D_JOB_STATUS_CANCELLED);
	run = CALL(fx, "Unskip", "s", a);
	assert_bus_error(run, "org.av1d.Error.NotFound", "a.mkv.av1skip");
	av1d_test_run_free(run);

	/* folders */
	assert_succeeded(run = CALL(fx, "Skip", "s", sub));
	av1d_test_run_free(run);
	g_assert_true(exists(fx, "library/sub/.av1skip"));
	run = CALL(fx, "Enqueue", "s", b);
	assert_bus_error(run, "org.av1d.Error.InvalidArgument", "marked with .av1skip");
	av1d_test_run_free(run);
	assert_succeeded(run = CALL(fx, "Unskip", "s", sub));
	av1d_test_run_free(run);
	g_assert_false(exists(fx, "library/sub/.av1skip"));

	/* the marker of a file that is gone */
	g_assert_true(g_file_set_contents(gone_marker, "x\n", -1, NULL));
	assert_succeeded(run = CALL(fx, "Unskip", "s", gone));
	av1d_test_run_free(run);
	g_assert_false(exists(fx, "library/gone.mkv.av1skip"));
}

/* every rejection, and nothing written anywhere */
static void
test_rejections(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *a = add_media(fx, "library/a.mkv");
	g_autofree gchar *secret = fx_path(fx, "outside/secret.mkv");
	g_autofree gchar *link_out = fx_path(fx, "library/link-out.mkv");
	g_autofree gchar *dir_out = fx_path(fx, "library/dir-out");
	g_autofree gchar *dotdot = g_strconcat(fx->library, "/../../etc/passwd", NULL);
	g_autofree gchar *via_dotdot = g_strconcat(fx->library, "/../outside/secret.mkv", NULL);
	g_autofree gchar *missing = fx_path(fx, "library/café-missing.mkv");
	g_autofree gchar *library_before = NULL, *outside_before = NULL;
	g_autofree gchar *library_after = NULL, *outside_after = NULL;
	const struct {
		const gchar *method, *signature, *arg, *error;
	} cases[] = {
	    /* the outside of our own temp dir first: a broken check fails
	     * there before it can write beside /etc/passwd (tests may run as
	     * root) */
	    {"Skip", "s", via_dotdot, "OutsideLibrary"},
	    {"Skip", "s", link_out, "OutsideLibrary"},
	    {"Skip", "s", dir_out, "OutsideLibrary"},
	    {"Skip", "s", dotdot, "OutsideLibrary"},
	    {"Skip", "s", "/etc/passwd", "OutsideLibrary"},
	    {"Skip", "s", "", "InvalidArgument"},
	    {"Skip", "s", "library/a.mkv", "InvalidArgument"},
	    {"Skip", "s", missing, "NotFound"},
	    {"Unskip", "s", "/etc/passwd", "OutsideLibrary"},
	    {"Unskip", "s", link_out, "OutsideLibrary"},
	    {"Unskip", "s", a, "NotFound"},
	    {"Enqueue", "s", "/etc/passwd", "OutsideLibrary"},
	    {"Enqueue", "s", link_out, "OutsideLibrary"},
	    {"Enqueue", "s", "", "InvalidArgument"},
	    {"Enqueue", "s", missing, "NotFound"},
	    {"Explain", "s", "/etc/passwd", "OutsideLibrary"},
	    {"Explain", "s", link_out, "OutsideLibrary"},
	    {"Retry", "t", "999999", "NotFound"},
	    {"Cancel", "t", "999999", "NotFound"},
	    {"GetJob", "t", "999999", "NotFound"},
	};

	g_assert_true(g_file_set_contents(secret, "secret", -1, NULL));
	g_assert_cmpint(symlink(secret, link_out), ==, 0);
	g_assert_cmpint(symlink(fx->outside, dir_out), ==, 0);
	start_service(fx);
	library_before = av1d_test_list_dir(fx->library);
	outside_before = av1d_test_list_dir(fx->outside);
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *name = g_strconcat("org.av1d.Error.", cases[i].error, NULL);
		g_autoptr(Av1dTestRun) run =
		    CALL(fx, cases[i].method, cases[i].signature, cases[i].arg);
		assert_bus_error(run, name, NULL);
	}
	library_after = av1d_test_list_dir(fx->library);
	outside_after = av1d_test_list_dir(fx->outside);
	g_assert_cmpstr(library_after, ==, library_before);
	g_assert_cmpstr(outside_after, ==, outside_before);
	g_assert_false(g_file_test("/etc/passwd.av1skip", G_FILE_TEST_EXISTS));
	g_assert_false(exists(fx, "outside/.av1skip"));
	g_assert_cmpuint(av1d_job_store_get_size(fx->store), ==, 0);
}

static void
test_retry(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *a = add_media(fx, "library/a.mkv");
	g_autofree gchar *id = NULL;
	Av1dTestRun *run;
	guint64 job_id;

	start_service(fx);
	job_id = bus_enqueue(fx, a);
	id = id_string(job_id);
	WAIT_UNTIL(job(fx, job_id)->status == AV1D_JOB_STATUS_FAILED);
	g_assert_cmpuint(property_uint(fx, "FailedCount"), ==, 1);
	assert_succeeded(run = CALL(fx, "Retry", "t", id));
	av1d_test_run_free(run);
	g_assert_cmpint(job(fx, job_id)->status, !=, AV1D_JOB_STATUS_FAILED);
	g_assert_cmpuint(property_uint(fx, "FailedCount"), ==, 0);
	/* a job that has not ended cannot be retried */
	run = CALL(fx, "Retry", "t", id);
	assert_bus_error(run, "org.av1d.Error.BadState", "only failed, skipped or cancelled");
	av1d_test_run_free(run);
	WAIT_UNTIL(job(fx, job_id)->status == AV1D_JOB_STATUS_FAILED);
	g_assert_cmpuint(property_uint(fx, "FailedCount"), ==, 1);
}

static void
test_cancel(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *a = add_media(fx, "library/a.mkv");
	g_autofree gchar *before = av1d_test_checksum(a);
	g_autofree gchar *after = NULL;
	g_autofree gchar *id = NULL;
	Av1dTestRun *run;
	guint64 job_id;

	g_setenv("FAKE_FFMPEG_BLOCKS", "100", TRUE);
	start_service(fx);
	job_id = bus_enqueue(fx, a);
	id = id_string(job_id);
	WAIT_UNTIL(job(fx, job_id)->stage == AV1D_JOB_STAGE_ENCODING);
	g_assert_cmpuint(property_uint(fx, "RunningCount"), ==, 1);
	assert_succeeded(run = CALL(fx, "Cancel", "t", id));
	av1d_test_run_free(run);
	WAIT_UNTIL(job(fx, job_id)->status == AV1D_JOB_STATUS_CANCELLED);
	av1d_test_assert_no_temps(fx->library);
	after = av1d_test_checksum(a);
	g_assert_cmpstr(after, ==, before);
	g_assert_cmpuint(property_uint(fx, "RunningCount"), ==, 0);
	run = CALL(fx, "Cancel", "t", id);
	assert_bus_error(run, "org.av1d.Error.NotFound", NULL);
	av1d_test_run_free(run);
}

static void
test_pause_resume(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *a = add_media(fx, "library/a.mkv");
	Av1dTestRun *run;
	guint64 job_id;

	start_service(fx);
	g_assert_false(property_bool(fx, "Paused"));
	assert_succeeded(run = CALL(fx, "Pause"));
	av1d_test_run_free(run);
	g_assert_true(property_bool(fx, "Paused"));
	g_assert_true(av1d_manager_get_paused(fx->manager));
	job_id = bus_enqueue(fx, a);
	g_assert_cmpuint(property_uint(fx, "PendingCount"), ==, 1);
	g_assert_cmpuint(property_uint(fx, "RunningCount"), ==, 0);
	g_assert_cmpint(job(fx, job_id)->status, ==, AV1D_JOB_STATUS_PENDING);
	assert_succeeded(run = CALL(fx, "Resume"));
	av1d_test_run_free(run);
	g_assert_false(property_bool(fx, "Paused"));
	g_assert_cmpint(job(fx, job_id)->status, ==, AV1D_JOB_STATUS_RUNNING);
	WAIT_UNTIL(job(fx, job_id)->status == AV1D_JOB_STATUS_FAILED);
}

static void
test_rescan(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *sub = fx_path(fx, "library/sub");
	g_autofree gchar *added = fx_path(fx, "library/added");
	g_autoptr(GError) error = NULL;
	Av1dTestRun *run;
	gint crawls;

	g_assert_cmpint(g_mkdir(sub, 0755), ==, 0);
	start_service(fx);
	crawls = g_atomic_int_get(&crawls_finished);
	g_assert_true(av1d_manager_start_watching(fx->manager, &error));
	g_assert_no_error(error);
	WAIT_UNTIL(g_atomic_int_get(&crawls_finished) > crawls);
	/* nothing signals a change of WatchedDirs: it is read when asked */
	g_assert_cmpuint(property_uint(fx, "WatchedDirs"), ==, 2);
	g_assert_cmpint(g_mkdir(added, 0755), ==, 0);
	WAIT_UNTIL(av1d_manager_get_watched_dir_count(fx->manager) == 3);
	g_assert_cmpuint(property_uint(fx, "WatchedDirs"), ==, 3);

	crawls = g_atomic_int_get(&crawls_finished);
	assert_succeeded(run = CALL(fx, "Rescan"));
	av1d_test_run_free(run);
	WAIT_UNTIL(g_atomic_int_get(&crawls_finished) > crawls);
}

static void
test_explain(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *a = add_media(fx, "library/a.mkv");
	g_autofree gchar *link = fx_path(fx, "library/link.mkv");
	g_autofree gchar *expected = NULL;
	g_autoptr(JsonNode) reply = NULL, via_link = NULL;
	g_autoptr(GError) error = NULL;

	expected = av1d_explain_file_sync(fx->config, &fx->backend, a, &error);
	g_assert_no_error(error);
	g_assert_cmpint(symlink("a.mkv", link), ==, 0);
	start_service(fx);
	reply = CALL_JSON(fx, "Explain", "s", a);
	g_assert_cmpstr(json_array_get_string_element(json_node_get_array(reply), 0), ==,
			expected);
	/* a symlink inside is explained as the file it points to */
	via_link = CALL_JSON(fx, "Explain", "s", link);
	g_assert_cmpstr(json_array_get_string_element(json_node_get_array(via_link), 0), ==,
			expected);
	/* writes nothing */
	g_assert_cmpuint(av1d_job_store_get_size(fx->store), ==, 0);
}

/* an ffprobe that takes its time, and says when it started */
static gchar *
write_slow_ffprobe(Fixture *fx)
{
	static const gchar text[] = "#!/bin/sh\n"
				    "touch \"$0.started\"\n"
				    "sleep 3\n"
				    "exec ffprobe \"$@\"\n";
	g_autofree gchar *script = fx_path(fx, "slow-ffprobe");
	g_autoptr(GError) error = NULL;

	g_file_set_contents(script, text, -1, &error);
	g_assert_no_error(error);
	g_assert_cmpint(g_chmod(script, 0755), ==, 0);
	return g_steal_pointer(&script);
}

static void
test_explain_does_not_block(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *a = add_media(fx, "library/a.mkv");
	const gchar *explain[] = {"call", AV1D_DBUS_NAME,     AV1D_DBUS_PATH, MANAGER_IFACE,
				  "Explain", "s", a, NULL};
	g_autoptr(Av1dTestRun) run = NULL;
	g_autoptr(JsonNode) version = NULL;
	const gchar *roots[] = {fx->library, NULL};
	g_autoptr(GError) error = NULL;
	Busctl *call;

	/* the manager keeps fx->config: the service gets one it can lose */
	fx->service_config = av1d_config_new_default();
	g_assert_true(av1d_config_set_roots(fx->service_config, roots, &error));
	g_free(fx->service_config->ffprobe_bin);
	fx->service_config->ffprobe_bin = write_slow_ffprobe(fx);
	fx->reloaded = av1d_config_new_default();
	start_service(fx);
	call = busctl_start(fx, explain);
	WAIT_UNTIL(exists(fx, "slow-ffprobe.started"));
	/* the service answers while ffprobe runs */
	version = PROPERTY(fx, "Version");
	g_assert_cmpstr(json_node_get_string(version), ==, PACKAGE_VERSION);
	g_assert_null(call->result);
	/* a reload replaces the config the Explain holds: it is cancelled,
	 * and the old config may go at once (ASan sees any later use) */
	av1d_dbus_set_config(fx->dbus, fx->reloaded);
	g_clear_pointer(&fx->service_config, av1d_config_unref);
	run = busctl_finish(call);
	assert_bus_error(run, "org.av1d.Error.Cancelled", "the configuration was reloaded");
}

static void
test_reload(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *other = fx_path(fx, "other");
	const gchar *roots[] = {other, NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) before = NULL, after = NULL;
	Av1dTestRun *run;

	g_assert_cmpint(g_mkdir(other, 0755), ==, 0);
	fx->reloaded = av1d_config_new_default();
	g_assert_true(av1d_config_set_roots(fx->reloaded, roots, &error));
	start_service(fx);
	fx->reload_fails = TRUE;
	run = CALL(fx, "Reload");
	assert_bus_error(
	    run, "org.av1d.Error.Config",
	    "Call failed: /etc/av1d/config.toml:3: key 'min_bytes': expected an integer");
	av1d_test_run_free(run);
	g_assert_cmpuint(fx->reload_calls, ==, 1);
	before = PROPERTY(fx, "Roots");
	g_assert_cmpstr(json_array_get_string_element(json_node_get_array(before), 0), ==,
			fx->library);

	fx->reload_fails = FALSE;
	assert_succeeded(run = CALL(fx, "Reload"));
	av1d_test_run_free(run);
	g_assert_cmpuint(fx->reload_calls, ==, 2);
	after = PROPERTY(fx, "Roots");
	g_assert_cmpstr(json_array_get_string_element(json_node_get_array(after), 0), ==, other);
}

static guint
count_progress(Fixture *fx, const gchar *object_path, gint64 from, gint64 to)
{
	guint n = 0;

	for (guint i = 0; i < fx->progress->len; i++) {
		ProgressEvent *event = g_ptr_array_index(fx->progress, i);
		if (g_strcmp0(event->object_path, object_path) == 0 && event->time >= from &&
		    event->time < to)
			n++;
	}
	return n;
}

static void
test_signals(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *a = add_media(fx, "library/a.mkv");
	g_autofree gchar *added = NULL, *object_path = NULL;
	g_autoptr(JsonNode) status = NULL, eta = NULL, path = NULL, started = NULL, finished = NULL;
	guint64 job_id;
	guint total;
	gint64 first = G_MAXINT64, last = 0;

	/* 3 s of progress over the 1 s file, ten updates a second */
	g_setenv("FAKE_FFMPEG_BLOCKS", "30", TRUE);
	start_service(fx);
	job_id = bus_enqueue(fx, a);
	added = g_strdup_printf("%" G_GUINT64_FORMAT " %s", job_id, a);
	WAIT_UNTIL(fx->jobs_added->len > 0);
	g_assert_cmpuint(fx->jobs_added->len, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(fx->jobs_added, 0), ==, added);
	WAIT_UNTIL(job(fx, job_id)->status == AV1D_JOB_STATUS_FAILED);
	/* the last PropertiesChanged may still be on its way */
	object_path = g_strdup_printf(AV1D_DBUS_PATH "/job/%" G_GUINT64_FORMAT, job_id);
	status = busctl_json(fx, "get-property", AV1D_DBUS_NAME, object_path, JOB_IFACE, "Status",
			     NULL);
	g_assert_cmpstr(json_node_get_string(status), ==, "failed");
	eta = busctl_json(fx, "get-property", AV1D_DBUS_NAME, object_path, JOB_IFACE,
			  "EtaSeconds", NULL);
	g_assert_cmpint(json_node_get_int(eta), ==, -1);
	/* while it encoded, the estimate went out with the progress */
	g_assert_true(fx->saw_eta);
	path = busctl_json(fx, "get-property", AV1D_DBUS_NAME, object_path, JOB_IFACE, "Path",
			   NULL);
	g_assert_cmpstr(json_node_get_string(path), ==, a);
	/* the job's times, as the store has them */
	started = busctl_json(fx, "get-property", AV1D_DBUS_NAME, object_path, JOB_IFACE,
			      "StartedAt", NULL);
	finished = busctl_json(fx, "get-property", AV1D_DBUS_NAME, object_path, JOB_IFACE,
			       "FinishedAt", NULL);
	g_assert_cmpint(job(fx, job_id)->started_at, >, 0);
	g_assert_cmpint(json_node_get_int(started), ==, job(fx, job_id)->started_at);
	g_assert_cmpint(json_node_get_int(finished), ==, job(fx, job_id)->finished_at);
	g_assert_cmpint(json_node_get_int(finished), >=, json_node_get_int(started));

	total = count_progress(fx, object_path, 0, G_MAXINT64);
	for (guint i = 0; i < fx->progress->len; i++) {
		ProgressEvent *event = g_ptr_array_index(fx->progress, i);
		if (g_strcmp0(event->object_path, object_path) != 0)
			continue;
		first = MIN(first, event->time);
		last = MAX(last, event->time);
		/* two a second, plus one that goes out with a change of stage,
		 * plus one for the jitter of the bus (unthrottled it is ten) */
		g_assert_cmpuint(count_progress(fx, object_path, event->time,
						event->time + G_USEC_PER_SEC), <=, 4);
	}
	g_test_message("%u Progress changes in %.2f s", total, (gdouble)(last - first) / 1e6);
	/* 30 updates came in: throttled, not dropped */
	g_assert_cmpuint(total, >=, 5);
	/* one every 0.5 s from the first, one with the change of stage, and
	 * one for the jitter of the bus; unthrottled it is 30 */
	g_assert_cmpfloat((gdouble)total, <=, 2.0 * (gdouble)(last - first) / 1e6 + 3.0);
}

static void
set_status(Av1dJob *job, Av1dJobStatus status)
{
	g_autoptr(GError) error = NULL;

	g_assert_true(av1d_job_set_status(job, status, &error));
	g_assert_no_error(error);
}

/* jobs that are in the store before the export: objects, totals, and
 * JobRemoved for a job the store dropped */
static void
test_existing_jobs(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) objects = NULL;
	g_autoptr(Av1dTestRun) gone = NULL;
	g_autofree gchar *done_id = NULL, *done_path = NULL;
	Av1dJob *done, *failed, *skipped;
	JsonObject *map;

	done = av1d_job_store_create_job(fx->store, "/m/done.mkv", &error);
	failed = av1d_job_store_create_job(fx->store, "/m/failed.mkv", &error);
	skipped = av1d_job_store_create_job(fx->store, "/m/skipped.mkv", &error);
	g_assert_no_error(error);
	set_status(done, AV1D_JOB_STATUS_RUNNING);
	set_status(done, AV1D_JOB_STATUS_SUCCESS);
	done->original_bytes = 1000;
	done->new_bytes = 400;
	set_status(failed, AV1D_JOB_STATUS_RUNNING);
	set_status(failed, AV1D_JOB_STATUS_FAILED);
	set_status(skipped, AV1D_JOB_STATUS_SKIPPED);
	start_service(fx);

	g_assert_cmpuint(property_uint(fx, "DoneCount"), ==, 1);
	g_assert_cmpuint(property_uint(fx, "FailedCount"), ==, 1);
	g_assert_cmpuint(property_uint(fx, "SkippedCount"), ==, 1);
	g_assert_cmpuint(property_uint(fx, "BytesSaved"), ==, 600);
	objects = busctl_json(fx, "call", AV1D_DBUS_NAME, AV1D_DBUS_PATH,
			      "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", NULL);
	map = json_array_get_object_element(json_node_get_array(objects), 0);
	g_assert_cmpuint(json_object_get_size(map), ==, 3);
	done_path = g_strdup_printf(AV1D_DBUS_PATH "/job/%" G_GUINT64_FORMAT, done->id);
	g_assert_true(json_object_has_member(map, done_path));
	/* they were there from the start: no JobAdded */
	g_assert_cmpuint(fx->jobs_added->len, ==, 0);

	av1d_dbus_job_removed(fx->dbus, done->id);
	done_id = id_string(done->id);
	WAIT_UNTIL(fx->jobs_removed->len > 0);
	g_assert_cmpstr(g_ptr_array_index(fx->jobs_removed, 0), ==, done_id);
	gone = busctl(fx, "get-property", AV1D_DBUS_NAME, done_path, JOB_IFACE, "Status", NULL);
	g_assert_cmpint(gone->status, !=, 0);
	g_assert_cmpuint(property_uint(fx, "DoneCount"), ==, 0);
	g_assert_cmpuint(property_uint(fx, "BytesSaved"), ==, 0);
	g_assert_cmpuint(property_uint(fx, "FailedCount"), ==, 1);
}

static GLogWriterOutput
log_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
	for (gsize i = 0; i < n_fields; i++) {
		if (g_strcmp0(fields[i].key, "MESSAGE") == 0 && fields[i].length < 0 &&
		    g_str_has_prefix(fields[i].value, "crawl finished"))
			g_atomic_int_inc(&crawls_finished);
	}
	return g_log_writer_default(level, fields, n_fields, user_data);
}

int
main(int argc, char **argv)
{
	g_autofree gchar *busctl_bin = NULL;
	g_autofree gchar *dbus_daemon_bin = NULL;

	g_log_set_writer_func(log_writer, NULL, NULL);
	g_test_init(&argc, &argv, NULL);

	busctl_bin = g_find_program_in_path("busctl");
	dbus_daemon_bin = g_find_program_in_path("dbus-daemon");
	if (busctl_bin == NULL || dbus_daemon_bin == NULL) {
		g_test_skip("needs busctl and dbus-daemon");
		return g_test_run();
	}
	/* generate the media once, before any test's clock runs */
	av1d_test_media_dir();
#define ADD(path, func) g_test_add(path, Fixture, NULL, fixture_setup, func, fixture_teardown)
	ADD("/av1d/dbus/introspect-and-properties", test_introspect);
	ADD("/av1d/dbus/enqueue-and-list-jobs", test_enqueue_and_list);
	ADD("/av1d/dbus/get-job-has-every-field", test_get_job);
	ADD("/av1d/dbus/skip-writes-the-marker-and-cancels-unskip-removes-it",
	    test_skip_and_unskip);
	ADD("/av1d/dbus/rejections-have-exact-names-and-write-nothing", test_rejections);
	ADD("/av1d/dbus/retry-a-failed-job", test_retry);
	ADD("/av1d/dbus/cancel-a-running-job", test_cancel);
	ADD("/av1d/dbus/pause-and-resume", test_pause_resume);
	ADD("/av1d/dbus/rescan-and-live-watched-dirs", test_rescan);
	ADD("/av1d/dbus/explain-is-the-explain-text", test_explain);
	ADD("/av1d/dbus/explain-does-not-block-and-a-reload-cancels-it",
	    test_explain_does_not_block);
	ADD("/av1d/dbus/reload-through-the-callback", test_reload);
	ADD("/av1d/dbus/job-added-and-throttled-progress", test_signals);
	ADD("/av1d/dbus/existing-jobs-totals-and-job-removed", test_existing_jobs);
	return g_test_run();
}
