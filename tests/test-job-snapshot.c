/*
 * The job store's snapshot: a load that takes jobs from it must give
 * exactly what parsing the JSON files gives, whatever happened to the files
 * or to the snapshot since it was written.
 */
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "av1d-job-store.h"
#include "av1d-test-util.h"

#define SNAPSHOT "jobs.snapshot"

typedef struct {
	gchar *dir;
	gchar *snapshot;
} Fixture;

static void
fixture_set_up(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	fx->dir = g_dir_make_tmp("av1d-test-snapshot-XXXXXX", &error);
	g_assert_no_error(error);
	fx->snapshot = g_build_filename(fx->dir, SNAPSHOT, NULL);
}

static void
fixture_tear_down(Fixture *fx, gconstpointer data)
{
	av1d_test_rm_rf(fx->dir);
	g_free(fx->dir);
	g_free(fx->snapshot);
}

/* @min_age_ns: how old a file must be to be cached (the files of these
 * tests are seconds old at most) */
static Av1dJobStore *
open_store_aged(const gchar *dir, gint64 min_age_ns)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dJobStore) store = av1d_job_store_new(dir, &error);

	g_assert_no_error(error);
	av1d_job_store_set_snapshot_min_age(store, min_age_ns);
	g_assert_true(av1d_job_store_load(store, &error));
	g_assert_no_error(error);
	return g_steal_pointer(&store);
}

static Av1dJobStore *
open_store(const gchar *dir)
{
	return open_store_aged(dir, 0);
}

static void
save(Av1dJobStore *store, Av1dJob *job)
{
	g_autoptr(GError) error = NULL;

	g_assert_true(av1d_job_store_save(store, job, &error));
	g_assert_no_error(error);
}

/* every field set, with the values most likely to be mangled */
static void
fill_job(Av1dJob *job, guint n)
{
	const gchar *const argv[] = {"ffmpeg", "-i", "/lib/caf\xc3\xa9/\xff name.mkv", "", "-c:v",
				     "av1_qsv", NULL};

	g_assert_true(av1d_job_set_status(job, AV1D_JOB_STATUS_RUNNING, NULL));
	g_assert_true(av1d_job_set_status(job, AV1D_JOB_STATUS_SUCCESS, NULL));
	job->stage = AV1D_JOB_STAGE_DONE;
	job->output_path = g_strdup_printf("/lib/out %u.mkv", n);
	job->reason = g_strdup(n % 2 == 0 ? "" : "saved 41 %");
	job->original_bytes = G_GUINT64_CONSTANT(123456789012) + n;
	job->new_bytes = 98765 + n;
	job->is_web_like = TRUE;
	job->web_score = 0.625;
	job->video_codec = g_strdup("hevc");
	job->video_bitrate = 12000000;
	job->video_width = 3840;
	job->video_height = 2160;
	job->video_frame_rate = 23.976;
	job->av1_quality = 27;
	job->source_bit_depth = 10;
	job->source_pix_fmt = g_strdup("yuv420p10le");
	job->target_bit_depth = 10;
	job->av1_profile = g_strdup("main");
	job->is_hdr = TRUE;
	job->encoder = g_strdup("docker-qsv");
	av1d_job_set_argv(job, argv);
	job->progress = 1.0;
	job->fps = 87.5;
	job->identity = (Av1dFileIdentity){.dev = 2049, .ino = 1000 + n, .size = 4242,
					   .mtime_ns = G_GINT64_CONSTANT(1700000000123456789)};
}

/* jobs 1..@n: full ones, a bare one, one with an empty argv and a name
 * that is not UTF-8 */
static void
make_store(const gchar *dir, guint n)
{
	g_autoptr(Av1dJobStore) store = open_store(dir);
	const gchar *const no_args[] = {NULL};

	for (guint i = 1; i <= n; i++) {
		g_autofree gchar *path = g_strdup_printf("/lib/Film \xe9 %u.mkv", i);
		Av1dJob *job = av1d_job_store_create_job(store, path, NULL);

		g_assert_nonnull(job);
		if (i % 3 == 1)
			fill_job(job, i);
		else if (i % 3 == 2)
			av1d_job_set_argv(job, no_args);
		save(store, job);
	}
}

/* the whole store as text: every field of every job */
static gchar *
dump_store(Av1dJobStore *store)
{
	g_autoptr(GPtrArray) jobs = av1d_job_store_get_jobs(store);
	g_autoptr(GString) dump = g_string_new(NULL);

	for (guint i = 0; i < jobs->len; i++) {
		Av1dJob *job = g_ptr_array_index(jobs, i);
		g_autofree gchar *data = av1d_job_to_data(job, NULL);

		g_string_append_printf(dump, "%s\nargv %s\n", data,
				       job->argv == NULL ? "null" : "set");
	}
	return g_string_free(g_steal_pointer(&dump), FALSE);
}

/* what the JSON files alone give */
static gchar *
dump_without_snapshot(Fixture *fx)
{
	g_autofree gchar *aside = g_strconcat(fx->dir, ".aside", NULL);
	g_autoptr(Av1dJobStore) store = NULL;
	gboolean had = g_file_test(fx->snapshot, G_FILE_TEST_EXISTS);
	gchar *dump;

	if (had)
		g_assert_cmpint(g_rename(fx->snapshot, aside), ==, 0);
	store = open_store(fx->dir);
	g_assert_cmpuint(av1d_job_store_get_cached_count(store), ==, 0);
	dump = dump_store(store);
	g_assert_cmpint(g_unlink(fx->snapshot), ==, 0); /* the load wrote a new one */
	if (had)
		g_assert_cmpint(g_rename(aside, fx->snapshot), ==, 0);
	return dump;
}

static void
test_first_load_writes_it_and_the_next_uses_it(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dJobStore) parsed = NULL;
	g_autoptr(Av1dJobStore) cached = NULL;
	g_autofree gchar *expected = NULL;
	g_autofree gchar *actual = NULL;

	make_store(fx->dir, 9);
	g_assert_false(g_file_test(fx->snapshot, G_FILE_TEST_EXISTS));
	parsed = open_store(fx->dir);
	g_assert_cmpuint(av1d_job_store_get_cached_count(parsed), ==, 0);
	g_assert_true(g_file_test(fx->snapshot, G_FILE_TEST_IS_REGULAR));
	expected = dump_store(parsed);

	cached = open_store(fx->dir);
	g_assert_cmpuint(av1d_job_store_get_size(cached), ==, 9);
	g_assert_cmpuint(av1d_job_store_get_cached_count(cached), ==, 9);
	actual = dump_store(cached);
	g_assert_cmpstr(actual, ==, expected);
	/* the lookups are built from cached jobs too */
	g_assert_nonnull(av1d_job_store_lookup_by_path(cached, "/lib/Film \xe9 4.mkv"));
}

static void
test_a_saved_job_is_read_from_its_file(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dJobStore) store = NULL;
	g_autoptr(Av1dJobStore) again = NULL;
	Av1dJob *job;

	make_store(fx->dir, 20);
	store = open_store(fx->dir); /* writes the snapshot */
	job = av1d_job_store_lookup(store, 5);
	av1d_job_set_reason(job, "changed after the snapshot");
	save(store, job);
	g_assert_nonnull(av1d_job_store_create_job(store, "/lib/new.mkv", NULL));

	again = open_store(fx->dir);
	g_assert_cmpuint(av1d_job_store_get_size(again), ==, 21);
	g_assert_cmpuint(av1d_job_store_get_cached_count(again), ==, 19);
	g_assert_cmpstr(av1d_job_store_lookup(again, 5)->reason, ==, "changed after the snapshot");
	g_assert_nonnull(av1d_job_store_lookup_by_path(again, "/lib/new.mkv"));
}

/* an edit that keeps the inode and the size still changes the ctime */
static void
test_an_edit_in_place_is_seen(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = g_build_filename(fx->dir, "3.json", NULL);
	g_autofree gchar *contents = NULL;
	g_autoptr(Av1dJobStore) store = NULL;
	gchar *at;
	int fd;

	make_store(fx->dir, 6);
	store = open_store(fx->dir);
	g_clear_object(&store);
	g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
	at = strstr(contents, "Film");
	g_assert_nonnull(at);
	memcpy(at, "Fold", 4);
	/* ctime has the kernel's coarse clock: let it tick past the write */
	g_usleep(20 * 1000);
	fd = open(path, O_WRONLY);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, contents, strlen(contents)), ==, (gssize)strlen(contents));
	close(fd);

	store = open_store(fx->dir);
	g_assert_cmpuint(av1d_job_store_get_cached_count(store), ==, 5);
	g_assert_nonnull(av1d_job_store_lookup_by_path(store, "/lib/Fold \xe9 3.mkv"));
	g_assert_null(av1d_job_store_lookup_by_path(store, "/lib/Film \xe9 3.mkv"));
}

static void
test_a_deleted_job_stays_deleted(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = g_build_filename(fx->dir, "2.json", NULL);
	g_autoptr(Av1dJobStore) store = NULL;

	make_store(fx->dir, 4);
	store = open_store(fx->dir);
	g_clear_object(&store);
	g_assert_cmpint(g_unlink(path), ==, 0);

	store = open_store(fx->dir);
	g_assert_cmpuint(av1d_job_store_get_size(store), ==, 3);
	g_assert_null(av1d_job_store_lookup(store, 2));
	g_assert_cmpuint(av1d_job_store_get_cached_count(store), ==, 3);
}

/* once an eighth of it is stale, the next load writes it again */
static void
test_a_stale_snapshot_is_rewritten(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dJobStore) store = NULL;

	make_store(fx->dir, 16);
	store = open_store(fx->dir);
	for (guint64 id = 1; id <= 2; id++)
		save(store, av1d_job_store_lookup(store, id));
	g_clear_object(&store);
	store = open_store(fx->dir); /* 2 of 16 stale: rewritten */
	g_assert_cmpuint(av1d_job_store_get_cached_count(store), ==, 14);
	g_clear_object(&store);
	store = open_store(fx->dir);
	g_assert_cmpuint(av1d_job_store_get_cached_count(store), ==, 16);
}

static void
write_snapshot_bytes(Fixture *fx, const gchar *data, gsize length)
{
	g_autoptr(GError) error = NULL;

	g_assert_true(g_file_set_contents(fx->snapshot, data, (gssize)length, &error));
	g_assert_no_error(error);
}

/* loads with @snapshot in place and checks the result is the files' */
static void
assert_load_matches(Fixture *fx, const gchar *expected, const gchar *snapshot, gsize length)
{
	g_autoptr(Av1dJobStore) store = NULL;
	g_autofree gchar *actual = NULL;

	write_snapshot_bytes(fx, snapshot, length);
	store = open_store(fx->dir);
	actual = dump_store(store);
	g_assert_cmpstr(actual, ==, expected);
}

/* truncation, zeros, garbage, a foreign GVariant and random byte flips:
 * none changes a job or crashes (the ASan run checks the reads) */
static void
test_damage_never_changes_a_job(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dJobStore) store = NULL;
	g_autoptr(GRand) rand = g_rand_new_with_seed(20261125);
	g_autoptr(GVariant) foreign = g_variant_ref_sink(
		g_variant_new_variant(g_variant_new("(uuasay)", 0x41563144u, 1u, NULL, NULL)));
	g_autofree gchar *expected = NULL;
	g_autofree gchar *valid = NULL;
	g_autofree gchar *zeros = NULL;
	gsize length = 0;

	make_store(fx->dir, 7);
	expected = dump_without_snapshot(fx);
	store = open_store(fx->dir);
	g_assert_true(g_file_get_contents(fx->snapshot, &valid, &length, NULL));
	g_assert_cmpuint(length, >, 64);

	for (gsize cut = 0; cut < length; cut += 1 + length / 97)
		assert_load_matches(fx, expected, valid, cut);
	zeros = g_malloc0(length);
	assert_load_matches(fx, expected, zeros, length);
	assert_load_matches(fx, expected, g_variant_get_data(foreign), g_variant_get_size(foreign));
	for (guint round = 0; round < 300; round++) {
		g_autofree gchar *damaged = g_memdup2(valid, length);
		guint flips = (guint)g_rand_int_range(rand, 1, 4);

		for (guint f = 0; f < flips; f++)
			damaged[g_rand_int_range(rand, 0, (gint32)length)] ^=
				(gchar)(1 << g_rand_int_range(rand, 0, 8));
		assert_load_matches(fx, expected, damaged, length);
	}
}

/* by default a file changed in the last seconds is not cached: a later
 * version could reuse its inode, size and coarse ctime */
static void
test_a_fresh_file_is_not_cached(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dJobStore) store = NULL;

	make_store(fx->dir, 3);
	store = open_store_aged(fx->dir, G_GINT64_CONSTANT(60) * 1000000000);
	g_clear_object(&store);
	store = open_store(fx->dir);
	g_assert_cmpuint(av1d_job_store_get_size(store), ==, 3);
	g_assert_cmpuint(av1d_job_store_get_cached_count(store), ==, 0);
	/* that load cached them (no minimum age): the next one uses it */
	g_clear_object(&store);
	store = open_store(fx->dir);
	g_assert_cmpuint(av1d_job_store_get_cached_count(store), ==, 3);
}

/* a snapshot copied from another store must not lend it jobs */
static void
test_another_stores_snapshot_lends_nothing(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *other = g_dir_make_tmp("av1d-test-snapshot-XXXXXX", &error);
	g_autofree gchar *other_snapshot = g_build_filename(other, SNAPSHOT, NULL);
	g_autofree gchar *expected = NULL;
	g_autofree gchar *contents = NULL;
	g_autoptr(Av1dJobStore) store = NULL;
	gsize length = 0;

	make_store(other, 5);
	store = open_store(other);
	g_clear_object(&store);
	make_store(fx->dir, 5);
	expected = dump_without_snapshot(fx);
	g_assert_true(g_file_get_contents(other_snapshot, &contents, &length, NULL));
	assert_load_matches(fx, expected, contents, length);
	av1d_test_rm_rf(other);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(name, func) \
	g_test_add("/job-snapshot/" name, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
	ADD("first-load-writes-it-and-the-next-uses-it", test_first_load_writes_it_and_the_next_uses_it);
	ADD("a-saved-job-is-read-from-its-file", test_a_saved_job_is_read_from_its_file);
	ADD("an-edit-in-place-is-seen", test_an_edit_in_place_is_seen);
	ADD("a-deleted-job-stays-deleted", test_a_deleted_job_stays_deleted);
	ADD("a-stale-snapshot-is-rewritten", test_a_stale_snapshot_is_rewritten);
	ADD("damage-never-changes-a-job", test_damage_never_changes_a_job);
	ADD("another-stores-snapshot-lends-nothing", test_another_stores_snapshot_lends_nothing);
	ADD("a-fresh-file-is-not-cached", test_a_fresh_file_is_not_cached);
	return g_test_run();
}
