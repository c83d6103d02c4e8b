/*
 * The journal lines of one job (AV1D_JOB_ID=<id>), for the details page.
 * Only this file of av1top includes sd-journal.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* the last @max entries for job @id, oldest first, as "date time message"
 * strings; @directory is a journal directory (like journalctl -D) or NULL
 * for the local journal */
GPtrArray *
av1top_journal_job_lines(const gchar *directory, guint64 id, guint max, GError **error);

G_END_DECLS
