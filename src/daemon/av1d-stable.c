#define G_LOG_DOMAIN "av1d-stable"

#include "config.h"

/* F_SETLEASE and F_SETSIG are Linux extensions */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>

#include "av1d-error.h"
#include "av1d-job.h"
#include "av1d-stable.h"

/* a lease is broken when someone opens the file for writing while we hold
 * it, and the kernel then signals us, SIGIO unless told otherwise: SIGIO
 * would kill the daemon, SIGURG is ignored by default */
#define AV1D_STABLE_LEASE_BREAK_SIGNAL SIGURG

typedef enum {
	AV1D_LEASE_FREE,	/* no writer has it open */
	AV1D_LEASE_BUSY,	/* a writer has it open, or we cannot tell for now */
	AV1D_LEASE_GONE,	/* vanished, or replaced by a symlink */
	AV1D_LEASE_UNSUPPORTED, /* the filesystem has no leases */
	AV1D_LEASE_DENIED,	/* not the owner and no CAP_LEASE, or unreadable */
} Av1dLease;

typedef enum {
	AV1D_STABLE_CHECK_STABLE,
	AV1D_STABLE_CHECK_AGAIN,
	AV1D_STABLE_CHECK_DROP,
} Av1dStableCheck;

typedef struct {
	gchar *path;
	gint64 deadline;	   /* monotonic µs */
	Av1dFileIdentity identity; /* at the last event or check */
} Av1dStablePending;

struct _Av1dStableGate {
	GObject parent_instance;

	guint quiet_ms;
	GMainContext *context;
	GHashTable *pending; /* path -> Av1dStablePending, which owns the key */
	/* ready at or before the earliest deadline; NULL when nothing is pending */
	GSource *timer;
	GArray *leaseless_devs; /* st_dev of filesystems that refused leases */
	gboolean leases_unavailable;
	gboolean logged_lease_denied;
};

G_DEFINE_TYPE(Av1dStableGate, av1d_stable_gate, G_TYPE_OBJECT)

enum { SIGNAL_FILE_STABLE, SIGNAL_LAST };

static guint signals[SIGNAL_LAST] = {0};

static void
av1d_stable_pending_free(gpointer data)
{
	Av1dStablePending *entry = data;

	g_free(entry->path);
	g_free(entry);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Av1dStablePending, av1d_stable_pending_free)

/* --- the lease probe ----------------------------------------------------- */

static Av1dLease
av1d_lease_from_open_errno(int errsv)
{
	switch (errsv) {
	case ENOENT:
	case ENOTDIR:
	case ELOOP:
		return AV1D_LEASE_GONE;
	case EWOULDBLOCK: /* someone holds a write lease: Samba, say */
	case EMFILE:
	case ENFILE:
	case ENOMEM:
	case EINTR:
		return AV1D_LEASE_BUSY;
	default:
		return AV1D_LEASE_DENIED;
	}
}

static Av1dLease
av1d_lease_from_fcntl_errno(int errsv)
{
	switch (errsv) {
	case EAGAIN:
	case EBUSY:
		return AV1D_LEASE_BUSY;
	case EACCES:
	case EPERM:
		return AV1D_LEASE_DENIED;
	default:
		return AV1D_LEASE_UNSUPPORTED;
	}
}

/* a read lease is refused while any process has the file open for writing,
 * so taking one and giving it back at once tells whether a writer is busy */
static Av1dLease
av1d_lease_probe(const gchar *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	int errsv;

	if (fd < 0)
		return av1d_lease_from_open_errno(errno);
	if (fcntl(fd, F_SETSIG, AV1D_STABLE_LEASE_BREAK_SIGNAL) != 0 ||
	    fcntl(fd, F_SETLEASE, F_RDLCK) != 0) {
		errsv = errno;
		close(fd);
		return av1d_lease_from_fcntl_errno(errsv);
	}
	(void)fcntl(fd, F_SETLEASE, F_UNLCK);
	close(fd);
	return AV1D_LEASE_FREE;
}

/* --- the timer ----------------------------------------------------------- */

static gboolean
av1d_stable_gate_on_timer(gpointer user_data);

static gboolean
av1d_stable_timer_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
	return callback(user_data);
}

static GSourceFuncs av1d_stable_timer_funcs = {
	.dispatch = av1d_stable_timer_dispatch,
};

static void
av1d_stable_gate_clear_timer(Av1dStableGate *self)
{
	if (self->timer == NULL)
		return;
	g_source_destroy(self->timer);
	g_clear_pointer(&self->timer, g_source_unref);
}

/* keeps the timer ready at or before @deadline */
static void
av1d_stable_gate_arm_at(Av1dStableGate *self, gint64 deadline)
{
	gint64 ready;

	if (self->timer == NULL) {
		self->timer = g_source_new(&av1d_stable_timer_funcs, sizeof(GSource));
		g_source_set_static_name(self->timer, "av1d-stable");
		g_source_set_callback(self->timer, av1d_stable_gate_on_timer, self, NULL);
		g_source_attach(self->timer, self->context);
	}
	ready = g_source_get_ready_time(self->timer);
	if (ready < 0 || deadline < ready)
		g_source_set_ready_time(self->timer, deadline);
}

/* after a firing: ready at the earliest deadline exactly, or gone */
static void
av1d_stable_gate_rearm(Av1dStableGate *self)
{
	GHashTableIter iter;
	Av1dStablePending *entry;
	gint64 earliest = G_MAXINT64;

	g_hash_table_iter_init(&iter, self->pending);
	while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&entry))
		earliest = MIN(earliest, entry->deadline);
	if (earliest == G_MAXINT64) {
		av1d_stable_gate_clear_timer(self);
		return;
	}
	if (self->timer != NULL)
		g_source_set_ready_time(self->timer, -1);
	av1d_stable_gate_arm_at(self, earliest);
}

static void
av1d_stable_gate_disarm_if_idle(Av1dStableGate *self)
{
	if (g_hash_table_size(self->pending) == 0)
		av1d_stable_gate_clear_timer(self);
}

/* --- deciding ------------------------------------------------------------ */

static gboolean
av1d_stable_gate_dev_is_leaseless(Av1dStableGate *self, guint64 dev)
{
	for (guint i = 0; i < self->leaseless_devs->len; i++) {
		if (g_array_index(self->leaseless_devs, guint64, i) == dev)
			return TRUE;
	}
	return FALSE;
}

/* whether a writer holds the file, remembering where we cannot tell */
static Av1dLease
av1d_stable_gate_lease(Av1dStableGate *self, const Av1dStablePending *entry)
{
	guint64 dev = entry->identity.dev;
	Av1dLease lease;

	if (av1d_stable_gate_dev_is_leaseless(self, dev))
		return AV1D_LEASE_UNSUPPORTED;
	lease = av1d_lease_probe(entry->path);
	if (lease == AV1D_LEASE_UNSUPPORTED) {
		/* a filesystem property: no need to try there again */
		g_array_append_val(self->leaseless_devs, dev);
		g_debug("no leases on the filesystem of %s (device %" G_GUINT64_FORMAT
			"): judging files there by size and mtime alone",
			entry->path, dev);
	} else if (lease == AV1D_LEASE_DENIED && !self->logged_lease_denied) {
		/* a property of each file's owner, so keep trying, but say it once */
		self->logged_lease_denied = TRUE;
		g_debug("cannot take a lease on %s (not its owner, no CAP_LEASE): judging such "
			"files by size and mtime alone",
			entry->path);
	}
	if (lease == AV1D_LEASE_UNSUPPORTED || lease == AV1D_LEASE_DENIED)
		self->leases_unavailable = TRUE;
	return lease;
}

static Av1dStableCheck
av1d_stable_gate_check(Av1dStableGate *self, Av1dStablePending *entry)
{
	g_autoptr(GError) error = NULL;
	Av1dFileIdentity now;

	if (!av1d_file_identity_from_path(entry->path, &now, &error)) {
		g_debug("no longer waiting for %s: %s", entry->path, error->message);
		return AV1D_STABLE_CHECK_DROP;
	}
	if (!av1d_file_identity_equal(&now, &entry->identity)) {
		/* it grew without an event reaching us */
		g_debug("%s changed since its last event; waiting again", entry->path);
		entry->identity = now;
		return AV1D_STABLE_CHECK_AGAIN;
	}
	switch (av1d_stable_gate_lease(self, entry)) {
	case AV1D_LEASE_BUSY:
		g_debug("%s is still open for writing; waiting again", entry->path);
		return AV1D_STABLE_CHECK_AGAIN;
	case AV1D_LEASE_GONE:
		g_debug("no longer waiting for %s: it vanished", entry->path);
		return AV1D_STABLE_CHECK_DROP;
	default:
		return AV1D_STABLE_CHECK_STABLE;
	}
}

/* settles @path if it is still due at @now (a signal handler may have
 * removed or renewed it since the firing began) */
static void
av1d_stable_gate_settle(Av1dStableGate *self, const gchar *path, gint64 now)
{
	Av1dStablePending *entry = g_hash_table_lookup(self->pending, path);
	g_autoptr(Av1dStablePending) stable = NULL;
	gint64 recheck_ms;

	if (entry == NULL || entry->deadline > now)
		return;
	switch (av1d_stable_gate_check(self, entry)) {
	case AV1D_STABLE_CHECK_AGAIN:
		recheck_ms = MAX(self->quiet_ms, AV1D_STABLE_MIN_RECHECK_MS);
		entry->deadline = g_get_monotonic_time() + recheck_ms * G_TIME_SPAN_MILLISECOND;
		break;
	case AV1D_STABLE_CHECK_DROP:
		g_hash_table_remove(self->pending, path);
		break;
	case AV1D_STABLE_CHECK_STABLE:
		/* forgotten before the signal, so a handler sees a clean state */
		g_hash_table_steal(self->pending, path);
		stable = entry;
		g_debug("%s is stable", stable->path);
		g_signal_emit(self, signals[SIGNAL_FILE_STABLE], 0, stable->path);
		break;
	}
}

static gboolean
av1d_stable_gate_on_timer(gpointer user_data)
{
	Av1dStableGate *self = user_data;
	g_autoptr(GPtrArray) due = g_ptr_array_new_with_free_func(g_free);
	gint64 now = g_get_monotonic_time();
	GHashTableIter iter;
	Av1dStablePending *entry;

	g_hash_table_iter_init(&iter, self->pending);
	while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&entry)) {
		if (entry->deadline <= now)
			g_ptr_array_add(due, g_strdup(entry->path));
	}
	/* a handler may drop the last reference to the gate: it stops there */
	g_object_add_weak_pointer(G_OBJECT(self), (gpointer *)&self);
	for (guint i = 0; i < due->len && self != NULL; i++)
		av1d_stable_gate_settle(self, g_ptr_array_index(due, i), now);
	if (self == NULL)
		return G_SOURCE_REMOVE;
	g_object_remove_weak_pointer(G_OBJECT(self), (gpointer *)&self);
	av1d_stable_gate_rearm(self);
	return G_SOURCE_CONTINUE;
}

/* --- moving and forgetting ----------------------------------------------- */

static gboolean
av1d_stable_is_beneath(const gchar *path, const gchar *dir)
{
	gsize len = strlen(dir);

	if (len == 0 || strncmp(path, dir, len) != 0)
		return FALSE;
	return path[len] == '/' || (dir[len - 1] == '/' && path[len] != '\0');
}

static gboolean
av1d_stable_pending_is_beneath(gpointer key, gpointer value, gpointer user_data)
{
	return av1d_stable_is_beneath(key, user_data);
}

/* takes @entry (forgetting it, should it be pending) and files it under
 * @new_path, replacing what was pending there */
static void
av1d_stable_gate_move(Av1dStableGate *self, Av1dStablePending *entry, const gchar *new_path)
{
	g_debug("%s, pending, is now %s", entry->path, new_path);
	g_hash_table_steal(self->pending, entry->path);
	g_free(entry->path);
	entry->path = g_strdup(new_path);
	/* replace, not insert: the key belongs to the value it came with */
	g_hash_table_replace(self->pending, entry->path, entry);
}

/* a directory renamed: the files pending in it move with it */
static guint
av1d_stable_gate_move_beneath(Av1dStableGate *self, const gchar *old_dir, const gchar *new_dir)
{
	g_autoptr(GPtrArray) moving = g_ptr_array_new();
	gsize old_len = strlen(old_dir);
	GHashTableIter iter;
	Av1dStablePending *entry;

	/* no directory moves into itself; a bogus event must not make a moved
	 * file replace one still to be moved */
	if (av1d_stable_is_beneath(new_dir, old_dir))
		return 0;
	g_hash_table_iter_init(&iter, self->pending);
	while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&entry)) {
		if (av1d_stable_is_beneath(entry->path, old_dir))
			g_ptr_array_add(moving, entry);
	}
	for (guint i = 0; i < moving->len; i++) {
		const gchar *rest;
		g_autofree gchar *new_path = NULL;

		entry = g_ptr_array_index(moving, i);
		rest = entry->path + old_len;
		new_path = g_build_filename(new_dir, rest, NULL);
		av1d_stable_gate_move(self, entry, new_path);
	}
	return moving->len;
}

static void
av1d_stable_gate_forget(Av1dStableGate *self, const gchar *path)
{
	if (g_hash_table_remove(self->pending, path))
		g_debug("no longer waiting for %s", path);
	g_hash_table_foreach_remove(self->pending, av1d_stable_pending_is_beneath, (gpointer)path);
	av1d_stable_gate_disarm_if_idle(self);
}

/* --- the object ---------------------------------------------------------- */

static void
av1d_stable_gate_dispose(GObject *object)
{
	Av1dStableGate *self = AV1D_STABLE_GATE(object);

	av1d_stable_gate_clear_timer(self);
	g_clear_pointer(&self->pending, g_hash_table_unref);
	G_OBJECT_CLASS(av1d_stable_gate_parent_class)->dispose(object);
}

static void
av1d_stable_gate_finalize(GObject *object)
{
	Av1dStableGate *self = AV1D_STABLE_GATE(object);

	g_clear_pointer(&self->context, g_main_context_unref);
	g_clear_pointer(&self->leaseless_devs, g_array_unref);
	G_OBJECT_CLASS(av1d_stable_gate_parent_class)->finalize(object);
}

static void
av1d_stable_gate_class_init(Av1dStableGateClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->dispose = av1d_stable_gate_dispose;
	object_class->finalize = av1d_stable_gate_finalize;

	/* the file has finished arriving; emitted once, after which the gate
	 * has forgotten it */
	signals[SIGNAL_FILE_STABLE] =
		g_signal_new("file-stable", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
			     NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
av1d_stable_gate_init(Av1dStableGate *self)
{
	self->context = g_main_context_ref_thread_default();
	self->pending =
		g_hash_table_new_full(g_str_hash, g_str_equal, NULL, av1d_stable_pending_free);
	self->leaseless_devs = g_array_new(FALSE, FALSE, sizeof(guint64));
}

Av1dStableGate *
av1d_stable_gate_new(guint stable_secs)
{
	Av1dStableGate *self = g_object_new(AV1D_TYPE_STABLE_GATE, NULL);

	self->quiet_ms = MIN(stable_secs, G_MAXUINT / 1000) * 1000;
	return self;
}

void
av1d_stable_gate_set_quiet_ms(Av1dStableGate *self, guint quiet_ms)
{
	g_return_if_fail(AV1D_IS_STABLE_GATE(self));
	self->quiet_ms = quiet_ms;
}

guint
av1d_stable_gate_get_quiet_ms(Av1dStableGate *self)
{
	g_return_val_if_fail(AV1D_IS_STABLE_GATE(self), 0);
	return self->quiet_ms;
}

/* --- events -------------------------------------------------------------- */

void
av1d_stable_gate_file_changed(Av1dStableGate *self, const gchar *path)
{
	g_autoptr(GError) error = NULL;
	Av1dFileIdentity identity;
	Av1dStablePending *entry;

	g_return_if_fail(AV1D_IS_STABLE_GATE(self));
	g_return_if_fail(path != NULL);
	g_return_if_fail(self->pending != NULL);

	if (!av1d_file_identity_from_path(path, &identity, &error)) {
		/* gone already, or a directory or symlink: nothing to wait for;
		 * but a directory's files pending beneath it stay pending */
		g_debug("not waiting for %s: %s", path, error->message);
		g_hash_table_remove(self->pending, path);
		av1d_stable_gate_disarm_if_idle(self);
		return;
	}
	entry = g_hash_table_lookup(self->pending, path);
	if (entry == NULL) {
		entry = g_new0(Av1dStablePending, 1);
		entry->path = g_strdup(path);
		g_hash_table_replace(self->pending, entry->path, entry);
		g_debug("waiting for %s to settle", path);
	}
	entry->identity = identity;
	entry->deadline = g_get_monotonic_time() + (gint64)self->quiet_ms * G_TIME_SPAN_MILLISECOND;
	av1d_stable_gate_arm_at(self, entry->deadline);
}

void
av1d_stable_gate_file_removed(Av1dStableGate *self, const gchar *path)
{
	g_return_if_fail(AV1D_IS_STABLE_GATE(self));
	g_return_if_fail(path != NULL);
	g_return_if_fail(self->pending != NULL);

	av1d_stable_gate_forget(self, path);
}

void
av1d_stable_gate_file_renamed(Av1dStableGate *self, const gchar *old_path, const gchar *new_path)
{
	Av1dStablePending *entry;

	g_return_if_fail(AV1D_IS_STABLE_GATE(self));
	g_return_if_fail(old_path != NULL && new_path != NULL);
	g_return_if_fail(self->pending != NULL);

	if (strcmp(old_path, new_path) == 0) {
		av1d_stable_gate_file_changed(self, new_path);
		return;
	}
	entry = g_hash_table_lookup(self->pending, old_path);
	if (entry != NULL) {
		/* the deadline moves along: a rename is no change of contents */
		av1d_stable_gate_move(self, entry, new_path);
		return;
	}
	if (av1d_stable_gate_move_beneath(self, old_path, new_path) > 0)
		return;
	/* arrived under another name (a download's temp file renamed at the
	 * end, say): treat it as new there */
	av1d_stable_gate_file_changed(self, new_path);
}

/* --- state --------------------------------------------------------------- */

guint
av1d_stable_gate_get_pending_count(Av1dStableGate *self)
{
	g_return_val_if_fail(AV1D_IS_STABLE_GATE(self), 0);
	return self->pending != NULL ? g_hash_table_size(self->pending) : 0;
}

gboolean
av1d_stable_gate_is_pending(Av1dStableGate *self, const gchar *path)
{
	g_return_val_if_fail(AV1D_IS_STABLE_GATE(self), FALSE);
	g_return_val_if_fail(path != NULL, FALSE);
	return self->pending != NULL && g_hash_table_contains(self->pending, path);
}

gboolean
av1d_stable_gate_get_leases_unavailable(Av1dStableGate *self)
{
	g_return_val_if_fail(AV1D_IS_STABLE_GATE(self), FALSE);
	return self->leases_unavailable;
}

/* --- once ---------------------------------------------------------------- */

gboolean
av1d_stable_check_now(const gchar *path, guint quiet_ms, GError **error)
{
	g_autofree gchar *display = NULL;
	Av1dFileIdentity identity;
	gint64 now_ns = g_get_real_time() * 1000;

	g_return_val_if_fail(path != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (!av1d_file_identity_from_path(path, &identity, error))
		return FALSE;
	display = g_filename_display_name(path);
	/* an mtime in the future (a clock skewed across the network) counts as
	 * recent: better late than half a file */
	if (now_ns - identity.mtime_ns < (gint64)quiet_ms * 1000000) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_BUSY,
			    _("'%s' changed less than %u ms ago and may still be arriving"),
			    display, quiet_ms);
		return FALSE;
	}
	switch (av1d_lease_probe(path)) {
	case AV1D_LEASE_BUSY:
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_BUSY,
			    _("'%s' is open for writing by another process"), display);
		return FALSE;
	case AV1D_LEASE_GONE:
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_NOT_FOUND, _("'%s' vanished"), display);
		return FALSE;
	default:
		/* no leases here: the mtime alone has to do */
		return TRUE;
	}
}
