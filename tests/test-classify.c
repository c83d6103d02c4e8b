#define G_LOG_DOMAIN "av1d-test-classify"

#include "config.h"

#include "av1d-classify.h"

/* ---- building inputs ---- */

/* a config made by hand: the loader is not what is tested here */
static Av1dConfig *
test_config_new(void)
{
	Av1dConfig *config = g_new0(Av1dConfig, 1);
	const gchar *exclude[] = {"rus", "ru", NULL};

	config->exclude_languages = g_strdupv((gchar **)exclude);
	config->ffprobe_bin = g_strdup("ffprobe");
	config->ffmpeg_bin = g_strdup("ffmpeg");
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

/* one file as ffprobe would describe it; NULL members take the defaults of
 * an ordinary 1080p24 H.264 Matroska file with one AC-3 track, which scores
 * nothing either way */
typedef struct {
	const gchar *codec;
	gint width;
	gint height;
	const gchar *pix_fmt;
	const gchar *avg_rate;
	const gchar *r_rate;
	const gchar *video_extra;    /* more members of the video stream, each ", ..." */
	const gchar *streams_before; /* streams before the video, each "{...}, " */
	const gchar *streams_after;  /* streams after the video, each ", {...}" */
	const gchar *format_name;
	const gchar *format_extra; /* more members of format, each ", ..." */
	const gchar *duration;
} Layout;

#define AC3 ", {\"codec_type\": \"audio\", \"codec_name\": \"ac3\"}"

static Av1dMediaInfo *
layout_info(const Layout *l)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *json = g_strdup_printf(
		"{\"streams\": [%s{\"codec_type\": \"video\", \"codec_name\": \"%s\", \"width\": "
		"%d,"
		" \"height\": %d, \"pix_fmt\": \"%s\", \"avg_frame_rate\": \"%s\","
		" \"r_frame_rate\": \"%s\"%s}%s],"
		" \"format\": {\"format_name\": \"%s\", \"duration\": \"%s\"%s}}",
		l->streams_before ? l->streams_before : "", l->codec ? l->codec : "h264",
		l->width ? l->width : 1920, l->height ? l->height : 1080,
		l->pix_fmt ? l->pix_fmt : "yuv420p", l->avg_rate ? l->avg_rate : "24/1",
		l->r_rate ? l->r_rate : (l->avg_rate ? l->avg_rate : "24/1"),
		l->video_extra ? l->video_extra : "", l->streams_after ? l->streams_after : AC3,
		l->format_name ? l->format_name : "matroska,webm",
		l->duration ? l->duration : "5400.0", l->format_extra ? l->format_extra : "");
	Av1dMediaInfo *info = av1d_media_info_parse(json, -1, &error);

	g_assert_no_error(error);
	g_assert_nonnull(info);
	return info;
}

static Av1dDecision *
classify(const Layout *l, const gchar *path)
{
	g_autoptr(Av1dMediaInfo) info = layout_info(l);
	Av1dConfig *config = test_config_new();
	Av1dDecision *d = av1d_classify(info, path, config);

	test_config_free(config);
	g_assert_nonnull(d);
	g_assert_nonnull(d->reasons);
	g_assert_cmpuint(d->reasons->len, >, 0);
	g_assert_nonnull(d->summary);
	g_assert_null(strchr(d->summary, '\n'));
	return d;
}

static gboolean
has_reason(GPtrArray *reasons, const gchar *fragment)
{
	for (guint i = 0; i < reasons->len; i++) {
		if (strstr(g_ptr_array_index(reasons, i), fragment) != NULL)
			return TRUE;
	}
	return FALSE;
}

static void
assert_reason(GPtrArray *reasons, const gchar *fragment)
{
	if (has_reason(reasons, fragment))
		return;
	for (guint i = 0; i < reasons->len; i++)
		g_test_message("reason: %s", (const gchar *)g_ptr_array_index(reasons, i));
	g_error("no reason contains '%s'", fragment);
}

/* ---- web or disc ---- */

static void
test_web_dl_filename_scores_web(void)
{
	Layout l = {0};
	g_autoptr(Av1dDecision) d = classify(&l, "/m/Movie.2020.1080p.WEB-DL.x264-GRP.mkv");

	g_assert_cmpint(d->action, ==, AV1D_ACTION_ENCODE);
	g_assert_cmpint(d->web_score_centi, ==, 50);
	g_assert_cmpfloat_with_epsilon(d->web_score, 0.50, 1e-9);
	g_assert_cmpint(d->source_kind, ==, AV1D_SOURCE_WEB);
	g_assert_true(d->is_web_like);
	g_assert_cmpuint(d->web_reasons->len, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(d->web_reasons, 0), ==,
			"filename token 'WEB-DL' (+0.50)");
	assert_reason(d->reasons, "web source");
}

static void
test_streaming_service_and_webrip_add_up(void)
{
	Layout l = {.streams_after = ", {\"codec_type\": \"audio\", \"codec_name\": \"eac3\"}"};
	g_autoptr(Av1dDecision) d = classify(&l, "/m/Show.S01E01.1080p.NF.WEBRip.DDP5.1.x264.mkv");

	g_assert_cmpint(d->web_score_centi, ==, 30 + 50 + 15);
	assert_reason(d->web_reasons, "filename token 'NF' (+0.30)");
	assert_reason(d->web_reasons, "filename token 'WEBRip' (+0.50)");
	assert_reason(d->web_reasons, "audio codec eac3 (+0.15)");
	g_assert_cmpint(d->source_kind, ==, AV1D_SOURCE_WEB);
}

static void
test_nf_inside_info_is_not_a_web_token(void)
{
	Layout l = {0};
	g_autoptr(Av1dDecision) info = classify(&l, "/m/Documentary.INFO.1080p.mkv");
	g_autoptr(Av1dDecision) conf = classify(&l, "/m/CONFIDENTIAL.NFO.mkv");
	g_autoptr(Av1dDecision) nf = classify(&l, "/m/Documentary.NF.1080p.mkv");

	g_assert_cmpint(info->web_score_centi, ==, 0);
	g_assert_cmpuint(info->web_reasons->len, ==, 0);
	g_assert_cmpint(info->source_kind, ==, AV1D_SOURCE_UNKNOWN);
	g_assert_false(info->is_web_like);
	g_assert_cmpint(conf->web_score_centi, ==, 0);
	/* the same name with NF as a word of its own does count */
	g_assert_cmpint(nf->web_score_centi, ==, 30);
}

static void
test_it_the_movie_is_not_itunes(void)
{
	Layout l = {0};
	g_autoptr(Av1dDecision) movie = classify(&l, "/m/It.2017.1080p.BluRay.x264.mkv");
	g_autoptr(Av1dDecision) itunes = classify(&l, "/m/Movie.2017.1080p.iT.WEB-DL.mkv");

	g_assert_cmpint(movie->web_score_centi, ==, -50);
	g_assert_cmpint(movie->source_kind, ==, AV1D_SOURCE_DISC);
	g_assert_false(has_reason(movie->web_reasons, "'It'"));
	assert_reason(itunes->web_reasons, "filename token 'iT' (+0.20)");
	g_assert_cmpint(itunes->web_score_centi, ==, 70);
}

static void
test_uhd_remux_with_truehd_scores_disc(void)
{
	Layout l = {
		.codec = "hevc",
		.width = 3840,
		.height = 2160,
		.pix_fmt = "yuv420p10le",
		.video_extra = ", \"bit_rate\": \"60000000\"",
		.streams_after = ", {\"codec_type\": \"audio\", \"codec_name\": \"truehd\"}"
				 ", {\"codec_type\": \"audio\", \"codec_name\": \"dts\","
				 " \"profile\": \"DTS-HD MA\"}" AC3,
	};
	g_autoptr(Av1dDecision) d =
		classify(&l, "/m/Movie.2019.2160p.UHD.BluRay.REMUX.HDR.HEVC.TrueHD.Atmos-GRP.mkv");

	/* UHD -0.20, BluRay -0.50, REMUX -0.50, truehd -0.20, DTS-HD -0.20,
	 * three audio tracks -0.10, 60 Mb/s at 4K24 is 0.30 bpp: no score */
	g_assert_cmpint(d->web_score_centi, ==, -20 - 50 - 50 - 20 - 20 - 10);
	g_assert_cmpint(d->source_kind, ==, AV1D_SOURCE_DISC);
	g_assert_false(d->is_web_like);
	assert_reason(d->web_reasons, "audio codec truehd (-0.20)");
	assert_reason(d->web_reasons, "audio codec dts (DTS-HD MA) (-0.20)");
	assert_reason(d->web_reasons, "3 audio tracks (-0.10)");
	assert_reason(d->reasons, "disc source");
}

static void
test_thresholds_are_inclusive(void)
{
	Layout l = {0};
	g_autoptr(Av1dDecision) web = classify(&l, "/m/Movie.WEB.mkv");
	g_autoptr(Av1dDecision) disc = classify(&l, "/m/BDMV/STREAM/00001.m2ts");
	g_autoptr(Av1dDecision) nearly = classify(&l, "/m/Movie.AMZN.mkv");

	g_assert_cmpint(web->web_score_centi, ==, AV1D_WEB_THRESHOLD);
	g_assert_cmpint(web->source_kind, ==, AV1D_SOURCE_WEB);
	g_assert_cmpint(disc->web_score_centi, ==, AV1D_DISC_THRESHOLD);
	g_assert_cmpint(disc->source_kind, ==, AV1D_SOURCE_DISC);
	assert_reason(disc->web_reasons, "container m2ts (-0.30)");
	g_assert_cmpint(nearly->web_score_centi, ==, 30);
	g_assert_cmpint(nearly->source_kind, ==, AV1D_SOURCE_UNKNOWN);
}

static void
test_variable_rate_and_cropped_video_lean_web(void)
{
	Layout l = {.width = 1917, .height = 800, .avg_rate = "2950/100", .r_rate = "30/1"};
	g_autoptr(Av1dDecision) d = classify(&l, "/m/clip.mkv");

	g_assert_cmpint(d->web_score_centi, ==, 20 + 15 + 15);
	assert_reason(d->web_reasons, "variable frame rate");
	assert_reason(d->web_reasons, "non-standard height 800 (+0.15)");
	assert_reason(d->web_reasons, "odd width 1917 (+0.15)");
	g_assert_cmpint(d->source_kind, ==, AV1D_SOURCE_WEB);
}

static void
test_muxer_tags_and_bits_per_pixel_count(void)
{
	Layout makemkv = {
		.format_extra = ", \"tags\": {\"encoder\": \"libmakemkv v1.17.5 (1.3.10/1.5.2)\"}",
		.video_extra = ", \"bit_rate\": \"30000000\""};
	Layout dash = {.format_name = "mov,mp4,m4a,3gp,3g2,mj2",
		       .format_extra = ", \"tags\": {\"major_brand\": \"dash\"}",
		       .video_extra = ", \"bit_rate\": \"4000000\""};
	g_autoptr(Av1dDecision) disc = classify(&makemkv, "/m/title_t00.mkv");
	g_autoptr(Av1dDecision) web = classify(&dash, "/m/video.mp4");

	/* MakeMKV -0.40, 30 Mb/s at 1080p24 is 0.60 bpp: -0.20 */
	g_assert_cmpint(disc->web_score_centi, ==, -60);
	assert_reason(disc->web_reasons, "muxing application MakeMKV (-0.40)");
	assert_reason(disc->web_reasons, "high bits per pixel 0.603 (-0.20)");
	/* mp4 +0.15, DASH +0.30, 4 Mb/s is 0.08 bpp: +0.15 */
	g_assert_cmpint(web->web_score_centi, ==, 60);
	assert_reason(web->web_reasons, "container mp4 (+0.15)");
	assert_reason(web->web_reasons, "MP4 brand dash");
	assert_reason(web->web_reasons, "low bits per pixel 0.080 (+0.15)");
}

/* ---- skip rules ---- */

static void
assert_skip(const Layout *l, const gchar *path, const gchar *reason)
{
	g_autoptr(Av1dDecision) d = classify(l, path);

	g_assert_cmpint(d->action, ==, AV1D_ACTION_SKIP);
	g_assert_nonnull(d->skip_reason);
	g_test_message("%s", d->skip_reason);
	g_assert_nonnull(strstr(d->skip_reason, reason));
	g_assert_true(g_str_has_prefix(d->summary, "skip: "));
	g_assert_cmpint(d->quality, ==, 0);
	assert_reason(d->reasons, reason);
}

static void
test_every_skip_rule_fires(void)
{
	Layout av1 = {.codec = "av1"};
	Layout dovi = {.codec = "hevc",
		       .video_extra = ", \"side_data_list\": [{\"side_data_type\":"
				      " \"DOVI configuration record\", \"dv_profile\": 7}]"};
	Layout dvhe = {.codec = "hevc", .video_extra = ", \"codec_tag_string\": \"dvhe\""};
	Layout png = {.codec = "png", .avg_rate = "0/0", .format_name = "png_pipe"};
	Layout mjpeg = {.codec = "mjpeg", .video_extra = ", \"nb_frames\": \"1\""};
	Layout no_duration = {.duration = "N/A"};
	Layout ok = {0};
	g_autoptr(Av1dDecision) fine = classify(&ok, "/m/a.mkv");

	assert_skip(&av1, "/m/a.mkv", "already AV1");
	assert_skip(&dovi, "/m/a.mkv",
		    "Dolby Vision (profile 7): skipped because the GPU encoders drop the RPU");
	assert_skip(&dvhe, "/m/a.mkv", "Dolby Vision (codec tag dvhe)");
	assert_skip(&png, "/m/a.png", "image-only file (png)");
	assert_skip(&mjpeg, "/m/a.mkv", "image-only file (mjpeg)");
	assert_skip(&no_duration, "/m/a.mkv", "duration unknown");
	/* the control: the same layout without the trigger is encoded */
	g_assert_cmpint(fine->action, ==, AV1D_ACTION_ENCODE);
	g_assert_null(fine->skip_reason);
	g_assert_true(g_str_has_prefix(fine->summary, "encode: "));
}

static void
test_files_without_real_video_are_skipped(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dMediaInfo) audio_only = av1d_media_info_parse(
		"{\"streams\": [{\"codec_type\": \"audio\", \"codec_name\": \"flac\"}],"
		" \"format\": {\"duration\": \"200.0\"}}",
		-1, &error);
	g_autoptr(Av1dMediaInfo) cover_only = av1d_media_info_parse(
		"{\"streams\": [{\"codec_type\": \"audio\", \"codec_name\": \"mp3\"},"
		" {\"codec_type\": \"video\", \"codec_name\": \"mjpeg\", \"width\": 500, "
		"\"height\": 500,"
		" \"disposition\": {\"attached_pic\": 1}}], \"format\": {\"duration\": \"200.0\"}}",
		-1, &error);
	g_autoptr(Av1dDecision) a = NULL;
	g_autoptr(Av1dDecision) c = NULL;

	g_assert_no_error(error);
	a = av1d_classify(audio_only, "/m/song.flac", NULL);
	c = av1d_classify(cover_only, "/m/song.mp3", NULL);
	g_assert_cmpint(a->action, ==, AV1D_ACTION_SKIP);
	g_assert_cmpstr(a->skip_reason, ==, "no video stream");
	g_assert_cmpint(a->video_index, ==, -1);
	g_assert_cmpint(c->action, ==, AV1D_ACTION_SKIP);
	g_assert_cmpstr(c->skip_reason, ==, "no video stream (only cover art)");
}

static void
test_cover_art_before_the_video_is_passed_over(void)
{
	Layout l = {.streams_before = "{\"codec_type\": \"video\", \"codec_name\": \"mjpeg\","
				      " \"disposition\": {\"attached_pic\": 1}}, "};
	g_autoptr(Av1dDecision) d = classify(&l, "/m/a.mkv");

	g_assert_cmpint(d->action, ==, AV1D_ACTION_ENCODE);
	g_assert_cmpint(d->video_index, ==, 1);
	g_assert_cmpint(d->video_type_index, ==, 1);
	g_assert_cmpstr(d->video_codec, ==, "h264");
}

/* ---- bit depth and HDR ---- */

static void
test_bit_depth_picks_upload_and_output_formats(void)
{
	Layout eight = {0};
	Layout ten = {.codec = "hevc", .pix_fmt = "yuv420p10le"};
	Layout twelve = {.codec = "hevc", .pix_fmt = "yuv444p12le"};
	Layout p010 = {.codec = "hevc", .pix_fmt = "p010le"};
	g_autoptr(Av1dDecision) d8 = classify(&eight, "/m/a.mkv");
	g_autoptr(Av1dDecision) d10 = classify(&ten, "/m/a.mkv");
	g_autoptr(Av1dDecision) d12 = classify(&twelve, "/m/a.mkv");
	g_autoptr(Av1dDecision) dp = classify(&p010, "/m/a.mkv");

	g_assert_cmpuint(d8->source_bit_depth, ==, 8);
	g_assert_cmpuint(d8->target_bit_depth, ==, 8);
	g_assert_cmpstr(d8->upload_format, ==, "nv12");
	g_assert_cmpstr(d8->output_pix_fmt, ==, "yuv420p");
	g_assert_cmpstr(d8->av1_profile, ==, "main");
	g_assert_cmpuint(d10->source_bit_depth, ==, 10);
	g_assert_cmpuint(d10->target_bit_depth, ==, 10);
	g_assert_cmpstr(d10->upload_format, ==, "p010le");
	g_assert_cmpstr(d10->output_pix_fmt, ==, "yuv420p10le");
	g_assert_cmpstr(d10->av1_profile, ==, "main");
	g_assert_cmpuint(d12->source_bit_depth, ==, 12);
	g_assert_cmpuint(d12->target_bit_depth, ==, 10);
	g_assert_cmpstr(d12->upload_format, ==, "p010le");
	g_assert_cmpuint(dp->target_bit_depth, ==, 10);
}

#define HDR10_VIDEO                                                                                \
	", \"color_range\": \"tv\", \"color_space\": \"bt2020nc\","                                \
	" \"color_transfer\": \"smpte2084\", \"color_primaries\": \"bt2020\","                     \
	" \"side_data_list\": [{\"side_data_type\": \"Mastering display metadata\"},"              \
	" {\"side_data_type\": \"Content light level metadata\", \"max_content\": 1000}]"

static void
test_hdr_is_pq_or_hlg_with_bt2020(void)
{
	Layout pq = {.codec = "hevc", .pix_fmt = "yuv420p10le", .video_extra = HDR10_VIDEO};
	Layout hlg = {.codec = "hevc",
		      .pix_fmt = "yuv420p10le",
		      .video_extra =
			      ", \"color_transfer\": \"arib-std-b67\","
			      " \"color_primaries\": \"bt2020\", \"color_space\": \"unknown\""};
	Layout pq709 = {
		.codec = "hevc",
		.pix_fmt = "yuv420p10le",
		.video_extra =
			", \"color_transfer\": \"smpte2084\", \"color_primaries\": \"bt709\""};
	Layout sdr = {.video_extra =
			      ", \"color_transfer\": \"bt709\", \"color_primaries\": \"bt709\""};
	g_autoptr(Av1dDecision) dpq = classify(&pq, "/m/a.mkv");
	g_autoptr(Av1dDecision) dhlg = classify(&hlg, "/m/a.mkv");
	g_autoptr(Av1dDecision) d709 = classify(&pq709, "/m/a.mkv");
	g_autoptr(Av1dDecision) dsdr = classify(&sdr, "/m/a.mkv");

	g_assert_true(dpq->is_hdr);
	g_assert_cmpstr(dpq->color_primaries, ==, "bt2020");
	g_assert_cmpstr(dpq->color_transfer, ==, "smpte2084");
	g_assert_cmpstr(dpq->color_space, ==, "bt2020nc");
	g_assert_cmpstr(dpq->color_range, ==, "tv");
	g_assert_true(dpq->has_mastering_display);
	g_assert_true(dpq->has_content_light);
	assert_reason(dpq->reasons, "HDR (PQ, BT.2020)");
	g_assert_true(dhlg->is_hdr);
	g_assert_cmpstr(dhlg->color_transfer, ==, "arib-std-b67");
	/* "unknown" is not passed on */
	g_assert_null(dhlg->color_space);
	g_assert_false(dhlg->has_mastering_display);
	g_assert_false(d709->is_hdr);
	g_assert_null(d709->color_transfer);
	assert_reason(d709->reasons, "without BT.2020 primaries");
	g_assert_false(dsdr->is_hdr);
	g_assert_null(dsdr->color_primaries);
}

/* ---- quality ---- */

static gint
quality(const gchar *codec, gint height, guint depth, gdouble bpp, gdouble fps, GPtrArray *reasons)
{
	Av1dQualityInput in = {
		.codec = codec,
		.height = height,
		.target_bit_depth = depth,
		.bits_per_pixel = bpp,
		.bpp_unknown_why = "no bitrate",
		.frame_rate = fps,
	};

	return av1d_quality_for(&in, reasons);
}

static void
test_quality_base_follows_the_table(void)
{
	/* av1 as the codec adds nothing; 0.15 bpp and 30 fps add nothing */
	g_assert_cmpint(quality("x", 2160, 10, 0.15, 30, NULL), ==, 26);
	g_assert_cmpint(quality("x", 2160, 8, 0.15, 30, NULL), ==, 28);
	g_assert_cmpint(quality("x", 1440, 10, 0.15, 30, NULL), ==, 28);
	g_assert_cmpint(quality("x", 1440, 8, 0.15, 30, NULL), ==, 30);
	g_assert_cmpint(quality("x", 1080, 10, 0.15, 30, NULL), ==, 30);
	g_assert_cmpint(quality("x", 1080, 8, 0.15, 30, NULL), ==, 32);
	g_assert_cmpint(quality("x", 1079, 10, 0.15, 30, NULL), ==, 32);
	g_assert_cmpint(quality("x", 720, 8, 0.15, 30, NULL), ==, 34);
	g_assert_cmpint(quality("x", 0, 8, 0.15, 30, NULL), ==, 34);
}

static void
test_quality_adjusts_for_codec_bpp_and_frame_rate(void)
{
	g_assert_cmpint(quality("h264", 1080, 8, 0.15, 30, NULL), ==, 34);
	g_assert_cmpint(quality("hevc", 1080, 8, 0.15, 30, NULL), ==, 31);
	g_assert_cmpint(quality("vp9", 1080, 8, 0.15, 30, NULL), ==, 31);
	g_assert_cmpint(quality("mpeg2video", 1080, 8, 0.15, 30, NULL), ==, 35);
	g_assert_cmpint(quality("x", 1080, 8, 0.61, 30, NULL), ==, 35);
	g_assert_cmpint(quality("x", 1080, 8, 0.45, 30, NULL), ==, 34);
	g_assert_cmpint(quality("x", 1080, 8, 0.25, 30, NULL), ==, 33);
	g_assert_cmpint(quality("x", 1080, 8, 0.09, 30, NULL), ==, 31);
	g_assert_cmpint(quality("x", 1080, 8, 0.15, 59.94, NULL), ==, 31);
	g_assert_cmpint(quality("x", 1080, 8, 0.15, 50, NULL), ==, 32);
	g_assert_cmpint(quality("x", 1080, 8, 0.15, 24, NULL), ==, 32);
	g_assert_cmpint(quality("x", 1080, 8, 0.15, 24000.0 / 1001.0, NULL), ==, 33);
}

static void
test_quality_clamps_to_its_range(void)
{
	g_autoptr(GPtrArray) high = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) low = g_ptr_array_new_with_free_func(g_free);

	/* 34 + 3 (mpeg2) + 3 (bpp) + 1 (fps) = 41 */
	g_assert_cmpint(quality("mpeg2video", 576, 8, 0.7, 23.976, high), ==, AV1D_QUALITY_MAX);
	assert_reason(high, "quality: 41 clamped to 40");
	/* the lowest the table can go is 26 - 1 - 1 - 1 = 23, inside the range,
	 * so the lower clamp never fires */
	g_assert_cmpint(quality("hevc", 2160, 10, 0.05, 60, low), ==, 23);
	g_assert_cmpint(23, >=, AV1D_QUALITY_MIN);
	g_assert_false(has_reason(low, "clamped"));
}

static void
test_quality_says_what_it_could_not_determine(void)
{
	g_autoptr(GPtrArray) reasons = g_ptr_array_new_with_free_func(g_free);

	g_assert_cmpint(quality("h264", 1080, 8, -1.0, 0.0, reasons), ==, 34);
	assert_reason(reasons, "quality: base 32 (>= 1080p, 8-bit)");
	assert_reason(reasons, "quality: source codec h264 +2");
	assert_reason(reasons, "quality: bits per pixel unknown (no bitrate), no adjustment");
	assert_reason(reasons, "quality: frame rate unknown, no adjustment");
}

static void
test_quality_uses_the_decisions_bitrate_and_frame_rate(void)
{
	/* 23.976 fps, no bitrate anywhere */
	Layout film = {.avg_rate = "24000/1001"};
	/* r_frame_rate when avg is unknown; BPS tag: 35 Mb/s at 1080p24 = 0.70 bpp */
	Layout tag = {.codec = "hevc",
		      .avg_rate = "0/0",
		      .r_rate = "24/1",
		      .video_extra = ", \"tags\": {\"BPS-eng\": \"35000000\"}"};
	/* container 25 Mb/s minus 2 Mb/s of audio = 23 Mb/s = 0.46 bpp */
	Layout container = {.format_extra = ", \"bit_rate\": \"25000000\"",
			    .streams_after =
				    ", {\"codec_type\": \"audio\", \"bit_rate\": \"1500000\"}"
				    ", {\"codec_type\": \"audio\", \"bit_rate\": \"500000\"}"};
	g_autoptr(Av1dDecision) a = classify(&film, "/m/a.mkv");
	g_autoptr(Av1dDecision) b = classify(&tag, "/m/b.mkv");
	g_autoptr(Av1dDecision) c = classify(&container, "/m/c.mkv");

	g_assert_cmpint(a->quality, ==, 32 + 2 + 1);
	g_assert_cmpint(a->video_bitrate, ==, -1);
	assert_reason(a->reasons, "quality: bits per pixel unknown (no bitrate), no adjustment");
	assert_reason(a->reasons, "quality: 23.976 fps < 24 +1");
	g_assert_cmpint(b->video_bitrate, ==, 35000000);
	assert_reason(b->reasons, "(BPS tag)");
	g_assert_cmpfloat_with_epsilon(b->frame_rate, 24.0, 1e-9);
	g_assert_cmpint(b->quality, ==, 32 - 1 + 3);
	g_assert_cmpint(c->video_bitrate, ==, 23000000);
	assert_reason(c->reasons, "container 25000 kb/s minus audio 2000 kb/s");
	g_assert_cmpint(c->quality, ==, 32 + 2 + 2);
	g_assert_cmpint(c->svt_crf, ==, av1d_quality_to_svt_crf(c->quality));
}

static void
test_svt_crf_mapping_is_monotonic_and_in_range(void)
{
	gint previous = -1;

	for (gint q = AV1D_QUALITY_MIN; q <= AV1D_QUALITY_MAX; q++) {
		gint crf = av1d_quality_to_svt_crf(q);

		g_assert_cmpint(crf, >, previous);
		g_assert_cmpint(crf, >=, 0);
		g_assert_cmpint(crf, <=, 63);
		previous = crf;
	}
	g_assert_cmpint(av1d_quality_to_svt_crf(32), ==, 36);
	g_assert_cmpint(av1d_quality_to_svt_crf(-100), ==, 0);
	g_assert_cmpint(av1d_quality_to_svt_crf(100), ==, 63);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/av1d/classify/web-dl-filename-scores-web",
			test_web_dl_filename_scores_web);
	g_test_add_func("/av1d/classify/streaming-service-and-webrip-add-up",
			test_streaming_service_and_webrip_add_up);
	g_test_add_func("/av1d/classify/nf-inside-info-is-not-a-web-token",
			test_nf_inside_info_is_not_a_web_token);
	g_test_add_func("/av1d/classify/it-the-movie-is-not-itunes",
			test_it_the_movie_is_not_itunes);
	g_test_add_func("/av1d/classify/uhd-remux-with-truehd-scores-disc",
			test_uhd_remux_with_truehd_scores_disc);
	g_test_add_func("/av1d/classify/thresholds-are-inclusive", test_thresholds_are_inclusive);
	g_test_add_func("/av1d/classify/variable-rate-and-cropped-video-lean-web",
			test_variable_rate_and_cropped_video_lean_web);
	g_test_add_func("/av1d/classify/muxer-tags-and-bits-per-pixel-count",
			test_muxer_tags_and_bits_per_pixel_count);
	g_test_add_func("/av1d/classify/every-skip-rule-fires", test_every_skip_rule_fires);
	g_test_add_func("/av1d/classify/files-without-real-video-are-skipped",
			test_files_without_real_video_are_skipped);
	g_test_add_func("/av1d/classify/cover-art-before-the-video-is-passed-over",
			test_cover_art_before_the_video_is_passed_over);
	g_test_add_func("/av1d/classify/bit-depth-picks-upload-and-output-formats",
			test_bit_depth_picks_upload_and_output_formats);
	g_test_add_func("/av1d/classify/hdr-is-pq-or-hlg-with-bt2020",
			test_hdr_is_pq_or_hlg_with_bt2020);
	g_test_add_func("/av1d/classify/quality-base-follows-the-table",
			test_quality_base_follows_the_table);
	g_test_add_func("/av1d/classify/quality-adjusts-for-codec-bpp-and-frame-rate",
			test_quality_adjusts_for_codec_bpp_and_frame_rate);
	g_test_add_func("/av1d/classify/quality-clamps-to-its-range",
			test_quality_clamps_to_its_range);
	g_test_add_func("/av1d/classify/quality-says-what-it-could-not-determine",
			test_quality_says_what_it_could_not_determine);
	g_test_add_func("/av1d/classify/quality-uses-the-decisions-bitrate-and-frame-rate",
			test_quality_uses_the_decisions_bitrate_and_frame_rate);
	g_test_add_func("/av1d/classify/svt-crf-mapping-is-monotonic-and-in-range",
			test_svt_crf_mapping_is_monotonic_and_in_range);

	return g_test_run();
}
