/* helpers shared by the tests that drive the real av1d binary */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
	gint status; /* exit status, or -1 when killed by a signal */
	gchar *out;
	gchar *err;
} Av1dTestRun;

void
av1d_test_run_free(Av1dTestRun *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Av1dTestRun, av1d_test_run_free)

/* $AV1D_BIN with @args; @env is NULL or a NULL-terminated list of
 * name, value pairs */
Av1dTestRun *
av1d_test_run(const gchar *const *env, const gchar *const *args);
#define AV1D_RUN(...)	       av1d_test_run(NULL, (const gchar *const[]){__VA_ARGS__, NULL})
#define AV1D_RUN_ENV(env, ...) av1d_test_run(env, (const gchar *const[]){__VA_ARGS__, NULL})

/* tests/media.sh output, generated once per test program */
const gchar *
av1d_test_media_dir(void);
void
av1d_test_copy_media(const gchar *name, const gchar *dir, const gchar *as);
gchar *
av1d_test_checksum(const gchar *path);
/* GCompareFunc for a GPtrArray of strings */
gint
av1d_test_compare_strings(gconstpointer a, gconstpointer b);
/* the names in @dir, sorted, comma-separated */
gchar *
av1d_test_list_dir(const gchar *dir);
void
av1d_test_rm_rf(const gchar *path);
/* av1d's temps left anywhere under @path (private folders .av1d-<id>-XXXXXX,
 * sidecar temps), comma-separated, or NULL when there is none */
gchar *
av1d_test_find_temps(const gchar *path);
#define av1d_test_assert_no_temps(path)                                                            \
	G_STMT_START                                                                               \
	{                                                                                          \
		g_autofree gchar *_temps = av1d_test_find_temps(path);                             \
		if (_temps != NULL)                                                                \
			g_error("temps left under %s: %s", (path), _temps);                        \
	}                                                                                          \
	G_STMT_END
/* the codec of the first video stream, or NULL */
gchar *
av1d_test_video_codec(const gchar *path, gchar **pix_fmt);
/* "<id>\t<status>\t<path>\t<reason>" line of `av1d --once` for a file whose
 * path ends in @name with @status; NULL when there is none */
gchar *
av1d_test_find_job_line(const gchar *out, const gchar *status, const gchar *name);

gboolean
av1d_test_wait_stopped(GSubprocess *proc);
gboolean
av1d_test_has_job_line(const gchar *out, const gchar *status, const gchar *name);

G_END_DECLS
