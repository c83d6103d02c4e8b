/*
 * The daemon's configuration (SPEC 2): loaded from JSON or TOML and
 * validated completely by its one owner, then shared and never changed
 * again. It is reference-counted: every holder (the manager, the watcher
 * and its crawl thread, the D-Bus adapter, each running job) keeps its own
 * reference, so a reload (SIGHUP or D-Bus Reload) builds a new Av1dConfig,
 * checks it against the one in effect (av1d_config_check_reload()) and
 * hands it to the holders on the main thread, while a thread still reading
 * the old one keeps it alive. Nothing writes to a config once a second
 * reference exists; the setters below are for the loader only.
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

	/*< private >*/
	gatomicrefcount ref_count;
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
/* may @next replace @self by a reload? Refuses (AV1D_ERROR_CONFIG, naming
 * the key) when a key that needs a restart differs */
gboolean
av1d_config_check_reload(const Av1dConfig *self, const Av1dConfig *next, GError **error);
/* the reference count is the one thing of a shared config that changes:
 * holders keep a const pointer */
const Av1dConfig *
av1d_config_ref(const Av1dConfig *self);
void
av1d_config_unref(const Av1dConfig *self);
/* replaces the reference in *@slot by a new one to @config (NULL clears it) */
void
av1d_config_set(const Av1dConfig **slot, const Av1dConfig *config);

const gchar *
av1d_encoder_kind_to_string(Av1dEncoderKind kind);
gboolean
av1d_encoder_kind_from_string(const gchar *str, Av1dEncoderKind *kind);
const gchar *
av1d_verify_mode_to_string(Av1dVerifyMode mode);

/* for the loader's own, still private config */
static inline void
av1d_config_unref_private(Av1dConfig *self)
{
	av1d_config_unref(self);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Av1dConfig, av1d_config_unref_private)

G_END_DECLS
