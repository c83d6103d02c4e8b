/*
 * What happens to one job, start to end: probe, classify, plan, encode into
 * the hidden temp beside the source, and report. Every stage is written to
 * the job file before it starts, so that a crash can be recovered from.
 *
 * A job that fails (bad media, ffmpeg error, full disk) ends with status
 * failed and a reason; that is a normal outcome, not an error of the
 * pipeline. The async result is an error only when the job was cancelled.
 */
#pragma once

#include <gio/gio.h>

#include "av1d-config.h"
#include "av1d-job-store.h"
#include "av1d-plan.h"

G_BEGIN_DECLS

typedef struct {
	const Av1dConfig *config; /* the pipeline keeps its own reference */
	Av1dJobStore *store;
	/* the chosen backend; strings borrowed like config */
	Av1dBackendParams backend;
} Av1dPipelineContext;

/* called on the main context after each progress block of the encode and
 * after every stage change, so that observers (D-Bus, logs) can follow */
typedef void (*Av1dPipelineChangedFunc)(Av1dJob *job, gpointer user_data);

void
av1d_pipeline_run_async(const Av1dPipelineContext *context,
			Av1dJob *job,
			GCancellable *cancellable,
			Av1dPipelineChangedFunc changed_func,
			gpointer changed_data,
			GAsyncReadyCallback callback,
			gpointer user_data);
gboolean
av1d_pipeline_run_finish(GAsyncResult *result, GError **error);

G_END_DECLS
