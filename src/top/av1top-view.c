#define G_LOG_DOMAIN "av1top-view"

#include "config.h"

#include <curses.h>
#include <string.h>

#include <glib/gi18n.h>

#include "av1top-keys.h"
#include "av1top-view.h"

enum {
	PAIR_RUNNING = 1,
	PAIR_PENDING,
	PAIR_SUCCESS,
	PAIR_FAILED,
	PAIR_SKIPPED,
	PAIR_CANCELLED,
	PAIR_BANNER,
	PAIR_TITLE,
	PAIR_METER,
	PAIR_KEY,
	PAIR_LABEL,
	PAIR_PAUSED,
};

struct _Av1topView {
	gboolean color;
	guint page_rows;
	gint64 now_us; /* wall clock of this draw, for running durations */
};

Av1topView *
av1top_view_new(gboolean color)
{
	Av1topView *self = g_new0(Av1topView, 1);

	initscr();
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	self->color = color && has_colors();
	if (self->color) {
		start_color();
		use_default_colors();
		init_pair(PAIR_RUNNING, COLOR_GREEN, -1);
		init_pair(PAIR_PENDING, COLOR_CYAN, -1);
		init_pair(PAIR_SUCCESS, COLOR_BLUE, -1);
		init_pair(PAIR_FAILED, COLOR_RED, -1);
		init_pair(PAIR_SKIPPED, COLOR_YELLOW, -1);
		init_pair(PAIR_CANCELLED, COLOR_MAGENTA, -1);
		init_pair(PAIR_BANNER, COLOR_WHITE, COLOR_RED);
		init_pair(PAIR_TITLE, COLOR_BLACK, COLOR_GREEN);
		init_pair(PAIR_METER, COLOR_GREEN, -1);
		init_pair(PAIR_KEY, -1, -1);
		init_pair(PAIR_LABEL, COLOR_BLACK, COLOR_CYAN);
		init_pair(PAIR_PAUSED, COLOR_BLACK, COLOR_YELLOW);
	}
	return self;
}

void
av1top_view_free(Av1topView *self)
{
	if (self == NULL)
		return;
	endwin();
	g_free(self);
}

/* a colour where there is colour, @plain where NO_COLOR asks for none */
static attr_t
av1top_view_attr(Av1topView *self, gshort pair, attr_t plain)
{
	if (self->color)
		return COLOR_PAIR(pair) | (pair == PAIR_BANNER ? A_BOLD : 0);
	return plain;
}

static attr_t
av1top_view_status_attr(Av1topView *self, Av1topStatus status)
{
	switch (status) {
	case AV1TOP_STATUS_RUNNING:
		return av1top_view_attr(self, PAIR_RUNNING, A_BOLD);
	case AV1TOP_STATUS_PENDING:
		return av1top_view_attr(self, PAIR_PENDING, A_NORMAL);
	case AV1TOP_STATUS_SUCCESS:
		return av1top_view_attr(self, PAIR_SUCCESS, A_NORMAL);
	case AV1TOP_STATUS_FAILED:
		return av1top_view_attr(self, PAIR_FAILED, A_BOLD);
	case AV1TOP_STATUS_SKIPPED:
		return av1top_view_attr(self, PAIR_SKIPPED, A_DIM);
	case AV1TOP_STATUS_CANCELLED:
		return av1top_view_attr(self, PAIR_CANCELLED, A_DIM);
	case AV1TOP_STATUS_UNKNOWN:
	default:
		return A_NORMAL;
	}
}

/* @text at (@y, @x) in at most @width columns and never past the edge;
 * @pad fills the rest of @width with spaces (bars) */
static guint
av1top_view_put(gint y, gint x, guint width, const gchar *text, attr_t attr, gboolean pad)
{
	g_autofree gchar *fitted = NULL;
	guint room;

	if (y < 0 || y >= LINES || x < 0 || x >= COLS)
		return 0;
	room = MIN(width, (guint)(COLS - x));
	fitted = av1top_fit(text, room, FALSE);
	if (!pad) {
		g_autofree gchar *trimmed = av1top_fit(text, MIN(room, av1top_text_width(text)),
						      FALSE);

		g_free(fitted);
		fitted = g_steal_pointer(&trimmed);
	}
	attron(attr);
	mvaddstr(y, x, fitted);
	attroff(attr);
	return av1top_text_width(fitted);
}

/* htop's meter: "CPU[|||||     12.3%]" */
static void
av1top_view_meter(Av1topView *self,
		  gint y,
		  gint x,
		  guint width,
		  const gchar *label,
		  gdouble fraction,
		  const gchar *text)
{
	guint label_width = av1top_text_width(label);
	guint inner, filled;
	g_autofree gchar *value = NULL;
	g_autofree gchar *bar = NULL;

	if (width < label_width + 3)
		return;
	inner = width - label_width - 2;
	filled = (guint)(CLAMP(fraction, 0.0, 1.0) * inner + 0.5);
	value = av1top_fit(text, inner, TRUE);
	bar = g_strnfill(inner, '|');
	av1top_view_put(y, x, label_width, label, av1top_view_attr(self, PAIR_PENDING, A_BOLD),
			FALSE);
	av1top_view_put(y, x + (gint)label_width, 1, "[", A_BOLD, FALSE);
	av1top_view_put(y, x + (gint)label_width + 1, inner, value, A_NORMAL, TRUE);
	/* the bar goes where the number is not */
	for (guint i = 0; i < filled && value[i] == ' '; i++)
		av1top_view_put(y, x + (gint)(label_width + 1 + i), 1, "|",
				av1top_view_attr(self, PAIR_METER, A_BOLD), FALSE);
	av1top_view_put(y, x + (gint)(label_width + 1 + inner), 1, "]", A_BOLD, FALSE);
}

static void
av1top_view_meters(Av1topView *self, Av1topModel *model, gint y)
{
	const Av1topHostStats *host = &model->host;
	gboolean gpu = host->gpu_percent >= 0;
	guint count = gpu ? 3 : 2;
	guint width = (guint)COLS / count;
	g_autofree gchar *cpu = host->cpu_percent >= 0
				    ? g_strdup_printf("%.1f%%", host->cpu_percent)
				    : g_strdup("…");
	g_autofree gchar *used = av1top_format_size(host->mem_used);
	g_autofree gchar *total = av1top_format_size(host->mem_total);
	g_autofree gchar *mem = g_strdup_printf("%s/%s", used, total);
	gdouble mem_fraction = host->mem_total > 0
				   ? (gdouble)host->mem_used / (gdouble)host->mem_total
				   : 0;

	/* TRANSLATORS: meter labels, keep them short */
	av1top_view_meter(self, y, 0, width - 1, _("CPU"), MAX(host->cpu_percent, 0) / 100.0, cpu);
	av1top_view_meter(self, y, (gint)width, width - 1, _("Mem"), mem_fraction, mem);
	if (gpu) {
		g_autofree gchar *text = g_strdup_printf("%.0f%%", host->gpu_percent);

		av1top_view_meter(self, y, (gint)(2 * width), width - 1, _("GPU"),
				  host->gpu_percent / 100.0, text);
	}
}

static void
av1top_view_roots(Av1topView *self, Av1topModel *model, gint y)
{
	g_autoptr(GString) line = g_string_new(NULL);
	gint x;

	x = (gint)av1top_view_put(y, 0, (guint)COLS, _("Free:"),
				  av1top_view_attr(self, PAIR_PENDING, A_BOLD), FALSE);
	for (guint i = 0; i < model->host.roots->len; i++) {
		const Av1topRootSpace *root = g_ptr_array_index(model->host.roots, i);
		g_autofree gchar *free_text = av1top_format_size(root->free_bytes);

		g_string_append_printf(line, "  %s %s", root->path,
				       root->known ? free_text : _("unknown"));
		if (root->known && root->total_bytes > 0)
			g_string_append_printf(line, " (%.0f%%)",
					       100.0 * (gdouble)root->free_bytes /
						   (gdouble)root->total_bytes);
	}
	if (model->host.roots->len == 0)
		g_string_append(line, "  -");
	av1top_view_put(y, x, (guint)COLS, line->str, A_NORMAL, FALSE);
}

/* "av1d 0.1.0  Encoder software  PAUSED  Running 1  Pending 3" */
static gint
av1top_view_state(Av1topView *self, Av1topModel *model, gint y, gint x)
{
	g_autofree gchar *left = g_strdup_printf(_("av1d %s  Encoder: %s  "),
						  model->version != NULL ? model->version : "-",
						  model->encoder != NULL ? model->encoder : "-");
	g_autofree gchar *right = g_strdup_printf(_("  Running %u  Pending %u  "),
						   model->running_count, model->pending_count);

	x += (gint)av1top_view_put(y, x, (guint)COLS, left, A_NORMAL, FALSE);
	if (model->paused)
		x += (gint)av1top_view_put(y, x, (guint)COLS, _(" PAUSED "),
					   av1top_view_attr(self, PAIR_PAUSED, A_REVERSE | A_BOLD),
					   FALSE);
	else
		x += (gint)av1top_view_put(y, x, (guint)COLS, _("active"), A_NORMAL, FALSE);
	x += (gint)av1top_view_put(y, x, (guint)COLS, right, A_NORMAL, FALSE);
	return x;
}

/* "Done 3  Failed 1  Skipped 2  Saved 1.2 GB (41.5%)" */
static void
av1top_view_totals(Av1topView *self, Av1topModel *model, gint y, gint x)
{
	g_autofree gchar *saved = av1top_format_size(model->bytes_saved);
	g_autofree gchar *percent = NULL;
	g_autofree gchar *line = NULL;
	gdouble saving = 0;

	if (av1top_model_saving_percent(model, &saving))
		percent = g_strdup_printf(" (%.1f%%)", saving);
	line = g_strdup_printf(_("Done %u  Failed %u  Skipped %u  Saved %s%s"), model->done_count,
			       model->failed_count, model->skipped_count, saved,
			       percent != NULL ? percent : "");
	x += (gint)av1top_view_put(y, x, (guint)COLS, line, A_NORMAL, FALSE);
	if (model->filter != NULL) {
		g_autofree gchar *filter = g_strdup_printf(_("  Filter: %s"), model->filter);

		av1top_view_put(y, x, (guint)COLS, filter, A_BOLD, FALSE);
	}
}

static const gchar *
av1top_view_banner_text(Av1topModel *model)
{
	switch (model->daemon) {
	case AV1TOP_DAEMON_DOWN:
		return _("av1d is not running: waiting for org.av1d to appear on the bus");
	case AV1TOP_DAEMON_NO_BUS:
		return _("Cannot reach the bus: retrying");
	case AV1TOP_DAEMON_CONNECTING:
		return _("Connecting to av1d…");
	case AV1TOP_DAEMON_UP:
	default:
		return NULL;
	}
}

/* the header lines and the banner; the row where the table starts */
static gint
av1top_view_header(Av1topView *self, Av1topModel *model)
{
	gint y = 0;
	const gchar *banner = av1top_view_banner_text(model);

	if (LINES >= 14) {
		av1top_view_meters(self, model, y++);
		av1top_view_roots(self, model, y++);
		av1top_view_state(self, model, y++, 0);
		av1top_view_totals(self, model, y++, 0);
	} else if (LINES >= 7) {
		av1top_view_meters(self, model, y++);
		av1top_view_totals(self, model, y, av1top_view_state(self, model, y, 0));
		y++;
	}
	if (banner != NULL && y < LINES - 1) {
		g_autofree gchar *text = NULL;

		if (model->daemon == AV1TOP_DAEMON_NO_BUS && model->bus_error != NULL)
			text = g_strdup_printf("%s (%s)", banner, model->bus_error);
		av1top_view_put(y++, 0, (guint)COLS, text != NULL ? text : banner,
				av1top_view_attr(self, PAIR_BANNER, A_REVERSE | A_BOLD), TRUE);
	}
	return y;
}

static void
av1top_view_table_title(Av1topView *self, gint y, const guint widths[AV1TOP_N_COLS])
{
	gint x = 0;

	av1top_view_put(y, 0, (guint)COLS, "", av1top_view_attr(self, PAIR_TITLE, A_REVERSE),
			TRUE);
	for (guint col = 0; col < AV1TOP_N_COLS; col++) {
		g_autofree gchar *title = NULL;

		if (widths[col] == 0)
			continue;
		title = av1top_fit(av1top_column_title(col), widths[col],
				   av1top_column_right_aligned(col));
		av1top_view_put(y, x, widths[col], title,
				av1top_view_attr(self, PAIR_TITLE, A_REVERSE), TRUE);
		x += (gint)widths[col] + 1;
	}
}

static void
av1top_view_row(Av1topView *self,
		gint y,
		const Av1topJob *job,
		gboolean selected,
		const guint widths[AV1TOP_N_COLS])
{
	attr_t row_attr = selected ? A_REVERSE : A_NORMAL;
	gint x = 0;

	if (selected)
		av1top_view_put(y, 0, (guint)COLS, "", row_attr, TRUE);
	for (guint col = 0; col < AV1TOP_N_COLS; col++) {
		g_autofree gchar *cell = NULL;
		attr_t attr = row_attr;

		if (widths[col] == 0)
			continue;
		cell = av1top_cell_text(job, col, widths[col], self->now_us);
		if (col == AV1TOP_COL_STATUS || col == AV1TOP_COL_PROGRESS)
			attr |= av1top_view_status_attr(self, job->status);
		av1top_view_put(y, x, widths[col], cell, attr, TRUE);
		x += (gint)widths[col] + 1;
	}
}

static void
av1top_view_table(Av1topView *self, Av1topModel *model, gint y, GPtrArray *visible)
{
	guint widths[AV1TOP_N_COLS];
	GPtrArray *rows = av1top_model_get_rows(model);
	gint last = LINES - 2; /* the status bar is below */
	guint first;

	self->page_rows = 0;
	if (y > last)
		return;
	av1top_layout_columns((guint)COLS, widths);
	av1top_view_table_title(self, y++, widths);
	if (y > last)
		return;
	self->page_rows = (guint)(last - y + 1);
	first = av1top_model_scroll_for(model, self->page_rows);
	if (rows->len == 0) {
		const gchar *empty = model->filter != NULL ? _("No job matches the filter")
							   : _("No jobs");

		if (model->daemon == AV1TOP_DAEMON_UP)
			av1top_view_put(y, 1, (guint)COLS, empty, A_DIM, FALSE);
		return;
	}
	for (guint i = first; i < rows->len && y <= last; i++, y++) {
		Av1topJob *job = g_ptr_array_index(rows, i);

		av1top_view_row(self, y, job, i == model->selected, widths);
		g_ptr_array_add(visible, job);
	}
}

/* the GetJob lines before "argv:" (@argv FALSE) or from it on */
static void
av1top_view_details_fields(Av1topModel *model, GPtrArray *lines, gboolean argv)
{
	gboolean in_argv = FALSE;

	if (model->details == NULL) {
		if (!argv)
			g_ptr_array_add(lines, g_strdup(_("Asking av1d…")));
		return;
	}
	for (guint i = 0; i < model->details->len; i++) {
		const gchar *line = g_ptr_array_index(model->details, i);

		if (g_strcmp0(line, _("argv:")) == 0)
			in_argv = TRUE;
		if (in_argv == argv)
			g_ptr_array_add(lines, g_strdup(line));
	}
}

static void
av1top_view_details(Av1topView *self, Av1topModel *model)
{
	Av1topJob *job = av1top_model_lookup_job(model, model->details_id);
	g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
	g_autofree gchar *id = g_strdup_printf("%" G_GUINT64_FORMAT, model->details_id);
	g_autofree gchar *title = g_strdup_printf(
	    _("Job %s  %s"), id, job != NULL && job->name != NULL ? job->name : "");
	guint visible = LINES > 2 ? (guint)LINES - 2 : 0;
	guint first;

	/* the fields, the journal, then the argv: the longest part last */
	av1top_view_details_fields(model, lines, FALSE);
	g_ptr_array_add(lines, g_strdup(""));
	g_ptr_array_add(lines, g_strdup_printf(_("journal (AV1D_JOB_ID=%s):"), id));
	if (model->details_journal_error != NULL)
		g_ptr_array_add(lines, g_strdup_printf("  %s", model->details_journal_error));
	else if (model->details_journal == NULL || model->details_journal->len == 0)
		g_ptr_array_add(lines, g_strdup_printf("  %s", _("(no entries)")));
	for (guint i = 0; model->details_journal != NULL && i < model->details_journal->len; i++)
		g_ptr_array_add(lines, g_strdup_printf("  %s", (gchar *)g_ptr_array_index(
								   model->details_journal, i)));
	av1top_view_details_fields(model, lines, TRUE);
	av1top_view_put(0, 0, (guint)COLS, title, av1top_view_attr(self, PAIR_TITLE, A_REVERSE),
			TRUE);
	first = lines->len > visible ? MIN(model->details_scroll, lines->len - visible) : 0;
	model->details_scroll = first;
	self->page_rows = visible;
	for (guint i = 0; i < visible && first + i < lines->len; i++)
		av1top_view_put((gint)i + 1, 0, (guint)COLS, g_ptr_array_index(lines, first + i),
				A_NORMAL, FALSE);
}

static void
av1top_view_help(Av1topView *self)
{
	guint n_keys = 0;
	const Av1topKeyHelp *keys = av1top_keys_get_help(&n_keys);
	g_autofree gchar *title = g_strdup_printf(_("av1top %s: keys"), PACKAGE_VERSION);
	gint y = 0;

	av1top_view_put(y++, 0, (guint)COLS, title, av1top_view_attr(self, PAIR_TITLE, A_REVERSE),
			TRUE);
	for (guint i = 0; i < n_keys && y < LINES - 1; i++, y++) {
		av1top_view_put(y, 1, 10, keys[i].key, A_BOLD, FALSE);
		av1top_view_put(y, 12, (guint)MAX(COLS - 12, 0), _(keys[i].description), A_NORMAL,
				FALSE);
	}
	if (y + 1 < LINES - 1)
		av1top_view_put(y + 1, 1, (guint)COLS,
				_("Colours: running green, pending cyan, success blue, failed red, "
				  "skipped yellow, cancelled magenta (none with NO_COLOR)"),
				A_DIM, FALSE);
}

/* "q Quit  r Refresh ...": the keys of the table */
static void
av1top_view_hints(Av1topView *self, Av1topModel *model, gint y)
{
	const struct {
		const gchar *key;
		const gchar *label;
	} hints[] = {
		{"q", N_("Quit")},   {"r", N_("Refresh")}, {"Enter", N_("Details")},
		{"s", N_("Skip")},   {"R", N_("Retry")},   {"c", N_("Cancel")},
		{"p", model->paused ? N_("Resume") : N_("Pause")},
		{"/", N_("Filter")}, {"?", N_("Help")},
	};
	gint x = 0;

	for (guint i = 0; i < G_N_ELEMENTS(hints) && x < COLS; i++) {
		g_autofree gchar *label = g_strdup_printf(" %s ", _(hints[i].label));

		x += (gint)av1top_view_put(y, x, (guint)COLS, hints[i].key,
					   av1top_view_attr(self, PAIR_KEY, A_BOLD) | A_BOLD,
					   FALSE);
		x += (gint)av1top_view_put(y, x, (guint)COLS, label,
					   av1top_view_attr(self, PAIR_LABEL, A_NORMAL), FALSE);
		x += (gint)av1top_view_put(y, x, 1, " ", A_NORMAL, FALSE);
	}
}

static void
av1top_view_status_bar(Av1topView *self, Av1topModel *model)
{
	gint y = LINES - 1;
	const gchar *message = av1top_model_get_message(model, g_get_monotonic_time());
	g_autofree gchar *text = NULL;

	if (model->mode == AV1TOP_MODE_FILTER) {
		text = g_strdup_printf(_("Filter: %s_   (Enter keep, Esc clear)"),
				       model->filter_edit->str);
	} else if (model->mode == AV1TOP_MODE_CONFIRM_CANCEL) {
		Av1topJob *job = av1top_model_lookup_job(model, model->confirm_id);
		g_autofree gchar *id = g_strdup_printf("%" G_GUINT64_FORMAT, model->confirm_id);

		text = g_strdup_printf(_("Cancel job %s (%s)? y/n"), id,
				       job != NULL && job->name != NULL ? job->name : "");
	} else if (message != NULL) {
		av1top_view_put(y, 0, (guint)COLS, message,
				model->message_is_error
				    ? av1top_view_attr(self, PAIR_FAILED, A_BOLD) | A_BOLD
				    : A_BOLD,
				TRUE);
		return;
	} else if (model->mode == AV1TOP_MODE_HELP) {
		text = g_strdup(_("Press any key to return"));
	} else if (model->mode == AV1TOP_MODE_DETAILS) {
		text = g_strdup(_("↑ ↓ PgUp PgDn scroll   Esc back   r reload"));
	} else {
		av1top_view_hints(self, model, y);
		return;
	}
	av1top_view_put(y, 0, (guint)COLS, text, A_BOLD, TRUE);
}

void
av1top_view_draw(Av1topView *self, Av1topModel *model, GPtrArray *visible)
{
	g_ptr_array_set_size(visible, 0);
	self->now_us = g_get_real_time();
	erase();
	if (LINES < 1 || COLS < 1) {
		refresh();
		return;
	}
	if (model->mode == AV1TOP_MODE_HELP)
		av1top_view_help(self);
	else if (model->mode == AV1TOP_MODE_DETAILS)
		av1top_view_details(self, model);
	else
		av1top_view_table(self, model, av1top_view_header(self, model), visible);
	av1top_view_status_bar(self, model);
	refresh();
	model->dirty = FALSE;
}

static gint
av1top_view_map_key(gint code)
{
	switch (code) {
	case KEY_UP:
		return AV1TOP_KEY_UP;
	case KEY_DOWN:
		return AV1TOP_KEY_DOWN;
	case KEY_PPAGE:
		return AV1TOP_KEY_PAGE_UP;
	case KEY_NPAGE:
		return AV1TOP_KEY_PAGE_DOWN;
	case KEY_HOME:
		return AV1TOP_KEY_HOME;
	case KEY_END:
		return AV1TOP_KEY_END;
	case KEY_ENTER:
		return AV1TOP_KEY_ENTER;
	case KEY_BACKSPACE:
		return AV1TOP_KEY_BACKSPACE;
	case KEY_RESIZE:
		return AV1TOP_KEY_RESIZE;
	default:
		return AV1TOP_KEY_NONE;
	}
}

gint
av1top_view_read_key(Av1topView *self)
{
	wint_t ch = 0;

	for (;;) {
		gint r = get_wch(&ch);

		if (r == ERR)
			return AV1TOP_KEY_NONE;
		if (r == KEY_CODE_YES) {
			gint key = av1top_view_map_key((gint)ch);

			if (key != AV1TOP_KEY_NONE)
				return key;
			continue; /* a key we do not use */
		}
		if (ch == '\r' || ch == '\n')
			return AV1TOP_KEY_ENTER;
		if (ch == 27)
			return AV1TOP_KEY_ESCAPE;
		if (ch == 127 || ch == 8)
			return AV1TOP_KEY_BACKSPACE;
		return (gint)ch;
	}
}

guint
av1top_view_page_rows(Av1topView *self)
{
	return self->page_rows;
}
