#define G_LOG_DOMAIN "av1d-dbus"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "av1d-candidate.h"
#include "av1d-dbus-generated.h"
#include "av1d-dbus.h"
#include "av1d-error.h"
#include "av1d-explain.h"
#include "av1d-library.h"
#include "av1d-sidecar.h"

/* a job's Progress and Fps reach the bus at most this often */
#define PROGRESS_INTERVAL_US (G_USEC_PER_SEC / 2)
#define JOB_PATH_PREFIX	     AV1D_DBUS_PATH "/job/"

/* one job's object, and what the running totals hold for it */
typedef struct {
	guint64 id; /* the hash table key points here */
	Av1dDbus *owner;
	Av1dDbusObjectSkeleton *object;
	Av1dDbusJob1 *iface; /* owned by object */
	Av1dJobStatus counted_status; /* AV1D_JOB_STATUS_LAST: not counted */
	guint64 counted_saved;
	gdouble progress; /* the latest values, sent by the flush */
	gdouble fps;
	gint64 eta_seconds;
	gint64 last_flush; /* monotonic µs */
	guint flush_id;
} Av1dDbusEntry;

struct _Av1dDbus {
	GObject parent_instance;
	Av1dManager *manager;
	Av1dJobStore *store;
	const Av1dConfig *config;
	Av1dBackendParams *backend; /* owns its strings */
	Av1dDbusManager1 *iface;
	GDBusObjectManagerServer *object_manager;
	GDBusConnection *connection; /* NULL while not exported */
	GHashTable *entries;	     /* &entry->id -> Av1dDbusEntry* */
	guint done_count;
	guint failed_count;
	guint skipped_count;
	guint64 bytes_saved;
	GCancellable *cancellable; /* of running Explain calls */
	Av1dDbusReloadFunc reload_func;
	gpointer reload_data;
	GDestroyNotify reload_destroy;
};

G_DEFINE_TYPE(Av1dDbus, av1d_dbus, G_TYPE_OBJECT)

static void
av1d_dbus_publish_counts(Av1dDbus *self);

/* --- Manager1 with live values ------------------------------------------- */

/* the core does not signal every value (WatchedDirs changes as the watcher
 * crawls): those are read when a client asks for a property */
#define AV1D_TYPE_DBUS_LIVE_MANAGER (av1d_dbus_live_manager_get_type())
G_DECLARE_FINAL_TYPE(Av1dDbusLiveManager, av1d_dbus_live_manager, AV1D, DBUS_LIVE_MANAGER,
		     Av1dDbusManager1Skeleton)

struct _Av1dDbusLiveManager {
	Av1dDbusManager1Skeleton parent_instance;
	Av1dDbus *owner; /* cleared by the owner's dispose */
	GDBusInterfaceVTable vtable;
	GDBusInterfaceGetPropertyFunc parent_get_property;
};

G_DEFINE_TYPE(Av1dDbusLiveManager, av1d_dbus_live_manager, AV1D_DBUS_TYPE_MANAGER1_SKELETON)

static GVariant *
av1d_dbus_live_manager_get_property(GDBusConnection *connection,
				    const gchar *sender,
				    const gchar *object_path,
				    const gchar *interface_name,
				    const gchar *property_name,
				    GError **error,
				    gpointer user_data)
{
	Av1dDbusLiveManager *self = AV1D_DBUS_LIVE_MANAGER(user_data);

	if (self->owner != NULL)
		av1d_dbus_publish_counts(self->owner);
	return self->parent_get_property(connection, sender, object_path, interface_name,
					 property_name, error, user_data);
}

static GDBusInterfaceVTable *
av1d_dbus_live_manager_get_vtable(GDBusInterfaceSkeleton *skeleton)
{
	Av1dDbusLiveManager *self = AV1D_DBUS_LIVE_MANAGER(skeleton);
	GDBusInterfaceSkeletonClass *parent_class =
	    G_DBUS_INTERFACE_SKELETON_CLASS(av1d_dbus_live_manager_parent_class);
	GDBusInterfaceVTable *parent = parent_class->get_vtable(skeleton);

	self->vtable = *parent;
	self->parent_get_property = parent->get_property;
	self->vtable.get_property = av1d_dbus_live_manager_get_property;
	return &self->vtable;
}

static void
av1d_dbus_live_manager_class_init(Av1dDbusLiveManagerClass *klass)
{
	GDBusInterfaceSkeletonClass *skeleton_class = G_DBUS_INTERFACE_SKELETON_CLASS(klass);

	skeleton_class->get_vtable = av1d_dbus_live_manager_get_vtable;
}

static void
av1d_dbus_live_manager_init(Av1dDbusLiveManager *self)
{
}

/* --- strings ------------------------------------------------------------- */

/* D-Bus strings are UTF-8: a path that is not becomes a file:// URI */
static gchar *
av1d_dbus_path_string(const gchar *path)
{
	gchar *uri;

	if (path == NULL)
		return g_strdup("");
	if (g_utf8_validate(path, -1, NULL))
		return g_strdup(path);
	uri = g_filename_to_uri(path, NULL, NULL);
	return uri != NULL ? uri : g_utf8_make_valid(path, -1);
}

/* other strings are repaired; NULL (unset) is "" */
static gchar *
av1d_dbus_text(const gchar *text)
{
	return text != NULL ? g_utf8_make_valid(text, -1) : g_strdup("");
}

static gboolean
av1d_dbus_return_error(GDBusMethodInvocation *invocation, GError **error)
{
	av1d_error_convert(error);
	g_dbus_method_invocation_return_gerror(invocation, *error);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* --- running totals ------------------------------------------------------ */

static guint *
av1d_dbus_counter(Av1dDbus *self, Av1dJobStatus status)
{
	switch (status) {
	case AV1D_JOB_STATUS_SUCCESS:
		return &self->done_count;
	case AV1D_JOB_STATUS_FAILED:
		return &self->failed_count;
	case AV1D_JOB_STATUS_SKIPPED:
		return &self->skipped_count;
	default:
		return NULL;
	}
}

/* a job that grew saved nothing, rather than a negative amount */
static guint64
av1d_dbus_job_saved(const Av1dJob *job)
{
	if (job->status != AV1D_JOB_STATUS_SUCCESS || job->new_bytes >= job->original_bytes)
		return 0;
	return job->original_bytes - job->new_bytes;
}

/* take the entry's old contribution out of the totals and @job's in */
static void
av1d_dbus_entry_account(Av1dDbusEntry *entry, const Av1dJob *job)
{
	Av1dDbus *self = entry->owner;
	guint *before = av1d_dbus_counter(self, entry->counted_status);
	guint *after = job != NULL ? av1d_dbus_counter(self, job->status) : NULL;

	if (before != NULL)
		(*before)--;
	if (after != NULL)
		(*after)++;
	self->bytes_saved -= entry->counted_saved;
	entry->counted_status = job != NULL ? job->status : AV1D_JOB_STATUS_LAST;
	entry->counted_saved = job != NULL ? av1d_dbus_job_saved(job) : 0;
	self->bytes_saved += entry->counted_saved;
}

static void
av1d_dbus_publish_counts(Av1dDbus *self)
{
	Av1dDbusManager1 *iface = self->iface;

	/* the skeleton only sends what differs from what it has */
	av1d_dbus_manager1_set_paused(iface, av1d_manager_get_paused(self->manager));
	av1d_dbus_manager1_set_watched_dirs(iface,
					    av1d_manager_get_watched_dir_count(self->manager));
	av1d_dbus_manager1_set_pending_count(iface, av1d_manager_get_pending_count(self->manager));
	av1d_dbus_manager1_set_running_count(iface, av1d_manager_get_running_count(self->manager));
	av1d_dbus_manager1_set_done_count(iface, self->done_count);
	av1d_dbus_manager1_set_failed_count(iface, self->failed_count);
	av1d_dbus_manager1_set_skipped_count(iface, self->skipped_count);
	av1d_dbus_manager1_set_bytes_saved(iface, self->bytes_saved);
}

/* --- job objects --------------------------------------------------------- */

static void
av1d_dbus_entry_free(Av1dDbusEntry *entry)
{
	g_clear_handle_id(&entry->flush_id, g_source_remove);
	g_clear_object(&entry->object);
	g_free(entry);
}

static void
av1d_dbus_entry_flush(Av1dDbusEntry *entry)
{
	g_clear_handle_id(&entry->flush_id, g_source_remove);
	if (entry->progress == av1d_dbus_job1_get_progress(entry->iface) &&
	    entry->fps == av1d_dbus_job1_get_fps(entry->iface) &&
	    entry->eta_seconds == av1d_dbus_job1_get_eta_seconds(entry->iface))
		return;
	av1d_dbus_job1_set_progress(entry->iface, entry->progress);
	av1d_dbus_job1_set_fps(entry->iface, entry->fps);
	av1d_dbus_job1_set_eta_seconds(entry->iface, entry->eta_seconds);
	entry->last_flush = g_get_monotonic_time();
}

static gboolean
av1d_dbus_entry_flush_cb(gpointer user_data)
{
	Av1dDbusEntry *entry = user_data;

	entry->flush_id = 0;
	av1d_dbus_entry_flush(entry);
	return G_SOURCE_REMOVE;
}

/* send the latest progress now if the last send is old enough, else once
 * the interval is over; no timer runs while nothing is pending */
static void
av1d_dbus_entry_throttle(Av1dDbusEntry *entry)
{
	gint64 wait;

	if (entry->flush_id != 0)
		return;
	if (entry->progress == av1d_dbus_job1_get_progress(entry->iface) &&
	    entry->fps == av1d_dbus_job1_get_fps(entry->iface))
		return;
	wait = entry->last_flush + PROGRESS_INTERVAL_US - g_get_monotonic_time();
	if (wait <= 0) {
		av1d_dbus_entry_flush(entry);
		return;
	}
	entry->flush_id =
	    g_timeout_add((guint)((wait + 999) / 1000), av1d_dbus_entry_flush_cb, entry);
}

/* every property but Progress and Fps, which are throttled; TRUE when the
 * job moved on (status, stage or reason) */
static gboolean
av1d_dbus_entry_set_fields(Av1dDbusEntry *entry, const Av1dJob *job)
{
	Av1dDbusJob1 *iface = entry->iface;
	g_autofree gchar *path = av1d_dbus_path_string(job->source_path);
	g_autofree gchar *reason = av1d_dbus_text(job->reason);
	g_autofree gchar *encoder = av1d_dbus_text(job->encoder);
	const gchar *status = av1d_job_status_to_string(job->status);
	const gchar *stage = av1d_job_stage_to_string(job->stage);
	gboolean moved_on = g_strcmp0(status, av1d_dbus_job1_get_status(iface)) != 0 ||
			    g_strcmp0(stage, av1d_dbus_job1_get_stage(iface)) != 0 ||
			    g_strcmp0(reason, av1d_dbus_job1_get_reason(iface)) != 0;

	av1d_dbus_job1_set_id(iface, job->id);
	av1d_dbus_job1_set_path(iface, path);
	av1d_dbus_job1_set_status(iface, status);
	av1d_dbus_job1_set_stage(iface, stage);
	av1d_dbus_job1_set_reason(iface, reason);
	av1d_dbus_job1_set_started_at(iface, job->started_at);
	av1d_dbus_job1_set_finished_at(iface, job->finished_at);
	av1d_dbus_job1_set_original_bytes(iface, job->original_bytes);
	av1d_dbus_job1_set_new_bytes(iface, job->new_bytes);
	av1d_dbus_job1_set_quality(iface, job->av1_quality);
	av1d_dbus_job1_set_is_hdr(iface, job->is_hdr);
	av1d_dbus_job1_set_is_web_like(iface, job->is_web_like);
	av1d_dbus_job1_set_source_bit_depth(iface, job->source_bit_depth);
	av1d_dbus_job1_set_encoder(iface, encoder);
	return moved_on;
}

static void
av1d_dbus_entry_update(Av1dDbusEntry *entry, const Av1dJob *job)
{
	gboolean moved_on = av1d_dbus_entry_set_fields(entry, job);

	av1d_dbus_entry_account(entry, job);
	entry->progress = job->progress;
	entry->fps = job->fps;
	entry->eta_seconds = job->eta_seconds;
	if (moved_on)
		av1d_dbus_entry_flush(entry);
	else
		av1d_dbus_entry_throttle(entry);
}

static Av1dDbusEntry *
av1d_dbus_add_entry(Av1dDbus *self, const Av1dJob *job)
{
	Av1dDbusEntry *entry = g_new0(Av1dDbusEntry, 1);
	g_autofree gchar *path = g_strdup_printf(JOB_PATH_PREFIX "%" G_GUINT64_FORMAT, job->id);
	g_autoptr(Av1dDbusJob1) iface = av1d_dbus_job1_skeleton_new();

	entry->id = job->id;
	entry->owner = self;
	entry->counted_status = AV1D_JOB_STATUS_LAST;
	entry->object = av1d_dbus_object_skeleton_new(path);
	entry->iface = iface;
	av1d_dbus_object_skeleton_set_job1(entry->object, iface);
	av1d_dbus_entry_update(entry, job);
	g_hash_table_insert(self->entries, &entry->id, entry);
	g_dbus_object_manager_server_export(self->object_manager,
					    G_DBUS_OBJECT_SKELETON(entry->object));
	return entry;
}

static void
av1d_dbus_job_changed_cb(Av1dManager *manager, Av1dJob *job, gpointer user_data)
{
	Av1dDbus *self = AV1D_DBUS(user_data);
	Av1dDbusEntry *entry = g_hash_table_lookup(self->entries, &job->id);

	if (entry != NULL) {
		av1d_dbus_entry_update(entry, job);
	} else {
		entry = av1d_dbus_add_entry(self, job);
		av1d_dbus_manager1_emit_job_added(self->iface, job->id,
						  av1d_dbus_job1_get_path(entry->iface));
	}
	av1d_dbus_publish_counts(self);
}

static void
av1d_dbus_idle_cb(Av1dManager *manager, gpointer user_data)
{
	av1d_dbus_publish_counts(AV1D_DBUS(user_data));
}

/* the store as it is now: the manager changes some jobs without a signal
 * (recovery at start-up) */
static void
av1d_dbus_sync_jobs(Av1dDbus *self)
{
	g_autoptr(GPtrArray) jobs = av1d_job_store_get_jobs(self->store);

	for (guint i = 0; i < jobs->len; i++) {
		Av1dJob *job = g_ptr_array_index(jobs, i);
		Av1dDbusEntry *entry = g_hash_table_lookup(self->entries, &job->id);

		if (entry != NULL)
			av1d_dbus_entry_update(entry, job);
		else
			av1d_dbus_add_entry(self, job);
	}
	av1d_dbus_publish_counts(self);
}

void
av1d_dbus_job_removed(Av1dDbus *self, guint64 id)
{
	Av1dDbusEntry *entry;
	g_autofree gchar *path = NULL;

	g_return_if_fail(AV1D_IS_DBUS(self));

	entry = g_hash_table_lookup(self->entries, &id);
	if (entry == NULL)
		return;
	av1d_dbus_entry_account(entry, NULL);
	path = g_strdup(g_dbus_object_get_object_path(G_DBUS_OBJECT(entry->object)));
	g_dbus_object_manager_server_unexport(self->object_manager, path);
	g_hash_table_remove(self->entries, &id);
	av1d_dbus_manager1_emit_job_removed(self->iface, id);
	av1d_dbus_publish_counts(self);
}

/* --- methods: jobs ------------------------------------------------------- */

static void
av1d_dbus_append_u64(GByteArray *buf, guint64 value)
{
	g_byte_array_append(buf, (const guint8 *)&value, sizeof(value));
}

/* one ListJobs row, (tssssdtt), written straight in GVariant's serialised
 * form: the same bytes that g_variant_new() makes, which bench/dbus.sh
 * checks. At 10 000 jobs a tree of 90 000 GVariants (one per value) cost
 * more to build and to free than GDBus took to marshal it. Values are in
 * host order; the framing offsets that end the first four strings (all
 * variable-sized members but the last member) follow the fixed part,
 * last one first, little-endian, as wide as the row's size needs. The
 * strings are valid UTF-8 (av1d_dbus_path_string() and av1d_dbus_text()
 * make sure of it), so the row is trusted. */
static GVariant *
av1d_dbus_list_row(const Av1dJob *job)
{
	static const guint8 zeros[8] = {0};
	g_autofree gchar *path = av1d_dbus_path_string(job->source_path);
	g_autofree gchar *reason = av1d_dbus_text(job->reason);
	const gchar *strings[] = {path, av1d_job_status_to_string(job->status),
				  av1d_job_stage_to_string(job->stage), reason};
	GByteArray *buf = g_byte_array_sized_new(80 + strlen(path) + strlen(reason));
	gsize ends[G_N_ELEMENTS(strings)];
	gsize offset_size;
	guint64 progress;
	g_autoptr(GBytes) bytes = NULL;

	av1d_dbus_append_u64(buf, job->id);
	for (guint i = 0; i < G_N_ELEMENTS(strings); i++) {
		g_byte_array_append(buf, (const guint8 *)strings[i], strlen(strings[i]) + 1);
		ends[i] = buf->len;
	}
	g_byte_array_append(buf, zeros, (8 - buf->len % 8) % 8);
	memcpy(&progress, &job->progress, sizeof(progress));
	av1d_dbus_append_u64(buf, progress);
	av1d_dbus_append_u64(buf, job->original_bytes);
	av1d_dbus_append_u64(buf, job->new_bytes);
	if (buf->len + G_N_ELEMENTS(ends) * 1 <= G_MAXUINT8)
		offset_size = 1;
	else if (buf->len + G_N_ELEMENTS(ends) * 2 <= G_MAXUINT16)
		offset_size = 2;
	else if (buf->len + G_N_ELEMENTS(ends) * 4 <= G_MAXUINT32)
		offset_size = 4;
	else
		offset_size = 8;
	for (guint i = G_N_ELEMENTS(ends); i > 0; i--) {
		guint64 end = GUINT64_TO_LE((guint64)ends[i - 1]);
		g_byte_array_append(buf, (const guint8 *)&end, (guint)offset_size);
	}
	bytes = g_byte_array_free_to_bytes(buf);
	return g_variant_new_from_bytes(G_VARIANT_TYPE("(tssssdtt)"), bytes, TRUE);
}

static gboolean
av1d_dbus_handle_list_jobs(Av1dDbusManager1 *iface,
			   GDBusMethodInvocation *invocation,
			   gpointer user_data)
{
	Av1dDbus *self = AV1D_DBUS(user_data);
	g_autoptr(GPtrArray) jobs = av1d_job_store_get_jobs(self->store);
	g_autofree GVariant **rows = g_new(GVariant *, MAX(jobs->len, 1));

	for (guint i = 0; i < jobs->len; i++)
		rows[i] = av1d_dbus_list_row(g_ptr_array_index(jobs, i));
	av1d_dbus_manager1_complete_list_jobs(
	    iface, invocation, g_variant_new_array(G_VARIANT_TYPE("(tssssdtt)"), rows, jobs->len));
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
av1d_dbus_add_text(GVariantBuilder *builder, const gchar *key, const gchar *value)
{
	g_autofree gchar *text = av1d_dbus_text(value);

	g_variant_builder_add(builder, "{sv}", key, g_variant_new_string(text));
}

static void
av1d_dbus_add_path(GVariantBuilder *builder, const gchar *key, const gchar *value)
{
	g_autofree gchar *text = av1d_dbus_path_string(value);

	g_variant_builder_add(builder, "{sv}", key, g_variant_new_string(text));
}

/* the argv is for people to read: arguments that are not UTF-8 are repaired */
static GVariant *
av1d_dbus_argv_variant(const Av1dJob *job)
{
	GVariantBuilder builder;

	g_variant_builder_init(&builder, G_VARIANT_TYPE_STRING_ARRAY);
	for (guint i = 0; job->argv != NULL && job->argv[i] != NULL; i++) {
		g_autofree gchar *arg = av1d_dbus_text(job->argv[i]);
		g_variant_builder_add(&builder, "s", arg);
	}
	return g_variant_builder_end(&builder);
}

static GVariant *
av1d_dbus_job_variant(const Av1dJob *job)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "id", g_variant_new_uint64(job->id));
	av1d_dbus_add_path(&b, "source_path", job->source_path);
	av1d_dbus_add_path(&b, "output_path", job->output_path);
	av1d_dbus_add_text(&b, "status", av1d_job_status_to_string(job->status));
	av1d_dbus_add_text(&b, "stage", av1d_job_stage_to_string(job->stage));
	av1d_dbus_add_text(&b, "reason", job->reason);
	g_variant_builder_add(&b, "{sv}", "created_at", g_variant_new_int64(job->created_at));
	g_variant_builder_add(&b, "{sv}", "started_at", g_variant_new_int64(job->started_at));
	g_variant_builder_add(&b, "{sv}", "finished_at", g_variant_new_int64(job->finished_at));
	g_variant_builder_add(&b, "{sv}", "original_bytes",
			      g_variant_new_uint64(job->original_bytes));
	g_variant_builder_add(&b, "{sv}", "new_bytes", g_variant_new_uint64(job->new_bytes));
	g_variant_builder_add(&b, "{sv}", "is_web_like", g_variant_new_boolean(job->is_web_like));
	g_variant_builder_add(&b, "{sv}", "web_score", g_variant_new_double(job->web_score));
	av1d_dbus_add_text(&b, "video_codec", job->video_codec);
	g_variant_builder_add(&b, "{sv}", "video_bitrate",
			      g_variant_new_uint64(job->video_bitrate));
	g_variant_builder_add(&b, "{sv}", "video_width", g_variant_new_uint32(job->video_width));
	g_variant_builder_add(&b, "{sv}", "video_height", g_variant_new_uint32(job->video_height));
	g_variant_builder_add(&b, "{sv}", "video_frame_rate",
			      g_variant_new_double(job->video_frame_rate));
	g_variant_builder_add(&b, "{sv}", "av1_quality", g_variant_new_int32(job->av1_quality));
	g_variant_builder_add(&b, "{sv}", "source_bit_depth",
			      g_variant_new_uint32(job->source_bit_depth));
	av1d_dbus_add_text(&b, "source_pix_fmt", job->source_pix_fmt);
	g_variant_builder_add(&b, "{sv}", "target_bit_depth",
			      g_variant_new_uint32(job->target_bit_depth));
	av1d_dbus_add_text(&b, "av1_profile", job->av1_profile);
	g_variant_builder_add(&b, "{sv}", "is_hdr", g_variant_new_boolean(job->is_hdr));
	av1d_dbus_add_text(&b, "encoder", job->encoder);
	g_variant_builder_add(&b, "{sv}", "argv", av1d_dbus_argv_variant(job));
	g_variant_builder_add(&b, "{sv}", "progress", g_variant_new_double(job->progress));
	g_variant_builder_add(&b, "{sv}", "fps", g_variant_new_double(job->fps));
	return g_variant_builder_end(&b);
}

static gboolean
av1d_dbus_handle_get_job(Av1dDbusManager1 *iface,
			 GDBusMethodInvocation *invocation,
			 guint64 id,
			 gpointer user_data)
{
	Av1dDbus *self = AV1D_DBUS(user_data);
	Av1dJob *job = av1d_job_store_lookup(self->store, id);

	if (job == NULL) {
		g_dbus_method_invocation_return_error(invocation, AV1D_ERROR, AV1D_ERROR_NOT_FOUND,
						      "no job %" G_GUINT64_FORMAT, id);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	av1d_dbus_manager1_complete_get_job(iface, invocation, av1d_dbus_job_variant(job));
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
av1d_dbus_handle_retry(Av1dDbusManager1 *iface,
		       GDBusMethodInvocation *invocation,
		       guint64 id,
		       gpointer user_data)
{
	Av1dDbus *self = AV1D_DBUS(user_data);
	g_autoptr(GError) error = NULL;

	if (!av1d_manager_retry(self->manager, id, &error))
		return av1d_dbus_return_error(invocation, &error);
	av1d_dbus_manager1_complete_retry(iface, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
av1d_dbus_handle_cancel(Av1dDbusManager1 *iface,
			GDBusMethodInvocation *invocation,
			guint64 id,
			gpointer user_data)
{
	Av1dDbus *self = AV1D_DBUS(user_data);
	g_autoptr(GError) error = NULL;

	if (!av1d_manager_cancel(self->manager, id, &error))
		return av1d_dbus_return_error(invocation, &error);
	av1d_dbus_manager1_complete_cancel(iface, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* --- methods: files ------------------------------------------------------ */

/* @path is canonical: lstat() is its stat() */
static gboolean
av1d_dbus_check_candidate(Av1dDbus *self, const gchar *path, GError **error)
{
	const gchar *root = av1d_candidate_find_root(self->config, path);
	g_autofree gchar *display = g_filename_display_name(path);
	Av1dCandidateVerdict verdict;
	struct stat st;

	if (lstat(path, &st) != 0) {
		int saved = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "%s: %s", display,
			    g_strerror(saved));
		return FALSE;
	}
	verdict = av1d_candidate_check(self->config, root, path, &st);
	if (verdict != AV1D_CANDIDATE_YES) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS, "%s is not a candidate: %s",
			    display, av1d_candidate_verdict_to_string(verdict));
		return FALSE;
	}
	return TRUE;
}

static gboolean
av1d_dbus_handle_enqueue(Av1dDbusManager1 *iface,
			 GDBusMethodInvocation *invocation,
			 const gchar *path,
			 gpointer user_data)
{
	Av1dDbus *self = AV1D_DBUS(user_data);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *canonical = av1d_library_resolve_path(self->config, path, &error);
	Av1dJob *job = NULL;

	if (canonical != NULL && av1d_dbus_check_candidate(self, canonical, &error))
		job = av1d_manager_enqueue(self->manager, canonical, &error);
	if (job == NULL)
		return av1d_dbus_return_error(invocation, &error);
	av1d_dbus_manager1_complete_enqueue(iface, invocation, job->id);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
av1d_dbus_handle_skip(Av1dDbusManager1 *iface,
		      GDBusMethodInvocation *invocation,
		      const gchar *path,
		      gpointer user_data)
{
	Av1dDbus *self = AV1D_DBUS(user_data);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *canonical = av1d_library_resolve_path(self->config, path, &error);

	if (canonical == NULL ||
	    !av1d_sidecar_write_skip((const gchar *const *)self->config->library_roots, canonical,
				     "skipped with the D-Bus Skip method", &error))
		return av1d_dbus_return_error(invocation, &error);
	av1d_manager_cancel_marked(self->manager, canonical);
	av1d_dbus_manager1_complete_skip(iface, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* a file that is gone may still have its marker: then the name is placed by
 * its parent folder, which must be in the library */
static gchar *
av1d_dbus_resolve_unskip(Av1dDbus *self, const gchar *path, GError **error)
{
	g_autoptr(GError) local_error = NULL;
	gchar *canonical = av1d_library_resolve_path(self->config, path, &local_error);

	if (canonical != NULL)
		return canonical;
	if (!g_error_matches(local_error, AV1D_ERROR, AV1D_ERROR_NOT_FOUND)) {
		g_propagate_error(error, g_steal_pointer(&local_error));
		return NULL;
	}
	return av1d_library_resolve_parent(self->config, path, error);
}

static gboolean
av1d_dbus_remove_marker(const gchar *marker, GError **error)
{
	g_autofree gchar *display = g_filename_display_name(marker);
	struct stat st;

	if (lstat(marker, &st) != 0 || S_ISDIR(st.st_mode)) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_NOT_FOUND, "there is no marker %s",
			    display);
		return FALSE;
	}
	if (g_unlink(marker) != 0) {
		int saved = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "removing %s: %s",
			    display, g_strerror(saved));
		return FALSE;
	}
	return TRUE;
}

/* a file freed from its marker goes back in the queue: its job again if it
 * ended (Skip cancelled it), else a new one; a file that is gone or not a
 * candidate has nothing to queue */
static gboolean
av1d_dbus_queue_unskipped(Av1dDbus *self, const gchar *path, GError **error)
{
	Av1dJob *job;

	if (!av1d_dbus_check_candidate(self, path, NULL))
		return TRUE;
	job = av1d_job_store_lookup_by_path(self->store, path);
	if (job != NULL && (job->status == AV1D_JOB_STATUS_FAILED ||
			    job->status == AV1D_JOB_STATUS_SKIPPED ||
			    job->status == AV1D_JOB_STATUS_CANCELLED))
		return av1d_manager_retry(self->manager, job->id, error);
	if (av1d_manager_enqueue(self->manager, path, error) == NULL) {
		g_prefix_error(error, "the marker is removed, but the file is not queued: ");
		return FALSE;
	}
	return TRUE;
}

static gboolean
av1d_dbus_handle_unskip(Av1dDbusManager1 *iface,
			GDBusMethodInvocation *invocation,
			const gchar *path,
			gpointer user_data)
{
	Av1dDbus *self = AV1D_DBUS(user_data);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *target = av1d_dbus_resolve_unskip(self, path, &error);
	g_autofree gchar *marker = NULL;
	gboolean is_dir;

	if (target == NULL)
		return av1d_dbus_return_error(invocation, &error);
	is_dir = g_file_test(target, G_FILE_TEST_IS_DIR);
	marker = is_dir ? g_build_filename(target, AV1D_DIR_SKIP_MARKER, NULL)
			: av1d_sidecar_skip_path(target);
	if (!av1d_dbus_remove_marker(marker, &error))
		return av1d_dbus_return_error(invocation, &error);
	if (is_dir)
		av1d_manager_rescan(self->manager);
	else if (!av1d_dbus_queue_unskipped(self, target, &error))
		return av1d_dbus_return_error(invocation, &error);
	av1d_dbus_manager1_complete_unskip(iface, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
av1d_dbus_explain_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GDBusMethodInvocation) invocation = user_data;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = av1d_explain_file_finish(result, &error);
	g_autofree gchar *valid = NULL;

	if (text == NULL) {
		if (g_error_matches(error, AV1D_ERROR, AV1D_ERROR_CANCELLED)) {
			g_clear_error(&error);
			g_set_error_literal(&error, AV1D_ERROR, AV1D_ERROR_CANCELLED,
					    "the configuration was reloaded or the service "
					    "stopped while explaining; try again");
		}
		av1d_dbus_return_error(invocation, &error);
		return;
	}
	/* the argv names paths, which need not be UTF-8 */
	valid = g_utf8_make_valid(text, -1);
	g_dbus_method_invocation_return_value(invocation, g_variant_new("(s)", valid));
}

static gboolean
av1d_dbus_handle_explain(Av1dDbusManager1 *iface,
			 GDBusMethodInvocation *invocation,
			 const gchar *path,
			 gpointer user_data)
{
	Av1dDbus *self = AV1D_DBUS(user_data);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *canonical = av1d_library_resolve_path(self->config, path, &error);

	if (canonical == NULL)
		return av1d_dbus_return_error(invocation, &error);
	av1d_explain_file_async(self->config, self->backend, canonical, self->cancellable,
				av1d_dbus_explain_cb, g_object_ref(invocation));
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* --- methods: the daemon ------------------------------------------------- */

static gboolean
av1d_dbus_handle_pause(Av1dDbusManager1 *iface,
		       GDBusMethodInvocation *invocation,
		       gpointer user_data)
{
	Av1dDbus *self = AV1D_DBUS(user_data);

	av1d_manager_set_paused(self->manager, TRUE);
	av1d_dbus_publish_counts(self);
	av1d_dbus_manager1_complete_pause(iface, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
av1d_dbus_handle_resume(Av1dDbusManager1 *iface,
			GDBusMethodInvocation *invocation,
			gpointer user_data)
{
	Av1dDbus *self = AV1D_DBUS(user_data);

	av1d_manager_set_paused(self->manager, FALSE);
	av1d_dbus_publish_counts(self);
	av1d_dbus_manager1_complete_resume(iface, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
av1d_dbus_handle_rescan(Av1dDbusManager1 *iface,
			GDBusMethodInvocation *invocation,
			gpointer user_data)
{
	Av1dDbus *self = AV1D_DBUS(user_data);

	av1d_manager_rescan(self->manager);
	av1d_dbus_manager1_complete_rescan(iface, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
av1d_dbus_handle_reload(Av1dDbusManager1 *iface,
			GDBusMethodInvocation *invocation,
			gpointer user_data)
{
	Av1dDbus *self = AV1D_DBUS(user_data);
	g_autoptr(GError) error = NULL;

	if (self->reload_func == NULL) {
		g_dbus_method_invocation_return_error_literal(invocation, AV1D_ERROR,
							      AV1D_ERROR_FAILED,
							      "this daemon cannot reload");
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	if (!self->reload_func(self->reload_data, &error))
		return av1d_dbus_return_error(invocation, &error);
	av1d_dbus_manager1_complete_reload(iface, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* --- object -------------------------------------------------------------- */

/* stop the Explain calls that hold the config in effect */
static void
av1d_dbus_cancel_explains(Av1dDbus *self)
{
	g_cancellable_cancel(self->cancellable);
	g_object_unref(self->cancellable);
	self->cancellable = g_cancellable_new();
}

static void
av1d_dbus_connect_methods(Av1dDbus *self)
{
	const struct {
		const gchar *signal;
		GCallback handler;
	} methods[] = {
	    {"handle-list-jobs", G_CALLBACK(av1d_dbus_handle_list_jobs)},
	    {"handle-get-job", G_CALLBACK(av1d_dbus_handle_get_job)},
	    {"handle-enqueue", G_CALLBACK(av1d_dbus_handle_enqueue)},
	    {"handle-skip", G_CALLBACK(av1d_dbus_handle_skip)},
	    {"handle-unskip", G_CALLBACK(av1d_dbus_handle_unskip)},
	    {"handle-retry", G_CALLBACK(av1d_dbus_handle_retry)},
	    {"handle-cancel", G_CALLBACK(av1d_dbus_handle_cancel)},
	    {"handle-pause", G_CALLBACK(av1d_dbus_handle_pause)},
	    {"handle-resume", G_CALLBACK(av1d_dbus_handle_resume)},
	    {"handle-rescan", G_CALLBACK(av1d_dbus_handle_rescan)},
	    {"handle-explain", G_CALLBACK(av1d_dbus_handle_explain)},
	    {"handle-reload", G_CALLBACK(av1d_dbus_handle_reload)},
	};

	for (guint i = 0; i < G_N_ELEMENTS(methods); i++)
		g_signal_connect(self->iface, methods[i].signal, methods[i].handler, self);
}

static void
av1d_dbus_dispose(GObject *object)
{
	Av1dDbus *self = AV1D_DBUS(object);

	av1d_dbus_unexport(self);
	if (self->manager != NULL)
		g_signal_handlers_disconnect_by_data(self->manager, self);
	if (self->iface != NULL) {
		AV1D_DBUS_LIVE_MANAGER(self->iface)->owner = NULL;
		g_signal_handlers_disconnect_by_data(self->iface, self);
	}
	if (self->cancellable != NULL)
		g_cancellable_cancel(self->cancellable);
	g_clear_pointer(&self->entries, g_hash_table_unref);
	g_clear_object(&self->object_manager);
	g_clear_object(&self->iface);
	g_clear_object(&self->manager);
	g_clear_object(&self->store);
	g_clear_object(&self->cancellable);
	if (self->reload_destroy != NULL)
		self->reload_destroy(self->reload_data);
	self->reload_func = NULL;
	self->reload_destroy = NULL;
	G_OBJECT_CLASS(av1d_dbus_parent_class)->dispose(object);
}

static void
av1d_dbus_finalize(GObject *object)
{
	Av1dDbus *self = AV1D_DBUS(object);

	g_free(self->backend);
	av1d_config_set(&self->config, NULL);
	G_OBJECT_CLASS(av1d_dbus_parent_class)->finalize(object);
}

static void
av1d_dbus_class_init(Av1dDbusClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->dispose = av1d_dbus_dispose;
	object_class->finalize = av1d_dbus_finalize;
}

static void
av1d_dbus_init(Av1dDbus *self)
{
	Av1dDbusLiveManager *live = g_object_new(AV1D_TYPE_DBUS_LIVE_MANAGER, NULL);

	live->owner = self;
	self->iface = AV1D_DBUS_MANAGER1(live);
	self->object_manager = g_dbus_object_manager_server_new(AV1D_DBUS_PATH);
	self->entries = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
					      (GDestroyNotify)av1d_dbus_entry_free);
	self->cancellable = g_cancellable_new();
	av1d_dbus_connect_methods(self);
}

Av1dDbus *
av1d_dbus_new(Av1dManager *manager,
	      Av1dJobStore *store,
	      const Av1dConfig *config,
	      const Av1dBackendParams *backend,
	      const gchar *encoder,
	      const gchar *encoder_reason)
{
	Av1dDbus *self;

	g_return_val_if_fail(AV1D_IS_MANAGER(manager), NULL);
	g_return_val_if_fail(AV1D_IS_JOB_STORE(store), NULL);
	g_return_val_if_fail(config != NULL && backend != NULL, NULL);

	self = g_object_new(AV1D_TYPE_DBUS, NULL);
	self->manager = g_object_ref(manager);
	self->store = g_object_ref(store);
	self->config = av1d_config_ref(config);
	self->backend = av1d_backend_params_dup(backend);
	av1d_dbus_manager1_set_version(self->iface, PACKAGE_VERSION);
	av1d_dbus_manager1_set_encoder(self->iface, encoder != NULL ? encoder : "");
	av1d_dbus_manager1_set_encoder_reason(self->iface,
					      encoder_reason != NULL ? encoder_reason : "");
	av1d_dbus_manager1_set_roots(self->iface, (const gchar *const *)config->library_roots);
	g_signal_connect(manager, "job-changed", G_CALLBACK(av1d_dbus_job_changed_cb), self);
	g_signal_connect(manager, "job-finished", G_CALLBACK(av1d_dbus_job_changed_cb), self);
	g_signal_connect(manager, "idle", G_CALLBACK(av1d_dbus_idle_cb), self);
	/* WatchedDirs is final now */
	g_signal_connect(manager, "crawl-finished", G_CALLBACK(av1d_dbus_idle_cb), self);
	return self;
}

gboolean
av1d_dbus_export(Av1dDbus *self, GDBusConnection *connection, GError **error)
{
	g_return_val_if_fail(AV1D_IS_DBUS(self), FALSE);
	g_return_val_if_fail(G_IS_DBUS_CONNECTION(connection), FALSE);
	g_return_val_if_fail(self->connection == NULL, FALSE);

	/* objects exported before the connection is set announce nothing:
	 * JobAdded is for jobs that come later */
	av1d_dbus_sync_jobs(self);
	if (!g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(self->iface), connection,
					      AV1D_DBUS_PATH, error))
		return FALSE;
	g_dbus_object_manager_server_set_connection(self->object_manager, connection);
	self->connection = g_object_ref(connection);
	return TRUE;
}

void
av1d_dbus_unexport(Av1dDbus *self)
{
	g_return_if_fail(AV1D_IS_DBUS(self));

	if (self->connection == NULL)
		return;
	av1d_dbus_cancel_explains(self);
	g_dbus_object_manager_server_set_connection(self->object_manager, NULL);
	g_dbus_interface_skeleton_unexport(G_DBUS_INTERFACE_SKELETON(self->iface));
	g_clear_object(&self->connection);
}

void
av1d_dbus_set_reload_func(Av1dDbus *self,
			  Av1dDbusReloadFunc func,
			  gpointer user_data,
			  GDestroyNotify destroy)
{
	g_return_if_fail(AV1D_IS_DBUS(self));

	if (self->reload_destroy != NULL)
		self->reload_destroy(self->reload_data);
	self->reload_func = func;
	self->reload_data = user_data;
	self->reload_destroy = destroy;
}

void
av1d_dbus_set_config(Av1dDbus *self, const Av1dConfig *config)
{
	g_return_if_fail(AV1D_IS_DBUS(self));
	g_return_if_fail(config != NULL);

	av1d_dbus_cancel_explains(self);
	av1d_config_set(&self->config, config);
	av1d_dbus_manager1_set_roots(self->iface, (const gchar *const *)config->library_roots);
}
