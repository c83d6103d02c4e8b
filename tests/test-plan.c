#define G_LOG_DOMAIN "av1d-test-plan"

#include "config.h"

#include <glib/gstdio.h>

#include "av1d-error.h"
#include "av1d-plan.h"
#include "av1d-test-util.h"

/* ---- helpers ---- */

/* a config made by hand: the loader is not what is tested here */
static Av1dConfig *
test_config_new(const gchar *const *exclude)
{
	Av1dConfig *config = g_new0(Av1dConfig, 1);

	config->exclude_languages = g_strdupv((gchar **)exclude);
	config->ffprobe_bin = g_strdup("ffprobe");
	config->ffmpeg_bin = g_strdup("ffmpeg");
	config->docker_bin = g_strdup("docker");
	config->docker_image = g_strdup("lscr.io/linuxserver/ffmpeg:version-8.0-cli");
	return config;
}

static void
test_config_free(Av1dConfig *config)
{
	g_strfreev(config->exclude_languages);
	g_free(config->ffprobe_bin);
	g_free(config->ffmpeg_bin);
	g_free(config->docker_bin);
	g_free(config->docker_image);
	g_free(config);
}

static const gchar *const exclude_rus[] = {"rus", "ru", NULL};

/* everything a test needs about one source */
typedef struct {
	Av1dMediaInfo *info;
	Av1dDecision *decision;
	Av1dPlan *plan;
} Fixture;

static void
fixture_clear(Fixture *f)
{
	av1d_plan_free(f->plan);
	av1d_decision_free(f->decision);
	av1d_media_info_free(f->info);
}

static void
fixture_init(Fixture *f, Av1dMediaInfo *info, const gchar *path, const gchar *const *exclude)
{
	g_autoptr(GError) error = NULL;
	Av1dConfig *config = test_config_new(exclude);

	f->info = info;
	f->decision = av1d_classify(info, path, config);
	g_assert_nonnull(f->decision);
	g_assert_cmpint(f->decision->action, ==, AV1D_ACTION_ENCODE);
	f->plan = av1d_plan_new(info, f->decision, path, config, &error);
	test_config_free(config);
	g_assert_no_error(error);
	g_assert_nonnull(f->plan);
}

static void
fixture_init_json(Fixture *f, const gchar *json, const gchar *path, const gchar *const *exclude)
{
	g_autoptr(GError) error = NULL;
	Av1dMediaInfo *info = av1d_media_info_parse(json, -1, &error);

	g_assert_no_error(error);
	fixture_init(f, info, path, exclude);
}

static GStrv
build(const Fixture *f, Av1dEncoderKind kind, gboolean use_libaom)
{
	g_autoptr(GError) error = NULL;
	Av1dBackendParams params = {
		.kind = kind,
		.job_id = 42,
		.render_node = "/dev/dri/renderD128",
		.render_gid = 105,
		.uid = 1000,
		.gid = 1001,
		.docker_bin = "docker",
		.docker_image = "lscr.io/linuxserver/ffmpeg:version-8.0-cli",
		.ffmpeg_bin = "ffmpeg",
		.use_libaom = use_libaom,
	};
	GStrv argv = av1d_plan_build_argv(f->plan, f->decision, &params, &error);

	g_assert_no_error(error);
	g_assert_nonnull(argv);
	return argv;
}

static void
assert_argv(const gchar *const *got, const gchar *const *expected)
{
	g_autofree gchar *got_s = av1d_argv_to_display(got);
	g_autofree gchar *expected_s = av1d_argv_to_display(expected);

	g_assert_cmpstr(got_s, ==, expected_s);
	g_assert_cmpuint(g_strv_length((gchar **)got), ==, g_strv_length((gchar **)expected));
	for (guint i = 0; expected[i] != NULL; i++)
		g_assert_cmpstr(got[i], ==, expected[i]);
}

static gboolean
has_note(const Av1dPlan *plan, const gchar *fragment)
{
	for (guint i = 0; i < plan->notes->len; i++) {
		if (strstr(g_ptr_array_index(plan->notes, i), fragment) != NULL)
			return TRUE;
	}
	return FALSE;
}

static void
assert_note(const Av1dPlan *plan, const gchar *fragment)
{
	if (has_note(plan, fragment))
		return;
	for (guint i = 0; i < plan->notes->len; i++)
		g_test_message("note: %s", (const gchar *)g_ptr_array_index(plan->notes, i));
	g_error("no note contains '%s'", fragment);
}

/* ---- representative sources ---- */

/* 8-bit H.264 web-rip: audio eng, rus, und, untagged; subtitles eng,
 * Russian, ru, ger; a font; a data stream */
#define WEB8_PATH "/media/films/Movie.2020.1080p.WEB-DL.x264.mkv"
#define WEB8_TEMP "/media/films/.av1d-XXXXXX/out.mkv"
static const gchar web8_json[] =
	"{\"streams\": ["
	" {\"index\": 0, \"codec_type\": \"video\", \"codec_name\": \"h264\", \"width\": 1920,"
	"  \"height\": 1080, \"pix_fmt\": \"yuv420p\", \"avg_frame_rate\": \"24/1\","
	"  \"r_frame_rate\": \"24/1\"},"
	" {\"index\": 1, \"codec_type\": \"audio\", \"codec_name\": \"eac3\", \"tags\": "
	"{\"language\": \"eng\"}},"
	" {\"index\": 2, \"codec_type\": \"audio\", \"codec_name\": \"ac3\", \"tags\": "
	"{\"LANGUAGE\": \"RUS\"}},"
	" {\"index\": 3, \"codec_type\": \"audio\", \"codec_name\": \"aac\", \"tags\": "
	"{\"language\": \"und\"}},"
	" {\"index\": 4, \"codec_type\": \"audio\", \"codec_name\": \"ac3\"},"
	" {\"index\": 5, \"codec_type\": \"subtitle\", \"codec_name\": \"subrip\", \"tags\": "
	"{\"language\": \"eng\"}},"
	" {\"index\": 6, \"codec_type\": \"subtitle\", \"codec_name\": \"subrip\", \"tags\": "
	"{\"language\": \"Russian\"}},"
	" {\"index\": 7, \"codec_type\": \"subtitle\", \"codec_name\": \"subrip\", \"tags\": "
	"{\"language\": \"ru\"}},"
	" {\"index\": 8, \"codec_type\": \"subtitle\", \"codec_name\": \"ass\", \"tags\": "
	"{\"language\": \"ger\"}},"
	" {\"index\": 9, \"codec_type\": \"attachment\", \"codec_name\": \"ttf\","
	"  \"tags\": {\"filename\": \"a.ttf\", \"mimetype\": \"font/ttf\"}},"
	" {\"index\": 10, \"codec_type\": \"data\", \"codec_name\": \"bin_data\"}],"
	" \"chapters\": [{}, {}],"
	" \"format\": {\"format_name\": \"matroska,webm\", \"duration\": \"5400.0\"}}";

/* 10-bit HDR10 UHD disc remux, 60 Mb/s, 23.976 fps */
#define HDR_PATH "/media/uhd/Film.2019.2160p.UHD.BluRay.REMUX.mkv"
#define HDR_TEMP "/media/uhd/.av1d-XXXXXX/out.mkv"
static const gchar hdr_json[] =
	"{\"streams\": ["
	" {\"index\": 0, \"codec_type\": \"video\", \"codec_name\": \"hevc\", \"width\": 3840,"
	"  \"height\": 2160, \"pix_fmt\": \"yuv420p10le\", \"avg_frame_rate\": \"24000/1001\","
	"  \"r_frame_rate\": \"24000/1001\", \"color_range\": \"tv\", \"color_space\": "
	"\"bt2020nc\","
	"  \"color_transfer\": \"smpte2084\", \"color_primaries\": \"bt2020\","
	"  \"tags\": {\"BPS\": \"60000000\"}},"
	" {\"index\": 1, \"codec_type\": \"audio\", \"codec_name\": \"truehd\", \"tags\": "
	"{\"language\": \"eng\"}}],"
	" \"format\": {\"format_name\": \"matroska,webm\", \"duration\": \"7200.0\"}}";

/* ---- plans ---- */

static void
test_excluded_languages_match_by_identity(void)
{
	Fixture f = {0};
	const Av1dPlan *p;

	fixture_init_json(&f, web8_json, WEB8_PATH, exclude_rus);
	p = f.plan;
	g_assert_cmpint(p->video->input_index, ==, 0);
	g_assert_cmpint(p->video->type_index, ==, 0);
	g_assert_cmpuint(p->audio->len, ==, 3);
	g_assert_cmpint(((Av1dPlanTrack *)p->audio->pdata[0])->type_index, ==, 0);
	g_assert_cmpint(((Av1dPlanTrack *)p->audio->pdata[1])->type_index, ==, 2);
	g_assert_cmpint(((Av1dPlanTrack *)p->audio->pdata[2])->type_index, ==, 3);
	g_assert_cmpuint(p->subtitles->len, ==, 2);
	g_assert_cmpint(((Av1dPlanTrack *)p->subtitles->pdata[0])->type_index, ==, 0);
	g_assert_cmpint(((Av1dPlanTrack *)p->subtitles->pdata[1])->type_index, ==, 3);
	g_assert_cmpuint(p->n_attachments, ==, 1);
	g_assert_cmpuint(p->n_chapters, ==, 2);
	assert_note(p, "dropping audio stream #2 (RUS): excluded language");
	assert_note(p, "dropping subtitle stream #6 (Russian): excluded language");
	assert_note(p, "dropping subtitle stream #7 (ru): excluded language");
	assert_note(p, "dropping data stream #10 (bin_data)");
	g_assert_false(has_note(p, "keeping all audio"));
	fixture_clear(&f);
}

static void
test_language_table_knows_codes_and_names(void)
{
	g_assert_cmpstr(av1d_language_canonical("RU"), ==, "rus");
	g_assert_cmpstr(av1d_language_canonical("Russian"), ==, "rus");
	g_assert_cmpstr(av1d_language_canonical("deu"), ==, "ger");
	g_assert_cmpstr(av1d_language_canonical("de"), ==, "ger");
	g_assert_cmpstr(av1d_language_canonical("fra"), ==, "fre");
	g_assert_cmpstr(av1d_language_canonical("zho"), ==, "chi");
	g_assert_cmpstr(av1d_language_canonical("nob"), ==, "nor");
	g_assert_cmpstr(av1d_language_canonical("ces"), ==, "cze");
	g_assert_cmpstr(av1d_language_canonical("pt-BR"), ==, "por");
	g_assert_null(av1d_language_canonical("und"));
	g_assert_null(av1d_language_canonical(NULL));
	g_assert_true(av1d_language_matches("rus", "ru"));
	g_assert_true(av1d_language_matches("RUSSIAN", "rus"));
	g_assert_true(av1d_language_matches("uk", "ukr"));
	g_assert_false(av1d_language_matches("ukr", "rus"));
	/* the region or private part is not the language */
	g_assert_true(av1d_language_matches("eng", "en-x-rus"));
	g_assert_false(av1d_language_matches("rus", "en-x-rus"));
	/* unknown codes compare as text */
	g_assert_true(av1d_language_matches("tlh", "TLH"));
	g_assert_false(av1d_language_matches("tlh", "tl"));
	g_assert_false(av1d_language_matches(NULL, "rus"));
}

static void
test_only_russian_audio_is_kept_with_a_note(void)
{
	Fixture f = {0};
	static const gchar json[] = "{\"streams\": [{\"codec_type\": \"video\", \"codec_name\": "
				    "\"h264\", \"width\": 1280,"
				    " \"height\": 720, \"avg_frame_rate\": \"25/1\"},"
				    " {\"codec_type\": \"audio\", \"codec_name\": \"ac3\", "
				    "\"tags\": {\"language\": \"rus\"}},"
				    " {\"codec_type\": \"audio\", \"codec_name\": \"ac3\", "
				    "\"tags\": {\"language\": \"russian\"}},"
				    " {\"codec_type\": \"subtitle\", \"codec_name\": \"subrip\", "
				    "\"tags\": {\"language\": \"rus\"}}],"
				    " \"format\": {\"duration\": \"100\"}}";
	const gchar *ru_only[] = {"ru", NULL};

	fixture_init_json(&f, json, "/m/Film.mkv", ru_only);
	g_assert_cmpuint(f.plan->audio->len, ==, 2);
	assert_note(f.plan, "all audio is in excluded languages; keeping all audio");
	g_assert_false(has_note(f.plan, "dropping audio"));
	/* subtitles get no such mercy */
	g_assert_cmpuint(f.plan->subtitles->len, ==, 0);
	fixture_clear(&f);
}

static void
test_paths_sit_next_to_the_source(void)
{
	Fixture f = {0};
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dPlan) bare = NULL;

	fixture_init_json(&f, hdr_json, "/media/uhd/Film (2019).m2ts", exclude_rus);
	g_assert_cmpstr(f.plan->source_path, ==, "/media/uhd/Film (2019).m2ts");
	g_assert_cmpstr(f.plan->output_path, ==, "/media/uhd/Film (2019).mkv");
	/* the pipeline names the private folder when it makes it */
	g_assert_cmpstr(f.plan->temp_dir, ==, "/media/uhd/.av1d-XXXXXX");
	g_assert_cmpstr(f.plan->temp_path, ==, "/media/uhd/.av1d-XXXXXX/out.mkv");
	av1d_plan_set_temp_dir(f.plan, "/media/uhd/.av1d-3-q1w2e3");
	g_assert_cmpstr(f.plan->temp_path, ==, "/media/uhd/.av1d-3-q1w2e3/out.mkv");
	g_assert_cmpstr(f.plan->backup_path, ==, "/media/uhd/Film (2019).orig.m2ts");
	bare = av1d_plan_new(f.info, f.decision, "/media/uhd/Film", NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(bare->output_path, ==, "/media/uhd/Film.mkv");
	g_assert_cmpstr(bare->backup_path, ==, "/media/uhd/Film.orig");
	fixture_clear(&f);
}

static void
test_skipped_files_and_unresolved_backends_are_refused(void)
{
	Fixture f = {0};
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dMediaInfo) av1 = av1d_media_info_parse(
		"{\"streams\": [{\"codec_type\": \"video\", \"codec_name\": \"av1\"}],"
		" \"format\": {\"duration\": \"1\"}}",
		-1, NULL);
	g_autoptr(Av1dDecision) skip = av1d_classify(av1, "/m/a.mkv", NULL);
	g_autoptr(Av1dPlan) none = av1d_plan_new(av1, skip, "/m/a.mkv", NULL, &error);
	Av1dBackendParams params = {.kind = AV1D_ENCODER_KIND_AUTO};
	g_auto(GStrv) argv = NULL;

	g_assert_null(none);
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS);
	g_assert_nonnull(strstr(error->message, "already AV1"));
	g_clear_error(&error);
	fixture_init_json(&f, web8_json, WEB8_PATH, exclude_rus);
	argv = av1d_plan_build_argv(f.plan, f.decision, &params, &error);
	g_assert_null(argv);
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS);
	g_clear_error(&error);
	params.kind = AV1D_ENCODER_KIND_DOCKER_QSV;
	params.render_node = "/dev/dri/renderD128";
	argv = av1d_plan_build_argv(f.plan, f.decision, &params, &error);
	g_assert_null(argv);
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_INVALID_ARGS);
	fixture_clear(&f);
}

/* ---- full argv per backend ---- */

static void
test_web_8_bit_software_argv(void)
{
	Fixture f = {0};
	g_auto(GStrv) argv = NULL;
	/* clang-format off */
	const gchar *expected[] = {
		"ffmpeg",
		"-hide_banner",
		"-nostdin",
		"-y",
		"-fflags", "+genpts",
		"-copyts",
		"-start_at_zero",
		"-i", WEB8_PATH,
		"-map", "0:v:0",
		"-map", "0:a:0",
		"-map", "0:a:2",
		"-map", "0:a:3",
		"-map", "0:s:0",
		"-map", "0:s:3",
		"-map", "0:t?",
		"-map_chapters", "0",
		"-c:v", "libsvtav1",
		"-preset", "8",
		"-crf", "38",
		"-pix_fmt", "yuv420p",
		"-fps_mode", "passthrough",
		"-avoid_negative_ts", "make_zero",
		"-c:a", "copy",
		"-c:s", "copy",
		"-c:t", "copy",
		"-max_muxing_queue_size", "1024",
		"-progress", "pipe:1",
		"-nostats",
		"-f", "matroska", WEB8_TEMP,
		NULL};
	/* clang-format on */

	fixture_init_json(&f, web8_json, WEB8_PATH, exclude_rus);
	g_assert_true(f.decision->is_web_like);
	/* 1080p 8-bit 32, h264 +2 */
	g_assert_cmpint(f.decision->quality, ==, 34);
	argv = build(&f, AV1D_ENCODER_KIND_SOFTWARE, FALSE);
	assert_argv((const gchar *const *)argv, expected);
	fixture_clear(&f);
}

static void
test_web_8_bit_qsv_argv(void)
{
	Fixture f = {0};
	g_auto(GStrv) argv = NULL;
	/* clang-format off */
	const gchar *expected[] = {
		"ffmpeg",
		"-hide_banner",
		"-nostdin",
		"-y",
		"-init_hw_device", "qsv=hw:hw,child_device=/dev/dri/renderD128",
		"-filter_hw_device", "hw",
		"-fflags", "+genpts",
		"-copyts",
		"-start_at_zero",
		"-i", WEB8_PATH,
		"-map", "0:v:0",
		"-map", "0:a:0",
		"-map", "0:a:2",
		"-map", "0:a:3",
		"-map", "0:s:0",
		"-map", "0:s:3",
		"-map", "0:t?",
		"-map_chapters", "0",
		"-vf", "format=nv12,hwupload=extra_hw_frames=64",
		"-c:v", "av1_qsv",
		"-preset", "slower",
		"-global_quality", "34",
		"-profile:v", "main",
		"-fps_mode", "passthrough",
		"-avoid_negative_ts", "make_zero",
		"-c:a", "copy",
		"-c:s", "copy",
		"-c:t", "copy",
		"-max_muxing_queue_size", "1024",
		"-progress", "pipe:1",
		"-nostats",
		"-f", "matroska", WEB8_TEMP,
		NULL};
	/* clang-format on */

	fixture_init_json(&f, web8_json, WEB8_PATH, exclude_rus);
	argv = build(&f, AV1D_ENCODER_KIND_QSV, FALSE);
	assert_argv((const gchar *const *)argv, expected);
	fixture_clear(&f);
}

static void
test_hdr_10_bit_qsv_argv(void)
{
	Fixture f = {0};
	g_auto(GStrv) argv = NULL;
	/* clang-format off */
	const gchar *expected[] = {
		"ffmpeg",
		"-hide_banner",
		"-nostdin",
		"-y",
		"-init_hw_device", "qsv=hw:hw,child_device=/dev/dri/renderD128",
		"-filter_hw_device", "hw",
		"-i", HDR_PATH,
		"-map", "0:v:0",
		"-map", "0:a:0",
		"-map", "0:t?",
		"-map_chapters", "0",
		"-vf", "format=p010le,hwupload=extra_hw_frames=64",
		"-c:v", "av1_qsv",
		"-preset", "slower",
		"-global_quality", "27",
		"-profile:v", "main",
		"-color_primaries", "bt2020",
		"-color_trc", "smpte2084",
		"-colorspace", "bt2020nc",
		"-color_range", "tv",
		"-c:a", "copy",
		"-c:s", "copy",
		"-c:t", "copy",
		"-max_muxing_queue_size", "1024",
		"-progress", "pipe:1",
		"-nostats",
		"-f", "matroska", HDR_TEMP,
		NULL};
	/* clang-format on */

	fixture_init_json(&f, hdr_json, HDR_PATH, exclude_rus);
	g_assert_cmpint(f.decision->source_kind, ==, AV1D_SOURCE_DISC);
	/* 2160p 10-bit 26, hevc -1, 0.30 bpp +1, 23.976 fps +1 */
	g_assert_cmpint(f.decision->quality, ==, 27);
	argv = build(&f, AV1D_ENCODER_KIND_QSV, FALSE);
	assert_argv((const gchar *const *)argv, expected);
	fixture_clear(&f);
}

static void
test_hdr_10_bit_docker_qsv_argv(void)
{
	Fixture f = {0};
	g_auto(GStrv) argv = NULL;
	/* clang-format off */
	const gchar *expected[] = {
		"docker", "run",
		"--rm",
		"--name", "av1d-42",
		"--label", "org.av1d.job=42",
		"--device", "/dev/dri/renderD128",
		"--user", "1000:1001",
		"--group-add", "105",
		"-e", "LIBVA_DRIVER_NAME=iHD",
		"-v", "/media/uhd/.av1d-XXXXXX:/media/uhd/.av1d-XXXXXX",
		"-v", HDR_PATH ":" HDR_PATH ":ro",
		"--entrypoint", "ffmpeg", "lscr.io/linuxserver/ffmpeg:version-8.0-cli",
		"-hide_banner",
		"-nostdin",
		"-y",
		"-init_hw_device", "qsv=hw:hw,child_device=/dev/dri/renderD128",
		"-filter_hw_device", "hw",
		"-i", HDR_PATH,
		"-map", "0:v:0",
		"-map", "0:a:0",
		"-map", "0:t?",
		"-map_chapters", "0",
		"-vf", "format=p010le,hwupload=extra_hw_frames=64",
		"-c:v", "av1_qsv",
		"-preset", "slower",
		"-global_quality", "27",
		"-profile:v", "main",
		"-color_primaries", "bt2020",
		"-color_trc", "smpte2084",
		"-colorspace", "bt2020nc",
		"-color_range", "tv",
		"-c:a", "copy",
		"-c:s", "copy",
		"-c:t", "copy",
		"-max_muxing_queue_size", "1024",
		"-progress", "pipe:1",
		"-nostats",
		"-f", "matroska", HDR_TEMP,
		NULL};
	/* clang-format on */

	fixture_init_json(&f, hdr_json, HDR_PATH, exclude_rus);
	argv = build(&f, AV1D_ENCODER_KIND_DOCKER_QSV, FALSE);
	assert_argv((const gchar *const *)argv, expected);
	g_assert_false(g_strv_contains((const gchar *const *)argv, "--privileged"));
	fixture_clear(&f);
}

static void
test_hdr_10_bit_svt_av1_argv(void)
{
	Fixture f = {0};
	g_auto(GStrv) argv = NULL;
	/* clang-format off */
	const gchar *expected[] = {
		"ffmpeg",
		"-hide_banner",
		"-nostdin",
		"-y",
		"-i", HDR_PATH,
		"-map", "0:v:0",
		"-map", "0:a:0",
		"-map", "0:t?",
		"-map_chapters", "0",
		"-c:v", "libsvtav1",
		"-preset", "8",
		"-crf", "31",
		"-pix_fmt", "yuv420p10le",
		"-color_primaries", "bt2020",
		"-color_trc", "smpte2084",
		"-colorspace", "bt2020nc",
		"-color_range", "tv",
		"-c:a", "copy",
		"-c:s", "copy",
		"-c:t", "copy",
		"-max_muxing_queue_size", "1024",
		"-progress", "pipe:1",
		"-nostats",
		"-f", "matroska", HDR_TEMP,
		NULL};
	/* clang-format on */

	fixture_init_json(&f, hdr_json, HDR_PATH, exclude_rus);
	argv = build(&f, AV1D_ENCODER_KIND_SOFTWARE, FALSE);
	assert_argv((const gchar *const *)argv, expected);
	fixture_clear(&f);
}

static void
test_hdr_10_bit_libaom_argv(void)
{
	Fixture f = {0};
	g_auto(GStrv) argv = NULL;
	/* clang-format off */
	const gchar *expected[] = {
		"ffmpeg",
		"-hide_banner",
		"-nostdin",
		"-y",
		"-i", HDR_PATH,
		"-map", "0:v:0",
		"-map", "0:a:0",
		"-map", "0:t?",
		"-map_chapters", "0",
		"-c:v", "libaom-av1",
		"-cpu-used", "6",
		"-row-mt", "1",
		"-crf", "31",
		"-b:v", "0",
		"-pix_fmt", "yuv420p10le",
		"-color_primaries", "bt2020",
		"-color_trc", "smpte2084",
		"-colorspace", "bt2020nc",
		"-color_range", "tv",
		"-c:a", "copy",
		"-c:s", "copy",
		"-c:t", "copy",
		"-max_muxing_queue_size", "1024",
		"-progress", "pipe:1",
		"-nostats",
		"-f", "matroska", HDR_TEMP,
		NULL};
	/* clang-format on */

	fixture_init_json(&f, hdr_json, HDR_PATH, exclude_rus);
	argv = build(&f, AV1D_ENCODER_KIND_SOFTWARE, TRUE);
	assert_argv((const gchar *const *)argv, expected);
	fixture_clear(&f);
}

static void
test_mov_text_becomes_srt_per_output_stream(void)
{
	Fixture f = {0};
	g_auto(GStrv) argv = NULL;
	static const gchar json[] =
		"{\"streams\": [{\"codec_type\": \"video\", \"codec_name\": \"h264\", \"width\": "
		"1280,"
		" \"height\": 720, \"avg_frame_rate\": \"25/1\", \"pix_fmt\": \"yuv420p\"},"
		" {\"codec_type\": \"audio\", \"codec_name\": \"aac\", \"tags\": {\"language\": "
		"\"eng\"}},"
		" {\"codec_type\": \"subtitle\", \"codec_name\": \"mov_text\", \"tags\": "
		"{\"language\": \"rus\"}},"
		" {\"codec_type\": \"subtitle\", \"codec_name\": \"dvd_subtitle\", \"tags\": "
		"{\"language\": \"fre\"}},"
		" {\"codec_type\": \"subtitle\", \"codec_name\": \"mov_text\", \"tags\": "
		"{\"language\": \"eng\"}}],"
		" \"format\": {\"format_name\": \"mov,mp4,m4a,3gp,3g2,mj2\", \"duration\": "
		"\"60\"}}";
	/* clang-format off */
	const gchar *expected[] = {
		"ffmpeg",
		"-hide_banner",
		"-nostdin",
		"-y",
		"-i", "/m/clip.mp4",
		"-map", "0:v:0",
		"-map", "0:a:0",
		"-map", "0:s:1",
		"-map", "0:s:2",
		"-map", "0:t?",
		"-map_chapters", "0",
		"-c:v", "libsvtav1",
		"-preset", "8",
		"-crf", "40",
		"-pix_fmt", "yuv420p",
		"-c:a", "copy",
		"-c:s:0", "copy",
		"-c:s:1", "srt",
		"-c:t", "copy",
		"-max_muxing_queue_size", "1024",
		"-progress", "pipe:1",
		"-nostats",
		"-f", "matroska", "/m/.av1d-XXXXXX/out.mkv",
		NULL};
	/* clang-format on */

	fixture_init_json(&f, json, "/m/clip.mp4", exclude_rus);
	/* mp4 +0.15 and aac +0.10 stay below web; 720p 8-bit 34 + h264 2 = 36 */
	g_assert_false(f.decision->is_web_like);
	g_assert_cmpint(f.decision->quality, ==, 36);
	assert_note(f.plan, "converting subtitle stream #4 (eng) from mov_text to SRT");
	argv = build(&f, AV1D_ENCODER_KIND_SOFTWARE, FALSE);
	assert_argv((const gchar *const *)argv, expected);
	fixture_clear(&f);
}

static void
test_docker_mounts_paths_with_colons(void)
{
	Fixture f = {0};
	g_auto(GStrv) argv = NULL;
	g_autofree gchar *display = NULL;

	fixture_init_json(&f, hdr_json, "/media/uhd/Alien: Covenant \"Cut\".mkv", exclude_rus);
	argv = build(&f, AV1D_ENCODER_KIND_DOCKER_QSV, FALSE);
	g_assert_cmpstr(argv[15], ==, "-v");
	/* only the job's private folder is writable in the container */
	g_assert_cmpstr(argv[16], ==, "/media/uhd/.av1d-XXXXXX:/media/uhd/.av1d-XXXXXX");
	g_assert_cmpstr(argv[17], ==, "--mount");
	g_assert_cmpstr(argv[18], ==,
			"type=bind,\"source=/media/uhd/Alien: Covenant \"\"Cut\"\".mkv\","
			"\"target=/media/uhd/Alien: Covenant \"\"Cut\"\".mkv\",readonly");
	display = av1d_argv_to_display((const gchar *const *)argv);
	g_assert_nonnull(strstr(display, " -i '/media/uhd/Alien: Covenant \"Cut\".mkv' "));
	fixture_clear(&f);
}

/* the daemon's instance id labels its containers, so that its cleanup at
 * start-up finds them and only them */
static void
test_docker_containers_carry_the_instance_label(void)
{
	Fixture f = {0};
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) argv = NULL;
	Av1dBackendParams params = {
		.kind = AV1D_ENCODER_KIND_DOCKER_QSV,
		.job_id = 7,
		.render_node = "/dev/dri/renderD128",
		.docker_image = "lscr.io/linuxserver/ffmpeg:version-8.0-cli",
	};
	Av1dBackendParams copy;

	fixture_init_json(&f, hdr_json, HDR_PATH, exclude_rus);
	av1d_backend_params_set_instance(&params, "/var/lib/av1d/jobs");
	g_assert_cmpuint(strlen(params.instance), ==, AV1D_INSTANCE_ID_LEN);
	/* a copy of the struct carries it */
	copy = params;
	argv = av1d_plan_build_argv(f.plan, f.decision, &copy, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(argv[0], ==, "docker");
	g_assert_cmpstr(argv[3], ==, "--name");
	g_assert_cmpstr(argv[4], ==, "av1d-7");
	g_assert_cmpstr(argv[5], ==, "--label");
	g_assert_cmpstr(argv[6], ==, "org.av1d.job=7");
	g_assert_cmpstr(argv[7], ==, "--label");
	g_assert_true(g_str_has_prefix(argv[8], "org.av1d.state="));
	g_assert_cmpstr(argv[8] + strlen("org.av1d.state="), ==, params.instance);
	g_assert_cmpstr(argv[9], ==, "--device");
	fixture_clear(&f);
}

static void
test_instance_id_names_the_state_folder(void)
{
	Av1dBackendParams a = {0}, b = {0}, c = {0};

	av1d_backend_params_set_instance(&a, "/var/lib/av1d/jobs");
	av1d_backend_params_set_instance(&b, "/var/lib/av1d/x/../jobs/");
	av1d_backend_params_set_instance(&c, "/var/lib/av1d/other");
	g_assert_cmpstr(a.instance, ==, b.instance);
	g_assert_cmpstr(a.instance, !=, c.instance);
	for (const gchar *p = a.instance; *p != '\0'; p++)
		g_assert_true(g_ascii_isxdigit(*p));
}

static void
test_argv_display_quotes_only_what_needs_it(void)
{
	const gchar *argv[] = {"ffmpeg", "-i", "/m/My Film's.mkv", "-map", "0:t?", "", NULL};
	g_autofree gchar *display = av1d_argv_to_display(argv);

	g_assert_cmpstr(display, ==, "ffmpeg -i '/m/My Film'\\''s.mkv' -map '0:t?' ''");
}

/* ---- a real encode ---- */

/* tests/media.sh output, shared by the test programs (see av1d-test-util.c) */
static const gchar *media_dir;


static Av1dMediaInfo *
probe(const gchar *path)
{
	g_autoptr(GError) error = NULL;
	Av1dMediaInfo *info = av1d_probe_file_sync("ffprobe", path, NULL, &error);

	g_assert_no_error(error);
	g_assert_nonnull(info);
	return info;
}

/* plan and run the software encode of one generated file; returns the probe
 * of the result */
static Av1dMediaInfo *
encode(const gchar *name, gboolean web)
{
	g_autofree gchar *path = g_build_filename(media_dir, name, NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GBytes) err = NULL;
	g_auto(GStrv) argv = NULL;
	g_autofree gchar *temp_dir = NULL;
	Av1dMediaInfo *out;
	Fixture f = {0};

	fixture_init(&f, probe(path), path, exclude_rus);
	g_assert_cmpint(f.decision->is_web_like, ==, web);
	/* the job's private folder, as the pipeline would make it */
	temp_dir = g_dir_make_tmp("av1d-test-plan-XXXXXX", &error);
	g_assert_no_error(error);
	av1d_plan_set_temp_dir(f.plan, temp_dir);
	argv = build(&f, AV1D_ENCODER_KIND_SOFTWARE, FALSE);
	proc = g_subprocess_newv((const gchar *const *)argv,
				 G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
				 &error);
	g_assert_no_error(error);
	g_subprocess_communicate(proc, NULL, NULL, NULL, &err, &error);
	g_assert_no_error(error);
	if (!g_subprocess_get_successful(proc))
		g_error("ffmpeg failed: %.*s", (int)g_bytes_get_size(err),
			(const gchar *)g_bytes_get_data(err, NULL));
	out = probe(f.plan->temp_path);
	g_unlink(f.plan->temp_path);
	g_rmdir(f.plan->temp_dir);
	fixture_clear(&f);
	return out;
}

static guint
count_type(const Av1dMediaInfo *info, Av1dStreamType type)
{
	guint n = 0;

	for (guint i = 0; i < info->streams->len; i++)
		n += ((const Av1dStreamInfo *)info->streams->pdata[i])->type == type;
	return n;
}

static void
assert_no_russian(const Av1dMediaInfo *info)
{
	for (guint i = 0; i < info->streams->len; i++) {
		const Av1dStreamInfo *s = info->streams->pdata[i];

		g_assert_cmpstr(s->language, !=, "rus");
	}
}

static void
test_software_encode_of_h264_drops_russian(void)
{
	g_autoptr(Av1dMediaInfo) out = encode("h264-eng-rus.mkv", FALSE);
	const Av1dStreamInfo *v = out->streams->pdata[0];

	g_assert_cmpstr(v->codec_name, ==, "av1");
	g_assert_cmpstr(v->pix_fmt, ==, "yuv420p");
	g_assert_cmpuint(count_type(out, AV1D_STREAM_TYPE_AUDIO), ==, 1);
	g_assert_cmpuint(count_type(out, AV1D_STREAM_TYPE_SUBTITLE), ==, 1);
	g_assert_cmpstr(((const Av1dStreamInfo *)out->streams->pdata[1])->language, ==, "eng");
	g_assert_cmpstr(((const Av1dStreamInfo *)out->streams->pdata[2])->language, ==, "eng");
	assert_no_russian(out);
}

/* ffmpeg accepts the timestamp repair flags where the plan puts them */
static void
test_software_encode_of_a_web_rip_repairs_timestamps(void)
{
	g_autoptr(Av1dMediaInfo) out = encode("Movie.2020.1080p.WEB-DL.x264.mkv", TRUE);
	const Av1dStreamInfo *v = out->streams->pdata[0];

	g_assert_cmpstr(v->codec_name, ==, "av1");
	g_assert_cmpint(out->duration_us, >, 900000);
	g_assert_cmpint(out->duration_us, <, 1200000);
}

static void
test_software_encode_of_hdr10_keeps_colour_tags(void)
{
	g_autoptr(Av1dMediaInfo) out = encode("hevc-hdr10.mkv", FALSE);
	const Av1dStreamInfo *v = out->streams->pdata[0];

	g_assert_cmpstr(v->codec_name, ==, "av1");
	g_assert_cmpstr(v->pix_fmt, ==, "yuv420p10le");
	g_assert_cmpstr(v->color_primaries, ==, "bt2020");
	g_assert_cmpstr(v->color_transfer, ==, "smpte2084");
	g_assert_cmpstr(v->color_space, ==, "bt2020nc");
	g_assert_cmpstr(v->color_range, ==, "tv");
}

static void
test_software_encode_keeps_fonts_chapters_and_converts_mov_text(void)
{
	g_autoptr(Av1dMediaInfo) fonts = encode("font-chapters.mkv", FALSE);
	g_autoptr(Av1dMediaInfo) movtext = encode("movtext.mp4", FALSE);

	g_assert_cmpuint(fonts->n_attachments, ==, 1);
	g_assert_cmpuint(fonts->n_chapters, ==, 2);
	g_assert_cmpstr(((const Av1dStreamInfo *)fonts->streams->pdata[0])->codec_name, ==, "av1");
	g_assert_cmpuint(count_type(movtext, AV1D_STREAM_TYPE_SUBTITLE), ==, 1);
	g_assert_cmpstr(((const Av1dStreamInfo *)movtext->streams->pdata[2])->codec_name, ==,
			"subrip");
}

/* an object keeps the backend after its caller's strings are gone */
static void
test_backend_params_copy_owns_its_strings(void)
{
	g_autofree gchar *node = g_strdup("/dev/dri/renderD128");
	g_autofree gchar *image = g_strdup("lscr.io/linuxserver/ffmpeg:version-8.0-cli");
	Av1dBackendParams params = {
	    .kind = AV1D_ENCODER_KIND_DOCKER_QSV,
	    .render_node = node,
	    .render_gid = 44,
	    .docker_image = image,
	};
	g_autofree Av1dBackendParams *copy = NULL;

	av1d_backend_params_set_instance(&params, "/var/lib/av1d");
	copy = av1d_backend_params_dup(&params);
	g_clear_pointer(&node, g_free);
	g_clear_pointer(&image, g_free);
	g_assert_cmpint(copy->kind, ==, AV1D_ENCODER_KIND_DOCKER_QSV);
	g_assert_cmpuint(copy->render_gid, ==, 44);
	g_assert_cmpstr(copy->render_node, ==, "/dev/dri/renderD128");
	g_assert_cmpstr(copy->docker_image, ==, "lscr.io/linuxserver/ffmpeg:version-8.0-cli");
	g_assert_null(copy->docker_bin);
	g_assert_null(copy->ffmpeg_bin);
	g_assert_cmpstr(copy->instance, ==, params.instance);
	g_assert_cmpuint(strlen(copy->instance), ==, AV1D_INSTANCE_ID_LEN);
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	gint ret;

	g_test_init(&argc, &argv, NULL);
	media_dir = av1d_test_media_dir();

	g_test_add_func("/av1d/plan/excluded-languages-match-by-identity",
			test_excluded_languages_match_by_identity);
	g_test_add_func("/av1d/plan/language-table-knows-codes-and-names",
			test_language_table_knows_codes_and_names);
	g_test_add_func("/av1d/plan/only-russian-audio-is-kept-with-a-note",
			test_only_russian_audio_is_kept_with_a_note);
	g_test_add_func("/av1d/plan/paths-sit-next-to-the-source",
			test_paths_sit_next_to_the_source);
	g_test_add_func("/av1d/plan/skipped-files-and-unresolved-backends-are-refused",
			test_skipped_files_and_unresolved_backends_are_refused);
	g_test_add_func("/av1d/plan/web-8-bit-software-argv", test_web_8_bit_software_argv);
	g_test_add_func("/av1d/plan/web-8-bit-qsv-argv", test_web_8_bit_qsv_argv);
	g_test_add_func("/av1d/plan/hdr-10-bit-qsv-argv", test_hdr_10_bit_qsv_argv);
	g_test_add_func("/av1d/plan/hdr-10-bit-docker-qsv-argv", test_hdr_10_bit_docker_qsv_argv);
	g_test_add_func("/av1d/plan/hdr-10-bit-svt-av1-argv", test_hdr_10_bit_svt_av1_argv);
	g_test_add_func("/av1d/plan/hdr-10-bit-libaom-argv-when-svt-is-unavailable",
			test_hdr_10_bit_libaom_argv);
	g_test_add_func("/av1d/plan/mov-text-becomes-srt-per-output-stream",
			test_mov_text_becomes_srt_per_output_stream);
	g_test_add_func("/av1d/plan/docker-mounts-paths-with-colons",
			test_docker_mounts_paths_with_colons);
	g_test_add_func("/av1d/plan/docker-containers-carry-the-instance-label",
			test_docker_containers_carry_the_instance_label);
	g_test_add_func("/av1d/plan/instance-id-names-the-state-folder",
			test_instance_id_names_the_state_folder);
	g_test_add_func("/av1d/plan/argv-display-quotes-only-what-needs-it",
			test_argv_display_quotes_only_what_needs_it);
	g_test_add_func("/av1d/plan/software-encode-of-h264-drops-russian",
			test_software_encode_of_h264_drops_russian);
	g_test_add_func("/av1d/plan/backend-params-copy-owns-its-strings",
			test_backend_params_copy_owns_its_strings);
	g_test_add_func("/av1d/plan/software-encode-of-a-web-rip-repairs-timestamps",
			test_software_encode_of_a_web_rip_repairs_timestamps);
	g_test_add_func("/av1d/plan/software-encode-of-hdr10-keeps-colour-tags",
			test_software_encode_of_hdr10_keeps_colour_tags);
	g_test_add_func("/av1d/plan/software-encode-keeps-fonts-chapters-and-converts-mov-text",
			test_software_encode_keeps_fonts_chapters_and_converts_mov_text);

	ret = g_test_run();
	return ret;
}
