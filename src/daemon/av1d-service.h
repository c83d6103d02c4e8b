/*
 * The long-running daemon: the manager watching the roots, the D-Bus
 * adapter on the bus under the name org.av1d, the service manager told when
 * it is ready, SIGHUP and Reload re-reading the config, SIGTERM stopping
 * the encodes cleanly.
 */
#pragma once

#include "av1d-config.h"
#include "av1d-job-store.h"
#include "av1d-plan.h"

G_BEGIN_DECLS

typedef struct {
	const Av1dConfig *config; /* the config at start; the manager and the
				   * D-Bus adapter take references, and a reload
				   * replaces theirs */
	GStrv cli_roots;      /* roots given as arguments, which a reload keeps */
	Av1dJobStore *store;  /* borrowed */
	const Av1dBackendParams *backend;
	const gchar *encoder;
	const gchar *encoder_reason;
	GBusType bus_type;
} Av1dServiceOptions;

/* runs until SIGTERM/SIGINT; returns the exit status */
int
av1d_service_run(const Av1dServiceOptions *options, GError **error);

G_END_DECLS
