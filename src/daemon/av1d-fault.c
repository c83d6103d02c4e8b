#define G_LOG_DOMAIN "av1d-fault"

#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "av1d-fault.h"

/* "point" matches every time, "point#N" only the Nth time it is reached */
static gboolean
av1d_fault_matches(const gchar *spec, const gchar *point, guint hits)
{
	const gchar *hash;
	gsize len;

	if (spec == NULL)
		return FALSE;
	hash = strchr(spec, '#');
	len = hash != NULL ? (gsize)(hash - spec) : strlen(spec);
	if (strlen(point) != len || strncmp(spec, point, len) != 0)
		return FALSE;
	return hash == NULL || g_ascii_strtoull(hash + 1, NULL, 10) == hits;
}

void
av1d_fault_point(const gchar *point)
{
	/* test-only bookkeeping: how often each point was reached */
	static GHashTable *hits = NULL;
	static GMutex lock;
	const gchar *crash_at = g_getenv("AV1D_CRASH_AT");
	const gchar *pause_at = g_getenv("AV1D_PAUSE_AT");
	guint count;

	if (crash_at == NULL && pause_at == NULL)
		return;
	g_mutex_lock(&lock);
	if (hits == NULL)
		hits = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	count = GPOINTER_TO_UINT(g_hash_table_lookup(hits, point)) + 1;
	g_hash_table_insert(hits, g_strdup(point), GUINT_TO_POINTER(count));
	g_mutex_unlock(&lock);
	if (av1d_fault_matches(crash_at, point, count))
		raise(SIGKILL);
	if (av1d_fault_matches(pause_at, point, count)) {
		fprintf(stderr, "av1d: paused at %s\n", point);
		fflush(stderr);
		raise(SIGSTOP);
	}
}
