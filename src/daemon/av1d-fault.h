/*
 * Named points where a test can make the process crash or stop, to prove
 * that a kill -9 at that exact instant loses nothing. Driven from the
 * environment: AV1D_CRASH_AT=<point> raises SIGKILL there, AV1D_PAUSE_AT=<point>
 * prints "av1d: paused at <point>" on stderr and stops the process with
 * SIGSTOP so that the test can kill it whenever it likes. "<point>#N" picks
 * the Nth time the point is reached. Costs two getenv() calls when unset.
 * The swap's points may be reached from its worker thread; the hit count is
 * only for tests, which run one swap at a time.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void
av1d_fault_point(const gchar *point);

G_END_DECLS
