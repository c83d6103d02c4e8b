/*
 * What av1top shows, as plain data: the daemon's totals, the jobs, the host
 * meters and the state of the screen (selection, filter, dialogs). Filled by
 * av1top-bus.c and av1top-host.c, drawn by av1top-view.c. Never includes
 * curses or sd-bus, so the tests drive it without a terminal or a bus.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* av1top's own failures: the bus, the daemon, the journal */
#define AV1TOP_ERROR av1top_error_quark()
typedef enum {
	AV1TOP_ERROR_FAILED,
	AV1TOP_ERROR_NO_BUS,
	AV1TOP_ERROR_NO_DAEMON,
	AV1TOP_ERROR_JOURNAL,
} Av1topError;

GQuark
av1top_error_quark(void);

typedef enum {
	AV1TOP_STATUS_RUNNING,
	AV1TOP_STATUS_PENDING,
	AV1TOP_STATUS_SUCCESS,
	AV1TOP_STATUS_FAILED,
	AV1TOP_STATUS_SKIPPED,
	AV1TOP_STATUS_CANCELLED,
	AV1TOP_STATUS_UNKNOWN,
} Av1topStatus;

Av1topStatus
av1top_status_from_string(const gchar *status);
gboolean
av1top_status_is_finished(Av1topStatus status);

typedef struct {
	guint64 id;
	gchar *path;
	gchar *name; /* the file name, for display */
	gchar *status_text;
	Av1topStatus status;
	gchar *stage;
	gchar *reason;
	gchar *encoder;
	gdouble progress; /* 0..1 */
	gdouble fps;
	gint64 eta_seconds; /* -1 unknown */
	guint64 original_bytes;
	guint64 new_bytes;
	gint quality;
	gboolean is_hdr;
	gboolean is_web_like;
	guint source_bit_depth;
	/* µs since the epoch from GetJob, 0 unknown: Job1 has no properties
	 * for them */
	gint64 started_at;
	gint64 finished_at;
	gboolean times_wanted; /* ask GetJob for the times */
	/* when this client saw the job finish, for "newest first"; 0 for jobs
	 * that had finished before we connected */
	guint64 finish_seq;
} Av1topJob;

/* saving of a successful job in percent of the original; FALSE when
 * unknown */
gboolean
av1top_job_saving_percent(const Av1topJob *job, gdouble *percent);
/* seconds the job ran (until now when it still runs), or -1 */
gint64
av1top_job_duration(const Av1topJob *job, gint64 now_us);

typedef struct {
	gchar *path;
	guint64 free_bytes;
	guint64 total_bytes;
	gboolean known; /* statvfs answered */
} Av1topRootSpace;

typedef struct {
	gdouble cpu_percent; /* < 0 until two samples */
	guint64 mem_total;
	guint64 mem_used;
	gdouble gpu_percent; /* < 0: the kernel exposes nothing */
	GPtrArray *roots;    /* Av1topRootSpace* */
} Av1topHostStats;

typedef enum {
	AV1TOP_DAEMON_CONNECTING,
	AV1TOP_DAEMON_UP,
	AV1TOP_DAEMON_DOWN,   /* the bus is there, org.av1d has no owner */
	AV1TOP_DAEMON_NO_BUS, /* the bus itself cannot be reached */
} Av1topDaemonState;

typedef enum {
	AV1TOP_MODE_TABLE,
	AV1TOP_MODE_HELP,
	AV1TOP_MODE_DETAILS,
	AV1TOP_MODE_CONFIRM_CANCEL,
	AV1TOP_MODE_FILTER,
} Av1topMode;

typedef struct {
	/* the daemon */
	Av1topDaemonState daemon;
	gchar *bus_error; /* why the bus is unreachable */
	gchar *version;
	gchar *encoder;
	gchar *encoder_reason;
	GStrv roots;
	guint roots_changes; /* the host samples the new roots at once */
	gboolean paused;
	guint pending_count;
	guint running_count;
	guint done_count;
	guint failed_count;
	guint skipped_count;
	guint watched_dirs;
	guint64 bytes_saved;

	/* jobs by id, and the rows shown: filtered and sorted */
	GHashTable *jobs;
	GPtrArray *rows;
	gboolean rows_dirty;
	guint64 finish_seq;
	gchar *filter;

	/* the table's cursor, kept on the same job across re-sorts */
	guint64 selected_id;
	guint selected;
	guint scroll;

	Av1topHostStats host;

	/* the screen */
	Av1topMode mode;
	gchar *message; /* one line in the status bar */
	gint64 message_until; /* monotonic µs */
	gboolean message_is_error;
	GString *filter_edit;
	guint64 confirm_id;
	guint64 details_id;
	GPtrArray *details; /* lines of the details page; NULL while asked for */
	GPtrArray *details_journal; /* the job's journal lines */
	gchar *details_journal_error;
	guint details_scroll;
	gboolean dirty; /* something changed since the last draw */
} Av1topModel;

Av1topModel *
av1top_model_new(void);
void
av1top_model_free(Av1topModel *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Av1topModel, av1top_model_free)

/* the job with @id, created empty when it is new */
Av1topJob *
av1top_model_ensure_job(Av1topModel *self, guint64 id);
Av1topJob *
av1top_model_lookup_job(Av1topModel *self, guint64 id);
void
av1top_model_remove_job(Av1topModel *self, guint64 id);
void
av1top_model_clear_jobs(Av1topModel *self);
/* a job's property changed; @job belongs to @self */
void
av1top_model_job_set_status(Av1topModel *self, Av1topJob *job, const gchar *status);
void
av1top_model_job_set_path(Av1topModel *self, Av1topJob *job, const gchar *path);
void
av1top_model_job_changed(Av1topModel *self);

void
av1top_model_set_filter(Av1topModel *self, const gchar *filter);
/* the visible rows, filtered and sorted: running, pending, then finished
 * newest first */
GPtrArray *
av1top_model_get_rows(Av1topModel *self);
gboolean
av1top_job_matches(const Av1topJob *job, const gchar *filter);
gint
av1top_job_compare(const Av1topJob *a, const Av1topJob *b);

/* cursor moves by @delta rows (clamped); home/end are G_MININT/G_MAXINT */
void
av1top_model_move(Av1topModel *self, gint delta);
Av1topJob *
av1top_model_get_selected(Av1topModel *self);
/* first row to show so that the cursor is inside @visible rows */
guint
av1top_model_scroll_for(Av1topModel *self, guint visible);

/* the header's overall saving: bytes saved in percent of the originals of
 * the successful jobs; FALSE when there are none */
gboolean
av1top_model_saving_percent(Av1topModel *self, gdouble *percent);

void
av1top_model_set_message(Av1topModel *self, gboolean is_error, const gchar *message);
/* the message still to show at @now, or NULL */
const gchar *
av1top_model_get_message(Av1topModel *self, gint64 now);

void
av1top_host_stats_clear(Av1topHostStats *host);

/* --- formatting: every result fits the width it is given ---------------- */

/* "512 B", "1.5 KB", "12.3 GB", "123 GB": at most 7 columns; "-" for 0 */
gchar *
av1top_format_size(guint64 bytes);
/* "45s", "12:34", "1:02:03", "3d04h"; "-" for < 0 */
gchar *
av1top_format_duration(gint64 seconds);
/* columns @text takes on a terminal (wide CJK 2, combining 0) */
guint
av1top_text_width(const gchar *text);
/* @text in at most @width columns, the middle replaced by "…" */
gchar *
av1top_ellipsize_middle(const gchar *text, guint width);
/* @text cut to @width columns (ending in "…" when cut), padded with spaces
 * to exactly @width; @right aligns it right */
gchar *
av1top_fit(const gchar *text, guint width, gboolean right);

/* --- the table's columns ------------------------------------------------ */

typedef enum {
	AV1TOP_COL_ID,
	AV1TOP_COL_STATUS,
	AV1TOP_COL_STAGE,
	AV1TOP_COL_FILE,
	AV1TOP_COL_PROGRESS,
	AV1TOP_COL_FPS,
	AV1TOP_COL_ETA,
	AV1TOP_COL_ORIGINAL,
	AV1TOP_COL_NEW,
	AV1TOP_COL_SAVING,
	AV1TOP_COL_DURATION,
	AV1TOP_COL_REASON,
	AV1TOP_N_COLS,
} Av1topColumn;

const gchar *
av1top_column_title(Av1topColumn col);
gboolean
av1top_column_right_aligned(Av1topColumn col);
/* widths of the columns for a terminal @width wide (0 = hidden), one
 * space between shown columns; columns are dropped from the least useful
 * up until the rest fit */
void
av1top_layout_columns(guint width, guint widths[AV1TOP_N_COLS]);
/* the text of one cell, fitted to @width; the progress cell is only its
 * percentage (the view draws the bar in front) */
gchar *
av1top_cell_text(const Av1topJob *job, Av1topColumn col, guint width, gint64 now_us);

G_END_DECLS
