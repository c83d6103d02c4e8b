#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "av1d-encoder.h"
#include "av1d-error.h"

#define IMAGE "lscr.io/linuxserver/ffmpeg:version-8.0-cli"

static void
assert_contains(const gchar *haystack, const gchar *needle)
{
	if (haystack == NULL || strstr(haystack, needle) == NULL)
		g_error("expected '%s' in: %s", needle, haystack);
}

/* --- choose() with fabricated probes ------------------------------------- */

static void
probe_set_encoders(Av1dEncoderProbe *probe, const gchar *const *encoders)
{
	g_strfreev(probe->ffmpeg_av1_encoders);
	probe->ffmpeg_av1_encoders = g_strdupv((gchar **)encoders);
}

/* a machine where everything works: docker, the image, an Intel node, a
 * local ffmpeg with every AV1 encoder */
static Av1dEncoderProbe *
probe_all_good(void)
{
	const gchar *const encoders[] = {"av1_qsv", "libsvtav1", "libaom-av1", NULL};
	Av1dEncoderProbe *probe = av1d_encoder_probe_new();
	Av1dRenderNode *node = av1d_render_node_new("/dev/dri/renderD128");

	probe->docker_bin = g_strdup("docker");
	probe->docker_client = TRUE;
	probe->docker_server = TRUE;
	probe->docker_server_version = g_strdup("28.2.2");
	probe->docker_image = g_strdup(IMAGE);
	probe->image_present = TRUE;
	probe->image_id = g_strdup("sha256:0123");
	probe->gpu_device = g_strdup("/dev/dri");
	probe->gpu_device_is_dir = TRUE;
	node->vendor_id = AV1D_PCI_VENDOR_INTEL;
	node->gid = 105;
	node->group_name = g_strdup("render");
	node->accessible = TRUE;
	g_ptr_array_add(probe->render_nodes, node);
	probe->render_node = node;
	probe->ffmpeg_bin = g_strdup("ffmpeg");
	probe->ffmpeg_version = g_strdup("ffmpeg version 8.0");
	probe_set_encoders(probe, encoders);
	probe->ffprobe_bin = g_strdup("ffprobe");
	probe->ffprobe_version = g_strdup("ffprobe version 8.0");
	probe->uid = 1000;
	probe->gid = 1000;
	return probe;
}

static void
probe_drop_image(Av1dEncoderProbe *probe)
{
	probe->image_present = FALSE;
	g_clear_pointer(&probe->image_id, g_free);
	probe->image_error = g_strdup("Error: No such image: " IMAGE);
}

static void
probe_drop_render_nodes(Av1dEncoderProbe *probe)
{
	probe->render_node = NULL;
	g_ptr_array_set_size(probe->render_nodes, 0);
	probe->render_error = g_strdup("no render node in /dev/dri");
}

static void
probe_drop_docker_server(Av1dEncoderProbe *probe)
{
	probe->docker_server = FALSE;
	g_clear_pointer(&probe->docker_server_version, g_free);
	probe->docker_error =
		g_strdup("Cannot connect to the Docker daemon at "
			 "unix:///var/run/docker.sock. Is the docker daemon running?");
	probe_drop_image(probe);
	g_clear_pointer(&probe->image_error, g_free);
}

static Av1dConfig *
config_with_encoder(Av1dEncoderKind kind)
{
	Av1dConfig *config = av1d_config_new_default();

	config->encoder = kind;
	return config;
}

/* choose() must succeed with @expected; returns the reason */
static gchar *
assert_chooses(const Av1dConfig *config, const Av1dEncoderProbe *probe, Av1dEncoderKind expected)
{
	g_autoptr(GError) error = NULL;
	Av1dEncoderKind chosen = AV1D_ENCODER_KIND_AUTO;
	gchar *reason = NULL;

	g_assert_true(av1d_encoder_choose(config, probe, &chosen, &reason, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(av1d_encoder_kind_to_string(chosen), ==,
			av1d_encoder_kind_to_string(expected));
	g_assert_nonnull(reason);
	g_test_message("reason: %s", reason);
	return reason;
}

/* choose() must fail; returns the message */
static gchar *
assert_choose_fails(const Av1dConfig *config, const Av1dEncoderProbe *probe)
{
	g_autoptr(GError) error = NULL;
	Av1dEncoderKind chosen = AV1D_ENCODER_KIND_AUTO;
	g_autofree gchar *reason = NULL;

	g_assert_false(av1d_encoder_choose(config, probe, &chosen, &reason, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_FAILED);
	g_assert_null(reason);
	g_test_message("error: %s", error->message);
	return g_strdup(error->message);
}

static void
test_auto_picks_docker_qsv(void)
{
	g_autoptr(Av1dConfig) config = config_with_encoder(AV1D_ENCODER_KIND_AUTO);
	g_autoptr(Av1dEncoderProbe) probe = probe_all_good();
	g_autofree gchar *reason = assert_chooses(config, probe, AV1D_ENCODER_KIND_DOCKER_QSV);

	g_assert_cmpstr(reason, ==,
			"docker-qsv: docker 28.2.2 answers, image " IMAGE " is present, "
			"Intel render node /dev/dri/renderD128");
}

static void
test_auto_falls_back_to_qsv_when_image_missing(void)
{
	g_autoptr(Av1dConfig) config = config_with_encoder(AV1D_ENCODER_KIND_AUTO);
	g_autoptr(Av1dEncoderProbe) probe = probe_all_good();
	g_autofree gchar *reason = NULL;

	probe_drop_image(probe);
	reason = assert_chooses(config, probe, AV1D_ENCODER_KIND_QSV);
	g_assert_cmpstr(reason, ==,
			"qsv: docker-qsv unavailable (image " IMAGE
			" not present: run `docker pull " IMAGE
			"`); using local ffmpeg with av1_qsv on Intel render node "
			"/dev/dri/renderD128");
}

static void
test_auto_falls_back_to_software_when_image_missing(void)
{
	const gchar *const encoders[] = {"libsvtav1", "libaom-av1", NULL};
	g_autoptr(Av1dConfig) config = config_with_encoder(AV1D_ENCODER_KIND_AUTO);
	g_autoptr(Av1dEncoderProbe) probe = probe_all_good();
	g_autofree gchar *reason = NULL;

	probe_drop_image(probe);
	probe_drop_render_nodes(probe);
	probe_set_encoders(probe, encoders);
	reason = assert_chooses(config, probe, AV1D_ENCODER_KIND_SOFTWARE);
	g_assert_cmpstr(
		reason, ==,
		"software: docker-qsv unavailable (image " IMAGE " not present: run `docker "
		"pull " IMAGE "`; no render node in /dev/dri); qsv unavailable (local ffmpeg "
		"has no av1_qsv encoder; no render node in /dev/dri); using local ffmpeg with "
		"libsvtav1");
}

static void
test_auto_falls_back_when_docker_daemon_down(void)
{
	const gchar *const encoders[] = {"libsvtav1", NULL};
	g_autoptr(Av1dConfig) config = config_with_encoder(AV1D_ENCODER_KIND_AUTO);
	g_autoptr(Av1dEncoderProbe) probe = probe_all_good();
	g_autofree gchar *reason = NULL;

	probe_drop_docker_server(probe);
	probe_set_encoders(probe, encoders);
	reason = assert_chooses(config, probe, AV1D_ENCODER_KIND_SOFTWARE);
	g_assert_true(g_str_has_prefix(reason,
				       "software: docker-qsv unavailable (docker daemon "
				       "not reachable: Cannot connect to the Docker daemon"));
	assert_contains(reason, "qsv unavailable (local ffmpeg has no av1_qsv encoder)");
	/* nothing is said about an image nobody could ask for */
	g_assert_null(strstr(reason, "pull"));
}

static void
test_auto_falls_back_when_node_not_accessible(void)
{
	g_autoptr(Av1dConfig) config = config_with_encoder(AV1D_ENCODER_KIND_AUTO);
	g_autoptr(Av1dEncoderProbe) probe = probe_all_good();
	Av1dRenderNode *node = g_ptr_array_index(probe->render_nodes, 0);
	g_autofree gchar *reason = NULL;

	node->accessible = FALSE;
	node->access_error = g_strdup("Permission denied");
	probe->render_node = NULL;
	probe->render_error = g_strdup("cannot open /dev/dri/renderD128 read-write: Permission "
				       "denied (add the daemon's user to group render (gid 105))");
	reason = assert_chooses(config, probe, AV1D_ENCODER_KIND_SOFTWARE);
	assert_contains(reason, "docker-qsv unavailable (cannot open /dev/dri/renderD128");
	assert_contains(reason, "qsv unavailable (cannot open /dev/dri/renderD128");
	assert_contains(reason, "using local ffmpeg with libsvtav1");
}

static void
test_auto_uses_libaom_without_svt(void)
{
	const gchar *const encoders[] = {"libaom-av1", "librav1e", NULL};
	g_autoptr(Av1dConfig) config = config_with_encoder(AV1D_ENCODER_KIND_AUTO);
	g_autoptr(Av1dEncoderProbe) probe = probe_all_good();
	g_autofree gchar *reason = NULL;

	probe_drop_docker_server(probe);
	probe_set_encoders(probe, encoders);
	reason = assert_chooses(config, probe, AV1D_ENCODER_KIND_SOFTWARE);
	g_assert_true(g_str_has_suffix(reason, "; using local ffmpeg with libaom-av1"));
	g_assert_cmpstr(av1d_encoder_probe_software_codec(probe), ==, "libaom-av1");
}

static void
test_auto_fails_without_any_encoder(void)
{
	const gchar *const encoders[] = {"librav1e", NULL};
	g_autoptr(Av1dConfig) config = config_with_encoder(AV1D_ENCODER_KIND_AUTO);
	g_autoptr(Av1dEncoderProbe) probe = probe_all_good();
	g_autofree gchar *message = NULL;

	probe_drop_image(probe);
	probe_set_encoders(probe, encoders);
	message = assert_choose_fails(config, probe);
	g_assert_true(g_str_has_prefix(message, "no usable AV1 encoder: docker-qsv unavailable"));
	assert_contains(message, "qsv unavailable (local ffmpeg has no av1_qsv encoder)");
	assert_contains(message, "software unavailable (local ffmpeg ffmpeg has neither libsvtav1 "
				 "nor libaom-av1");
	assert_contains(message, "apt install ffmpeg");
	g_assert_null(av1d_encoder_probe_software_codec(probe));
}

static void
test_auto_fails_without_ffmpeg(void)
{
	g_autoptr(Av1dConfig) config = config_with_encoder(AV1D_ENCODER_KIND_AUTO);
	g_autoptr(Av1dEncoderProbe) probe = probe_all_good();
	const gchar *const none[] = {NULL};
	g_autofree gchar *message = NULL;

	probe_drop_docker_server(probe);
	g_clear_pointer(&probe->ffmpeg_version, g_free);
	probe->ffmpeg_error = g_strdup("`ffmpeg -version`: Failed to execute child process "
				       "“ffmpeg” (No such file or directory)");
	probe_set_encoders(probe, none);
	message = assert_choose_fails(config, probe);
	assert_contains(message, "qsv unavailable (cannot run local ffmpeg: `ffmpeg -version`");
	assert_contains(message, "software unavailable (cannot run local ffmpeg");
	assert_contains(message, "set ffmpeg_bin");
}

static void
test_explicit_docker_qsv_needs_image(void)
{
	g_autoptr(Av1dConfig) config = config_with_encoder(AV1D_ENCODER_KIND_DOCKER_QSV);
	g_autoptr(Av1dEncoderProbe) probe = probe_all_good();
	g_autofree gchar *message = NULL;

	probe_drop_image(probe);
	message = assert_choose_fails(config, probe);
	g_assert_cmpstr(message, ==,
			"encoder 'docker-qsv' is configured but unavailable: image " IMAGE
			" not present: run `docker pull " IMAGE "`");
}

static void
test_explicit_docker_qsv_when_ready(void)
{
	g_autoptr(Av1dConfig) config = config_with_encoder(AV1D_ENCODER_KIND_DOCKER_QSV);
	g_autoptr(Av1dEncoderProbe) probe = probe_all_good();
	g_autofree gchar *reason = assert_chooses(config, probe, AV1D_ENCODER_KIND_DOCKER_QSV);

	g_assert_true(g_str_has_prefix(reason, "docker-qsv: configured; docker 28.2.2 answers"));
}

static void
test_explicit_qsv_needs_render_node(void)
{
	g_autoptr(Av1dConfig) config = config_with_encoder(AV1D_ENCODER_KIND_QSV);
	g_autoptr(Av1dEncoderProbe) probe = probe_all_good();
	g_autofree gchar *message = NULL;

	probe_drop_render_nodes(probe);
	message = assert_choose_fails(config, probe);
	g_assert_cmpstr(message, ==,
			"encoder 'qsv' is configured but unavailable: no render node in /dev/dri");
}

static void
test_explicit_qsv_needs_av1_qsv(void)
{
	const gchar *const encoders[] = {"libsvtav1", NULL};
	g_autoptr(Av1dConfig) config = config_with_encoder(AV1D_ENCODER_KIND_QSV);
	g_autoptr(Av1dEncoderProbe) probe = probe_all_good();
	g_autofree gchar *message = NULL;

	probe_set_encoders(probe, encoders);
	message = assert_choose_fails(config, probe);
	g_assert_cmpstr(message, ==,
			"encoder 'qsv' is configured but unavailable: local ffmpeg has no av1_qsv "
			"encoder");
}

static void
test_explicit_software_wins_over_gpu(void)
{
	g_autoptr(Av1dConfig) config = config_with_encoder(AV1D_ENCODER_KIND_SOFTWARE);
	g_autoptr(Av1dEncoderProbe) probe = probe_all_good();
	g_autofree gchar *reason = assert_chooses(config, probe, AV1D_ENCODER_KIND_SOFTWARE);

	g_assert_cmpstr(reason, ==, "software: configured; local ffmpeg with libsvtav1");
}

static void
test_explicit_software_needs_encoder(void)
{
	const gchar *const encoders[] = {"av1_qsv", NULL};
	g_autoptr(Av1dConfig) config = config_with_encoder(AV1D_ENCODER_KIND_SOFTWARE);
	g_autoptr(Av1dEncoderProbe) probe = probe_all_good();
	g_autofree gchar *message = NULL;

	probe_set_encoders(probe, encoders);
	message = assert_choose_fails(config, probe);
	g_assert_true(g_str_has_prefix(message, "encoder 'software' is configured but unavailable: "
						"local ffmpeg ffmpeg has neither libsvtav1 nor "
						"libaom-av1"));
}

static void
test_unconfirmed_node_is_named(void)
{
	g_autoptr(Av1dConfig) config = config_with_encoder(AV1D_ENCODER_KIND_AUTO);
	g_autoptr(Av1dEncoderProbe) probe = probe_all_good();
	Av1dRenderNode *node = g_ptr_array_index(probe->render_nodes, 0);
	g_autofree gchar *reason = NULL;

	node->vendor_id = 0;
	probe->gpu_device_is_dir = FALSE;
	reason = assert_chooses(config, probe, AV1D_ENCODER_KIND_DOCKER_QSV);
	assert_contains(reason, "render node /dev/dri/renderD128 (cannot confirm an Intel GPU)");
}

static void
test_report_lists_everything(void)
{
	g_autoptr(Av1dEncoderProbe) probe = probe_all_good();
	g_autofree gchar *report = NULL;

	g_ptr_array_add(probe->notes, g_strdup("a note for check"));
	report = av1d_encoder_probe_to_string(probe);
	g_test_message("%s", report);
	assert_contains(report, "docker:        client docker, daemon 28.2.2\n");
	assert_contains(report, "docker image:  " IMAGE " present (sha256:0123)\n");
	assert_contains(report, "gpu_device:    /dev/dri (folder)\n");
	assert_contains(report,
			"render node:   /dev/dri/renderD128: vendor 0x8086 (Intel), group render "
			"(gid 105), read-write ok, selected\n");
	assert_contains(report, "ffmpeg:        ffmpeg version 8.0 (ffmpeg)\n");
	assert_contains(report, "AV1 encoders:  av1_qsv, libsvtav1, libaom-av1\n");
	assert_contains(report, "ffprobe:       ffprobe version 8.0 (ffprobe)\n");
	assert_contains(report, "daemon user:   uid 1000, gid 1000\n");
	assert_contains(report, "warning:       a note for check\n");
	/* nothing to fix */
	g_assert_null(strstr(report, "fix:"));
}

static void
test_report_says_what_is_missing(void)
{
	g_autoptr(Av1dEncoderProbe) probe = probe_all_good();
	g_autofree gchar *report = NULL;

	probe_drop_docker_server(probe);
	probe_drop_render_nodes(probe);
	report = av1d_encoder_probe_to_string(probe);
	g_test_message("%s", report);
	assert_contains(report,
			"docker:        client docker, daemon not reachable: Cannot connect");
	assert_contains(report, "docker image:  " IMAGE " unknown (no docker daemon)\n");
	assert_contains(report, "render node:   none usable: no render node in /dev/dri\n");
	assert_contains(report, "fix:           start the engine (systemctl start docker)");
	assert_contains(report, "fix:           docker-qsv and qsv need an Intel GPU: set gpu_device");
}

static void
test_report_says_how_to_get_the_image(void)
{
	g_autoptr(Av1dEncoderProbe) probe = probe_all_good();
	g_autofree gchar *report = NULL;

	probe_drop_image(probe);
	report = av1d_encoder_probe_to_string(probe);
	g_test_message("%s", report);
	assert_contains(report, "docker image:  " IMAGE " not present: Error: No such image: ");
	assert_contains(report, "fix:           docker pull " IMAGE " (or set docker_image)\n");
}

static void
test_report_names_the_docker_group_on_permission_denied(void)
{
	g_autoptr(Av1dEncoderProbe) probe = probe_all_good();
	g_autofree gchar *report = NULL;

	probe_drop_docker_server(probe);
	g_free(probe->docker_error);
	probe->docker_error = g_strdup(
		"permission denied while trying to connect to the Docker daemon socket at "
		"unix:///var/run/docker.sock");
	report = av1d_encoder_probe_to_string(probe);
	g_test_message("%s", report);
	assert_contains(report, "fix:           uid 1000 may not use the Docker socket: add the "
				"daemon's user to group docker");
}

static void
test_report_says_how_to_install_docker(void)
{
	g_autoptr(Av1dEncoderProbe) probe = probe_all_good();
	g_autofree gchar *report = NULL;

	probe_drop_docker_server(probe);
	probe->docker_client = FALSE;
	report = av1d_encoder_probe_to_string(probe);
	assert_contains(report, "fix:           install Docker Engine");
}

/* --- probing the machine ------------------------------------------------- */

typedef struct {
	gchar *dir;
	gchar *sysfs;
	gchar *dri;
	gchar *log;
	Av1dConfig *config;
} Fixture;

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	fx->dir = g_dir_make_tmp("av1d-test-encoder-XXXXXX", &error);
	g_assert_no_error(error);
	fx->sysfs = g_build_filename(fx->dir, "sys", NULL);
	fx->dri = g_build_filename(fx->dir, "dri", NULL);
	fx->log = g_build_filename(fx->dir, "docker.log", NULL);
	g_assert_cmpint(g_mkdir(fx->sysfs, 0755), ==, 0);
	g_assert_cmpint(g_mkdir(fx->dri, 0755), ==, 0);
	fx->config = av1d_config_new_default();
	g_free(fx->config->docker_bin);
	fx->config->docker_bin = g_test_build_filename(G_TEST_DIST, "fakes", "fake-docker", NULL);
	g_free(fx->config->gpu_device);
	fx->config->gpu_device = g_strdup(fx->dri);
	/* a real ffmpeg takes a second to probe; only the tests about it need it */
	g_free(fx->config->ffmpeg_bin);
	fx->config->ffmpeg_bin = g_strdup("true");
	g_free(fx->config->ffprobe_bin);
	fx->config->ffprobe_bin = g_strdup("true");
	g_setenv("FAKE_DOCKER_LOG", fx->log, TRUE);
	g_unsetenv("FAKE_DOCKER_NO_SERVER");
	g_unsetenv("FAKE_DOCKER_HANG");
	g_unsetenv("FAKE_DOCKER_HAS_IMAGE");
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *argv0 = g_strdup("rm");
	gchar *argv[] = {argv0, "-rf", fx->dir, NULL};
	g_autoptr(GError) error = NULL;
	gint status = 0;

	g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status,
		     &error);
	g_assert_no_error(error);
	g_unsetenv("FAKE_DOCKER_LOG");
	av1d_config_unref(fx->config);
	g_free(fx->dir);
	g_free(fx->sysfs);
	g_free(fx->dri);
	g_free(fx->log);
}

static Av1dEncoderProbe *
fixture_probe(Fixture *fx, GError **error)
{
	return av1d_encoder_probe_machine_full(fx->config, fx->sysfs, 5000, NULL, error);
}

static gchar *
fixture_read_log(Fixture *fx)
{
	g_autoptr(GError) error = NULL;
	gchar *contents = NULL;

	g_file_get_contents(fx->log, &contents, NULL, &error);
	g_assert_no_error(error);
	return contents;
}

/* a character device with the numbers of /dev/null; FALSE (and the test
 * skipped) where we may not create device nodes */
static gboolean
make_char_device(const gchar *path, guint minor_nr)
{
	if (mknod(path, S_IFCHR | 0660, makedev(1, minor_nr)) == 0)
		return TRUE;
	if (errno == EPERM) {
		g_test_skip("creating device nodes needs root (CAP_MKNOD)");
		return FALSE;
	}
	g_error("mknod %s: %s", path, g_strerror(errno));
	return FALSE;
}

/* a fake sysfs entry so that device 1:@minor_nr reports @vendor */
static void
fixture_set_vendor(Fixture *fx, guint minor_nr, const gchar *vendor)
{
	g_autofree gchar *dev = g_strdup_printf("1:%u", minor_nr);
	g_autofree gchar *dir = g_build_filename(fx->sysfs, "dev", "char", dev, "device", NULL);
	g_autofree gchar *file = g_build_filename(dir, "vendor", NULL);
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
	g_file_set_contents(file, vendor, -1, &error);
	g_assert_no_error(error);
}

static void
test_probe_docker_server_down(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dEncoderProbe) probe = NULL;
	g_autofree gchar *log = NULL;

	g_setenv("FAKE_DOCKER_NO_SERVER", "1", TRUE);
	probe = fixture_probe(fx, &error);
	g_assert_no_error(error);
	g_assert_true(probe->docker_client);
	g_assert_false(probe->docker_server);
	g_assert_null(probe->docker_server_version);
	g_assert_cmpstr(
		probe->docker_error, ==,
		"Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the "
		"docker daemon running?");
	g_assert_false(probe->image_present);
	/* with no daemon there is nobody to ask about the image */
	log = fixture_read_log(fx);
	g_assert_cmpstr(log, ==, "version\n--format\n{{.Server.Version}}\n--\n");
}

static void
test_probe_docker_warnings_are_dropped(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dEncoderProbe) probe = NULL;

	g_setenv("FAKE_DOCKER_NO_SERVER", "1", TRUE);
	g_setenv("FAKE_DOCKER_WARN", "1", TRUE);
	probe = fixture_probe(fx, &error);
	g_unsetenv("FAKE_DOCKER_WARN");
	g_assert_no_error(error);
	g_assert_false(probe->docker_server);
	/* the line that says what is wrong, not the client's config warning */
	g_assert_cmpstr(
		probe->docker_error, ==,
		"Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the "
		"docker daemon running?");
}

static void
test_probe_docker_image_missing(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dEncoderProbe) probe = fixture_probe(fx, &error);
	g_autofree gchar *log = NULL;

	g_assert_no_error(error);
	g_assert_true(probe->docker_server);
	g_assert_cmpstr(probe->docker_server_version, ==, "28.2.2");
	g_assert_false(probe->image_present);
	g_assert_null(probe->image_id);
	g_assert_cmpstr(probe->image_error, ==, "Error: No such image: " IMAGE);
	log = fixture_read_log(fx);
	assert_contains(log, "--\nimage\ninspect\n--format\n{{.Id}}\n" IMAGE "\n--\n");
}

static void
test_probe_docker_image_present(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dEncoderProbe) probe = NULL;

	g_setenv("FAKE_DOCKER_HAS_IMAGE", "1", TRUE);
	probe = fixture_probe(fx, &error);
	g_assert_no_error(error);
	g_assert_true(probe->docker_server);
	g_assert_true(probe->image_present);
	g_assert_true(g_str_has_prefix(probe->image_id, "sha256:"));
	g_assert_null(probe->image_error);
}

static void
test_probe_docker_missing(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dEncoderProbe) probe = NULL;
	g_autofree gchar *reason = NULL;

	g_free(fx->config->docker_bin);
	fx->config->docker_bin = g_strdup("/nonexistent/av1d-docker");
	probe = fixture_probe(fx, &error);
	g_assert_no_error(error);
	g_assert_false(probe->docker_client);
	g_assert_false(probe->docker_server);
	assert_contains(probe->docker_error, "/nonexistent/av1d-docker");
	/* the fixture's ffmpeg has no encoders either */
	reason = assert_choose_fails(fx->config, probe);
	assert_contains(reason, "docker-qsv unavailable (cannot run /nonexistent/av1d-docker: ");
}

static void
test_probe_docker_hang_times_out(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dEncoderProbe) probe = NULL;
	g_autofree gchar *expected = NULL;
	gint64 start = g_get_monotonic_time();

	g_setenv("FAKE_DOCKER_HANG", "1", TRUE);
	probe = av1d_encoder_probe_machine_full(fx->config, fx->sysfs, 2000, NULL, &error);
	g_assert_no_error(error);
	/* the fake would hang for a minute */
	g_assert_cmpint(g_get_monotonic_time() - start, <, 30 * G_USEC_PER_SEC);
	g_assert_true(probe->docker_client);
	g_assert_false(probe->docker_server);
	expected = g_strdup_printf("`%s version`: no answer within 2 s", fx->config->docker_bin);
	g_assert_cmpstr(probe->docker_error, ==, expected);
	/* the rest of the machine was still probed */
	g_assert_null(probe->ffmpeg_version);
	g_assert_cmpstr(probe->ffmpeg_error, ==, "`true -version` printed nothing");
}

static gpointer
cancel_later_thread(gpointer data)
{
	g_usleep(300 * 1000);
	g_cancellable_cancel(G_CANCELLABLE(data));
	return NULL;
}

static void
test_probe_cancel_interrupts_hung_docker(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GCancellable) cancellable = g_cancellable_new();
	g_autoptr(Av1dEncoderProbe) probe = NULL;
	GThread *thread;
	gint64 start = g_get_monotonic_time();

	g_setenv("FAKE_DOCKER_HANG", "1", TRUE);
	/* the probe blocks its thread, so cancel from another one */
	thread = g_thread_new("cancel-later", cancel_later_thread, cancellable);
	probe = av1d_encoder_probe_machine_full(fx->config, fx->sysfs, 60000, cancellable, &error);
	g_thread_join(thread);
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_CANCELLED);
	g_assert_null(probe);
	g_assert_cmpint(g_get_monotonic_time() - start, <, 10 * G_USEC_PER_SEC);
}

static void
test_probe_cancelled(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GCancellable) cancellable = g_cancellable_new();
	g_autoptr(Av1dEncoderProbe) probe = NULL;

	g_cancellable_cancel(cancellable);
	probe = av1d_encoder_probe_machine_full(fx->config, fx->sysfs, 5000, cancellable, &error);
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_CANCELLED);
	g_assert_null(probe);
}

static void
test_probe_explicit_char_device(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dEncoderProbe) probe = NULL;
	g_autofree gchar *node_path = g_build_filename(fx->dir, "my-gpu", NULL);
	g_autofree gchar *note = NULL;
	g_autofree gchar *report = NULL;
	const Av1dRenderNode *node;

	if (!make_char_device(node_path, 3))
		return;
	g_free(fx->config->gpu_device);
	fx->config->gpu_device = g_strdup(node_path);
	probe = fixture_probe(fx, &error);
	g_assert_no_error(error);
	g_assert_false(probe->gpu_device_is_dir);
	g_assert_cmpuint(probe->render_nodes->len, ==, 1);
	node = probe->render_node;
	g_assert_nonnull(node);
	g_assert_cmpstr(node->path, ==, node_path);
	g_assert_cmpuint(node->vendor_id, ==, 0);
	g_assert_cmpuint(node->gid, ==, getgid());
	g_assert_cmpint(node->accessible, ==, access(node_path, R_OK | W_OK) == 0);
	g_assert_null(probe->render_error);
	g_assert_cmpuint(probe->notes->len, ==, 1);
	note = g_strdup_printf("%s: cannot confirm an Intel GPU (sysfs vendor unknown); av1_qsv "
			       "only works on an Intel render node",
			       node_path);
	g_assert_cmpstr(g_ptr_array_index(probe->notes, 0), ==, note);
	report = av1d_encoder_probe_to_string(probe);
	assert_contains(report, note);
}

static void
test_probe_explicit_intel_device(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dEncoderProbe) probe = NULL;
	g_autofree gchar *node_path = g_build_filename(fx->dir, "renderD128", NULL);

	if (!make_char_device(node_path, 3))
		return;
	fixture_set_vendor(fx, 3, "0x8086\n");
	g_free(fx->config->gpu_device);
	fx->config->gpu_device = g_strdup(node_path);
	probe = fixture_probe(fx, &error);
	g_assert_no_error(error);
	g_assert_nonnull(probe->render_node);
	g_assert_cmpuint(probe->render_node->vendor_id, ==, AV1D_PCI_VENDOR_INTEL);
	g_assert_cmpuint(probe->notes->len, ==, 0);
}

static void
test_probe_folder_picks_intel_node(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dEncoderProbe) probe = NULL;
	g_autofree gchar *amd = g_build_filename(fx->dri, "renderD128", NULL);
	g_autofree gchar *intel = g_build_filename(fx->dri, "renderD129", NULL);
	g_autofree gchar *card = g_build_filename(fx->dri, "card0", NULL);
	g_autofree gchar *report = NULL;

	if (!make_char_device(amd, 3) || !make_char_device(intel, 5) || !make_char_device(card, 7))
		return;
	fixture_set_vendor(fx, 3, "0x1002\n");
	fixture_set_vendor(fx, 5, "0x8086\n");
	fixture_set_vendor(fx, 7, "0x8086\n");
	probe = fixture_probe(fx, &error);
	g_assert_no_error(error);
	g_assert_true(probe->gpu_device_is_dir);
	/* card0 is not a render node */
	g_assert_cmpuint(probe->render_nodes->len, ==, 2);
	g_assert_cmpstr(((Av1dRenderNode *)g_ptr_array_index(probe->render_nodes, 0))->path, ==,
			amd);
	g_assert_nonnull(probe->render_node);
	g_assert_cmpstr(probe->render_node->path, ==, intel);
	g_assert_cmpuint(probe->notes->len, ==, 0);
	report = av1d_encoder_probe_to_string(probe);
	g_test_message("%s", report);
	assert_contains(report, "renderD128: vendor 0x1002, group");
	assert_contains(report, "renderD129: vendor 0x8086 (Intel), group");
}

static void
test_probe_folder_without_intel_node(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dEncoderProbe) probe = NULL;
	g_autofree gchar *node_path = g_build_filename(fx->dri, "renderD128", NULL);
	g_autofree gchar *expected = NULL;

	if (!make_char_device(node_path, 3))
		return;
	probe = fixture_probe(fx, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(probe->render_nodes->len, ==, 1);
	g_assert_null(probe->render_node);
	expected =
		g_strdup_printf("no Intel render node in %s (renderD128: vendor unknown)", fx->dri);
	g_assert_cmpstr(probe->render_error, ==, expected);
}

static void
test_probe_folder_without_nodes(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dEncoderProbe) probe = fixture_probe(fx, &error);
	g_autofree gchar *expected = g_strdup_printf("no render node in %s", fx->dri);

	g_assert_no_error(error);
	g_assert_true(probe->gpu_device_is_dir);
	g_assert_cmpuint(probe->render_nodes->len, ==, 0);
	g_assert_null(probe->render_node);
	g_assert_cmpstr(probe->render_error, ==, expected);
}

static void
test_probe_missing_gpu_device(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dEncoderProbe) probe = NULL;
	g_autofree gchar *expected = NULL;

	g_free(fx->config->gpu_device);
	fx->config->gpu_device = g_build_filename(fx->dir, "no-such-dri", NULL);
	probe = fixture_probe(fx, &error);
	g_assert_no_error(error);
	g_assert_null(probe->render_node);
	expected = g_strdup_printf("no render node: %s does not exist", fx->config->gpu_device);
	g_assert_cmpstr(probe->render_error, ==, expected);
}

static void
test_probe_regular_file_is_config_error(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dEncoderProbe) probe = NULL;
	g_autofree gchar *file = g_build_filename(fx->dir, "renderD128", NULL);
	g_autofree gchar *expected = NULL;

	g_file_set_contents(file, "not a device", -1, &error);
	g_assert_no_error(error);
	g_free(fx->config->gpu_device);
	fx->config->gpu_device = g_strdup(file);
	probe = fixture_probe(fx, &error);
	g_assert_null(probe);
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_CONFIG);
	expected = g_strdup_printf("gpu_device '%s' is not a character device", file);
	g_assert_cmpstr(error->message, ==, expected);
}

static void
test_probe_local_ffmpeg(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dEncoderProbe) probe = NULL;
	g_autofree gchar *reason = NULL;
	g_autofree gchar *report = NULL;

	g_free(fx->config->ffmpeg_bin);
	fx->config->ffmpeg_bin = g_strdup("ffmpeg");
	g_free(fx->config->ffprobe_bin);
	fx->config->ffprobe_bin = g_strdup("ffprobe");
	probe = fixture_probe(fx, &error);
	g_assert_no_error(error);
	g_assert_true(g_str_has_prefix(probe->ffmpeg_version, "ffmpeg version "));
	g_assert_true(g_str_has_prefix(probe->ffprobe_version, "ffprobe version "));
	g_assert_null(probe->ffmpeg_error);
	g_assert_true(av1d_encoder_probe_has_encoder(probe, "libsvtav1"));
	g_assert_false(av1d_encoder_probe_has_encoder(probe, "wmav1"));
	g_assert_cmpstr(av1d_encoder_probe_software_codec(probe), ==, "libsvtav1");
	g_assert_cmpuint(probe->uid, ==, getuid());
	/* this machine, as the brief describes it: no image, no GPU */
	reason = assert_chooses(fx->config, probe, AV1D_ENCODER_KIND_SOFTWARE);
	assert_contains(reason, "not present: run `");
	assert_contains(reason, "using local ffmpeg with libsvtav1");
	report = av1d_encoder_probe_to_string(probe);
	g_test_message("%s", report);
	assert_contains(report, "libsvtav1");
}

static void
test_probe_missing_ffmpeg(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dEncoderProbe) probe = NULL;

	g_free(fx->config->ffmpeg_bin);
	fx->config->ffmpeg_bin = g_strdup("/nonexistent/av1d-ffmpeg");
	g_free(fx->config->ffprobe_bin);
	fx->config->ffprobe_bin = g_strdup("ffprobe");
	probe = fixture_probe(fx, &error);
	g_assert_no_error(error);
	g_assert_null(probe->ffmpeg_version);
	assert_contains(probe->ffmpeg_error, "/nonexistent/av1d-ffmpeg");
	g_assert_cmpuint(g_strv_length(probe->ffmpeg_av1_encoders), ==, 0);
	/* ffprobe is probed on its own */
	g_assert_nonnull(probe->ffprobe_version);
}

/* --- containers left behind --------------------------------------------- */

/* a fake-docker container: a sleeping process with a pid file and labels */
static GSubprocess *
fixture_fake_container(Fixture *fx, const gchar *name, guint job, const gchar *instance)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *pidfile = g_strdup_printf("%s/%s.pid", fx->dir, name);
	g_autofree gchar *labelfile = g_strdup_printf("%s/%s.labels", fx->dir, name);
	g_autofree gchar *labels =
		g_strdup_printf("org.av1d.job=%u\norg.av1d.state=%s\n", job, instance);
	GSubprocess *proc = g_subprocess_new(G_SUBPROCESS_FLAGS_NONE, &error, "sleep", "60", NULL);

	g_assert_no_error(error);
	g_assert_true(g_file_set_contents(pidfile, g_subprocess_get_identifier(proc), -1, NULL));
	g_assert_true(g_file_set_contents(labelfile, labels, -1, NULL));
	return proc;
}

static void
test_orphans_of_this_daemon_are_removed(Fixture *fx, gconstpointer data)
{
	g_autoptr(GSubprocess) ours = fixture_fake_container(fx, "av1d-7", 7, "aaaa");
	g_autoptr(GSubprocess) theirs = fixture_fake_container(fx, "av1d-8", 8, "bbbb");
	g_autofree gchar *their_pidfile = g_build_filename(fx->dir, "av1d-8.pid", NULL);
	g_autoptr(GPtrArray) removed = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *log = NULL;

	g_setenv("FAKE_DOCKER_STATE", fx->dir, TRUE);
	g_assert_true(av1d_encoder_remove_orphans(fx->config->docker_bin, "aaaa", 5000, NULL,
						  &removed, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(removed->len, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(removed, 0), ==, "av1d-7 (job 7, Up)");
	/* ours was killed; theirs still runs */
	g_assert_true(g_subprocess_wait(ours, NULL, NULL));
	g_assert_true(g_subprocess_get_if_signaled(ours));
	g_assert_true(g_file_test(their_pidfile, G_FILE_TEST_EXISTS));
	g_assert_cmpint(kill(atoi(g_subprocess_get_identifier(theirs)), 0), ==, 0);
	log = fixture_read_log(fx);
	g_test_message("%s", log);
	assert_contains(log, "ps\n--all\n--filter\nlabel=org.av1d.state=aaaa\n--format\n");
	assert_contains(log, "--\nrm\n--force\nav1d-7\n--\n");
	g_subprocess_force_exit(theirs);
	g_assert_true(g_subprocess_wait(theirs, NULL, NULL));
	g_unsetenv("FAKE_DOCKER_STATE");
}

static void
test_no_orphans_removes_nothing(Fixture *fx, gconstpointer data)
{
	g_autoptr(GPtrArray) removed = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *log = NULL;

	g_setenv("FAKE_DOCKER_STATE", fx->dir, TRUE);
	g_assert_true(av1d_encoder_remove_orphans(fx->config->docker_bin, "aaaa", 5000, NULL,
						  &removed, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(removed->len, ==, 0);
	log = fixture_read_log(fx);
	g_assert_null(strstr(log, "--\nrm\n"));
	g_unsetenv("FAKE_DOCKER_STATE");
}

static void
test_orphans_without_docker_daemon_is_an_error(Fixture *fx, gconstpointer data)
{
	g_autoptr(GPtrArray) removed = NULL;
	g_autoptr(GError) error = NULL;

	g_setenv("FAKE_DOCKER_NO_SERVER", "1", TRUE);
	g_assert_false(av1d_encoder_remove_orphans(fx->config->docker_bin, "aaaa", 5000, NULL,
						   &removed, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_FAILED);
	assert_contains(error->message, "ps` failed: Cannot connect to the Docker daemon");
	g_assert_null(removed);
}

#define ADD_PROBE_TEST(path, func)                                                                 \
	g_test_add(path, Fixture, NULL, fixture_setup, func, fixture_teardown)

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/av1d/encoder/auto-picks-docker-qsv-when-everything-is-there",
			test_auto_picks_docker_qsv);
	g_test_add_func("/av1d/encoder/auto-falls-back-to-qsv-when-image-missing",
			test_auto_falls_back_to_qsv_when_image_missing);
	g_test_add_func("/av1d/encoder/auto-falls-back-to-software-when-image-missing",
			test_auto_falls_back_to_software_when_image_missing);
	g_test_add_func("/av1d/encoder/auto-falls-back-to-software-when-docker-daemon-is-down",
			test_auto_falls_back_when_docker_daemon_down);
	g_test_add_func("/av1d/encoder/auto-falls-back-when-render-node-is-not-accessible",
			test_auto_falls_back_when_node_not_accessible);
	g_test_add_func("/av1d/encoder/auto-uses-libaom-without-svt-av1",
			test_auto_uses_libaom_without_svt);
	g_test_add_func("/av1d/encoder/auto-fails-without-any-av1-encoder",
			test_auto_fails_without_any_encoder);
	g_test_add_func("/av1d/encoder/auto-fails-without-ffmpeg", test_auto_fails_without_ffmpeg);
	g_test_add_func("/av1d/encoder/explicit-docker-qsv-needs-the-image",
			test_explicit_docker_qsv_needs_image);
	g_test_add_func("/av1d/encoder/explicit-docker-qsv-is-used-when-ready",
			test_explicit_docker_qsv_when_ready);
	g_test_add_func("/av1d/encoder/explicit-qsv-needs-a-render-node",
			test_explicit_qsv_needs_render_node);
	g_test_add_func("/av1d/encoder/explicit-qsv-needs-av1-qsv",
			test_explicit_qsv_needs_av1_qsv);
	g_test_add_func("/av1d/encoder/explicit-software-wins-over-a-working-gpu",
			test_explicit_software_wins_over_gpu);
	g_test_add_func("/av1d/encoder/explicit-software-needs-an-encoder",
			test_explicit_software_needs_encoder);
	g_test_add_func("/av1d/encoder/unconfirmed-render-node-is-named-in-the-reason",
			test_unconfirmed_node_is_named);
	g_test_add_func("/av1d/encoder/report-lists-everything", test_report_lists_everything);
	g_test_add_func("/av1d/encoder/report-says-what-is-missing",
			test_report_says_what_is_missing);
	g_test_add_func("/av1d/encoder/report-says-how-to-get-the-image",
			test_report_says_how_to_get_the_image);
	g_test_add_func("/av1d/encoder/report-names-the-docker-group-on-permission-denied",
			test_report_names_the_docker_group_on_permission_denied);
	g_test_add_func("/av1d/encoder/report-says-how-to-install-docker",
			test_report_says_how_to_install_docker);

	ADD_PROBE_TEST("/av1d/encoder/probe/docker-server-down-is-recorded",
		       test_probe_docker_server_down);
	ADD_PROBE_TEST("/av1d/encoder/probe/docker-client-warnings-are-dropped",
		       test_probe_docker_warnings_are_dropped);
	ADD_PROBE_TEST("/av1d/encoder/probe/docker-image-missing-is-recorded",
		       test_probe_docker_image_missing);
	ADD_PROBE_TEST("/av1d/encoder/probe/docker-image-present-is-recorded",
		       test_probe_docker_image_present);
	ADD_PROBE_TEST("/av1d/encoder/probe/missing-docker-binary-is-recorded",
		       test_probe_docker_missing);
	ADD_PROBE_TEST("/av1d/encoder/probe/hung-docker-daemon-times-out",
		       test_probe_docker_hang_times_out);
	ADD_PROBE_TEST("/av1d/encoder/probe/cancelled-probe-returns-cancelled",
		       test_probe_cancelled);
	ADD_PROBE_TEST("/av1d/encoder/probe/cancel-interrupts-a-hung-docker-daemon",
		       test_probe_cancel_interrupts_hung_docker);
	ADD_PROBE_TEST("/av1d/encoder/probe/explicit-char-device-is-used-with-a-note",
		       test_probe_explicit_char_device);
	ADD_PROBE_TEST("/av1d/encoder/probe/explicit-intel-device-needs-no-note",
		       test_probe_explicit_intel_device);
	ADD_PROBE_TEST("/av1d/encoder/probe/folder-picks-the-first-intel-render-node",
		       test_probe_folder_picks_intel_node);
	ADD_PROBE_TEST("/av1d/encoder/probe/folder-without-intel-node-is-not-usable",
		       test_probe_folder_without_intel_node);
	ADD_PROBE_TEST("/av1d/encoder/probe/folder-without-render-nodes-is-not-usable",
		       test_probe_folder_without_nodes);
	ADD_PROBE_TEST("/av1d/encoder/probe/missing-gpu-device-is-not-usable",
		       test_probe_missing_gpu_device);
	ADD_PROBE_TEST("/av1d/encoder/probe/regular-file-as-gpu-device-is-a-config-error",
		       test_probe_regular_file_is_config_error);
	ADD_PROBE_TEST("/av1d/encoder/probe/local-ffmpeg-lists-software-encoders",
		       test_probe_local_ffmpeg);
	ADD_PROBE_TEST("/av1d/encoder/probe/missing-ffmpeg-is-recorded", test_probe_missing_ffmpeg);
	ADD_PROBE_TEST("/av1d/encoder/orphans/only-this-daemons-containers-are-removed",
		       test_orphans_of_this_daemon_are_removed);
	ADD_PROBE_TEST("/av1d/encoder/orphans/none-left-removes-nothing",
		       test_no_orphans_removes_nothing);
	ADD_PROBE_TEST("/av1d/encoder/orphans/no-docker-daemon-is-an-error",
		       test_orphans_without_docker_daemon_is_an_error);

	return g_test_run();
}
