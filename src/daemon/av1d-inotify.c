#define G_LOG_DOMAIN "av1d-inotify"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>

#include "av1d-inotify.h"

/* what the watcher needs: names appearing, being written, closed, touched,
 * going, moving, and the directory itself going; never through a symlink,
 * and nothing more about files that are already unlinked */
#define WATCH_MASK                                                                                 \
	(IN_CREATE | IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO |        \
	 IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK)
/* a few hundred events per read() */
#define READ_BUFFER_SIZE (16 * 1024)
/* reads per main loop dispatch, so that a flood cannot starve the loop */
#define READS_PER_DISPATCH 8

typedef struct {
	gint wd;
	guint32 mask;
	guint32 cookie;
	gint64 reached_at; /* monotonic µs when processing first got to it, 0 before */
	gchar *name;	/* NULL for events about the watched directory itself */
} RawEvent;

/* one name's IN_MODIFY rate limit */
typedef struct {
	gint wd;
	gchar *name;
	gint64 emitted_at;
	gboolean pending; /* a change arrived since emitted_at */
} ModifyEntry;

struct _Av1dInotify {
	gint fd;
	GMainContext *context;
	GSource *fd_source;
	GSource *pair_source;	/* while an IN_MOVED_FROM waits for its partner */
	GSource *modify_source; /* while a rate limit runs */
	Av1dInotifyEventFunc event_func;
	Av1dInotifyOverflowFunc overflow_func;
	gpointer user_data;
	GQueue events;	      /* of RawEvent, read but not yet delivered */
	GHashTable *modified; /* "wd/name" -> ModifyEntry */
	gchar *buffer;
	guint dispatching;    /* callbacks on the stack */
	gboolean destroyed;   /* freed from a callback: free when they return */
};

static void
raw_event_free(gpointer data)
{
	RawEvent *event = data;

	g_free(event->name);
	g_free(event);
}

static void
modify_entry_free(gpointer data)
{
	ModifyEntry *entry = data;

	g_free(entry->name);
	g_free(entry);
}

static gchar *
modify_key(gint wd, const gchar *name)
{
	return g_strdup_printf("%d/%s", wd, name);
}

static void
av1d_inotify_destroy_source(GSource **source)
{
	if (*source == NULL)
		return;
	g_source_destroy(*source);
	g_clear_pointer(source, g_source_unref);
}

static void
av1d_inotify_really_free(Av1dInotify *self)
{
	g_queue_clear_full(&self->events, raw_event_free);
	g_hash_table_unref(self->modified);
	g_main_context_unref(self->context);
	g_free(self->buffer);
	g_free(self);
}

/* delivering ------------------------------------------------------------------ */

/* FALSE when the callback freed self: stop touching it */
static gboolean
av1d_inotify_deliver(Av1dInotify *self, const Av1dInotifyEvent *event)
{
	self->dispatching++;
	self->event_func(event, self->user_data);
	self->dispatching--;
	return !self->destroyed;
}

static gboolean
av1d_inotify_deliver_simple(Av1dInotify *self,
			    Av1dInotifyKind kind,
			    const RawEvent *raw,
			    gboolean is_dir)
{
	Av1dInotifyEvent event = {
		.kind = kind,
		.wd = raw->wd,
		.name = raw->name,
		.other_wd = -1,
		.is_dir = is_dir,
	};

	return av1d_inotify_deliver(self, &event);
}

static gboolean
on_modify_timeout(gpointer user_data);

static void
av1d_inotify_ensure_modify_timer(Av1dInotify *self)
{
	if (self->modify_source != NULL)
		return;
	self->modify_source = g_timeout_source_new(AV1D_INOTIFY_RATE_LIMIT_MS);
	g_source_set_callback(self->modify_source, on_modify_timeout, self, NULL);
	g_source_set_name(self->modify_source, "av1d inotify rate limit");
	g_source_attach(self->modify_source, self->context);
}

/* the first IN_MODIFY of a name goes out at once, later ones within the
 * rate limit are held and sent once when it ends */
static gboolean
av1d_inotify_modified(Av1dInotify *self, const RawEvent *raw)
{
	g_autofree gchar *key = modify_key(raw->wd, raw->name);
	ModifyEntry *entry = g_hash_table_lookup(self->modified, key);
	gint64 now = g_get_monotonic_time();

	if (entry != NULL && now - entry->emitted_at < AV1D_INOTIFY_RATE_LIMIT_MS * 1000) {
		entry->pending = TRUE;
		return TRUE;
	}
	if (entry == NULL) {
		entry = g_new0(ModifyEntry, 1);
		entry->wd = raw->wd;
		entry->name = g_strdup(raw->name);
		g_hash_table_insert(self->modified, g_steal_pointer(&key), entry);
	}
	entry->emitted_at = now;
	entry->pending = FALSE;
	av1d_inotify_ensure_modify_timer(self);
	return av1d_inotify_deliver_simple(self, AV1D_INOTIFY_CHANGED, raw, FALSE);
}

static gboolean
on_modify_timeout(gpointer user_data)
{
	Av1dInotify *self = user_data;
	g_autoptr(GPtrArray) due = g_ptr_array_new_with_free_func(modify_entry_free);
	gint64 now = g_get_monotonic_time();
	GHashTableIter iter;
	ModifyEntry *entry;
	gboolean again;

	g_hash_table_iter_init(&iter, self->modified);
	while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&entry)) {
		ModifyEntry *copy;

		if (now - entry->emitted_at < AV1D_INOTIFY_RATE_LIMIT_MS * 1000)
			continue;
		if (!entry->pending) {
			g_hash_table_iter_remove(&iter);
			continue;
		}
		/* sent now, and a writer still busy is held for one more interval */
		entry->pending = FALSE;
		entry->emitted_at = now;
		copy = g_new0(ModifyEntry, 1);
		copy->wd = entry->wd;
		copy->name = g_strdup(entry->name);
		g_ptr_array_add(due, copy);
	}
	/* decided before delivering: a callback may start a new timer */
	again = g_hash_table_size(self->modified) > 0;
	if (!again)
		g_clear_pointer(&self->modify_source, g_source_unref);
	for (guint i = 0; i < due->len; i++) {
		ModifyEntry *copy = g_ptr_array_index(due, i);
		RawEvent raw = {.wd = copy->wd, .name = copy->name};

		if (!av1d_inotify_deliver_simple(self, AV1D_INOTIFY_CHANGED, &raw, FALSE)) {
			av1d_inotify_really_free(self);
			return G_SOURCE_REMOVE;
		}
	}
	return again ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* anything else about a name ends its rate limit: what it reports is newer */
static void
av1d_inotify_forget_modified(Av1dInotify *self, gint wd, const gchar *name)
{
	g_autofree gchar *key = NULL;

	if (name == NULL || g_hash_table_size(self->modified) == 0)
		return;
	key = modify_key(wd, name);
	g_hash_table_remove(self->modified, key);
}

/* pairing moves ----------------------------------------------------------------- */

static GList *
av1d_inotify_find_partner(Av1dInotify *self, GList *from)
{
	const RawEvent *moved_from = from->data;

	for (GList *l = from->next; l != NULL; l = l->next) {
		const RawEvent *raw = l->data;

		if ((raw->mask & IN_MOVED_TO) != 0 && raw->cookie == moved_from->cookie)
			return l;
	}
	return NULL;
}

static gboolean
av1d_inotify_deliver_move(Av1dInotify *self, const RawEvent *from, const RawEvent *to)
{
	Av1dInotifyEvent event = {
		.kind = AV1D_INOTIFY_MOVED,
		.wd = from->wd,
		.name = from->name,
		.other_wd = to->wd,
		.other_name = to->name,
		.is_dir = (from->mask & IN_ISDIR) != 0,
	};

	av1d_inotify_forget_modified(self, to->wd, to->name);
	return av1d_inotify_deliver(self, &event);
}

/* one event; FALSE when self was freed */
static gboolean
av1d_inotify_deliver_raw(Av1dInotify *self, const RawEvent *raw)
{
	gboolean is_dir = (raw->mask & IN_ISDIR) != 0;

	if ((raw->mask & (IN_IGNORED | IN_UNMOUNT)) != 0)
		return av1d_inotify_deliver_simple(self, AV1D_INOTIFY_WATCH_REMOVED, raw, TRUE);
	if (raw->name == NULL) {
		if ((raw->mask & IN_DELETE_SELF) != 0)
			return av1d_inotify_deliver_simple(self, AV1D_INOTIFY_SELF_DELETED, raw,
							   TRUE);
		if ((raw->mask & IN_MOVE_SELF) != 0)
			return av1d_inotify_deliver_simple(self, AV1D_INOTIFY_SELF_MOVED, raw,
							   TRUE);
		/* the directory's own attributes: nothing a candidate cares about */
		return TRUE;
	}
	if ((raw->mask & IN_MODIFY) != 0)
		return av1d_inotify_modified(self, raw);
	av1d_inotify_forget_modified(self, raw->wd, raw->name);
	if ((raw->mask & IN_CREATE) != 0)
		return av1d_inotify_deliver_simple(self, AV1D_INOTIFY_CREATED, raw, is_dir);
	if ((raw->mask & IN_CLOSE_WRITE) != 0)
		return av1d_inotify_deliver_simple(self, AV1D_INOTIFY_CLOSED, raw, is_dir);
	if ((raw->mask & IN_ATTRIB) != 0)
		return av1d_inotify_deliver_simple(self, AV1D_INOTIFY_ATTRIB, raw, is_dir);
	if ((raw->mask & IN_DELETE) != 0)
		return av1d_inotify_deliver_simple(self, AV1D_INOTIFY_DELETED, raw, is_dir);
	if ((raw->mask & IN_MOVED_FROM) != 0)
		return av1d_inotify_deliver_simple(self, AV1D_INOTIFY_MOVED_OUT, raw, is_dir);
	if ((raw->mask & IN_MOVED_TO) != 0)
		return av1d_inotify_deliver_simple(self, AV1D_INOTIFY_MOVED_IN, raw, is_dir);
	return TRUE;
}

static gboolean
on_pair_timeout(gpointer user_data);

static void
av1d_inotify_wait_for_partner(Av1dInotify *self, const RawEvent *moved_from)
{
	gint64 wait_ms =
		AV1D_INOTIFY_MOVE_PAIR_MS - (g_get_monotonic_time() - moved_from->reached_at) / 1000;

	if (self->pair_source != NULL)
		return;
	self->pair_source =
		g_timeout_source_new((guint)CLAMP(wait_ms, 1, AV1D_INOTIFY_MOVE_PAIR_MS));
	g_source_set_callback(self->pair_source, on_pair_timeout, self, NULL);
	g_source_set_name(self->pair_source, "av1d inotify move pairing");
	g_source_attach(self->pair_source, self->context);
}

static void
av1d_inotify_parse(Av1dInotify *self, gssize len);

/* up to @max_reads reads of what the kernel has queued (the fd does not
 * block); returns how many events came */
static guint
av1d_inotify_read(Av1dInotify *self, guint max_reads)
{
	guint before = self->events.length;

	for (guint i = 0; self->fd >= 0 && i < max_reads; i++) {
		gssize len = read(self->fd, self->buffer, READ_BUFFER_SIZE);

		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0) {
			if (len < 0 && errno != EAGAIN)
				g_message("reading inotify events: %s", g_strerror(errno));
			break;
		}
		av1d_inotify_parse(self, len);
	}
	return self->events.length - before;
}

/* delivers what was read, in order; an IN_MOVED_FROM whose partner may still
 * come holds everything behind it back; FALSE when self was freed */
static gboolean
av1d_inotify_process(Av1dInotify *self)
{
	RawEvent *raw;

	while ((raw = g_queue_peek_head(&self->events)) != NULL) {
		gboolean alive;

		if ((raw->mask & IN_Q_OVERFLOW) != 0) {
			g_queue_pop_head(&self->events);
			raw_event_free(raw);
			/* the names held back are no better than the rest now */
			g_hash_table_remove_all(self->modified);
			self->dispatching++;
			self->overflow_func(self->user_data);
			self->dispatching--;
			if (self->destroyed)
				return FALSE;
			continue;
		}
		if ((raw->mask & IN_MOVED_FROM) != 0) {
			GList *partner = av1d_inotify_find_partner(self, self->events.head);

			/* the kernel queues both halves of a rename together: when
			 * the read ended between them, the other is waiting there */
			if (partner == NULL && av1d_inotify_read(self, READS_PER_DISPATCH) > 0)
				partner = av1d_inotify_find_partner(self, self->events.head);
			/* the wait counts from here, not from the read: delivering
			 * what came before may have taken longer than the wait */
			if (raw->reached_at == 0)
				raw->reached_at = g_get_monotonic_time();
			if (partner == NULL && g_get_monotonic_time() - raw->reached_at <
						       AV1D_INOTIFY_MOVE_PAIR_MS * 1000) {
				av1d_inotify_wait_for_partner(self, raw);
				return TRUE;
			}
			if (partner != NULL) {
				RawEvent *to = partner->data;

				g_queue_delete_link(&self->events, partner);
				g_queue_pop_head(&self->events);
				alive = av1d_inotify_deliver_move(self, raw, to);
				raw_event_free(to);
				raw_event_free(raw);
				if (!alive)
					return FALSE;
				continue;
			}
		}
		g_queue_pop_head(&self->events);
		alive = av1d_inotify_deliver_raw(self, raw);
		raw_event_free(raw);
		if (!alive)
			return FALSE;
	}
	return TRUE;
}

static gboolean
on_pair_timeout(gpointer user_data)
{
	Av1dInotify *self = user_data;

	g_clear_pointer(&self->pair_source, g_source_unref);
	if (!av1d_inotify_process(self))
		av1d_inotify_really_free(self);
	return G_SOURCE_REMOVE;
}

/* reading ---------------------------------------------------------------------- */

static void
av1d_inotify_parse(Av1dInotify *self, gssize len)
{
	gssize offset = 0;

	while (offset + (gssize)sizeof(struct inotify_event) <= len) {
		const struct inotify_event *kevent = (const void *)(self->buffer + offset);
		RawEvent *raw = g_new0(RawEvent, 1);

		raw->wd = kevent->wd;
		raw->mask = kevent->mask;
		raw->cookie = kevent->cookie;
		/* the name is NUL-padded to the length the kernel gives */
		if (kevent->len > 0 && kevent->name[0] != '\0')
			raw->name = g_strndup(kevent->name, kevent->len);
		g_queue_push_tail(&self->events, raw);
		offset += (gssize)sizeof(struct inotify_event) + kevent->len;
	}
}

static gboolean
on_readable(gint fd, GIOCondition condition, gpointer user_data)
{
	Av1dInotify *self = user_data;

	av1d_inotify_read(self, READS_PER_DISPATCH);
	/* a partner search waiting on the timer is not cut short: it ends with
	 * the timer or when the partner turns up in what was just read */
	if (self->pair_source != NULL) {
		const RawEvent *head = g_queue_peek_head(&self->events);

		if (head == NULL || av1d_inotify_find_partner(self, self->events.head) == NULL)
			return G_SOURCE_CONTINUE;
		av1d_inotify_destroy_source(&self->pair_source);
	}
	if (!av1d_inotify_process(self)) {
		av1d_inotify_really_free(self);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

/* public --------------------------------------------------------------------- */

Av1dInotify *
av1d_inotify_new(GMainContext *context,
		 Av1dInotifyEventFunc event_func,
		 Av1dInotifyOverflowFunc overflow_func,
		 gpointer user_data,
		 GError **error)
{
	Av1dInotify *self;
	gint fd;

	g_return_val_if_fail(event_func != NULL, NULL);
	g_return_val_if_fail(overflow_func != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0) {
		gint saved = errno;

		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved), "inotify_init1: %s",
			    g_strerror(saved));
		return NULL;
	}
	self = g_new0(Av1dInotify, 1);
	self->fd = fd;
	self->context =
		context != NULL ? g_main_context_ref(context) : g_main_context_ref_thread_default();
	self->event_func = event_func;
	self->overflow_func = overflow_func;
	self->user_data = user_data;
	self->buffer = g_malloc(READ_BUFFER_SIZE);
	self->modified = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, modify_entry_free);
	g_queue_init(&self->events);
	self->fd_source = g_unix_fd_source_new(fd, G_IO_IN);
	g_source_set_callback(self->fd_source, G_SOURCE_FUNC(on_readable), self, NULL);
	g_source_set_name(self->fd_source, "av1d inotify");
	g_source_attach(self->fd_source, self->context);
	return self;
}

void
av1d_inotify_free(Av1dInotify *self)
{
	if (self == NULL)
		return;
	av1d_inotify_destroy_source(&self->fd_source);
	av1d_inotify_destroy_source(&self->pair_source);
	av1d_inotify_destroy_source(&self->modify_source);
	if (self->fd >= 0)
		close(self->fd);
	self->fd = -1;
	/* freed from one of our own callbacks: the caller up the stack frees */
	if (self->dispatching > 0) {
		self->destroyed = TRUE;
		return;
	}
	av1d_inotify_really_free(self);
}

gint
av1d_inotify_add_watch(Av1dInotify *self, const gchar *path, GError **error)
{
	gint wd;

	g_return_val_if_fail(self != NULL, -1);
	g_return_val_if_fail(path != NULL, -1);
	g_return_val_if_fail(error == NULL || *error == NULL, -1);

	wd = inotify_add_watch(self->fd, path, WATCH_MASK);
	if (wd < 0) {
		gint saved = errno;

		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved), "watching %s: %s",
			    path, g_strerror(saved));
		return -1;
	}
	return wd;
}

void
av1d_inotify_rm_watch(Av1dInotify *self, gint wd)
{
	g_return_if_fail(self != NULL);

	/* EINVAL when the kernel dropped it already (directory deleted) */
	if (inotify_rm_watch(self->fd, wd) != 0 && errno != EINVAL)
		g_debug("removing inotify watch %d: %s", wd, g_strerror(errno));
}
