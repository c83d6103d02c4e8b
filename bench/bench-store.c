/*
 * Job store load benchmark. The daemon loads its store once, at start, in
 * a fresh process, so that is what is measured:
 *
 *   bench-store [--dir PARENT] --create N   writes N realistic finished-job
 *                                           files into a new temp dir under
 *                                           PARENT and prints its path
 *   bench-store [--evict] [--row] --load DIR  one av1d_job_store_new() +
 *                                           av1d_job_store_load() of DIR,
 *                                           after dropping its pages from
 *                                           the page cache with --evict
 *                                           (cold-ish: inodes stay cached);
 *                                           then lookups by id and by path
 *
 *   bench-store --floor DIR                 only opens, reads and closes
 *                                           every file of DIR on one thread:
 *                                           what the kernel alone costs
 *
 * --row prints "load_ms rss_mib id_lookup_ns path_lookup_ns" for
 * bench/store.sh, which runs the whole table.
 */
#define G_LOG_DOMAIN "av1d-bench-store"

#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "av1d-job-store.h"

static Av1dJob *
make_job(guint64 id)
{
	g_autofree gchar *source = g_strdup_printf("/media/library/Movies/Some Movie %" G_GUINT64_FORMAT
						   " (2019)/Some Movie - 1080p BluRay.mkv",
						   id);
	g_autofree gchar *output = g_strdup_printf("/media/library/Movies/Some Movie %" G_GUINT64_FORMAT
						   " (2019)/.Some Movie - 1080p BluRay.av1d.mkv",
						   id);
	const gchar *const argv[] = {"ffmpeg", "-hide_banner", "-y", "-i", source, "-map", "0",
				     "-c:v", "av1_qsv", "-global_quality", "30", "-preset",
				     "slower", "-c:a", "copy", "-c:s", "copy", output, NULL};
	Av1dJob *job = av1d_job_new(id, source);

	job->output_path = g_strdup(output);
	job->started_at = job->created_at + 1000000;
	job->finished_at = job->created_at + 3600000000;
	job->status = AV1D_JOB_STATUS_SUCCESS;
	job->stage = AV1D_JOB_STAGE_DONE;
	job->reason = g_strdup("saved 49%");
	job->original_bytes = 8123456789 + id;
	job->new_bytes = 4123456789 + id;
	job->web_score = 0.25;
	job->video_codec = g_strdup("h264");
	job->video_bitrate = 12000000;
	job->video_width = 1920;
	job->video_height = 1080;
	job->video_frame_rate = 24000.0 / 1001.0;
	job->av1_quality = 30;
	job->source_bit_depth = 8;
	job->source_pix_fmt = g_strdup("yuv420p");
	job->target_bit_depth = 10;
	job->av1_profile = g_strdup("main");
	job->encoder = g_strdup("av1_qsv");
	av1d_job_set_argv(job, argv);
	job->progress = 1.0;
	job->fps = 87.5;
	job->identity = (Av1dFileIdentity){2049, 1000000 + id, 8123456789 + id, 1700000000123456789};
	return job;
}

/* plain writes: the fsyncs of the real store would only time the disk */
static void
write_jobs(const gchar *dir, guint n)
{
	for (guint64 id = 1; id <= n; id++) {
		g_autoptr(Av1dJob) job = make_job(id);
		g_autofree gchar *path = g_strdup_printf("%s/%" G_GUINT64_FORMAT ".json", dir, id);
		gsize length = 0;
		g_autofree gchar *data = av1d_job_to_data(job, &length);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd < 0 || write(fd, data, length) != (gssize)length || close(fd) != 0)
			g_error("cannot write %s", path); /* a benchmark may just stop */
	}
}

/* drops the files' pages, so that the next load reads them from the disk */
static void
evict(const gchar *dir)
{
	g_autoptr(GDir) listing = g_dir_open(dir, 0, NULL);
	const gchar *name;

	sync(); /* only clean pages can be dropped */
	while (listing != NULL && (name = g_dir_read_name(listing)) != NULL) {
		g_autofree gchar *path = g_build_filename(dir, name, NULL);
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
			close(fd);
		}
	}
}

static Av1dJobStore *
timed_load(const gchar *dir, gdouble *ms)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dJobStore) store = NULL;
	gint64 start = g_get_monotonic_time();

	store = av1d_job_store_new(dir, &error);
	if (store == NULL || !av1d_job_store_load(store, &error))
		g_error("load failed: %s", error->message);
	*ms = (g_get_monotonic_time() - start) / 1000.0;
	return g_steal_pointer(&store);
}

static gdouble
rss_mb(void)
{
	g_autofree gchar *status = NULL;
	const gchar *line;

	if (!g_file_get_contents("/proc/self/status", &status, NULL, NULL))
		return 0;
	line = strstr(status, "VmRSS:");
	return line != NULL ? g_ascii_strtod(line + 6, NULL) / 1024.0 : 0;
}

/* nanoseconds per lookup, by id and by path, in a shuffled order */
static void
time_lookups(Av1dJobStore *store, guint n, gdouble *id_ns, gdouble *path_ns)
{
	g_autoptr(GPtrArray) jobs = av1d_job_store_get_jobs(store);
	g_autoptr(GRand) rand = g_rand_new_with_seed(42);
	g_autofree gchar **paths = g_new(gchar *, n);
	g_autofree guint64 *ids = g_new(guint64, n);
	guint found = 0;
	gint64 start;

	for (guint i = 0; i < n; i++) {
		Av1dJob *job = g_ptr_array_index(jobs, g_rand_int_range(rand, 0, (gint32)n));

		ids[i] = job->id;
		paths[i] = job->source_path;
	}
	start = g_get_monotonic_time();
	for (guint i = 0; i < n; i++)
		found += av1d_job_store_lookup(store, ids[i]) != NULL;
	*id_ns = (g_get_monotonic_time() - start) * 1000.0 / n;
	start = g_get_monotonic_time();
	for (guint i = 0; i < n; i++)
		found += av1d_job_store_lookup_by_path(store, paths[i]) != NULL;
	*path_ns = (g_get_monotonic_time() - start) * 1000.0 / n;
	if (found != 2 * n)
		g_error("lookups found %u of %u", found, 2 * n);
}

static void
print_floor(const gchar *dir)
{
	DIR *listing = opendir(dir);
	struct dirent *dirent;
	gchar buffer[16384];
	gint64 start = g_get_monotonic_time();

	if (listing == NULL)
		g_error("cannot open %s", dir);
	while ((dirent = readdir(listing)) != NULL) {
		int fd = openat(dirfd(listing), dirent->d_name, O_RDONLY | O_CLOEXEC);

		while (fd >= 0 && read(fd, buffer, sizeof(buffer)) > 0)
			;
		if (fd >= 0)
			close(fd);
	}
	closedir(listing);
	g_print("%.1f\n", (g_get_monotonic_time() - start) / 1000.0);
}

static void
print_load(const gchar *dir, gboolean row)
{
	g_autoptr(Av1dJobStore) store = NULL;
	gdouble ms, id_ns, path_ns, rss;
	guint n;

	store = timed_load(dir, &ms);
	rss = rss_mb();
	n = av1d_job_store_get_size(store);
	if (n == 0)
		g_error("no jobs in %s", dir);
	time_lookups(store, n, &id_ns, &path_ns);
	if (row) {
		g_print("%.1f %.1f %.0f %.0f\n", ms, rss, id_ns, path_ns);
		return;
	}
	g_print("%u jobs loaded in %.1f ms (%.2f ms per 1000 jobs), RSS %.1f MiB\n", n, ms,
		ms * 1000.0 / n, rss);
	g_print("lookup by id %.0f ns, by path %.0f ns\n", id_ns, path_ns);
}

static gchar *
create_store(const gchar *parent, guint n)
{
	g_autofree gchar *template = g_build_filename(parent != NULL ? parent : g_get_tmp_dir(),
						      "av1d-bench-store-XXXXXX", NULL);
	gchar *dir = g_mkdtemp(g_steal_pointer(&template));

	if (dir == NULL)
		g_error("cannot make a temp dir under %s", parent);
	write_jobs(dir, n);
	return dir;
}

int
main(int argc, char **argv)
{
	g_autofree gchar *parent = NULL;
	g_autofree gchar *load_dir = NULL;
	g_autofree gchar *floor_dir = NULL;
	gint create = 0;
	gboolean row = FALSE;
	gboolean drop = FALSE;
	const GOptionEntry entries[] = {
	    {"dir", 0, 0, G_OPTION_ARG_FILENAME, &parent, "where --create makes its dir", "PARENT"},
	    {"create", 0, 0, G_OPTION_ARG_INT, &create, "write N job files, print the dir", "N"},
	    {"load", 0, 0, G_OPTION_ARG_FILENAME, &load_dir, "time loading DIR", "DIR"},
	    {"floor", 0, 0, G_OPTION_ARG_FILENAME, &floor_dir, "time only reading DIR", "DIR"},
	    {"evict", 0, 0, G_OPTION_ARG_NONE, &drop, "drop DIR from the page cache first", NULL},
	    {"row", 0, 0, G_OPTION_ARG_NONE, &row, "print one table row", NULL},
	    {NULL}};
	g_autoptr(GOptionContext) context = g_option_context_new(NULL);
	g_autoptr(GError) error = NULL;

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error) || argc != 1 ||
	    (create > 0) + (load_dir != NULL) + (floor_dir != NULL) != 1) {
		g_printerr("usage: bench-store [--dir PARENT] --create N\n"
			   "       bench-store [--evict] [--row] --load DIR\n"
			   "       bench-store --floor DIR\n");
		return 2;
	}
	if (floor_dir != NULL) {
		print_floor(floor_dir);
		return 0;
	}
	if (create > 0) {
		g_autofree gchar *dir = create_store(parent, (guint)create);

		g_print("%s\n", dir);
		return 0;
	}
	if (drop)
		evict(load_dir);
	print_load(load_dir, row);
	return 0;
}
