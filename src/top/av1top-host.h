/*
 * Host meters: CPU from /proc/stat, memory from /proc/meminfo, free space
 * of the library roots (statvfs), and GPU busy where the kernel exposes it
 * (amdgpu's gpu_busy_percent in sysfs, else DRM fdinfo engine counters of
 * the processes that have a render node open). No curses, no sd-bus.
 */
#pragma once

#include <glib.h>

#include "av1top-model.h"

G_BEGIN_DECLS

typedef struct _Av1topHost Av1topHost;

Av1topHost *
av1top_host_new(void);
void
av1top_host_free(Av1topHost *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Av1topHost, av1top_host_free)

/* reads the meters into @stats; CPU and GPU are the busy share since the
 * previous call (unknown after the first one) */
void
av1top_host_sample(Av1topHost *self, Av1topHostStats *stats, const gchar *const *roots);

/* the parsers, for the tests */
gboolean
av1top_host_parse_stat(const gchar *text, guint64 *busy, guint64 *total);
gboolean
av1top_host_parse_meminfo(const gchar *text, guint64 *total, guint64 *available);
/* a DRM client's fdinfo: "<drm-pdev>/<drm-client-id>" in @client and its
 * drm-engine-<name> counters (ns) as name -> guint64* in @engines; FALSE
 * when @text is not a DRM fd's */
gboolean
av1top_host_parse_fdinfo(const gchar *text, gchar **client, GHashTable *engines);

G_END_DECLS
