#define G_LOG_DOMAIN "av1d-test-verify"

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>

#include "av1d-error.h"
#include "av1d-verify.h"

/* ---- helpers ---- */

static gchar *media_dir;
static gboolean use_libaom;

/* a config made by hand: the loader is not what is tested here */
static Av1dConfig *
test_config_new(Av1dVerifyMode mode, const gchar *ffprobe_bin, const gchar *ffmpeg_bin)
{
	static const gchar *const keep_all[] = {NULL};
	Av1dConfig *config = g_new0(Av1dConfig, 1);

	config->exclude_languages = g_strdupv((gchar **)keep_all);
	config->ffprobe_bin = g_strdup(ffprobe_bin != NULL ? ffprobe_bin : "ffprobe");
	config->ffmpeg_bin = g_strdup(ffmpeg_bin != NULL ? ffmpeg_bin : "ffmpeg");
	config->verify = mode;
	return config;
}

static void
test_config_free(Av1dConfig *config)
{
	g_strfreev(config->exclude_languages);
	g_free(config->ffprobe_bin);
	g_free(config->ffmpeg_bin);
	g_free(config);
}

/* what the pipeline holds about one source when it verifies */
typedef struct {
	Av1dMediaInfo *info;
	Av1dDecision *decision;
	Av1dPlan *plan;
} Source;

static Source src8;  /* h264 8-bit, audio eng + ger, one subtitle, one font */
static Source src10; /* ffv1 10-bit, audio eng */

static void
source_clear(Source *src)
{
	g_clear_pointer(&src->plan, av1d_plan_free);
	g_clear_pointer(&src->decision, av1d_decision_free);
	g_clear_pointer(&src->info, av1d_media_info_free);
}

static void
source_init(Source *src, Av1dMediaInfo *info, const gchar *path)
{
	g_autoptr(GError) error = NULL;
	Av1dConfig *config = test_config_new(AV1D_VERIFY_QUICK, NULL, NULL);

	src->info = info;
	src->decision = av1d_classify(info, path, config);
	g_assert_cmpint(src->decision->action, ==, AV1D_ACTION_ENCODE);
	src->plan = av1d_plan_new(info, src->decision, path, config, &error);
	test_config_free(config);
	g_assert_no_error(error);
}

static gchar *
media_path(const gchar *name)
{
	return g_build_filename(media_dir, name, NULL);
}

static Av1dMediaInfo *
probe(const gchar *path)
{
	g_autoptr(GError) error = NULL;
	Av1dMediaInfo *info = av1d_probe_file_sync("ffprobe", path, NULL, &error);

	g_assert_no_error(error);
	return info;
}

static void
run_argv(const gchar *const *argv)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GBytes) err = NULL;

	proc = g_subprocess_newv(
		argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
	g_assert_no_error(error);
	g_subprocess_communicate(proc, NULL, NULL, NULL, &err, &error);
	g_assert_no_error(error);
	if (!g_subprocess_get_successful(proc))
		g_error("%s failed: %.*s", argv[0], (int)g_bytes_get_size(err),
			(const gchar *)g_bytes_get_data(err, NULL));
}

static void
write_file(const gchar *path, const gchar *contents, gssize length)
{
	g_autoptr(GError) error = NULL;

	g_file_set_contents(path, contents, length, &error);
	g_assert_no_error(error);
}

/* ---- media: two real sources and what encoders may make of them ---- */

static void
make_sources(void)
{
	g_autofree gchar *srt = media_path("sub.srt");
	g_autofree gchar *font = media_path("font.ttf");
	g_autofree gchar *path8 = media_path("src8.mkv");
	g_autofree gchar *path10 = media_path("src10.mkv");
	const gchar *video = "testsrc2=size=128x96:rate=25:duration=2";
	const gchar *tone = "sine=frequency=440:sample_rate=48000:duration=2";
	const gchar *argv8[] = {"ffmpeg",
				"-hide_banner",
				"-nostdin",
				"-v",
				"error",
				"-y",
				"-f",
				"lavfi",
				"-i",
				video,
				"-f",
				"lavfi",
				"-i",
				tone,
				"-f",
				"lavfi",
				"-i",
				tone,
				"-i",
				srt,
				"-map",
				"0:v",
				"-map",
				"1:a",
				"-map",
				"2:a",
				"-map",
				"3:s",
				"-attach",
				font,
				"-metadata:s:t:0",
				"mimetype=application/x-truetype-font",
				"-c:v",
				"libx264",
				"-preset",
				"ultrafast",
				"-pix_fmt",
				"yuv420p",
				"-c:a",
				"aac",
				"-b:a",
				"32k",
				"-c:s",
				"srt",
				"-metadata:s:a:0",
				"language=eng",
				"-metadata:s:a:1",
				"language=ger",
				"-f",
				"matroska",
				path8,
				NULL};
	const gchar *argv10[] = {"ffmpeg",
				 "-hide_banner",
				 "-nostdin",
				 "-v",
				 "error",
				 "-y",
				 "-f",
				 "lavfi",
				 "-i",
				 video,
				 "-f",
				 "lavfi",
				 "-i",
				 tone,
				 "-c:v",
				 "ffv1",
				 "-pix_fmt",
				 "yuv420p10le",
				 "-c:a",
				 "aac",
				 "-b:a",
				 "32k",
				 "-metadata:s:a:0",
				 "language=eng",
				 "-f",
				 "matroska",
				 path10,
				 NULL};

	/* shorter than the 0.5 s cut of short.mkv, so that the cut file's
	 * duration is its picture's (a longer one is check-info's case) */
	write_file(srt, "1\n00:00:00,000 --> 00:00:00,400\nHello\n\n", -1);
	/* not a real font; the muxer only needs bytes and a mimetype */
	write_file(font, "av1d test font\n", -1);
	run_argv(argv8);
	run_argv(argv10);
	source_init(&src8, probe(path8), path8);
	source_init(&src10, probe(path10), path10);
	g_assert_cmpuint(src8.plan->audio->len, ==, 2);
	g_assert_cmpuint(src8.plan->subtitles->len, ==, 1);
	g_assert_cmpuint(src8.plan->n_attachments, ==, 1);
	g_assert_cmpuint(src8.decision->target_bit_depth, ==, 8);
	g_assert_cmpuint(src10.decision->target_bit_depth, ==, 10);
}

/* run the plan's own software encode, optionally with the output pixel
 * format replaced or the output cut at limit seconds, and name the result */
static void
encode(const Source *src, const gchar *name, const gchar *pix_fmt, const gchar *limit)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = media_path(name);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_auto(GStrv) planned = NULL;
	g_autofree gchar *temp_dir = NULL;
	Av1dBackendParams params = {
		.kind = AV1D_ENCODER_KIND_SOFTWARE,
		.ffmpeg_bin = "ffmpeg",
		.use_libaom = use_libaom,
	};
	guint last_format = 0;

	/* the job's private folder, as the pipeline would make it */
	temp_dir = g_strdup_printf("%s/.av1d-1-%06u", media_dir, g_random_int_range(0, 999999));
	g_assert_cmpint(g_mkdir(temp_dir, 0700), ==, 0);
	av1d_plan_set_temp_dir(src->plan, temp_dir);
	planned = av1d_plan_build_argv(src->plan, src->decision, &params, &error);
	g_assert_no_error(error);
	for (guint i = 0; planned[i] != NULL; i++) {
		if (g_str_equal(planned[i], "-f"))
			last_format = i;
	}
	for (guint i = 0; planned[i] != NULL; i++) {
		if (limit != NULL && i == last_format) {
			g_ptr_array_add(argv, (gpointer) "-t");
			g_ptr_array_add(argv, (gpointer)limit);
		}
		if (pix_fmt != NULL && i > 0 && g_str_equal(planned[i - 1], "-pix_fmt"))
			g_ptr_array_add(argv, (gpointer)pix_fmt);
		else
			g_ptr_array_add(argv, planned[i]);
	}
	g_ptr_array_add(argv, NULL);
	run_argv((const gchar *const *)argv->pdata);
	g_assert_cmpint(g_rename(src->plan->temp_path, path), ==, 0);
	g_rmdir(src->plan->temp_dir);
}

static void
remux_without_second_audio(const gchar *from, const gchar *to)
{
	g_autofree gchar *in = media_path(from);
	g_autofree gchar *out = media_path(to);
	const gchar *argv[] = {"ffmpeg", "-hide_banner", "-nostdin", "-v",   "error",  "-y", "-i",
			       in,	 "-map",	 "0",	     "-map", "-0:a:1", "-c", "copy",
			       "-f",	 "matroska",	 out,	     NULL};

	run_argv(argv);
}

/* what an encoder that writes half a file and exits 0 leaves behind */
static void
copy_first_half(const gchar *from, const gchar *to)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *in = media_path(from);
	g_autofree gchar *out = media_path(to);
	g_autofree gchar *data = NULL;
	gsize len = 0;

	g_file_get_contents(in, &data, &len, &error);
	g_assert_no_error(error);
	write_file(out, data, (gssize)(len / 2));
}

/* 2 KiB of noise over the middle: a bad sector or a bug in the muxer */
static void
corrupt_middle(const gchar *from, const gchar *to)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *in = media_path(from);
	g_autofree gchar *out = media_path(to);
	g_autofree gchar *data = NULL;
	gsize len = 0;

	g_file_get_contents(in, &data, &len, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(len, >, 8192);
	for (gsize i = 0; i < 2048; i++)
		data[len / 2 + i] = (gchar)((i * 97 + 13) & 0xff);
	write_file(out, data, (gssize)len);
}

static gboolean
have_encoder(const gchar *name)
{
	g_autofree gchar *out = NULL;
	g_autofree gchar *needle = g_strdup_printf(" %s ", name);
	const gchar *argv[] = {"ffmpeg", "-hide_banner", "-encoders", NULL};

	if (!g_spawn_sync(NULL, (gchar **)argv, NULL,
			  G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
			  NULL, NULL))
		return FALSE;
	return strstr(out, needle) != NULL;
}

static void
make_media(void)
{
	g_autofree gchar *garbage = media_path("garbage.mkv");

	use_libaom = !have_encoder("libsvtav1");
	make_sources();
	encode(&src8, "good8.mkv", NULL, NULL);
	encode(&src10, "good10.mkv", NULL, NULL);
	encode(&src10, "depth8-of-10.mkv", "yuv420p", NULL);
	encode(&src8, "short.mkv", NULL, "0.5");
	remux_without_second_audio("good8.mkv", "one-audio.mkv");
	copy_first_half("good8.mkv", "truncated.mkv");
	corrupt_middle("good8.mkv", "corrupt.mkv");
	write_file(garbage, "this is not a media file at all\n", -1);
}

/* ---- running a verify ---- */

static void
on_verified(GObject *source, GAsyncResult *result, gpointer user_data)
{
	GAsyncResult **out = user_data;

	*out = g_object_ref(result);
}

static gboolean
verify_with(const gchar *path,
	    const Source *src,
	    Av1dVerifyMode mode,
	    const gchar *ffprobe_bin,
	    const gchar *ffmpeg_bin,
	    GError **error)
{
	g_autoptr(GAsyncResult) result = NULL;
	Av1dConfig *config = test_config_new(mode, ffprobe_bin, ffmpeg_bin);
	gchar *path_copy = g_strdup(path);

	av1d_verify_async(config, path_copy, src->info, src->plan, src->decision, NULL, on_verified,
			  &result);
	/* the caller may free what it passed as soon as the call returns */
	test_config_free(config);
	g_free(path_copy);
	while (result == NULL)
		g_main_context_iteration(NULL, TRUE);
	return av1d_verify_finish(result, error);
}

static void
assert_verifies(const gchar *name, const Source *src, Av1dVerifyMode mode)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = media_path(name);

	g_assert_true(verify_with(path, src, mode, NULL, NULL, &error));
	g_assert_no_error(error);
}

/* the message of the verify failure */
static gchar *
verify_failure(const gchar *name, const Source *src, Av1dVerifyMode mode)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = media_path(name);

	g_assert_false(verify_with(path, src, mode, NULL, NULL, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_VERIFY_FAILED);
	g_test_message("%s, %s: %s", name, av1d_verify_mode_to_string(mode), error->message);
	return g_strdup(error->message);
}

static void
assert_prefix(const gchar *message, const gchar *prefix)
{
	if (!g_str_has_prefix(message, prefix))
		g_error("“%s” does not start with “%s”", message, prefix);
}

static void
assert_contains(const gchar *message, const gchar *fragment)
{
	if (strstr(message, fragment) == NULL)
		g_error("“%s” does not contain “%s”", message, fragment);
}

/* the probe-based checks alone pass: what fails must be the decode */
static void
assert_info_passes(const gchar *name, const Source *src)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = media_path(name);
	g_autoptr(Av1dMediaInfo) info = probe(path);

	g_assert_true(av1d_verify_check_info(info, src->info, src->plan,
					     src->decision->target_bit_depth, &error));
	g_assert_no_error(error);
}

/* ---- real outputs ---- */

static void
test_accepts_a_good_8_bit_output_in_quick_and_full(void)
{
	assert_verifies("good8.mkv", &src8, AV1D_VERIFY_QUICK);
	assert_verifies("good8.mkv", &src8, AV1D_VERIFY_FULL);
}

static void
test_accepts_a_good_10_bit_output_in_quick_and_full(void)
{
	assert_verifies("good10.mkv", &src10, AV1D_VERIFY_QUICK);
	assert_verifies("good10.mkv", &src10, AV1D_VERIFY_FULL);
}

/* the source itself stands in for an encoder that copied the video */
static void
test_rejects_an_h264_output(void)
{
	g_autofree gchar *message = verify_failure("src8.mkv", &src8, AV1D_VERIFY_QUICK);

	g_assert_cmpstr(message, ==, "verify: expected 1 AV1 video stream, found 0 (video: h264)");
}

static void
test_rejects_an_8_bit_output_of_a_10_bit_source(void)
{
	g_autofree gchar *message = verify_failure("depth8-of-10.mkv", &src10, AV1D_VERIFY_FULL);

	g_assert_cmpstr(message, ==, "verify: expected 10-bit video, found yuv420p (8-bit)");
}

static void
test_rejects_an_output_missing_an_audio_stream(void)
{
	g_autofree gchar *message = verify_failure("one-audio.mkv", &src8, AV1D_VERIFY_QUICK);

	g_assert_cmpstr(message, ==, "verify: expected 2 audio streams, found 1");
}

static gchar *
seconds(gint64 us)
{
	gchar buf[G_ASCII_DTOSTR_BUF_SIZE];

	return g_strdup(g_ascii_formatd(buf, sizeof buf, "%.3f", (gdouble)us / G_USEC_PER_SEC));
}

static void
test_rejects_a_shorter_output(void)
{
	g_autofree gchar *path = media_path("short.mkv");
	g_autoptr(Av1dMediaInfo) info = probe(path);
	g_autofree gchar *found = seconds(info->duration_us);
	g_autofree gchar *source = seconds(src8.info->duration_us);
	g_autofree gchar *expected = NULL;
	g_autofree gchar *message = verify_failure("short.mkv", &src8, AV1D_VERIFY_QUICK);

	/* 0.5 s of a 2 s source: well outside the 1 s tolerance */
	g_assert_cmpint(src8.info->duration_us - info->duration_us, >, 1300000);
	expected = g_strdup_printf("verify: duration %s s differs from the source's %s s by "
				   "more than 1.000 s (1 s or 0.1%%, whichever is more)",
				   found, source);
	g_assert_cmpstr(message, ==, expected);
}

/* Matroska's duration sits in the header, so half a file still claims the
 * full length and has every stream: only decoding notices. Both modes
 * start at 0 s and the demuxer complains at once, because it looks for
 * the index at the (missing) end of the file */
static void
test_rejects_truncated_output(void)
{
	g_autofree gchar *quick = verify_failure("truncated.mkv", &src8, AV1D_VERIFY_QUICK);
	g_autofree gchar *full = verify_failure("truncated.mkv", &src8, AV1D_VERIFY_FULL);

	assert_info_passes("truncated.mkv", &src8);
	assert_prefix(quick, "verify: decoding 1.000 s from 0.000 s failed: ");
	assert_contains(quick, "File ended prematurely");
	assert_prefix(full, "verify: decoding the whole output failed: ");
	assert_contains(full, "File ended prematurely");
}

/* the probe reads only the header and the index, which survive; decoding
 * hits the noise. quick catches it here only because a 2 s file is covered
 * by its windows end to end; in a film, quick decodes ~10% and finds damage
 * only inside a window: that is what full is for */
static void
test_rejects_a_corrupt_middle(void)
{
	g_autofree gchar *quick = verify_failure("corrupt.mkv", &src8, AV1D_VERIFY_QUICK);
	g_autofree gchar *full = verify_failure("corrupt.mkv", &src8, AV1D_VERIFY_FULL);

	assert_info_passes("corrupt.mkv", &src8);
	assert_prefix(full, "verify: decoding the whole output failed: ");
	assert_prefix(quick, "verify: decoding ");
	assert_contains(quick, " failed: ");
}

static void
test_rejects_a_missing_output(void)
{
	g_autofree gchar *path = media_path("never-written.mkv");
	g_autofree gchar *expected =
		g_strdup_printf("verify: probing %s: ffprobe: No such file or directory", path);
	g_autofree gchar *message = verify_failure("never-written.mkv", &src8, AV1D_VERIFY_QUICK);

	g_assert_cmpstr(message, ==, expected);
}

static void
test_rejects_an_output_that_is_not_media(void)
{
	g_autofree gchar *path = media_path("garbage.mkv");
	g_autofree gchar *prefix = g_strdup_printf("verify: probing %s: ffprobe: ", path);
	g_autofree gchar *message = verify_failure("garbage.mkv", &src8, AV1D_VERIFY_FULL);

	assert_prefix(message, prefix);
	assert_contains(message, "Invalid data found when processing input");
}

/* ---- fakes at the process boundary ---- */

static gchar *
write_script(const gchar *name, const gchar *body)
{
	gchar *path = media_path(name);
	g_autofree gchar *script = g_strdup_printf("#!/bin/sh\n%s", body);

	write_file(path, script, -1);
	g_assert_cmpint(g_chmod(path, 0755), ==, 0);
	return path;
}

/* a process that says who it is, then hangs */
static gchar *
write_hanging_script(const gchar *name, const gchar *pidfile)
{
	g_autofree gchar *body = g_strdup_printf("echo $$ >'%s.tmp'\nmv '%s.tmp' '%s'\n"
						 "exec sleep 30\n",
						 pidfile, pidfile, pidfile);

	return write_script(name, body);
}

static gboolean
process_exists(GPid pid)
{
	g_autofree gchar *stat_path = g_strdup_printf("/proc/%d/stat", (int)pid);
	g_autofree gchar *contents = NULL;
	const gchar *state;

	if (kill(pid, 0) != 0)
		return errno != ESRCH;
	/* a zombie has been killed, only not reaped yet */
	if (!g_file_get_contents(stat_path, &contents, NULL, NULL))
		return FALSE;
	state = strrchr(contents, ')');
	return state == NULL || state[1] == '\0' || state[2] != 'Z';
}

typedef struct {
	const gchar *pidfile;
	GCancellable *cancellable;
	GPid pid;
	gint64 cancelled_at;
} CancelWatch;

static gboolean
cancel_when_started(gpointer user_data)
{
	CancelWatch *watch = user_data;
	g_autofree gchar *contents = NULL;
	gint64 pid = 0;

	if (!g_file_get_contents(watch->pidfile, &contents, NULL, NULL))
		return G_SOURCE_CONTINUE;
	g_assert_true(g_ascii_string_to_signed(g_strstrip(contents), 10, 1, G_MAXINT, &pid, NULL));
	watch->pid = (GPid)pid;
	watch->cancelled_at = g_get_monotonic_time();
	g_cancellable_cancel(watch->cancellable);
	return G_SOURCE_REMOVE;
}

/* start a verify of a good file, cancel it once the hanging fake runs, and
 * see that it answers at once and the fake is gone */
static void
assert_cancel_kills(const gchar *ffprobe_bin, const gchar *ffmpeg_bin, const gchar *pidfile)
{
	g_autoptr(GCancellable) cancellable = g_cancellable_new();
	g_autoptr(GAsyncResult) result = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = media_path("good8.mkv");
	Av1dConfig *config = test_config_new(AV1D_VERIFY_FULL, ffprobe_bin, ffmpeg_bin);
	CancelWatch watch = {pidfile, cancellable, 0, 0};
	gint64 deadline;
	guint watch_id;

	av1d_verify_async(config, path, src8.info, src8.plan, src8.decision, cancellable,
			  on_verified, &result);
	test_config_free(config);
	watch_id = g_timeout_add(10, cancel_when_started, &watch);
	while (result == NULL)
		g_main_context_iteration(NULL, TRUE);
	if (watch.pid == 0)
		g_source_remove(watch_id);
	g_assert_cmpint(watch.pid, >, 0);
	/* the fake sleeps 30 s: only a kill answers this fast */
	g_assert_cmpint(g_get_monotonic_time() - watch.cancelled_at, <, 5 * G_USEC_PER_SEC);
	g_assert_false(av1d_verify_finish(result, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_CANCELLED);
	g_assert_cmpstr(error->message, ==, "verify: cancelled");
	deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (process_exists(watch.pid) && g_get_monotonic_time() < deadline)
		g_usleep(10000);
	g_assert_false(process_exists(watch.pid));
}

static void
test_cancelling_kills_the_running_decoder(void)
{
	g_autofree gchar *pidfile = media_path("hanging-ffmpeg.pid");
	g_autofree gchar *ffmpeg = write_hanging_script("hanging-ffmpeg", pidfile);

	assert_cancel_kills(NULL, ffmpeg, pidfile);
}

static void
test_cancelling_kills_the_running_probe(void)
{
	g_autofree gchar *pidfile = media_path("hanging-ffprobe.pid");
	g_autofree gchar *ffprobe = write_hanging_script("hanging-ffprobe", pidfile);

	assert_cancel_kills(ffprobe, NULL, pidfile);
}

static void
test_cancelled_before_the_start_returns_cancelled(void)
{
	g_autoptr(GCancellable) cancellable = g_cancellable_new();
	g_autoptr(GAsyncResult) result = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = media_path("good8.mkv");
	Av1dConfig *config = test_config_new(AV1D_VERIFY_QUICK, NULL, NULL);

	g_cancellable_cancel(cancellable);
	av1d_verify_async(config, path, src8.info, src8.plan, src8.decision, cancellable,
			  on_verified, &result);
	test_config_free(config);
	while (result == NULL)
		g_main_context_iteration(NULL, TRUE);
	g_assert_false(av1d_verify_finish(result, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_CANCELLED);
}

/* a fake decoder for a good file: the probe is real, the verdict scripted */
static gchar *
fake_decode_failure(const gchar *name, const gchar *body, Av1dVerifyMode mode)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *ffmpeg = write_script(name, body);
	g_autofree gchar *path = media_path("good8.mkv");

	g_assert_false(verify_with(path, &src8, mode, NULL, ffmpeg, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_VERIFY_FAILED);
	return g_strdup(error->message);
}

static void
test_decode_errors_carry_the_first_lines_of_stderr(void)
{
	g_autofree gchar *message = fake_decode_failure(
		"ffmpeg-errors",
		"printf '[libdav1d @ 0x55d0c8a0] Error parsing OBU data\\n' >&2\n"
		"printf '    Last message repeated 1 times\\n\\n' >&2\n"
		"printf 'Error while decoding stream #0:0: Invalid data\\n' >&2\n"
		"printf '[null @ 0x1] second\\nthird\\nfourth\\n' >&2\n"
		"exit 69\n",
		AV1D_VERIFY_FULL);

	/* the null muxer's lines are about timestamps, never about the data */
	g_assert_cmpstr(message, ==,
			"verify: decoding the whole output failed: libdav1d: Error parsing OBU "
			"data; Error while decoding stream #0:0: Invalid data; third");
}

/* one decoder line can be a hex dump; a job reason must stay readable */
static void
test_long_stderr_lines_are_cut(void)
{
	g_autofree gchar *message = fake_decode_failure(
		"ffmpeg-long-line", "head -c 300 /dev/zero | tr '\\0' x >&2\nexit 1\n",
		AV1D_VERIFY_QUICK);
	g_autofree gchar *xs = g_strnfill(200, 'x');
	g_autofree gchar *expected =
		g_strdup_printf("verify: decoding 1.000 s from 0.000 s failed: %s…", xs);

	g_assert_cmpstr(message, ==, expected);
}

/* -v error prints nothing for many faults that still end in a non-zero exit */
static void
test_a_silent_decoder_failure_is_a_failure(void)
{
	g_autofree gchar *message = fake_decode_failure(
		"ffmpeg-silent-exit", "printf 'frame=25\\nprogress=end\\n'\nexit 1\n",
		AV1D_VERIFY_QUICK);

	g_assert_cmpstr(message, ==,
			"verify: decoding 1.000 s from 0.000 s failed: ffmpeg exited with status "
			"1 and no message");
}

static void
test_a_window_without_frames_is_a_failure(void)
{
	g_autofree gchar *message = fake_decode_failure(
		"ffmpeg-no-frames", "printf 'frame=0\\nout_time_us=0\\nprogress=end\\n'\n",
		AV1D_VERIFY_QUICK);

	g_assert_cmpstr(message, ==,
			"verify: decoding 1.000 s from 0.000 s produced no video frame");
}

static void
test_a_full_decode_that_stops_early_is_a_failure(void)
{
	g_autofree gchar *message = fake_decode_failure(
		"ffmpeg-stops-early", "printf 'frame=10\\nout_time_us=400000\\nprogress=end\\n'\n",
		AV1D_VERIFY_FULL);
	g_autofree gchar *duration = NULL;
	g_autofree gchar *expected = NULL;
	g_autofree gchar *path = media_path("good8.mkv");
	g_autoptr(Av1dMediaInfo) info = probe(path);

	duration = seconds(info->duration_us);
	expected = g_strdup_printf("verify: decoding the whole output stopped at 0.400 s of %s s",
				   duration);
	g_assert_cmpstr(message, ==, expected);
}

/* ---- the frame rates films and TV really have ---- */

typedef struct {
	const gchar *name;
	const gchar *rate; /* lavfi's */
} FrameRate;

static const FrameRate frame_rates[] = {
	{"23.976", "24000/1001"}, {"24", "24"}, {"25", "25"},
	{"29.97", "30000/1001"},  {"50", "50"}, {"59.94", "60000/1001"},
};

/* a 3 s H.264 clip in Matroska (millisecond timestamps, as a film's); vfr
 * drops every 7th frame and keeps the gaps; audio is AAC */
static void
make_rate_source(const gchar *path, const FrameRate *rate, gboolean vfr, gboolean audio)
{
	g_autofree gchar *video = g_strdup_printf("testsrc2=size=96x64:rate=%s:duration=3",
						  rate->rate);
	g_autoptr(GStrvBuilder) argv = g_strv_builder_new();
	g_auto(GStrv) args = NULL;

	g_strv_builder_add_many(argv, "ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y",
				"-f", "lavfi", "-i", video, NULL);
	if (audio)
		g_strv_builder_add_many(argv, "-f", "lavfi", "-i",
					"sine=frequency=440:sample_rate=48000:duration=3", "-c:a",
					"aac", "-b:a", "32k", NULL);
	if (vfr)
		g_strv_builder_add_many(argv, "-vf", "select='mod(n\\,7)'", "-fps_mode", "vfr", NULL);
	g_strv_builder_add_many(argv, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt",
				"yuv420p", "-f", "matroska", path, NULL);
	args = g_strv_builder_end(argv);
	run_argv((const gchar *const *)args);
}

/* every real frame rate, constant and variable, with and without audio,
 * encoded by the plan and verified both ways: all pass. Before, a 24 fps
 * film failed quick verify on the null muxer's timestamp notices */
static void
test_accepts_every_common_frame_rate(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(frame_rates); i++) {
		for (guint variant = 0; variant < 4; variant++) {
			gboolean vfr = variant & 1, audio = variant & 2;
			g_autofree gchar *tag = g_strdup_printf(
				"rate-%s-%s-%s", frame_rates[i].name, vfr ? "vfr" : "cfr",
				audio ? "audio" : "silent");
			g_autofree gchar *src_name = g_strdup_printf("%s-src.mkv", tag);
			g_autofree gchar *out_name = g_strdup_printf("%s-av1.mkv", tag);
			g_autofree gchar *path = media_path(src_name);
			Source src = {0};

			make_rate_source(path, &frame_rates[i], vfr, audio);
			source_init(&src, probe(path), path);
			encode(&src, out_name, NULL, NULL);
			g_test_message("%s", tag);
			assert_verifies(out_name, &src, AV1D_VERIFY_QUICK);
			assert_verifies(out_name, &src, AV1D_VERIFY_FULL);
			source_clear(&src);
		}
	}
}

/* the damage the notices must not hide, at film rate: a file cut at 3/4
 * (its header still claims 3 s) and one with bytes flipped all over */
static void
test_rejects_damage_at_film_rates(void)
{
	g_autofree gchar *path = media_path("film-src.mkv");
	g_autofree gchar *good = NULL;
	g_autofree gchar *cut = media_path("film-cut.mkv");
	g_autofree gchar *flipped = media_path("film-flipped.mkv");
	g_autofree gchar *data = NULL;
	g_autoptr(GError) error = NULL;
	Source src = {0};
	gsize len = 0;

	make_rate_source(path, &frame_rates[0], FALSE, TRUE);
	source_init(&src, probe(path), path);
	encode(&src, "film-av1.mkv", NULL, NULL);
	good = media_path("film-av1.mkv");
	g_file_get_contents(good, &data, &len, &error);
	g_assert_no_error(error);
	write_file(cut, data, (gssize)(len * 3 / 4));
	for (gsize i = 4096; i < len; i += 997)
		data[i] ^= 0x5a;
	write_file(flipped, data, (gssize)len);
	for (guint mode = AV1D_VERIFY_QUICK; mode <= AV1D_VERIFY_FULL; mode++) {
		g_autofree gchar *m1 = verify_failure("film-cut.mkv", &src, mode);
		g_autofree gchar *m2 = verify_failure("film-flipped.mkv", &src, mode);

		assert_prefix(m1, "verify: ");
		assert_prefix(m2, "verify: ");
	}
	source_clear(&src);
}

/* ---- hand-made media info ---- */

/* streams after the video one(s): audio eng + ger, a subtitle, a font */
static void
append_other_streams(GString *json, guint n_audio, guint n_subtitles, guint n_attachments)
{
	for (guint i = 0; i < n_audio; i++)
		g_string_append(json, ", {\"codec_type\": \"audio\", \"codec_name\": \"aac\"}");
	for (guint i = 0; i < n_subtitles; i++)
		g_string_append(json,
				", {\"codec_type\": \"subtitle\", \"codec_name\": \"subrip\"}");
	for (guint i = 0; i < n_attachments; i++)
		g_string_append(json, ", {\"codec_type\": \"attachment\", \"codec_name\": \"ttf\","
				      " \"tags\": {\"filename\": \"a.ttf\"}}");
}

static gchar *
media_json(const gchar *video, const gchar *duration, guint n_audio, guint n_subs, guint n_att)
{
	GString *json = g_string_new("{\"streams\": [");

	g_string_append(json, video);
	append_other_streams(json, n_audio, n_subs, n_att);
	g_string_append(json, "], \"format\": {\"format_name\": \"matroska,webm\"");
	if (duration != NULL)
		g_string_append_printf(json, ", \"duration\": \"%s\"", duration);
	g_string_append(json, "}}");
	return g_string_free(json, FALSE);
}

static Av1dMediaInfo *
parse(const gchar *json)
{
	g_autoptr(GError) error = NULL;
	Av1dMediaInfo *info = av1d_media_info_parse(json, -1, &error);

	g_assert_no_error(error);
	return info;
}

#define H264_1080P                                                                                 \
	"{\"index\": 0, \"codec_type\": \"video\", \"codec_name\": \"h264\", \"width\": 1920,"     \
	" \"height\": 1080, \"pix_fmt\": \"yuv420p\", \"avg_frame_rate\": \"24/1\"}"
#define AV1_8BIT                                                                                   \
	"{\"index\": 0, \"codec_type\": \"video\", \"codec_name\": \"av1\", \"width\": 1920,"      \
	" \"height\": 1080, \"pix_fmt\": \"yuv420p\"}"
#define AV1_8BIT_90S                                                                               \
	"{\"index\": 0, \"codec_type\": \"video\", \"codec_name\": \"av1\", \"width\": 1920,"      \
	" \"height\": 1080, \"pix_fmt\": \"yuv420p\","                                             \
	" \"tags\": {\"DURATION\": \"00:01:30.000000000\"}}"

/* an 8-bit source with two audio streams, a subtitle and a font */
static void
source_init_json_video(Source *src, const gchar *video, const gchar *duration)
{
	g_autofree gchar *json = media_json(video, duration, 2, 1, 1);

	source_init(src, parse(json), "/media/films/Film.2020.mkv");
}

static void
source_init_json(Source *src, const gchar *duration)
{
	source_init_json_video(src, H264_1080P, duration);
}

/* NULL when the output passes checks 2-4, else the message */
static gchar *
check_info(const Source *src,
	   const gchar *video,
	   const gchar *duration,
	   guint n_audio,
	   guint n_subs,
	   guint n_att)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *json = media_json(video, duration, n_audio, n_subs, n_att);
	g_autoptr(Av1dMediaInfo) info = parse(json);

	if (av1d_verify_check_info(info, src->info, src->plan, 8, &error)) {
		g_assert_no_error(error);
		return NULL;
	}
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_VERIFY_FAILED);
	return g_strdup(error->message);
}

static void
test_check_info_accepts_a_matching_output(void)
{
	Source src = {0};

	source_init_json(&src, "7200.0");
	g_assert_null(check_info(&src, AV1_8BIT, "7200.021", 2, 1, 1));
	source_clear(&src);
}

static void
assert_check_info(const Source *src,
		  const gchar *video,
		  const gchar *duration,
		  guint n_audio,
		  guint n_subs,
		  guint n_att,
		  const gchar *expected)
{
	g_autofree gchar *message = check_info(src, video, duration, n_audio, n_subs, n_att);

	g_assert_cmpstr(message, ==, expected);
}

static void
test_check_info_duration_tolerance_is_1_s_or_a_tenth_of_a_percent(void)
{
	Source film = {0};
	Source clip = {0};

	/* 0.1% of two hours is 7.2 s */
	source_init_json(&film, "7200.0");
	assert_check_info(&film, AV1_8BIT, "7207.2", 2, 1, 1, NULL);
	assert_check_info(&film, AV1_8BIT, "7192.8", 2, 1, 1, NULL);
	assert_check_info(&film, AV1_8BIT, "7207.201", 2, 1, 1,
			  "verify: duration 7207.201 s differs from the source's 7200.000 s by "
			  "more than 7.200 s (1 s or 0.1%, whichever is more)");
	assert_check_info(&film, AV1_8BIT, "7164.0", 2, 1, 1,
			  "verify: duration 7164.000 s differs from the source's 7200.000 s by "
			  "more than 7.200 s (1 s or 0.1%, whichever is more)");
	/* 0.1% of 10 s is less than the 1 s floor */
	source_init_json(&clip, "10.0");
	assert_check_info(&clip, AV1_8BIT, "11.0", 2, 1, 1, NULL);
	assert_check_info(&clip, AV1_8BIT, "8.999", 2, 1, 1,
			  "verify: duration 8.999 s differs from the source's 10.000 s by more "
			  "than 1.000 s (1 s or 0.1%, whichever is more)");
	source_clear(&film);
	source_clear(&clip);
}

#define H264_120S                                                                                  \
	"{\"index\": 0, \"codec_type\": \"video\", \"codec_name\": \"h264\", \"width\": 1920,"     \
	" \"height\": 1080, \"pix_fmt\": \"yuv420p\", \"avg_frame_rate\": \"24/1\","               \
	" \"tags\": {\"DURATION\": \"00:02:00.000000000\"}}"
#define AV1_8BIT_TAGGED(duration)                                                                  \
	"{\"index\": 0, \"codec_type\": \"video\", \"codec_name\": \"av1\", \"width\": 1920,"      \
	" \"height\": 1080, \"pix_fmt\": \"yuv420p\", \"tags\": {\"DURATION\": \"" duration "\"}}"

/* a subtitle or audio track that runs on keeps the file's duration when
 * the picture stops early; the video streams' own durations tell */
static void
test_check_info_compares_the_video_streams_durations_too(void)
{
	Source src = {0};

	source_init_json_video(&src, H264_120S, "120.0");
	assert_check_info(&src, AV1_8BIT_TAGGED("00:01:59.500000000"), "120.0", 2, 1, 1, NULL);
	/* the output's video says nothing: the file's duration has to do */
	assert_check_info(&src, AV1_8BIT, "120.0", 2, 1, 1, NULL);
	assert_check_info(&src, AV1_8BIT_TAGGED("00:00:30.000000000"), "120.0", 2, 1, 1,
			  "verify: video duration 30.000 s differs from the source video's "
			  "120.000 s by more than 1.000 s (1 s or 0.1%, whichever is more)");
	source_clear(&src);
}

static void
test_check_info_rejects_unknown_durations(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *untimed_json = media_json(H264_1080P, NULL, 2, 1, 1);
	g_autofree gchar *output_json = media_json(AV1_8BIT, "7200.0", 2, 1, 1);
	g_autoptr(Av1dMediaInfo) untimed = parse(untimed_json);
	g_autoptr(Av1dMediaInfo) output = parse(output_json);
	Source src = {0};

	source_init_json(&src, "7200.0");
	assert_check_info(&src, AV1_8BIT, NULL, 2, 1, 1,
			  "verify: expected a duration of 7200.000 s, found none");
	/* classify skips such sources, but a caller could still pass one */
	g_assert_false(av1d_verify_check_info(output, untimed, src.plan, 8, &error));
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_VERIFY_FAILED);
	g_assert_cmpstr(error->message, ==,
			"verify: the source's duration is unknown, so the output's cannot be "
			"compared with it");
	source_clear(&src);
}

/* a source whose container gives no duration (raw streams) but whose video
 * does is compared by its longest stream, as classify accepts it */
static void
test_check_info_falls_back_to_the_source_streams_duration(void)
{
	Source src = {0};

	source_init_json_video(&src, H264_120S, NULL);
	assert_check_info(&src, AV1_8BIT, "120.5", 2, 1, 1, NULL);
	assert_check_info(&src, AV1_8BIT, "60.0", 2, 1, 1,
			  "verify: duration 60.000 s differs from the source's 120.000 s by more "
			  "than 1.000 s (1 s or 0.1%, whichever is more)");
	source_clear(&src);
}

static void
test_check_info_wants_exactly_one_av1_stream_besides_cover_art(void)
{
	Source src = {0};

	source_init_json(&src, "60.0");
	/* cover art is no second video stream */
	assert_check_info(&src,
			  "{\"codec_type\": \"video\", \"codec_name\": \"mjpeg\", \"pix_fmt\": "
			  "\"yuvj420p\", \"disposition\": {\"attached_pic\": 1}}, " AV1_8BIT,
			  "60.0", 2, 1, 1, NULL);
	assert_check_info(&src, AV1_8BIT ", " H264_1080P, "60.0", 2, 1, 1,
			  "verify: expected 1 AV1 video stream, found 2 video streams (video: av1, "
			  "h264)");
	assert_check_info(&src, "{\"codec_type\": \"audio\", \"codec_name\": \"aac\"}", "60.0", 1,
			  1, 1, "verify: expected 1 AV1 video stream, found no video stream");
	assert_check_info(&src, "{\"codec_type\": \"video\", \"codec_name\": \"av1\"}", "60.0", 2,
			  1, 1, "verify: expected 8-bit video, found no pixel format");
	assert_check_info(&src,
			  "{\"codec_type\": \"video\", \"codec_name\": \"av1\", \"pix_fmt\": "
			  "\"yuv420p10le\"}",
			  "60.0", 2, 1, 1,
			  "verify: expected 8-bit video, found yuv420p10le (10-bit)");
	source_clear(&src);
}

static void
test_check_info_counts_audio_subtitles_and_attachments(void)
{
	Source src = {0};

	source_init_json(&src, "60.0");
	assert_check_info(&src, AV1_8BIT, "60.0", 3, 1, 1,
			  "verify: expected 2 audio streams, found 3");
	assert_check_info(&src, AV1_8BIT, "60.0", 2, 0, 1,
			  "verify: expected 1 subtitle stream, found 0");
	assert_check_info(&src, AV1_8BIT, "60.0", 2, 2, 1,
			  "verify: expected 1 subtitle stream, found 2");
	assert_check_info(&src, AV1_8BIT, "60.0", 2, 1, 0,
			  "verify: expected 1 attachment, found 0");
	source_clear(&src);
}

/* ---- which parts of the file get decoded ---- */

/* ffprobe answering with json, ffmpeg logging its arguments and claiming
 * success; returns the logged runs */
static GStrv
decode_runs(const gchar *tag,
	    const gchar *source_duration,
	    const gchar *video,
	    const gchar *duration,
	    Av1dVerifyMode mode)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *json_path = g_strdup_printf("%s/%s.json", media_dir, tag);
	g_autofree gchar *log_path = g_strdup_printf("%s/%s.log", media_dir, tag);
	g_autofree gchar *json = media_json(video, duration, 2, 1, 1);
	g_autofree gchar *probe_body = g_strdup_printf("cat '%s'\n", json_path);
	g_autofree gchar *decode_body =
		g_strdup_printf("printf '%%s\\n' \"$*\" >>'%s'\n"
				"printf 'frame=25\\nout_time_us=%s000000\\nprogress=end\\n'\n",
				log_path, source_duration);
	g_autofree gchar *probe_name = g_strdup_printf("%s-ffprobe", tag);
	g_autofree gchar *decode_name = g_strdup_printf("%s-ffmpeg", tag);
	g_autofree gchar *ffprobe = write_script(probe_name, probe_body);
	g_autofree gchar *ffmpeg = write_script(decode_name, decode_body);
	g_autofree gchar *runs = NULL;
	Source src = {0};

	write_file(json_path, json, -1);
	source_init_json(&src, source_duration);
	g_assert_true(
		verify_with("/library/.Film.av1d-tmp.mkv", &src, mode, ffprobe, ffmpeg, &error));
	g_assert_no_error(error);
	source_clear(&src);
	g_file_get_contents(log_path, &runs, NULL, &error);
	g_assert_no_error(error);
	return g_strsplit(g_strchomp(runs), "\n", -1);
}

#define DECODE_ARGS "-hide_banner -nostdin -nostats -v error -xerror -progress pipe:1 "

static void
assert_runs(const gchar *const *runs, const gchar *const *expected)
{
	for (guint i = 0; runs[i] != NULL || expected[i] != NULL; i++) {
		g_assert_nonnull(runs[i]);
		g_assert_nonnull(expected[i]);
		g_assert_cmpstr(runs[i], ==, expected[i]);
	}
}

/* over the video's own 90 s, not the file's 100 s: 2% of it is 1.8 s, and
 * the last window starts at 95% of 90 s */
static void
test_quick_decodes_five_windows_spread_over_the_video(void)
{
	g_auto(GStrv) runs =
		decode_runs("windows", "100", AV1_8BIT_90S, "100.0", AV1D_VERIFY_QUICK);
	const gchar *const expected[] = {
		DECODE_ARGS "-ss 0.000 -t 1.800 -i /library/.Film.av1d-tmp.mkv -map 0:0 -f null -",
		DECODE_ARGS "-ss 22.500 -t 1.800 -i /library/.Film.av1d-tmp.mkv -map 0:0 -f null -",
		DECODE_ARGS "-ss 45.000 -t 1.800 -i /library/.Film.av1d-tmp.mkv -map 0:0 -f null -",
		DECODE_ARGS "-ss 67.500 -t 1.800 -i /library/.Film.av1d-tmp.mkv -map 0:0 -f null -",
		DECODE_ARGS "-ss 85.500 -t 1.800 -i /library/.Film.av1d-tmp.mkv -map 0:0 -f null -",
		NULL};

	assert_runs((const gchar *const *)runs, expected);
}

/* 1 s windows in a 2 s file: none may run past the end, so 75% and 95%
 * would start where 50% does and are merged into it */
static void
test_quick_merges_windows_of_a_short_file(void)
{
	g_auto(GStrv) runs = decode_runs("short", "2", AV1_8BIT, "2.0", AV1D_VERIFY_QUICK);
	const gchar *const expected[] = {
		DECODE_ARGS "-ss 0.000 -t 1.000 -i /library/.Film.av1d-tmp.mkv -map 0:0 -f null -",
		DECODE_ARGS "-ss 0.500 -t 1.000 -i /library/.Film.av1d-tmp.mkv -map 0:0 -f null -",
		DECODE_ARGS "-ss 1.000 -t 1.000 -i /library/.Film.av1d-tmp.mkv -map 0:0 -f null -",
		NULL};

	assert_runs((const gchar *const *)runs, expected);
}

static void
test_full_decodes_video_audio_and_subtitles_once(void)
{
	g_auto(GStrv) runs = decode_runs("full", "100", AV1_8BIT, "100.0", AV1D_VERIFY_FULL);
	const gchar *const expected[] = {
		DECODE_ARGS "-i /library/.Film.av1d-tmp.mkv -map 0:0 -map 0:a? -map 0:s? -c:s copy "
			    "-f null -",
		NULL};

	assert_runs((const gchar *const *)runs, expected);
}

/* ---- main ---- */

static void
remove_tree(const gchar *path)
{
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *child = g_build_filename(path, name, NULL);

		if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
		    !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
			remove_tree(child);
		else
			g_unlink(child);
	}
	g_rmdir(path);
}

static void
add_tests(void)
{
	g_test_add_func("/av1d/verify/accepts-a-good-8-bit-output-in-quick-and-full",
			test_accepts_a_good_8_bit_output_in_quick_and_full);
	g_test_add_func("/av1d/verify/accepts-a-good-10-bit-output-in-quick-and-full",
			test_accepts_a_good_10_bit_output_in_quick_and_full);
	g_test_add_func("/av1d/verify/accepts-every-common-frame-rate",
			test_accepts_every_common_frame_rate);
	g_test_add_func("/av1d/verify/rejects-damage-at-film-rates",
			test_rejects_damage_at_film_rates);
	g_test_add_func("/av1d/verify/rejects-an-h264-output", test_rejects_an_h264_output);
	g_test_add_func("/av1d/verify/rejects-an-8-bit-output-of-a-10-bit-source",
			test_rejects_an_8_bit_output_of_a_10_bit_source);
	g_test_add_func("/av1d/verify/rejects-an-output-missing-an-audio-stream",
			test_rejects_an_output_missing_an_audio_stream);
	g_test_add_func("/av1d/verify/rejects-a-shorter-output", test_rejects_a_shorter_output);
	g_test_add_func("/av1d/verify/rejects-truncated-output", test_rejects_truncated_output);
	g_test_add_func("/av1d/verify/rejects-a-corrupt-middle", test_rejects_a_corrupt_middle);
	g_test_add_func("/av1d/verify/rejects-a-missing-output", test_rejects_a_missing_output);
	g_test_add_func("/av1d/verify/rejects-an-output-that-is-not-media",
			test_rejects_an_output_that_is_not_media);
	g_test_add_func("/av1d/verify/cancelling-kills-the-running-decoder",
			test_cancelling_kills_the_running_decoder);
	g_test_add_func("/av1d/verify/cancelling-kills-the-running-probe",
			test_cancelling_kills_the_running_probe);
	g_test_add_func("/av1d/verify/cancelled-before-the-start-returns-cancelled",
			test_cancelled_before_the_start_returns_cancelled);
	g_test_add_func("/av1d/verify/decode-errors-carry-the-first-lines-of-stderr",
			test_decode_errors_carry_the_first_lines_of_stderr);
	g_test_add_func("/av1d/verify/long-stderr-lines-are-cut", test_long_stderr_lines_are_cut);
	g_test_add_func("/av1d/verify/a-silent-decoder-failure-is-a-failure",
			test_a_silent_decoder_failure_is_a_failure);
	g_test_add_func("/av1d/verify/a-window-without-frames-is-a-failure",
			test_a_window_without_frames_is_a_failure);
	g_test_add_func("/av1d/verify/a-full-decode-that-stops-early-is-a-failure",
			test_a_full_decode_that_stops_early_is_a_failure);
	g_test_add_func("/av1d/verify/check-info/accepts-a-matching-output",
			test_check_info_accepts_a_matching_output);
	g_test_add_func("/av1d/verify/check-info/duration-tolerance-is-1-s-or-a-tenth-of-a-percent",
			test_check_info_duration_tolerance_is_1_s_or_a_tenth_of_a_percent);
	g_test_add_func("/av1d/verify/check-info/compares-the-video-streams-durations-too",
			test_check_info_compares_the_video_streams_durations_too);
	g_test_add_func("/av1d/verify/check-info/rejects-unknown-durations",
			test_check_info_rejects_unknown_durations);
	g_test_add_func("/av1d/verify/check-info/falls-back-to-the-source-streams-duration",
			test_check_info_falls_back_to_the_source_streams_duration);
	g_test_add_func("/av1d/verify/check-info/wants-exactly-one-av1-stream-besides-cover-art",
			test_check_info_wants_exactly_one_av1_stream_besides_cover_art);
	g_test_add_func("/av1d/verify/check-info/counts-audio-subtitles-and-attachments",
			test_check_info_counts_audio_subtitles_and_attachments);
	g_test_add_func("/av1d/verify/quick-decodes-five-windows-spread-over-the-video",
			test_quick_decodes_five_windows_spread_over_the_video);
	g_test_add_func("/av1d/verify/quick-merges-windows-of-a-short-file",
			test_quick_merges_windows_of_a_short_file);
	g_test_add_func("/av1d/verify/full-decodes-video-audio-and-subtitles-once",
			test_full_decodes_video_audio_and_subtitles_once);
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	gint ret;

	g_test_init(&argc, &argv, NULL);
	media_dir = g_dir_make_tmp("av1d-test-verify-XXXXXX", &error);
	g_assert_no_error(error);
	make_media();
	add_tests();

	ret = g_test_run();
	source_clear(&src8);
	source_clear(&src10);
	remove_tree(media_dir);
	g_free(media_dir);
	return ret;
}
