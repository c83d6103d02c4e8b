#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "av1d-docker-test.h"
#include "av1d-test-util.h"

/* a command to its end: its exit status (-1 when it could not run or was
 * killed), stdout and stderr */
static gint
run_command(const gchar *const *argv, gchar **out, gchar **err)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autofree gchar *out_local = NULL;
	g_autofree gchar *err_local = NULL;

	proc = g_subprocess_newv(argv,
				 G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
				 &error);
	if (proc == NULL) {
		if (err != NULL)
			*err = g_strdup(error->message);
		return -1;
	}
	g_subprocess_communicate_utf8(proc, NULL, NULL, &out_local, &err_local, &error);
	g_assert_no_error(error);
	if (out != NULL)
		*out = g_steal_pointer(&out_local);
	if (err != NULL)
		*err = g_steal_pointer(&err_local);
	return g_subprocess_get_if_exited(proc) ? g_subprocess_get_exit_status(proc) : -1;
}

gboolean
av1d_docker_test_require_engine(void)
{
	const gchar *argv[] = {"timeout", "30", "docker", "version", "--format",
			       "{{.Server.Version}}", NULL};
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *reason = NULL;

	if (run_command(argv, &out, &err) == 0 && out != NULL && g_strstrip(out)[0] != '\0')
		return TRUE;
	reason = g_strdup_printf("no Docker engine answers (`docker version`: %s)",
				 err != NULL ? g_strstrip(err) : "did not run");
	g_printerr("SKIP: %s\n", reason);
	g_test_skip(reason);
	return FALSE;
}

const gchar *
av1d_docker_test_image(void)
{
	static gchar *tag = NULL;
	g_autofree gchar *script = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	gint status;

	if (tag != NULL)
		return tag;
	script = g_build_filename(g_getenv("G_TEST_SRCDIR"), "docker", "build-image.sh", NULL);
	status = run_command((const gchar *const[]){"sh", script, NULL}, &out, &err);
	if (status != 0)
		g_error("building the test image failed (%d):\n%s", status, err);
	tag = g_strdup(g_strstrip(out));
	g_test_message("test image: %s", tag);
	return tag;
}

gboolean
av1d_docker_test_user(guint *uid, guint *gid)
{
	g_autofree gchar *script = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;

	/* like mknod in av1d_docker_world_new(): only a missing engine skips */
	if (getuid() != 0)
		g_error("the docker suite runs as root: it creates the user av1d-test");
	script = g_build_filename(g_getenv("G_TEST_SRCDIR"), "docker", "add-test-user.sh", NULL);
	if (run_command((const gchar *const[]){"sh", script, NULL}, &out, &err) != 0)
		g_error("creating the test user failed:\n%s", err);
	if (sscanf(out, "%u %u", uid, gid) != 2)
		g_error("add-test-user.sh printed '%s'", out);
	return TRUE;
}

/* --- the world ----------------------------------------------------------- */

Av1dDockerWorld *
av1d_docker_world_new(void)
{
	Av1dDockerWorld *w = g_new0(Av1dDockerWorld, 1);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *counter = NULL;
	g_autofree gchar *first = NULL;

	w->dir = g_dir_make_tmp("av1d-test-docker-XXXXXX", &error);
	g_assert_no_error(error);
	/* the daemon in the unprivileged test must reach into it */
	g_assert_cmpint(g_chmod(w->dir, 0755), ==, 0);
	w->library = g_build_filename(w->dir, "library", NULL);
	w->state = g_build_filename(w->dir, "state", NULL);
	w->config = g_build_filename(w->dir, "config.toml", NULL);
	w->node = g_build_filename(w->dir, "renderD128", NULL);
	g_assert_cmpint(g_mkdir(w->library, 0755), ==, 0);
	g_assert_cmpint(g_mkdir(w->state, 0700), ==, 0);
	/* ids unlike those of any other daemon on this engine: containers are
	 * named av1d-<id> */
	w->first_id = (guint64)g_random_int_range(1000000, G_MAXINT32);
	counter = g_build_filename(w->state, "next-id", NULL);
	first = g_strdup_printf("%" G_GUINT64_FORMAT "\n", w->first_id);
	g_assert_true(g_file_set_contents(counter, first, -1, NULL));
	/* /dev/null's numbers: `docker run --device` accepts it, nothing opens it */
	if (mknod(w->node, S_IFCHR | 0666, makedev(1, 3)) != 0)
		g_error("mknod %s: %s (the docker suite needs root)", w->node, g_strerror(errno));
	g_assert_cmpint(g_chmod(w->node, 0666), ==, 0);
	return w;
}

/* the instance ids seen in this world's job files */
static GPtrArray *
world_instances(Av1dDockerWorld *w)
{
	g_autoptr(GPtrArray) instances = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GDir) dir = g_dir_open(w->state, 0, NULL);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		guint64 id;
		g_autoptr(JsonObject) job = NULL;
		gchar *instance;

		if (!g_str_has_suffix(name, ".json") || sscanf(name, "%" G_GUINT64_FORMAT, &id) != 1)
			continue;
		job = av1d_docker_world_job(w, id);
		instance = job != NULL ? av1d_docker_job_instance(job) : NULL;
		if (instance != NULL)
			g_ptr_array_add(instances, instance);
	}
	return g_steal_pointer(&instances);
}

void
av1d_docker_world_free(Av1dDockerWorld *w)
{
	g_autoptr(GPtrArray) instances = NULL;

	if (w == NULL)
		return;
	/* a failed test may leave a container of its own behind, never one of
	 * another test */
	instances = world_instances(w);
	for (guint i = 0; i < instances->len; i++) {
		g_autofree gchar *filter = g_strdup_printf(
			"label=org.av1d.state=%s", (const gchar *)g_ptr_array_index(instances, i));
		g_autofree gchar *names = NULL;
		const gchar *ps[] = {"docker", "ps", "--all", "--quiet", "--filter", filter, NULL};

		if (run_command(ps, &names, NULL) == 0 && g_strstrip(names)[0] != '\0') {
			g_auto(GStrv) ids = g_strsplit(names, "\n", -1);
			g_autoptr(GStrvBuilder) rm = g_strv_builder_new();
			g_auto(GStrv) argv = NULL;

			g_test_message("removing containers left by the test: %s", names);
			g_strv_builder_add_many(rm, "docker", "rm", "--force", NULL);
			g_strv_builder_addv(rm, (const gchar **)ids);
			argv = g_strv_builder_end(rm);
			run_command((const gchar *const *)argv, NULL, NULL);
		}
	}
	av1d_test_rm_rf(w->dir);
	g_free(w->dir);
	g_free(w->library);
	g_free(w->state);
	g_free(w->config);
	g_free(w->node);
	g_free(w);
}

void
av1d_docker_world_write_config(Av1dDockerWorld *w, const gchar *extra)
{
	g_autofree gchar *text = g_strdup_printf(
		"library_roots = [\"%s\"]\nmin_bytes = 1\nstable_secs = 0\nmax_size_ratio = 1.0\n"
		"job_state_dir = \"%s\"\ngpu_device = \"%s\"\n%s",
		w->library, w->state, w->node, extra != NULL ? extra : "");

	g_assert_true(g_file_set_contents(w->config, text, -1, NULL));
	g_test_message("config:\n%s", text);
}

void
av1d_docker_world_use_image(Av1dDockerWorld *w, const gchar *encoder)
{
	g_autofree gchar *extra =
		g_strdup_printf("encoder = \"%s\"\ndocker_image = \"%s\"\n",
				encoder != NULL ? encoder : "docker-qsv", av1d_docker_test_image());

	av1d_docker_world_write_config(w, extra);
}

gchar *
av1d_docker_world_add_media(Av1dDockerWorld *w, const gchar *name, const gchar *as)
{
	g_autofree gchar *path = g_build_filename(w->library, as != NULL ? as : name, NULL);
	g_autofree gchar *parent = g_path_get_dirname(path);
	g_autofree gchar *base = g_path_get_basename(path);

	g_assert_cmpint(g_mkdir_with_parents(parent, 0755), ==, 0);
	av1d_test_copy_media(name, parent, base);
	return g_steal_pointer(&path);
}

gchar *
av1d_docker_world_add_long_clip(Av1dDockerWorld *w, const gchar *as, guint seconds)
{
	g_autofree gchar *path = g_build_filename(w->library, as, NULL);
	g_autofree gchar *video = g_strdup_printf("testsrc2=size=96x64:rate=25:duration=%u", seconds);
	g_autofree gchar *tone =
		g_strdup_printf("sine=frequency=440:sample_rate=48000:duration=%u", seconds);
	const gchar *argv[] = {"ffmpeg",  "-hide_banner", "-nostdin", "-loglevel", "error",
			       "-f",	  "lavfi",	  "-i",	      video,	   "-f",
			       "lavfi",	  "-i",		  tone,	      "-c:v",	   "libx264",
			       "-preset", "ultrafast",	  "-pix_fmt", "yuv420p",   "-c:a",
			       "aac",	  "-b:a",	  "32k",      path,	   NULL};
	g_autofree gchar *err = NULL;

	if (run_command(argv, NULL, &err) != 0)
		g_error("making %s failed: %s", path, err);
	return g_steal_pointer(&path);
}

/* --- jobs ---------------------------------------------------------------- */

JsonObject *
av1d_docker_world_job(Av1dDockerWorld *w, guint64 id)
{
	g_autofree gchar *name = g_strdup_printf("%" G_GUINT64_FORMAT ".json", id);
	g_autofree gchar *path = g_build_filename(w->state, name, NULL);
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonNode *root;

	if (!json_parser_load_from_file(parser, path, NULL))
		return NULL;
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root))
		return NULL;
	return json_object_ref(json_node_get_object(root));
}

GStrv
av1d_docker_job_argv(JsonObject *job)
{
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	JsonArray *array;

	if (!json_object_has_member(job, "argv") ||
	    !JSON_NODE_HOLDS_ARRAY(json_object_get_member(job, "argv")))
		return NULL;
	array = json_object_get_array_member(job, "argv");
	for (guint i = 0; i < json_array_get_length(array); i++)
		g_strv_builder_add(builder, json_array_get_string_element(array, i));
	return g_strv_builder_end(builder);
}

gchar *
av1d_docker_job_instance(JsonObject *job)
{
	g_auto(GStrv) argv = av1d_docker_job_argv(job);

	for (guint i = 0; argv != NULL && argv[i] != NULL; i++) {
		if (g_str_has_prefix(argv[i], "org.av1d.state="))
			return g_strdup(argv[i] + strlen("org.av1d.state="));
	}
	return NULL;
}

gchar *
av1d_docker_containers(const gchar *instance)
{
	g_autofree gchar *filter = g_strdup_printf("label=org.av1d.state=%s", instance);
	const gchar *argv[] = {"docker", "ps",	   "--all", "--filter", filter, "--format",
			       "{{.Names}} {{.Status}}", NULL};
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;

	if (run_command(argv, &out, &err) != 0)
		g_error("docker ps failed: %s", err);
	return g_strdup(g_strstrip(out));
}

gint64
av1d_docker_wait_no_containers(const gchar *instance, guint timeout_ms)
{
	gint64 start = g_get_monotonic_time();

	while (g_get_monotonic_time() - start < (gint64)timeout_ms * 1000) {
		g_autofree gchar *left = av1d_docker_containers(instance);

		if (left[0] == '\0')
			return (g_get_monotonic_time() - start) / 1000;
		g_usleep(100 * 1000);
	}
	return -1;
}

/* the shim's record in a job's private temp folder under @media_dir, while
 * the job runs; NULL when there is none */
static gchar *
av1d_docker_record_path(const gchar *media_dir)
{
	g_autoptr(GDir) dir = g_dir_open(media_dir, 0, NULL);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *path = NULL;

		if (!g_str_has_prefix(name, ".av1d-"))
			continue;
		path = g_build_filename(media_dir, name, ".av1d-shim-argv", NULL);
		if (g_file_test(path, G_FILE_TEST_EXISTS))
			return g_steal_pointer(&path);
	}
	return NULL;
}

static GStrv
av1d_docker_split_record(const gchar *data, gsize len, gchar separator)
{
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	gsize start = 0;

	for (gsize at = 0; at < len; at++) {
		if (data[at] != separator)
			continue;
		g_autofree gchar *arg = g_strndup(data + start, at - start);

		g_strv_builder_add(builder, arg);
		start = at + 1;
	}
	return g_strv_builder_end(builder);
}

GStrv
av1d_docker_recorded_argv(const gchar *media_dir)
{
	g_autofree gchar *path = av1d_docker_record_path(media_dir);
	g_autofree gchar *data = NULL;
	gsize len = 0;

	if (path == NULL || !g_file_get_contents(path, &data, &len, NULL))
		return NULL;
	/* NUL-terminated arguments */
	return av1d_docker_split_record(data, len, '\0');
}

GStrv
av1d_docker_recorded_argv_of_output(const gchar *output)
{
	g_autofree gchar *out = NULL;
	const gchar *argv[] = {"ffprobe", "-v", "error", "-show_entries",
			       "format_tags=AV1D_SHIM_ARGV", "-of", "default=nw=1:nk=1",
			       output, NULL};

	if (!g_spawn_sync(NULL, (gchar **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL,
			  NULL, NULL) ||
	    out == NULL || out[0] == '\0')
		return NULL;
	g_strchomp(out);
	/* \037-terminated arguments */
	return av1d_docker_split_record(out, strlen(out), '\037');
}

gchar *
av1d_docker_world_wait_encoding(Av1dDockerWorld *w, guint64 id, const gchar *media_dir)
{
	gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

	while (g_get_monotonic_time() < deadline) {
		g_autoptr(JsonObject) job = av1d_docker_world_job(w, id);
		g_autofree gchar *instance = job != NULL ? av1d_docker_job_instance(job) : NULL;
		g_autofree gchar *recorded = av1d_docker_record_path(media_dir);

		if (instance != NULL && recorded != NULL) {
			g_autofree gchar *running = av1d_docker_containers(instance);

			if (strstr(running, " Up ") != NULL)
				return g_steal_pointer(&instance);
		}
		g_usleep(100 * 1000);
	}
	g_error("job %" G_GUINT64_FORMAT " never started encoding in a container", id);
	return NULL;
}

gint
av1d_docker_run_av1d(const gchar *const *prefix,
		     const gchar *const *env,
		     const gchar *const *args,
		     gchar **out,
		     gchar **err)
{
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(
		G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_auto(GStrv) argv = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *display = NULL;
	gint status;

	for (guint i = 0; env != NULL && env[i] != NULL; i += 2)
		g_subprocess_launcher_setenv(launcher, env[i], env[i + 1], TRUE);
	if (prefix != NULL)
		g_strv_builder_addv(builder, (const gchar **)prefix);
	g_strv_builder_add(builder, g_getenv("AV1D_BIN"));
	g_strv_builder_addv(builder, (const gchar **)args);
	argv = g_strv_builder_end(builder);
	proc = g_subprocess_launcher_spawnv(launcher, (const gchar *const *)argv, &error);
	g_assert_no_error(error);
	g_subprocess_communicate_utf8(proc, NULL, NULL, out, err, &error);
	g_assert_no_error(error);
	status = g_subprocess_get_if_exited(proc) ? g_subprocess_get_exit_status(proc) : -1;
	display = g_strjoinv(" ", argv);
	g_test_message("%s -> %d\n--- stdout\n%s--- stderr\n%s", display, status, *out, *err);
	return status;
}
