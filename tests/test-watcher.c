#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "av1d-test-util.h"
#include "av1d-watcher.h"

/* generous: real inotify on a loaded machine; success returns at once */
#define WAIT_MS 15000

typedef struct {
	gchar *tmp;
	gchar *root;
	gchar *outside;
	Av1dConfig *config;
	Av1dWatcher *watcher;
	GHashTable *changed; /* path -> times reported */
	GHashTable *removed;
	GHashTable *renamed; /* "old -> new" */
	GHashTable *dirs_removed;
	guint crawls_finished;
	guint overflows;
} Fixture;

static void
count(GHashTable *table, const gchar *key)
{
	guint n = GPOINTER_TO_UINT(g_hash_table_lookup(table, key));

	g_hash_table_insert(table, g_strdup(key), GUINT_TO_POINTER(n + 1));
}

static void
on_file_changed(Av1dWatcher *watcher, const gchar *path, Fixture *fx)
{
	count(fx->changed, path);
}

static void
on_file_removed(Av1dWatcher *watcher, const gchar *path, Fixture *fx)
{
	count(fx->removed, path);
}

static void
on_file_renamed(Av1dWatcher *watcher, const gchar *old_path, const gchar *new_path, Fixture *fx)
{
	g_autofree gchar *key = g_strdup_printf("%s -> %s", old_path, new_path);

	count(fx->renamed, key);
}

static void
on_directory_removed(Av1dWatcher *watcher, const gchar *path, Fixture *fx)
{
	count(fx->dirs_removed, path);
}

static void
on_crawl_finished(Av1dWatcher *watcher, Fixture *fx)
{
	fx->crawls_finished++;
}

static void
on_overflow(Av1dWatcher *watcher, Fixture *fx)
{
	fx->overflows++;
}

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *tmp = g_dir_make_tmp("av1d-test-watcher-XXXXXX", &error);
	g_autofree gchar *root = NULL;
	const gchar *roots[2] = {NULL, NULL};

	g_assert_no_error(error);
	fx->tmp = realpath(tmp, NULL);
	g_assert_nonnull(fx->tmp);
	root = g_build_filename(fx->tmp, "library", NULL);
	fx->outside = g_build_filename(fx->tmp, "outside", NULL);
	g_assert_cmpint(g_mkdir(root, 0755), ==, 0);
	g_assert_cmpint(g_mkdir(fx->outside, 0755), ==, 0);
	roots[0] = root;
	fx->config = av1d_config_new_default();
	fx->config->min_bytes = 1;
	g_assert_true(av1d_config_set_roots(fx->config, roots, &error));
	g_assert_no_error(error);
	fx->root = g_strdup(fx->config->library_roots[0]);
	fx->changed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	fx->removed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	fx->renamed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	fx->dirs_removed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	g_clear_object(&fx->watcher);
	/* let cancelled operations and monitors wind down */
	while (g_main_context_iteration(NULL, FALSE))
		;
	av1d_test_rm_rf(fx->tmp);
	g_hash_table_unref(fx->changed);
	g_hash_table_unref(fx->removed);
	g_hash_table_unref(fx->renamed);
	g_hash_table_unref(fx->dirs_removed);
	av1d_config_unref(fx->config);
	g_free(fx->root);
	g_free(fx->outside);
	free(fx->tmp);
}

static void
clear_events(Fixture *fx)
{
	g_hash_table_remove_all(fx->changed);
	g_hash_table_remove_all(fx->removed);
	g_hash_table_remove_all(fx->renamed);
	g_hash_table_remove_all(fx->dirs_removed);
}

/* waiting --------------------------------------------------------------------- */

typedef gboolean (*Condition)(Fixture *fx, gconstpointer data);

static gboolean
on_deadline(gpointer data)
{
	*(gboolean *)data = TRUE;
	return G_SOURCE_REMOVE;
}

static gboolean
wait_until(Fixture *fx, Condition done, gconstpointer data)
{
	gboolean timed_out = FALSE;
	guint id = g_timeout_add(WAIT_MS, on_deadline, &timed_out);

	while (!done(fx, data) && !timed_out)
		g_main_context_iteration(NULL, TRUE);
	if (!timed_out)
		g_source_remove(id);
	return done(fx, data);
}

/* runs the main loop for @ms to let unwanted events show up */
static void
settle(Fixture *fx, guint ms)
{
	gboolean timed_out = FALSE;

	g_timeout_add(ms, on_deadline, &timed_out);
	while (!timed_out)
		g_main_context_iteration(NULL, TRUE);
}

static gboolean
has_changed(Fixture *fx, gconstpointer path)
{
	return g_hash_table_contains(fx->changed, path);
}

static gboolean
has_removed(Fixture *fx, gconstpointer path)
{
	return g_hash_table_contains(fx->removed, path);
}

static gboolean
has_renamed(Fixture *fx, gconstpointer key)
{
	return g_hash_table_contains(fx->renamed, key);
}

static gboolean
has_dir_removed(Fixture *fx, gconstpointer path)
{
	return g_hash_table_contains(fx->dirs_removed, path);
}

static gboolean
crawl_finished(Fixture *fx, gconstpointer data)
{
	return fx->crawls_finished >= GPOINTER_TO_UINT(data);
}

static gboolean
all_changed(Fixture *fx, gconstpointer data)
{
	const GPtrArray *paths = data;

	for (guint i = 0; i < paths->len; i++) {
		if (!g_hash_table_contains(fx->changed, g_ptr_array_index(paths, i)))
			return FALSE;
	}
	return TRUE;
}

static gboolean
dir_count_is(Fixture *fx, gconstpointer data)
{
	return av1d_watcher_get_watched_dir_count(fx->watcher) == GPOINTER_TO_UINT(data);
}

/* files ----------------------------------------------------------------------- */

static gchar *
at(const gchar *base, const gchar *relative)
{
	return g_build_filename(base, relative, NULL);
}

/* open, write, close: what a copy does, so that GIO sees CREATED, CHANGED and
 * CHANGES_DONE_HINT */
static void
write_file(const gchar *path, const gchar *contents)
{
	gint fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	gsize len = strlen(contents);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, contents, len), ==, (gssize)len);
	g_assert_cmpint(close(fd), ==, 0);
}

/* each relative path ending in '/' is a directory, anything else a file */
static void
make_tree(const gchar *base, const gchar *const *relatives)
{
	for (guint i = 0; relatives[i] != NULL; i++) {
		g_autofree gchar *path = at(base, relatives[i]);
		g_autofree gchar *dir = g_path_get_dirname(path);

		g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
		if (!g_str_has_suffix(relatives[i], "/"))
			write_file(path, g_str_has_prefix(relatives[i], "empty") ? "" : "video");
	}
}

static void
assert_changed_exactly(Fixture *fx, const gchar *const *relatives)
{
	GHashTableIter iter;
	gpointer key;
	guint n = 0;

	for (; relatives[n] != NULL; n++) {
		g_autofree gchar *path = at(fx->root, relatives[n]);
		g_assert_true(has_changed(fx, path));
	}
	g_hash_table_iter_init(&iter, fx->changed);
	while (g_hash_table_iter_next(&iter, &key, NULL)) {
		gboolean expected = FALSE;

		for (guint i = 0; relatives[i] != NULL && !expected; i++) {
			g_autofree gchar *path = at(fx->root, relatives[i]);
			expected = g_strcmp0(path, key) == 0;
		}
		if (!expected)
			g_error("unexpected file-changed for %s", (const gchar *)key);
	}
	g_assert_cmpuint(g_hash_table_size(fx->changed), ==, n);
}

static void
start_watcher(Fixture *fx, guint budget)
{
	g_autoptr(GError) error = NULL;

	/* a test may have made it already, under special limits */
	if (fx->watcher == NULL)
		fx->watcher = av1d_watcher_new(fx->config);
	g_signal_connect(fx->watcher, "file-changed", G_CALLBACK(on_file_changed), fx);
	g_signal_connect(fx->watcher, "file-removed", G_CALLBACK(on_file_removed), fx);
	g_signal_connect(fx->watcher, "file-renamed", G_CALLBACK(on_file_renamed), fx);
	g_signal_connect(fx->watcher, "directory-removed", G_CALLBACK(on_directory_removed), fx);
	g_signal_connect(fx->watcher, "crawl-finished", G_CALLBACK(on_crawl_finished), fx);
	g_signal_connect(fx->watcher, "overflow", G_CALLBACK(on_overflow), fx);
	av1d_watcher_set_watch_budget(fx->watcher, budget);
	g_assert_true(av1d_watcher_start(fx->watcher, &error));
	g_assert_no_error(error);
	/* signals only ever come from the main loop */
	g_assert_cmpuint(fx->crawls_finished, ==, 0);
	g_assert_true(av1d_watcher_is_crawling(fx->watcher));
	g_assert_true(wait_until(fx, crawl_finished, GUINT_TO_POINTER(1)));
	g_assert_false(av1d_watcher_is_crawling(fx->watcher));
}

/* tests ----------------------------------------------------------------------- */

static void
test_initial_crawl(Fixture *fx, gconstpointer data)
{
	const gchar *tree[] = {"a.mkv", "UPPER.MKV", "sub/b.mp4", "sub/deep/c.avi",
			       /* never candidates */
			       ".hidden.mkv", "notes.txt", "empty.mkv", "sub/b.mp4.why.txt",
			       "sub/b.orig.mp4", "sub/.b.av1d-tmp.mkv", "sub/.av1d-2-AbCdEf/out.mkv",
			       "skipped.mkv",
			       "skipped.mkv.av1skip", ".hidden-dir/h.mkv", "marked/.av1skip",
			       "marked/m.mkv", "marked/inner/n.mkv", NULL};
	const gchar *expected[] = {"a.mkv", "UPPER.MKV", "sub/b.mp4", "sub/deep/c.avi", NULL};
	g_autofree gchar *link = at(fx->root, "link.mkv");
	g_autofree gchar *target = at(fx->root, "a.mkv");

	make_tree(fx->root, tree);
	g_assert_cmpint(symlink(target, link), ==, 0);
	start_watcher(fx, 0);
	settle(fx, 300);
	assert_changed_exactly(fx, expected);
	g_assert_cmpuint(fx->crawls_finished, ==, 1);
	g_assert_cmpuint(g_hash_table_size(fx->removed), ==, 0);
	/* the root, sub, sub/deep and the marked folder itself */
	g_assert_cmpuint(av1d_watcher_get_watched_dir_count(fx->watcher), ==, 4);
}

static void
test_created_file(Fixture *fx, gconstpointer data)
{
	const gchar *expected[] = {"new.mkv", NULL};
	g_autofree gchar *path = at(fx->root, "new.mkv");
	g_autoptr(GPtrArray) fallbacks = NULL;

	start_watcher(fx, 0);
	g_assert_cmpuint(g_hash_table_size(fx->changed), ==, 0);
	write_file(path, "video");
	g_assert_true(wait_until(fx, has_changed, path));
	settle(fx, 200);
	assert_changed_exactly(fx, expected);
	g_assert_cmpuint(g_hash_table_size(fx->removed), ==, 0);
	fallbacks = av1d_watcher_get_fallbacks(fx->watcher);
	g_assert_cmpuint(fallbacks->len, ==, 0);
}

static void
test_nested_mkdir_race(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *dir = at(fx->root, "a/b/c");
	g_autofree gchar *early = at(fx->root, "a/b/c/early.mkv");
	g_autofree gchar *late = at(fx->root, "a/b/c/late.mkv");

	start_watcher(fx, 0);
	/* no main loop turn in between: a/b and a/b/c have no watch yet */
	g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
	write_file(early, "video");
	g_assert_true(wait_until(fx, has_changed, early));
	g_assert_true(wait_until(fx, dir_count_is, GUINT_TO_POINTER(4)));
	/* and the new folder is watched from now on */
	write_file(late, "video");
	g_assert_true(wait_until(fx, has_changed, late));
}

static void
test_tree_moved_in(Fixture *fx, gconstpointer data)
{
	g_autoptr(GPtrArray) expected = g_ptr_array_new_with_free_func(g_free);
	g_autofree gchar *prepared = at(fx->outside, "tree");
	g_autofree gchar *moved = at(fx->root, "tree");
	g_autofree gchar *late = at(fx->root, "tree/d4/sub/late.mkv");
	GHashTableIter iter;
	gpointer key;

	for (guint d = 0; d < 5; d++) {
		for (guint f = 0; f < 10; f++) {
			g_autofree gchar *top = g_strdup_printf("tree/d%u/f%u.mkv", d, f);
			g_autofree gchar *deep = g_strdup_printf("tree/d%u/sub/g%u.mp4", d, f);
			const gchar *files[] = {top, deep, NULL};

			make_tree(fx->outside, files);
			g_ptr_array_add(expected, at(fx->root, top));
			g_ptr_array_add(expected, at(fx->root, deep));
		}
	}
	start_watcher(fx, 0);
	g_assert_cmpint(g_rename(prepared, moved), ==, 0);
	g_assert_true(wait_until(fx, all_changed, expected));
	g_hash_table_iter_init(&iter, fx->changed);
	while (g_hash_table_iter_next(&iter, &key, NULL)) {
		if (!g_ptr_array_find_with_equal_func(expected, key, g_str_equal, NULL))
			g_error("unexpected file-changed for %s", (const gchar *)key);
	}
	/* the root, tree, five folders and their subfolders */
	g_assert_true(wait_until(fx, dir_count_is, GUINT_TO_POINTER(12)));
	write_file(late, "video");
	g_assert_true(wait_until(fx, has_changed, late));
}

static void
test_rename_within_dir(Fixture *fx, gconstpointer data)
{
	const gchar *tree[] = {"a.mkv", ".hidden.mkv", NULL};
	g_autofree gchar *old_path = at(fx->root, "a.mkv");
	g_autofree gchar *new_path = at(fx->root, "b.mkv");
	g_autofree gchar *hidden = at(fx->root, ".hidden.mkv");
	g_autofree gchar *shown = at(fx->root, "shown.mkv");
	g_autofree gchar *key = g_strdup_printf("%s -> %s", old_path, new_path);

	make_tree(fx->root, tree);
	start_watcher(fx, 0);
	clear_events(fx);
	g_assert_cmpint(g_rename(old_path, new_path), ==, 0);
	g_assert_true(wait_until(fx, has_renamed, key));
	/* a name that was never a candidate becomes one: it is new */
	g_assert_cmpint(g_rename(hidden, shown), ==, 0);
	g_assert_true(wait_until(fx, has_changed, shown));
	settle(fx, 200);
	g_assert_cmpuint(g_hash_table_size(fx->renamed), ==, 1);
	g_assert_cmpuint(g_hash_table_size(fx->removed), ==, 0);
	g_assert_false(has_changed(fx, new_path));
}

static void
test_move_between_dirs(Fixture *fx, gconstpointer data)
{
	const gchar *tree[] = {"x/a.mkv", "y/", NULL};
	g_autofree gchar *old_path = at(fx->root, "x/a.mkv");
	g_autofree gchar *new_path = at(fx->root, "y/a.mkv");
	g_autofree gchar *key = g_strdup_printf("%s -> %s", old_path, new_path);

	make_tree(fx->root, tree);
	start_watcher(fx, 0);
	clear_events(fx);
	g_assert_cmpint(g_rename(old_path, new_path), ==, 0);
	g_assert_true(wait_until(fx, has_renamed, key));
	settle(fx, 200);
	g_assert_cmpuint(g_hash_table_size(fx->renamed), ==, 1);
	g_assert_cmpuint(g_hash_table_size(fx->removed), ==, 0);
	g_assert_cmpuint(g_hash_table_size(fx->changed), ==, 0);
}

static void
test_move_out(Fixture *fx, gconstpointer data)
{
	const gchar *tree[] = {"sub/a.mkv", NULL};
	g_autofree gchar *path = at(fx->root, "sub/a.mkv");
	g_autofree gchar *gone = at(fx->outside, "a.mkv");

	make_tree(fx->root, tree);
	start_watcher(fx, 0);
	clear_events(fx);
	g_assert_cmpint(g_rename(path, gone), ==, 0);
	g_assert_true(wait_until(fx, has_removed, path));
	settle(fx, 200);
	g_assert_cmpuint(g_hash_table_size(fx->renamed), ==, 0);
	g_assert_cmpuint(g_hash_table_size(fx->changed), ==, 0);
}

static void
test_delete(Fixture *fx, gconstpointer data)
{
	const gchar *tree[] = {"a.mkv", "notes.txt", NULL};
	g_autofree gchar *path = at(fx->root, "a.mkv");
	g_autofree gchar *notes = at(fx->root, "notes.txt");

	make_tree(fx->root, tree);
	start_watcher(fx, 0);
	clear_events(fx);
	g_assert_cmpint(g_unlink(notes), ==, 0);
	g_assert_cmpint(g_unlink(path), ==, 0);
	g_assert_true(wait_until(fx, has_removed, path));
	settle(fx, 200);
	g_assert_cmpuint(g_hash_table_size(fx->removed), ==, 1);
}

static void
test_rename_to_hidden(Fixture *fx, gconstpointer data)
{
	const gchar *tree[] = {"a.mkv", NULL};
	g_autofree gchar *path = at(fx->root, "a.mkv");
	g_autofree gchar *hidden = at(fx->root, ".a.mkv");

	make_tree(fx->root, tree);
	start_watcher(fx, 0);
	clear_events(fx);
	g_assert_cmpint(g_rename(path, hidden), ==, 0);
	g_assert_true(wait_until(fx, has_removed, path));
	settle(fx, 200);
	g_assert_cmpuint(g_hash_table_size(fx->renamed), ==, 0);
	g_assert_cmpuint(g_hash_table_size(fx->changed), ==, 0);
}

static void
test_ignored_files(Fixture *fx, gconstpointer data)
{
	const gchar *before[] = {"marked/.av1skip", "later/old.mkv", "later/deeper/", NULL};
	const gchar *marker[] = {"later/.av1skip", "mine.mkv.av1skip", NULL};
	const gchar *after[] = {".hidden.mkv",
				"a.mkv.why.txt",
				"b.orig.mkv",
				".c.av1d-tmp.mkv",
				"d.txt",
				"empty.mkv",
				"mine.mkv",
				"marked/m.mkv",
				"marked/inner/n.mkv",
				".hdir/h.mkv",
				"later/new.mkv",
				"later/sub/s.mkv",
				"later/deeper/d.mkv",
				NULL};
	const gchar *expected[] = {"sentinel.mkv", NULL};
	g_autofree gchar *old_path = at(fx->root, "later/old.mkv");
	g_autofree gchar *sentinel = at(fx->root, "sentinel.mkv");
	gint fd;

	make_tree(fx->root, before);
	start_watcher(fx, 0);
	g_assert_cmpuint(av1d_watcher_get_watched_dir_count(fx->watcher), ==, 4);
	clear_events(fx);
	/* markers made while watching count from then on, and what is below a
	 * marked folder is no longer watched */
	make_tree(fx->root, marker);
	g_assert_true(wait_until(fx, dir_count_is, GUINT_TO_POINTER(3)));
	make_tree(fx->root, after);
	fd = open(old_path, O_WRONLY | O_APPEND | O_CLOEXEC);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, "more", 4), ==, 4);
	g_assert_cmpint(close(fd), ==, 0);
	write_file(sentinel, "video");
	g_assert_true(wait_until(fx, has_changed, sentinel));
	settle(fx, 500);
	assert_changed_exactly(fx, expected);
	g_assert_cmpuint(g_hash_table_size(fx->removed), ==, 0);
	/* the root and both marked folders, nothing below them */
	g_assert_cmpuint(av1d_watcher_get_watched_dir_count(fx->watcher), ==, 3);
}

static void
test_marker_removed(Fixture *fx, gconstpointer data)
{
	const gchar *tree[] = {"later/.av1skip", "later/a.mkv", "later/sub/b.mkv", NULL};
	g_autoptr(GPtrArray) expected = g_ptr_array_new_with_free_func(g_free);
	g_autofree gchar *marker = at(fx->root, "later/.av1skip");

	make_tree(fx->root, tree);
	start_watcher(fx, 0);
	g_assert_cmpuint(g_hash_table_size(fx->changed), ==, 0);
	g_assert_cmpuint(av1d_watcher_get_watched_dir_count(fx->watcher), ==, 2);
	g_ptr_array_add(expected, at(fx->root, "later/a.mkv"));
	g_ptr_array_add(expected, at(fx->root, "later/sub/b.mkv"));
	g_assert_cmpint(g_unlink(marker), ==, 0);
	g_assert_true(wait_until(fx, all_changed, expected));
	g_assert_true(wait_until(fx, dir_count_is, GUINT_TO_POINTER(3)));
}

static void
test_symlinks_not_followed(Fixture *fx, gconstpointer data)
{
	const gchar *outside[] = {"target/t.mkv", NULL};
	const gchar *expected[] = {"sentinel.mkv", NULL};
	g_autofree gchar *target = at(fx->outside, "target");
	g_autofree gchar *target_file = at(fx->outside, "target/t.mkv");
	g_autofree gchar *later_file = at(fx->outside, "target/new.mkv");
	g_autofree gchar *link = at(fx->root, "link");
	g_autofree gchar *file_link = at(fx->root, "flink.mkv");
	g_autofree gchar *late_link = at(fx->root, "late-link");
	g_autofree gchar *sentinel = at(fx->root, "sentinel.mkv");

	make_tree(fx->outside, outside);
	g_assert_cmpint(symlink(target, link), ==, 0);
	g_assert_cmpint(symlink(target_file, file_link), ==, 0);
	start_watcher(fx, 0);
	g_assert_cmpuint(g_hash_table_size(fx->changed), ==, 0);
	g_assert_cmpuint(av1d_watcher_get_watched_dir_count(fx->watcher), ==, 1);
	g_assert_cmpint(symlink(target, late_link), ==, 0);
	write_file(later_file, "video");
	write_file(sentinel, "video");
	g_assert_true(wait_until(fx, has_changed, sentinel));
	settle(fx, 300);
	assert_changed_exactly(fx, expected);
	g_assert_cmpuint(av1d_watcher_get_watched_dir_count(fx->watcher), ==, 1);
}

static void
test_burst(Fixture *fx, gconstpointer data)
{
	g_autoptr(GPtrArray) expected = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter iter;
	gpointer key;

	start_watcher(fx, 0);
	for (guint i = 0; i < 1000; i++) {
		g_autofree gchar *name = g_strdup_printf("burst-%04u.mkv", i);
		gchar *path = at(fx->root, name);

		write_file(path, "video");
		g_ptr_array_add(expected, path);
	}
	g_assert_true(wait_until(fx, all_changed, expected));
	g_hash_table_iter_init(&iter, fx->changed);
	while (g_hash_table_iter_next(&iter, &key, NULL)) {
		if (!g_ptr_array_find_with_equal_func(expected, key, g_str_equal, NULL))
			g_error("unexpected file-changed for %s", (const gchar *)key);
	}
}

static void
test_budget_fallback(Fixture *fx, gconstpointer data)
{
	const gchar *tree[] = {"a/b/x.mkv", "c/", "d/y.mkv", NULL};
	g_autoptr(GPtrArray) fallbacks = NULL;
	g_autofree gchar *x = at(fx->root, "a/b/x.mkv");
	g_autofree gchar *y = at(fx->root, "d/y.mkv");
	g_autofree gchar *added = at(fx->root, "c/new.mkv");
	Av1dWatcherFallback *fallback;

	make_tree(fx->root, tree);
	fx->config->scan_interval_secs = 1;
	start_watcher(fx, 3);
	fallbacks = av1d_watcher_get_fallbacks(fx->watcher);
	g_assert_cmpuint(fallbacks->len, ==, 1);
	fallback = g_ptr_array_index(fallbacks, 0);
	g_assert_cmpstr(fallback->root, ==, fx->root);
	/* the root, a, a/b, c and d */
	g_assert_cmpstr(fallback->reason, ==, "needs 5 watches, budget 3");
	g_assert_cmpuint(av1d_watcher_get_watched_dir_count(fx->watcher), ==, 0);
	/* what is there is reported all the same */
	g_assert_true(has_changed(fx, x));
	g_assert_true(has_changed(fx, y));
	write_file(added, "video");
	g_assert_true(wait_until(fx, has_changed, added));
}

static void
test_dir_count_and_moves(Fixture *fx, gconstpointer data)
{
	const gchar *tree[] = {"a/b/f.mkv", "c/", ".h/", "m/.av1skip", "m/x/", NULL};
	g_autofree gchar *a = at(fx->root, "a");
	g_autofree gchar *z = at(fx->root, "z");
	g_autofree gchar *c = at(fx->root, "c");
	g_autofree gchar *moved = at(fx->root, "z/b/f.mkv");
	g_autofree gchar *late = at(fx->root, "z/b/late.mkv");
	g_autofree gchar *away = at(fx->outside, "z");

	make_tree(fx->root, tree);
	start_watcher(fx, 0);
	/* the root, a, a/b, c and m */
	g_assert_cmpuint(av1d_watcher_get_watched_dir_count(fx->watcher), ==, 5);
	clear_events(fx);

	g_assert_cmpint(g_rename(a, z), ==, 0);
	g_assert_true(wait_until(fx, has_dir_removed, a));
	g_assert_true(wait_until(fx, has_changed, moved));
	g_assert_true(wait_until(fx, dir_count_is, GUINT_TO_POINTER(5)));
	write_file(late, "video");
	g_assert_true(wait_until(fx, has_changed, late));

	av1d_test_rm_rf(c);
	g_assert_true(wait_until(fx, has_dir_removed, c));
	g_assert_true(wait_until(fx, dir_count_is, GUINT_TO_POINTER(4)));

	g_assert_cmpint(g_rename(z, away), ==, 0);
	g_assert_true(wait_until(fx, has_dir_removed, z));
	g_assert_true(wait_until(fx, dir_count_is, GUINT_TO_POINTER(2)));
}

static void
test_rescan(Fixture *fx, gconstpointer data)
{
	const gchar *tree[] = {"a.mkv", "sub/b.mkv", NULL};
	const gchar *expected[] = {"a.mkv", "sub/b.mkv", NULL};

	make_tree(fx->root, tree);
	start_watcher(fx, 0);
	assert_changed_exactly(fx, expected);
	clear_events(fx);
	av1d_watcher_rescan(fx->watcher);
	g_assert_cmpuint(fx->crawls_finished, ==, 1);
	g_assert_true(wait_until(fx, crawl_finished, GUINT_TO_POINTER(2)));
	assert_changed_exactly(fx, expected);
	g_assert_cmpuint(av1d_watcher_get_watched_dir_count(fx->watcher), ==, 2);
}

static void
test_deep_tree(Fixture *fx, gconstpointer data)
{
	g_autoptr(GPtrArray) expected = g_ptr_array_new_with_free_func(g_free);
	g_autofree gchar *deepest = NULL;
	g_autofree gchar *late = NULL;

	/* 15 chains of 20 nested folders, 300 in all, a file in each */
	for (guint c = 0; c < 15; c++) {
		g_autoptr(GString) relative = g_string_new(NULL);

		g_string_append_printf(relative, "c%02u", c);
		for (guint d = 0; d < 20; d++) {
			g_autofree gchar *file = NULL;

			if (d > 0)
				g_string_append_printf(relative, "/d%02u", d);
			file = g_strdup_printf("%s/f.mkv", relative->str);
			make_tree(fx->root, (const gchar *const[]){file, NULL});
			g_ptr_array_add(expected, at(fx->root, file));
		}
		g_free(deepest);
		deepest = at(fx->root, relative->str);
	}
	start_watcher(fx, 0);
	/* everything is reported before the crawl says it is done */
	g_assert_true(all_changed(fx, expected));
	g_assert_cmpuint(g_hash_table_size(fx->changed), ==, expected->len);
	g_assert_cmpuint(av1d_watcher_get_watched_dir_count(fx->watcher), ==, 301);
	late = g_build_filename(deepest, "late.mkv", NULL);
	write_file(late, "video");
	g_assert_true(wait_until(fx, has_changed, late));
}

/* a sysctl, written in place (/proc knows no temporary files and renames) */
static gboolean
write_knob(const gchar *path, const gchar *value)
{
	gint fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	gsize len = strlen(value);
	gboolean ok;

	if (fd < 0)
		return FALSE;
	ok = write(fd, value, len) == (gssize)len;
	return close(fd) == 0 && ok;
}

static gboolean
overflowed(Fixture *fx, gconstpointer data)
{
	return fx->overflows > 0;
}

static void
test_overflow_recrawl(Fixture *fx, gconstpointer data)
{
	const gchar *knob = "/proc/sys/fs/inotify/max_queued_events";
	g_autoptr(GPtrArray) expected = g_ptr_array_new_with_free_func(g_free);
	g_autofree gchar *saved = NULL;
	g_autofree gchar *late = at(fx->root, "late.mkv");
	gboolean lowered;
	gboolean restored;

	if (getuid() != 0 || access(knob, W_OK) != 0) {
		g_test_skip("provoking IN_Q_OVERFLOW needs root to lower max_queued_events");
		return;
	}
	g_assert_true(g_file_get_contents(knob, &saved, NULL, NULL));
	g_strstrip(saved);
	/* the kernel reads the limit when the inotify instance is made, in
	 * av1d_watcher_new(): lowered only around that call, and put back
	 * before anything can fail, since the limit is the whole machine's */
	lowered = write_knob(knob, "16");
	if (lowered)
		fx->watcher = av1d_watcher_new(fx->config);
	restored = write_knob(knob, saved);
	g_assert_true(lowered);
	g_assert_true(restored);

	start_watcher(fx, 0);
	g_assert_cmpuint(fx->overflows, ==, 0);
	/* the main loop does not run meanwhile: three events a file, 16 fit */
	for (guint i = 0; i < 200; i++) {
		g_autofree gchar *name = g_strdup_printf("flood-%03u.mkv", i);
		gchar *path = at(fx->root, name);

		write_file(path, "video");
		g_ptr_array_add(expected, path);
	}
	g_assert_true(wait_until(fx, overflowed, NULL));
	/* the re-crawl finds what the lost events would have said */
	g_assert_true(wait_until(fx, crawl_finished, GUINT_TO_POINTER(2)));
	g_assert_true(all_changed(fx, expected));
	g_assert_cmpuint(av1d_watcher_get_watched_dir_count(fx->watcher), ==, 1);
	/* and the watch still works */
	write_file(late, "video");
	g_assert_true(wait_until(fx, has_changed, late));
}

static void
test_overflow_forgets_vanished_dirs(Fixture *fx, gconstpointer data)
{
	const gchar *knob = "/proc/sys/fs/inotify/max_queued_events";
	const gchar *tree[] = {"gone/deep/a.mkv", "kept/b.mkv", NULL};
	g_autofree gchar *saved = NULL;
	g_autofree gchar *gone = at(fx->root, "gone");
	g_autofree gchar *kept = at(fx->root, "kept/b.mkv");
	gboolean lowered;
	gboolean restored;

	if (getuid() != 0 || access(knob, W_OK) != 0) {
		g_test_skip("provoking IN_Q_OVERFLOW needs root to lower max_queued_events");
		return;
	}
	make_tree(fx->root, tree);
	g_assert_true(g_file_get_contents(knob, &saved, NULL, NULL));
	g_strstrip(saved);
	lowered = write_knob(knob, "4");
	if (lowered)
		fx->watcher = av1d_watcher_new(fx->config);
	restored = write_knob(knob, saved);
	g_assert_true(lowered);
	g_assert_true(restored);

	start_watcher(fx, 0);
	g_assert_cmpuint(av1d_watcher_get_watched_dir_count(fx->watcher), ==, 4);
	clear_events(fx);
	/* more than 4 events before the folder's own: its removal is lost */
	for (guint i = 0; i < 20; i++) {
		g_autofree gchar *name = g_strdup_printf("kept/flood-%02u.txt", i);
		g_autofree gchar *path = at(fx->root, name);

		write_file(path, "text");
	}
	av1d_test_rm_rf(gone);
	g_assert_true(wait_until(fx, overflowed, NULL));
	g_assert_true(wait_until(fx, crawl_finished, GUINT_TO_POINTER(2)));
	g_assert_true(has_dir_removed(fx, gone));
	g_assert_true(has_changed(fx, kept));
	/* the root and kept */
	g_assert_cmpuint(av1d_watcher_get_watched_dir_count(fx->watcher), ==, 2);
}

/* the time until the default main context would wake up, -1 for never */
static gint
main_context_timeout(void)
{
	GMainContext *context = g_main_context_default();
	GPollFD fds[64];
	gint priority = 0;
	gint timeout = 0;

	g_assert_true(g_main_context_acquire(context));
	g_main_context_prepare(context, &priority);
	g_main_context_query(context, priority, &timeout, fds, G_N_ELEMENTS(fds));
	g_main_context_release(context);
	return timeout;
}

static void
test_idle_sets_no_timers(Fixture *fx, gconstpointer data)
{
	const gchar *tree[] = {"a.mkv", "sub/deep/b.mkv", NULL};

	make_tree(fx->root, tree);
	start_watcher(fx, 0);
	settle(fx, 100);
	g_assert_cmpint(main_context_timeout(), ==, -1);
}

static void
test_fallback_sets_timer(Fixture *fx, gconstpointer data)
{
	const gchar *tree[] = {"sub/a.mkv", NULL};

	make_tree(fx->root, tree);
	fx->config->scan_interval_secs = 30;
	start_watcher(fx, 1);
	settle(fx, 100);
	g_assert_cmpint(main_context_timeout(), >, 0);
}

static void
test_network_filesystems(void)
{
	const gchar *mountinfo =
		"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
		"40 22 0:35 / /media rw shared:20 - fuse.sshfs me@host:/srv rw,user_id=0\n"
		"41 40 0:36 / /media/local\\040disk rw - ext4 /dev/sdb1 rw\n"
		"42 22 0:37 / /mnt/nfs rw - nfs4 server:/export rw\n"
		"43 22 0:38 / /mnt/nfs rw - tmpfs tmpfs rw\n"
		"broken line\n";
	struct {
		const gchar *path, *fstype;
	} mounts[] = {
		{"/media/Movies/a.mkv", "fuse.sshfs"},
		{"/media", "fuse.sshfs"},
		{"/media/local disk/a.mkv", "ext4"},
		{"/mediathek", "ext4"},
		{"/mnt/nfs/a", "tmpfs"},
		{"/", "ext4"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(mounts); i++) {
		g_autofree gchar *fstype = av1d_watcher_mount_fstype(mountinfo, mounts[i].path);
		g_assert_cmpstr(fstype, ==, mounts[i].fstype);
	}
	g_assert_null(av1d_watcher_mount_fstype("", "/"));
	g_assert_cmpstr(av1d_watcher_network_fs_name(0x6969, "nfs4"), ==, "nfs");
	g_assert_cmpstr(av1d_watcher_network_fs_name(0x517B, NULL), ==, "smb");
	g_assert_cmpstr(av1d_watcher_network_fs_name(0xFF534D42, NULL), ==, "cifs");
	g_assert_cmpstr(av1d_watcher_network_fs_name(0xFE534D42, NULL), ==, "smb2");
	g_assert_cmpstr(av1d_watcher_network_fs_name(0x65735546, "fuse.sshfs"), ==, "fuse.sshfs");
	/* a FUSE mount that cannot be told apart could be remote */
	g_assert_cmpstr(av1d_watcher_network_fs_name(0x65735546, NULL), ==, "fuse");
	g_assert_null(av1d_watcher_network_fs_name(0x65735546, "fuse.mergerfs"));
	g_assert_null(av1d_watcher_network_fs_name(0xEF53, "ext4"));
	g_assert_null(av1d_watcher_network_fs_name(0x01021994, "tmpfs"));
}

#define ADD(name, func) g_test_add(name, Fixture, NULL, fixture_setup, func, fixture_teardown)

gint
main(gint argc, gchar **argv)
{
	g_test_init(&argc, &argv, NULL);

	ADD("/av1d/watcher/initial-crawl-finds-existing-files", test_initial_crawl);
	ADD("/av1d/watcher/file-created-in-root-is-reported", test_created_file);
	ADD("/av1d/watcher/file-in-a-just-made-folder-is-reported", test_nested_mkdir_race);
	ADD("/av1d/watcher/tree-moved-in-is-crawled", test_tree_moved_in);
	ADD("/av1d/watcher/rename-within-a-folder-is-a-rename", test_rename_within_dir);
	ADD("/av1d/watcher/move-between-folders-is-a-rename", test_move_between_dirs);
	ADD("/av1d/watcher/move-out-is-a-removal", test_move_out);
	ADD("/av1d/watcher/delete-is-a-removal", test_delete);
	ADD("/av1d/watcher/rename-to-hidden-is-a-removal", test_rename_to_hidden);
	ADD("/av1d/watcher/ignored-files-are-never-reported", test_ignored_files);
	ADD("/av1d/watcher/removing-a-folder-marker-reports-its-files", test_marker_removed);
	ADD("/av1d/watcher/symlinks-are-not-followed", test_symlinks_not_followed);
	ADD("/av1d/watcher/burst-of-1000-files-is-reported", test_burst);
	ADD("/av1d/watcher/over-budget-root-is-rescanned", test_budget_fallback);
	ADD("/av1d/watcher/watched-dirs-follow-the-tree", test_dir_count_and_moves);
	ADD("/av1d/watcher/rescan-reports-everything-again", test_rescan);
	ADD("/av1d/watcher/tree-of-300-folders-is-crawled-and-watched", test_deep_tree);
	ADD("/av1d/watcher/overflow-recrawl-recovers-every-file", test_overflow_recrawl);
	ADD("/av1d/watcher/overflow-forgets-folders-that-vanished",
	    test_overflow_forgets_vanished_dirs);
	ADD("/av1d/watcher/idle-watcher-sets-no-timers", test_idle_sets_no_timers);
	ADD("/av1d/watcher/fallback-root-sets-a-timer", test_fallback_sets_timer);
	g_test_add_func("/av1d/watcher/network-filesystems-are-recognised",
			test_network_filesystems);
	return g_test_run();
}
