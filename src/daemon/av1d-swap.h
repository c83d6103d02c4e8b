/*
 * The replacement of a source by its verified encode, as a compare-and-swap
 * on names (SPEC 7.3), and the recovery after a crash (SPEC 7.6).
 *
 * The library is shared: between any two steps another program may replace
 * the source, create the final name, plant a symlink or move the folder.
 * So every step works on the folder descriptor the job opened when it
 * started (never on a path that could now lead elsewhere), checks what it
 * is about to change is still the recorded file, and uses the kernel's
 * atomic no-replace and exchange renames so that a check and the change
 * leave no window. The steps, each durable before the next:
 *
 *   1. the folder's path still leads to the job's folder, beneath its root
 *      without a symlink; no .av1skip (file or folder) appeared; the source
 *      is the recorded file (dev, ino, size, mtime) with no other hard link
 *   2. fsync the encode; give it the original's mode, owner and mtime
 *   3. link the source to <stem>.orig.<ext> (fails if the name exists) and
 *      check that the backup is the recorded source; fsync the folder
 *   4. same final name (Movie.mkv): renameat2(RENAME_EXCHANGE) of the
 *      encode and the source's name, then check that what came back is the
 *      recorded source, else exchange back and fail; another final name
 *      (Movie.mp4 -> Movie.mkv): renameat2(RENAME_NOREPLACE), so an
 *      existing Movie.mkv is never replaced. Filesystems that refuse the
 *      flags (EINVAL: some network filesystems) get link()+unlink() for the
 *      new name (no-replace everywhere) and, for the same name, a plain
 *      rename right after the identity check; the journal says which
 *   5. the old name (Movie.mp4) is moved into the private temp folder and
 *      unlinked there only if it is still the recorded source, else put
 *      back; fsync the folder
 *   6. keep_backup = false: the backup goes the same way; fsync again
 * A failure before step 4 removes the backup av1d made (only while the
 * source's name still holds the same file) and leaves every name as the
 * user left it. At every instant the folder holds the original under its
 * name, or the encode under the final name and the original as the backup.
 *
 * Requests own duplicates of the descriptors they are given, so a request
 * handed to the worker thread shares nothing with the pipeline.
 */
#pragma once

#include <gio/gio.h>

#include "av1d-job.h"

G_BEGIN_DECLS

typedef struct {
	gchar *root;	    /* the library root that holds the source */
	gchar *source_path; /* for messages and the marker check */
	gchar *dir_path;    /* the source's folder as the job found it */
	int dir_fd;	    /* that folder, opened when the job started */
	int temp_fd;	    /* the job's private temp folder, in dir_fd */
	gchar *source_name;
	gchar *output_name; /* <stem>.mkv */
	gchar *backup_name; /* <stem>.orig.<ext> */
	Av1dFileIdentity source_identity; /* what was encoded */
	Av1dFileIdentity output_identity; /* the encode: dev, ino and size count */
	gboolean keep_backup;
} Av1dSwapRequest;

Av1dSwapRequest *
av1d_swap_request_new(const gchar *root,
		      const gchar *source_path,
		      int dir_fd,
		      int temp_fd,
		      const Av1dFileIdentity *source_identity,
		      const Av1dFileIdentity *output_identity,
		      gboolean keep_backup);
void
av1d_swap_request_free(Av1dSwapRequest *self);

/* blocking (fsync): call from a worker thread, or through the async pair;
 * on success @output_identity is the new file's under its final name */
gboolean
av1d_swap_run_sync(const Av1dSwapRequest *request,
		   Av1dFileIdentity *output_identity,
		   GError **error);
void
av1d_swap_run_async(const Av1dSwapRequest *request,
		    GAsyncReadyCallback callback,
		    gpointer user_data);
gboolean
av1d_swap_run_finish(GAsyncResult *result, Av1dFileIdentity *output_identity, GError **error);

typedef enum {
	AV1D_RECOVERY_SOURCE_KEPT,     /* the recorded source is under its name: run again */
	AV1D_RECOVERY_ROLLED_FORWARD,  /* the swap was completed: the job succeeded */
	AV1D_RECOVERY_SOURCE_CHANGED,  /* the name holds another file now: a new one */
	AV1D_RECOVERY_ORIGINAL_AS_BACKUP /* the original is safe only as the backup */
} Av1dRecovery;

/* after a crash: only a job recorded in the swapping stage (@swapping) may
 * be rolled forward, and only when the final name holds the recorded
 * encode and the original is safe as the backup (or gone by keep_backup =
 * false); everything else is rolled back: a backup av1d made is removed
 * while the source's name holds the same file. The job's temp folders are
 * removed. @dir_fd is the source's folder, opened beneath its root;
 * @reason says what was done */
Av1dRecovery
av1d_swap_recover(int dir_fd,
		  guint64 job_id,
		  const gchar *source_name,
		  const Av1dFileIdentity *source_identity,
		  const Av1dFileIdentity *output_identity,
		  gboolean swapping,
		  gboolean keep_backup,
		  gchar **reason);

/* the final and backup names for a source name (SPEC 8) */
gchar *
av1d_swap_output_name(const gchar *source_name);
gchar *
av1d_swap_backup_name(const gchar *source_name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Av1dSwapRequest, av1d_swap_request_free)

G_END_DECLS
