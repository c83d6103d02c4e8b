/*
 * av1top's model without a terminal or a bus: the order of the rows, the
 * filter, the cursor, the number formats, the fitting of names into
 * columns (multibyte and wide characters included), the column layout, the
 * /proc parsers and the JSON snapshot.
 */
#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "av1top-host.h"
#include "av1top-model.h"
#include "av1top-snapshot.h"

static Av1topJob *
add_job(Av1topModel *model, guint64 id, const gchar *status, const gchar *path)
{
	Av1topJob *job = av1top_model_ensure_job(model, id);

	av1top_model_job_set_path(model, job, path);
	av1top_model_job_set_status(model, job, status);
	return job;
}

/* the ids of the rows, "3,1,2" */
static gchar *
row_ids(Av1topModel *model)
{
	GPtrArray *rows = av1top_model_get_rows(model);
	g_autoptr(GString) ids = g_string_new(NULL);

	for (guint i = 0; i < rows->len; i++) {
		const Av1topJob *job = g_ptr_array_index(rows, i);

		g_string_append_printf(ids, "%s%" G_GUINT64_FORMAT, i > 0 ? "," : "", job->id);
	}
	return g_string_free(g_steal_pointer(&ids), FALSE);
}

static void
test_sorts_running_pending_then_finished_newest_first(void)
{
	g_autoptr(Av1topModel) model = av1top_model_new();
	g_autofree gchar *ids = NULL;

	add_job(model, 1, "success", "/lib/a.mkv");
	add_job(model, 2, "pending", "/lib/b.mkv");
	add_job(model, 3, "failed", "/lib/c.mkv");
	add_job(model, 4, "running", "/lib/d.mkv");
	add_job(model, 5, "pending", "/lib/e.mkv");
	add_job(model, 6, "skipped", "/lib/f.mkv");
	add_job(model, 7, "running", "/lib/g.mkv");
	ids = row_ids(model);
	/* running and pending in queue order, finished by id, highest first */
	g_assert_cmpstr(ids, ==, "4,7,2,5,6,3,1");
}

static void
test_job_seen_finishing_sorts_above_older_ones(void)
{
	g_autoptr(Av1topModel) model = av1top_model_new();
	g_autofree gchar *before = NULL;
	g_autofree gchar *after = NULL;

	add_job(model, 1, "running", "/lib/a.mkv");
	add_job(model, 5, "success", "/lib/b.mkv");
	add_job(model, 9, "pending", "/lib/c.mkv");
	before = row_ids(model);
	g_assert_cmpstr(before, ==, "1,9,5");
	/* 1 finishes while we watch: newer than 5, which had finished before */
	av1top_model_job_set_status(model, av1top_model_lookup_job(model, 1), "failed");
	after = row_ids(model);
	g_assert_cmpstr(after, ==, "9,1,5");
}

static void
test_filter_matches_text_case_insensitively(void)
{
	g_autoptr(Av1topModel) model = av1top_model_new();
	Av1topJob *job;
	g_autofree gchar *by_name = NULL, *by_status = NULL, *by_reason = NULL, *none = NULL;
	g_autofree gchar *all = NULL;

	add_job(model, 1, "running", "/lib/Films/Über Film.mkv");
	add_job(model, 2, "pending", "/lib/Series/show s01e01.mkv");
	job = add_job(model, 3, "skipped", "/lib/x.mkv");
	job->reason = g_strdup("rejected: new 3.41 GB vs orig 3.60 GB");
	av1top_model_set_filter(model, "üBER");
	by_name = row_ids(model);
	g_assert_cmpstr(by_name, ==, "1");
	av1top_model_set_filter(model, "PENDING");
	by_status = row_ids(model);
	g_assert_cmpstr(by_status, ==, "2");
	av1top_model_set_filter(model, "rejected");
	by_reason = row_ids(model);
	g_assert_cmpstr(by_reason, ==, "3");
	av1top_model_set_filter(model, "nothing like it");
	none = row_ids(model);
	g_assert_cmpstr(none, ==, "");
	av1top_model_set_filter(model, "");
	all = row_ids(model);
	g_assert_cmpstr(all, ==, "1,2,3");
}

static void
test_cursor_stays_on_its_job(void)
{
	g_autoptr(Av1topModel) model = av1top_model_new();

	add_job(model, 1, "running", "/lib/a.mkv");
	add_job(model, 2, "pending", "/lib/b.mkv");
	add_job(model, 3, "pending", "/lib/c.mkv");
	av1top_model_move(model, 1);
	g_assert_cmpuint(av1top_model_get_selected(model)->id, ==, 2);
	/* 1 finishes: 2 moves up a row, the cursor goes with it */
	av1top_model_job_set_status(model, av1top_model_lookup_job(model, 1), "success");
	g_assert_cmpuint(av1top_model_get_selected(model)->id, ==, 2);
	g_assert_cmpuint(model->selected, ==, 0);
	/* 2 goes away: the cursor stays on its row */
	av1top_model_remove_job(model, 2);
	g_assert_cmpuint(av1top_model_get_selected(model)->id, ==, 3);
}

static void
test_move_clamps_and_scroll_follows(void)
{
	g_autoptr(Av1topModel) model = av1top_model_new();

	for (guint i = 1; i <= 30; i++) {
		g_autofree gchar *path = g_strdup_printf("/lib/%02u.mkv", i);

		add_job(model, i, "pending", path);
	}
	av1top_model_move(model, -5);
	g_assert_cmpuint(model->selected, ==, 0);
	av1top_model_move(model, 12);
	g_assert_cmpuint(model->selected, ==, 12);
	g_assert_cmpuint(av1top_model_scroll_for(model, 10), ==, 3);
	av1top_model_move(model, G_MAXINT);
	g_assert_cmpuint(model->selected, ==, 29);
	g_assert_cmpuint(av1top_model_scroll_for(model, 10), ==, 20);
	/* a taller screen shows the end without empty rows below */
	g_assert_cmpuint(av1top_model_scroll_for(model, 25), ==, 5);
	av1top_model_move(model, G_MININT);
	g_assert_cmpuint(model->selected, ==, 0);
	g_assert_cmpuint(av1top_model_scroll_for(model, 10), ==, 0);
	g_assert_cmpuint(av1top_model_scroll_for(model, 0), ==, 0);
}

static void
test_format_size(void)
{
	const struct {
		guint64 bytes;
		const gchar *text;
	} cases[] = {
		{0, "-"},
		{1, "1 B"},
		{999, "999 B"},
		{1000, "1.0 KB"},
		{1500, "1.5 KB"},
		{99949, "99.9 KB"},
		{123456789, "123 MB"},
		{3410000000, "3.4 GB"},
		{999949999999, "1.0 TB"},
		{G_MAXUINT64, "18.4 EB"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *text = av1top_format_size(cases[i].bytes);

		g_assert_cmpstr(text, ==, cases[i].text);
		g_assert_cmpuint(strlen(text), <=, 7);
	}
}

static void
test_format_duration_and_eta(void)
{
	const struct {
		gint64 seconds;
		const gchar *text;
	} cases[] = {
		{-1, "-"},     {0, "0s"},	     {59, "59s"},	    {60, "1:00"},
		{754, "12:34"}, {3723, "1:02:03"}, {359999, "99:59:59"}, {360000, "4d04h"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *text = av1top_format_duration(cases[i].seconds);

		g_assert_cmpstr(text, ==, cases[i].text);
	}
}

static void
test_ellipsize_ascii(void)
{
	g_autofree gchar *fits = av1top_ellipsize_middle("film.mkv", 8);
	g_autofree gchar *cut = av1top_ellipsize_middle("Series.S01E02.1080p.mkv", 11);
	g_autofree gchar *one = av1top_ellipsize_middle("abc", 1);
	g_autofree gchar *zero = av1top_ellipsize_middle("abc", 0);
	g_autofree gchar *null = av1top_ellipsize_middle(NULL, 4);

	g_assert_cmpstr(fits, ==, "film.mkv");
	/* the end keeps the extension and gets the odd column */
	g_assert_cmpstr(cut, ==, "Serie…p.mkv");
	g_assert_cmpstr(one, ==, "…");
	g_assert_cmpstr(zero, ==, "");
	g_assert_cmpstr(null, ==, "");
}

static void
test_ellipsize_multibyte_small_widths(void)
{
	/* two-byte, three-byte, wide CJK, a combining mark, an emoji */
	const gchar *const names[] = {
		"Über Film — Teil 2.mkv",
		"日本語のタイトル.mkv",
		"Cafe\xcc\x81 au lait.mkv",
		"\xf0\x9f\x8e\xac clip.mkv",
		"ab",
	};

	for (guint n = 0; n < G_N_ELEMENTS(names); n++) {
		for (guint width = 0; width <= 5; width++) {
			g_autofree gchar *text = av1top_ellipsize_middle(names[n], width);
			g_autofree gchar *fitted = av1top_fit(names[n], width, FALSE);

			g_assert_true(g_utf8_validate(text, -1, NULL));
			g_assert_cmpuint(av1top_text_width(text), <=, width);
			g_assert_true(g_utf8_validate(fitted, -1, NULL));
			g_assert_cmpuint(av1top_text_width(fitted), ==, width);
			if (av1top_text_width(names[n]) > width && width > 0)
				g_assert_nonnull(strstr(text, "…"));
		}
	}
}

static void
test_ellipsize_multibyte_examples(void)
{
	g_autofree gchar *umlaut = av1top_ellipsize_middle("Über Film — Teil 2.mkv", 9);
	g_autofree gchar *cjk = av1top_ellipsize_middle("日本語のタイトル.mkv", 8);
	g_autofree gchar *invalid = av1top_ellipsize_middle("bad\xff\xfename.mkv", 40);

	g_assert_cmpstr(umlaut, ==, "Über….mkv");
	/* wide characters take two columns: no half of one */
	g_assert_cmpstr(cjk, ==, "日….mkv");
	g_assert_true(g_utf8_validate(invalid, -1, NULL));
	g_assert_true(g_str_has_suffix(invalid, "name.mkv"));
}

static void
test_fit_pads_and_cuts(void)
{
	g_autofree gchar *left = av1top_fit("ab", 4, FALSE);
	g_autofree gchar *right = av1top_fit("ab", 4, TRUE);
	g_autofree gchar *cut = av1top_fit("abcdef", 4, FALSE);
	g_autofree gchar *control = av1top_fit("a\tb", 3, FALSE);

	g_assert_cmpstr(left, ==, "ab  ");
	g_assert_cmpstr(right, ==, "  ab");
	g_assert_cmpstr(cut, ==, "abc…");
	/* control characters would move the cursor */
	g_assert_cmpstr(control, ==, "a?b");
}

static void
test_layout_fits_every_width(void)
{
	for (guint width = 0; width <= 250; width++) {
		guint widths[AV1TOP_N_COLS];
		guint used = 0, shown = 0;

		av1top_layout_columns(width, widths);
		for (guint i = 0; i < AV1TOP_N_COLS; i++) {
			used += widths[i];
			shown += widths[i] > 0;
		}
		if (shown > 0)
			used += shown - 1;
		g_assert_cmpuint(used, <=, width);
		/* the file name is the last column to go */
		if (width > 0)
			g_assert_cmpuint(widths[AV1TOP_COL_FILE], >, 0);
		if (width >= 140) {
			for (guint i = 0; i < AV1TOP_N_COLS; i++)
				g_assert_cmpuint(widths[i], >, 0);
		}
	}
}

static void
test_cells(void)
{
	g_autoptr(Av1topModel) model = av1top_model_new();
	Av1topJob *running = add_job(model, 42, "running", "/lib/a.mkv");
	Av1topJob *done = add_job(model, 7, "success", "/lib/b.mkv");
	g_autofree gchar *bar = NULL, *id = NULL, *eta = NULL, *saving = NULL, *duration = NULL;
	g_autofree gchar *nothing = NULL;

	running->progress = 0.5;
	running->eta_seconds = 754;
	running->started_at = 1000 * G_USEC_PER_SEC;
	done->original_bytes = 4000;
	done->new_bytes = 1000;
	bar = av1top_cell_text(running, AV1TOP_COL_PROGRESS, 14, 0);
	g_assert_cmpstr(bar, ==, "[||||   ]  50%");
	id = av1top_cell_text(running, AV1TOP_COL_ID, 5, 0);
	g_assert_cmpstr(id, ==, "   42");
	eta = av1top_cell_text(running, AV1TOP_COL_ETA, 7, 0);
	g_assert_cmpstr(eta, ==, "  12:34");
	duration = av1top_cell_text(running, AV1TOP_COL_DURATION, 7, 1061 * G_USEC_PER_SEC);
	g_assert_cmpstr(duration, ==, "   1:01");
	saving = av1top_cell_text(done, AV1TOP_COL_SAVING, 6, 0);
	g_assert_cmpstr(saving, ==, " 75.0%");
	nothing = av1top_cell_text(done, AV1TOP_COL_PROGRESS, 14, 0);
	g_assert_cmpstr(nothing, ==, "              ");
}

static void
test_saving_percent(void)
{
	g_autoptr(Av1topModel) model = av1top_model_new();
	Av1topJob *a = add_job(model, 1, "success", "/lib/a.mkv");
	Av1topJob *b = add_job(model, 2, "success", "/lib/b.mkv");
	Av1topJob *c = add_job(model, 3, "failed", "/lib/c.mkv");
	gdouble percent = 0;

	g_assert_false(av1top_model_saving_percent(model, &percent));
	a->original_bytes = 1000;
	a->new_bytes = 400;
	b->original_bytes = 3000;
	b->new_bytes = 1000;
	c->original_bytes = 100000;
	model->bytes_saved = 2600;
	g_assert_true(av1top_model_saving_percent(model, &percent));
	g_assert_cmpfloat_with_epsilon(percent, 65.0, 0.001);
	g_assert_true(av1top_job_saving_percent(a, &percent));
	g_assert_cmpfloat_with_epsilon(percent, 60.0, 0.001);
	g_assert_false(av1top_job_saving_percent(c, &percent));
}

static void
test_uri_paths_show_their_name(void)
{
	g_autoptr(Av1topModel) model = av1top_model_new();
	Av1topJob *job = add_job(model, 1, "pending", "file:///lib/caf%E9.mkv");

	g_assert_true(g_utf8_validate(job->name, -1, NULL));
	g_assert_true(g_str_has_prefix(job->name, "caf"));
	g_assert_true(g_str_has_suffix(job->name, ".mkv"));
}

static void
test_host_parsers(void)
{
	guint64 busy = 0, total = 0, mem_total = 0, available = 0;
	g_autoptr(GHashTable) engines =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_autofree gchar *client = NULL;
	const gchar *fdinfo = "pos:\t0\nflags:\t02100002\nmnt_id:\t24\ndrm-driver:\ti915\n"
			      "drm-pdev:\t0000:00:02.0\ndrm-client-id:\t7\n"
			      "drm-engine-render:\t123456 ns\ndrm-engine-video:\t1000 ns\n"
			      "drm-engine-capacity-video:\t2\n";

	g_assert_true(av1top_host_parse_stat("cpu  100 5 50 800 45 0 0 0 0 0\ncpu0 1 2 3 4\n",
					     &busy, &total));
	g_assert_cmpuint(total, ==, 1000);
	g_assert_cmpuint(busy, ==, 155);
	g_assert_false(av1top_host_parse_stat("intr 1 2 3", &busy, &total));
	g_assert_true(av1top_host_parse_meminfo("MemTotal:       24683620 kB\nMemFree: 1 kB\n"
						"MemAvailable:   24137476 kB\n",
						&mem_total, &available));
	g_assert_cmpuint(mem_total, ==, 24683620ULL * 1024);
	g_assert_cmpuint(available, ==, 24137476ULL * 1024);
	g_assert_false(av1top_host_parse_meminfo("MemTotal: 5 kB\n", &mem_total, &available));
	g_assert_true(av1top_host_parse_fdinfo(fdinfo, &client, engines));
	g_assert_cmpstr(client, ==, "0000:00:02.0/7");
	g_assert_cmpuint(g_hash_table_size(engines), ==, 2);
	g_assert_cmpuint(*(guint64 *)g_hash_table_lookup(engines, "render"), ==, 123456);
	g_assert_false(av1top_host_parse_fdinfo("pos: 0\nflags: 2\n", &client, engines));
}

static void
test_host_sample_reads_this_machine(void)
{
	g_autoptr(Av1topHost) host = av1top_host_new();
	g_autoptr(Av1topModel) model = av1top_model_new();
	const gchar *const roots[] = {"/", "/nonexistent/av1top", NULL};

	av1top_host_sample(host, &model->host, roots);
	g_assert_cmpfloat(model->host.cpu_percent, <, 0);
	g_assert_cmpuint(model->host.mem_total, >, 0);
	g_assert_cmpuint(model->host.mem_used, <=, model->host.mem_total);
	g_assert_cmpuint(model->host.roots->len, ==, 2);
	g_assert_true(((Av1topRootSpace *)g_ptr_array_index(model->host.roots, 0))->known);
	g_assert_false(((Av1topRootSpace *)g_ptr_array_index(model->host.roots, 1))->known);
	g_usleep(20000);
	av1top_host_sample(host, &model->host, roots);
	g_assert_cmpfloat(model->host.cpu_percent, >=, 0);
	g_assert_cmpfloat(model->host.cpu_percent, <=, 100);
}

static void
test_snapshot_is_json_in_table_order(void)
{
	g_autoptr(Av1topModel) model = av1top_model_new();
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *json = NULL;
	JsonObject *root, *totals;
	JsonArray *jobs;
	Av1topJob *done;

	add_job(model, 1, "pending", "/lib/Über.mkv");
	done = add_job(model, 2, "success", "/lib/b.mkv");
	done->original_bytes = 2000;
	done->new_bytes = 500;
	add_job(model, 3, "running", "/lib/c.mkv");
	model->paused = TRUE;
	model->done_count = 1;
	model->bytes_saved = 1500;
	json = av1top_snapshot_to_json(model);
	json_parser_load_from_data(parser, json, -1, &error);
	g_assert_no_error(error);
	root = json_node_get_object(json_parser_get_root(parser));
	g_assert_true(json_object_get_boolean_member(root, "paused"));
	totals = json_object_get_object_member(root, "totals");
	g_assert_cmpint(json_object_get_int_member(totals, "done"), ==, 1);
	g_assert_cmpfloat_with_epsilon(json_object_get_double_member(totals, "saving_percent"),
				       75.0, 0.001);
	jobs = json_object_get_array_member(root, "jobs");
	g_assert_cmpuint(json_array_get_length(jobs), ==, 3);
	g_assert_cmpint(json_object_get_int_member(json_array_get_object_element(jobs, 0), "id"),
			==, 3);
	g_assert_cmpstr(
	    json_object_get_string_member(json_array_get_object_element(jobs, 1), "name"), ==,
	    "Über.mkv");
	/* no GPU here: no member, as the screen shows no meter */
	g_assert_false(json_object_has_member(json_object_get_object_member(root, "host"),
					      "gpu_busy_percent"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/av1top/model/sorts-running-then-pending-then-finished-newest-first",
			test_sorts_running_pending_then_finished_newest_first);
	g_test_add_func("/av1top/model/a-job-seen-finishing-sorts-above-older-ones",
			test_job_seen_finishing_sorts_above_older_ones);
	g_test_add_func("/av1top/model/filter-matches-name-status-reason-ignoring-case",
			test_filter_matches_text_case_insensitively);
	g_test_add_func("/av1top/model/cursor-stays-on-its-job-across-resorts",
			test_cursor_stays_on_its_job);
	g_test_add_func("/av1top/model/move-clamps-and-scroll-follows",
			test_move_clamps_and_scroll_follows);
	g_test_add_func("/av1top/format/size-fits-seven-columns", test_format_size);
	g_test_add_func("/av1top/format/duration-and-eta", test_format_duration_and_eta);
	g_test_add_func("/av1top/format/ellipsize-middle-ascii", test_ellipsize_ascii);
	g_test_add_func("/av1top/format/ellipsize-multibyte-at-widths-0-to-5",
			test_ellipsize_multibyte_small_widths);
	g_test_add_func("/av1top/format/ellipsize-multibyte-keeps-whole-characters",
			test_ellipsize_multibyte_examples);
	g_test_add_func("/av1top/format/fit-pads-and-cuts", test_fit_pads_and_cuts);
	g_test_add_func("/av1top/layout/columns-fit-every-width", test_layout_fits_every_width);
	g_test_add_func("/av1top/layout/cells", test_cells);
	g_test_add_func("/av1top/model/saving-percent", test_saving_percent);
	g_test_add_func("/av1top/model/uri-paths-show-their-name", test_uri_paths_show_their_name);
	g_test_add_func("/av1top/host/parses-proc-stat-meminfo-and-drm-fdinfo", test_host_parsers);
	g_test_add_func("/av1top/host/samples-this-machine", test_host_sample_reads_this_machine);
	g_test_add_func("/av1top/snapshot/is-json-in-table-order",
			test_snapshot_is_json_in_table_order);
	return g_test_run();
}
