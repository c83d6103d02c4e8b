/*
 * The av1d subcommands (SPEC 13). Each returns the process exit status
 * (0 ok, 1 runtime failure, 2 usage/config error) and sets @error with the
 * message to print when it is not 0.
 */
#pragma once

#include "av1d-config.h"

G_BEGIN_DECLS

typedef enum {
	AV1D_COMMAND_FLAG_NONE = 0,
	AV1D_COMMAND_FLAG_ONCE = 1 << 0,
	AV1D_COMMAND_FLAG_DRY_RUN = 1 << 1,
	AV1D_COMMAND_FLAG_SYSTEM_BUS = 1 << 2,
} Av1dCommandFlags;

/* @config is the daemon's: a reload (SIGHUP, D-Bus Reload) updates it;
 * @cli_roots are kept over a reload */
int
av1d_command_run(Av1dConfig *config,
		 const gchar *const *cli_roots,
		 Av1dCommandFlags flags,
		 GError **error);
int
av1d_command_check(const Av1dConfig *config, GError **error);
int
av1d_command_explain(const Av1dConfig *config, const gchar *path, GError **error);
int
av1d_command_skip(const Av1dConfig *config, const gchar *path, GError **error);

G_END_DECLS
