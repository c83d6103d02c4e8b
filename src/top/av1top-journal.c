#define G_LOG_DOMAIN "av1top-journal"

#include "config.h"

#include <string.h>

#include <systemd/sd-journal.h>

#include "av1top-journal.h"
#include "av1top-model.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(sd_journal, sd_journal_close)

static gboolean
av1top_journal_fail(gint r, const gchar *what, GError **error)
{
	g_set_error(error, AV1TOP_ERROR, AV1TOP_ERROR_JOURNAL, "%s: %s", what, g_strerror(-r));
	return FALSE;
}

/* "FIELD=value" of the current entry, or NULL */
static gchar *
av1top_journal_field(sd_journal *journal, const gchar *field)
{
	const void *data = NULL;
	gsize length = 0;
	gsize prefix = strlen(field) + 1;

	if (sd_journal_get_data(journal, field, &data, &length) < 0 || length < prefix)
		return NULL;
	return g_utf8_make_valid((const gchar *)data + prefix, (gssize)(length - prefix));
}

static gchar *
av1top_journal_line(sd_journal *journal)
{
	g_autofree gchar *message = av1top_journal_field(journal, "MESSAGE");
	g_autoptr(GDateTime) time = NULL;
	g_autofree gchar *stamp = NULL;
	guint64 usec = 0;

	if (sd_journal_get_realtime_usec(journal, &usec) >= 0)
		time = g_date_time_new_from_unix_local((gint64)(usec / G_USEC_PER_SEC));
	stamp = time != NULL ? g_date_time_format(time, "%Y-%m-%d %H:%M:%S") : g_strdup("?");
	return g_strdup_printf("%s %s", stamp, message != NULL ? message : "");
}

static sd_journal *
av1top_journal_open(const gchar *directory, GError **error)
{
	sd_journal *journal = NULL;
	gint r;

	if (directory != NULL)
		r = sd_journal_open_directory(&journal, directory, 0);
	else
		r = sd_journal_open(&journal, SD_JOURNAL_LOCAL_ONLY);
	if (r < 0) {
		av1top_journal_fail(r, "opening the journal", error);
		return NULL;
	}
	return journal;
}

GPtrArray *
av1top_journal_job_lines(const gchar *directory, guint64 id, guint max, GError **error)
{
	g_autoptr(sd_journal) journal = av1top_journal_open(directory, error);
	g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
	g_autofree gchar *match = g_strdup_printf("AV1D_JOB_ID=%" G_GUINT64_FORMAT, id);
	gint r;

	if (journal == NULL)
		return NULL;
	r = sd_journal_add_match(journal, match, 0);
	if (r < 0) {
		av1top_journal_fail(r, "matching the job", error);
		return NULL;
	}
	r = sd_journal_seek_tail(journal);
	if (r < 0) {
		av1top_journal_fail(r, "seeking the journal", error);
		return NULL;
	}
	/* backwards from the end, then turned around */
	while (lines->len < max && (r = sd_journal_previous(journal)) > 0)
		g_ptr_array_add(lines, av1top_journal_line(journal));
	if (r < 0) {
		av1top_journal_fail(r, "reading the journal", error);
		return NULL;
	}
	for (guint i = 0; i < lines->len / 2; i++) {
		gpointer tmp = lines->pdata[i];

		lines->pdata[i] = lines->pdata[lines->len - 1 - i];
		lines->pdata[lines->len - 1 - i] = tmp;
	}
	return g_steal_pointer(&lines);
}
