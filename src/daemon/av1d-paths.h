/*
 * Where av1d keeps its own files. Order for the job directory (bolt's):
 * the config's job_state_dir, then $AV1D_STATE_DIR, then the first entry of
 * $STATE_DIRECTORY (set by systemd's StateDirectory=), then
 * $XDG_STATE_HOME/av1d/jobs.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gchar *
av1d_paths_default_job_state_dir(void);
gchar *
av1d_paths_user_config_dir(void);

G_END_DECLS
