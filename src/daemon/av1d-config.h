/*
 * The daemon's configuration (SPEC 2): loaded once from JSON or TOML,
 * validated completely, then immutable. A reload builds a new Av1dConfig and
 * swaps it in only when it is valid.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
	AV1D_ENCODER_KIND_AUTO,
	AV1D_ENCODER_KIND_DOCKER_QSV,
	AV1D_ENCODER_KIND_QSV,
	AV1D_ENCODER_KIND_SOFTWARE,
} Av1dEncoderKind;

typedef enum {
	AV1D_VERIFY_QUICK,
	AV1D_VERIFY_FULL,
} Av1dVerifyMode;

typedef struct {
	gchar *source_file; /* the file it was read from, NULL for built-in defaults */
	GStrv library_roots;
	guint64 min_bytes;
	gdouble max_size_ratio;
	gchar *job_state_dir;
	guint scan_interval_secs;
	gchar *docker_image;
	gchar *docker_bin;
	gchar *gpu_device;
	Av1dEncoderKind encoder;
	guint stable_secs;
	guint max_concurrent_jobs;
	GStrv exclude_languages;
	GStrv extensions;
	gboolean keep_backup;
	Av1dVerifyMode verify;
	gchar *ffmpeg_bin;
	gchar *ffprobe_bin;
} Av1dConfig;

Av1dConfig *
av1d_config_new_default(void);
Av1dConfig *
av1d_config_load_file(const gchar *filename, GError **error);
Av1dConfig *
av1d_config_load_data(const gchar *filename, const gchar *data, gssize length, GError **error);
Av1dConfig *
av1d_config_load(const gchar *explicit_file, GError **error);
gchar *
av1d_config_find_file(void);
gboolean
av1d_config_set_roots(Av1dConfig *self, const gchar *const *roots, GError **error);
gboolean
av1d_config_validate_roots(Av1dConfig *self, GError **error);
gchar *
av1d_config_to_string(const Av1dConfig *self);
gboolean
av1d_config_apply_reload(Av1dConfig *self, const Av1dConfig *next, GError **error);
void
av1d_config_free(Av1dConfig *self);

const gchar *
av1d_encoder_kind_to_string(Av1dEncoderKind kind);
gboolean
av1d_encoder_kind_from_string(const gchar *str, Av1dEncoderKind *kind);
const gchar *
av1d_verify_mode_to_string(Av1dVerifyMode mode);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Av1dConfig, av1d_config_free)

G_END_DECLS
