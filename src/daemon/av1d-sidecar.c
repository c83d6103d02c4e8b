#define G_LOG_DOMAIN "av1d-sidecar"

#include "config.h"

#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>

#include "av1d-beneath.h"
#include "av1d-job-store.h"
#include "av1d-sidecar.h"

/* "Movie.Name.mp4" -> stem "Movie.Name", ext "mp4"; a name without a dot
 * (or only a leading one) has no extension */
static void
av1d_sidecar_split(const gchar *source_path, gchar **dir, gchar **stem, gchar **ext)
{
	g_autofree gchar *base = g_path_get_basename(source_path);
	const gchar *dot = strrchr(base, '.');

	*dir = g_path_get_dirname(source_path);
	if (dot == NULL || dot == base) {
		*stem = g_strdup(base);
		*ext = g_strdup("");
		return;
	}
	*stem = g_strndup(base, (gsize)(dot - base));
	*ext = g_strdup(dot + 1);
}

gchar *
av1d_sidecar_output_path(const gchar *source_path)
{
	g_autofree gchar *dir = NULL, *stem = NULL, *ext = NULL;
	g_autofree gchar *name = NULL;

	av1d_sidecar_split(source_path, &dir, &stem, &ext);
	name = g_strconcat(stem, ".mkv", NULL);
	return g_build_filename(dir, name, NULL);
}

gchar *
av1d_sidecar_backup_path(const gchar *source_path)
{
	g_autofree gchar *dir = NULL, *stem = NULL, *ext = NULL;
	g_autofree gchar *name = NULL;

	av1d_sidecar_split(source_path, &dir, &stem, &ext);
	name = g_strconcat(stem, AV1D_BACKUP_INFIX, ext, NULL);
	return g_build_filename(dir, name, NULL);
}

gchar *
av1d_sidecar_why_path(const gchar *source_path)
{
	return g_strconcat(source_path, AV1D_WHY_SUFFIX, NULL);
}

gchar *
av1d_sidecar_skip_path(const gchar *source_path)
{
	return g_strconcat(source_path, AV1D_SKIP_SUFFIX, NULL);
}

gboolean
av1d_sidecar_parse_temp_dir(const gchar *name, guint64 *id)
{
	const gchar *digits;
	const gchar *dash;
	guint64 value;

	if (!g_str_has_prefix(name, AV1D_TEMP_DIR_PREFIX))
		return FALSE;
	digits = name + strlen(AV1D_TEMP_DIR_PREFIX);
	dash = strchr(digits, '-');
	if (dash == NULL || dash == digits || strlen(dash + 1) != 6)
		return FALSE;
	for (const gchar *c = digits; c < dash; c++) {
		if (!g_ascii_isdigit(*c))
			return FALSE;
	}
	for (const gchar *c = dash + 1; *c != '\0'; c++) {
		if (!g_ascii_isalnum(*c))
			return FALSE;
	}
	value = g_ascii_strtoull(digits, NULL, 10);
	if (value == 0 || value == G_MAXUINT64)
		return FALSE;
	if (id != NULL)
		*id = value;
	return TRUE;
}

gboolean
av1d_sidecar_is_own_file(const gchar *basename)
{
	return g_str_has_suffix(basename, AV1D_SKIP_SUFFIX) ||
	       g_str_has_suffix(basename, AV1D_WHY_SUFFIX) ||
	       strstr(basename, AV1D_TEMP_INFIX) != NULL ||
	       g_str_has_prefix(basename, AV1D_TEMP_DIR_PREFIX) ||
	       strstr(basename, AV1D_BACKUP_INFIX) != NULL;
}

gboolean
av1d_sidecar_is_skipped(const gchar *source_path, const gchar *root)
{
	g_autofree gchar *marker = av1d_sidecar_skip_path(source_path);
	g_autofree gchar *dir = g_path_get_dirname(source_path);

	if (g_file_test(marker, G_FILE_TEST_EXISTS))
		return TRUE;
	while (TRUE) {
		g_autofree gchar *dir_marker = g_build_filename(dir, AV1D_DIR_SKIP_MARKER, NULL);
		g_autofree gchar *parent = NULL;

		if (g_file_test(dir_marker, G_FILE_TEST_EXISTS))
			return TRUE;
		if (root == NULL || g_strcmp0(dir, root) == 0 || !g_str_has_prefix(dir, root))
			return FALSE;
		parent = g_path_get_dirname(dir);
		if (g_strcmp0(parent, dir) == 0)
			return FALSE;
		g_free(dir);
		dir = g_steal_pointer(&parent);
	}
}

/* a folder marker only in a real folder inside a root, reached without a
 * symlink; a file marker beside the file, in its real parent folder */
static int
av1d_sidecar_open_marker_dir(const gchar *const *roots,
			     const gchar *path,
			     gchar **marker,
			     GError **error)
{
	const gchar *root = av1d_beneath_find_root(roots, path);
	g_autofree gchar *name = NULL;
	struct stat st;
	int fd;

	if (root != NULL && lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		fd = av1d_beneath_open_dir(root, path, error);
		if (fd >= 0)
			*marker = g_strdup(AV1D_DIR_SKIP_MARKER);
		return fd;
	}
	fd = av1d_beneath_open_parent(roots, path, &name, error);
	if (fd >= 0)
		*marker = g_strconcat(name, AV1D_SKIP_SUFFIX, NULL);
	return fd;
}

gboolean
av1d_sidecar_write_skip(const gchar *const *roots,
			const gchar *path,
			const gchar *why,
			GError **error)
{
	g_autofree gchar *marker = NULL;
	g_autofree gchar *text = NULL;
	gboolean ok;
	int fd;

	/* Translators: the text of a .av1skip marker when no reason was given */
	text = g_strdup_printf("%s\n", why != NULL ? why : _("skipped by the user"));
	fd = av1d_sidecar_open_marker_dir(roots, path, &marker, error);
	if (fd < 0)
		return FALSE;
	ok = av1d_beneath_write_file(fd, marker, text, strlen(text), 0644, error);
	close(fd);
	return ok;
}

gboolean
av1d_sidecar_write_why(const gchar *const *roots,
		       const gchar *source_path,
		       const gchar *text,
		       GError **error)
{
	g_autofree gchar *name = NULL;
	g_autofree gchar *why = NULL;
	gboolean ok;
	int fd = av1d_beneath_open_parent(roots, source_path, &name, error);

	if (fd < 0)
		return FALSE;
	why = g_strconcat(name, AV1D_WHY_SUFFIX, NULL);
	ok = av1d_beneath_write_file(fd, why, text, strlen(text), 0644, error);
	close(fd);
	return ok;
}

gchar *
av1d_format_bytes(guint64 bytes)
{
	static const gchar *const units[] = {"B", "KB", "MB", "GB", "TB", "PB"};
	gdouble value = (gdouble)bytes;
	guint unit = 0;

	if (bytes < 1000)
		return g_strdup_printf("%" G_GUINT64_FORMAT " B", bytes);
	while (value >= 1000.0 && unit + 1 < G_N_ELEMENTS(units)) {
		value /= 1000.0;
		unit++;
	}
	return g_strdup_printf("%.2f %s", value, units[unit]);
}

gchar *
av1d_sidecar_format_why(const Av1dJob *job, gboolean has_skip_marker)
{
	GString *out = g_string_new(NULL);
	g_autofree gchar *display = g_filename_display_name(job->source_path);
	g_autofree gchar *orig = av1d_format_bytes(job->original_bytes);
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree gchar *when = g_date_time_format_iso8601(now);
	g_autofree gchar *marker = NULL;

	/* the .why.txt is for people: its labels are translated, the values
	 * (status names, commands) are not */
	if (job->status == AV1D_JOB_STATUS_FAILED)
		g_string_append(out, _("av1d could not convert this file.\n\n"));
	else
		g_string_append(out, _("av1d skipped this file.\n\n"));
	/* Translators: the labels of the .why.txt lines are padded so that the
	 * values line up; keep them aligned with each other */
	g_string_append_printf(out, _("File:     %s\n"), display);
	/* Translators: an ISO 8601 date and time, then the job number */
	g_string_append_printf(out, _("Decided:  %s (job %" PRIu64 ")\n"), when, job->id);
	/* Translators: %s is a status name, not translated (e.g. failed) */
	g_string_append_printf(out, _("Status:   %s\n"), av1d_job_status_to_string(job->status));
	g_string_append_printf(out, _("Reason:   %s\n"), job->reason != NULL ? job->reason : "-");
	/* Translators: a file size such as "2.15 GB" */
	g_string_append_printf(out, _("Size:     %s\n"), orig);
	if (job->video_codec != NULL && job->is_hdr) {
		/* Translators: codec, width, height and bit depth */
		g_string_append_printf(out, _("Video:    %s %ux%u, %u-bit, HDR\n"),
				       job->video_codec, job->video_width, job->video_height,
				       job->source_bit_depth);
	} else if (job->video_codec != NULL) {
		/* Translators: codec, width, height and bit depth */
		g_string_append_printf(out, _("Video:    %s %ux%u, %u-bit\n"), job->video_codec,
				       job->video_width, job->video_height, job->source_bit_depth);
	}
	if (job->av1_quality > 0) {
		/* Translators: the AV1 quality value, then the encoder */
		g_string_append_printf(out, _("Quality:  %d (%s)\n"), job->av1_quality,
				       job->encoder != NULL ? job->encoder : "-");
	}
	g_string_append(out, _("\nThe original file was not changed.\n\nTo try again:\n"));
	if (has_skip_marker) {
		g_autofree gchar *marker_path = g_strconcat(display, AV1D_SKIP_SUFFIX, NULL);
		marker = g_shell_quote(marker_path);
		g_string_append_printf(out, "  rm %s\n", marker);
	}
	g_string_append_printf(out,
			       "  busctl --user call org.av1d /org/av1d org.av1d.Manager1 Retry t "
			       "%" G_GUINT64_FORMAT "\n",
			       job->id);
	return g_string_free(out, FALSE);
}
