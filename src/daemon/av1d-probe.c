#define G_LOG_DOMAIN "av1d-probe"

#include "config.h"

#include <math.h>

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "av1d-error.h"
#include "av1d-probe.h"

/* ---- JSON helpers: ffprobe prints numbers as strings, "N/A" for unknown ---- */

/* a scalar node as a string; numbers are printed; NULL for null, objects,
 * arrays and ffprobe's "N/A" */
static gchar *
node_dup_string(JsonNode *node)
{
	GType type;

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node))
		return NULL;
	type = json_node_get_value_type(node);
	if (type == G_TYPE_STRING) {
		const gchar *s = json_node_get_string(node);

		if (s == NULL || g_strcmp0(s, "N/A") == 0)
			return NULL;
		return g_strdup(s);
	}
	if (type == G_TYPE_INT64)
		return g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(node));
	if (type == G_TYPE_DOUBLE) {
		gchar buf[G_ASCII_DTOSTR_BUF_SIZE];

		return g_strdup(g_ascii_dtostr(buf, sizeof buf, json_node_get_double(node)));
	}
	if (type == G_TYPE_BOOLEAN)
		return g_strdup(json_node_get_boolean(node) ? "1" : "0");
	return NULL;
}

static JsonNode *
member(JsonObject *obj, const gchar *name)
{
	if (obj == NULL || !json_object_has_member(obj, name))
		return NULL;
	return json_object_get_member(obj, name);
}

/* like node_dup_string() but the empty string counts as missing too */
static gchar *
member_dup_string(JsonObject *obj, const gchar *name)
{
	gchar *s = node_dup_string(member(obj, name));

	if (s != NULL && s[0] == '\0')
		g_clear_pointer(&s, g_free);
	return s;
}

static JsonObject *
member_object(JsonObject *obj, const gchar *name)
{
	JsonNode *node = member(obj, name);

	if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node))
		return NULL;
	return json_node_get_object(node);
}

static JsonArray *
member_array(JsonObject *obj, const gchar *name)
{
	JsonNode *node = member(obj, name);

	if (node == NULL || !JSON_NODE_HOLDS_ARRAY(node))
		return NULL;
	return json_node_get_array(node);
}

static gboolean
parse_double(const gchar *s, gdouble *out)
{
	gchar *end = NULL;
	gdouble d;

	if (s == NULL || s[0] == '\0')
		return FALSE;
	d = g_ascii_strtod(s, &end);
	if (end == s || *end != '\0' || !isfinite(d))
		return FALSE;
	*out = d;
	return TRUE;
}

/* integers, and decimals truncated: some muxers write "1234.0" */
static gboolean
parse_int64(const gchar *s, gint64 *out)
{
	gdouble d;

	if (s == NULL)
		return FALSE;
	if (g_ascii_string_to_signed(s, 10, G_MININT64, G_MAXINT64, out, NULL))
		return TRUE;
	if (!parse_double(s, &d) || d >= 9.2e18 || d <= -9.2e18)
		return FALSE;
	*out = (gint64)d;
	return TRUE;
}

static gboolean
member_int64(JsonObject *obj, const gchar *name, gint64 *out)
{
	g_autofree gchar *s = node_dup_string(member(obj, name));

	return parse_int64(s, out);
}

static gboolean
member_double(JsonObject *obj, const gchar *name, gdouble *out)
{
	g_autofree gchar *s = node_dup_string(member(obj, name));

	return parse_double(s, out);
}

static gboolean
seconds_to_us(gdouble seconds, gint64 *us)
{
	/* a year is plenty; anything beyond is a broken header */
	if (!isfinite(seconds) || seconds < 0.0 || seconds > 366.0 * 86400.0)
		return FALSE;
	/* no llround(): the core does not link libm */
	*us = (gint64)(seconds * G_USEC_PER_SEC + 0.5);
	return TRUE;
}

/* µs from seconds as ffprobe prints them ("1.022000"); -1 when unknown */
static gint64
member_duration_us(JsonObject *obj, const gchar *name)
{
	gdouble seconds;
	gint64 us;

	if (!member_double(obj, name, &seconds) || !seconds_to_us(seconds, &us))
		return -1;
	return us;
}

/* Matroska's DURATION tag: "HH:MM:SS.nnnnnnnnn" */
static gint64
parse_clock_duration_us(const gchar *s)
{
	g_auto(GStrv) parts = NULL;
	guint64 hours, minutes;
	gdouble seconds;
	gint64 us;

	if (s == NULL)
		return -1;
	parts = g_strsplit(s, ":", 4);
	if (g_strv_length(parts) != 3 ||
	    !g_ascii_string_to_unsigned(parts[0], 10, 0, 10000, &hours, NULL) ||
	    !g_ascii_string_to_unsigned(parts[1], 10, 0, 59, &minutes, NULL) ||
	    !parse_double(parts[2], &seconds) || seconds >= 60.0)
		return -1;
	if (!seconds_to_us(hours * 3600.0 + minutes * 60.0 + seconds, &us))
		return -1;
	return us;
}

static Av1dRational
parse_rational(const gchar *s)
{
	Av1dRational unknown = {0, 0};
	Av1dRational r = {0, 1};
	g_auto(GStrv) parts = NULL;

	if (s == NULL)
		return unknown;
	parts = g_strsplit(s, "/", 3);
	if (g_strv_length(parts) > 2 || !parse_int64(parts[0], &r.num))
		return unknown;
	if (parts[1] != NULL && !parse_int64(parts[1], &r.den))
		return unknown;
	/* "0/0", "25/0" and negative rates all mean ffprobe does not know */
	if (r.num <= 0 || r.den <= 0)
		return unknown;
	return r;
}

/* lower-case key -> value; the first of keys differing only in case wins */
static GHashTable *
parse_tags(JsonObject *obj)
{
	GHashTable *tags = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	JsonObject *tags_obj = member_object(obj, "tags");
	g_autoptr(GList) names = NULL;

	if (tags_obj == NULL)
		return tags;
	names = json_object_get_members(tags_obj);
	for (GList *l = names; l != NULL; l = l->next) {
		g_autofree gchar *key = g_ascii_strdown(l->data, -1);
		gchar *value = node_dup_string(json_object_get_member(tags_obj, l->data));

		if (value == NULL || g_hash_table_contains(tags, key)) {
			g_free(value);
			continue;
		}
		g_hash_table_insert(tags, g_steal_pointer(&key), value);
	}
	return tags;
}

static gchar *
dup_tag(GHashTable *tags, const gchar *key)
{
	const gchar *value = g_hash_table_lookup(tags, key);

	if (value == NULL || value[0] == '\0')
		return NULL;
	return g_strdup(value);
}

/* ---- pixel formats ---- */

/* names whose depth is not "p<depth>" at the end */
static const struct {
	const gchar *name;
	guint depth;
} odd_pix_fmts[] = {
	{"p010", 10}, {"p012", 12}, {"p016", 16}, {"p210", 10},	   {"p212", 12},    {"p216", 16},
	{"p410", 10}, {"p412", 12}, {"p416", 16}, {"nv20", 10},	   {"y210", 10},    {"y212", 12},
	{"xv30", 10}, {"xv36", 12}, {"v30x", 10}, {"x2rgb10", 10}, {"x2bgr10", 10},
};

guint
av1d_pix_fmt_bit_depth(const gchar *pix_fmt)
{
	g_autofree gchar *name = NULL;
	gsize len, digits = 0;
	guint64 depth;

	if (pix_fmt == NULL)
		return 0;
	name = g_ascii_strdown(pix_fmt, -1);
	len = strlen(name);
	if (len > 2 && (g_str_has_suffix(name, "le") || g_str_has_suffix(name, "be")))
		name[len -= 2] = '\0';
	for (guint i = 0; i < G_N_ELEMENTS(odd_pix_fmts); i++) {
		if (g_str_equal(name, odd_pix_fmts[i].name))
			return odd_pix_fmts[i].depth;
	}
	while (digits < len && g_ascii_isdigit(name[len - digits - 1]))
		digits++;
	/* "yuv420p10", "gbrp12", "gray10"; but not "nv12" or "rgb48" */
	if (digits == 0 || digits == len ||
	    (name[len - digits - 1] != 'p' && !g_str_has_prefix(name, "gray")))
		return 0;
	if (!g_ascii_string_to_unsigned(name + len - digits, 10, 9, 16, &depth, NULL))
		return 0;
	return (guint)depth;
}

/* ---- side data ---- */

static Av1dSideDataKind
side_data_kind(const gchar *type)
{
	if (type == NULL)
		return AV1D_SIDE_DATA_OTHER;
	if (g_ascii_strcasecmp(type, "Mastering display metadata") == 0)
		return AV1D_SIDE_DATA_MASTERING_DISPLAY;
	if (g_ascii_strcasecmp(type, "Content light level metadata") == 0)
		return AV1D_SIDE_DATA_CONTENT_LIGHT;
	if (g_ascii_strncasecmp(type, "DOVI configuration", 18) == 0)
		return AV1D_SIDE_DATA_DOVI_CONFIG;
	return AV1D_SIDE_DATA_OTHER;
}

static gchar *
member_or_unknown(JsonObject *obj, const gchar *name)
{
	gchar *s = member_dup_string(obj, name);

	return s != NULL ? s : g_strdup("?");
}

static gchar *
mastering_point(JsonObject *obj, const gchar *label, const gchar *x, const gchar *y)
{
	g_autofree gchar *vx = member_or_unknown(obj, x);
	g_autofree gchar *vy = member_or_unknown(obj, y);

	return g_strdup_printf("%s(%s,%s)", label, vx, vy);
}

static void
parse_mastering_display(Av1dSideData *sd, JsonObject *obj)
{
	g_autofree gchar *r = mastering_point(obj, "R", "red_x", "red_y");
	g_autofree gchar *g = mastering_point(obj, "G", "green_x", "green_y");
	g_autofree gchar *b = mastering_point(obj, "B", "blue_x", "blue_y");
	g_autofree gchar *wp = mastering_point(obj, "WP", "white_point_x", "white_point_y");
	g_autofree gchar *min = member_or_unknown(obj, "min_luminance");
	g_autofree gchar *max = member_or_unknown(obj, "max_luminance");

	sd->primaries = g_strdup_printf("%s %s %s %s", r, g, b, wp);
	sd->luminance = g_strdup_printf("min=%s max=%s", min, max);
}

static void
side_data_free(Av1dSideData *sd)
{
	g_free(sd->type);
	g_free(sd->primaries);
	g_free(sd->luminance);
	g_free(sd);
}

static Av1dSideData *
parse_side_data(JsonObject *obj)
{
	Av1dSideData *sd = g_new0(Av1dSideData, 1);
	gint64 profile;

	sd->type = member_dup_string(obj, "side_data_type");
	if (sd->type == NULL)
		sd->type = g_strdup("unknown");
	sd->kind = side_data_kind(sd->type);
	sd->max_content = -1;
	sd->max_average = -1;
	sd->dv_profile = -1;
	if (sd->kind == AV1D_SIDE_DATA_MASTERING_DISPLAY)
		parse_mastering_display(sd, obj);
	if (sd->kind == AV1D_SIDE_DATA_CONTENT_LIGHT) {
		if (!member_int64(obj, "max_content", &sd->max_content))
			sd->max_content = -1;
		if (!member_int64(obj, "max_average", &sd->max_average))
			sd->max_average = -1;
	}
	if (sd->kind == AV1D_SIDE_DATA_DOVI_CONFIG && member_int64(obj, "dv_profile", &profile) &&
	    profile >= 0 && profile < 100)
		sd->dv_profile = (gint)profile;
	return sd;
}

static void
parse_side_data_list(Av1dStreamInfo *stream, JsonObject *obj)
{
	JsonArray *list = member_array(obj, "side_data_list");

	if (list == NULL)
		return;
	for (guint i = 0; i < json_array_get_length(list); i++) {
		JsonNode *node = json_array_get_element(list, i);

		if (JSON_NODE_HOLDS_OBJECT(node))
			g_ptr_array_add(stream->side_data,
					parse_side_data(json_node_get_object(node)));
	}
}

/* ---- streams ---- */

static Av1dStreamType
stream_type_from_string(const gchar *codec_type)
{
	static const gchar *const names[] = {
		[AV1D_STREAM_TYPE_VIDEO] = "video",
		[AV1D_STREAM_TYPE_AUDIO] = "audio",
		[AV1D_STREAM_TYPE_SUBTITLE] = "subtitle",
		[AV1D_STREAM_TYPE_ATTACHMENT] = "attachment",
		[AV1D_STREAM_TYPE_DATA] = "data",
	};

	for (guint i = AV1D_STREAM_TYPE_VIDEO; i < G_N_ELEMENTS(names); i++) {
		if (g_strcmp0(codec_type, names[i]) == 0)
			return (Av1dStreamType)i;
	}
	return AV1D_STREAM_TYPE_OTHER;
}

const gchar *
av1d_stream_type_to_string(Av1dStreamType type)
{
	switch (type) {
	case AV1D_STREAM_TYPE_VIDEO:
		return "video";
	case AV1D_STREAM_TYPE_AUDIO:
		return "audio";
	case AV1D_STREAM_TYPE_SUBTITLE:
		return "subtitle";
	case AV1D_STREAM_TYPE_ATTACHMENT:
		return "attachment";
	case AV1D_STREAM_TYPE_DATA:
		return "data";
	case AV1D_STREAM_TYPE_OTHER:
	default:
		return "other";
	}
}

static gint
member_dimension(JsonObject *obj, const gchar *name)
{
	gint64 v;

	if (!member_int64(obj, name, &v) || v <= 0 || v > 65536)
		return 0;
	return (gint)v;
}

static void
parse_video_fields(Av1dStreamInfo *stream, JsonObject *obj)
{
	gint64 raw_bits;

	stream->width = member_dimension(obj, "width");
	stream->height = member_dimension(obj, "height");
	stream->pix_fmt = member_dup_string(obj, "pix_fmt");
	stream->color_range = member_dup_string(obj, "color_range");
	stream->color_space = member_dup_string(obj, "color_space");
	stream->color_transfer = member_dup_string(obj, "color_transfer");
	stream->color_primaries = member_dup_string(obj, "color_primaries");
	if (stream->type != AV1D_STREAM_TYPE_VIDEO)
		return;
	stream->bit_depth = av1d_pix_fmt_bit_depth(stream->pix_fmt);
	if (stream->bit_depth == 0 && member_int64(obj, "bits_per_raw_sample", &raw_bits) &&
	    raw_bits >= 8 && raw_bits <= 16)
		stream->bit_depth = (guint)raw_bits;
	if (stream->bit_depth == 0)
		stream->bit_depth = 8;
}

static void
parse_rates(Av1dStreamInfo *stream, JsonObject *obj)
{
	g_autofree gchar *avg = member_dup_string(obj, "avg_frame_rate");
	g_autofree gchar *r = member_dup_string(obj, "r_frame_rate");
	const gchar *bps;

	stream->avg_frame_rate = parse_rational(avg);
	stream->r_frame_rate = parse_rational(r);
	if (member_int64(obj, "bit_rate", &stream->bit_rate) && stream->bit_rate > 0) {
		stream->bit_rate_source = AV1D_BITRATE_SOURCE_STREAM;
	} else {
		/* mkvmerge writes statistics tags instead of a bitrate field */
		bps = g_hash_table_lookup(stream->tags, "bps");
		if (bps == NULL)
			bps = g_hash_table_lookup(stream->tags, "bps-eng");
		if (parse_int64(bps, &stream->bit_rate) && stream->bit_rate > 0)
			stream->bit_rate_source = AV1D_BITRATE_SOURCE_TAG;
		else
			stream->bit_rate = -1;
	}
	stream->duration_us = member_duration_us(obj, "duration");
	if (stream->duration_us < 0)
		stream->duration_us =
			parse_clock_duration_us(g_hash_table_lookup(stream->tags, "duration"));
	if (!member_int64(obj, "nb_frames", &stream->nb_frames) || stream->nb_frames < 0)
		stream->nb_frames = -1;
}

static gboolean
disposition_flag(JsonObject *disposition, const gchar *name)
{
	gint64 v;

	return member_int64(disposition, name, &v) && v != 0;
}

static void
parse_disposition(Av1dStreamInfo *stream, JsonObject *obj)
{
	JsonObject *disposition = member_object(obj, "disposition");

	stream->is_default = disposition_flag(disposition, "default");
	stream->is_forced = disposition_flag(disposition, "forced");
	stream->is_attached_pic = disposition_flag(disposition, "attached_pic");
	stream->is_still_image = disposition_flag(disposition, "still_image");
}

static void
stream_info_free(Av1dStreamInfo *stream)
{
	g_free(stream->codec_type);
	g_free(stream->codec_name);
	g_free(stream->codec_tag_string);
	g_free(stream->profile);
	g_free(stream->pix_fmt);
	g_free(stream->color_range);
	g_free(stream->color_space);
	g_free(stream->color_transfer);
	g_free(stream->color_primaries);
	g_free(stream->language);
	g_free(stream->title);
	g_free(stream->filename);
	g_free(stream->mimetype);
	g_ptr_array_unref(stream->side_data);
	g_hash_table_unref(stream->tags);
	g_free(stream);
}

static Av1dStreamInfo *
parse_stream(JsonObject *obj, guint position)
{
	Av1dStreamInfo *stream = g_new0(Av1dStreamInfo, 1);
	gint64 v;

	stream->index =
		member_int64(obj, "index", &v) && v >= 0 && v < G_MAXINT ? (gint)v : (gint)position;
	stream->codec_type = member_dup_string(obj, "codec_type");
	stream->type = stream_type_from_string(stream->codec_type);
	stream->codec_name = member_dup_string(obj, "codec_name");
	stream->codec_tag_string = member_dup_string(obj, "codec_tag_string");
	stream->profile = member_dup_string(obj, "profile");
	stream->tags = parse_tags(obj);
	stream->side_data = g_ptr_array_new_with_free_func((GDestroyNotify)side_data_free);
	stream->language = dup_tag(stream->tags, "language");
	stream->title = dup_tag(stream->tags, "title");
	stream->filename = dup_tag(stream->tags, "filename");
	stream->mimetype = dup_tag(stream->tags, "mimetype");
	if (member_int64(obj, "channels", &v) && v > 0 && v < 1024)
		stream->channels = (gint)v;
	parse_video_fields(stream, obj);
	parse_rates(stream, obj);
	parse_disposition(stream, obj);
	parse_side_data_list(stream, obj);
	return stream;
}

/* ---- the whole document ---- */

static void
parse_format(Av1dMediaInfo *info, JsonObject *format)
{
	info->filename = member_dup_string(format, "filename");
	info->format_name = member_dup_string(format, "format_name");
	info->duration_us = member_duration_us(format, "duration");
	if (!member_int64(format, "bit_rate", &info->bit_rate) || info->bit_rate <= 0)
		info->bit_rate = -1;
	if (!member_int64(format, "size", &info->size) || info->size < 0)
		info->size = -1;
	info->tags = parse_tags(format);
	info->encoder = dup_tag(info->tags, "encoder");
	info->muxing_app = dup_tag(info->tags, "muxing_app");
	if (info->muxing_app == NULL)
		info->muxing_app = dup_tag(info->tags, "writing_app");
}

static void
parse_streams(Av1dMediaInfo *info, JsonObject *root)
{
	JsonArray *streams = member_array(root, "streams");
	JsonArray *chapters = member_array(root, "chapters");

	info->streams = g_ptr_array_new_with_free_func((GDestroyNotify)stream_info_free);
	for (guint i = 0; streams != NULL && i < json_array_get_length(streams); i++) {
		JsonNode *node = json_array_get_element(streams, i);
		Av1dStreamInfo *stream;

		if (!JSON_NODE_HOLDS_OBJECT(node))
			continue;
		stream = parse_stream(json_node_get_object(node), i);
		if (stream->type == AV1D_STREAM_TYPE_ATTACHMENT)
			info->n_attachments++;
		g_ptr_array_add(info->streams, stream);
	}
	info->n_chapters = chapters != NULL ? json_array_get_length(chapters) : 0;
}

Av1dMediaInfo *
av1d_media_info_parse(const gchar *json, gssize length, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	g_autoptr(GError) local_error = NULL;
	Av1dMediaInfo *info;
	JsonNode *root;

	g_return_val_if_fail(json != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (!json_parser_load_from_data(parser, json, length, &local_error)) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_PROBE_FAILED,
			    /* Translators: %s is json-glib's message */
			    _("ffprobe printed invalid JSON: %s"), local_error->message);
		return NULL;
	}
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error_literal(error, AV1D_ERROR, AV1D_ERROR_PROBE_FAILED,
				    _("ffprobe printed JSON that is not an object"));
		return NULL;
	}
	info = g_new0(Av1dMediaInfo, 1);
	parse_format(info, member_object(json_node_get_object(root), "format"));
	parse_streams(info, json_node_get_object(root));
	return info;
}

void
av1d_media_info_free(Av1dMediaInfo *self)
{
	if (self == NULL)
		return;
	g_free(self->filename);
	g_free(self->format_name);
	g_free(self->encoder);
	g_free(self->muxing_app);
	g_clear_pointer(&self->tags, g_hash_table_unref);
	g_clear_pointer(&self->streams, g_ptr_array_unref);
	g_free(self);
}

const Av1dStreamInfo *
av1d_media_info_get_stream(const Av1dMediaInfo *self, guint i)
{
	g_return_val_if_fail(self != NULL, NULL);
	if (i >= self->streams->len)
		return NULL;
	return g_ptr_array_index(self->streams, i);
}

static const gchar *
lookup_tag(GHashTable *tags, const gchar *key)
{
	g_autofree gchar *lower = g_ascii_strdown(key, -1);

	return g_hash_table_lookup(tags, lower);
}

const gchar *
av1d_media_info_get_tag(const Av1dMediaInfo *self, const gchar *key)
{
	g_return_val_if_fail(self != NULL && key != NULL, NULL);
	return lookup_tag(self->tags, key);
}

const gchar *
av1d_stream_info_get_tag(const Av1dStreamInfo *self, const gchar *key)
{
	g_return_val_if_fail(self != NULL && key != NULL, NULL);
	return lookup_tag(self->tags, key);
}

const Av1dSideData *
av1d_stream_info_find_side_data(const Av1dStreamInfo *self, Av1dSideDataKind kind)
{
	g_return_val_if_fail(self != NULL, NULL);
	for (guint i = 0; i < self->side_data->len; i++) {
		const Av1dSideData *sd = g_ptr_array_index(self->side_data, i);

		if (sd->kind == kind)
			return sd;
	}
	return NULL;
}

gdouble
av1d_rational_to_double(Av1dRational r)
{
	if (r.den <= 0 || r.num <= 0)
		return 0.0;
	return (gdouble)r.num / (gdouble)r.den;
}

/* ---- running ffprobe ---- */

/* relative paths get "./" so that "-x.mkv" is no option and "a:b.mkv" no
 * protocol */
static gchar *
probe_path_arg(const gchar *path)
{
	if (g_path_is_absolute(path))
		return g_strdup(path);
	return g_strconcat("." G_DIR_SEPARATOR_S, path, NULL);
}

static GSubprocess *
probe_spawn(const gchar *ffprobe_bin, const gchar *path, GError **error)
{
	g_autofree gchar *arg = probe_path_arg(path);
	g_autofree gchar *display = g_filename_display_name(path);
	g_autoptr(GError) local_error = NULL;
	const gchar *bin = ffprobe_bin != NULL && ffprobe_bin[0] != '\0' ? ffprobe_bin : "ffprobe";
	const gchar *argv[] = {bin,
			       "-v",
			       "error",
			       "-print_format",
			       "json",
			       "-show_format",
			       "-show_streams",
			       "-show_chapters",
			       arg,
			       NULL};
	GSubprocess *proc;

	proc = g_subprocess_newv(argv,
				 G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
				 &local_error);
	if (proc == NULL)
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_PROBE_FAILED,
			    /* Translators: the file, the ffprobe binary, then why */
			    _("probing %s: cannot run ffprobe binary “%s”: %s"), display, bin,
			    local_error->message);
	return proc;
}

/* one stderr line made fit for a message that names the file already:
 * without "[matroska,webm @ 0x55d0...] " and without "<file>: " */
static gchar *
clean_stderr_line(const gchar *line, const gchar *arg)
{
	const gchar *p = line;
	const gchar *close;

	if (p[0] == '[' && strstr(p, " @ ") != NULL && (close = strstr(p, "] ")) != NULL)
		p = close + 2;
	if (g_str_has_prefix(p, arg) && g_str_has_prefix(p + strlen(arg), ": "))
		p += strlen(arg) + 2;
	return g_strstrip(g_strdup(p));
}

/* the last line of ffprobe's stderr says what went wrong; up to two lines
 * before it often say why: "Invalid data ... (EBML header parsing failed)" */
static gchar *
summarize_stderr(GBytes *err, const gchar *arg)
{
	gsize len = 0;
	const gchar *data = err != NULL ? g_bytes_get_data(err, &len) : NULL;
	g_autofree gchar *text = data != NULL ? g_utf8_make_valid(data, (gssize)len) : NULL;
	g_auto(GStrv) lines = text != NULL ? g_strsplit_set(text, "\r\n", -1) : NULL;
	g_autoptr(GPtrArray) kept = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GString) context = g_string_new(NULL);
	const gchar *last;

	for (guint i = 0; lines != NULL && lines[i] != NULL; i++) {
		g_autofree gchar *clean = clean_stderr_line(lines[i], arg);

		if (clean[0] == '\0' || g_str_has_prefix(clean, "Last message repeated"))
			continue;
		if (kept->len > 0 && g_str_equal(g_ptr_array_index(kept, kept->len - 1), clean))
			continue;
		g_ptr_array_add(kept, g_steal_pointer(&clean));
	}
	if (kept->len == 0)
		return NULL;
	last = g_ptr_array_index(kept, kept->len - 1);
	for (guint i = kept->len > 3 ? kept->len - 3 : 0; i + 1 < kept->len; i++)
		g_string_append_printf(context, "%s%s", context->len > 0 ? "; " : "",
				       (const gchar *)g_ptr_array_index(kept, i));
	if (context->len == 0)
		return g_strdup(last);
	return g_strdup_printf("%s (%s)", last, context->str);
}

static gchar *
describe_failure(GSubprocess *proc, GBytes *err, const gchar *path)
{
	g_autofree gchar *arg = probe_path_arg(path);
	g_autofree gchar *summary = summarize_stderr(err, arg);

	if (g_subprocess_get_if_signaled(proc) && summary != NULL) {
		/* Translators: said of ffprobe, as in "probing x: ffprobe: killed
		 * by signal 9: …"; a signal number, then ffprobe's own message */
		return g_strdup_printf(_("killed by signal %d: %s"),
				       g_subprocess_get_term_sig(proc), summary);
	}
	if (g_subprocess_get_if_signaled(proc)) {
		/* Translators: said of ffprobe, as in "probing x: ffprobe: killed
		 * by signal 9" */
		return g_strdup_printf(_("killed by signal %d"), g_subprocess_get_term_sig(proc));
	}
	if (summary != NULL)
		return g_steal_pointer(&summary);
	/* Translators: said of ffprobe, as in "probing x: ffprobe: exited
	 * with status 1 and no message" */
	return g_strdup_printf(_("exited with status %d and no message"),
			       g_subprocess_get_exit_status(proc));
}

static Av1dMediaInfo *
probe_finish(const gchar *path, GSubprocess *proc, GBytes *out, GBytes *err, GError **error)
{
	g_autofree gchar *display = g_filename_display_name(path);
	g_autofree gchar *text = NULL;
	GError *local_error = NULL;
	Av1dMediaInfo *info;
	const gchar *data;
	gsize len = 0;

	if (!g_subprocess_get_successful(proc)) {
		g_autofree gchar *why = describe_failure(proc, err, path);

		g_set_error(error, AV1D_ERROR, AV1D_ERROR_PROBE_FAILED,
			    /* Translators: the file, then what went wrong with ffprobe
			     * (e.g. "exited with status 1 and no message" or its own
			     * English message) */
			    _("probing %s: ffprobe: %s"), display, why);
		return NULL;
	}
	data = out != NULL ? g_bytes_get_data(out, &len) : NULL;
	if (data == NULL || len == 0) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_PROBE_FAILED,
			    _("probing %s: ffprobe printed nothing"), display);
		return NULL;
	}
	/* tags and file names in odd files need not be UTF-8; JSON must be */
	text = g_utf8_make_valid(data, (gssize)len);
	info = av1d_media_info_parse(text, -1, &local_error);
	if (info == NULL)
		/* Translators: the file whose probe failed; the error follows */
		g_propagate_prefixed_error(error, local_error, _("probing %s: "), display);
	return info;
}

static void
set_communicate_error(GError **error, GError *local_error, const gchar *path)
{
	g_autofree gchar *display = g_filename_display_name(path);

	if (g_error_matches(local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_CANCELLED, _("probing %s: cancelled"),
			    display);
	else
		/* Translators: the file, then why its probe failed */
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_PROBE_FAILED, _("probing %s: %s"),
			    display, local_error->message);
}

Av1dMediaInfo *
av1d_probe_file_sync(const gchar *ffprobe_bin,
		     const gchar *path,
		     GCancellable *cancellable,
		     GError **error)
{
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GBytes) out = NULL;
	g_autoptr(GBytes) err = NULL;
	g_autoptr(GError) local_error = NULL;

	g_return_val_if_fail(path != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	proc = probe_spawn(ffprobe_bin, path, error);
	if (proc == NULL)
		return NULL;
	if (!g_subprocess_communicate(proc, NULL, cancellable, &out, &err, &local_error)) {
		g_subprocess_force_exit(proc);
		set_communicate_error(error, local_error, path);
		return NULL;
	}
	return probe_finish(path, proc, out, err, error);
}

static void
on_probe_communicated(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	GSubprocess *proc = G_SUBPROCESS(source);
	const gchar *path = g_task_get_task_data(task);
	g_autoptr(GBytes) out = NULL;
	g_autoptr(GBytes) err = NULL;
	g_autoptr(GError) local_error = NULL;
	GError *error = NULL;
	Av1dMediaInfo *info;

	if (!g_subprocess_communicate_finish(proc, result, &out, &err, &local_error)) {
		/* a cancelled communicate leaves ffprobe running */
		g_subprocess_force_exit(proc);
		set_communicate_error(&error, local_error, path);
		g_task_return_error(task, error);
		return;
	}
	info = probe_finish(path, proc, out, err, &error);
	if (info == NULL)
		g_task_return_error(task, error);
	else
		g_task_return_pointer(task, info, (GDestroyNotify)av1d_media_info_free);
}

void
av1d_probe_file_async(const gchar *ffprobe_bin,
		      const gchar *path,
		      GCancellable *cancellable,
		      GAsyncReadyCallback callback,
		      gpointer user_data)
{
	g_autoptr(GTask) task = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	GError *error = NULL;

	g_return_if_fail(path != NULL);

	task = g_task_new(NULL, cancellable, callback, user_data);
	g_task_set_source_tag(task, av1d_probe_file_async);
	/* report cancellation in our own error domain, like the sync variant */
	g_task_set_check_cancellable(task, FALSE);
	g_task_set_task_data(task, g_strdup(path), g_free);
	proc = probe_spawn(ffprobe_bin, path, &error);
	if (proc == NULL) {
		g_task_return_error(task, error);
		return;
	}
	g_subprocess_communicate_async(proc, NULL, cancellable, on_probe_communicated,
				       g_steal_pointer(&task));
}

Av1dMediaInfo *
av1d_probe_file_finish(GAsyncResult *result, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
	g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == av1d_probe_file_async, NULL);

	return g_task_propagate_pointer(G_TASK(result), error);
}
