/*
 * The path rules of av1d-library.h on real directories and symlinks: what
 * a D-Bus client may name, and what each wrong path is answered with.
 */
#include "config.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "av1d-error.h"
#include "av1d-library.h"
#include "av1d-test-util.h"

typedef struct {
	gchar *dir;	/* canonical */
	gchar *library; /* the only root */
	gchar *outside;
	Av1dConfig *config;
} Fixture;

static gchar *
fx_path(Fixture *fx, const gchar *relative)
{
	return g_build_filename(fx->dir, relative, NULL);
}

static void
make_dir(Fixture *fx, const gchar *relative)
{
	g_autofree gchar *path = fx_path(fx, relative);

	g_assert_cmpint(g_mkdir(path, 0755), ==, 0);
}

static void
make_file(Fixture *fx, const gchar *relative)
{
	g_autofree gchar *path = fx_path(fx, relative);
	g_autoptr(GError) error = NULL;

	g_assert_true(g_file_set_contents(path, "x", 1, &error));
	g_assert_no_error(error);
}

static void
make_link(Fixture *fx, const gchar *target, const gchar *relative)
{
	g_autofree gchar *path = fx_path(fx, relative);

	g_assert_cmpint(symlink(target, path), ==, 0);
}

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *tmp = g_dir_make_tmp("av1d-test-library-XXXXXX", &error);
	const gchar *roots[] = {NULL, NULL};

	g_assert_no_error(error);
	fx->dir = realpath(tmp, NULL);
	fx->library = fx_path(fx, "library");
	fx->outside = fx_path(fx, "outside");
	make_dir(fx, "library");
	make_dir(fx, "library/sub");
	make_dir(fx, "outside");
	/* a sibling whose name starts like the root's */
	make_dir(fx, "library2");
	make_file(fx, "library/a.mkv");
	make_file(fx, "library/sub/b.mkv");
	make_file(fx, "library2/c.mkv");
	make_file(fx, "outside/secret");
	make_link(fx, "../outside/secret", "library/link-out");
	make_link(fx, "a.mkv", "library/link-in");
	make_link(fx, "../outside", "library/dir-out");
	make_link(fx, "sub", "library/sub-link");
	make_link(fx, "loop-b", "library/loop-a");
	make_link(fx, "loop-a", "library/loop-b");
	roots[0] = fx->library;
	fx->config = av1d_config_new_default();
	g_assert_true(av1d_config_set_roots(fx->config, roots, &error));
	g_assert_no_error(error);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	av1d_test_rm_rf(fx->dir);
	av1d_config_unref(fx->config);
	g_free(fx->library);
	g_free(fx->outside);
	g_free(fx->dir);
}

/* resolves to <fx->dir>/@expected */
static void
assert_resolves(Fixture *fx, const gchar *path, const gchar *expected)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *want = fx_path(fx, expected);
	g_autofree gchar *got = av1d_library_resolve_path(fx->config, path, &error);

	g_assert_no_error(error);
	g_assert_cmpstr(got, ==, want);
}

static void
assert_rejected(Fixture *fx, const gchar *path, Av1dError code)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *got = av1d_library_resolve_path(fx->config, path, &error);
	g_autofree gchar *display = g_utf8_make_valid(path, -1);

	g_test_message("%s -> %s", display, error != NULL ? error->message : "(accepted)");
	g_assert_null(got);
	g_assert_error(error, AV1D_ERROR, (gint)code);
}

static void
test_inside(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *file = fx_path(fx, "library/a.mkv");
	g_autofree gchar *nested = fx_path(fx, "library/sub/b.mkv");
	g_autofree gchar *messy = fx_path(fx, "library/./sub//../sub/b.mkv");
	g_autofree gchar *through_link = fx_path(fx, "library/sub-link/b.mkv");
	g_autofree gchar *link_in = fx_path(fx, "library/link-in");

	assert_resolves(fx, file, "library/a.mkv");
	assert_resolves(fx, nested, "library/sub/b.mkv");
	assert_resolves(fx, messy, "library/sub/b.mkv");
	/* symlinks that stay inside resolve to their targets */
	assert_resolves(fx, through_link, "library/sub/b.mkv");
	assert_resolves(fx, link_in, "library/a.mkv");
	/* the root and its folders are paths too (Skip of a folder) */
	assert_resolves(fx, fx->library, "library");
}

static void
test_bad_arguments(Fixture *fx, gconstpointer data)
{
	assert_rejected(fx, "", AV1D_ERROR_INVALID_ARGS);
	assert_rejected(fx, "library/a.mkv", AV1D_ERROR_INVALID_ARGS);
	assert_rejected(fx, "./a.mkv", AV1D_ERROR_INVALID_ARGS);
	assert_rejected(fx, "/media/\xff\xfe.mkv", AV1D_ERROR_INVALID_ARGS);
	assert_rejected(fx, "file://elsewhere/media/a.mkv", AV1D_ERROR_INVALID_ARGS);
	assert_rejected(fx, "file:///media/%ZZ.mkv", AV1D_ERROR_INVALID_ARGS);
	assert_rejected(fx, "file:a.mkv", AV1D_ERROR_INVALID_ARGS);
}

static void
test_outside(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *secret = fx_path(fx, "outside/secret");
	g_autofree gchar *dotdot = fx_path(fx, "library/../outside/secret");
	g_autofree gchar *sibling = fx_path(fx, "library2/c.mkv");
	g_autofree gchar *missing_outside = fx_path(fx, "outside/missing");
	g_autofree gchar *missing_dotdot = fx_path(fx, "library/../outside/missing");
	GString *up = g_string_new(fx->library);

	/* "<root>/../../etc/passwd", with as many ".." as it takes to reach / */
	for (const gchar *p = fx->library; *p != '\0'; p++) {
		if (*p == '/')
			g_string_append(up, "/..");
	}
	g_string_append(up, "/etc/passwd");
	assert_rejected(fx, "/etc/passwd", AV1D_ERROR_OUTSIDE_LIBRARY);
	assert_rejected(fx, up->str, AV1D_ERROR_OUTSIDE_LIBRARY);
	assert_rejected(fx, secret, AV1D_ERROR_OUTSIDE_LIBRARY);
	assert_rejected(fx, dotdot, AV1D_ERROR_OUTSIDE_LIBRARY);
	/* a prefix of the name is not a parent */
	assert_rejected(fx, sibling, AV1D_ERROR_OUTSIDE_LIBRARY);
	/* missing outside paths are "outside", not "not found": the answer
	 * must not tell whether they exist */
	assert_rejected(fx, "/nonexistent-av1d-dir/x.mkv", AV1D_ERROR_OUTSIDE_LIBRARY);
	assert_rejected(fx, missing_outside, AV1D_ERROR_OUTSIDE_LIBRARY);
	assert_rejected(fx, missing_dotdot, AV1D_ERROR_OUTSIDE_LIBRARY);
	assert_rejected(fx, fx->dir, AV1D_ERROR_OUTSIDE_LIBRARY);
	assert_rejected(fx, "/", AV1D_ERROR_OUTSIDE_LIBRARY);
	g_string_free(up, TRUE);
}

static void
test_symlinks_out(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *link_out = fx_path(fx, "library/link-out");
	g_autofree gchar *dir_out = fx_path(fx, "library/dir-out");
	g_autofree gchar *via_dir = fx_path(fx, "library/dir-out/secret");
	g_autofree gchar *via_dir_missing = fx_path(fx, "library/dir-out/missing.mkv");
	g_autofree gchar *loop = fx_path(fx, "library/loop-a");

	assert_rejected(fx, link_out, AV1D_ERROR_OUTSIDE_LIBRARY);
	assert_rejected(fx, dir_out, AV1D_ERROR_OUTSIDE_LIBRARY);
	assert_rejected(fx, via_dir, AV1D_ERROR_OUTSIDE_LIBRARY);
	assert_rejected(fx, via_dir_missing, AV1D_ERROR_OUTSIDE_LIBRARY);
	assert_rejected(fx, loop, AV1D_ERROR_INVALID_ARGS);
}

static void
test_missing_inside(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *missing = fx_path(fx, "library/missing.mkv");
	g_autofree gchar *missing_dir = fx_path(fx, "library/no-dir/missing.mkv");
	g_autofree gchar *under_file = fx_path(fx, "library/a.mkv/x");

	assert_rejected(fx, missing, AV1D_ERROR_NOT_FOUND);
	assert_rejected(fx, missing_dir, AV1D_ERROR_NOT_FOUND);
	assert_rejected(fx, under_file, AV1D_ERROR_NOT_FOUND);
}

/* root reads every folder, so the check runs in a child that drops to
 * nobody when it has to: a skip would hide the rule */
static void
test_permission_denied(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *locked = fx_path(fx, "library/locked");
	g_autofree gchar *inside = fx_path(fx, "library/locked/x.mkv");
	gint status = 0;
	pid_t pid;

	make_dir(fx, "library/locked");
	make_file(fx, "library/locked/x.mkv");
	g_assert_cmpint(g_chmod(fx->dir, 0755), ==, 0);
	g_assert_cmpint(g_chmod(locked, 0), ==, 0);
	pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		g_autoptr(GError) error = NULL;
		g_autofree gchar *got = NULL;

		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(2);
		got = av1d_library_resolve_path(fx->config, inside, &error);
		if (error != NULL)
			g_printerr("%s\n", error->message);
		_exit(g_error_matches(error, AV1D_ERROR, AV1D_ERROR_PERMISSION_DENIED) ? 0 : 1);
	}
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_cmpint(g_chmod(locked, 0755), ==, 0);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

/* a name that is not UTF-8 cannot travel as a D-Bus string: it comes as the
 * file:// URI that ListJobs shows */
static void
test_uri(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *raw = fx_path(fx, "library/caf\xe9.mkv");
	g_autofree gchar *uri = g_filename_to_uri(raw, NULL, NULL);
	g_autofree gchar *plain = fx_path(fx, "library/sub/b.mkv");
	g_autofree gchar *plain_uri = g_filename_to_uri(plain, NULL, NULL);
	g_autofree gchar *localhost = g_strconcat("file://localhost", plain, NULL);
	g_autofree gchar *outside = fx_path(fx, "outside/secret");
	g_autofree gchar *outside_uri = g_filename_to_uri(outside, NULL, NULL);

	make_file(fx, "library/caf\xe9.mkv");
	g_assert_false(g_utf8_validate(raw, -1, NULL));
	/* the raw bytes themselves are refused */
	assert_rejected(fx, raw, AV1D_ERROR_INVALID_ARGS);
	assert_resolves(fx, uri, "library/caf\xe9.mkv");
	assert_resolves(fx, plain_uri, "library/sub/b.mkv");
	assert_resolves(fx, localhost, "library/sub/b.mkv");
	assert_rejected(fx, outside_uri, AV1D_ERROR_OUTSIDE_LIBRARY);
}

static void
assert_parent_resolves(Fixture *fx, const gchar *path, const gchar *expected)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *want = fx_path(fx, expected);
	g_autofree gchar *got = av1d_library_resolve_parent(fx->config, path, &error);

	g_assert_no_error(error);
	g_assert_cmpstr(got, ==, want);
}

static void
assert_parent_rejected(Fixture *fx, const gchar *path, Av1dError code)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *got = av1d_library_resolve_parent(fx->config, path, &error);
	g_autofree gchar *display = g_utf8_make_valid(path, -1);

	g_test_message("parent of %s -> %s", display,
		       error != NULL ? error->message : "(accepted)");
	g_assert_null(got);
	g_assert_error(error, AV1D_ERROR, (gint)code);
}

/* Unskip of a file that is gone: the parent folder decides */
static void
test_parent(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *gone = fx_path(fx, "library/sub/gone.mkv");
	g_autofree gchar *gone_slash = fx_path(fx, "library/sub/gone.mkv/");
	g_autofree gchar *via_link = fx_path(fx, "library/sub-link/gone.mkv");
	g_autofree gchar *via_dir_out = fx_path(fx, "library/dir-out/gone.mkv");
	g_autofree gchar *in_missing_dir = fx_path(fx, "library/no-dir/gone.mkv");
	g_autofree gchar *dotdot = fx_path(fx, "library/sub/..");
	g_autofree gchar *dot = fx_path(fx, "library/sub/.");
	g_autofree gchar *root = g_strdup(fx->library);

	assert_parent_resolves(fx, gone, "library/sub/gone.mkv");
	assert_parent_resolves(fx, gone_slash, "library/sub/gone.mkv");
	assert_parent_resolves(fx, via_link, "library/sub/gone.mkv");
	assert_parent_rejected(fx, via_dir_out, AV1D_ERROR_OUTSIDE_LIBRARY);
	assert_parent_rejected(fx, in_missing_dir, AV1D_ERROR_NOT_FOUND);
	assert_parent_rejected(fx, dotdot, AV1D_ERROR_INVALID_ARGS);
	assert_parent_rejected(fx, dot, AV1D_ERROR_INVALID_ARGS);
	assert_parent_rejected(fx, "/", AV1D_ERROR_INVALID_ARGS);
	assert_parent_rejected(fx, "", AV1D_ERROR_INVALID_ARGS);
	assert_parent_rejected(fx, "gone.mkv", AV1D_ERROR_INVALID_ARGS);
	/* the root's own parent is outside */
	assert_parent_rejected(fx, root, AV1D_ERROR_OUTSIDE_LIBRARY);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

#define ADD(path, func) g_test_add(path, Fixture, NULL, fixture_setup, func, fixture_teardown)
	ADD("/av1d/library/paths-inside-resolve-to-canonical", test_inside);
	ADD("/av1d/library/empty-relative-non-utf8-are-invalid", test_bad_arguments);
	ADD("/av1d/library/paths-outside-are-refused", test_outside);
	ADD("/av1d/library/symlinks-out-of-the-library-are-refused", test_symlinks_out);
	ADD("/av1d/library/missing-paths-inside-are-not-found", test_missing_inside);
	ADD("/av1d/library/unreadable-folders-are-permission-denied", test_permission_denied);
	ADD("/av1d/library/file-uris-name-non-utf8-files", test_uri);
	ADD("/av1d/library/parent-resolution-for-gone-files", test_parent);
	return g_test_run();
}
