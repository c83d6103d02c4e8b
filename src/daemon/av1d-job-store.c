#define G_LOG_DOMAIN "av1d-job-store"

#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "av1d-error.h"
#include "av1d-fault.h"
#include "av1d-job-snapshot.h"
#include "av1d-job-store.h"

#define COUNTER_NAME "next-id"
#define SNAPSHOT_NAME "jobs.snapshot"
#define JOB_SUFFIX ".json"
#define CORRUPT_SUFFIX ".json.corrupt"
#define TEMP_INFIX ".tmp-"
/* a job file is about 1.5 KiB; anything this big is not one of ours */
#define MAX_JOB_FILE_SIZE (16 * 1024 * 1024)
#define READ_CHUNK 16384
/* the snapshot is rewritten once this share of the store (1/8) had to be
 * parsed from JSON or was missing from it: often enough that a start stays
 * fast, rarely enough that a start seldom writes it */
#define SNAPSHOT_STALE_SHARE 8
/* a file changed this recently is not cached: a later version of it could
 * get the same inode (freed and reused), size and ctime (the kernel's
 * coarse clock, or a filesystem with 2 s timestamps), and then pass for the
 * cached one; a version written after this load is always newer than this */
#define SNAPSHOT_MIN_AGE_NS (G_GINT64_CONSTANT(3) * 1000000000)
/* below this, starting threads costs more than it saves */
#define PARALLEL_LOAD_MIN 2048
#define MAX_LOAD_THREADS 8

/* one job plus the keys it is filed under in the indexes; the keys are
 * copies so that a caller changing the struct cannot corrupt a hash table */
typedef struct {
	guint64 id;
	Av1dJob *job;
	gchar *path;
	Av1dFileIdentity identity;
} JobEntry;

struct _Av1dJobStore {
	GObject parent_instance;

	gchar *directory;
	GHashTable *by_id;       /* &entry->id -> JobEntry, owns the entries */
	GHashTable *by_path;     /* entry->path -> newest JobEntry */
	GHashTable *by_identity; /* &entry->identity -> newest JobEntry */
	GPtrArray *entries;      /* JobEntry ordered by id */
	guint64 next_id;
	guint corrupt_count;
	guint cached_count;
	gint64 snapshot_min_age_ns;
	gboolean loaded;
};

G_DEFINE_FINAL_TYPE(Av1dJobStore, av1d_job_store, G_TYPE_OBJECT)

/* --- durable writes --- */

static gint
errno_to_code(int err)
{
	switch (err) {
	case ENOSPC:
	case EDQUOT:
		return AV1D_ERROR_NO_SPACE;
	case EACCES:
	case EPERM:
	case EROFS:
		return AV1D_ERROR_PERMISSION_DENIED;
	case ENOENT:
		return AV1D_ERROR_NOT_FOUND;
	default:
		return AV1D_ERROR_FAILED;
	}
}

static gboolean
set_errno_error(GError **error, int err, const gchar *what, const gchar *path)
{
	g_autofree gchar *display = g_filename_display_name(path);

	g_set_error(error, AV1D_ERROR, errno_to_code(err), "%s '%s': %s", what, display,
		    g_strerror(err));
	return FALSE;
}

/* returns 0 or an errno value */
static int
write_all(int fd, const gchar *data, gsize length)
{
	while (length > 0) {
		gssize written = write(fd, data, length);

		if (written < 0 && errno == EINTR)
			continue;
		if (written < 0)
			return errno;
		data += written;
		length -= (gsize)written;
	}
	return 0;
}

/* returns 0 or an errno value; a file system that cannot sync directories
 * (EINVAL) gives us nothing better to do, so that is not an error */
static int
fsync_directory(const gchar *directory)
{
	int fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return errno;
	if (fsync(fd) != 0 && errno != EINVAL)
		err = errno;
	close(fd);
	return err;
}

/* fills the temp file and makes its contents durable; 0 or an errno value */
static int
write_temp_file(int fd, const gchar *data, gsize length, guint mode)
{
	int err = 0;

	if (fchmod(fd, mode) != 0)
		err = errno;
	if (err == 0)
		err = write_all(fd, data, length);
	if (err == 0 && fsync(fd) != 0)
		err = errno;
	/* some file systems (NFS) only report write errors at close */
	if (close(fd) != 0 && err == 0 && errno != EINTR)
		err = errno;
	return err;
}

gboolean
av1d_file_write_atomic(const gchar *path, const gchar *data, gsize length, guint mode,
		       GError **error)
{
	g_autofree gchar *directory = NULL;
	g_autofree gchar *basename = NULL;
	g_autofree gchar *temp_path = NULL;
	int fd;
	int err;

	g_return_val_if_fail(path != NULL, FALSE);
	g_return_val_if_fail(data != NULL || length == 0, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	directory = g_path_get_dirname(path);
	basename = g_path_get_basename(path);
	temp_path = g_strdup_printf("%s/.%s" TEMP_INFIX "XXXXXX", directory, basename);
	fd = g_mkstemp_full(temp_path, O_WRONLY | O_CLOEXEC, (gint)mode);
	if (fd < 0)
		return set_errno_error(error, errno, "cannot create a temp file for", path);
	err = write_temp_file(fd, data, length, mode);
	if (err == 0) {
		av1d_fault_point("store-before-rename");
		if (rename(temp_path, path) != 0)
			err = errno;
	}
	if (err != 0) {
		g_unlink(temp_path);
		return set_errno_error(error, err, "cannot write", path);
	}
	err = fsync_directory(directory);
	if (err != 0)
		return set_errno_error(error, err, "cannot sync the directory of", path);
	return TRUE;
}

/* --- entries and indexes --- */

static void
job_entry_free(JobEntry *entry)
{
	av1d_job_unref(entry->job);
	g_free(entry->path);
	g_free(entry);
}

static JobEntry *
job_entry_new(Av1dJob *job)
{
	JobEntry *entry = g_new0(JobEntry, 1);

	entry->id = job->id;
	entry->job = av1d_job_ref(job);
	entry->path = g_strdup(job->source_path);
	entry->identity = job->identity;
	return entry;
}

static guint
identity_hash(gconstpointer key)
{
	const Av1dFileIdentity *identity = key;
	guint64 mix = identity->ino * G_GUINT64_CONSTANT(0x9E3779B97F4A7C15) ^ identity->dev ^
		      identity->size * 31 ^ (guint64)identity->mtime_ns;

	return (guint)(mix ^ (mix >> 32));
}

static gboolean
identity_equal(gconstpointer a, gconstpointer b)
{
	return av1d_file_identity_equal(a, b);
}

static gboolean
identity_is_set(const Av1dFileIdentity *identity)
{
	return identity->dev != 0 || identity->ino != 0 || identity->size != 0 ||
	       identity->mtime_ns != 0;
}

/* files @entry under @key unless a newer job already holds that key */
static void
index_entry(GHashTable *index, gpointer key, JobEntry *entry)
{
	JobEntry *current;

	if (key == NULL)
		return;
	current = g_hash_table_lookup(index, key);
	/* replace, not insert: the key belongs to the entry it points at */
	if (current == NULL || current->id < entry->id)
		g_hash_table_replace(index, key, entry);
}

static gpointer
entry_path_key(JobEntry *entry)
{
	return entry->path;
}

static gpointer
entry_identity_key(JobEntry *entry)
{
	return identity_is_set(&entry->identity) ? &entry->identity : NULL;
}

/* takes @entry out of @index; the key falls back to the next newest job
 * that has it, so removing or renaming a job uncovers the older one */
static void
unindex_entry(Av1dJobStore *self, GHashTable *index, gpointer (*key_of)(JobEntry *),
	      JobEntry *entry)
{
	gpointer key = key_of(entry);
	GEqualFunc equal = index == self->by_path ? g_str_equal : identity_equal;

	if (key == NULL || g_hash_table_lookup(index, key) != entry)
		return;
	g_hash_table_remove(index, key);
	for (guint i = self->entries->len; i > 0; i--) {
		JobEntry *other = g_ptr_array_index(self->entries, i - 1);
		gpointer other_key = other == entry ? NULL : key_of(other);

		if (other_key != NULL && equal(other_key, key)) {
			g_hash_table_insert(index, other_key, other);
			return;
		}
	}
}

static void
index_add(Av1dJobStore *self, JobEntry *entry)
{
	index_entry(self->by_path, entry_path_key(entry), entry);
	index_entry(self->by_identity, entry_identity_key(entry), entry);
}

static void
index_remove(Av1dJobStore *self, JobEntry *entry)
{
	unindex_entry(self, self->by_path, entry_path_key, entry);
	unindex_entry(self, self->by_identity, entry_identity_key, entry);
}

/* brings the index keys in line with what the job says now */
static void
index_refresh(Av1dJobStore *self, JobEntry *entry)
{
	Av1dJob *job = entry->job;

	if (g_strcmp0(entry->path, job->source_path) != 0) {
		unindex_entry(self, self->by_path, entry_path_key, entry);
		g_free(entry->path);
		entry->path = g_strdup(job->source_path);
		index_entry(self->by_path, entry_path_key(entry), entry);
	}
	if (!av1d_file_identity_equal(&entry->identity, &job->identity)) {
		unindex_entry(self, self->by_identity, entry_identity_key, entry);
		entry->identity = job->identity;
		index_entry(self->by_identity, entry_identity_key(entry), entry);
	}
}

static gint
compare_entries(gconstpointer a, gconstpointer b)
{
	const JobEntry *ea = *(const JobEntry *const *)a;
	const JobEntry *eb = *(const JobEntry *const *)b;

	return ea->id < eb->id ? -1 : ea->id > eb->id;
}

/* position of @id in the id-ordered entries, or -1 */
static gint
find_entry_index(Av1dJobStore *self, guint64 id)
{
	guint low = 0;
	guint high = self->entries->len;

	while (low < high) {
		guint mid = low + (high - low) / 2;
		JobEntry *entry = g_ptr_array_index(self->entries, mid);

		if (entry->id == id)
			return (gint)mid;
		if (entry->id < id)
			low = mid + 1;
		else
			high = mid;
	}
	return -1;
}

/* files @job by id; the caller keeps the entries ordered and indexes it */
static JobEntry *
store_insert(Av1dJobStore *self, Av1dJob *job)
{
	JobEntry *entry = job_entry_new(job);

	g_hash_table_insert(self->by_id, &entry->id, entry);
	g_ptr_array_add(self->entries, entry);
	return entry;
}

/* ids only grow, so a new job goes to the end */
static void
store_add(Av1dJobStore *self, Av1dJob *job)
{
	JobEntry *entry = store_insert(self, job);
	guint len = self->entries->len;

	if (len > 1 && ((JobEntry *)g_ptr_array_index(self->entries, len - 2))->id > entry->id)
		g_ptr_array_sort(self->entries, compare_entries);
	index_add(self, entry);
}

static void
store_clear(Av1dJobStore *self)
{
	g_hash_table_remove_all(self->by_path);
	g_hash_table_remove_all(self->by_identity);
	g_ptr_array_set_size(self->entries, 0);
	g_hash_table_remove_all(self->by_id);
	self->corrupt_count = 0;
	self->cached_count = 0;
	self->loaded = FALSE;
}

/* --- object --- */

static void
av1d_job_store_finalize(GObject *object)
{
	Av1dJobStore *self = AV1D_JOB_STORE(object);

	store_clear(self);
	g_hash_table_unref(self->by_path);
	g_hash_table_unref(self->by_identity);
	g_ptr_array_unref(self->entries);
	g_hash_table_unref(self->by_id);
	g_free(self->directory);
	G_OBJECT_CLASS(av1d_job_store_parent_class)->finalize(object);
}

static void
av1d_job_store_class_init(Av1dJobStoreClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = av1d_job_store_finalize;
}

static void
av1d_job_store_init(Av1dJobStore *self)
{
	self->by_id = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
					    (GDestroyNotify)job_entry_free);
	self->by_path = g_hash_table_new(g_str_hash, g_str_equal);
	self->by_identity = g_hash_table_new(identity_hash, identity_equal);
	self->entries = g_ptr_array_new();
	self->next_id = 1;
	self->snapshot_min_age_ns = SNAPSHOT_MIN_AGE_NS;
}

Av1dJobStore *
av1d_job_store_new(const gchar *directory, GError **error)
{
	g_autoptr(Av1dJobStore) self = NULL;

	g_return_val_if_fail(directory != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (g_mkdir_with_parents(directory, 0700) != 0) {
		set_errno_error(error, errno, "cannot create the job directory", directory);
		return NULL;
	}
	self = g_object_new(AV1D_TYPE_JOB_STORE, NULL);
	self->directory = g_strdup(directory);
	return g_steal_pointer(&self);
}

const gchar *
av1d_job_store_get_directory(Av1dJobStore *self)
{
	g_return_val_if_fail(AV1D_IS_JOB_STORE(self), NULL);
	return self->directory;
}

/* --- loading --- */

typedef enum {
	NAME_OTHER,
	NAME_JOB,
	NAME_CORRUPT,
	NAME_TEMP,
} NameKind;

/* one <id>.json found by the scan, and what reading it gave */
typedef struct {
	guint64 id;
	gchar *name;
	Av1dJobFileKey key;
	gboolean have_key;
	gint snapshot_index; /* the snapshot's entry for this very file, or -1 */
	JobEntry *entry; /* made by the loader thread, to keep the serial part short */
	GError *error;
	gboolean corrupt; /* the error is about the contents, not about reading */
} LoadItem;

typedef struct {
	LoadItem *items;
	guint count;
	int dir_fd;
	Av1dJobSnapshot *snapshot;
} LoadSlice;

static void
load_item_clear(gpointer data)
{
	LoadItem *item = data;

	g_free(item->name);
	g_clear_pointer(&item->entry, job_entry_free);
	g_clear_error(&item->error);
}

/* decimal without a leading zero, so that every id has exactly one name */
static gboolean
parse_id_prefix(const gchar *name, const gchar **rest, guint64 *id)
{
	guint64 value = 0;
	const gchar *p = name;

	if (*p < '1' || *p > '9')
		return FALSE;
	for (; g_ascii_isdigit(*p); p++) {
		guint digit = (guint)(*p - '0');

		if (value > ((guint64)G_MAXINT64 - digit) / 10)
			return FALSE;
		value = value * 10 + digit;
	}
	*rest = p;
	*id = value;
	return TRUE;
}

static NameKind
classify_name(const gchar *name, guint64 *id)
{
	const gchar *rest = NULL;
	const gchar *infix;

	if (name[0] == '.') {
		/* ".<name>.tmp-XXXXXX" as made by av1d_file_write_atomic() */
		infix = g_strrstr(name, TEMP_INFIX);
		if (infix != NULL && strlen(infix) == strlen(TEMP_INFIX) + 6)
			return NAME_TEMP;
		return NAME_OTHER;
	}
	if (!parse_id_prefix(name, &rest, id))
		return NAME_OTHER;
	if (g_str_equal(rest, JOB_SUFFIX))
		return NAME_JOB;
	if (g_str_has_prefix(rest, CORRUPT_SUFFIX))
		return NAME_CORRUPT;
	return NAME_OTHER;
}

/* a temp file is what is left of a write that a crash interrupted; the
 * target still holds the previous version, so the temp file is worthless */
static void
remove_temp_file(Av1dJobStore *self, int dir_fd, const gchar *name)
{
	g_autofree gchar *display = g_filename_display_name(name);

	if (unlinkat(dir_fd, name, 0) != 0 && errno != ENOENT)
		g_warning("cannot remove leftover temp file %s in %s: %s", display,
			  self->directory, g_strerror(errno));
	else
		g_message("removed %s, left over from an interrupted write", display);
}

static gboolean
file_key_at(int dir_fd, const gchar *name, Av1dJobFileKey *key)
{
	struct stat st;

	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
		return FALSE;
	key->ino = st.st_ino;
	key->size = (guint64)st.st_size;
	key->ctime_ns = (gint64)st.st_ctim.tv_sec * G_GINT64_CONSTANT(1000000000) +
			st.st_ctim.tv_nsec;
	return TRUE;
}

static gboolean
scan_directory(Av1dJobStore *self, DIR *dir, GArray *items, guint64 *max_id, GError **error)
{
	struct dirent *dirent;

	for (errno = 0; (dirent = readdir(dir)) != NULL; errno = 0) {
		LoadItem item = {0};

		switch (classify_name(dirent->d_name, &item.id)) {
		case NAME_JOB:
			item.name = g_strdup(dirent->d_name);
			item.snapshot_index = -1;
			g_array_append_val(items, item);
			*max_id = MAX(*max_id, item.id);
			break;
		case NAME_CORRUPT:
			/* its id was handed out once and must stay used */
			*max_id = MAX(*max_id, item.id);
			break;
		case NAME_TEMP:
			remove_temp_file(self, dirfd(dir), dirent->d_name);
			break;
		case NAME_OTHER:
			break;
		}
	}
	if (errno != 0)
		return set_errno_error(error, errno, "cannot list the job directory", self->directory);
	return TRUE;
}

static gint
compare_items(gconstpointer a, gconstpointer b)
{
	const LoadItem *ia = a;
	const LoadItem *ib = b;

	return ia->id < ib->id ? -1 : ia->id > ib->id;
}

/* reads @name into @buffer; 0 or an errno value, EFBIG when it is too big
 * to be a job file */
static int
read_job_file(int dir_fd, const gchar *name, GByteArray *buffer)
{
	int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return errno;
	g_byte_array_set_size(buffer, 0);
	for (;;) {
		guint old = buffer->len;
		gssize n;

		if (old >= MAX_JOB_FILE_SIZE) {
			err = EFBIG;
			break;
		}
		g_byte_array_set_size(buffer, old + READ_CHUNK);
		n = read(fd, buffer->data + old, READ_CHUNK);
		err = n < 0 ? errno : 0;
		g_byte_array_set_size(buffer, old + (guint)MAX(n, 0));
		if (n == 0 || (n < 0 && err != EINTR))
			break;
	}
	close(fd);
	return err;
}

/* the snapshot's entry for @item's file as it is now, or -1 */
static gint
match_snapshot(Av1dJobSnapshot *snapshot, const LoadItem *item)
{
	gint index = av1d_job_snapshot_find(snapshot, item->id);

	if (index >= 0 && av1d_job_snapshot_matches(snapshot, (guint)index, &item->key))
		return index;
	return -1;
}

/* runs in a loader thread: touches nothing but @item */
static void
load_item(LoadItem *item, const LoadSlice *slice, JsonParser *parser, GByteArray *buffer)
{
	g_autoptr(Av1dJob) job = NULL;
	int err;

	/* stat in the loader threads: for a big store it costs as much as
	 * decoding the snapshot */
	item->have_key = file_key_at(slice->dir_fd, item->name, &item->key);
	if (item->have_key && slice->snapshot != NULL)
		item->snapshot_index = match_snapshot(slice->snapshot, item);
	if (item->snapshot_index >= 0) {
		job = av1d_job_snapshot_get_job(slice->snapshot, (guint)item->snapshot_index);
		if (job != NULL) {
			item->entry = job_entry_new(job);
			return;
		}
		item->snapshot_index = -1; /* damaged entry: the file decides */
	}
	err = read_job_file(slice->dir_fd, item->name, buffer);

	if (err == 0)
		job = av1d_job_from_data_with_parser(parser, (const gchar *)buffer->data,
						     buffer->len, &item->error);
	item->corrupt = err == 0 || err == EFBIG || err == EISDIR;
	if (err == EFBIG || err == EISDIR) {
		g_set_error(&item->error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS, "%s",
			    err == EFBIG ? "too big to be a job file" : "not a file");
	} else if (err != 0) {
		g_set_error(&item->error, AV1D_ERROR, errno_to_code(err), "cannot read: %s",
			    g_strerror(err));
	}
	if (job != NULL && job->id != item->id) {
		g_set_error(&item->error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS,
			    "key 'id': %" G_GUINT64_FORMAT " does not match the file name", job->id);
		g_clear_pointer(&job, av1d_job_unref);
	}
	if (item->error != NULL)
		g_prefix_error(&item->error, "job file %s: ", item->name);
	if (job != NULL)
		item->entry = job_entry_new(job);
}

static gpointer
load_slice(gpointer data)
{
	LoadSlice *slice = data;
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GByteArray) buffer = g_byte_array_sized_new(8192);

	for (guint i = 0; i < slice->count; i++)
		load_item(&slice->items[i], slice, parser, buffer);
	return NULL;
}

/* parsing dominates loading, so big stores are split across the cores */
static void
load_items(GArray *items, int dir_fd, Av1dJobSnapshot *snapshot)
{
	LoadSlice slices[MAX_LOAD_THREADS];
	GThread *threads[MAX_LOAD_THREADS] = {NULL};
	guint n_threads = CLAMP(g_get_num_processors(), 1, MAX_LOAD_THREADS);
	guint per_thread;

	if (items->len < PARALLEL_LOAD_MIN)
		n_threads = 1;
	per_thread = (items->len + n_threads - 1) / n_threads;
	for (guint t = 0; t < n_threads; t++) {
		guint start = MIN(t * per_thread, items->len);

		slices[t].items = (LoadItem *)(gpointer)items->data + start;
		slices[t].count = MIN(per_thread, items->len - start);
		slices[t].dir_fd = dir_fd;
		slices[t].snapshot = snapshot;
	}
	for (guint t = 1; t < n_threads; t++)
		threads[t] = g_thread_try_new("av1d-job-load", load_slice, &slices[t], NULL);
	load_slice(&slices[0]);
	for (guint t = 1; t < n_threads; t++) {
		if (threads[t] != NULL)
			g_thread_join(threads[t]);
		else
			load_slice(&slices[t]);
	}
}

/* never overwrite an earlier quarantined copy: it may be the only one */
static gchar *
corrupt_path_for(const gchar *path)
{
	GStatBuf st;
	gchar *target = g_strconcat(path, ".corrupt", NULL);

	for (guint n = 2; g_lstat(target, &st) == 0; n++) {
		g_free(target);
		target = g_strdup_printf("%s.corrupt.%u", path, n);
	}
	return target;
}

static void
quarantine_item(Av1dJobStore *self, LoadItem *item)
{
	g_autofree gchar *path = g_build_filename(self->directory, item->name, NULL);
	g_autofree gchar *target = corrupt_path_for(path);
	g_autofree gchar *display = g_filename_display_name(target);

	if (g_rename(path, target) != 0)
		g_warning("%s; cannot move it to %s: %s", item->error->message, display,
			  g_strerror(errno));
	else
		g_warning("%s; moved it to %s", item->error->message, display);
	self->corrupt_count++;
}

/* a file that cannot be read (as opposed to one that reads as garbage) may
 * be fine after the fault is fixed, so it is not quarantined: load fails */
static gboolean
check_read_errors(GArray *items, GError **error)
{
	for (guint i = 0; i < items->len; i++) {
		LoadItem *item = &g_array_index(items, LoadItem, i);

		if (item->error != NULL && !item->corrupt &&
		    !g_error_matches(item->error, AV1D_ERROR, AV1D_ERROR_NOT_FOUND)) {
			g_propagate_error(error, g_steal_pointer(&item->error));
			return FALSE;
		}
	}
	return TRUE;
}

/* returns whether a file was moved */
static gboolean
apply_items(Av1dJobStore *self, GArray *items)
{
	gboolean moved = FALSE;

	for (guint i = 0; i < items->len; i++) {
		LoadItem *item = &g_array_index(items, LoadItem, i);

		if (item->entry != NULL) {
			self->cached_count += item->snapshot_index >= 0;
			/* the items are in id order, and so are the entries */
			g_hash_table_insert(self->by_id, &item->entry->id, item->entry);
			g_ptr_array_add(self->entries, g_steal_pointer(&item->entry));
		} else if (item->corrupt) {
			quarantine_item(self, item);
			moved = TRUE;
		}
	}
	for (guint i = 0; i < self->entries->len; i++)
		index_add(self, g_ptr_array_index(self->entries, i));
	return moved;
}

static gchar *
job_path(Av1dJobStore *self, guint64 id)
{
	return g_strdup_printf("%s/%" G_GUINT64_FORMAT JOB_SUFFIX, self->directory, id);
}

static gboolean
write_counter(Av1dJobStore *self, guint64 value, GError **error)
{
	g_autofree gchar *path = g_build_filename(self->directory, COUNTER_NAME, NULL);
	g_autofree gchar *data = g_strdup_printf("%" G_GUINT64_FORMAT "\n", value);

	return av1d_file_write_atomic(path, data, strlen(data), 0600, error);
}

/* @value is 0 when there is no usable counter; a damaged one is reported
 * and ignored, the ids seen on disk still keep new ids above the old ones */
static gboolean
read_counter(Av1dJobStore *self, guint64 *value, GError **error)
{
	g_autofree gchar *path = g_build_filename(self->directory, COUNTER_NAME, NULL);
	g_autofree gchar *contents = NULL;
	g_autoptr(GError) local_error = NULL;

	*value = 0;
	if (!g_file_get_contents(path, &contents, NULL, &local_error)) {
		if (g_error_matches(local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return TRUE;
		g_propagate_error(error, g_steal_pointer(&local_error));
		av1d_error_convert(error);
		return FALSE;
	}
	g_strstrip(contents);
	if (!g_ascii_string_to_unsigned(contents, 10, 1, G_MAXINT64, value, &local_error)) {
		g_warning("id counter %s is damaged (%s); new ids continue after the highest "
			  "id on disk",
			  path, local_error->message);
		*value = 0;
	}
	return TRUE;
}

static gboolean
load_counter(Av1dJobStore *self, guint64 max_id, GError **error)
{
	guint64 counter = 0;

	if (!read_counter(self, &counter, error))
		return FALSE;
	self->next_id = MAX(counter, max_id + 1);
	/* written back so that the ids seen now stay used even if their files go */
	if (self->next_id != counter && !write_counter(self, self->next_id, error))
		return FALSE;
	return TRUE;
}

static gchar *
snapshot_path(Av1dJobStore *self)
{
	return g_build_filename(self->directory, SNAPSHOT_NAME, NULL);
}

/* @snapshot_size: how many jobs the snapshot held, 0 without one */
static gboolean
load_directory(Av1dJobStore *self, GArray *items, guint64 *max_id, guint *snapshot_size,
	       GError **error)
{
	g_autofree gchar *path = snapshot_path(self);
	g_autoptr(Av1dJobSnapshot) snapshot = NULL;
	DIR *dir = opendir(self->directory);
	gboolean ok;

	if (dir == NULL)
		return set_errno_error(error, errno, "cannot open the job directory",
				       self->directory);
	ok = scan_directory(self, dir, items, max_id, error);
	g_array_sort(items, compare_items);
	if (ok) {
		snapshot = av1d_job_snapshot_open(path);
		load_items(items, dirfd(dir), snapshot);
		*snapshot_size = snapshot != NULL ? av1d_job_snapshot_get_size(snapshot) : 0;
	}
	closedir(dir);
	return ok;
}

static gboolean
key_is_settled(Av1dJobStore *self, const Av1dJobFileKey *key, gint64 now_ns)
{
	return key->ctime_ns < now_ns - self->snapshot_min_age_ns;
}

/* the jobs just loaded are exactly what their files say, so this is the
 * moment to cache them; a job whose file could not be keyed, or changed in
 * the last seconds, is left out */
static void
write_snapshot(Av1dJobStore *self, GArray *items)
{
	g_autofree gchar *path = snapshot_path(self);
	g_autoptr(GPtrArray) jobs = g_ptr_array_sized_new(self->entries->len);
	g_autoptr(GArray) keys = g_array_sized_new(FALSE, FALSE, sizeof(Av1dJobFileKey),
						   self->entries->len);
	g_autoptr(GError) error = NULL;
	gint64 now_ns = g_get_real_time() * 1000;

	for (guint i = 0; i < items->len; i++) {
		LoadItem *item = &g_array_index(items, LoadItem, i);
		Av1dJob *job = item->have_key && key_is_settled(self, &item->key, now_ns)
				   ? av1d_job_store_lookup(self, item->id)
				   : NULL;

		if (job == NULL)
			continue;
		g_ptr_array_add(jobs, job);
		g_array_append_val(keys, item->key);
	}
	if (!av1d_job_snapshot_write(path, jobs, keys, &error))
		g_message("cannot write the job snapshot (start-up stays slower): %s",
			  error->message);
}

static gboolean
snapshot_is_worth_writing(GArray *items, guint stale)
{
	guint wasted = stale;

	for (guint i = 0; i < items->len; i++) {
		const LoadItem *item = &g_array_index(items, LoadItem, i);

		if (item->snapshot_index < 0 && item->have_key)
			wasted++;
	}
	return wasted > 0 && (guint64)wasted * SNAPSHOT_STALE_SHARE >= items->len;
}

gboolean
av1d_job_store_load(Av1dJobStore *self, GError **error)
{
	g_autoptr(GArray) items = g_array_new(FALSE, FALSE, sizeof(LoadItem));
	guint64 max_id = 0;
	guint snapshot_size = 0;

	g_return_val_if_fail(AV1D_IS_JOB_STORE(self), FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	store_clear(self);
	g_array_set_clear_func(items, load_item_clear);
	if (!load_directory(self, items, &max_id, &snapshot_size, error) ||
	    !check_read_errors(items, error))
		return FALSE;
	/* a lost rename only means the file is quarantined again next time */
	if (apply_items(self, items))
		fsync_directory(self->directory);
	if (!load_counter(self, max_id, error)) {
		store_clear(self);
		return FALSE;
	}
	self->loaded = TRUE;
	/* entries of the snapshot that no file took are stale */
	if (snapshot_is_worth_writing(items, snapshot_size - self->cached_count))
		write_snapshot(self, items);
	return TRUE;
}

/* --- changes --- */

static gboolean
write_job(Av1dJobStore *self, Av1dJob *job, GError **error)
{
	g_autofree gchar *path = job_path(self, job->id);
	g_autofree gchar *data = NULL;
	gsize length = 0;

	data = av1d_job_to_data(job, &length);
	return av1d_file_write_atomic(path, data, length, 0600, error);
}

Av1dJob *
av1d_job_store_create_job(Av1dJobStore *self, const gchar *source_path, GError **error)
{
	g_autoptr(Av1dJob) job = NULL;
	guint64 id;

	g_return_val_if_fail(AV1D_IS_JOB_STORE(self), NULL);
	g_return_val_if_fail(source_path != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	/* without the ids on disk a new id could overwrite an existing job */
	if (!self->loaded) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE,
			    "job store %s: create_job before load", self->directory);
		return NULL;
	}
	id = self->next_id;
	/* the counter reaches the disk before the id is used, so an id is never
	 * handed out twice, whatever later happens to its job file */
	if (!write_counter(self, id + 1, error)) {
		g_prefix_error(error, "cannot allocate a job id: ");
		return NULL;
	}
	self->next_id = id + 1;
	job = av1d_job_new(id, source_path);
	if (!write_job(self, job, error))
		return NULL;
	store_add(self, job);
	return job; /* the store keeps its own reference */
}

static JobEntry *
lookup_own_entry(Av1dJobStore *self, Av1dJob *job, GError **error)
{
	JobEntry *entry = g_hash_table_lookup(self->by_id, &job->id);

	if (entry == NULL) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_NOT_FOUND,
			    "job %" G_GUINT64_FORMAT " is not in the store", job->id);
		return NULL;
	}
	if (entry->job != job) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS,
			    "job %" G_GUINT64_FORMAT " is a copy, not the store's job", job->id);
		return NULL;
	}
	return entry;
}

gboolean
av1d_job_store_save(Av1dJobStore *self, Av1dJob *job, GError **error)
{
	JobEntry *entry;

	g_return_val_if_fail(AV1D_IS_JOB_STORE(self), FALSE);
	g_return_val_if_fail(job != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	entry = lookup_own_entry(self, job, error);
	if (entry == NULL || !write_job(self, job, error))
		return FALSE;
	index_refresh(self, entry);
	return TRUE;
}

gboolean
av1d_job_store_remove(Av1dJobStore *self, guint64 id, GError **error)
{
	g_autofree gchar *path = NULL;
	JobEntry *entry;
	gint position;
	int err;

	g_return_val_if_fail(AV1D_IS_JOB_STORE(self), FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	entry = g_hash_table_lookup(self->by_id, &id);
	if (entry == NULL) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_NOT_FOUND,
			    "no job %" G_GUINT64_FORMAT, id);
		return FALSE;
	}
	path = job_path(self, id);
	if (g_unlink(path) != 0 && errno != ENOENT)
		return set_errno_error(error, errno, "cannot remove", path);
	position = find_entry_index(self, id);
	if (position >= 0)
		g_ptr_array_remove_index(self->entries, (guint)position);
	index_remove(self, entry);
	g_hash_table_remove(self->by_id, &id);
	err = fsync_directory(self->directory);
	if (err != 0)
		return set_errno_error(error, err, "cannot sync the directory of", path);
	return TRUE;
}

void
av1d_job_store_set_source_path(Av1dJobStore *self, Av1dJob *job, const gchar *source_path)
{
	gchar *old;
	JobEntry *entry;

	g_return_if_fail(AV1D_IS_JOB_STORE(self));
	g_return_if_fail(job != NULL);
	g_return_if_fail(source_path != NULL);

	old = job->source_path;
	job->source_path = g_strdup(source_path);
	g_free(old);
	entry = g_hash_table_lookup(self->by_id, &job->id);
	if (entry != NULL && entry->job == job)
		index_refresh(self, entry);
}

/* --- queries --- */

Av1dJob *
av1d_job_store_lookup(Av1dJobStore *self, guint64 id)
{
	JobEntry *entry;

	g_return_val_if_fail(AV1D_IS_JOB_STORE(self), NULL);
	entry = g_hash_table_lookup(self->by_id, &id);
	return entry != NULL ? entry->job : NULL;
}

Av1dJob *
av1d_job_store_lookup_by_path(Av1dJobStore *self, const gchar *source_path)
{
	JobEntry *entry;

	g_return_val_if_fail(AV1D_IS_JOB_STORE(self), NULL);
	g_return_val_if_fail(source_path != NULL, NULL);
	entry = g_hash_table_lookup(self->by_path, source_path);
	return entry != NULL ? entry->job : NULL;
}

Av1dJob *
av1d_job_store_lookup_by_identity(Av1dJobStore *self, const Av1dFileIdentity *identity)
{
	JobEntry *entry;

	g_return_val_if_fail(AV1D_IS_JOB_STORE(self), NULL);
	g_return_val_if_fail(identity != NULL, NULL);
	if (!identity_is_set(identity))
		return NULL;
	entry = g_hash_table_lookup(self->by_identity, identity);
	return entry != NULL ? entry->job : NULL;
}

GPtrArray *
av1d_job_store_get_jobs(Av1dJobStore *self)
{
	GPtrArray *jobs;

	g_return_val_if_fail(AV1D_IS_JOB_STORE(self), NULL);
	jobs = g_ptr_array_sized_new(self->entries->len);
	for (guint i = 0; i < self->entries->len; i++) {
		JobEntry *entry = g_ptr_array_index(self->entries, i);

		g_ptr_array_add(jobs, entry->job);
	}
	return jobs;
}

guint
av1d_job_store_get_size(Av1dJobStore *self)
{
	g_return_val_if_fail(AV1D_IS_JOB_STORE(self), 0);
	return self->entries->len;
}

guint
av1d_job_store_get_corrupt_count(Av1dJobStore *self)
{
	g_return_val_if_fail(AV1D_IS_JOB_STORE(self), 0);
	return self->corrupt_count;
}

void
av1d_job_store_set_snapshot_min_age(Av1dJobStore *self, gint64 min_age_ns)
{
	g_return_if_fail(AV1D_IS_JOB_STORE(self));
	self->snapshot_min_age_ns = min_age_ns;
}

guint
av1d_job_store_get_cached_count(Av1dJobStore *self)
{
	g_return_val_if_fail(AV1D_IS_JOB_STORE(self), 0);
	return self->cached_count;
}
