/*
 * The job store (SPEC 9): one JSON file per job in job_state_dir, written
 * atomically (temp file, fsync, rename, fsync of the directory). Ids are
 * handed out from a persisted counter so they are never reused, not even
 * after the job with the highest id is deleted.
 */
#pragma once

#include <glib-object.h>

#include "av1d-job.h"

G_BEGIN_DECLS

#define AV1D_TYPE_JOB_STORE (av1d_job_store_get_type())
G_DECLARE_FINAL_TYPE(Av1dJobStore, av1d_job_store, AV1D, JOB_STORE, GObject)

/* creates the directory (0700) when missing */
Av1dJobStore *
av1d_job_store_new(const gchar *directory, GError **error);
/* reads every <id>.json; corrupt files are renamed to <id>.json.corrupt with
 * a warning and the rest are loaded; leftover temp files are removed.
 * Files unchanged since the last snapshot are taken from it instead of
 * being parsed, and the snapshot is rewritten when much of it was stale. A file
 * that cannot be read at all (EIO, EACCES) fails the load instead: it may be
 * fine once the fault is fixed. Replaces whatever the store held before. */
gboolean
av1d_job_store_load(Av1dJobStore *self, GError **error);
const gchar *
av1d_job_store_get_directory(Av1dJobStore *self);

/* allocates a new id (persisted before it is returned), adds the job and
 * writes it; (transfer none) like the lookups; AV1D_ERROR_BAD_STATE before
 * a load */
Av1dJob *
av1d_job_store_create_job(Av1dJobStore *self, const gchar *source_path, GError **error);
/* durable write of one job; call after every change that must survive a
 * crash. @job must be the store's own instance; the path and identity
 * indexes follow whatever the job holds now. */
gboolean
av1d_job_store_save(Av1dJobStore *self, Av1dJob *job, GError **error);
gboolean
av1d_job_store_remove(Av1dJobStore *self, guint64 id, GError **error);
/* the path index follows renames */
void
av1d_job_store_set_source_path(Av1dJobStore *self, Av1dJob *job, const gchar *source_path);

/* lookups return the store's instance (transfer none) */
Av1dJob *
av1d_job_store_lookup(Av1dJobStore *self, guint64 id);
/* the newest job for that source path, or NULL */
Av1dJob *
av1d_job_store_lookup_by_path(Av1dJobStore *self, const gchar *source_path);
/* the newest job whose recorded identity equals @identity, or NULL; an all
 * zero identity (never recorded) matches nothing */
Av1dJob *
av1d_job_store_lookup_by_identity(Av1dJobStore *self, const Av1dFileIdentity *identity);
/* all jobs ordered by id; (element-type Av1dJob) (transfer container) */
GPtrArray *
av1d_job_store_get_jobs(Av1dJobStore *self);
guint
av1d_job_store_get_size(Av1dJobStore *self);
/* files quarantined by the last load */
guint
av1d_job_store_get_corrupt_count(Av1dJobStore *self);
/* jobs the last load took from the snapshot (av1d-job-snapshot.h) rather
 * than parsing their files */
guint
av1d_job_store_get_cached_count(Av1dJobStore *self);
/* for tests: cache files changed less than @min_age_ns ago too (the
 * default leaves out the last 3 s, see av1d-job-store.c) */
void
av1d_job_store_set_snapshot_min_age(Av1dJobStore *self, gint64 min_age_ns);

/* write @data to @path durably: temp in the same directory, fsync, rename,
 * fsync of the directory; shared with the sidecar writers. The file gets
 * exactly @mode. Errors carry the errno meaning (ENOSPC is
 * AV1D_ERROR_NO_SPACE) and name @path; the temp file never outlives a
 * failure, except when the process dies (then the next load removes it). */
gboolean
av1d_file_write_atomic(const gchar *path, const gchar *data, gsize length, guint mode, GError **error);

G_END_DECLS
