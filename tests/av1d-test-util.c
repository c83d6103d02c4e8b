#include "config.h"

#include <string.h>

#include "av1d-probe.h"
#include "av1d-test-util.h"

void
av1d_test_run_free(Av1dTestRun *run)
{
	g_free(run->out);
	g_free(run->err);
	g_free(run);
}

Av1dTestRun *
av1d_test_run(const gchar *const *env, const gchar *const *args)
{
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(
	    G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_auto(GStrv) argv = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	Av1dTestRun *run = g_new0(Av1dTestRun, 1);

	for (guint i = 0; env != NULL && env[i] != NULL; i += 2)
		g_subprocess_launcher_setenv(launcher, env[i], env[i + 1], TRUE);
	g_strv_builder_add(builder, g_getenv("AV1D_BIN"));
	g_strv_builder_addv(builder, (const char **)args);
	argv = g_strv_builder_end(builder);
	proc = g_subprocess_launcher_spawnv(launcher, (const gchar *const *)argv, &error);
	g_assert_no_error(error);
	g_subprocess_communicate_utf8(proc, NULL, NULL, &run->out, &run->err, &error);
	g_assert_no_error(error);
	run->status = g_subprocess_get_if_exited(proc) ? g_subprocess_get_exit_status(proc) : -1;
	g_test_message("av1d %s -> %d\n--- stdout\n%s--- stderr\n%s", args[0], run->status,
		       run->out, run->err);
	return run;
}

const gchar *
av1d_test_media_dir(void)
{
	static gchar *dir = NULL;
	g_autofree gchar *script = NULL;
	g_autofree gchar *cmd = NULL;
	gint status = 0;

	if (dir != NULL)
		return dir;
	dir = g_build_filename(g_get_tmp_dir(), "av1d-test-media", NULL);
	script = g_build_filename(g_getenv("G_TEST_SRCDIR"), "media.sh", NULL);
	cmd = g_strdup_printf("bash %s %s", script, dir);
	g_assert_true(g_spawn_command_line_sync(cmd, NULL, NULL, &status, NULL));
	g_assert_cmpint(status, ==, 0);
	return dir;
}

void
av1d_test_copy_media(const gchar *name, const gchar *dir, const gchar *as)
{
	g_autofree gchar *src = g_build_filename(av1d_test_media_dir(), name, NULL);
	g_autofree gchar *dst = g_build_filename(dir, as != NULL ? as : name, NULL);
	g_autoptr(GFile) from = g_file_new_for_path(src);
	g_autoptr(GFile) to = g_file_new_for_path(dst);
	g_autoptr(GError) error = NULL;

	g_file_copy(from, to, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, &error);
	g_assert_no_error(error);
}

gchar *
av1d_test_checksum(const gchar *path)
{
	g_autofree gchar *data = NULL;
	gsize len = 0;

	if (!g_file_get_contents(path, &data, &len, NULL))
		return NULL;
	return g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)data, len);
}

gint
av1d_test_compare_strings(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

gchar *
av1d_test_list_dir(const gchar *path)
{
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const gchar *name;

	g_assert_nonnull(dir);
	while ((name = g_dir_read_name(dir)) != NULL)
		g_ptr_array_add(names, g_strdup(name));
	g_ptr_array_sort(names, av1d_test_compare_strings);
	g_ptr_array_add(names, NULL);
	return g_strjoinv(",", (gchar **)names->pdata);
}

static void
av1d_test_collect_temps(const gchar *path, GPtrArray *found)
{
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *child = g_build_filename(path, name, NULL);

		if (g_str_has_prefix(name, ".av1d-") || strstr(name, ".av1d-tmp") != NULL)
			g_ptr_array_add(found, g_steal_pointer(&child));
		else if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
			 !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
			av1d_test_collect_temps(child, found);
	}
}

gchar *
av1d_test_find_temps(const gchar *path)
{
	g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func(g_free);

	av1d_test_collect_temps(path, found);
	if (found->len == 0)
		return NULL;
	g_ptr_array_sort(found, av1d_test_compare_strings);
	g_ptr_array_add(found, NULL);
	return g_strjoinv(",", (gchar **)found->pdata);
}

void
av1d_test_rm_rf(const gchar *path)
{
	g_autofree gchar *quoted = g_shell_quote(path);
	g_autofree gchar *cmd = g_strdup_printf("rm -rf %s", quoted);

	g_assert_true(g_spawn_command_line_sync(cmd, NULL, NULL, NULL, NULL));
}

gchar *
av1d_test_video_codec(const gchar *path, gchar **pix_fmt)
{
	g_autoptr(Av1dMediaInfo) info = av1d_probe_file_sync("ffprobe", path, NULL, NULL);
	const Av1dStreamInfo *video = NULL;

	if (info != NULL) {
		for (guint i = 0; i < info->streams->len && video == NULL; i++) {
			const Av1dStreamInfo *s = g_ptr_array_index(info->streams, i);
			if (s->type == AV1D_STREAM_TYPE_VIDEO)
				video = s;
		}
	}
	if (video == NULL)
		return NULL;
	if (pix_fmt != NULL)
		*pix_fmt = g_strdup(video->pix_fmt);
	return g_strdup(video->codec_name);
}

gchar *
av1d_test_find_job_line(const gchar *out, const gchar *status, const gchar *name)
{
	g_auto(GStrv) lines = g_strsplit(out, "\n", -1);

	for (guint i = 0; lines[i] != NULL; i++) {
		g_auto(GStrv) fields = g_strsplit(lines[i], "\t", 4);
		if (g_strv_length(fields) == 4 && g_strcmp0(fields[1], status) == 0 &&
		    g_str_has_suffix(fields[2], name))
			return g_strdup(lines[i]);
	}
	return NULL;
}

gboolean
av1d_test_has_job_line(const gchar *out, const gchar *status, const gchar *name)
{
	g_autofree gchar *line = av1d_test_find_job_line(out, status, name);

	return line != NULL;
}

static gboolean
av1d_test_process_is_stopped(GSubprocess *proc)
{
	g_autofree gchar *stat_path =
	    g_strdup_printf("/proc/%s/stat", g_subprocess_get_identifier(proc));
	g_autofree gchar *stat = NULL;
	const gchar *paren;

	if (!g_file_get_contents(stat_path, &stat, NULL, NULL))
		return FALSE;
	paren = strrchr(stat, ')');
	return paren != NULL && paren[1] == ' ' && (paren[2] == 'T' || paren[2] == 't');
}

static gboolean
av1d_test_process_has_exited(GSubprocess *proc)
{
	g_autofree gchar *stat_path = NULL;
	g_autofree gchar *stat = NULL;
	const gchar *paren;

	if (g_subprocess_get_identifier(proc) == NULL)
		return TRUE;
	stat_path = g_strdup_printf("/proc/%s/stat", g_subprocess_get_identifier(proc));
	if (!g_file_get_contents(stat_path, &stat, NULL, NULL))
		return TRUE;
	paren = strrchr(stat, ')');
	return paren != NULL && paren[2] == 'Z';
}

/* TRUE once @proc stopped itself (SIGSTOP at an AV1D_PAUSE_AT point), FALSE
 * when it exited first; a test error after 60 s of neither */
gboolean
av1d_test_wait_stopped(GSubprocess *proc)
{
	for (guint i = 0; i < 60 * 50; i++) {
		if (av1d_test_process_is_stopped(proc))
			return TRUE;
		if (av1d_test_process_has_exited(proc))
			return FALSE;
		g_usleep(20 * 1000);
	}
	g_error("av1d neither paused nor exited within 60 s");
	return FALSE;
}
