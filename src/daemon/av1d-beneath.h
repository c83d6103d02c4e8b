/*
 * Files inside a library root, reached without ever following a symlink
 * (SPEC 7.3, 8). The library is shared: another user or program may replace
 * a folder by a symlink, or plant one at a name av1d is about to write, at
 * any instant. Everything av1d writes into the library goes through a
 * directory file descriptor opened here, so what a path meant when it was
 * checked is what gets written, and a symlink never leads a write out of
 * the library.
 *
 * A folder is opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)
 * from its root (systemd's chase() idea, done by the kernel); on kernels
 * without openat2 (before 5.6) the same walk is done by hand, one
 * component at a time with O_NOFOLLOW. The root itself is trusted as
 * configured (it may be a symlink). A path that leaves the root, names a
 * symlink anywhere below it, or is not a folder gives
 * AV1D_ERROR_OUTSIDE_LIBRARY; a missing one AV1D_ERROR_NOT_FOUND.
 *
 * All functions are blocking syscalls on one folder (open, a few stats, a
 * small write): fine on the main thread except av1d_beneath_write_file's
 * fsync, which the callers accept for sidecars of a few hundred bytes.
 * Returned descriptors are O_CLOEXEC; the caller closes them.
 */
#pragma once

#include <glib.h>

#include "av1d-job.h"

G_BEGIN_DECLS

/* the root in @roots that holds @path (a root itself counts), or NULL */
const gchar *
av1d_beneath_find_root(const gchar *const *roots, const gchar *path);

/* the folder @dir (absolute, under @root, or @root itself) opened
 * O_RDONLY | O_DIRECTORY; -1 with @error on failure */
int
av1d_beneath_open_dir(const gchar *root, const gchar *dir, GError **error);

/* the folder holding @path, opened beneath the root in @roots that holds
 * it; @name gets the last component (a plain name, never "." or "..") */
int
av1d_beneath_open_parent(const gchar *const *roots,
			 const gchar *path,
			 gchar **name,
			 GError **error);

/* @name in @dir_fd as a file identity, without following a symlink; a
 * symlink or anything but a regular file is AV1D_ERROR_BAD_STATE */
gboolean
av1d_beneath_identity(int dir_fd, const gchar *name, Av1dFileIdentity *identity, GError **error);

/* TRUE when @name in @dir_fd is a regular file with @identity's dev, ino,
 * size and mtime */
gboolean
av1d_beneath_is_file(int dir_fd, const gchar *name, const Av1dFileIdentity *identity);

/* writes @name in @dir_fd durably: a temp file beside it, fsync, rename,
 * fsync of the folder. A name held by anything but a regular file (a
 * symlink someone planted, a folder) is left alone: AV1D_ERROR_BAD_STATE */
gboolean
av1d_beneath_write_file(int dir_fd,
			const gchar *name,
			const gchar *data,
			gsize length,
			guint mode,
			GError **error);

/* a new private folder "<prefix>XXXXXX" (mode 0700) in @dir_fd; returns
 * its descriptor and its name in @name */
int
av1d_beneath_make_temp_dir(int dir_fd, const gchar *prefix, gchar **name, GError **error);

/* removes the private folder @name of @dir_fd and what is in it, only when
 * it is a real folder owned by this user (never through a symlink); a
 * missing folder is success. Sub-folders are not expected and are left,
 * with an error */
gboolean
av1d_beneath_remove_temp_dir(int dir_fd, const gchar *name, GError **error);

/* the private temp folders of job @id ("<AV1D_TEMP_DIR_PREFIX><id>-…") in
 * @dir_fd, removed; returns how many */
guint
av1d_beneath_remove_job_temp_dirs(int dir_fd, guint64 id);

gboolean
av1d_beneath_fsync_dir(int dir_fd, GError **error);

/* sets @error from @errsv: AV1D_ERROR_NO_SPACE, _PERMISSION_DENIED,
 * _NOT_FOUND or _FAILED, with "<what>: <strerror>"; returns FALSE */
G_GNUC_PRINTF(3, 4)
gboolean
av1d_error_set_errno(GError **error, int errsv, const gchar *format, ...);

G_END_DECLS
