/*
 * The text of `av1d explain PATH`, `--dry-run` and the D-Bus Explain method:
 * what ffprobe saw, every decision with its reason, the track plan and the
 * exact argv for the chosen backend. Writes nothing.
 */
#pragma once

#include <gio/gio.h>

#include "av1d-classify.h"
#include "av1d-config.h"
#include "av1d-plan.h"
#include "av1d-probe.h"

G_BEGIN_DECLS

/* pure: @plan and @argv may be NULL (skipped file) */
gchar *
av1d_explain_format(const gchar *path,
		    const Av1dMediaInfo *info,
		    const Av1dDecision *decision,
		    const Av1dPlan *plan,
		    const gchar *const *argv,
		    const Av1dBackendParams *backend);
/* probes @path (blocking: for the command line) and formats the result */
gchar *
av1d_explain_file_sync(const Av1dConfig *config,
		       const Av1dBackendParams *backend,
		       const gchar *path,
		       GError **error);
/* the same without blocking, for the D-Bus Explain method. @config must stay
 * valid until @callback runs or until @cancellable is cancelled: once it is,
 * the result is AV1D_ERROR_CANCELLED and @config is not touched again */
void
av1d_explain_file_async(const Av1dConfig *config,
			const Av1dBackendParams *backend,
			const gchar *path,
			GCancellable *cancellable,
			GAsyncReadyCallback callback,
			gpointer user_data);
gchar *
av1d_explain_file_finish(GAsyncResult *result, GError **error);

G_END_DECLS
