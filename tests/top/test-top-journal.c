/*
 * The details page's journal lines, read with sd-journal from a real
 * journal file: systemd-journal-remote turns entries in the export format
 * into one, as journald would have written them.
 */
#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "av1top-journal.h"

static const gchar *const remote_paths[] = {
	"/lib/systemd/systemd-journal-remote",
	"/usr/lib/systemd/systemd-journal-remote",
};

static const gchar *
journal_remote(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(remote_paths); i++) {
		if (g_file_test(remote_paths[i], G_FILE_TEST_IS_EXECUTABLE))
			return remote_paths[i];
	}
	return NULL;
}

/* entries in the export format: 25 for job 7, interleaved with job 70's
 * (an id that only a prefix match would confuse) and one without an id */
static gchar *
export_text(void)
{
	GString *text = g_string_new(NULL);
	guint64 start = 1764000000000000ULL;

	for (guint i = 0; i < 25; i++) {
		g_string_append_printf(text,
				       "__REALTIME_TIMESTAMP=%" G_GUINT64_FORMAT "\n"
				       "__MONOTONIC_TIMESTAMP=%u\n"
				       "_BOOT_ID=0123456789abcdef0123456789abcdef\n"
				       "SYSLOG_IDENTIFIER=av1d\nMESSAGE=job 7 line %u\n"
				       "AV1D_JOB_ID=7\n\n",
				       start + i * G_USEC_PER_SEC, 1000 + i, i);
		g_string_append_printf(text,
				       "__REALTIME_TIMESTAMP=%" G_GUINT64_FORMAT "\n"
				       "__MONOTONIC_TIMESTAMP=%u\n"
				       "_BOOT_ID=0123456789abcdef0123456789abcdef\n"
				       "MESSAGE=job 70 line %u\nAV1D_JOB_ID=70\n\n",
				       start + i * G_USEC_PER_SEC + 1, 2000 + i, i);
	}
	g_string_append(text, "__REALTIME_TIMESTAMP=1764000100000000\n"
			      "__MONOTONIC_TIMESTAMP=5000\n"
			      "_BOOT_ID=0123456789abcdef0123456789abcdef\n"
			      "MESSAGE=daemon started\n\n");
	return g_string_free(text, FALSE);
}

static gchar *
make_journal_dir(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dir = g_dir_make_tmp("av1top-journal-XXXXXX", &error);
	g_autofree gchar *file = NULL;
	g_autofree gchar *text = export_text();
	g_autoptr(GSubprocess) remote = NULL;

	g_assert_no_error(error);
	file = g_build_filename(dir, "test.journal", NULL);
	remote = g_subprocess_new(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
				  &error, journal_remote(), "-o", file, "-", NULL);
	g_assert_no_error(error);
	g_subprocess_communicate_utf8(remote, text, NULL, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_true(g_subprocess_get_successful(remote));
	return g_steal_pointer(&dir);
}

static void
remove_journal_dir(const gchar *dir)
{
	g_autofree gchar *file = g_build_filename(dir, "test.journal", NULL);

	g_unlink(file);
	g_rmdir(dir);
}

static void
test_last_lines_of_the_job_oldest_first(void)
{
	g_autofree gchar *dir = NULL;
	g_autoptr(GPtrArray) lines = NULL;
	g_autoptr(GError) error = NULL;

	if (journal_remote() == NULL) {
		g_test_skip("systemd-journal-remote is not installed (scripts/deps.sh)");
		return;
	}
	dir = make_journal_dir();
	lines = av1top_journal_job_lines(dir, 7, 20, &error);
	g_assert_no_error(error);
	g_assert_nonnull(lines);
	g_assert_cmpuint(lines->len, ==, 20);
	/* lines 5..24, in order, each with its time */
	for (guint i = 0; i < 20; i++) {
		g_autofree gchar *end = g_strdup_printf(" job 7 line %u", i + 5);
		const gchar *line = g_ptr_array_index(lines, i);

		g_assert_true(g_str_has_suffix(line, end));
		g_assert_true(g_regex_match_simple("^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d ", line,
						   0, 0));
	}
	remove_journal_dir(dir);
}

static void
test_a_job_without_lines_gets_none(void)
{
	g_autofree gchar *dir = NULL;
	g_autoptr(GPtrArray) lines = NULL;
	g_autoptr(GError) error = NULL;

	if (journal_remote() == NULL) {
		g_test_skip("systemd-journal-remote is not installed (scripts/deps.sh)");
		return;
	}
	dir = make_journal_dir();
	lines = av1top_journal_job_lines(dir, 8, 20, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(lines->len, ==, 0);
	remove_journal_dir(dir);
}

static void
test_a_missing_directory_is_an_error(void)
{
	g_autoptr(GPtrArray) lines = NULL;
	g_autoptr(GError) error = NULL;

	lines = av1top_journal_job_lines("/nonexistent/av1top-journal", 7, 20, &error);
	g_assert_null(lines);
	g_assert_nonnull(error);
	g_assert_nonnull(strstr(error->message, "journal"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/av1top/journal/last-lines-of-the-job-oldest-first",
			test_last_lines_of_the_job_oldest_first);
	g_test_add_func("/av1top/journal/a-job-without-lines-gets-none",
			test_a_job_without_lines_gets_none);
	g_test_add_func("/av1top/journal/a-missing-directory-is-an-error",
			test_a_missing_directory_is_an_error);
	return g_test_run();
}
