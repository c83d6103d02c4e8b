#define G_LOG_DOMAIN "av1d-test-probe"

#include "config.h"

#include <glib/gstdio.h>

#include "av1d-error.h"
#include "av1d-probe.h"
#include "av1d-test-util.h"

/* media generated once by tests/media.sh for the whole run */
/* tests/media.sh output, shared by the test programs (see av1d-test-util.c) */
static const gchar *media_dir;

static gchar *
media_path(const gchar *name)
{
	return g_build_filename(media_dir, name, NULL);
}


static Av1dMediaInfo *
probe(const gchar *name)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = media_path(name);
	Av1dMediaInfo *info = av1d_probe_file_sync("ffprobe", path, NULL, &error);

	g_assert_no_error(error);
	g_assert_nonnull(info);
	return info;
}

static const Av1dStreamInfo *
stream(const Av1dMediaInfo *info, guint i)
{
	const Av1dStreamInfo *s = av1d_media_info_get_stream(info, i);

	g_assert_nonnull(s);
	return s;
}

/* ---- real files ---- */

static void
test_h264_file_has_eng_and_rus_audio_and_subtitles(void)
{
	g_autoptr(Av1dMediaInfo) info = probe("h264-eng-rus.mkv");
	const Av1dStreamInfo *v;

	g_assert_cmpstr(info->format_name, ==, "matroska,webm");
	g_assert_cmpint(info->duration_us, >, 900000);
	g_assert_cmpint(info->duration_us, <, 1200000);
	g_assert_cmpint(info->size, >, 0);
	g_assert_cmpint(info->bit_rate, >, 0);
	g_assert_nonnull(info->encoder);
	g_assert_true(g_str_has_prefix(info->encoder, "Lavf"));
	g_assert_cmpuint(info->streams->len, ==, 5);
	v = stream(info, 0);
	g_assert_cmpint(v->type, ==, AV1D_STREAM_TYPE_VIDEO);
	g_assert_cmpstr(v->codec_name, ==, "h264");
	g_assert_cmpint(v->width, ==, 128);
	g_assert_cmpint(v->height, ==, 96);
	g_assert_cmpstr(v->pix_fmt, ==, "yuv420p");
	g_assert_cmpuint(v->bit_depth, ==, 8);
	g_assert_cmpint(v->avg_frame_rate.num, ==, 25);
	g_assert_cmpint(v->avg_frame_rate.den, ==, 1);
	g_assert_false(v->is_attached_pic);
	g_assert_cmpint(stream(info, 1)->type, ==, AV1D_STREAM_TYPE_AUDIO);
	g_assert_cmpstr(stream(info, 1)->codec_name, ==, "aac");
	g_assert_cmpstr(stream(info, 1)->language, ==, "eng");
	g_assert_cmpstr(stream(info, 2)->language, ==, "rus");
	g_assert_cmpint(stream(info, 3)->type, ==, AV1D_STREAM_TYPE_SUBTITLE);
	g_assert_cmpstr(stream(info, 3)->codec_name, ==, "subrip");
	g_assert_cmpstr(stream(info, 3)->language, ==, "eng");
	g_assert_cmpstr(stream(info, 4)->language, ==, "rus");
	g_assert_cmpuint(info->n_chapters, ==, 0);
	g_assert_cmpuint(info->n_attachments, ==, 0);
}

static void
test_hevc_hdr10_file_is_10_bit_with_hdr_colour_tags(void)
{
	g_autoptr(Av1dMediaInfo) info = probe("hevc-hdr10.mkv");
	const Av1dStreamInfo *v = stream(info, 0);

	g_assert_cmpstr(v->pix_fmt, ==, "yuv420p10le");
	g_assert_cmpuint(v->bit_depth, ==, 10);
	g_assert_cmpstr(v->color_primaries, ==, "bt2020");
	g_assert_cmpstr(v->color_transfer, ==, "smpte2084");
	g_assert_cmpstr(v->color_space, ==, "bt2020nc");
	g_assert_cmpstr(v->color_range, ==, "tv");
	g_assert_cmpint(v->avg_frame_rate.num, ==, 24000);
	g_assert_cmpint(v->avg_frame_rate.den, ==, 1001);
	/* Matroska's DURATION tag fills in the missing stream duration */
	g_assert_cmpint(v->duration_us, >, 900000);
}

static void
test_mp4_file_has_a_mov_text_subtitle(void)
{
	g_autoptr(Av1dMediaInfo) info = probe("movtext.mp4");

	g_assert_nonnull(strstr(info->format_name, "mp4"));
	g_assert_nonnull(av1d_media_info_get_tag(info, "MAJOR_BRAND"));
	g_assert_cmpuint(info->streams->len, ==, 3);
	g_assert_cmpstr(stream(info, 2)->codec_name, ==, "mov_text");
	g_assert_cmpint(stream(info, 2)->type, ==, AV1D_STREAM_TYPE_SUBTITLE);
	/* mp4 has per-stream bitrates */
	g_assert_cmpint(stream(info, 0)->bit_rate, >, 0);
	g_assert_cmpint(stream(info, 0)->bit_rate_source, ==, AV1D_BITRATE_SOURCE_STREAM);
	g_assert_cmpint(stream(info, 0)->nb_frames, ==, 25);
}

static void
test_font_and_chapters_are_counted(void)
{
	g_autoptr(Av1dMediaInfo) info = probe("font-chapters.mkv");
	const Av1dStreamInfo *font = stream(info, 2);

	g_assert_cmpuint(info->n_chapters, ==, 2);
	g_assert_cmpuint(info->n_attachments, ==, 1);
	g_assert_cmpint(font->type, ==, AV1D_STREAM_TYPE_ATTACHMENT);
	g_assert_cmpstr(font->filename, ==, "test.ttf");
	g_assert_cmpstr(font->mimetype, ==, "application/x-truetype-font");
	g_assert_cmpuint(font->bit_depth, ==, 0);
}

static void
test_av1_and_russian_only_files_probe(void)
{
	g_autoptr(Av1dMediaInfo) av1 = probe("already-av1.mkv");
	g_autoptr(Av1dMediaInfo) rus = probe("only-russian.mkv");

	g_assert_cmpstr(stream(av1, 0)->codec_name, ==, "av1");
	g_assert_cmpuint(rus->streams->len, ==, 2);
	g_assert_cmpstr(stream(rus, 1)->language, ==, "rus");
}

/* the Matroska header of the first half is intact, so ffprobe still reads
 * the streams; the missing half is the verifier's to find, not the prober's */
static void
test_half_a_file_still_probes_without_crashing(void)
{
	g_autoptr(Av1dMediaInfo) info = probe("truncated.mkv");

	g_assert_cmpuint(info->streams->len, ==, 5);
	g_assert_cmpstr(stream(info, 0)->codec_name, ==, "h264");
}

static void
assert_probe_fails(const gchar *path, const gchar *ffprobe, const gchar *fragment)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dMediaInfo) info = av1d_probe_file_sync(ffprobe, path, NULL, &error);
	g_autofree gchar *prefix = g_strdup_printf("probing %s: ", path);

	g_assert_null(info);
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_PROBE_FAILED);
	g_test_message("%s", error->message);
	g_assert_true(g_str_has_prefix(error->message, prefix));
	g_assert_nonnull(strstr(error->message, fragment));
}

static void
test_broken_files_give_errors_naming_the_file(void)
{
	g_autofree gchar *empty = media_path("empty.mkv");
	g_autofree gchar *garbage = media_path("garbage.mkv");
	g_autofree gchar *header = media_path("truncated-header.mkv");
	g_autofree gchar *missing = media_path("no-such-file.mkv");

	assert_probe_fails(empty, "ffprobe", "ffprobe: Invalid data found when processing input");
	assert_probe_fails(garbage, "ffprobe", "ffprobe: Invalid data found");
	assert_probe_fails(header, "ffprobe", "ffprobe: ");
	assert_probe_fails(missing, "ffprobe", "ffprobe: No such file or directory");
	/* unreadable: a directory cannot be read as a file, not even by root */
	assert_probe_fails(media_dir, "ffprobe", "ffprobe: Is a directory");
}

static void
test_missing_ffprobe_binary_is_named(void)
{
	g_autofree gchar *path = media_path("h264-eng-rus.mkv");

	assert_probe_fails(path, "/nonexistent/ffprobe-av1d", "“/nonexistent/ffprobe-av1d”");
}

static void
on_probed(GObject *source, GAsyncResult *result, gpointer user_data)
{
	GAsyncResult **out = user_data;

	*out = g_object_ref(result);
}

static Av1dMediaInfo *
probe_async(const gchar *path, GCancellable *cancellable, GError **error)
{
	g_autoptr(GAsyncResult) result = NULL;

	av1d_probe_file_async("ffprobe", path, cancellable, on_probed, &result);
	while (result == NULL)
		g_main_context_iteration(NULL, TRUE);
	return av1d_probe_file_finish(result, error);
}

static void
test_async_probe_matches_sync(void)
{
	g_autofree gchar *path = media_path("font-chapters.mkv");
	g_autofree gchar *missing = media_path("missing.mkv");
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dMediaInfo) info = probe_async(path, NULL, &error);
	g_autoptr(Av1dMediaInfo) none = NULL;

	g_assert_no_error(error);
	g_assert_nonnull(info);
	g_assert_cmpuint(info->n_chapters, ==, 2);
	none = probe_async(missing, NULL, &error);
	g_assert_null(none);
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_PROBE_FAILED);
	g_assert_nonnull(strstr(error->message, "missing.mkv"));
}

static void
test_cancelled_async_probe_reports_cancelled(void)
{
	g_autofree gchar *path = media_path("h264-eng-rus.mkv");
	g_autoptr(GCancellable) cancellable = g_cancellable_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dMediaInfo) info = NULL;

	g_cancellable_cancel(cancellable);
	info = probe_async(path, cancellable, &error);
	g_assert_null(info);
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_CANCELLED);
}

/* ---- the pure parser ---- */

static Av1dMediaInfo *
parse(const gchar *json)
{
	g_autoptr(GError) error = NULL;
	Av1dMediaInfo *info = av1d_media_info_parse(json, -1, &error);

	g_assert_no_error(error);
	g_assert_nonnull(info);
	return info;
}

static void
test_parser_accepts_missing_everything(void)
{
	g_autoptr(Av1dMediaInfo) info = parse("{}");
	g_autoptr(Av1dMediaInfo) bare = parse("{\"streams\": [{}], \"format\": {}}");
	const Av1dStreamInfo *s;

	g_assert_cmpuint(info->streams->len, ==, 0);
	g_assert_cmpint(info->duration_us, ==, -1);
	g_assert_cmpint(info->bit_rate, ==, -1);
	g_assert_cmpint(info->size, ==, -1);
	g_assert_null(info->format_name);
	g_assert_cmpuint(bare->streams->len, ==, 1);
	s = stream(bare, 0);
	g_assert_cmpint(s->index, ==, 0);
	g_assert_cmpint(s->type, ==, AV1D_STREAM_TYPE_OTHER);
	g_assert_null(s->codec_name);
	g_assert_cmpint(s->width, ==, 0);
	g_assert_cmpint(s->bit_rate, ==, -1);
	g_assert_cmpint(s->duration_us, ==, -1);
	g_assert_cmpint(s->nb_frames, ==, -1);
	g_assert_cmpint(s->avg_frame_rate.den, ==, 0);
	g_assert_null(s->language);
	g_assert_nonnull(s->side_data);
}

static void
test_parser_reads_numbers_given_as_strings(void)
{
	g_autoptr(Av1dMediaInfo) info = parse(
		"{\"format\": {\"duration\": \"5400.500000\", \"bit_rate\": \"8000000\", "
		"\"size\": 5400500000},"
		" \"streams\": [{\"index\": \"3\", \"codec_type\": \"video\", \"width\": \"1920\","
		" \"height\": 1080.0, \"bit_rate\": \"6000000\", \"nb_frames\": \"129600\","
		" \"bits_per_raw_sample\": \"10\", \"pix_fmt\": \"yuvj420p\"}]}");
	const Av1dStreamInfo *s = stream(info, 0);

	g_assert_cmpint(info->duration_us, ==, G_GINT64_CONSTANT(5400500000));
	g_assert_cmpint(info->bit_rate, ==, 8000000);
	g_assert_cmpint(info->size, ==, G_GINT64_CONSTANT(5400500000));
	g_assert_cmpint(s->index, ==, 3);
	g_assert_cmpint(s->width, ==, 1920);
	g_assert_cmpint(s->height, ==, 1080);
	g_assert_cmpint(s->bit_rate, ==, 6000000);
	g_assert_cmpint(s->nb_frames, ==, 129600);
	/* a pix_fmt without a depth falls back to bits_per_raw_sample */
	g_assert_cmpuint(s->bit_depth, ==, 10);
}

static void
test_parser_treats_na_and_zero_rates_as_unknown(void)
{
	g_autoptr(Av1dMediaInfo) info = parse(
		"{\"format\": {\"duration\": \"N/A\", \"bit_rate\": \"N/A\", \"size\": \"N/A\"},"
		" \"streams\": [{\"codec_type\": \"video\", \"width\": \"N/A\", \"bit_rate\": "
		"\"N/A\","
		" \"avg_frame_rate\": \"0/0\", \"r_frame_rate\": \"24/0\", \"duration\": \"N/A\","
		" \"pix_fmt\": \"N/A\"},"
		" {\"codec_type\": \"video\", \"avg_frame_rate\": \"30000/1001\", "
		"\"r_frame_rate\": \"25\"}]}");
	const Av1dStreamInfo *s = stream(info, 0);
	const Av1dStreamInfo *t = stream(info, 1);

	g_assert_cmpint(info->duration_us, ==, -1);
	g_assert_cmpint(info->bit_rate, ==, -1);
	g_assert_cmpint(info->size, ==, -1);
	g_assert_cmpint(s->width, ==, 0);
	g_assert_cmpint(s->bit_rate, ==, -1);
	g_assert_cmpint(s->avg_frame_rate.den, ==, 0);
	g_assert_cmpint(s->r_frame_rate.den, ==, 0);
	g_assert_cmpfloat(av1d_rational_to_double(s->avg_frame_rate), ==, 0.0);
	g_assert_cmpint(s->duration_us, ==, -1);
	g_assert_null(s->pix_fmt);
	g_assert_cmpuint(s->bit_depth, ==, 8);
	g_assert_cmpfloat_with_epsilon(av1d_rational_to_double(t->avg_frame_rate), 29.97, 0.001);
	g_assert_cmpint(t->r_frame_rate.num, ==, 25);
	g_assert_cmpint(t->r_frame_rate.den, ==, 1);
}

static void
test_parser_reads_matroska_statistics_tags(void)
{
	g_autoptr(Av1dMediaInfo) info =
		parse("{\"streams\": ["
		      " {\"codec_type\": \"video\", \"tags\": {\"BPS-eng\": \"12000000\","
		      "  \"DURATION-eng\": \"x\", \"DURATION\": \"01:30:00.500000000\"}},"
		      " {\"codec_type\": \"audio\", \"tags\": {\"BPS\": \"640000\", \"LANGUAGE\": "
		      "\"RUS\","
		      "  \"Title\": \"Dub\"}},"
		      " {\"codec_type\": \"audio\", \"bit_rate\": \"192000\", \"tags\": {\"BPS\": "
		      "\"1\"}}]}");

	g_assert_cmpint(stream(info, 0)->bit_rate, ==, 12000000);
	g_assert_cmpint(stream(info, 0)->bit_rate_source, ==, AV1D_BITRATE_SOURCE_TAG);
	g_assert_cmpint(stream(info, 0)->duration_us, ==, G_GINT64_CONSTANT(5400500000));
	g_assert_cmpint(stream(info, 1)->bit_rate, ==, 640000);
	g_assert_cmpstr(stream(info, 1)->language, ==, "RUS");
	g_assert_cmpstr(stream(info, 1)->title, ==, "Dub");
	g_assert_cmpstr(av1d_stream_info_get_tag(stream(info, 1), "language"), ==, "RUS");
	/* the stream's own field wins over the tag */
	g_assert_cmpint(stream(info, 2)->bit_rate, ==, 192000);
	g_assert_cmpint(stream(info, 2)->bit_rate_source, ==, AV1D_BITRATE_SOURCE_STREAM);
}

static void
test_parser_reads_hdr_and_dolby_vision_side_data(void)
{
	g_autoptr(Av1dMediaInfo) info = parse(
		"{\"streams\": [{\"codec_type\": \"video\", \"codec_tag_string\": \"dvh1\","
		" \"disposition\": {\"default\": 1, \"forced\": \"0\", \"attached_pic\": 0},"
		" \"side_data_list\": ["
		"  {\"side_data_type\": \"Mastering display metadata\", \"red_x\": \"34000/50000\","
		"   \"red_y\": \"16000/50000\", \"green_x\": \"13250/50000\", \"green_y\": "
		"\"34500/50000\","
		"   \"blue_x\": \"7500/50000\", \"blue_y\": \"3000/50000\","
		"   \"white_point_x\": \"15635/50000\", \"white_point_y\": \"16450/50000\","
		"   \"min_luminance\": \"50/10000\", \"max_luminance\": \"10000000/10000\"},"
		"  {\"side_data_type\": \"Content light level metadata\", \"max_content\": 1000,"
		"   \"max_average\": \"400\"},"
		"  {\"side_data_type\": \"DOVI configuration record\", \"dv_profile\": 8},"
		"  {\"side_data_type\": \"Display Matrix\", \"rotation\": 0},"
		"  \"not an object\"]}]}");
	const Av1dStreamInfo *s = stream(info, 0);
	const Av1dSideData *md =
		av1d_stream_info_find_side_data(s, AV1D_SIDE_DATA_MASTERING_DISPLAY);
	const Av1dSideData *cll = av1d_stream_info_find_side_data(s, AV1D_SIDE_DATA_CONTENT_LIGHT);
	const Av1dSideData *dovi = av1d_stream_info_find_side_data(s, AV1D_SIDE_DATA_DOVI_CONFIG);

	g_assert_cmpuint(s->side_data->len, ==, 4);
	g_assert_true(s->is_default);
	g_assert_false(s->is_forced);
	g_assert_cmpstr(s->codec_tag_string, ==, "dvh1");
	g_assert_nonnull(md);
	g_assert_cmpstr(md->primaries, ==,
			"R(34000/50000,16000/50000) G(13250/50000,34500/50000) "
			"B(7500/50000,3000/50000) WP(15635/50000,16450/50000)");
	g_assert_cmpstr(md->luminance, ==, "min=50/10000 max=10000000/10000");
	g_assert_nonnull(cll);
	g_assert_cmpint(cll->max_content, ==, 1000);
	g_assert_cmpint(cll->max_average, ==, 400);
	g_assert_nonnull(dovi);
	g_assert_cmpint(dovi->dv_profile, ==, 8);
	g_assert_cmpint(((const Av1dSideData *)s->side_data->pdata[3])->kind, ==,
			AV1D_SIDE_DATA_OTHER);
}

static void
test_parser_reads_attached_pictures_and_attachments(void)
{
	g_autoptr(Av1dMediaInfo) info =
		parse("{\"streams\": [42, {\"codec_type\": \"video\", \"codec_name\": \"mjpeg\","
		      " \"disposition\": {\"attached_pic\": 1}},"
		      " {\"codec_type\": \"attachment\", \"tags\": {\"filename\": \"a.ttf\","
		      "  \"mimetype\": \"font/ttf\"}}, {\"codec_type\": \"data\"}],"
		      " \"chapters\": [{}, {}, {}]}");

	/* the number is skipped, not a crash */
	g_assert_cmpuint(info->streams->len, ==, 3);
	g_assert_true(stream(info, 0)->is_attached_pic);
	g_assert_cmpint(stream(info, 0)->index, ==, 1);
	g_assert_cmpstr(stream(info, 1)->filename, ==, "a.ttf");
	g_assert_cmpint(stream(info, 2)->type, ==, AV1D_STREAM_TYPE_DATA);
	g_assert_cmpuint(info->n_attachments, ==, 1);
	g_assert_cmpuint(info->n_chapters, ==, 3);
}

static void
test_parser_rejects_what_is_not_ffprobe_json(void)
{
	const gchar *bad[] = {"", "not json", "[1, 2]", "{\"streams\": [", "\"text\"", NULL};

	for (guint i = 0; bad[i] != NULL; i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(Av1dMediaInfo) info = av1d_media_info_parse(bad[i], -1, &error);

		g_assert_null(info);
		g_assert_error(error, AV1D_ERROR, AV1D_ERROR_PROBE_FAILED);
	}
}

static void
test_bit_depth_comes_from_the_pixel_format(void)
{
	static const struct {
		const gchar *pix_fmt;
		guint depth;
	} cases[] = {
		{"yuv420p10le", 10}, {"yuv420p10be", 10}, {"p010le", 10},    {"yuv422p10le", 10},
		{"yuv444p12le", 12}, {"yuv420p12le", 12}, {"gbrp10le", 10},  {"gray10le", 10},
		{"yuv420p9le", 9},   {"p016le", 16},	  {"x2rgb10le", 10}, {"yuv420p", 0},
		{"nv12", 0},	     {"rgb48le", 0},	  {"yuvj420p", 0},   {"", 0},
		{"p210le", 10},	     {NULL, 0},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
		g_assert_cmpuint(av1d_pix_fmt_bit_depth(cases[i].pix_fmt), ==, cases[i].depth);
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	gint ret;

	g_test_init(&argc, &argv, NULL);
	media_dir = av1d_test_media_dir();

	g_test_add_func("/av1d/probe/h264-file-has-eng-and-rus-audio-and-subtitles",
			test_h264_file_has_eng_and_rus_audio_and_subtitles);
	g_test_add_func("/av1d/probe/hevc-hdr10-file-is-10-bit-with-hdr-colour-tags",
			test_hevc_hdr10_file_is_10_bit_with_hdr_colour_tags);
	g_test_add_func("/av1d/probe/mp4-file-has-a-mov-text-subtitle",
			test_mp4_file_has_a_mov_text_subtitle);
	g_test_add_func("/av1d/probe/font-and-chapters-are-counted",
			test_font_and_chapters_are_counted);
	g_test_add_func("/av1d/probe/av1-and-russian-only-files-probe",
			test_av1_and_russian_only_files_probe);
	g_test_add_func("/av1d/probe/half-a-file-still-probes-without-crashing",
			test_half_a_file_still_probes_without_crashing);
	g_test_add_func("/av1d/probe/broken-files-give-errors-naming-the-file",
			test_broken_files_give_errors_naming_the_file);
	g_test_add_func("/av1d/probe/missing-ffprobe-binary-is-named",
			test_missing_ffprobe_binary_is_named);
	g_test_add_func("/av1d/probe/async-probe-matches-sync", test_async_probe_matches_sync);
	g_test_add_func("/av1d/probe/cancelled-async-probe-reports-cancelled",
			test_cancelled_async_probe_reports_cancelled);
	g_test_add_func("/av1d/probe/parser-accepts-missing-everything",
			test_parser_accepts_missing_everything);
	g_test_add_func("/av1d/probe/parser-reads-numbers-given-as-strings",
			test_parser_reads_numbers_given_as_strings);
	g_test_add_func("/av1d/probe/parser-treats-na-and-zero-rates-as-unknown",
			test_parser_treats_na_and_zero_rates_as_unknown);
	g_test_add_func("/av1d/probe/parser-reads-matroska-statistics-tags",
			test_parser_reads_matroska_statistics_tags);
	g_test_add_func("/av1d/probe/parser-reads-hdr-and-dolby-vision-side-data",
			test_parser_reads_hdr_and_dolby_vision_side_data);
	g_test_add_func("/av1d/probe/parser-reads-attached-pictures-and-attachments",
			test_parser_reads_attached_pictures_and_attachments);
	g_test_add_func("/av1d/probe/parser-rejects-what-is-not-ffprobe-json",
			test_parser_rejects_what_is_not_ffprobe_json);
	g_test_add_func("/av1d/probe/bit-depth-comes-from-the-pixel-format",
			test_bit_depth_comes_from_the_pixel_format);

	ret = g_test_run();
	return ret;
}
