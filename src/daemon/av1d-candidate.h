/*
 * Which files are candidates (SPEC 3): a regular file (never a symlink),
 * extension listed, size >= min_bytes, not one of av1d's own files, not
 * hidden, not marked with .av1skip. Pure apart from the marker lookups.
 */
#pragma once

#include <sys/stat.h>

#include "av1d-config.h"

G_BEGIN_DECLS

typedef enum {
	AV1D_CANDIDATE_YES,
	AV1D_CANDIDATE_NOT_REGULAR,
	AV1D_CANDIDATE_HIDDEN,
	AV1D_CANDIDATE_OWN_FILE,
	AV1D_CANDIDATE_WRONG_EXTENSION,
	AV1D_CANDIDATE_TOO_SMALL,
	AV1D_CANDIDATE_SKIP_MARKER,
} Av1dCandidateVerdict;

/* @st is the file's lstat(); @root the library root it lies under */
Av1dCandidateVerdict
av1d_candidate_check(const Av1dConfig *config,
		     const gchar *root,
		     const gchar *path,
		     const struct stat *st);
const gchar *
av1d_candidate_verdict_to_string(Av1dCandidateVerdict verdict);
gboolean
av1d_candidate_has_extension(const Av1dConfig *config, const gchar *basename);
/* the library root that holds @path (both canonical), or NULL */
const gchar *
av1d_candidate_find_root(const Av1dConfig *config, const gchar *path);

/* every candidate under the roots, sorted; a simple synchronous walk for
 * --once, explain and tests (the daemon's watcher crawls asynchronously) */
GPtrArray *
av1d_candidate_list(const Av1dConfig *config, GError **error);
/* the same, and in @temps the private temp folders of av1d met on the way
 * (.av1d-<id>-XXXXXX), for the clean-up at start */
GPtrArray *
av1d_candidate_list_with_temps(const Av1dConfig *config, GPtrArray **temps, GError **error);

G_END_DECLS
