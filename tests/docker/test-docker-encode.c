/*
 * Full encodes through the real Docker engine (issue 9): `av1d --once` with
 * encoder = "docker-qsv" runs the production argv, `docker run ... --device
 * <node> --entrypoint ffmpeg <image> ... -c:v av1_qsv ...`, against the
 * stand-in image, whose ffmpeg records the argv it was given and encodes
 * with libsvtav1. Each test checks the container's argv against the one av1d
 * recorded for the job, the AV1 output (bit depth, tracks), the swap (the
 * original byte-identical as the backup, no temp) and who owns the files.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "av1d-docker-test.h"
#include "av1d-plan.h"
#include "av1d-probe.h"
#include "av1d-test-util.h"

typedef struct {
	const gchar *media;	     /* a tests/media.sh file */
	const gchar *as;	     /* where it goes in the library */
	const gchar *final;	     /* the AV1 file, relative to the library */
	const gchar *backup;	     /* the original after the swap */
	const gchar *upload;	     /* nv12 or p010le: -vf format=<upload>,hwupload */
	const gchar *pix_fmt;	     /* of the output */
	guint n_audio;		     /* tracks as planned */
	guint n_subtitles;
	const gchar *subtitle_codec; /* NULL: not checked */
	const gchar *color_transfer; /* NULL: not checked */
	gboolean as_test_user;	     /* run the daemon as the unprivileged user */
} EncodeCase;

static gint
argv_index(const gchar *const *argv, const gchar *arg, guint from)
{
	for (guint i = from; argv[i] != NULL; i++) {
		if (g_str_equal(argv[i], arg))
			return (gint)i;
	}
	return -1;
}

/* "--flag value" in the docker part of the argv */
static void
assert_option(const gchar *const *argv, const gchar *option, const gchar *value)
{
	gint at = argv_index(argv, option, 0);

	if (at < 0 || argv[at + 1] == NULL || g_strcmp0(argv[at + 1], value) != 0)
		g_error("expected %s %s in the argv", option, value);
}

/* the docker run av1d must build (SPEC 6): same-path mounts, the source
 * read-only, its own user, the node's group, never privileged */
static void
assert_docker_part(const gchar *const *argv,
		   guint64 id,
		   const gchar *node,
		   const gchar *source,
		   guint uid,
		   guint gid)
{
	g_autofree gchar *name = g_strdup_printf("av1d-%" G_GUINT64_FORMAT, id);
	g_autofree gchar *label = g_strdup_printf("org.av1d.job=%" G_GUINT64_FORMAT, id);
	g_autofree gchar *user = g_strdup_printf("%u:%u", uid, gid);
	g_autofree gchar *dir = g_path_get_dirname(source);
	g_autofree gchar *pattern = g_strdup_printf("^(%s/\\.av1d-%" G_GUINT64_FORMAT
						    "-[A-Za-z0-9]{6}):\\1$",
						    dir, id);
	g_autofree gchar *output = NULL;
	g_auto(GStrv) temp = NULL;
	gint v;
	g_autofree gchar *source_mount = g_strdup_printf("%s:%s:ro", source, source);
	g_autofree gchar *node_gid = NULL;
	struct stat st;

	g_assert_cmpint(stat(node, &st), ==, 0);
	node_gid = g_strdup_printf("%u", (guint)st.st_gid);
	g_assert_cmpstr(argv[0], ==, "docker");
	g_assert_cmpstr(argv[1], ==, "run");
	g_assert_cmpint(argv_index(argv, "--rm", 0), >, 0);
	assert_option(argv, "--name", name);
	assert_option(argv, "--label", label);
	assert_option(argv, "--device", node);
	assert_option(argv, "--user", user);
	assert_option(argv, "--group-add", node_gid);
	/* only the job's private temp folder is writable, and ffmpeg writes there */
	v = argv_index(argv, "-v", 0);
	g_assert_cmpint(v, >, 0);
	temp = g_regex_split_simple(pattern, argv[v + 1], 0, 0);
	if (g_strv_length(temp) < 2)
		g_error("expected the job's temp folder mounted, got -v %s", argv[v + 1]);
	output = g_build_filename(temp[1], "out.mkv", NULL);
	g_assert_cmpstr(argv[g_strv_length((gchar **)argv) - 1], ==, output);
	g_assert_cmpint(argv_index(argv, source_mount, 0), >, 0);
	assert_option(argv, "--entrypoint", "ffmpeg");
	g_assert_cmpint(argv_index(argv, "--privileged", 0), <, 0);
}

/* what ran inside the container is exactly the ffmpeg part of the job's
 * argv, and it is the QSV encode */
static void
assert_recorded_argv(const gchar *const *argv, const gchar *const *recorded, const gchar *upload)
{
	gint image = argv_index(argv, "--entrypoint", 0) + 2;
	g_autofree gchar *vf = g_strdup_printf("format=%s,hwupload=extra_hw_frames=64", upload);
	g_autofree gchar *expected = NULL;
	g_autofree gchar *got = NULL;
	gint at;

	g_assert_nonnull(recorded);
	g_assert_cmpint(image, >, 2);
	expected = av1d_argv_to_display(argv + image + 1);
	got = av1d_argv_to_display(recorded);
	g_assert_cmpstr(got, ==, expected);
	g_assert_cmpint(argv_index(recorded, "av1_qsv", 0), >, 0);
	g_assert_cmpint(argv_index(recorded, "-global_quality", 0), >, 0);
	at = argv_index(recorded, "-profile:v", 0);
	g_assert_cmpint(at, >, 0);
	g_assert_cmpstr(recorded[at + 1], ==, "main");
	assert_option(recorded, "-vf", vf);
	at = argv_index(recorded, "-init_hw_device", 0);
	g_assert_cmpint(at, >, 0);
	g_assert_true(g_str_has_prefix(recorded[at + 1], "qsv=hw:"));
}

static void
assert_output(const EncodeCase *c, const gchar *path)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dMediaInfo) info = av1d_probe_file_sync("ffprobe", path, NULL, &error);
	guint n_video = 0, n_audio = 0, n_subtitles = 0;

	g_assert_no_error(error);
	for (guint i = 0; i < info->streams->len; i++) {
		const Av1dStreamInfo *s = g_ptr_array_index(info->streams, i);

		switch (s->type) {
		case AV1D_STREAM_TYPE_VIDEO:
			n_video++;
			g_assert_cmpstr(s->codec_name, ==, "av1");
			g_assert_cmpstr(s->pix_fmt, ==, c->pix_fmt);
			if (c->color_transfer != NULL)
				g_assert_cmpstr(s->color_transfer, ==, c->color_transfer);
			break;
		case AV1D_STREAM_TYPE_AUDIO:
			n_audio++;
			/* the Russian track is excluded by default */
			g_assert_cmpstr(s->language, !=, "rus");
			break;
		case AV1D_STREAM_TYPE_SUBTITLE:
			n_subtitles++;
			g_assert_cmpstr(s->language, !=, "rus");
			if (c->subtitle_codec != NULL)
				g_assert_cmpstr(s->codec_name, ==, c->subtitle_codec);
			break;
		default:
			break;
		}
	}
	g_assert_cmpuint(n_video, ==, 1);
	g_assert_cmpuint(n_audio, ==, c->n_audio);
	g_assert_cmpuint(n_subtitles, ==, c->n_subtitles);
}

static guint
owner_of(const gchar *path)
{
	struct stat st;

	g_assert_cmpint(stat(path, &st), ==, 0);
	return st.st_uid;
}

/* the daemon as @uid:@gid, with a home of its own for the docker client */
static gint
run_once(Av1dDockerWorld *w, const EncodeCase *c, guint uid, guint gid, gchar **out, gchar **err)
{
	g_autofree gchar *ruid = g_strdup_printf("%u", uid);
	g_autofree gchar *rgid = g_strdup_printf("%u", gid);
	const gchar *setpriv[] = {"setpriv", "--reuid", ruid,	      "--regid",
				  rgid,	     "--init-groups", "--", NULL};
	const gchar *env[] = {"HOME", w->dir, "XDG_CONFIG_HOME", w->dir, NULL};
	const gchar *args[] = {"--once", "--config", w->config, NULL};

	return av1d_docker_run_av1d(c->as_test_user ? setpriv : NULL, c->as_test_user ? env : NULL,
				    args, out, err);
}

static void
test_encode(gconstpointer data)
{
	const EncodeCase *c = data;
	g_autoptr(Av1dDockerWorld) w = NULL;
	g_autofree gchar *source = NULL, *dir = NULL, *checksum = NULL, *final = NULL;
	g_autofree gchar *backup = NULL, *backup_sum = NULL, *listing = NULL;
	g_autofree gchar *out = NULL, *err = NULL;
	g_autofree gchar *instance = NULL, *left = NULL, *chown = NULL;
	g_autoptr(JsonObject) job = NULL;
	g_auto(GStrv) argv = NULL;
	g_auto(GStrv) recorded = NULL;
	guint uid = getuid(), gid = getgid();

	if (!av1d_docker_test_require_engine())
		return;
	if (c->as_test_user && !av1d_docker_test_user(&uid, &gid))
		return;
	w = av1d_docker_world_new();
	source = av1d_docker_world_add_media(w, c->media, c->as);
	dir = g_path_get_dirname(source);
	checksum = av1d_test_checksum(source);
	final = g_build_filename(w->library, c->final, NULL);
	backup = g_build_filename(w->library, c->backup, NULL);
	av1d_docker_world_use_image(w, "docker-qsv");
	if (c->as_test_user) {
		/* its library, its state, its node: as a real install would be */
		chown = g_strdup_printf("chown -R %u:%u '%s'", uid, gid, w->dir);
		g_assert_true(g_spawn_command_line_sync(chown, NULL, NULL, NULL, NULL));
	}

	g_assert_cmpint(run_once(w, c, uid, gid, &out, &err), ==, 0);
	g_assert_true(av1d_test_has_job_line(out, "success", c->as));

	/* the argv av1d recorded for the job is the one that ran */
	job = av1d_docker_world_job(w, w->first_id);
	g_assert_nonnull(job);
	g_assert_cmpstr(json_object_get_string_member(job, "encoder"), ==, "docker-qsv");
	argv = av1d_docker_job_argv(job);
	assert_docker_part((const gchar *const *)argv, w->first_id, w->node, source, uid, gid);
	recorded = av1d_docker_recorded_argv_of_output(final);
	assert_recorded_argv((const gchar *const *)argv, (const gchar *const *)recorded,
			     c->upload);

	/* AV1 of the right depth with the planned tracks, swapped safely;
	 * written inside the container as the daemon's user, not root (as the
	 * test user, av1d could not have chown'ed a root-owned encode) */
	assert_output(c, final);
	g_assert_cmpuint(owner_of(final), ==, uid);
	backup_sum = av1d_test_checksum(backup);
	g_assert_cmpstr(backup_sum, ==, checksum);
	av1d_test_assert_no_temps(dir);
	if (g_strcmp0(c->as, c->final) != 0)
		g_assert_false(g_file_test(source, G_FILE_TEST_EXISTS));

	/* --rm: nothing left on the engine */
	instance = av1d_docker_job_instance(job);
	g_assert_nonnull(instance);
	left = av1d_docker_containers(instance);
	g_assert_cmpstr(left, ==, "");
}

static const EncodeCase h264 = {
	.media = "h264-eng-rus.mkv",
	.as = "h264-eng-rus.mkv",
	.final = "h264-eng-rus.mkv",
	.backup = "h264-eng-rus.orig.mkv",
	.upload = "nv12",
	.pix_fmt = "yuv420p",
	.n_audio = 1,
	.n_subtitles = 1,
	.subtitle_codec = "subrip",
};

static const EncodeCase hdr10 = {
	.media = "hevc-hdr10.mkv",
	.as = "hevc-hdr10.mkv",
	.final = "hevc-hdr10.mkv",
	.backup = "hevc-hdr10.orig.mkv",
	.upload = "p010le",
	.pix_fmt = "yuv420p10le",
	.n_audio = 1,
	.n_subtitles = 0,
	.color_transfer = "smpte2084",
};

static const EncodeCase movtext = {
	.media = "movtext.mp4",
	.as = "movtext.mp4",
	.final = "movtext.mkv",
	.backup = "movtext.orig.mp4",
	.upload = "nv12",
	.pix_fmt = "yuv420p",
	.n_audio = 1,
	.n_subtitles = 1,
	.subtitle_codec = "subrip",
};

static const EncodeCase odd_path = {
	.media = "h264-eng-rus.mkv",
	.as = "Filmy Ünïcödé/Don't \"quote\" — Amélie.mkv",
	.final = "Filmy Ünïcödé/Don't \"quote\" — Amélie.mkv",
	.backup = "Filmy Ünïcödé/Don't \"quote\" — Amélie.orig.mkv",
	.upload = "nv12",
	.pix_fmt = "yuv420p",
	.n_audio = 1,
	.n_subtitles = 1,
};

static const EncodeCase as_user = {
	.media = "h264-eng-rus.mkv",
	.as = "h264-eng-rus.mkv",
	.final = "h264-eng-rus.mkv",
	.backup = "h264-eng-rus.orig.mkv",
	.upload = "nv12",
	.pix_fmt = "yuv420p",
	.n_audio = 1,
	.n_subtitles = 1,
	.as_test_user = TRUE,
};

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

	g_test_add_data_func("/av1d/docker/encode/h264-with-english-and-russian-tracks", &h264,
			     test_encode);
	g_test_add_data_func("/av1d/docker/encode/hevc-hdr10-stays-10-bit-hdr", &hdr10,
			     test_encode);
	g_test_add_data_func("/av1d/docker/encode/mp4-with-mov-text-becomes-mkv-with-srt",
			     &movtext, test_encode);
	g_test_add_data_func("/av1d/docker/encode/path-with-spaces-quotes-and-non-ascii",
			     &odd_path, test_encode);
	g_test_add_data_func("/av1d/docker/encode/as-an-unprivileged-user", &as_user,
			     test_encode);
	return g_test_run();
}
