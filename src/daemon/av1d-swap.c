#define G_LOG_DOMAIN "av1d-swap"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>

#include "av1d-error.h"
#include "av1d-fault.h"
#include "av1d-sidecar.h"
#include "av1d-swap.h"

Av1dSwapRequest *
av1d_swap_request_new(const gchar *source_path,
		      const Av1dFileIdentity *source_identity,
		      gboolean keep_backup)
{
	Av1dSwapRequest *self = g_new0(Av1dSwapRequest, 1);

	self->source_path = g_strdup(source_path);
	self->temp_path = av1d_sidecar_temp_path(source_path);
	self->output_path = av1d_sidecar_output_path(source_path);
	self->backup_path = av1d_sidecar_backup_path(source_path);
	self->source_identity = *source_identity;
	self->keep_backup = keep_backup;
	return self;
}

void
av1d_swap_request_free(Av1dSwapRequest *self)
{
	if (self == NULL)
		return;
	g_free(self->source_path);
	g_free(self->temp_path);
	g_free(self->output_path);
	g_free(self->backup_path);
	g_free(self);
}

/* format, marked with N_(), says what failed and names the path; the
 * system's reason for errsv follows after ": ". It is translated here, not
 * at the call, so that nothing can touch errno before it is read there */
G_GNUC_PRINTF(3, 4)
static gboolean
av1d_swap_fail_errno(GError **error, int errsv, const gchar *format, ...)
{
	g_autofree gchar *what = NULL;
	va_list args;

	va_start(args, format);
	what = g_strdup_vprintf(_(format), args);
	va_end(args);
	g_set_error(error, AV1D_ERROR,
		    errsv == ENOSPC || errsv == EDQUOT ? AV1D_ERROR_NO_SPACE
		    : errsv == EACCES || errsv == EPERM || errsv == EROFS
			? AV1D_ERROR_PERMISSION_DENIED
			: AV1D_ERROR_FAILED,
		    "%s: %s", what, g_strerror(errsv));
	return FALSE;
}

static gboolean
av1d_swap_fsync_dir(const gchar *path, GError **error)
{
	g_autofree gchar *dir = g_path_get_dirname(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int errsv;

	if (fd < 0)
		return av1d_swap_fail_errno(error, errno, N_("cannot open directory %s"), dir);
	if (fsync(fd) != 0) {
		errsv = errno;
		close(fd);
		return av1d_swap_fail_errno(error, errsv, N_("cannot fsync directory %s"), dir);
	}
	close(fd);
	return TRUE;
}

/* the new file takes the original's place, so it takes its mode, owner and
 * mtime too (a library sorted by date must not see every film as new) */
static gboolean
av1d_swap_prepare_temp(const Av1dSwapRequest *req, const struct stat *orig, GError **error)
{
	struct timespec times[2] = {orig->st_atim, orig->st_mtim};
	int fd = open(req->temp_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	int errsv = 0;

	if (fd < 0)
		return av1d_swap_fail_errno(error, errno, N_("cannot open encode %s"),
					    req->temp_path);
	if (fchown(fd, orig->st_uid, orig->st_gid) != 0 && errno != EPERM)
		errsv = errno;
	else if (fchmod(fd, orig->st_mode & 07777) != 0)
		errsv = errno;
	else if (fsync(fd) != 0)
		errsv = errno;
	else if (futimens(fd, times) != 0)
		errsv = errno;
	close(fd);
	if (errsv != 0)
		return av1d_swap_fail_errno(error, errsv, N_("cannot prepare encode %s"),
					    req->temp_path);
	return TRUE;
}

static gboolean
av1d_swap_check_source(const Av1dSwapRequest *req, struct stat *orig, GError **error)
{
	Av1dFileIdentity now;

	if (lstat(req->source_path, orig) != 0)
		return av1d_swap_fail_errno(error, errno,
					    N_("source vanished during the encode: %s"),
					    req->source_path);
	if (!av1d_file_identity_from_path(req->source_path, &now, error))
		return FALSE;
	if (!av1d_file_identity_equal(&now, &req->source_identity)) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE,
			    _("source changed during the encode (size or mtime differs): %s"),
			    req->source_path);
		return FALSE;
	}
	return TRUE;
}

/* the names the swap creates must be free, or we would clobber a file of
 * the user's (a Movie.mkv beside a Movie.mp4, an old Movie.orig.mkv) */
static gboolean
av1d_swap_check_names(const Av1dSwapRequest *req, GError **error)
{
	if (g_strcmp0(req->output_path, req->source_path) != 0 &&
	    g_file_test(req->output_path, G_FILE_TEST_EXISTS)) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE,
			    _("%s already exists; not overwriting it"), req->output_path);
		return FALSE;
	}
	if (g_file_test(req->backup_path, G_FILE_TEST_EXISTS)) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE,
			    _("backup name %s is taken; not overwriting it"), req->backup_path);
		return FALSE;
	}
	return TRUE;
}

/* steps 3 to 6: after the link succeeds, the original can only ever be
 * under its own name, the backup's, or both */
static gboolean
av1d_swap_replace(const Av1dSwapRequest *req, GError **error)
{
	av1d_fault_point("swap-before-link");
	if (link(req->source_path, req->backup_path) != 0)
		return av1d_swap_fail_errno(error, errno, N_("cannot create backup %s"),
					    req->backup_path);
	if (!av1d_swap_fsync_dir(req->backup_path, error)) {
		g_unlink(req->backup_path);
		return FALSE;
	}
	av1d_fault_point("swap-before-rename");
	if (rename(req->temp_path, req->output_path) != 0) {
		int errsv = errno;
		g_unlink(req->backup_path);
		return av1d_swap_fail_errno(error, errsv, N_("cannot rename encode to %s"),
					    req->output_path);
	}
	av1d_fault_point("swap-after-rename");
	if (g_strcmp0(req->output_path, req->source_path) != 0 && g_unlink(req->source_path) != 0)
		g_warning("cannot remove %s after the swap: %s", req->source_path,
			  g_strerror(errno));
	av1d_fault_point("swap-before-dir-fsync");
	return av1d_swap_fsync_dir(req->output_path, error);
}

gboolean
av1d_swap_run_sync(const Av1dSwapRequest *req, Av1dFileIdentity *output_identity, GError **error)
{
	struct stat orig;

	if (!av1d_swap_check_source(req, &orig, error) || !av1d_swap_check_names(req, error))
		return FALSE;
	if (!av1d_swap_prepare_temp(req, &orig, error))
		return FALSE;
	if (!av1d_swap_replace(req, error))
		return FALSE;
	if (!req->keep_backup) {
		av1d_fault_point("swap-before-backup-removal");
		if (g_unlink(req->backup_path) != 0)
			g_warning("cannot remove backup %s: %s", req->backup_path,
				  g_strerror(errno));
		else if (!av1d_swap_fsync_dir(req->backup_path, error))
			return FALSE;
	}
	return av1d_file_identity_from_path(req->output_path, output_identity, error);
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
	/* every other path derives from the source's name */
	return av1d_swap_request_new(req->source_path, &req->source_identity, req->keep_backup);
}

void
av1d_swap_run_async(const Av1dSwapRequest *request,
		    GCancellable *cancellable,
		    GAsyncReadyCallback callback,
		    gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(NULL, cancellable, callback, user_data);

	/* once started the swap is not cancelled half way: it is short, and
	 * finishing is as safe as not starting */
	g_task_set_return_on_cancel(task, FALSE);
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

/* TRUE when @path exists and is the inode of @identity */
static gboolean
av1d_swap_is_original(const gchar *path, const Av1dFileIdentity *identity)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return FALSE;
	return (guint64)st.st_dev == identity->dev && (guint64)st.st_ino == identity->ino;
}

static Av1dRecovery
av1d_swap_roll_back(const Av1dSwapRequest *req, gchar **reason, GError **error)
{
	gboolean had_backup = FALSE;

	/* the backup is only ours to remove while the original still has its
	 * own name: then it is merely a second link to it */
	if (av1d_swap_is_original(req->source_path, &req->source_identity) &&
	    av1d_swap_is_original(req->backup_path, &req->source_identity)) {
		if (g_unlink(req->backup_path) != 0) {
			av1d_swap_fail_errno(error, errno, N_("cannot remove %s"),
					     req->backup_path);
			return AV1D_RECOVERY_NOTHING;
		}
		had_backup = TRUE;
	}
	if (g_unlink(req->temp_path) != 0 && errno != ENOENT) {
		av1d_swap_fail_errno(error, errno, N_("cannot remove %s"), req->temp_path);
		return AV1D_RECOVERY_NOTHING;
	}
	if (!av1d_swap_fsync_dir(req->source_path, error))
		return AV1D_RECOVERY_NOTHING;
	*reason = g_strdup(_("interrupted before the swap; original kept, temp removed"));
	return had_backup ? AV1D_RECOVERY_ROLLED_BACK : AV1D_RECOVERY_NOTHING;
}

static Av1dRecovery
av1d_swap_roll_forward(const Av1dSwapRequest *req, gchar **reason, GError **error)
{
	if (g_strcmp0(req->output_path, req->source_path) != 0 &&
	    av1d_swap_is_original(req->source_path, &req->source_identity) &&
	    av1d_swap_is_original(req->backup_path, &req->source_identity) &&
	    g_unlink(req->source_path) != 0) {
		av1d_swap_fail_errno(error, errno, N_("cannot remove %s"), req->source_path);
		return AV1D_RECOVERY_NOTHING;
	}
	if (!av1d_swap_fsync_dir(req->output_path, error))
		return AV1D_RECOVERY_NOTHING;
	if (!req->keep_backup && av1d_swap_is_original(req->backup_path, &req->source_identity) &&
	    g_unlink(req->backup_path) == 0 && !av1d_swap_fsync_dir(req->backup_path, error))
		return AV1D_RECOVERY_NOTHING;
	*reason = g_strdup(_("interrupted during the swap; completed on restart"));
	return AV1D_RECOVERY_ROLLED_FORWARD;
}

Av1dRecovery
av1d_swap_recover(const Av1dSwapRequest *req, gchar **reason, GError **error)
{
	struct stat st;
	gboolean renamed;

	/* the rename is the commit point: a final name holding another inode
	 * than the original, with the original safe as the backup, means the
	 * new file is in place (the temp was fsync'ed before the rename) */
	renamed = lstat(req->output_path, &st) == 0 &&
		  !av1d_swap_is_original(req->output_path, &req->source_identity) &&
		  !g_file_test(req->temp_path, G_FILE_TEST_EXISTS) &&
		  (av1d_swap_is_original(req->backup_path, &req->source_identity) ||
		   (!req->keep_backup &&
		    !av1d_swap_is_original(req->source_path, &req->source_identity)));
	if (renamed)
		return av1d_swap_roll_forward(req, reason, error);
	return av1d_swap_roll_back(req, reason, error);
}
