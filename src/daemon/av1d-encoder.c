#define G_LOG_DOMAIN "av1d-encoder"

#include "config.h"

#include <errno.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>

#include "av1d-encoder.h"
#include "av1d-error.h"
#include "av1d-plan.h"

/* the AV1 encoders we look for, in order of preference */
static const gchar *const av1_encoder_names[] = {"av1_qsv", "libsvtav1", "libaom-av1", "librav1e",
						 NULL};

/* what the software backend can drive, in order of preference (SPEC 6) */
static const gchar *const software_encoder_names[] = {"libsvtav1", "libaom-av1", NULL};

Av1dRenderNode *
av1d_render_node_new(const gchar *path)
{
	Av1dRenderNode *self = g_new0(Av1dRenderNode, 1);

	self->path = g_strdup(path);
	return self;
}

void
av1d_render_node_free(Av1dRenderNode *self)
{
	if (self == NULL)
		return;
	g_free(self->path);
	g_free(self->group_name);
	g_free(self->access_error);
	g_free(self);
}

Av1dEncoderProbe *
av1d_encoder_probe_new(void)
{
	Av1dEncoderProbe *self = g_new0(Av1dEncoderProbe, 1);

	self->render_nodes = g_ptr_array_new_with_free_func((GDestroyNotify)av1d_render_node_free);
	self->notes = g_ptr_array_new_with_free_func(g_free);
	self->ffmpeg_av1_encoders = g_new0(gchar *, 1);
	return self;
}

void
av1d_encoder_probe_free(Av1dEncoderProbe *self)
{
	if (self == NULL)
		return;
	g_free(self->docker_bin);
	g_free(self->docker_server_version);
	g_free(self->docker_error);
	g_free(self->docker_image);
	g_free(self->image_id);
	g_free(self->image_error);
	g_free(self->gpu_device);
	g_ptr_array_unref(self->render_nodes);
	g_free(self->render_error);
	g_ptr_array_unref(self->notes);
	g_free(self->ffmpeg_bin);
	g_free(self->ffmpeg_version);
	g_free(self->ffmpeg_error);
	g_strfreev(self->ffmpeg_av1_encoders);
	g_free(self->ffprobe_bin);
	g_free(self->ffprobe_version);
	g_free(self->ffprobe_error);
	g_free(self);
}

/* --- bounded subprocesses ------------------------------------------------ */

/* after killing a command, how long its pipes may stay open (held by a
 * grandchild) before we stop reading them */
#define AV1D_ENCODER_DRAIN_TIMEOUT_MS 1000

typedef struct {
	GSubprocess *proc;
	GMainContext *context;
	GCancellable *io_cancellable; /* gives up on the pipes */
	GSource *drain_source;
	GBytes *out;
	GBytes *err;
	GError *error;
	gboolean done;
	gboolean killed;
	gboolean timed_out;
	gboolean cancelled;
} Av1dBoundedRun;

/* what one finished probing command said */
typedef struct {
	gchar *out;	    /* stdout, valid UTF-8 */
	gchar *err;	    /* stderr, valid UTF-8, stripped */
	gboolean started;   /* the executable could be run */
	gboolean timed_out; /* and was killed for taking too long */
	gboolean ok;	    /* exited with status 0 */
} Av1dCommandOutput;

static void
av1d_command_output_clear(Av1dCommandOutput *self)
{
	g_clear_pointer(&self->out, g_free);
	g_clear_pointer(&self->err, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Av1dCommandOutput, av1d_command_output_clear)

static void
av1d_bounded_run_done_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Av1dBoundedRun *run = user_data;

	g_subprocess_communicate_finish(G_SUBPROCESS(source), res, &run->out, &run->err,
					&run->error);
	run->done = TRUE;
}

static gboolean
av1d_bounded_run_drain_cb(gpointer user_data)
{
	Av1dBoundedRun *run = user_data;

	g_cancellable_cancel(run->io_cancellable);
	return G_SOURCE_REMOVE;
}

/* kill the command, then let communicate() see the pipes close so that it
 * finishes cleanly; give up on the pipes only if something else holds them */
static void
av1d_bounded_run_kill(Av1dBoundedRun *run)
{
	if (run->killed)
		return;
	run->killed = TRUE;
	g_subprocess_force_exit(run->proc);
	run->drain_source = g_timeout_source_new(AV1D_ENCODER_DRAIN_TIMEOUT_MS);
	g_source_set_callback(run->drain_source, av1d_bounded_run_drain_cb, run, NULL);
	g_source_attach(run->drain_source, run->context);
}

static gboolean
av1d_bounded_run_timeout_cb(gpointer user_data)
{
	Av1dBoundedRun *run = user_data;

	run->timed_out = TRUE;
	av1d_bounded_run_kill(run);
	return G_SOURCE_REMOVE;
}

static gboolean
av1d_bounded_run_cancelled_cb(GCancellable *cancellable, gpointer user_data)
{
	Av1dBoundedRun *run = user_data;

	run->cancelled = TRUE;
	av1d_bounded_run_kill(run);
	return G_SOURCE_REMOVE;
}

static gchar *
av1d_bytes_to_utf8(GBytes *bytes)
{
	gsize len = 0;
	const gchar *data;

	if (bytes == NULL)
		return g_strdup("");
	data = g_bytes_get_data(bytes, &len);
	return g_utf8_make_valid(data != NULL ? data : "", len);
}

static GSource *
av1d_bounded_run_attach(Av1dBoundedRun *run, GSource *source, GSourceFunc func)
{
	g_source_set_callback(source, func, run, NULL);
	g_source_attach(source, run->context);
	return source;
}

/* spin a private main context until the communication ends; it is private
 * so that nothing else of the daemon runs meanwhile */
static void
av1d_bounded_run_iterate(Av1dBoundedRun *run, guint timeout_ms, GCancellable *cancellable)
{
	g_autoptr(GSource) timeout = NULL;
	g_autoptr(GSource) cancel = NULL;

	run->context = g_main_context_new();
	run->io_cancellable = g_cancellable_new();
	g_main_context_push_thread_default(run->context);
	timeout = av1d_bounded_run_attach(run, g_timeout_source_new(timeout_ms),
					  av1d_bounded_run_timeout_cb);
	if (cancellable != NULL)
		cancel = av1d_bounded_run_attach(run, g_cancellable_source_new(cancellable),
						 G_SOURCE_FUNC(av1d_bounded_run_cancelled_cb));
	g_subprocess_communicate_async(run->proc, NULL, run->io_cancellable,
				       av1d_bounded_run_done_cb, run);
	while (!run->done)
		g_main_context_iteration(run->context, TRUE);
	g_source_destroy(timeout);
	if (cancel != NULL)
		g_source_destroy(cancel);
	if (run->drain_source != NULL) {
		g_source_destroy(run->drain_source);
		g_source_unref(run->drain_source);
	}
	g_main_context_pop_thread_default(run->context);
	g_main_context_unref(run->context);
	g_object_unref(run->io_cancellable);
}

/* how the run ended, for a run that was not cut short */
static gboolean
av1d_bounded_run_check(Av1dBoundedRun *run, guint timeout_ms, GError **error)
{
	if (run->cancelled) {
		g_clear_error(&run->error);
		g_set_error_literal(error, AV1D_ERROR, AV1D_ERROR_CANCELLED,
				    _("probing cancelled"));
		return FALSE;
	}
	if (run->timed_out) {
		g_clear_error(&run->error);
		/* Translators: a command gave no answer in this many seconds */
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_FAILED, _("no answer within %u s"),
			    (timeout_ms + 999) / 1000);
		return FALSE;
	}
	if (run->error != NULL) {
		av1d_error_convert(&run->error);
		g_propagate_error(error, g_steal_pointer(&run->error));
		return FALSE;
	}
	return TRUE;
}

/* run @argv to its end, never longer than @timeout_ms; FALSE when it could
 * not be started, timed out or was cancelled, else @output says how it ended */
static gboolean
av1d_encoder_run_bounded(const gchar *const *argv,
			 guint timeout_ms,
			 GCancellable *cancellable,
			 Av1dCommandOutput *output,
			 GError **error)
{
	g_autoptr(GSubprocess) proc = NULL;
	g_autofree gchar *err = NULL;
	Av1dBoundedRun run = {0};

	if (g_cancellable_set_error_if_cancelled(cancellable, error)) {
		av1d_error_convert(error);
		return FALSE;
	}
	proc = g_subprocess_newv(
		argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, error);
	if (proc == NULL)
		return FALSE;
	output->started = TRUE;
	run.proc = proc;
	av1d_bounded_run_iterate(&run, timeout_ms, cancellable);
	output->timed_out = run.timed_out;
	output->out = av1d_bytes_to_utf8(run.out);
	err = av1d_bytes_to_utf8(run.err);
	output->err = g_strdup(g_strstrip(err));
	g_clear_pointer(&run.out, g_bytes_unref);
	g_clear_pointer(&run.err, g_bytes_unref);
	if (!av1d_bounded_run_check(&run, timeout_ms, error))
		return FALSE;
	output->ok = g_subprocess_get_if_exited(proc) && g_subprocess_get_exit_status(proc) == 0;
	return TRUE;
}

/* a bounded run whose only fatal failure is cancellation; anything else is
 * noted in @failure, for the probe to record */
static gboolean
av1d_encoder_ask(const gchar *const *argv,
		 guint timeout_ms,
		 GCancellable *cancellable,
		 Av1dCommandOutput *output,
		 gchar **failure,
		 GError **error)
{
	g_autoptr(GError) error_local = NULL;

	if (av1d_encoder_run_bounded(argv, timeout_ms, cancellable, output, &error_local))
		return TRUE;
	if (g_error_matches(error_local, AV1D_ERROR, AV1D_ERROR_CANCELLED)) {
		g_propagate_error(error, g_steal_pointer(&error_local));
		return FALSE;
	}
	*failure = g_strdup_printf("`%s %s`: %s", argv[0], argv[1], error_local->message);
	return TRUE;
}

static gchar *
av1d_first_line(const gchar *text)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", 2);

	if (lines[0] == NULL || g_strstrip(lines[0])[0] == '\0')
		return NULL;
	return g_strdup(lines[0]);
}

/* --- docker -------------------------------------------------------------- */

/* the docker client's complaint without its warnings ("WARNING: Error
 * loading config file ..." when $HOME has no .docker), which would hide the
 * line that says what went wrong; @fallback when it said nothing */
static gchar *
av1d_docker_error_text(const gchar *err, const gchar *fallback)
{
	g_auto(GStrv) lines = g_strsplit(err, "\n", -1);
	g_autoptr(GStrvBuilder) kept = g_strv_builder_new();
	g_auto(GStrv) text = NULL;

	for (guint i = 0; lines[i] != NULL; i++) {
		const gchar *line = g_strstrip(lines[i]);

		if (line[0] != '\0' && !g_str_has_prefix(line, "WARNING:"))
			g_strv_builder_add(kept, line);
	}
	text = g_strv_builder_end(kept);
	if (text[0] != NULL)
		return g_strjoinv("; ", text);
	return g_strdup(err[0] != '\0' ? err : fallback);
}

static gboolean
av1d_encoder_probe_docker_server(Av1dEncoderProbe *self,
				 guint timeout_ms,
				 GCancellable *cancellable,
				 GError **error)
{
	const gchar *argv[] = {self->docker_bin, "version", "--format", "{{.Server.Version}}",
			       NULL};
	g_auto(Av1dCommandOutput) output = {0};
	g_autofree gchar *failure = NULL;
	g_autofree gchar *version = NULL;

	if (!av1d_encoder_ask(argv, timeout_ms, cancellable, &output, &failure, error))
		return FALSE;
	if (failure != NULL) {
		/* a timeout means the client started but its daemon hangs */
		self->docker_client = output.started;
		self->docker_error = g_steal_pointer(&failure);
		return TRUE;
	}
	self->docker_client = TRUE;
	version = av1d_first_line(output.out);
	if (!output.ok || version == NULL) {
		self->docker_error =
			av1d_docker_error_text(output.err, _("the docker daemon gave no version"));
		return TRUE;
	}
	self->docker_server = TRUE;
	self->docker_server_version = g_steal_pointer(&version);
	return TRUE;
}

static gboolean
av1d_encoder_probe_docker_image(Av1dEncoderProbe *self,
				guint timeout_ms,
				GCancellable *cancellable,
				GError **error)
{
	const gchar *argv[] = {self->docker_bin,   "image", "inspect", "--format", "{{.Id}}",
			       self->docker_image, NULL};
	g_auto(Av1dCommandOutput) output = {0};
	g_autofree gchar *failure = NULL;
	g_autofree gchar *id = NULL;

	if (!av1d_encoder_ask(argv, timeout_ms, cancellable, &output, &failure, error))
		return FALSE;
	if (failure != NULL) {
		self->image_error = g_steal_pointer(&failure);
		return TRUE;
	}
	id = av1d_first_line(output.out);
	if (!output.ok || id == NULL) {
		self->image_error = av1d_docker_error_text(output.err, _("no image id"));
		return TRUE;
	}
	self->image_present = TRUE;
	self->image_id = g_steal_pointer(&id);
	return TRUE;
}

/* --- render nodes -------------------------------------------------------- */

/* sysfs knows the PCI vendor of a DRM node by its device number, which also
 * works for nodes reached through symlinks or given odd names */
static guint
av1d_render_node_read_vendor(const gchar *sysfs_dir, dev_t rdev)
{
	g_autofree gchar *dev = g_strdup_printf("%u:%u", major(rdev), minor(rdev));
	g_autofree gchar *path =
		g_build_filename(sysfs_dir, "dev", "char", dev, "device", "vendor", NULL);
	g_autofree gchar *contents = NULL;
	guint64 vendor;
	gchar *end = NULL;

	if (!g_file_get_contents(path, &contents, NULL, NULL))
		return 0;
	vendor = g_ascii_strtoull(g_strstrip(contents), &end, 16);
	if (end == contents || *end != '\0' || vendor > G_MAXUINT16)
		return 0;
	return (guint)vendor;
}

static gchar *
av1d_group_name(gid_t gid)
{
	struct group grp;
	struct group *result = NULL;
	gsize size = 16384;
	g_autofree gchar *buf = g_malloc(size);

	if (getgrgid_r(gid, &grp, buf, size, &result) != 0 || result == NULL)
		return NULL;
	return g_strdup(result->gr_name);
}

static Av1dRenderNode *
av1d_render_node_probe(const gchar *path, const struct stat *st, const gchar *sysfs_dir)
{
	g_autoptr(Av1dRenderNode) node = av1d_render_node_new(path);

	node->vendor_id = av1d_render_node_read_vendor(sysfs_dir, st->st_rdev);
	node->gid = st->st_gid;
	node->group_name = av1d_group_name(st->st_gid);
	if (access(path, R_OK | W_OK) == 0)
		node->accessible = TRUE;
	else
		node->access_error = g_strdup(g_strerror(errno));
	return g_steal_pointer(&node);
}

static gchar *
av1d_render_node_describe_group(const Av1dRenderNode *node)
{
	if (node->group_name != NULL)
		return g_strdup_printf("%s (gid %u)", node->group_name, node->gid);
	return g_strdup_printf("gid %u", node->gid);
}

static gchar *
av1d_render_node_access_problem(const Av1dRenderNode *node)
{
	g_autofree gchar *group = av1d_render_node_describe_group(node);

	/* Translators: the render node, the system's error, then the group
	 * (e.g. "render (gid 105)") */
	return g_strdup_printf(
		_("cannot open %s read-write: %s (add the daemon's user to group %s)"),
		node->path, node->access_error, group);
}

/* renderD128 before renderD129 before renderD1000 */
static gint
av1d_render_node_compare(gconstpointer a, gconstpointer b)
{
	const Av1dRenderNode *na = *(const Av1dRenderNode *const *)a;
	const Av1dRenderNode *nb = *(const Av1dRenderNode *const *)b;
	gsize la = strlen(na->path);
	gsize lb = strlen(nb->path);

	if (la != lb)
		return la < lb ? -1 : 1;
	return g_strcmp0(na->path, nb->path);
}

static void
av1d_encoder_scan_render_dir(Av1dEncoderProbe *self, const gchar *sysfs_dir)
{
	g_autoptr(GDir) dir = NULL;
	g_autoptr(GError) error_local = NULL;
	const gchar *name;

	dir = g_dir_open(self->gpu_device, 0, &error_local);
	if (dir == NULL) {
		self->render_error = g_strdup_printf(_("cannot read %s: %s"), self->gpu_device,
						     error_local->message);
		return;
	}
	while ((name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *path = NULL;
		struct stat st;

		if (!g_str_has_prefix(name, "renderD"))
			continue;
		path = g_build_filename(self->gpu_device, name, NULL);
		if (stat(path, &st) != 0 || !S_ISCHR(st.st_mode))
			continue;
		g_ptr_array_add(self->render_nodes, av1d_render_node_probe(path, &st, sysfs_dir));
	}
	g_ptr_array_sort(self->render_nodes, av1d_render_node_compare);
}

static gchar *
av1d_encoder_describe_vendors(const Av1dEncoderProbe *self)
{
	g_autoptr(GString) str = g_string_new(NULL);

	for (guint i = 0; i < self->render_nodes->len; i++) {
		const Av1dRenderNode *node = g_ptr_array_index(self->render_nodes, i);
		g_autofree gchar *base = g_path_get_basename(node->path);

		if (str->len > 0)
			g_string_append(str, ", ");
		if (node->vendor_id == 0)
			/* Translators: %s is a render node such as renderD128 */
			g_string_append_printf(str, _("%s: vendor unknown"), base);
		else
			/* Translators: a render node such as renderD128, then its
			 * PCI vendor id */
			g_string_append_printf(str, _("%s: vendor 0x%04x"), base, node->vendor_id);
	}
	return g_string_free(g_steal_pointer(&str), FALSE);
}

/* in a folder only an Intel node that we may open counts */
static void
av1d_encoder_pick_from_dir(Av1dEncoderProbe *self)
{
	const Av1dRenderNode *intel = NULL;
	g_autofree gchar *vendors = NULL;

	for (guint i = 0; i < self->render_nodes->len; i++) {
		const Av1dRenderNode *node = g_ptr_array_index(self->render_nodes, i);

		if (node->vendor_id != AV1D_PCI_VENDOR_INTEL)
			continue;
		if (node->accessible) {
			self->render_node = node;
			return;
		}
		if (intel == NULL)
			intel = node;
	}
	if (intel != NULL) {
		self->render_error = av1d_render_node_access_problem(intel);
		return;
	}
	if (self->render_nodes->len == 0) {
		self->render_error = g_strdup_printf(_("no render node in %s"), self->gpu_device);
		return;
	}
	vendors = av1d_encoder_describe_vendors(self);
	self->render_error =
		/* Translators: a folder, then the render nodes in it with their
		 * vendors (e.g. "renderD128: vendor 0x1002") */
		g_strdup_printf(_("no Intel render node in %s (%s)"), self->gpu_device, vendors);
}

/* a node named explicitly is used as given, with a note when sysfs cannot
 * confirm that it is Intel's */
static void
av1d_encoder_use_explicit_node(Av1dEncoderProbe *self,
			       const struct stat *st,
			       const gchar *sysfs_dir)
{
	Av1dRenderNode *node = av1d_render_node_probe(self->gpu_device, st, sysfs_dir);

	g_ptr_array_add(self->render_nodes, node);
	if (node->vendor_id == 0) {
		g_ptr_array_add(
			self->notes,
			/* Translators: %s is a render node; av1_qsv is an ffmpeg
			 * encoder name */
			g_strdup_printf(_("%s: cannot confirm an Intel GPU (sysfs vendor unknown); "
					  "av1_qsv only works on an Intel render node"),
					node->path));
	} else if (node->vendor_id != AV1D_PCI_VENDOR_INTEL) {
		g_ptr_array_add(
			self->notes,
			/* Translators: a render node, then its PCI vendor id;
			 * av1_qsv is an ffmpeg encoder name */
			g_strdup_printf(_("%s: cannot confirm an Intel GPU (sysfs vendor 0x%04x); "
					  "av1_qsv only works on an Intel render node"),
					node->path, node->vendor_id));
	}
	if (!node->accessible) {
		self->render_error = av1d_render_node_access_problem(node);
		return;
	}
	self->render_node = node;
}

static gboolean
av1d_encoder_probe_render_nodes(Av1dEncoderProbe *self, const gchar *sysfs_dir, GError **error)
{
	struct stat st;

	if (stat(self->gpu_device, &st) != 0) {
		gint errsv = errno;

		if (errsv == ENOENT)
			self->render_error = g_strdup_printf(_("no render node: %s does not exist"),
							     self->gpu_device);
		else
			self->render_error = g_strdup_printf(_("cannot look at %s: %s"),
							     self->gpu_device, g_strerror(errsv));
		return TRUE;
	}
	if (S_ISDIR(st.st_mode)) {
		self->gpu_device_is_dir = TRUE;
		av1d_encoder_scan_render_dir(self, sysfs_dir);
		if (self->render_error == NULL)
			av1d_encoder_pick_from_dir(self);
		return TRUE;
	}
	if (S_ISCHR(st.st_mode)) {
		av1d_encoder_use_explicit_node(self, &st, sysfs_dir);
		return TRUE;
	}
	g_set_error(error, AV1D_ERROR, AV1D_ERROR_CONFIG,
		    /* Translators: gpu_device is a config key, not translated */
		    _("gpu_device '%s' is not a character device"), self->gpu_device);
	return FALSE;
}

/* --- local ffmpeg -------------------------------------------------------- */

/* `ffmpeg -encoders` lines look like " V....D libaom-av1  libaom AV1 (codec av1)" */
static GStrv
av1d_encoder_parse_encoders(const gchar *text)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_autoptr(GHashTable) found = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	for (guint i = 0; lines[i] != NULL; i++) {
		g_auto(GStrv) words = g_strsplit_set(g_strstrip(lines[i]), " \t", 3);

		if (words[0] != NULL && words[1] != NULL)
			g_hash_table_add(found, g_strdup(words[1]));
	}
	for (guint i = 0; av1_encoder_names[i] != NULL; i++) {
		if (g_hash_table_contains(found, av1_encoder_names[i]))
			g_strv_builder_add(builder, av1_encoder_names[i]);
	}
	return g_strv_builder_end(builder);
}

/* `<bin> -version`: TRUE unless cancelled; the first line or the failure */
static gboolean
av1d_encoder_probe_version(const gchar *bin,
			   guint timeout_ms,
			   GCancellable *cancellable,
			   gchar **version,
			   gchar **failure,
			   GError **error)
{
	const gchar *argv[] = {bin, "-version", NULL};
	g_auto(Av1dCommandOutput) output = {0};

	if (!av1d_encoder_ask(argv, timeout_ms, cancellable, &output, failure, error))
		return FALSE;
	if (*failure != NULL)
		return TRUE;
	if (!output.ok) {
		/* Translators: a program (e.g. ffmpeg), then what it printed on
		 * stderr; "-version" is its option and stays as it is */
		*failure = g_strdup_printf(_("`%s -version` failed: %s"), bin, output.err);
		return TRUE;
	}
	*version = av1d_first_line(output.out);
	if (*version == NULL)
		*failure = g_strdup_printf(_("`%s -version` printed nothing"), bin);
	return TRUE;
}

static gboolean
av1d_encoder_probe_ffmpeg(Av1dEncoderProbe *self,
			  guint timeout_ms,
			  GCancellable *cancellable,
			  GError **error)
{
	const gchar *argv[] = {self->ffmpeg_bin, "-hide_banner", "-encoders", NULL};
	g_auto(Av1dCommandOutput) output = {0};
	g_autofree gchar *failure = NULL;

	if (!av1d_encoder_probe_version(self->ffmpeg_bin, timeout_ms, cancellable,
					&self->ffmpeg_version, &self->ffmpeg_error, error))
		return FALSE;
	if (!av1d_encoder_probe_version(self->ffprobe_bin, timeout_ms, cancellable,
					&self->ffprobe_version, &self->ffprobe_error, error))
		return FALSE;
	if (self->ffmpeg_version == NULL)
		return TRUE;
	if (!av1d_encoder_ask(argv, timeout_ms, cancellable, &output, &failure, error))
		return FALSE;
	if (failure == NULL && !output.ok)
		failure =
			/* Translators: the ffmpeg program, then what it printed on
			 * stderr; "-encoders" is its option and stays as it is */
			g_strdup_printf(_("`%s -encoders` failed: %s"), self->ffmpeg_bin,
					output.err);
	if (failure != NULL) {
		self->ffmpeg_error = g_steal_pointer(&failure);
		return TRUE;
	}
	g_strfreev(self->ffmpeg_av1_encoders);
	self->ffmpeg_av1_encoders = av1d_encoder_parse_encoders(output.out);
	return TRUE;
}

/* --- the machine --------------------------------------------------------- */

Av1dEncoderProbe *
av1d_encoder_probe_machine(const Av1dConfig *config, GCancellable *cancellable, GError **error)
{
	return av1d_encoder_probe_machine_full(config, "/sys", AV1D_ENCODER_PROBE_TIMEOUT_MS,
					       cancellable, error);
}

Av1dEncoderProbe *
av1d_encoder_probe_machine_full(const Av1dConfig *config,
				const gchar *sysfs_dir,
				guint timeout_ms,
				GCancellable *cancellable,
				GError **error)
{
	g_autoptr(Av1dEncoderProbe) self = av1d_encoder_probe_new();

	g_return_val_if_fail(config != NULL, NULL);
	g_return_val_if_fail(sysfs_dir != NULL, NULL);
	g_return_val_if_fail(timeout_ms > 0, NULL);

	self->docker_bin = g_strdup(config->docker_bin);
	self->docker_image = g_strdup(config->docker_image);
	self->gpu_device = g_strdup(config->gpu_device);
	self->ffmpeg_bin = g_strdup(config->ffmpeg_bin);
	self->ffprobe_bin = g_strdup(config->ffprobe_bin);
	self->uid = getuid();
	self->gid = getgid();

	if (!av1d_encoder_probe_render_nodes(self, sysfs_dir, error))
		return NULL;
	if (!av1d_encoder_probe_docker_server(self, timeout_ms, cancellable, error))
		return NULL;
	if (self->docker_server &&
	    !av1d_encoder_probe_docker_image(self, timeout_ms, cancellable, error))
		return NULL;
	if (!av1d_encoder_probe_ffmpeg(self, timeout_ms, cancellable, error))
		return NULL;
	return g_steal_pointer(&self);
}

gboolean
av1d_encoder_probe_has_encoder(const Av1dEncoderProbe *self, const gchar *name)
{
	g_return_val_if_fail(self != NULL, FALSE);
	return self->ffmpeg_av1_encoders != NULL &&
	       g_strv_contains((const gchar *const *)self->ffmpeg_av1_encoders, name);
}

/* the encoder the software backend should use, NULL when there is none */
const gchar *
av1d_encoder_probe_software_codec(const Av1dEncoderProbe *self)
{
	for (guint i = 0; software_encoder_names[i] != NULL; i++) {
		if (av1d_encoder_probe_has_encoder(self, software_encoder_names[i]))
			return software_encoder_names[i];
	}
	return NULL;
}

/* --- containers left behind --------------------------------------------- */

/* `docker rm --force` of a container that is already going: both mean that
 * nothing runs under that name any more */
static gboolean
av1d_encoder_rm_error_is_benign(const gchar *err)
{
	return strstr(err, "No such container") != NULL ||
	       strstr(err, "already in progress") != NULL;
}

/* "av1d-7\t7\tUp 3 seconds" lines of `docker ps`; the names, and in
 * @descriptions what each was, for the log */
static GStrv
av1d_encoder_parse_containers(const gchar *text, GPtrArray *descriptions)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	g_autoptr(GStrvBuilder) names = g_strv_builder_new();

	for (guint i = 0; lines[i] != NULL; i++) {
		g_auto(GStrv) fields = g_strsplit(g_strstrip(lines[i]), "\t", 3);

		if (fields[0] == NULL || fields[0][0] == '\0')
			continue;
		g_strv_builder_add(names, fields[0]);
		g_ptr_array_add(descriptions,
				g_strdup_printf("%s (job %s, %s)", fields[0],
						fields[1] != NULL && fields[1][0] != '\0'
						    ? fields[1]
						    : "unknown",
						fields[2] != NULL ? fields[2] : "state unknown"));
	}
	return g_strv_builder_end(names);
}

static gboolean
av1d_encoder_list_containers(const gchar *docker_bin,
			     const gchar *instance,
			     guint timeout_ms,
			     GCancellable *cancellable,
			     GStrv *names,
			     GPtrArray *descriptions,
			     GError **error)
{
	g_autofree gchar *filter = g_strdup_printf("label=" AV1D_DOCKER_LABEL_STATE "=%s", instance);
	const gchar *argv[] = {docker_bin, "ps",       "--all",
			       "--filter", filter,     "--format",
			       "{{.Names}}\t{{.Label \"" AV1D_DOCKER_LABEL_JOB "\"}}\t{{.Status}}",
			       NULL};
	g_auto(Av1dCommandOutput) output = {0};

	if (!av1d_encoder_run_bounded(argv, timeout_ms, cancellable, &output, error)) {
		g_prefix_error(error, "`%s ps`: ", docker_bin);
		return FALSE;
	}
	if (!output.ok) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_FAILED, "`%s ps` failed: %s", docker_bin,
			    output.err);
		return FALSE;
	}
	*names = av1d_encoder_parse_containers(output.out, descriptions);
	return TRUE;
}

/**
 * av1d_encoder_remove_orphans:
 * @instance: the daemon's instance id (Av1dBackendParams.instance)
 * @removed: (out) (optional): "av1d-7 (job 7, Up 3 seconds)" for each
 *   container removed
 *
 * Kills and removes every container labelled org.av1d.state=@instance: at
 * start-up no job of this daemon runs, so any such container was left by a
 * daemon that died (kill -9, power cut) while it encoded, and may still be
 * writing into the library. Containers of other daemons are never touched.
 */
gboolean
av1d_encoder_remove_orphans(const gchar *docker_bin,
			    const gchar *instance,
			    guint timeout_ms,
			    GCancellable *cancellable,
			    GPtrArray **removed,
			    GError **error)
{
	g_autoptr(GPtrArray) descriptions = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_auto(GStrv) names = NULL;
	g_auto(GStrv) argv = NULL;
	g_auto(Av1dCommandOutput) output = {0};

	g_return_val_if_fail(docker_bin != NULL, FALSE);
	g_return_val_if_fail(instance != NULL && instance[0] != '\0', FALSE);
	g_return_val_if_fail(timeout_ms > 0, FALSE);

	if (!av1d_encoder_list_containers(docker_bin, instance, timeout_ms, cancellable, &names,
					  descriptions, error))
		return FALSE;
	if (names[0] != NULL) {
		g_strv_builder_add_many(builder, docker_bin, "rm", "--force", NULL);
		g_strv_builder_addv(builder, (const gchar **)names);
		argv = g_strv_builder_end(builder);
		if (!av1d_encoder_run_bounded((const gchar *const *)argv, timeout_ms, cancellable,
					      &output, error)) {
			g_prefix_error(error, "`%s rm`: ", docker_bin);
			return FALSE;
		}
		if (!output.ok && !av1d_encoder_rm_error_is_benign(output.err)) {
			g_set_error(error, AV1D_ERROR, AV1D_ERROR_FAILED,
				    "`%s rm --force %s` failed: %s", docker_bin, names[0],
				    output.err);
			return FALSE;
		}
	}
	if (removed != NULL)
		*removed = g_steal_pointer(&descriptions);
	return TRUE;
}

/* --- the choice ---------------------------------------------------------- */

static void
av1d_problems_add(GString *problems, const gchar *problem)
{
	if (problems->len > 0)
		g_string_append(problems, "; ");
	g_string_append(problems, problem);
}

/* why docker-qsv cannot run here, or NULL when it can */
static gchar *
av1d_encoder_docker_qsv_problems(const Av1dEncoderProbe *probe)
{
	g_autoptr(GString) problems = g_string_new(NULL);

	if (!probe->docker_client) {
		/* Translators: the docker program, then why it cannot run */
		g_autofree gchar *msg = g_strdup_printf(_("cannot run %s: %s"), probe->docker_bin,
							probe->docker_error);
		av1d_problems_add(problems, msg);
	} else if (!probe->docker_server) {
		g_autofree gchar *msg =
			g_strdup_printf(_("docker daemon not reachable: %s"), probe->docker_error);
		av1d_problems_add(problems, msg);
	} else if (!probe->image_present) {
		/* Translators: the docker image, then the command that fetches it
		 * (`docker pull IMAGE`) */
		g_autofree gchar *msg = g_strdup_printf(_("image %s not present: run `%s pull %s`"),
							probe->docker_image, probe->docker_bin,
							probe->docker_image);
		av1d_problems_add(problems, msg);
	}
	if (probe->render_node == NULL)
		av1d_problems_add(problems, probe->render_error);
	if (problems->len == 0)
		return NULL;
	return g_string_free(g_steal_pointer(&problems), FALSE);
}

/* why a local av1_qsv cannot run here, or NULL when it can */
static gchar *
av1d_encoder_qsv_problems(const Av1dEncoderProbe *probe)
{
	g_autoptr(GString) problems = g_string_new(NULL);

	if (probe->ffmpeg_version == NULL) {
		g_autofree gchar *msg =
			g_strdup_printf(_("cannot run local ffmpeg: %s"), probe->ffmpeg_error);
		av1d_problems_add(problems, msg);
	} else if (!av1d_encoder_probe_has_encoder(probe, "av1_qsv")) {
		av1d_problems_add(problems, _("local ffmpeg has no av1_qsv encoder"));
	}
	if (probe->render_node == NULL)
		av1d_problems_add(problems, probe->render_error);
	if (problems->len == 0)
		return NULL;
	return g_string_free(g_steal_pointer(&problems), FALSE);
}

/* why the software encoder cannot run here, or NULL when it can */
static gchar *
av1d_encoder_software_problems(const Av1dEncoderProbe *probe)
{
	if (probe->ffmpeg_version == NULL)
		/* Translators: ffmpeg_bin is a config key, not translated */
		return g_strdup_printf(_("cannot run local ffmpeg: %s (install ffmpeg, or set "
					 "ffmpeg_bin)"),
				       probe->ffmpeg_error);
	if (av1d_encoder_probe_software_codec(probe) == NULL)
		/* Translators: %s is the ffmpeg program; libsvtav1 and libaom-av1
		 * are encoder names */
		return g_strdup_printf(_("local ffmpeg %s has neither libsvtav1 nor libaom-av1 "
					 "(install an ffmpeg built with SVT-AV1, e.g. Debian's "
					 "`apt install ffmpeg`)"),
				       probe->ffmpeg_bin);
	return NULL;
}

static gchar *
av1d_encoder_describe_node(const Av1dEncoderProbe *probe)
{
	const Av1dRenderNode *node = probe->render_node;

	if (node->vendor_id == AV1D_PCI_VENDOR_INTEL)
		return g_strdup_printf(_("Intel render node %s"), node->path);
	return g_strdup_printf(_("render node %s (cannot confirm an Intel GPU)"), node->path);
}

/* the sentence for a backend whose requirements are met */
static gchar *
av1d_encoder_describe_ready(const Av1dEncoderProbe *probe, Av1dEncoderKind kind)
{
	g_autofree gchar *node = NULL;

	if (kind == AV1D_ENCODER_KIND_SOFTWARE)
		/* Translators: %s is an encoder name such as libsvtav1 */
		return g_strdup_printf(_("local ffmpeg with %s"),
				       av1d_encoder_probe_software_codec(probe));
	node = av1d_encoder_describe_node(probe);
	if (kind == AV1D_ENCODER_KIND_QSV)
		/* Translators: %s is e.g. "Intel render node /dev/dri/renderD128" */
		return g_strdup_printf(_("local ffmpeg with av1_qsv on %s"), node);
	/* Translators: the docker daemon's version, the image, then e.g. "Intel
	 * render node /dev/dri/renderD128" */
	return g_strdup_printf(_("docker %s answers, image %s is present, %s"),
			       probe->docker_server_version, probe->docker_image, node);
}

static gchar *
av1d_encoder_problems(const Av1dEncoderProbe *probe, Av1dEncoderKind kind)
{
	switch (kind) {
	case AV1D_ENCODER_KIND_DOCKER_QSV:
		return av1d_encoder_docker_qsv_problems(probe);
	case AV1D_ENCODER_KIND_QSV:
		return av1d_encoder_qsv_problems(probe);
	case AV1D_ENCODER_KIND_SOFTWARE:
		return av1d_encoder_software_problems(probe);
	case AV1D_ENCODER_KIND_AUTO:
	default:
		return g_strdup(_("not a backend"));
	}
}

/* an explicitly configured backend: used when it can run, else an error
 * saying what is missing */
static gboolean
av1d_encoder_choose_explicit(const Av1dEncoderProbe *probe,
			     Av1dEncoderKind kind,
			     gchar **reason,
			     GError **error)
{
	g_autofree gchar *problems = av1d_encoder_problems(probe, kind);
	g_autofree gchar *ready = NULL;

	if (problems != NULL) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_FAILED,
			    /* Translators: the backend name (e.g. docker-qsv), then
			     * what is missing */
			    _("encoder '%s' is configured but unavailable: %s"),
			    av1d_encoder_kind_to_string(kind), problems);
		return FALSE;
	}
	ready = av1d_encoder_describe_ready(probe, kind);
	/* Translators: the backend name (e.g. docker-qsv), then what makes it
	 * ready (e.g. "local ffmpeg with libsvtav1") */
	*reason =
		g_strdup_printf(_("%s: configured; %s"), av1d_encoder_kind_to_string(kind), ready);
	return TRUE;
}

/* auto: the first backend that can run, in order of preference (SPEC 6),
 * saying why each better one could not */
static gboolean
av1d_encoder_choose_auto(const Av1dEncoderProbe *probe,
			 Av1dEncoderKind *chosen,
			 gchar **reason,
			 GError **error)
{
	const Av1dEncoderKind order[] = {AV1D_ENCODER_KIND_DOCKER_QSV, AV1D_ENCODER_KIND_QSV,
					 AV1D_ENCODER_KIND_SOFTWARE};
	g_autoptr(GString) why_not = g_string_new(NULL);

	for (guint i = 0; i < G_N_ELEMENTS(order); i++) {
		const gchar *name = av1d_encoder_kind_to_string(order[i]);
		g_autofree gchar *problems = av1d_encoder_problems(probe, order[i]);
		g_autofree gchar *unavailable = NULL;

		if (problems == NULL) {
			g_autofree gchar *ready = av1d_encoder_describe_ready(probe, order[i]);

			*chosen = order[i];
			if (why_not->len == 0)
				*reason = g_strdup_printf("%s: %s", name, ready);
			else
				/* Translators: the backend chosen (e.g. software),
				 * why the better ones are unavailable, then what
				 * makes this one ready */
				*reason = g_strdup_printf(_("%s: %s; using %s"), name,
							  why_not->str, ready);
			return TRUE;
		}
		/* Translators: a backend name (e.g. docker-qsv), then why */
		unavailable = g_strdup_printf(_("%s unavailable (%s)"), name, problems);
		av1d_problems_add(why_not, unavailable);
	}
	g_set_error(error, AV1D_ERROR, AV1D_ERROR_FAILED, _("no usable AV1 encoder: %s"),
		    why_not->str);
	return FALSE;
}

gboolean
av1d_encoder_choose(const Av1dConfig *config,
		    const Av1dEncoderProbe *probe,
		    Av1dEncoderKind *chosen,
		    gchar **reason,
		    GError **error)
{
	g_autofree gchar *reason_local = NULL;

	g_return_val_if_fail(config != NULL, FALSE);
	g_return_val_if_fail(probe != NULL, FALSE);
	g_return_val_if_fail(chosen != NULL, FALSE);

	if (config->encoder == AV1D_ENCODER_KIND_AUTO) {
		if (!av1d_encoder_choose_auto(probe, chosen, &reason_local, error))
			return FALSE;
	} else {
		if (!av1d_encoder_choose_explicit(probe, config->encoder, &reason_local, error))
			return FALSE;
		*chosen = config->encoder;
	}
	if (reason != NULL)
		*reason = g_steal_pointer(&reason_local);
	return TRUE;
}

/* --- the report ---------------------------------------------------------- */

/* each line of the report is one msgid, label included: translators keep the
 * values in one column, 15 characters in for English */

static void
av1d_encoder_report_docker(const Av1dEncoderProbe *self, GString *str)
{
	if (!self->docker_client)
		/* Translators: a line of `av1d check`: the docker program, then
		 * why it cannot run; keep the values aligned with the other lines */
		g_string_append_printf(str, _("docker:        %s cannot run: %s\n"),
				       self->docker_bin, self->docker_error);
	else if (!self->docker_server)
		/* Translators: a line of `av1d check`: the docker program, then
		 * why its daemon cannot be reached */
		g_string_append_printf(str,
				       _("docker:        client %s, daemon not reachable: %s\n"),
				       self->docker_bin, self->docker_error);
	else
		/* Translators: a line of `av1d check`: the docker program, then
		 * the docker daemon's version */
		g_string_append_printf(str, _("docker:        client %s, daemon %s\n"),
				       self->docker_bin, self->docker_server_version);
	if (self->image_present)
		/* Translators: a line of `av1d check`: the image, then its id */
		g_string_append_printf(str, _("docker image:  %s present (%s)\n"),
				       self->docker_image, self->image_id);
	else if (self->image_error != NULL)
		/* Translators: a line of `av1d check`: the image, then why */
		g_string_append_printf(str, _("docker image:  %s not present: %s\n"),
				       self->docker_image, self->image_error);
	else
		g_string_append_printf(str, _("docker image:  %s unknown (no docker daemon)\n"),
				       self->docker_image);
}

static void
av1d_encoder_report_node(const Av1dEncoderProbe *self, const Av1dRenderNode *node, GString *str)
{
	g_autofree gchar *group = av1d_render_node_describe_group(node);
	g_autofree gchar *vendor = NULL;
	g_autofree gchar *access = NULL;

	if (node->vendor_id == 0)
		/* Translators: the PCI vendor of a render node is unknown */
		vendor = g_strdup(_("vendor unknown"));
	else if (node->vendor_id == AV1D_PCI_VENDOR_INTEL)
		/* Translators: a PCI vendor id */
		vendor = g_strdup_printf(_("vendor 0x%04x (Intel)"), node->vendor_id);
	else
		/* Translators: a PCI vendor id */
		vendor = g_strdup_printf(_("vendor 0x%04x"), node->vendor_id);
	if (node->accessible)
		/* Translators: av1d may open the render node for reading and
		 * writing */
		access = g_strdup(_("read-write ok"));
	else
		/* Translators: %s is the system's error */
		access = g_strdup_printf(_("cannot open read-write: %s"), node->access_error);
	if (node == self->render_node)
		/* Translators: a line of `av1d check`: the render node, its vendor
		 * ("vendor 0x8086 (Intel)"), its group ("render (gid 105)") and
		 * whether av1d may open it ("read-write ok"); it is the one used */
		g_string_append_printf(str, _("render node:   %s: %s, group %s, %s, selected\n"),
				       node->path, vendor, group, access);
	else
		/* Translators: a line of `av1d check`: the render node, its vendor
		 * ("vendor 0x8086 (Intel)"), its group ("render (gid 105)") and
		 * whether av1d may open it ("read-write ok") */
		g_string_append_printf(str, _("render node:   %s: %s, group %s, %s\n"), node->path,
				       vendor, group, access);
}

static void
av1d_encoder_report_ffmpeg(const Av1dEncoderProbe *self, GString *str)
{
	if (self->ffmpeg_version != NULL)
		/* Translators: a line of `av1d check`: ffmpeg's version line, then
		 * the program */
		g_string_append_printf(str, _("ffmpeg:        %s (%s)\n"), self->ffmpeg_version,
				       self->ffmpeg_bin);
	else
		/* Translators: a line of `av1d check`: the program, then why it
		 * cannot run */
		g_string_append_printf(str, _("ffmpeg:        %s cannot run: %s\n"),
				       self->ffmpeg_bin, self->ffmpeg_error);
	if (self->ffmpeg_version != NULL && self->ffmpeg_error != NULL)
		/* Translators: a line of `av1d check` that continues the ffmpeg
		 * line with an error: indent it as far as the values above */
		g_string_append_printf(str, _("               %s\n"), self->ffmpeg_error);
	if (self->ffmpeg_av1_encoders[0] != NULL) {
		g_autofree gchar *list = g_strjoinv(", ", self->ffmpeg_av1_encoders);
		/* Translators: a line of `av1d check`: a list of encoder names */
		g_string_append_printf(str, _("AV1 encoders:  %s\n"), list);
	} else {
		/* Translators: a line of `av1d check`: ffmpeg has no AV1 encoder */
		g_string_append(str, _("AV1 encoders:  none\n"));
	}
	if (self->ffprobe_version != NULL)
		/* Translators: a line of `av1d check`: ffprobe's version line, then
		 * the program */
		g_string_append_printf(str, _("ffprobe:       %s (%s)\n"), self->ffprobe_version,
				       self->ffprobe_bin);
	else
		/* Translators: a line of `av1d check`: the program, then why it
		 * cannot run */
		g_string_append_printf(str, _("ffprobe:       %s cannot run: %s\n"),
				       self->ffprobe_bin, self->ffprobe_error);
}

/* what to do about each missing piece of docker-qsv, for `check` */
static void
av1d_encoder_report_fixes(const Av1dEncoderProbe *self, GString *str)
{
	if (!self->docker_client) {
		/* Translators: a line of `av1d check`; docker_bin is a config key,
		 * the command stays as it is */
		g_string_append(str, _("fix:           install Docker Engine (Debian: apt install "
				       "docker.io) or set docker_bin\n"));
	} else if (!self->docker_server && self->docker_error != NULL &&
		   strstr(self->docker_error, "permission denied") != NULL) {
		g_string_append_printf(str,
				       /* Translators: a line of `av1d check`: %u is a
					* user id; the command stays as it is, USER
					* stands for the user name */
				       _("fix:           uid %u may not use the Docker socket: add "
					 "the daemon's user to group docker (usermod -aG docker "
					 "USER), then restart av1d\n"),
				       self->uid);
	} else if (!self->docker_server) {
		/* Translators: a line of `av1d check`; the commands and
		 * DOCKER_HOST stay as they are */
		g_string_append(str, _("fix:           start the engine (systemctl start docker) "
				       "or set DOCKER_HOST to one that runs; `docker info` must "
				       "answer as the daemon's user\n"));
	} else if (!self->image_present) {
		/* Translators: a line of `av1d check`: the command `docker pull
		 * IMAGE`; docker_image is a config key */
		g_string_append_printf(str, _("fix:           %s pull %s (or set docker_image)\n"),
				       self->docker_bin, self->docker_image);
	}
	if (self->render_node == NULL && self->render_nodes->len == 0)
		/* Translators: a line of `av1d check`; gpu_device and encoder are
		 * config keys, "software" their value, docker-qsv and qsv backend
		 * names: all stay as they are */
		g_string_append(str, _("fix:           docker-qsv and qsv need an Intel GPU: set "
				       "gpu_device to its render node (/dev/dri/renderD128), or "
				       "encoder = \"software\"\n"));
}

gchar *
av1d_encoder_probe_to_string(const Av1dEncoderProbe *self)
{
	g_autoptr(GString) str = g_string_new(NULL);

	g_return_val_if_fail(self != NULL, NULL);

	av1d_encoder_report_docker(self, str);
	if (self->gpu_device_is_dir)
		/* Translators: a line of `av1d check`; gpu_device is a config key,
		 * not translated; %s is a folder */
		g_string_append_printf(str, _("gpu_device:    %s (folder)\n"), self->gpu_device);
	else
		/* Translators: a line of `av1d check`; gpu_device is a config key,
		 * not translated */
		g_string_append_printf(str, _("gpu_device:    %s\n"), self->gpu_device);
	for (guint i = 0; i < self->render_nodes->len; i++)
		av1d_encoder_report_node(self, g_ptr_array_index(self->render_nodes, i), str);
	if (self->render_error != NULL)
		/* Translators: a line of `av1d check`: %s says why */
		g_string_append_printf(str, _("render node:   none usable: %s\n"),
				       self->render_error);
	av1d_encoder_report_ffmpeg(self, str);
	/* Translators: a line of `av1d check`: the user and group ids av1d runs as */
	g_string_append_printf(str, _("daemon user:   uid %u, gid %u\n"), self->uid, self->gid);
	for (guint i = 0; i < self->notes->len; i++)
		/* Translators: a line of `av1d check` */
		g_string_append_printf(str, _("warning:       %s\n"),
				       (const gchar *)g_ptr_array_index(self->notes, i));
	av1d_encoder_report_fixes(self, str);
	return g_string_free(g_steal_pointer(&str), FALSE);
}
