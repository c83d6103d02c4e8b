/*
 * The swap and its recovery on real files: every state a crash can leave
 * is built by hand and recovered, and the result is checked byte for byte.
 */
#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "av1d-error.h"
#include "av1d-swap.h"

typedef struct {
	gchar *dir;
} Fixture;

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	fx->dir = g_dir_make_tmp("av1d-test-swap-XXXXXX", &error);
	g_assert_no_error(error);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *quoted = g_shell_quote(fx->dir);
	g_autofree gchar *cmd = g_strdup_printf("rm -rf %s", quoted);

	g_assert_true(g_spawn_command_line_sync(cmd, NULL, NULL, NULL, NULL));
	g_free(fx->dir);
}

static gchar *
put(Fixture *fx, const gchar *name, const gchar *contents)
{
	gchar *path = g_build_filename(fx->dir, name, NULL);

	g_assert_true(g_file_set_contents(path, contents, -1, NULL));
	return path;
}

static gchar *
read_file(const gchar *dir, const gchar *name)
{
	g_autofree gchar *path = g_build_filename(dir, name, NULL);
	gchar *contents = NULL;

	if (!g_file_get_contents(path, &contents, NULL, NULL))
		return NULL;
	return contents;
}

static gboolean
exists(const gchar *dir, const gchar *name)
{
	g_autofree gchar *path = g_build_filename(dir, name, NULL);

	return g_file_test(path, G_FILE_TEST_EXISTS);
}

/* a source with a known mtime and mode, and its encode in the temp */
static Av1dSwapRequest *
prepare(Fixture *fx, const gchar *source_name, gboolean keep_backup)
{
	g_autofree gchar *source = put(fx, source_name, "ORIGINAL");
	struct timespec times[2] = {{1000000000, 0}, {1234567890, 500}};
	Av1dFileIdentity identity;
	Av1dSwapRequest *req;

	g_assert_cmpint(utimensat(AT_FDCWD, source, times, 0), ==, 0);
	g_assert_cmpint(g_chmod(source, 0640), ==, 0);
	g_assert_true(av1d_file_identity_from_path(source, &identity, NULL));
	req = av1d_swap_request_new(source, &identity, keep_backup);
	g_assert_true(g_file_set_contents(req->temp_path, "AV1", -1, NULL));
	return req;
}

static void
test_swap_mkv(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dSwapRequest) req = prepare(fx, "Movie.mkv", TRUE);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *final = NULL, *backup = NULL;
	Av1dFileIdentity out;
	struct stat st;

	g_assert_true(av1d_swap_run_sync(req, &out, &error));
	g_assert_no_error(error);
	final = read_file(fx->dir, "Movie.mkv");
	backup = read_file(fx->dir, "Movie.orig.mkv");
	g_assert_cmpstr(final, ==, "AV1");
	g_assert_cmpstr(backup, ==, "ORIGINAL");
	g_assert_false(exists(fx->dir, ".Movie.av1d-tmp.mkv"));
	/* the new file carries the original's mtime and mode */
	g_assert_cmpint(stat(req->output_path, &st), ==, 0);
	g_assert_cmpint(st.st_mtim.tv_sec, ==, 1234567890);
	g_assert_cmpint(st.st_mode & 07777, ==, 0640);
	g_assert_cmpuint(out.ino, ==, (guint64)st.st_ino);
}

static void
test_swap_mp4(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dSwapRequest) req = prepare(fx, "Movie.mp4", TRUE);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *final = NULL, *backup = NULL;
	Av1dFileIdentity out;

	g_assert_true(av1d_swap_run_sync(req, &out, &error));
	final = read_file(fx->dir, "Movie.mkv");
	backup = read_file(fx->dir, "Movie.orig.mp4");
	g_assert_cmpstr(final, ==, "AV1");
	g_assert_cmpstr(backup, ==, "ORIGINAL");
	/* never Matroska data under an .mp4 name */
	g_assert_false(exists(fx->dir, "Movie.mp4"));
}

static void
test_swap_without_backup(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dSwapRequest) req = prepare(fx, "Movie.mp4", FALSE);
	g_autoptr(GError) error = NULL;
	Av1dFileIdentity out;

	g_assert_true(av1d_swap_run_sync(req, &out, &error));
	g_assert_true(exists(fx->dir, "Movie.mkv"));
	g_assert_false(exists(fx->dir, "Movie.orig.mp4"));
	g_assert_false(exists(fx->dir, "Movie.mp4"));
}

static void
test_swap_refuses_changed_source(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dSwapRequest) req = prepare(fx, "Movie.mkv", TRUE);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *source = NULL;
	Av1dFileIdentity out;

	/* someone replaced the file while it was being encoded */
	g_assert_true(g_file_set_contents(req->source_path, "NEWER AND LONGER", -1, NULL));
	g_assert_false(av1d_swap_run_sync(req, &out, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE);
	g_assert_nonnull(strstr(error->message, "changed during the encode"));
	source = read_file(fx->dir, "Movie.mkv");
	g_assert_cmpstr(source, ==, "NEWER AND LONGER");
	g_assert_false(exists(fx->dir, "Movie.orig.mkv"));
}

static void
test_swap_refuses_vanished_source(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dSwapRequest) req = prepare(fx, "Movie.mkv", TRUE);
	g_autoptr(GError) error = NULL;
	Av1dFileIdentity out;

	g_assert_cmpint(g_unlink(req->source_path), ==, 0);
	g_assert_false(av1d_swap_run_sync(req, &out, &error));
	g_assert_nonnull(strstr(error->message, "vanished"));
	g_assert_false(exists(fx->dir, "Movie.mkv"));
}

static void
test_swap_never_overwrites_other_files(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dSwapRequest) req = prepare(fx, "Movie.mp4", TRUE);
	g_autofree gchar *mine = put(fx, "Movie.mkv", "THE USER'S OTHER FILE");
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) error2 = NULL;
	g_autofree gchar *still = NULL, *source = NULL;
	Av1dFileIdentity out;

	g_assert_false(av1d_swap_run_sync(req, &out, &error));
	g_assert_nonnull(strstr(error->message, "already exists"));
	still = read_file(fx->dir, "Movie.mkv");
	g_assert_cmpstr(still, ==, "THE USER'S OTHER FILE");
	source = read_file(fx->dir, "Movie.mp4");
	g_assert_cmpstr(source, ==, "ORIGINAL");

	/* and an old backup of the same name is not replaced either */
	g_assert_cmpint(g_unlink(mine), ==, 0);
	g_free(put(fx, "Movie.orig.mp4", "OLD BACKUP"));
	g_assert_false(av1d_swap_run_sync(req, &out, &error2));
	g_assert_nonnull(strstr(error2->message, "backup name"));
}

/* crash after the temp was written, before the link: roll back */
static void
test_recover_temp_only(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dSwapRequest) req = prepare(fx, "Movie.mkv", TRUE);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *reason = NULL, *source = NULL;

	g_assert_cmpint(av1d_swap_recover(req, &reason, &error), ==, AV1D_RECOVERY_NOTHING);
	g_assert_no_error(error);
	source = read_file(fx->dir, "Movie.mkv");
	g_assert_cmpstr(source, ==, "ORIGINAL");
	g_assert_false(exists(fx->dir, ".Movie.av1d-tmp.mkv"));
	g_assert_false(exists(fx->dir, "Movie.orig.mkv"));
}

/* crash after the link, before the rename: the backup goes, the original stays */
static void
test_recover_after_link(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dSwapRequest) req = prepare(fx, "Movie.mkv", TRUE);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *reason = NULL, *source = NULL;

	g_assert_cmpint(link(req->source_path, req->backup_path), ==, 0);
	g_assert_cmpint(av1d_swap_recover(req, &reason, &error), ==, AV1D_RECOVERY_ROLLED_BACK);
	source = read_file(fx->dir, "Movie.mkv");
	g_assert_cmpstr(source, ==, "ORIGINAL");
	g_assert_false(exists(fx->dir, "Movie.orig.mkv"));
	g_assert_false(exists(fx->dir, ".Movie.av1d-tmp.mkv"));
}

/* crash after the rename of an .mp4's encode, before the old name went */
static void
test_recover_after_rename_mp4(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dSwapRequest) req = prepare(fx, "Movie.mp4", TRUE);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *reason = NULL, *final = NULL, *backup = NULL;

	g_assert_cmpint(link(req->source_path, req->backup_path), ==, 0);
	g_assert_cmpint(rename(req->temp_path, req->output_path), ==, 0);
	g_assert_cmpint(av1d_swap_recover(req, &reason, &error), ==,
			AV1D_RECOVERY_ROLLED_FORWARD);
	g_assert_no_error(error);
	final = read_file(fx->dir, "Movie.mkv");
	backup = read_file(fx->dir, "Movie.orig.mp4");
	g_assert_cmpstr(final, ==, "AV1");
	g_assert_cmpstr(backup, ==, "ORIGINAL");
	g_assert_false(exists(fx->dir, "Movie.mp4"));
}

/* crash after the rename over an .mkv source: already complete */
static void
test_recover_after_rename_mkv(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dSwapRequest) req = prepare(fx, "Movie.mkv", TRUE);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *reason = NULL, *final = NULL, *backup = NULL;

	g_assert_cmpint(link(req->source_path, req->backup_path), ==, 0);
	g_assert_cmpint(rename(req->temp_path, req->output_path), ==, 0);
	g_assert_cmpint(av1d_swap_recover(req, &reason, &error), ==,
			AV1D_RECOVERY_ROLLED_FORWARD);
	final = read_file(fx->dir, "Movie.mkv");
	backup = read_file(fx->dir, "Movie.orig.mkv");
	g_assert_cmpstr(final, ==, "AV1");
	g_assert_cmpstr(backup, ==, "ORIGINAL");
}

/* a failed run removed the temp but died before recording it: nothing was
 * swapped, so nothing may be "completed" */
static void
test_recover_without_temp_or_swap(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dSwapRequest) req = prepare(fx, "Movie.mp4", TRUE);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *reason = NULL, *source = NULL;

	g_assert_cmpint(g_unlink(req->temp_path), ==, 0);
	g_assert_cmpint(av1d_swap_recover(req, &reason, &error), ==, AV1D_RECOVERY_NOTHING);
	source = read_file(fx->dir, "Movie.mp4");
	g_assert_cmpstr(source, ==, "ORIGINAL");
	g_assert_false(exists(fx->dir, "Movie.mkv"));
}

/* a user's unrelated Movie.mkv beside Movie.mp4 is not mistaken for our output */
static void
test_recover_leaves_unrelated_files(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dSwapRequest) req = prepare(fx, "Movie.mp4", TRUE);
	g_autofree gchar *mine = put(fx, "Movie.mkv", "THE USER'S OTHER FILE");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *reason = NULL, *source = NULL, *other = NULL;

	g_assert_cmpint(g_unlink(req->temp_path), ==, 0);
	g_assert_cmpint(av1d_swap_recover(req, &reason, &error), !=,
			AV1D_RECOVERY_ROLLED_FORWARD);
	source = read_file(fx->dir, "Movie.mp4");
	other = read_file(fx->dir, "Movie.mkv");
	g_assert_cmpstr(source, ==, "ORIGINAL");
	g_assert_cmpstr(other, ==, "THE USER'S OTHER FILE");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

#define ADD(path, func) g_test_add(path, Fixture, NULL, fixture_setup, func, fixture_teardown)
	ADD("/av1d/swap/mkv-source-keeps-backup-mtime-and-mode", test_swap_mkv);
	ADD("/av1d/swap/mp4-source-becomes-mkv-and-orig-mp4", test_swap_mp4);
	ADD("/av1d/swap/keep-backup-false-removes-the-backup", test_swap_without_backup);
	ADD("/av1d/swap/refuses-a-source-changed-during-the-encode", test_swap_refuses_changed_source);
	ADD("/av1d/swap/refuses-a-vanished-source", test_swap_refuses_vanished_source);
	ADD("/av1d/swap/never-overwrites-other-files", test_swap_never_overwrites_other_files);
	ADD("/av1d/swap/recover/temp-only-rolls-back", test_recover_temp_only);
	ADD("/av1d/swap/recover/after-link-rolls-back", test_recover_after_link);
	ADD("/av1d/swap/recover/after-rename-of-mp4-rolls-forward", test_recover_after_rename_mp4);
	ADD("/av1d/swap/recover/after-rename-of-mkv-rolls-forward", test_recover_after_rename_mkv);
	ADD("/av1d/swap/recover/no-temp-no-swap-keeps-the-original",
	    test_recover_without_temp_or_swap);
	ADD("/av1d/swap/recover/leaves-unrelated-files-alone", test_recover_leaves_unrelated_files);
	return g_test_run();
}
