/*
 * What this machine can encode with, and which backend av1d uses (SPEC 6).
 *
 * av1d_encoder_probe_machine() asks the machine once, at start-up and for
 * `av1d check`: is there a docker client, does its daemon answer, is the image
 * present, which render nodes exist and can we open them, what AV1 encoders
 * does the local ffmpeg have. Every subprocess it runs is bounded by a
 * timeout, so a hung docker daemon cannot hang av1d. Missing tools are
 * recorded in the probe, not reported as errors: the probe describes the
 * machine, av1d_encoder_choose() judges it. The only errors are
 * AV1D_ERROR_CANCELLED and AV1D_ERROR_CONFIG for a gpu_device that exists but
 * is neither a folder nor a character device.
 *
 * gpu_device: a folder is scanned for renderD* nodes and the first Intel one
 * (sysfs vendor 0x8086) that we may open read-write is used; a character
 * device is used as given, with a note when sysfs cannot confirm an Intel
 * GPU. av1d_encoder_probe_machine_full() takes the sysfs root and the
 * per-command timeout, for tests.
 *
 * av1d_encoder_remove_orphans() kills and removes the containers a daemon
 * (known by its instance id, the org.av1d.state label) left running when it
 * died; the manager calls it at start-up, before it rolls jobs back.
 *
 * av1d_encoder_choose() is pure, so tests feed it fabricated probes: auto
 * picks docker-qsv, else qsv, else software, and the reason says why each
 * better backend was not usable; an explicitly configured backend whose
 * requirements are not met is an error saying what is missing.
 */
#pragma once

#include <gio/gio.h>

#include "av1d-config.h"

G_BEGIN_DECLS

/* sysfs PCI vendor id of Intel GPUs */
#define AV1D_PCI_VENDOR_INTEL 0x8086

/* how long one probing subprocess may take before it is killed: long
 * enough for `ffmpeg -version` on a machine busy encoding (seen over 10 s),
 * short enough that a hung docker engine cannot eat systemd's start timeout */
#define AV1D_ENCODER_PROBE_TIMEOUT_MS 30000

typedef struct {
	gchar *path;	     /* e.g. /dev/dri/renderD128 */
	guint vendor_id;     /* sysfs PCI vendor, 0 when unknown */
	guint gid;	     /* the node's group, for `docker run --group-add` */
	gchar *group_name;   /* NULL when the gid has no name */
	gboolean accessible; /* the daemon may open it read-write */
	gchar *access_error; /* why not, NULL when accessible */
} Av1dRenderNode;

typedef struct {
	/* docker */
	gchar *docker_bin;
	gboolean docker_client;	      /* the binary could be run */
	gboolean docker_server;	      /* the daemon answered */
	gchar *docker_server_version; /* e.g. "28.2.2", NULL when no answer */
	gchar *docker_error;	      /* why the client or server failed */
	gchar *docker_image;
	gboolean image_present;
	gchar *image_id;    /* e.g. "sha256:…", NULL when absent */
	gchar *image_error; /* NULL when present or not asked */

	/* render nodes */
	gchar *gpu_device; /* as configured */
	gboolean gpu_device_is_dir;
	GPtrArray *render_nodes;	   /* of Av1dRenderNode, every node seen */
	const Av1dRenderNode *render_node; /* the usable one (in render_nodes) or NULL */
	gchar *render_error;		   /* why there is no usable node, NULL when there is */
	GPtrArray *notes;		   /* of gchar *: things `check` should warn about */

	/* local ffmpeg */
	gchar *ffmpeg_bin;
	gchar *ffmpeg_version; /* first line of `ffmpeg -version`, NULL if it failed */
	gchar *ffmpeg_error;
	GStrv ffmpeg_av1_encoders; /* av1_qsv, libsvtav1, libaom-av1, librav1e found */
	gchar *ffprobe_bin;
	gchar *ffprobe_version;
	gchar *ffprobe_error;

	/* the daemon's identity, for `docker run --user` */
	guint uid;
	guint gid;
} Av1dEncoderProbe;

Av1dEncoderProbe *
av1d_encoder_probe_new(void);
void
av1d_encoder_probe_free(Av1dEncoderProbe *self);
Av1dRenderNode *
av1d_render_node_new(const gchar *path);
void
av1d_render_node_free(Av1dRenderNode *self);

Av1dEncoderProbe *
av1d_encoder_probe_machine(const Av1dConfig *config, GCancellable *cancellable, GError **error);
Av1dEncoderProbe *
av1d_encoder_probe_machine_full(const Av1dConfig *config,
				const gchar *sysfs_dir,
				guint timeout_ms,
				GCancellable *cancellable,
				GError **error);

gboolean
av1d_encoder_probe_has_encoder(const Av1dEncoderProbe *self, const gchar *name);
const gchar *
av1d_encoder_probe_software_codec(const Av1dEncoderProbe *self);

gboolean
av1d_encoder_choose(const Av1dConfig *config,
		    const Av1dEncoderProbe *probe,
		    Av1dEncoderKind *chosen,
		    gchar **reason,
		    GError **error);

gchar *
av1d_encoder_probe_to_string(const Av1dEncoderProbe *self);

gboolean
av1d_encoder_remove_orphans(const gchar *docker_bin,
			    const gchar *instance,
			    guint timeout_ms,
			    GCancellable *cancellable,
			    GPtrArray **removed,
			    GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Av1dEncoderProbe, av1d_encoder_probe_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Av1dRenderNode, av1d_render_node_free)

G_END_DECLS
