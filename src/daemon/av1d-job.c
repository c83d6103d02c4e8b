#define G_LOG_DOMAIN "av1d-job"

#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gi18n-lib.h>

#include "av1d-error.h"
#include "av1d-job.h"

static const gchar *const status_names[] = {
    "pending", "running", "success", "failed", "skipped", "cancelled", NULL};
static const gchar *const stage_names[] = {
    "queued", "probing", "encoding", "verifying", "swapping", "done", NULL};

G_STATIC_ASSERT(G_N_ELEMENTS(status_names) == AV1D_JOB_STATUS_LAST + 1);
G_STATIC_ASSERT(G_N_ELEMENTS(stage_names) == AV1D_JOB_STAGE_LAST + 1);

/* how a struct member is spelled in JSON; one table drives both directions so
 * that the writer and the reader cannot drift apart */
typedef enum {
	FIELD_ID,       /* guint64, at least 1 */
	FIELD_PATH,     /* gchar * in filename encoding, file:// URI when not UTF-8 */
	FIELD_STRING,   /* gchar *, UTF-8 */
	FIELD_TIME,     /* gint64 µs, RFC 3339 string or null */
	FIELD_COUNT,    /* guint64 that is never negative (bytes, bit rates) */
	FIELD_UINT,     /* guint */
	FIELD_INT,      /* gint */
	FIELD_DOUBLE,   /* gdouble, see add_double_value() */
	FIELD_BOOLEAN,  /* gboolean */
	FIELD_STATUS,   /* Av1dJobStatus */
	FIELD_STAGE,    /* Av1dJobStage */
	FIELD_ARGV,     /* GStrv of paths */
	FIELD_IDENTITY, /* Av1dFileIdentity */
} FieldType;

typedef struct {
	const gchar *key;
	FieldType type;
	gsize offset;
	gboolean required;
} Field;

#define FIELD(name, type, required) {#name, type, G_STRUCT_OFFSET(Av1dJob, name), required}

static const Field job_fields[] = {
    FIELD(id, FIELD_ID, TRUE),
    FIELD(source_path, FIELD_PATH, TRUE),
    FIELD(output_path, FIELD_PATH, FALSE),
    FIELD(created_at, FIELD_TIME, FALSE),
    FIELD(started_at, FIELD_TIME, FALSE),
    FIELD(finished_at, FIELD_TIME, FALSE),
    FIELD(status, FIELD_STATUS, TRUE),
    FIELD(stage, FIELD_STAGE, TRUE),
    FIELD(reason, FIELD_STRING, FALSE),
    FIELD(original_bytes, FIELD_COUNT, FALSE),
    FIELD(new_bytes, FIELD_COUNT, FALSE),
    FIELD(is_web_like, FIELD_BOOLEAN, FALSE),
    FIELD(web_score, FIELD_DOUBLE, FALSE),
    FIELD(video_codec, FIELD_STRING, FALSE),
    FIELD(video_bitrate, FIELD_COUNT, FALSE),
    FIELD(video_width, FIELD_UINT, FALSE),
    FIELD(video_height, FIELD_UINT, FALSE),
    FIELD(video_frame_rate, FIELD_DOUBLE, FALSE),
    FIELD(av1_quality, FIELD_INT, FALSE),
    FIELD(source_bit_depth, FIELD_UINT, FALSE),
    FIELD(source_pix_fmt, FIELD_STRING, FALSE),
    FIELD(target_bit_depth, FIELD_UINT, FALSE),
    FIELD(av1_profile, FIELD_STRING, FALSE),
    FIELD(is_hdr, FIELD_BOOLEAN, FALSE),
    FIELD(encoder, FIELD_STRING, FALSE),
    FIELD(argv, FIELD_ARGV, FALSE),
    FIELD(progress, FIELD_DOUBLE, FALSE),
    FIELD(fps, FIELD_DOUBLE, FALSE),
    FIELD(identity, FIELD_IDENTITY, FALSE),
    FIELD(output_identity, FIELD_IDENTITY, FALSE),
};

#undef FIELD

#define MEMBER(job, field, type) ((type *)(gpointer)((guint8 *)(job) + (field)->offset))

Av1dJob *
av1d_job_new(guint64 id, const gchar *source_path)
{
	Av1dJob *self = g_new0(Av1dJob, 1);

	g_atomic_ref_count_init(&self->ref_count);
	self->id = id;
	self->source_path = g_strdup(source_path);
	self->created_at = g_get_real_time();
	self->status = AV1D_JOB_STATUS_PENDING;
	self->stage = AV1D_JOB_STAGE_QUEUED;
	self->eta_seconds = -1;
	return self;
}

Av1dJob *
av1d_job_ref(Av1dJob *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	g_atomic_ref_count_inc(&self->ref_count);
	return self;
}

void
av1d_job_unref(Av1dJob *self)
{
	g_return_if_fail(self != NULL);
	if (!g_atomic_ref_count_dec(&self->ref_count))
		return;
	g_free(self->source_path);
	g_free(self->output_path);
	g_free(self->reason);
	g_free(self->video_codec);
	g_free(self->source_pix_fmt);
	g_free(self->av1_profile);
	g_free(self->encoder);
	g_free(self->argv); /* packed */
	g_free(self);
}

GStrv
av1d_strv_pack(const gchar *const *argv)
{
	gsize n = 0;
	gsize bytes = 0;
	gchar **packed;
	gchar *next;

	if (argv == NULL)
		return NULL;
	for (; argv[n] != NULL; n++)
		bytes += strlen(argv[n]) + 1;
	packed = g_malloc((n + 1) * sizeof(gchar *) + bytes);
	next = (gchar *)(packed + n + 1);
	for (gsize i = 0; i < n; i++) {
		gsize size = strlen(argv[i]) + 1;

		packed[i] = memcpy(next, argv[i], size);
		next += size;
	}
	packed[n] = NULL;
	return packed;
}

void
av1d_job_set_argv(Av1dJob *self, const gchar *const *argv)
{
	GStrv old;

	g_return_if_fail(self != NULL);
	old = self->argv;
	self->argv = av1d_strv_pack(argv);
	g_free(old);
}

const gchar *
av1d_job_status_to_string(Av1dJobStatus status)
{
	g_return_val_if_fail(status < AV1D_JOB_STATUS_LAST, NULL);
	return status_names[status];
}

gboolean
av1d_job_status_from_string(const gchar *str, Av1dJobStatus *status)
{
	for (guint i = 0; status_names[i] != NULL; i++) {
		if (g_strcmp0(str, status_names[i]) == 0) {
			*status = (Av1dJobStatus)i;
			return TRUE;
		}
	}
	return FALSE;
}

const gchar *
av1d_job_stage_to_string(Av1dJobStage stage)
{
	g_return_val_if_fail(stage < AV1D_JOB_STAGE_LAST, NULL);
	return stage_names[stage];
}

gboolean
av1d_job_stage_from_string(const gchar *str, Av1dJobStage *stage)
{
	for (guint i = 0; stage_names[i] != NULL; i++) {
		if (g_strcmp0(str, stage_names[i]) == 0) {
			*stage = (Av1dJobStage)i;
			return TRUE;
		}
	}
	return FALSE;
}

/* --- writing --- */

/* JSON must be UTF-8: a path that is not becomes a file:// URI, which is
 * lossless; something that cannot be a URI (not absolute) is only ever
 * informational (an argv element), so a repaired string is good enough */
static void
add_path_value(JsonBuilder *builder, const gchar *path)
{
	g_autofree gchar *uri = NULL;
	g_autofree gchar *repaired = NULL;

	if (path == NULL) {
		json_builder_add_null_value(builder);
		return;
	}
	if (g_utf8_validate(path, -1, NULL) && !g_str_has_prefix(path, "file://")) {
		json_builder_add_string_value(builder, path);
		return;
	}
	uri = g_filename_to_uri(path, NULL, NULL);
	if (uri != NULL) {
		json_builder_add_string_value(builder, uri);
		return;
	}
	repaired = g_utf8_make_valid(path, -1);
	json_builder_add_string_value(builder, repaired);
}

/* reasons can quote tool output, which is not always UTF-8; an invalid
 * string would make the whole file unreadable */
static void
add_string_value(JsonBuilder *builder, const gchar *str)
{
	g_autofree gchar *repaired = NULL;

	if (str == NULL) {
		json_builder_add_null_value(builder);
	} else if (g_utf8_validate(str, -1, NULL)) {
		json_builder_add_string_value(builder, str);
	} else {
		repaired = g_utf8_make_valid(str, -1);
		json_builder_add_string_value(builder, repaired);
	}
}

static gchar *
time_to_string(gint64 usec)
{
	g_autoptr(GDateTime) whole = NULL;
	g_autoptr(GDateTime) exact = NULL;

	if (usec <= 0)
		return NULL;
	whole = g_date_time_new_from_unix_utc(usec / G_USEC_PER_SEC);
	if (whole == NULL)
		return NULL;
	exact = g_date_time_add(whole, usec % G_USEC_PER_SEC);
	if (exact == NULL)
		return NULL;
	return g_date_time_format(exact, "%Y-%m-%dT%H:%M:%S.%fZ");
}

static void
add_time_value(JsonBuilder *builder, gint64 usec)
{
	g_autofree gchar *str = time_to_string(usec);

	if (str == NULL)
		json_builder_add_null_value(builder);
	else
		json_builder_add_string_value(builder, str);
}

/* json-glib 1.6 writes NaN and infinities as "nan" and "inf", and prints
 * doubles with "%.17g" plus ".0" when there is no dot, which turns 1e-14
 * into the invalid "1e-14.0". "%.17g" only uses an exponent below 1e-4 and
 * from 1e17 up; the doubles here are measurements (a score, a frame rate,
 * progress, fps) for which such magnitudes mean nothing, so they are
 * stored as 0 and ±1e16, and non-finite values as null. */
static void
add_double_value(JsonBuilder *builder, gdouble value)
{
	if (!isfinite(value))
		json_builder_add_null_value(builder);
	else if (ABS(value) < 1e-4)
		json_builder_add_double_value(builder, 0.0);
	else
		json_builder_add_double_value(builder, CLAMP(value, -1e16, 1e16));
}

/* JSON integers are signed 64 bit; a byte count beyond that cannot exist */
static void
add_count_value(JsonBuilder *builder, guint64 value)
{
	json_builder_add_int_value(builder, (gint64)MIN(value, (guint64)G_MAXINT64));
}

static void
add_argv_value(JsonBuilder *builder, GStrv argv)
{
	if (argv == NULL) {
		json_builder_add_null_value(builder);
		return;
	}
	json_builder_begin_array(builder);
	for (guint i = 0; argv[i] != NULL; i++)
		add_path_value(builder, argv[i]);
	json_builder_end_array(builder);
}

/* device and inode numbers may use all 64 bits (overlayfs, NFS), so they are
 * stored as the signed integer with the same bits */
static void
add_identity_value(JsonBuilder *builder, const Av1dFileIdentity *identity)
{
	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "dev");
	json_builder_add_int_value(builder, (gint64)identity->dev);
	json_builder_set_member_name(builder, "ino");
	json_builder_add_int_value(builder, (gint64)identity->ino);
	json_builder_set_member_name(builder, "size");
	add_count_value(builder, identity->size);
	json_builder_set_member_name(builder, "mtime_ns");
	json_builder_add_int_value(builder, identity->mtime_ns);
	json_builder_end_object(builder);
}

static void
add_field_value(JsonBuilder *builder, const Av1dJob *self, const Field *field)
{
	switch (field->type) {
	case FIELD_ID:
	case FIELD_COUNT:
		add_count_value(builder, *MEMBER(self, field, guint64));
		break;
	case FIELD_PATH:
		add_path_value(builder, *MEMBER(self, field, gchar *));
		break;
	case FIELD_STRING:
		add_string_value(builder, *MEMBER(self, field, gchar *));
		break;
	case FIELD_TIME:
		add_time_value(builder, *MEMBER(self, field, gint64));
		break;
	case FIELD_UINT:
		json_builder_add_int_value(builder, *MEMBER(self, field, guint));
		break;
	case FIELD_INT:
		json_builder_add_int_value(builder, *MEMBER(self, field, gint));
		break;
	case FIELD_DOUBLE:
		add_double_value(builder, *MEMBER(self, field, gdouble));
		break;
	case FIELD_BOOLEAN:
		json_builder_add_boolean_value(builder, *MEMBER(self, field, gboolean));
		break;
	case FIELD_STATUS:
		json_builder_add_string_value(builder, av1d_job_status_to_string(self->status));
		break;
	case FIELD_STAGE:
		json_builder_add_string_value(builder, av1d_job_stage_to_string(self->stage));
		break;
	case FIELD_ARGV:
		add_argv_value(builder, self->argv);
		break;
	case FIELD_IDENTITY:
		add_identity_value(builder, MEMBER(self, field, Av1dFileIdentity));
		break;
	}
}

JsonNode *
av1d_job_to_json(const Av1dJob *self)
{
	g_autoptr(JsonBuilder) builder = NULL;

	g_return_val_if_fail(self != NULL, NULL);
	builder = json_builder_new();
	json_builder_begin_object(builder);
	for (guint i = 0; i < G_N_ELEMENTS(job_fields); i++) {
		json_builder_set_member_name(builder, job_fields[i].key);
		add_field_value(builder, self, &job_fields[i]);
	}
	json_builder_end_object(builder);
	return json_builder_get_root(builder);
}

gchar *
av1d_job_to_data(const Av1dJob *self, gsize *length)
{
	g_autoptr(JsonNode) root = NULL;
	g_autoptr(JsonGenerator) generator = NULL;
	g_autoptr(GString) data = NULL;

	g_return_val_if_fail(self != NULL, NULL);
	root = av1d_job_to_json(self);
	generator = json_generator_new();
	/* one key per line keeps the files readable and diffable for a human */
	json_generator_set_pretty(generator, TRUE);
	json_generator_set_root(generator, root);
	data = g_string_new(NULL);
	json_generator_to_gstring(generator, data);
	g_string_append_c(data, '\n');
	if (length != NULL)
		*length = data->len;
	return g_string_free(g_steal_pointer(&data), FALSE);
}

/* --- reading --- */

typedef struct {
	const gchar *name;
	gint64 min;
	gsize offset;
} IdentityMember;

/* device and inode numbers may have the top bit set (see the writer) */
static const IdentityMember identity_members[] = {
    {"dev", G_MININT64, G_STRUCT_OFFSET(Av1dFileIdentity, dev)},
    {"ino", G_MININT64, G_STRUCT_OFFSET(Av1dFileIdentity, ino)},
    {"size", 0, G_STRUCT_OFFSET(Av1dFileIdentity, size)},
    {"mtime_ns", G_MININT64, G_STRUCT_OFFSET(Av1dFileIdentity, mtime_ns)},
};

static gboolean
set_type_error(const gchar *key, const gchar *expected, GError **error)
{
	g_set_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS, "key '%s': expected %s", key,
		    expected);
	return FALSE;
}

static gboolean
node_holds(JsonNode *node, GType type)
{
	return JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == type;
}

/* a string that looks like a file:// URI but is not a valid one was written
 * as it is (add_path_value never makes such URIs), so it is kept as it is */
static gchar *
path_from_string(const gchar *str)
{
	gchar *path;

	if (!g_str_has_prefix(str, "file://"))
		return g_strdup(str);
	path = g_filename_from_uri(str, NULL, NULL);
	return path != NULL ? path : g_strdup(str);
}

/* the read_* functions fill a blank job, whose pointers are all NULL */
static gboolean
read_path(const gchar *key, JsonNode *node, gboolean required, gchar **out, GError **error)
{
	if (!required && JSON_NODE_HOLDS_NULL(node))
		return TRUE;
	if (!node_holds(node, G_TYPE_STRING) || *json_node_get_string(node) == '\0')
		return set_type_error(key, required ? "a non-empty path" : "a path or null",
				      error);
	*out = path_from_string(json_node_get_string(node));
	return TRUE;
}

static gboolean
read_string(const gchar *key, JsonNode *node, gchar **out, GError **error)
{
	if (JSON_NODE_HOLDS_NULL(node))
		return TRUE;
	if (!node_holds(node, G_TYPE_STRING))
		return set_type_error(key, "a string or null", error);
	*out = g_strdup(json_node_get_string(node));
	return TRUE;
}

static gboolean
read_time(const gchar *key, JsonNode *node, gint64 *out, GError **error)
{
	g_autoptr(GDateTime) dt = NULL;

	if (JSON_NODE_HOLDS_NULL(node)) {
		*out = 0;
		return TRUE;
	}
	if (node_holds(node, G_TYPE_STRING))
		dt = g_date_time_new_from_iso8601(json_node_get_string(node), NULL);
	/* before 1970 cannot be a job's time and would not survive the writer */
	if (dt == NULL || g_date_time_to_unix(dt) < 0)
		return set_type_error(key, "an RFC 3339 date-time after 1970 or null", error);
	*out = g_date_time_to_unix(dt) * G_USEC_PER_SEC + g_date_time_get_microsecond(dt);
	return TRUE;
}

static gboolean
read_int(const gchar *key, JsonNode *node, gint64 min, gint64 max, gint64 *out, GError **error)
{
	g_autofree gchar *expected = NULL;

	if (node_holds(node, G_TYPE_INT64) && json_node_get_int(node) >= min &&
	    json_node_get_int(node) <= max) {
		*out = json_node_get_int(node);
		return TRUE;
	}
	expected = g_strdup_printf("an integer between %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT,
				   min, max);
	return set_type_error(key, expected, error);
}

static gboolean
read_double(const gchar *key, JsonNode *node, gdouble *out, GError **error)
{
	if (JSON_NODE_HOLDS_NULL(node)) {
		*out = 0.0;
		return TRUE;
	}
	/* a hand-written 2 is as good as 2.0; 1e999 reads as infinity, which
	 * the writer could not put back */
	if ((!node_holds(node, G_TYPE_INT64) && !node_holds(node, G_TYPE_DOUBLE)) ||
	    !isfinite(json_node_get_double(node)))
		return set_type_error(key, "a finite number or null", error);
	*out = json_node_get_double(node);
	return TRUE;
}

static gboolean
read_boolean(const gchar *key, JsonNode *node, gboolean *out, GError **error)
{
	if (!node_holds(node, G_TYPE_BOOLEAN))
		return set_type_error(key, "true or false", error);
	*out = json_node_get_boolean(node);
	return TRUE;
}

static gboolean
read_enum(const gchar *key, JsonNode *node, const gchar *const *names, gint *out,
	  GError **error)
{
	g_autofree gchar *expected = NULL;

	for (guint i = 0; node_holds(node, G_TYPE_STRING) && names[i] != NULL; i++) {
		if (g_str_equal(json_node_get_string(node), names[i])) {
			*out = (gint)i;
			return TRUE;
		}
	}
	expected = g_strjoinv(", ", (gchar **)names);
	g_set_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS, "key '%s': expected one of %s",
		    key, expected);
	return FALSE;
}

static gboolean
read_argv(const gchar *key, JsonNode *node, GStrv *out, GError **error)
{
	g_autoptr(GPtrArray) result = NULL;
	JsonArray *array;
	guint length;

	if (JSON_NODE_HOLDS_NULL(node))
		return TRUE;
	if (!JSON_NODE_HOLDS_ARRAY(node))
		return set_type_error(key, "an array of strings or null", error);
	array = json_node_get_array(node);
	length = json_array_get_length(array);
	result = g_ptr_array_new_full(length + 1, g_free);
	for (guint i = 0; i < length; i++) {
		JsonNode *element = json_array_get_element(array, i);

		if (!node_holds(element, G_TYPE_STRING))
			return set_type_error(key, "an array of strings or null", error);
		g_ptr_array_add(result, path_from_string(json_node_get_string(element)));
	}
	g_ptr_array_add(result, NULL);
	*out = av1d_strv_pack((const gchar *const *)result->pdata);
	return TRUE;
}

static gboolean
read_identity(const gchar *key, JsonNode *node, Av1dFileIdentity *out, GError **error)
{
	JsonObject *object;

	if (JSON_NODE_HOLDS_NULL(node))
		return TRUE;
	if (!JSON_NODE_HOLDS_OBJECT(node))
		return set_type_error(key, "an object with dev, ino, size and mtime_ns", error);
	object = json_node_get_object(node);
	for (guint i = 0; i < G_N_ELEMENTS(identity_members); i++) {
		const IdentityMember *member = &identity_members[i];
		JsonNode *value = json_object_get_member(object, member->name);
		g_autofree gchar *member_key = g_strdup_printf("%s.%s", key, member->name);

		/* the same bits for the unsigned members */
		if (value != NULL &&
		    !read_int(member_key, value, member->min, G_MAXINT64,
			      (gint64 *)(gpointer)((guint8 *)out + member->offset), error))
			return FALSE;
	}
	return TRUE;
}

static gboolean
read_number_field(Av1dJob *job, const Field *field, JsonNode *node, GError **error)
{
	gint64 number = 0;

	switch (field->type) {
	case FIELD_ID:
		if (!read_int(field->key, node, 1, G_MAXINT64, &number, error))
			return FALSE;
		*MEMBER(job, field, guint64) = (guint64)number;
		return TRUE;
	case FIELD_COUNT:
		if (!read_int(field->key, node, 0, G_MAXINT64, &number, error))
			return FALSE;
		*MEMBER(job, field, guint64) = (guint64)number;
		return TRUE;
	case FIELD_UINT:
		if (!read_int(field->key, node, 0, G_MAXUINT, &number, error))
			return FALSE;
		*MEMBER(job, field, guint) = (guint)number;
		return TRUE;
	case FIELD_INT:
		if (!read_int(field->key, node, G_MININT, G_MAXINT, &number, error))
			return FALSE;
		*MEMBER(job, field, gint) = (gint)number;
		return TRUE;
	default:
		return read_double(field->key, node, MEMBER(job, field, gdouble), error);
	}
}

static gboolean
read_field(Av1dJob *job, const Field *field, JsonNode *node, GError **error)
{
	switch (field->type) {
	case FIELD_PATH:
		return read_path(field->key, node, field->required, MEMBER(job, field, gchar *),
				 error);
	case FIELD_STRING:
		return read_string(field->key, node, MEMBER(job, field, gchar *), error);
	case FIELD_TIME:
		return read_time(field->key, node, MEMBER(job, field, gint64), error);
	case FIELD_BOOLEAN:
		return read_boolean(field->key, node, MEMBER(job, field, gboolean), error);
	case FIELD_STATUS:
		return read_enum(field->key, node, status_names, (gint *)&job->status, error);
	case FIELD_STAGE:
		return read_enum(field->key, node, stage_names, (gint *)&job->stage, error);
	case FIELD_ARGV:
		return read_argv(field->key, node, &job->argv, error);
	case FIELD_IDENTITY:
		return read_identity(field->key, node, MEMBER(job, field, Av1dFileIdentity), error);
	default:
		return read_number_field(job, field, node, error);
	}
}

Av1dJob *
av1d_job_from_json(JsonNode *node, GError **error)
{
	g_autoptr(Av1dJob) job = NULL;
	JsonObject *object;

	g_return_val_if_fail(node != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	if (!JSON_NODE_HOLDS_OBJECT(node)) {
		g_set_error_literal(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS,
				    "expected a JSON object");
		return NULL;
	}
	object = json_node_get_object(node);
	/* absent optional keys keep the defaults; an old file lacks newer keys */
	job = av1d_job_new(0, NULL);
	job->created_at = 0;
	for (guint i = 0; i < G_N_ELEMENTS(job_fields); i++) {
		const Field *field = &job_fields[i];
		JsonNode *member = json_object_get_member(object, field->key);

		if (member == NULL && field->required) {
			g_set_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS,
				    "key '%s': missing", field->key);
			return NULL;
		}
		if (member != NULL && !read_field(job, field, member, error))
			return NULL;
	}
	return g_steal_pointer(&job);
}

Av1dJob *
av1d_job_from_data_with_parser(JsonParser *parser, const gchar *data, gssize length,
			       GError **error)
{
	JsonNode *root;

	g_return_val_if_fail(JSON_IS_PARSER(parser), NULL);
	g_return_val_if_fail(data != NULL || length == 0, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	/* json-glib wants a non-NULL pointer even for no data */
	if (!json_parser_load_from_data(parser, data != NULL ? data : "", length, error)) {
		av1d_error_convert(error);
		return NULL;
	}
	root = json_parser_get_root(parser);
	if (root == NULL) {
		g_set_error_literal(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS, "empty document");
		return NULL;
	}
	return av1d_job_from_json(root, error);
}

Av1dJob *
av1d_job_from_data(const gchar *data, gssize length, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();

	return av1d_job_from_data_with_parser(parser, data, length, error);
}

/* --- state --- */

static gboolean
status_transition_allowed(Av1dJobStatus from, Av1dJobStatus to)
{
	switch (from) {
	case AV1D_JOB_STATUS_PENDING:
		return to == AV1D_JOB_STATUS_RUNNING || to == AV1D_JOB_STATUS_SKIPPED ||
		       to == AV1D_JOB_STATUS_CANCELLED || to == AV1D_JOB_STATUS_FAILED;
	case AV1D_JOB_STATUS_RUNNING:
		/* back to pending: re-queued because the daemon stopped mid-job */
		return to != AV1D_JOB_STATUS_RUNNING;
	case AV1D_JOB_STATUS_SUCCESS:
	case AV1D_JOB_STATUS_FAILED:
	case AV1D_JOB_STATUS_SKIPPED:
	case AV1D_JOB_STATUS_CANCELLED:
		return to == AV1D_JOB_STATUS_PENDING;
	default:
		return FALSE;
	}
}

gboolean
av1d_job_set_status(Av1dJob *self, Av1dJobStatus status, GError **error)
{
	g_return_val_if_fail(self != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (status >= AV1D_JOB_STATUS_LAST) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS,
			    "job %" G_GUINT64_FORMAT ": no such status %d", self->id, (gint)status);
		return FALSE;
	}
	if (self->status == status)
		return TRUE;
	if (!status_transition_allowed(self->status, status)) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE,
			    /* Translators: the job number, then two status names
			     * that are not translated (e.g. running, pending) */
			    _("job %" PRIu64 ": cannot go from %s to %s"), self->id,
			    av1d_job_status_to_string(self->status),
			    av1d_job_status_to_string(status));
		return FALSE;
	}
	self->status = status;
	if (status == AV1D_JOB_STATUS_RUNNING) {
		self->started_at = g_get_real_time();
	} else if (status == AV1D_JOB_STATUS_PENDING) {
		/* the times described an attempt that no longer counts */
		self->started_at = 0;
		self->finished_at = 0;
	} else {
		self->finished_at = g_get_real_time();
	}
	return TRUE;
}

void
av1d_job_set_stage(Av1dJob *self, Av1dJobStage stage)
{
	g_return_if_fail(self != NULL);
	g_return_if_fail(stage < AV1D_JOB_STAGE_LAST);

	self->stage = stage;
}

void
av1d_job_set_reason(Av1dJob *self, const gchar *reason)
{
	g_return_if_fail(self != NULL);
	if (self->reason == reason)
		return;
	g_free(self->reason);
	self->reason = g_strdup(reason);
}

gboolean
av1d_job_is_finished(const Av1dJob *self)
{
	g_return_val_if_fail(self != NULL, FALSE);
	return self->status == AV1D_JOB_STATUS_SUCCESS || self->status == AV1D_JOB_STATUS_FAILED ||
	       self->status == AV1D_JOB_STATUS_SKIPPED ||
	       self->status == AV1D_JOB_STATUS_CANCELLED;
}

/* --- identity --- */

gboolean
av1d_file_identity_from_path(const gchar *path, Av1dFileIdentity *identity, GError **error)
{
	struct stat st;
	g_autofree gchar *display = NULL;
	int saved_errno;

	g_return_val_if_fail(path != NULL, FALSE);
	g_return_val_if_fail(identity != NULL, FALSE);

	display = g_filename_display_name(path);
	/* lstat: a symlink is not the file it points at, and the daemon never
	 * follows links to files it would replace */
	if (lstat(path, &st) != 0) {
		saved_errno = errno;
		g_set_error(error, AV1D_ERROR,
			    saved_errno == ENOENT ? AV1D_ERROR_NOT_FOUND : AV1D_ERROR_FAILED,
			    /* Translators: a path, then why (from the system, e.g.
			     * "Permission denied") */
			    _("cannot stat '%s': %s"), display, g_strerror(saved_errno));
		return FALSE;
	}
	if (!S_ISREG(st.st_mode)) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS,
			    _("'%s' is not a regular file"), display);
		return FALSE;
	}
	identity->dev = (guint64)st.st_dev;
	identity->ino = (guint64)st.st_ino;
	identity->size = (guint64)st.st_size;
	identity->mtime_ns = (gint64)st.st_mtim.tv_sec * G_GINT64_CONSTANT(1000000000) +
			     st.st_mtim.tv_nsec;
	return TRUE;
}

gboolean
av1d_file_identity_equal(const Av1dFileIdentity *a, const Av1dFileIdentity *b)
{
	g_return_val_if_fail(a != NULL && b != NULL, FALSE);
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns;
}
