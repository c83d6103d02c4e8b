#define G_LOG_DOMAIN "av1d-beneath"

#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>

#include "av1d-beneath.h"
#include "av1d-error.h"
#include "av1d-sidecar.h"

gboolean
av1d_error_set_errno(GError **error, int errsv, const gchar *format, ...)
{
	g_autofree gchar *what = NULL;
	gint code;
	va_list args;

	va_start(args, format);
	what = g_strdup_vprintf(format, args);
	va_end(args);
	switch (errsv) {
	case ENOSPC:
	case EDQUOT:
		code = AV1D_ERROR_NO_SPACE;
		break;
	case EACCES:
	case EPERM:
	case EROFS:
		code = AV1D_ERROR_PERMISSION_DENIED;
		break;
	case ENOENT:
		code = AV1D_ERROR_NOT_FOUND;
		break;
	default:
		code = AV1D_ERROR_FAILED;
		break;
	}
	g_set_error(error, AV1D_ERROR, code, "%s: %s", what, g_strerror(errsv));
	return FALSE;
}

const gchar *
av1d_beneath_find_root(const gchar *const *roots, const gchar *path)
{
	for (guint i = 0; roots != NULL && roots[i] != NULL; i++) {
		const gchar *root = roots[i];
		gsize len = strlen(root);

		/* "/" holds everything; "/media/a" holds "/media/a/x", not "/media/ab" */
		while (len > 1 && root[len - 1] == '/')
			len--;
		if (strncmp(path, root, len) != 0)
			continue;
		if (path[len] == '\0' || path[len] == '/' || (len == 1 && root[0] == '/'))
			return root;
	}
	return NULL;
}

static int
av1d_beneath_openat2(int root_fd, const gchar *relative)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};

	return (int)syscall(SYS_openat2, root_fd, relative, &how, sizeof how);
}

/* the same walk by hand, for kernels without openat2: every component is
 * a plain name opened with O_NOFOLLOW, so a symlink fails with ELOOP or
 * ENOTDIR and ".." never appears */
static int
av1d_beneath_walk(int root_fd, const gchar *relative)
{
	g_auto(GStrv) parts = g_strsplit(relative, "/", -1);
	int fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 0);

	for (guint i = 0; fd >= 0 && parts[i] != NULL; i++) {
		int next;

		if (parts[i][0] == '\0' || g_str_equal(parts[i], "."))
			continue;
		if (g_str_equal(parts[i], "..")) {
			close(fd);
			errno = EXDEV;
			return -1;
		}
		next = openat(fd, parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
	}
	return fd;
}

int
av1d_beneath_open_dir(const gchar *root, const gchar *dir, GError **error)
{
	gsize len = strlen(root);
	const gchar *relative;
	int root_fd, fd, errsv;

	g_return_val_if_fail(root != NULL && dir != NULL, -1);

	while (len > 1 && root[len - 1] == '/')
		len--;
	if (av1d_beneath_find_root((const gchar *const[]){root, NULL}, dir) == NULL) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_OUTSIDE_LIBRARY,
			    _("%s is not inside the library root %s"), dir, root);
		return -1;
	}
	relative = dir + len;
	while (*relative == '/')
		relative++;
	root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return av1d_error_set_errno(error, errno, _("cannot open library root %s"), root),
		       -1;
	if (*relative == '\0')
		return root_fd;
	fd = av1d_beneath_openat2(root_fd, relative);
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		fd = av1d_beneath_walk(root_fd, relative);
	errsv = errno;
	close(root_fd);
	if (fd >= 0)
		return fd;
	if (errsv == ELOOP || errsv == EXDEV || errsv == ENOTDIR) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_OUTSIDE_LIBRARY,
			    _("%s is no longer a folder reachable inside the library without "
			      "following a symlink"),
			    dir);
		return -1;
	}
	return av1d_error_set_errno(error, errsv, _("cannot open folder %s"), dir), -1;
}

int
av1d_beneath_open_parent(const gchar *const *roots,
			 const gchar *path,
			 gchar **name,
			 GError **error)
{
	const gchar *root = av1d_beneath_find_root(roots, path);
	g_autofree gchar *dir = NULL;
	g_autofree gchar *base = NULL;
	int fd;

	if (root == NULL) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_OUTSIDE_LIBRARY,
			    _("%s is not inside a library root"), path);
		return -1;
	}
	base = g_path_get_basename(path);
	dir = g_path_get_dirname(path);
	if (g_str_equal(base, ".") || g_str_equal(base, "..") || g_str_equal(base, "/") ||
	    av1d_beneath_find_root((const gchar *const[]){root, NULL}, dir) == NULL) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_OUTSIDE_LIBRARY,
			    _("%s is not a file inside a library root"), path);
		return -1;
	}
	fd = av1d_beneath_open_dir(root, dir, error);
	if (fd >= 0 && name != NULL)
		*name = g_steal_pointer(&base);
	return fd;
}

static void
av1d_identity_from_stat(const struct stat *st, Av1dFileIdentity *identity)
{
	identity->dev = (guint64)st->st_dev;
	identity->ino = (guint64)st->st_ino;
	identity->size = (guint64)st->st_size;
	identity->mtime_ns = (gint64)st->st_mtim.tv_sec * G_GINT64_CONSTANT(1000000000) +
			     st->st_mtim.tv_nsec;
}

gboolean
av1d_beneath_identity(int dir_fd, const gchar *name, Av1dFileIdentity *identity, GError **error)
{
	struct stat st;

	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return av1d_error_set_errno(error, errno, _("cannot look at %s"), name);
	if (!S_ISREG(st.st_mode)) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE,
			    _("%s is no longer a regular file"), name);
		return FALSE;
	}
	av1d_identity_from_stat(&st, identity);
	return TRUE;
}

gboolean
av1d_beneath_is_file(int dir_fd, const gchar *name, const Av1dFileIdentity *identity)
{
	Av1dFileIdentity now;

	return av1d_beneath_identity(dir_fd, name, &now, NULL) &&
	       av1d_file_identity_equal(&now, identity);
}

gboolean
av1d_beneath_fsync_dir(int dir_fd, GError **error)
{
	if (fsync(dir_fd) != 0)
		return av1d_error_set_errno(error, errno, _("cannot fsync a folder"));
	return TRUE;
}

/* "<prefix>XXXXXX": the caller creates it exclusively and retries on EEXIST */
static gchar *
av1d_beneath_random_name(const gchar *prefix)
{
	static const gchar chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	GString *name = g_string_new(prefix);

	for (guint i = 0; i < 6; i++)
		g_string_append_c(name, chars[g_random_int_range(0, sizeof chars - 1)]);
	return g_string_free(name, FALSE);
}

static gboolean
av1d_beneath_write_fd(int fd, const gchar *data, gsize length, guint mode)
{
	while (length > 0) {
		gssize n = write(fd, data, length);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return FALSE;
		data += n;
		length -= (gsize)n;
	}
	return fchmod(fd, mode) == 0 && fsync(fd) == 0;
}

/* the name may be replaced only when it is free or a regular file */
static gboolean
av1d_beneath_check_replaceable(int dir_fd, const gchar *name, GError **error)
{
	struct stat st;

	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ||
		       av1d_error_set_errno(error, errno, _("cannot look at %s"), name);
	if (S_ISREG(st.st_mode))
		return TRUE;
	g_set_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE,
		    _("%s exists and is not a regular file; leaving it alone"), name);
	return FALSE;
}

gboolean
av1d_beneath_write_file(int dir_fd,
			const gchar *name,
			const gchar *data,
			gsize length,
			guint mode,
			GError **error)
{
	/* short, so that a name near NAME_MAX still gets its temp */
	const gchar *prefix = AV1D_TEMP_INFIX "-";
	g_autofree gchar *temp = NULL;
	int fd = -1, errsv;

	if (!av1d_beneath_check_replaceable(dir_fd, name, error))
		return FALSE;
	for (guint tries = 0; fd < 0 && tries < 100; tries++) {
		g_free(temp);
		temp = av1d_beneath_random_name(prefix);
		fd = openat(dir_fd, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
		return av1d_error_set_errno(error, errno, _("cannot create a temp file for %s"),
					    name);
	if (!av1d_beneath_write_fd(fd, data, length, mode)) {
		errsv = errno;
		close(fd);
		unlinkat(dir_fd, temp, 0);
		return av1d_error_set_errno(error, errsv, _("cannot write %s"), name);
	}
	close(fd);
	/* checked again just before: the rename replaces whatever holds the
	 * name, so a symlink planted meanwhile would be replaced, never
	 * followed; only a regular file of ours is worth replacing */
	if (!av1d_beneath_check_replaceable(dir_fd, name, error) ||
	    renameat(dir_fd, temp, dir_fd, name) != 0) {
		errsv = errno;
		unlinkat(dir_fd, temp, 0);
		if (error != NULL && *error != NULL)
			return FALSE;
		return av1d_error_set_errno(error, errsv, _("cannot write %s"), name);
	}
	return av1d_beneath_fsync_dir(dir_fd, error);
}

int
av1d_beneath_make_temp_dir(int dir_fd, const gchar *prefix, gchar **name, GError **error)
{
	for (guint tries = 0; tries < 100; tries++) {
		g_autofree gchar *candidate = av1d_beneath_random_name(prefix);
		int fd;

		if (mkdirat(dir_fd, candidate, 0700) != 0) {
			if (errno == EEXIST)
				continue;
			return av1d_error_set_errno(error, errno,
						    _("cannot create a temp folder %s"), candidate),
			       -1;
		}
		fd = openat(dir_fd, candidate, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			int errsv = errno;
			unlinkat(dir_fd, candidate, AT_REMOVEDIR);
			return av1d_error_set_errno(error, errsv, _("cannot open temp folder %s"),
						    candidate),
			       -1;
		}
		*name = g_steal_pointer(&candidate);
		return fd;
	}
	g_set_error(error, AV1D_ERROR, AV1D_ERROR_FAILED,
		    _("cannot find a free temp folder name %sXXXXXX"), prefix);
	return -1;
}

/* every entry of the folder behind @fd that is not a folder, unlinked */
static gboolean
av1d_beneath_empty_dir(int fd, const gchar *name, GError **error)
{
	/* a fresh descriptor: a dup would share (and move) the read offset */
	int list_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = list_fd >= 0 ? fdopendir(list_fd) : NULL;
	struct dirent *entry;
	gboolean ok = TRUE;

	if (dir == NULL) {
		if (list_fd >= 0)
			close(list_fd);
		return av1d_error_set_errno(error, errno, _("cannot read temp folder %s"), name);
	}
	while ((entry = readdir(dir)) != NULL) {
		if (g_str_equal(entry->d_name, ".") || g_str_equal(entry->d_name, ".."))
			continue;
		if (unlinkat(fd, entry->d_name, 0) != 0 && errno != ENOENT && ok) {
			av1d_error_set_errno(error, errno, _("cannot remove %s in %s"),
					     entry->d_name, name);
			ok = FALSE;
		}
	}
	closedir(dir);
	return ok;
}

gboolean
av1d_beneath_remove_temp_dir(int dir_fd, const gchar *name, GError **error)
{
	struct stat st;
	int fd;

	fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ||
		       av1d_error_set_errno(error, errno, _("cannot open temp folder %s"), name);
	if (fstat(fd, &st) != 0 || st.st_uid != geteuid()) {
		close(fd);
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_BAD_STATE,
			    _("temp folder %s belongs to another user; leaving it"), name);
		return FALSE;
	}
	if (!av1d_beneath_empty_dir(fd, name, error)) {
		close(fd);
		return FALSE;
	}
	close(fd);
	if (unlinkat(dir_fd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		return av1d_error_set_errno(error, errno, _("cannot remove temp folder %s"), name);
	return TRUE;
}

guint
av1d_beneath_remove_job_temp_dirs(int dir_fd, guint64 id)
{
	g_autofree gchar *prefix =
		g_strdup_printf(AV1D_TEMP_DIR_PREFIX "%" G_GUINT64_FORMAT "-", id);
	int list_fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = list_fd >= 0 ? fdopendir(list_fd) : NULL;
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	struct dirent *entry;
	guint removed = 0;

	if (dir == NULL) {
		if (list_fd >= 0)
			close(list_fd);
		return 0;
	}
	while ((entry = readdir(dir)) != NULL) {
		/* "<prefix>XXXXXX": our own shape only */
		if (g_str_has_prefix(entry->d_name, prefix) &&
		    strlen(entry->d_name) == strlen(prefix) + 6)
			g_ptr_array_add(names, g_strdup(entry->d_name));
	}
	closedir(dir);
	for (guint i = 0; i < names->len; i++) {
		g_autoptr(GError) error = NULL;
		const gchar *name = g_ptr_array_index(names, i);

		if (av1d_beneath_remove_temp_dir(dir_fd, name, &error))
			removed++;
		else
			g_warning("job %" G_GUINT64_FORMAT ": %s", id, error->message);
	}
	return removed;
}
