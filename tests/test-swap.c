/*
 * The swap and its recovery on real files in a real library root. The
 * request is built the way the pipeline builds it: the source's folder
 * opened beneath the root, the job's private temp folder in it, the encode
 * as out.mkv there. Every state a crash can leave is built by hand (the
 * fault points kill the process: they are for test-crash) and recovered,
 * and each result is checked byte for byte, inode by inode, and by the
 * exact names left in the folder.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "av1d-beneath.h"
#include "av1d-error.h"
#include "av1d-sidecar.h"
#include "av1d-swap.h"
#include "av1d-test-util.h"

#define JOB_ID	   7
#define ORIGINAL   "ORIGINAL BYTES"
#define ENCODE	   "AV1"
#define USERS_FILE "THE USER'S OTHER FILE"
/* the original's times: the new file must carry them */
#define MTIME_SEC  1234567890
#define MTIME_NSEC 500
/* an owner that is not root's, given to the original when the tests run as
 * root */
#define OTHER_UID 1234
#define OTHER_GID 5678

typedef struct {
	gchar *tmp;
	gchar *root; /* the realpath of tmp: roots are compared as strings */
	gchar *dir;  /* <root>/Films, the source's folder */
	const gchar *roots[2];
	gchar *source_path;
	gchar *source_name;
	int dir_fd;
	int temp_fd;
	gchar *temp_name;
	Av1dFileIdentity source;
	Av1dFileIdentity encode;
	Av1dSwapRequest *req;
} Fixture;

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	char *real;

	fx->tmp = g_dir_make_tmp("av1d-test-swap-XXXXXX", &error);
	g_assert_no_error(error);
	real = realpath(fx->tmp, NULL);
	g_assert_nonnull(real);
	fx->root = g_strdup(real);
	free(real);
	fx->dir = g_build_filename(fx->root, "Films", NULL);
	g_assert_cmpint(g_mkdir(fx->dir, 0755), ==, 0);
	fx->roots[0] = fx->root;
	fx->roots[1] = NULL;
	fx->dir_fd = -1;
	fx->temp_fd = -1;
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	g_clear_pointer(&fx->req, av1d_swap_request_free);
	if (fx->dir_fd >= 0)
		close(fx->dir_fd);
	if (fx->temp_fd >= 0)
		close(fx->temp_fd);
	av1d_test_rm_rf(fx->tmp);
	g_free(fx->tmp);
	g_free(fx->root);
	g_free(fx->dir);
	g_free(fx->source_path);
	g_free(fx->source_name);
	g_free(fx->temp_name);
}

/* ---- helpers ---- */

static void
put(const gchar *dir, const gchar *name, const gchar *contents)
{
	g_autofree gchar *path = g_build_filename(dir, name, NULL);
	g_autoptr(GError) error = NULL;

	g_file_set_contents(path, contents, -1, &error);
	g_assert_no_error(error);
}

/* what @name holds, never through a symlink; NULL when it is missing */
static gchar *
contents(const gchar *dir, const gchar *name)
{
	g_autofree gchar *path = g_build_filename(dir, name, NULL);
	gchar *data = NULL;
	struct stat st;

	if (lstat(path, &st) != 0)
		return NULL;
	g_assert_true(S_ISREG(st.st_mode));
	g_assert_true(g_file_get_contents(path, &data, NULL, NULL));
	return data;
}

static gboolean
exists(const gchar *dir, const gchar *name)
{
	g_autofree gchar *path = g_build_filename(dir, name, NULL);
	struct stat st;

	return lstat(path, &st) == 0;
}

static struct stat
stat_of(const gchar *dir, const gchar *name)
{
	g_autofree gchar *path = g_build_filename(dir, name, NULL);
	struct stat st;

	g_assert_cmpint(lstat(path, &st), ==, 0);
	return st;
}

static guint64
inode_of(const gchar *dir, const gchar *name)
{
	return (guint64)stat_of(dir, name).st_ino;
}

/* another file under @name of @dir_fd (the folder @dir): created before
 * the old one goes, so that it cannot reuse the old inode number; returns
 * the new inode */
static guint64
replace(const gchar *dir, int dir_fd, const gchar *name, const gchar *data)
{
	guint64 old = inode_of(dir, name);
	guint64 now;

	put(dir, "replacement", data);
	g_assert_cmpint(renameat(dir_fd, "replacement", dir_fd, name), ==, 0);
	now = inode_of(dir, name);
	g_assert_cmpuint(now, !=, old);
	return now;
}

#define assert_contents(dir, name, expected)                                                       \
	G_STMT_START                                                                               \
	{                                                                                          \
		g_autofree gchar *_data = contents((dir), (name));                                 \
		g_assert_cmpstr(_data, ==, (expected));                                            \
	}                                                                                          \
	G_STMT_END

/* the exact names in @dir, sorted, comma-separated; "TEMP" in @expected
 * stands for the job's temp folder */
static void
assert_listing(Fixture *fx, const gchar *dir, const gchar *expected)
{
	g_autofree gchar *names = av1d_test_list_dir(dir);
	g_auto(GStrv) parts = g_strsplit(expected, "TEMP", -1);
	g_autofree gchar *wanted = g_strjoinv(fx->temp_name, parts);

	g_assert_cmpstr(names, ==, wanted);
}

static gchar *
temp_dir_path(Fixture *fx)
{
	return g_build_filename(fx->dir, fx->temp_name, NULL);
}

/* a source with a known mode, mtime and owner in <root>/Films, its folder
 * and the job's temp folder opened as the pipeline opens them, the encode
 * written there, and the request */
static Av1dSwapRequest *
prepare(Fixture *fx, const gchar *source_name, gboolean keep_backup)
{
	struct timespec times[2] = {{1000000000, 0}, {MTIME_SEC, MTIME_NSEC}};
	g_autoptr(GError) error = NULL;
	int fd;

	put(fx->dir, source_name, ORIGINAL);
	fx->source_path = g_build_filename(fx->dir, source_name, NULL);
	g_assert_cmpint(g_chmod(fx->source_path, 0640), ==, 0);
	if (geteuid() == 0)
		g_assert_cmpint(chown(fx->source_path, OTHER_UID, OTHER_GID), ==, 0);
	g_assert_cmpint(utimensat(AT_FDCWD, fx->source_path, times, 0), ==, 0);
	g_assert_true(av1d_file_identity_from_path(fx->source_path, &fx->source, &error));
	g_assert_no_error(error);

	fx->dir_fd = av1d_beneath_open_parent(fx->roots, fx->source_path, &fx->source_name, &error);
	g_assert_no_error(error);
	g_assert_cmpint(fx->dir_fd, >=, 0);
	g_assert_cmpstr(fx->source_name, ==, source_name);
	fx->temp_fd = av1d_beneath_make_temp_dir(fx->dir_fd, AV1D_TEMP_DIR_PREFIX "7-",
						 &fx->temp_name, &error);
	g_assert_no_error(error);
	g_assert_cmpint(fx->temp_fd, >=, 0);

	fd = openat(fx->temp_fd, AV1D_TEMP_OUTPUT, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, ENCODE, strlen(ENCODE)), ==, (gssize)strlen(ENCODE));
	g_assert_cmpint(close(fd), ==, 0);
	g_assert_true(av1d_beneath_identity(fx->temp_fd, AV1D_TEMP_OUTPUT, &fx->encode, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(fx->encode.size, ==, strlen(ENCODE));

	fx->req = av1d_swap_request_new(fx->root, fx->source_path, fx->dir_fd, fx->temp_fd,
					&fx->source, &fx->encode, keep_backup);
	return fx->req;
}

static gboolean
swap(Fixture *fx, Av1dFileIdentity *out, GError **error)
{
	return av1d_swap_run_sync(fx->req, out, error);
}

/* the kernel's exchange of two names, as the swap's step 4 does it */
static void
exchange(int from_fd, const gchar *from, int to_fd, const gchar *to)
{
	g_assert_cmpint(syscall(SYS_renameat2, from_fd, from, to_fd, to, RENAME_EXCHANGE), ==, 0);
}

/* crash states, step by step as the swap makes them */
static void
link_backup(Fixture *fx)
{
	g_autofree gchar *backup = av1d_swap_backup_name(fx->source_name);

	g_assert_cmpint(linkat(fx->dir_fd, fx->source_name, fx->dir_fd, backup, 0), ==, 0);
}

static void
place_encode(Fixture *fx)
{
	g_autofree gchar *output = av1d_swap_output_name(fx->source_name);

	if (g_str_equal(output, fx->source_name))
		exchange(fx->temp_fd, AV1D_TEMP_OUTPUT, fx->dir_fd, output);
	else
		g_assert_cmpint(renameat(fx->temp_fd, AV1D_TEMP_OUTPUT, fx->dir_fd, output), ==, 0);
}

static Av1dRecovery
recover(Fixture *fx, gboolean swapping, gboolean keep_backup, gchar **reason)
{
	return av1d_swap_recover(fx->dir_fd, JOB_ID, fx->source_name, &fx->source, &fx->encode,
				 swapping, keep_backup, reason);
}

/* nothing changed by a refused swap: the source under its name with one
 * link, no backup, the encode still in the temp folder */
static void
assert_untouched(Fixture *fx, const gchar *expected_listing)
{
	g_autofree gchar *temp = temp_dir_path(fx);
	g_autofree gchar *backup = av1d_swap_backup_name(fx->source_name);
	struct stat st = stat_of(fx->dir, fx->source_name);

	assert_contents(fx->dir, fx->source_name, ORIGINAL);
	g_assert_cmpuint((guint64)st.st_ino, ==, fx->source.ino);
	g_assert_cmpuint(st.st_nlink, ==, 1);
	g_assert_false(exists(fx->dir, backup));
	assert_contents(temp, AV1D_TEMP_OUTPUT, ENCODE);
	assert_listing(fx, fx->dir, expected_listing);
}

/* ---- names ---- */

static void
test_names(void)
{
	static const struct {
		const gchar *source, *output, *backup;
	} cases[] = {
		{"Movie.mkv", "Movie.mkv", "Movie.orig.mkv"},
		{"Movie.mp4", "Movie.mkv", "Movie.orig.mp4"},
		{"The.Movie.2020.avi", "The.Movie.2020.mkv", "The.Movie.2020.orig.avi"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *output = av1d_swap_output_name(cases[i].source);
		g_autofree gchar *backup = av1d_swap_backup_name(cases[i].source);

		g_assert_cmpstr(output, ==, cases[i].output);
		g_assert_cmpstr(backup, ==, cases[i].backup);
	}
}

/* ---- the swap ---- */

static void
test_same_name_is_exchanged(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *temp = NULL;
	Av1dFileIdentity out = {0};
	struct stat backup;

	prepare(fx, "Movie.mkv", TRUE);
	g_assert_true(swap(fx, &out, &error));
	g_assert_no_error(error);

	assert_contents(fx->dir, "Movie.mkv", ENCODE);
	assert_contents(fx->dir, "Movie.orig.mkv", ORIGINAL);
	g_assert_cmpuint(inode_of(fx->dir, "Movie.mkv"), ==, fx->encode.ino);
	backup = stat_of(fx->dir, "Movie.orig.mkv");
	g_assert_cmpuint((guint64)backup.st_ino, ==, fx->source.ino);
	/* the original's second name came back into the temp and went */
	g_assert_cmpuint(backup.st_nlink, ==, 1);
	temp = temp_dir_path(fx);
	assert_listing(fx, temp, "");
	assert_listing(fx, fx->dir, "TEMP,Movie.mkv,Movie.orig.mkv");
	/* the identity of what is now under the final name */
	g_assert_cmpuint(out.dev, ==, fx->encode.dev);
	g_assert_cmpuint(out.ino, ==, fx->encode.ino);
	g_assert_cmpuint(out.size, ==, strlen(ENCODE));
}

static void
test_new_name(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *temp = NULL;
	Av1dFileIdentity out = {0};
	struct stat backup;

	prepare(fx, "Movie.mp4", TRUE);
	g_assert_true(swap(fx, &out, &error));
	g_assert_no_error(error);

	assert_contents(fx->dir, "Movie.mkv", ENCODE);
	assert_contents(fx->dir, "Movie.orig.mp4", ORIGINAL);
	g_assert_cmpuint(inode_of(fx->dir, "Movie.mkv"), ==, fx->encode.ino);
	backup = stat_of(fx->dir, "Movie.orig.mp4");
	g_assert_cmpuint((guint64)backup.st_ino, ==, fx->source.ino);
	g_assert_cmpuint(backup.st_nlink, ==, 1);
	/* never Matroska data under an .mp4 name: the old name is gone */
	g_assert_false(exists(fx->dir, "Movie.mp4"));
	temp = temp_dir_path(fx);
	assert_listing(fx, temp, "");
	assert_listing(fx, fx->dir, "TEMP,Movie.mkv,Movie.orig.mp4");
	g_assert_cmpuint(out.ino, ==, fx->encode.ino);
}

static void
test_carries_mode_mtime_and_owner(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	Av1dFileIdentity out = {0};
	struct stat st;

	prepare(fx, "Movie.mp4", TRUE);
	g_assert_true(swap(fx, &out, &error));
	g_assert_no_error(error);

	st = stat_of(fx->dir, "Movie.mkv");
	g_assert_cmpuint((guint64)st.st_ino, ==, fx->encode.ino);
	g_assert_cmpint(st.st_mode & 07777, ==, 0640);
	g_assert_cmpint(st.st_mtim.tv_sec, ==, MTIME_SEC);
	g_assert_cmpint(st.st_mtim.tv_nsec, ==, MTIME_NSEC);
	if (geteuid() == 0) {
		g_assert_cmpuint(st.st_uid, ==, OTHER_UID);
		g_assert_cmpuint(st.st_gid, ==, OTHER_GID);
	} else {
		g_assert_cmpuint(st.st_uid, ==, geteuid());
	}
	g_assert_cmpint(out.mtime_ns, ==,
			(gint64)MTIME_SEC * G_GINT64_CONSTANT(1000000000) + MTIME_NSEC);
}

static void
test_keep_backup_false(Fixture *fx, gconstpointer data)
{
	const gchar *source = data;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *temp = NULL;
	Av1dFileIdentity out = {0};

	prepare(fx, source, FALSE);
	g_assert_true(swap(fx, &out, &error));
	g_assert_no_error(error);

	assert_contents(fx->dir, "Movie.mkv", ENCODE);
	g_assert_cmpuint(inode_of(fx->dir, "Movie.mkv"), ==, fx->encode.ino);
	assert_listing(fx, fx->dir, "TEMP,Movie.mkv");
	/* the doomed names were unlinked, not left in the temp */
	temp = temp_dir_path(fx);
	assert_listing(fx, temp, "");
}

static void
test_existing_final_name_is_never_replaced(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	Av1dFileIdentity out = {0};
	guint64 users;

	put(fx->dir, "Movie.mkv", USERS_FILE);
	users = inode_of(fx->dir, "Movie.mkv");
	prepare(fx, "Movie.mp4", TRUE);

	g_assert_false(swap(fx, &out, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE);
	g_assert_cmpstr(error->message, ==, "Movie.mkv already exists; not overwriting it");
	assert_contents(fx->dir, "Movie.mkv", USERS_FILE);
	g_assert_cmpuint(inode_of(fx->dir, "Movie.mkv"), ==, users);
	/* the backup link the job made is gone again */
	assert_untouched(fx, "TEMP,Movie.mkv,Movie.mp4");
}

static void
test_taken_backup_name_is_refused(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	Av1dFileIdentity out = {0};
	guint64 old;

	put(fx->dir, "Movie.orig.mkv", "AN OLD BACKUP");
	old = inode_of(fx->dir, "Movie.orig.mkv");
	prepare(fx, "Movie.mkv", TRUE);

	g_assert_false(swap(fx, &out, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE);
	g_assert_cmpstr(error->message, ==,
			"backup name Movie.orig.mkv is taken; not overwriting it");
	assert_contents(fx->dir, "Movie.orig.mkv", "AN OLD BACKUP");
	g_assert_cmpuint(inode_of(fx->dir, "Movie.orig.mkv"), ==, old);
	assert_contents(fx->dir, "Movie.mkv", ORIGINAL);
	g_assert_cmpuint(inode_of(fx->dir, "Movie.mkv"), ==, fx->source.ino);
	g_assert_cmpuint(stat_of(fx->dir, "Movie.mkv").st_nlink, ==, 1);
	assert_listing(fx, fx->dir, "TEMP,Movie.mkv,Movie.orig.mkv");
}

/* the same bytes, size and mtime under the name, but another inode: a
 * file put there by someone else is not the one that was encoded */
static void
test_replaced_source_is_refused(Fixture *fx, gconstpointer data)
{
	struct timespec times[2] = {{1000000000, 0}, {MTIME_SEC, MTIME_NSEC}};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *message = NULL;
	Av1dFileIdentity out = {0};
	Av1dFileIdentity now;
	guint64 replacement;

	prepare(fx, "Movie.mkv", TRUE);
	put(fx->dir, "replacement", ORIGINAL);
	path = g_build_filename(fx->dir, "replacement", NULL);
	g_assert_cmpint(utimensat(AT_FDCWD, path, times, 0), ==, 0);
	replacement = inode_of(fx->dir, "replacement");
	g_assert_cmpint(renameat(fx->dir_fd, "replacement", fx->dir_fd, "Movie.mkv"), ==, 0);
	g_assert_true(av1d_beneath_identity(fx->dir_fd, "Movie.mkv", &now, NULL));
	g_assert_cmpuint(now.size, ==, fx->source.size);
	g_assert_cmpint(now.mtime_ns, ==, fx->source.mtime_ns);
	g_assert_cmpuint(now.ino, !=, fx->source.ino);

	g_assert_false(swap(fx, &out, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE);
	message = g_strdup_printf("source changed during the encode: %s", fx->source_path);
	g_assert_cmpstr(error->message, ==, message);
	assert_contents(fx->dir, "Movie.mkv", ORIGINAL);
	g_assert_cmpuint(inode_of(fx->dir, "Movie.mkv"), ==, replacement);
	g_assert_cmpuint(stat_of(fx->dir, "Movie.mkv").st_nlink, ==, 1);
	assert_listing(fx, fx->dir, "TEMP,Movie.mkv");
}

/* written in place: the same inode, other bytes */
static void
test_source_modified_in_place_is_refused(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	Av1dFileIdentity out = {0};
	int fd;

	prepare(fx, "Movie.mkv", TRUE);
	fd = openat(fx->dir_fd, "Movie.mkv", O_WRONLY | O_TRUNC | O_CLOEXEC);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, "NEWER AND LONGER", 16), ==, 16);
	g_assert_cmpint(close(fd), ==, 0);

	g_assert_false(swap(fx, &out, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE);
	g_assert_true(g_str_has_prefix(error->message, "source changed during the encode"));
	assert_contents(fx->dir, "Movie.mkv", "NEWER AND LONGER");
	g_assert_cmpuint(inode_of(fx->dir, "Movie.mkv"), ==, fx->source.ino);
	assert_listing(fx, fx->dir, "TEMP,Movie.mkv");
}

static void
test_vanished_source_is_refused(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *temp = NULL;
	Av1dFileIdentity out = {0};

	prepare(fx, "Movie.mp4", TRUE);
	g_assert_cmpint(unlinkat(fx->dir_fd, "Movie.mp4", 0), ==, 0);

	g_assert_false(swap(fx, &out, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_NOT_FOUND);
	g_assert_true(g_str_has_prefix(error->message, "source vanished during the encode"));
	/* the encode does not take the place of a file that is gone */
	assert_listing(fx, fx->dir, "TEMP");
	temp = temp_dir_path(fx);
	assert_contents(temp, AV1D_TEMP_OUTPUT, ENCODE);
}

/* SPEC 7.4: a torrent client may still seed the other name */
static void
test_hard_linked_source_is_refused(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *seed = NULL;
	Av1dFileIdentity out = {0};

	prepare(fx, "Movie.mkv", TRUE);
	seed = g_build_filename(fx->root, "seeding.mkv", NULL);
	g_assert_cmpint(linkat(fx->dir_fd, "Movie.mkv", AT_FDCWD, seed, 0), ==, 0);

	g_assert_false(swap(fx, &out, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE);
	g_assert_nonnull(strstr(error->message, "has other hard links"));
	assert_contents(fx->dir, "Movie.mkv", ORIGINAL);
	g_assert_cmpuint(inode_of(fx->dir, "Movie.mkv"), ==, fx->source.ino);
	g_assert_cmpuint(stat_of(fx->dir, "Movie.mkv").st_nlink, ==, 2);
	assert_listing(fx, fx->dir, "TEMP,Movie.mkv");
}

/* each marker alone stops the swap; without them it goes through */
static void
test_skip_marker_is_refused(Fixture *fx, gconstpointer data)
{
	struct {
		const gchar *dir;
		const gchar *name;
		gboolean folder;
	} markers[] = {
		{fx->dir, "Movie.mkv" AV1D_SKIP_SUFFIX, FALSE},
		{fx->dir, AV1D_DIR_SKIP_MARKER, FALSE},
		{fx->dir, AV1D_DIR_SKIP_MARKER, TRUE},
		{fx->root, AV1D_DIR_SKIP_MARKER, FALSE},
	};
	Av1dFileIdentity out = {0};

	prepare(fx, "Movie.mkv", TRUE);
	for (gsize i = 0; i < G_N_ELEMENTS(markers); i++) {
		g_autofree gchar *marker = g_build_filename(markers[i].dir, markers[i].name, NULL);
		g_autofree gchar *message = NULL;
		g_autoptr(GError) error = NULL;

		if (markers[i].folder)
			g_assert_cmpint(g_mkdir(marker, 0755), ==, 0);
		else
			put(markers[i].dir, markers[i].name, "");
		g_assert_false(swap(fx, &out, &error));
		g_assert_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE);
		message = g_strdup_printf("%s was marked with .av1skip during the encode",
					  fx->source_path);
		g_assert_cmpstr(error->message, ==, message);
		g_assert_cmpint(g_remove(marker), ==, 0);
		assert_untouched(fx, "TEMP,Movie.mkv");
	}
	g_assert_true(swap(fx, &out, NULL));
	assert_contents(fx->dir, "Movie.mkv", ENCODE);
}

/* re-resolved from the root, the folder's path now leads through a
 * symlink to the very same folder: refused all the same */
static void
test_folder_replaced_by_symlink_is_refused(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *moved = g_build_filename(fx->root, "Moved", NULL);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dir = NULL;
	Av1dFileIdentity out = {0};

	prepare(fx, "Movie.mkv", TRUE);
	g_assert_cmpint(g_rename(fx->dir, moved), ==, 0);
	g_assert_cmpint(symlink("Moved", fx->dir), ==, 0);

	g_assert_false(swap(fx, &out, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_OUTSIDE_LIBRARY);
	g_assert_nonnull(strstr(error->message, "without following a symlink"));
	/* fx->dir now names the symlink: look at the folder itself */
	dir = g_steal_pointer(&fx->dir);
	fx->dir = g_strdup(moved);
	assert_untouched(fx, "TEMP,Movie.mkv");
	g_assert_true(g_file_test(dir, G_FILE_TEST_IS_SYMLINK));
}

static void
test_renamed_folder_is_refused(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *moved = g_build_filename(fx->root, "Moved", NULL);
	g_autoptr(GError) missing = NULL;
	g_autoptr(GError) other = NULL;
	g_autofree gchar *message = NULL;
	Av1dFileIdentity out = {0};

	prepare(fx, "Movie.mkv", TRUE);
	g_assert_cmpint(g_rename(fx->dir, moved), ==, 0);
	g_assert_false(swap(fx, &out, &missing));
	g_assert_error(missing, AV1D_ERROR, AV1D_ERROR_NOT_FOUND);

	/* another folder where the job's folder was */
	g_assert_cmpint(g_mkdir(fx->dir, 0755), ==, 0);
	g_assert_false(swap(fx, &out, &other));
	g_assert_error(other, AV1D_ERROR, AV1D_ERROR_OUTSIDE_LIBRARY);
	message = g_strdup_printf("folder %s was moved or replaced during the encode", fx->dir);
	g_assert_cmpstr(other->message, ==, message);
	assert_listing(fx, fx->dir, "");

	g_free(fx->dir);
	fx->dir = g_strdup(moved);
	assert_untouched(fx, "TEMP,Movie.mkv");
}

/* the temp's out.mkv is not the verified encode any more */
static void
test_other_encode_is_refused(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *temp = NULL;
	Av1dFileIdentity out = {0};

	prepare(fx, "Movie.mkv", TRUE);
	temp = temp_dir_path(fx);
	replace(temp, fx->temp_fd, AV1D_TEMP_OUTPUT, ENCODE);

	g_assert_false(swap(fx, &out, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_FAILED);
	g_assert_true(g_str_has_prefix(error->message, "cannot prepare the encode of"));
	assert_untouched(fx, "TEMP,Movie.mkv");
}

/* the request keeps its own descriptors: the caller may close its own */
static void
test_request_owns_descriptors(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	Av1dFileIdentity out = {0};

	prepare(fx, "Movie.mkv", TRUE);
	g_assert_cmpint(fx->req->dir_fd, !=, fx->dir_fd);
	g_assert_cmpint(fx->req->temp_fd, !=, fx->temp_fd);
	g_assert_cmpint(close(fx->dir_fd), ==, 0);
	g_assert_cmpint(close(fx->temp_fd), ==, 0);
	fx->dir_fd = fx->temp_fd = -1;

	g_assert_true(swap(fx, &out, &error));
	g_assert_no_error(error);
	assert_contents(fx->dir, "Movie.mkv", ENCODE);
	assert_contents(fx->dir, "Movie.orig.mkv", ORIGINAL);
}

static void
test_without_folder_fails(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dSwapRequest) req = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *message = NULL;
	Av1dFileIdentity out = {0};

	prepare(fx, "Movie.mkv", TRUE);
	req = av1d_swap_request_new(fx->root, fx->source_path, -1, fx->temp_fd, &fx->source,
				    &fx->encode, TRUE);
	g_assert_false(av1d_swap_run_sync(req, &out, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_FAILED);
	message = g_strdup_printf("cannot swap %s: its folder is not open", fx->source_path);
	g_assert_cmpstr(error->message, ==, message);
	assert_untouched(fx, "TEMP,Movie.mkv");
}

typedef struct {
	GMainLoop *loop;
	gboolean ok;
	Av1dFileIdentity out;
	GError *error;
} AsyncResult;

static void
swap_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	AsyncResult *res = user_data;

	res->ok = av1d_swap_run_finish(result, &res->out, &res->error);
	g_main_loop_quit(res->loop);
}

/* the worker thread has its own copy: the request may go at once */
static void
test_async(Fixture *fx, gconstpointer data)
{
	AsyncResult res = {0};

	prepare(fx, "Movie.mp4", TRUE);
	res.loop = g_main_loop_new(NULL, FALSE);
	av1d_swap_run_async(fx->req, swap_done, &res);
	g_clear_pointer(&fx->req, av1d_swap_request_free);
	g_main_loop_run(res.loop);
	g_main_loop_unref(res.loop);

	g_assert_no_error(res.error);
	g_assert_true(res.ok);
	g_assert_cmpuint(res.out.ino, ==, fx->encode.ino);
	assert_contents(fx->dir, "Movie.mkv", ENCODE);
	assert_contents(fx->dir, "Movie.orig.mp4", ORIGINAL);
	assert_listing(fx, fx->dir, "TEMP,Movie.mkv,Movie.orig.mp4");
}

static void
test_async_failure(Fixture *fx, gconstpointer data)
{
	AsyncResult res = {0};

	put(fx->dir, "Movie.mkv", USERS_FILE);
	prepare(fx, "Movie.mp4", TRUE);
	res.loop = g_main_loop_new(NULL, FALSE);
	av1d_swap_run_async(fx->req, swap_done, &res);
	g_main_loop_run(res.loop);
	g_main_loop_unref(res.loop);

	g_assert_false(res.ok);
	g_assert_error(res.error, AV1D_ERROR, AV1D_ERROR_BAD_STATE);
	g_clear_error(&res.error);
	assert_contents(fx->dir, "Movie.mkv", USERS_FILE);
	assert_untouched(fx, "TEMP,Movie.mkv,Movie.mp4");
}

/* ---- recovery ---- */

/* a temp folder of another job in the same folder, which recovery of job
 * 7 must leave */
static gchar *
other_jobs_temp(Fixture *fx)
{
	g_autoptr(GError) error = NULL;
	gchar *name = NULL;
	int fd = av1d_beneath_make_temp_dir(fx->dir_fd, AV1D_TEMP_DIR_PREFIX "8-", &name, &error);
	g_autofree gchar *path = NULL;

	g_assert_no_error(error);
	g_assert_cmpint(fd, >=, 0);
	close(fd);
	path = g_build_filename(fx->dir, name, NULL);
	put(path, AV1D_TEMP_OUTPUT, "JOB 8");
	return name;
}

/* crash while encoding: only the temp folder exists */
static void
test_recover_encoding(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *reason = NULL;
	g_autofree gchar *other = NULL;
	g_autofree gchar *expected = NULL;
	g_autofree gchar *other_path = NULL;

	prepare(fx, "Movie.mkv", TRUE);
	other = other_jobs_temp(fx);
	g_assert_cmpint(recover(fx, FALSE, TRUE, &reason), ==, AV1D_RECOVERY_SOURCE_KEPT);
	g_assert_cmpstr(reason, ==, "interrupted; original kept, temp removed");
	assert_contents(fx->dir, "Movie.mkv", ORIGINAL);
	g_assert_cmpuint(inode_of(fx->dir, "Movie.mkv"), ==, fx->source.ino);
	expected = g_strconcat(other, ",Movie.mkv", NULL);
	assert_listing(fx, fx->dir, expected);
	other_path = g_build_filename(fx->dir, other, NULL);
	assert_contents(other_path, AV1D_TEMP_OUTPUT, "JOB 8");
}

/* crash after the backup link (recorded swapping or not), before the
 * encode took the final name: rolled back, the backup goes */
typedef struct {
	const gchar *source;
	gboolean swapping;
} AfterLink;

static void
test_recover_after_link(Fixture *fx, gconstpointer data)
{
	const AfterLink *state = data;
	g_autofree gchar *reason = NULL;

	prepare(fx, state->source, TRUE);
	link_backup(fx);
	g_assert_cmpuint(stat_of(fx->dir, state->source).st_nlink, ==, 2);
	g_assert_cmpint(recover(fx, state->swapping, TRUE, &reason), ==, AV1D_RECOVERY_SOURCE_KEPT);
	g_assert_cmpstr(reason, ==, "interrupted; original kept, temp removed");
	assert_contents(fx->dir, state->source, ORIGINAL);
	g_assert_cmpuint(inode_of(fx->dir, state->source), ==, fx->source.ino);
	g_assert_cmpuint(stat_of(fx->dir, state->source).st_nlink, ==, 1);
	assert_listing(fx, fx->dir, state->source);
}

/* crash right after the exchange: the final name holds the encode, the
 * backup and the temp's out.mkv the original */
static void
test_recover_after_exchange(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *reason = NULL;
	g_autofree gchar *other = NULL;
	g_autofree gchar *expected = NULL;

	prepare(fx, "Movie.mkv", TRUE);
	other = other_jobs_temp(fx);
	link_backup(fx);
	place_encode(fx);
	g_assert_cmpint(recover(fx, TRUE, TRUE, &reason), ==, AV1D_RECOVERY_ROLLED_FORWARD);
	g_assert_cmpstr(reason, ==, "interrupted during the swap; completed on restart");
	assert_contents(fx->dir, "Movie.mkv", ENCODE);
	g_assert_cmpuint(inode_of(fx->dir, "Movie.mkv"), ==, fx->encode.ino);
	assert_contents(fx->dir, "Movie.orig.mkv", ORIGINAL);
	g_assert_cmpuint(inode_of(fx->dir, "Movie.orig.mkv"), ==, fx->source.ino);
	g_assert_cmpuint(stat_of(fx->dir, "Movie.orig.mkv").st_nlink, ==, 1);
	/* no temp of this job, nor recovery's own, is left */
	expected = g_strconcat(other, ",Movie.mkv,Movie.orig.mkv", NULL);
	assert_listing(fx, fx->dir, expected);
}

static void
test_recover_after_exchange_without_backup(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *reason = NULL;

	prepare(fx, "Movie.mkv", FALSE);
	link_backup(fx);
	place_encode(fx);
	g_assert_cmpint(recover(fx, TRUE, FALSE, &reason), ==, AV1D_RECOVERY_ROLLED_FORWARD);
	assert_contents(fx->dir, "Movie.mkv", ENCODE);
	g_assert_cmpuint(inode_of(fx->dir, "Movie.mkv"), ==, fx->encode.ino);
	assert_listing(fx, fx->dir, "Movie.mkv");
}

/* crash after the rename of an .mp4's encode, before the old name went */
static void
test_recover_after_rename(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *reason = NULL;

	prepare(fx, "Movie.mp4", TRUE);
	link_backup(fx);
	place_encode(fx);
	g_assert_cmpint(recover(fx, TRUE, TRUE, &reason), ==, AV1D_RECOVERY_ROLLED_FORWARD);
	assert_contents(fx->dir, "Movie.mkv", ENCODE);
	g_assert_cmpuint(inode_of(fx->dir, "Movie.mkv"), ==, fx->encode.ino);
	assert_contents(fx->dir, "Movie.orig.mp4", ORIGINAL);
	g_assert_cmpuint(inode_of(fx->dir, "Movie.orig.mp4"), ==, fx->source.ino);
	g_assert_cmpuint(stat_of(fx->dir, "Movie.orig.mp4").st_nlink, ==, 1);
	assert_listing(fx, fx->dir, "Movie.mkv,Movie.orig.mp4");
}

/* the old name holds a file the user put there while av1d was down */
static void
test_recover_after_rename_keeps_new_old_name(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *reason = NULL;
	guint64 users;

	prepare(fx, "Movie.mp4", TRUE);
	link_backup(fx);
	place_encode(fx);
	users = replace(fx->dir, fx->dir_fd, "Movie.mp4", USERS_FILE);

	g_assert_cmpint(recover(fx, TRUE, TRUE, &reason), ==, AV1D_RECOVERY_ROLLED_FORWARD);
	assert_contents(fx->dir, "Movie.mp4", USERS_FILE);
	g_assert_cmpuint(inode_of(fx->dir, "Movie.mp4"), ==, users);
	assert_contents(fx->dir, "Movie.mkv", ENCODE);
	assert_contents(fx->dir, "Movie.orig.mp4", ORIGINAL);
	assert_listing(fx, fx->dir, "Movie.mkv,Movie.mp4,Movie.orig.mp4");
}

static void
test_recover_after_rename_without_backup(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *reason = NULL;

	prepare(fx, "Movie.mp4", FALSE);
	link_backup(fx);
	place_encode(fx);
	g_assert_cmpint(recover(fx, TRUE, FALSE, &reason), ==, AV1D_RECOVERY_ROLLED_FORWARD);
	assert_contents(fx->dir, "Movie.mkv", ENCODE);
	assert_listing(fx, fx->dir, "Movie.mkv");
}

/* keep_backup = false, crash after the old name went and before the
 * backup did */
static void
test_recover_before_backup_removal(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *reason = NULL;

	prepare(fx, "Movie.mp4", FALSE);
	link_backup(fx);
	place_encode(fx);
	g_assert_cmpint(unlinkat(fx->dir_fd, "Movie.mp4", 0), ==, 0);
	g_assert_cmpint(recover(fx, TRUE, FALSE, &reason), ==, AV1D_RECOVERY_ROLLED_FORWARD);
	assert_contents(fx->dir, "Movie.mkv", ENCODE);
	assert_listing(fx, fx->dir, "Movie.mkv");
}

/* keep_backup = false, crash in step 6: the backup already moved into the
 * job's temp folder as the doomed name, not yet unlinked */
/* recovery killed after it moved the backup (the original's last name,
 * keep_backup false) into its own folder: that folder has the job's name,
 * so the next recovery finishes the swap and leaves nothing */
static void
test_recover_crash_during_recovery(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *reason = NULL;

	prepare(fx, "Movie.mp4", FALSE);
	link_backup(fx);
	place_encode(fx);
	g_assert_cmpint(unlinkat(fx->dir_fd, "Movie.mp4", 0), ==, 0);
	g_assert_cmpint(mkdirat(fx->dir_fd, ".av1d-7-Ab3dE9", 0700), ==, 0);
	g_assert_cmpint(
		renameat(fx->dir_fd, "Movie.orig.mp4", fx->dir_fd, ".av1d-7-Ab3dE9/doomed"), ==, 0);
	g_assert_cmpint(recover(fx, TRUE, FALSE, &reason), ==, AV1D_RECOVERY_ROLLED_FORWARD);
	assert_listing(fx, fx->dir, "Movie.mkv");
}

static void
test_recover_backup_in_temp(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *reason = NULL;

	prepare(fx, "Movie.mp4", FALSE);
	link_backup(fx);
	place_encode(fx);
	g_assert_cmpint(unlinkat(fx->dir_fd, "Movie.mp4", 0), ==, 0);
	g_assert_cmpint(renameat(fx->dir_fd, "Movie.orig.mp4", fx->temp_fd, "doomed"), ==, 0);
	g_assert_cmpint(recover(fx, TRUE, FALSE, &reason), ==, AV1D_RECOVERY_ROLLED_FORWARD);
	assert_contents(fx->dir, "Movie.mkv", ENCODE);
	/* the job's temp folder went, and the original's last name with it */
	assert_listing(fx, fx->dir, "Movie.mkv");
}

/* the swap finished but the journal still says swapping */
static void
test_recover_finished_swap(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *reason = NULL;
	Av1dFileIdentity out = {0};

	prepare(fx, "Movie.mkv", FALSE);
	g_assert_true(swap(fx, &out, NULL));
	g_assert_cmpint(recover(fx, TRUE, FALSE, &reason), ==, AV1D_RECOVERY_ROLLED_FORWARD);
	assert_contents(fx->dir, "Movie.mkv", ENCODE);
	g_assert_cmpuint(inode_of(fx->dir, "Movie.mkv"), ==, fx->encode.ino);
	assert_listing(fx, fx->dir, "Movie.mkv");
}

/* a user's Movie.mkv beside Movie.mp4 is not mistaken for the encode */
static void
test_recover_final_name_holds_users_file(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *reason = NULL;
	guint64 users;

	put(fx->dir, "Movie.mkv", USERS_FILE);
	users = inode_of(fx->dir, "Movie.mkv");
	prepare(fx, "Movie.mp4", TRUE);
	link_backup(fx);

	g_assert_cmpint(recover(fx, TRUE, TRUE, &reason), ==, AV1D_RECOVERY_SOURCE_KEPT);
	assert_contents(fx->dir, "Movie.mkv", USERS_FILE);
	g_assert_cmpuint(inode_of(fx->dir, "Movie.mkv"), ==, users);
	assert_contents(fx->dir, "Movie.mp4", ORIGINAL);
	g_assert_cmpuint(stat_of(fx->dir, "Movie.mp4").st_nlink, ==, 1);
	assert_listing(fx, fx->dir, "Movie.mkv,Movie.mp4");
}

/* a failed run removed its temp but died before recording that: nothing
 * was swapped, so nothing may be completed */
static void
test_recover_without_encode(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *reason = NULL;

	prepare(fx, "Movie.mp4", TRUE);
	g_assert_true(av1d_beneath_remove_temp_dir(fx->dir_fd, fx->temp_name, NULL));
	memset(&fx->encode, 0, sizeof fx->encode);
	g_assert_cmpint(recover(fx, TRUE, TRUE, &reason), ==, AV1D_RECOVERY_SOURCE_KEPT);
	assert_contents(fx->dir, "Movie.mp4", ORIGINAL);
	assert_listing(fx, fx->dir, "Movie.mp4");
}

/* the source's name holds another file, and no backup was made: the job
 * is over, the new file is a new one */
static void
test_recover_source_changed(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *reason = NULL;
	guint64 users;

	prepare(fx, "Movie.mkv", TRUE);
	users = replace(fx->dir, fx->dir_fd, "Movie.mkv", USERS_FILE);

	g_assert_cmpint(recover(fx, FALSE, TRUE, &reason), ==, AV1D_RECOVERY_SOURCE_CHANGED);
	g_assert_cmpstr(reason, ==, "interrupted; the file was replaced or removed meanwhile");
	assert_contents(fx->dir, "Movie.mkv", USERS_FILE);
	g_assert_cmpuint(inode_of(fx->dir, "Movie.mkv"), ==, users);
	assert_listing(fx, fx->dir, "Movie.mkv");
}

static void
test_recover_source_removed(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *reason = NULL;

	prepare(fx, "Movie.mp4", TRUE);
	g_assert_cmpint(unlinkat(fx->dir_fd, "Movie.mp4", 0), ==, 0);
	g_assert_cmpint(recover(fx, FALSE, TRUE, &reason), ==, AV1D_RECOVERY_SOURCE_CHANGED);
	assert_listing(fx, fx->dir, "");
}

/* the original survives only under the backup name: nothing is deleted */
static void
test_recover_original_as_backup(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *reason = NULL;
	guint64 users;

	prepare(fx, "Movie.mp4", TRUE);
	link_backup(fx);
	users = replace(fx->dir, fx->dir_fd, "Movie.mp4", USERS_FILE);

	g_assert_cmpint(recover(fx, FALSE, TRUE, &reason), ==, AV1D_RECOVERY_ORIGINAL_AS_BACKUP);
	g_assert_cmpstr(reason, ==,
			"interrupted; the source's name now holds another file, the original is "
			"kept as Movie.orig.mp4");
	assert_contents(fx->dir, "Movie.mp4", USERS_FILE);
	g_assert_cmpuint(inode_of(fx->dir, "Movie.mp4"), ==, users);
	assert_contents(fx->dir, "Movie.orig.mp4", ORIGINAL);
	g_assert_cmpuint(inode_of(fx->dir, "Movie.orig.mp4"), ==, fx->source.ino);
	assert_listing(fx, fx->dir, "Movie.mp4,Movie.orig.mp4");
}

/* exchanged, then the user put another file under the (same) final name
 * while av1d was down: not the encode, so not rolled forward, and both
 * the user's file and the original stay */
static void
test_recover_exchanged_then_replaced(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *reason = NULL;
	guint64 users;

	prepare(fx, "Movie.mkv", TRUE);
	link_backup(fx);
	place_encode(fx);
	users = replace(fx->dir, fx->dir_fd, "Movie.mkv", USERS_FILE);

	g_assert_cmpint(recover(fx, TRUE, TRUE, &reason), ==, AV1D_RECOVERY_ORIGINAL_AS_BACKUP);
	assert_contents(fx->dir, "Movie.mkv", USERS_FILE);
	g_assert_cmpuint(inode_of(fx->dir, "Movie.mkv"), ==, users);
	assert_contents(fx->dir, "Movie.orig.mkv", ORIGINAL);
	g_assert_cmpuint(inode_of(fx->dir, "Movie.orig.mkv"), ==, fx->source.ino);
	assert_listing(fx, fx->dir, "Movie.mkv,Movie.orig.mkv");
}

int
main(int argc, char **argv)
{
	static const AfterLink link_mkv = {"Movie.mkv", FALSE};
	static const AfterLink link_mp4 = {"Movie.mp4", FALSE};
	static const AfterLink link_mkv_swapping = {"Movie.mkv", TRUE};
	static const AfterLink link_mp4_swapping = {"Movie.mp4", TRUE};

	g_test_init(&argc, &argv, NULL);

#define ADD(path, func) g_test_add(path, Fixture, NULL, fixture_setup, func, fixture_teardown)
#define ADD_DATA(path, data, func)                                                                 \
	g_test_add(path, Fixture, data, fixture_setup, func, fixture_teardown)
	g_test_add_func("/av1d/swap/final-name-is-mkv-and-backup-keeps-the-extension", test_names);
	ADD("/av1d/swap/same-name-is-exchanged-and-the-original-kept-as-backup",
	    test_same_name_is_exchanged);
	ADD("/av1d/swap/new-name-takes-the-encode-and-the-old-name-goes", test_new_name);
	ADD("/av1d/swap/new-file-takes-the-originals-mode-mtime-and-owner",
	    test_carries_mode_mtime_and_owner);
	ADD_DATA("/av1d/swap/keep-backup-false-removes-the-backup/same-name", "Movie.mkv",
		 test_keep_backup_false);
	ADD_DATA("/av1d/swap/keep-backup-false-removes-the-backup/new-name", "Movie.mp4",
		 test_keep_backup_false);
	ADD("/av1d/swap/new-final-name-is-never-replaced",
	    test_existing_final_name_is_never_replaced);
	ADD("/av1d/swap/taken-backup-name-is-refused", test_taken_backup_name_is_refused);
	ADD("/av1d/swap/source-replaced-by-another-inode-is-refused",
	    test_replaced_source_is_refused);
	ADD("/av1d/swap/source-modified-in-place-is-refused",
	    test_source_modified_in_place_is_refused);
	ADD("/av1d/swap/vanished-source-is-refused", test_vanished_source_is_refused);
	ADD("/av1d/swap/hard-linked-source-is-refused", test_hard_linked_source_is_refused);
	ADD("/av1d/swap/av1skip-marker-file-or-folder-is-refused", test_skip_marker_is_refused);
	ADD("/av1d/swap/folder-replaced-by-a-symlink-is-refused",
	    test_folder_replaced_by_symlink_is_refused);
	ADD("/av1d/swap/renamed-folder-is-refused", test_renamed_folder_is_refused);
	ADD("/av1d/swap/encode-other-than-the-verified-one-is-refused",
	    test_other_encode_is_refused);
	ADD("/av1d/swap/request-owns-its-descriptors", test_request_owns_descriptors);
	ADD("/av1d/swap/request-without-its-folder-fails", test_without_folder_fails);
	ADD("/av1d/swap/async-runs-on-a-copy-of-the-request", test_async);
	ADD("/av1d/swap/async-reports-a-refusal", test_async_failure);
	ADD("/av1d/swap/recover/while-encoding-keeps-the-source-and-removes-the-jobs-temp",
	    test_recover_encoding);
	ADD_DATA("/av1d/swap/recover/after-link-rolls-back/same-name", &link_mkv,
		 test_recover_after_link);
	ADD_DATA("/av1d/swap/recover/after-link-rolls-back/new-name", &link_mp4,
		 test_recover_after_link);
	ADD_DATA("/av1d/swap/recover/after-link-rolls-back/same-name-swapping", &link_mkv_swapping,
		 test_recover_after_link);
	ADD_DATA("/av1d/swap/recover/after-link-rolls-back/new-name-swapping", &link_mp4_swapping,
		 test_recover_after_link);
	ADD("/av1d/swap/recover/after-exchange-rolls-forward", test_recover_after_exchange);
	ADD("/av1d/swap/recover/after-exchange-without-backup-rolls-forward-and-drops-it",
	    test_recover_after_exchange_without_backup);
	ADD("/av1d/swap/recover/after-rename-rolls-forward-and-removes-the-old-name",
	    test_recover_after_rename);
	ADD("/av1d/swap/recover/after-rename-keeps-a-new-file-under-the-old-name",
	    test_recover_after_rename_keeps_new_old_name);
	ADD("/av1d/swap/recover/after-rename-without-backup-rolls-forward-and-drops-it",
	    test_recover_after_rename_without_backup);
	ADD("/av1d/swap/recover/before-backup-removal-rolls-forward",
	    test_recover_before_backup_removal);
	ADD("/av1d/swap/recover/backup-caught-in-the-jobs-temp-is-removed",
	    test_recover_backup_in_temp);
	ADD("/av1d/swap/recover/finished-swap-rolls-forward", test_recover_finished_swap);
	ADD("/av1d/swap/recover/a-crash-during-recovery-leaves-nothing-behind",
	    test_recover_crash_during_recovery);
	ADD("/av1d/swap/recover/users-file-under-the-final-name-is-not-rolled-forward",
	    test_recover_final_name_holds_users_file);
	ADD("/av1d/swap/recover/without-a-recorded-encode-keeps-the-source",
	    test_recover_without_encode);
	ADD("/av1d/swap/recover/source-replaced-meanwhile-is-a-changed-source",
	    test_recover_source_changed);
	ADD("/av1d/swap/recover/source-removed-meanwhile-is-a-changed-source",
	    test_recover_source_removed);
	ADD("/av1d/swap/recover/original-only-as-backup-deletes-nothing",
	    test_recover_original_as_backup);
	ADD("/av1d/swap/recover/exchanged-then-replaced-keeps-both-files",
	    test_recover_exchanged_then_replaced);
	return g_test_run();
}
