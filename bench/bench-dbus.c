/*
 * D-Bus benchmark client for bench/dbus.sh: talks to a running av1d on the
 * bus at --address (a private dbus-daemon), as av1top would.
 *
 *   bench-dbus --address ADDR --list-jobs N
 *       calls Manager1.ListJobs once to warm up, then N times, one after
 *       the other; prints "median_ms min_ms max_ms jobs reply_bytes
 *       client_cpu_ms": the last is this process's CPU time per call
 *       (mostly GDBus parsing the reply), which a loaded machine inflates
 *       less than the wall-clock times. Then checks rows of the reply
 *       against GetJob (the first, the last, every 500th and every row
 *       longer than 255 bytes) and fails on a difference: av1d writes
 *       ListJobs rows in serialised form by hand
 *
 *   bench-dbus --address ADDR --sd-bus N
 *       the same N timed calls through sd-bus, reading every row as av1top
 *       does; prints "median_ms min_ms max_ms jobs client_cpu_ms"
 *
 *   bench-dbus --address ADDR --count-signals SECONDS
 *       counts PropertiesChanged from org.av1d per job object until a job
 *       reaches a final Status (plus one second) or SECONDS pass; prints
 *       "ready" once subscribed, then for each job object
 *       "path signals span_s per_s max_in_1s": max_in_1s is the most
 *       signals that object sent within any one-second window
 */
#define G_LOG_DOMAIN "av1d-bench-dbus"

#include "config.h"

#include <stdio.h>
#include <sys/resource.h>

#include <gio/gio.h>
#include <systemd/sd-bus.h>

#include "av1d-names.h"

typedef struct {
	GMainLoop *loop;
	GHashTable *times; /* object path -> GArray of gint64 µs */
	guint done_id;
} Counter;

static gint
compare_doubles(gconstpointer a, gconstpointer b)
{
	gdouble x = *(const gdouble *)a, y = *(const gdouble *)b;

	return x < y ? -1 : x > y;
}

static gdouble
cpu_ms(void)
{
	struct rusage usage;

	getrusage(RUSAGE_SELF, &usage);
	return (gdouble)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000.0 +
	       (gdouble)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1000.0;
}

/* a ListJobs row and GetJob(id) agree */
static gboolean
check_row(GDBusConnection *bus, GVariant *row)
{
	guint64 id, original_bytes, new_bytes, dict_original, dict_new;
	const gchar *path, *status, *stage, *reason;
	const gchar *dict_path, *dict_status, *dict_stage, *dict_reason;
	gdouble progress, dict_progress;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) dict = NULL;
	g_autoptr(GError) error = NULL;

	g_variant_get(row, "(t&s&s&s&sdtt)", &id, &path, &status, &stage, &reason, &progress,
		      &original_bytes, &new_bytes);
	reply = g_dbus_connection_call_sync(bus, AV1D_DBUS_NAME, AV1D_DBUS_PATH,
					    AV1D_DBUS_INTERFACE_MANAGER, "GetJob",
					    g_variant_new("(t)", id), G_VARIANT_TYPE("(a{sv})"),
					    G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
	if (reply == NULL) {
		g_printerr("GetJob(%" G_GUINT64_FORMAT "): %s\n", id, error->message);
		return FALSE;
	}
	dict = g_variant_get_child_value(reply, 0);
	if (!g_variant_lookup(dict, "source_path", "&s", &dict_path) ||
	    !g_variant_lookup(dict, "status", "&s", &dict_status) ||
	    !g_variant_lookup(dict, "stage", "&s", &dict_stage) ||
	    !g_variant_lookup(dict, "reason", "&s", &dict_reason) ||
	    !g_variant_lookup(dict, "progress", "d", &dict_progress) ||
	    !g_variant_lookup(dict, "original_bytes", "t", &dict_original) ||
	    !g_variant_lookup(dict, "new_bytes", "t", &dict_new) ||
	    g_strcmp0(path, dict_path) != 0 || g_strcmp0(status, dict_status) != 0 ||
	    g_strcmp0(stage, dict_stage) != 0 || g_strcmp0(reason, dict_reason) != 0 ||
	    progress != dict_progress || original_bytes != dict_original ||
	    new_bytes != dict_new) {
		g_autofree gchar *text = g_variant_print(row, FALSE);
		g_printerr("ListJobs row %s differs from GetJob\n", text);
		return FALSE;
	}
	return TRUE;
}

static gboolean
check_rows(GDBusConnection *bus, GVariant *rows)
{
	gsize n = g_variant_n_children(rows);

	for (gsize i = 0; i < n; i++) {
		g_autoptr(GVariant) row = g_variant_get_child_value(rows, i);

		if ((i == 0 || i == n - 1 || i % 500 == 0 || g_variant_get_size(row) > 255) &&
		    !check_row(bus, row))
			return FALSE;
	}
	return TRUE;
}

static int
list_jobs(GDBusConnection *bus, guint calls)
{
	g_autoptr(GVariant) last_rows = NULL;
	g_autoptr(GArray) ms = g_array_new(FALSE, FALSE, sizeof(gdouble));
	gsize n_jobs = 0, bytes = 0;
	gdouble cpu_start = 0;

	for (guint i = 0; i <= calls; i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GDBusMessage) call = g_dbus_message_new_method_call(
		    AV1D_DBUS_NAME, AV1D_DBUS_PATH, AV1D_DBUS_INTERFACE_MANAGER, "ListJobs");
		g_autoptr(GDBusMessage) reply = NULL;
		gint64 start = g_get_monotonic_time();
		g_autoptr(GVariant) jobs = NULL;
		gdouble elapsed;

		reply = g_dbus_connection_send_message_with_reply_sync(
		    bus, call, G_DBUS_SEND_MESSAGE_FLAGS_NONE, 60000, NULL, NULL, &error);
		if (reply == NULL || g_dbus_message_to_gerror(reply, &error)) {
			g_printerr("ListJobs: %s\n", error->message);
			return 1;
		}
		elapsed = (gdouble)(g_get_monotonic_time() - start) / 1000.0;
		jobs = g_variant_get_child_value(g_dbus_message_get_body(reply), 0);
		n_jobs = g_variant_n_children(jobs);
		g_clear_pointer(&last_rows, g_variant_unref);
		last_rows = g_variant_ref(jobs);
		g_dbus_message_to_blob(reply, &bytes, G_DBUS_CAPABILITY_FLAGS_NONE, NULL);
		if (i > 0) /* the first call warms up */
			g_array_append_val(ms, elapsed);
		else
			cpu_start = cpu_ms();
	}
	g_array_sort(ms, compare_doubles);
	g_print("%.2f %.2f %.2f %zu %zu %.2f\n", g_array_index(ms, gdouble, ms->len / 2),
		g_array_index(ms, gdouble, 0), g_array_index(ms, gdouble, ms->len - 1), n_jobs,
		bytes, (cpu_ms() - cpu_start) / calls);
	return check_rows(bus, last_rows) ? 0 : 1;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(sd_bus, sd_bus_flush_close_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sd_bus_message, sd_bus_message_unref)

/* one ListJobs call through sd-bus, every row read; the number of rows or
 * a negative errno */
static gint
sd_list_jobs_once(sd_bus *bus)
{
	g_autoptr(sd_bus_message) reply = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	guint64 id, original_bytes, new_bytes;
	const gchar *path, *status, *stage, *reason;
	gdouble progress;
	gint r, rows = 0;

	r = sd_bus_call_method(bus, AV1D_DBUS_NAME, AV1D_DBUS_PATH, AV1D_DBUS_INTERFACE_MANAGER,
			       "ListJobs", &error, &reply, "");
	if (r < 0) {
		g_printerr("ListJobs: %s\n", error.message);
		sd_bus_error_free(&error);
		return r;
	}
	r = sd_bus_message_enter_container(reply, 'a', "(tssssdtt)");
	while (r >= 0 && (r = sd_bus_message_read(reply, "(tssssdtt)", &id, &path, &status, &stage,
						  &reason, &progress, &original_bytes,
						  &new_bytes)) > 0)
		rows++;
	return r < 0 ? r : rows;
}

static int
sd_list_jobs(const gchar *address, guint calls)
{
	g_autoptr(sd_bus) bus = NULL;
	g_autoptr(GArray) ms = g_array_new(FALSE, FALSE, sizeof(gdouble));
	gdouble cpu_start = 0;
	gint rows = 0;

	if (sd_bus_new(&bus) < 0 || sd_bus_set_address(bus, address) < 0 ||
	    sd_bus_set_bus_client(bus, 1) < 0 || sd_bus_start(bus) < 0) {
		g_printerr("%s: cannot connect with sd-bus\n", address);
		return 1;
	}
	for (guint i = 0; i <= calls; i++) {
		gint64 start = g_get_monotonic_time();
		gdouble elapsed;

		rows = sd_list_jobs_once(bus);
		if (rows < 0)
			return 1;
		elapsed = (gdouble)(g_get_monotonic_time() - start) / 1000.0;
		if (i > 0)
			g_array_append_val(ms, elapsed);
		else
			cpu_start = cpu_ms();
	}
	g_array_sort(ms, compare_doubles);
	g_print("%.2f %.2f %.2f %d %.2f\n", g_array_index(ms, gdouble, ms->len / 2),
		g_array_index(ms, gdouble, 0), g_array_index(ms, gdouble, ms->len - 1), rows,
		(cpu_ms() - cpu_start) / calls);
	return 0;
}

static gboolean
quit_cb(gpointer user_data)
{
	Counter *counter = user_data;

	counter->done_id = 0;
	g_main_loop_quit(counter->loop);
	return G_SOURCE_REMOVE;
}

static void
properties_changed_cb(GDBusConnection *bus,
		      const gchar *sender,
		      const gchar *path,
		      const gchar *iface,
		      const gchar *signal,
		      GVariant *parameters,
		      gpointer user_data)
{
	Counter *counter = user_data;
	g_autoptr(GVariant) changed = g_variant_get_child_value(parameters, 1);
	const gchar *status = NULL;
	GArray *times;
	gint64 now = g_get_monotonic_time();

	if (!g_str_has_prefix(path, AV1D_DBUS_JOB_PATH_PREFIX))
		return;
	times = g_hash_table_lookup(counter->times, path);
	if (times == NULL) {
		times = g_array_new(FALSE, FALSE, sizeof(gint64));
		g_hash_table_insert(counter->times, g_strdup(path), times);
	}
	g_array_append_val(times, now);
	if (g_variant_lookup(changed, "Status", "&s", &status) && counter->done_id == 0 &&
	    (g_strcmp0(status, "success") == 0 || g_strcmp0(status, "failed") == 0 ||
	     g_strcmp0(status, "skipped") == 0))
		counter->done_id = g_timeout_add_seconds(1, quit_cb, counter);
}

static void
print_rates(Counter *counter)
{
	GHashTableIter iter;
	gpointer key, value;

	g_hash_table_iter_init(&iter, counter->times);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		GArray *times = value;
		gint64 first = g_array_index(times, gint64, 0);
		gint64 last = g_array_index(times, gint64, times->len - 1);
		gdouble span = (gdouble)(last - first) / G_USEC_PER_SEC;
		guint max_in_1s = 0;

		for (guint i = 0, j = 0; i < times->len; i++) {
			while (g_array_index(times, gint64, i) - g_array_index(times, gint64, j) >=
			       G_USEC_PER_SEC)
				j++;
			max_in_1s = MAX(max_in_1s, i - j + 1);
		}
		g_print("%s %u %.1f %.2f %u\n", (const gchar *)key, times->len, span,
			span > 0 ? (times->len - 1) / span : 0.0, max_in_1s);
	}
}

static int
count_signals(GDBusConnection *bus, guint seconds)
{
	Counter counter = {
	    .loop = g_main_loop_new(NULL, FALSE),
	    .times = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					   (GDestroyNotify)g_array_unref),
	};
	guint sub_id = g_dbus_connection_signal_subscribe(
	    bus, AV1D_DBUS_NAME, "org.freedesktop.DBus.Properties", "PropertiesChanged", NULL,
	    NULL, G_DBUS_SIGNAL_FLAGS_NONE, properties_changed_cb, &counter, NULL);
	guint timeout_id = g_timeout_add_seconds(seconds, quit_cb, &counter);
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) pong = NULL;

	/* the match rule is in place once a round trip has been made */
	pong = g_dbus_connection_call_sync(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
					   "org.freedesktop.DBus", "GetId", NULL, NULL,
					   G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
	if (pong == NULL) {
		g_printerr("GetId: %s\n", error->message);
		return 1;
	}
	g_print("ready\n");
	fflush(stdout);
	g_main_loop_run(counter.loop);
	g_dbus_connection_signal_unsubscribe(bus, sub_id);
	g_clear_handle_id(&timeout_id, g_source_remove);
	g_clear_handle_id(&counter.done_id, g_source_remove);
	print_rates(&counter);
	g_hash_table_unref(counter.times);
	g_main_loop_unref(counter.loop);
	return 0;
}

int
main(int argc, char **argv)
{
	g_autofree gchar *address = NULL;
	gint calls = 0, sd_calls = 0, seconds = 0;
	g_autoptr(GError) error = NULL;
	g_autoptr(GOptionContext) context = g_option_context_new("- av1d D-Bus benchmark client");
	g_autoptr(GDBusConnection) bus = NULL;
	const GOptionEntry entries[] = {
	    {"address", 0, 0, G_OPTION_ARG_STRING, &address, "bus address", "ADDR"},
	    {"list-jobs", 0, 0, G_OPTION_ARG_INT, &calls, "time N ListJobs calls", "N"},
	    {"sd-bus", 0, 0, G_OPTION_ARG_INT, &sd_calls, "time N ListJobs calls with sd-bus", "N"},
	    {"count-signals", 0, 0, G_OPTION_ARG_INT, &seconds, "count PropertiesChanged",
	     "SECONDS"},
	    {NULL},
	};

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error) || address == NULL ||
	    (calls > 0) + (sd_calls > 0) + (seconds > 0) != 1) {
		g_printerr("usage: bench-dbus --address ADDR "
			   "(--list-jobs N | --sd-bus N | --count-signals S)\n");
		return 2;
	}
	if (sd_calls > 0)
		return sd_list_jobs(address, (guint)sd_calls);
	bus = g_dbus_connection_new_for_address_sync(
	    address,
	    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
		G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
	    NULL, NULL, &error);
	if (bus == NULL) {
		g_printerr("%s: %s\n", address, error->message);
		return 1;
	}
	return calls > 0 ? list_jobs(bus, (guint)calls) : count_signals(bus, (guint)seconds);
}
