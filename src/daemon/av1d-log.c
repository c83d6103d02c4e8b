#define G_LOG_DOMAIN "av1d-log"

#include "config.h"

#include <stdio.h>
#include <sys/uio.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "av1d-log.h"

static gboolean
av1d_log_level_enabled(const Av1dLogOptions *log_options,
		       GLogLevelFlags level,
		       const gchar *domain,
		       gboolean to_journal)
{
	if ((level & G_LOG_LEVEL_DEBUG) == 0 && (level & G_LOG_LEVEL_INFO) == 0)
		return TRUE;
	if (log_options->verbose)
		return TRUE;
	/* the journal keeps what happened to each job; it filters by priority */
	if (to_journal && (level & G_LOG_LEVEL_INFO) != 0)
		return TRUE;
	/* g_log_writer_default_would_drop() honours G_MESSAGES_DEBUG */
	return !g_log_writer_default_would_drop(level, domain);
}

static gint
av1d_log_priority(GLogLevelFlags level)
{
	if (level & G_LOG_LEVEL_ERROR)
		return 3;
	if (level & G_LOG_LEVEL_CRITICAL)
		return 3;
	if (level & G_LOG_LEVEL_WARNING)
		return 4;
	if (level & G_LOG_LEVEL_MESSAGE)
		return 5;
	if (level & G_LOG_LEVEL_INFO)
		return 6;
	return 7;
}

static GLogWriterOutput
av1d_log_write_journal(GLogLevelFlags level, const GLogField *fields, gsize n_fields)
{
	g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func(g_free);
	g_autofree struct iovec *iov = g_new0(struct iovec, n_fields + 1);
	guint n = 0;

	for (gsize i = 0; i < n_fields; i++) {
		gchar *str;
		if (g_strcmp0(fields[i].key, "PRIORITY") == 0)
			continue;
		if (fields[i].length >= 0) {
			gsize key_len = strlen(fields[i].key);
			str = g_malloc(key_len + 1 + (gsize)fields[i].length);
			memcpy(str, fields[i].key, key_len);
			str[key_len] = '=';
			memcpy(str + key_len + 1, fields[i].value, (gsize)fields[i].length);
			iov[n].iov_len = key_len + 1 + (gsize)fields[i].length;
		} else {
			str = g_strdup_printf("%s=%s", fields[i].key, (const gchar *)fields[i].value);
			iov[n].iov_len = strlen(str);
		}
		iov[n++].iov_base = str;
		g_ptr_array_add(strings, str);
	}
	g_ptr_array_add(strings, g_strdup_printf("PRIORITY=%d", av1d_log_priority(level)));
	iov[n].iov_base = g_ptr_array_index(strings, strings->len - 1);
	iov[n].iov_len = strlen(iov[n].iov_base);
	n++;
	return sd_journal_sendv(iov, (int)n) == 0 ? G_LOG_WRITER_HANDLED : G_LOG_WRITER_UNHANDLED;
}

static const gchar *
av1d_log_level_name(GLogLevelFlags level)
{
	if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
		return "critical";
	if (level & G_LOG_LEVEL_WARNING)
		return "warning";
	if (level & G_LOG_LEVEL_MESSAGE)
		return "message";
	if (level & G_LOG_LEVEL_INFO)
		return "info";
	return "debug";
}

static GLogWriterOutput
av1d_log_write_stderr(GLogLevelFlags level, const GLogField *fields, gsize n_fields)
{
	const gchar *domain = NULL;
	const gchar *message = NULL;
	const gchar *job_id = NULL;

	for (gsize i = 0; i < n_fields; i++) {
		if (fields[i].length >= 0)
			continue;
		if (g_strcmp0(fields[i].key, "GLIB_DOMAIN") == 0)
			domain = fields[i].value;
		else if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
			message = fields[i].value;
		else if (g_strcmp0(fields[i].key, "AV1D_JOB_ID") == 0)
			job_id = fields[i].value;
	}
	if (job_id != NULL)
		fprintf(stderr, "%s %s [job %s] %s\n", av1d_log_level_name(level),
			domain != NULL ? domain : "av1d", job_id, message != NULL ? message : "");
	else
		fprintf(stderr, "%s %s %s\n", av1d_log_level_name(level),
			domain != NULL ? domain : "av1d", message != NULL ? message : "");
	fflush(stderr);
	return G_LOG_WRITER_HANDLED;
}

static GLogWriterOutput
av1d_log_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
	const Av1dLogOptions *log_options = user_data;
	const gchar *domain = NULL;
	gboolean to_journal;

	for (gsize i = 0; i < n_fields; i++) {
		if (g_strcmp0(fields[i].key, "GLIB_DOMAIN") == 0)
			domain = fields[i].value;
	}
	to_journal = !log_options->to_stderr && g_log_writer_is_journald(fileno(stderr));
	if (!av1d_log_level_enabled(log_options, level, domain, to_journal))
		return G_LOG_WRITER_HANDLED;
	if (to_journal && av1d_log_write_journal(level, fields, n_fields) == G_LOG_WRITER_HANDLED)
		return G_LOG_WRITER_HANDLED;
	return av1d_log_write_stderr(level, fields, n_fields);
}

void
av1d_log_setup(const Av1dLogOptions *options)
{
	g_log_set_writer_func(av1d_log_writer, g_memdup2(options, sizeof(*options)), g_free);
}

void
av1d_log_job(const gchar *log_domain,
	     GLogLevelFlags level,
	     const gchar *message_id,
	     const Av1dJob *job,
	     const gchar *what)
{
	g_autofree gchar *id = g_strdup_printf("%" G_GUINT64_FORMAT, job->id);
	g_autofree gchar *saved = g_strdup_printf(
	    "%" G_GINT64_FORMAT,
	    job->new_bytes > 0 ? (gint64)job->original_bytes - (gint64)job->new_bytes : 0);
	g_autofree gchar *display = g_filename_display_name(job->source_path);

	g_log_structured(log_domain, level, "MESSAGE_ID", message_id, "AV1D_JOB_ID", id,
			 "AV1D_PATH", display, "AV1D_STATUS",
			 av1d_job_status_to_string(job->status), "AV1D_SAVED_BYTES", saved,
			 "MESSAGE", "%s: %s", display, what);
}
