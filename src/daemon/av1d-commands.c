#define G_LOG_DOMAIN "av1d-commands"

#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <gio/gio.h>
#include <glib/gi18n-lib.h>
#include <stdlib.h>

#include "av1d-candidate.h"
#include "av1d-commands.h"
#include "av1d-encoder.h"
#include "av1d-error.h"
#include "av1d-explain.h"
#include "av1d-job-store.h"
#include "av1d-manager.h"
#include "av1d-notify.h"
#include "av1d-service.h"
#include "av1d-sidecar.h"
#include "av1d-stable.h"
#include "av1d-watcher.h"

/* the machine as probed, the backend chosen from it and why */
typedef struct {
	Av1dEncoderProbe *probe;
	Av1dEncoderKind kind;
	gchar *reason;
	Av1dBackendParams params; /* strings borrowed from probe and config */
} Av1dBackendChoice;

static void
av1d_backend_choice_clear(Av1dBackendChoice *choice)
{
	g_clear_pointer(&choice->probe, av1d_encoder_probe_free);
	g_clear_pointer(&choice->reason, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Av1dBackendChoice, av1d_backend_choice_clear)

static gboolean
av1d_backend_choose(const Av1dConfig *config, Av1dBackendChoice *choice, GError **error)
{
	const Av1dEncoderProbe *probe;

	choice->probe = av1d_encoder_probe_machine(config, NULL, error);
	if (choice->probe == NULL)
		return FALSE;
	if (!av1d_encoder_choose(config, choice->probe, &choice->kind, &choice->reason, error))
		return FALSE;
	probe = choice->probe;
	choice->params = (Av1dBackendParams){
	    .kind = choice->kind,
	    .render_node = probe->render_node != NULL ? probe->render_node->path : NULL,
	    .render_gid = probe->render_node != NULL ? probe->render_node->gid : 0,
	    .uid = probe->uid,
	    .gid = probe->gid,
	    .docker_bin = config->docker_bin,
	    .docker_image = config->docker_image,
	    .ffmpeg_bin = config->ffmpeg_bin,
	    .use_libaom = g_strcmp0(av1d_encoder_probe_software_codec(probe), "libsvtav1") != 0,
	};
	/* so that --dry-run and explain show the labels the daemon's encodes get */
	av1d_backend_params_set_instance(&choice->params, config->job_state_dir);
	return TRUE;
}

static gboolean
av1d_command_quit_cb(gpointer user_data)
{
	GMainLoop *loop = user_data;

	g_message("stopping on signal");
	g_main_loop_quit(loop);
	return G_SOURCE_CONTINUE;
}

static void
av1d_command_idle_cb(Av1dManager *manager, gpointer user_data)
{
	g_main_loop_quit(user_data);
}

static void
av1d_command_report_job(Av1dJob *job)
{
	g_autofree gchar *display = g_filename_display_name(job->source_path);
	g_autofree gchar *reason = g_strdup(job->reason != NULL ? job->reason : "");

	/* one line per job, so that scripts can read it */
	g_strdelimit(reason, "\t\n\r", ' ');
	g_print("%" G_GUINT64_FORMAT "\t%s\t%s\t%s\n", job->id, av1d_job_status_to_string(job->status),
		display, reason);
}

/* --once: what is there and stable now (quiet for stable_secs, no writer);
 * a file still arriving is left for the next run */
static gboolean
av1d_command_enqueue_candidates(const Av1dConfig *config, Av1dManager *manager, GError **error)
{
	g_autoptr(GPtrArray) temps = NULL;
	g_autoptr(GPtrArray) candidates = av1d_candidate_list_with_temps(config, &temps, error);

	if (candidates == NULL)
		return FALSE;
	for (guint i = 0; i < temps->len; i++)
		av1d_manager_remove_stale_temp(manager, g_ptr_array_index(temps, i));
	for (guint i = 0; i < candidates->len; i++) {
		const gchar *path = g_ptr_array_index(candidates, i);
		g_autoptr(GError) error_local = NULL;

		if (!av1d_stable_check_now(path, config->stable_secs * 1000, &error_local)) {
			g_message("not yet stable, left for the next run: %s%s%s", path,
				  error_local != NULL ? ": " : "",
				  error_local != NULL ? error_local->message : "");
			continue;
		}
		if (av1d_manager_enqueue(manager, path, &error_local) == NULL)
			g_debug("not queueing %s: %s", path, error_local->message);
	}
	return TRUE;
}

/* --dry-run: the plan for every candidate, nothing written */
static int
av1d_command_dry_run(const Av1dConfig *config, const Av1dBackendChoice *choice, GError **error)
{
	g_autoptr(GPtrArray) candidates = av1d_candidate_list(config, error);
	int status = 0;

	if (candidates == NULL)
		return 1;
	/* Translators: the encoder backend name (e.g. docker-qsv, not
	 * translated), then why av1d chose it */
	g_print(_("Encoder: %s (%s)\n"), av1d_encoder_kind_to_string(choice->kind), choice->reason);
	g_print("\n");
	for (guint i = 0; i < candidates->len; i++) {
		const gchar *path = g_ptr_array_index(candidates, i);
		g_autoptr(GError) error_local = NULL;
		g_autofree gchar *text =
		    av1d_explain_file_sync(config, &choice->params, path, &error_local);

		if (text == NULL) {
			g_autofree gchar *display = g_filename_display_name(path);
			g_print(_("File: %s\n"), display);
			g_print(_("Error: %s\n"), error_local->message);
			g_print("\n");
			status = 1;
			continue;
		}
		g_print("%s\n", text);
	}
	if (candidates->len == 0)
		g_print(_("No candidates under the library roots.\n"));
	return status;
}

static void
av1d_command_job_finished_cb(Av1dManager *manager, Av1dJob *job, gpointer user_data)
{
	av1d_command_report_job(job);
}

/* --once: what is stable now, then exit when the queue is empty */
static int
av1d_command_run_once(const Av1dConfig *config,
		      Av1dJobStore *store,
		      const Av1dBackendChoice *choice,
		      GError **error)
{
	g_autoptr(Av1dManager) manager = av1d_manager_new(config, store, &choice->params);
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	guint sigterm_id = g_unix_signal_add(SIGTERM, av1d_command_quit_cb, loop);
	guint sigint_id = g_unix_signal_add(SIGINT, av1d_command_quit_cb, loop);
	int status = 0;

	g_signal_connect(manager, "job-finished", G_CALLBACK(av1d_command_job_finished_cb), NULL);
	g_signal_connect(manager, "idle", G_CALLBACK(av1d_command_idle_cb), loop);
	av1d_manager_requeue_unfinished(manager);
	if (av1d_command_enqueue_candidates(config, manager, error)) {
		g_message("av1d %s started, %u jobs known, %u queued", PACKAGE_VERSION,
			  av1d_job_store_get_size(store),
			  av1d_manager_get_pending_count(manager) +
			      av1d_manager_get_running_count(manager));
		g_main_loop_run(loop);
	} else {
		status = 1;
	}
	/* stop running encodes (on a signal) and wait until their temps are gone */
	av1d_manager_stop(manager);
	g_source_remove(sigterm_id);
	g_source_remove(sigint_id);
	return status;
}

int
av1d_command_run(Av1dConfig *config,
		 const gchar *const *cli_roots,
		 Av1dCommandFlags flags,
		 GError **error)
{
	g_auto(Av1dBackendChoice) choice = {NULL};
	g_autoptr(Av1dJobStore) store = NULL;
	Av1dServiceOptions options = {0};

	if (!av1d_backend_choose(config, &choice, error))
		return 1;
	if (flags & AV1D_COMMAND_FLAG_DRY_RUN)
		return av1d_command_dry_run(config, &choice, error);
	store = av1d_job_store_new(config->job_state_dir, error);
	if (store == NULL || !av1d_job_store_load(store, error))
		return 1;
	g_message("encoder: %s", choice.reason);
	if (flags & AV1D_COMMAND_FLAG_ONCE)
		return av1d_command_run_once(config, store, &choice, error);
	options.config = config;
	options.cli_roots = (GStrv)cli_roots;
	options.store = store;
	options.backend = &choice.params;
	options.encoder = av1d_encoder_kind_to_string(choice.kind);
	options.encoder_reason = choice.reason;
	options.bus_type = (flags & AV1D_COMMAND_FLAG_SYSTEM_BUS) ? G_BUS_TYPE_SYSTEM
								 : G_BUS_TYPE_SESSION;
	return av1d_service_run(&options, error);
}

/* the folders a root needs watches for: what the watcher would watch */
static guint
av1d_command_count_dirs(const gchar *path)
{
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	g_autofree gchar *marker = g_build_filename(path, AV1D_DIR_SKIP_MARKER, NULL);
	const gchar *name;
	guint count = 1;

	if (dir == NULL || g_file_test(marker, G_FILE_TEST_EXISTS))
		return count;
	while ((name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *child = g_build_filename(path, name, NULL);
		struct stat st;

		if (name[0] != '.' && lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
			count += av1d_command_count_dirs(child);
	}
	return count;
}

static void
av1d_command_print_roots(const Av1dConfig *config)
{
	guint budget = av1d_watcher_read_budget();
	guint used = 0;

	g_print(g_dngettext(GETTEXT_PACKAGE,
			    /* Translators: the number of inotify watches the user
			     * may have */
			    "Library roots (inotify budget: %u watch):\n",
			    "Library roots (inotify budget: %u watches):\n", budget),
		budget);
	if (config->library_roots[0] == NULL)
		/* Translators: ROOT is the argument in `av1d --help`, library_roots
		 * a config key (not translated) */
		g_print(_("  none configured: give ROOT arguments or set library_roots\n"));
	for (guint i = 0; config->library_roots[i] != NULL; i++) {
		const gchar *root = config->library_roots[i];
		g_autofree gchar *network = av1d_watcher_network_reason(root);
		guint dirs = av1d_command_count_dirs(root);

		if (network != NULL) {
			/* Translators: a library root, the rescan interval in
			 * seconds, then why it is not watched (e.g. a network file
			 * system) */
			g_print(_("  %s: rescanned every %u s instead of watched (%s)\n"), root,
				config->scan_interval_secs, network);
		} else if (used + dirs > budget) {
			g_print(g_dngettext(GETTEXT_PACKAGE,
					    /* Translators: a library root, its number
					     * of folders, the rescan interval in
					     * seconds, the watches it needs (as many
					     * as folders) and the watches left;
					     * fs.inotify.max_user_watches is a sysctl
					     * name */
					    "  %s: %u folder, rescanned every %u s instead of "
					    "watched (needs %u watch, %u left of the budget; "
					    "raise fs.inotify.max_user_watches)\n",
					    "  %s: %u folders, rescanned every %u s instead of "
					    "watched (needs %u watches, %u left of the budget; "
					    "raise fs.inotify.max_user_watches)\n",
					    dirs),
				root, dirs, config->scan_interval_secs, dirs, budget - used);
		} else {
			g_print(g_dngettext(GETTEXT_PACKAGE,
					    /* Translators: a library root and its
					     * number of folders; the English text says
					     * "folders" also for 1, as tests and
					     * scripts expect, but translate each
					     * plural form properly */
					    "  %s: %u folders, watched with inotify\n",
					    "  %s: %u folders, watched with inotify\n", dirs),
				root, dirs);
			used += dirs;
		}
	}
	g_print("\n");
}

int
av1d_command_check(const Av1dConfig *config, GError **error)
{
	g_auto(Av1dBackendChoice) choice = {NULL};
	g_autoptr(GError) choose_error = NULL;
	g_autofree gchar *report = NULL;
	g_autofree gchar *config_text = av1d_config_to_string(config);

	choice.probe = av1d_encoder_probe_machine(config, NULL, error);
	if (choice.probe == NULL)
		return 1;
	report = av1d_encoder_probe_to_string(choice.probe);
	if (av1d_encoder_choose(config, choice.probe, &choice.kind, &choice.reason, &choose_error))
		/* Translators: the encoder backend name (e.g. docker-qsv, not
		 * translated), then why av1d chose it */
		g_print(_("Encoder: %s\n  why: %s\n"), av1d_encoder_kind_to_string(choice.kind),
			choice.reason);
	else
		/* Translators: %s says why no encoder backend can run */
		g_print(_("Encoder: none usable\n  why: %s\n"), choose_error->message);
	g_print("\n%s\n", report);
	av1d_command_print_roots(config);
	/* Translators: a heading of `av1d check`; the config in TOML follows */
	g_print(_("Config in effect:\n"));
	/* the TOML stays as it is: it can be pasted into a config file */
	g_print("%s", config_text);
	if (choose_error != NULL) {
		g_propagate_prefixed_error(error, g_steal_pointer(&choose_error),
					   _("av1d cannot encode on this machine: "));
		return 1;
	}
	return 0;
}

int
av1d_command_explain(const Av1dConfig *config, const gchar *path, GError **error)
{
	g_auto(Av1dBackendChoice) choice = {NULL};
	g_autofree gchar *canonical = realpath(path, NULL);
	g_autofree gchar *text = NULL;
	struct stat st;

	if (canonical == NULL) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_NOT_FOUND, "%s: %s", path,
			    g_strerror(errno));
		return 1;
	}
	if (!av1d_backend_choose(config, &choice, error))
		return 1;
	text = av1d_explain_file_sync(config, &choice.params, canonical, error);
	if (text == NULL)
		return 1;
	g_print("%s", text);
	if (lstat(canonical, &st) == 0) {
		const gchar *root = av1d_candidate_find_root(config, canonical);
		Av1dCandidateVerdict verdict = av1d_candidate_check(config, root, canonical, &st);
		const gchar *what =
		    g_dgettext(GETTEXT_PACKAGE, av1d_candidate_verdict_to_string(verdict));

		if (root == NULL && config->library_roots[0] != NULL)
			/* Translators: %s is the verdict, e.g. "candidate" or
			 * "hidden file" */
			g_print(_("Candidate: %s (not under a library root)\n"), what);
		else
			/* Translators: %s is the verdict, e.g. "candidate" or
			 * "hidden file" */
			g_print(_("Candidate: %s\n"), what);
	}
	/* Translators: the encoder backend name (e.g. docker-qsv, not
	 * translated), then why av1d chose it */
	g_print(_("Encoder: %s (%s)\n"), av1d_encoder_kind_to_string(choice.kind), choice.reason);
	return 0;
}

int
av1d_command_skip(const Av1dConfig *config, const gchar *path, GError **error)
{
	g_autofree gchar *canonical = realpath(path, NULL);

	if (canonical == NULL) {
		g_set_error(error, AV1D_ERROR, AV1D_ERROR_NOT_FOUND, "%s: %s", path,
			    g_strerror(errno));
		return 1;
	}
	/* Translators: the text of the .av1skip marker that `av1d skip` writes */
	if (!av1d_sidecar_write_skip((const gchar *const *)config->library_roots, canonical,
				     _("skipped with `av1d skip`"), error))
		return 1;
	if (g_file_test(canonical, G_FILE_TEST_IS_DIR))
		/* Translators: %s is a folder */
		g_print(_("av1d will not touch %s or anything below it\n"), canonical);
	else
		g_print(_("av1d will not touch %s\n"), canonical);
	return 0;
}
