#define G_LOG_DOMAIN "av1d-service"

#include "config.h"

#include <glib-unix.h>
#include <gio/gio.h>

#include "av1d-dbus.h"
#include "av1d-error.h"
#include "av1d-fault.h"
#include "av1d-log.h"
#include "av1d-manager.h"
#include "av1d-names.h"
#include "av1d-notify.h"
#include "av1d-service.h"

typedef struct {
	const Av1dServiceOptions *options;
	Av1dManager *manager;
	Av1dDbus *dbus;
	GMainLoop *loop;
	gchar *last_status;
	gboolean name_owned;
	int status; /* exit status */
} Av1dService;

/* systemd's STATUS= line, sent only when it changes */
static void
av1d_service_update_status(Av1dManager *manager, Av1dJob *job, gpointer user_data)
{
	Av1dService *service = user_data;
	g_autofree gchar *status = g_strdup_printf(
	    "%u running, %u queued%s; watching %u folders", av1d_manager_get_running_count(manager),
	    av1d_manager_get_pending_count(manager),
	    av1d_manager_get_paused(manager) ? " (paused)" : "",
	    av1d_manager_get_watched_dir_count(manager));

	if (g_strcmp0(service->last_status, status) == 0)
		return;
	av1d_notify_status(status);
	g_free(service->last_status);
	service->last_status = g_steal_pointer(&status);
}

/* the folder count is known once the crawl is done, usually after READY */
static void
av1d_service_crawl_finished(Av1dManager *manager, gpointer user_data)
{
	av1d_service_update_status(manager, NULL, user_data);
}

/* SIGHUP and D-Bus Reload: a new config is built and checked whole, then
 * handed to its holders here on the main thread; a bad file keeps the
 * config in effect. What reads the old one (the crawl thread, a running
 * job) keeps its own reference to it */
static gboolean
av1d_service_reload(gpointer user_data, GError **error)
{
	Av1dService *service = user_data;
	const Av1dConfig *config = av1d_manager_get_config(service->manager);
	g_autoptr(Av1dConfig) next = av1d_config_load(config->source_file, error);

	if (next == NULL)
		return FALSE;
	if (service->options->cli_roots != NULL && service->options->cli_roots[0] != NULL &&
	    !av1d_config_set_roots(next, (const gchar *const *)service->options->cli_roots, error))
		return FALSE;
	if (!av1d_manager_reload(service->manager, next, error))
		return FALSE;
	if (service->dbus != NULL)
		av1d_dbus_set_config(service->dbus, next);
	g_message("configuration reloaded from %s",
		  next->source_file != NULL ? next->source_file : "built-in defaults");
	return TRUE;
}

static gboolean
av1d_service_sighup_cb(gpointer user_data)
{
	g_autoptr(GError) error = NULL;

	if (!av1d_service_reload(user_data, &error))
		g_warning("reload failed, keeping the configuration in effect: %s", error->message);
	return G_SOURCE_CONTINUE;
}

static gboolean
av1d_service_quit_cb(gpointer user_data)
{
	Av1dService *service = user_data;

	g_message("stopping on signal");
	av1d_notify_stopping();
	av1d_fault_point("service-stopping");
	g_main_loop_quit(service->loop);
	return G_SOURCE_CONTINUE;
}

static void
av1d_service_name_acquired_cb(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	Av1dService *service = user_data;

	service->name_owned = TRUE;
	g_message("serving %s on the bus", name);
	/* ready only now: the name is owned and the roots are watched */
	av1d_fault_point("service-before-ready");
	av1d_notify_ready();
}

static void
av1d_service_name_lost_cb(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	Av1dService *service = user_data;

	if (connection == NULL)
		g_warning("lost the bus connection; stopping");
	else
		g_warning("cannot own %s: is another av1d running? stopping", name);
	service->status = 1;
	g_main_loop_quit(service->loop);
}

static gboolean
av1d_service_export(Av1dService *service, GDBusConnection **bus, guint *owner_id, GError **error)
{
	const Av1dServiceOptions *options = service->options;

	g_autoptr(GError) bus_error = NULL;

	*bus = g_bus_get_sync(options->bus_type, NULL, &bus_error);
	if (*bus == NULL) {
		/* a shell without a session bus (ssh, cron) still gets a working
		 * daemon; only the control API is missing */
		g_message("no %s bus (%s): running without the D-Bus API",
			  options->bus_type == G_BUS_TYPE_SYSTEM ? "system" : "session",
			  bus_error->message);
		av1d_notify_ready();
		return TRUE;
	}
	service->dbus = av1d_dbus_new(service->manager, options->store, options->config,
				      options->backend, options->encoder, options->encoder_reason);
	av1d_dbus_set_reload_func(service->dbus, av1d_service_reload, service, NULL);
	if (!av1d_dbus_export(service->dbus, *bus, error))
		return FALSE;
	*owner_id = g_bus_own_name_on_connection(*bus, AV1D_DBUS_NAME,
						 G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE,
						 av1d_service_name_acquired_cb,
						 av1d_service_name_lost_cb, service, NULL);
	return TRUE;
}

int
av1d_service_run(const Av1dServiceOptions *options, GError **error)
{
	Av1dService service = {.options = options};
	g_autoptr(GDBusConnection) bus = NULL;
	guint owner_id = 0, watchdog_id = 0;
	guint signal_ids[3];

	service.loop = g_main_loop_new(NULL, FALSE);
	service.manager = av1d_manager_new(options->config, options->store, options->backend);
	signal_ids[0] = g_unix_signal_add(SIGTERM, av1d_service_quit_cb, &service);
	signal_ids[1] = g_unix_signal_add(SIGINT, av1d_service_quit_cb, &service);
	signal_ids[2] = g_unix_signal_add(SIGHUP, av1d_service_sighup_cb, &service);
	g_signal_connect(service.manager, "job-changed", G_CALLBACK(av1d_service_update_status),
			 &service);
	g_signal_connect(service.manager, "job-finished", G_CALLBACK(av1d_service_update_status),
			 &service);
	g_signal_connect(service.manager, "crawl-finished",
			 G_CALLBACK(av1d_service_crawl_finished), &service);
	av1d_manager_requeue_unfinished(service.manager);
	if (!av1d_manager_start_watching(service.manager, error) ||
	    !av1d_service_export(&service, &bus, &owner_id, error)) {
		service.status = 1;
	} else {
		g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MESSAGE_ID",
				 AV1D_MSG_DAEMON_STARTED, "MESSAGE", "av1d %s started, %u jobs known",
				 PACKAGE_VERSION, av1d_job_store_get_size(options->store));
		av1d_service_update_status(service.manager, NULL, &service);
		watchdog_id = av1d_notify_watchdog_start();
		g_main_loop_run(service.loop);
	}
	g_clear_handle_id(&watchdog_id, g_source_remove);
	g_signal_handlers_disconnect_by_data(service.manager, &service);
	av1d_manager_stop(service.manager);
	if (owner_id != 0)
		g_bus_unown_name(owner_id);
	if (service.dbus != NULL)
		av1d_dbus_unexport(service.dbus);
	g_clear_object(&service.dbus);
	g_clear_object(&service.manager);
	for (guint i = 0; i < G_N_ELEMENTS(signal_ids); i++)
		g_source_remove(signal_ids[i]);
	g_main_loop_unref(service.loop);
	g_free(service.last_status);
	return service.status;
}
