#define G_LOG_DOMAIN "av1d-watcher"

#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <unistd.h>

#include "av1d-candidate.h"
#include "av1d-error.h"
#include "av1d-inotify.h"
#include "av1d-sidecar.h"
#include "av1d-watcher.h"

/* directories handed to the crawl thread and not back yet: enough to keep
 * it busy while the main loop watches the next ones, few enough that one
 * main loop turn stays short */
#define CRAWL_IN_FLIGHT 256
/* the crawl thread hands back what it read in batches of about this many
 * entries (files to report plus folders), or sooner when it runs dry */
#define CRAWL_BATCH		 256
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

/* all a watched directory costs: its inode, its watch and its path, in one
 * allocation (10 000 of them in a big library) */
typedef struct {
	dev_t dev;
	ino_t ino;
	gint wd;
	gchar path[];
} WatchedDir;

/* one directory to read; the crawl thread fills the results and hands it
 * back; it touches nothing else of the item (root is only compared) */
typedef struct {
	WatchRoot *root;
	guint generation;
	gchar *path;
	/* the rules in effect when the folder was queued: the item's own
	 * reference, so that a reload on the main thread frees nothing the
	 * crawl thread reads */
	const Av1dConfig *config;
	/* results */
	gint error;	    /* errno of opening the directory, 0 on success */
	gboolean marked;    /* it holds a .av1skip: nothing was read */
	GPtrArray *subdirs; /* names of folders to descend into */
	GPtrArray *files;   /* names of candidates, by name, size and marker */
	GPtrArray *temps;   /* names of av1d's private temp folders (.av1d-<id>-XXXXXX) */
} CrawlItem;

/* what the watcher and its crawl thread share; outlives the watcher until
 * the last queued hand-back has run */
typedef struct {
	gatomicrefcount ref_count;
	GMainContext *context;
	GThreadPool *pool;    /* one thread at a time, in order */
	GAsyncQueue *done;    /* of GPtrArray of CrawlItem, read and handed back */
	gint wake_scheduled;  /* atomic: a hand-back to the main loop is queued */
	gint cancelled;	      /* atomic: the watcher is gone */
	GPtrArray *batch;     /* the crawl thread's: items read, not handed back */
	guint batch_entries;  /* the crawl thread's */
	Av1dWatcher *watcher; /* main thread only; NULL once disposed */
} CrawlShared;

typedef enum {
	WATCH_OK,
	WATCH_DUPLICATE,
	WATCH_FAILED,
	WATCH_OVER_BUDGET,
} WatchResult;

struct _Av1dWatcher {
	GObject parent_instance;

	const Av1dConfig *config;
	GMainContext *context;
	Av1dInotify *inotify; /* NULL when inotify_init1() failed */
	gchar *inotify_error;
	GPtrArray *roots;	   /* of WatchRoot, filled by start */
	GTree *dirs;		   /* path -> WatchedDir, sorted so that a subtree is one range */
	GHashTable *dirs_by_inode; /* the same WatchedDirs, keyed by dev/ino */
	GHashTable *dirs_by_wd;	   /* the same WatchedDirs, keyed by watch descriptor */
	guint budget_override;
	guint budget;
	CrawlShared *crawl;
	GQueue crawl_queue;    /* of CrawlItem, not handed to the crawl thread yet */
	guint crawl_in_flight; /* items with the crawl thread */
	gboolean announce_finish;
	gboolean started;
	GSource *kick_source;
	GSource *rescan_source;
};

enum {
	SIGNAL_FILE_CHANGED,
	SIGNAL_FILE_REMOVED,
	SIGNAL_FILE_RENAMED,
	SIGNAL_DIRECTORY_REMOVED,
	SIGNAL_DIRECTORY_RENAMED,
	SIGNAL_CRAWL_FINISHED,
	SIGNAL_OVERFLOW,
	SIGNAL_MARKER_ADDED,
	SIGNAL_TEMP_FOUND,
	N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE(Av1dWatcher, av1d_watcher, G_TYPE_OBJECT)

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
av1d_watcher_name_may_be_candidate(const Av1dConfig *config, const gchar *basename)
{
	return basename[0] != '.' && !av1d_sidecar_is_own_file(basename) &&
	       av1d_candidate_has_extension(config, basename);
}

/* what a vanished path was, as far as its name and the markers tell */
static gboolean
av1d_watcher_was_candidate(Av1dWatcher *self, WatchRoot *root, const gchar *path)
{
	g_autofree gchar *basename = g_path_get_basename(path);

	return av1d_watcher_name_may_be_candidate(self->config, basename) &&
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
	g_free(data);
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
	if (g_hash_table_lookup(self->dirs_by_wd, GINT_TO_POINTER(dir->wd)) == dir) {
		g_hash_table_remove(self->dirs_by_wd, GINT_TO_POINTER(dir->wd));
		av1d_inotify_rm_watch(self->inotify, dir->wd);
	}
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
 * same directory moved (the old watch is stale and, since the kernel has one
 * watch per inode, must go before the new path is watched) or a bind mount */
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

static WatchResult
av1d_watcher_add_watch(Av1dWatcher *self, const gchar *path, const struct stat *st)
{
	g_autoptr(GError) error = NULL;
	WatchedDir *dir;
	gsize len;
	gint wd;

	if (self->inotify == NULL)
		return WATCH_FAILED;
	wd = av1d_inotify_add_watch(self->inotify, path, &error);
	if (wd < 0) {
		/* max_user_watches used up by others: the same as our own budget */
		if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE))
			return WATCH_OVER_BUDGET;
		if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
			g_debug("not watching %s: %s", path, error->message);
		else
			g_message("cannot watch %s, not crawling it: %s", path, error->message);
		return WATCH_FAILED;
	}
	/* the kernel says the inode is watched already, under another name
	 * that changed since the clash check: keep the one entry per watch */
	if (g_hash_table_contains(self->dirs_by_wd, GINT_TO_POINTER(wd))) {
		g_debug("not watching %s: its inode is watched already", path);
		return WATCH_DUPLICATE;
	}
	len = strlen(path);
	dir = g_malloc(sizeof(WatchedDir) + len + 1);
	memcpy(dir->path, path, len + 1);
	dir->dev = st->st_dev;
	dir->ino = st->st_ino;
	dir->wd = wd;
	g_tree_insert(self->dirs, dir->path, dir);
	g_hash_table_add(self->dirs_by_inode, dir);
	g_hash_table_insert(self->dirs_by_wd, GINT_TO_POINTER(wd), dir);
	return WATCH_OK;
}

static WatchResult
av1d_watcher_watch_dir(Av1dWatcher *self, const gchar *path, const struct stat *st)
{
	WatchedDir probe = {.dev = st->st_dev, .ino = st->st_ino, .wd = -1};
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
	return av1d_watcher_add_watch(self, path, st);
}

/* the crawl thread ------------------------------------------------------------ */

static void
crawl_item_free(gpointer data)
{
	CrawlItem *item = data;

	g_clear_pointer(&item->subdirs, g_ptr_array_unref);
	g_clear_pointer(&item->files, g_ptr_array_unref);
	g_clear_pointer(&item->temps, g_ptr_array_unref);
	av1d_config_unref(item->config);
	g_free(item->path);
	g_free(item);
}

static void
crawl_batch_free(gpointer data)
{
	GPtrArray *batch = data;

	g_ptr_array_unref(batch);
}

static CrawlShared *
crawl_shared_ref(CrawlShared *shared)
{
	g_atomic_ref_count_inc(&shared->ref_count);
	return shared;
}

static void
crawl_shared_unref(gpointer data)
{
	CrawlShared *shared = data;

	if (!g_atomic_ref_count_dec(&shared->ref_count))
		return;
	g_clear_pointer(&shared->batch, g_ptr_array_unref);
	g_async_queue_unref(shared->done);
	g_main_context_unref(shared->context);
	g_free(shared);
}

/* a regular file's name, size and marker (the crawl enters only folders
 * without a marker above them, so its own marker is all that is left) */
static gboolean
crawl_file_is_candidate(const Av1dConfig *config, gint dfd, const gchar *name, struct stat *st)
{
	g_autofree gchar *marker = NULL;

	if (!av1d_watcher_name_may_be_candidate(config, name))
		return FALSE;
	if (st->st_mode == 0 && fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) != 0)
		return FALSE;
	if (!S_ISREG(st->st_mode) || (guint64)st->st_size < config->min_bytes)
		return FALSE;
	marker = g_strconcat(name, AV1D_SKIP_SUFFIX, NULL);
	return faccessat(dfd, marker, F_OK, 0) != 0;
}

/* in the crawl thread: what find(1) does, readdir() with d_type, and a stat
 * only for files whose name could make them candidates */
static void
crawl_read_dir(const Av1dConfig *config, CrawlItem *item)
{
	gint fd = open(item->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *entry;
	DIR *dir;

	if (fd < 0) {
		item->error = errno;
		return;
	}
	dir = fdopendir(fd);
	if (dir == NULL) {
		item->error = errno;
		close(fd);
		return;
	}
	item->subdirs = g_ptr_array_new_with_free_func(g_free);
	item->files = g_ptr_array_new_with_free_func(g_free);
	item->temps = g_ptr_array_new_with_free_func(g_free);
	while ((entry = readdir(dir)) != NULL) {
		const gchar *name = entry->d_name;
		struct stat st = {0};
		guchar type = entry->d_type;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (strcmp(name, AV1D_DIR_SKIP_MARKER) == 0) {
			item->marked = TRUE;
			break;
		}
		if (type == DT_UNKNOWN) {
			if (fstatat(dirfd(dir), name, &st, AT_SYMLINK_NOFOLLOW) != 0)
				continue;
			type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_LNK;
		}
		/* hidden folders are never descended into, symlinks never
		 * followed, special files never encoded */
		if (type == DT_DIR && name[0] != '.')
			g_ptr_array_add(item->subdirs, g_strdup(name));
		else if (type == DT_DIR && av1d_sidecar_parse_temp_dir(name, NULL))
			g_ptr_array_add(item->temps, g_strdup(name));
		else if (type == DT_REG && crawl_file_is_candidate(config, dirfd(dir), name, &st))
			g_ptr_array_add(item->files, g_strdup(name));
	}
	closedir(dir);
	if (item->marked) {
		g_ptr_array_set_size(item->subdirs, 0);
		g_ptr_array_set_size(item->files, 0);
	}
}

static gboolean
on_crawl_done(gpointer user_data);

/* in the crawl thread: hand what was read to the main loop, one wakeup for
 * many directories; an idle source of our own, not g_main_context_invoke(),
 * which would run the callback right here when the loop's context is free */
static void
crawl_hand_back(CrawlShared *shared)
{
	g_autoptr(GSource) source = NULL;

	if (shared->batch->len == 0)
		return;
	g_async_queue_push(shared->done, g_steal_pointer(&shared->batch));
	shared->batch = g_ptr_array_new_with_free_func(crawl_item_free);
	shared->batch_entries = 0;
	if (!g_atomic_int_compare_and_exchange(&shared->wake_scheduled, 0, 1))
		return;
	source = g_idle_source_new();
	/* the default priority, like inotify events: under a flood of events
	 * (and the probes they cause) what only the crawl finds must not wait */
	g_source_set_priority(source, G_PRIORITY_DEFAULT);
	g_source_set_callback(source, on_crawl_done, crawl_shared_ref(shared), crawl_shared_unref);
	g_source_set_static_name(source, "av1d watcher crawl results");
	g_source_attach(source, shared->context);
}

static void
crawl_thread_func(gpointer data, gpointer user_data)
{
	CrawlItem *item = data;
	CrawlShared *shared = user_data;

	if (g_atomic_int_get(&shared->cancelled)) {
		crawl_item_free(item);
		return;
	}
	crawl_read_dir(item->config, item);
	g_ptr_array_add(shared->batch, item);
	shared->batch_entries += 1 + (item->files != NULL ? item->files->len : 0) +
				 (item->subdirs != NULL ? item->subdirs->len : 0);
	/* a full batch, or nothing more to read until the main loop answers */
	if (shared->batch_entries >= CRAWL_BATCH || g_thread_pool_unprocessed(shared->pool) == 0)
		crawl_hand_back(shared);
}

static CrawlShared *
crawl_shared_new(Av1dWatcher *self)
{
	CrawlShared *shared = g_new0(CrawlShared, 1);

	g_atomic_ref_count_init(&shared->ref_count);
	shared->context = g_main_context_ref(self->context);
	shared->done = g_async_queue_new_full(crawl_batch_free);
	shared->batch = g_ptr_array_new_with_free_func(crawl_item_free);
	shared->watcher = self;
	/* one thread: a disk reads best in one order, and find(1) is the
	 * yardstick; the pool lets the thread go when the crawl is over */
	shared->pool =
		g_thread_pool_new(crawl_thread_func, crawl_shared_ref(shared), 1, FALSE, NULL);
	return shared;
}

/* in dispose: the thread finishes the directory it reads, drops the rest */
static void
crawl_shared_shutdown(CrawlShared *shared)
{
	g_autoptr(GPtrArray) batch = NULL;

	g_atomic_int_set(&shared->cancelled, 1);
	shared->watcher = NULL;
	g_thread_pool_free(shared->pool, FALSE, TRUE);
	shared->pool = NULL;
	while ((batch = g_async_queue_try_pop(shared->done)) != NULL)
		g_clear_pointer(&batch, g_ptr_array_unref);
	g_ptr_array_set_size(shared->batch, 0);
	/* the pool's reference */
	crawl_shared_unref(shared);
}

/* the crawl ------------------------------------------------------------------ */

static void
av1d_watcher_crawl_push(Av1dWatcher *self, WatchRoot *root, const gchar *path)
{
	CrawlItem *item = g_new0(CrawlItem, 1);

	item->root = root;
	item->generation = root->generation;
	item->path = g_strdup(path);
	item->config = av1d_config_ref(self->config);
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

/* FALSE when the item is done without reading anything */
static gboolean
av1d_watcher_crawl_begin(Av1dWatcher *self, CrawlItem *item)
{
	WatchRoot *root = item->root;
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
	g_thread_pool_push(self->crawl->pool, item, NULL);
	return TRUE;
}

/* a directory the crawl thread read, back on the main loop */
static void
av1d_watcher_crawl_read(Av1dWatcher *self, CrawlItem *item)
{
	WatchRoot *root = item->root;

	if (item->generation != root->generation)
		return;
	if (item->error == ENOENT) {
		av1d_watcher_forget_tree(self, item->path);
		return;
	}
	if (item->error != 0) {
		g_message("cannot read %s, not watching it: %s", item->path,
			  g_strerror(item->error));
		av1d_watcher_drop_subtree(self, item->path, TRUE);
		return;
	}
	if (item->marked) {
		/* the marked folder stays watched so that removing the marker is seen */
		av1d_watcher_drop_subtree(self, item->path, FALSE);
		return;
	}
	for (guint i = 0; i < item->files->len && item->generation == root->generation; i++) {
		g_autofree gchar *path =
			g_build_filename(item->path, g_ptr_array_index(item->files, i), NULL);

		g_signal_emit(self, signals[SIGNAL_FILE_CHANGED], 0, path);
	}
	for (guint i = 0; i < item->temps->len && item->generation == root->generation; i++) {
		g_autofree gchar *path =
			g_build_filename(item->path, g_ptr_array_index(item->temps, i), NULL);

		g_signal_emit(self, signals[SIGNAL_TEMP_FOUND], 0, path);
	}
	for (guint i = 0; i < item->subdirs->len && item->generation == root->generation; i++) {
		g_autofree gchar *path =
			g_build_filename(item->path, g_ptr_array_index(item->subdirs, i), NULL);

		av1d_watcher_crawl_push(self, root, path);
	}
}

/* on the main loop: one batch from the crawl thread per turn */
static gboolean
on_crawl_done(gpointer user_data)
{
	CrawlShared *shared = user_data;
	g_autoptr(GPtrArray) batch = NULL;
	g_autoptr(Av1dWatcher) self = NULL;

	/* cleared first: a batch pushed from now on schedules another turn */
	g_atomic_int_set(&shared->wake_scheduled, 0);
	batch = g_async_queue_try_pop(shared->done);
	if (batch == NULL || shared->watcher == NULL)
		return G_SOURCE_REMOVE;
	self = g_object_ref(shared->watcher);
	/* the items are the watcher's again, each freed when done */
	g_ptr_array_set_free_func(batch, NULL);
	for (guint i = 0; i < batch->len; i++) {
		CrawlItem *item = g_ptr_array_index(batch, i);

		self->crawl_in_flight--;
		av1d_watcher_crawl_read(self, item);
		av1d_watcher_crawl_item_done(self, item);
	}
	av1d_watcher_crawl_kick(self);
	if (g_async_queue_length(shared->done) > 0 &&
	    g_atomic_int_compare_and_exchange(&shared->wake_scheduled, 0, 1))
		return G_SOURCE_CONTINUE;
	return G_SOURCE_REMOVE;
}

/* many directories at a time: the thread reads while the loop watches */
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
#ifdef __GLIBC__
		/* what the crawl freed (names, batches, the thread's arena) is
		 * otherwise kept resident for good by an idle daemon */
		malloc_trim(0);
#endif
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

	g_autofree gchar *source = NULL;

	/* a marked folder is skipped with everything below it */
	if (av1d_watcher_is_dir_marker(path)) {
		av1d_watcher_drop_subtree(self, dir, FALSE);
		g_signal_emit(self, signals[SIGNAL_MARKER_ADDED], 0, dir);
		return;
	}
	source = g_strndup(path, strlen(path) - strlen(AV1D_SKIP_SUFFIX));
	g_signal_emit(self, signals[SIGNAL_MARKER_ADDED], 0, source);
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
		/* old watches first: the kernel has one watch per inode, shared by both paths */
		av1d_watcher_forget_tree(self, old_path);
		/* before the crawl reports the files under their new names, so
		 * that their jobs are found there */
		if (old_root != NULL)
			g_signal_emit(self, signals[SIGNAL_DIRECTORY_RENAMED], 0, old_path, new_path);
		av1d_watcher_enter_dir(self, new_root, new_path, &st);
		return;
	}
	av1d_watcher_on_file_moved(self, old_root, old_path, new_root, new_path, &st);
}


static gchar *
av1d_watcher_event_path(Av1dWatcher *self, gint wd, const gchar *name)
{
	WatchedDir *dir = g_hash_table_lookup(self->dirs_by_wd, GINT_TO_POINTER(wd));

	if (dir == NULL)
		return NULL;
	return name != NULL ? g_build_filename(dir->path, name, NULL) : g_strdup(dir->path);
}

/* the watched directory itself went away: deleted, moved, unmounted */
static void
av1d_watcher_on_dir_gone(Av1dWatcher *self, const Av1dInotifyEvent *event, const gchar *path)
{
	WatchRoot *root = av1d_watcher_watched_root(self, path);

	/* a moved folder is reported by its parent's watch, as a move, except
	 * for a root, which has no watched parent */
	if (event->kind == AV1D_INOTIFY_SELF_MOVED &&
	    (root == NULL || g_strcmp0(root->path, path) != 0))
		return;
	av1d_watcher_forget_tree(self, path);
}

/* a move seen by two watches, or by one of them */
static void
av1d_watcher_dispatch_move(Av1dWatcher *self, const Av1dInotifyEvent *event)
{
	g_autofree gchar *old_path = av1d_watcher_event_path(self, event->wd, event->name);
	g_autofree gchar *new_path =
		av1d_watcher_event_path(self, event->other_wd, event->other_name);
	WatchRoot *root;

	if (old_path != NULL && new_path != NULL) {
		av1d_watcher_on_moved(self, old_path, new_path);
	} else if (old_path != NULL) {
		root = av1d_watcher_watched_root(self, old_path);
		if (root != NULL)
			av1d_watcher_on_vanished(self, root, old_path);
	} else if (new_path != NULL) {
		root = av1d_watcher_watched_root(self, new_path);
		if (root != NULL)
			av1d_watcher_on_appeared(self, root, new_path, TRUE);
	}
}

static void
av1d_watcher_dispatch(Av1dWatcher *self, const Av1dInotifyEvent *event)
{
	g_autofree gchar *path = NULL;
	WatchRoot *root;

	if (event->kind == AV1D_INOTIFY_MOVED) {
		av1d_watcher_dispatch_move(self, event);
		return;
	}
	/* NULL for a watch forgotten already: its late events mean nothing */
	path = av1d_watcher_event_path(self, event->wd, event->name);
	root = path != NULL ? av1d_watcher_watched_root(self, path) : NULL;
	if (root == NULL)
		return;
	switch (event->kind) {
	case AV1D_INOTIFY_CREATED:
	case AV1D_INOTIFY_MOVED_IN:
		/* from outside the library (or an unwatched part) it is new */
		av1d_watcher_on_appeared(self, root, path, TRUE);
		break;
	case AV1D_INOTIFY_CHANGED:
	case AV1D_INOTIFY_CLOSED:
	case AV1D_INOTIFY_ATTRIB:
		av1d_watcher_on_appeared(self, root, path, FALSE);
		break;
	case AV1D_INOTIFY_DELETED:
	case AV1D_INOTIFY_MOVED_OUT:
		av1d_watcher_on_vanished(self, root, path);
		break;
	case AV1D_INOTIFY_SELF_DELETED:
	case AV1D_INOTIFY_SELF_MOVED:
	case AV1D_INOTIFY_WATCH_REMOVED:
		av1d_watcher_on_dir_gone(self, event, path);
		break;
	case AV1D_INOTIFY_MOVED:
		break;
	}
}

static void
on_inotify_event(const Av1dInotifyEvent *event, gpointer user_data)
{
	g_autoptr(Av1dWatcher) self = g_object_ref(AV1D_WATCHER(user_data));

	av1d_watcher_dispatch(self, event);
	av1d_watcher_crawl_kick(self);
}

/* events were lost, deletions and moves among them: forget the folders that
 * are not where they were (they are found again by the crawl if they moved) */
static void
av1d_watcher_forget_stale_dirs(Av1dWatcher *self)
{
	g_autoptr(GPtrArray) stale = g_ptr_array_new_with_free_func(g_free);
	GTreeNode *node;

	for (node = g_tree_node_first(self->dirs); node != NULL; node = g_tree_node_next(node)) {
		const WatchedDir *dir = g_tree_node_value(node);
		struct stat st;

		if (lstat(dir->path, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_dev != dir->dev ||
		    st.st_ino != dir->ino)
			g_ptr_array_add(stale, g_strdup(dir->path));
	}
	for (guint i = 0; i < stale->len; i++)
		av1d_watcher_forget_tree(self, g_ptr_array_index(stale, i));
}

static void
on_inotify_overflow(gpointer user_data)
{
	g_autoptr(Av1dWatcher) self = g_object_ref(AV1D_WATCHER(user_data));

	g_message("inotify event queue overflowed, events were lost: crawling every library "
		  "root again (raise /proc/sys/fs/inotify/max_queued_events if this recurs)");
	g_signal_emit(self, signals[SIGNAL_OVERFLOW], 0);
	av1d_watcher_forget_stale_dirs(self);
	av1d_watcher_rescan(self);
}

/* the object ----------------------------------------------------------------- */

static void
av1d_watcher_dispose(GObject *object)
{
	Av1dWatcher *self = AV1D_WATCHER(object);

	/* first: the crawl thread finishes the directory it reads, nothing more */
	if (self->crawl != NULL)
		crawl_shared_shutdown(self->crawl);
	g_clear_pointer(&self->crawl, crawl_shared_unref);
	if (self->kick_source != NULL)
		g_source_destroy(self->kick_source);
	g_clear_pointer(&self->kick_source, g_source_unref);
	if (self->rescan_source != NULL)
		g_source_destroy(self->rescan_source);
	g_clear_pointer(&self->rescan_source, g_source_unref);
	g_queue_clear_full(&self->crawl_queue, crawl_item_free);
	/* closing the descriptor removes every watch at once */
	g_clear_pointer(&self->inotify, av1d_inotify_free);
	if (self->dirs_by_wd != NULL)
		g_hash_table_remove_all(self->dirs_by_wd);
	if (self->dirs_by_inode != NULL)
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
	g_clear_pointer(&self->dirs_by_wd, g_hash_table_unref);
	g_clear_pointer(&self->context, g_main_context_unref);
	av1d_config_set(&self->config, NULL);
	g_free(self->inotify_error);
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
	signals[SIGNAL_DIRECTORY_RENAMED] =
		g_signal_new("directory-renamed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
			     G_TYPE_NONE, 2, path, path);
	signals[SIGNAL_CRAWL_FINISHED] = g_signal_new("crawl-finished", type, G_SIGNAL_RUN_LAST, 0,
						      NULL, NULL, NULL, G_TYPE_NONE, 0);
	signals[SIGNAL_OVERFLOW] = g_signal_new("overflow", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL,
						NULL, G_TYPE_NONE, 0);
	/* the file or folder a new .av1skip marks */
	signals[SIGNAL_MARKER_ADDED] = g_signal_new("marker-added", type, G_SIGNAL_RUN_LAST, 0,
						    NULL, NULL, NULL, G_TYPE_NONE, 1, path);
	/* a crawl met a private temp folder of av1d's */
	signals[SIGNAL_TEMP_FOUND] = g_signal_new("temp-found", type, G_SIGNAL_RUN_LAST, 0, NULL,
						  NULL, NULL, G_TYPE_NONE, 1, path);
}

static void
av1d_watcher_init(Av1dWatcher *self)
{
	self->context = g_main_context_ref_thread_default();
	self->roots = g_ptr_array_new_with_free_func(watch_root_free);
	self->dirs = g_tree_new_full(compare_paths, NULL, NULL, watched_dir_free);
	self->dirs_by_inode = g_hash_table_new(watched_dir_inode_hash, watched_dir_inode_equal);
	self->dirs_by_wd = g_hash_table_new(NULL, NULL);
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

	g_autoptr(GError) error = NULL;

	g_return_val_if_fail(config != NULL, NULL);
	self = g_object_new(AV1D_TYPE_WATCHER, NULL);
	self->config = av1d_config_ref(config);
	self->crawl = crawl_shared_new(self);
	/* here rather than at start: the kernel sizes the event queue now */
	self->inotify = av1d_inotify_new(self->context, on_inotify_event, on_inotify_overflow,
					 self, &error);
	if (self->inotify == NULL)
		self->inotify_error = g_strdup(error->message);
	return self;
}

static void
av1d_watcher_add_root(Av1dWatcher *self, const gchar *path)
{
	WatchRoot *root = g_new0(WatchRoot, 1);

	root->path = g_strdup(path);
	root->reason = av1d_watcher_network_reason(path);
	if (root->reason == NULL && self->inotify == NULL)
		root->reason = g_strdup_printf("inotify unavailable: %s", self->inotify_error);
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

void
av1d_watcher_set_config(Av1dWatcher *self, const Av1dConfig *config)
{
	g_return_if_fail(AV1D_IS_WATCHER(self));
	g_return_if_fail(config != NULL);

	/* folders already queued keep the rules they were queued with */
	av1d_config_set(&self->config, config);
}
