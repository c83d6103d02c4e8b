#include "config.h"

#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "av1d-error.h"
#include "av1d-job.h"

/* a job with every field away from its default, so that a field the writer
 * or the reader forgets cannot go unnoticed */
static Av1dJob *
make_full_job(void)
{
	const gchar *const argv[] = {"ffmpeg", "-i", "/lib/Movies/a b.mkv", "", "-c:v", "av1_qsv",
				     NULL};
	Av1dJob *job = av1d_job_new(42, "/lib/Movies/a b.mkv");

	job->output_path = g_strdup("/lib/Movies/.a b.av1d.mkv");
	job->created_at = G_GINT64_CONSTANT(1700000000123456);
	job->started_at = G_GINT64_CONSTANT(1700000100000001);
	job->finished_at = G_GINT64_CONSTANT(1700003600999999);
	job->status = AV1D_JOB_STATUS_FAILED;
	job->stage = AV1D_JOB_STAGE_VERIFYING;
	job->reason = g_strdup("tab\there, \"quoted\", caf\xc3\xa9, ctrl \x01, back\\slash");
	job->original_bytes = G_GUINT64_CONSTANT(8123456789012);
	job->new_bytes = G_GUINT64_CONSTANT(4123456789012);
	job->is_web_like = TRUE;
	job->web_score = 0.1;
	job->video_codec = g_strdup("hevc");
	job->video_bitrate = 12345678;
	job->video_width = 3840;
	job->video_height = 2160;
	job->video_frame_rate = 24000.0 / 1001.0;
	job->av1_quality = -3;
	job->source_bit_depth = 10;
	job->source_pix_fmt = g_strdup("yuv420p10le");
	job->target_bit_depth = 12;
	job->av1_profile = g_strdup("professional");
	job->is_hdr = TRUE;
	job->encoder = g_strdup("av1_qsv");
	av1d_job_set_argv(job, argv);
	job->progress = 0.625;
	job->fps = 43.21;
	/* the top bit set: inode numbers on overlayfs and NFS can use it */
	job->identity.dev = G_GUINT64_CONSTANT(0x8000000000000801);
	job->identity.ino = G_MAXUINT64 - 5;
	job->identity.size = G_GUINT64_CONSTANT(8123456789012);
	job->identity.mtime_ns = G_GINT64_CONSTANT(1700000000123456789);
	return job;
}

static Av1dJob *
round_trip(const Av1dJob *job)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *data = NULL;
	Av1dJob *copy;
	gsize length = 0;

	data = av1d_job_to_data(job, &length);
	g_assert_cmpuint(length, ==, strlen(data));
	g_assert_true(g_utf8_validate(data, -1, NULL));
	copy = av1d_job_from_data(data, (gssize)length, &error);
	g_assert_no_error(error);
	g_assert_nonnull(copy);
	return copy;
}

static void
test_round_trip_keeps_every_field(void)
{
	g_autoptr(Av1dJob) job = make_full_job();
	g_autoptr(Av1dJob) copy = round_trip(job);

	g_assert_cmpuint(copy->id, ==, 42);
	g_assert_cmpstr(copy->source_path, ==, job->source_path);
	g_assert_cmpstr(copy->output_path, ==, job->output_path);
	g_assert_cmpint(copy->created_at, ==, job->created_at);
	g_assert_cmpint(copy->started_at, ==, job->started_at);
	g_assert_cmpint(copy->finished_at, ==, job->finished_at);
	g_assert_cmpint(copy->status, ==, AV1D_JOB_STATUS_FAILED);
	g_assert_cmpint(copy->stage, ==, AV1D_JOB_STAGE_VERIFYING);
	g_assert_cmpstr(copy->reason, ==, job->reason);
	g_assert_cmpuint(copy->original_bytes, ==, job->original_bytes);
	g_assert_cmpuint(copy->new_bytes, ==, job->new_bytes);
	g_assert_true(copy->is_web_like);
	g_assert_cmpfloat(copy->web_score, ==, 0.1);
	g_assert_cmpstr(copy->video_codec, ==, "hevc");
	g_assert_cmpuint(copy->video_bitrate, ==, 12345678);
	g_assert_cmpuint(copy->video_width, ==, 3840);
	g_assert_cmpuint(copy->video_height, ==, 2160);
	g_assert_cmpfloat(copy->video_frame_rate, ==, 24000.0 / 1001.0);
	g_assert_cmpint(copy->av1_quality, ==, -3);
	g_assert_cmpuint(copy->source_bit_depth, ==, 10);
	g_assert_cmpstr(copy->source_pix_fmt, ==, "yuv420p10le");
	g_assert_cmpuint(copy->target_bit_depth, ==, 12);
	g_assert_cmpstr(copy->av1_profile, ==, "professional");
	g_assert_true(copy->is_hdr);
	g_assert_cmpstr(copy->encoder, ==, "av1_qsv");
	g_assert_true(g_strv_equal((const gchar *const *)copy->argv,
				   (const gchar *const *)job->argv));
	g_assert_cmpfloat(copy->progress, ==, 0.625);
	g_assert_cmpfloat(copy->fps, ==, 43.21);
	g_assert_cmpuint(copy->identity.dev, ==, job->identity.dev);
	g_assert_cmpuint(copy->identity.ino, ==, job->identity.ino);
	g_assert_cmpuint(copy->identity.size, ==, job->identity.size);
	g_assert_cmpint(copy->identity.mtime_ns, ==, job->identity.mtime_ns);
	g_assert_true(av1d_file_identity_equal(&copy->identity, &job->identity));
}

static void
test_times_are_rfc3339_utc_with_microseconds(void)
{
	g_autoptr(Av1dJob) job = make_full_job();
	g_autoptr(JsonNode) node = NULL;
	JsonObject *object;

	job->started_at = 0;
	node = av1d_job_to_json(job);
	object = json_node_get_object(node);
	g_assert_cmpstr(json_object_get_string_member(object, "created_at"), ==,
			"2023-11-14T22:13:20.123456Z");
	g_assert_cmpstr(json_object_get_string_member(object, "finished_at"), ==,
			"2023-11-14T23:13:20.999999Z");
	g_assert_true(json_object_get_null_member(object, "started_at"));
	g_assert_cmpstr(json_object_get_string_member(object, "status"), ==, "failed");
	g_assert_cmpstr(json_object_get_string_member(object, "stage"), ==, "verifying");
}

static gint64
time_through_json(gint64 usec)
{
	g_autoptr(Av1dJob) job = av1d_job_new(1, "/a.mkv");
	g_autoptr(Av1dJob) copy = NULL;

	job->created_at = usec;
	copy = round_trip(job);
	return copy->created_at;
}

/* the writer's format, other RFC 3339 spellings, and dates that do not exist */
static void
test_times_round_trip_to_the_microsecond(void)
{
	const gint64 edges[] = {1,
				G_GINT64_CONSTANT(951782399999999),    /* 2000-02-28 end */
				G_GINT64_CONSTANT(951782400000000),    /* 2000-02-29 */
				G_GINT64_CONSTANT(4107542400000000),   /* 2100-03-01 */
				G_GINT64_CONSTANT(253402300799999999), /* 9999-12-31 end */
				G_GINT64_CONSTANT(1709251199999999)};  /* 2024-02-29 end */
	g_autoptr(GRand) rand = g_rand_new_with_seed(1970);
	const gchar *const spellings[][2] = {
	    {"2024-02-29T23:59:59.999999Z", "1709251199999999"},
	    {"2024-03-01T00:59:59.999999+01:00", "1709251199999999"},
	    {"2024-02-29T23:59:59Z", "1709251199000000"},
	    {"2023-02-29T00:00:00.000000Z", NULL},
	    {"2024-13-01T00:00:00.000000Z", NULL},
	    {"2024-01-01T24:00:00.000000Z", NULL},
	};

	for (guint i = 0; i < G_N_ELEMENTS(edges); i++)
		g_assert_cmpint(time_through_json(edges[i]), ==, edges[i]);
	for (guint i = 0; i < 2000; i++) {
		gint64 usec = (gint64)(g_rand_double(rand) * 253402300799999999.0) + 1;

		g_assert_cmpint(time_through_json(usec), ==, usec);
	}
	for (guint i = 0; i < G_N_ELEMENTS(spellings); i++) {
		g_autofree gchar *doc = g_strdup_printf(
		    "{\"id\": 1, \"source_path\": \"/a\", \"status\": \"pending\", "
		    "\"stage\": \"queued\", \"created_at\": \"%s\"}",
		    spellings[i][0]);
		g_autoptr(GError) error = NULL;
		g_autoptr(Av1dJob) job = av1d_job_from_data(doc, -1, &error);

		if (spellings[i][1] == NULL) {
			g_assert_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS);
			continue;
		}
		g_assert_no_error(error);
		g_assert_cmpint(job->created_at, ==, g_ascii_strtoll(spellings[i][1], NULL, 10));
	}
}

static void
test_defaults_round_trip_as_nulls(void)
{
	g_autoptr(Av1dJob) job = av1d_job_new(1, "/a.mkv");
	g_autoptr(Av1dJob) copy = NULL;

	job->created_at = 0;
	job->progress = NAN;
	job->fps = INFINITY;
	copy = round_trip(job);
	g_assert_cmpint(copy->created_at, ==, 0);
	g_assert_null(copy->output_path);
	g_assert_null(copy->reason);
	g_assert_null(copy->argv);
	g_assert_cmpfloat(copy->progress, ==, 0.0);
	g_assert_cmpfloat(copy->fps, ==, 0.0);
	g_assert_cmpint(copy->status, ==, AV1D_JOB_STATUS_PENDING);
	g_assert_cmpint(copy->stage, ==, AV1D_JOB_STAGE_QUEUED);
}

/* json-glib 1.6 prints 1e-14 as "1e-14.0", which it cannot read back, so
 * magnitudes that measure nothing are stored as 0 or ±1e16; the rest of the
 * range round trips exactly */
static void
test_extreme_doubles_stay_readable(void)
{
	/* written, read back */
	const gdouble values[][2] = {
	    {1e-14, 0.0},       {-3e-300, 0.0},  {5e-324, 0.0},        {9.9e-5, 0.0},
	    {1e20, 1e16},       {-1e300, -1e16}, {123456789e10, 1e16}, {1e-4, 1e-4},
	    {-1.2e-4, -1.2e-4}, {1e16, 1e16},    {9e15 + 1, 9e15 + 1},
	};

	for (guint i = 0; i < G_N_ELEMENTS(values); i++) {
		g_autoptr(Av1dJob) job = av1d_job_new(1, "/a.mkv");
		g_autoptr(Av1dJob) copy = NULL;

		job->fps = values[i][0];
		copy = round_trip(job);
		g_assert_cmpfloat(copy->fps, ==, values[i][1]);
	}
}

static void
test_non_utf8_paths_round_trip_as_file_uris(void)
{
	const gchar *const argv[] = {"ffmpeg", "-i", "/lib/caf\xe9/\xff.mkv", "title=\xfe", NULL};
	g_autoptr(Av1dJob) job = av1d_job_new(7, "/lib/caf\xe9/\xff.mkv");
	g_autoptr(Av1dJob) copy = NULL;
	g_autofree gchar *data = NULL;

	job->output_path = g_strdup("/lib/caf\xe9/.\xff.av1d.mkv");
	av1d_job_set_argv(job, argv);
	data = av1d_job_to_data(job, NULL);
	g_assert_true(g_utf8_validate(data, -1, NULL));
	g_assert_nonnull(strstr(data, "\"file:///lib/caf%E9/%FF.mkv\""));
	copy = round_trip(job);
	g_assert_cmpstr(copy->source_path, ==, job->source_path);
	g_assert_cmpstr(copy->output_path, ==, job->output_path);
	g_assert_cmpstr(copy->argv[2], ==, argv[2]);
	/* not a path, so it cannot be a URI: repaired rather than lost */
	g_assert_true(g_utf8_validate(copy->argv[3], -1, NULL));
	g_assert_true(g_str_has_prefix(copy->argv[3], "title="));
}

static void
test_unknown_keys_ignored_and_optional_keys_default(void)
{
	const gchar *text = "{\"id\": 3, \"source_path\": \"/m/x.mkv\", \"status\": \"running\","
			    " \"stage\": \"encoding\", \"from_the_future\": {\"a\": [1, 2]},"
			    " \"progress\": 1, \"created_at\": \"2024-01-02T03:04:05Z\"}";
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dJob) job = av1d_job_from_data(text, -1, &error);

	g_assert_no_error(error);
	g_assert_cmpuint(job->id, ==, 3);
	g_assert_cmpint(job->status, ==, AV1D_JOB_STATUS_RUNNING);
	g_assert_cmpint(job->stage, ==, AV1D_JOB_STAGE_ENCODING);
	g_assert_cmpfloat(job->progress, ==, 1.0);
	g_assert_cmpint(job->created_at, ==, G_GINT64_CONSTANT(1704164645000000));
	g_assert_cmpint(job->finished_at, ==, 0);
	g_assert_cmpuint(job->original_bytes, ==, 0);
	g_assert_null(job->video_codec);
	g_assert_false(job->is_hdr);
	g_assert_cmpuint(job->identity.ino, ==, 0);
}

typedef struct {
	const gchar *key;
	const gchar *json; /* NULL: remove the key */
	const gchar *expect;
} BadKey;

static const BadKey bad_keys[] = {
    {"id", NULL, "key 'id'"},
    {"source_path", NULL, "key 'source_path'"},
    {"status", NULL, "key 'status'"},
    {"stage", NULL, "key 'stage'"},
    {"id", "\"7\"", "key 'id'"},
    {"id", "0", "key 'id'"},
    {"id", "-1", "key 'id'"},
    {"id", "null", "key 'id'"},
    {"source_path", "42", "key 'source_path'"},
    {"source_path", "\"\"", "key 'source_path'"},
    {"source_path", "null", "key 'source_path'"},
    {"output_path", "42", "key 'output_path'"},
    {"created_at", "\"yesterday\"", "key 'created_at'"},
    {"created_at", "\"1969-12-31T23:59:59Z\"", "key 'created_at'"},
    {"started_at", "12", "key 'started_at'"},
    {"finished_at", "true", "key 'finished_at'"},
    {"status", "\"done\"",
     "key 'status': expected one of pending, running, success, failed, skipped, cancelled"},
    {"status", "1", "key 'status'"},
    {"stage", "\"finished\"",
     "key 'stage': expected one of queued, probing, encoding, verifying, swapping, done"},
    {"reason", "[\"x\"]", "key 'reason'"},
    {"original_bytes", "-1", "key 'original_bytes'"},
    {"original_bytes", "1.5", "key 'original_bytes'"},
    {"new_bytes", "\"1\"", "key 'new_bytes'"},
    {"is_web_like", "1", "key 'is_web_like'"},
    {"web_score", "\"high\"", "key 'web_score'"},
    {"video_codec", "{}", "key 'video_codec'"},
    {"video_bitrate", "true", "key 'video_bitrate'"},
    {"video_width", "-1", "key 'video_width'"},
    {"video_width", "4294967296", "key 'video_width'"},
    {"video_height", "null", "key 'video_height'"},
    {"video_frame_rate", "[]", "key 'video_frame_rate'"},
    {"video_frame_rate", "1e999", "key 'video_frame_rate'"},
    {"av1_quality", "2147483648", "key 'av1_quality'"},
    {"source_bit_depth", "\"8\"", "key 'source_bit_depth'"},
    {"source_pix_fmt", "8", "key 'source_pix_fmt'"},
    {"target_bit_depth", "1.0", "key 'target_bit_depth'"},
    {"av1_profile", "false", "key 'av1_profile'"},
    {"is_hdr", "null", "key 'is_hdr'"},
    {"encoder", "1", "key 'encoder'"},
    {"argv", "\"ffmpeg -i x\"", "key 'argv'"},
    {"argv", "[\"ffmpeg\", 1]", "key 'argv'"},
    {"progress", "\"1\"", "key 'progress'"},
    {"fps", "{}", "key 'fps'"},
    {"identity", "5", "key 'identity'"},
    {"identity", "{\"dev\": \"1\"}", "key 'identity.dev'"},
    {"identity", "{\"ino\": 1.5}", "key 'identity.ino'"},
    {"identity", "{\"size\": -1}", "key 'identity.size'"},
    {"identity", "{\"mtime_ns\": null}", "key 'identity.mtime_ns'"},
};

static void
test_bad_keys_are_named(void)
{
	g_autoptr(Av1dJob) job = make_full_job();

	for (guint i = 0; i < G_N_ELEMENTS(bad_keys); i++) {
		const BadKey *bad = &bad_keys[i];
		g_autoptr(JsonNode) node = av1d_job_to_json(job);
		g_autoptr(GError) error = NULL;
		g_autoptr(Av1dJob) loaded = NULL;
		JsonObject *object = json_node_get_object(node);

		if (bad->json == NULL)
			json_object_remove_member(object, bad->key);
		else
			json_object_set_member(object, bad->key, json_from_string(bad->json, NULL));
		loaded = av1d_job_from_json(node, &error);
		g_assert_null(loaded);
		g_assert_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS);
		if (strstr(error->message, bad->expect) == NULL)
			g_error("%s = %s: expected '%s' in: %s", bad->key, bad->json, bad->expect,
				error->message);
	}
}

static void
test_malformed_documents_are_errors(void)
{
	const gchar *const documents[] = {"", "   ", "[]", "42", "null", "{", "{\"id\": 1,}",
					  "{\"id\": 1} trailing", NULL};

	for (guint i = 0; documents[i] != NULL; i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(Av1dJob) job = av1d_job_from_data(documents[i], -1, &error);

		g_assert_null(job);
		g_assert_nonnull(error);
		g_assert_true(error->domain == AV1D_ERROR);
	}
}

/* rows: from, columns: to, both in enum order; independent of the code */
static const gboolean transitions[AV1D_JOB_STATUS_LAST][AV1D_JOB_STATUS_LAST] = {
    /*              pend   run    succ   fail   skip   cancel */
    /* pending */ {TRUE, TRUE, FALSE, TRUE, TRUE, TRUE},
    /* running */ {TRUE, TRUE, TRUE, TRUE, TRUE, TRUE},
    /* success */ {TRUE, FALSE, TRUE, FALSE, FALSE, FALSE},
    /* failed */ {TRUE, FALSE, FALSE, TRUE, FALSE, FALSE},
    /* skipped */ {TRUE, FALSE, FALSE, FALSE, TRUE, FALSE},
    /* cancelled */ {TRUE, FALSE, FALSE, FALSE, FALSE, TRUE},
};

static void
check_transition(Av1dJobStatus from, Av1dJobStatus to)
{
	g_autoptr(Av1dJob) job = av1d_job_new(5, "/a.mkv");
	g_autoptr(GError) error = NULL;
	gboolean ok;

	job->status = from;
	job->started_at = 11;
	job->finished_at = 22;
	ok = av1d_job_set_status(job, to, &error);
	if (!transitions[from][to]) {
		g_assert_false(ok);
		g_assert_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE);
		g_assert_nonnull(strstr(error->message, av1d_job_status_to_string(from)));
		g_assert_nonnull(strstr(error->message, av1d_job_status_to_string(to)));
		g_assert_cmpint(job->status, ==, from);
		g_assert_cmpint(job->finished_at, ==, 22);
		return;
	}
	g_assert_no_error(error);
	g_assert_true(ok);
	g_assert_cmpint(job->status, ==, to);
	if (from == to) {
		g_assert_cmpint(job->started_at, ==, 11);
		g_assert_cmpint(job->finished_at, ==, 22);
	} else if (to == AV1D_JOB_STATUS_RUNNING) {
		g_assert_cmpint(job->started_at, >, 11);
	} else if (to == AV1D_JOB_STATUS_PENDING) {
		g_assert_cmpint(job->finished_at, ==, 0);
		g_assert_false(av1d_job_is_finished(job));
	} else {
		g_assert_cmpint(job->finished_at, >, 22);
		g_assert_true(av1d_job_is_finished(job));
	}
}

static void
test_status_transitions_follow_the_table(void)
{
	guint legal = 0;

	for (guint from = 0; from < AV1D_JOB_STATUS_LAST; from++) {
		for (guint to = 0; to < AV1D_JOB_STATUS_LAST; to++) {
			check_transition(from, to);
			legal += transitions[from][to];
		}
	}
	g_assert_cmpuint(legal, ==, 5 + 6 + 2 + 2 + 2 + 2);
}

static void
test_status_and_stage_names_round_trip(void)
{
	for (guint i = 0; i < AV1D_JOB_STATUS_LAST; i++) {
		Av1dJobStatus status = AV1D_JOB_STATUS_LAST;

		g_assert_true(av1d_job_status_from_string(av1d_job_status_to_string(i), &status));
		g_assert_cmpint(status, ==, i);
	}
	for (guint i = 0; i < AV1D_JOB_STAGE_LAST; i++) {
		Av1dJobStage stage = AV1D_JOB_STAGE_LAST;

		g_assert_true(av1d_job_stage_from_string(av1d_job_stage_to_string(i), &stage));
		g_assert_cmpint(stage, ==, i);
	}
	g_assert_cmpstr(av1d_job_status_to_string(AV1D_JOB_STATUS_CANCELLED), ==, "cancelled");
	g_assert_cmpstr(av1d_job_stage_to_string(AV1D_JOB_STAGE_SWAPPING), ==, "swapping");
	g_assert_false(av1d_job_status_from_string("Pending", &(Av1dJobStatus){0}));
	g_assert_false(av1d_job_stage_from_string(NULL, &(Av1dJobStage){0}));
}

static void
test_identity_from_path_refuses_links_and_directories(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dir = g_dir_make_tmp("av1d-test-job-XXXXXX", &error);
	g_autofree gchar *file = g_build_filename(dir, "movie.mkv", NULL);
	g_autofree gchar *link = g_build_filename(dir, "link.mkv", NULL);
	g_autofree gchar *missing = g_build_filename(dir, "missing.mkv", NULL);
	Av1dFileIdentity identity = {0};
	Av1dFileIdentity again = {0};
	GStatBuf st;

	g_assert_no_error(error);
	g_assert_true(g_file_set_contents(file, "0123456789", 10, NULL));
	g_assert_cmpint(symlink(file, link), ==, 0);
	g_assert_cmpint(g_lstat(file, &st), ==, 0);

	g_assert_true(av1d_file_identity_from_path(file, &identity, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(identity.dev, ==, st.st_dev);
	g_assert_cmpuint(identity.ino, ==, st.st_ino);
	g_assert_cmpuint(identity.size, ==, 10);
	g_assert_cmpint(identity.mtime_ns, ==,
			(gint64)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);
	g_assert_true(av1d_file_identity_from_path(file, &again, NULL));
	g_assert_true(av1d_file_identity_equal(&identity, &again));
	again.size++;
	g_assert_false(av1d_file_identity_equal(&identity, &again));

	g_assert_false(av1d_file_identity_from_path(link, &again, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS);
	g_assert_nonnull(strstr(error->message, "not a regular file"));
	g_clear_error(&error);
	g_assert_false(av1d_file_identity_from_path(dir, &again, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS);
	g_clear_error(&error);
	g_assert_false(av1d_file_identity_from_path(missing, &again, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_NOT_FOUND);
	g_assert_nonnull(strstr(error->message, "missing.mkv"));

	g_unlink(link);
	g_unlink(file);
	g_rmdir(dir);
}

/* the loader's contract for any input: a job or an error, never both or
 * neither, and an accepted job writes back into a fixed point */
static gboolean
load_any(const gchar *bytes, gsize length)
{
	g_autofree gchar *copy = g_memdup2(bytes, length); /* no NUL: ASan sees overreads */
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dJob) job = av1d_job_from_data(copy, (gssize)length, &error);
	g_autofree gchar *first = NULL;
	g_autofree gchar *second = NULL;
	g_autoptr(Av1dJob) again = NULL;

	g_assert_true((job == NULL) != (error == NULL));
	if (job == NULL)
		return FALSE;
	first = av1d_job_to_data(job, NULL);
	again = av1d_job_from_data(first, -1, &error);
	g_assert_no_error(error);
	second = av1d_job_to_data(again, NULL);
	g_assert_cmpstr(first, ==, second);
	return TRUE;
}

static void
test_loader_survives_every_truncation(void)
{
	g_autoptr(Av1dJob) job = make_full_job();
	gsize length = 0;
	g_autofree gchar *data = av1d_job_to_data(job, &length);
	gsize last_brace = (gsize)(strrchr(data, '}') - data);

	/* nothing short of the closing brace is a whole document */
	for (gsize i = 0; i <= length; i++)
		g_assert_cmpint(load_any(data, i), ==, i > last_brace);
}

/* odd strings and numbers in the writer's own output read back */
static void
test_writers_output_reads_back(void)
{
	const gchar *const argv[] = {"ffmpeg", "-i", "/lib/caf\xe9.mkv", "file://x", NULL};
	g_autoptr(Av1dJob) full = make_full_job();
	g_autoptr(Av1dJob) blank = av1d_job_new(1, "/a.mkv");
	g_autoptr(Av1dJob) bytes = av1d_job_new(2, "/lib/caf\xe9.mkv");
	g_autoptr(Av1dJob) copy = NULL;
	const Av1dJob *jobs[] = {full, blank, bytes};

	av1d_job_set_argv(bytes, argv);
	/* json-glib 1.6 writes \x1f raw, which only it reads */
	bytes->reason = g_strdup("\x1e\x1f\x7f \xe2\x9c\x93");
	bytes->fps = 1e-14;
	bytes->web_score = -0.0;
	for (guint i = 0; i < G_N_ELEMENTS(jobs); i++) {
		gsize length = 0;
		g_autofree gchar *data = av1d_job_to_data(jobs[i], &length);

		g_assert_true(load_any(data, length));
	}
	copy = round_trip(bytes);
	g_assert_cmpstr(copy->reason, ==, bytes->reason);
	g_assert_true(g_strv_equal((const gchar *const *)copy->argv, argv));
}

/* GString is binary safe, which the mutants need (they may hold NULs) */
static void
mutate(GRand *rand, GString *bytes)
{
	static const gchar interesting[] = {'"', '{', '}', '[', ']', ',', ':', '\\', '0', '9',
					    '-', 'e', '.', ' ', 'n', 'u', '\xff', '\xc3', '\0'};
	gsize pos = bytes->len > 0 ? (gsize)g_rand_int_range(rand, 0, (gint32)bytes->len) : 0;
	gsize span = (gsize)g_rand_int_range(rand, 1, 16);
	gchar byte = interesting[g_rand_int_range(rand, 0, G_N_ELEMENTS(interesting))];

	switch (g_rand_int_range(rand, 0, 5)) {
	case 0:
		if (bytes->len > 0)
			bytes->str[pos] ^= (gchar)(1u << g_rand_int_range(rand, 0, 8));
		break;
	case 1:
		if (bytes->len > 0)
			bytes->str[pos] = byte;
		break;
	case 2:
		g_string_erase(bytes, (gssize)pos, (gssize)MIN(span, bytes->len - pos));
		break;
	case 3:
		g_string_insert_len(bytes, (gssize)pos, &byte, 1);
		break;
	default:
		if (pos + span <= bytes->len) {
			g_autofree gchar *chunk = g_memdup2(bytes->str + pos, span);

			g_string_insert_len(bytes, (gssize)pos, chunk, (gssize)span);
		}
		break;
	}
}

static void
test_loader_survives_random_mutations(void)
{
	g_autoptr(Av1dJob) job = make_full_job();
	gsize length = 0;
	g_autofree gchar *data = av1d_job_to_data(job, &length);
	g_autoptr(GRand) rand = g_rand_new_with_seed(0xa71d);
	guint accepted = 0;

	for (guint i = 0; i < 4000; i++) {
		g_autoptr(GString) bytes = g_string_new_len(data, (gssize)length);
		guint rounds = (guint)g_rand_int_range(rand, 1, 4);

		for (guint r = 0; r < rounds; r++)
			mutate(rand, bytes);
		accepted += load_any(bytes->str, bytes->len);
	}
	g_test_message("%u of 4000 mutants read as a job", accepted);
	/* both outcomes must occur often, or the mutations test little */
	g_assert_cmpuint(accepted, >, 100);
	g_assert_cmpuint(accepted, <, 3900);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/av1d/job/json-round-trip-keeps-every-field",
			test_round_trip_keeps_every_field);
	g_test_add_func("/av1d/job/times-are-rfc3339-utc-with-microseconds",
			test_times_are_rfc3339_utc_with_microseconds);
	g_test_add_func("/av1d/job/times-round-trip-to-the-microsecond",
			test_times_round_trip_to_the_microsecond);
	g_test_add_func("/av1d/job/unset-values-round-trip-as-nulls",
			test_defaults_round_trip_as_nulls);
	g_test_add_func("/av1d/job/extreme-doubles-stay-readable",
			test_extreme_doubles_stay_readable);
	g_test_add_func("/av1d/job/non-utf8-paths-round-trip-as-file-uris",
			test_non_utf8_paths_round_trip_as_file_uris);
	g_test_add_func("/av1d/job/unknown-keys-are-ignored-and-missing-optional-keys-default",
			test_unknown_keys_ignored_and_optional_keys_default);
	g_test_add_func("/av1d/job/missing-or-mistyped-keys-are-named-in-the-error",
			test_bad_keys_are_named);
	g_test_add_func("/av1d/job/malformed-documents-are-errors",
			test_malformed_documents_are_errors);
	g_test_add_func("/av1d/job/status-transitions-follow-the-table",
			test_status_transitions_follow_the_table);
	g_test_add_func("/av1d/job/status-and-stage-names-round-trip",
			test_status_and_stage_names_round_trip);
	g_test_add_func("/av1d/job/identity-from-path-refuses-links-and-directories",
			test_identity_from_path_refuses_links_and_directories);
	g_test_add_func("/av1d/job/loader-survives-every-truncation",
			test_loader_survives_every_truncation);
	g_test_add_func("/av1d/job/writers-own-output-reads-back",
			test_writers_output_reads_back);
	g_test_add_func("/av1d/job/loader-survives-random-mutations",
			test_loader_survives_random_mutations);

	return g_test_run();
}
