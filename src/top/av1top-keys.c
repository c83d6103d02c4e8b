#define G_LOG_DOMAIN "av1top-keys"

#include "config.h"

#include <glib/gi18n.h>

#include "av1top-journal.h"
#include "av1top-keys.h"

/* journal lines on the details page */
#define JOURNAL_LINES 20

typedef Av1topReaction (*Av1topAction)(Av1topApp *app);

static const Av1topKeyHelp help[] = {
	{"q", N_("Quit")},
	{"r", N_("Refresh: load everything from av1d again")},
	{"↑ ↓", N_("Move the cursor")},
	{"PgUp PgDn", N_("Move by a page")},
	{"Home End", N_("First or last job")},
	{"Enter", N_("Details of the job: every field, the argv, its journal")},
	{"s", N_("Skip the job’s file (writes its .av1skip)")},
	{"R", N_("Retry a failed, skipped or cancelled job")},
	{"c", N_("Cancel a queued or running job (asks first)")},
	{"p", N_("Pause or resume: no new jobs start while paused")},
	{"/", N_("Filter by text (Enter keeps it, Esc clears it)")},
	{"Esc", N_("Clear the filter, or leave a page")},
	{"?", N_("This help")},
};

const Av1topKeyHelp *
av1top_keys_get_help(guint *n_keys)
{
	*n_keys = G_N_ELEMENTS(help);
	return help;
}

/* the selected job, or NULL with a word in the status bar */
static Av1topJob *
av1top_keys_job(Av1topApp *app)
{
	Av1topJob *job = av1top_model_get_selected(app->model);

	if (job == NULL)
		av1top_model_set_message(app->model, TRUE, _("No job selected"));
	return job;
}

static Av1topReaction
av1top_action_quit(Av1topApp *app)
{
	return AV1TOP_REACT_QUIT;
}

static Av1topReaction
av1top_action_refresh(Av1topApp *app)
{
	av1top_bus_refresh(app->bus);
	av1top_model_set_message(app->model, FALSE, _("Refreshing…"));
	return AV1TOP_REACT_REDRAW;
}

static void
av1top_keys_read_journal(Av1topApp *app, guint64 id)
{
	Av1topModel *model = app->model;
	g_autoptr(GError) error = NULL;

	g_clear_pointer(&model->details_journal, g_ptr_array_unref);
	g_clear_pointer(&model->details_journal_error, g_free);
	model->details_journal = av1top_journal_job_lines(app->journal_dir, id, JOURNAL_LINES,
							  &error);
	if (model->details_journal == NULL)
		model->details_journal_error = g_strdup(error->message);
}

static Av1topReaction
av1top_action_details(Av1topApp *app)
{
	Av1topJob *job = av1top_keys_job(app);

	if (job == NULL)
		return AV1TOP_REACT_REDRAW;
	app->model->mode = AV1TOP_MODE_DETAILS;
	app->model->details_id = job->id;
	app->model->details_scroll = 0;
	g_clear_pointer(&app->model->details, g_ptr_array_unref);
	av1top_bus_get_job(app->bus, job->id);
	av1top_keys_read_journal(app, job->id);
	return AV1TOP_REACT_REDRAW;
}

static Av1topReaction
av1top_action_skip(Av1topApp *app)
{
	Av1topJob *job = av1top_keys_job(app);

	if (job != NULL)
		av1top_bus_skip(app->bus, job);
	return AV1TOP_REACT_REDRAW;
}

static Av1topReaction
av1top_action_retry(Av1topApp *app)
{
	Av1topJob *job = av1top_keys_job(app);

	if (job != NULL)
		av1top_bus_retry(app->bus, job);
	return AV1TOP_REACT_REDRAW;
}

static Av1topReaction
av1top_action_cancel(Av1topApp *app)
{
	Av1topJob *job = av1top_keys_job(app);

	if (job == NULL)
		return AV1TOP_REACT_REDRAW;
	app->model->mode = AV1TOP_MODE_CONFIRM_CANCEL;
	app->model->confirm_id = job->id;
	return AV1TOP_REACT_REDRAW;
}

static Av1topReaction
av1top_action_pause(Av1topApp *app)
{
	if (app->model->daemon != AV1TOP_DAEMON_UP) {
		av1top_model_set_message(app->model, TRUE, _("av1d is not running"));
		return AV1TOP_REACT_REDRAW;
	}
	av1top_bus_set_paused(app->bus, !app->model->paused);
	return AV1TOP_REACT_REDRAW;
}

static Av1topReaction
av1top_action_filter(Av1topApp *app)
{
	app->model->mode = AV1TOP_MODE_FILTER;
	g_string_assign(app->model->filter_edit, app->model->filter != NULL ? app->model->filter
									    : "");
	return AV1TOP_REACT_REDRAW;
}

static Av1topReaction
av1top_action_help(Av1topApp *app)
{
	app->model->mode = AV1TOP_MODE_HELP;
	return AV1TOP_REACT_REDRAW;
}

static Av1topReaction
av1top_action_clear_filter(Av1topApp *app)
{
	av1top_model_set_filter(app->model, NULL);
	return AV1TOP_REACT_REDRAW;
}

static const struct {
	gint key;
	Av1topAction action;
} actions[] = {
	{'q', av1top_action_quit},	   {'r', av1top_action_refresh},
	{AV1TOP_KEY_ENTER, av1top_action_details}, {'s', av1top_action_skip},
	{'R', av1top_action_retry},	   {'c', av1top_action_cancel},
	{'p', av1top_action_pause},	   {'/', av1top_action_filter},
	{'?', av1top_action_help},	   {'h', av1top_action_help},
	{AV1TOP_KEY_ESCAPE, av1top_action_clear_filter},
};

static gboolean
av1top_keys_move(Av1topModel *model, gint key, guint page, gint *delta)
{
	switch (key) {
	case AV1TOP_KEY_UP:
		*delta = -1;
		return TRUE;
	case AV1TOP_KEY_DOWN:
		*delta = 1;
		return TRUE;
	case AV1TOP_KEY_PAGE_UP:
		*delta = -(gint)MAX(page, 1);
		return TRUE;
	case AV1TOP_KEY_PAGE_DOWN:
		*delta = (gint)MAX(page, 1);
		return TRUE;
	case AV1TOP_KEY_HOME:
		*delta = G_MININT;
		return TRUE;
	case AV1TOP_KEY_END:
		*delta = G_MAXINT;
		return TRUE;
	default:
		return FALSE;
	}
}

static Av1topReaction
av1top_keys_table(Av1topApp *app, gint key)
{
	gint delta = 0;

	if (av1top_keys_move(app->model, key, app->page_rows, &delta)) {
		av1top_model_move(app->model, delta);
		return AV1TOP_REACT_REDRAW;
	}
	for (guint i = 0; i < G_N_ELEMENTS(actions); i++) {
		if (actions[i].key == key)
			return actions[i].action(app);
	}
	return AV1TOP_REACT_NONE;
}

static Av1topReaction
av1top_keys_details(Av1topApp *app, gint key)
{
	Av1topModel *model = app->model;
	gint delta = 0;

	if (av1top_keys_move(model, key, app->page_rows, &delta)) {
		gint64 next = delta == G_MININT   ? 0
			      : delta == G_MAXINT ? G_MAXINT
						  : (gint64)model->details_scroll + delta;

		model->details_scroll = (guint)CLAMP(next, 0, G_MAXINT);
		return AV1TOP_REACT_REDRAW;
	}
	if (key == 'q' || key == AV1TOP_KEY_ESCAPE || key == AV1TOP_KEY_ENTER ||
	    key == AV1TOP_KEY_BACKSPACE) {
		model->mode = AV1TOP_MODE_TABLE;
		return AV1TOP_REACT_REDRAW;
	}
	if (key == 'r')
		return av1top_action_details(app);
	return AV1TOP_REACT_NONE;
}

static Av1topReaction
av1top_keys_confirm(Av1topApp *app, gint key)
{
	Av1topModel *model = app->model;
	Av1topJob *job = av1top_model_lookup_job(model, model->confirm_id);

	model->mode = AV1TOP_MODE_TABLE;
	if (key != 'y' && key != 'Y') {
		av1top_model_set_message(model, FALSE, _("Not cancelled"));
		return AV1TOP_REACT_REDRAW;
	}
	if (job == NULL)
		av1top_model_set_message(model, TRUE, _("The job is gone"));
	else
		av1top_bus_cancel(app->bus, job);
	return AV1TOP_REACT_REDRAW;
}

static Av1topReaction
av1top_keys_filter(Av1topApp *app, gint key)
{
	Av1topModel *model = app->model;
	GString *edit = model->filter_edit;

	if (key == AV1TOP_KEY_ENTER) {
		model->mode = AV1TOP_MODE_TABLE;
	} else if (key == AV1TOP_KEY_ESCAPE) {
		g_string_truncate(edit, 0);
		model->mode = AV1TOP_MODE_TABLE;
	} else if (key == AV1TOP_KEY_BACKSPACE) {
		if (edit->len > 0) {
			const gchar *last = g_utf8_find_prev_char(edit->str, edit->str + edit->len);

			g_string_truncate(edit, last != NULL ? (gsize)(last - edit->str) : 0);
		}
	} else if (key >= ' ' && key < 0x110000 && g_unichar_validate((gunichar)key) &&
		   !g_unichar_iscntrl((gunichar)key)) {
		g_string_append_unichar(edit, (gunichar)key);
	} else {
		return AV1TOP_REACT_NONE;
	}
	/* the table follows as one types */
	av1top_model_set_filter(model, edit->str);
	return AV1TOP_REACT_REDRAW;
}

Av1topReaction
av1top_keys_handle(Av1topApp *app, gint key)
{
	if (key == AV1TOP_KEY_RESIZE)
		return AV1TOP_REACT_REDRAW;
	switch (app->model->mode) {
	case AV1TOP_MODE_HELP:
		/* any key leaves the help, q too (as in htop) */
		app->model->mode = AV1TOP_MODE_TABLE;
		return AV1TOP_REACT_REDRAW;
	case AV1TOP_MODE_DETAILS:
		return av1top_keys_details(app, key);
	case AV1TOP_MODE_CONFIRM_CANCEL:
		return av1top_keys_confirm(app, key);
	case AV1TOP_MODE_FILTER:
		return av1top_keys_filter(app, key);
	case AV1TOP_MODE_TABLE:
	default:
		return av1top_keys_table(app, key);
	}
}
