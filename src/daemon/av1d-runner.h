/*
 * Runs one encode (SPEC 6): an ffmpeg argv, or a `docker run` that ends in
 * one, as a GSubprocess on the caller's main context.
 *
 * ffmpeg must be given `-nostats -progress pipe:1`: the runner reads the
 * key=value progress blocks from stdout and turns them into the read-only
 * properties progress (0..1 of the media duration), fps, speed, eta-seconds
 * and projected-bytes, then emits "progress" once per block. stderr is always
 * drained (ffmpeg blocks on a full pipe) and its last 4 KiB are kept for the
 * error message.
 *
 * Cancelling (the GCancellable given to start, or av1d_runner_cancel()) sends
 * SIGTERM, then SIGKILL after the kill timeout (10 s unless set). For
 * docker-qsv the encode runs in a container the docker client merely
 * watches, so a runner given a container name also runs `docker kill <name>`,
 * and `docker rm --force <name>` once the client has exited without success
 * (a container created but never started, or one whose client was killed,
 * would otherwise live on); finish only returns once those have ended, so
 * the caller may delete the temp output safely. The error is
 * AV1D_ERROR_CANCELLED.
 *
 * A non-zero exit is AV1D_ERROR_ENCODE_FAILED ("ffmpeg exited with status 1:
 * <last 5 lines of stderr>"); an argv[0] that does not exist is
 * AV1D_ERROR_NOT_FOUND naming it.
 *
 * With a size limit set, an encode whose projected final size exceeds the
 * limit by more than 5 % once 10 % of the duration is done is stopped early:
 * there is no point in finishing a file the size gate will reject. The error
 * is AV1D_ERROR_FAILED "aborted early: projected size X exceeds Y (…)" and
 * av1d_runner_was_aborted_for_size() says so.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define AV1D_RUNNER_STDERR_TAIL_BYTES 4096
#define AV1D_RUNNER_KILL_TIMEOUT_MS   10000
/* early abort: not before this share of the duration, and only past the limit
 * by this factor, as sizes of the first minutes are a rough guide */
#define AV1D_RUNNER_ABORT_MIN_PROGRESS 0.10
#define AV1D_RUNNER_ABORT_MARGIN       1.05

#define AV1D_TYPE_RUNNER (av1d_runner_get_type())
G_DECLARE_FINAL_TYPE(Av1dRunner, av1d_runner, AV1D, RUNNER, GObject)

Av1dRunner *
av1d_runner_new(const gchar *const *argv, gint64 duration_us, guint64 source_bytes);
void
av1d_runner_set_container(Av1dRunner *self, const gchar *docker_bin, const gchar *container_name);
void
av1d_runner_setenv(Av1dRunner *self, const gchar *variable, const gchar *value);
void
av1d_runner_set_max_projected_bytes(Av1dRunner *self, guint64 max_bytes);
void
av1d_runner_set_kill_timeout(Av1dRunner *self, guint timeout_ms);

void
av1d_runner_start(Av1dRunner *self,
		  GCancellable *cancellable,
		  GAsyncReadyCallback callback,
		  gpointer user_data);
gboolean
av1d_runner_finish(Av1dRunner *self, GAsyncResult *res, GError **error);
void
av1d_runner_cancel(Av1dRunner *self);

const gchar *const *
av1d_runner_get_argv(Av1dRunner *self);
gdouble
av1d_runner_get_progress(Av1dRunner *self);
gdouble
av1d_runner_get_fps(Av1dRunner *self);
gdouble
av1d_runner_get_speed(Av1dRunner *self);
gint64
av1d_runner_get_eta_seconds(Av1dRunner *self);
gint64
av1d_runner_get_out_time_us(Av1dRunner *self);
guint64
av1d_runner_get_total_size(Av1dRunner *self);
guint64
av1d_runner_get_projected_bytes(Av1dRunner *self);
gboolean
av1d_runner_was_aborted_for_size(Av1dRunner *self);
gchar *
av1d_runner_get_stderr_tail(Av1dRunner *self);

G_END_DECLS
