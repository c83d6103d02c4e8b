/*
 * av1top's sd-bus client: follows org.av1d through NameOwnerChanged, loads
 * Manager1's properties and the jobs (ObjectManager), keeps them current
 * from InterfacesAdded/Removed and PropertiesChanged, and calls the
 * control methods. Everything it learns goes into the model; failures of
 * the calls go to the status bar, by their org.av1d.Error name.
 */
#pragma once

#include <glib.h>

#include "av1top-model.h"

G_BEGIN_DECLS

typedef enum {
	AV1TOP_BUS_USER,
	AV1TOP_BUS_SYSTEM,
	AV1TOP_BUS_ADDRESS,
} Av1topBusKind;

typedef struct _Av1topBus Av1topBus;

Av1topBus *
av1top_bus_new(Av1topModel *model, Av1topBusKind kind, const gchar *address);
void
av1top_bus_free(Av1topBus *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Av1topBus, av1top_bus_free)

/* opens the bus and starts following org.av1d; the state arrives through
 * av1top_bus_dispatch() */
gboolean
av1top_bus_connect(Av1topBus *self, GError **error);
/* for poll(): -1 while not connected */
gint
av1top_bus_get_fd(Av1topBus *self);
gshort
av1top_bus_get_events(Av1topBus *self);
/* monotonic µs when av1top_bus_dispatch() is due without input (sd-bus
 * call timeouts, a reconnect), G_MAXINT64 for never */
gint64
av1top_bus_get_deadline(Av1topBus *self);
/* handles what arrived; a lost bus is reconnected later */
void
av1top_bus_dispatch(Av1topBus *self);
/* loads everything again (the `r` key) */
void
av1top_bus_refresh(Av1topBus *self);

/* --once: loads Manager1 and the jobs, blocking */
gboolean
av1top_bus_load_sync(Av1topBus *self, GError **error);

/* asks GetJob for the start and end times of these jobs (the visible
 * rows) when they are not known yet */
void
av1top_bus_fetch_times(Av1topBus *self, GPtrArray *jobs);
/* fills model->details with every field of the job */
void
av1top_bus_get_job(Av1topBus *self, guint64 id);

void
av1top_bus_skip(Av1topBus *self, const Av1topJob *job);
void
av1top_bus_retry(Av1topBus *self, const Av1topJob *job);
void
av1top_bus_cancel(Av1topBus *self, const Av1topJob *job);
void
av1top_bus_set_paused(Av1topBus *self, gboolean paused);

/* a translated phrase for an org.av1d.Error (or D-Bus) error name */
const gchar *
av1top_bus_error_phrase(const gchar *name);

G_END_DECLS
