#define G_LOG_DOMAIN "av1d-runner"

#include "config.h"

#include <math.h>
#include <signal.h>

#include <glib/gi18n-lib.h>

#include "av1d-error.h"
#include "av1d-runner.h"

/* after the encoder exits, how long its pipes (held open by a grandchild)
 * and `docker kill` may take before we stop waiting for them */
#define AV1D_RUNNER_DRAIN_TIMEOUT_MS 5000
#define AV1D_RUNNER_ERROR_LINES	     5
#define AV1D_RUNNER_READ_CHUNK	     16384

typedef enum {
	AV1D_RUNNER_STOP_NONE,
	AV1D_RUNNER_STOP_CANCELLED,
	AV1D_RUNNER_STOP_TOO_BIG,
} Av1dRunnerStop;

/* the values of the progress block being read, published at its end */
typedef struct {
	gint64 out_time_us;
	gdouble fps;
	gdouble speed;
	guint64 total_size;
} Av1dProgressBlock;

struct _Av1dRunner {
	GObject parent_instance;

	/* what to run */
	GStrv argv;
	GStrv envp; /* NULL: inherit ours */
	gint64 duration_us;
	guint64 source_bytes;
	gchar *docker_bin;
	gchar *container_name;	     /* NULL unless the encode runs in a container */
	guint64 max_projected_bytes; /* 0: no early abort */
	guint kill_timeout_ms;

	/* the run */
	GTask *task;
	GMainContext *context;
	GSubprocess *proc;
	GDataInputStream *stdout_stream;
	GCancellable *io_cancellable; /* pipes and `docker kill`, once the encoder is gone */
	GSource *cancel_source;
	GSource *kill_source;
	GSource *drain_source;
	guint pending; /* operations that must end before the task returns */
	gboolean started;
	gboolean exited;
	Av1dRunnerStop stop;
	gchar *abort_message;
	gint64 start_time; /* monotonic µs */
	GByteArray *stderr_tail;
	gboolean stderr_trimmed;
	Av1dProgressBlock block;

	/* published */
	gdouble progress;
	gdouble fps;
	gdouble speed;
	gint64 eta_seconds;
	gint64 out_time_us;
	guint64 total_size;
	guint64 projected_bytes;
};

G_DEFINE_TYPE(Av1dRunner, av1d_runner, G_TYPE_OBJECT)

enum {
	PROP_0,
	PROP_PROGRESS,
	PROP_FPS,
	PROP_SPEED,
	PROP_ETA_SECONDS,
	PROP_OUT_TIME_US,
	PROP_TOTAL_SIZE,
	PROP_PROJECTED_BYTES,
	PROP_LAST
};

static GParamSpec *props[PROP_LAST] = {NULL};

enum { SIGNAL_PROGRESS, SIGNAL_LAST };

static guint signals[SIGNAL_LAST] = {0};

static void
av1d_runner_stop(Av1dRunner *self, Av1dRunnerStop why);
static void
av1d_runner_docker(Av1dRunner *self, const gchar *verb, const gchar *option);

static void
av1d_clear_source(GSource **source)
{
	if (*source == NULL)
		return;
	g_source_destroy(*source);
	g_clear_pointer(source, g_source_unref);
}

static GSource *
av1d_runner_add_timeout(Av1dRunner *self, guint timeout_ms, const gchar *name, GSourceFunc func)
{
	GSource *source = g_timeout_source_new(timeout_ms);

	g_source_set_static_name(source, name);
	g_source_set_callback(source, func, self, NULL);
	g_source_attach(source, self->context);
	return source;
}

static const gchar *
av1d_runner_name(Av1dRunner *self)
{
	const gchar *slash = strrchr(self->argv[0], '/');

	return slash != NULL ? slash + 1 : self->argv[0];
}

/* --- stderr -------------------------------------------------------------- */

static void
av1d_runner_keep_stderr(Av1dRunner *self, const guint8 *data, gsize len)
{
	GByteArray *tail = self->stderr_tail;

	if (len >= AV1D_RUNNER_STDERR_TAIL_BYTES) {
		data += len - AV1D_RUNNER_STDERR_TAIL_BYTES;
		len = AV1D_RUNNER_STDERR_TAIL_BYTES;
	}
	g_byte_array_append(tail, data, len);
	if (tail->len > AV1D_RUNNER_STDERR_TAIL_BYTES) {
		g_byte_array_remove_range(tail, 0, tail->len - AV1D_RUNNER_STDERR_TAIL_BYTES);
		self->stderr_trimmed = TRUE;
	}
}

/**
 * av1d_runner_get_stderr_tail:
 *
 * Returns: (transfer full): at most the last 4 KiB the process wrote to
 * stderr, as valid UTF-8
 */
gchar *
av1d_runner_get_stderr_tail(Av1dRunner *self)
{
	const gchar *data;
	gsize len;
	gsize skip = 0;
	g_autofree gchar *valid = NULL;
	const gchar *start;
	gsize valid_len;

	g_return_val_if_fail(AV1D_IS_RUNNER(self), NULL);

	data = (const gchar *)self->stderr_tail->data;
	len = self->stderr_tail->len;
	/* the ring buffer may have cut a character in two */
	while (self->stderr_trimmed && skip < len && skip < 3 &&
	       ((guchar)data[skip] & 0xc0) == 0x80)
		skip++;
	valid = g_utf8_make_valid(len > 0 ? data + skip : "", len - skip);
	valid_len = strlen(valid);
	if (valid_len <= AV1D_RUNNER_STDERR_TAIL_BYTES)
		return g_steal_pointer(&valid);
	/* replacement characters are longer than the bytes they replace */
	start = valid + valid_len - AV1D_RUNNER_STDERR_TAIL_BYTES;
	while (((guchar)*start & 0xc0) == 0x80)
		start++;
	return g_strdup(start);
}

/* the last lines of stderr, for an error message */
static gchar *
av1d_runner_stderr_last_lines(Av1dRunner *self)
{
	g_autofree gchar *tail = av1d_runner_get_stderr_tail(self);
	g_auto(GStrv) lines = g_strsplit_set(tail, "\r\n", -1);
	g_autoptr(GPtrArray) kept = g_ptr_array_new();
	guint first;

	for (guint i = 0; lines[i] != NULL; i++) {
		if (g_strstrip(lines[i])[0] != '\0')
			g_ptr_array_add(kept, lines[i]);
	}
	if (kept->len == 0)
		/* Translators: stands for the encoder's last stderr lines in an
		 * error message */
		return g_strdup(_("(nothing on stderr)"));
	first = kept->len > AV1D_RUNNER_ERROR_LINES ? kept->len - AV1D_RUNNER_ERROR_LINES : 0;
	g_ptr_array_add(kept, NULL);
	return g_strjoinv("\n", (gchar **)kept->pdata + first);
}

/* --- progress ------------------------------------------------------------ */

static void
av1d_runner_set_double(Av1dRunner *self, gdouble *field, gdouble value, guint prop)
{
	if (*field == value)
		return;
	*field = value;
	g_object_notify_by_pspec(G_OBJECT(self), props[prop]);
}

static void
av1d_runner_set_int64(Av1dRunner *self, gint64 *field, gint64 value, guint prop)
{
	if (*field == value)
		return;
	*field = value;
	g_object_notify_by_pspec(G_OBJECT(self), props[prop]);
}

static void
av1d_runner_set_uint64(Av1dRunner *self, guint64 *field, guint64 value, guint prop)
{
	if (*field == value)
		return;
	*field = value;
	g_object_notify_by_pspec(G_OBJECT(self), props[prop]);
}

static gint64
av1d_round_up(gdouble seconds)
{
	gint64 whole = (gint64)seconds;

	return (gdouble)whole < seconds ? whole + 1 : whole;
}

/* seconds left: from ffmpeg's speed, else from the wall clock so far */
static gint64
av1d_runner_compute_eta(Av1dRunner *self, gdouble progress, gboolean end)
{
	gdouble elapsed_s;

	if (end || progress >= 1.0)
		return 0;
	if (self->block.speed > 0 && self->duration_us > 0) {
		gdouble left_us = (gdouble)(self->duration_us - self->block.out_time_us);
		return av1d_round_up(MAX(left_us, 0) / 1e6 / self->block.speed);
	}
	if (progress <= 0)
		return -1;
	elapsed_s = (gdouble)(g_get_monotonic_time() - self->start_time) / 1e6;
	return av1d_round_up(elapsed_s * (1.0 - progress) / progress);
}

/* stop an encode that is going to be rejected by the size gate anyway */
static void
av1d_runner_check_size(Av1dRunner *self, gboolean end)
{
	g_autofree gchar *projected = NULL;
	g_autofree gchar *limit = NULL;
	g_autofree gchar *source = NULL;

	if (self->max_projected_bytes == 0 || self->stop != AV1D_RUNNER_STOP_NONE || end)
		return;
	if (self->progress < AV1D_RUNNER_ABORT_MIN_PROGRESS)
		return;
	if ((gdouble)self->projected_bytes <=
	    (gdouble)self->max_projected_bytes * AV1D_RUNNER_ABORT_MARGIN)
		return;
	projected = g_format_size(self->projected_bytes);
	limit = g_format_size(self->max_projected_bytes);
	source = g_format_size(self->source_bytes);
	/* Translators: the projected output size, the limit (max_size_ratio of
	 * the source), the percentage encoded so far, then the source size */
	self->abort_message = g_strdup_printf(_("aborted early: projected size %s exceeds %s "
						"(%.0f%% encoded, source %s)"),
					      projected, limit, self->progress * 100, source);
	g_info("%s: %s", av1d_runner_name(self), self->abort_message);
	av1d_runner_stop(self, AV1D_RUNNER_STOP_TOO_BIG);
}

static void
av1d_runner_publish(Av1dRunner *self, gboolean end)
{
	gdouble progress = 0;
	guint64 projected = 0;

	if (self->duration_us > 0)
		progress = CLAMP((gdouble)self->block.out_time_us / (gdouble)self->duration_us, 0.0,
				 1.0);
	if (end)
		progress = 1.0;
	if (progress > 0)
		projected = (guint64)((gdouble)self->block.total_size / progress);

	g_object_freeze_notify(G_OBJECT(self));
	av1d_runner_set_double(self, &self->progress, progress, PROP_PROGRESS);
	av1d_runner_set_double(self, &self->fps, self->block.fps, PROP_FPS);
	av1d_runner_set_double(self, &self->speed, self->block.speed, PROP_SPEED);
	av1d_runner_set_int64(self, &self->out_time_us, self->block.out_time_us, PROP_OUT_TIME_US);
	av1d_runner_set_uint64(self, &self->total_size, self->block.total_size, PROP_TOTAL_SIZE);
	av1d_runner_set_uint64(self, &self->projected_bytes, projected, PROP_PROJECTED_BYTES);
	av1d_runner_set_int64(self, &self->eta_seconds,
			      av1d_runner_compute_eta(self, progress, end), PROP_ETA_SECONDS);
	g_object_thaw_notify(G_OBJECT(self));
	g_signal_emit(self, signals[SIGNAL_PROGRESS], 0);
	av1d_runner_check_size(self, end);
}

/* ffmpeg prints "N/A" for unknown values: keep the previous one then */
static void
av1d_parse_double(const gchar *value, gdouble *out)
{
	gchar *end = NULL;
	gdouble v = g_ascii_strtod(value, &end);

	if (end != value && isfinite(v) && v >= 0)
		*out = v;
}

static void
av1d_parse_int64(const gchar *value, gint64 *out)
{
	gint64 v;

	if (g_ascii_string_to_signed(value, 10, G_MININT64, G_MAXINT64, &v, NULL))
		*out = MAX(v, 0);
}

static void
av1d_parse_uint64(const gchar *value, guint64 *out)
{
	guint64 v;

	if (g_ascii_string_to_unsigned(value, 10, 0, G_MAXUINT64, &v, NULL))
		*out = v;
}

/* one "key=value" line of `-progress`; a block ends with progress=... */
static void
av1d_runner_parse_line(Av1dRunner *self, const gchar *line)
{
	const gchar *eq = strchr(line, '=');
	g_autofree gchar *key = NULL;
	g_autofree gchar *value = NULL;

	if (eq == NULL)
		return;
	key = g_strstrip(g_strndup(line, eq - line));
	value = g_strstrip(g_strdup(eq + 1));
	/* out_time_ms is µs too, a historical misnomer in ffmpeg */
	if (g_str_equal(key, "out_time_us") || g_str_equal(key, "out_time_ms"))
		av1d_parse_int64(value, &self->block.out_time_us);
	else if (g_str_equal(key, "fps"))
		av1d_parse_double(value, &self->block.fps);
	else if (g_str_equal(key, "speed"))
		av1d_parse_double(value, &self->block.speed);
	else if (g_str_equal(key, "total_size"))
		av1d_parse_uint64(value, &self->block.total_size);
	else if (g_str_equal(key, "progress"))
		av1d_runner_publish(self, g_str_equal(value, "end"));
}

/* --- the run ------------------------------------------------------------- */

static gboolean
av1d_runner_check_exit(Av1dRunner *self, GError **error)
{
	g_autofree gchar *lines = NULL;

	if (self->stop == AV1D_RUNNER_STOP_TOO_BIG) {
		g_set_error_literal(error, AV1D_ERROR, AV1D_ERROR_FAILED, self->abort_message);
		return FALSE;
	}
	if (self->stop == AV1D_RUNNER_STOP_CANCELLED) {
		/* Translators: %s is the program, e.g. ffmpeg or docker */
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_CANCELLED, _("%s cancelled"),
			    av1d_runner_name(self));
		return FALSE;
	}
	if (g_subprocess_get_if_exited(self->proc) && g_subprocess_get_exit_status(self->proc) == 0)
		return TRUE;
	lines = av1d_runner_stderr_last_lines(self);
	if (g_subprocess_get_if_signaled(self->proc)) {
		gint sig = g_subprocess_get_term_sig(self->proc);

		g_set_error(error, AV1D_ERROR, AV1D_ERROR_ENCODE_FAILED,
			    /* Translators: the program (e.g. ffmpeg), the signal
			     * number and name, then its last lines on stderr */
			    _("%s was killed by signal %d (%s): %s"), av1d_runner_name(self), sig,
			    g_strsignal(sig), lines);
		return FALSE;
	}
	g_set_error(error, AV1D_ERROR, AV1D_ERROR_ENCODE_FAILED,
		    /* Translators: the program (e.g. ffmpeg), its exit status, then
		     * its last lines on stderr */
		    _("%s exited with status %d: %s"), av1d_runner_name(self),
		    g_subprocess_get_exit_status(self->proc), lines);
	return FALSE;
}

static void
av1d_runner_complete(Av1dRunner *self)
{
	g_autoptr(GTask) task = g_steal_pointer(&self->task);
	g_autoptr(GError) error = NULL;
	gboolean ok;

	av1d_clear_source(&self->cancel_source);
	av1d_clear_source(&self->kill_source);
	av1d_clear_source(&self->drain_source);
	ok = av1d_runner_check_exit(self, &error);
	g_debug("%s finished: %s", av1d_runner_name(self), ok ? "ok" : error->message);
	g_clear_object(&self->stdout_stream);
	g_clear_object(&self->io_cancellable);
	/* after returning, the task may hold the last reference to self */
	if (ok)
		g_task_return_boolean(task, TRUE);
	else
		g_task_return_error(task, g_steal_pointer(&error));
}

static void
av1d_runner_op_done(Av1dRunner *self)
{
	g_return_if_fail(self->pending > 0);
	if (--self->pending == 0)
		av1d_runner_complete(self);
}

static void
av1d_runner_stdout_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Av1dRunner *self = AV1D_RUNNER(user_data);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *line = NULL;

	line = g_data_input_stream_read_line_finish(G_DATA_INPUT_STREAM(source), res, NULL, &error);
	if (line == NULL) {
		if (error != NULL && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			g_debug("reading progress: %s", error->message);
		av1d_runner_op_done(self);
		return;
	}
	av1d_runner_parse_line(self, line);
	g_data_input_stream_read_line_async(self->stdout_stream, G_PRIORITY_DEFAULT,
					    self->io_cancellable, av1d_runner_stdout_cb, self);
}

static void
av1d_runner_stderr_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Av1dRunner *self = AV1D_RUNNER(user_data);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) bytes = NULL;

	bytes = g_input_stream_read_bytes_finish(G_INPUT_STREAM(source), res, &error);
	if (bytes == NULL || g_bytes_get_size(bytes) == 0) {
		if (error != NULL && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			g_debug("reading stderr: %s", error->message);
		av1d_runner_op_done(self);
		return;
	}
	av1d_runner_keep_stderr(self, g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
	g_input_stream_read_bytes_async(G_INPUT_STREAM(source), AV1D_RUNNER_READ_CHUNK,
					G_PRIORITY_DEFAULT, self->io_cancellable,
					av1d_runner_stderr_cb, self);
}

static gboolean
av1d_runner_drain_timeout_cb(gpointer user_data)
{
	Av1dRunner *self = AV1D_RUNNER(user_data);

	g_debug("%s exited but its pipes stay open; giving up on them", av1d_runner_name(self));
	av1d_clear_source(&self->drain_source);
	g_cancellable_cancel(self->io_cancellable);
	return G_SOURCE_REMOVE;
}

static void
av1d_runner_wait_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Av1dRunner *self = AV1D_RUNNER(user_data);
	g_autoptr(GError) error = NULL;

	if (!g_subprocess_wait_finish(G_SUBPROCESS(source), res, &error))
		g_debug("waiting for %s: %s", av1d_runner_name(self), error->message);
	self->exited = TRUE;
	av1d_clear_source(&self->kill_source);
	/* a client that did not end well may leave its container behind: never
	 * started (killed between create and start) or still running (the
	 * client was killed); make sure that none writes on after we return */
	if (self->container_name != NULL && !g_subprocess_get_successful(self->proc))
		av1d_runner_docker(self, "rm", "--force");
	self->drain_source =
		av1d_runner_add_timeout(self, AV1D_RUNNER_DRAIN_TIMEOUT_MS, "av1d-runner-drain",
					av1d_runner_drain_timeout_cb);
	av1d_runner_op_done(self);
}

/* --- stopping ------------------------------------------------------------ */

static void
av1d_runner_docker_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Av1dRunner *self = AV1D_RUNNER(user_data);
	GSubprocess *proc = G_SUBPROCESS(source);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *err = NULL;

	if (!g_subprocess_communicate_utf8_finish(proc, res, NULL, &err, &error)) {
		/* the docker daemon hangs; do not wait for it forever */
		g_subprocess_force_exit(proc);
		g_debug("docker on %s: %s", self->container_name, error->message);
	} else if (!g_subprocess_get_successful(proc)) {
		/* mostly "No such container": it was gone already */
		g_debug("docker on %s: %s", self->container_name,
			err != NULL ? g_strstrip(err) : "failed");
	} else {
		g_debug("docker on %s: done", self->container_name);
	}
	av1d_runner_op_done(self);
}

/* `docker <verb> [<option>] <container>`; the task waits for it */
static void
av1d_runner_docker(Av1dRunner *self, const gchar *verb, const gchar *option)
{
	const gchar *argv[] = {self->docker_bin, verb, option != NULL ? option : self->container_name,
			       option != NULL ? self->container_name : NULL, NULL};
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;

	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
					     G_SUBPROCESS_FLAGS_STDERR_PIPE);
	if (self->envp != NULL)
		g_subprocess_launcher_set_environ(launcher, self->envp);
	proc = g_subprocess_launcher_spawnv(launcher, argv, &error);
	if (proc == NULL) {
		g_debug("docker %s %s: %s", verb, self->container_name, error->message);
		return;
	}
	g_debug("docker %s %s", verb, self->container_name);
	self->pending++;
	g_subprocess_communicate_utf8_async(proc, NULL, self->io_cancellable,
					    av1d_runner_docker_cb, self);
}

static gboolean
av1d_runner_kill_timeout_cb(gpointer user_data)
{
	Av1dRunner *self = AV1D_RUNNER(user_data);

	g_debug("%s ignored SIGTERM; killing it", av1d_runner_name(self));
	av1d_clear_source(&self->kill_source);
	g_subprocess_force_exit(self->proc);
	return G_SOURCE_REMOVE;
}

static void
av1d_runner_stop(Av1dRunner *self, Av1dRunnerStop why)
{
	if (self->task == NULL || self->stop != AV1D_RUNNER_STOP_NONE)
		return;
	self->stop = why;
	if (self->exited)
		return;
	g_subprocess_send_signal(self->proc, SIGTERM);
	self->kill_source = av1d_runner_add_timeout(self, self->kill_timeout_ms, "av1d-runner-kill",
						    av1d_runner_kill_timeout_cb);
	/* the docker client only watches the container: killing it leaves the
	 * encode running, so kill the container by name too */
	if (self->container_name != NULL)
		av1d_runner_docker(self, "kill", NULL);
}

/**
 * av1d_runner_cancel:
 *
 * Stops a running encode: SIGTERM, SIGKILL after the kill timeout, and
 * `docker kill` of the container. The task then returns AV1D_ERROR_CANCELLED.
 * Does nothing when nothing runs.
 */
void
av1d_runner_cancel(Av1dRunner *self)
{
	g_return_if_fail(AV1D_IS_RUNNER(self));
	av1d_runner_stop(self, AV1D_RUNNER_STOP_CANCELLED);
}

static gboolean
av1d_runner_cancelled_cb(GCancellable *cancellable, gpointer user_data)
{
	Av1dRunner *self = AV1D_RUNNER(user_data);

	av1d_clear_source(&self->cancel_source);
	av1d_runner_cancel(self);
	return G_SOURCE_REMOVE;
}

/* --- starting ------------------------------------------------------------ */

static GSubprocess *
av1d_runner_spawn(Av1dRunner *self, GError **error)
{
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GError) error_local = NULL;
	GSubprocess *proc;

	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE |
					     G_SUBPROCESS_FLAGS_STDERR_PIPE);
	if (self->envp != NULL)
		g_subprocess_launcher_set_environ(launcher, self->envp);
	proc = g_subprocess_launcher_spawnv(launcher, (const gchar *const *)self->argv,
					    &error_local);
	if (proc != NULL)
		return proc;
	g_set_error(error, AV1D_ERROR,
		    g_error_matches(error_local, G_SPAWN_ERROR, G_SPAWN_ERROR_NOENT)
			    ? AV1D_ERROR_NOT_FOUND
			    : AV1D_ERROR_ENCODE_FAILED,
		    /* Translators: the program, then the system's error */
		    _("cannot start %s: %s"), self->argv[0], error_local->message);
	return NULL;
}

static void
av1d_runner_watch(Av1dRunner *self, GCancellable *cancellable)
{
	GInputStream *err = g_subprocess_get_stderr_pipe(self->proc);

	self->io_cancellable = g_cancellable_new();
	self->stdout_stream = g_data_input_stream_new(g_subprocess_get_stdout_pipe(self->proc));
	g_data_input_stream_set_newline_type(self->stdout_stream, G_DATA_STREAM_NEWLINE_TYPE_ANY);
	self->pending = 3;
	g_subprocess_wait_async(self->proc, NULL, av1d_runner_wait_cb, self);
	g_data_input_stream_read_line_async(self->stdout_stream, G_PRIORITY_DEFAULT,
					    self->io_cancellable, av1d_runner_stdout_cb, self);
	g_input_stream_read_bytes_async(err, AV1D_RUNNER_READ_CHUNK, G_PRIORITY_DEFAULT,
					self->io_cancellable, av1d_runner_stderr_cb, self);
	if (cancellable != NULL) {
		self->cancel_source = g_cancellable_source_new(cancellable);
		g_source_set_static_name(self->cancel_source, "av1d-runner-cancel");
		g_source_set_callback(self->cancel_source, G_SOURCE_FUNC(av1d_runner_cancelled_cb),
				      self, NULL);
		g_source_attach(self->cancel_source, self->context);
	}
}

/**
 * av1d_runner_start:
 *
 * Runs the argv once; a runner cannot be started twice. The callback runs
 * on the thread-default main context of the caller.
 */
void
av1d_runner_start(Av1dRunner *self,
		  GCancellable *cancellable,
		  GAsyncReadyCallback callback,
		  gpointer user_data)
{
	g_autoptr(GTask) task = NULL;
	g_autoptr(GError) error = NULL;

	g_return_if_fail(AV1D_IS_RUNNER(self));
	g_return_if_fail(!self->started);
	g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));

	self->started = TRUE;
	task = g_task_new(self, cancellable, callback, user_data);
	g_task_set_source_tag(task, av1d_runner_start);
	/* our own result says best what happened (cancelled, aborted, done) */
	g_task_set_check_cancellable(task, FALSE);
	if (g_cancellable_set_error_if_cancelled(cancellable, &error)) {
		av1d_error_convert(&error);
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	self->proc = av1d_runner_spawn(self, &error);
	if (self->proc == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	g_debug("started %s (pid %s)", self->argv[0], g_subprocess_get_identifier(self->proc));
	self->context = g_main_context_ref_thread_default();
	self->start_time = g_get_monotonic_time();
	self->task = g_steal_pointer(&task);
	av1d_runner_watch(self, cancellable);
}

gboolean
av1d_runner_finish(Av1dRunner *self, GAsyncResult *res, GError **error)
{
	g_return_val_if_fail(AV1D_IS_RUNNER(self), FALSE);
	g_return_val_if_fail(g_task_is_valid(res, self), FALSE);
	return g_task_propagate_boolean(G_TASK(res), error);
}

/* --- construction -------------------------------------------------------- */

/**
 * av1d_runner_new:
 * @argv: the encode, argv[0] first (found in PATH)
 * @duration_us: the source's duration, for progress; 0 if unknown
 * @source_bytes: the source's size, for the early-abort message
 */
Av1dRunner *
av1d_runner_new(const gchar *const *argv, gint64 duration_us, guint64 source_bytes)
{
	Av1dRunner *self;

	g_return_val_if_fail(argv != NULL && argv[0] != NULL, NULL);
	g_return_val_if_fail(duration_us >= 0, NULL);

	self = g_object_new(AV1D_TYPE_RUNNER, NULL);
	self->argv = g_strdupv((gchar **)argv);
	self->duration_us = duration_us;
	self->source_bytes = source_bytes;
	return self;
}

/* the encode runs in container @container_name: cancelling also runs
 * `@docker_bin kill @container_name` */
void
av1d_runner_set_container(Av1dRunner *self, const gchar *docker_bin, const gchar *container_name)
{
	g_return_if_fail(AV1D_IS_RUNNER(self));
	g_return_if_fail(!self->started);

	g_free(self->docker_bin);
	self->docker_bin = g_strdup(docker_bin != NULL ? docker_bin : "docker");
	g_free(self->container_name);
	self->container_name = g_strdup(container_name);
}

/* the environment of the encode (and of `docker kill`): ours plus this */
void
av1d_runner_setenv(Av1dRunner *self, const gchar *variable, const gchar *value)
{
	g_return_if_fail(AV1D_IS_RUNNER(self));
	g_return_if_fail(variable != NULL);
	g_return_if_fail(!self->started);

	if (self->envp == NULL)
		self->envp = g_get_environ();
	if (value != NULL)
		self->envp = g_environ_setenv(self->envp, variable, value, TRUE);
	else
		self->envp = g_environ_unsetenv(self->envp, variable);
}

/* stop early, with an error, when the projected output size passes this
 * (with the margin) after 10 % of the duration; 0 disables */
void
av1d_runner_set_max_projected_bytes(Av1dRunner *self, guint64 max_bytes)
{
	g_return_if_fail(AV1D_IS_RUNNER(self));
	self->max_projected_bytes = max_bytes;
}

/* how long a cancelled encode may take to honour SIGTERM */
void
av1d_runner_set_kill_timeout(Av1dRunner *self, guint timeout_ms)
{
	g_return_if_fail(AV1D_IS_RUNNER(self));
	self->kill_timeout_ms = timeout_ms;
}

const gchar *const *
av1d_runner_get_argv(Av1dRunner *self)
{
	g_return_val_if_fail(AV1D_IS_RUNNER(self), NULL);
	return (const gchar *const *)self->argv;
}

gdouble
av1d_runner_get_progress(Av1dRunner *self)
{
	g_return_val_if_fail(AV1D_IS_RUNNER(self), 0);
	return self->progress;
}

gdouble
av1d_runner_get_fps(Av1dRunner *self)
{
	g_return_val_if_fail(AV1D_IS_RUNNER(self), 0);
	return self->fps;
}

gdouble
av1d_runner_get_speed(Av1dRunner *self)
{
	g_return_val_if_fail(AV1D_IS_RUNNER(self), 0);
	return self->speed;
}

/* -1 when unknown */
gint64
av1d_runner_get_eta_seconds(Av1dRunner *self)
{
	g_return_val_if_fail(AV1D_IS_RUNNER(self), -1);
	return self->eta_seconds;
}

gint64
av1d_runner_get_out_time_us(Av1dRunner *self)
{
	g_return_val_if_fail(AV1D_IS_RUNNER(self), 0);
	return self->out_time_us;
}

guint64
av1d_runner_get_total_size(Av1dRunner *self)
{
	g_return_val_if_fail(AV1D_IS_RUNNER(self), 0);
	return self->total_size;
}

/* total_size / progress: the final size if the rest encodes alike */
guint64
av1d_runner_get_projected_bytes(Av1dRunner *self)
{
	g_return_val_if_fail(AV1D_IS_RUNNER(self), 0);
	return self->projected_bytes;
}

gboolean
av1d_runner_was_aborted_for_size(Av1dRunner *self)
{
	g_return_val_if_fail(AV1D_IS_RUNNER(self), FALSE);
	return self->stop == AV1D_RUNNER_STOP_TOO_BIG;
}

static void
av1d_runner_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
	Av1dRunner *self = AV1D_RUNNER(object);

	switch (prop_id) {
	case PROP_PROGRESS:
		g_value_set_double(value, self->progress);
		break;
	case PROP_FPS:
		g_value_set_double(value, self->fps);
		break;
	case PROP_SPEED:
		g_value_set_double(value, self->speed);
		break;
	case PROP_ETA_SECONDS:
		g_value_set_int64(value, self->eta_seconds);
		break;
	case PROP_OUT_TIME_US:
		g_value_set_int64(value, self->out_time_us);
		break;
	case PROP_TOTAL_SIZE:
		g_value_set_uint64(value, self->total_size);
		break;
	case PROP_PROJECTED_BYTES:
		g_value_set_uint64(value, self->projected_bytes);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		break;
	}
}

static void
av1d_runner_finalize(GObject *object)
{
	Av1dRunner *self = AV1D_RUNNER(object);

	g_strfreev(self->argv);
	g_strfreev(self->envp);
	g_free(self->docker_bin);
	g_free(self->container_name);
	g_free(self->abort_message);
	g_clear_object(&self->proc);
	g_clear_object(&self->stdout_stream);
	g_clear_object(&self->io_cancellable);
	g_clear_pointer(&self->context, g_main_context_unref);
	g_byte_array_unref(self->stderr_tail);
	G_OBJECT_CLASS(av1d_runner_parent_class)->finalize(object);
}

static void
av1d_runner_init(Av1dRunner *self)
{
	self->kill_timeout_ms = AV1D_RUNNER_KILL_TIMEOUT_MS;
	self->eta_seconds = -1;
	self->stderr_tail = g_byte_array_sized_new(AV1D_RUNNER_STDERR_TAIL_BYTES);
}

static void
av1d_runner_class_init(Av1dRunnerClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	const GParamFlags flags =
		G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

	object_class->get_property = av1d_runner_get_property;
	object_class->finalize = av1d_runner_finalize;

	props[PROP_PROGRESS] = g_param_spec_double("progress", NULL, NULL, 0, 1, 0, flags);
	props[PROP_FPS] = g_param_spec_double("fps", NULL, NULL, 0, G_MAXDOUBLE, 0, flags);
	props[PROP_SPEED] = g_param_spec_double("speed", NULL, NULL, 0, G_MAXDOUBLE, 0, flags);
	props[PROP_ETA_SECONDS] =
		g_param_spec_int64("eta-seconds", NULL, NULL, -1, G_MAXINT64, -1, flags);
	props[PROP_OUT_TIME_US] =
		g_param_spec_int64("out-time-us", NULL, NULL, 0, G_MAXINT64, 0, flags);
	props[PROP_TOTAL_SIZE] =
		g_param_spec_uint64("total-size", NULL, NULL, 0, G_MAXUINT64, 0, flags);
	props[PROP_PROJECTED_BYTES] =
		g_param_spec_uint64("projected-bytes", NULL, NULL, 0, G_MAXUINT64, 0, flags);
	g_object_class_install_properties(object_class, PROP_LAST, props);

	/* once per -progress block, after the properties have changed */
	signals[SIGNAL_PROGRESS] =
		g_signal_new("progress", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
			     NULL, G_TYPE_NONE, 0);
}
