/*
 * The crash-safe replacement of a source by its verified encode (SPEC 7.3)
 * and the recovery after a crash in the middle of it (SPEC 7.4).
 *
 * The steps, each durable before the next:
 *   1. fsync the temp; give it the original's mode, ownership and mtime
 *   2. check the source is still the file that was encoded (identity)
 *   3. hard-link the source to <stem>.orig.<ext>; fsync the directory
 *   4. rename the temp to <stem>.mkv (atomic, replaces a .mkv source)
 *   5. for a source of another name (.mp4), unlink that name: the backup
 *      still holds the same inode
 *   6. fsync the directory
 *   7. keep_backup = false: only now unlink the backup and fsync again
 * At every instant the directory holds either the original under its name,
 * or the new file under the final name and the original as the backup.
 * Recovery reads which of the two it is from the files themselves (inode
 * numbers), so it needs no record of the last step taken.
 */
#pragma once

#include <gio/gio.h>

#include "av1d-job.h"

G_BEGIN_DECLS

typedef struct {
	gchar *source_path;
	gchar *temp_path;
	gchar *output_path;
	gchar *backup_path;
	Av1dFileIdentity source_identity; /* what was encoded */
	gboolean keep_backup;
} Av1dSwapRequest;

typedef enum {
	AV1D_RECOVERY_NOTHING,	     /* no trace of a swap: only the temp was removed, if any */
	AV1D_RECOVERY_ROLLED_BACK,   /* the original is under its name again */
	AV1D_RECOVERY_ROLLED_FORWARD /* the swap was completed */
} Av1dRecovery;

/* paths from the source's name (SPEC 8), for @job's source */
Av1dSwapRequest *
av1d_swap_request_new(const gchar *source_path,
		      const Av1dFileIdentity *source_identity,
		      gboolean keep_backup);
void
av1d_swap_request_free(Av1dSwapRequest *self);

/* blocking (fsync): call from a worker thread, or through the async pair;
 * on success @output_identity is the new file's */
gboolean
av1d_swap_run_sync(const Av1dSwapRequest *request,
		   Av1dFileIdentity *output_identity,
		   GError **error);
void
av1d_swap_run_async(const Av1dSwapRequest *request,
		    GCancellable *cancellable,
		    GAsyncReadyCallback callback,
		    gpointer user_data);
gboolean
av1d_swap_run_finish(GAsyncResult *result, Av1dFileIdentity *output_identity, GError **error);

/* after a crash in any stage up to and including swapping: remove the temp
 * and put the library in one of the two good states; @reason says what was
 * done, for the job */
Av1dRecovery
av1d_swap_recover(const Av1dSwapRequest *request, gchar **reason, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Av1dSwapRequest, av1d_swap_request_free)

G_END_DECLS
