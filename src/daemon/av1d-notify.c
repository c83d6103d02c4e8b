#define G_LOG_DOMAIN "av1d-notify"

#include "config.h"

#include <systemd/sd-daemon.h>

#include "av1d-notify.h"

void
av1d_notify_ready(void)
{
	sd_notify(0, "READY=1");
}

void
av1d_notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

void
av1d_notify_status(const gchar *status)
{
	g_autofree gchar *message = g_strdup_printf("STATUS=%s", status);

	sd_notify(0, message);
}

static gboolean
av1d_notify_watchdog_cb(gpointer user_data)
{
	sd_notify(0, "WATCHDOG=1");
	return G_SOURCE_CONTINUE;
}

guint
av1d_notify_watchdog_start(void)
{
	guint64 usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	/* half the interval, as systemd recommends; the only periodic timer */
	return g_timeout_add((guint)MAX(usec / 2000, 1), av1d_notify_watchdog_cb, NULL);
}
