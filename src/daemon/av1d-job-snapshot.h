/*
 * A cache of the job store in GLib's own binary format, so that a start
 * does not parse 100 000 JSON files.
 *
 * The JSON files stay the truth. The snapshot holds, for each job, what its
 * file said when the snapshot was taken together with the file's key (inode,
 * size, ctime). A cached job is used only while its file still has that
 * key; any write of a job file (an atomic rename gives a new inode, an edit
 * in place a new ctime) makes the store parse that one file again. So a
 * stale, truncated or foreign snapshot can cost time, never correctness.
 *
 * The file is a GVariant of type "v", read through mmap as untrusted data:
 * GVariant checks every access, and a snapshot whose inner type, magic or
 * byte order is not exactly what this build writes is ignored as a whole.
 */
#pragma once

#include "av1d-job.h"

G_BEGIN_DECLS

/* what identifies one version of a job file */
typedef struct {
	guint64 ino;
	guint64 size;
	gint64 ctime_ns;
} Av1dJobFileKey;

typedef struct _Av1dJobSnapshot Av1dJobSnapshot;

/* NULL when there is no usable snapshot at @path; a damaged one is
 * reported with g_debug() only, since losing the cache loses nothing */
Av1dJobSnapshot *
av1d_job_snapshot_open(const gchar *path);
void
av1d_job_snapshot_free(Av1dJobSnapshot *self);
guint
av1d_job_snapshot_get_size(Av1dJobSnapshot *self);

/* the index of the entry for @id, or -1 */
gint
av1d_job_snapshot_find(Av1dJobSnapshot *self, guint64 id);
/* whether entry @index was taken from a file with @key */
gboolean
av1d_job_snapshot_matches(Av1dJobSnapshot *self, guint index, const Av1dJobFileKey *key);
/* a new job from entry @index, or NULL when the entry does not hold a valid
 * job (then the file is parsed instead); safe to call from several threads */
Av1dJob *
av1d_job_snapshot_get_job(Av1dJobSnapshot *self, guint index);

/* writes @jobs with their @keys (parallel arrays, in id order) to @path
 * atomically */
gboolean
av1d_job_snapshot_write(const gchar *path, GPtrArray *jobs, const GArray *keys, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Av1dJobSnapshot, av1d_job_snapshot_free)

G_END_DECLS
