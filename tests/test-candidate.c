#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "av1d-candidate.h"
#include "av1d-sidecar.h"

static void
test_sidecar_names(void)
{
	struct {
		const gchar *source, *output, *backup, *why, *skip;
	} cases[] = {
	    {"/m/Movie.mp4", "/m/Movie.mkv", "/m/Movie.orig.mp4", "/m/Movie.mp4.why.txt",
	     "/m/Movie.mp4.av1skip"},
	    {"/m/a b/Film.2020.1080p.mkv", "/m/a b/Film.2020.1080p.mkv",
	     "/m/a b/Film.2020.1080p.orig.mkv", "/m/a b/Film.2020.1080p.mkv.why.txt",
	     "/m/a b/Film.2020.1080p.mkv.av1skip"},
	    {"/m/noext", "/m/noext.mkv", "/m/noext.orig.", "/m/noext.why.txt", "/m/noext.av1skip"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *output = av1d_sidecar_output_path(cases[i].source);
		g_autofree gchar *backup = av1d_sidecar_backup_path(cases[i].source);
		g_autofree gchar *why = av1d_sidecar_why_path(cases[i].source);
		g_autofree gchar *skip = av1d_sidecar_skip_path(cases[i].source);
		g_assert_cmpstr(output, ==, cases[i].output);
		g_assert_cmpstr(backup, ==, cases[i].backup);
		g_assert_cmpstr(why, ==, cases[i].why);
		g_assert_cmpstr(skip, ==, cases[i].skip);
	}
}

static void
test_own_files_are_recognised(void)
{
	g_assert_true(av1d_sidecar_is_own_file(".Movie.av1d-tmp.mkv"));
	/* a job's private temp folder */
	g_assert_true(av1d_sidecar_is_own_file(".av1d-12-AbC123"));
	g_assert_true(av1d_sidecar_is_own_file("Movie.orig.mp4"));
	g_assert_true(av1d_sidecar_is_own_file("Movie.mp4.why.txt"));
	g_assert_true(av1d_sidecar_is_own_file("Movie.mp4.av1skip"));
	g_assert_false(av1d_sidecar_is_own_file("Movie.mkv"));
	g_assert_false(av1d_sidecar_is_own_file("Origami.mkv"));
}

typedef struct {
	gchar *root;
	Av1dConfig *config;
} Fixture;

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *tmp = g_dir_make_tmp("av1d-test-candidate-XXXXXX", &error);
	const gchar *roots[] = {tmp, NULL};

	g_assert_no_error(error);
	fx->config = av1d_config_new_default();
	fx->config->min_bytes = 1024 * 1024;
	g_assert_true(av1d_config_set_roots(fx->config, roots, &error));
	fx->root = g_strdup(fx->config->library_roots[0]);
}

static void
remove_tree(const gchar *path)
{
	g_autofree gchar *quoted = g_shell_quote(path);
	g_autofree gchar *cmd = g_strdup_printf("rm -rf %s", quoted);

	g_assert_true(g_spawn_command_line_sync(cmd, NULL, NULL, NULL, NULL));
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	remove_tree(fx->root);
	g_free(fx->root);
	av1d_config_unref(fx->config);
}

/* a sparse file of @size bytes: min_bytes tests need no real data */
static gchar *
make_file(Fixture *fx, const gchar *relative, goffset size)
{
	gchar *path = g_build_filename(fx->root, relative, NULL);
	g_autofree gchar *dir = g_path_get_dirname(path);
	int fd;

	g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(ftruncate(fd, size), ==, 0);
	close(fd);
	return path;
}

static Av1dCandidateVerdict
verdict(Fixture *fx, const gchar *path)
{
	struct stat st;

	g_assert_cmpint(lstat(path, &st), ==, 0);
	return av1d_candidate_check(fx->config, fx->root, path, &st);
}

static void
test_candidate_rules(Fixture *fx, gconstpointer data)
{
	const goffset big = 2 * 1024 * 1024;
	g_autofree gchar *good = make_file(fx, "Movie.MKV", big);
	g_autofree gchar *small = make_file(fx, "Small.mkv", 1000);
	g_autofree gchar *text = make_file(fx, "notes.txt", big);
	g_autofree gchar *hidden = make_file(fx, ".hidden.mkv", big);
	g_autofree gchar *backup = make_file(fx, "Old.orig.mkv", big);
	g_autofree gchar *temp = make_file(fx, ".Old.av1d-tmp.mkv", big);
	g_autofree gchar *marked = make_file(fx, "Marked.mp4", big);
	g_autofree gchar *marker = make_file(fx, "Marked.mp4.av1skip", 0);
	g_autofree gchar *link = g_build_filename(fx->root, "Link.mkv", NULL);

	g_assert_cmpint(symlink(good, link), ==, 0);
	g_assert_cmpint(verdict(fx, good), ==, AV1D_CANDIDATE_YES);
	g_assert_cmpint(verdict(fx, small), ==, AV1D_CANDIDATE_TOO_SMALL);
	g_assert_cmpint(verdict(fx, text), ==, AV1D_CANDIDATE_WRONG_EXTENSION);
	g_assert_cmpint(verdict(fx, hidden), ==, AV1D_CANDIDATE_HIDDEN);
	g_assert_cmpint(verdict(fx, backup), ==, AV1D_CANDIDATE_OWN_FILE);
	g_assert_cmpint(verdict(fx, temp), ==, AV1D_CANDIDATE_OWN_FILE);
	g_assert_cmpint(verdict(fx, marked), ==, AV1D_CANDIDATE_SKIP_MARKER);
	g_assert_cmpint(verdict(fx, link), ==, AV1D_CANDIDATE_NOT_REGULAR);
}

static void
test_folder_marker_covers_subfolders(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *deep = make_file(fx, "Series/Season 1/E01.mkv", 2 * 1024 * 1024);
	g_autofree gchar *other = make_file(fx, "Other/E01.mkv", 2 * 1024 * 1024);
	g_autofree gchar *marker = make_file(fx, "Series/.av1skip", 0);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) list = NULL;

	g_assert_cmpint(verdict(fx, deep), ==, AV1D_CANDIDATE_SKIP_MARKER);
	g_assert_cmpint(verdict(fx, other), ==, AV1D_CANDIDATE_YES);
	list = av1d_candidate_list(fx->config, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(list->len, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(list, 0), ==, other);
}

static void
test_list_finds_exactly_the_candidates(Fixture *fx, gconstpointer data)
{
	const goffset big = 2 * 1024 * 1024;
	g_autofree gchar *a = make_file(fx, "b/Film B.mp4", big);
	g_autofree gchar *b = make_file(fx, "a/Film A.mkv", big);
	g_autofree gchar *c = make_file(fx, "a/deeper/still/Film C.m2ts", big);
	g_autofree gchar *d = make_file(fx, ".hiddendir/Film D.mkv", big);
	g_autofree gchar *e = make_file(fx, "a/Film A.orig.mkv", big);
	g_autofree gchar *f = make_file(fx, "a/tiny.mkv", 10);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) list = av1d_candidate_list(fx->config, &error);

	g_assert_no_error(error);
	g_assert_cmpuint(list->len, ==, 3);
	g_assert_cmpstr(g_ptr_array_index(list, 0), ==, b);
	g_assert_cmpstr(g_ptr_array_index(list, 1), ==, c);
	g_assert_cmpstr(g_ptr_array_index(list, 2), ==, a);
}

static void
test_find_root(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *inside = g_build_filename(fx->root, "x.mkv", NULL);
	g_autofree gchar *sibling = g_strconcat(fx->root, "-other/x.mkv", NULL);

	g_assert_cmpstr(av1d_candidate_find_root(fx->config, inside), ==, fx->root);
	g_assert_null(av1d_candidate_find_root(fx->config, sibling));
	g_assert_null(av1d_candidate_find_root(fx->config, "/etc/passwd"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/av1d/sidecar/names-follow-the-spec", test_sidecar_names);
	g_test_add_func("/av1d/sidecar/own-files-are-recognised", test_own_files_are_recognised);
	g_test_add("/av1d/candidate/rules", Fixture, NULL, fixture_setup, test_candidate_rules,
		   fixture_teardown);
	g_test_add("/av1d/candidate/folder-marker-covers-subfolders", Fixture, NULL,
		   fixture_setup, test_folder_marker_covers_subfolders, fixture_teardown);
	g_test_add("/av1d/candidate/list-finds-exactly-the-candidates", Fixture, NULL,
		   fixture_setup, test_list_finds_exactly_the_candidates, fixture_teardown);
	g_test_add("/av1d/candidate/root-prefix-is-not-enough", Fixture, NULL, fixture_setup,
		   test_find_root, fixture_teardown);
	return g_test_run();
}
