/*
 * The D-Bus service (data/dbus/org.av1d.Manager1.xml, org.av1d.Job1.xml):
 * org.av1d.Manager1 and org.freedesktop.DBus.ObjectManager at /org/av1d,
 * and one org.av1d.Job1 object per job at /org/av1d/job/<id>.
 *
 * A thin adapter: method calls become calls on the core (the manager, the
 * job store, the library path rules of av1d-library.h) and the manager's
 * signals become properties and D-Bus signals. Nothing here blocks the main
 * loop: Explain probes asynchronously, the rest does at most a stat, a
 * realpath or a small durable write (a job file, an .av1skip marker).
 *
 * Every path a client names is resolved first and only the canonical path
 * is acted on, so a symlink or ".." cannot lead a write out of the library.
 *
 * A job's Progress and Fps reach the bus at most twice a second (the latest
 * values win); a change of Status, Stage or Reason goes out at once and
 * takes pending progress with it. EtaSeconds is always -1: the core's job
 * has no estimate yet. The Done/Failed/Skipped counts and BytesSaved are
 * running totals kept from the manager's signals, not rescans of the store.
 *
 * Cost: every job is an object, about 2 KiB and 20 µs each, so a store of
 * 100 000 jobs takes about 200 MiB and 2 s at export.
 */
#pragma once

#include <gio/gio.h>

#include "av1d-config.h"
#include "av1d-job-store.h"
#include "av1d-manager.h"
#include "av1d-names.h"
#include "av1d-plan.h"

G_BEGIN_DECLS


#define AV1D_TYPE_DBUS (av1d_dbus_get_type())
G_DECLARE_FINAL_TYPE(Av1dDbus, av1d_dbus, AV1D, DBUS, GObject)

/* Reload is answered by the daemon, which owns the config: FALSE with an
 * AV1D_ERROR_CONFIG error for a bad file (Reload then fails with
 * org.av1d.Error.Config and that message); on success it calls
 * av1d_dbus_set_config() with the new config before returning */
typedef gboolean (*Av1dDbusReloadFunc)(gpointer user_data, GError **error);

/* @manager, @store and @config are ref'd; @backend's
 * strings are copied (Explain builds its argv from them); @encoder and
 * @encoder_reason are shown as the Encoder and EncoderReason properties */
Av1dDbus *
av1d_dbus_new(Av1dManager *manager,
	      Av1dJobStore *store,
	      const Av1dConfig *config,
	      const Av1dBackendParams *backend,
	      const gchar *encoder,
	      const gchar *encoder_reason);
/* export on @connection; every job in the store gets its object now, jobs
 * created later get theirs with JobAdded. Owning the name is the caller's. */
gboolean
av1d_dbus_export(Av1dDbus *self, GDBusConnection *connection, GError **error);
/* also cancels running Explain calls */
void
av1d_dbus_unexport(Av1dDbus *self);
void
av1d_dbus_set_reload_func(Av1dDbus *self,
			  Av1dDbusReloadFunc func,
			  gpointer user_data,
			  GDestroyNotify destroy);
/* the config was replaced (after a reload); running Explain calls, which
 * hold the old one, are cancelled and fail with org.av1d.Error.Cancelled */
void
av1d_dbus_set_config(Av1dDbus *self, const Av1dConfig *config);
/* the store no longer has job @id: its object goes and JobRemoved is sent */
void
av1d_dbus_job_removed(Av1dDbus *self, guint64 id);

G_END_DECLS
