#define G_LOG_DOMAIN "av1d-job"

#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

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
	FIELD_DOUBLE,   /* gdouble, null when not finite */
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
	g_strfreev(self->argv);
	g_free(self);
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

/* nextafter(value, 0) without pulling in libm: for a finite non-zero
 * double, the bits below the sign are the magnitude */
static gdouble
step_towards_zero(gdouble value)
{
	union {
		gdouble d;
		guint64 bits;
	} u = {value};

	u.bits--;
	return u.d;
}

/* json-glib would print "nan" or "inf", which no JSON parser accepts. It
 * also appends ".0" to any number printed without a dot, which turns 1e-14
 * into the invalid "1e-14.0"; the next double towards zero prints with a
 * dot and is off by one unit in the last place, far below any meaning. */
static void
add_double_value(JsonBuilder *builder, gdouble value)
{
	gchar buffer[G_ASCII_DTOSTR_BUF_SIZE];

	if (!isfinite(value)) {
		json_builder_add_null_value(builder);
		return;
	}
	while (strchr(g_ascii_dtostr(buffer, sizeof(buffer), value), 'e') != NULL &&
	       strchr(buffer, '.') == NULL)
		value = step_towards_zero(value);
	json_builder_add_double_value(builder, value);
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
		add_identity_value(builder, &self->identity);
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

/* --- reading: checks shared by both readers --- */

/* one JSON scalar, taken from a JsonNode or from the fast reader, so that
 * both readers share every check */
typedef enum {
	VALUE_NULL,
	VALUE_BOOLEAN,
	VALUE_INT,
	VALUE_DOUBLE,
	VALUE_STRING,
	VALUE_OTHER, /* an array or an object */
} ValueKind;

typedef struct {
	ValueKind kind;
	gboolean boolean;
	gint64 integer;
	gdouble number;
	const gchar *string;
} Value;

typedef struct {
	const gchar *name;
	const gchar *key;
	gint64 min;
	gsize offset;
} IdentityMember;

/* device and inode numbers may have the top bit set (see the writer) */
static const IdentityMember identity_members[] = {
    {"dev", "identity.dev", G_MININT64, G_STRUCT_OFFSET(Av1dFileIdentity, dev)},
    {"ino", "identity.ino", G_MININT64, G_STRUCT_OFFSET(Av1dFileIdentity, ino)},
    {"size", "identity.size", 0, G_STRUCT_OFFSET(Av1dFileIdentity, size)},
    {"mtime_ns", "identity.mtime_ns", G_MININT64, G_STRUCT_OFFSET(Av1dFileIdentity, mtime_ns)},
};

static gboolean
set_type_error(const gchar *key, const gchar *expected, GError **error)
{
	g_set_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS, "key '%s': expected %s", key,
		    expected);
	return FALSE;
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

static gboolean
read_path(const gchar *key, const Value *value, gboolean required, gchar **out, GError **error)
{
	if (!required && value->kind == VALUE_NULL) {
		g_clear_pointer(out, g_free);
		return TRUE;
	}
	if (value->kind != VALUE_STRING || *value->string == '\0')
		return set_type_error(key, required ? "a non-empty path" : "a path or null",
				      error);
	g_free(*out);
	*out = path_from_string(value->string);
	return TRUE;
}

static gboolean
read_string(const gchar *key, const Value *value, gchar **out, GError **error)
{
	if (value->kind == VALUE_NULL) {
		g_clear_pointer(out, g_free);
		return TRUE;
	}
	if (value->kind != VALUE_STRING)
		return set_type_error(key, "a string or null", error);
	g_free(*out);
	*out = g_strdup(value->string);
	return TRUE;
}

/* days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil) */
static gint64
days_from_civil(gint64 year, guint month, guint day)
{
	gint64 era;
	guint year_of_era, day_of_year, day_of_era;

	year -= month <= 2;
	era = (year >= 0 ? year : year - 399) / 400;
	year_of_era = (guint)(year - era * 400);
	day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
	day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
	return era * 146097 + (gint64)day_of_era - 719468;
}

static guint
digits_value(const gchar *s, guint count)
{
	guint value = 0;

	for (guint i = 0; i < count; i++)
		value = value * 10 + (guint)(s[i] - '0');
	return value;
}

/* exactly what the writer makes, without the cost of a GDateTime (three per
 * job, 100 000 jobs); anything else, valid or not, is left to GLib */
static gboolean
parse_canonical_time(const gchar *s, gint64 *usec)
{
	static const gchar shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	guint year, month, day, hour, minute, second;

	for (guint i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == 'd' ? !g_ascii_isdigit(s[i]) : s[i] != shape[i])
			return FALSE;
	}
	if (s[sizeof(shape) - 1] != '\0')
		return FALSE;
	year = digits_value(s, 4);
	month = digits_value(s + 5, 2);
	day = digits_value(s + 8, 2);
	hour = digits_value(s + 11, 2);
	minute = digits_value(s + 14, 2);
	second = digits_value(s + 17, 2);
	if (year < 1970 || month < 1 || month > 12 || day < 1 ||
	    day > g_date_get_days_in_month((GDateMonth)month, (GDateYear)year) || hour > 23 ||
	    minute > 59 || second > 59)
		return FALSE;
	*usec = ((days_from_civil(year, month, day) * 24 + hour) * 60 + minute) * 60 + second;
	*usec = *usec * G_USEC_PER_SEC + digits_value(s + 20, 6);
	return TRUE;
}

static gboolean
read_time(const gchar *key, const Value *value, gint64 *out, GError **error)
{
	g_autoptr(GDateTime) dt = NULL;

	if (value->kind == VALUE_NULL) {
		*out = 0;
		return TRUE;
	}
	if (value->kind == VALUE_STRING && parse_canonical_time(value->string, out))
		return TRUE;
	if (value->kind == VALUE_STRING)
		dt = g_date_time_new_from_iso8601(value->string, NULL);
	/* before 1970 cannot be a job's time and would not survive the writer */
	if (dt == NULL || g_date_time_to_unix(dt) < 0)
		return set_type_error(key, "an RFC 3339 date-time after 1970 or null", error);
	*out = g_date_time_to_unix(dt) * G_USEC_PER_SEC + g_date_time_get_microsecond(dt);
	return TRUE;
}

static gboolean
read_int(const gchar *key, const Value *value, gint64 min, gint64 max, gint64 *out,
	 GError **error)
{
	g_autofree gchar *expected = NULL;

	if (value->kind == VALUE_INT && value->integer >= min && value->integer <= max) {
		*out = value->integer;
		return TRUE;
	}
	if (error == NULL)
		return FALSE;
	expected = g_strdup_printf("an integer between %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT,
				   min, max);
	return set_type_error(key, expected, error);
}

static gboolean
read_double(const gchar *key, const Value *value, gdouble *out, GError **error)
{
	gdouble number;

	/* a hand-written 2 is as good as 2.0; 1e999 reads as infinity, which
	 * the writer could not put back */
	switch (value->kind) {
	case VALUE_NULL:
		*out = 0.0;
		return TRUE;
	case VALUE_INT:
		number = (gdouble)value->integer;
		break;
	case VALUE_DOUBLE:
		number = value->number;
		break;
	default:
		return set_type_error(key, "a finite number or null", error);
	}
	if (!isfinite(number))
		return set_type_error(key, "a finite number or null", error);
	*out = number;
	return TRUE;
}

static gboolean
read_boolean(const gchar *key, const Value *value, gboolean *out, GError **error)
{
	if (value->kind != VALUE_BOOLEAN)
		return set_type_error(key, "true or false", error);
	*out = value->boolean;
	return TRUE;
}

static gboolean
read_enum(const gchar *key, const Value *value, const gchar *const *names, gint *out,
	  GError **error)
{
	g_autofree gchar *expected = NULL;

	for (guint i = 0; value->kind == VALUE_STRING && names[i] != NULL; i++) {
		if (g_str_equal(value->string, names[i])) {
			*out = (gint)i;
			return TRUE;
		}
	}
	if (error == NULL)
		return FALSE;
	expected = g_strjoinv(", ", (gchar **)names);
	g_set_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS, "key '%s': expected one of %s",
		    key, expected);
	return FALSE;
}

static gboolean
read_identity_member(const IdentityMember *member, const Value *value, Av1dFileIdentity *out,
		     GError **error)
{
	gint64 number = 0;

	if (!read_int(member->key, value, member->min, G_MAXINT64, &number, error))
		return FALSE;
	/* the same bits for the unsigned members */
	*(gint64 *)(gpointer)((guint8 *)out + member->offset) = number;
	return TRUE;
}

static gboolean
read_number_field(Av1dJob *job, const Field *field, const Value *value, GError **error)
{
	gint64 number = 0;

	switch (field->type) {
	case FIELD_ID:
		if (!read_int(field->key, value, 1, G_MAXINT64, &number, error))
			return FALSE;
		*MEMBER(job, field, guint64) = (guint64)number;
		return TRUE;
	case FIELD_COUNT:
		if (!read_int(field->key, value, 0, G_MAXINT64, &number, error))
			return FALSE;
		*MEMBER(job, field, guint64) = (guint64)number;
		return TRUE;
	case FIELD_UINT:
		if (!read_int(field->key, value, 0, G_MAXUINT, &number, error))
			return FALSE;
		*MEMBER(job, field, guint) = (guint)number;
		return TRUE;
	case FIELD_INT:
		if (!read_int(field->key, value, G_MININT, G_MAXINT, &number, error))
			return FALSE;
		*MEMBER(job, field, gint) = (gint)number;
		return TRUE;
	default:
		return read_double(field->key, value, MEMBER(job, field, gdouble), error);
	}
}

/* every field but argv and identity, which are not scalars */
static gboolean
read_scalar_field(Av1dJob *job, const Field *field, const Value *value, GError **error)
{
	switch (field->type) {
	case FIELD_PATH:
		return read_path(field->key, value, field->required, MEMBER(job, field, gchar *),
				 error);
	case FIELD_STRING:
		return read_string(field->key, value, MEMBER(job, field, gchar *), error);
	case FIELD_TIME:
		return read_time(field->key, value, MEMBER(job, field, gint64), error);
	case FIELD_BOOLEAN:
		return read_boolean(field->key, value, MEMBER(job, field, gboolean), error);
	case FIELD_STATUS:
		return read_enum(field->key, value, status_names, (gint *)&job->status, error);
	case FIELD_STAGE:
		return read_enum(field->key, value, stage_names, (gint *)&job->stage, error);
	case FIELD_ARGV:
	case FIELD_IDENTITY:
		/* not scalars; the callers read them */
		return set_type_error(field->key, "a different reader", error);
	default:
		return read_number_field(job, field, value, error);
	}
}

/* a job with the defaults that absent optional keys keep */
static Av1dJob *
new_blank_job(void)
{
	Av1dJob *job = av1d_job_new(0, NULL);

	job->created_at = 0;
	return job;
}

/* --- reading from a JsonNode --- */

static void
value_from_node(JsonNode *node, Value *value)
{
	memset(value, 0, sizeof(*value));
	value->kind = VALUE_OTHER;
	if (JSON_NODE_HOLDS_NULL(node)) {
		value->kind = VALUE_NULL;
	} else if (JSON_NODE_HOLDS_VALUE(node)) {
		GType type = json_node_get_value_type(node);

		if (type == G_TYPE_BOOLEAN) {
			value->kind = VALUE_BOOLEAN;
			value->boolean = json_node_get_boolean(node);
		} else if (type == G_TYPE_INT64) {
			value->kind = VALUE_INT;
			value->integer = json_node_get_int(node);
		} else if (type == G_TYPE_DOUBLE) {
			value->kind = VALUE_DOUBLE;
			value->number = json_node_get_double(node);
		} else if (type == G_TYPE_STRING) {
			value->kind = VALUE_STRING;
			value->string = json_node_get_string(node);
		}
	}
}

static gboolean
read_argv_node(const gchar *key, JsonNode *node, GStrv *out, GError **error)
{
	JsonArray *array;
	g_autoptr(GPtrArray) result = NULL;
	guint length;

	if (JSON_NODE_HOLDS_NULL(node)) {
		g_clear_pointer(out, g_strfreev);
		return TRUE;
	}
	if (!JSON_NODE_HOLDS_ARRAY(node))
		return set_type_error(key, "an array of strings or null", error);
	array = json_node_get_array(node);
	length = json_array_get_length(array);
	result = g_ptr_array_new_full(length + 1, g_free);
	for (guint i = 0; i < length; i++) {
		Value value;

		value_from_node(json_array_get_element(array, i), &value);
		if (value.kind != VALUE_STRING)
			return set_type_error(key, "an array of strings or null", error);
		g_ptr_array_add(result, path_from_string(value.string));
	}
	g_ptr_array_add(result, NULL);
	g_strfreev(*out);
	*out = (GStrv)g_ptr_array_free(g_steal_pointer(&result), FALSE);
	return TRUE;
}

static gboolean
read_identity_node(const gchar *key, JsonNode *node, Av1dFileIdentity *out, GError **error)
{
	JsonObject *object;

	memset(out, 0, sizeof(*out));
	if (JSON_NODE_HOLDS_NULL(node))
		return TRUE;
	if (!JSON_NODE_HOLDS_OBJECT(node))
		return set_type_error(key, "an object with dev, ino, size and mtime_ns", error);
	object = json_node_get_object(node);
	for (guint i = 0; i < G_N_ELEMENTS(identity_members); i++) {
		JsonNode *member = json_object_get_member(object, identity_members[i].name);
		Value value;

		if (member == NULL)
			continue;
		value_from_node(member, &value);
		if (!read_identity_member(&identity_members[i], &value, out, error))
			return FALSE;
	}
	return TRUE;
}

static gboolean
read_node_field(Av1dJob *job, const Field *field, JsonNode *node, GError **error)
{
	Value value;

	if (field->type == FIELD_ARGV)
		return read_argv_node(field->key, node, &job->argv, error);
	if (field->type == FIELD_IDENTITY)
		return read_identity_node(field->key, node, &job->identity, error);
	value_from_node(node, &value);
	return read_scalar_field(job, field, &value, error);
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
	job = new_blank_job();
	for (guint i = 0; i < G_N_ELEMENTS(job_fields); i++) {
		const Field *field = &job_fields[i];
		JsonNode *member = json_object_get_member(object, field->key);

		if (member == NULL && field->required) {
			g_set_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS,
				    "key '%s': missing", field->key);
			return NULL;
		}
		if (member != NULL && !read_node_field(job, field, member, error))
			return NULL;
	}
	return g_steal_pointer(&job);
}

/* --- reading fast ---
 *
 * building a json-glib tree per file took 20-30 us, more than everything
 * else in loading a 100 000 job store, so plain RFC 8259 JSON is read
 * straight into the struct (about 3 us). this reader only ever gives up: on
 * anything it does not take (a raw control character, a \u escape of a
 * surrogate or NUL, a duplicate key, deep nesting, a value the checks
 * refuse) it returns NULL, and json-glib decides and words the error. it is
 * stricter than json-glib, never more lenient; the tests hold the two
 * readers to the same result on every input the fast one takes.
 */

#define FAST_MAX_DEPTH 32

typedef struct {
	const gchar *p;
	const gchar *end;
	GString *scratch; /* the last string read, unescaped */
} Reader;

/* the next significant character, or 0 at the end */
static gchar
fast_peek(Reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
		r->p++;
	return r->p < r->end ? *r->p : '\0';
}

static gboolean
fast_take(Reader *r, gchar c)
{
	if (fast_peek(r) != c || c == '\0')
		return FALSE;
	r->p++;
	return TRUE;
}

static gboolean
fast_unicode_escape(Reader *r)
{
	gunichar c = 0;

	if (r->end - r->p < 4)
		return FALSE;
	for (guint i = 0; i < 4; i++, r->p++) {
		gint digit = g_ascii_xdigit_value(*r->p);

		if (digit < 0)
			return FALSE;
		c = c * 16 + (gunichar)digit;
	}
	/* surrogate pairs and NUL are rare enough to leave to json-glib */
	if (c == 0 || (c >= 0xD800 && c <= 0xDFFF))
		return FALSE;
	g_string_append_unichar(r->scratch, c);
	return TRUE;
}

/* at the character after a backslash */
static gboolean
fast_escape(Reader *r)
{
	static const gchar from[] = "\"\\/bfnrt";
	static const gchar to[] = "\"\\/\b\f\n\r\t";
	const gchar *hit;

	if (r->p >= r->end)
		return FALSE;
	if (*r->p == 'u') {
		r->p++;
		return fast_unicode_escape(r);
	}
	hit = *r->p != '\0' ? strchr(from, *r->p) : NULL;
	if (hit == NULL)
		return FALSE;
	g_string_append_c(r->scratch, to[hit - from]);
	r->p++;
	return TRUE;
}

/* reads a string into r->scratch */
static gboolean
fast_string(Reader *r)
{
	guchar seen = 0; /* every byte or'ed: the top bit says "not ASCII" */

	g_string_truncate(r->scratch, 0);
	if (!fast_take(r, '"'))
		return FALSE;
	while (r->p < r->end) {
		const gchar *start = r->p;

		while (r->p < r->end && *r->p != '"' && *r->p != '\\' && (guchar)*r->p >= 0x20)
			seen |= (guchar)*r->p++;
		g_string_append_len(r->scratch, start, r->p - start);
		if (r->p >= r->end || (guchar)*r->p < 0x20)
			return FALSE;
		if (*r->p++ == '"')
			return (seen & 0x80) == 0 ||
			       g_utf8_validate_len(r->scratch->str, r->scratch->len, NULL);
		if (!fast_escape(r))
			return FALSE;
		/* a \u escape may have added non-ASCII */
		seen |= 0x80;
	}
	return FALSE;
}

static void
fast_digits(Reader *r)
{
	while (r->p < r->end && g_ascii_isdigit(*r->p))
		r->p++;
}

/* the JSON number grammar exactly; integers as json-glib sees them: no
 * fraction and no exponent */
static gboolean
fast_number(Reader *r, Value *value)
{
	const gchar *start = r->p;
	gchar text[64];
	gsize length;

	value->kind = VALUE_INT;
	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (r->p >= r->end || !g_ascii_isdigit(*r->p) ||
	    (*r->p == '0' && r->p + 1 < r->end && g_ascii_isdigit(r->p[1])))
		return FALSE;
	fast_digits(r);
	if (r->p < r->end && *r->p == '.') {
		value->kind = VALUE_DOUBLE;
		if (++r->p >= r->end || !g_ascii_isdigit(*r->p))
			return FALSE;
		fast_digits(r);
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
		value->kind = VALUE_DOUBLE;
		if (++r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (r->p >= r->end || !g_ascii_isdigit(*r->p))
			return FALSE;
		fast_digits(r);
	}
	length = (gsize)(r->p - start);
	if (length >= sizeof(text))
		return FALSE;
	memcpy(text, start, length);
	text[length] = '\0';
	if (value->kind == VALUE_DOUBLE) {
		value->number = g_ascii_strtod(text, NULL);
		return TRUE;
	}
	return g_ascii_string_to_signed(text, 10, G_MININT64, G_MAXINT64, &value->integer, NULL);
}

static gboolean
fast_word(Reader *r, const gchar *word)
{
	gsize length = strlen(word);

	if ((gsize)(r->end - r->p) < length || memcmp(r->p, word, length) != 0)
		return FALSE;
	r->p += length;
	return TRUE;
}

static gboolean
fast_scalar(Reader *r, Value *value)
{
	memset(value, 0, sizeof(*value));
	switch (fast_peek(r)) {
	case '"':
		value->kind = VALUE_STRING;
		if (!fast_string(r))
			return FALSE;
		/* only now: appending may have moved the buffer */
		value->string = r->scratch->str;
		return TRUE;
	case 't':
		value->kind = VALUE_BOOLEAN;
		value->boolean = TRUE;
		return fast_word(r, "true");
	case 'f':
		value->kind = VALUE_BOOLEAN;
		return fast_word(r, "false");
	case 'n':
		value->kind = VALUE_NULL;
		return fast_word(r, "null");
	default:
		return fast_number(r, value);
	}
}

static gboolean fast_skip_value(Reader *r, guint depth);

/* the rest of an array or object whose opening bracket was taken */
static gboolean
fast_skip_container(Reader *r, gchar close, guint depth)
{
	if (fast_take(r, close))
		return TRUE;
	do {
		if (close == '}' && (!fast_string(r) || !fast_take(r, ':')))
			return FALSE;
		if (!fast_skip_value(r, depth + 1))
			return FALSE;
	} while (fast_take(r, ','));
	return fast_take(r, close);
}

/* an unknown key's value: checked for syntax, then forgotten */
static gboolean
fast_skip_value(Reader *r, guint depth)
{
	Value value;

	if (depth > FAST_MAX_DEPTH)
		return FALSE;
	if (fast_take(r, '{'))
		return fast_skip_container(r, '}', depth);
	if (fast_take(r, '['))
		return fast_skip_container(r, ']', depth);
	return fast_scalar(r, &value);
}

static gboolean
fast_argv(Reader *r, GStrv *out)
{
	g_autoptr(GPtrArray) result = NULL;

	if (fast_peek(r) == 'n' && fast_word(r, "null")) {
		g_clear_pointer(out, g_strfreev);
		return TRUE;
	}
	if (!fast_take(r, '['))
		return FALSE;
	result = g_ptr_array_new_full(24, g_free);
	if (!fast_take(r, ']')) {
		do {
			if (!fast_string(r))
				return FALSE;
			g_ptr_array_add(result, path_from_string(r->scratch->str));
		} while (fast_take(r, ','));
		if (!fast_take(r, ']'))
			return FALSE;
	}
	g_ptr_array_add(result, NULL);
	g_strfreev(*out);
	*out = (GStrv)g_ptr_array_free(g_steal_pointer(&result), FALSE);
	return TRUE;
}

static gint
find_identity_member(const gchar *name)
{
	for (guint i = 0; i < G_N_ELEMENTS(identity_members); i++) {
		if (g_str_equal(identity_members[i].name, name))
			return (gint)i;
	}
	return -1;
}

static gboolean
fast_identity(Reader *r, Av1dFileIdentity *out)
{
	guint seen = 0;

	memset(out, 0, sizeof(*out));
	if (fast_peek(r) == 'n')
		return fast_word(r, "null");
	if (!fast_take(r, '{'))
		return FALSE;
	if (fast_take(r, '}'))
		return TRUE;
	do {
		gint index;
		Value value;

		if (!fast_string(r) || !fast_take(r, ':'))
			return FALSE;
		index = find_identity_member(r->scratch->str);
		if (index < 0) {
			if (!fast_skip_value(r, 2))
				return FALSE;
			continue;
		}
		if ((seen & (1u << index)) != 0 || !fast_scalar(r, &value) ||
		    !read_identity_member(&identity_members[index], &value, out, NULL))
			return FALSE;
		seen |= 1u << index;
	} while (fast_take(r, ','));
	return fast_take(r, '}');
}

/* the writer's order makes @hint the right guess for its own files */
static gint
find_field(const gchar *key, guint hint)
{
	if (hint < G_N_ELEMENTS(job_fields) && g_str_equal(job_fields[hint].key, key))
		return (gint)hint;
	for (guint i = 0; i < G_N_ELEMENTS(job_fields); i++) {
		if (g_str_equal(job_fields[i].key, key))
			return (gint)i;
	}
	return -1;
}

G_STATIC_ASSERT(G_N_ELEMENTS(job_fields) <= 64);

static gboolean
fast_member(Reader *r, Av1dJob *job, guint *hint, guint64 *seen)
{
	const Field *field;
	Value value;
	gint index;

	if (!fast_string(r) || !fast_take(r, ':'))
		return FALSE;
	index = find_field(r->scratch->str, *hint);
	if (index < 0)
		return fast_skip_value(r, 1);
	if ((*seen & (G_GUINT64_CONSTANT(1) << index)) != 0)
		return FALSE;
	*seen |= G_GUINT64_CONSTANT(1) << index;
	*hint = (guint)index + 1;
	field = &job_fields[index];
	if (field->type == FIELD_ARGV)
		return fast_argv(r, &job->argv);
	if (field->type == FIELD_IDENTITY)
		return fast_identity(r, &job->identity);
	return fast_scalar(r, &value) && read_scalar_field(job, field, &value, NULL);
}

static gboolean
fast_has_required(guint64 seen)
{
	for (guint i = 0; i < G_N_ELEMENTS(job_fields); i++) {
		if (job_fields[i].required && (seen & (G_GUINT64_CONSTANT(1) << i)) == 0)
			return FALSE;
	}
	return TRUE;
}

Av1dJob *
av1d_job_from_data_fast(const gchar *data, gsize length)
{
	g_autoptr(Av1dJob) job = NULL;
	g_autoptr(GString) scratch = NULL;
	Reader reader = {data, data + length, NULL};
	guint64 seen = 0;
	guint hint = 0;

	g_return_val_if_fail(data != NULL || length == 0, NULL);
	if (!fast_take(&reader, '{'))
		return NULL;
	scratch = g_string_sized_new(256);
	reader.scratch = scratch;
	job = new_blank_job();
	if (!fast_take(&reader, '}')) {
		do {
			if (!fast_member(&reader, job, &hint, &seen))
				return NULL;
		} while (fast_take(&reader, ','));
		if (!fast_take(&reader, '}'))
			return NULL;
	}
	if (fast_peek(&reader) != '\0' || reader.p != reader.end || !fast_has_required(seen))
		return NULL;
	return g_steal_pointer(&job);
}

/* --- reading from text --- */

static Av1dJob *
from_data_json_glib(JsonParser *parser, const gchar *data, gsize length, GError **error)
{
	JsonNode *root;

	if (length == 0) {
		g_set_error_literal(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS, "empty document");
		return NULL;
	}
	if (!json_parser_load_from_data(parser, data, (gssize)length, error)) {
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
av1d_job_from_data_with_parser(JsonParser *parser, const gchar *data, gssize length,
			       GError **error)
{
	gsize size;
	Av1dJob *job;

	g_return_val_if_fail(JSON_IS_PARSER(parser), NULL);
	g_return_val_if_fail(data != NULL || length == 0, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	size = length < 0 ? strlen(data) : (gsize)length;
	job = av1d_job_from_data_fast(data, size);
	if (job != NULL)
		return job;
	return from_data_json_glib(parser, data, size, error);
}

Av1dJob *
av1d_job_from_data(const gchar *data, gssize length, GError **error)
{
	g_autoptr(JsonParser) parser = NULL;
	gsize size;
	Av1dJob *job;

	g_return_val_if_fail(data != NULL || length == 0, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	size = length < 0 ? strlen(data) : (gsize)length;
	job = av1d_job_from_data_fast(data, size);
	if (job != NULL)
		return job;
	parser = json_parser_new_immutable();
	return from_data_json_glib(parser, data, size, error);
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
			    "job %" G_GUINT64_FORMAT ": cannot go from %s to %s", self->id,
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
			    "cannot stat '%s': %s", display, g_strerror(saved_errno));
		return FALSE;
	}
	if (!S_ISREG(st.st_mode)) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS,
			    "'%s' is not a regular file", display);
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
