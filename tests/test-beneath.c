/*
 * Files inside a library root reached without a symlink: the roots' prefix
 * rule, folders opened beneath a root, durable sidecar writes that never
 * replace anything but a regular file, and the jobs' private temp folders.
 * Every folder and file is real, and each result is checked by inode, mode,
 * bytes and the exact names left behind.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "av1d-beneath.h"
#include "av1d-error.h"
#include "av1d-sidecar.h"
#include "av1d-test-util.h"

/* how a test hands its folder to its own g_test_trap_subprocess() child */
#define DIR_ENV "AV1D_TEST_BENEATH_DIR"

typedef struct {
	gchar *tmp;
	gchar *root;	/* the realpath of tmp: roots are compared as strings */
	gchar *outside; /* a folder outside the root, for symlinks to lead to */
	int root_fd;
} Fixture;

static gchar *
make_real_tmp(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *tmp = g_dir_make_tmp("av1d-test-beneath-XXXXXX", &error);
	char *real;
	gchar *copy;

	g_assert_no_error(error);
	real = realpath(tmp, NULL);
	g_assert_nonnull(real);
	copy = g_strdup(real);
	free(real);
	return copy;
}

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	fx->tmp = make_real_tmp();
	fx->root = g_build_filename(fx->tmp, "library", NULL);
	fx->outside = g_build_filename(fx->tmp, "outside", NULL);
	g_assert_cmpint(g_mkdir(fx->root, 0755), ==, 0);
	g_assert_cmpint(g_mkdir(fx->outside, 0755), ==, 0);
	fx->root_fd = open(fx->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	g_assert_cmpint(fx->root_fd, >=, 0);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	close(fx->root_fd);
	av1d_test_rm_rf(fx->tmp);
	g_free(fx->tmp);
	g_free(fx->root);
	g_free(fx->outside);
}

/* ---- helpers ---- */

static gchar *
path_in(const gchar *dir, const gchar *name)
{
	return g_build_filename(dir, name, NULL);
}

static void
put(const gchar *dir, const gchar *name, const gchar *contents)
{
	g_autofree gchar *path = path_in(dir, name);
	g_autoptr(GError) error = NULL;

	g_file_set_contents(path, contents, -1, &error);
	g_assert_no_error(error);
}

static void
make_dirs(const gchar *dir, const gchar *relative)
{
	g_autofree gchar *path = path_in(dir, relative);

	g_assert_cmpint(g_mkdir_with_parents(path, 0755), ==, 0);
}

static void
make_symlink(const gchar *target, const gchar *dir, const gchar *name)
{
	g_autofree gchar *path = path_in(dir, name);

	g_assert_cmpint(symlink(target, path), ==, 0);
}

static gchar *
contents(const gchar *dir, const gchar *name)
{
	g_autofree gchar *path = path_in(dir, name);
	gchar *data = NULL;
	struct stat st;

	if (lstat(path, &st) != 0)
		return NULL;
	g_assert_true(S_ISREG(st.st_mode));
	g_assert_true(g_file_get_contents(path, &data, NULL, NULL));
	return data;
}

#define assert_contents(dir, name, expected)                                                       \
	G_STMT_START                                                                               \
	{                                                                                          \
		g_autofree gchar *_data = contents((dir), (name));                                 \
		g_assert_cmpstr(_data, ==, (expected));                                            \
	}                                                                                          \
	G_STMT_END

#define assert_listing(dir, expected)                                                              \
	G_STMT_START                                                                               \
	{                                                                                          \
		g_autofree gchar *_names = av1d_test_list_dir(dir);                                \
		g_assert_cmpstr(_names, ==, (expected));                                           \
	}                                                                                          \
	G_STMT_END

static struct stat
lstat_of(const gchar *dir, const gchar *name)
{
	g_autofree gchar *path = path_in(dir, name);
	struct stat st;

	g_assert_cmpint(lstat(path, &st), ==, 0);
	return st;
}

static gboolean
exists(const gchar *dir, const gchar *name)
{
	g_autofree gchar *path = path_in(dir, name);
	struct stat st;

	return lstat(path, &st) == 0;
}

static gchar *
link_target(const gchar *dir, const gchar *name)
{
	g_autofree gchar *path = path_in(dir, name);

	return g_file_read_link(path, NULL);
}

/* the descriptor leads to the folder at @path: same device and inode */
static void
assert_fd_is(int fd, const gchar *path)
{
	struct stat held, st;

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(fstat(fd, &held), ==, 0);
	g_assert_cmpint(stat(path, &st), ==, 0);
	g_assert_true(S_ISDIR(held.st_mode));
	g_assert_cmpuint(held.st_dev, ==, st.st_dev);
	g_assert_cmpuint(held.st_ino, ==, st.st_ino);
	g_assert_cmpint(fcntl(fd, F_GETFD) & FD_CLOEXEC, ==, FD_CLOEXEC);
}

static void
assert_open_dir_refused(const gchar *root, const gchar *dir, gint code)
{
	g_autoptr(GError) error = NULL;
	int fd = av1d_beneath_open_dir(root, dir, &error);

	if (fd >= 0)
		close(fd);
	g_assert_cmpint(fd, ==, -1);
	g_assert_error(error, AV1D_ERROR, code);
	g_assert_nonnull(strstr(error->message, dir));
}

/* ---- av1d_beneath_find_root ---- */

static void
test_find_root_whole_components(void)
{
	const gchar *const roots[] = {"/srv/tv", "/media/a", NULL};

	g_assert_true(av1d_beneath_find_root(roots, "/media/a/Movie.mkv") == roots[1]);
	g_assert_true(av1d_beneath_find_root(roots, "/media/a/deep/er/Movie.mkv") == roots[1]);
	g_assert_true(av1d_beneath_find_root(roots, "/srv/tv/Show/S01E01.mkv") == roots[0]);
	g_assert_null(av1d_beneath_find_root(roots, "/media/ab"));
	g_assert_null(av1d_beneath_find_root(roots, "/media/ab/Movie.mkv"));
	g_assert_null(av1d_beneath_find_root(roots, "/media/a.mkv"));
	g_assert_null(av1d_beneath_find_root(roots, "/media"));
	g_assert_null(av1d_beneath_find_root(roots, "/srv/tvshows/x.mkv"));
	g_assert_null(av1d_beneath_find_root(roots, "/elsewhere/Movie.mkv"));
	g_assert_null(av1d_beneath_find_root(NULL, "/media/a/Movie.mkv"));
}

static void
test_find_root_holds_itself(void)
{
	const gchar *const roots[] = {"/media/a", NULL};
	const gchar *const slashed[] = {"/media/a/", NULL};

	g_assert_true(av1d_beneath_find_root(roots, "/media/a") == roots[0]);
	g_assert_true(av1d_beneath_find_root(roots, "/media/a/") == roots[0]);
	/* a root written with a trailing slash: the same rule */
	g_assert_true(av1d_beneath_find_root(slashed, "/media/a") == slashed[0]);
	g_assert_true(av1d_beneath_find_root(slashed, "/media/a/x.mkv") == slashed[0]);
	g_assert_null(av1d_beneath_find_root(slashed, "/media/ab"));
}

static void
test_find_root_slash_holds_all(void)
{
	const gchar *const roots[] = {"/", NULL};

	g_assert_true(av1d_beneath_find_root(roots, "/") == roots[0]);
	g_assert_true(av1d_beneath_find_root(roots, "/Movie.mkv") == roots[0]);
	g_assert_true(av1d_beneath_find_root(roots, "/media/a/b/Movie.mkv") == roots[0]);
}

/* ---- av1d_beneath_open_dir ---- */

static void
test_open_dir_opens_the_folder(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *deep = path_in(fx->root, "Films/2020");
	g_autofree gchar *slashed = g_strconcat(fx->root, "/", NULL);
	int fd;

	make_dirs(fx->root, "Films/2020");
	fd = av1d_beneath_open_dir(fx->root, deep, &error);
	g_assert_no_error(error);
	assert_fd_is(fd, deep);
	close(fd);

	/* the root itself, also as a root written with a trailing slash */
	fd = av1d_beneath_open_dir(fx->root, fx->root, &error);
	g_assert_no_error(error);
	assert_fd_is(fd, fx->root);
	close(fd);
	fd = av1d_beneath_open_dir(slashed, fx->root, &error);
	g_assert_no_error(error);
	assert_fd_is(fd, fx->root);
	close(fd);
	fd = av1d_beneath_open_dir(slashed, deep, &error);
	g_assert_no_error(error);
	assert_fd_is(fd, deep);
	close(fd);
}

/* the root is trusted as configured, even when it is a symlink */
static void
test_open_dir_root_may_be_a_symlink(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *alias = path_in(fx->tmp, "alias");
	g_autofree gchar *films = path_in(alias, "Films");
	g_autofree gchar *real = path_in(fx->root, "Films");
	int fd;

	make_dirs(fx->root, "Films");
	make_symlink(fx->root, fx->tmp, "alias");
	fd = av1d_beneath_open_dir(alias, films, &error);
	g_assert_no_error(error);
	assert_fd_is(fd, real);
	close(fd);
}

/* a symlink as any folder component below the root, leading inside the
 * library or out of it */
static void
test_open_dir_refuses_symlinks(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *real = path_in(fx->root, "real/a/b");
	g_autofree gchar *first = path_in(fx->root, "link/a/b");
	g_autofree gchar *middle = path_in(fx->root, "real/alink/b");
	g_autofree gchar *last = path_in(fx->root, "real/a/blink");
	g_autofree gchar *out = path_in(fx->root, "out");
	g_autofree gchar *out_below = path_in(fx->root, "out/sub");
	g_autofree gchar *real_a = path_in(fx->root, "real");
	g_autofree gchar *real_ab = path_in(fx->root, "real/a");
	g_autoptr(GError) error = NULL;
	int fd;

	make_dirs(fx->root, "real/a/b");
	make_dirs(fx->outside, "sub");
	make_symlink("real", fx->root, "link");
	make_symlink("a", real_a, "alink");
	make_symlink("b", real_ab, "blink");
	make_symlink(fx->outside, fx->root, "out");

	assert_open_dir_refused(fx->root, first, AV1D_ERROR_OUTSIDE_LIBRARY);
	assert_open_dir_refused(fx->root, middle, AV1D_ERROR_OUTSIDE_LIBRARY);
	assert_open_dir_refused(fx->root, last, AV1D_ERROR_OUTSIDE_LIBRARY);
	assert_open_dir_refused(fx->root, out, AV1D_ERROR_OUTSIDE_LIBRARY);
	assert_open_dir_refused(fx->root, out_below, AV1D_ERROR_OUTSIDE_LIBRARY);

	/* and the real path to the same folder is fine */
	fd = av1d_beneath_open_dir(fx->root, real, &error);
	g_assert_no_error(error);
	assert_fd_is(fd, real);
	close(fd);
}

static void
test_open_dir_refuses_dot_dot(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *up = path_in(fx->root, "..");
	g_autofree gchar *sideways = path_in(fx->root, "../outside");
	g_autofree gchar *deep = path_in(fx->root, "Films/../../outside");

	make_dirs(fx->root, "Films");
	assert_open_dir_refused(fx->root, up, AV1D_ERROR_OUTSIDE_LIBRARY);
	assert_open_dir_refused(fx->root, sideways, AV1D_ERROR_OUTSIDE_LIBRARY);
	assert_open_dir_refused(fx->root, deep, AV1D_ERROR_OUTSIDE_LIBRARY);
}

static void
test_open_dir_refuses_outside_paths(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *sibling = g_strconcat(fx->root, "2", NULL);

	g_assert_cmpint(g_mkdir(sibling, 0755), ==, 0);
	assert_open_dir_refused(fx->root, sibling, AV1D_ERROR_OUTSIDE_LIBRARY);
	assert_open_dir_refused(fx->root, fx->outside, AV1D_ERROR_OUTSIDE_LIBRARY);
	assert_open_dir_refused(fx->root, "/", AV1D_ERROR_OUTSIDE_LIBRARY);
}

static void
test_open_dir_missing_is_not_found(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *missing = path_in(fx->root, "Films/Missing");

	make_dirs(fx->root, "Films");
	assert_open_dir_refused(fx->root, missing, AV1D_ERROR_NOT_FOUND);
}

static void
test_open_dir_refuses_a_file(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *file = path_in(fx->root, "Movie.mkv");
	g_autofree gchar *under = path_in(fx->root, "Movie.mkv/sub");

	put(fx->root, "Movie.mkv", "ORIGINAL");
	assert_open_dir_refused(fx->root, file, AV1D_ERROR_OUTSIDE_LIBRARY);
	assert_open_dir_refused(fx->root, under, AV1D_ERROR_OUTSIDE_LIBRARY);
}

/* ---- av1d_beneath_open_parent ---- */

static void
test_open_parent(Fixture *fx, gconstpointer data)
{
	const gchar *const roots[] = {fx->outside, fx->root, NULL};
	g_autofree gchar *films = path_in(fx->root, "Films");
	g_autofree gchar *movie = path_in(films, "Movie.mkv");
	g_autofree gchar *top = path_in(fx->root, "Top.mkv");
	g_autofree gchar *name = NULL;
	g_autofree gchar *top_name = NULL;
	g_autoptr(GError) error = NULL;
	int fd;

	make_dirs(fx->root, "Films");
	put(films, "Movie.mkv", "ORIGINAL");
	fd = av1d_beneath_open_parent(roots, movie, &name, &error);
	g_assert_no_error(error);
	assert_fd_is(fd, films);
	g_assert_cmpstr(name, ==, "Movie.mkv");
	close(fd);

	/* a file right in the root, and one not there (yet): only names */
	fd = av1d_beneath_open_parent(roots, top, &top_name, &error);
	g_assert_no_error(error);
	assert_fd_is(fd, fx->root);
	g_assert_cmpstr(top_name, ==, "Top.mkv");
	close(fd);

	fd = av1d_beneath_open_parent(roots, movie, NULL, &error);
	g_assert_no_error(error);
	assert_fd_is(fd, films);
	close(fd);
}

static void
test_open_parent_refuses(Fixture *fx, gconstpointer data)
{
	const gchar *const roots[] = {fx->root, NULL};
	g_autofree gchar *elsewhere = path_in(fx->outside, "Movie.mkv");
	g_autofree gchar *dot_dot = path_in(fx->root, "Films/..");
	g_autofree gchar *dot = path_in(fx->root, "Films/.");
	g_autofree gchar *linked = path_in(fx->root, "link/Movie.mkv");
	g_autofree gchar *missing = path_in(fx->root, "Missing/Movie.mkv");
	const struct {
		const gchar *path;
		gint code;
	} cases[] = {
		{elsewhere, AV1D_ERROR_OUTSIDE_LIBRARY},
		{fx->root, AV1D_ERROR_OUTSIDE_LIBRARY},
		{dot_dot, AV1D_ERROR_OUTSIDE_LIBRARY},
		{dot, AV1D_ERROR_OUTSIDE_LIBRARY},
		{linked, AV1D_ERROR_OUTSIDE_LIBRARY},
		{missing, AV1D_ERROR_NOT_FOUND},
	};

	make_dirs(fx->root, "Films");
	put(fx->outside, "Movie.mkv", "OUTSIDE");
	make_symlink(fx->outside, fx->root, "link");
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		gchar *name = NULL;
		int fd = av1d_beneath_open_parent(roots, cases[i].path, &name, &error);

		if (fd >= 0)
			close(fd);
		g_assert_cmpint(fd, ==, -1);
		g_assert_null(name);
		g_assert_error(error, AV1D_ERROR, cases[i].code);
	}
}

/* ---- av1d_beneath_identity, av1d_beneath_is_file ---- */

static void
test_identity(Fixture *fx, gconstpointer data)
{
	struct timespec times[2] = {{1000000000, 0}, {1234567890, 999}};
	g_autofree gchar *path = path_in(fx->root, "Movie.mkv");
	g_autoptr(GError) error = NULL;
	Av1dFileIdentity identity = {0}, from_path = {0};
	struct stat st;

	put(fx->root, "Movie.mkv", "ORIGINAL");
	g_assert_cmpint(utimensat(AT_FDCWD, path, times, 0), ==, 0);
	st = lstat_of(fx->root, "Movie.mkv");
	g_assert_true(av1d_beneath_identity(fx->root_fd, "Movie.mkv", &identity, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(identity.dev, ==, (guint64)st.st_dev);
	g_assert_cmpuint(identity.ino, ==, (guint64)st.st_ino);
	g_assert_cmpuint(identity.size, ==, 8);
	g_assert_cmpint(identity.mtime_ns, ==, G_GINT64_CONSTANT(1234567890000000999));
	g_assert_true(av1d_file_identity_from_path(path, &from_path, NULL));
	g_assert_true(av1d_file_identity_equal(&identity, &from_path));
	g_assert_true(av1d_beneath_is_file(fx->root_fd, "Movie.mkv", &identity));

	/* another mtime is another file */
	times[1].tv_nsec = 1000;
	g_assert_cmpint(utimensat(AT_FDCWD, path, times, 0), ==, 0);
	g_assert_false(av1d_beneath_is_file(fx->root_fd, "Movie.mkv", &identity));
}

static void
test_identity_refuses(Fixture *fx, gconstpointer data)
{
	Av1dFileIdentity identity = {0};
	g_autoptr(GError) link_error = NULL;
	g_autoptr(GError) dir_error = NULL;
	g_autoptr(GError) missing_error = NULL;

	put(fx->outside, "target.mkv", "OUTSIDE");
	make_symlink("../outside/target.mkv", fx->root, "link.mkv");
	make_dirs(fx->root, "Films");

	g_assert_false(av1d_beneath_identity(fx->root_fd, "link.mkv", &identity, &link_error));
	g_assert_error(link_error, AV1D_ERROR, AV1D_ERROR_BAD_STATE);
	g_assert_false(av1d_beneath_identity(fx->root_fd, "Films", &identity, &dir_error));
	g_assert_error(dir_error, AV1D_ERROR, AV1D_ERROR_BAD_STATE);
	g_assert_false(
		av1d_beneath_identity(fx->root_fd, "missing.mkv", &identity, &missing_error));
	g_assert_error(missing_error, AV1D_ERROR, AV1D_ERROR_NOT_FOUND);
}

/* ---- av1d_beneath_write_file ---- */

static void
test_write_file(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	struct stat st;

	g_assert_true(av1d_beneath_write_file(fx->root_fd, "Movie.mkv.why.txt", "why\n", 4, 0640,
					      &error));
	g_assert_no_error(error);
	assert_contents(fx->root, "Movie.mkv.why.txt", "why\n");
	st = lstat_of(fx->root, "Movie.mkv.why.txt");
	g_assert_cmpint(st.st_mode & 07777, ==, 0640);
	g_assert_cmpuint(st.st_nlink, ==, 1);

	/* an empty one, with a mode the umask would have cut */
	g_assert_true(av1d_beneath_write_file(fx->root_fd, ".av1skip", "", 0, 0666, &error));
	g_assert_no_error(error);
	assert_contents(fx->root, ".av1skip", "");
	g_assert_cmpint(lstat_of(fx->root, ".av1skip").st_mode & 07777, ==, 0666);
	/* no temp file is left behind */
	assert_listing(fx->root, ".av1skip,Movie.mkv.why.txt");
}

/* a sidecar of a source whose name is near NAME_MAX (80 CJK characters are
 * 240 bytes) still gets written: its temp name does not grow with it */
static void
test_write_file_long_name(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *stem = g_strnfill(236, 'a');
	g_autofree gchar *why = g_strconcat(stem, ".mkv.why.txt", NULL);

	g_assert_cmpuint(strlen(why), ==, 248);
	g_assert_true(av1d_beneath_write_file(fx->root_fd, why, "why", 3, 0644, &error));
	g_assert_no_error(error);
	assert_contents(fx->root, why, "why");
	assert_listing(fx->root, why);
}

static void
test_write_file_replaces_a_regular_file(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	guint64 old;

	put(fx->root, "Movie.mkv.why.txt", "an old and longer explanation");
	old = (guint64)lstat_of(fx->root, "Movie.mkv.why.txt").st_ino;
	g_assert_true(
		av1d_beneath_write_file(fx->root_fd, "Movie.mkv.why.txt", "new", 3, 0644, &error));
	g_assert_no_error(error);
	assert_contents(fx->root, "Movie.mkv.why.txt", "new");
	/* renamed over, never written in place */
	g_assert_cmpuint((guint64)lstat_of(fx->root, "Movie.mkv.why.txt").st_ino, !=, old);
	g_assert_cmpint(lstat_of(fx->root, "Movie.mkv.why.txt").st_mode & 07777, ==, 0644);
	assert_listing(fx->root, "Movie.mkv.why.txt");
}

static void
test_write_file_refuses_a_symlink(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *target = path_in(fx->outside, "victim");
	g_autofree gchar *dangling = path_in(fx->outside, "created");
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) dangling_error = NULL;
	g_autofree gchar *still = NULL;
	g_autofree gchar *still_dangling = NULL;

	put(fx->outside, "victim", "NOT YOURS");
	make_symlink(target, fx->root, "Movie.mkv.why.txt");
	g_assert_false(
		av1d_beneath_write_file(fx->root_fd, "Movie.mkv.why.txt", "why", 3, 0644, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE);
	g_assert_nonnull(strstr(error->message, "Movie.mkv.why.txt"));
	still = link_target(fx->root, "Movie.mkv.why.txt");
	g_assert_cmpstr(still, ==, target);
	assert_contents(fx->outside, "victim", "NOT YOURS");
	g_assert_cmpint(lstat_of(fx->outside, "victim").st_mode & 07777, ==, 0644);

	/* a dangling one: nothing gets created where it points */
	make_symlink(dangling, fx->root, ".av1skip");
	g_assert_false(
		av1d_beneath_write_file(fx->root_fd, ".av1skip", "", 0, 0644, &dangling_error));
	g_assert_error(dangling_error, AV1D_ERROR, AV1D_ERROR_BAD_STATE);
	still_dangling = link_target(fx->root, ".av1skip");
	g_assert_cmpstr(still_dangling, ==, dangling);
	g_assert_false(exists(fx->outside, "created"));

	assert_listing(fx->root, ".av1skip,Movie.mkv.why.txt");
	assert_listing(fx->outside, "victim");
}

static void
test_write_file_refuses_a_folder(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *folder = path_in(fx->root, ".av1skip");
	g_autoptr(GError) error = NULL;

	make_dirs(fx->root, ".av1skip");
	put(folder, "inside", "KEEP");
	g_assert_false(av1d_beneath_write_file(fx->root_fd, ".av1skip", "", 0, 0644, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE);
	g_assert_true(S_ISDIR(lstat_of(fx->root, ".av1skip").st_mode));
	assert_contents(folder, "inside", "KEEP");
	assert_listing(fx->root, ".av1skip");
}

/* ---- temp folders ---- */

static void
test_make_temp_dir(Fixture *fx, gconstpointer data)
{
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	mode_t old_umask = umask(0);

	for (guint i = 0; i < 20; i++) {
		g_autoptr(GError) error = NULL;
		g_autofree gchar *path = NULL;
		gchar *name = NULL;
		int fd = av1d_beneath_make_temp_dir(fx->root_fd, ".av1d-7-", &name, &error);
		struct stat st;

		g_assert_no_error(error);
		g_assert_nonnull(name);
		g_assert_true(g_str_has_prefix(name, ".av1d-7-"));
		g_assert_cmpuint(strlen(name), ==, strlen(".av1d-7-") + 6);
		for (const gchar *c = name + strlen(".av1d-7-"); *c != '\0'; c++)
			g_assert_true(g_ascii_isalnum(*c));
		path = path_in(fx->root, name);
		assert_fd_is(fd, path);
		close(fd);
		st = lstat_of(fx->root, name);
		g_assert_true(S_ISDIR(st.st_mode));
		/* private even with an empty umask */
		g_assert_cmpint(st.st_mode & 07777, ==, 0700);
		g_assert_true(g_hash_table_add(seen, name));
	}
	umask(old_umask);
	g_assert_cmpuint(g_hash_table_size(seen), ==, 20);
}

/* the folder is gone from under the descriptor */
static void
test_make_temp_dir_in_a_removed_folder(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *gone = path_in(fx->root, "Gone");
	g_autoptr(GError) error = NULL;
	gchar *name = NULL;
	int dir_fd, fd;

	make_dirs(fx->root, "Gone");
	dir_fd = open(gone, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	g_assert_cmpint(dir_fd, >=, 0);
	g_assert_cmpint(g_rmdir(gone), ==, 0);
	fd = av1d_beneath_make_temp_dir(dir_fd, ".av1d-7-", &name, &error);
	close(dir_fd);
	g_assert_cmpint(fd, ==, -1);
	g_assert_null(name);
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_NOT_FOUND);
}

static gchar *
make_temp(Fixture *fx, const gchar *prefix)
{
	g_autoptr(GError) error = NULL;
	gchar *name = NULL;
	int fd = av1d_beneath_make_temp_dir(fx->root_fd, prefix, &name, &error);

	g_assert_no_error(error);
	g_assert_cmpint(fd, >=, 0);
	close(fd);
	return name;
}

static void
test_remove_temp_dir(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *name = make_temp(fx, ".av1d-7-");
	g_autofree gchar *path = path_in(fx->root, name);
	g_autoptr(GError) error = NULL;

	put(path, "out.mkv", "ENCODE");
	put(path, "ffmpeg2pass-0.log", "LOG");
	make_symlink(fx->outside, path, "doomed");
	put(fx->root, "Movie.mkv", "ORIGINAL");
	g_assert_true(av1d_beneath_remove_temp_dir(fx->root_fd, name, &error));
	g_assert_no_error(error);
	assert_listing(fx->root, "Movie.mkv");
	/* a symlink inside was removed, not followed */
	g_assert_true(g_file_test(fx->outside, G_FILE_TEST_IS_DIR));
}

static void
test_remove_temp_dir_refuses_a_symlink(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *target = NULL;

	put(fx->outside, "precious.mkv", "PRECIOUS");
	make_symlink(fx->outside, fx->root, ".av1d-7-abcdef");
	g_assert_false(av1d_beneath_remove_temp_dir(fx->root_fd, ".av1d-7-abcdef", &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_FAILED);
	g_assert_nonnull(strstr(error->message, ".av1d-7-abcdef"));
	target = link_target(fx->root, ".av1d-7-abcdef");
	g_assert_cmpstr(target, ==, fx->outside);
	assert_contents(fx->outside, "precious.mkv", "PRECIOUS");
	assert_listing(fx->outside, "precious.mkv");
}

static void
test_remove_temp_dir_missing_is_success(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	g_assert_true(av1d_beneath_remove_temp_dir(fx->root_fd, ".av1d-7-abcdef", &error));
	g_assert_no_error(error);
	assert_listing(fx->root, "");
}

static void
test_remove_temp_dir_leaves_sub_folders(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *name = make_temp(fx, ".av1d-7-");
	g_autofree gchar *path = path_in(fx->root, name);
	g_autoptr(GError) error = NULL;

	put(path, "out.mkv", "ENCODE");
	make_dirs(path, "sub");
	g_assert_false(av1d_beneath_remove_temp_dir(fx->root_fd, name, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_FAILED);
	g_assert_nonnull(strstr(error->message, "sub"));
	/* the files went, the folder stays for a human to look at */
	assert_listing(path, "sub");
	g_assert_true(exists(fx->root, name));
}

static void
test_remove_temp_dir_refuses_another_users(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = path_in(fx->root, ".av1d-7-abcdef");
	g_autoptr(GError) error = NULL;

	if (geteuid() != 0) {
		g_test_skip("needs root to give the folder to another user");
		return;
	}
	make_dirs(fx->root, ".av1d-7-abcdef");
	put(path, "out.mkv", "SOMEONE ELSE'S");
	g_assert_cmpint(chown(path, 1234, 1234), ==, 0);
	g_assert_false(av1d_beneath_remove_temp_dir(fx->root_fd, ".av1d-7-abcdef", &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE);
	assert_contents(path, "out.mkv", "SOMEONE ELSE'S");
}

static void
test_remove_job_temp_dirs(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *first = make_temp(fx, ".av1d-7-");
	g_autofree gchar *second = make_temp(fx, ".av1d-7-");
	g_autofree gchar *first_path = path_in(fx->root, first);
	const gchar *const kept[] = {
		".av1d-70-abcdef", /* job 70 */
		".av1d-8-abcdef",  /* job 8 */
		".av1d-7-abcdefg", /* one character too many */
		".av1d-7-abcde",   /* one too few */
		".av1d-7-",	   /* none */
		".av1d-recover-abcdef",
		"x.av1d-7-abcdef",
	};

	put(first_path, "out.mkv", "ENCODE");
	for (gsize i = 0; i < G_N_ELEMENTS(kept); i++) {
		g_autofree gchar *path = path_in(fx->root, kept[i]);

		make_dirs(fx->root, kept[i]);
		put(path, "out.mkv", "KEEP");
	}
	/* a file with a temp folder's shape is not one */
	put(fx->root, "Movie.mkv", "ORIGINAL");

	g_assert_cmpuint(av1d_beneath_remove_job_temp_dirs(fx->root_fd, 7), ==, 2);
	g_assert_false(exists(fx->root, first));
	g_assert_false(exists(fx->root, second));
	assert_listing(fx->root, ".av1d-7-,.av1d-7-abcde,.av1d-7-abcdefg,.av1d-70-abcdef,"
				 ".av1d-8-abcdef,.av1d-recover-abcdef,Movie.mkv,x.av1d-7-abcdef");
	for (gsize i = 0; i < G_N_ELEMENTS(kept); i++) {
		g_autofree gchar *path = path_in(fx->root, kept[i]);

		assert_contents(path, "out.mkv", "KEEP");
	}
	/* nothing left to remove */
	g_assert_cmpuint(av1d_beneath_remove_job_temp_dirs(fx->root_fd, 7), ==, 0);
}

/* the child: a symlink in a temp folder's shape is warned about (G_DEBUG
 * makes warnings fatal; g_test_expect_message() does not see structured
 * logs) and not followed */
static void
test_remove_job_temp_dirs_never_follows_a_symlink(void)
{
	g_autofree gchar *tmp = NULL;
	g_autofree gchar *root = NULL;
	g_autofree gchar *outside = NULL;
	g_autofree gchar *target = NULL;
	int fd;

	if (g_test_subprocess()) {
		g_log_set_always_fatal(G_LOG_FATAL_MASK);
		fd = open(g_getenv(DIR_ENV), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		g_assert_cmpint(fd, >=, 0);
		g_assert_cmpuint(av1d_beneath_remove_job_temp_dirs(fd, 7), ==, 0);
		close(fd);
		return;
	}
	tmp = make_real_tmp();
	root = path_in(tmp, "library");
	outside = path_in(tmp, "outside");
	make_dirs(tmp, "library");
	make_dirs(tmp, "outside");
	put(outside, "precious.mkv", "PRECIOUS");
	make_symlink(outside, root, ".av1d-7-abcdef");

	g_setenv(DIR_ENV, root, TRUE);
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_passed();
	g_test_trap_assert_stderr("*job 7: cannot open temp folder .av1d-7-abcdef*");
	target = link_target(root, ".av1d-7-abcdef");
	g_assert_cmpstr(target, ==, outside);
	assert_contents(outside, "precious.mkv", "PRECIOUS");
	assert_listing(outside, "precious.mkv");
	av1d_test_rm_rf(tmp);
}

/* ---- errors ---- */

static void
test_error_set_errno(void)
{
	static const struct {
		int errsv;
		gint code;
	} cases[] = {
		{ENOSPC, AV1D_ERROR_NO_SPACE},
		{EDQUOT, AV1D_ERROR_NO_SPACE},
		{EACCES, AV1D_ERROR_PERMISSION_DENIED},
		{EPERM, AV1D_ERROR_PERMISSION_DENIED},
		{EROFS, AV1D_ERROR_PERMISSION_DENIED},
		{ENOENT, AV1D_ERROR_NOT_FOUND},
		{EIO, AV1D_ERROR_FAILED},
		{EEXIST, AV1D_ERROR_FAILED},
		{ELOOP, AV1D_ERROR_FAILED},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree gchar *expected = NULL;

		g_assert_false(av1d_error_set_errno(&error, cases[i].errsv, "cannot write %s #%d",
						    "Movie.mkv", 2));
		g_assert_error(error, AV1D_ERROR, cases[i].code);
		expected = g_strdup_printf("cannot write Movie.mkv #2: %s",
					   g_strerror(cases[i].errsv));
		g_assert_cmpstr(error->message, ==, expected);
	}
	/* no error wanted */
	g_assert_false(av1d_error_set_errno(NULL, ENOSPC, "ignored"));
}

static void
test_fsync_dir(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	g_assert_true(av1d_beneath_fsync_dir(fx->root_fd, &error));
	g_assert_no_error(error);
	g_assert_false(av1d_beneath_fsync_dir(-1, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_FAILED);
	g_assert_nonnull(strstr(error->message, g_strerror(EBADF)));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

#define ADD(path, func) g_test_add(path, Fixture, NULL, fixture_setup, func, fixture_teardown)
	g_test_add_func("/av1d/beneath/find-root/matches-whole-path-components",
			test_find_root_whole_components);
	g_test_add_func("/av1d/beneath/find-root/a-root-holds-itself", test_find_root_holds_itself);
	g_test_add_func("/av1d/beneath/find-root/slash-holds-every-path",
			test_find_root_slash_holds_all);
	ADD("/av1d/beneath/open-dir/opens-a-folder-below-the-root-and-the-root-itself",
	    test_open_dir_opens_the_folder);
	ADD("/av1d/beneath/open-dir/root-is-trusted-even-as-a-symlink",
	    test_open_dir_root_may_be_a_symlink);
	ADD("/av1d/beneath/open-dir/symlinked-folder-anywhere-below-the-root-is-refused",
	    test_open_dir_refuses_symlinks);
	ADD("/av1d/beneath/open-dir/dot-dot-escapes-are-refused", test_open_dir_refuses_dot_dot);
	ADD("/av1d/beneath/open-dir/paths-outside-the-root-are-refused",
	    test_open_dir_refuses_outside_paths);
	ADD("/av1d/beneath/open-dir/missing-folder-is-not-found",
	    test_open_dir_missing_is_not_found);
	ADD("/av1d/beneath/open-dir/file-is-not-a-folder", test_open_dir_refuses_a_file);
	ADD("/av1d/beneath/open-parent/opens-the-folder-and-names-the-file", test_open_parent);
	ADD("/av1d/beneath/open-parent/refuses-roots-escapes-symlinks-and-missing-folders",
	    test_open_parent_refuses);
	ADD("/av1d/beneath/identity/is-dev-ino-size-and-mtime", test_identity);
	ADD("/av1d/beneath/identity/refuses-symlinks-folders-and-missing-names",
	    test_identity_refuses);
	ADD("/av1d/beneath/write-file/writes-with-the-mode-and-leaves-no-temp", test_write_file);
	ADD("/av1d/beneath/write-file/a-name-near-name-max-is-written", test_write_file_long_name);
	ADD("/av1d/beneath/write-file/replaces-a-regular-file",
	    test_write_file_replaces_a_regular_file);
	ADD("/av1d/beneath/write-file/symlink-at-the-name-is-refused-and-left-alone",
	    test_write_file_refuses_a_symlink);
	ADD("/av1d/beneath/write-file/folder-at-the-name-is-refused",
	    test_write_file_refuses_a_folder);
	ADD("/av1d/beneath/make-temp-dir/private-and-unique", test_make_temp_dir);
	ADD("/av1d/beneath/make-temp-dir/removed-folder-is-not-found",
	    test_make_temp_dir_in_a_removed_folder);
	ADD("/av1d/beneath/remove-temp-dir/removes-its-files-and-itself", test_remove_temp_dir);
	ADD("/av1d/beneath/remove-temp-dir/symlink-is-refused-and-its-target-left",
	    test_remove_temp_dir_refuses_a_symlink);
	ADD("/av1d/beneath/remove-temp-dir/missing-folder-is-success",
	    test_remove_temp_dir_missing_is_success);
	ADD("/av1d/beneath/remove-temp-dir/sub-folder-is-left-with-an-error",
	    test_remove_temp_dir_leaves_sub_folders);
	ADD("/av1d/beneath/remove-temp-dir/another-users-folder-is-refused",
	    test_remove_temp_dir_refuses_another_users);
	ADD("/av1d/beneath/remove-job-temp-dirs/only-the-jobs-own-folders",
	    test_remove_job_temp_dirs);
	g_test_add_func("/av1d/beneath/remove-job-temp-dirs/symlink-is-never-followed",
			test_remove_job_temp_dirs_never_follows_a_symlink);
	g_test_add_func("/av1d/beneath/error-set-errno/maps-errno-to-codes-and-says-what",
			test_error_set_errno);
	ADD("/av1d/beneath/fsync-dir/reports-a-bad-descriptor", test_fsync_dir);
	return g_test_run();
}
