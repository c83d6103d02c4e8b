#define G_LOG_DOMAIN "av1d-fault"

#include "config.h"

#include <signal.h>
#include <stdio.h>

#include "av1d-fault.h"

void
av1d_fault_point(const gchar *point)
{
	const gchar *crash_at = g_getenv("AV1D_CRASH_AT");
	const gchar *pause_at = g_getenv("AV1D_PAUSE_AT");

	if (crash_at != NULL && g_strcmp0(crash_at, point) == 0)
		raise(SIGKILL);
	if (pause_at != NULL && g_strcmp0(pause_at, point) == 0) {
		fprintf(stderr, "av1d: paused at %s\n", point);
		fflush(stderr);
		raise(SIGSTOP);
	}
}
