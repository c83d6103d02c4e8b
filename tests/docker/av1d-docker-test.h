/*
 * Helpers for the docker suite: the real av1d against the real Docker engine,
 * with tests/docker/build-image.sh's stand-in image in place of
 * lscr.io/linuxserver/ffmpeg and a character device made with mknod in
 * place of the GPU's render node.
 *
 * Several of these tests (and several builds of them) may run at once on one
 * engine. Each world seeds its job store's id counter with a random number,
 * so that concurrent daemons name their containers av1d-<id> with different
 * ids, and each looks only at the containers labelled with its own daemon's
 * instance id (org.av1d.state, read from the job's argv).
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* every test starts with this: FALSE (test skipped, reason printed) when no
 * Docker engine answers */
gboolean
av1d_docker_test_require_engine(void);
/* the stand-in image, built (or found in the cache) once per test program */
const gchar *
av1d_docker_test_image(void);
/* uid and gid of the unprivileged test user (tests/docker/add-test-user.sh);
 * a test error when this process may not create it (the suite runs as root) */
gboolean
av1d_docker_test_user(guint *uid, guint *gid);

typedef struct {
	gchar *dir;	/* the test's own folder */
	gchar *library; /* <dir>/library, the only root */
	gchar *state;	/* <dir>/state, the job store */
	gchar *config;	/* <dir>/config.toml */
	gchar *node;	/* <dir>/renderD128: /dev/null's numbers, 0666 */
	guint64 first_id;
} Av1dDockerWorld;

Av1dDockerWorld *
av1d_docker_world_new(void);
/* removes the folder and any container still labelled with a daemon of
 * this world */
void
av1d_docker_world_free(Av1dDockerWorld *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Av1dDockerWorld, av1d_docker_world_free)

/* config.toml: the library, the state, min_bytes 1, stable_secs 0,
 * max_size_ratio 1.0, gpu_device = the node, then @extra */
void
av1d_docker_world_write_config(Av1dDockerWorld *w, const gchar *extra);
/* the config for docker-qsv (or @encoder) with the stand-in image */
void
av1d_docker_world_use_image(Av1dDockerWorld *w, const gchar *encoder);
/* copy tests/media.sh's @name into the library as @as (may hold folders) */
gchar *
av1d_docker_world_add_media(Av1dDockerWorld *w, const gchar *name, const gchar *as);
/* a @seconds long H.264 + AAC clip, for encodes that must last */
gchar *
av1d_docker_world_add_long_clip(Av1dDockerWorld *w, const gchar *as, guint seconds);

/* the job file of job @id, NULL while there is none (or it is being replaced) */
JsonObject *
av1d_docker_world_job(Av1dDockerWorld *w, guint64 id);
/* its "argv" member */
GStrv
av1d_docker_job_argv(JsonObject *job);
/* the value of its org.av1d.state label, NULL before the encode was planned */
gchar *
av1d_docker_job_instance(JsonObject *job);
/* wait (up to 60 s) until job @id's container runs and ffmpeg inside has
 * started; returns the daemon's instance id */
gchar *
av1d_docker_world_wait_encoding(Av1dDockerWorld *w, guint64 id, const gchar *media_dir);

/* `docker ps --all` of the containers labelled org.av1d.state=@instance:
 * "<name> <status>" lines, "" when there are none */
gchar *
av1d_docker_containers(const gchar *instance);
/* wait up to @timeout_ms until there are none; the milliseconds it took,
 * or -1 on a timeout */
gint64
av1d_docker_wait_no_containers(const gchar *instance, guint timeout_ms);

/* what the image's ffmpeg shim recorded in a job's temp folder under
 * @media_dir while the job runs: the ffmpeg argv it was given, NULL when
 * there is none */
GStrv
av1d_docker_recorded_argv(const gchar *media_dir);
/* the same, from the tag the shim puts in the encode, once it is swapped in */
GStrv
av1d_docker_recorded_argv_of_output(const gchar *output);

/* run $AV1D_BIN with @args to its end; @prefix (e.g. setpriv ...) goes in
 * front, @env is NULL or name, value pairs */
gint
av1d_docker_run_av1d(const gchar *const *prefix,
		     const gchar *const *env,
		     const gchar *const *args,
		     gchar **out,
		     gchar **err);

G_END_DECLS
