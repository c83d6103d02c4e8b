#define G_LOG_DOMAIN "av1d-library"

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gi18n-lib.h>

#include "av1d-candidate.h"
#include "av1d-error.h"
#include "av1d-library.h"

/* the argument as a local filename: an absolute path as given, a file://
 * URI decoded (its bytes need not be UTF-8) */
static gchar *
av1d_library_parse(const gchar *path, GError **error)
{
	g_autofree gchar *filename = NULL;
	g_autofree gchar *hostname = NULL;

	if (path == NULL || *path == '\0') {
		g_set_error_literal(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS, _("empty path"));
		return NULL;
	}
	if (!g_utf8_validate(path, -1, NULL)) {
		g_set_error_literal(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS,
				    _("the path is not UTF-8; give it as a file:// URI"));
		return NULL;
	}
	if (g_str_has_prefix(path, "file:")) {
		filename = g_filename_from_uri(path, &hostname, NULL);
		if (filename == NULL ||
		    (hostname != NULL && g_strcmp0(hostname, "localhost") != 0)) {
			g_set_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS,
				    _("%s is not a local file:// URI"), path);
			return NULL;
		}
	} else {
		filename = g_strdup(path);
	}
	if (!g_path_is_absolute(filename)) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS,
			    _("%s is not an absolute path"), path);
		return NULL;
	}
	return g_steal_pointer(&filename);
}

static void
av1d_library_set_outside(GError **error, const gchar *filename)
{
	g_autofree gchar *display = g_filename_display_name(filename);

	g_set_error(error, AV1D_ERROR, AV1D_ERROR_OUTSIDE_LIBRARY,
		    _("%s is not inside a library root"), display);
}

static void
av1d_library_set_errno(GError **error, int saved, const gchar *filename)
{
	g_autofree gchar *display = g_filename_display_name(filename);
	Av1dError code;

	switch (saved) {
	case ENOENT:
	case ENOTDIR:
		code = AV1D_ERROR_NOT_FOUND;
		break;
	case EACCES:
	case EPERM:
		code = AV1D_ERROR_PERMISSION_DENIED;
		break;
	case ELOOP:
	case ENAMETOOLONG:
		code = AV1D_ERROR_INVALID_ARGS;
		break;
	default:
		code = AV1D_ERROR_FAILED;
		break;
	}
	g_set_error(error, AV1D_ERROR, code, "%s: %s", display, g_strerror(saved));
}

/* the canonical form of the nearest ancestor of @filename that resolves, so
 * that a missing path can still be placed inside or outside the library */
static gchar *
av1d_library_resolve_ancestor(const gchar *filename)
{
	g_autofree gchar *dir = g_path_get_dirname(filename);

	while (TRUE) {
		gchar *canonical = realpath(dir, NULL);
		g_autofree gchar *parent = NULL;

		if (canonical != NULL)
			return canonical;
		parent = g_path_get_dirname(dir);
		if (g_strcmp0(parent, dir) == 0)
			return NULL;
		g_free(dir);
		dir = g_steal_pointer(&parent);
	}
}

static gchar *
av1d_library_resolve_filename(const Av1dConfig *config, const gchar *filename, GError **error)
{
	g_autofree gchar *canonical = realpath(filename, NULL);
	int saved = errno;

	if (canonical == NULL) {
		g_autofree gchar *ancestor = av1d_library_resolve_ancestor(filename);

		/* outside wins over "missing", so that probing outside paths
		 * tells nothing about them */
		if (ancestor == NULL || av1d_candidate_find_root(config, ancestor) == NULL)
			av1d_library_set_outside(error, filename);
		else
			av1d_library_set_errno(error, saved, filename);
		return NULL;
	}
	if (av1d_candidate_find_root(config, canonical) == NULL) {
		av1d_library_set_outside(error, filename);
		return NULL;
	}
	return g_steal_pointer(&canonical);
}

gchar *
av1d_library_resolve_path(const Av1dConfig *config, const gchar *path, GError **error)
{
	g_autofree gchar *filename = av1d_library_parse(path, error);

	if (filename == NULL)
		return NULL;
	return av1d_library_resolve_filename(config, filename, error);
}

gchar *
av1d_library_resolve_parent(const Av1dConfig *config, const gchar *path, GError **error)
{
	g_autofree gchar *filename = av1d_library_parse(path, error);
	g_autofree gchar *name = NULL;
	g_autofree gchar *dir = NULL;
	g_autofree gchar *canonical_dir = NULL;
	gsize len;

	if (filename == NULL)
		return NULL;
	/* "/a/b/" names b, not a "b" inside b */
	len = strlen(filename);
	while (len > 1 && filename[len - 1] == G_DIR_SEPARATOR)
		filename[--len] = '\0';
	name = g_path_get_basename(filename);
	if (g_strcmp0(name, ".") == 0 || g_strcmp0(name, "..") == 0 ||
	    g_strcmp0(name, G_DIR_SEPARATOR_S) == 0) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS,
			    _("%s does not name a file"), path);
		return NULL;
	}
	dir = g_path_get_dirname(filename);
	canonical_dir = av1d_library_resolve_filename(config, dir, error);
	if (canonical_dir == NULL)
		return NULL;
	return g_build_filename(canonical_dir, name, NULL);
}
