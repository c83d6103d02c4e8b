#define G_LOG_DOMAIN "av1d-swap"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>

#include "av1d-beneath.h"
#include "av1d-error.h"
#include "av1d-fault.h"
#include "av1d-sidecar.h"
#include "av1d-swap.h"

/* the name a doomed link takes inside the private temp folder before it is
 * checked and unlinked */
#define AV1D_SWAP_DOOMED "doomed"

gchar *
av1d_swap_output_name(const gchar *source_name)
{
	g_autofree gchar *path = av1d_sidecar_output_path(source_name);

	return g_path_get_basename(path);
}

gchar *
av1d_swap_backup_name(const gchar *source_name)
{
	g_autofree gchar *path = av1d_sidecar_backup_path(source_name);

	return g_path_get_basename(path);
}

Av1dSwapRequest *
av1d_swap_request_new(const gchar *root,
		      const gchar *source_path,
		      int dir_fd,
		      int temp_fd,
		      const Av1dFileIdentity *source_identity,
		      const Av1dFileIdentity *output_identity,
		      gboolean keep_backup)
{
	Av1dSwapRequest *self = g_new0(Av1dSwapRequest, 1);

	self->root = g_strdup(root);
	self->source_path = g_strdup(source_path);
	self->dir_path = g_path_get_dirname(source_path);
	self->dir_fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
	self->temp_fd = fcntl(temp_fd, F_DUPFD_CLOEXEC, 0);
	self->source_name = g_path_get_basename(source_path);
	self->output_name = av1d_swap_output_name(self->source_name);
	self->backup_name = av1d_swap_backup_name(self->source_name);
	self->source_identity = *source_identity;
	self->output_identity = *output_identity;
	self->keep_backup = keep_backup;
	return self;
}

void
av1d_swap_request_free(Av1dSwapRequest *self)
{
	if (self == NULL)
		return;
	if (self->dir_fd >= 0)
		close(self->dir_fd);
	if (self->temp_fd >= 0)
		close(self->temp_fd);
	g_free(self->root);
	g_free(self->source_path);
	g_free(self->dir_path);
	g_free(self->source_name);
	g_free(self->output_name);
	g_free(self->backup_name);
	g_free(self);
}

static int
av1d_swap_renameat2(int from_fd, const gchar *from, int to_fd, const gchar *to, guint flags)
{
	return (int)syscall(SYS_renameat2, from_fd, from, to_fd, to, flags);
}

static gboolean
av1d_swap_same_inode(int fd, const gchar *name, const Av1dFileIdentity *identity)
{
	struct stat st;

	return fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	       (guint64)st.st_dev == identity->dev && (guint64)st.st_ino == identity->ino;
}

/* the encode: its inode and size; its mtime is ours to set */
static gboolean
av1d_swap_is_encode(int fd, const gchar *name, const Av1dFileIdentity *identity)
{
	struct stat st;

	return fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	       (guint64)st.st_dev == identity->dev && (guint64)st.st_ino == identity->ino &&
	       (guint64)st.st_size == identity->size;
}

/* two names for one inode */
static gboolean
av1d_swap_same_file(int fd, const gchar *a, const gchar *b)
{
	struct stat sa, sb;

	return fstatat(fd, a, &sa, AT_SYMLINK_NOFOLLOW) == 0 &&
	       fstatat(fd, b, &sb, AT_SYMLINK_NOFOLLOW) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* removes @name of @dir_fd only while it is @identity: it is first moved
 * into the private folder @temp_fd, where nobody else can reach it, checked
 * there, and put back if it is someone else's file. Without
 * RENAME_NOREPLACE (EINVAL) the check runs right before the unlink */
static gboolean
av1d_swap_remove_if_ours(int dir_fd, const gchar *name, int temp_fd, const Av1dFileIdentity *identity)
{
	if (av1d_swap_renameat2(dir_fd, name, temp_fd, AV1D_SWAP_DOOMED, RENAME_NOREPLACE) != 0) {
		if (errno != EINVAL)
			return FALSE;
		return av1d_beneath_is_file(dir_fd, name, identity) &&
		       unlinkat(dir_fd, name, 0) == 0;
	}
	if (av1d_beneath_is_file(temp_fd, AV1D_SWAP_DOOMED, identity))
		return unlinkat(temp_fd, AV1D_SWAP_DOOMED, 0) == 0;
	/* someone else's file took the name meanwhile: give it back */
	if (av1d_swap_renameat2(temp_fd, AV1D_SWAP_DOOMED, dir_fd, name, RENAME_NOREPLACE) != 0) {
		g_autofree gchar *aside = g_strconcat(name, ".returned-by-av1d", NULL);

		if (av1d_swap_renameat2(temp_fd, AV1D_SWAP_DOOMED, dir_fd, aside,
					RENAME_NOREPLACE) == 0)
			g_warning("%s changed while av1d removed it; it is now %s", name, aside);
		else
			g_warning("%s changed while av1d removed it and cannot be put back: %s",
				  name, g_strerror(errno));
	}
	return FALSE;
}

/* the backup this swap made is removed only while the source's name still
 * holds the same file: otherwise it is the only name left of someone's file */
static void
av1d_swap_undo_backup(const Av1dSwapRequest *req)
{
	if (av1d_swap_same_file(req->dir_fd, req->source_name, req->backup_name))
		unlinkat(req->dir_fd, req->backup_name, 0);
	else
		g_warning("%s: not removing backup %s: the source's name holds another file",
			  req->source_path, req->backup_name);
	fsync(req->dir_fd);
}

/* step 1: the folder is where the job found it, and the source is the file
 * that was encoded */
static gboolean
av1d_swap_check_place(const Av1dSwapRequest *req, GError **error)
{
	struct stat held, now;
	int fd = av1d_beneath_open_dir(req->root, req->dir_path, error);

	if (fd < 0)
		return FALSE;
	if (fstat(fd, &now) != 0 || fstat(req->dir_fd, &held) != 0 || now.st_dev != held.st_dev ||
	    now.st_ino != held.st_ino) {
		close(fd);
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_OUTSIDE_LIBRARY,
			    _("folder %s was moved or replaced during the encode"), req->dir_path);
		return FALSE;
	}
	close(fd);
	if (av1d_sidecar_is_skipped(req->source_path, req->root)) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE,
			    _("%s was marked with .av1skip during the encode"), req->source_path);
		return FALSE;
	}
	return TRUE;
}

static gboolean
av1d_swap_check_source(const Av1dSwapRequest *req, struct stat *orig, GError **error)
{
	if (fstatat(req->dir_fd, req->source_name, orig, AT_SYMLINK_NOFOLLOW) != 0)
		return av1d_error_set_errno(error, errno, _("source vanished during the encode: %s"),
					    req->source_path);
	if (!av1d_beneath_is_file(req->dir_fd, req->source_name, &req->source_identity)) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE,
			    _("source changed during the encode: %s"), req->source_path);
		return FALSE;
	}
	if (orig->st_nlink > 1) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE,
			    _("%s has other hard links: replacing this name frees no space"),
			    req->source_path);
		return FALSE;
	}
	return TRUE;
}

/* step 2: the new file takes the original's place, so it takes its mode,
 * owner and mtime too (a library sorted by date must not see every film as
 * new) */
static gboolean
av1d_swap_prepare_encode(const Av1dSwapRequest *req, const struct stat *orig, GError **error)
{
	struct timespec times[2] = {orig->st_atim, orig->st_mtim};
	int fd = openat(req->temp_fd, AV1D_TEMP_OUTPUT, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	int errsv = 0;

	if (fd < 0)
		return av1d_error_set_errno(error, errno, _("cannot open the encode of %s"),
					    req->source_path);
	if (fstat(fd, &st) != 0 || (guint64)st.st_ino != req->output_identity.ino ||
	    (guint64)st.st_size != req->output_identity.size)
		errsv = ESTALE;
	else if (fchown(fd, orig->st_uid, orig->st_gid) != 0 && errno != EPERM)
		errsv = errno;
	else if (fchmod(fd, orig->st_mode & 07777) != 0)
		errsv = errno;
	else if (fsync(fd) != 0)
		errsv = errno;
	else if (futimens(fd, times) != 0)
		errsv = errno;
	close(fd);
	if (errsv != 0)
		return av1d_error_set_errno(error, errsv, _("cannot prepare the encode of %s"),
					    req->source_path);
	return TRUE;
}

/* step 3 */
static gboolean
av1d_swap_link_backup(const Av1dSwapRequest *req, GError **error)
{
	av1d_fault_point("swap-before-link");
	if (linkat(req->dir_fd, req->source_name, req->dir_fd, req->backup_name, 0) != 0) {
		if (errno == EEXIST) {
			g_set_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE,
				    _("backup name %s is taken; not overwriting it"),
				    req->backup_name);
			return FALSE;
		}
		return av1d_error_set_errno(error, errno, _("cannot create backup %s"),
					    req->backup_name);
	}
	if (!av1d_beneath_is_file(req->dir_fd, req->backup_name, &req->source_identity)) {
		av1d_swap_undo_backup(req);
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE,
			    _("source was replaced just before the swap: %s"), req->source_path);
		return FALSE;
	}
	if (!av1d_beneath_fsync_dir(req->dir_fd, error)) {
		av1d_swap_undo_backup(req);
		return FALSE;
	}
	return TRUE;
}

/* step 4, same name: exchange, check, exchange back on a mismatch */
static gboolean
av1d_swap_exchange(const Av1dSwapRequest *req, GError **error)
{
	if (av1d_swap_renameat2(req->temp_fd, AV1D_TEMP_OUTPUT, req->dir_fd, req->output_name,
				RENAME_EXCHANGE) != 0) {
		if (errno != EINVAL)
			return av1d_error_set_errno(error, errno, _("cannot put the encode at %s"),
						    req->source_path);
		g_info("%s: the filesystem refuses RENAME_EXCHANGE; checked plain rename",
		       req->source_path);
		if (!av1d_beneath_is_file(req->dir_fd, req->output_name, &req->source_identity)) {
			g_set_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE,
				    _("source was replaced just before the swap: %s"),
				    req->source_path);
			return FALSE;
		}
		if (renameat(req->temp_fd, AV1D_TEMP_OUTPUT, req->dir_fd, req->output_name) != 0)
			return av1d_error_set_errno(error, errno, _("cannot put the encode at %s"),
						    req->source_path);
		return TRUE;
	}
	/* the original's second name stays in the private folder until the
	 * backup is checked once more */
	if (av1d_swap_same_inode(req->temp_fd, AV1D_TEMP_OUTPUT, &req->source_identity))
		return TRUE;
	/* what came back is not the source: someone replaced it after the
	 * backup was checked. Give the name back its file */
	if (av1d_swap_renameat2(req->temp_fd, AV1D_TEMP_OUTPUT, req->dir_fd, req->output_name,
				RENAME_EXCHANGE) != 0)
		g_warning("%s: cannot exchange back: %s", req->source_path, g_strerror(errno));
	g_set_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE,
		    _("source was replaced during the swap: %s"), req->source_path);
	return FALSE;
}

/* step 4, another name: never over an existing file */
static gboolean
av1d_swap_place_new_name(const Av1dSwapRequest *req, GError **error)
{
	int errsv;

	if (av1d_swap_renameat2(req->temp_fd, AV1D_TEMP_OUTPUT, req->dir_fd, req->output_name,
				RENAME_NOREPLACE) == 0)
		return TRUE;
	errsv = errno;
	if (errsv == EINVAL) {
		/* link() never replaces, on any filesystem */
		g_info("%s: the filesystem refuses RENAME_NOREPLACE; using link and unlink",
		       req->source_path);
		if (linkat(req->temp_fd, AV1D_TEMP_OUTPUT, req->dir_fd, req->output_name, 0) == 0) {
			unlinkat(req->temp_fd, AV1D_TEMP_OUTPUT, 0);
			return TRUE;
		}
		errsv = errno;
	}
	if (errsv == EEXIST) {
		g_autofree gchar *display = g_filename_display_name(req->output_name);

		g_set_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE,
			    _("%s already exists; not overwriting it"), display);
		return FALSE;
	}
	return av1d_error_set_errno(error, errsv, _("cannot put the encode at %s"),
				    req->output_name);
}

/* the encode is in place, but the backup name no longer holds the
 * original (someone replaced it meanwhile): the original's other name is
 * all that is left, so the encode goes back into the private folder and the
 * original keeps its name */
static gboolean
av1d_swap_undo_placement(const Av1dSwapRequest *req, gboolean same, GError **error)
{
	if (same) {
		if (av1d_swap_renameat2(req->temp_fd, AV1D_TEMP_OUTPUT, req->dir_fd,
					req->output_name, RENAME_EXCHANGE) != 0)
			g_warning("%s: cannot exchange back: %s", req->source_path,
				  g_strerror(errno));
	} else if (av1d_swap_renameat2(req->dir_fd, req->output_name, req->temp_fd,
				       AV1D_TEMP_OUTPUT, RENAME_NOREPLACE) == 0 &&
		   !av1d_swap_is_encode(req->temp_fd, AV1D_TEMP_OUTPUT, &req->output_identity)) {
		/* not ours after all: give it back */
		av1d_swap_renameat2(req->temp_fd, AV1D_TEMP_OUTPUT, req->dir_fd,
				    req->output_name, RENAME_NOREPLACE);
	}
	fsync(req->dir_fd);
	g_set_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE,
		    _("backup %s was replaced during the swap; the original keeps its name"),
		    req->backup_name);
	return FALSE;
}

/* steps 4-6; after step 4 the swap has happened, and what fails later
 * leaves a good state that only lacks tidying */
static gboolean
av1d_swap_replace(const Av1dSwapRequest *req, GError **error)
{
	gboolean same = g_strcmp0(req->output_name, req->source_name) == 0;

	av1d_fault_point("swap-before-rename");
	if (!(same ? av1d_swap_exchange(req, error) : av1d_swap_place_new_name(req, error))) {
		av1d_swap_undo_backup(req);
		return FALSE;
	}
	/* the original's other name goes only while the backup still holds it */
	if (!av1d_beneath_is_file(req->dir_fd, req->backup_name, &req->source_identity))
		return av1d_swap_undo_placement(req, same, error);
	if (same)
		unlinkat(req->temp_fd, AV1D_TEMP_OUTPUT, 0);
	av1d_fault_point("swap-after-rename");
	if (!same &&
	    !av1d_swap_remove_if_ours(req->dir_fd, req->source_name, req->temp_fd,
				      &req->source_identity))
		g_warning("%s: the old name was not removed: it no longer holds the original",
			  req->source_path);
	av1d_fault_point("swap-before-dir-fsync");
	if (fsync(req->dir_fd) != 0)
		g_warning("%s: cannot fsync the folder after the swap: %s", req->source_path,
			  g_strerror(errno));
	if (!req->keep_backup) {
		av1d_fault_point("swap-before-backup-removal");
		if (!av1d_swap_remove_if_ours(req->dir_fd, req->backup_name, req->temp_fd,
					      &req->source_identity))
			g_warning("%s: backup %s was not removed", req->source_path,
				  req->backup_name);
		else if (fsync(req->dir_fd) != 0)
			g_warning("%s: cannot fsync the folder: %s", req->source_path,
				  g_strerror(errno));
	}
	return TRUE;
}

gboolean
av1d_swap_run_sync(const Av1dSwapRequest *req, Av1dFileIdentity *output_identity, GError **error)
{
	struct stat orig;

	if (req->dir_fd < 0 || req->temp_fd < 0) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_FAILED,
			    _("cannot swap %s: its folder is not open"), req->source_path);
		return FALSE;
	}
	if (!av1d_swap_check_place(req, error) || !av1d_swap_check_source(req, &orig, error))
		return FALSE;
	if (!av1d_swap_prepare_encode(req, &orig, error) || !av1d_swap_link_backup(req, error))
		return FALSE;
	if (!av1d_swap_replace(req, error))
		return FALSE;
	return av1d_beneath_identity(req->dir_fd, req->output_name, output_identity, error);
}

static void
av1d_swap_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	const Av1dSwapRequest *req = task_data;
	Av1dFileIdentity *identity = g_new0(Av1dFileIdentity, 1);
	GError *error = NULL;

	if (!av1d_swap_run_sync(req, identity, &error)) {
		g_free(identity);
		g_task_return_error(task, error);
		return;
	}
	g_task_return_pointer(task, identity, g_free);
}

static Av1dSwapRequest *
av1d_swap_request_copy(const Av1dSwapRequest *req)
{
	Av1dSwapRequest *copy = g_new0(Av1dSwapRequest, 1);

	*copy = *req;
	copy->root = g_strdup(req->root);
	copy->source_path = g_strdup(req->source_path);
	copy->dir_path = g_strdup(req->dir_path);
	copy->dir_fd = fcntl(req->dir_fd, F_DUPFD_CLOEXEC, 0);
	copy->temp_fd = fcntl(req->temp_fd, F_DUPFD_CLOEXEC, 0);
	copy->source_name = g_strdup(req->source_name);
	copy->output_name = g_strdup(req->output_name);
	copy->backup_name = g_strdup(req->backup_name);
	return copy;
}

void
av1d_swap_run_async(const Av1dSwapRequest *request, GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(NULL, NULL, callback, user_data);

	/* once started the swap is not cancelled half way: it is short, and
	 * finishing is as safe as not starting */
	g_task_set_task_data(task, av1d_swap_request_copy(request),
			     (GDestroyNotify)av1d_swap_request_free);
	g_task_run_in_thread(task, av1d_swap_thread);
}

gboolean
av1d_swap_run_finish(GAsyncResult *result, Av1dFileIdentity *output_identity, GError **error)
{
	g_autofree Av1dFileIdentity *identity = g_task_propagate_pointer(G_TASK(result), error);

	if (identity == NULL)
		return FALSE;
	*output_identity = *identity;
	return TRUE;
}

/* ---- recovery ---- */

typedef struct {
	int dir_fd;
	const gchar *source_name;
	const gchar *output_name;
	const gchar *backup_name;
	const Av1dFileIdentity *source;
	const Av1dFileIdentity *output;
	gboolean keep_backup;
} Av1dSwapState;

/* the swap got past its commit point: the encode is under the final name
 * and the original is safe (as the backup, or deliberately gone) */
static gboolean
av1d_swap_state_committed(const Av1dSwapState *st)
{
	gboolean backup = av1d_beneath_is_file(st->dir_fd, st->backup_name, st->source);
	gboolean source_gone = !av1d_swap_same_inode(st->dir_fd, st->source_name, st->source);

	if (st->output->ino == 0 || !av1d_swap_is_encode(st->dir_fd, st->output_name, st->output))
		return FALSE;
	return backup || (!st->keep_backup && source_gone);
}

static Av1dRecovery
av1d_swap_roll_forward(const Av1dSwapState *st, int temp_fd, gchar **reason)
{
	if (g_strcmp0(st->output_name, st->source_name) != 0 &&
	    av1d_swap_same_file(st->dir_fd, st->source_name, st->backup_name))
		av1d_swap_remove_if_ours(st->dir_fd, st->source_name, temp_fd, st->source);
	fsync(st->dir_fd);
	if (!st->keep_backup && av1d_beneath_is_file(st->dir_fd, st->backup_name, st->source))
		av1d_swap_remove_if_ours(st->dir_fd, st->backup_name, temp_fd, st->source);
	fsync(st->dir_fd);
	*reason = g_strdup(_("interrupted during the swap; completed on restart"));
	return AV1D_RECOVERY_ROLLED_FORWARD;
}

static Av1dRecovery
av1d_swap_roll_back(const Av1dSwapState *st, gchar **reason)
{
	if (av1d_swap_same_inode(st->dir_fd, st->source_name, st->source)) {
		/* a backup av1d made is a second name of the original */
		if (av1d_swap_same_file(st->dir_fd, st->source_name, st->backup_name))
			unlinkat(st->dir_fd, st->backup_name, 0);
		fsync(st->dir_fd);
		*reason = g_strdup(_("interrupted; original kept, temp removed"));
		return AV1D_RECOVERY_SOURCE_KEPT;
	}
	if (av1d_beneath_is_file(st->dir_fd, st->backup_name, st->source)) {
		*reason = g_strdup_printf(_("interrupted; the source's name now holds another "
					    "file, the original is kept as %s"),
					  st->backup_name);
		return AV1D_RECOVERY_ORIGINAL_AS_BACKUP;
	}
	*reason = g_strdup(_("interrupted; the file was replaced or removed meanwhile"));
	return AV1D_RECOVERY_SOURCE_CHANGED;
}

Av1dRecovery
av1d_swap_recover(int dir_fd,
		  guint64 job_id,
		  const gchar *source_name,
		  const Av1dFileIdentity *source_identity,
		  const Av1dFileIdentity *output_identity,
		  gboolean swapping,
		  gboolean keep_backup,
		  gchar **reason)
{
	g_autofree gchar *output_name = av1d_swap_output_name(source_name);
	g_autofree gchar *backup_name = av1d_swap_backup_name(source_name);
	Av1dSwapState st = {
		.dir_fd = dir_fd,
		.source_name = source_name,
		.output_name = output_name,
		.backup_name = backup_name,
		.source = source_identity,
		.output = output_identity,
		.keep_backup = keep_backup,
	};
	g_autofree gchar *temp_name = NULL;
	g_autofree gchar *prefix = NULL;
	Av1dRecovery recovery;
	int temp_fd;

	if (!swapping || !av1d_swap_state_committed(&st)) {
		recovery = av1d_swap_roll_back(&st, reason);
		av1d_beneath_remove_job_temp_dirs(dir_fd, job_id);
		return recovery;
	}
	/* a private folder for the doomed names, named as the job's own so that
	 * a crash in the middle of this leaves nothing the next start misses */
	prefix = g_strdup_printf(AV1D_TEMP_DIR_PREFIX "%" G_GUINT64_FORMAT "-", job_id);
	temp_fd = av1d_beneath_make_temp_dir(dir_fd, prefix, &temp_name, NULL);
	recovery = av1d_swap_roll_forward(&st, temp_fd, reason);
	if (temp_fd >= 0) {
		close(temp_fd);
		av1d_beneath_remove_temp_dir(dir_fd, temp_name, NULL);
	}
	av1d_beneath_remove_job_temp_dirs(dir_fd, job_id);
	return recovery;
}
