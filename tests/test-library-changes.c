/*
 * The library changing under av1d's feet (issue 13), with the real binary on
 * real files: a file the user puts at the final name, a source replaced or
 * moved away while its job waits, a symlink planted where the encode goes,
 * two files of one stem, a skip for a queued job, a folder swapped for a
 * symlink and a new file while av1d was down, and a marker that must never
 * land outside the library. Each test sets the change up at the exact
 * instant (AV1D_PAUSE_AT stops av1d there) and then checks every file by
 * its bytes: the user's files stay as they are, nothing outside `lib/`
 * changes, no temp folder stays behind and no job claims a success it did
 * not have.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "av1d-probe.h"
#include "av1d-test-util.h"

/* the world of a test: lib/ is the only library root; outside/ is next to
 * it, with files av1d must never touch; staging/ is where "the user" writes
 * a file before moving it into the library */
typedef struct {
	gchar *dir;
	gchar *library;
	gchar *outside;
	gchar *staging;
	gchar *state;
	gchar *config;
	gchar *secret; /* outside/secret.txt */
	gchar *outside_digest;
	GPtrArray *procs; /* every GSubprocess started, killed and reaped in teardown */
	gchar *bus_address;
	GSubprocess *bus;
} Fixture;

/* --- media ---------------------------------------------------------------- */

/* generated on first use into a folder kept between runs, named after
 * their ffmpeg arguments, each written under a temporary name first */
static const gchar *
clip(const gchar *name)
{
	static const struct {
		const gchar *name;
		const gchar *args[24];
	} clips[] = {
	    /* picture A */
	    {"a.mkv",
	     {"-f", "lavfi", "-i", "testsrc2=size=128x96:rate=25:duration=1", "-f", "lavfi", "-i",
	      "sine=frequency=440:sample_rate=48000:duration=1", "-c:v", "libx264", "-preset",
	      "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "matroska",
	      NULL}},
	    /* picture B */
	    {"b.mp4",
	     {"-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=1", "-f", "lavfi", "-i",
	      "sine=frequency=660:sample_rate=48000:duration=1", "-c:v", "libx264", "-preset",
	      "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "mp4", NULL}},
	    /* what the user puts in place: other bytes, picture B's size */
	    {"new.mkv",
	     {"-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30:duration=1", "-f", "lavfi", "-i",
	      "sine=frequency=880:sample_rate=48000:duration=1", "-c:v", "libx264", "-preset",
	      "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "matroska",
	      NULL}},
	    /* a tiny, badly compressed H.264 that no AV1 encode makes smaller */
	    {"incompressible.mkv",
	     {"-f", "lavfi", "-i", "testsrc2=size=64x64:rate=25", "-t", "1", "-c:v", "libx264",
	      "-crf", "51", "-preset", "ultrafast", "-f", "matroska", NULL}},
	};
	static gchar *paths[G_N_ELEMENTS(clips)];

	for (guint i = 0; i < G_N_ELEMENTS(clips); i++) {
		g_autoptr(GStrvBuilder) builder = NULL;
		g_auto(GStrv) argv = NULL;
		g_autofree gchar *dir = NULL, *joined = NULL, *hash = NULL, *base = NULL;
		g_autofree gchar *tmp_name = NULL, *tmp = NULL;
		g_autofree gchar *err = NULL;
		g_autoptr(GError) error = NULL;
		gint status = 0;

		if (g_strcmp0(clips[i].name, name) != 0)
			continue;
		if (paths[i] != NULL)
			return paths[i];
		dir = g_build_filename(g_get_tmp_dir(), "av1d-test-library-changes-clips", NULL);
		g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
		joined = g_strjoinv(" ", (gchar **)clips[i].args);
		hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, joined, -1);
		base = g_strdup_printf("%.12s-%s", hash, name);
		paths[i] = g_build_filename(dir, base, NULL);
		if (g_file_test(paths[i], G_FILE_TEST_EXISTS))
			return paths[i];
		tmp_name = g_strdup_printf(".tmp-%d-%s", (gint)getpid(), base);
		tmp = g_build_filename(dir, tmp_name, NULL);
		builder = g_strv_builder_new();
		g_strv_builder_add_many(builder, "ffmpeg", "-hide_banner", "-nostdin", "-loglevel",
					"error", "-y", NULL);
		g_strv_builder_addv(builder, (const char **)clips[i].args);
		g_strv_builder_add(builder, tmp);
		argv = g_strv_builder_end(builder);
		g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
			     NULL, NULL, &err, &status, &error);
		g_assert_no_error(error);
		if (!g_spawn_check_wait_status(status, NULL))
			g_error("generating %s failed:\n%s", name, err);
		g_assert_cmpint(g_rename(tmp, paths[i]), ==, 0);
		return paths[i];
	}
	g_error("no clip %s", name);
	return NULL;
}

static void
copy_file(const gchar *from_path, const gchar *to_path)
{
	g_autoptr(GFile) from = g_file_new_for_path(from_path);
	g_autoptr(GFile) to = g_file_new_for_path(to_path);
	g_autoptr(GError) error = NULL;

	g_file_copy(from, to, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, &error);
	g_assert_no_error(error);
}

/* the user's way of replacing a file: write it elsewhere, then mv it over */
static void
move_in(Fixture *fx, const gchar *clip_name, const gchar *to_path)
{
	g_autofree gchar *base = g_path_get_basename(to_path);
	g_autofree gchar *staged = g_build_filename(fx->staging, base, NULL);

	copy_file(clip(clip_name), staged);
	g_assert_cmpint(g_rename(staged, to_path), ==, 0);
}

static gboolean
video_size(const gchar *path, gchar **codec, gint *width, gint *height)
{
	g_autoptr(Av1dMediaInfo) info = av1d_probe_file_sync("ffprobe", path, NULL, NULL);

	for (guint i = 0; info != NULL && i < info->streams->len; i++) {
		const Av1dStreamInfo *s = g_ptr_array_index(info->streams, i);

		if (s->type != AV1D_STREAM_TYPE_VIDEO)
			continue;
		*codec = g_strdup(s->codec_name);
		*width = s->width;
		*height = s->height;
		return TRUE;
	}
	return FALSE;
}

static gboolean
is_av1(const gchar *path)
{
	g_autofree gchar *codec = av1d_test_video_codec(path, NULL);

	return g_strcmp0(codec, "av1") == 0;
}

/* --- the world ------------------------------------------------------------ */

/* every file under @top, not following symlinks: names, kinds, contents and
 * link targets, so that any change shows */
static void
digest_tree(GString *out, const gchar *top, const gchar *relative)
{
	g_autofree gchar *path = g_build_filename(top, relative, NULL);
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const gchar *name;

	if (dir == NULL)
		return;
	while ((name = g_dir_read_name(dir)) != NULL)
		g_ptr_array_add(names, g_strdup(name));
	g_ptr_array_sort(names, av1d_test_compare_strings);
	for (guint i = 0; i < names->len; i++) {
		g_autofree gchar *rel = g_build_filename(relative, g_ptr_array_index(names, i), NULL);
		g_autofree gchar *child = g_build_filename(top, rel, NULL);
		struct stat st;

		if (lstat(child, &st) != 0) {
			g_string_append_printf(out, "? %s\n", rel);
		} else if (S_ISLNK(st.st_mode)) {
			g_autofree gchar *target = g_file_read_link(child, NULL);
			g_string_append_printf(out, "L %s -> %s\n", rel, target);
		} else if (S_ISDIR(st.st_mode)) {
			g_string_append_printf(out, "D %s\n", rel);
			digest_tree(out, top, rel);
		} else if (S_ISREG(st.st_mode)) {
			g_autofree gchar *sum = av1d_test_checksum(child);
			g_string_append_printf(out, "F %s %s\n", rel, sum);
		} else {
			g_string_append_printf(out, "O %s\n", rel);
		}
	}
}

static gchar *
tree_digest(const gchar *top)
{
	GString *out = g_string_new(NULL);

	digest_tree(out, top, "");
	return g_string_free(out, FALSE);
}

/* av1d's temps, old style (.Movie.av1d-tmp.mkv) and new (.av1d-<id>-XXXXXX/) */
static void
find_temps(GString *found, const gchar *path)
{
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *child = g_build_filename(path, name, NULL);
		struct stat st;

		if (g_str_has_prefix(name, ".av1d-") || strstr(name, ".av1d-tmp") != NULL)
			g_string_append_printf(found, "%s ", child);
		if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
			find_temps(found, child);
	}
}

static void
assert_no_temp(Fixture *fx)
{
	g_autoptr(GString) found = g_string_new(NULL);

	find_temps(found, fx->library);
	find_temps(found, fx->outside);
	find_temps(found, fx->staging);
	g_assert_cmpstr(found->str, ==, "");
}

static void
assert_outside_unchanged(Fixture *fx)
{
	g_autofree gchar *now = tree_digest(fx->outside);
	g_autofree gchar *secret = NULL;

	g_assert_true(g_file_get_contents(fx->secret, &secret, NULL, NULL));
	g_assert_cmpstr(secret, ==, "the user's secret, not a film\n");
	g_assert_cmpstr(now, ==, fx->outside_digest);
}

static void
write_file(const gchar *path, const gchar *text)
{
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dir = NULL;
	g_autofree gchar *notes = NULL;

	fx->dir = g_dir_make_tmp("av1d-test-library-changes-XXXXXX", &error);
	g_assert_no_error(error);
	fx->library = g_build_filename(fx->dir, "lib", NULL);
	fx->outside = g_build_filename(fx->dir, "outside", NULL);
	fx->staging = g_build_filename(fx->dir, "staging", NULL);
	fx->state = g_build_filename(fx->dir, "state", NULL);
	fx->config = g_build_filename(fx->dir, "config.toml", NULL);
	fx->secret = g_build_filename(fx->outside, "secret.txt", NULL);
	fx->procs = g_ptr_array_new_with_free_func(g_object_unref);
	dir = g_build_filename(fx->outside, "dir", NULL);
	notes = g_build_filename(dir, "notes.txt", NULL);
	g_assert_cmpint(g_mkdir(fx->library, 0755), ==, 0);
	g_assert_cmpint(g_mkdir(fx->outside, 0755), ==, 0);
	g_assert_cmpint(g_mkdir(fx->staging, 0755), ==, 0);
	g_assert_cmpint(g_mkdir(dir, 0755), ==, 0);
	write_file(fx->secret, "the user's secret, not a film\n");
	write_file(notes, "notes outside the library\n");
	fx->outside_digest = tree_digest(fx->outside);
}

static void
wait_exit_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	gboolean *done = user_data;

	g_subprocess_wait_finish(G_SUBPROCESS(source), result, NULL);
	*done = TRUE;
}

static gboolean
wait_exit_timeout_cb(gpointer user_data)
{
	gboolean *timed_out = user_data;

	*timed_out = TRUE;
	return G_SOURCE_REMOVE;
}

/* waits up to @timeout_s for @proc to exit (g_subprocess_wait() has no
 * timeout); kills it with SIGKILL when it does not, reaps it either way and
 * returns whether it exited in time */
static gboolean
wait_exit(GSubprocess *proc, guint timeout_s)
{
	GMainContext *context = g_main_context_new();
	GSource *timeout = g_timeout_source_new_seconds(timeout_s);
	gboolean done = FALSE, timed_out = FALSE;

	g_main_context_push_thread_default(context);
	g_source_set_callback(timeout, wait_exit_timeout_cb, &timed_out, NULL);
	g_source_attach(timeout, context);
	g_subprocess_wait_async(proc, NULL, wait_exit_cb, &done);
	while (!done && !timed_out)
		g_main_context_iteration(context, TRUE);
	if (!done)
		g_subprocess_force_exit(proc);
	while (!done)
		g_main_context_iteration(context, TRUE);
	g_source_destroy(timeout);
	g_source_unref(timeout);
	g_main_context_pop_thread_default(context);
	g_main_context_unref(context);
	return !timed_out;
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	for (guint i = 0; i < fx->procs->len; i++) {
		GSubprocess *proc = g_ptr_array_index(fx->procs, i);

		g_subprocess_force_exit(proc);
		wait_exit(proc, 30);
	}
	if (fx->bus != NULL) {
		g_subprocess_send_signal(fx->bus, SIGTERM);
		if (!wait_exit(fx->bus, 10))
			g_test_message("dbus-daemon ignored SIGTERM; killed");
	}
	g_clear_object(&fx->bus);
	g_ptr_array_unref(fx->procs);
	av1d_test_rm_rf(fx->dir);
	g_free(fx->dir);
	g_free(fx->library);
	g_free(fx->outside);
	g_free(fx->staging);
	g_free(fx->state);
	g_free(fx->config);
	g_free(fx->secret);
	g_free(fx->outside_digest);
	g_free(fx->bus_address);
}

static void
write_config(Fixture *fx, const gchar *extra)
{
	g_autofree gchar *text = g_strdup_printf(
	    "library_roots = [\"%s\"]\nmin_bytes = 1\nstable_secs = 0\nencoder = \"software\"\n"
	    "job_state_dir = \"%s\"\n%s",
	    fx->library, fx->state, extra != NULL ? extra : "");

	write_file(fx->config, text);
}

static gchar *
lib(Fixture *fx, const gchar *name)
{
	return g_build_filename(fx->library, name, NULL);
}

static gboolean
exists(const gchar *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* --- driving av1d --------------------------------------------------------- */

/* a test that dies on a failed assertion takes av1d (stopped or not) along */
static void
die_with_the_test(gpointer data)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static gchar *
log_path(Fixture *fx, const gchar *label, const gchar *what)
{
	g_autofree gchar *name = g_strdup_printf("%s.%s", label, what);

	return g_build_filename(fx->dir, name, NULL);
}

static gchar *
read_log(Fixture *fx, const gchar *label, const gchar *what)
{
	g_autofree gchar *path = log_path(fx, label, what);
	gchar *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return g_strdup("");
	return text;
}

/* $AV1D_BIN @args, stdout and stderr to <label>.out and <label>.err; @env
 * is NULL or name, value pairs */
static GSubprocess *
spawn_av1d(Fixture *fx, const gchar *label, const gchar *const *env, const gchar *const *args)
{
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
	g_autofree gchar *out = log_path(fx, label, "out");
	g_autofree gchar *err = log_path(fx, label, "err");
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_auto(GStrv) argv = NULL;
	g_autoptr(GError) error = NULL;
	GSubprocess *proc;

	g_subprocess_launcher_set_stdout_file_path(launcher, out);
	g_subprocess_launcher_set_stderr_file_path(launcher, err);
	g_subprocess_launcher_set_child_setup(launcher, die_with_the_test, NULL, NULL);
	if (fx->bus_address != NULL)
		g_subprocess_launcher_setenv(launcher, "DBUS_SESSION_BUS_ADDRESS", fx->bus_address,
					     TRUE);
	for (guint i = 0; env != NULL && env[i] != NULL; i += 2)
		g_subprocess_launcher_setenv(launcher, env[i], env[i + 1], TRUE);
	g_strv_builder_add(builder, g_getenv("AV1D_BIN"));
	g_strv_builder_addv(builder, (const char **)args);
	argv = g_strv_builder_end(builder);
	proc = g_subprocess_launcher_spawnv(launcher, (const gchar *const *)argv, &error);
	g_assert_no_error(error);
	g_ptr_array_add(fx->procs, proc);
	return proc;
}

/* av1d --once, stopping itself at @pause_at (NULL: nowhere) */
static GSubprocess *
start_once(Fixture *fx, const gchar *label, const gchar *pause_at)
{
	const gchar *env[] = {"AV1D_PAUSE_AT", pause_at, NULL};

	return spawn_av1d(fx, label, pause_at != NULL ? env : NULL,
			  (const gchar *const[]){"--once", "--config", fx->config, NULL});
}

static void
wait_paused(Fixture *fx, GSubprocess *proc, const gchar *label, const gchar *point)
{
	g_autofree gchar *err = NULL;
	g_autofree gchar *expected = g_strdup_printf("av1d: paused at %s\n", point);

	if (!av1d_test_wait_stopped(proc)) {
		g_autofree gchar *out = read_log(fx, label, "out");
		err = read_log(fx, label, "err");
		g_error("%s: av1d exited before it reached %s\n--- stdout\n%s--- stderr\n%s",
			label, point, out, err);
	}
	err = read_log(fx, label, "err");
	g_assert_nonnull(strstr(err, expected));
}

/* waits for av1d to end by itself (2 min at most); returns its stdout */
static gchar *
finish(Fixture *fx, GSubprocess *proc, const gchar *label)
{
	gboolean exited = wait_exit(proc, 120);
	g_autofree gchar *err = read_log(fx, label, "err");
	gchar *out = read_log(fx, label, "out");

	g_test_message("%s: av1d %s\n--- stdout\n%s--- stderr\n%s", label,
		       exited ? "exited" : "did not exit within 120 s: killed", out, err);
	g_assert_true(exited);
	g_assert_true(g_subprocess_get_if_exited(proc));
	g_assert_cmpint(g_subprocess_get_exit_status(proc), ==, 0);
	return out;
}

static void
kill_and_reap(GSubprocess *proc)
{
	g_subprocess_force_exit(proc);
	g_assert_true(wait_exit(proc, 30));
}

/* av1d --once to the end */
static gchar *
run_once(Fixture *fx, const gchar *label)
{
	GSubprocess *proc = start_once(fx, label, NULL);

	return finish(fx, proc, label);
}

/* av1d --once until it stops at @point, then SIGKILL: the job stays in the
 * store as it was recorded there */
static void
run_once_killed_at(Fixture *fx, const gchar *label, const gchar *point)
{
	GSubprocess *proc = start_once(fx, label, point);

	wait_paused(fx, proc, label, point);
	kill_and_reap(proc);
}

/* --- the job store --------------------------------------------------------- */

/* "<status> <source_path>" of every job file, sorted */
static GPtrArray *
stored_jobs(Fixture *fx)
{
	g_autoptr(GPtrArray) jobs = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GDir) dir = g_dir_open(fx->state, 0, NULL);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *path = g_build_filename(fx->state, name, NULL);
		g_autoptr(JsonParser) parser = json_parser_new();
		JsonObject *object;

		if (!g_str_has_suffix(name, ".json") || name[0] == '.')
			continue;
		if (!json_parser_load_from_file(parser, path, NULL))
			continue; /* being replaced right now: read again next time */
		object = json_node_get_object(json_parser_get_root(parser));
		g_ptr_array_add(jobs,
				g_strdup_printf("%s %s",
						json_object_get_string_member(object, "status"),
						json_object_get_string_member(object, "source_path")));
	}
	g_ptr_array_sort(jobs, av1d_test_compare_strings);
	return g_steal_pointer(&jobs);
}

static gchar *
stored_jobs_string(Fixture *fx)
{
	g_autoptr(GPtrArray) jobs = stored_jobs(fx);

	g_ptr_array_add(jobs, NULL);
	return g_strjoinv("\n", (gchar **)jobs->pdata);
}

static gboolean
store_has(Fixture *fx, const gchar *status, const gchar *path)
{
	g_autoptr(GPtrArray) jobs = stored_jobs(fx);
	g_autofree gchar *line = g_strdup_printf("%s %s", status, path);

	for (guint i = 0; i < jobs->len; i++) {
		if (g_strcmp0(g_ptr_array_index(jobs, i), line) == 0)
			return TRUE;
	}
	return FALSE;
}

static gboolean
store_knows(Fixture *fx, const gchar *path)
{
	g_autoptr(GPtrArray) jobs = stored_jobs(fx);

	for (guint i = 0; i < jobs->len; i++) {
		const gchar *space = strchr(g_ptr_array_index(jobs, i), ' ');

		if (space != NULL && g_strcmp0(space + 1, path) == 0)
			return TRUE;
	}
	return FALSE;
}

/* the job for @path claims a success: on stdout or in the store */
static gboolean
claims_success(Fixture *fx, const gchar *out, const gchar *path)
{
	g_autofree gchar *name = g_strconcat(G_DIR_SEPARATOR_S, path + strlen(fx->library) + 1,
					     NULL);

	return av1d_test_has_job_line(out, "success", name) || store_has(fx, "success", path);
}

/* ==========================================================================
 * 1. A file the user puts at the final name while the job runs (a Radarr
 * upgrade to Movie.mkv beside Movie.mp4) is never replaced.
 */
static void
test_new_final_name_is_never_overwritten(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *mp4 = lib(fx, "Movie.mp4");
	g_autofree gchar *mkv = lib(fx, "Movie.mkv");
	g_autofree gchar *backup = lib(fx, "Movie.orig.mp4");
	g_autofree gchar *original = NULL, *users = NULL, *mp4_after = NULL, *mkv_after = NULL;
	g_autofree gchar *out = NULL, *line = NULL;
	GSubprocess *proc;

	copy_file(clip("b.mp4"), mp4);
	original = av1d_test_checksum(mp4);
	write_config(fx, "max_size_ratio = 1.0\n");
	proc = start_once(fx, "once", "swap-before-link");
	wait_paused(fx, proc, "once", "swap-before-link");
	copy_file(clip("new.mkv"), mkv);
	users = av1d_test_checksum(mkv);
	g_subprocess_send_signal(proc, SIGCONT);
	out = finish(fx, proc, "once");

	mkv_after = av1d_test_checksum(mkv);
	mp4_after = av1d_test_checksum(mp4);
	g_assert_cmpstr(mkv_after, ==, users);
	g_assert_cmpstr(mp4_after, ==, original);
	g_assert_false(exists(backup));
	assert_no_temp(fx);
	assert_outside_unchanged(fx);
	g_assert_false(claims_success(fx, out, mp4));
	/* a refused swap is a failure, with its reason */
	line = av1d_test_find_job_line(out, "failed", "/Movie.mp4");
	g_assert_nonnull(line);
	g_assert_false(g_str_has_suffix(line, "\t"));
}

/* ==========================================================================
 * 2. The source replaced (written elsewhere, mv'ed over) after av1d checked
 * it: the user's new file stays under its name and no backup hides it.
 */
static void
test_source_replaced_after_the_check(Fixture *fx, gconstpointer data)
{
	gboolean keep_backup = GPOINTER_TO_INT(data);
	g_autofree gchar *mkv = lib(fx, "Movie.mkv");
	g_autofree gchar *backup = lib(fx, "Movie.orig.mkv");
	g_autofree gchar *users = NULL, *after = NULL, *out = NULL, *line = NULL;
	g_autofree gchar *extra =
	    g_strdup_printf("max_size_ratio = 1.0\nkeep_backup = %s\n", keep_backup ? "true" : "false");
	GSubprocess *proc;

	copy_file(clip("a.mkv"), mkv);
	write_config(fx, extra);
	proc = start_once(fx, "once", "swap-before-link");
	wait_paused(fx, proc, "once", "swap-before-link");
	move_in(fx, "new.mkv", mkv);
	users = av1d_test_checksum(mkv);
	g_subprocess_send_signal(proc, SIGCONT);
	out = finish(fx, proc, "once");

	after = av1d_test_checksum(mkv);
	g_assert_cmpstr(after, ==, users);
	g_assert_false(exists(backup));
	assert_no_temp(fx);
	assert_outside_unchanged(fx);
	g_assert_false(claims_success(fx, out, mkv));
	line = av1d_test_find_job_line(out, "failed", "/Movie.mkv");
	g_assert_nonnull(line);
	g_assert_false(g_str_has_suffix(line, "\t"));
}

/* ==========================================================================
 * 3. A symlink planted at every name a temp could have, as fast as a thread
 * can: the encode goes into av1d's private folder and never through it.
 */
typedef struct {
	gchar *library;
	gchar *target;
	gint stop;
	guint planted;
} Planter;

/* a link to the target at @path, replacing a file that is there */
static gboolean
plant(Planter *planter, const gchar *path)
{
	g_autofree gchar *spare = g_build_filename(planter->library, ".planter-link", NULL);
	struct stat st;

	if (lstat(path, &st) != 0)
		return symlink(planter->target, path) == 0;
	if (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode))
		return FALSE;
	g_unlink(spare);
	return symlink(planter->target, spare) == 0 && rename(spare, path) == 0;
}

static gpointer
planter_thread(gpointer data)
{
	Planter *planter = data;
	g_autofree gchar *fixed = g_build_filename(planter->library, ".Movie.av1d-tmp.mkv", NULL);
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	while (!g_atomic_int_get(&planter->stop)) {
		g_autoptr(GDir) dir = g_dir_open(planter->library, 0, NULL);
		GHashTableIter iter;
		gpointer key;
		const gchar *name;

		if (plant(planter, fixed))
			planter->planted++;
		while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
			if (g_str_has_prefix(name, ".av1d-"))
				g_hash_table_add(seen, g_build_filename(planter->library, name, NULL));
		}
		/* again whenever one disappears */
		g_hash_table_iter_init(&iter, seen);
		while (g_hash_table_iter_next(&iter, &key, NULL)) {
			if (plant(planter, key))
				planter->planted++;
		}
	}
	return NULL;
}

/* the planter's links, so that what is left is av1d's */
static void
remove_planted_links(Fixture *fx)
{
	g_autoptr(GDir) dir = g_dir_open(fx->library, 0, NULL);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *path = lib(fx, name);
		g_autofree gchar *target = g_file_read_link(path, NULL);

		if (g_strcmp0(target, fx->secret) == 0)
			g_assert_cmpint(g_unlink(path), ==, 0);
	}
}

static void
test_planted_symlink_at_the_temp_name(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *mkv = lib(fx, "Movie.mkv");
	g_autofree gchar *backup = lib(fx, "Movie.orig.mkv");
	g_autofree gchar *original = NULL, *backup_sum = NULL, *out = NULL;
	Planter planter = {fx->library, fx->secret, 0, 0};
	GThread *thread;
	GSubprocess *proc;

	copy_file(clip("a.mkv"), mkv);
	original = av1d_test_checksum(mkv);
	write_config(fx, "max_size_ratio = 1.0\n");
	thread = g_thread_new("planter", planter_thread, &planter);
	proc = start_once(fx, "once", NULL);
	wait_exit(proc, 120);
	g_atomic_int_set(&planter.stop, 1);
	g_thread_join(thread);
	g_test_message("the planter planted %u links", planter.planted);
	out = finish(fx, proc, "once");

	assert_outside_unchanged(fx);
	g_assert_true(av1d_test_has_job_line(out, "success", "/Movie.mkv"));
	g_assert_true(is_av1(mkv));
	backup_sum = av1d_test_checksum(backup);
	g_assert_cmpstr(backup_sum, ==, original);
	remove_planted_links(fx);
	assert_no_temp(fx);
}

/* ==========================================================================
 * 4. Movie.mkv and Movie.mp4 at once share nothing: not a temp, not a
 * marker; Movie.mp4 can never be converted (its final name is taken).
 */
static void
reset_library(Fixture *fx)
{
	av1d_test_rm_rf(fx->library);
	av1d_test_rm_rf(fx->state);
	g_assert_cmpint(g_mkdir(fx->library, 0755), ==, 0);
}

static void
same_stem_run(Fixture *fx, guint run, gboolean pause)
{
	g_autofree gchar *label = g_strdup_printf("run%u", run);
	g_autofree gchar *mkv = lib(fx, "Movie.mkv");
	g_autofree gchar *mp4 = lib(fx, "Movie.mp4");
	g_autofree gchar *mkv_sum = NULL, *mp4_sum = NULL, *mkv_after = NULL, *mp4_after = NULL;
	g_autofree gchar *out = NULL, *listing = NULL, *codec = NULL;
	GSubprocess *proc;
	gint width = 0, height = 0;

	reset_library(fx);
	copy_file(clip("a.mkv"), mkv);
	copy_file(clip("b.mp4"), mp4);
	mkv_sum = av1d_test_checksum(mkv);
	mp4_sum = av1d_test_checksum(mp4);
	proc = start_once(fx, label, pause ? "pipeline-verifying" : NULL);
	/* av1d stops there once per job: hold it a moment, while the other
	 * job's ffmpeg, a process of its own, runs on */
	for (guint stops = 0; pause && stops < 8 && av1d_test_wait_stopped(proc); stops++) {
		g_usleep(500 * 1000);
		g_subprocess_send_signal(proc, SIGCONT);
	}
	out = finish(fx, proc, label);

	listing = av1d_test_list_dir(fx->library);
	g_test_message("%s: the library holds %s", label, listing);
	mkv_after = av1d_test_checksum(mkv);
	mp4_after = av1d_test_checksum(mp4);
	g_assert_cmpstr(mp4_after, ==, mp4_sum);
	g_assert_true(video_size(mkv, &codec, &width, &height));
	if (g_strcmp0(codec, "av1") == 0) {
		/* picture A's encode, never picture B's */
		g_assert_cmpint(width, ==, 128);
		g_assert_cmpint(height, ==, 96);
	} else {
		g_assert_cmpstr(mkv_after, ==, mkv_sum);
		g_assert_false(claims_success(fx, out, mkv));
	}
	g_assert_false(claims_success(fx, out, mp4));
	g_assert_null(strstr(listing, ".av1skip"));
	g_assert_null(strstr(listing, ".orig."));
	assert_no_temp(fx);
}

static void
test_same_stem_sources_share_nothing(Fixture *fx, gconstpointer data)
{
	write_config(fx, "max_size_ratio = 1.0\nmax_concurrent_jobs = 2\nkeep_backup = false\n");
	for (guint run = 0; run < 7; run++)
		same_stem_run(fx, run, run >= 4);
	assert_outside_unchanged(fx);
}

/* ==========================================================================
 * 5. A skip for a queued job is honoured, by the running daemon and after a
 * restart. An ffmpeg wrapper holds the encodes while the file `hold` exists,
 * so that A.mkv runs and B.mkv waits in the queue as long as the test needs.
 */
static void
write_hold_ffmpeg(Fixture *fx, const gchar *path)
{
	g_autofree gchar *dir = g_shell_quote(fx->dir);
	g_autofree gchar *script = g_strdup_printf(
	    "#!/bin/sh\n"
	    "# holds an encode (ffmpeg -progress ...) while %s/hold exists (60 s\n"
	    "# at most, and only while av1d lives), then runs the real ffmpeg\n"
	    "for arg in \"$@\"; do\n"
	    "\tcase \"$arg\" in\n"
	    "\t-progress)\n"
	    "\t\t: >%s/held\n"
	    "\t\ti=0\n"
	    "\t\twhile [ -e %s/hold ] && [ $i -lt 1200 ]; do\n"
	    "\t\t\tkill -0 \"$PPID\" 2>/dev/null || exit 1\n"
	    "\t\t\tsleep 0.05\n"
	    "\t\t\ti=$((i + 1))\n"
	    "\t\tdone\n"
	    "\t\t;;\n"
	    "\tesac\n"
	    "done\n"
	    "exec ffmpeg \"$@\"\n",
	    dir, dir, dir);

	write_file(path, script);
	g_assert_cmpint(g_chmod(path, 0755), ==, 0);
}

static void
start_bus(Fixture *fx)
{
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(
	    G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
	g_autofree gchar *socket = g_build_filename(fx->dir, "bus", NULL);
	g_autofree gchar *address = g_strdup_printf("unix:path=%s", socket);
	g_autofree gchar *option = g_strdup_printf("--address=%s", address);
	g_autoptr(GError) error = NULL;

	/* a private session bus, so that the test never meets the user's */
	g_subprocess_launcher_set_child_setup(launcher, die_with_the_test, NULL, NULL);
	fx->bus = g_subprocess_launcher_spawn(launcher, &error, "dbus-daemon", "--session",
					      "--nofork", option, NULL);
	if (fx->bus == NULL) {
		/* no dbus-daemon: av1d runs without its D-Bus API */
		g_test_message("no private bus: %s", error->message);
		fx->bus_address = g_strdup_printf("unix:path=%s/no-bus", fx->dir);
		return;
	}
	for (guint i = 0; i < 500 && !g_file_test(socket, G_FILE_TEST_EXISTS); i++)
		g_usleep(20 * 1000);
	g_assert_true(g_file_test(socket, G_FILE_TEST_EXISTS));
	fx->bus_address = g_steal_pointer(&address);
}

static void
wait_for_log(Fixture *fx, const gchar *label, const gchar *text)
{
	gint64 give_up = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

	for (;;) {
		g_autofree gchar *log = read_log(fx, label, "err");

		if (strstr(log, text) != NULL)
			return;
		if (g_get_monotonic_time() > give_up)
			g_error("%s: no \"%s\" in the daemon's log within 60 s:\n%s", label, text,
				log);
		g_usleep(20 * 1000);
	}
}

static GSubprocess *
start_daemon(Fixture *fx, const gchar *label)
{
	GSubprocess *proc =
	    spawn_av1d(fx, label, NULL, (const gchar *const[]){"--config", fx->config, NULL});

	/* every root crawled and watched */
	wait_for_log(fx, label, "crawl finished");
	return proc;
}

static void
wait_for_file(const gchar *path)
{
	gint64 give_up = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

	while (!exists(path)) {
		if (g_get_monotonic_time() > give_up)
			g_error("%s did not appear within 60 s", path);
		g_usleep(20 * 1000);
	}
}

static void
wait_for_job(Fixture *fx, const gchar *status, const gchar *path)
{
	gint64 give_up = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

	while (!store_has(fx, status, path)) {
		if (g_get_monotonic_time() > give_up) {
			g_autofree gchar *jobs = stored_jobs_string(fx);
			g_error("no %s job for %s within 60 s; the store:\n%s", status, path, jobs);
		}
		g_usleep(20 * 1000);
	}
}

/* until no job is pending or running, and the one for @path ended */
static void
wait_until_settled(Fixture *fx, const gchar *path)
{
	gint64 give_up = g_get_monotonic_time() + 120 * G_USEC_PER_SEC;

	for (;;) {
		g_autoptr(GPtrArray) jobs = stored_jobs(fx);
		gboolean busy = FALSE, ended = FALSE;

		for (guint i = 0; i < jobs->len; i++) {
			const gchar *job = g_ptr_array_index(jobs, i);
			const gchar *space = strchr(job, ' ');

			if (g_str_has_prefix(job, "pending ") || g_str_has_prefix(job, "running "))
				busy = TRUE;
			else if (space != NULL && g_strcmp0(space + 1, path) == 0)
				ended = TRUE;
		}
		if (!busy && ended)
			return;
		if (g_get_monotonic_time() > give_up) {
			g_autofree gchar *all = stored_jobs_string(fx);
			g_error("the daemon's jobs did not end within 120 s:\n%s", all);
		}
		g_usleep(50 * 1000);
	}
}

static void
stop_daemon(Fixture *fx, GSubprocess *proc, const gchar *label)
{
	g_autofree gchar *err = NULL;
	gboolean exited;

	g_subprocess_send_signal(proc, SIGTERM);
	exited = wait_exit(proc, 60);
	err = read_log(fx, label, "err");
	g_test_message("%s: daemon log:\n%s", label, err);
	g_assert_true(exited);
	g_assert_true(g_subprocess_get_if_exited(proc));
	g_assert_cmpint(g_subprocess_get_exit_status(proc), ==, 0);
}

static void
skip_with_the_cli(Fixture *fx, const gchar *path)
{
	GSubprocess *proc = spawn_av1d(
	    fx, "skip", NULL, (const gchar *const[]){"--config", fx->config, "skip", path, NULL});

	g_free(finish(fx, proc, "skip"));
}

static void
test_skip_for_a_queued_job(Fixture *fx, gconstpointer data)
{
	gboolean restart = GPOINTER_TO_INT(data);
	g_autofree gchar *a = lib(fx, "A.mkv");
	g_autofree gchar *b = lib(fx, "B.mkv");
	g_autofree gchar *b_backup = lib(fx, "B.orig.mkv");
	g_autofree gchar *wrapper = g_build_filename(fx->dir, "hold-ffmpeg", NULL);
	g_autofree gchar *hold = g_build_filename(fx->dir, "hold", NULL);
	g_autofree gchar *held = g_build_filename(fx->dir, "held", NULL);
	g_autofree gchar *extra = NULL, *b_sum = NULL, *b_after = NULL;
	GSubprocess *daemon;

	write_hold_ffmpeg(fx, wrapper);
	extra = g_strdup_printf("max_size_ratio = 1.0\nmax_concurrent_jobs = 1\n"
				"ffmpeg_bin = \"%s\"\n",
				wrapper);
	write_config(fx, extra);
	start_bus(fx);
	write_file(hold, "");
	copy_file(clip("a.mkv"), a);
	daemon = start_daemon(fx, "daemon");
	/* A runs (held), then B arrives and is queued behind it */
	wait_for_file(held);
	move_in(fx, "new.mkv", b);
	b_sum = av1d_test_checksum(b);
	wait_for_job(fx, "pending", b);
	if (restart) {
		/* B stays pending in the store; the marker comes while av1d is down */
		kill_and_reap(daemon);
		g_assert_cmpint(g_unlink(hold), ==, 0);
		skip_with_the_cli(fx, b);
		daemon = start_daemon(fx, "daemon-again");
		wait_until_settled(fx, a);
		stop_daemon(fx, daemon, "daemon-again");
	} else {
		skip_with_the_cli(fx, b);
		g_assert_cmpint(g_unlink(hold), ==, 0);
		wait_until_settled(fx, a);
		stop_daemon(fx, daemon, "daemon");
	}

	{
		g_autofree gchar *jobs = stored_jobs_string(fx);
		g_test_message("the store:\n%s", jobs);
	}
	b_after = av1d_test_checksum(b);
	g_assert_cmpstr(b_after, ==, b_sum);
	g_assert_false(exists(b_backup));
	g_assert_false(store_has(fx, "success", b));
	/* the daemon did work: A, not skipped, was converted */
	g_assert_true(is_av1(a));
	assert_no_temp(fx);
	assert_outside_unchanged(fx);
}

/* ==========================================================================
 * 6. A folder replaced by a symlink to a folder outside while av1d was down
 * (its job left in the store): nothing is done through the link.
 */
static void
test_folder_replaced_by_a_symlink(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *films = lib(fx, "Films");
	g_autofree gchar *movie = g_build_filename(films, "Movie.mkv", NULL);
	g_autofree gchar *moved = g_build_filename(fx->outside, "Films", NULL);
	g_autofree gchar *moved_movie = g_build_filename(moved, "Movie.mkv", NULL);
	g_autofree gchar *moved_backup = g_build_filename(moved, "Movie.orig.mkv", NULL);
	g_autofree gchar *original = NULL, *after = NULL, *out = NULL, *jobs = NULL;

	g_assert_cmpint(g_mkdir(films, 0755), ==, 0);
	copy_file(clip("a.mkv"), movie);
	original = av1d_test_checksum(movie);
	write_config(fx, "max_size_ratio = 1.0\n");
	run_once_killed_at(fx, "killed", "pipeline-probing");
	jobs = stored_jobs_string(fx);
	g_test_message("the store after the kill:\n%s", jobs);
	g_assert_true(store_knows(fx, movie));

	/* mv lib/Films outside/Films && ln -s outside/Films lib/Films */
	g_assert_cmpint(g_rename(films, moved), ==, 0);
	g_assert_cmpint(symlink(moved, films), ==, 0);
	g_free(fx->outside_digest);
	fx->outside_digest = tree_digest(fx->outside);
	out = run_once(fx, "again");

	after = av1d_test_checksum(moved_movie);
	g_assert_cmpstr(after, ==, original);
	g_assert_false(exists(moved_backup));
	assert_outside_unchanged(fx);
	assert_no_temp(fx);
	g_assert_false(claims_success(fx, out, movie));
}

/* ==========================================================================
 * 7. A new file put in place of one whose job a crash interrupted: it is
 * converted like any new file, with its own backup; recovery never reports
 * the old job's success for it. Once with a backup kept and once without.
 */
static void
recovery_run(Fixture *fx, gboolean keep_backup)
{
	const gchar *label = keep_backup ? "keep-backup-true" : "keep-backup-false";
	g_autofree gchar *killed = g_strdup_printf("%s-killed", label);
	g_autofree gchar *mkv = lib(fx, "Movie.mkv");
	g_autofree gchar *backup = lib(fx, "Movie.orig.mkv");
	g_autofree gchar *extra =
	    g_strdup_printf("max_size_ratio = 1.0\nkeep_backup = %s\n", keep_backup ? "true" : "false");
	g_autofree gchar *new_sum = NULL, *backup_sum = NULL, *out = NULL, *codec = NULL;
	g_autofree gchar *jobs = NULL;
	gint width = 0, height = 0;

	reset_library(fx);
	copy_file(clip("a.mkv"), mkv);
	write_config(fx, extra);
	run_once_killed_at(fx, killed, "pipeline-probing");
	g_assert_true(store_knows(fx, mkv));
	/* picture A (128x96) is replaced by a new file (160x120) */
	move_in(fx, "new.mkv", mkv);
	new_sum = av1d_test_checksum(mkv);
	out = run_once(fx, label);
	jobs = stored_jobs_string(fx);
	g_test_message("%s: the store:\n%s", label, jobs);

	g_assert_true(video_size(mkv, &codec, &width, &height));
	if (g_strcmp0(codec, "av1") != 0)
		/* not converted: then nothing may say it was */
		g_assert_false(claims_success(fx, out, mkv));
	/* and the right outcome is the conversion of the new file */
	g_assert_cmpstr(codec, ==, "av1");
	g_assert_cmpint(width, ==, 160);
	g_assert_cmpint(height, ==, 120);
	g_assert_true(av1d_test_has_job_line(out, "success", "/Movie.mkv"));
	if (keep_backup) {
		backup_sum = av1d_test_checksum(backup);
		g_assert_cmpstr(backup_sum, ==, new_sum);
	} else {
		g_assert_false(exists(backup));
	}
	assert_no_temp(fx);
}

static void
test_recovery_never_claims_a_false_success(Fixture *fx, gconstpointer data)
{
	recovery_run(fx, TRUE);
	recovery_run(fx, FALSE);
	assert_outside_unchanged(fx);
}

/* ==========================================================================
 * 8. The file the size gate rejects is replaced by a symlink to a folder
 * outside: the folder marker (.av1skip) is never written through it. av1d
 * stops as the encode ends (pipeline-encoded), before both places that
 * write the marker: the early abort on the projected size (a progress
 * report can come in the middle of even this tiny encode) and the gate
 * after the verification.
 */
static void
test_folder_marker_never_written_outside(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *mkv = lib(fx, "Movie.mkv");
	g_autofree gchar *target = g_build_filename(fx->outside, "dir", NULL);
	g_autofree gchar *marker = g_build_filename(target, ".av1skip", NULL);
	g_autofree gchar *aside = g_build_filename(fx->staging, "Movie.mkv", NULL);
	g_autofree gchar *out = NULL, *link_target = NULL;
	GSubprocess *proc;

	copy_file(clip("incompressible.mkv"), mkv);
	write_config(fx, "max_size_ratio = 0.10\n");
	proc = start_once(fx, "once", "pipeline-encoded");
	wait_paused(fx, proc, "once", "pipeline-encoded");
	g_assert_cmpint(g_rename(mkv, aside), ==, 0);
	g_assert_cmpint(symlink(target, mkv), ==, 0);
	g_subprocess_send_signal(proc, SIGCONT);
	out = finish(fx, proc, "once");

	g_assert_false(exists(marker));
	assert_outside_unchanged(fx);
	link_target = g_file_read_link(mkv, NULL);
	g_assert_cmpstr(link_target, ==, target);
	g_assert_false(claims_success(fx, out, mkv));
	assert_no_temp(fx);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

#define ADD(path, data, func) g_test_add(path, Fixture, data, fixture_setup, func, fixture_teardown)
	ADD("/av1d/library-changes/new-final-name-is-never-overwritten", NULL,
	    test_new_final_name_is_never_overwritten);
	ADD("/av1d/library-changes/source-replaced-after-the-check-stays/keep-backup-false",
	    GINT_TO_POINTER(FALSE), test_source_replaced_after_the_check);
	ADD("/av1d/library-changes/source-replaced-after-the-check-stays/keep-backup-true",
	    GINT_TO_POINTER(TRUE), test_source_replaced_after_the_check);
	ADD("/av1d/library-changes/planted-symlink-at-the-temp-name-is-never-followed", NULL,
	    test_planted_symlink_at_the_temp_name);
	ADD("/av1d/library-changes/two-same-stem-sources-share-nothing", NULL,
	    test_same_stem_sources_share_nothing);
	ADD("/av1d/library-changes/skip-for-a-queued-job-is-honoured", GINT_TO_POINTER(FALSE),
	    test_skip_for_a_queued_job);
	ADD("/av1d/library-changes/skip-for-a-job-pending-across-a-restart-is-honoured",
	    GINT_TO_POINTER(TRUE), test_skip_for_a_queued_job);
	ADD("/av1d/library-changes/folder-replaced-by-a-symlink-is-not-followed", NULL,
	    test_folder_replaced_by_a_symlink);
	ADD("/av1d/library-changes/recovery-never-claims-a-false-success", NULL,
	    test_recovery_never_claims_a_false_success);
	ADD("/av1d/library-changes/folder-marker-is-never-written-outside", NULL,
	    test_folder_marker_never_written_outside);
	return g_test_run();
}
