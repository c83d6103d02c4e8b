/*
 * One transcode job (SPEC 9).
 *
 * Av1dJob is a reference-counted plain struct rather than a GObject: the
 * store holds up to 100 000 of them, most are finished and never change, and
 * the fields map one to one onto the JSON file. Change notification is the
 * manager's job (it knows which fields it touched), so the struct needs no
 * signals. Status changes go through av1d_job_set_status(), which refuses
 * illegal transitions.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum {
	AV1D_JOB_STATUS_PENDING,
	AV1D_JOB_STATUS_RUNNING,
	AV1D_JOB_STATUS_SUCCESS,
	AV1D_JOB_STATUS_FAILED,
	AV1D_JOB_STATUS_SKIPPED,
	AV1D_JOB_STATUS_CANCELLED,
	AV1D_JOB_STATUS_LAST
} Av1dJobStatus;

typedef enum {
	AV1D_JOB_STAGE_QUEUED,
	AV1D_JOB_STAGE_PROBING,
	AV1D_JOB_STAGE_ENCODING,
	AV1D_JOB_STAGE_VERIFYING,
	AV1D_JOB_STAGE_SWAPPING,
	AV1D_JOB_STAGE_DONE,
	AV1D_JOB_STAGE_LAST
} Av1dJobStage;

/* who a file is: a file already processed is recognised by this even after a
 * restart or a rename */
typedef struct {
	guint64 dev;
	guint64 ino;
	guint64 size;
	gint64 mtime_ns; /* nanoseconds since the epoch */
} Av1dFileIdentity;

typedef struct {
	guint64 id;
	gchar *source_path; /* filename encoding (bytes) */
	gchar *output_path; /* NULL until planned */
	gint64 created_at;  /* µs since the epoch (wall clock); 0 = not yet */
	gint64 started_at;
	gint64 finished_at;
	Av1dJobStatus status;
	Av1dJobStage stage;
	gchar *reason; /* human readable, may be NULL */
	guint64 original_bytes;
	guint64 new_bytes;
	gboolean is_web_like;
	gdouble web_score;
	gchar *video_codec;
	guint64 video_bitrate; /* bits per second, 0 = unknown */
	guint video_width;
	guint video_height;
	gdouble video_frame_rate;
	gint av1_quality; /* 0 = not decided */
	guint source_bit_depth;
	gchar *source_pix_fmt;
	guint target_bit_depth;
	gchar *av1_profile;
	gboolean is_hdr;
	gchar *encoder;
	/* one allocation (pointers and strings together), as a store of
	 * 100 000 jobs holds millions of arguments: set it with
	 * av1d_job_set_argv(), never g_strfreev() it */
	GStrv argv;
	gdouble progress; /* 0..1 */
	gdouble fps;
	Av1dFileIdentity identity;
	/* the encode as the swap found it in the temp folder (dev, ino, size;
	 * the swap sets its mtime): recovery rolls a swap forward only when
	 * the final name holds this file; zero until the swapping stage */
	Av1dFileIdentity output_identity;
	gint64 eta_seconds; /* while encoding; -1 unknown; not written to the job file */

	/*< private >*/
	gatomicrefcount ref_count;
} Av1dJob;

/* pending, queued, created now */
Av1dJob *
av1d_job_new(guint64 id, const gchar *source_path);
Av1dJob *
av1d_job_ref(Av1dJob *self);
void
av1d_job_unref(Av1dJob *self);

/* every field is written (null when unset) so a file documents itself; a
 * path that is not UTF-8 becomes a file:// URI, other strings that are not
 * UTF-8 are repaired; doubles are kept within ±1e16, below 1e-4 they become
 * 0 and non-finite ones null. Reading ignores unknown keys, gives missing
 * optional keys their defaults and fails with AV1D_ERROR_INVALID_ARGS
 * naming the key for anything else. */
JsonNode *
av1d_job_to_json(const Av1dJob *self);
Av1dJob *
av1d_job_from_json(JsonNode *node, GError **error);
gchar *
av1d_job_to_data(const Av1dJob *self, gsize *length);
Av1dJob *
av1d_job_from_data(const gchar *data, gssize length, GError **error);
/* the same with a caller-owned parser, so that loading many files does not
 * create one parser per file */
Av1dJob *
av1d_job_from_data_with_parser(JsonParser *parser, const gchar *data, gssize length,
			       GError **error);

/* refuses illegal transitions with AV1D_ERROR_BAD_STATE; running stamps
 * started_at, a finished status stamps finished_at, pending (re-queue or
 * retry) clears both */
gboolean
av1d_job_set_status(Av1dJob *self, Av1dJobStatus status, GError **error);
void
av1d_job_set_reason(Av1dJob *self, const gchar *reason);
void
av1d_job_set_stage(Av1dJob *self, Av1dJobStage stage);
gboolean
av1d_job_is_finished(const Av1dJob *self);
/* copies @argv (NULL clears it) */
void
av1d_job_set_argv(Av1dJob *self, const gchar *const *argv);
/* @argv packed the way Av1dJob.argv is: free it with g_free() */
GStrv
av1d_strv_pack(const gchar *const *argv);

const gchar *
av1d_job_status_to_string(Av1dJobStatus status);
gboolean
av1d_job_status_from_string(const gchar *str, Av1dJobStatus *status);
const gchar *
av1d_job_stage_to_string(Av1dJobStage stage);
gboolean
av1d_job_stage_from_string(const gchar *str, Av1dJobStage *stage);

gboolean
av1d_file_identity_from_path(const gchar *path, Av1dFileIdentity *identity, GError **error);
gboolean
av1d_file_identity_equal(const Av1dFileIdentity *a, const Av1dFileIdentity *b);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Av1dJob, av1d_job_unref)

G_END_DECLS
