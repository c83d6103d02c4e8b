/*
 * Choosing the backend against the real Docker engine (SPEC 6, issue 9):
 * `auto` picks docker-qsv when the engine answers, the image is there and
 * the render node is usable, and otherwise falls back with the reason; what
 * `av1d check` prints for each; a render node that is not a character device
 * is refused before anything is touched.
 */
#include "config.h"

#include <glib/gstdio.h>

#include "av1d-docker-test.h"
#include "av1d-test-util.h"

static void
assert_contains(const gchar *haystack, const gchar *needle)
{
	if (haystack == NULL || strstr(haystack, needle) == NULL)
		g_error("expected '%s' in:\n%s", needle, haystack);
}

static gint
run(Av1dDockerWorld *w, const gchar *const *env, const gchar *command, gchar **out, gchar **err)
{
	const gchar *check[] = {"check", "--config", w->config, NULL};
	const gchar *once[] = {"--once", "--config", w->config, NULL};

	return av1d_docker_run_av1d(NULL, env, g_str_equal(command, "check") ? check : once, out,
				    err);
}

/* --once with the fallback encodes locally and keeps the original */
static void
assert_software_encode(Av1dDockerWorld *w, const gchar *const *env, const gchar *why)
{
	g_autofree gchar *source = av1d_docker_world_add_media(w, "h264-eng-rus.mkv", NULL);
	g_autofree gchar *backup = g_build_filename(w->library, "h264-eng-rus.orig.mkv", NULL);
	g_autofree gchar *checksum = av1d_test_checksum(source);
	g_autofree gchar *backup_sum = NULL;
	g_autofree gchar *out = NULL, *err = NULL, *codec = NULL;
	g_autoptr(JsonObject) job = NULL;

	g_assert_cmpint(run(w, env, "once", &out, &err), ==, 0);
	assert_contains(err, "encoder: software: docker-qsv unavailable (");
	assert_contains(err, why);
	g_assert_true(av1d_test_has_job_line(out, "success", "/h264-eng-rus.mkv"));
	job = av1d_docker_world_job(w, w->first_id);
	g_assert_cmpstr(json_object_get_string_member(job, "encoder"), ==, "software");
	codec = av1d_test_video_codec(source, NULL);
	g_assert_cmpstr(codec, ==, "av1");
	backup_sum = av1d_test_checksum(backup);
	g_assert_cmpstr(backup_sum, ==, checksum);
}

static void
test_auto_picks_docker_qsv(void)
{
	g_autoptr(Av1dDockerWorld) w = NULL;
	g_autofree gchar *out = NULL, *err = NULL, *expected = NULL;

	if (!av1d_docker_test_require_engine())
		return;
	w = av1d_docker_world_new();
	av1d_docker_world_use_image(w, "auto");
	g_assert_cmpint(run(w, NULL, "check", &out, &err), ==, 0);
	assert_contains(out, "Encoder: docker-qsv\n");
	expected = g_strdup_printf("image %s is present", av1d_docker_test_image());
	assert_contains(out, expected);
	g_free(expected);
	expected = g_strdup_printf("docker image:  %s present (sha256:", av1d_docker_test_image());
	assert_contains(out, expected);
	g_free(expected);
	/* a char device named explicitly is used, with a warning: sysfs does
	 * not know it as an Intel GPU */
	expected = g_strdup_printf("warning:       %s: cannot confirm an Intel GPU", w->node);
	assert_contains(out, expected);
	assert_contains(out, "docker:        client docker, daemon ");
	g_assert_null(strstr(out, "fix:"));
}

static void
test_missing_image_falls_back(void)
{
	g_autoptr(Av1dDockerWorld) w = NULL;
	g_autofree gchar *image = NULL, *extra = NULL, *out = NULL, *err = NULL;
	g_autofree gchar *pull = NULL, *why = NULL;

	if (!av1d_docker_test_require_engine())
		return;
	w = av1d_docker_world_new();
	image = g_strdup_printf("av1d-test-missing:%" G_GUINT64_FORMAT, w->first_id);
	extra = g_strdup_printf("encoder = \"auto\"\ndocker_image = \"%s\"\n", image);
	av1d_docker_world_write_config(w, extra);
	g_assert_cmpint(run(w, NULL, "check", &out, &err), ==, 0);
	assert_contains(out, "Encoder: software\n");
	pull = g_strdup_printf("run `docker pull %s`", image);
	assert_contains(out, pull);
	g_free(pull);
	pull = g_strdup_printf("fix:           docker pull %s", image);
	assert_contains(out, pull);
	why = g_strdup_printf("image %s not present", image);
	assert_software_encode(w, NULL, why);
}

static void
test_missing_image_with_docker_qsv_is_an_error(void)
{
	g_autoptr(Av1dDockerWorld) w = NULL;
	g_autofree gchar *image = NULL, *extra = NULL, *out = NULL, *err = NULL;
	g_autofree gchar *source = NULL, *checksum = NULL, *after = NULL, *expected = NULL;

	if (!av1d_docker_test_require_engine())
		return;
	w = av1d_docker_world_new();
	source = av1d_docker_world_add_media(w, "h264-eng-rus.mkv", NULL);
	checksum = av1d_test_checksum(source);
	image = g_strdup_printf("av1d-test-missing:%" G_GUINT64_FORMAT, w->first_id);
	extra = g_strdup_printf("encoder = \"docker-qsv\"\ndocker_image = \"%s\"\n", image);
	av1d_docker_world_write_config(w, extra);
	g_assert_cmpint(run(w, NULL, "once", &out, &err), ==, 1);
	expected = g_strdup_printf("encoder 'docker-qsv' is configured but unavailable: image %s "
				   "not present: run `docker pull %s`",
				   image, image);
	assert_contains(err, expected);
	after = av1d_test_checksum(source);
	g_assert_cmpstr(after, ==, checksum);
	g_assert_cmpstr(out, ==, "");
}

static void
test_unreachable_engine_falls_back(void)
{
	const gchar *env[] = {"DOCKER_HOST", "unix:///nonexistent", NULL};
	g_autoptr(Av1dDockerWorld) w = NULL;
	g_autofree gchar *out = NULL, *err = NULL;

	if (!av1d_docker_test_require_engine())
		return;
	w = av1d_docker_world_new();
	av1d_docker_world_use_image(w, "auto");
	g_assert_cmpint(run(w, env, "check", &out, &err), ==, 0);
	assert_contains(out, "Encoder: software\n");
	assert_contains(out, "docker-qsv unavailable (docker daemon not reachable: ");
	assert_contains(out, "unix:///nonexistent");
	assert_contains(out, "fix:           start the engine");
	assert_software_encode(w, env, "docker daemon not reachable: ");
}

static void
test_render_node_not_a_char_device(void)
{
	g_autoptr(Av1dDockerWorld) w = NULL;
	g_autofree gchar *out = NULL, *err = NULL, *source = NULL, *checksum = NULL;
	g_autofree gchar *after = NULL, *listing = NULL;

	if (!av1d_docker_test_require_engine())
		return;
	w = av1d_docker_world_new();
	source = av1d_docker_world_add_media(w, "h264-eng-rus.mkv", NULL);
	checksum = av1d_test_checksum(source);
	/* a regular file where the node should be */
	g_assert_cmpint(g_unlink(w->node), ==, 0);
	g_assert_true(g_file_set_contents(w->node, "not a device\n", -1, NULL));
	av1d_docker_world_use_image(w, "docker-qsv");

	g_assert_cmpint(run(w, NULL, "check", &out, &err), ==, 2);
	assert_contains(err, "gpu_device");
	assert_contains(err, "expected a render node (character device)");
	assert_contains(err, w->node);
	g_free(out);
	g_free(err);
	g_assert_cmpint(run(w, NULL, "once", &out, &err), ==, 2);
	assert_contains(err, "expected a render node (character device)");
	/* nothing was touched */
	after = av1d_test_checksum(source);
	g_assert_cmpstr(after, ==, checksum);
	listing = av1d_test_list_dir(w->library);
	g_assert_cmpstr(listing, ==, "h264-eng-rus.mkv");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

	g_test_add_func("/av1d/docker/detect/auto-picks-docker-qsv-on-a-real-engine",
			test_auto_picks_docker_qsv);
	g_test_add_func("/av1d/docker/detect/missing-image-falls-back-and-check-says-pull",
			test_missing_image_falls_back);
	g_test_add_func("/av1d/docker/detect/missing-image-with-docker-qsv-is-an-error",
			test_missing_image_with_docker_qsv_is_an_error);
	g_test_add_func("/av1d/docker/detect/unreachable-engine-falls-back-with-the-reason",
			test_unreachable_engine_falls_back);
	g_test_add_func("/av1d/docker/detect/render-node-not-a-char-device-is-refused",
			test_render_node_not_a_char_device);
	return g_test_run();
}
