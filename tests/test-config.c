#include "config.h"

#include <glib/gstdio.h>
#include <sys/stat.h>

#include "av1d-config.h"
#include "av1d-error.h"

/* a temp dir with two existing library roots, for configs that name roots */
typedef struct {
	gchar *dir;
	gchar *root_a;
	gchar *root_b;
} Fixture;

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	fx->dir = g_dir_make_tmp("av1d-test-config-XXXXXX", &error);
	g_assert_no_error(error);
	fx->root_a = g_build_filename(fx->dir, "movies", NULL);
	fx->root_b = g_build_filename(fx->dir, "tv shows", NULL);
	g_assert_cmpint(g_mkdir(fx->root_a, 0755), ==, 0);
	g_assert_cmpint(g_mkdir(fx->root_b, 0755), ==, 0);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	g_rmdir(fx->root_a);
	g_rmdir(fx->root_b);
	g_rmdir(fx->dir);
	g_free(fx->root_a);
	g_free(fx->root_b);
	g_free(fx->dir);
}

static Av1dConfig *
load(const gchar *filename, const gchar *text, GError **error)
{
	return av1d_config_load_data(filename, text, -1, error);
}

/* the config must fail with AV1D_ERROR_CONFIG and a message holding every
 * fragment in @parts */
static void
assert_rejected(const gchar *filename, const gchar *text, const gchar *const *parts)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dConfig) config = load(filename, text, &error);

	g_assert_null(config);
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_CONFIG);
	for (guint i = 0; parts[i] != NULL; i++) {
		if (strstr(error->message, parts[i]) == NULL)
			g_error("expected '%s' in error message: %s", parts[i], error->message);
	}
	g_test_message("rejected as: %s", error->message);
}

#define REJECT(file, text, ...) assert_rejected(file, text, (const gchar *const[]){__VA_ARGS__, NULL})

static void
test_defaults(void)
{
	g_autoptr(Av1dConfig) config = av1d_config_new_default();
	const gchar *const extensions[] = {"mkv", "mp4", "m4v", "avi", "mov",
					   "ts",  "m2ts", "wmv", "webm", NULL};
	const gchar *const languages[] = {"rus", "ru", NULL};

	g_assert_cmpuint(g_strv_length(config->library_roots), ==, 0);
	g_assert_cmpuint(config->min_bytes, ==, 2147483648ULL);
	g_assert_cmpfloat(config->max_size_ratio, ==, 0.90);
	g_assert_true(g_str_has_suffix(config->job_state_dir, "jobs"));
	g_assert_cmpuint(config->scan_interval_secs, ==, 60);
	g_assert_cmpstr(config->docker_image, ==, "lscr.io/linuxserver/ffmpeg:version-8.0-cli");
	g_assert_cmpstr(config->docker_bin, ==, "docker");
	g_assert_cmpstr(config->gpu_device, ==, "/dev/dri");
	g_assert_cmpint(config->encoder, ==, AV1D_ENCODER_KIND_AUTO);
	g_assert_cmpuint(config->stable_secs, ==, 30);
	g_assert_cmpuint(config->max_concurrent_jobs, ==, 1);
	g_assert_true(g_strv_equal((const gchar *const *)config->exclude_languages, languages));
	g_assert_true(g_strv_equal((const gchar *const *)config->extensions, extensions));
	g_assert_true(config->keep_backup);
	g_assert_cmpint(config->verify, ==, AV1D_VERIFY_QUICK);
	g_assert_cmpstr(config->ffmpeg_bin, ==, "ffmpeg");
	g_assert_cmpstr(config->ffprobe_bin, ==, "ffprobe");
	g_assert_null(config->source_file);
}

static void
test_state_dir_from_environment(void)
{
	g_autoptr(Av1dConfig) from_env = NULL;
	g_autoptr(Av1dConfig) from_systemd = NULL;

	g_setenv("AV1D_STATE_DIR", "/srv/av1d-state", TRUE);
	from_env = av1d_config_new_default();
	g_assert_cmpstr(from_env->job_state_dir, ==, "/srv/av1d-state");
	g_unsetenv("AV1D_STATE_DIR");
	g_setenv("STATE_DIRECTORY", "/var/lib/av1d:/var/lib/other", TRUE);
	from_systemd = av1d_config_new_default();
	g_assert_cmpstr(from_systemd->job_state_dir, ==, "/var/lib/av1d/jobs");
	g_unsetenv("STATE_DIRECTORY");
}

static void
assert_configs_equal(const Av1dConfig *a, const Av1dConfig *b)
{
	g_assert_true(g_strv_equal((const gchar *const *)a->library_roots,
				   (const gchar *const *)b->library_roots));
	g_assert_cmpuint(a->min_bytes, ==, b->min_bytes);
	g_assert_cmpfloat(a->max_size_ratio, ==, b->max_size_ratio);
	g_assert_cmpstr(a->job_state_dir, ==, b->job_state_dir);
	g_assert_cmpuint(a->scan_interval_secs, ==, b->scan_interval_secs);
	g_assert_cmpstr(a->docker_image, ==, b->docker_image);
	g_assert_cmpstr(a->docker_bin, ==, b->docker_bin);
	g_assert_cmpstr(a->gpu_device, ==, b->gpu_device);
	g_assert_cmpint(a->encoder, ==, b->encoder);
	g_assert_cmpuint(a->stable_secs, ==, b->stable_secs);
	g_assert_cmpuint(a->max_concurrent_jobs, ==, b->max_concurrent_jobs);
	g_assert_true(g_strv_equal((const gchar *const *)a->exclude_languages,
				   (const gchar *const *)b->exclude_languages));
	g_assert_true(g_strv_equal((const gchar *const *)a->extensions,
				   (const gchar *const *)b->extensions));
	g_assert_cmpint(a->keep_backup, ==, b->keep_backup);
	g_assert_cmpint(a->verify, ==, b->verify);
	g_assert_cmpstr(a->ffmpeg_bin, ==, b->ffmpeg_bin);
	g_assert_cmpstr(a->ffprobe_bin, ==, b->ffprobe_bin);
}

static void
test_toml_and_json_agree(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *toml = g_strdup_printf(
	    "# every key, none at its default\n"
	    "library_roots = [\"%s\", '%s']\n"
	    "min_bytes = 1_000_000\n"
	    "max_size_ratio = 0.75\n"
	    "job_state_dir = \"/tmp/av1d-jobs\"\n"
	    "scan_interval_secs = 0\n"
	    "docker_image = \"local/ffmpeg:test\"\n"
	    "docker_bin = \"/usr/local/bin/docker\"\n"
	    "gpu_device = \"/dev/dri/renderD129\"\n"
	    "encoder = \"software\"\n"
	    "stable_secs = 5\n"
	    "max_concurrent_jobs = 2\n"
	    "exclude_languages = [\"rus\", \"ukr\"]  # trailing comment\n"
	    "extensions = [\n  \"MKV\",\n  \".mp4\",\n]\n"
	    "keep_backup = false\n"
	    "verify = \"full\"\n"
	    "ffmpeg_bin = \"/opt/ffmpeg/bin/ffmpeg\"\n"
	    "ffprobe_bin = \"/opt/ffmpeg/bin/ffprobe\"\n",
	    fx->root_a, fx->root_b);
	g_autofree gchar *json = g_strdup_printf(
	    "{\"library_roots\": [\"%s\", \"%s\"], \"min_bytes\": 1000000,"
	    " \"max_size_ratio\": 0.75, \"job_state_dir\": \"/tmp/av1d-jobs\","
	    " \"scan_interval_secs\": 0, \"docker_image\": \"local/ffmpeg:test\","
	    " \"docker_bin\": \"/usr/local/bin/docker\", \"gpu_device\": \"/dev/dri/renderD129\","
	    " \"encoder\": \"software\", \"stable_secs\": 5, \"max_concurrent_jobs\": 2,"
	    " \"exclude_languages\": [\"rus\", \"ukr\"], \"extensions\": [\"MKV\", \".mp4\"],"
	    " \"keep_backup\": false, \"verify\": \"full\","
	    " \"ffmpeg_bin\": \"/opt/ffmpeg/bin/ffmpeg\", \"ffprobe_bin\": \"/opt/ffmpeg/bin/ffprobe\"}",
	    fx->root_a, fx->root_b);
	g_autoptr(Av1dConfig) from_toml = load("config.toml", toml, &error);
	g_autoptr(Av1dConfig) from_json = NULL;
	const gchar *const extensions[] = {"mkv", "mp4", NULL};

	g_assert_no_error(error);
	from_json = load("config.json", json, &error);
	g_assert_no_error(error);
	assert_configs_equal(from_toml, from_json);

	/* and the values are the ones written, not the defaults */
	g_assert_cmpuint(from_toml->min_bytes, ==, 1000000);
	g_assert_cmpfloat(from_toml->max_size_ratio, ==, 0.75);
	g_assert_cmpint(from_toml->encoder, ==, AV1D_ENCODER_KIND_SOFTWARE);
	g_assert_cmpint(from_toml->verify, ==, AV1D_VERIFY_FULL);
	g_assert_false(from_toml->keep_backup);
	g_assert_cmpuint(from_toml->max_concurrent_jobs, ==, 2);
	g_assert_cmpstr(from_toml->library_roots[1], ==, fx->root_b);
	g_assert_true(g_strv_equal((const gchar *const *)from_toml->extensions, extensions));
}

static void
test_to_string_parses_back(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dConfig) config = av1d_config_new_default();
	g_autoptr(Av1dConfig) again = NULL;
	g_autofree gchar *text = NULL;
	const gchar *roots[] = {fx->root_a, fx->root_b, NULL};

	g_assert_true(av1d_config_set_roots(config, roots, &error));
	g_assert_no_error(error);
	config->encoder = AV1D_ENCODER_KIND_QSV;
	text = av1d_config_to_string(config);
	again = load("dump.toml", text, &error);
	g_assert_no_error(error);
	assert_configs_equal(config, again);
}

static void
test_rejects_unknown_key(void)
{
	REJECT("c.toml", "min_bytes = 5\nmax_size = 0.5\n", "c.toml:2:1:", "'max_size'",
	       "unknown key", "max_size_ratio");
	REJECT("c.json", "{\"min_bytes\": 5, \"colour\": true}", "c.json", "'colour'",
	       "unknown key");
	REJECT("c.toml", "[extra]\nkey = 1\n", "c.toml", "'extra'", "unknown key");
}

static void
test_rejects_wrong_type(void)
{
	REJECT("c.toml", "\nmin_bytes = \"big\"\n", "c.toml:2:1:", "'min_bytes'",
	       "expected an integer", "string");
	REJECT("c.toml", "keep_backup = 1\n", "c.toml:1:1:", "'keep_backup'",
	       "expected true or false");
	REJECT("c.toml", "library_roots = \"/media\"\n", "c.toml:1:1:", "'library_roots'",
	       "expected an array of strings");
	REJECT("c.json", "{\"extensions\": [\"mkv\", 3]}", "c.json", "'extensions'",
	       "element 2");
	REJECT("c.json", "{\"stable_secs\": 1.5}", "c.json", "'stable_secs'",
	       "expected an integer");
	REJECT("c.json", "[1, 2]", "c.json", "expected an object");
}

static void
test_rejects_bad_min_bytes(void)
{
	REJECT("c.toml", "min_bytes = 0\n", "c.toml:1:1:", "'min_bytes'",
	       "expected a positive integer, got 0");
	REJECT("c.toml", "min_bytes = -5\n", "'min_bytes'", "expected a positive integer, got -5");
	REJECT("c.json", "{\"min_bytes\": -1}", "c.json", "'min_bytes'", "positive");
}

static void
test_ratio_range(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dConfig) one = load("c.toml", "max_size_ratio = 1.0\n", &error);

	g_assert_no_error(error);
	g_assert_cmpfloat(one->max_size_ratio, ==, 1.0);
	REJECT("c.toml", "max_size_ratio = 0.0\n", "c.toml:1:1:", "'max_size_ratio'",
	       "expected a number in (0, 1]");
	REJECT("c.toml", "max_size_ratio = 1.01\n", "'max_size_ratio'", "(0, 1]", "1.01");
	REJECT("c.json", "{\"max_size_ratio\": -0.5}", "'max_size_ratio'", "(0, 1]");
	REJECT("c.json", "{\"max_size_ratio\": \"90%\"}", "'max_size_ratio'", "string");
}

static void
test_rejects_bad_roots(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *missing = g_build_filename(fx->dir, "no-such-dir", NULL);
	g_autofree gchar *file = g_build_filename(fx->dir, "a-file", NULL);
	g_autofree gchar *missing_toml = g_strdup_printf("library_roots = [\"%s\"]\n", missing);
	g_autofree gchar *file_toml = g_strdup_printf("library_roots = [\"%s\"]\n", file);
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dConfig) config = av1d_config_new_default();
	const gchar *cli_roots[] = {fx->root_a, missing, NULL};

	REJECT("c.toml", "library_roots = [\"\"]\n", "c.toml:1:1:", "'library_roots'",
	       "element 1 is empty");
	REJECT("c.toml", missing_toml, "c.toml", "'library_roots'", missing,
	       "No such file or directory", "expected an existing directory");
	g_assert_true(g_file_set_contents(file, "x", 1, NULL));
	REJECT("c.toml", file_toml, "'library_roots'", file, "not a directory");
	g_unlink(file);

	/* roots given on the command line are checked the same way */
	g_assert_false(av1d_config_set_roots(config, cli_roots, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_CONFIG);
	g_assert_nonnull(strstr(error->message, missing));
}

static void
test_roots_are_canonical(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dConfig) config = av1d_config_new_default();
	g_autofree gchar *dotted = g_build_filename(fx->root_a, "..", "tv shows", ".", NULL);
	const gchar *roots[] = {dotted, NULL};

	g_assert_true(av1d_config_set_roots(config, roots, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(config->library_roots[0], ==, fx->root_b);
}

static void
test_rejects_unknown_encoder(void)
{
	REJECT("c.toml", "encoder = \"nvenc\"\n", "c.toml:1:1:", "'encoder'",
	       "expected one of auto, docker-qsv, qsv, software", "'nvenc'");
	REJECT("c.json", "{\"verify\": \"paranoid\"}", "'verify'", "expected one of quick, full");
}

static void
test_rejects_unterminated_string(void)
{
	REJECT("c.toml", "docker_bin = \"docker\nencoder = \"auto\"\n", "c.toml:1:", "unterminated");
}

static void
test_rejects_duplicates(void)
{
	REJECT("c.toml", "stable_secs = 1\nstable_secs = 2\n", "c.toml:2:", "duplicate key",
	       "'stable_secs'");
	REJECT("c.toml", "[a]\nx = \"1\"\n[a]\ny = \"2\"\n", "c.toml:3:", "duplicate table", "'a'");
	REJECT("c.json", "{\"stable_secs\": 1,\n \"stable_secs\": 2}", "c.json:", "duplicate key",
	       "'stable_secs'");
}

static void
test_rejects_bad_json_syntax(void)
{
	REJECT("c.json", "{\"stable_secs\": 1,", "c.json:1:18:");
}

static void
test_rejects_gpu_device_not_a_device(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *file = g_build_filename(fx->dir, "renderD128", NULL);
	g_autofree gchar *toml = g_strdup_printf("gpu_device = \"%s\"\n", file);
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dConfig) dir = NULL;

	g_assert_true(g_file_set_contents(file, "", 0, NULL));
	REJECT("c.toml", toml, "c.toml:1:1:", "'gpu_device'", "character device", file);
	g_unlink(file);

	/* a directory is fine (the first Intel render node in it is used) */
	g_free(toml);
	toml = g_strdup_printf("gpu_device = \"%s\"\n", fx->dir);
	dir = load("c.toml", toml, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(dir->gpu_device, ==, fx->dir);
}

static void
test_rejects_unknown_format(void)
{
	REJECT("config.yaml", "min_bytes: 5\n", "config.yaml", ".toml or .json");
}

static void
test_missing_explicit_file(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dConfig) config = av1d_config_load("/nonexistent/av1d.toml", &error);

	g_assert_null(config);
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_CONFIG);
	g_assert_nonnull(strstr(error->message, "/nonexistent/av1d.toml"));
}

static void
write_user_config(const gchar *name, const gchar *text)
{
	g_autofree gchar *dir = g_build_filename(g_get_user_config_dir(), "av1d", NULL);
	g_autofree gchar *path = g_build_filename(dir, name, NULL);

	g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

static void
test_search_order(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dConfig) none = av1d_config_load(NULL, &error);
	g_autoptr(Av1dConfig) json = NULL;
	g_autoptr(Av1dConfig) toml = NULL;
	g_autoptr(Av1dConfig) explicit = NULL;
	g_autofree gchar *explicit_path = g_build_filename(g_get_tmp_dir(), "explicit.json", NULL);

	/* nothing in $XDG_CONFIG_HOME: built-in defaults */
	g_assert_no_error(error);
	g_assert_null(none->source_file);
	g_assert_cmpuint(none->stable_secs, ==, 30);

	write_user_config("config.json", "{\"stable_secs\": 7}");
	json = av1d_config_load(NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(json->stable_secs, ==, 7);
	g_assert_true(g_str_has_suffix(json->source_file, "av1d/config.json"));

	/* config.toml wins over config.json */
	write_user_config("config.toml", "stable_secs = 9\n");
	toml = av1d_config_load(NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(toml->stable_secs, ==, 9);

	/* and --config wins over both */
	g_assert_true(g_file_set_contents(explicit_path, "{\"stable_secs\": 11}", -1, NULL));
	explicit = av1d_config_load(explicit_path, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(explicit->stable_secs, ==, 11);
	g_unlink(explicit_path);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

	g_test_add_func("/av1d/config/defaults-match-the-spec", test_defaults);
	g_test_add_func("/av1d/config/state-dir-from-environment", test_state_dir_from_environment);
	g_test_add("/av1d/config/toml-and-json-give-the-same-config", Fixture, NULL, fixture_setup,
		   test_toml_and_json_agree, fixture_teardown);
	g_test_add("/av1d/config/dump-parses-back-to-the-same-config", Fixture, NULL, fixture_setup,
		   test_to_string_parses_back, fixture_teardown);
	g_test_add_func("/av1d/config/rejects-unknown-key", test_rejects_unknown_key);
	g_test_add_func("/av1d/config/rejects-wrong-type", test_rejects_wrong_type);
	g_test_add_func("/av1d/config/rejects-zero-or-negative-min-bytes", test_rejects_bad_min_bytes);
	g_test_add_func("/av1d/config/max-size-ratio-must-be-in-0-1", test_ratio_range);
	g_test_add("/av1d/config/rejects-empty-missing-or-file-root", Fixture, NULL, fixture_setup,
		   test_rejects_bad_roots, fixture_teardown);
	g_test_add("/av1d/config/roots-are-canonical", Fixture, NULL, fixture_setup,
		   test_roots_are_canonical, fixture_teardown);
	g_test_add_func("/av1d/config/rejects-unknown-encoder", test_rejects_unknown_encoder);
	g_test_add_func("/av1d/config/rejects-unterminated-string", test_rejects_unterminated_string);
	g_test_add_func("/av1d/config/rejects-duplicate-key-and-table", test_rejects_duplicates);
	g_test_add_func("/av1d/config/rejects-bad-json-syntax", test_rejects_bad_json_syntax);
	g_test_add("/av1d/config/rejects-gpu-device-that-is-not-a-device", Fixture, NULL,
		   fixture_setup, test_rejects_gpu_device_not_a_device, fixture_teardown);
	g_test_add_func("/av1d/config/rejects-unknown-format", test_rejects_unknown_format);
	g_test_add_func("/av1d/config/missing-explicit-file-is-an-error", test_missing_explicit_file);
	g_test_add_func("/av1d/config/search-order", test_search_order);
	return g_test_run();
}
