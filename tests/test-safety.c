/*
 * The ways a job can go wrong, with the real daemon on real files: the size
 * gate, a full disk, a read-only folder, an encoder that writes half a file,
 * a source that changes during the encode. In every case the original stays
 * byte-identical under its name, no temp is left and the reason is clear.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/mount.h>

#include "av1d-test-util.h"

typedef struct {
	gchar *dir;
	gchar *library;
	gchar *state;
	gchar *config;
	gboolean mounted;
} Fixture;

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	fx->dir = g_dir_make_tmp("av1d-test-safety-XXXXXX", &error);
	g_assert_no_error(error);
	fx->library = g_build_filename(fx->dir, "library", NULL);
	fx->state = g_build_filename(fx->dir, "state", NULL);
	fx->config = g_build_filename(fx->dir, "config.toml", NULL);
	g_assert_cmpint(g_mkdir(fx->library, 0755), ==, 0);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	if (fx->mounted)
		umount2(fx->library, MNT_DETACH);
	av1d_test_rm_rf(fx->dir);
	g_free(fx->dir);
	g_free(fx->library);
	g_free(fx->state);
	g_free(fx->config);
}

static void
write_config(Fixture *fx, const gchar *extra)
{
	g_autofree gchar *text =
	    g_strdup_printf("library_roots = [\"%s\"]\nmin_bytes = 1\nstable_secs = 0\n"
			    "job_state_dir = \"%s\"\n%s",
			    fx->library, fx->state, extra != NULL ? extra : "");

	g_assert_true(g_file_set_contents(fx->config, text, -1, NULL));
}

static gchar *
lib(Fixture *fx, const gchar *name)
{
	return g_build_filename(fx->library, name, NULL);
}

static gboolean
exists(Fixture *fx, const gchar *name)
{
	g_autofree gchar *path = lib(fx, name);

	return g_file_test(path, G_FILE_TEST_EXISTS);
}

/* a tiny, badly compressed H.264 that no AV1 encode makes smaller */
static void
make_incompressible(Fixture *fx, const gchar *name)
{
	g_autofree gchar *path = lib(fx, name);
	g_autofree gchar *quoted = g_shell_quote(path);
	g_autofree gchar *cmd = g_strdup_printf(
	    "ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=64x64:rate=25 "
	    "-t 1 -c:v libx264 -crf 51 -preset ultrafast %s",
	    quoted);
	gint status = 0;

	g_assert_true(g_spawn_command_line_sync(cmd, NULL, NULL, &status, NULL));
	g_assert_cmpint(status, ==, 0);
}

static void
test_size_gate_rejects_and_is_not_retried(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = lib(fx, "Tiny.mkv");
	g_autofree gchar *why_path = lib(fx, "Tiny.mkv.why.txt");
	g_autofree gchar *before = NULL, *after = NULL, *line = NULL, *why = NULL;
	g_autoptr(Av1dTestRun) first = NULL;
	g_autoptr(Av1dTestRun) second = NULL;
	g_autoptr(GRegex) format = g_regex_new(
	    "rejected: new [0-9.]+ [KMG]?B vs orig [0-9.]+ [KMG]?B \\([0-9]+\\.[0-9]% > 90%\\)",
	    0, 0, NULL);

	make_incompressible(fx, "Tiny.mkv");
	write_config(fx, NULL);
	before = av1d_test_checksum(path);
	first = AV1D_RUN("--once", "--config", fx->config);
	g_assert_cmpint(first->status, ==, 0);
	line = av1d_test_find_job_line(first->out, "skipped", "/Tiny.mkv");
	g_assert_nonnull(line);
	g_assert_true(g_regex_match(format, line, 0, NULL));
	after = av1d_test_checksum(path);
	g_assert_cmpstr(before, ==, after);
	g_assert_true(exists(fx, "Tiny.mkv.av1skip"));
	av1d_test_assert_no_temps(fx->library);
	g_assert_true(g_file_get_contents(why_path, &why, NULL, NULL));
	g_assert_true(g_regex_match(format, why, 0, NULL));
	g_assert_nonnull(strstr(why, "rm "));
	g_assert_nonnull(strstr(why, "Retry"));

	second = AV1D_RUN("--once", "--config", fx->config);
	g_assert_cmpint(second->status, ==, 0);
	g_assert_cmpstr(second->out, ==, "");
}

static void
test_mp4_becomes_mkv_and_second_run_leaves_both(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *mkv = lib(fx, "movtext.mkv");
	g_autofree gchar *orig = lib(fx, "movtext.orig.mp4");
	g_autofree gchar *source = lib(fx, "movtext.mp4");
	g_autofree gchar *before = NULL, *after = NULL, *mkv_sum = NULL, *mkv_sum2 = NULL;
	g_autofree gchar *listing = NULL, *listing2 = NULL, *codec = NULL;
	g_autoptr(Av1dTestRun) first = NULL;
	g_autoptr(Av1dTestRun) second = NULL;

	av1d_test_copy_media("movtext.mp4", fx->library, NULL);
	write_config(fx, "max_size_ratio = 1.0\n");
	before = av1d_test_checksum(source);
	first = AV1D_RUN("--once", "--config", fx->config);
	g_assert_cmpint(first->status, ==, 0);
	g_assert_false(g_file_test(source, G_FILE_TEST_EXISTS));
	after = av1d_test_checksum(orig);
	g_assert_cmpstr(before, ==, after);
	codec = av1d_test_video_codec(mkv, NULL);
	g_assert_cmpstr(codec, ==, "av1");

	/* idempotence: the output and the backup are never candidates */
	mkv_sum = av1d_test_checksum(mkv);
	listing = av1d_test_list_dir(fx->library);
	second = AV1D_RUN("--once", "--config", fx->config);
	g_assert_cmpint(second->status, ==, 0);
	g_assert_cmpstr(second->out, ==, "");
	mkv_sum2 = av1d_test_checksum(mkv);
	listing2 = av1d_test_list_dir(fx->library);
	g_assert_cmpstr(mkv_sum, ==, mkv_sum2);
	g_assert_cmpstr(listing, ==, listing2);
}

static void
test_output_is_not_reencoded_after_a_rename(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *mkv = lib(fx, "h264-eng-rus.mkv");
	g_autofree gchar *renamed = lib(fx, "Renamed Film.mkv");
	g_autoptr(Av1dTestRun) first = NULL;
	g_autoptr(Av1dTestRun) second = NULL;

	av1d_test_copy_media("h264-eng-rus.mkv", fx->library, NULL);
	write_config(fx, "max_size_ratio = 1.0\n");
	first = AV1D_RUN("--once", "--config", fx->config);
	g_assert_true(av1d_test_has_job_line(first->out, "success", "/h264-eng-rus.mkv"));
	g_assert_cmpint(g_rename(mkv, renamed), ==, 0);
	second = AV1D_RUN("--once", "--config", fx->config);
	g_assert_cmpint(second->status, ==, 0);
	g_assert_cmpstr(second->out, ==, "");
}

static void
test_keep_backup_false(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dTestRun) r = NULL;
	g_autofree gchar *mkv = lib(fx, "h264-eng-rus.mkv");
	g_autofree gchar *codec = NULL;

	av1d_test_copy_media("h264-eng-rus.mkv", fx->library, NULL);
	write_config(fx, "max_size_ratio = 1.0\nkeep_backup = false\n");
	r = AV1D_RUN("--once", "--config", fx->config);
	g_assert_true(av1d_test_has_job_line(r->out, "success", "/h264-eng-rus.mkv"));
	codec = av1d_test_video_codec(mkv, NULL);
	g_assert_cmpstr(codec, ==, "av1");
	g_assert_false(exists(fx, "h264-eng-rus.orig.mkv"));
}

/* the encode does not fit: ffmpeg's write fails with ENOSPC */
static void
test_full_disk_keeps_the_original(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = lib(fx, "h264-eng-rus.mkv");
	g_autofree gchar *filler = lib(fx, ".filler");
	g_autofree gchar *before = NULL, *after = NULL, *line = NULL, *listing = NULL;
	g_autofree gchar *cmd = NULL, *quoted = NULL;
	g_autoptr(Av1dTestRun) r = NULL;

	if (mount("tmpfs", fx->library, "tmpfs", 0, "size=256k") != 0) {
		g_test_skip("cannot mount a tmpfs (needs root)");
		return;
	}
	fx->mounted = TRUE;
	av1d_test_copy_media("h264-eng-rus.mkv", fx->library, NULL);
	/* leave a few KiB: the encode starts, then runs out of room */
	quoted = g_shell_quote(filler);
	cmd = g_strdup_printf("sh -c 'dd if=/dev/zero of=%s bs=4k 2>/dev/null; "
			      "truncate -s -12k %s'",
			      quoted, quoted);
	g_assert_true(g_spawn_command_line_sync(cmd, NULL, NULL, NULL, NULL));
	write_config(fx, "max_size_ratio = 1.0\n");
	before = av1d_test_checksum(path);
	r = AV1D_RUN("--once", "--config", fx->config);
	g_assert_cmpint(r->status, ==, 0);
	line = av1d_test_find_job_line(r->out, "failed", "/h264-eng-rus.mkv");
	g_assert_nonnull(line);
	g_assert_nonnull(strstr(line, "No space left on device"));
	after = av1d_test_checksum(path);
	g_assert_cmpstr(before, ==, after);
	av1d_test_assert_no_temps(fx->library);
	g_assert_false(exists(fx, "h264-eng-rus.orig.mkv"));
}

static void
test_read_only_folder_keeps_the_original(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = lib(fx, "h264-eng-rus.mkv");
	g_autofree gchar *before = NULL, *after = NULL, *line = NULL;
	g_autoptr(Av1dTestRun) r = NULL;

	if (mount("tmpfs", fx->library, "tmpfs", 0, "size=4m") != 0) {
		g_test_skip("cannot mount a tmpfs (needs root)");
		return;
	}
	fx->mounted = TRUE;
	av1d_test_copy_media("h264-eng-rus.mkv", fx->library, NULL);
	g_assert_cmpint(mount(NULL, fx->library, NULL, MS_REMOUNT | MS_RDONLY, NULL), ==, 0);
	write_config(fx, "max_size_ratio = 1.0\n");
	before = av1d_test_checksum(path);
	r = AV1D_RUN("--once", "--config", fx->config);
	g_assert_cmpint(r->status, ==, 0);
	line = av1d_test_find_job_line(r->out, "failed", "/h264-eng-rus.mkv");
	g_assert_nonnull(line);
	g_assert_nonnull(strstr(line, "Read-only file system"));
	after = av1d_test_checksum(path);
	g_assert_cmpstr(before, ==, after);
}

static void
test_truncated_output_fails_verification(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *fake =
	    g_build_filename(g_getenv("G_TEST_SRCDIR"), "fakes", "half-ffmpeg", NULL);
	g_autofree gchar *extra = g_strdup_printf("max_size_ratio = 1.0\nffmpeg_bin = \"%s\"\n", fake);
	g_autofree gchar *path = lib(fx, "h264-eng-rus.mkv");
	g_autofree gchar *before = NULL, *after = NULL, *line = NULL;
	g_autoptr(Av1dTestRun) r = NULL;

	av1d_test_copy_media("h264-eng-rus.mkv", fx->library, NULL);
	write_config(fx, extra);
	before = av1d_test_checksum(path);
	r = AV1D_RUN("--once", "--config", fx->config);
	g_assert_cmpint(r->status, ==, 0);
	line = av1d_test_find_job_line(r->out, "failed", "/h264-eng-rus.mkv");
	g_assert_nonnull(line);
	g_assert_nonnull(strstr(line, "verify"));
	after = av1d_test_checksum(path);
	g_assert_cmpstr(before, ==, after);
	av1d_test_assert_no_temps(fx->library);
	g_assert_false(exists(fx, "h264-eng-rus.orig.mkv"));
	g_assert_true(exists(fx, "h264-eng-rus.mkv.why.txt"));
}


/* the file is replaced while its encode runs: the encode must not win */
static void
test_source_changed_during_encode(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = lib(fx, "h264-eng-rus.mkv");
	g_autofree gchar *changed = NULL, *after = NULL, *out = NULL;
	g_autoptr(GSubprocessLauncher) launcher =
	    g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GFile) file = NULL;
	g_autoptr(GFileOutputStream) stream = NULL;

	av1d_test_copy_media("h264-eng-rus.mkv", fx->library, NULL);
	write_config(fx, "max_size_ratio = 1.0\n");
	g_subprocess_launcher_setenv(launcher, "AV1D_PAUSE_AT", "pipeline-encoded", TRUE);
	proc = g_subprocess_launcher_spawn(launcher, &error, g_getenv("AV1D_BIN"), "--once",
					   "--config", fx->config, NULL);
	g_assert_no_error(error);
	g_assert_true(av1d_test_wait_stopped(proc));
	/* a download finishing late: more bytes appended */
	file = g_file_new_for_path(path);
	stream = g_file_append_to(file, G_FILE_CREATE_NONE, NULL, &error);
	g_assert_no_error(error);
	g_assert_true(g_output_stream_write_all(G_OUTPUT_STREAM(stream), "MORE", 4, NULL, NULL,
						&error));
	g_assert_true(g_output_stream_close(G_OUTPUT_STREAM(stream), NULL, &error));
	changed = av1d_test_checksum(path);
	g_subprocess_send_signal(proc, SIGCONT);
	g_assert_true(g_subprocess_communicate_utf8(proc, NULL, NULL, &out, NULL, &error));
	g_test_message("%s", out);
	g_assert_nonnull(strstr(out, "changed during the encode"));
	after = av1d_test_checksum(path);
	g_assert_cmpstr(changed, ==, after);
	av1d_test_assert_no_temps(fx->library);
	g_assert_false(exists(fx, "h264-eng-rus.orig.mkv"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

#define ADD(path, func) g_test_add(path, Fixture, NULL, fixture_setup, func, fixture_teardown)
	ADD("/av1d/safety/size-gate-rejects-with-reason-and-is-not-retried",
	    test_size_gate_rejects_and_is_not_retried);
	ADD("/av1d/safety/mp4-becomes-mkv-plus-orig-mp4-and-stays",
	    test_mp4_becomes_mkv_and_second_run_leaves_both);
	ADD("/av1d/safety/output-is-not-reencoded-after-a-rename",
	    test_output_is_not_reencoded_after_a_rename);
	ADD("/av1d/safety/keep-backup-false-removes-the-backup", test_keep_backup_false);
	ADD("/av1d/safety/full-disk-keeps-the-original", test_full_disk_keeps_the_original);
	ADD("/av1d/safety/read-only-folder-keeps-the-original",
	    test_read_only_folder_keeps_the_original);
	ADD("/av1d/safety/truncated-output-fails-verification",
	    test_truncated_output_fails_verification);
	ADD("/av1d/safety/source-changed-during-encode-keeps-the-change",
	    test_source_changed_during_encode);
	return g_test_run();
}
