#define G_LOG_DOMAIN "av1top-bus"

#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

#include <glib/gi18n.h>
#include <systemd/sd-bus.h>

#include "av1d-names.h"
#include "av1top-bus.h"

#define DBUS_NAME	   "org.freedesktop.DBus"
#define DBUS_PATH	   "/org/freedesktop/DBus"
#define PROPERTIES_IFACE   "org.freedesktop.DBus.Properties"
#define OBJECT_MANAGER	   "org.freedesktop.DBus.ObjectManager"
#define RECONNECT_USEC	   (2 * G_USEC_PER_SEC)
#define SYNC_TIMEOUT_USEC  (10 * G_USEC_PER_SEC)

G_DEFINE_AUTOPTR_CLEANUP_FUNC(sd_bus, sd_bus_flush_close_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sd_bus_message, sd_bus_message_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sd_bus_slot, sd_bus_slot_unref)

struct _Av1topBus {
	Av1topModel *model; /* borrowed */
	Av1topBusKind kind;
	gchar *address;
	sd_bus *bus;
	gint64 reconnect_at; /* monotonic µs, 0 none */
	/* the load in flight: unreffing them drops their replies */
	sd_bus_slot *manager_slot;
	sd_bus_slot *objects_slot;
	gboolean manager_loaded;
	gboolean objects_loaded;
	GHashTable *times_in_flight; /* job ids asked GetJob for times */
	gint failure; /* a call that could not be sent from a callback */
};

/* one call's context, freed with its slot */
typedef struct {
	Av1topBus *self;
	guint64 id;
	const gchar *action; /* N_() */
	gchar *name;
	gchar *status;	     /* the job's status when asked */
} Av1topCall;

static void
av1top_call_free(void *data)
{
	Av1topCall *call = data;

	g_free(call->name);
	g_free(call->status);
	g_free(call);
}

/* --- values ---------------------------------------------------------------- */

/* one variant's value, whatever its basic type */
typedef struct {
	gchar type; /* D-Bus type char; 0 for one we do not read */
	guint64 u;
	gint64 i;
	gdouble d;
	gchar *s;
	GStrv strv;
} Av1topValue;

static void
av1top_value_clear(Av1topValue *value)
{
	g_clear_pointer(&value->s, g_free);
	g_clear_pointer(&value->strv, g_strfreev);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Av1topValue, av1top_value_clear)

static gint
av1top_read_basic(sd_bus_message *m, gchar type, Av1topValue *value)
{
	union {
		guint8 y;
		gint b;
		gint16 n;
		guint16 q;
		gint32 i;
		guint32 u;
		gint64 x;
		guint64 t;
		gdouble d;
		const gchar *s;
	} v = {0};
	gint r = sd_bus_message_read_basic(m, type, &v);

	if (r < 0)
		return r;
	value->type = type;
	switch (type) {
	case 'y': value->u = v.y; break;
	case 'b': value->u = v.b != 0; break;
	case 'n': value->i = v.n; break;
	case 'q': value->u = v.q; break;
	case 'i': value->i = v.i; break;
	case 'u': value->u = v.u; break;
	case 'x': value->i = v.x; break;
	case 't': value->u = v.t; break;
	case 'd': value->d = v.d; break;
	default: value->s = g_strdup(v.s); break;
	}
	return r;
}

/* reads a variant ("v") at the read pointer */
static gint
av1top_read_variant(sd_bus_message *m, Av1topValue *value)
{
	const gchar *contents = NULL;
	gchar type = 0;
	gint r = sd_bus_message_peek_type(m, &type, &contents);

	if (r < 0)
		return r;
	if (type != 'v')
		return -EINVAL;
	r = sd_bus_message_enter_container(m, 'v', contents);
	if (r < 0)
		return r;
	if (g_strcmp0(contents, "as") == 0) {
		gchar **strv = NULL;

		r = sd_bus_message_read_strv(m, &strv);
		value->type = 'a';
		value->strv = strv;
	} else if (strlen(contents) == 1 && strchr("ybnqiuxtdsog", contents[0]) != NULL) {
		r = av1top_read_basic(m, contents[0], value);
	} else {
		r = sd_bus_message_skip(m, contents);
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

typedef void (*Av1topPropertyFunc)(const gchar *name, const Av1topValue *value, gpointer data);

/* an a{sv} at the read pointer, one call of @func per entry */
static gint
av1top_read_properties(sd_bus_message *m, Av1topPropertyFunc func, gpointer data)
{
	gint r = sd_bus_message_enter_container(m, 'a', "{sv}");

	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		g_auto(Av1topValue) value = {0};
		const gchar *name = NULL;

		r = sd_bus_message_read_basic(m, 's', &name);
		if (r < 0)
			return r;
		r = av1top_read_variant(m, &value);
		if (r < 0)
			return r;
		func(name, &value, data);
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static void
av1top_set_string(gchar **field, const Av1topValue *value)
{
	if (value->s == NULL)
		return;
	g_free(*field);
	*field = g_utf8_make_valid(value->s, -1);
}

/* --- the model from messages -------------------------------------------- */

typedef struct {
	Av1topModel *model;
	Av1topJob *job;
} Av1topJobUpdate;

/* a daemon with StartedAt/FinishedAt spares a GetJob per row (older ones
 * are asked by av1top_bus_fetch_times()) */
static void
av1top_job_set_time(Av1topJob *job, const gchar *name, gint64 usec)
{
	if (name[0] == 'S')
		job->started_at = usec;
	else
		job->finished_at = usec;
	job->times_wanted = FALSE;
}

static void
av1top_job_property(const gchar *name, const Av1topValue *value, gpointer data)
{
	Av1topJobUpdate *update = data;
	Av1topJob *job = update->job;

	if (g_strcmp0(name, "Path") == 0 && value->s != NULL)
		av1top_model_job_set_path(update->model, job, value->s);
	else if (g_strcmp0(name, "Status") == 0 && value->s != NULL)
		av1top_model_job_set_status(update->model, job, value->s);
	else if (g_strcmp0(name, "Stage") == 0)
		av1top_set_string(&job->stage, value);
	else if (g_strcmp0(name, "Reason") == 0)
		av1top_set_string(&job->reason, value);
	else if (g_strcmp0(name, "Encoder") == 0)
		av1top_set_string(&job->encoder, value);
	else if (g_strcmp0(name, "Progress") == 0)
		job->progress = value->d;
	else if (g_strcmp0(name, "Fps") == 0)
		job->fps = value->d;
	else if (g_strcmp0(name, "EtaSeconds") == 0)
		job->eta_seconds = value->i;
	else if (g_strcmp0(name, "StartedAt") == 0 || g_strcmp0(name, "FinishedAt") == 0)
		av1top_job_set_time(job, name, value->i);
	else if (g_strcmp0(name, "OriginalBytes") == 0)
		job->original_bytes = value->u;
	else if (g_strcmp0(name, "NewBytes") == 0)
		job->new_bytes = value->u;
	else if (g_strcmp0(name, "Quality") == 0)
		job->quality = (gint)value->i;
	else if (g_strcmp0(name, "IsHdr") == 0)
		job->is_hdr = value->u != 0;
	else if (g_strcmp0(name, "IsWebLike") == 0)
		job->is_web_like = value->u != 0;
	else if (g_strcmp0(name, "SourceBitDepth") == 0)
		job->source_bit_depth = (guint)value->u;
	update->model->dirty = TRUE;
}

static void
av1top_manager_property(const gchar *name, const Av1topValue *value, gpointer data)
{
	Av1topModel *model = data;

	if (g_strcmp0(name, "Version") == 0)
		av1top_set_string(&model->version, value);
	else if (g_strcmp0(name, "Encoder") == 0)
		av1top_set_string(&model->encoder, value);
	else if (g_strcmp0(name, "EncoderReason") == 0)
		av1top_set_string(&model->encoder_reason, value);
	else if (g_strcmp0(name, "Roots") == 0 && value->strv != NULL) {
		g_strfreev(model->roots);
		model->roots = g_strdupv(value->strv);
		model->roots_changes++;
	} else if (g_strcmp0(name, "Paused") == 0)
		model->paused = value->u != 0;
	else if (g_strcmp0(name, "WatchedDirs") == 0)
		model->watched_dirs = (guint)value->u;
	else if (g_strcmp0(name, "PendingCount") == 0)
		model->pending_count = (guint)value->u;
	else if (g_strcmp0(name, "RunningCount") == 0)
		model->running_count = (guint)value->u;
	else if (g_strcmp0(name, "DoneCount") == 0)
		model->done_count = (guint)value->u;
	else if (g_strcmp0(name, "FailedCount") == 0)
		model->failed_count = (guint)value->u;
	else if (g_strcmp0(name, "SkippedCount") == 0)
		model->skipped_count = (guint)value->u;
	else if (g_strcmp0(name, "BytesSaved") == 0)
		model->bytes_saved = value->u;
	model->dirty = TRUE;
}

static gboolean
av1top_job_id_from_path(const gchar *path, guint64 *id)
{
	if (path == NULL || !g_str_has_prefix(path, AV1D_DBUS_JOB_PATH_PREFIX))
		return FALSE;
	return g_ascii_string_to_unsigned(path + strlen(AV1D_DBUS_JOB_PATH_PREFIX), 10, 0,
					  G_MAXUINT64, id, NULL);
}

/* a{sa{sv}} of one object at the read pointer */
static gint
av1top_read_interfaces(Av1topModel *model, const gchar *path, sd_bus_message *m)
{
	gint r = sd_bus_message_enter_container(m, 'a', "{sa{sv}}");
	guint64 id = 0;

	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sa{sv}")) > 0) {
		const gchar *iface = NULL;

		r = sd_bus_message_read_basic(m, 's', &iface);
		if (r < 0)
			return r;
		if (g_strcmp0(iface, AV1D_DBUS_INTERFACE_JOB) == 0 &&
		    av1top_job_id_from_path(path, &id)) {
			Av1topJobUpdate update = {model, av1top_model_ensure_job(model, id)};

			r = av1top_read_properties(m, av1top_job_property, &update);
			av1top_model_job_changed(model);
		} else {
			r = sd_bus_message_skip(m, "a{sv}");
		}
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

/* GetManagedObjects' a{oa{sa{sv}}} */
static gint
av1top_read_managed_objects(Av1topModel *model, sd_bus_message *m)
{
	gint r = sd_bus_message_enter_container(m, 'a', "{oa{sa{sv}}}");

	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "oa{sa{sv}}")) > 0) {
		const gchar *path = NULL;

		r = sd_bus_message_read_basic(m, 'o', &path);
		if (r < 0)
			return r;
		r = av1top_read_interfaces(model, path, m);
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

/* --- errors ---------------------------------------------------------------- */

typedef struct {
	const gchar *name;
	const gchar *phrase;
} Av1topErrorPhrase;

static const Av1topErrorPhrase error_phrases[] = {
	{AV1D_DBUS_ERROR_PREFIX "NotFound", N_("not found")},
	{AV1D_DBUS_ERROR_PREFIX "OutsideLibrary", N_("outside the library")},
	{AV1D_DBUS_ERROR_PREFIX "InvalidArgument", N_("not possible for this file")},
	{AV1D_DBUS_ERROR_PREFIX "BadState", N_("not possible in the job’s state")},
	{AV1D_DBUS_ERROR_PREFIX "PermissionDenied", N_("permission denied")},
	{AV1D_DBUS_ERROR_PREFIX "Busy", N_("the daemon is busy")},
	{AV1D_DBUS_ERROR_PREFIX "Cancelled", N_("cancelled")},
	{AV1D_DBUS_ERROR_PREFIX "Config", N_("configuration error")},
	{AV1D_DBUS_ERROR_PREFIX "Failed", N_("failed")},
	{"org.freedesktop.DBus.Error.AccessDenied", N_("permission denied")},
	{"org.freedesktop.DBus.Error.ServiceUnknown", N_("av1d is not running")},
	{"org.freedesktop.DBus.Error.NameHasNoOwner", N_("av1d is not running")},
	{"org.freedesktop.DBus.Error.NoReply", N_("no answer from av1d")},
	{"org.freedesktop.DBus.Error.Timeout", N_("no answer from av1d")},
};

const gchar *
av1top_bus_error_phrase(const gchar *name)
{
	for (guint i = 0; i < G_N_ELEMENTS(error_phrases); i++) {
		if (g_strcmp0(name, error_phrases[i].name) == 0)
			return _(error_phrases[i].phrase);
	}
	return _("error");
}

static gboolean
av1top_error_is_no_daemon(const sd_bus_error *error)
{
	return sd_bus_error_has_names(error, "org.freedesktop.DBus.Error.ServiceUnknown",
				      "org.freedesktop.DBus.Error.NameHasNoOwner");
}

/* "Skip job 3: outside the library (/x is not inside a library root)" */
static void
av1top_bus_report(Av1topBus *self, const gchar *action, guint64 id, const sd_bus_error *error)
{
	g_autofree gchar *text = NULL;
	g_autofree gchar *id_text = g_strdup_printf("%" G_GUINT64_FORMAT, id);

	if (id != 0)
		/* TRANSLATORS: action, job id, short error, the daemon's message */
		text = g_strdup_printf(_("%s job %s: %s (%s)"), _(action), id_text,
				       av1top_bus_error_phrase(error->name),
				       error->message != NULL ? error->message : error->name);
	else
		text = g_strdup_printf(_("%s: %s (%s)"), _(action),
				       av1top_bus_error_phrase(error->name),
				       error->message != NULL ? error->message : error->name);
	av1top_model_set_message(self->model, TRUE, text);
}

/* --- connection and loading ------------------------------------------------ */

Av1topBus *
av1top_bus_new(Av1topModel *model, Av1topBusKind kind, const gchar *address)
{
	Av1topBus *self = g_new0(Av1topBus, 1);

	self->model = model;
	self->kind = kind;
	self->address = g_strdup(address);
	self->times_in_flight = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	return self;
}

static void
av1top_bus_drop_load(Av1topBus *self)
{
	g_clear_pointer(&self->manager_slot, sd_bus_slot_unref);
	g_clear_pointer(&self->objects_slot, sd_bus_slot_unref);
	self->manager_loaded = FALSE;
	self->objects_loaded = FALSE;
}

static void
av1top_bus_disconnect(Av1topBus *self)
{
	av1top_bus_drop_load(self);
	g_hash_table_remove_all(self->times_in_flight);
	g_clear_pointer(&self->bus, sd_bus_flush_close_unref);
}

void
av1top_bus_free(Av1topBus *self)
{
	if (self == NULL)
		return;
	av1top_bus_disconnect(self);
	g_hash_table_unref(self->times_in_flight);
	g_free(self->address);
	g_free(self);
}

/* the daemon went away: nothing it said still holds */
static void
av1top_bus_daemon_gone(Av1topBus *self)
{
	Av1topModel *model = self->model;

	av1top_bus_drop_load(self);
	g_hash_table_remove_all(self->times_in_flight);
	av1top_model_clear_jobs(model);
	g_clear_pointer(&model->version, g_free);
	g_clear_pointer(&model->encoder, g_free);
	g_clear_pointer(&model->encoder_reason, g_free);
	model->paused = FALSE;
	model->pending_count = model->running_count = model->done_count = 0;
	model->failed_count = model->skipped_count = model->watched_dirs = 0;
	model->bytes_saved = 0;
	model->daemon = AV1TOP_DAEMON_DOWN;
	model->dirty = TRUE;
}

static void
av1top_bus_lost(Av1topBus *self, gint r)
{
	av1top_bus_disconnect(self);
	av1top_bus_daemon_gone(self);
	g_free(self->model->bus_error);
	self->model->bus_error = g_strdup(g_strerror(-r));
	self->model->daemon = AV1TOP_DAEMON_NO_BUS;
	self->reconnect_at = g_get_monotonic_time() + RECONNECT_USEC;
}

/* a method call to av1d that never starts it: a monitor must not
 * bus-activate the daemon it watches */
static gint
av1top_bus_new_call(Av1topBus *self,
		    sd_bus_message **m,
		    const gchar *path,
		    const gchar *iface,
		    const gchar *method)
{
	gint r = sd_bus_message_new_method_call(self->bus, m, AV1D_DBUS_NAME, path, iface, method);

	if (r < 0)
		return r;
	return sd_bus_message_set_auto_start(*m, 0);
}

static void
av1top_bus_check_loaded(Av1topBus *self)
{
	if (self->manager_loaded && self->objects_loaded) {
		self->model->daemon = AV1TOP_DAEMON_UP;
		self->model->dirty = TRUE;
	}
}

/* a load reply that failed */
static void
av1top_bus_load_failed(Av1topBus *self, const sd_bus_error *error)
{
	if (av1top_error_is_no_daemon(error)) {
		av1top_bus_daemon_gone(self);
		return;
	}
	av1top_bus_report(self, N_("Loading"), 0, error);
}

static gint
av1top_bus_manager_cb(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	Av1topBus *self = userdata;
	gint r;

	g_clear_pointer(&self->manager_slot, sd_bus_slot_unref);
	if (sd_bus_message_is_method_error(m, NULL)) {
		av1top_bus_load_failed(self, sd_bus_message_get_error(m));
		return 0;
	}
	r = av1top_read_properties(m, av1top_manager_property, self->model);
	if (r < 0)
		g_warning("reading Manager1 properties: %s", g_strerror(-r));
	self->manager_loaded = TRUE;
	av1top_bus_check_loaded(self);
	return 0;
}

static gint
av1top_bus_objects_cb(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	Av1topBus *self = userdata;
	gint r;

	g_clear_pointer(&self->objects_slot, sd_bus_slot_unref);
	if (sd_bus_message_is_method_error(m, NULL)) {
		av1top_bus_load_failed(self, sd_bus_message_get_error(m));
		return 0;
	}
	av1top_model_clear_jobs(self->model);
	r = av1top_read_managed_objects(self->model, m);
	if (r < 0)
		g_warning("reading the jobs: %s", g_strerror(-r));
	self->objects_loaded = TRUE;
	av1top_bus_check_loaded(self);
	return 0;
}

static gint
av1top_bus_call_async(Av1topBus *self,
		      sd_bus_slot **slot,
		      const gchar *path,
		      const gchar *iface,
		      const gchar *method,
		      sd_bus_message_handler_t callback,
		      const gchar *arg_iface)
{
	g_autoptr(sd_bus_message) m = NULL;
	gint r = av1top_bus_new_call(self, &m, path, iface, method);

	if (r >= 0 && arg_iface != NULL)
		r = sd_bus_message_append_basic(m, 's', arg_iface);
	if (r < 0)
		return r;
	return sd_bus_call_async(self->bus, slot, m, callback, self, 0);
}

/* Manager1's properties and every job, replacing what the model had */
static void
av1top_bus_load(Av1topBus *self)
{
	gint r;

	av1top_bus_drop_load(self);
	g_hash_table_remove_all(self->times_in_flight);
	r = av1top_bus_call_async(self, &self->manager_slot, AV1D_DBUS_PATH, PROPERTIES_IFACE,
				  "GetAll", av1top_bus_manager_cb, AV1D_DBUS_INTERFACE_MANAGER);
	if (r >= 0)
		r = av1top_bus_call_async(self, &self->objects_slot, AV1D_DBUS_PATH,
					  OBJECT_MANAGER, "GetManagedObjects",
					  av1top_bus_objects_cb, NULL);
	/* callbacks run inside sd_bus_process(): the connection is closed
	 * after it returns */
	if (r < 0)
		self->failure = r;
}

static gint
av1top_bus_owner_changed_cb(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	Av1topBus *self = userdata;
	const gchar *name = NULL, *old_owner = NULL, *new_owner = NULL;

	if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 ||
	    g_strcmp0(name, AV1D_DBUS_NAME) != 0)
		return 0;
	if (new_owner == NULL || new_owner[0] == '\0')
		av1top_bus_daemon_gone(self);
	else
		av1top_bus_load(self);
	return 0;
}

static gint
av1top_bus_name_owner_cb(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	Av1topBus *self = userdata;

	if (sd_bus_message_is_method_error(m, NULL))
		av1top_bus_daemon_gone(self);
	else
		av1top_bus_load(self);
	return 0;
}

static gint
av1top_bus_added_cb(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	Av1topBus *self = userdata;
	const gchar *path = NULL;

	if (self->model->daemon != AV1TOP_DAEMON_UP ||
	    sd_bus_message_read_basic(m, 'o', &path) < 0)
		return 0;
	if (av1top_read_interfaces(self->model, path, m) < 0)
		g_warning("reading InterfacesAdded of %s", path);
	return 0;
}

static gint
av1top_bus_removed_cb(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	Av1topBus *self = userdata;
	const gchar *path = NULL;
	g_auto(GStrv) ifaces = NULL;
	guint64 id = 0;

	if (sd_bus_message_read_basic(m, 'o', &path) < 0 || !av1top_job_id_from_path(path, &id))
		return 0;
	if (sd_bus_message_read_strv(m, &ifaces) < 0)
		return 0;
	if (g_strv_contains((const gchar *const *)ifaces, AV1D_DBUS_INTERFACE_JOB))
		av1top_model_remove_job(self->model, id);
	return 0;
}

static gint
av1top_bus_properties_cb(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	Av1topBus *self = userdata;
	const gchar *path = sd_bus_message_get_path(m);
	const gchar *iface = NULL;
	guint64 id = 0;

	/* before the load answered, the load has it all */
	if (self->model->daemon != AV1TOP_DAEMON_UP || sd_bus_message_read_basic(m, 's', &iface) < 0)
		return 0;
	if (g_strcmp0(iface, AV1D_DBUS_INTERFACE_MANAGER) == 0 &&
	    g_strcmp0(path, AV1D_DBUS_PATH) == 0) {
		av1top_read_properties(m, av1top_manager_property, self->model);
	} else if (g_strcmp0(iface, AV1D_DBUS_INTERFACE_JOB) == 0 &&
		   av1top_job_id_from_path(path, &id)) {
		Av1topJobUpdate update = {self->model, av1top_model_ensure_job(self->model, id)};

		av1top_read_properties(m, av1top_job_property, &update);
		/* progress does not move a row; a status does, and set_status
		 * marked that */
		self->model->dirty = TRUE;
	}
	return 0;
}

static gint
av1top_bus_add_matches(Av1topBus *self)
{
	gint r;

	/* floating slots: they live as long as the connection */
	r = sd_bus_match_signal_async(self->bus, NULL, DBUS_NAME, DBUS_PATH, DBUS_NAME,
				      "NameOwnerChanged", av1top_bus_owner_changed_cb, NULL,
				      self);
	if (r >= 0)
		r = sd_bus_match_signal_async(self->bus, NULL, NULL, AV1D_DBUS_PATH, OBJECT_MANAGER,
					      "InterfacesAdded", av1top_bus_added_cb, NULL, self);
	if (r >= 0)
		r = sd_bus_match_signal_async(self->bus, NULL, NULL, AV1D_DBUS_PATH,
					      OBJECT_MANAGER, "InterfacesRemoved",
					      av1top_bus_removed_cb, NULL, self);
	if (r >= 0)
		r = sd_bus_add_match_async(self->bus, NULL,
					   "type='signal',interface='" PROPERTIES_IFACE
					   "',member='PropertiesChanged',path_namespace='" AV1D_DBUS_PATH
					   "'",
					   av1top_bus_properties_cb, NULL, self);
	return r;
}

static gint
av1top_bus_open(Av1topBus *self, sd_bus **bus)
{
	g_autoptr(sd_bus) opened = NULL;
	gint r;

	if (self->kind == AV1TOP_BUS_SYSTEM)
		return sd_bus_open_system(bus);
	if (self->kind == AV1TOP_BUS_USER)
		return sd_bus_open_user(bus);
	r = sd_bus_new(&opened);
	if (r >= 0)
		r = sd_bus_set_address(opened, self->address);
	if (r >= 0)
		r = sd_bus_set_bus_client(opened, 1);
	if (r >= 0)
		r = sd_bus_start(opened);
	if (r < 0)
		return r;
	*bus = g_steal_pointer(&opened);
	return 0;
}

static gboolean
av1top_bus_fail(gint r, const gchar *what, GError **error)
{
	g_set_error(error, AV1TOP_ERROR, AV1TOP_ERROR_NO_BUS, "%s: %s", what, g_strerror(-r));
	return FALSE;
}

gboolean
av1top_bus_connect(Av1topBus *self, GError **error)
{
	g_autoptr(sd_bus_message) m = NULL;
	gint r;

	av1top_bus_disconnect(self);
	self->reconnect_at = 0;
	r = av1top_bus_open(self, &self->bus);
	if (r < 0) {
		av1top_bus_lost(self, r);
		return av1top_bus_fail(r, _("cannot connect to the bus"), error);
	}
	self->model->daemon = AV1TOP_DAEMON_CONNECTING;
	self->model->dirty = TRUE;
	/* the matches go first: the bus answers in order, so no change can
	 * fall between the owner's answer and the signals */
	r = av1top_bus_add_matches(self);
	if (r >= 0)
		r = sd_bus_call_method_async(self->bus, NULL, DBUS_NAME, DBUS_PATH, DBUS_NAME,
					     "GetNameOwner", av1top_bus_name_owner_cb, self, "s",
					     AV1D_DBUS_NAME);
	if (r < 0) {
		av1top_bus_lost(self, r);
		return av1top_bus_fail(r, _("cannot follow org.av1d on the bus"), error);
	}
	return TRUE;
}

gint
av1top_bus_get_fd(Av1topBus *self)
{
	return self->bus != NULL ? sd_bus_get_fd(self->bus) : -1;
}

gshort
av1top_bus_get_events(Av1topBus *self)
{
	gint events = self->bus != NULL ? sd_bus_get_events(self->bus) : 0;

	return events > 0 ? (gshort)events : 0;
}

gint64
av1top_bus_get_deadline(Av1topBus *self)
{
	guint64 usec = 0;

	if (self->bus == NULL)
		return self->reconnect_at != 0 ? self->reconnect_at : G_MAXINT64;
	/* sd-bus's timeouts are CLOCK_MONOTONIC µs, as g_get_monotonic_time() */
	if (sd_bus_get_timeout(self->bus, &usec) < 0 || usec == G_MAXUINT64)
		return G_MAXINT64;
	return (gint64)MIN(usec, (guint64)G_MAXINT64);
}

void
av1top_bus_dispatch(Av1topBus *self)
{
	gint r;

	if (self->bus == NULL) {
		if (self->reconnect_at != 0 && g_get_monotonic_time() >= self->reconnect_at)
			av1top_bus_connect(self, NULL);
		return;
	}
	while ((r = sd_bus_process(self->bus, NULL)) > 0 && self->failure == 0)
		;
	if (r >= 0 && self->failure < 0)
		r = self->failure;
	self->failure = 0;
	if (r < 0)
		av1top_bus_lost(self, r);
}

void
av1top_bus_refresh(Av1topBus *self)
{
	if (self->bus == NULL) {
		av1top_bus_connect(self, NULL);
		return;
	}
	if (self->model->daemon == AV1TOP_DAEMON_UP)
		av1top_bus_load(self);
	if (self->failure < 0) {
		av1top_bus_lost(self, self->failure);
		self->failure = 0;
	}
}

/* --- --once ---------------------------------------------------------------- */

static gboolean
av1top_bus_call_sync(Av1topBus *self,
		     const gchar *iface,
		     const gchar *method,
		     const gchar *arg,
		     sd_bus_message **reply,
		     GError **error)
{
	g_autoptr(sd_bus_message) m = NULL;
	sd_bus_error bus_error = SD_BUS_ERROR_NULL;
	gint r = av1top_bus_new_call(self, &m, AV1D_DBUS_PATH, iface, method);

	if (r >= 0 && arg != NULL)
		r = sd_bus_message_append_basic(m, 's', arg);
	if (r < 0)
		return av1top_bus_fail(r, method, error);
	r = sd_bus_call(self->bus, m, SYNC_TIMEOUT_USEC, &bus_error, reply);
	if (r < 0) {
		if (av1top_error_is_no_daemon(&bus_error))
			g_set_error(error, AV1TOP_ERROR, AV1TOP_ERROR_NO_DAEMON,
				    _("av1d is not running on this bus (no owner of %s)"),
				    AV1D_DBUS_NAME);
		else
			g_set_error(error, AV1TOP_ERROR, AV1TOP_ERROR_FAILED, "%s: %s", method,
				    bus_error.message != NULL ? bus_error.message
							      : g_strerror(-r));
		sd_bus_error_free(&bus_error);
		return FALSE;
	}
	return TRUE;
}

gboolean
av1top_bus_load_sync(Av1topBus *self, GError **error)
{
	g_autoptr(sd_bus_message) manager = NULL;
	g_autoptr(sd_bus_message) objects = NULL;
	gint r;

	if (self->bus == NULL) {
		gint opened = av1top_bus_open(self, &self->bus);

		if (opened < 0)
			return av1top_bus_fail(opened, _("cannot connect to the bus"), error);
	}
	if (!av1top_bus_call_sync(self, PROPERTIES_IFACE, "GetAll", AV1D_DBUS_INTERFACE_MANAGER,
				  &manager, error) ||
	    !av1top_bus_call_sync(self, OBJECT_MANAGER, "GetManagedObjects", NULL, &objects,
				  error))
		return FALSE;
	r = av1top_read_properties(manager, av1top_manager_property, self->model);
	if (r >= 0)
		r = av1top_read_managed_objects(self->model, objects);
	if (r < 0)
		return av1top_bus_fail(r, _("reading the daemon’s answer"), error);
	self->model->daemon = AV1TOP_DAEMON_UP;
	return TRUE;
}

/* --- GetJob: times and details ---------------------------------------------- */

static gint
av1top_bus_call_for_job(Av1topBus *self,
			Av1topCall *call,
			const gchar *method,
			sd_bus_message_handler_t callback,
			const gchar *path_arg)
{
	g_autoptr(sd_bus_message) m = NULL;
	g_autoptr(sd_bus_slot) slot = NULL;
	gint r;

	if (self->bus == NULL) {
		av1top_call_free(call);
		return -ENOTCONN;
	}
	r = av1top_bus_new_call(self, &m, AV1D_DBUS_PATH, AV1D_DBUS_INTERFACE_MANAGER, method);
	if (r >= 0 && path_arg != NULL)
		r = sd_bus_message_append_basic(m, 's', path_arg);
	else if (r >= 0 && call->id != 0)
		r = sd_bus_message_append_basic(m, 't', &call->id);
	if (r >= 0)
		r = sd_bus_call_async(self->bus, &slot, m, callback, call, 0);
	if (r < 0) {
		av1top_call_free(call);
		return r;
	}
	/* the call's context goes with its slot, which the bus keeps */
	sd_bus_slot_set_destroy_callback(slot, av1top_call_free);
	sd_bus_slot_set_floating(slot, 1);
	return 0;
}

static Av1topCall *
av1top_call_new(Av1topBus *self, guint64 id, const gchar *action)
{
	Av1topCall *call = g_new0(Av1topCall, 1);

	call->self = self;
	call->id = id;
	call->action = action;
	return call;
}

static void
av1top_times_property(const gchar *name, const Av1topValue *value, gpointer data)
{
	Av1topJob *job = data;

	if (g_strcmp0(name, "started_at") == 0)
		job->started_at = value->i;
	else if (g_strcmp0(name, "finished_at") == 0)
		job->finished_at = value->i;
}

static gint
av1top_bus_times_cb(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	Av1topCall *call = userdata;
	Av1topBus *self = call->self;
	Av1topJob *job = av1top_model_lookup_job(self->model, call->id);

	g_hash_table_remove(self->times_in_flight, &call->id);
	if (job == NULL)
		return 0;
	/* a job the daemon cannot describe is not asked again and again */
	if (sd_bus_message_is_method_error(m, NULL)) {
		job->times_wanted = FALSE;
		return 0;
	}
	job->started_at = 0;
	job->finished_at = 0;
	av1top_read_properties(m, av1top_times_property, job);
	/* a status that changed meanwhile asks again */
	if (g_strcmp0(job->status_text, call->status) == 0)
		job->times_wanted = FALSE;
	self->model->dirty = TRUE;
	return 0;
}

void
av1top_bus_fetch_times(Av1topBus *self, GPtrArray *jobs)
{
	for (guint i = 0; self->bus != NULL && i < jobs->len; i++) {
		Av1topJob *job = g_ptr_array_index(jobs, i);
		Av1topCall *call;

		if (!job->times_wanted || g_hash_table_contains(self->times_in_flight, &job->id))
			continue;
		call = av1top_call_new(self, job->id, NULL);
		call->status = g_strdup(job->status_text);
		if (av1top_bus_call_for_job(self, call, "GetJob", av1top_bus_times_cb, NULL) < 0)
			return;
		g_hash_table_add(self->times_in_flight, g_memdup2(&job->id, sizeof(job->id)));
	}
}

static gchar *
av1top_format_time(gint64 usec)
{
	g_autoptr(GDateTime) time = NULL;

	if (usec <= 0)
		return g_strdup("-");
	time = g_date_time_new_from_unix_local(usec / G_USEC_PER_SEC);
	return time != NULL ? g_date_time_format(time, "%Y-%m-%d %H:%M:%S") : g_strdup("?");
}

static gchar *
av1top_value_to_string(const gchar *name, const Av1topValue *value)
{
	switch (value->type) {
	case 'b':
		return g_strdup(value->u != 0 ? _("yes") : _("no"));
	case 'y':
	case 'q':
	case 'u':
	case 't':
		if (g_str_has_suffix(name, "_bytes")) {
			g_autofree gchar *size = av1top_format_size(value->u);

			return g_strdup_printf("%" G_GUINT64_FORMAT " (%s)", value->u, size);
		}
		return g_strdup_printf("%" G_GUINT64_FORMAT, value->u);
	case 'n':
	case 'i':
	case 'x':
		if (g_str_has_suffix(name, "_at"))
			return av1top_format_time(value->i);
		return g_strdup_printf("%" G_GINT64_FORMAT, value->i);
	case 'd':
		return g_strdup_printf("%.3f", value->d);
	case 'a':
		return g_strjoinv(" ", value->strv);
	case 0:
		return g_strdup("?");
	default:
		return g_utf8_make_valid(value->s != NULL ? value->s : "", -1);
	}
}

typedef struct {
	GPtrArray *fields;
	GStrv argv;
} Av1topDetails;

static void
av1top_details_property(const gchar *name, const Av1topValue *value, gpointer data)
{
	Av1topDetails *details = data;
	g_autofree gchar *text = NULL;

	/* the argv gets its own section, one word per line */
	if (value->type == 'a' && g_strcmp0(name, "argv") == 0) {
		g_strfreev(details->argv);
		details->argv = g_strdupv(value->strv);
		return;
	}
	text = av1top_value_to_string(name, value);
	g_ptr_array_add(details->fields, g_strdup_printf("%-18s %s", name, text));
}

/* "argv:" then each word, shell-quoted when it needs it */
static void
av1top_details_add_argv(GPtrArray *lines, const gchar *const *argv)
{
	g_ptr_array_add(lines, g_strdup(_("argv:")));
	if (argv == NULL || argv[0] == NULL) {
		g_ptr_array_add(lines, g_strdup_printf("  %s", _("(none yet)")));
		return;
	}
	for (guint i = 0; argv[i] != NULL; i++) {
		g_autofree gchar *valid = g_utf8_make_valid(argv[i], -1);
		gboolean plain = valid[0] != '\0' && strpbrk(valid, " \t'\"\\$`*?[]{}()<>|&;!#~") == NULL;
		g_autofree gchar *quoted = plain ? g_strdup(valid) : g_shell_quote(valid);

		g_ptr_array_add(lines, g_strdup_printf("  %s", quoted));
	}
}

static gint
av1top_bus_details_cb(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	Av1topCall *call = userdata;
	Av1topModel *model = call->self->model;
	g_autoptr(GPtrArray) fields = g_ptr_array_new_with_free_func(g_free);
	Av1topDetails details = {fields, NULL};

	if (model->mode != AV1TOP_MODE_DETAILS || model->details_id != call->id)
		return 0;
	if (sd_bus_message_is_method_error(m, NULL)) {
		const sd_bus_error *error = sd_bus_message_get_error(m);

		g_ptr_array_add(fields, g_strdup_printf("%s: %s", av1top_bus_error_phrase(error->name),
						       error->message != NULL ? error->message : ""));
	} else {
		av1top_read_properties(m, av1top_details_property, &details);
		av1top_details_add_argv(fields, (const gchar *const *)details.argv);
		g_strfreev(details.argv);
	}
	g_clear_pointer(&model->details, g_ptr_array_unref);
	model->details = g_steal_pointer(&fields);
	model->dirty = TRUE;
	return 0;
}

void
av1top_bus_get_job(Av1topBus *self, guint64 id)
{
	gint r = av1top_bus_call_for_job(self, av1top_call_new(self, id, N_("Details")), "GetJob",
					 av1top_bus_details_cb, NULL);

	if (r < 0) {
		sd_bus_error error = SD_BUS_ERROR_NULL;

		sd_bus_error_set_errno(&error, r);
		av1top_bus_report(self, N_("Details"), id, &error);
		sd_bus_error_free(&error);
	}
}

/* --- control ----------------------------------------------------------------- */

static gint
av1top_bus_action_cb(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	Av1topCall *call = userdata;
	g_autofree gchar *text = NULL;
	g_autofree gchar *id_text = g_strdup_printf("%" G_GUINT64_FORMAT, call->id);

	if (sd_bus_message_is_method_error(m, NULL)) {
		av1top_bus_report(call->self, call->action, call->id, sd_bus_message_get_error(m));
		return 0;
	}
	if (call->id != 0)
		/* TRANSLATORS: "Skip job 3 (film.mkv): done" */
		text = g_strdup_printf(_("%s job %s (%s): done"), _(call->action), id_text,
				       call->name != NULL ? call->name : "");
	else
		text = g_strdup_printf(_("%s: done"), _(call->action));
	av1top_model_set_message(call->self->model, FALSE, text);
	return 0;
}

static void
av1top_bus_action(Av1topBus *self,
		  const Av1topJob *job,
		  const gchar *action,
		  const gchar *method,
		  gboolean by_path)
{
	Av1topCall *call = av1top_call_new(self, job != NULL ? job->id : 0, action);
	gint r;

	if (job != NULL)
		call->name = g_strdup(job->name);
	r = av1top_bus_call_for_job(self, call, method, av1top_bus_action_cb,
				    by_path ? job->path : NULL);
	if (r < 0) {
		sd_bus_error error = SD_BUS_ERROR_NULL;

		sd_bus_error_set_errno(&error, r);
		av1top_bus_report(self, action, job != NULL ? job->id : 0, &error);
		sd_bus_error_free(&error);
	}
}

void
av1top_bus_skip(Av1topBus *self, const Av1topJob *job)
{
	/* Skip takes the file: the marker outlives the job */
	av1top_bus_action(self, job, N_("Skip"), "Skip", TRUE);
}

void
av1top_bus_retry(Av1topBus *self, const Av1topJob *job)
{
	av1top_bus_action(self, job, N_("Retry"), "Retry", FALSE);
}

void
av1top_bus_cancel(Av1topBus *self, const Av1topJob *job)
{
	av1top_bus_action(self, job, N_("Cancel"), "Cancel", FALSE);
}

void
av1top_bus_set_paused(Av1topBus *self, gboolean paused)
{
	if (paused)
		av1top_bus_action(self, NULL, N_("Pause"), "Pause", FALSE);
	else
		av1top_bus_action(self, NULL, N_("Resume"), "Resume", FALSE);
}
