#define G_LOG_DOMAIN "av1top-model"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "av1top-model.h"

/* how long a message stays in the status bar */
#define MESSAGE_USEC (6 * G_USEC_PER_SEC)

G_DEFINE_QUARK(av1top-error-quark, av1top_error)

static const gchar *const status_names[] = {
	[AV1TOP_STATUS_RUNNING] = "running",	 [AV1TOP_STATUS_PENDING] = "pending",
	[AV1TOP_STATUS_SUCCESS] = "success",	 [AV1TOP_STATUS_FAILED] = "failed",
	[AV1TOP_STATUS_SKIPPED] = "skipped",	 [AV1TOP_STATUS_CANCELLED] = "cancelled",
	[AV1TOP_STATUS_UNKNOWN] = NULL,
};

Av1topStatus
av1top_status_from_string(const gchar *status)
{
	for (guint i = 0; i < AV1TOP_STATUS_UNKNOWN; i++) {
		if (g_strcmp0(status, status_names[i]) == 0)
			return (Av1topStatus)i;
	}
	return AV1TOP_STATUS_UNKNOWN;
}

gboolean
av1top_status_is_finished(Av1topStatus status)
{
	return status == AV1TOP_STATUS_SUCCESS || status == AV1TOP_STATUS_FAILED ||
	       status == AV1TOP_STATUS_SKIPPED || status == AV1TOP_STATUS_CANCELLED;
}

gboolean
av1top_job_saving_percent(const Av1topJob *job, gdouble *percent)
{
	if (job->status != AV1TOP_STATUS_SUCCESS || job->original_bytes == 0 ||
	    job->new_bytes == 0)
		return FALSE;
	*percent = 100.0 * ((gdouble)job->original_bytes - (gdouble)job->new_bytes) /
		   (gdouble)job->original_bytes;
	return TRUE;
}

gint64
av1top_job_duration(const Av1topJob *job, gint64 now_us)
{
	gint64 end = job->finished_at;

	if (job->started_at <= 0)
		return -1;
	if (end <= 0) {
		if (job->status != AV1TOP_STATUS_RUNNING)
			return -1;
		end = now_us;
	}
	return end > job->started_at ? (end - job->started_at) / G_USEC_PER_SEC : 0;
}

static void
av1top_job_free(Av1topJob *job)
{
	g_free(job->path);
	g_free(job->name);
	g_free(job->status_text);
	g_free(job->stage);
	g_free(job->reason);
	g_free(job->encoder);
	g_free(job);
}

static void
av1top_root_space_free(Av1topRootSpace *root)
{
	g_free(root->path);
	g_free(root);
}

Av1topModel *
av1top_model_new(void)
{
	Av1topModel *self = g_new0(Av1topModel, 1);

	self->jobs = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
					   (GDestroyNotify)av1top_job_free);
	self->rows = g_ptr_array_new();
	self->host.cpu_percent = -1;
	self->host.gpu_percent = -1;
	self->host.roots = g_ptr_array_new_with_free_func((GDestroyNotify)av1top_root_space_free);
	self->filter_edit = g_string_new(NULL);
	self->daemon = AV1TOP_DAEMON_CONNECTING;
	self->dirty = TRUE;
	return self;
}

void
av1top_host_stats_clear(Av1topHostStats *host)
{
	g_ptr_array_set_size(host->roots, 0);
}

void
av1top_model_free(Av1topModel *self)
{
	if (self == NULL)
		return;
	g_free(self->bus_error);
	g_free(self->version);
	g_free(self->encoder);
	g_free(self->encoder_reason);
	g_strfreev(self->roots);
	g_ptr_array_unref(self->rows);
	g_hash_table_unref(self->jobs);
	g_free(self->filter);
	g_ptr_array_unref(self->host.roots);
	g_free(self->message);
	g_string_free(self->filter_edit, TRUE);
	g_clear_pointer(&self->details, g_ptr_array_unref);
	g_clear_pointer(&self->details_journal, g_ptr_array_unref);
	g_free(self->details_journal_error);
	g_free(self);
}

Av1topJob *
av1top_model_lookup_job(Av1topModel *self, guint64 id)
{
	return g_hash_table_lookup(self->jobs, &id);
}

Av1topJob *
av1top_model_ensure_job(Av1topModel *self, guint64 id)
{
	Av1topJob *job = av1top_model_lookup_job(self, id);

	if (job != NULL)
		return job;
	job = g_new0(Av1topJob, 1);
	job->id = id;
	job->eta_seconds = -1;
	job->status = AV1TOP_STATUS_UNKNOWN;
	job->times_wanted = TRUE;
	g_hash_table_insert(self->jobs, &job->id, job);
	av1top_model_job_changed(self);
	return job;
}

void
av1top_model_remove_job(Av1topModel *self, guint64 id)
{
	/* rows borrow the jobs: drop them before the job goes */
	g_ptr_array_set_size(self->rows, 0);
	g_hash_table_remove(self->jobs, &id);
	av1top_model_job_changed(self);
}

void
av1top_model_clear_jobs(Av1topModel *self)
{
	g_ptr_array_set_size(self->rows, 0);
	g_hash_table_remove_all(self->jobs);
	av1top_model_job_changed(self);
}

void
av1top_model_job_changed(Av1topModel *self)
{
	self->rows_dirty = TRUE;
	self->dirty = TRUE;
}

void
av1top_model_job_set_status(Av1topModel *self, Av1topJob *job, const gchar *status)
{
	Av1topStatus next = av1top_status_from_string(status);

	if (g_strcmp0(job->status_text, status) == 0)
		return;
	/* a job seen to finish while we watch sorts above older ones */
	if (av1top_status_is_finished(next) && job->status_text != NULL &&
	    !av1top_status_is_finished(job->status))
		job->finish_seq = ++self->finish_seq;
	if (!av1top_status_is_finished(next))
		job->finish_seq = 0;
	g_free(job->status_text);
	job->status_text = g_strdup(status);
	job->status = next;
	/* started/finished times move with the status */
	job->times_wanted = TRUE;
	av1top_model_job_changed(self);
}

void
av1top_model_job_set_path(Av1topModel *self, Av1topJob *job, const gchar *path)
{
	g_autofree gchar *base = NULL;

	if (g_strcmp0(job->path, path) == 0)
		return;
	g_free(job->path);
	job->path = g_strdup(path);
	base = g_path_get_basename(path);
	g_free(job->name);
	/* a file:// URI stands for a name that is not UTF-8 */
	if (g_str_has_prefix(path, "file://")) {
		g_autofree gchar *unescaped = g_uri_unescape_string(base, NULL);

		job->name = g_utf8_make_valid(unescaped != NULL ? unescaped : base, -1);
	} else {
		job->name = g_utf8_make_valid(base, -1);
	}
	av1top_model_job_changed(self);
}

/* --- rows: filter and sort ---------------------------------------------- */

static gboolean
av1top_contains_casefold(const gchar *haystack, const gchar *needle_folded)
{
	g_autofree gchar *folded = NULL;

	if (haystack == NULL)
		return FALSE;
	folded = g_utf8_casefold(haystack, -1);
	return strstr(folded, needle_folded) != NULL;
}

gboolean
av1top_job_matches(const Av1topJob *job, const gchar *filter)
{
	g_autofree gchar *needle = NULL;
	g_autofree gchar *id = NULL;

	if (filter == NULL || filter[0] == '\0')
		return TRUE;
	needle = g_utf8_casefold(filter, -1);
	id = g_strdup_printf("%" G_GUINT64_FORMAT, job->id);
	return av1top_contains_casefold(job->path, needle) ||
	       av1top_contains_casefold(job->name, needle) ||
	       av1top_contains_casefold(job->status_text, needle) ||
	       av1top_contains_casefold(job->stage, needle) ||
	       av1top_contains_casefold(job->reason, needle) || g_strcmp0(id, needle) == 0;
}

static guint
av1top_status_rank(Av1topStatus status)
{
	if (status == AV1TOP_STATUS_RUNNING)
		return 0;
	if (status == AV1TOP_STATUS_PENDING)
		return 1;
	if (status == AV1TOP_STATUS_UNKNOWN)
		return 3;
	return 2;
}

gint
av1top_job_compare(const Av1topJob *a, const Av1topJob *b)
{
	guint rank_a = av1top_status_rank(a->status);
	guint rank_b = av1top_status_rank(b->status);

	if (rank_a != rank_b)
		return rank_a < rank_b ? -1 : 1;
	/* the queue in its order; finished ones newest first */
	if (rank_a < 2)
		return a->id < b->id ? -1 : a->id > b->id;
	if (a->finish_seq != b->finish_seq)
		return a->finish_seq > b->finish_seq ? -1 : 1;
	return a->id > b->id ? -1 : a->id < b->id;
}

static gint
av1top_job_compare_ptr(gconstpointer a, gconstpointer b)
{
	return av1top_job_compare(*(Av1topJob *const *)a, *(Av1topJob *const *)b);
}

/* the cursor stays on its job; when that went (or was filtered out), on
 * the row where it was */
static void
av1top_model_place_cursor(Av1topModel *self, guint previous)
{
	const Av1topJob *job;

	for (guint i = 0; i < self->rows->len; i++) {
		job = g_ptr_array_index(self->rows, i);
		if (job->id == self->selected_id) {
			self->selected = i;
			return;
		}
	}
	if (self->rows->len == 0) {
		self->selected = 0;
		return;
	}
	self->selected = MIN(previous, self->rows->len - 1);
	job = g_ptr_array_index(self->rows, self->selected);
	self->selected_id = job->id;
}

GPtrArray *
av1top_model_get_rows(Av1topModel *self)
{
	GHashTableIter iter;
	gpointer value;

	if (!self->rows_dirty)
		return self->rows;
	g_ptr_array_set_size(self->rows, 0);
	g_hash_table_iter_init(&iter, self->jobs);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		if (av1top_job_matches(value, self->filter))
			g_ptr_array_add(self->rows, value);
	}
	g_ptr_array_sort(self->rows, av1top_job_compare_ptr);
	self->rows_dirty = FALSE;
	av1top_model_place_cursor(self, self->selected);
	return self->rows;
}

void
av1top_model_set_filter(Av1topModel *self, const gchar *filter)
{
	g_free(self->filter);
	self->filter = (filter != NULL && filter[0] != '\0') ? g_strdup(filter) : NULL;
	av1top_model_job_changed(self);
}

void
av1top_model_move(Av1topModel *self, gint delta)
{
	GPtrArray *rows = av1top_model_get_rows(self);
	gint64 target;

	if (rows->len == 0)
		return;
	if (delta == G_MININT)
		target = 0;
	else if (delta == G_MAXINT)
		target = rows->len - 1;
	else
		target = CLAMP((gint64)self->selected + delta, 0, (gint64)rows->len - 1);
	self->selected = (guint)target;
	self->selected_id = ((Av1topJob *)g_ptr_array_index(rows, self->selected))->id;
	self->dirty = TRUE;
}

Av1topJob *
av1top_model_get_selected(Av1topModel *self)
{
	GPtrArray *rows = av1top_model_get_rows(self);

	if (rows->len == 0)
		return NULL;
	return g_ptr_array_index(rows, MIN(self->selected, rows->len - 1));
}

guint
av1top_model_scroll_for(Av1topModel *self, guint visible)
{
	GPtrArray *rows = av1top_model_get_rows(self);

	if (visible == 0 || rows->len == 0) {
		self->scroll = 0;
		return 0;
	}
	if (self->selected < self->scroll)
		self->scroll = self->selected;
	else if (self->selected >= self->scroll + visible)
		self->scroll = self->selected - visible + 1;
	/* no empty space below the last row after a shrink */
	if (rows->len > visible && self->scroll > rows->len - visible)
		self->scroll = rows->len - visible;
	if (rows->len <= visible)
		self->scroll = 0;
	return self->scroll;
}

gboolean
av1top_model_saving_percent(Av1topModel *self, gdouble *percent)
{
	GHashTableIter iter;
	gpointer value;
	guint64 originals = 0;

	g_hash_table_iter_init(&iter, self->jobs);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		const Av1topJob *job = value;

		if (job->status == AV1TOP_STATUS_SUCCESS)
			originals += job->original_bytes;
	}
	if (originals == 0)
		return FALSE;
	*percent = 100.0 * (gdouble)self->bytes_saved / (gdouble)originals;
	return TRUE;
}

void
av1top_model_set_message(Av1topModel *self, gboolean is_error, const gchar *message)
{
	g_free(self->message);
	self->message = g_strdup(message);
	self->message_is_error = is_error;
	self->message_until = g_get_monotonic_time() + MESSAGE_USEC;
	self->dirty = TRUE;
}

const gchar *
av1top_model_get_message(Av1topModel *self, gint64 now)
{
	if (self->message == NULL || now > self->message_until)
		return NULL;
	return self->message;
}

/* --- formatting ---------------------------------------------------------- */

gchar *
av1top_format_size(guint64 bytes)
{
	/* TRANSLATORS: units of a byte count (SI, 1000 based) */
	static const gchar *const units[] = {N_("B"), N_("KB"), N_("MB"), N_("GB"), N_("TB"),
					     N_("PB"), N_("EB")};
	gdouble value = (gdouble)bytes;
	guint unit = 0;

	if (bytes == 0)
		return g_strdup("-");
	while (value >= 999.5 && unit + 1 < G_N_ELEMENTS(units)) {
		value /= 1000.0;
		unit++;
	}
	if (unit == 0)
		return g_strdup_printf("%" G_GUINT64_FORMAT " %s", bytes, _(units[0]));
	if (value < 99.95)
		return g_strdup_printf("%.1f %s", value, _(units[unit]));
	return g_strdup_printf("%.0f %s", value, _(units[unit]));
}

gchar *
av1top_format_duration(gint64 seconds)
{
	if (seconds < 0)
		return g_strdup("-");
	if (seconds < 60)
		return g_strdup_printf("%" G_GINT64_FORMAT "s", seconds);
	if (seconds < 3600)
		return g_strdup_printf("%" G_GINT64_FORMAT ":%02" G_GINT64_FORMAT, seconds / 60,
				       seconds % 60);
	if (seconds < 100 * 3600)
		return g_strdup_printf("%" G_GINT64_FORMAT ":%02" G_GINT64_FORMAT
				       ":%02" G_GINT64_FORMAT,
				       seconds / 3600, (seconds / 60) % 60, seconds % 60);
	/* TRANSLATORS: days and hours, e.g. 4d07h */
	return g_strdup_printf(_("%ud%02uh"), (guint)MIN(seconds / 86400, G_MAXUINT),
			       (guint)((seconds / 3600) % 24));
}

static guint
av1top_char_width(gunichar c)
{
	if (g_unichar_iszerowidth(c))
		return 0;
	if (g_unichar_iswide(c))
		return 2;
	return 1;
}

/* control characters would move the cursor: shown as "?" */
static gunichar
av1top_printable(gunichar c)
{
	return g_unichar_iscntrl(c) ? '?' : c;
}

guint
av1top_text_width(const gchar *text)
{
	guint width = 0;

	for (const gchar *p = text; p != NULL && *p != '\0'; p = g_utf8_next_char(p))
		width += av1top_char_width(av1top_printable(g_utf8_get_char(p)));
	return width;
}

/* the longest start of @text that fits in @width columns */
static void
av1top_append_head(GString *out, const gchar *text, guint width)
{
	guint used = 0;

	for (const gchar *p = text; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = av1top_printable(g_utf8_get_char(p));
		guint w = av1top_char_width(c);

		if (used + w > width)
			break;
		g_string_append_unichar(out, c);
		used += w;
	}
}

/* the longest end of @text that fits in @width columns */
static void
av1top_append_tail(GString *out, const gchar *text, guint width)
{
	const gchar *start = text + strlen(text);
	guint used = 0;

	while (start > text) {
		const gchar *prev = g_utf8_prev_char(start);
		guint w = av1top_char_width(av1top_printable(g_utf8_get_char(prev)));

		if (used + w > width)
			break;
		used += w;
		start = prev;
	}
	/* zero-width marks belong to the character before them, which did
	 * not fit */
	while (*start != '\0' && g_unichar_iszerowidth(g_utf8_get_char(start)))
		start = g_utf8_next_char(start);
	av1top_append_head(out, start, G_MAXUINT);
}

gchar *
av1top_ellipsize_middle(const gchar *text, guint width)
{
	g_autofree gchar *valid = g_utf8_make_valid(text != NULL ? text : "", -1);
	GString *out = g_string_new(NULL);
	guint head;

	if (av1top_text_width(valid) <= width) {
		av1top_append_head(out, valid, width);
		return g_string_free(out, FALSE);
	}
	if (width == 0)
		return g_string_free(out, FALSE);
	/* the end has the episode number and extension: give it the odd column */
	head = (width - 1) / 2;
	av1top_append_head(out, valid, head);
	g_string_append(out, "…");
	av1top_append_tail(out, valid, width - av1top_text_width(out->str));
	return g_string_free(out, FALSE);
}

gchar *
av1top_fit(const gchar *text, guint width, gboolean right)
{
	g_autofree gchar *valid = g_utf8_make_valid(text != NULL ? text : "", -1);
	GString *out = g_string_new(NULL);
	guint used;

	if (av1top_text_width(valid) > width) {
		if (width > 0) {
			av1top_append_head(out, valid, width - 1);
			g_string_append(out, "…");
		}
	} else {
		av1top_append_head(out, valid, width);
	}
	used = av1top_text_width(out->str);
	if (right) {
		g_autofree gchar *pad = g_strnfill(width - used, ' ');

		g_string_prepend(out, pad);
	} else {
		for (; used < width; used++)
			g_string_append_c(out, ' ');
	}
	return g_string_free(out, FALSE);
}

/* --- columns ------------------------------------------------------------- */

typedef struct {
	const gchar *title;
	guint width;	/* fixed, or the least for a flexible one */
	guint drop;	/* dropped first: highest */
	gboolean flex;	/* takes what is left */
	gboolean right; /* numbers */
} Av1topColumnSpec;

static const Av1topColumnSpec columns[AV1TOP_N_COLS] = {
	[AV1TOP_COL_ID] = {N_("ID"), 5, 3, FALSE, TRUE},
	[AV1TOP_COL_STATUS] = {N_("STATUS"), 9, 1, FALSE, FALSE},
	[AV1TOP_COL_STAGE] = {N_("STAGE"), 9, 7, FALSE, FALSE},
	[AV1TOP_COL_FILE] = {N_("FILE"), 20, 0, TRUE, FALSE},
	[AV1TOP_COL_PROGRESS] = {N_("PROGRESS"), 14, 2, FALSE, FALSE},
	[AV1TOP_COL_FPS] = {N_("FPS"), 5, 9, FALSE, TRUE},
	[AV1TOP_COL_ETA] = {N_("ETA"), 7, 4, FALSE, TRUE},
	[AV1TOP_COL_ORIGINAL] = {N_("ORIG"), 7, 8, FALSE, TRUE},
	[AV1TOP_COL_NEW] = {N_("NEW"), 7, 10, FALSE, TRUE},
	[AV1TOP_COL_SAVING] = {N_("SAVED"), 6, 5, FALSE, TRUE},
	[AV1TOP_COL_DURATION] = {N_("TIME"), 7, 11, FALSE, TRUE},
	[AV1TOP_COL_REASON] = {N_("REASON"), 10, 6, TRUE, FALSE},
};

const gchar *
av1top_column_title(Av1topColumn col)
{
	return _(columns[col].title);
}

gboolean
av1top_column_right_aligned(Av1topColumn col)
{
	return columns[col].right;
}

static guint
av1top_layout_needed(const gboolean shown[AV1TOP_N_COLS])
{
	guint needed = 0, count = 0;

	for (guint i = 0; i < AV1TOP_N_COLS; i++) {
		if (!shown[i])
			continue;
		needed += columns[i].width;
		count++;
	}
	return needed + (count > 0 ? count - 1 : 0);
}

/* the shown column dropped next, or AV1TOP_N_COLS when only the file is left */
static guint
av1top_layout_next_drop(const gboolean shown[AV1TOP_N_COLS])
{
	guint best = AV1TOP_N_COLS;

	for (guint i = 0; i < AV1TOP_N_COLS; i++) {
		if (shown[i] && columns[i].drop > 0 &&
		    (best == AV1TOP_N_COLS || columns[i].drop > columns[best].drop))
			best = i;
	}
	return best;
}

void
av1top_layout_columns(guint width, guint widths[AV1TOP_N_COLS])
{
	gboolean shown[AV1TOP_N_COLS];
	guint spare, reason_extra;

	for (guint i = 0; i < AV1TOP_N_COLS; i++)
		shown[i] = TRUE;
	while (av1top_layout_needed(shown) > width) {
		guint drop = av1top_layout_next_drop(shown);

		if (drop == AV1TOP_N_COLS)
			break;
		shown[drop] = FALSE;
	}
	for (guint i = 0; i < AV1TOP_N_COLS; i++)
		widths[i] = shown[i] ? columns[i].width : 0;
	if (av1top_layout_needed(shown) > width) {
		/* only the file name is left, and even it does not fit */
		widths[AV1TOP_COL_FILE] = width;
		return;
	}
	/* the file name and the reason share what is left */
	spare = width - av1top_layout_needed(shown);
	reason_extra = shown[AV1TOP_COL_REASON] ? spare / 2 : 0;
	widths[AV1TOP_COL_FILE] += spare - reason_extra;
	widths[AV1TOP_COL_REASON] += reason_extra;
}

static gchar *
av1top_progress_text(const Av1topJob *job, guint width)
{
	g_autoptr(GString) bar = g_string_new("[");
	guint inner, filled;
	gdouble progress = CLAMP(job->progress, 0.0, 1.0);

	if (job->status != AV1TOP_STATUS_RUNNING || width < 7)
		return job->status == AV1TOP_STATUS_RUNNING
			   ? g_strdup_printf("%3.0f%%", progress * 100)
			   : g_strdup("");
	/* "[|||||     ] 45%" */
	inner = width - 7;
	filled = (guint)(progress * inner + 0.5);
	for (guint i = 0; i < inner; i++)
		g_string_append_c(bar, i < filled ? '|' : ' ');
	g_string_append_printf(bar, "] %3.0f%%", progress * 100);
	return g_string_free(g_steal_pointer(&bar), FALSE);
}

static gchar *
av1top_cell_raw(const Av1topJob *job, Av1topColumn col, guint width, gint64 now_us)
{
	gdouble saving;

	switch (col) {
	case AV1TOP_COL_ID:
		return g_strdup_printf("%" G_GUINT64_FORMAT, job->id);
	case AV1TOP_COL_STATUS:
		return g_strdup(job->status_text != NULL ? job->status_text : "?");
	case AV1TOP_COL_STAGE:
		return g_strdup(job->stage);
	case AV1TOP_COL_FILE:
		return av1top_ellipsize_middle(job->name, width);
	case AV1TOP_COL_PROGRESS:
		return av1top_progress_text(job, width);
	case AV1TOP_COL_FPS:
		return job->status == AV1TOP_STATUS_RUNNING && job->fps > 0
			   ? g_strdup_printf("%.1f", job->fps)
			   : g_strdup("");
	case AV1TOP_COL_ETA:
		return job->status == AV1TOP_STATUS_RUNNING ? av1top_format_duration(job->eta_seconds)
							    : g_strdup("");
	case AV1TOP_COL_ORIGINAL:
		return av1top_format_size(job->original_bytes);
	case AV1TOP_COL_NEW:
		return av1top_format_size(job->new_bytes);
	case AV1TOP_COL_SAVING:
		if (!av1top_job_saving_percent(job, &saving))
			return g_strdup("-");
		return g_strdup_printf("%.1f%%", saving);
	case AV1TOP_COL_DURATION:
		return av1top_format_duration(av1top_job_duration(job, now_us));
	case AV1TOP_COL_REASON:
		return g_strdup(job->reason);
	case AV1TOP_N_COLS:
	default:
		return g_strdup("");
	}
}

gchar *
av1top_cell_text(const Av1topJob *job, Av1topColumn col, guint width, gint64 now_us)
{
	g_autofree gchar *raw = av1top_cell_raw(job, col, width, now_us);

	return av1top_fit(raw, width, columns[col].right);
}
