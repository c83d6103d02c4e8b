/*
 * Is the encoder's output fit to replace the original? (SPEC 7.1)
 *
 * av1d_verify_async() answers before anything touches the original, in
 * order, stopping at the first failure:
 *
 *  1. the output probes;
 *  2. it has exactly one video stream that is not an attached picture, it is
 *     AV1, and its pixel format has the decision's target bit depth;
 *  3. its duration is within max(1 s, 0.1%) of the source's, and so is its
 *     video stream's when both files give one (a file lasts as long as its
 *     longest stream, so a long subtitle would hide a short picture);
 *  4. it has as many audio, subtitle and attachment streams as the plan kept;
 *  5. it decodes: `quick` decodes a few windows spread over the file (0%,
 *     25%, 50%, 75% and the last max(1 s, 2%), each max(1 s, 2%) long),
 *     `full` decodes every video and audio frame. The verdict comes from
 *     ffmpeg's exit status, the frames and end time its -progress reports
 *     (a window with no video frame, a last window or a full decode that
 *     stops short of the end fail) and the lines it prints at -v error, of
 *     which only the null muxer's timestamp notices are harmless (decoding
 *     a 23.976 or 24 fps film from a seek point prints them for frames that
 *     all decoded); every other line is taken as damage.

 * A failure is AV1D_ERROR_VERIFY_FAILED with a message that says what was
 * expected and what was found ("verify: expected 2 audio streams, found 1");
 * cancelling is AV1D_ERROR_CANCELLED and kills the running ffprobe/ffmpeg.
 *
 * The inputs are copied at call time: the caller may free them as soon as
 * av1d_verify_async() returns.
 *
 * av1d_verify_check_info() is checks 2-4 alone and pure, so that tests feed
 * it hand-written or probed media info.
 */
#pragma once

#include <gio/gio.h>

#include "av1d-classify.h"
#include "av1d-config.h"
#include "av1d-plan.h"
#include "av1d-probe.h"

G_BEGIN_DECLS

gboolean
av1d_verify_check_info(const Av1dMediaInfo *output_info,
		       const Av1dMediaInfo *source_info,
		       const Av1dPlan *plan,
		       guint target_bit_depth,
		       GError **error);

/* config supplies ffprobe_bin, ffmpeg_bin and the verify mode */
void
av1d_verify_async(const Av1dConfig *config,
		  const gchar *output_path,
		  const Av1dMediaInfo *source_info,
		  const Av1dPlan *plan,
		  const Av1dDecision *decision,
		  GCancellable *cancellable,
		  GAsyncReadyCallback callback,
		  gpointer user_data);
gboolean
av1d_verify_finish(GAsyncResult *result, GError **error);

G_END_DECLS
