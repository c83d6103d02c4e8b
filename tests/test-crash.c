/*
 * Fault injection with the real daemon (SPEC 7.4): `av1d --once` on a small
 * library is killed with SIGKILL at many points — at named stages (the
 * daemon stops itself there with AV1D_PAUSE_AT and is then killed) and after
 * plain delays — then started again. After every kill and after every
 * restart, each file must be either the original bytes under the original
 * name, or a valid AV1 file under the final name with the byte-identical
 * original as the backup. After the restart no temp may be left, and every
 * file must have been converted.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <gio/gio.h>
#include <signal.h>

#include "av1d-test-util.h"

typedef struct {
	const gchar *name;   /* in the library */
	const gchar *final;  /* after a swap */
	const gchar *backup; /* the original after a swap */
	gchar *checksum; /* of the original */
} LibraryFile;

static LibraryFile files[] = {
    {"h264-eng-rus.mkv", "h264-eng-rus.mkv", "h264-eng-rus.orig.mkv", NULL},
    {"movtext.mp4", "movtext.mkv", "movtext.orig.mp4", NULL},
};

static gboolean
is_av1(const gchar *path)
{
	g_autofree gchar *codec = av1d_test_video_codec(path, NULL);

	return g_strcmp0(codec, "av1") == 0;
}

typedef struct {
	gchar *dir;
	gchar *library;
	gchar *config;
} World;

static void
world_init(World *w)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *state = NULL;
	g_autofree gchar *text = NULL;

	w->dir = g_dir_make_tmp("av1d-test-crash-XXXXXX", &error);
	g_assert_no_error(error);
	w->library = g_build_filename(w->dir, "library", NULL);
	w->config = g_build_filename(w->dir, "config.toml", NULL);
	state = g_build_filename(w->dir, "state", NULL);
	g_assert_cmpint(g_mkdir(w->library, 0755), ==, 0);
	text = g_strdup_printf("library_roots = [\"%s\"]\nmin_bytes = 1\nstable_secs = 0\n"
			       "max_size_ratio = 1.0\njob_state_dir = \"%s\"\n",
			       w->library, state);
	g_assert_true(g_file_set_contents(w->config, text, -1, NULL));
	for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
		g_autofree gchar *dst = g_build_filename(w->library, files[i].name, NULL);

		av1d_test_copy_media(files[i].name, w->library, NULL);
		if (files[i].checksum == NULL)
			files[i].checksum = av1d_test_checksum(dst);
	}
}

static void
world_clear(World *w)
{
	av1d_test_rm_rf(w->dir);
	g_free(w->dir);
	g_free(w->library);
	g_free(w->config);
}

/* the promise: original bytes under the original name, or AV1 under the
 * final name and the original bytes as the backup */
static void
assert_nothing_lost(World *w, gboolean require_done, const gchar *when)
{
	if (require_done) {
		g_autofree gchar *temps = av1d_test_find_temps(w->library);

		if (temps != NULL)
			g_error("%s: temps left after the restart: %s", when, temps);
	}
	for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
		g_autofree gchar *name = g_build_filename(w->library, files[i].name, NULL);
		g_autofree gchar *final = g_build_filename(w->library, files[i].final, NULL);
		g_autofree gchar *backup = g_build_filename(w->library, files[i].backup, NULL);
		g_autofree gchar *name_sum = av1d_test_checksum(name);
		g_autofree gchar *backup_sum = av1d_test_checksum(backup);
		gboolean original_in_place = g_strcmp0(name_sum, files[i].checksum) == 0;
		gboolean swapped = g_strcmp0(backup_sum, files[i].checksum) == 0 && is_av1(final);

		if (!original_in_place && !swapped)
			g_error("%s: %s lost: neither the original nor AV1 + backup", when,
				files[i].name);
		if (require_done) {
			if (!swapped)
				g_error("%s: %s was not converted after the restart", when,
					files[i].name);
			/* for the .mp4, the old name is gone once the swap is done */
			if (g_strcmp0(files[i].name, files[i].final) != 0 &&
			    g_file_test(name, G_FILE_TEST_EXISTS))
				g_error("%s: %s still there after the swap", when, files[i].name);
		}
	}
}

static GSubprocess *
spawn_av1d(World *w, const gchar *pause_at, const gchar *stderr_path)
{
	g_autoptr(GSubprocessLauncher) launcher =
	    g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
	g_autoptr(GError) error = NULL;
	GSubprocess *proc;

	g_subprocess_launcher_set_stderr_file_path(launcher, stderr_path);
	if (pause_at != NULL)
		g_subprocess_launcher_setenv(launcher, "AV1D_PAUSE_AT", pause_at, TRUE);
	proc = g_subprocess_launcher_spawn(launcher, &error, g_getenv("AV1D_BIN"), "--once",
					   "--config", w->config, NULL);
	g_assert_no_error(error);
	return proc;
}

static void
kill_and_reap(GSubprocess *proc)
{
	g_subprocess_send_signal(proc, SIGKILL);
	g_assert_true(g_subprocess_wait(proc, NULL, NULL));
}

static void
restart_and_check(World *w, const gchar *label)
{
	g_autofree gchar *log = g_build_filename(w->dir, "restart.log", NULL);
	g_autoptr(GSubprocess) proc = spawn_av1d(w, NULL, log);
	g_autoptr(GError) error = NULL;

	g_assert_true(g_subprocess_wait(proc, NULL, &error));
	if (!g_subprocess_get_if_exited(proc) || g_subprocess_get_exit_status(proc) != 0) {
		g_autofree gchar *text = NULL;
		g_file_get_contents(log, &text, NULL, NULL);
		g_error("%s: restart failed:\n%s", label, text);
	}
	assert_nothing_lost(w, TRUE, label);
}

/* SIGKILL at the named point; the point must be reached */
static void
crash_at_point(gconstpointer data)
{
	const gchar *point = data;
	g_autofree gchar *label = g_strdup_printf("kill at %s", point);
	World w = {NULL};
	g_autofree gchar *log = NULL;
	g_autoptr(GSubprocess) proc = NULL;

	world_init(&w);
	log = g_build_filename(w.dir, "killed.log", NULL);
	proc = spawn_av1d(&w, point, log);
	if (!av1d_test_wait_stopped(proc)) {
		g_autofree gchar *text = NULL;
		g_file_get_contents(log, &text, NULL, NULL);
		g_error("av1d never reached %s:\n%s", point, text);
	}
	kill_and_reap(proc);
	assert_nothing_lost(&w, FALSE, label);
	restart_and_check(&w, label);
	world_clear(&w);
}

/* SIGKILL after a delay, wherever the daemon happens to be */
static void
crash_after_delay(gconstpointer data)
{
	guint delay_ms = GPOINTER_TO_UINT(data);
	g_autofree gchar *label = g_strdup_printf("kill after %u ms", delay_ms);
	World w = {NULL};
	g_autofree gchar *log = NULL;
	g_autoptr(GSubprocess) proc = NULL;

	world_init(&w);
	log = g_build_filename(w.dir, "killed.log", NULL);
	proc = spawn_av1d(&w, NULL, log);
	g_usleep(delay_ms * 1000);
	kill_and_reap(proc);
	assert_nothing_lost(&w, FALSE, label);
	restart_and_check(&w, label);
	world_clear(&w);
}

int
main(int argc, char **argv)
{
	/* every stage of both files' way: probe, encode, verify, each swap
	 * step, the job file writes; "#2" is the second file (the .mp4) */
	static const gchar *const points[] = {
	    "pipeline-probing#1",	 "pipeline-probing#2",	    "pipeline-encoded#1",
	    "pipeline-encoded#2",	 "pipeline-verifying#1",    "pipeline-verifying#2",
	    "pipeline-swapping#1",	 "pipeline-swapping#2",	    "swap-before-link#1",
	    "swap-before-link#2",	 "swap-before-rename#1",    "swap-before-rename#2",
	    "swap-after-rename#1",	 "swap-after-rename#2",	    "swap-before-dir-fsync#1",
	    "swap-before-dir-fsync#2",	 "swap-done#1",		    "swap-done#2",
	    "store-before-rename#3",	 "store-before-rename#7",   "store-before-rename#12",
	};

	g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
	for (guint i = 0; i < G_N_ELEMENTS(points); i++) {
		g_autofree gchar *path = g_strdup_printf("/av1d/crash/kill-at/%s", points[i]);
		g_strdelimit(path + strlen("/av1d/crash/kill-at/"), "#", '-');
		g_test_add_data_func(path, points[i], crash_at_point);
	}
	/* plain delays cover the encodes themselves and whatever lies between
	 * the named points */
	for (guint delay = 50; delay <= 3000; delay += 150) {
		g_autofree gchar *path = g_strdup_printf("/av1d/crash/kill-after/%ums", delay);
		g_test_add_data_func(path, GUINT_TO_POINTER(delay), crash_after_delay);
	}
	return g_test_run();
}
