/*
 * What a media file contains, as ffprobe sees it (SPEC 4).
 *
 * av1d_media_info_parse() turns the JSON of
 *   ffprobe -v error -print_format json -show_format -show_streams -show_chapters FILE
 * into plain structs and is pure, so that tests feed it hand-written JSON.
 * ffprobe is inconsistent about types (numbers arrive as strings, "N/A" for
 * unknown, "0/0" frame rates), so every field has an explicit "unknown"
 * value instead of failing: bad media must produce a decision, not a crash.
 *
 * av1d_probe_file_async() and av1d_probe_file_sync() run ffprobe and parse
 * its output; failures are AV1D_ERROR_PROBE_FAILED with the file's path and
 * ffprobe's own message.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
	AV1D_STREAM_TYPE_OTHER, /* unknown or a codec_type we do not know */
	AV1D_STREAM_TYPE_VIDEO,
	AV1D_STREAM_TYPE_AUDIO,
	AV1D_STREAM_TYPE_SUBTITLE,
	AV1D_STREAM_TYPE_ATTACHMENT,
	AV1D_STREAM_TYPE_DATA,
} Av1dStreamType;

typedef enum {
	AV1D_SIDE_DATA_OTHER,
	AV1D_SIDE_DATA_MASTERING_DISPLAY,
	AV1D_SIDE_DATA_CONTENT_LIGHT,
	AV1D_SIDE_DATA_DOVI_CONFIG,
} Av1dSideDataKind;

typedef enum {
	AV1D_BITRATE_SOURCE_NONE,   /* bit_rate is -1 */
	AV1D_BITRATE_SOURCE_STREAM, /* the stream's bit_rate field */
	AV1D_BITRATE_SOURCE_TAG,    /* Matroska statistics tag BPS / BPS-eng */
} Av1dBitrateSource;

/* num/den as ffprobe prints it; den == 0 means unknown ("0/0", missing) */
typedef struct {
	gint64 num;
	gint64 den;
} Av1dRational;

typedef struct {
	Av1dSideDataKind kind;
	gchar *type; /* ffprobe's side_data_type, never NULL */
	/* mastering display: "R(x,y) G(x,y) B(x,y) WP(x,y)" and "min=a/b max=c/d",
	 * each value as ffprobe's fraction string ("?" if missing); NULL for
	 * other kinds */
	gchar *primaries;
	gchar *luminance;
	/* content light level in cd/m², -1 = unknown */
	gint64 max_content;
	gint64 max_average;
	/* Dolby Vision profile, -1 = unknown */
	gint dv_profile;
} Av1dSideData;

typedef struct {
	gint index; /* absolute stream index in the file */
	Av1dStreamType type;
	gchar *codec_type; /* as ffprobe names it, NULL if missing */
	gchar *codec_name;
	gchar *codec_tag_string;
	gchar *profile;
	gint width; /* 0 = unknown */
	gint height;
	gchar *pix_fmt;
	guint bit_depth; /* video: from pix_fmt, else bits_per_raw_sample, else 8; 0 for non-video
			  */
	gchar *color_range;
	gchar *color_space;
	gchar *color_transfer;
	gchar *color_primaries;
	Av1dRational avg_frame_rate;
	Av1dRational r_frame_rate;
	gint64 bit_rate; /* bits per second, -1 = unknown */
	Av1dBitrateSource bit_rate_source;
	gint64 duration_us; /* -1 = unknown */
	gint64 nb_frames;   /* -1 = unknown */
	gint channels;	    /* audio, 0 = unknown */
	gchar *language;    /* the "language" tag in any case, NULL if untagged */
	gchar *title;
	gchar *filename; /* attachments: the filename tag */
	gchar *mimetype; /* attachments: the mimetype tag */
	gboolean is_default;
	gboolean is_forced;
	gboolean is_attached_pic;
	gboolean is_still_image;
	GPtrArray *side_data; /* Av1dSideData*, never NULL */
	GHashTable *tags;     /* lower-case key -> value, never NULL */
} Av1dStreamInfo;

typedef struct {
	gchar *filename;
	gchar *format_name;
	gint64 duration_us; /* -1 = unknown */
	gint64 bit_rate;    /* -1 = unknown */
	gint64 size;	    /* bytes, -1 = unknown */
	gchar *encoder;	    /* the "encoder" tag (e.g. "Lavf59.27.100", "libmakemkv ...") */
	gchar *muxing_app;  /* the "muxing_app" or "writing_app" tag when a muxer wrote one */
	GHashTable *tags;   /* lower-case key -> value, never NULL */
	GPtrArray *streams; /* Av1dStreamInfo*, in file order, never NULL */
	guint n_chapters;
	guint n_attachments;
} Av1dMediaInfo;

Av1dMediaInfo *
av1d_media_info_parse(const gchar *json, gssize length, GError **error);
void
av1d_media_info_free(Av1dMediaInfo *self);

/* NULL when out of range */
const Av1dStreamInfo *
av1d_media_info_get_stream(const Av1dMediaInfo *self, guint i);
/* case-insensitive tag lookups, NULL when absent */
const gchar *
av1d_media_info_get_tag(const Av1dMediaInfo *self, const gchar *key);
const gchar *
av1d_stream_info_get_tag(const Av1dStreamInfo *self, const gchar *key);
/* the side data of that kind, NULL when absent */
const Av1dSideData *
av1d_stream_info_find_side_data(const Av1dStreamInfo *self, Av1dSideDataKind kind);

/* 0.0 when unknown */
gdouble
av1d_rational_to_double(Av1dRational r);
/* "yuv420p10le" -> 10, "p010le" -> 10, "yuv420p" -> 0 (unknown) */
guint
av1d_pix_fmt_bit_depth(const gchar *pix_fmt);
const gchar *
av1d_stream_type_to_string(Av1dStreamType type);

/* ffprobe_bin is a name looked up in PATH or a path */
void
av1d_probe_file_async(const gchar *ffprobe_bin,
		      const gchar *path,
		      GCancellable *cancellable,
		      GAsyncReadyCallback callback,
		      gpointer user_data);
Av1dMediaInfo *
av1d_probe_file_finish(GAsyncResult *result, GError **error);
Av1dMediaInfo *
av1d_probe_file_sync(const gchar *ffprobe_bin,
		     const gchar *path,
		     GCancellable *cancellable,
		     GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Av1dMediaInfo, av1d_media_info_free)

G_END_DECLS
