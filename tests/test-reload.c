/*
 * A reload never pulls the config from under a thread (issue 14, item 4):
 * the manager crawls a library of 10 000 folders in its worker thread and
 * runs encodes while the config is reloaded 200 times, alternating valid
 * files (other extensions, other exclude_languages) and invalid ones. Under
 * ASan a freed extension list read by the crawl thread would be a
 * use-after-free; here it must simply work, and the config in effect at the
 * end must be the last valid one.
 */
#include "config.h"

#include <glib/gstdio.h>

#include "av1d-error.h"
#include "av1d-manager.h"
#include "av1d-test-util.h"

#define N_FOLDERS 10000
#define N_RELOADS 200

typedef struct {
	gchar *dir;
	gchar *library;
	gchar *config_path;
	gchar *ffmpeg;
	Av1dConfig *config;
	Av1dJobStore *store;
	Av1dManager *manager;
	guint crawls_finished;
} Fixture;

/* 100 x 100 folders; a real film in twenty of them, to be encoded */
static void
make_library(Fixture *fx)
{
	for (guint i = 0; i < 100; i++) {
		for (guint j = 0; j < N_FOLDERS / 100; j++) {
			g_autofree gchar *dir = g_strdup_printf("%s/d%02u/e%02u", fx->library, i, j);

			g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
			if (i % 5 == 0 && j == 0)
				av1d_test_copy_media("h264-eng-rus.mkv", dir, "film.mkv");
		}
	}
}

/* valid files differ in what a reload may change; every fourth file is
 * broken in one of two ways; returns whether it is valid */
static gboolean
write_config(Fixture *fx, guint n, gchar **extension)
{
	g_autofree gchar *text = NULL;
	gboolean valid = n % 4 != 3;

	*extension = g_strdup_printf("x%u", n);
	if (!valid && n % 8 == 3)
		text = g_strdup("library_roots = [\"unterminated\n");
	else if (!valid)
		text = g_strdup_printf("library_roots = [\"%s\"]\nmin_bytes = -1\n", fx->library);
	else
		text = g_strdup_printf(
			"library_roots = [\"%s\"]\nmin_bytes = 1\nstable_secs = 0\n"
			"job_state_dir = \"%s/state\"\n"
			"ffmpeg_bin = \"%s\"\nmax_size_ratio = 1.0\n"
			"extensions = [\"mkv\", \"mp4\", \"%s\"]\n"
			"exclude_languages = [\"l%u\", \"rus\"]\n",
			fx->library, fx->dir, fx->ffmpeg, *extension, n);
	g_assert_true(g_file_set_contents(fx->config_path, text, -1, NULL));
	return valid;
}

static void
on_crawl_finished(Av1dManager *manager, gpointer user_data)
{
	Fixture *fx = user_data;

	fx->crawls_finished++;
}

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *extension = NULL;
	Av1dBackendParams backend = {.kind = AV1D_ENCODER_KIND_SOFTWARE};

	fx->dir = g_dir_make_tmp("av1d-test-reload-XXXXXX", &error);
	g_assert_no_error(error);
	fx->library = g_build_filename(fx->dir, "library", NULL);
	fx->config_path = g_build_filename(fx->dir, "config.toml", NULL);
	fx->ffmpeg = g_build_filename(g_getenv("G_TEST_SRCDIR"), "fakes", "slow-ffmpeg", NULL);
	make_library(fx);
	g_assert_true(write_config(fx, 0, &extension));
	fx->config = av1d_config_load_file(fx->config_path, &error);
	g_assert_no_error(error);
	fx->store = av1d_job_store_new(fx->config->job_state_dir, &error);
	g_assert_no_error(error);
	g_assert_true(av1d_job_store_load(fx->store, &error));
	backend.ffmpeg_bin = fx->ffmpeg;
	fx->manager = av1d_manager_new(fx->config, fx->store, &backend);
	g_signal_connect(fx->manager, "crawl-finished", G_CALLBACK(on_crawl_finished), fx);
	/* slow encodes, so that some run while the reloads happen */
	g_setenv("FAKE_FFMPEG_BLOCKS", "20", TRUE);
	g_setenv("FAKE_FFMPEG_INTERVAL", "0.05", TRUE);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	if (fx->manager != NULL)
		av1d_manager_stop(fx->manager);
	g_clear_object(&fx->manager);
	g_clear_object(&fx->store);
	av1d_config_unref(fx->config);
	av1d_test_rm_rf(fx->dir);
	g_free(fx->library);
	g_free(fx->config_path);
	g_free(fx->ffmpeg);
	g_free(fx->dir);
}

/* a few turns of the main loop: crawl results, job progress */
static void
iterate(guint turns)
{
	for (guint i = 0; i < turns; i++)
		g_main_context_iteration(NULL, FALSE);
}

/* what the daemon's SIGHUP does: load, then hand it to the manager */
static gboolean
reload(Fixture *fx, GError **error)
{
	g_autoptr(Av1dConfig) next = av1d_config_load_file(fx->config_path, error);

	return next != NULL && av1d_manager_reload(fx->manager, next, error);
}

static void
test_reloads_during_a_crawl_and_encodes(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *last_valid = NULL;
	const Av1dConfig *now;
	guint valid = 0, refused = 0, rescans = 0;

	g_assert_true(av1d_manager_start_watching(fx->manager, &error));
	g_assert_no_error(error);
	for (guint n = 1; n <= N_RELOADS; n++) {
		g_autofree gchar *extension = NULL;
		gboolean ok = write_config(fx, n, &extension);
		g_autoptr(GError) reload_error = NULL;

		if (reload(fx, &reload_error)) {
			g_assert_true(ok);
			g_free(last_valid);
			last_valid = g_steal_pointer(&extension);
			valid++;
		} else {
			g_assert_false(ok);
			g_assert_error(reload_error, AV1D_ERROR, AV1D_ERROR_CONFIG);
			refused++;
		}
		/* keep the crawl thread busy: a finished crawl starts again */
		if (fx->crawls_finished > rescans) {
			av1d_manager_rescan(fx->manager);
			rescans = fx->crawls_finished;
		}
		iterate(20);
	}
	g_test_message("%u reloads applied, %u refused, %u crawls finished meanwhile, %u running",
		       valid, refused, fx->crawls_finished,
		       av1d_manager_get_running_count(fx->manager));
	g_assert_cmpuint(valid + refused, ==, N_RELOADS);
	g_assert_cmpuint(refused, ==, N_RELOADS / 4);
	now = av1d_manager_get_config(fx->manager);
	g_assert_true(g_strv_contains((const gchar *const *)now->extensions, last_valid));
	g_assert_cmpuint(g_strv_length(now->extensions), ==, 3);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/av1d/reload/two-hundred-reloads-during-a-crawl-and-encodes", Fixture, NULL,
		   fixture_setup, test_reloads_during_a_crawl_and_encodes, fixture_teardown);
	return g_test_run();
}
