/*
 * The stability gate on real files: the test plays the watcher, feeding the
 * gate events while files are written, grown, renamed and removed, and
 * checks what is reported and in which order. Timing is only ever checked as
 * an order of events, never as a speed.
 */
#include "config.h"

/* F_SETLEASE */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "av1d-error.h"
#include "av1d-stable.h"

#define QUIET_MS    300
#define HANG_MS	    15000 /* only a hung test waits this long */
#define CHUNK_BYTES (64 * 1024)
#define NOBODY_ID   65534

/* a writer thread: holds the file open for writing all along, writes a chunk
 * every 100 ms, pauses once for longer than the quiet time, and tells the
 * gate of every write through the main context as the watcher would */
typedef struct {
	gchar *path;
	Av1dStableGate *gate;
	guint chunks;
	guint pause_after; /* pause after this chunk */
	guint pause_ms;
	gint closed;	/* atomic */
	gint in_flight; /* atomic: events queued for the main context */
	GThread *thread;
} Writer;

typedef struct {
	gchar *dir;
	Av1dStableGate *gate;
	GMainLoop *loop;
	GPtrArray *reports; /* the paths reported, in order */
	guint expected;	    /* the loop quits once this many are in */
	gboolean timed_out;
	Writer *writer;
	gboolean writer_closed_at_report;
	gboolean burst_over; /* set once the last event of a burst is sent */
	gboolean burst_over_at_report;
	gboolean marker_seen; /* set by a timeout that must come after the report */
	gboolean marker_seen_at_report;
	gboolean drop_gate_in_handler;
} Fixture;

static void
on_file_stable(Av1dStableGate *gate, const gchar *path, Fixture *fx)
{
	g_test_message("file-stable: %s", path);
	g_ptr_array_add(fx->reports, g_strdup(path));
	if (fx->writer != NULL)
		fx->writer_closed_at_report = g_atomic_int_get(&fx->writer->closed);
	fx->burst_over_at_report = fx->burst_over;
	fx->marker_seen_at_report = fx->marker_seen;
	if (fx->drop_gate_in_handler)
		g_clear_object(&fx->gate);
	if (fx->reports->len >= fx->expected)
		g_main_loop_quit(fx->loop);
}

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	fx->dir = g_dir_make_tmp("av1d-test-stable-XXXXXX", &error);
	g_assert_no_error(error);
	fx->loop = g_main_loop_new(NULL, FALSE);
	fx->reports = g_ptr_array_new_with_free_func(g_free);
	fx->gate = av1d_stable_gate_new(30);
	g_assert_cmpuint(av1d_stable_gate_get_quiet_ms(fx->gate), ==, 30000);
	av1d_stable_gate_set_quiet_ms(fx->gate, QUIET_MS);
	g_signal_connect(fx->gate, "file-stable", G_CALLBACK(on_file_stable), fx);
}

static void
writer_free(Writer *writer)
{
	g_free(writer->path);
	g_free(writer);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *quoted = g_shell_quote(fx->dir);
	g_autofree gchar *cmd = g_strdup_printf("rm -rf %s", quoted);

	if (fx->writer != NULL) {
		g_thread_join(fx->writer->thread);
		/* the events it queued refer to the fixture */
		while (g_atomic_int_get(&fx->writer->in_flight) > 0)
			g_main_context_iteration(NULL, TRUE);
		g_clear_pointer(&fx->writer, writer_free);
	}
	g_clear_object(&fx->gate);
	g_main_loop_unref(fx->loop);
	g_ptr_array_unref(fx->reports);
	g_assert_true(g_spawn_command_line_sync(cmd, NULL, NULL, NULL, NULL));
	g_free(fx->dir);
}

/* --- helpers ------------------------------------------------------------- */

static gchar *
path_in(Fixture *fx, const gchar *name)
{
	return g_build_filename(fx->dir, name, NULL);
}

static void
append(const gchar *path, gsize bytes)
{
	g_autofree gchar *buf = g_malloc0(bytes);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, buf, bytes), ==, (gssize)bytes);
	g_assert_cmpint(close(fd), ==, 0);
}

/* a finished file whose mtime is an hour old */
static gchar *
put_old_file(Fixture *fx, const gchar *name)
{
	gchar *path = path_in(fx, name);
	struct timespec times[2] = {{0, UTIME_OMIT}, {time(NULL) - 3600, 0}};

	append(path, 4096);
	g_assert_cmpint(utimensat(AT_FDCWD, path, times, 0), ==, 0);
	return path;
}

static gboolean
on_hang(gpointer user_data)
{
	Fixture *fx = user_data;

	fx->timed_out = TRUE;
	g_main_loop_quit(fx->loop);
	return G_SOURCE_REMOVE;
}

/* runs the loop until @count reports are in; the time limit only catches a
 * hang */
static void
wait_for_reports(Fixture *fx, guint count)
{
	guint hang_id;

	if (fx->reports->len >= count)
		return;
	fx->expected = count;
	fx->timed_out = FALSE;
	hang_id = g_timeout_add(HANG_MS, on_hang, fx);
	g_main_loop_run(fx->loop);
	if (!fx->timed_out)
		g_source_remove(hang_id);
	g_assert_false(fx->timed_out);
	g_assert_cmpuint(fx->reports->len, >=, count);
}

static void
on_run_for_over(gpointer user_data)
{
	g_main_loop_quit(user_data);
}

/* runs the loop for @ms, collecting whatever gets reported */
static void
run_for(Fixture *fx, guint ms)
{
	fx->expected = G_MAXUINT;
	g_timeout_add_once(ms, on_run_for_over, fx->loop);
	g_main_loop_run(fx->loop);
}

/* whether some source of the main context is waiting for a time: with
 * nothing pending the gate must not cause wakeups */
static gboolean
context_has_timeout(void)
{
	GMainContext *context = g_main_context_default();
	GPollFD fds[32];
	gint priority = 0;
	gint timeout = -1;

	g_assert_true(g_main_context_acquire(context));
	g_main_context_prepare(context, &priority);
	g_main_context_query(context, G_MAXINT, &timeout, fds, G_N_ELEMENTS(fds));
	g_main_context_release(context);
	return timeout >= 0;
}

static void
assert_settled(Fixture *fx)
{
	if (fx->gate != NULL)
		g_assert_cmpuint(av1d_stable_gate_get_pending_count(fx->gate), ==, 0);
	g_assert_false(context_has_timeout());
}

static gint
compare_paths(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

static gchar *
join_sorted(GPtrArray *paths)
{
	/* not g_ptr_array_copy(), which would take the free func along */
	g_autoptr(GPtrArray) sorted = g_ptr_array_new();

	for (guint i = 0; i < paths->len; i++)
		g_ptr_array_add(sorted, paths->pdata[i]);
	g_ptr_array_sort(sorted, compare_paths);
	g_ptr_array_add(sorted, NULL);
	return g_strjoinv("\n", (gchar **)sorted->pdata);
}

/* exactly these paths were reported, each once, in any order */
static void
assert_reports(Fixture *fx, const gchar *const *expected)
{
	g_autoptr(GPtrArray) want = g_ptr_array_new();
	g_autofree gchar *want_str = NULL;
	g_autofree gchar *got_str = NULL;

	for (guint i = 0; expected[i] != NULL; i++)
		g_ptr_array_add(want, (gpointer)expected[i]);
	want_str = join_sorted(want);
	got_str = join_sorted(fx->reports);
	g_assert_cmpstr(got_str, ==, want_str);
}

/* whether this kernel and filesystem grant us read leases at all */
static gboolean
leases_work_in(Fixture *fx)
{
	g_autofree gchar *path = path_in(fx, "lease probe");
	gboolean ok;
	int fd;

	append(path, 1);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	g_assert_cmpint(fd, >=, 0);
	ok = fcntl(fd, F_SETLEASE, F_RDLCK) == 0;
	if (ok)
		g_assert_cmpint(fcntl(fd, F_SETLEASE, F_UNLCK), ==, 0);
	close(fd);
	g_assert_cmpint(g_unlink(path), ==, 0);
	return ok;
}

/* --- the writer ---------------------------------------------------------- */

static gboolean
writer_wrote(gpointer user_data)
{
	Writer *writer = user_data;

	av1d_stable_gate_file_changed(writer->gate, writer->path);
	g_atomic_int_dec_and_test(&writer->in_flight);
	return G_SOURCE_REMOVE;
}

static gpointer
writer_thread(gpointer user_data)
{
	Writer *writer = user_data;
	g_autofree gchar *chunk = g_malloc0(CHUNK_BYTES);
	int fd = open(writer->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	g_assert_cmpint(fd, >=, 0);
	for (guint i = 0; i < writer->chunks; i++) {
		g_assert_cmpint(write(fd, chunk, CHUNK_BYTES), ==, CHUNK_BYTES);
		g_atomic_int_inc(&writer->in_flight);
		g_main_context_invoke(NULL, writer_wrote, writer);
		g_usleep(100 * G_TIME_SPAN_MILLISECOND);
		if (i == writer->pause_after)
			g_usleep(writer->pause_ms * G_TIME_SPAN_MILLISECOND);
	}
	/* flagged before the close: a report seen with the flag unset came
	 * while the file was still open */
	g_atomic_int_set(&writer->closed, TRUE);
	g_assert_cmpint(close(fd), ==, 0);
	return NULL;
}

static void
start_writer(Fixture *fx, const gchar *name)
{
	Writer *writer = g_new0(Writer, 1);

	writer->path = path_in(fx, name);
	writer->gate = fx->gate;
	writer->chunks = 8;
	writer->pause_after = 3;
	writer->pause_ms = 3 * QUIET_MS;
	fx->writer = writer;
	writer->thread = g_thread_new("slow writer", writer_thread, writer);
}

/* --- tests --------------------------------------------------------------- */

/* (a) the writer pauses for three quiet times with the file open: size and
 * mtime stand still, only the lease can hold the file back; (b) once it
 * closes, the file is reported once, without any further event */
static void
test_writer_held_open(Fixture *fx, gconstpointer data)
{
	if (!leases_work_in(fx)) {
		g_test_skip("no read leases here; the size and mtime fallback is tested apart");
		return;
	}
	start_writer(fx, "Slowly Copied Film (1999).mkv");
	wait_for_reports(fx, 1);
	g_assert_true(fx->writer_closed_at_report);
	run_for(fx, 3 * QUIET_MS);
	g_assert_cmpuint(fx->reports->len, ==, 1);
	g_assert_cmpstr(fx->reports->pdata[0], ==, fx->writer->path);
	g_assert_false(av1d_stable_gate_get_leases_unavailable(fx->gate));
	assert_settled(fx);
}

typedef struct {
	Fixture *fx;
	gchar *path;
	guint left;
} Burst;

static gboolean
burst_step(gpointer user_data)
{
	Burst *burst = user_data;

	append(burst->path, 1024);
	av1d_stable_gate_file_changed(burst->fx->gate, burst->path);
	g_assert_cmpuint(av1d_stable_gate_get_pending_count(burst->fx->gate), ==, 1);
	if (--burst->left > 0)
		return G_SOURCE_CONTINUE;
	burst->fx->burst_over = TRUE;
	return G_SOURCE_REMOVE;
}

/* 100 events, 10 ms apart, well within the quiet time: one report, after
 * the last of them */
static void
test_burst_one_report(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = path_in(fx, "Episode Downloaded In Pieces.mkv");
	Burst burst = {fx, path, 100};

	g_timeout_add(10, burst_step, &burst);
	wait_for_reports(fx, 1);
	g_assert_true(fx->burst_over_at_report);
	run_for(fx, 3 * QUIET_MS);
	assert_reports(fx, (const gchar *const[]){path, NULL});
	assert_settled(fx);
}

static void
test_create_then_remove(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = path_in(fx, "Gone Before It Settled.mkv");

	append(path, 4096);
	av1d_stable_gate_file_changed(fx->gate, path);
	g_assert_true(av1d_stable_gate_is_pending(fx->gate, path));
	g_assert_cmpint(g_unlink(path), ==, 0);
	av1d_stable_gate_file_removed(fx->gate, path);
	g_assert_false(av1d_stable_gate_is_pending(fx->gate, path));
	/* nothing pending: not even a timer is left */
	assert_settled(fx);
	run_for(fx, 3 * QUIET_MS);
	g_assert_cmpuint(fx->reports->len, ==, 0);
}

typedef struct {
	gchar *path;
	guint left;
	gint64 last_growth; /* monotonic µs */
} Growth;

static gboolean
grow_step(gpointer user_data)
{
	Growth *growth = user_data;

	append(growth->path, 4096);
	growth->last_growth = g_get_monotonic_time();
	return --growth->left > 0 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void
on_stable_record_time(Av1dStableGate *gate, const gchar *path, gint64 *when)
{
	*when = g_get_monotonic_time();
}

/* the file grows every 250 ms with no event telling the gate: each time its
 * deadline comes the size differs, so it waits again; the report comes only
 * a quiet time after the last growth */
static void
test_growth_restarts(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = path_in(fx, "Growing Behind Our Back.mkv");
	Growth growth = {path, 3, 0};
	gint64 reported = 0;

	append(path, 4096);
	g_signal_connect(fx->gate, "file-stable", G_CALLBACK(on_stable_record_time), &reported);
	av1d_stable_gate_file_changed(fx->gate, path);
	g_timeout_add(250, grow_step, &growth);
	wait_for_reports(fx, 1);
	g_assert_cmpuint(growth.left, ==, 0);
	g_assert_cmpint(reported, >=, growth.last_growth + QUIET_MS * G_TIME_SPAN_MILLISECOND);
	run_for(fx, 3 * QUIET_MS);
	assert_reports(fx, (const gchar *const[]){path, NULL});
	assert_settled(fx);
}

typedef struct {
	Fixture *fx;
	gchar *from;
	gchar *to;
} Rename;

static void
on_marker(gpointer user_data)
{
	Fixture *fx = user_data;

	fx->marker_seen = TRUE;
}

static void
rename_now(gpointer user_data)
{
	Rename *move = user_data;

	g_assert_cmpint(g_rename(move->from, move->to), ==, 0);
	av1d_stable_gate_file_renamed(move->fx->gate, move->from, move->to);
	g_assert_false(av1d_stable_gate_is_pending(move->fx->gate, move->from));
	g_assert_true(av1d_stable_gate_is_pending(move->fx->gate, move->to));
	/* the deadline stays a quiet time after the event, 200 ms ahead of
	 * the marker; had the rename restarted it, the marker would win */
	g_timeout_add_once(QUIET_MS * 5 / 6, on_marker, move->fx);
}

/* renamed a third of the way into its quiet time: reported once, under the
 * new name only, with the deadline of the original event */
static void
test_rename_while_pending(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *from = path_in(fx, "Film.mkv.part");
	g_autofree gchar *to = path_in(fx, "Film (2001).mkv");
	Rename move = {fx, from, to};

	append(from, 4096);
	av1d_stable_gate_file_changed(fx->gate, from);
	g_timeout_add_once(QUIET_MS / 3, rename_now, &move);
	wait_for_reports(fx, 1);
	g_assert_false(fx->marker_seen_at_report);
	run_for(fx, 3 * QUIET_MS);
	assert_reports(fx, (const gchar *const[]){to, NULL});
	assert_settled(fx);
}

/* renamed into view without a change event first: it counts as changed */
static void
test_rename_of_unknown_file(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *from = path_in(fx, "Moved In From Elsewhere.tmp");
	g_autofree gchar *to = path_in(fx, "Moved In From Elsewhere.mkv");

	append(from, 4096);
	g_assert_cmpint(g_rename(from, to), ==, 0);
	av1d_stable_gate_file_renamed(fx->gate, from, to);
	g_assert_true(av1d_stable_gate_is_pending(fx->gate, to));
	wait_for_reports(fx, 1);
	run_for(fx, 3 * QUIET_MS);
	assert_reports(fx, (const gchar *const[]){to, NULL});
	assert_settled(fx);
}

/* a directory renamed while files in it are pending: they move with it */
static void
test_rename_directory(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *old_dir = path_in(fx, "Season 1 incoming");
	g_autofree gchar *new_dir = path_in(fx, "Season 1");
	g_autofree gchar *old_a = g_build_filename(old_dir, "Episode 1.mkv", NULL);
	g_autofree gchar *old_b = g_build_filename(old_dir, "Episode 2.mkv", NULL);
	g_autofree gchar *new_a = g_build_filename(new_dir, "Episode 1.mkv", NULL);
	g_autofree gchar *new_b = g_build_filename(new_dir, "Episode 2.mkv", NULL);
	g_autofree gchar *sibling = path_in(fx, "Season 1 incoming.nfo");

	g_assert_cmpint(g_mkdir(old_dir, 0755), ==, 0);
	append(old_a, 4096);
	append(old_b, 4096);
	append(sibling, 16);
	av1d_stable_gate_file_changed(fx->gate, old_a);
	av1d_stable_gate_file_changed(fx->gate, old_b);
	av1d_stable_gate_file_changed(fx->gate, sibling);
	g_assert_cmpint(g_rename(old_dir, new_dir), ==, 0);
	av1d_stable_gate_file_renamed(fx->gate, old_dir, new_dir);
	g_assert_cmpuint(av1d_stable_gate_get_pending_count(fx->gate), ==, 3);
	g_assert_true(av1d_stable_gate_is_pending(fx->gate, new_a));
	g_assert_true(av1d_stable_gate_is_pending(fx->gate, new_b));
	g_assert_true(av1d_stable_gate_is_pending(fx->gate, sibling));
	wait_for_reports(fx, 3);
	run_for(fx, 3 * QUIET_MS);
	assert_reports(fx, (const gchar *const[]){new_a, new_b, sibling, NULL});
	assert_settled(fx);
}

/* a directory removed: the files pending in it are forgotten */
static void
test_remove_directory(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *dir = path_in(fx, "Abandoned Download");
	g_autofree gchar *inside = g_build_filename(dir, "Part One.mkv", NULL);
	g_autofree gchar *outside = path_in(fx, "Abandoned Download Review.mkv");

	g_assert_cmpint(g_mkdir(dir, 0755), ==, 0);
	append(inside, 4096);
	append(outside, 4096);
	av1d_stable_gate_file_changed(fx->gate, inside);
	av1d_stable_gate_file_changed(fx->gate, outside);
	av1d_stable_gate_file_removed(fx->gate, dir);
	g_assert_false(av1d_stable_gate_is_pending(fx->gate, inside));
	g_assert_true(av1d_stable_gate_is_pending(fx->gate, outside));
	wait_for_reports(fx, 1);
	run_for(fx, 3 * QUIET_MS);
	assert_reports(fx, (const gchar *const[]){outside, NULL});
	assert_settled(fx);
}

/* deleted with no event telling the gate: dropped at its deadline */
static void
test_vanished(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = path_in(fx, "Deleted Behind Our Back.mkv");

	append(path, 4096);
	av1d_stable_gate_file_changed(fx->gate, path);
	g_assert_cmpint(g_unlink(path), ==, 0);
	run_for(fx, 3 * QUIET_MS);
	g_assert_cmpuint(fx->reports->len, ==, 0);
	assert_settled(fx);
}

/* directories and symlinks are never pending; a change to a directory
 * leaves the files pending beneath it alone */
static void
test_not_regular(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *dir = path_in(fx, "A Folder Named Like A Film.mkv");
	g_autofree gchar *inside = g_build_filename(dir, "The Film Inside.mkv", NULL);
	g_autofree gchar *target = put_old_file(fx, "The Real Film.mkv");
	g_autofree gchar *link = path_in(fx, "Link To The Film.mkv");
	g_autofree gchar *replaced = path_in(fx, "Replaced By A Link.mkv");

	g_assert_cmpint(g_mkdir(dir, 0755), ==, 0);
	append(inside, 4096);
	g_assert_cmpint(symlink(target, link), ==, 0);
	av1d_stable_gate_file_changed(fx->gate, inside);
	av1d_stable_gate_file_changed(fx->gate, dir);
	av1d_stable_gate_file_changed(fx->gate, link);
	g_assert_cmpuint(av1d_stable_gate_get_pending_count(fx->gate), ==, 1);
	g_assert_true(av1d_stable_gate_is_pending(fx->gate, inside));
	/* pending as a file, a symlink by its deadline */
	append(replaced, 4096);
	av1d_stable_gate_file_changed(fx->gate, replaced);
	g_assert_cmpint(g_unlink(replaced), ==, 0);
	g_assert_cmpint(symlink(target, replaced), ==, 0);
	wait_for_reports(fx, 1);
	run_for(fx, 3 * QUIET_MS);
	assert_reports(fx, (const gchar *const[]){inside, NULL});
	assert_settled(fx);
}

static void
test_two_files(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *first = path_in(fx, "First Of Two.mkv");
	g_autofree gchar *second = path_in(fx, "Second Of Two.mkv");

	append(first, 4096);
	append(second, 8192);
	av1d_stable_gate_file_changed(fx->gate, first);
	av1d_stable_gate_file_changed(fx->gate, second);
	av1d_stable_gate_file_changed(fx->gate, first);
	g_assert_cmpuint(av1d_stable_gate_get_pending_count(fx->gate), ==, 2);
	wait_for_reports(fx, 2);
	run_for(fx, 3 * QUIET_MS);
	assert_reports(fx, (const gchar *const[]){first, second, NULL});
	assert_settled(fx);
}

/* a handler may drop the last reference while another file is due too:
 * the gate stops there, and nothing touches it after */
static void
test_handler_drops_gate(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *first = path_in(fx, "Due Together One.mkv");
	g_autofree gchar *second = path_in(fx, "Due Together Two.mkv");

	append(first, 4096);
	append(second, 4096);
	av1d_stable_gate_file_changed(fx->gate, first);
	av1d_stable_gate_file_changed(fx->gate, second);
	/* both due by the first firing, so the second is settled after the
	 * handler has dropped the gate, in the same dispatch */
	g_usleep((QUIET_MS + 100) * G_TIME_SPAN_MILLISECOND);
	fx->drop_gate_in_handler = TRUE;
	wait_for_reports(fx, 1);
	g_assert_null(fx->gate);
	run_for(fx, 3 * QUIET_MS);
	g_assert_cmpuint(fx->reports->len, ==, 1);
	assert_settled(fx);
}

static void
test_check_now(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *old = put_old_file(fx, "Finished Long Ago.mkv");
	g_autofree gchar *fresh = path_in(fx, "Just Touched.mkv");
	g_autofree gchar *missing = path_in(fx, "Never There.mkv");
	g_autoptr(GError) error = NULL;

	g_assert_true(av1d_stable_check_now(old, 60000, &error));
	g_assert_no_error(error);

	append(fresh, 4096);
	g_assert_false(av1d_stable_check_now(fresh, 60000, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_BUSY);
	g_test_message("%s", error->message);
	g_clear_error(&error);

	g_assert_false(av1d_stable_check_now(missing, 0, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_NOT_FOUND);
	g_clear_error(&error);

	g_assert_false(av1d_stable_check_now(fx->dir, 0, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS);
}

/* an old mtime, but a writer still has the file open */
static void
test_check_now_writer(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = put_old_file(fx, "Held Open By A Writer.mkv");
	g_autoptr(GError) error = NULL;
	int fd;

	if (!leases_work_in(fx)) {
		g_test_skip("no read leases here");
		return;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	g_assert_cmpint(fd, >=, 0);
	g_assert_false(av1d_stable_check_now(path, 1000, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_BUSY);
	g_test_message("%s", error->message);
	g_clear_error(&error);
	g_assert_cmpint(close(fd), ==, 0);
	g_assert_true(av1d_stable_check_now(path, 1000, &error));
	g_assert_no_error(error);
}

/* takes CAP_LEASE away from this (sub)process for good */
static void
drop_cap_lease(void)
{
	struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct caps[2];

	g_assert_cmpint(syscall(SYS_capget, &header, caps), ==, 0);
	caps[CAP_LEASE / 32].effective &= ~(1u << (CAP_LEASE % 32));
	caps[CAP_LEASE / 32].permitted &= ~(1u << (CAP_LEASE % 32));
	g_assert_cmpint(syscall(SYS_capset, &header, caps), ==, 0);
}

static void
fallback_body(Fixture *fx)
{
	g_autofree gchar *path = put_old_file(fx, "Someone Elses Film.mkv");
	g_autoptr(GError) error = NULL;
	int fd;

	g_assert_cmpint(chown(path, NOBODY_ID, NOBODY_ID), ==, 0);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	g_assert_cmpint(fd, >=, 0);
	drop_cap_lease();
	av1d_stable_gate_file_changed(fx->gate, path);
	wait_for_reports(fx, 1);
	g_assert_true(av1d_stable_gate_get_leases_unavailable(fx->gate));
	g_assert_true(av1d_stable_check_now(path, 1000, &error));
	g_assert_no_error(error);
	g_assert_cmpint(close(fd), ==, 0);
	assert_settled(fx);
}

/* a file of another owner and no CAP_LEASE: no lease to be had, so size and
 * mtime decide alone, and the file is reported although a writer holds it
 * (a subprocess, as the capability cannot be had back) */
static void
test_fallback_without_lease_permission(Fixture *fx, gconstpointer data)
{
	if (geteuid() != 0) {
		g_test_skip("needs root to give a file away and drop CAP_LEASE");
		return;
	}
	if (g_test_subprocess()) {
		fallback_body(fx);
		return;
	}
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
	g_test_trap_assert_passed();
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

#define ADD(name, func)                                                                            \
	g_test_add("/stable/" name, Fixture, NULL, fixture_setup, func, fixture_teardown)
	ADD("writer/held-open-through-a-pause", test_writer_held_open);
	ADD("burst/one-report-after-the-last-event", test_burst_one_report);
	ADD("remove/create-then-remove-reports-nothing", test_create_then_remove);
	ADD("remove/directory-forgets-files-beneath", test_remove_directory);
	ADD("growth/restarts-the-quiet-time", test_growth_restarts);
	ADD("rename/pending-file-moves-with-its-deadline", test_rename_while_pending);
	ADD("rename/unknown-file-counts-as-changed", test_rename_of_unknown_file);
	ADD("rename/directory-moves-files-beneath", test_rename_directory);
	ADD("vanished/dropped-silently", test_vanished);
	ADD("not-regular/directories-and-symlinks-never-pending", test_not_regular);
	ADD("two-files/two-reports", test_two_files);
	ADD("signal/handler-may-drop-the-gate", test_handler_drops_gate);
	ADD("check-now/mtime-and-errors", test_check_now);
	ADD("check-now/writer-holds-it", test_check_now_writer);
	ADD("fallback/without-lease-permission", test_fallback_without_lease_permission);
#undef ADD

	return g_test_run();
}
