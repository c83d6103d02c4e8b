#define G_LOG_DOMAIN "av1d-candidate"

#include "config.h"

#include <errno.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gi18n-lib.h>

#include "av1d-candidate.h"
#include "av1d-sidecar.h"

gboolean
av1d_candidate_has_extension(const Av1dConfig *config, const gchar *basename)
{
	const gchar *dot = strrchr(basename, '.');
	g_autofree gchar *ext = NULL;

	if (dot == NULL || dot == basename)
		return FALSE;
	ext = g_ascii_strdown(dot + 1, -1);
	return g_strv_contains((const gchar *const *)config->extensions, ext);
}

Av1dCandidateVerdict
av1d_candidate_check(const Av1dConfig *config,
		     const gchar *root,
		     const gchar *path,
		     const struct stat *st)
{
	g_autofree gchar *basename = g_path_get_basename(path);

	if (!S_ISREG(st->st_mode))
		return AV1D_CANDIDATE_NOT_REGULAR;
	if (av1d_sidecar_is_own_file(basename))
		return AV1D_CANDIDATE_OWN_FILE;
	if (basename[0] == '.')
		return AV1D_CANDIDATE_HIDDEN;
	if (!av1d_candidate_has_extension(config, basename))
		return AV1D_CANDIDATE_WRONG_EXTENSION;
	if ((guint64)st->st_size < config->min_bytes)
		return AV1D_CANDIDATE_TOO_SMALL;
	if (av1d_sidecar_is_skipped(path, root))
		return AV1D_CANDIDATE_SKIP_MARKER;
	return AV1D_CANDIDATE_YES;
}

const gchar *
av1d_candidate_verdict_to_string(Av1dCandidateVerdict verdict)
{
	/* marked only: the English text goes to the journal as it is, and what
	 * shows it to a person translates it with g_dgettext(GETTEXT_PACKAGE) */
	switch (verdict) {
	case AV1D_CANDIDATE_YES:
		/* Translators: the file will be considered for conversion */
		return N_("candidate");
	case AV1D_CANDIDATE_NOT_REGULAR:
		return N_("not a regular file");
	case AV1D_CANDIDATE_HIDDEN:
		return N_("hidden file");
	case AV1D_CANDIDATE_OWN_FILE:
		return N_("one of av1d's own files (backup, temp or sidecar)");
	case AV1D_CANDIDATE_WRONG_EXTENSION:
		return N_("extension not in the configured list");
	case AV1D_CANDIDATE_TOO_SMALL:
		/* Translators: min_bytes is a config key, not translated */
		return N_("smaller than min_bytes");
	case AV1D_CANDIDATE_SKIP_MARKER:
		return N_("marked with .av1skip");
	}
	return N_("unknown");
}

const gchar *
av1d_candidate_find_root(const Av1dConfig *config, const gchar *path)
{
	for (guint i = 0; config->library_roots[i] != NULL; i++) {
		const gchar *root = config->library_roots[i];
		gsize len = strlen(root);

		if (g_strcmp0(path, root) == 0)
			return root;
		if (strncmp(path, root, len) == 0 && (path[len] == '/' || g_strcmp0(root, "/") == 0))
			return root;
	}
	return NULL;
}

static gboolean
av1d_candidate_walk(const Av1dConfig *config,
		    const gchar *root,
		    const gchar *dir_path,
		    GPtrArray *found,
		    GPtrArray *temps,
		    GError **error)
{
	g_autoptr(GDir) dir = NULL;
	g_autofree gchar *dir_marker = g_build_filename(dir_path, AV1D_DIR_SKIP_MARKER, NULL);
	const gchar *name;

	/* a marked folder is skipped with everything below it */
	if (g_file_test(dir_marker, G_FILE_TEST_EXISTS))
		return TRUE;
	dir = g_dir_open(dir_path, 0, error);
	if (dir == NULL)
		return FALSE;
	while ((name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *path = g_build_filename(dir_path, name, NULL);
		struct stat st;

		if (lstat(path, &st) != 0)
			continue; /* vanished meanwhile */
		if (S_ISDIR(st.st_mode)) {
			g_autoptr(GError) error_local = NULL;
			if (temps != NULL && av1d_sidecar_parse_temp_dir(name, NULL))
				g_ptr_array_add(temps, g_steal_pointer(&path));
			if (name[0] == '.')
				continue;
			if (!av1d_candidate_walk(config, root, path, found, temps, &error_local))
				g_debug("not walking %s: %s", path, error_local->message);
			continue;
		}
		if (av1d_candidate_check(config, root, path, &st) == AV1D_CANDIDATE_YES)
			g_ptr_array_add(found, g_steal_pointer(&path));
	}
	return TRUE;
}

static gint
av1d_candidate_compare(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const gchar *const *)a, *(const gchar *const *)b);
}

GPtrArray *
av1d_candidate_list(const Av1dConfig *config, GError **error)
{
	return av1d_candidate_list_with_temps(config, NULL, error);
}

GPtrArray *
av1d_candidate_list_with_temps(const Av1dConfig *config, GPtrArray **temps, GError **error)
{
	g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) temp_dirs = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; config->library_roots[i] != NULL; i++) {
		const gchar *root = config->library_roots[i];
		if (!av1d_candidate_walk(config, root, root, found, temps != NULL ? temp_dirs : NULL,
					 error)) {
			g_prefix_error(error, _("listing library root %s: "), root);
			return NULL;
		}
	}
	g_ptr_array_sort(found, av1d_candidate_compare);
	if (temps != NULL)
		*temps = g_steal_pointer(&temp_dirs);
	return g_steal_pointer(&found);
}
