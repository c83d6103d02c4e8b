#define G_LOG_DOMAIN "av1d-config"

#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "av1d-config.h"
#include "av1d-error.h"
#include "av1d-paths.h"
#include "av1d-toml.h"

#define AV1D_DEFAULT_DOCKER_IMAGE "lscr.io/linuxserver/ffmpeg:version-8.0-cli"

static const gchar *const default_exclude_languages[] = {"rus", "ru", NULL};
static const gchar *const default_extensions[] =
    {"mkv", "mp4", "m4v", "avi", "mov", "ts", "m2ts", "wmv", "webm", NULL};

#define AV1D_CONFIG_KEYS                                                                           \
	"library_roots, min_bytes, max_size_ratio, job_state_dir, scan_interval_secs, "            \
	"docker_image, docker_bin, gpu_device, encoder, stable_secs, max_concurrent_jobs, "       \
	"exclude_languages, extensions, keep_backup, verify, ffmpeg_bin, ffprobe_bin"

static const gchar *const encoder_kind_names[] = {"auto", "docker-qsv", "qsv", "software", NULL};
static const gchar *const verify_mode_names[] = {"quick", "full", NULL};

/* where a value came from, so that every error can point at it */
typedef struct {
	const gchar *filename;
	const Av1dTomlDocument *toml; /* NULL for JSON */
} Av1dConfigSource;

const gchar *
av1d_encoder_kind_to_string(Av1dEncoderKind kind)
{
	g_return_val_if_fail(kind <= AV1D_ENCODER_KIND_SOFTWARE, NULL);
	return encoder_kind_names[kind];
}

gboolean
av1d_encoder_kind_from_string(const gchar *str, Av1dEncoderKind *kind)
{
	for (guint i = 0; encoder_kind_names[i] != NULL; i++) {
		if (g_strcmp0(str, encoder_kind_names[i]) == 0) {
			*kind = (Av1dEncoderKind)i;
			return TRUE;
		}
	}
	return FALSE;
}

const gchar *
av1d_verify_mode_to_string(Av1dVerifyMode mode)
{
	g_return_val_if_fail(mode <= AV1D_VERIFY_FULL, NULL);
	return verify_mode_names[mode];
}

Av1dConfig *
av1d_config_new_default(void)
{
	Av1dConfig *self = g_new0(Av1dConfig, 1);

	g_atomic_ref_count_init(&self->ref_count);
	self->library_roots = g_new0(gchar *, 1);
	self->min_bytes = 2147483648ULL;
	self->max_size_ratio = 0.90;
	self->job_state_dir = av1d_paths_default_job_state_dir();
	self->scan_interval_secs = 60;
	self->docker_image = g_strdup(AV1D_DEFAULT_DOCKER_IMAGE);
	self->docker_bin = g_strdup("docker");
	self->gpu_device = g_strdup("/dev/dri");
	self->encoder = AV1D_ENCODER_KIND_AUTO;
	self->stable_secs = 30;
	self->max_concurrent_jobs = 1;
	self->exclude_languages = g_strdupv((gchar **)default_exclude_languages);
	self->extensions = g_strdupv((gchar **)default_extensions);
	self->keep_backup = TRUE;
	self->verify = AV1D_VERIFY_QUICK;
	self->ffmpeg_bin = g_strdup("ffmpeg");
	self->ffprobe_bin = g_strdup("ffprobe");
	return self;
}

/* the count lives in the shared struct; it alone may change through a
 * const pointer */
static gatomicrefcount *
av1d_config_ref_count(const Av1dConfig *self)
{
	return (gatomicrefcount *)&self->ref_count;
}

const Av1dConfig *
av1d_config_ref(const Av1dConfig *self)
{
	g_return_val_if_fail(self != NULL, NULL);

	g_atomic_ref_count_inc(av1d_config_ref_count(self));
	return self;
}

void
av1d_config_set(const Av1dConfig **slot, const Av1dConfig *config)
{
	const Av1dConfig *old = *slot;

	*slot = config != NULL ? av1d_config_ref(config) : NULL;
	if (old != NULL)
		av1d_config_unref(old);
}

static void
av1d_config_free(Av1dConfig *self)
{
	g_free(self->source_file);
	g_strfreev(self->library_roots);
	g_free(self->job_state_dir);
	g_free(self->docker_image);
	g_free(self->docker_bin);
	g_free(self->gpu_device);
	g_strfreev(self->exclude_languages);
	g_strfreev(self->extensions);
	g_free(self->ffmpeg_bin);
	g_free(self->ffprobe_bin);
	g_free(self);
}

void
av1d_config_unref(const Av1dConfig *self)
{
	if (self != NULL && g_atomic_ref_count_dec(av1d_config_ref_count(self)))
		av1d_config_free((Av1dConfig *)self);
}

/* "file:line:col: key 'x': " for TOML, "file: key 'x': " for JSON */
static gchar *
av1d_config_source_where(const Av1dConfigSource *source, const gchar *key)
{
	const Av1dTomlPosition *pos = NULL;

	if (source->toml != NULL)
		pos = av1d_toml_document_lookup_position(source->toml, key);
	if (pos != NULL) {
		/* Translators: the place of a config error: file name, line,
		 * column and the config key (not translated); the message
		 * follows after ": " */
		return g_strdup_printf(_("%s:%u:%u: key '%s'"), source->filename, pos->line,
				       pos->col, key);
	}
	/* Translators: the place of a config error: file name and config key */
	return g_strdup_printf(_("%s: key '%s'"), source->filename, key);
}

G_GNUC_PRINTF(4, 5)
static gboolean
av1d_config_fail(const Av1dConfigSource *source,
		 const gchar *key,
		 GError **error,
		 const gchar *format,
		 ...)
{
	va_list args;
	g_autofree gchar *where = av1d_config_source_where(source, key);
	g_autofree gchar *what = NULL;

	va_start(args, format);
	what = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error(error, AV1D_ERROR, AV1D_ERROR_CONFIG, "%s: %s", where, what);
	return FALSE;
}

static const gchar *
av1d_config_node_type_name(JsonNode *node)
{
	/* the literal null stays as it is: it is what the file says */
	if (JSON_NODE_HOLDS_NULL(node))
		return "null";
	if (JSON_NODE_HOLDS_OBJECT(node)) {
		/* Translators: the type of a config value, as in "expected a
		 * string, got a table" */
		return _("a table");
	}
	if (JSON_NODE_HOLDS_ARRAY(node)) {
		/* Translators: the type of a config value, as in "… got an array" */
		return _("an array");
	}
	switch (json_node_get_value_type(node)) {
	case G_TYPE_STRING:
		/* Translators: the type of a config value, as in "… got a string" */
		return _("a string");
	case G_TYPE_BOOLEAN:
		/* Translators: the type of a config value, as in "… got a boolean" */
		return _("a boolean");
	case G_TYPE_DOUBLE:
		/* Translators: the type of a config value, as in "… got a float" */
		return _("a float");
	default:
		/* Translators: the type of a config value, as in "… got an integer" */
		return _("an integer");
	}
}

static gboolean
av1d_config_node_is(JsonNode *node, GType type)
{
	return JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == type;
}

static gboolean
av1d_config_get_string(const Av1dConfigSource *source,
		       const gchar *key,
		       JsonNode *node,
		       gchar **out,
		       GError **error)
{
	const gchar *value;

	if (!av1d_config_node_is(node, G_TYPE_STRING))
		return av1d_config_fail(source, key, error,
					/* Translators: %s is a value type such as "an array" */
					_("expected a string, got %s"),
					av1d_config_node_type_name(node));
	value = json_node_get_string(node);
	if (value[0] == '\0')
		return av1d_config_fail(source, key, error, _("expected a non-empty string"));
	g_free(*out);
	*out = g_strdup(value);
	return TRUE;
}

static gboolean
av1d_config_get_strv(const Av1dConfigSource *source,
		     const gchar *key,
		     JsonNode *node,
		     GStrv *out,
		     GError **error)
{
	JsonArray *array;
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();

	if (!JSON_NODE_HOLDS_ARRAY(node))
		return av1d_config_fail(source, key, error,
					/* Translators: %s is a value type such as "a table" */
					_("expected an array of strings, got %s"),
					av1d_config_node_type_name(node));
	array = json_node_get_array(node);
	for (guint i = 0; i < json_array_get_length(array); i++) {
		JsonNode *element = json_array_get_element(array, i);
		if (!av1d_config_node_is(element, G_TYPE_STRING))
			return av1d_config_fail(source, key, error,
						/* Translators: %u counts from 1, %s is a value
						 * type such as "an integer" */
						_("expected an array of non-empty strings, "
						  "element %u is %s"),
						i + 1,
						av1d_config_node_type_name(element));
		if (json_node_get_string(element)[0] == '\0')
			return av1d_config_fail(source, key, error,
						_("expected an array of non-empty strings, "
						  "element %u is empty"),
						i + 1);
		g_strv_builder_add(builder, json_node_get_string(element));
	}
	g_strfreev(*out);
	*out = g_strv_builder_end(builder);
	return TRUE;
}

/* integers in [min, max]; JSON may not tell 3 from 3.0, so an integral
 * double is accepted too */
static gboolean
av1d_config_get_integer(const Av1dConfigSource *source,
			const gchar *key,
			JsonNode *node,
			gint64 min,
			gint64 max,
			gint64 *out,
			GError **error)
{
	gint64 value;

	if (av1d_config_node_is(node, G_TYPE_INT64)) {
		value = json_node_get_int(node);
	} else if (av1d_config_node_is(node, G_TYPE_DOUBLE) &&
		   json_node_get_double(node) == (gdouble)(gint64)json_node_get_double(node)) {
		value = (gint64)json_node_get_double(node);
	} else {
		return av1d_config_fail(source, key, error,
					/* Translators: %s is a value type such as "a string" */
					_("expected an integer, got %s"),
					av1d_config_node_type_name(node));
	}
	if (value < min || value > max) {
		if (min == 1)
			return av1d_config_fail(source, key, error,
						_("expected a positive integer, got %" PRId64),
						value);
		return av1d_config_fail(source, key, error,
					_("expected an integer between %" PRId64 " and %" PRId64
					  ", got %" PRId64),
					min, max, value);
	}
	*out = value;
	return TRUE;
}

static gboolean
av1d_config_get_uint(const Av1dConfigSource *source,
		     const gchar *key,
		     JsonNode *node,
		     guint min,
		     guint *out,
		     GError **error)
{
	gint64 value;

	if (!av1d_config_get_integer(source, key, node, min, G_MAXINT32, &value, error))
		return FALSE;
	*out = (guint)value;
	return TRUE;
}

static gboolean
av1d_config_get_ratio(const Av1dConfigSource *source,
		      const gchar *key,
		      JsonNode *node,
		      gdouble *out,
		      GError **error)
{
	gdouble value;

	if (av1d_config_node_is(node, G_TYPE_DOUBLE))
		value = json_node_get_double(node);
	else if (av1d_config_node_is(node, G_TYPE_INT64))
		value = (gdouble)json_node_get_int(node);
	else
		return av1d_config_fail(source, key, error,
					/* Translators: %s is a value type such as "a string" */
					_("expected a number in (0, 1], got %s"),
					av1d_config_node_type_name(node));
	if (!(value > 0.0 && value <= 1.0))
		return av1d_config_fail(source, key, error,
					_("expected a number in (0, 1], got %g"), value);
	*out = value;
	return TRUE;
}

static gboolean
av1d_config_get_bool(const Av1dConfigSource *source,
		     const gchar *key,
		     JsonNode *node,
		     gboolean *out,
		     GError **error)
{
	if (!av1d_config_node_is(node, G_TYPE_BOOLEAN))
		return av1d_config_fail(source, key, error,
					/* Translators: true and false are TOML/JSON literals;
					 * %s is a value type such as "a string" */
					_("expected true or false, got %s"),
					av1d_config_node_type_name(node));
	*out = json_node_get_boolean(node);
	return TRUE;
}

static gboolean
av1d_config_get_choice(const Av1dConfigSource *source,
		       const gchar *key,
		       JsonNode *node,
		       const gchar *const *choices,
		       guint *out,
		       GError **error)
{
	g_autofree gchar *value = NULL;
	g_autofree gchar *expected = NULL;

	if (!av1d_config_get_string(source, key, node, &value, error))
		return FALSE;
	for (guint i = 0; choices[i] != NULL; i++) {
		if (g_strcmp0(value, choices[i]) == 0) {
			*out = i;
			return TRUE;
		}
	}
	expected = g_strjoinv(", ", (gchar **)choices);
	/* Translators: the first %s is a list of the allowed values, the second
	 * the value found; neither is translated */
	return av1d_config_fail(source, key, error, _("expected one of %s, got '%s'"), expected,
				value);
}

static gboolean
av1d_config_set_key(Av1dConfig *self,
		    const Av1dConfigSource *source,
		    const gchar *key,
		    JsonNode *node,
		    GError **error)
{
	gint64 value64 = 0;
	guint choice = 0;

	if (g_strcmp0(key, "library_roots") == 0)
		return av1d_config_get_strv(source, key, node, &self->library_roots, error);
	if (g_strcmp0(key, "min_bytes") == 0) {
		if (!av1d_config_get_integer(source, key, node, 1, G_MAXINT64, &value64, error))
			return FALSE;
		self->min_bytes = (guint64)value64;
		return TRUE;
	}
	if (g_strcmp0(key, "max_size_ratio") == 0)
		return av1d_config_get_ratio(source, key, node, &self->max_size_ratio, error);
	if (g_strcmp0(key, "job_state_dir") == 0)
		return av1d_config_get_string(source, key, node, &self->job_state_dir, error);
	if (g_strcmp0(key, "scan_interval_secs") == 0)
		return av1d_config_get_uint(source, key, node, 0, &self->scan_interval_secs, error);
	if (g_strcmp0(key, "docker_image") == 0)
		return av1d_config_get_string(source, key, node, &self->docker_image, error);
	if (g_strcmp0(key, "docker_bin") == 0)
		return av1d_config_get_string(source, key, node, &self->docker_bin, error);
	if (g_strcmp0(key, "gpu_device") == 0)
		return av1d_config_get_string(source, key, node, &self->gpu_device, error);
	if (g_strcmp0(key, "encoder") == 0) {
		if (!av1d_config_get_choice(source, key, node, encoder_kind_names, &choice, error))
			return FALSE;
		self->encoder = (Av1dEncoderKind)choice;
		return TRUE;
	}
	if (g_strcmp0(key, "stable_secs") == 0)
		return av1d_config_get_uint(source, key, node, 0, &self->stable_secs, error);
	if (g_strcmp0(key, "max_concurrent_jobs") == 0)
		return av1d_config_get_uint(source, key, node, 1, &self->max_concurrent_jobs, error);
	if (g_strcmp0(key, "exclude_languages") == 0)
		return av1d_config_get_strv(source, key, node, &self->exclude_languages, error);
	if (g_strcmp0(key, "extensions") == 0)
		return av1d_config_get_strv(source, key, node, &self->extensions, error);
	if (g_strcmp0(key, "keep_backup") == 0)
		return av1d_config_get_bool(source, key, node, &self->keep_backup, error);
	if (g_strcmp0(key, "verify") == 0) {
		if (!av1d_config_get_choice(source, key, node, verify_mode_names, &choice, error))
			return FALSE;
		self->verify = (Av1dVerifyMode)choice;
		return TRUE;
	}
	if (g_strcmp0(key, "ffmpeg_bin") == 0)
		return av1d_config_get_string(source, key, node, &self->ffmpeg_bin, error);
	if (g_strcmp0(key, "ffprobe_bin") == 0)
		return av1d_config_get_string(source, key, node, &self->ffprobe_bin, error);
	/* Translators: %s is the list of config key names, not translated */
	return av1d_config_fail(source, key, error, _("unknown key, expected one of %s"),
				AV1D_CONFIG_KEYS);
}

/* extensions are compared without a leading dot and case-insensitively */
static void
av1d_config_normalize_extensions(Av1dConfig *self)
{
	for (guint i = 0; self->extensions[i] != NULL; i++) {
		gchar *ext = self->extensions[i];
		gchar *lower = g_ascii_strdown(ext[0] == '.' ? ext + 1 : ext, -1);
		g_free(ext);
		self->extensions[i] = lower;
	}
}

static gboolean
av1d_config_check_gpu_device(const Av1dConfig *self,
			     const Av1dConfigSource *source,
			     GError **error)
{
	struct stat st;

	/* a missing device is not a config error: the machine may simply have
	 * no GPU, and auto falls back to software (check says so) */
	if (stat(self->gpu_device, &st) != 0)
		return TRUE;
	if (S_ISDIR(st.st_mode) || S_ISCHR(st.st_mode))
		return TRUE;
	return av1d_config_fail(source, "gpu_device", error,
				_("expected a render node (character device) or a directory "
				  "such as /dev/dri, got '%s' which is neither"),
				self->gpu_device);
}

static gboolean
av1d_config_apply_object(Av1dConfig *self,
			 const Av1dConfigSource *source,
			 JsonNode *root,
			 GError **error)
{
	JsonObject *object;
	g_autoptr(GList) members = NULL;

	if (!JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_CONFIG,
			    /* Translators: %s is the config file name */
			    _("%s: expected an object of settings at the top level"),
			    source->filename);
		return FALSE;
	}
	object = json_node_get_object(root);
	members = json_object_get_members(object);
	for (GList *l = members; l != NULL; l = l->next) {
		const gchar *key = l->data;
		if (!av1d_config_set_key(self, source, key, json_object_get_member(object, key),
					 error))
			return FALSE;
	}
	av1d_config_normalize_extensions(self);
	if (self->extensions[0] == NULL)
		return av1d_config_fail(source, "extensions", error,
					_("expected at least one file extension"));
	if (!av1d_config_check_gpu_device(self, source, error))
		return FALSE;
	if (self->library_roots[0] != NULL) {
		if (!av1d_config_validate_roots(self, error)) {
			/* the place without line:col, as before: the message
			 * names the root */
			g_autofree gchar *where =
			    g_strdup_printf(_("%s: key '%s'"), source->filename, "library_roots");
			g_prefix_error(error, "%s: ", where);
			return FALSE;
		}
	}
	return TRUE;
}

/* json-glib keeps the last of two equal keys silently; a config that says
 * the same thing twice is almost always a mistake, so refuse it */
typedef struct {
	GHashTable *seen; /* JsonObject* -> GHashTable of member names */
	gchar *duplicate;
	guint duplicate_line;
} Av1dJsonDuplicateCheck;

static void
av1d_config_json_object_member_cb(JsonParser *parser,
				  JsonObject *object,
				  const gchar *member_name,
				  gpointer user_data)
{
	Av1dJsonDuplicateCheck *check = user_data;
	GHashTable *names = g_hash_table_lookup(check->seen, object);

	if (names == NULL) {
		names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		g_hash_table_insert(check->seen, object, names);
	}
	if (!g_hash_table_add(names, g_strdup(member_name)) && check->duplicate == NULL) {
		check->duplicate = g_strdup(member_name);
		check->duplicate_line = json_parser_get_current_line(parser);
	}
}

static JsonNode *
av1d_config_parse_json(const gchar *filename, const gchar *data, gssize length, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error_local = NULL;
	Av1dJsonDuplicateCheck check = {
	    .seen = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
					  (GDestroyNotify)g_hash_table_unref),
	};
	gboolean ok;

	g_signal_connect(parser, "object-member", G_CALLBACK(av1d_config_json_object_member_cb),
			 &check);
	ok = json_parser_load_from_data(parser, data, length, &error_local);
	g_hash_table_unref(check.seen);
	if (!ok) {
		/* json-glib says "<data>:line:col: ..." when parsing from memory */
		const gchar *message = error_local->message;
		if (g_str_has_prefix(message, "<data>:"))
			message += strlen("<data>:");
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_CONFIG, "%s:%s", filename, message);
		g_free(check.duplicate);
		return NULL;
	}
	if (check.duplicate != NULL) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_CONFIG,
			    /* Translators: file name, line and config key name */
			    _("%s:%u: key '%s': duplicate key, each key may appear once"), filename,
			    check.duplicate_line, check.duplicate);
		g_free(check.duplicate);
		return NULL;
	}
	if (json_parser_get_root(parser) == NULL)
		return json_node_init_object(json_node_alloc(), json_object_new());
	return json_node_copy(json_parser_get_root(parser));
}

Av1dConfig *
av1d_config_load_data(const gchar *filename, const gchar *data, gssize length, GError **error)
{
	g_autoptr(Av1dConfig) self = av1d_config_new_default();
	g_autoptr(Av1dTomlDocument) toml = NULL;
	g_autoptr(JsonNode) json = NULL;
	Av1dConfigSource source = {.filename = filename};

	if (g_str_has_suffix(filename, ".toml")) {
		toml = av1d_toml_parse(filename, data, length, error);
		if (toml == NULL)
			return NULL;
		source.toml = toml;
		if (!av1d_config_apply_object(self, &source, toml->root, error))
			return NULL;
	} else if (g_str_has_suffix(filename, ".json")) {
		json = av1d_config_parse_json(filename, data, length, error);
		if (json == NULL)
			return NULL;
		if (!av1d_config_apply_object(self, &source, json, error))
			return NULL;
	} else {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_CONFIG,
			    /* Translators: %s is the config file name */
			    _("%s: unknown config format, expected a file ending in .toml or "
			      ".json"),
			    filename);
		return NULL;
	}
	self->source_file = g_strdup(filename);
	return g_steal_pointer(&self);
}

Av1dConfig *
av1d_config_load_file(const gchar *filename, GError **error)
{
	g_autofree gchar *data = NULL;
	gsize length = 0;
	g_autoptr(GError) error_local = NULL;

	if (!g_file_get_contents(filename, &data, &length, &error_local)) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_CONFIG, _("cannot read config file: %s"),
			    error_local->message);
		return NULL;
	}
	return av1d_config_load_data(filename, data, (gssize)length, error);
}

/* $XDG_CONFIG_HOME/av1d/config.toml, then config.json there */
gchar *
av1d_config_find_file(void)
{
	static const gchar *const names[] = {"config.toml", "config.json"};
	g_autofree gchar *dir = av1d_paths_user_config_dir();

	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree gchar *path = g_build_filename(dir, names[i], NULL);
		if (g_file_test(path, G_FILE_TEST_EXISTS))
			return g_steal_pointer(&path);
	}
	return NULL;
}

Av1dConfig *
av1d_config_load(const gchar *explicit_file, GError **error)
{
	g_autofree gchar *found = NULL;

	if (explicit_file != NULL)
		return av1d_config_load_file(explicit_file, error);
	found = av1d_config_find_file();
	if (found != NULL)
		return av1d_config_load_file(found, error);
	return av1d_config_new_default();
}

/* roots are stored canonical (realpath) so that every later "is this path
 * inside the library" question compares like with like */
gboolean
av1d_config_validate_roots(Av1dConfig *self, GError **error)
{
	for (guint i = 0; self->library_roots[i] != NULL; i++) {
		const gchar *root = self->library_roots[i];
		g_autofree gchar *canonical = NULL;

		if (root[0] == '\0') {
			g_set_error(error, AV1D_ERROR, AV1D_ERROR_CONFIG,
				    /* Translators: %u counts the roots from 1 */
				    _("library root %u is empty, expected a directory"), i + 1);
			return FALSE;
		}
		canonical = realpath(root, NULL);
		if (canonical == NULL) {
			g_set_error(error, AV1D_ERROR, AV1D_ERROR_CONFIG,
				    /* Translators: the directory, then why it cannot be
				     * used (from the system, e.g. "No such file or directory") */
				    _("library root '%s': %s, expected an existing directory"),
				    root, g_strerror(errno));
			return FALSE;
		}
		if (!g_file_test(canonical, G_FILE_TEST_IS_DIR)) {
			g_set_error(error, AV1D_ERROR, AV1D_ERROR_CONFIG,
				    _("library root '%s' is not a directory"), root);
			return FALSE;
		}
		g_free(self->library_roots[i]);
		self->library_roots[i] = g_steal_pointer(&canonical);
	}
	return TRUE;
}

gboolean
av1d_config_set_roots(Av1dConfig *self, const gchar *const *roots, GError **error)
{
	g_strfreev(self->library_roots);
	self->library_roots = g_strdupv((gchar **)roots);
	return av1d_config_validate_roots(self, error);
}

static void
av1d_config_append_strv(GString *str, const gchar *key, GStrv values)
{
	g_string_append_printf(str, "%s = [", key);
	for (guint i = 0; values[i] != NULL; i++) {
		g_autofree gchar *display = g_filename_display_name(values[i]);
		g_string_append_printf(str, "%s\"%s\"", i > 0 ? ", " : "", display);
	}
	g_string_append(str, "]\n");
}

/* the config in effect, as TOML, for `av1d check` */
gchar *
av1d_config_to_string(const Av1dConfig *self)
{
	GString *str = g_string_new(NULL);

	/* Translators: a TOML comment heading `av1d check`; keep the leading
	 * "# "; %s is the config file name */
	if (self->source_file != NULL)
		g_string_append_printf(str, _("# from %s\n"), self->source_file);
	else
		g_string_append(str, _("# from built-in defaults\n"));
	av1d_config_append_strv(str, "library_roots", self->library_roots);
	g_string_append_printf(str, "min_bytes = %" G_GUINT64_FORMAT "\n", self->min_bytes);
	g_string_append_printf(str, "max_size_ratio = %.2f\n", self->max_size_ratio);
	g_string_append_printf(str, "job_state_dir = \"%s\"\n", self->job_state_dir);
	g_string_append_printf(str, "scan_interval_secs = %u\n", self->scan_interval_secs);
	g_string_append_printf(str, "docker_image = \"%s\"\n", self->docker_image);
	g_string_append_printf(str, "docker_bin = \"%s\"\n", self->docker_bin);
	g_string_append_printf(str, "gpu_device = \"%s\"\n", self->gpu_device);
	g_string_append_printf(str, "encoder = \"%s\"\n",
			       av1d_encoder_kind_to_string(self->encoder));
	g_string_append_printf(str, "stable_secs = %u\n", self->stable_secs);
	g_string_append_printf(str, "max_concurrent_jobs = %u\n", self->max_concurrent_jobs);
	av1d_config_append_strv(str, "exclude_languages", self->exclude_languages);
	av1d_config_append_strv(str, "extensions", self->extensions);
	g_string_append_printf(str, "keep_backup = %s\n", self->keep_backup ? "true" : "false");
	g_string_append_printf(str, "verify = \"%s\"\n", av1d_verify_mode_to_string(self->verify));
	g_string_append_printf(str, "ffmpeg_bin = \"%s\"\n", self->ffmpeg_bin);
	g_string_append_printf(str, "ffprobe_bin = \"%s\"\n", self->ffprobe_bin);
	return g_string_free(str, FALSE);
}

static gboolean
av1d_config_same_strv(GStrv a, GStrv b)
{
	return g_strv_equal((const gchar *const *)a, (const gchar *const *)b);
}

/* the keys a running daemon cannot take over without a restart */
static const gchar *
av1d_config_restart_key(const Av1dConfig *self, const Av1dConfig *next)
{
	if (!av1d_config_same_strv(self->library_roots, next->library_roots))
		return "library_roots";
	if (g_strcmp0(self->job_state_dir, next->job_state_dir) != 0)
		return "job_state_dir";
	if (g_strcmp0(self->docker_image, next->docker_image) != 0)
		return "docker_image";
	if (g_strcmp0(self->docker_bin, next->docker_bin) != 0)
		return "docker_bin";
	if (g_strcmp0(self->gpu_device, next->gpu_device) != 0)
		return "gpu_device";
	if (self->encoder != next->encoder)
		return "encoder";
	if (g_strcmp0(self->ffmpeg_bin, next->ffmpeg_bin) != 0)
		return "ffmpeg_bin";
	if (g_strcmp0(self->ffprobe_bin, next->ffprobe_bin) != 0)
		return "ffprobe_bin";
	if (self->stable_secs != next->stable_secs)
		return "stable_secs";
	if (self->scan_interval_secs != next->scan_interval_secs)
		return "scan_interval_secs";
	return NULL;
}

/* a reload takes over the settings that apply from the next job on; a key
 * that needs a restart must not differ */
gboolean
av1d_config_check_reload(const Av1dConfig *self, const Av1dConfig *next, GError **error)
{
	const gchar *key = av1d_config_restart_key(self, next);

	if (key == NULL)
		return TRUE;
	g_set_error(error, AV1D_ERROR, AV1D_ERROR_CONFIG,
		    /* Translators: the config file name (or "config") and the
		     * config key name */
		    _("%s: key '%s' changed; restart av1d to apply it (nothing was "
		      "reloaded)"),
		    next->source_file != NULL ? next->source_file : "config", key);
	return FALSE;
}
