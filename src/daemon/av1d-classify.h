/*
 * What to do with one file and why (SPEC 5): skip it, or encode it with
 * which bit depth, colour tags, timestamp repair and quality. Pure: the
 * input is what ffprobe said, the file's path and the config, so that tests
 * and `av1d explain` call it directly.
 *
 * Every decision carries a reason list meant for people (explain, the
 * .why.txt sidecar, the journal, D-Bus): each rule that fired, and each
 * value that could not be determined, adds one line.
 */
#pragma once

#include <glib.h>

#include "av1d-config.h"
#include "av1d-probe.h"

G_BEGIN_DECLS

typedef enum {
	AV1D_ACTION_ENCODE,
	AV1D_ACTION_SKIP,
} Av1dAction;

typedef enum {
	AV1D_SOURCE_UNKNOWN,
	AV1D_SOURCE_WEB,
	AV1D_SOURCE_DISC,
} Av1dSourceKind;

/* the web score is kept in hundredths so that thresholds compare exactly */
#define AV1D_WEB_THRESHOLD  40	/* score >= 0.40: web */
#define AV1D_DISC_THRESHOLD -30 /* score <= -0.30: disc */

#define AV1D_QUALITY_MIN 20
#define AV1D_QUALITY_MAX 40

typedef struct {
	Av1dAction action;
	gchar *skip_reason; /* NULL unless action is SKIP */

	/* the video stream: the first one that is not an attached picture */
	gint video_index;      /* absolute stream index, -1 when there is none */
	gint video_type_index; /* among all video streams, for "-map 0:v:<n>" */
	/* from here on 0 / NULL / -1 when the file is skipped */
	gchar *video_codec;
	gint width; /* 0 = unknown */
	gint height;
	gdouble frame_rate;	/* 0 = unknown */
	gint64 video_bitrate;	/* bits per second, -1 = unknown */
	gdouble bits_per_pixel; /* per pixel per frame, < 0 = unknown */

	gchar *source_pix_fmt;
	guint source_bit_depth;
	guint target_bit_depth;	     /* 8 or 10 */
	const gchar *upload_format;  /* QSV hwupload: "nv12" or "p010le" (static) */
	const gchar *output_pix_fmt; /* software: "yuv420p" or "yuv420p10le" (static) */
	const gchar *av1_profile;    /* "main" (static) */

	gboolean is_hdr;
	/* copied from the source for HDR output, NULL when not HDR or unknown */
	gchar *color_primaries;
	gchar *color_transfer;
	gchar *color_space;
	gchar *color_range;
	gboolean has_mastering_display;
	gboolean has_content_light;

	gint web_score_centi; /* the score in hundredths */
	gdouble web_score;    /* web_score_centi / 100 */
	Av1dSourceKind source_kind;
	gboolean is_web_like;	/* source_kind == WEB: gets timestamp repair */
	GPtrArray *web_reasons; /* gchar*, one per score contribution */

	gint quality;	    /* av1_qsv -global_quality, AV1D_QUALITY_MIN..MAX; 0 when skipped */
	gint svt_crf;	    /* the same for SVT-AV1 / libaom, see av1d_quality_to_svt_crf() */
	GPtrArray *reasons; /* gchar*, everything above in words, never NULL */
	gchar *summary;	    /* one line */
} Av1dDecision;

Av1dDecision *
av1d_classify(const Av1dMediaInfo *info, const gchar *source_path, const Av1dConfig *config);
void
av1d_decision_free(Av1dDecision *self);

/* what the quality table looks at */
typedef struct {
	const gchar *codec; /* source codec_name, may be NULL */
	gint height;	    /* 0 = unknown */
	guint target_bit_depth;
	gdouble bits_per_pixel;	      /* < 0 = unknown */
	const gchar *bpp_unknown_why; /* e.g. "no bitrate", for the reason line */
	gdouble frame_rate;	      /* 0 = unknown */
} Av1dQualityInput;

/* the av1_qsv global_quality, AV1D_QUALITY_MIN..MAX; one line per rule is
 * appended to reasons (may be NULL); exposed for the tests and explain */
gint
av1d_quality_for(const Av1dQualityInput *input, GPtrArray *reasons);
/* the SVT-AV1 / libaom CRF (0..63) for a global_quality: quality + 4,
 * clamped; monotonic (why +4: see av1d-classify.c) */
gint
av1d_quality_to_svt_crf(gint quality);

const gchar *
av1d_action_to_string(Av1dAction action);
const gchar *
av1d_source_kind_to_string(Av1dSourceKind kind);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Av1dDecision, av1d_decision_free)

G_END_DECLS
