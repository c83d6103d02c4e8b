#define G_LOG_DOMAIN "av1top-host"

#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "av1top-host.h"

struct _Av1topHost {
	guint64 cpu_busy;
	guint64 cpu_total;
	gboolean cpu_known;
	/* "<client>/<engine>" -> busy ns at the previous sample */
	GHashTable *gpu_counters;
	gint64 gpu_time; /* monotonic µs of the previous sample, 0 none */
};

Av1topHost *
av1top_host_new(void)
{
	Av1topHost *self = g_new0(Av1topHost, 1);

	self->gpu_counters = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	return self;
}

void
av1top_host_free(Av1topHost *self)
{
	if (self == NULL)
		return;
	g_hash_table_unref(self->gpu_counters);
	g_free(self);
}

gboolean
av1top_host_parse_stat(const gchar *text, guint64 *busy, guint64 *total)
{
	g_auto(GStrv) fields = NULL;
	guint64 sum = 0, idle = 0;
	const gchar *end;
	g_autofree gchar *line = NULL;

	if (text == NULL || !g_str_has_prefix(text, "cpu "))
		return FALSE;
	end = strchr(text, '\n');
	line = end != NULL ? g_strndup(text, end - text) : g_strdup(text);
	fields = g_strsplit_set(line + 4, " ", -1);
	/* user nice system idle iowait irq softirq steal (guest is in user) */
	for (guint i = 0, n = 0; fields[i] != NULL && n < 8; i++) {
		guint64 value;

		if (fields[i][0] == '\0')
			continue;
		if (!g_ascii_string_to_unsigned(fields[i], 10, 0, G_MAXUINT64, &value, NULL))
			return FALSE;
		sum += value;
		if (n == 3 || n == 4)
			idle += value;
		n++;
	}
	if (sum == 0)
		return FALSE;
	*busy = sum - idle;
	*total = sum;
	return TRUE;
}

/* "Name:   123 kB" -> bytes */
static gboolean
av1top_host_meminfo_value(const gchar *text, const gchar *key, guint64 *bytes)
{
	gsize len = strlen(key);

	for (const gchar *line = text; line != NULL && *line != '\0';) {
		if (strncmp(line, key, len) == 0 && line[len] == ':') {
			const gchar *start = line + len + 1;
			gchar *end = NULL;
			guint64 value = g_ascii_strtoull(start, &end, 10);

			if (end == start)
				return FALSE;
			*bytes = value * 1024;
			return TRUE;
		}
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	return FALSE;
}

gboolean
av1top_host_parse_meminfo(const gchar *text, guint64 *total, guint64 *available)
{
	if (text == NULL)
		return FALSE;
	return av1top_host_meminfo_value(text, "MemTotal", total) &&
	       av1top_host_meminfo_value(text, "MemAvailable", available);
}

gboolean
av1top_host_parse_fdinfo(const gchar *text, gchar **client, GHashTable *engines)
{
	g_auto(GStrv) lines = g_strsplit(text != NULL ? text : "", "\n", -1);
	g_autofree gchar *pdev = NULL;
	g_autofree gchar *id = NULL;

	for (guint i = 0; lines[i] != NULL; i++) {
		gchar *colon = strchr(lines[i], ':');
		const gchar *value;

		if (colon == NULL || !g_str_has_prefix(lines[i], "drm-"))
			continue;
		*colon = '\0';
		value = g_strstrip(colon + 1);
		if (g_strcmp0(lines[i], "drm-client-id") == 0) {
			g_free(id);
			id = g_strdup(value);
		} else if (g_strcmp0(lines[i], "drm-pdev") == 0) {
			g_free(pdev);
			pdev = g_strdup(value);
		} else if (g_str_has_prefix(lines[i], "drm-engine-") &&
			   !g_str_has_prefix(lines[i], "drm-engine-capacity-")) {
			guint64 *ns = g_new(guint64, 1);

			/* "123456 ns" */
			*ns = g_ascii_strtoull(value, NULL, 10);
			g_hash_table_replace(engines, g_strdup(lines[i] + strlen("drm-engine-")),
					     ns);
		}
	}
	if (id == NULL)
		return FALSE;
	*client = g_strdup_printf("%s/%s", pdev != NULL ? pdev : "", id);
	return TRUE;
}

static void
av1top_host_sample_cpu(Av1topHost *self, Av1topHostStats *stats)
{
	g_autofree gchar *text = NULL;
	guint64 busy = 0, total = 0;

	stats->cpu_percent = -1;
	if (!g_file_get_contents("/proc/stat", &text, NULL, NULL) ||
	    !av1top_host_parse_stat(text, &busy, &total))
		return;
	if (self->cpu_known && total > self->cpu_total && busy >= self->cpu_busy)
		stats->cpu_percent =
		    100.0 * (gdouble)(busy - self->cpu_busy) / (gdouble)(total - self->cpu_total);
	self->cpu_busy = busy;
	self->cpu_total = total;
	self->cpu_known = TRUE;
}

static void
av1top_host_sample_memory(Av1topHostStats *stats)
{
	g_autofree gchar *text = NULL;
	guint64 total = 0, available = 0;

	stats->mem_total = 0;
	stats->mem_used = 0;
	if (!g_file_get_contents("/proc/meminfo", &text, NULL, NULL) ||
	    !av1top_host_parse_meminfo(text, &total, &available))
		return;
	stats->mem_total = total;
	stats->mem_used = total > available ? total - available : 0;
}

static void
av1top_host_sample_roots(Av1topHostStats *stats, const gchar *const *roots)
{
	av1top_host_stats_clear(stats);
	for (guint i = 0; roots != NULL && roots[i] != NULL; i++) {
		Av1topRootSpace *space = g_new0(Av1topRootSpace, 1);
		struct statvfs st;

		space->path = g_strdup(roots[i]);
		if (statvfs(roots[i], &st) == 0) {
			space->known = TRUE;
			space->free_bytes = (guint64)st.f_bavail * st.f_frsize;
			space->total_bytes = (guint64)st.f_blocks * st.f_frsize;
		}
		g_ptr_array_add(stats->roots, space);
	}
}

/* amdgpu (and a few others) say it outright; the busiest card counts */
static gboolean
av1top_host_gpu_sysfs(gdouble *percent)
{
	g_autoptr(GDir) dir = g_dir_open("/sys/class/drm", 0, NULL);
	const gchar *name;
	gboolean found = FALSE;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *path = NULL;
		g_autofree gchar *text = NULL;

		if (!g_str_has_prefix(name, "card") || strchr(name, '-') != NULL)
			continue;
		path = g_build_filename("/sys/class/drm", name, "device", "gpu_busy_percent", NULL);
		if (!g_file_get_contents(path, &text, NULL, NULL))
			continue;
		*percent = MAX(found ? *percent : 0, g_ascii_strtod(text, NULL));
		found = TRUE;
	}
	return found;
}

static gboolean
av1top_host_has_render_node(void)
{
	g_autoptr(GDir) dir = g_dir_open("/dev/dri", 0, NULL);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		if (g_str_has_prefix(name, "renderD"))
			return TRUE;
	}
	return FALSE;
}

/* one process's DRM fds into @now ("<client>/<engine>" -> ns); clients
 * are counted once even when several fds share them */
static void
av1top_host_scan_process(const gchar *pid, GHashTable *now)
{
	g_autofree gchar *fd_dir = g_build_filename("/proc", pid, "fd", NULL);
	g_autoptr(GDir) dir = g_dir_open(fd_dir, 0, NULL);
	const gchar *fd;

	while (dir != NULL && (fd = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *link = g_build_filename(fd_dir, fd, NULL);
		g_autofree gchar *target = g_file_read_link(link, NULL);
		g_autofree gchar *info_path = NULL;
		g_autofree gchar *text = NULL;
		g_autofree gchar *client = NULL;
		g_autoptr(GHashTable) engines = NULL;
		GHashTableIter iter;
		gpointer key, value;

		if (target == NULL || !g_str_has_prefix(target, "/dev/dri/"))
			continue;
		info_path = g_build_filename("/proc", pid, "fdinfo", fd, NULL);
		engines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
		if (!g_file_get_contents(info_path, &text, NULL, NULL) ||
		    !av1top_host_parse_fdinfo(text, &client, engines))
			continue;
		g_hash_table_iter_init(&iter, engines);
		while (g_hash_table_iter_next(&iter, &key, &value)) {
			g_hash_table_replace(now, g_strdup_printf("%s/%s", client, (gchar *)key),
					     g_memdup2(value, sizeof(guint64)));
		}
	}
}

/* busiest engine: the sum over clients of its busy time since the last
 * sample, over the time that passed */
static gdouble
av1top_host_gpu_busiest(GHashTable *before, GHashTable *now, gdouble elapsed_ns)
{
	g_autoptr(GHashTable) per_engine = g_hash_table_new(g_str_hash, g_str_equal);
	GHashTableIter iter;
	gpointer key, value;
	gdouble best = 0;

	g_hash_table_iter_init(&iter, now);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		const guint64 *old = g_hash_table_lookup(before, key);
		const gchar *engine = strrchr(key, '/') + 1;
		guint64 sum = GPOINTER_TO_SIZE(g_hash_table_lookup(per_engine, engine));

		if (old == NULL || *(const guint64 *)value < *old)
			continue;
		sum += *(const guint64 *)value - *old;
		g_hash_table_insert(per_engine, (gpointer)engine, GSIZE_TO_POINTER(sum));
		best = MAX(best, (gdouble)sum);
	}
	return MIN(100.0, 100.0 * best / elapsed_ns);
}

static void
av1top_host_sample_fdinfo(Av1topHost *self, Av1topHostStats *stats)
{
	g_autoptr(GHashTable) now = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
	gint64 time = g_get_monotonic_time();
	const gchar *pid;

	while (proc != NULL && (pid = g_dir_read_name(proc)) != NULL) {
		if (g_ascii_isdigit(pid[0]))
			av1top_host_scan_process(pid, now);
	}
	stats->gpu_percent = 0;
	if (self->gpu_time != 0 && time > self->gpu_time)
		stats->gpu_percent = av1top_host_gpu_busiest(self->gpu_counters, now,
							     (gdouble)(time - self->gpu_time) * 1000);
	g_hash_table_unref(self->gpu_counters);
	self->gpu_counters = g_steal_pointer(&now);
	self->gpu_time = time;
}

void
av1top_host_sample(Av1topHost *self, Av1topHostStats *stats, const gchar *const *roots)
{
	gdouble percent = 0;

	av1top_host_sample_cpu(self, stats);
	av1top_host_sample_memory(stats);
	av1top_host_sample_roots(stats, roots);
	/* no render node, no GPU meter, and no walk through /proc */
	if (av1top_host_gpu_sysfs(&percent))
		stats->gpu_percent = percent;
	else if (av1top_host_has_render_node())
		av1top_host_sample_fdinfo(self, stats);
	else
		stats->gpu_percent = -1;
}
