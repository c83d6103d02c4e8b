/*
 * The real av1d binary on a generated library: --once, explain, --dry-run,
 * check and skip, with real ffmpeg/ffprobe; the docker-qsv path through
 * tests/fakes/fake-docker (argv recorded, local ffmpeg in place of av1_qsv).
 */
#include "config.h"

#include <glib/gstdio.h>
#include <gio/gio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "av1d-test-util.h"

typedef struct {
	gchar *dir;     /* temp dir holding everything */
	gchar *library; /* the library root */
	gchar *state;   /* job_state_dir */
	gchar *config;  /* config.toml */
} Fixture;

static void
copy_media(Fixture *fx, const gchar *name, const gchar *as)
{
	av1d_test_copy_media(name, fx->library, as);
}

static void
write_config(Fixture *fx, const gchar *extra)
{
	g_autofree gchar *text =
	    g_strdup_printf("library_roots = [\"%s\"]\nmin_bytes = 1\nstable_secs = 0\n"
			    "max_size_ratio = 1.0\njob_state_dir = \"%s\"\n%s",
			    fx->library, fx->state, extra != NULL ? extra : "");

	g_assert_true(g_file_set_contents(fx->config, text, -1, NULL));
}

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	fx->dir = g_dir_make_tmp("av1d-test-once-XXXXXX", &error);
	g_assert_no_error(error);
	fx->library = g_build_filename(fx->dir, "library", NULL);
	fx->state = g_build_filename(fx->dir, "state", NULL);
	fx->config = g_build_filename(fx->dir, "config.toml", NULL);
	g_assert_cmpint(g_mkdir(fx->library, 0755), ==, 0);
	write_config(fx, NULL);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	av1d_test_rm_rf(fx->dir);
	g_free(fx->dir);
	g_free(fx->library);
	g_free(fx->state);
	g_free(fx->config);
}

static gchar *
library_path(Fixture *fx, const gchar *name)
{
	return g_build_filename(fx->library, name, NULL);
}

static void
assert_av1_output(const gchar *path, const gchar *pix_fmt)
{
	g_autofree gchar *fmt = NULL;
	g_autofree gchar *codec = av1d_test_video_codec(path, &fmt);

	g_assert_cmpstr(codec, ==, "av1");
	g_assert_cmpstr(fmt, ==, pix_fmt);
}

/* the --once line for the file must exist, with @reason_part in it */
static void
assert_job_line(const gchar *out, const gchar *status, const gchar *name, const gchar *reason_part)
{
	g_autofree gchar *line = av1d_test_find_job_line(out, status, name);

	g_assert_nonnull(line);
	if (reason_part != NULL)
		g_assert_nonnull(strstr(line, reason_part));
}

static void
test_once_processes_the_library(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *h264 = library_path(fx, "h264-eng-rus.mkv");
	g_autofree gchar *hdr = library_path(fx, "hevc-hdr10.mkv");
	g_autofree gchar *h264_backup = library_path(fx, "h264-eng-rus.orig.mkv");
	g_autofree gchar *hdr_backup = library_path(fx, "hevc-hdr10.orig.mkv");
	g_autofree gchar *before_h264 = NULL, *before_hdr = NULL, *after_h264 = NULL;
	g_autofree gchar *after_hdr = NULL;
	g_autoptr(Av1dTestRun) r = NULL;

	copy_media(fx, "h264-eng-rus.mkv", NULL);
	copy_media(fx, "hevc-hdr10.mkv", NULL);
	copy_media(fx, "already-av1.mkv", NULL);
	copy_media(fx, "garbage.mkv", NULL);
	before_h264 = av1d_test_checksum(h264);
	before_hdr = av1d_test_checksum(hdr);

	r = AV1D_RUN("--once", "--config", fx->config);
	g_assert_cmpint(r->status, ==, 0);
	assert_job_line(r->out, "success", "/h264-eng-rus.mkv", NULL);
	assert_job_line(r->out, "success", "/hevc-hdr10.mkv", NULL);
	assert_job_line(r->out, "skipped", "/already-av1.mkv", "already AV1");
	assert_job_line(r->out, "failed", "/garbage.mkv", "garbage.mkv");
	/* the encodes took the originals' names, the originals are the
	 * byte-identical backups, and no temp is left */
	after_h264 = av1d_test_checksum(h264_backup);
	g_assert_cmpstr(before_h264, ==, after_h264);
	after_hdr = av1d_test_checksum(hdr_backup);
	g_assert_cmpstr(before_hdr, ==, after_hdr);
	assert_av1_output(h264, "yuv420p");
	assert_av1_output(hdr, "yuv420p10le");
	av1d_test_assert_no_temps(fx->library);
	/* one job file per job */
	g_assert_true(g_file_test(fx->state, G_FILE_TEST_IS_DIR));
}

static void
test_second_run_changes_nothing(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dTestRun) first = NULL;
	g_autoptr(Av1dTestRun) second = NULL;

	copy_media(fx, "h264-eng-rus.mkv", NULL);
	copy_media(fx, "already-av1.mkv", NULL);
	first = AV1D_RUN("--once", "--config", fx->config);
	g_assert_cmpint(first->status, ==, 0);
	assert_job_line(first->out, "success", "/h264-eng-rus.mkv", NULL);
	second = AV1D_RUN("--once", "--config", fx->config);
	g_assert_cmpint(second->status, ==, 0);
	g_assert_cmpstr(second->out, ==, "");
	g_assert_nonnull(strstr(second->err, "0 queued"));
}

static void
test_explain_shows_decisions_and_argv(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = library_path(fx, "h264-eng-rus.mkv");
	g_autofree gchar *before = NULL, *after = NULL;
	g_autoptr(Av1dTestRun) r = NULL;

	copy_media(fx, "h264-eng-rus.mkv", NULL);
	before = av1d_test_list_dir(fx->library);
	r = AV1D_RUN("explain", "--config", fx->config, path);
	g_assert_cmpint(r->status, ==, 0);
	g_assert_nonnull(strstr(r->out, "Decision:"));
	g_assert_nonnull(strstr(r->out, "Track plan:"));
	g_assert_nonnull(strstr(r->out, "Command (software):"));
	g_assert_nonnull(strstr(r->out, "libsvtav1"));
	g_assert_nonnull(strstr(r->out, "-map 0:a:0"));
	/* the Russian audio (0:a:1) is not mapped */
	g_assert_null(strstr(r->out, "-map 0:a:1"));
	g_assert_nonnull(strstr(r->out, "Candidate: candidate"));
	after = av1d_test_list_dir(fx->library);
	g_assert_cmpstr(before, ==, after);
	g_assert_false(g_file_test(fx->state, G_FILE_TEST_EXISTS));
}

static void
test_explain_missing_file_fails(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = library_path(fx, "nope.mkv");
	g_autoptr(Av1dTestRun) r = AV1D_RUN("explain", "--config", fx->config, path);

	g_assert_cmpint(r->status, ==, 1);
	g_assert_nonnull(strstr(r->err, "nope.mkv"));
}

static void
test_dry_run_writes_nothing(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *before = NULL, *after = NULL;
	g_autoptr(Av1dTestRun) r = NULL;

	copy_media(fx, "h264-eng-rus.mkv", NULL);
	copy_media(fx, "movtext.mp4", NULL);
	before = av1d_test_list_dir(fx->library);
	r = AV1D_RUN("--once", "--dry-run", "--config", fx->config);
	g_assert_cmpint(r->status, ==, 0);
	g_assert_nonnull(strstr(r->out, "h264-eng-rus.mkv"));
	g_assert_nonnull(strstr(r->out, "movtext.mp4"));
	g_assert_nonnull(strstr(r->out, "-c:s:0 srt"));
	after = av1d_test_list_dir(fx->library);
	g_assert_cmpstr(before, ==, after);
	g_assert_false(g_file_test(fx->state, G_FILE_TEST_EXISTS));
}

static void
test_check_reports_software_here(Fixture *fx, gconstpointer data)
{
	g_autoptr(Av1dTestRun) r = NULL;

	/* no Intel GPU here: auto must pick software and say why */
	write_config(fx, "gpu_device = \"/nonexistent/dri\"\n");
	r = AV1D_RUN("check", "--config", fx->config);
	g_assert_cmpint(r->status, ==, 0);
	g_assert_nonnull(strstr(r->out, "Encoder: software"));
	g_assert_nonnull(strstr(r->out, "libsvtav1"));
	g_assert_nonnull(strstr(r->out, "Config in effect:"));
	/* the root, its folders and how it is watched */
	g_assert_nonnull(strstr(r->out, "1 folders, watched with inotify"));
	g_assert_nonnull(strstr(r->out, "inotify budget"));
	g_assert_nonnull(strstr(r->out, fx->library));
}

static void
test_check_fails_when_the_encoder_is_unusable(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *fake = g_build_filename(g_getenv("G_TEST_SRCDIR"), "fakes",
						  "fake-docker", NULL);
	g_autofree gchar *extra = g_strdup_printf("encoder = \"docker-qsv\"\ndocker_bin = \"%s\"\n"
						  "gpu_device = \"/nonexistent/dri\"\n",
						  fake);
	const gchar *env[] = {"FAKE_DOCKER_HAS_IMAGE", "0", NULL};
	g_autoptr(Av1dTestRun) r = NULL;

	write_config(fx, extra);
	r = AV1D_RUN_ENV(env, "check", "--config", fx->config);
	g_assert_cmpint(r->status, ==, 1);
	g_assert_nonnull(strstr(r->out, "docker pull"));
}

static void
test_skip_marks_and_is_honoured(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = library_path(fx, "h264-eng-rus.mkv");
	g_autofree gchar *marker = library_path(fx, "h264-eng-rus.mkv.av1skip");
	g_autoptr(Av1dTestRun) skip = NULL;
	g_autoptr(Av1dTestRun) once = NULL;

	copy_media(fx, "h264-eng-rus.mkv", NULL);
	skip = AV1D_RUN("skip", "--config", fx->config, path);
	g_assert_cmpint(skip->status, ==, 0);
	g_assert_true(g_file_test(marker, G_FILE_TEST_EXISTS));
	once = AV1D_RUN("--once", "--config", fx->config);
	g_assert_cmpint(once->status, ==, 0);
	g_assert_cmpstr(once->out, ==, "");
}

/* the production argv through a docker that records it and runs local
 * ffmpeg with libsvtav1 in place of av1_qsv */
static void
test_docker_qsv_through_fake_docker(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *fake = g_build_filename(g_getenv("G_TEST_SRCDIR"), "fakes",
						  "fake-docker", NULL);
	g_autofree gchar *node = g_build_filename(fx->dir, "renderD128", NULL);
	g_autofree gchar *log = g_build_filename(fx->dir, "docker.log", NULL);
	g_autofree gchar *extra = g_strdup_printf("encoder = \"docker-qsv\"\ndocker_bin = \"%s\"\n"
						  "gpu_device = \"%s\"\n",
						  fake, node);
	g_autofree gchar *final = library_path(fx, "h264-eng-rus.mkv");
	g_autofree gchar *recorded = NULL;
	const gchar *env[] = {"FAKE_DOCKER_HAS_IMAGE", "1", "FAKE_DOCKER_LOG", log,
			      "FAKE_DOCKER_STATE", fx->dir, NULL};
	g_autoptr(Av1dTestRun) r = NULL;

	g_assert_cmpint(mknod(node, S_IFCHR | 0666, makedev(1, 3)), ==, 0);
	copy_media(fx, "h264-eng-rus.mkv", NULL);
	write_config(fx, extra);
	r = AV1D_RUN_ENV(env, "--once", "--config", fx->config);
	g_assert_cmpint(r->status, ==, 0);
	assert_job_line(r->out, "success", "/h264-eng-rus.mkv", NULL);
	assert_av1_output(final, "yuv420p");
	g_assert_true(g_file_get_contents(log, &recorded, NULL, NULL));
	g_assert_nonnull(strstr(recorded, "run\n--rm\n--name\nav1d-1\n"));
	g_assert_nonnull(strstr(recorded, "--device\n"));
	g_assert_nonnull(strstr(recorded, node));
	g_assert_nonnull(strstr(recorded, "-c:v\nav1_qsv\n"));
	g_assert_nonnull(strstr(recorded, "format=nv12,hwupload=extra_hw_frames=64"));
	g_assert_null(strstr(recorded, "--privileged"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) g_test_add(path, Fixture, NULL, fixture_setup, func, fixture_teardown)
	ADD("/av1d/once/processes-the-library-and-keeps-originals", test_once_processes_the_library);
	ADD("/av1d/once/second-run-changes-nothing", test_second_run_changes_nothing);
	ADD("/av1d/explain/shows-decisions-plan-and-argv-and-writes-nothing",
	    test_explain_shows_decisions_and_argv);
	ADD("/av1d/explain/missing-file-exits-1", test_explain_missing_file_fails);
	ADD("/av1d/once/dry-run-writes-nothing", test_dry_run_writes_nothing);
	ADD("/av1d/check/reports-software-on-a-machine-without-gpu", test_check_reports_software_here);
	ADD("/av1d/check/exits-1-when-the-configured-encoder-is-unusable",
	    test_check_fails_when_the_encoder_is_unusable);
	ADD("/av1d/skip/marks-the-file-and-once-honours-it", test_skip_marks_and_is_honoured);
	ADD("/av1d/once/docker-qsv-through-fake-docker", test_docker_qsv_through_fake_docker);
	return g_test_run();
}
