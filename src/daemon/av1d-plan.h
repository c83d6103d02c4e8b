/*
 * Which streams go into the output and the exact command that makes it
 * (SPEC 6). Pure: built from the probe, the decision and the config, so
 * that tests assert the whole argv.
 *
 * The output is always Matroska next to the source. Video is the decision's
 * stream; audio and subtitles are kept unless their language is excluded
 * (never all audio); attachments (fonts), chapters and global metadata are
 * kept; mov_text (and other text subtitles Matroska cannot carry) become
 * SRT; data streams are dropped. Every kept stream is mapped by its index
 * among streams of its type ("0:a:1"), never by a language specifier, so
 * what runs is exactly what was planned.
 *
 * docker-qsv containers are named av1d-<job id> and labelled with the job
 * (org.av1d.job) and, when Av1dBackendParams.instance is set, with the
 * daemon's instance id (org.av1d.state), a hash of its job state folder.
 *
 * The argv is a GStrv for g_subprocess_newv(); av1d_argv_to_display() quotes
 * it for people and is never run.
 */
#pragma once

#include <glib.h>

#include "av1d-classify.h"
#include "av1d-config.h"
#include "av1d-probe.h"

G_BEGIN_DECLS

typedef struct {
	Av1dStreamType type;
	gint input_index; /* absolute stream index in the source */
	gint type_index;  /* among the source's streams of this type: "-map 0:a:<n>" */
	gchar *codec_name;
	gchar *language; /* NULL when untagged */
	gboolean to_srt; /* mov_text & co, converted because Matroska cannot carry them */
} Av1dPlanTrack;

typedef struct {
	gchar *source_path;
	gchar *output_path; /* <dir>/<stem>.mkv */
	gchar *temp_dir;    /* <dir>/.av1d-<job id>-XXXXXX, the job's private folder */
	gchar *temp_path;   /* <temp_dir>/out.mkv, where the encoder writes */
	gchar *backup_path; /* <dir>/<stem>.orig.<ext> */
	Av1dPlanTrack *video;
	GPtrArray *audio;     /* Av1dPlanTrack*, kept, in source order */
	GPtrArray *subtitles; /* Av1dPlanTrack*, kept, in source order */
	guint n_attachments;
	guint n_chapters;
	GPtrArray *notes; /* gchar*, what was dropped or kept against the rules, and why */
} Av1dPlan;

/* the labels of every container av1d starts: its job, and which daemon
 * started it (the instance id), so that a daemon only ever cleans up its own
 * containers when several share one Docker engine */
#define AV1D_DOCKER_LABEL_JOB	"org.av1d.job"
#define AV1D_DOCKER_LABEL_STATE "org.av1d.state"
/* hex digits of an instance id: a hash of the daemon's job state folder */
#define AV1D_INSTANCE_ID_LEN 16

typedef struct {
	Av1dEncoderKind kind; /* DOCKER_QSV, QSV or SOFTWARE; AUTO is resolved by the caller */
	guint64 job_id;
	const gchar *render_node; /* e.g. "/dev/dri/renderD128"; the QSV kinds */
	guint render_gid;	  /* the render node's group, for docker --group-add */
	guint uid;		  /* docker --user */
	guint gid;
	const gchar *docker_bin;
	const gchar *docker_image;
	const gchar *ffmpeg_bin;
	gboolean use_libaom; /* software: libaom-av1 because SVT-AV1 is not available */
	/* docker-qsv: the org.av1d.state label, "" for none; an array so that
	 * copies of the struct carry it */
	gchar instance[AV1D_INSTANCE_ID_LEN + 1];
} Av1dBackendParams;

Av1dPlan *
av1d_plan_new(const Av1dMediaInfo *info,
	      const Av1dDecision *decision,
	      const gchar *source_path,
	      const Av1dConfig *config,
	      GError **error);
void
av1d_plan_free(Av1dPlan *self);
/* the job's private folder, once created: the encoder writes out.mkv there */
void
av1d_plan_set_temp_dir(Av1dPlan *self, const gchar *temp_dir);

GStrv
av1d_plan_build_argv(const Av1dPlan *plan,
		     const Av1dDecision *decision,
		     const Av1dBackendParams *params,
		     GError **error);

/* a copy of @params that owns its strings (one allocation: g_free() it),
 * for an object that keeps the backend beyond its caller's strings */
Av1dBackendParams *
av1d_backend_params_dup(const Av1dBackendParams *params);

/* @params->instance for a daemon whose jobs live in @job_state_dir */
void
av1d_backend_params_set_instance(Av1dBackendParams *params, const gchar *job_state_dir);

/* the argv with shell quoting, for explain and logs only */
gchar *
av1d_argv_to_display(const gchar *const *argv);

/* "rus", "ru", "RU", "Russian" -> "rus"; NULL for languages not in the table */
const gchar *
av1d_language_canonical(const gchar *tag);
/* same language: by identity for known languages, else case-insensitively;
 * a region ("pt-BR") is ignored */
gboolean
av1d_language_matches(const gchar *a, const gchar *b);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Av1dPlan, av1d_plan_free)

G_END_DECLS
