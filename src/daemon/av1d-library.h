/*
 * Which paths a client may name: the D-Bus methods take paths from
 * anyone on the bus, so a path is only acted on once it is known to lie in a
 * library root after every symlink and ".." is resolved. What is checked is
 * the canonical path, and that is the path the caller must then use, so that
 * a symlink cannot lead a write out of the library.
 *
 * A path is an absolute filename in UTF-8 or a file:// URI (how ListJobs
 * shows a path that is not UTF-8). Errors:
 *   AV1D_ERROR_INVALID_ARGS     empty, not UTF-8, relative, a bad URI, a
 *                               symlink loop or a name too long
 *   AV1D_ERROR_OUTSIDE_LIBRARY  resolves to a place outside every root; this
 *                               also holds for a missing path whose nearest
 *                               existing ancestor is outside, so that the
 *                               answer does not tell whether it exists
 *   AV1D_ERROR_NOT_FOUND        inside a root (as far as it exists) but
 *                               missing
 *   AV1D_ERROR_PERMISSION_DENIED  the daemon may not look
 */
#pragma once

#include <glib.h>

#include "av1d-config.h"

G_BEGIN_DECLS

/* the canonical path (realpath) of @path, which must exist and lie in a
 * library root (a root itself counts) */
gchar *
av1d_library_resolve_path(const Av1dConfig *config, const gchar *path, GError **error);
/* for a file that may be gone (Unskip of a marker whose file was deleted):
 * the parent directory is resolved and must lie in a library root; the last
 * component is kept as given and must be a plain name (not "." or "..").
 * Returns <canonical parent>/<name>. Use av1d_library_resolve_path() first
 * when the file exists: the name may be a symlink. */
gchar *
av1d_library_resolve_parent(const Av1dConfig *config, const gchar *path, GError **error);

G_END_DECLS
