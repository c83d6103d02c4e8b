/*
 * The daemon reacting to a library (SPEC 3): the real av1d, real inotify on
 * a temp dir. What is queued is read from the job files the daemon writes
 * (one per queued file). ffprobe is /bin/false here, so every job fails at
 * once and the test sees only the queueing decisions.
 */
#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <unistd.h>

#include "av1d-test-util.h"

typedef struct {
	gchar *dir;
	gchar *library;
	gchar *outside;
	gchar *state;
	gchar *config;
	GSubprocess *daemon;
} Fixture;

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;

	fx->dir = g_dir_make_tmp("av1d-test-daemon-XXXXXX", &error);
	g_assert_no_error(error);
	fx->library = g_build_filename(fx->dir, "library", NULL);
	fx->outside = g_build_filename(fx->dir, "outside", NULL);
	fx->state = g_build_filename(fx->dir, "state", NULL);
	fx->config = g_build_filename(fx->dir, "config.toml", NULL);
	g_assert_cmpint(g_mkdir(fx->library, 0755), ==, 0);
	g_assert_cmpint(g_mkdir(fx->outside, 0755), ==, 0);
	text = g_strdup_printf("library_roots = [\"%s\"]\nmin_bytes = 1000\nstable_secs = 1\n"
			       "job_state_dir = \"%s\"\nffprobe_bin = \"/bin/false\"\n",
			       fx->library, fx->state);
	g_assert_true(g_file_set_contents(fx->config, text, -1, NULL));
}

static void
stop_daemon(Fixture *fx)
{
	if (fx->daemon == NULL)
		return;
	g_subprocess_send_signal(fx->daemon, SIGTERM);
	g_assert_true(g_subprocess_wait(fx->daemon, NULL, NULL));
	g_assert_true(g_subprocess_get_if_exited(fx->daemon));
	g_assert_cmpint(g_subprocess_get_exit_status(fx->daemon), ==, 0);
	g_clear_object(&fx->daemon);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	stop_daemon(fx);
	av1d_test_rm_rf(fx->dir);
	g_free(fx->dir);
	g_free(fx->library);
	g_free(fx->outside);
	g_free(fx->state);
	g_free(fx->config);
}

/* the library path of each job file, sorted, with duplicates kept */
static GPtrArray *
queued_paths(Fixture *fx)
{
	g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GDir) dir = g_dir_open(fx->state, 0, NULL);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *path = g_build_filename(fx->state, name, NULL);
		g_autoptr(JsonParser) parser = json_parser_new();
		JsonObject *object;

		if (!g_str_has_suffix(name, ".json") || name[0] == '.')
			continue;
		if (!json_parser_load_from_file(parser, path, NULL))
			continue; /* being replaced right now: read again next time */
		object = json_node_get_object(json_parser_get_root(parser));
		g_ptr_array_add(paths,
				g_strdup(json_object_get_string_member(object, "source_path") +
					 strlen(fx->library) + 1));
	}
	g_ptr_array_sort(paths, (GCompareFunc)av1d_test_compare_strings);
	return g_steal_pointer(&paths);
}

static gchar *
queued_string(Fixture *fx)
{
	g_autoptr(GPtrArray) paths = queued_paths(fx);

	g_ptr_array_add(paths, NULL);
	return g_strjoinv(",", (gchar **)paths->pdata);
}

/* wait until the jobs are @expected, then make sure they stay so for
 * @quiet_ms (nothing queued twice or late); returns what was seen last, so
 * a failure shows it. Waiting for the result rather than for a quiet spell
 * keeps a slow machine from returning a half-done queue. */
static gchar *
expect_queue(Fixture *fx, const gchar *expected, guint quiet_ms)
{
	gint64 give_up = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
	gchar *now = queued_string(fx);

	while (g_strcmp0(now, expected) != 0 && g_get_monotonic_time() < give_up) {
		g_usleep(50 * 1000);
		g_free(now);
		now = queued_string(fx);
	}
	for (gint64 until = g_get_monotonic_time() + (gint64)quiet_ms * 1000;
	     g_strcmp0(now, expected) == 0 && g_get_monotonic_time() < until;) {
		g_usleep(100 * 1000);
		g_free(now);
		now = queued_string(fx);
	}
	return now;
}

/* the daemon logs this once every root is crawled and watched */
static void
wait_until_watching(const gchar *log)
{
	gint64 give_up = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

	for (;;) {
		g_autofree gchar *text = NULL;

		if (g_file_get_contents(log, &text, NULL, NULL) &&
		    strstr(text, "crawl finished") != NULL)
			return;
		if (g_get_monotonic_time() > give_up)
			g_error("the daemon never finished its crawl; its log:\n%s", text);
		g_usleep(20 * 1000);
	}
}

static void
start_daemon(Fixture *fx)
{
	g_autoptr(GSubprocessLauncher) launcher =
	    g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
	g_autofree gchar *log = g_build_filename(fx->dir, "daemon.log", NULL);
	g_autoptr(GError) error = NULL;

	g_subprocess_launcher_set_stderr_file_path(launcher, log);
	fx->daemon = g_subprocess_launcher_spawn(launcher, &error, g_getenv("AV1D_BIN"),
						 "--config", fx->config, NULL);
	g_assert_no_error(error);
	wait_until_watching(log);
}

/* a sparse file: size without data */
static void
make_file(const gchar *dir, const gchar *relative, goffset size)
{
	g_autofree gchar *path = g_build_filename(dir, relative, NULL);
	g_autofree gchar *parent = g_path_get_dirname(path);
	int fd;

	g_assert_cmpint(g_mkdir_with_parents(parent, 0755), ==, 0);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(ftruncate(fd, size), ==, 0);
	g_assert_cmpint(close(fd), ==, 0);
}

static void
move(const gchar *from_dir, const gchar *from, const gchar *to_dir, const gchar *to)
{
	g_autofree gchar *a = g_build_filename(from_dir, from, NULL);
	g_autofree gchar *b = g_build_filename(to_dir, to, NULL);

	g_assert_cmpint(g_rename(a, b), ==, 0);
}

static void
test_slow_writer_is_queued_once_after_close(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = g_build_filename(fx->library, "Slow.mkv", NULL);
	g_autofree gchar *chunk = g_malloc0(256 * 1024);
	g_autofree gchar *final = NULL;
	int fd;

	start_daemon(fx);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	g_assert_cmpint(fd, >=, 0);
	/* 256 KiB every 300 ms for 3 s, with pauses longer than stable_secs in
	 * the middle: the read lease must hold it back while the fd is open */
	for (guint i = 0; i < 10; i++) {
		g_assert_cmpint(write(fd, chunk, 256 * 1024), ==, 256 * 1024);
		g_usleep(i == 5 ? 1500 * 1000 : 300 * 1000);
		g_autoptr(GPtrArray) queued = queued_paths(fx);
		g_assert_cmpuint(queued->len, ==, 0);
	}
	g_assert_cmpint(close(fd), ==, 0);
	final = expect_queue(fx, "Slow.mkv", 2500);
	g_assert_cmpstr(final, ==, "Slow.mkv");
}

#define MOVED_EXPECTED \
	"Moved In.mkv,Series/S01/E01.mkv,Series/S01/E02.mkv,Series/S02/E01.mkv,a/b/c/Deep.mp4"

static void
test_moves_and_new_folders(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *final = NULL;

	start_daemon(fx);
	make_file(fx->outside, "Moved In.mkv", 4096);
	move(fx->outside, "Moved In.mkv", fx->library, "Moved In.mkv");
	/* a file right after mkdir -p: the new folders' crawl must catch it */
	make_file(fx->library, "a/b/c/Deep.mp4", 4096);
	/* a whole tree moved in at once */
	make_file(fx->outside, "Series/S01/E01.mkv", 4096);
	make_file(fx->outside, "Series/S01/E02.mkv", 4096);
	make_file(fx->outside, "Series/S02/E01.mkv", 4096);
	move(fx->outside, "Series", fx->library, "Series");
	final = expect_queue(fx, MOVED_EXPECTED, 2500);
	g_assert_cmpstr(final, ==, MOVED_EXPECTED);
}

static void
test_rename_and_delete_while_pending(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *final = NULL;
	g_autofree gchar *doomed = g_build_filename(fx->library, "Doomed.mkv", NULL);

	start_daemon(fx);
	make_file(fx->library, "Draft.mkv", 4096);
	make_file(fx->library, "Doomed.mkv", 4096);
	/* both still inside their quiet time */
	move(fx->library, "Draft.mkv", fx->library, "Final Name.mkv");
	g_assert_cmpint(g_unlink(doomed), ==, 0);
	final = expect_queue(fx, "Final Name.mkv", 2500);
	g_assert_cmpstr(final, ==, "Final Name.mkv");
}

static void
test_burst_of_files(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *final = NULL;
	g_autofree gchar *expected = NULL;
	g_autoptr(GStrvBuilder) names = g_strv_builder_new();
	g_auto(GStrv) sorted = NULL;

	start_daemon(fx);
	for (guint i = 0; i < 1000; i++) {
		g_autofree gchar *name = g_strdup_printf("burst/File %04u.mkv", i);

		make_file(fx->library, name, 2048);
		g_strv_builder_add(names, name);
	}
	sorted = g_strv_builder_end(names);
	expected = g_strjoinv(",", sorted);
	/* each exactly once */
	final = expect_queue(fx, expected, 4000);
	g_assert_cmpstr(final, ==, expected);
}

static void
test_ignored_files_are_never_queued(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *final = NULL;

	start_daemon(fx);
	make_file(fx->library, "Skipped Folder/.av1skip", 0);
	make_file(fx->library, "Skipped Folder/Film.mkv", 4096);
	make_file(fx->library, "Small.mkv", 999);
	make_file(fx->library, "Film.mkv.why.txt", 4096);
	make_file(fx->library, "Film.orig.mkv", 4096);
	make_file(fx->library, ".Film.av1d-tmp.mkv", 4096);
	make_file(fx->library, ".av1d-9-AbCdEf/out.mkv", 4096);
	make_file(fx->library, ".hidden.mkv", 4096);
	make_file(fx->library, "notes.txt", 4096);
	make_file(fx->library, "Marked.mkv", 4096);
	make_file(fx->library, "Marked.mkv.av1skip", 0);
	make_file(fx->library, "Wanted.mkv", 4096);
	final = expect_queue(fx, "Wanted.mkv", 2500);
	g_assert_cmpstr(final, ==, "Wanted.mkv");
}

static void
test_restart_finds_new_files_only(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *first = NULL;
	g_autofree gchar *second = NULL;

	make_file(fx->library, "Before.mkv", 4096);
	start_daemon(fx);
	first = expect_queue(fx, "Before.mkv", 2500);
	g_assert_cmpstr(first, ==, "Before.mkv");
	stop_daemon(fx);
	make_file(fx->library, "While Down.mkv", 4096);
	start_daemon(fx);
	second = expect_queue(fx, "Before.mkv,While Down.mkv", 2500);
	/* one job each: the finished one is not queued again */
	g_assert_cmpstr(second, ==, "Before.mkv,While Down.mkv");
}

/* a folder renamed within the library takes its jobs along: one job each,
 * under the new name, nothing queued again */
static void
test_folder_rename_moves_its_jobs(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *final = NULL;

	make_file(fx->library, "Show/S01/E01.mkv", 4096);
	make_file(fx->library, "Show/S01/E02.mkv", 4096);
	start_daemon(fx);
	final = expect_queue(fx, "Show/S01/E01.mkv,Show/S01/E02.mkv", 1500);
	g_assert_cmpstr(final, ==, "Show/S01/E01.mkv,Show/S01/E02.mkv");
	move(fx->library, "Show", fx->library, "Series");
	g_free(final);
	final = expect_queue(fx, "Series/S01/E01.mkv,Series/S01/E02.mkv", 2500);
	g_assert_cmpstr(final, ==, "Series/S01/E01.mkv,Series/S01/E02.mkv");
}

/* a temp folder under the library other than @other, or NULL after 60 s */
static gchar *
wait_for_temp(const gchar *library, const gchar *other)
{
	gint64 give_up = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

	while (g_get_monotonic_time() < give_up) {
		g_autofree gchar *temps = av1d_test_find_temps(library);

		if (temps != NULL && g_strcmp0(temps, other) != 0)
			return g_steal_pointer(&temps);
		g_usleep(20 * 1000);
	}
	return NULL;
}

/* the temp is the job's private folder, whatever the job's path became:
 * a file renamed while it encodes leaves no multi-GB temp behind */
static void
test_rename_while_encoding_leaves_no_temp(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *ffmpeg =
	    g_build_filename(g_getenv("G_TEST_SRCDIR"), "top", "fake-ffmpeg", NULL);
	g_autofree gchar *text = g_strdup_printf(
	    "library_roots = [\"%s\"]\nmin_bytes = 1000\nstable_secs = 1\njob_state_dir = \"%s\"\n"
	    "ffmpeg_bin = \"%s\"\nencoder = \"software\"\n",
	    fx->library, fx->state, ffmpeg);
	g_autofree gchar *old_temp = NULL;
	g_autofree gchar *new_temp = NULL;
	g_autofree gchar *old_path = g_build_filename(fx->library, "Old Name.mkv", NULL);
	g_autofree gchar *new_path = g_build_filename(fx->library, "New Name.mkv", NULL);
	g_autofree gchar *before = NULL, *after = NULL, *left = NULL;

	g_assert_true(g_file_set_contents(fx->config, text, -1, NULL));
	av1d_test_copy_media("h264-eng-rus.mkv", fx->library, "Old Name.mkv");
	g_setenv("FAKE_FFMPEG_BLOCKS", "3000", TRUE);
	g_setenv("FAKE_FFMPEG_INTERVAL", "0.1", TRUE);
	g_setenv("FAKE_FFMPEG_TOUCH_OUTPUT", "1", TRUE);
	start_daemon(fx);
	g_unsetenv("FAKE_FFMPEG_BLOCKS");
	g_unsetenv("FAKE_FFMPEG_INTERVAL");
	g_unsetenv("FAKE_FFMPEG_TOUCH_OUTPUT");
	old_temp = wait_for_temp(fx->library, NULL);
	g_assert_nonnull(old_temp);
	before = av1d_test_checksum(old_path);
	move(fx->library, "Old Name.mkv", fx->library, "New Name.mkv");
	/* the encode starts over under the new name, in a new private folder */
	new_temp = wait_for_temp(fx->library, old_temp);
	g_assert_nonnull(new_temp);
	g_assert_false(g_file_test(old_temp, G_FILE_TEST_EXISTS));
	stop_daemon(fx);
	av1d_test_assert_no_temps(fx->library);
	left = av1d_test_list_dir(fx->library);
	g_assert_cmpstr(left, ==, "New Name.mkv");
	after = av1d_test_checksum(new_path);
	g_assert_cmpstr(after, ==, before);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

#define ADD(path, func) g_test_add(path, Fixture, NULL, fixture_setup, func, fixture_teardown)
	ADD("/av1d/daemon/folder-rename-moves-its-jobs", test_folder_rename_moves_its_jobs);
	ADD("/av1d/daemon/rename-while-encoding-leaves-no-temp",
	    test_rename_while_encoding_leaves_no_temp);
	ADD("/av1d/daemon/slow-writer-is-queued-once-after-it-closes",
	    test_slow_writer_is_queued_once_after_close);
	ADD("/av1d/daemon/moves-and-new-folders-are-queued", test_moves_and_new_folders);
	ADD("/av1d/daemon/rename-and-delete-while-pending", test_rename_and_delete_while_pending);
	ADD("/av1d/daemon/burst-of-1000-files-queued-once-each", test_burst_of_files);
	ADD("/av1d/daemon/ignored-files-are-never-queued", test_ignored_files_are_never_queued);
	ADD("/av1d/daemon/restart-finds-new-files-only", test_restart_finds_new_files_only);
	return g_test_run();
}
