#define G_LOG_DOMAIN "av1d-watcher"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>

#include "av1d-candidate.h"
#include "av1d-error.h"
#include "av1d-sidecar.h"
#include "av1d-watcher.h"

#define AV1D_WATCHER_RATE_LIMIT_MS 50

#define CRAWL_BATCH		 200
/* directories enumerated at once: each enumeration is a round trip to
 * GIO's worker threads, and one at a time the crawl waits on latency */
#define CRAWL_IN_FLIGHT		 16
#define CRAWL_ATTRIBUTES                                                                           \
	G_FILE_ATTRIBUTE_STANDARD_NAME "," G_FILE_ATTRIBUTE_STANDARD_TYPE                          \
	"," G_FILE_ATTRIBUTE_STANDARD_SIZE
#define WATCHES_LEFT_FOR_OTHERS	 500
#define DEFAULT_MAX_USER_WATCHES 8192
#define FUSE_SUPER_MAGIC	 0x65735546u

typedef struct {
	gchar *path;
	gchar *reason; /* why it is rescanned instead of watched, NULL while counting */
	gboolean fallback;
	guint generation; /* bumped when the root's crawl starts over */
	guint pending;	  /* crawl items of this generation not finished yet */
	guint dirs_seen;  /* directories this generation's crawl visited */
} WatchRoot;

typedef struct {
	gchar *path;
	GFileMonitor *monitor;
	dev_t dev;
	ino_t ino;
} WatchedDir;

typedef struct {
	Av1dWatcher *self; /* no reference: dispose cancels the item before self goes */
	WatchRoot *root;
	guint generation;
	gchar *path;
	GFileEnumerator *enumerator;
} CrawlItem;

typedef enum {
	WATCH_OK,
	WATCH_DUPLICATE,
	WATCH_OVER_BUDGET,
} WatchResult;

struct _Av1dWatcher {
	GObject parent_instance;

	const Av1dConfig *config;
	GMainContext *context;
	GPtrArray *roots;	   /* of WatchRoot, filled by start */
	GTree *dirs;		   /* path -> WatchedDir, sorted so that a subtree is one range */
	GHashTable *dirs_by_inode; /* the same WatchedDirs, keyed by dev/ino */
	guint budget_override;
	guint budget;
	GQueue crawl_queue; /* of CrawlItem */
	guint crawl_in_flight; /* directories being enumerated now */
	gboolean announce_finish;
	gboolean started;
	GCancellable *cancellable;
	GSource *kick_source;
	GSource *rescan_source;
};

enum {
	SIGNAL_FILE_CHANGED,
	SIGNAL_FILE_REMOVED,
	SIGNAL_FILE_RENAMED,
	SIGNAL_DIRECTORY_REMOVED,
	SIGNAL_CRAWL_FINISHED,
	N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE(Av1dWatcher, av1d_watcher, G_TYPE_OBJECT)

static void
on_monitor_changed(GFileMonitor *monitor,
		   GFile *file,
		   GFile *other,
		   GFileMonitorEvent event,
		   gpointer user_data);
static void
av1d_watcher_crawl_kick(Av1dWatcher *self);

/* filesystems ---------------------------------------------------------------- */

static const struct {
	guint32 magic;
	const gchar *name;
} network_magics[] = {
	{0x6969u, "nfs"},      {0x517Bu, "smb"},     {0xFF534D42u, "cifs"}, {0xFE534D42u, "smb2"},
	{0x00C36400u, "ceph"}, {0x5346414Fu, "afs"}, {0x73757245u, "coda"}, {0x01021997u, "9p"},
};

/* FUSE filesystems whose files change on other machines */
static const gchar *const network_fuse_types[] = {
	"fuse.sshfs",	  "fuse.rclone",    "fuse.s3fs",  "fuse.gcsfuse",  "fuse.curlftpfs",
	"fuse.glusterfs", "fuse.ceph-fuse", "fuse.davfs", "fuse.smbnetfs", NULL,
};

const gchar *
av1d_watcher_network_fs_name(guint32 f_type, const gchar *mount_fstype)
{
	for (guint i = 0; i < G_N_ELEMENTS(network_magics); i++) {
		if (network_magics[i].magic == f_type)
			return network_magics[i].name;
	}
	if (f_type != FUSE_SUPER_MAGIC)
		return NULL;
	/* a FUSE mount that does not say what it is could be remote */
	if (mount_fstype == NULL || g_strcmp0(mount_fstype, "fuse") == 0)
		return "fuse";
	for (guint i = 0; network_fuse_types[i] != NULL; i++) {
		if (g_strcmp0(mount_fstype, network_fuse_types[i]) == 0)
			return network_fuse_types[i];
	}
	return NULL;
}

static gboolean
path_is_at_or_below(const gchar *path, const gchar *dir)
{
	gsize len = strlen(dir);

	if (g_strcmp0(dir, "/") == 0)
		return path[0] == '/';
	return strncmp(path, dir, len) == 0 && (path[len] == '\0' || path[len] == '/');
}

gchar *
av1d_watcher_mount_fstype(const gchar *mountinfo, const gchar *path)
{
	g_auto(GStrv) lines = g_strsplit(mountinfo, "\n", -1);
	g_autofree gchar *best = NULL;
	gsize best_len = 0;

	for (guint i = 0; lines[i] != NULL; i++) {
		/* id parent dev root mount-point options [optional...] - fstype source super */
		g_auto(GStrv) fields = g_strsplit(lines[i], " ", -1);
		g_autofree gchar *mount_point = NULL;
		guint n = g_strv_length(fields);
		guint sep = 6;

		while (sep < n && g_strcmp0(fields[sep], "-") != 0)
			sep++;
		if (n < 7 || sep + 1 >= n)
			continue;
		/* mountinfo escapes blanks and backslashes as octal */
		mount_point = g_strcompress(fields[4]);
		/* a later mount on the same point hides the earlier one */
		if (!path_is_at_or_below(path, mount_point) ||
		    (best != NULL && strlen(mount_point) < best_len))
			continue;
		best_len = strlen(mount_point);
		g_free(best);
		best = g_strdup(fields[sep + 1]);
	}
	return g_steal_pointer(&best);
}

gchar *
av1d_watcher_network_reason(const gchar *path)
{
	struct statfs sfs;
	g_autofree gchar *mountinfo = NULL;
	g_autofree gchar *fstype = NULL;
	const gchar *name;

	if (statfs(path, &sfs) != 0)
		return NULL;
	/* without the mount type every FUSE mount counts as remote */
	if (av1d_watcher_network_fs_name((guint32)sfs.f_type, NULL) == NULL)
		return NULL;
	if (g_file_get_contents("/proc/self/mountinfo", &mountinfo, NULL, NULL))
		fstype = av1d_watcher_mount_fstype(mountinfo, path);
	name = av1d_watcher_network_fs_name((guint32)sfs.f_type, fstype);
	if (name == NULL)
		return NULL;
	return g_strdup_printf("network filesystem %s: inotify sees no remote changes",
			       fstype != NULL ? fstype : name);
}

guint
av1d_watcher_read_budget(void)
{
	g_autofree gchar *text = NULL;
	guint64 max = 0;

	if (g_file_get_contents("/proc/sys/fs/inotify/max_user_watches", &text, NULL, NULL))
		max = g_ascii_strtoull(text, NULL, 10);
	if (max == 0)
		max = DEFAULT_MAX_USER_WATCHES;
	/* other programs of the same user need watches too */
	if (max <= WATCHES_LEFT_FOR_OTHERS)
		return 0;
	return (guint)MIN(max - WATCHES_LEFT_FOR_OTHERS, G_MAXINT);
}

/* roots and names ------------------------------------------------------------ */

static void
watch_root_free(gpointer data)
{
	WatchRoot *root = data;

	g_free(root->path);
	g_free(root->reason);
	g_free(root);
}

static WatchRoot *
av1d_watcher_find_root(Av1dWatcher *self, const gchar *path)
{
	const gchar *root_path;

	if (self->roots == NULL || path == NULL)
		return NULL;
	root_path = av1d_candidate_find_root(self->config, path);
	for (guint i = 0; root_path != NULL && i < self->roots->len; i++) {
		WatchRoot *root = g_ptr_array_index(self->roots, i);
		if (g_strcmp0(root->path, root_path) == 0)
			return root;
	}
	return NULL;
}

/* the root of @path when it is watched, not rescanned */
static WatchRoot *
av1d_watcher_watched_root(Av1dWatcher *self, const gchar *path)
{
	WatchRoot *root = av1d_watcher_find_root(self, path);

	return root != NULL && !root->fallback ? root : NULL;
}

static gboolean
av1d_watcher_name_may_be_candidate(Av1dWatcher *self, const gchar *basename)
{
	return basename[0] != '.' && !av1d_sidecar_is_own_file(basename) &&
	       av1d_candidate_has_extension(self->config, basename);
}

/* what a vanished path was, as far as its name and the markers tell */
static gboolean
av1d_watcher_was_candidate(Av1dWatcher *self, WatchRoot *root, const gchar *path)
{
	g_autofree gchar *basename = g_path_get_basename(path);

	return av1d_watcher_name_may_be_candidate(self, basename) &&
	       !av1d_sidecar_is_skipped(path, root->path);
}

static gboolean
av1d_watcher_is_marker(const gchar *path)
{
	return g_str_has_suffix(path, AV1D_SKIP_SUFFIX);
}

static gboolean
av1d_watcher_is_dir_marker(const gchar *path)
{
	g_autofree gchar *basename = g_path_get_basename(path);

	return g_strcmp0(basename, AV1D_DIR_SKIP_MARKER) == 0;
}

/* a marker above @dir (up to the root) or beside it keeps it unvisited */
static gboolean
av1d_watcher_dir_skipped_above(WatchRoot *root, const gchar *dir)
{
	if (g_strcmp0(dir, root->path) == 0)
		return FALSE;
	return av1d_sidecar_is_skipped(dir, root->path);
}

static void
av1d_watcher_report_file(Av1dWatcher *self, WatchRoot *root, const gchar *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return;
	if (av1d_candidate_check(self->config, root->path, path, &st) == AV1D_CANDIDATE_YES)
		g_signal_emit(self, signals[SIGNAL_FILE_CHANGED], 0, path);
}

/* watched directories -------------------------------------------------------- */

static void
watched_dir_free(gpointer data)
{
	WatchedDir *dir = data;

	g_signal_handlers_disconnect_matched(dir->monitor, G_SIGNAL_MATCH_FUNC, 0, 0, NULL,
					     (gpointer)on_monitor_changed, NULL);
	g_file_monitor_cancel(dir->monitor);
	g_object_unref(dir->monitor);
	g_free(dir->path);
	g_free(dir);
}

static guint
watched_dir_inode_hash(gconstpointer key)
{
	const WatchedDir *dir = key;

	return (guint)((guint64)dir->ino ^ ((guint64)dir->ino >> 32) ^ (guint64)dir->dev);
}

static gboolean
watched_dir_inode_equal(gconstpointer a, gconstpointer b)
{
	const WatchedDir *dir_a = a;
	const WatchedDir *dir_b = b;

	return dir_a->dev == dir_b->dev && dir_a->ino == dir_b->ino;
}

static gint
compare_paths(gconstpointer a, gconstpointer b, gpointer user_data)
{
	return strcmp(a, b);
}

static void
av1d_watcher_unwatch(Av1dWatcher *self, WatchedDir *dir)
{
	if (g_hash_table_lookup(self->dirs_by_inode, dir) == dir)
		g_hash_table_remove(self->dirs_by_inode, dir);
	g_tree_steal(self->dirs, dir->path);
	watched_dir_free(dir);
}

/* stops watching every directory below @path, and @path itself when
 * @with_self; returns how many watches went */
static guint
av1d_watcher_drop_subtree(Av1dWatcher *self, const gchar *path, gboolean with_self)
{
	g_autoptr(GPtrArray) doomed = g_ptr_array_new();
	g_autofree gchar *prefix =
		g_str_has_suffix(path, "/") ? g_strdup(path) : g_strconcat(path, "/", NULL);
	WatchedDir *dir = g_tree_lookup(self->dirs, path);
	GTreeNode *node;

	if (with_self && dir != NULL)
		g_ptr_array_add(doomed, dir);
	/* in strcmp order everything below @path follows "@path/" */
	for (node = g_tree_lower_bound(self->dirs, prefix);
	     node != NULL && g_str_has_prefix(g_tree_node_key(node), prefix);
	     node = g_tree_node_next(node))
		g_ptr_array_add(doomed, g_tree_node_value(node));
	for (guint i = 0; i < doomed->len; i++)
		av1d_watcher_unwatch(self, g_ptr_array_index(doomed, i));
	return doomed->len;
}

/* a watched directory went away (or moved): forget it and everything below */
static gboolean
av1d_watcher_forget_tree(Av1dWatcher *self, const gchar *path)
{
	WatchRoot *root = av1d_watcher_find_root(self, path);

	if (av1d_watcher_drop_subtree(self, path, TRUE) == 0)
		return FALSE;
	if (root != NULL && g_strcmp0(root->path, path) == 0)
		g_message("library root %s vanished; it is no longer watched until a rescan", path);
	g_signal_emit(self, signals[SIGNAL_DIRECTORY_REMOVED], 0, path);
	return TRUE;
}

/* one directory, one inode: a second path for a watched inode is either the
 * same directory moved (the old watches are stale and, since GIO shares the
 * kernel watch between both paths, must go first) or a bind mount */
static gboolean
av1d_watcher_resolve_inode_clash(Av1dWatcher *self, const gchar *path, WatchedDir *other)
{
	g_autofree gchar *other_path = g_strdup(other->path);
	struct stat st;

	if (lstat(other_path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_dev == other->dev &&
	    st.st_ino == other->ino) {
		g_debug("not watching %s: it is watched already as %s", path, other_path);
		return FALSE;
	}
	av1d_watcher_forget_tree(self, other_path);
	return TRUE;
}

static WatchedDir *
av1d_watcher_add_monitor(Av1dWatcher *self, const gchar *path, const struct stat *st)
{
	g_autoptr(GFile) file = g_file_new_for_path(path);
	g_autoptr(GError) error = NULL;
	GFileMonitor *monitor;
	WatchedDir *dir;

	monitor = g_file_monitor_directory(file, G_FILE_MONITOR_WATCH_MOVES, NULL, &error);
	if (monitor == NULL) {
		g_debug("not watching %s: %s", path, error->message);
		return NULL;
	}
	/* GIO holds back repeated CHANGED events for 800 ms by default; the
	 * stability gate counts its quiet time from the last event, so that
	 * delay would add to every file's latency */
	g_file_monitor_set_rate_limit(monitor, AV1D_WATCHER_RATE_LIMIT_MS);
	dir = g_new0(WatchedDir, 1);
	dir->path = g_strdup(path);
	dir->monitor = monitor;
	dir->dev = st->st_dev;
	dir->ino = st->st_ino;
	g_signal_connect(monitor, "changed", G_CALLBACK(on_monitor_changed), self);
	g_tree_insert(self->dirs, dir->path, dir);
	g_hash_table_add(self->dirs_by_inode, dir);
	return dir;
}

static WatchResult
av1d_watcher_watch_dir(Av1dWatcher *self, const gchar *path, const struct stat *st)
{
	WatchedDir probe = {.dev = st->st_dev, .ino = st->st_ino};
	WatchedDir *same_path = g_tree_lookup(self->dirs, path);
	WatchedDir *same_inode = g_hash_table_lookup(self->dirs_by_inode, &probe);

	if (same_path != NULL && same_path == same_inode)
		return WATCH_OK;
	/* another directory took this name: what was watched here is gone */
	if (same_path != NULL)
		av1d_watcher_forget_tree(self, path);
	same_inode = g_hash_table_lookup(self->dirs_by_inode, &probe);
	if (same_inode != NULL && !av1d_watcher_resolve_inode_clash(self, path, same_inode))
		return WATCH_DUPLICATE;
	if ((guint)g_tree_nnodes(self->dirs) >= self->budget)
		return WATCH_OVER_BUDGET;
	av1d_watcher_add_monitor(self, path, st);
	return WATCH_OK;
}

/* the crawl ------------------------------------------------------------------ */

static void
crawl_item_free(gpointer data)
{
	CrawlItem *item = data;

	g_clear_object(&item->enumerator);
	g_free(item->path);
	g_free(item);
}

static void
av1d_watcher_crawl_push(Av1dWatcher *self, WatchRoot *root, const gchar *path)
{
	CrawlItem *item = g_new0(CrawlItem, 1);

	item->self = self;
	item->root = root;
	item->generation = root->generation;
	item->path = g_strdup(path);
	root->pending++;
	g_queue_push_tail(&self->crawl_queue, item);
}

static void
av1d_watcher_ensure_rescan_timer(Av1dWatcher *self);

/* said once per root: a root never leaves the fallback */
static void
av1d_watcher_announce_fallback(Av1dWatcher *self, WatchRoot *root)
{
	if (self->config->scan_interval_secs > 0)
		g_message("library root %s is rescanned every %u s instead of watched: %s",
			  root->path, self->config->scan_interval_secs, root->reason);
	else
		g_message("library root %s is not watched (%s) and scan_interval_secs is 0: "
			  "only a rescan finds new files there",
			  root->path, root->reason);
	av1d_watcher_ensure_rescan_timer(self);
}

static void
av1d_watcher_root_counted(Av1dWatcher *self, WatchRoot *root)
{
	guint available = self->budget - MIN(self->budget, (guint)g_tree_nnodes(self->dirs));

	root->reason = g_strdup_printf("needs %u watches, budget %u", root->dirs_seen, available);
	av1d_watcher_announce_fallback(self, root);
}

static void
av1d_watcher_crawl_item_done(Av1dWatcher *self, CrawlItem *item)
{
	WatchRoot *root = item->root;

	if (item->generation == root->generation && --root->pending == 0 && root->fallback &&
	    root->reason == NULL)
		av1d_watcher_root_counted(self, root);
	crawl_item_free(item);
}

/* the root needs more watches than there are: drop them all and crawl it
 * once more, only counting and reporting, to say how many it needs */
static void
av1d_watcher_root_over_budget(Av1dWatcher *self, WatchRoot *root)
{
	g_debug("watch budget of %u exhausted under %s", self->budget, root->path);
	root->fallback = TRUE;
	root->generation++;
	root->pending = 0;
	root->dirs_seen = 0;
	av1d_watcher_drop_subtree(self, root->path, TRUE);
	av1d_watcher_crawl_push(self, root, root->path);
}

static void
av1d_watcher_crawl_child(Av1dWatcher *self, CrawlItem *item, GFileInfo *info)
{
	const gchar *name = g_file_info_get_name(info);
	g_autofree gchar *path = g_build_filename(item->path, name, NULL);

	switch (g_file_info_get_file_type(info)) {
	case G_FILE_TYPE_DIRECTORY:
		/* hidden folders are never descended into */
		if (name[0] != '.')
			av1d_watcher_crawl_push(self, item->root, path);
		break;
	case G_FILE_TYPE_REGULAR:
		/* the crawl only enters folders without a marker above them, so
		 * the file's own marker is all that is left to check */
		if (av1d_watcher_name_may_be_candidate(self, name) &&
		    (guint64)g_file_info_get_size(info) >= self->config->min_bytes) {
			g_autofree gchar *marker = av1d_sidecar_skip_path(path);
			if (!g_file_test(marker, G_FILE_TEST_EXISTS))
				g_signal_emit(self, signals[SIGNAL_FILE_CHANGED], 0, path);
		}
		break;
	default:
		/* symlinks are never followed, special files never encoded */
		break;
	}
}

static void
av1d_watcher_crawl_next(Av1dWatcher *self, CrawlItem *item)
{
	self->crawl_in_flight--;
	av1d_watcher_crawl_item_done(self, item);
	av1d_watcher_crawl_kick(self);
}

static void
on_crawl_batch(GObject *source, GAsyncResult *result, gpointer user_data)
{
	CrawlItem *item = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dWatcher) self = NULL;
	GList *infos =
		g_file_enumerator_next_files_finish(G_FILE_ENUMERATOR(source), result, &error);

	/* only dispose cancels, and then self is gone */
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		crawl_item_free(item);
		return;
	}
	self = g_object_ref(item->self);
	if (error != NULL)
		g_debug("crawling %s: %s", item->path, error->message);
	for (GList *l = infos; l != NULL && item->generation == item->root->generation; l = l->next)
		av1d_watcher_crawl_child(self, item, l->data);
	/* a short batch is the last one: no round trip to learn that */
	if (g_list_length(infos) == CRAWL_BATCH && item->generation == item->root->generation)
		g_file_enumerator_next_files_async(item->enumerator, CRAWL_BATCH, G_PRIORITY_LOW,
						   self->cancellable, on_crawl_batch, item);
	else
		av1d_watcher_crawl_next(self, item);
	g_list_free_full(infos, g_object_unref);
}

static void
on_crawl_enumerated(GObject *source, GAsyncResult *result, gpointer user_data)
{
	CrawlItem *item = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dWatcher) self = NULL;
	GFileEnumerator *enumerator =
		g_file_enumerate_children_finish(G_FILE(source), result, &error);

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		crawl_item_free(item);
		return;
	}
	self = g_object_ref(item->self);
	if (enumerator == NULL) {
		/* GIO would poll a watch it could not set up every few seconds */
		if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)) {
			av1d_watcher_forget_tree(self, item->path);
		} else {
			g_message("cannot read %s, not watching it: %s", item->path,
				  error->message);
			av1d_watcher_drop_subtree(self, item->path, TRUE);
		}
		av1d_watcher_crawl_next(self, item);
		return;
	}
	item->enumerator = enumerator;
	g_file_enumerator_next_files_async(enumerator, CRAWL_BATCH, G_PRIORITY_LOW,
					   self->cancellable, on_crawl_batch, item);
}

/* FALSE when the item is done without enumerating anything */
static gboolean
av1d_watcher_crawl_begin(Av1dWatcher *self, CrawlItem *item)
{
	WatchRoot *root = item->root;
	g_autofree gchar *marker = NULL;
	g_autoptr(GFile) file = NULL;
	struct stat st;

	if (item->generation != root->generation)
		return FALSE;
	if (lstat(item->path, &st) != 0 || !S_ISDIR(st.st_mode))
		return FALSE;
	root->dirs_seen++;
	/* the watch comes first, so that nothing landing during the crawl is missed */
	if (!root->fallback) {
		WatchResult result = av1d_watcher_watch_dir(self, item->path, &st);

		if (result == WATCH_OVER_BUDGET)
			av1d_watcher_root_over_budget(self, root);
		if (result != WATCH_OK)
			return FALSE;
	}
	marker = g_build_filename(item->path, AV1D_DIR_SKIP_MARKER, NULL);
	if (g_file_test(marker, G_FILE_TEST_EXISTS)) {
		/* the marked folder stays watched so that removing the marker is seen */
		av1d_watcher_drop_subtree(self, item->path, FALSE);
		return FALSE;
	}
	file = g_file_new_for_path(item->path);
	g_file_enumerate_children_async(file, CRAWL_ATTRIBUTES, G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS,
					G_PRIORITY_LOW, self->cancellable, on_crawl_enumerated,
					item);
	return TRUE;
}

/* a few directories at a time: bounded open directories, little latency */
static void
av1d_watcher_crawl_kick(Av1dWatcher *self)
{
	CrawlItem *item;

	while (self->crawl_in_flight < CRAWL_IN_FLIGHT &&
	       (item = g_queue_pop_head(&self->crawl_queue)) != NULL) {
		if (av1d_watcher_crawl_begin(self, item))
			self->crawl_in_flight++;
		else
			av1d_watcher_crawl_item_done(self, item);
	}
	if (self->crawl_in_flight == 0 && g_queue_is_empty(&self->crawl_queue) &&
	    self->announce_finish) {
		self->announce_finish = FALSE;
		g_signal_emit(self, signals[SIGNAL_CRAWL_FINISHED], 0);
	}
}

static gboolean
on_kick_idle(gpointer user_data)
{
	g_autoptr(Av1dWatcher) self = g_object_ref(AV1D_WATCHER(user_data));

	g_clear_pointer(&self->kick_source, g_source_unref);
	av1d_watcher_crawl_kick(self);
	return G_SOURCE_REMOVE;
}

/* from the main loop, so that start() and rescan() never emit signals */
static void
av1d_watcher_schedule_kick(Av1dWatcher *self)
{
	if (self->kick_source != NULL)
		return;
	self->kick_source = g_idle_source_new();
	g_source_set_callback(self->kick_source, on_kick_idle, self, NULL);
	g_source_set_name(self->kick_source, "av1d watcher crawl");
	g_source_attach(self->kick_source, self->context);
}

static gboolean
on_rescan_timer(gpointer user_data)
{
	g_autoptr(Av1dWatcher) self = g_object_ref(AV1D_WATCHER(user_data));

	for (guint i = 0; i < self->roots->len; i++) {
		WatchRoot *root = g_ptr_array_index(self->roots, i);

		/* a slow rescan still running is not started twice */
		if (root->fallback && root->reason != NULL && root->pending == 0)
			av1d_watcher_crawl_push(self, root, root->path);
	}
	av1d_watcher_crawl_kick(self);
	return G_SOURCE_CONTINUE;
}

/* the only timer, and only while some root cannot be watched */
static void
av1d_watcher_ensure_rescan_timer(Av1dWatcher *self)
{
	if (self->rescan_source != NULL || self->config->scan_interval_secs == 0)
		return;
	self->rescan_source = g_timeout_source_new_seconds(self->config->scan_interval_secs);
	g_source_set_callback(self->rescan_source, on_rescan_timer, self, NULL);
	g_source_set_name(self->rescan_source, "av1d watcher fallback rescan");
	g_source_attach(self->rescan_source, self->context);
}

/* events --------------------------------------------------------------------- */

/* a new folder: watch it at once, crawl it for what landed before the watch */
static void
av1d_watcher_enter_dir(Av1dWatcher *self, WatchRoot *root, const gchar *path, const struct stat *st)
{
	g_autofree gchar *basename = g_path_get_basename(path);
	WatchResult result;

	if (basename[0] == '.' || av1d_watcher_dir_skipped_above(root, path))
		return;
	result = av1d_watcher_watch_dir(self, path, st);
	if (result == WATCH_OVER_BUDGET)
		av1d_watcher_root_over_budget(self, root);
	if (result == WATCH_OK)
		av1d_watcher_crawl_push(self, root, path);
}

static void
av1d_watcher_marker_added(Av1dWatcher *self, const gchar *path)
{
	g_autofree gchar *dir = g_path_get_dirname(path);

	/* a marked folder is skipped with everything below it */
	if (av1d_watcher_is_dir_marker(path))
		av1d_watcher_drop_subtree(self, dir, FALSE);
}

static void
av1d_watcher_marker_gone(Av1dWatcher *self, WatchRoot *root, const gchar *path)
{
	g_autofree gchar *dir = g_path_get_dirname(path);
	g_autofree gchar *source = NULL;

	if (av1d_watcher_is_dir_marker(path)) {
		if (g_tree_lookup(self->dirs, dir) != NULL &&
		    !av1d_watcher_dir_skipped_above(root, dir))
			av1d_watcher_crawl_push(self, root, dir);
		return;
	}
	source = g_strndup(path, strlen(path) - strlen(AV1D_SKIP_SUFFIX));
	av1d_watcher_report_file(self, root, source);
}

static void
av1d_watcher_on_appeared(Av1dWatcher *self, WatchRoot *root, const gchar *path, gboolean created)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		/* otherwise it is an event about a watched folder itself */
		if (created)
			av1d_watcher_enter_dir(self, root, path, &st);
		return;
	}
	if (!S_ISREG(st.st_mode))
		return;
	if (av1d_watcher_is_marker(path)) {
		if (created)
			av1d_watcher_marker_added(self, path);
		return;
	}
	if (av1d_candidate_check(self->config, root->path, path, &st) == AV1D_CANDIDATE_YES)
		g_signal_emit(self, signals[SIGNAL_FILE_CHANGED], 0, path);
}

static void
av1d_watcher_on_vanished(Av1dWatcher *self, WatchRoot *root, const gchar *path)
{
	if (av1d_watcher_forget_tree(self, path))
		return;
	if (av1d_watcher_is_marker(path))
		av1d_watcher_marker_gone(self, root, path);
	else if (av1d_watcher_was_candidate(self, root, path))
		g_signal_emit(self, signals[SIGNAL_FILE_REMOVED], 0, path);
}

static void
av1d_watcher_on_file_moved(Av1dWatcher *self,
			   WatchRoot *old_root,
			   const gchar *old_path,
			   WatchRoot *new_root,
			   const gchar *new_path,
			   const struct stat *st)
{
	gboolean was = old_root != NULL && av1d_watcher_was_candidate(self, old_root, old_path);
	gboolean is = av1d_candidate_check(self->config, new_root->path, new_path, st) ==
		      AV1D_CANDIDATE_YES;

	if (old_root != NULL && av1d_watcher_is_marker(old_path))
		av1d_watcher_marker_gone(self, old_root, old_path);
	if (av1d_watcher_is_marker(new_path))
		av1d_watcher_marker_added(self, new_path);
	if (was && is)
		g_signal_emit(self, signals[SIGNAL_FILE_RENAMED], 0, old_path, new_path);
	else if (was)
		g_signal_emit(self, signals[SIGNAL_FILE_REMOVED], 0, old_path);
	else if (is)
		g_signal_emit(self, signals[SIGNAL_FILE_CHANGED], 0, new_path);
}

/* @old_path moved to @new_path, both in the library */
static void
av1d_watcher_on_moved(Av1dWatcher *self, const gchar *old_path, const gchar *new_path)
{
	WatchRoot *old_root = av1d_watcher_watched_root(self, old_path);
	WatchRoot *new_root = av1d_watcher_watched_root(self, new_path);
	struct stat st;

	if (new_root == NULL || lstat(new_path, &st) != 0 ||
	    !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
		if (old_root != NULL)
			av1d_watcher_on_vanished(self, old_root, old_path);
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		/* old watches first: GIO would share the kernel watch with the new ones */
		av1d_watcher_forget_tree(self, old_path);
		av1d_watcher_enter_dir(self, new_root, new_path, &st);
		return;
	}
	av1d_watcher_on_file_moved(self, old_root, old_path, new_root, new_path, &st);
}

static void
av1d_watcher_on_moved_out(Av1dWatcher *self,
			  WatchRoot *root,
			  const gchar *path,
			  const gchar *other_path)
{
	g_autofree gchar *target_dir = other_path != NULL ? g_path_get_dirname(other_path) : NULL;

	/* the target's monitor reports the other half, MOVED_IN, as a rename */
	if (target_dir != NULL && av1d_watcher_watched_root(self, other_path) != NULL &&
	    g_tree_lookup(self->dirs, target_dir) != NULL) {
		av1d_watcher_forget_tree(self, path);
		return;
	}
	av1d_watcher_on_vanished(self, root, path);
}

static void
on_monitor_changed(GFileMonitor *monitor,
		   GFile *file,
		   GFile *other,
		   GFileMonitorEvent event,
		   gpointer user_data)
{
	g_autoptr(Av1dWatcher) self = g_object_ref(AV1D_WATCHER(user_data));
	g_autofree gchar *path = g_file_get_path(file);
	g_autofree gchar *other_path = other != NULL ? g_file_get_path(other) : NULL;
	WatchRoot *root = av1d_watcher_watched_root(self, path);

	if (root == NULL)
		return;
	switch (event) {
	case G_FILE_MONITOR_EVENT_CREATED:
		av1d_watcher_on_appeared(self, root, path, TRUE);
		break;
	case G_FILE_MONITOR_EVENT_CHANGED:
	case G_FILE_MONITOR_EVENT_CHANGES_DONE_HINT:
	case G_FILE_MONITOR_EVENT_ATTRIBUTE_CHANGED:
		av1d_watcher_on_appeared(self, root, path, FALSE);
		break;
	case G_FILE_MONITOR_EVENT_DELETED:
	case G_FILE_MONITOR_EVENT_UNMOUNTED:
		av1d_watcher_on_vanished(self, root, path);
		break;
	case G_FILE_MONITOR_EVENT_MOVED_OUT:
		av1d_watcher_on_moved_out(self, root, path, other_path);
		break;
	case G_FILE_MONITOR_EVENT_MOVED_IN:
		/* from outside the library (or an unwatched part) it is new */
		if (other_path != NULL && av1d_watcher_watched_root(self, other_path) != NULL)
			av1d_watcher_on_moved(self, other_path, path);
		else
			av1d_watcher_on_appeared(self, root, path, TRUE);
		break;
	case G_FILE_MONITOR_EVENT_RENAMED:
	case G_FILE_MONITOR_EVENT_MOVED:
		if (other_path != NULL)
			av1d_watcher_on_moved(self, path, other_path);
		break;
	case G_FILE_MONITOR_EVENT_PRE_UNMOUNT:
		break;
	}
	av1d_watcher_crawl_kick(self);
}

/* the object ----------------------------------------------------------------- */

static void
av1d_watcher_dispose(GObject *object)
{
	Av1dWatcher *self = AV1D_WATCHER(object);

	/* an enumeration in flight frees its item when it sees this */
	g_cancellable_cancel(self->cancellable);
	if (self->kick_source != NULL)
		g_source_destroy(self->kick_source);
	g_clear_pointer(&self->kick_source, g_source_unref);
	if (self->rescan_source != NULL)
		g_source_destroy(self->rescan_source);
	g_clear_pointer(&self->rescan_source, g_source_unref);
	g_queue_clear_full(&self->crawl_queue, crawl_item_free);
	g_hash_table_remove_all(self->dirs_by_inode);
	g_clear_pointer(&self->dirs, g_tree_destroy);
	G_OBJECT_CLASS(av1d_watcher_parent_class)->dispose(object);
}

static void
av1d_watcher_finalize(GObject *object)
{
	Av1dWatcher *self = AV1D_WATCHER(object);

	g_clear_pointer(&self->roots, g_ptr_array_unref);
	g_clear_pointer(&self->dirs_by_inode, g_hash_table_unref);
	g_clear_object(&self->cancellable);
	g_clear_pointer(&self->context, g_main_context_unref);
	G_OBJECT_CLASS(av1d_watcher_parent_class)->finalize(object);
}

static void
av1d_watcher_class_init(Av1dWatcherClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	GType type = G_TYPE_FROM_CLASS(klass);
	GType path = G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE;

	object_class->dispose = av1d_watcher_dispose;
	object_class->finalize = av1d_watcher_finalize;
	signals[SIGNAL_FILE_CHANGED] = g_signal_new("file-changed", type, G_SIGNAL_RUN_LAST, 0,
						    NULL, NULL, NULL, G_TYPE_NONE, 1, path);
	signals[SIGNAL_FILE_REMOVED] = g_signal_new("file-removed", type, G_SIGNAL_RUN_LAST, 0,
						    NULL, NULL, NULL, G_TYPE_NONE, 1, path);
	signals[SIGNAL_FILE_RENAMED] = g_signal_new("file-renamed", type, G_SIGNAL_RUN_LAST, 0,
						    NULL, NULL, NULL, G_TYPE_NONE, 2, path, path);
	signals[SIGNAL_DIRECTORY_REMOVED] =
		g_signal_new("directory-removed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
			     G_TYPE_NONE, 1, path);
	signals[SIGNAL_CRAWL_FINISHED] = g_signal_new("crawl-finished", type, G_SIGNAL_RUN_LAST, 0,
						      NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
av1d_watcher_init(Av1dWatcher *self)
{
	self->context = g_main_context_ref_thread_default();
	self->roots = g_ptr_array_new_with_free_func(watch_root_free);
	self->dirs = g_tree_new_full(compare_paths, NULL, NULL, watched_dir_free);
	self->dirs_by_inode = g_hash_table_new(watched_dir_inode_hash, watched_dir_inode_equal);
	self->cancellable = g_cancellable_new();
	g_queue_init(&self->crawl_queue);
}

/* public --------------------------------------------------------------------- */

void
av1d_watcher_fallback_free(Av1dWatcherFallback *fallback)
{
	if (fallback == NULL)
		return;
	g_free(fallback->root);
	g_free(fallback->reason);
	g_free(fallback);
}

Av1dWatcher *
av1d_watcher_new(const Av1dConfig *config)
{
	Av1dWatcher *self;

	g_return_val_if_fail(config != NULL, NULL);
	self = g_object_new(AV1D_TYPE_WATCHER, NULL);
	self->config = config;
	return self;
}

static void
av1d_watcher_add_root(Av1dWatcher *self, const gchar *path)
{
	WatchRoot *root = g_new0(WatchRoot, 1);

	root->path = g_strdup(path);
	root->reason = av1d_watcher_network_reason(path);
	if (root->reason != NULL) {
		root->fallback = TRUE;
		av1d_watcher_announce_fallback(self, root);
	}
	g_ptr_array_add(self->roots, root);
	av1d_watcher_crawl_push(self, root, path);
}

gboolean
av1d_watcher_start(Av1dWatcher *self, GError **error)
{
	GStrv roots;

	g_return_val_if_fail(AV1D_IS_WATCHER(self), FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (self->started) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE, "the watcher runs already");
		return FALSE;
	}
	roots = self->config->library_roots;
	for (guint i = 0; roots[i] != NULL; i++) {
		if (!g_file_test(roots[i], G_FILE_TEST_IS_DIR)) {
			g_set_error(error, AV1D_ERROR, AV1D_ERROR_NOT_FOUND,
				    "library root %s is not a directory", roots[i]);
			return FALSE;
		}
	}
	self->started = TRUE;
	self->budget =
		self->budget_override > 0 ? self->budget_override : av1d_watcher_read_budget();
	for (guint i = 0; roots[i] != NULL; i++)
		av1d_watcher_add_root(self, roots[i]);
	self->announce_finish = TRUE;
	av1d_watcher_schedule_kick(self);
	return TRUE;
}

void
av1d_watcher_rescan(Av1dWatcher *self)
{
	g_return_if_fail(AV1D_IS_WATCHER(self));

	if (!self->started)
		return;
	for (guint i = 0; i < self->roots->len; i++) {
		WatchRoot *root = g_ptr_array_index(self->roots, i);

		/* a root still being counted is being crawled completely anyway */
		if (!(root->fallback && root->reason == NULL))
			av1d_watcher_crawl_push(self, root, root->path);
	}
	self->announce_finish = TRUE;
	av1d_watcher_schedule_kick(self);
}

guint
av1d_watcher_get_watched_dir_count(Av1dWatcher *self)
{
	g_return_val_if_fail(AV1D_IS_WATCHER(self), 0);

	return self->dirs != NULL ? (guint)g_tree_nnodes(self->dirs) : 0;
}

gboolean
av1d_watcher_is_crawling(Av1dWatcher *self)
{
	g_return_val_if_fail(AV1D_IS_WATCHER(self), FALSE);

	return self->crawl_in_flight > 0 || !g_queue_is_empty(&self->crawl_queue);
}

GPtrArray *
av1d_watcher_get_fallbacks(Av1dWatcher *self)
{
	GPtrArray *fallbacks =
		g_ptr_array_new_with_free_func((GDestroyNotify)av1d_watcher_fallback_free);

	g_return_val_if_fail(AV1D_IS_WATCHER(self), fallbacks);

	for (guint i = 0; i < self->roots->len; i++) {
		WatchRoot *root = g_ptr_array_index(self->roots, i);
		Av1dWatcherFallback *fallback;

		if (!root->fallback)
			continue;
		fallback = g_new0(Av1dWatcherFallback, 1);
		fallback->root = g_strdup(root->path);
		fallback->reason = g_strdup(
			root->reason != NULL ? root->reason
					     : "watch budget exceeded, counting what it needs");
		g_ptr_array_add(fallbacks, fallback);
	}
	return fallbacks;
}

void
av1d_watcher_set_watch_budget(Av1dWatcher *self, guint max_watches)
{
	g_return_if_fail(AV1D_IS_WATCHER(self));

	self->budget_override = max_watches;
}
