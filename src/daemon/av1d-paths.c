#define G_LOG_DOMAIN "av1d-paths"

#include "config.h"

#include "av1d-paths.h"

gchar *
av1d_paths_default_job_state_dir(void)
{
	const gchar *env_dir = g_getenv("AV1D_STATE_DIR");
	const gchar *state_directory = g_getenv("STATE_DIRECTORY");

	if (env_dir != NULL && env_dir[0] != '\0')
		return g_strdup(env_dir);
	/* systemd may pass several colon-separated directories */
	if (state_directory != NULL && state_directory[0] != '\0') {
		g_auto(GStrv) dirs = g_strsplit(state_directory, ":", 2);
		return g_build_filename(dirs[0], "jobs", NULL);
	}
	return g_build_filename(g_get_user_state_dir(), "av1d", "jobs", NULL);
}

gchar *
av1d_paths_user_config_dir(void)
{
	return g_build_filename(g_get_user_config_dir(), "av1d", NULL);
}
