/*
 * The names av1d gives to files beside a source (SPEC 7, 8), in one place:
 *   Movie.mp4                 the source
 *   .av1d-<id>-XXXXXX/out.mkv the encode while it runs: the job's private folder
 *                             (mode 0700, hidden, same directory)
 *   Movie.mkv                 the result (always Matroska)
 *   Movie.orig.mp4            the original after the swap
 *   Movie.mp4.why.txt         why av1d decided what it did
 *   Movie.mp4.av1skip         "never touch" (also <dir>/.av1skip for a folder)
 */
#pragma once

#include <glib.h>

#include "av1d-job.h"

G_BEGIN_DECLS

#define AV1D_SKIP_SUFFIX     ".av1skip"
#define AV1D_WHY_SUFFIX	     ".why.txt"
#define AV1D_TEMP_INFIX	     ".av1d-tmp"
#define AV1D_BACKUP_INFIX    ".orig."
#define AV1D_DIR_SKIP_MARKER ".av1skip"
/* a job's private temp folder: .av1d-<job id>-XXXXXX/out.mkv (SPEC 7) */
#define AV1D_TEMP_DIR_PREFIX ".av1d-"
#define AV1D_TEMP_OUTPUT     "out.mkv"

gchar *
av1d_sidecar_output_path(const gchar *source_path);
gchar *
av1d_sidecar_backup_path(const gchar *source_path);
gchar *
av1d_sidecar_why_path(const gchar *source_path);
gchar *
av1d_sidecar_skip_path(const gchar *source_path);
/* TRUE when @name is a job's private temp folder, .av1d-<id>-XXXXXX;
 * @id (may be NULL) gets the job id */
gboolean
av1d_sidecar_parse_temp_dir(const gchar *name, guint64 *id);
/* TRUE for names av1d itself creates: temps, backups, markers, explanations */
gboolean
av1d_sidecar_is_own_file(const gchar *basename);
/* .av1skip beside the file, or in its directory or any directory above it up
 * to (and including) @root; @root may be NULL to check only the file's own
 * directory */
gboolean
av1d_sidecar_is_skipped(const gchar *source_path, const gchar *root);
/* @path is a file (then <file>.av1skip) or a real folder (then
 * <folder>/.av1skip) inside one of @roots; written through a folder
 * descriptor that never follows a symlink (SPEC 8), and never over
 * anything but a regular file */
gboolean
av1d_sidecar_write_skip(const gchar *const *roots,
			const gchar *path,
			const gchar *why,
			GError **error);
gboolean
av1d_sidecar_write_why(const gchar *const *roots,
		       const gchar *source_path,
		       const gchar *text,
		       GError **error);
/* the .why.txt of a job that ended skipped or failed: what was decided, the
 * numbers, and how to retry */
gchar *
av1d_sidecar_format_why(const Av1dJob *job, gboolean has_skip_marker);
/* "3.41 GB", decimal units as file managers show them */
gchar *
av1d_format_bytes(guint64 bytes);

G_END_DECLS
