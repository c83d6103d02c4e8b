/*
 * The service manager protocol (sd_notify): READY=1 once the daemon serves,
 * STATUS= a one-line summary kept current, WATCHDOG=1 at half the
 * interval systemd asks for, STOPPING=1 on shutdown. Every call is a no-op
 * when not started by systemd ($NOTIFY_SOCKET unset).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void
av1d_notify_ready(void);
void
av1d_notify_stopping(void);
void
av1d_notify_status(const gchar *status);
/* starts the watchdog timer when $WATCHDOG_USEC asks for one; returns the
 * source id (0 when none), for g_source_remove() */
guint
av1d_notify_watchdog_start(void);

G_END_DECLS
