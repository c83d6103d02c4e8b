#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "av1d-error.h"
#include "av1d-job-store.h"

/* how a test hands its temp dir to its own g_test_trap_subprocess() child */
#define DIR_ENV "AV1D_TEST_STORE_DIR"

static gchar *
make_dir(void)
{
	g_autoptr(GError) error = NULL;
	gchar *dir = g_dir_make_tmp("av1d-test-job-store-XXXXXX", &error);

	g_assert_no_error(error);
	return dir;
}

static void
remove_tree(const gchar *path)
{
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *child = g_build_filename(path, name, NULL);

		if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
		    !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
			remove_tree(child);
		else
			g_assert_cmpint(g_unlink(child), ==, 0);
	}
	g_assert_cmpint(g_rmdir(path), ==, 0);
}

static Av1dJobStore *
open_store(const gchar *dir)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dJobStore) store = av1d_job_store_new(dir, &error);

	g_assert_no_error(error);
	g_assert_true(av1d_job_store_load(store, &error));
	g_assert_no_error(error);
	return g_steal_pointer(&store);
}

static Av1dJob *
create(Av1dJobStore *store, const gchar *source_path)
{
	g_autoptr(GError) error = NULL;
	Av1dJob *job = av1d_job_store_create_job(store, source_path, &error);

	g_assert_no_error(error);
	g_assert_nonnull(job);
	return job;
}

static void
save(Av1dJobStore *store, Av1dJob *job)
{
	g_autoptr(GError) error = NULL;

	g_assert_true(av1d_job_store_save(store, job, &error));
	g_assert_no_error(error);
}

static guint64
create_id(Av1dJobStore *store, const gchar *source_path)
{
	return create(store, source_path)->id;
}

static gchar *
read_file(const gchar *dir, const gchar *name, gsize *length)
{
	g_autofree gchar *path = g_build_filename(dir, name, NULL);
	g_autoptr(GError) error = NULL;
	gchar *contents = NULL;

	g_assert_true(g_file_get_contents(path, &contents, length, &error));
	g_assert_no_error(error);
	return contents;
}

static void
write_file(const gchar *dir, const gchar *name, const gchar *data, gssize length)
{
	g_autofree gchar *path = g_build_filename(dir, name, NULL);
	g_autoptr(GError) error = NULL;

	/* no fsync: these files stand in for what a crash or a human left;
	 * unlinked first because GLib 2.74 does not truncate without
	 * G_FILE_SET_CONTENTS_CONSISTENT */
	g_unlink(path);
	g_assert_true(g_file_set_contents_full(path, data, length, G_FILE_SET_CONTENTS_NONE, 0600,
					       &error));
	g_assert_no_error(error);
}

static gboolean
exists(const gchar *dir, const gchar *name)
{
	g_autofree gchar *path = g_build_filename(dir, name, NULL);
	GStatBuf st;

	return g_lstat(path, &st) == 0;
}

static guint
file_mode(const gchar *dir, const gchar *name)
{
	g_autofree gchar *path = g_build_filename(dir, name, NULL);
	GStatBuf st;

	g_assert_cmpint(g_lstat(path, &st), ==, 0);
	return st.st_mode & 07777;
}

/* names in @dir that start with @prefix */
static guint
count_names(const gchar *dir, const gchar *prefix)
{
	g_autoptr(GDir) listing = g_dir_open(dir, 0, NULL);
	const gchar *name;
	guint count = 0;

	g_assert_nonnull(listing);
	while ((name = g_dir_read_name(listing)) != NULL)
		count += g_str_has_prefix(name, prefix);
	return count;
}

static void
remove_counter(const gchar *dir)
{
	g_autofree gchar *path = g_build_filename(dir, "next-id", NULL);

	g_assert_cmpint(g_unlink(path), ==, 0);
}

/* in a trapped child the warnings under test are expected: G_DEBUG makes
 * them fatal, and g_test_expect_message() does not see structured logs */
static void
allow_warnings(void)
{
	g_log_set_always_fatal(G_LOG_FATAL_MASK);
}

static void
test_new_creates_a_private_directory(void)
{
	g_autofree gchar *dir = make_dir();
	g_autofree gchar *jobs = g_build_filename(dir, "state", "jobs", NULL);
	g_autofree gchar *blocker = g_build_filename(dir, "file", NULL);
	g_autofree gchar *under_file = g_build_filename(blocker, "jobs", NULL);
	g_autoptr(Av1dJobStore) store = open_store(jobs);
	g_autoptr(Av1dJobStore) bad = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_true(g_file_test(jobs, G_FILE_TEST_IS_DIR));
	g_assert_cmpuint(file_mode(jobs, "."), ==, 0700);
	g_assert_cmpstr(av1d_job_store_get_directory(store), ==, jobs);
	g_assert_cmpuint(av1d_job_store_get_size(store), ==, 0);

	write_file(dir, "file", "x", 1);
	bad = av1d_job_store_new(under_file, &error);
	g_assert_null(bad);
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_FAILED);
	g_assert_nonnull(strstr(error->message, "file/jobs"));
	remove_tree(dir);
}

static void
test_create_save_reload_keeps_every_job(void)
{
	g_autofree gchar *dir = make_dir();
	g_autoptr(Av1dJobStore) store = open_store(dir);
	g_autoptr(Av1dJobStore) again = NULL;
	Av1dJob *a = create(store, "/lib/a.mkv");
	Av1dJob *b = create(store, "/lib/b.mkv");
	const gchar *const argv[] = {"ffmpeg", "-i", "/lib/b.mkv", NULL};
	Av1dJob *loaded;

	g_assert_true(av1d_job_set_status(b, AV1D_JOB_STATUS_RUNNING, NULL));
	b->stage = AV1D_JOB_STAGE_ENCODING;
	b->progress = 0.5;
	av1d_job_set_argv(b, argv);
	b->original_bytes = 123456789;
	save(store, b);

	again = open_store(dir);
	g_assert_cmpuint(av1d_job_store_get_size(again), ==, 2);
	for (guint i = 0; i < 2; i++) {
		Av1dJob *job = i == 0 ? a : b;
		g_autofree gchar *expected = av1d_job_to_data(job, NULL);
		g_autofree gchar *actual = NULL;

		loaded = av1d_job_store_lookup(again, job->id);
		g_assert_nonnull(loaded);
		g_assert_true(loaded != job);
		actual = av1d_job_to_data(loaded, NULL);
		g_assert_cmpstr(actual, ==, expected);
	}
	loaded = av1d_job_store_lookup(again, b->id);
	g_assert_cmpint(loaded->status, ==, AV1D_JOB_STATUS_RUNNING);
	g_assert_cmpfloat(loaded->progress, ==, 0.5);
	remove_tree(dir);
}

static void
test_files_are_private_and_named_by_id(void)
{
	g_autofree gchar *dir = make_dir();
	g_autoptr(Av1dJobStore) store = open_store(dir);
	Av1dJob *job = create(store, "/lib/a.mkv");
	g_autofree gchar *counter = NULL;
	g_autofree gchar *data = NULL;
	g_autofree gchar *expected = NULL;

	g_assert_cmpuint(job->id, ==, 1);
	g_assert_cmpuint(file_mode(dir, "1.json"), ==, 0600);
	g_assert_cmpuint(file_mode(dir, "next-id"), ==, 0600);
	counter = read_file(dir, "next-id", NULL);
	g_assert_cmpstr(counter, ==, "2\n");
	job->fps = 12.5;
	save(store, job);
	data = read_file(dir, "1.json", NULL);
	expected = av1d_job_to_data(job, NULL);
	g_assert_cmpstr(data, ==, expected);
	g_assert_cmpuint(count_names(dir, "."), ==, 0);
	remove_tree(dir);
}

static void
test_lookups_find_the_newest_job(void)
{
	g_autofree gchar *dir = make_dir();
	g_autoptr(Av1dJobStore) store = open_store(dir);
	g_autoptr(Av1dJobStore) again = NULL;
	Av1dJob *old = create(store, "/lib/a.mkv");
	Av1dJob *other = create(store, "/lib/b.mkv");
	Av1dJob *newer = create(store, "/lib/a.mkv");
	Av1dFileIdentity identity = {.dev = 2049, .ino = 77, .size = 1000, .mtime_ns = 5};
	Av1dFileIdentity unset = {0};

	g_assert_true(av1d_job_store_lookup(store, other->id) == other);
	g_assert_null(av1d_job_store_lookup(store, 999));
	g_assert_true(av1d_job_store_lookup_by_path(store, "/lib/a.mkv") == newer);
	g_assert_true(av1d_job_store_lookup_by_path(store, "/lib/b.mkv") == other);
	g_assert_null(av1d_job_store_lookup_by_path(store, "/lib/c.mkv"));
	g_assert_null(av1d_job_store_lookup_by_identity(store, &identity));

	old->identity = identity;
	save(store, old);
	g_assert_true(av1d_job_store_lookup_by_identity(store, &identity) == old);
	other->identity = identity;
	save(store, other);
	g_assert_true(av1d_job_store_lookup_by_identity(store, &identity) == other);
	g_assert_null(av1d_job_store_lookup_by_identity(store, &unset));
	identity.mtime_ns++;
	g_assert_null(av1d_job_store_lookup_by_identity(store, &identity));
	identity.mtime_ns--;

	again = open_store(dir);
	g_assert_cmpuint(av1d_job_store_lookup_by_path(again, "/lib/a.mkv")->id, ==, newer->id);
	g_assert_cmpuint(av1d_job_store_lookup_by_identity(again, &identity)->id, ==, other->id);
	g_assert_cmpuint(av1d_job_store_lookup(again, old->id)->id, ==, old->id);
	remove_tree(dir);
}

static void
test_path_index_follows_renames(void)
{
	g_autofree gchar *dir = make_dir();
	g_autoptr(Av1dJobStore) store = open_store(dir);
	g_autoptr(Av1dJobStore) again = NULL;
	Av1dJob *old = create(store, "/lib/a.mkv");
	Av1dJob *newer = create(store, "/lib/a.mkv");

	av1d_job_store_set_source_path(store, newer, "/lib/a.av1.mkv");
	g_assert_cmpstr(newer->source_path, ==, "/lib/a.av1.mkv");
	/* the older job with the old name is uncovered */
	g_assert_true(av1d_job_store_lookup_by_path(store, "/lib/a.mkv") == old);
	g_assert_true(av1d_job_store_lookup_by_path(store, "/lib/a.av1.mkv") == newer);

	/* a path changed behind the store's back is picked up by save */
	g_free(old->source_path);
	old->source_path = g_strdup("/lib/renamed.mkv");
	save(store, old);
	g_assert_null(av1d_job_store_lookup_by_path(store, "/lib/a.mkv"));
	g_assert_true(av1d_job_store_lookup_by_path(store, "/lib/renamed.mkv") == old);

	save(store, newer);
	again = open_store(dir);
	g_assert_null(av1d_job_store_lookup_by_path(again, "/lib/a.mkv"));
	g_assert_cmpuint(av1d_job_store_lookup_by_path(again, "/lib/a.av1.mkv")->id, ==,
			 newer->id);
	remove_tree(dir);
}

static void
test_remove_deletes_the_file(void)
{
	g_autofree gchar *dir = make_dir();
	g_autoptr(Av1dJobStore) store = open_store(dir);
	g_autoptr(Av1dJobStore) again = NULL;
	Av1dJob *old = create(store, "/lib/a.mkv");
	Av1dJob *newer = create(store, "/lib/a.mkv");
	g_autoptr(Av1dJob) kept = av1d_job_ref(newer);
	g_autoptr(GError) error = NULL;
	Av1dFileIdentity identity = {.dev = 1, .ino = 2, .size = 3, .mtime_ns = 4};

	old->identity = identity;
	newer->identity = identity;
	save(store, old);
	save(store, newer);
	g_assert_true(av1d_job_store_remove(store, 2, &error));
	g_assert_no_error(error);
	g_assert_false(exists(dir, "2.json"));
	g_assert_null(av1d_job_store_lookup(store, 2));
	g_assert_true(av1d_job_store_lookup_by_path(store, "/lib/a.mkv") == old);
	g_assert_true(av1d_job_store_lookup_by_identity(store, &identity) == old);
	g_assert_cmpuint(av1d_job_store_get_size(store), ==, 1);
	/* a reference taken before stays valid */
	g_assert_cmpstr(kept->source_path, ==, "/lib/a.mkv");

	g_assert_false(av1d_job_store_remove(store, 2, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_NOT_FOUND);
	again = open_store(dir);
	g_assert_cmpuint(av1d_job_store_get_size(again), ==, 1);
	remove_tree(dir);
}

static void
test_ids_unique_and_increasing_across_reloads(void)
{
	g_autofree gchar *dir = make_dir();
	guint64 last = 0;

	for (guint round = 0; round < 4; round++) {
		g_autoptr(Av1dJobStore) store = open_store(dir);

		g_assert_cmpuint(av1d_job_store_get_size(store), ==, round * 3);
		for (guint i = 0; i < 3; i++) {
			guint64 id = create_id(store, "/lib/a.mkv");

			g_assert_cmpuint(id, ==, last + 1);
			last = id;
		}
	}
	remove_tree(dir);
}

static void
test_ids_not_reused_after_newest_file_deleted(void)
{
	g_autofree gchar *dir = make_dir();
	g_autoptr(Av1dJobStore) store = open_store(dir);
	g_autoptr(Av1dJobStore) again = NULL;
	g_autoptr(Av1dJobStore) third = NULL;
	g_autofree gchar *path = g_build_filename(dir, "3.json", NULL);

	for (guint i = 0; i < 3; i++)
		create_id(store, "/lib/a.mkv");
	g_assert_cmpint(g_unlink(path), ==, 0);
	again = open_store(dir);
	g_assert_cmpuint(av1d_job_store_get_size(again), ==, 2);
	g_assert_cmpuint(create_id(again, "/lib/b.mkv"), ==, 4);

	/* removed through the store, and then the counter lost too: the
	 * highest file still counts */
	g_assert_true(av1d_job_store_remove(again, 4, NULL));
	third = open_store(dir);
	g_assert_cmpuint(create_id(third, "/lib/c.mkv"), ==, 5);
	remove_counter(dir);
	g_clear_object(&third);
	third = open_store(dir);
	g_assert_cmpuint(create_id(third, "/lib/d.mkv"), ==, 6);
	remove_tree(dir);
}

static void
test_create_before_load_is_refused(void)
{
	g_autofree gchar *dir = make_dir();
	g_autoptr(Av1dJobStore) store = open_store(dir);
	g_autoptr(Av1dJobStore) unloaded = NULL;
	Av1dJob *job = create(store, "/lib/a.mkv");
	Av1dJob *refused = NULL;
	g_autoptr(Av1dJob) stranger = av1d_job_new(job->id, "/lib/a.mkv");
	g_autoptr(Av1dJob) unknown = av1d_job_new(77, "/lib/x.mkv");
	g_autoptr(GError) error = NULL;

	unloaded = av1d_job_store_new(dir, &error);
	g_assert_no_error(error);
	refused = av1d_job_store_create_job(unloaded, "/lib/b.mkv", &error);
	g_assert_null(refused);
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE);
	g_clear_error(&error);

	/* only the store's own instance may be saved */
	g_assert_false(av1d_job_store_save(store, stranger, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS);
	g_clear_error(&error);
	g_assert_false(av1d_job_store_save(store, unknown, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_NOT_FOUND);
	g_assert_false(exists(dir, "77.json"));
	remove_tree(dir);
}

/* the child of a quarantine test: job 3 of 1..3 is bad */
static void
quarantine_child(void)
{
	g_autoptr(Av1dJobStore) store = NULL;

	allow_warnings();
	store = open_store(g_getenv(DIR_ENV));
	g_assert_cmpuint(av1d_job_store_get_size(store), ==, 2);
	g_assert_cmpuint(av1d_job_store_get_corrupt_count(store), ==, 1);
	g_assert_nonnull(av1d_job_store_lookup(store, 1));
	g_assert_nonnull(av1d_job_store_lookup(store, 2));
	g_assert_null(av1d_job_store_lookup(store, 3));
}

/* spoils the newest job file with @corrupt, loads in a child (the warning
 * is the point) and checks that the file was moved aside unchanged, the
 * others loaded, and its id stays used even without the counter */
static void
check_quarantine(void (*corrupt)(const gchar *dir, gchar *valid, gsize length),
		 const gchar *stderr_pattern)
{
	g_autofree gchar *dir = NULL;
	g_autofree gchar *valid = NULL;
	g_autofree gchar *spoiled = NULL;
	g_autofree gchar *moved = NULL;
	g_autoptr(Av1dJobStore) store = NULL;
	gsize length = 0;

	if (g_test_subprocess()) {
		quarantine_child();
		return;
	}
	dir = make_dir();
	store = open_store(dir);
	for (guint i = 0; i < 3; i++)
		create_id(store, "/lib/a.mkv");
	g_clear_object(&store);
	valid = read_file(dir, "3.json", &length);
	corrupt(dir, valid, length);
	spoiled = read_file(dir, "3.json", NULL);
	remove_counter(dir);

	g_setenv(DIR_ENV, dir, TRUE);
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_passed();
	g_test_trap_assert_stderr(stderr_pattern);
	g_assert_false(exists(dir, "3.json"));
	moved = read_file(dir, "3.json.corrupt", NULL);
	g_assert_cmpstr(moved, ==, spoiled);

	remove_counter(dir);
	store = open_store(dir);
	g_assert_cmpuint(av1d_job_store_get_size(store), ==, 2);
	g_assert_cmpuint(av1d_job_store_get_corrupt_count(store), ==, 0);
	g_assert_cmpuint(create_id(store, "/lib/b.mkv"), ==, 4);
	remove_tree(dir);
}

static void
corrupt_with_garbage(const gchar *dir, gchar *valid, gsize length)
{
	write_file(dir, "3.json", "{\"id\": 3, \"source_path\": \x01 garbage", -1);
}

static void
corrupt_by_truncating(const gchar *dir, gchar *valid, gsize length)
{
	write_file(dir, "3.json", valid, (gssize)(length / 2));
}

static void
corrupt_by_emptying(const gchar *dir, gchar *valid, gsize length)
{
	write_file(dir, "3.json", "", 0);
}

static void
corrupt_with_wrong_type(const gchar *dir, gchar *valid, gsize length)
{
	gchar *status = strstr(valid, "\"pending\"");

	g_assert_nonnull(status);
	memcpy(status, "12345678 ", 9);
	write_file(dir, "3.json", valid, (gssize)length);
}

static void
corrupt_with_wrong_id(const gchar *dir, gchar *valid, gsize length)
{
	gchar *id = strstr(valid, "\"id\" : 3");

	g_assert_nonnull(id);
	id[7] = '1';
	write_file(dir, "3.json", valid, (gssize)length);
}

static void
test_corrupt_file_is_quarantined(void)
{
	check_quarantine(corrupt_with_garbage, "*job file 3.json: *; moved it to */3.json.corrupt*");
}

static void
test_truncated_file_is_corrupt(void)
{
	check_quarantine(corrupt_by_truncating, "*job file 3.json: *moved it to*3.json.corrupt*");
}

static void
test_empty_file_is_corrupt(void)
{
	check_quarantine(corrupt_by_emptying,
			 "*job file 3.json: empty document; moved it to*3.json.corrupt*");
}

static void
test_wrong_type_is_corrupt_naming_the_key(void)
{
	check_quarantine(corrupt_with_wrong_type,
			 "*job file 3.json: key 'status': expected one of pending, running, "
			 "success, failed, skipped, cancelled; moved it to*");
}

static void
test_id_disagreeing_with_name_is_corrupt(void)
{
	check_quarantine(corrupt_with_wrong_id,
			 "*job file 3.json: key 'id': 1 does not match the file name*");
}

static void
test_quarantine_keeps_earlier_corrupt_copies(void)
{
	g_autofree gchar *dir = NULL;
	g_autofree gchar *first = NULL;
	g_autoptr(Av1dJobStore) store = NULL;

	if (g_test_subprocess()) {
		allow_warnings();
		store = open_store(g_getenv(DIR_ENV));
		g_assert_cmpuint(av1d_job_store_get_corrupt_count(store), ==, 1);
		return;
	}
	dir = make_dir();
	write_file(dir, "5.json.corrupt", "first", -1);
	write_file(dir, "5.json", "second", -1);
	g_setenv(DIR_ENV, dir, TRUE);
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_passed();
	g_test_trap_assert_stderr("*5.json*moved it to*5.json.corrupt.2*");
	first = read_file(dir, "5.json.corrupt", NULL);
	g_assert_cmpstr(first, ==, "first");
	g_assert_true(exists(dir, "5.json.corrupt.2"));
	store = open_store(dir);
	g_assert_cmpuint(create_id(store, "/lib/a.mkv"), ==, 6);
	remove_tree(dir);
}

static void
test_damaged_counter_is_reported(void)
{
	g_autofree gchar *dir = NULL;
	g_autoptr(Av1dJobStore) store = NULL;

	if (g_test_subprocess()) {
		allow_warnings();
		store = open_store(g_getenv(DIR_ENV));
		g_assert_cmpuint(create_id(store, "/lib/b.mkv"), ==, 3);
		return;
	}
	dir = make_dir();
	store = open_store(dir);
	create_id(store, "/lib/a.mkv");
	create_id(store, "/lib/a.mkv");
	write_file(dir, "next-id", "twelve\n", -1);
	g_setenv(DIR_ENV, dir, TRUE);
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_passed();
	g_test_trap_assert_stderr("*id counter*next-id is damaged*");
	g_clear_object(&store);
	store = open_store(dir);
	g_assert_cmpuint(create_id(store, "/lib/c.mkv"), ==, 4);
	remove_tree(dir);
}

static void
test_leftover_temp_files_removed_others_ignored(void)
{
	g_autofree gchar *dir = make_dir();
	g_autoptr(Av1dJobStore) store = open_store(dir);
	g_autoptr(Av1dJobStore) again = NULL;
	const gchar *const ignored[] = {"notes.txt", "01.json", "2.json.bak", ".hidden", "x.json",
					NULL};

	create_id(store, "/lib/a.mkv");
	write_file(dir, ".1.json.tmp-AbC123", "{\"half", -1);
	write_file(dir, ".next-id.tmp-zzzzzz", "9", -1);
	for (guint i = 0; ignored[i] != NULL; i++)
		write_file(dir, ignored[i], "{}", -1);

	again = open_store(dir);
	g_assert_false(exists(dir, ".1.json.tmp-AbC123"));
	g_assert_false(exists(dir, ".next-id.tmp-zzzzzz"));
	for (guint i = 0; ignored[i] != NULL; i++)
		g_assert_true(exists(dir, ignored[i]));
	g_assert_cmpuint(av1d_job_store_get_size(again), ==, 1);
	g_assert_cmpuint(av1d_job_store_get_corrupt_count(again), ==, 0);
	remove_tree(dir);
}

static void
test_crash_before_rename_keeps_old_contents(void)
{
	g_autofree gchar *dir = NULL;
	g_autofree gchar *before = NULL;
	g_autofree gchar *after = NULL;
	g_autoptr(Av1dJobStore) store = NULL;
	Av1dJob *job = NULL;

	if (g_test_subprocess()) {
		store = open_store(g_getenv(DIR_ENV));
		av1d_job_set_reason(av1d_job_store_lookup(store, 1), "new contents");
		g_setenv("AV1D_CRASH_AT", "store-before-rename", TRUE);
		av1d_job_store_save(store, av1d_job_store_lookup(store, 1), NULL);
		return; /* only reached when the fault point did not fire */
	}
	dir = make_dir();
	store = open_store(dir);
	job = create(store, "/lib/a.mkv");
	av1d_job_set_reason(job, "old contents");
	save(store, job);
	before = read_file(dir, "1.json", NULL);

	g_setenv(DIR_ENV, dir, TRUE);
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
	g_assert_false(g_test_trap_has_passed());
	g_test_trap_assert_stderr_unmatched("*ERROR*");
	/* the child died between writing the temp file and renaming it */
	g_assert_cmpuint(count_names(dir, ".1.json.tmp-"), ==, 1);
	after = read_file(dir, "1.json", NULL);
	g_assert_cmpstr(after, ==, before);

	g_clear_object(&store);
	store = open_store(dir);
	g_assert_cmpstr(av1d_job_store_lookup(store, 1)->reason, ==, "old contents");
	g_assert_cmpuint(count_names(dir, "."), ==, 0);
	remove_tree(dir);
}

static void
test_write_atomic_replaces_and_reports_errors(void)
{
	g_autofree gchar *dir = make_dir();
	g_autofree gchar *path = g_build_filename(dir, "sidecar", NULL);
	g_autofree gchar *missing = g_build_filename(dir, "no", "such", NULL);
	g_autofree gchar *contents = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_true(av1d_file_write_atomic(path, "one", 3, 0640, &error));
	g_assert_true(av1d_file_write_atomic(path, "two!", 4, 0644, &error));
	g_assert_no_error(error);
	contents = read_file(dir, "sidecar", NULL);
	g_assert_cmpstr(contents, ==, "two!");
	g_assert_cmpuint(file_mode(dir, "sidecar"), ==, 0644);

	g_assert_false(av1d_file_write_atomic(missing, "x", 1, 0600, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_NOT_FOUND);
	g_assert_nonnull(strstr(error->message, missing));
	g_clear_error(&error);

	/* root ignores permissions, so this part needs an ordinary user */
	if (geteuid() != 0) {
		g_assert_cmpint(g_chmod(dir, 0500), ==, 0);
		g_assert_false(av1d_file_write_atomic(path, "three", 5, 0600, &error));
		g_assert_cmpint(g_chmod(dir, 0700), ==, 0);
		g_assert_error(error, AV1D_ERROR, AV1D_ERROR_PERMISSION_DENIED);
		g_assert_nonnull(strstr(error->message, path));
	}
	g_assert_cmpuint(count_names(dir, "."), ==, 0);
	remove_tree(dir);
}

/* enough files for the loader to use its threads */
static void
test_many_jobs_load_in_id_order(void)
{
	g_autofree gchar *dir = make_dir();
	g_autoptr(Av1dJobStore) store = NULL;
	g_autoptr(GPtrArray) jobs = NULL;
	const guint count = 2100; /* just over the threads threshold */

	for (guint i = 1; i <= count; i++) {
		g_autofree gchar *source = g_strdup_printf("/lib/movie %u.mkv", i % 1000);
		g_autoptr(Av1dJob) job = av1d_job_new(i, source);
		g_autofree gchar *name = g_strdup_printf("%u.json", i);
		g_autofree gchar *data = av1d_job_to_data(job, NULL);

		write_file(dir, name, data, -1);
	}
	store = open_store(dir);
	jobs = av1d_job_store_get_jobs(store);
	g_assert_cmpuint(jobs->len, ==, count);
	for (guint i = 0; i < jobs->len; i++)
		g_assert_cmpuint(((Av1dJob *)g_ptr_array_index(jobs, i))->id, ==, i + 1);
	g_assert_cmpuint(av1d_job_store_lookup_by_path(store, "/lib/movie 7.mkv")->id, ==, 2007);
	g_assert_cmpuint(av1d_job_store_lookup_by_path(store, "/lib/movie 0.mkv")->id, ==, 2000);
	g_assert_cmpuint(create_id(store, "/lib/new.mkv"), ==, count + 1);
	remove_tree(dir);
}

static void
test_non_utf8_source_paths_survive_the_store(void)
{
	g_autofree gchar *dir = make_dir();
	g_autoptr(Av1dJobStore) store = open_store(dir);
	g_autoptr(Av1dJobStore) again = NULL;
	Av1dJob *job = create(store, "/lib/caf\xe9.mkv");

	again = open_store(dir);
	g_assert_cmpuint(av1d_job_store_lookup_by_path(again, "/lib/caf\xe9.mkv")->id, ==, job->id);
	remove_tree(dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/av1d/job-store/new-creates-a-private-directory",
			test_new_creates_a_private_directory);
	g_test_add_func("/av1d/job-store/create-save-and-reload-keep-every-job",
			test_create_save_reload_keeps_every_job);
	g_test_add_func("/av1d/job-store/files-are-private-and-named-by-id",
			test_files_are_private_and_named_by_id);
	g_test_add_func("/av1d/job-store/lookups-by-id-path-and-identity-find-the-newest-job",
			test_lookups_find_the_newest_job);
	g_test_add_func("/av1d/job-store/path-index-follows-renames",
			test_path_index_follows_renames);
	g_test_add_func("/av1d/job-store/remove-deletes-the-file-and-uncovers-older-jobs",
			test_remove_deletes_the_file);
	g_test_add_func("/av1d/job-store/ids-are-unique-and-increasing-across-reloads",
			test_ids_unique_and_increasing_across_reloads);
	g_test_add_func("/av1d/job-store/ids-are-not-reused-after-the-newest-job-file-is-deleted",
			test_ids_not_reused_after_newest_file_deleted);
	g_test_add_func("/av1d/job-store/create-before-load-and-saving-strangers-are-refused",
			test_create_before_load_is_refused);
	g_test_add_func("/av1d/job-store/corrupt-job-file-is-moved-aside-and-the-rest-load",
			test_corrupt_file_is_quarantined);
	g_test_add_func("/av1d/job-store/truncated-job-file-is-treated-as-corrupt",
			test_truncated_file_is_corrupt);
	g_test_add_func("/av1d/job-store/empty-job-file-is-treated-as-corrupt",
			test_empty_file_is_corrupt);
	g_test_add_func("/av1d/job-store/mistyped-job-file-is-corrupt-and-the-key-is-named",
			test_wrong_type_is_corrupt_naming_the_key);
	g_test_add_func("/av1d/job-store/job-file-whose-id-disagrees-with-its-name-is-corrupt",
			test_id_disagreeing_with_name_is_corrupt);
	g_test_add_func("/av1d/job-store/quarantine-keeps-earlier-corrupt-copies",
			test_quarantine_keeps_earlier_corrupt_copies);
	g_test_add_func("/av1d/job-store/damaged-counter-is-reported-and-ids-stay-fresh",
			test_damaged_counter_is_reported);
	g_test_add_func("/av1d/job-store/leftover-temp-files-are-removed-and-others-ignored",
			test_leftover_temp_files_removed_others_ignored);
	g_test_add_func("/av1d/job-store/crash-before-rename-keeps-the-old-contents",
			test_crash_before_rename_keeps_old_contents);
	g_test_add_func("/av1d/job-store/atomic-write-replaces-and-names-the-file-on-error",
			test_write_atomic_replaces_and_reports_errors);
	g_test_add_func("/av1d/job-store/many-jobs-load-in-id-order",
			test_many_jobs_load_in_id_order);
	g_test_add_func("/av1d/job-store/non-utf8-source-paths-survive-the-store",
			test_non_utf8_source_paths_survive_the_store);

	return g_test_run();
}
