/*
 * One inotify instance for the whole library: the file descriptor in the
 * main loop (g_unix_fd_add, so no wakeups while nothing happens), the parsing
 * of the kernel's event buffer, IN_MOVED_FROM/IN_MOVED_TO paired by cookie,
 * repeated IN_MODIFY of one file rate-limited, and IN_Q_OVERFLOW reported on
 * its own. It knows watch descriptors and names only; which directory a
 * descriptor stands for is the watcher's business (av1d-watcher.c).
 *
 * Why not one GFileMonitor per directory, as localsearch does and as issue 6
 * first said (measured with bench/watch.sh, 100 000 files in 10 000 dirs):
 *  - memory: a GFileMonitor costs ~1.5 KB of user memory (GLocalDirectoryMonitor,
 *    its GFileMonitorSource, GIO's inotify-path bookkeeping), 15 MB for 10 000
 *    directories, more than the whole 10 MB target (SPEC 14); here a watched
 *    directory is a path and a few integers;
 *  - overflow: GIO drops the kernel's IN_Q_OVERFLOW silently (inotify-path.c
 *    dispatches only events of known watch descriptors, and the overflow event
 *    has wd -1), so a daemon on GFileMonitor cannot re-crawl after lost events,
 *    which SPEC 3 requires;
 *  - crawl: with monitors came the GIO enumerator crawl (a GFileInfo per file,
 *    a round trip per batch), 5.3 times slower than find(1); the crawl is now a
 *    readdir walk in a worker thread, and inotify_add_watch() is one syscall.
 *
 * Events are delivered on the GMainContext given to av1d_inotify_new(), in
 * the order the kernel queued them, except that a rate-limited IN_MODIFY may
 * arrive up to AV1D_INOTIFY_RATE_LIMIT_MS late.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* repeated IN_MODIFY of one name within this time collapse into one more
 * event at its end, so the stability gate still sees the last write */
#define AV1D_INOTIFY_RATE_LIMIT_MS 50
/* how long an IN_MOVED_FROM waits for its IN_MOVED_TO before it counts as a
 * move out (the kernel queues both in one rename(), but a read may fall
 * between them) */
#define AV1D_INOTIFY_MOVE_PAIR_MS 10

typedef enum {
	AV1D_INOTIFY_CREATED,	    /* IN_CREATE */
	AV1D_INOTIFY_CHANGED,	    /* IN_MODIFY, rate-limited */
	AV1D_INOTIFY_CLOSED,	    /* IN_CLOSE_WRITE */
	AV1D_INOTIFY_ATTRIB,	    /* IN_ATTRIB */
	AV1D_INOTIFY_DELETED,	    /* IN_DELETE */
	AV1D_INOTIFY_MOVED,	    /* name in wd moved to other_name in other_wd */
	AV1D_INOTIFY_MOVED_OUT,	    /* IN_MOVED_FROM without a partner */
	AV1D_INOTIFY_MOVED_IN,	    /* IN_MOVED_TO without a partner */
	AV1D_INOTIFY_SELF_DELETED,  /* the watched directory itself; name is NULL */
	AV1D_INOTIFY_SELF_MOVED,    /* the watched directory itself; name is NULL */
	AV1D_INOTIFY_WATCH_REMOVED, /* IN_IGNORED or IN_UNMOUNT: the kernel dropped wd */
} Av1dInotifyKind;

typedef struct {
	Av1dInotifyKind kind;
	gint wd;
	const gchar *name; /* NULL for the SELF_ kinds and WATCH_REMOVED */
	gint other_wd;	   /* MOVED only, else -1 */
	const gchar *other_name;
	gboolean is_dir;
} Av1dInotifyEvent;

typedef void (*Av1dInotifyEventFunc)(const Av1dInotifyEvent *event, gpointer user_data);
/* the kernel queue overflowed: events were lost, anything may have changed */
typedef void (*Av1dInotifyOverflowFunc)(gpointer user_data);

typedef struct _Av1dInotify Av1dInotify;

/* inotify_init1() happens here: /proc/sys/fs/inotify/max_queued_events is
 * read by the kernel at this moment */
Av1dInotify *
av1d_inotify_new(GMainContext *context,
		 Av1dInotifyEventFunc event_func,
		 Av1dInotifyOverflowFunc overflow_func,
		 gpointer user_data,
		 GError **error);
/* closes the descriptor (every watch goes with it); safe from a callback */
void
av1d_inotify_free(Av1dInotify *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Av1dInotify, av1d_inotify_free)

/* watches the directory @path (never through a symlink); returns the watch
 * descriptor, the same one for a directory watched already, or -1 with
 * @error set (G_IO_ERROR_NO_SPACE when max_user_watches is used up) */
gint
av1d_inotify_add_watch(Av1dInotify *self, const gchar *path, GError **error);
/* the kernel still queues IN_IGNORED for @wd (WATCH_REMOVED): forget @wd
 * first, descriptors are not reused soon (the kernel allocates them cyclically) */
void
av1d_inotify_rm_watch(Av1dInotify *self, gint wd);

G_END_DECLS
