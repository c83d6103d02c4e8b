/*
 * av1top: options, signal flags and the poll() loop over the terminal and
 * the bus (nvtop's shape). Nothing runs unless a key, a bus message, a
 * meter sample or a deadline of sd-bus is due; redraws for bus traffic are
 * held to four a second.
 */
#define G_LOG_DOMAIN "av1top"

#include "config.h"

#include <errno.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "av1top-bus.h"
#include "av1top-host.h"
#include "av1top-keys.h"
#include "av1top-model.h"
#include "av1top-snapshot.h"
#include "av1top-view.h"

#define REDRAW_USEC	   (G_USEC_PER_SEC / 4)
#define ONCE_SAMPLE_USEC   (200 * 1000)
#define EXIT_RUNTIME	   1
#define EXIT_USAGE	   2

static volatile sig_atomic_t quit_requested;

typedef struct {
	gboolean once;
	gboolean json;
	gboolean system;
	gboolean version;
	gchar *address;
	gchar *journal_dir;
	gdouble delay;
	gchar **rest;
} Av1topOptions;

static void
av1top_options_clear(Av1topOptions *options)
{
	g_free(options->address);
	g_free(options->journal_dir);
	g_strfreev(options->rest);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Av1topOptions, av1top_options_clear)

static void
av1top_on_signal(int sig)
{
	quit_requested = 1;
}

static void
av1top_install_signals(void)
{
	struct sigaction action = {0};

	/* no SA_RESTART: poll() returns and the loop sees the flag */
	action.sa_handler = av1top_on_signal;
	sigemptyset(&action.sa_mask);
	sigaction(SIGINT, &action, NULL);
	sigaction(SIGTERM, &action, NULL);
	sigaction(SIGHUP, &action, NULL);
}

static gint
av1top_usage_error(const gchar *message)
{
	g_printerr(_("av1top: %s\nTry “av1top --help” for more information.\n"), message);
	return EXIT_USAGE;
}

static gboolean
av1top_parse(Av1topOptions *options, gint *argc, gchar ***argv, GError **error)
{
	const GOptionEntry entries[] = {
		{"once", 0, 0, G_OPTION_ARG_NONE, &options->once,
		 N_("Print one snapshot of the daemon and the host, then exit"), NULL},
		{"json", 0, 0, G_OPTION_ARG_NONE, &options->json,
		 N_("With --once: print the snapshot as JSON"), NULL},
		{"bus-address", 0, 0, G_OPTION_ARG_STRING, &options->address,
		 N_("Connect to the D-Bus bus at ADDRESS instead of the session bus"),
		 N_("ADDRESS")},
		{"system", 0, 0, G_OPTION_ARG_NONE, &options->system,
		 N_("Watch the av1d on the system bus"), NULL},
		{"journal-dir", 0, 0, G_OPTION_ARG_FILENAME, &options->journal_dir,
		 N_("Read job journal lines from the journal files in DIR"), N_("DIR")},
		{"delay", 'd', 0, G_OPTION_ARG_DOUBLE, &options->delay,
		 N_("Seconds between samples of the host meters (default 2)"), N_("SECONDS")},
		{"version", 0, 0, G_OPTION_ARG_NONE, &options->version,
		 N_("Print the version and exit"), NULL},
		{G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &options->rest, NULL, NULL},
		{NULL},
	};
	g_autoptr(GOptionContext) context = g_option_context_new(NULL);

	g_option_context_set_translation_domain(context, GETTEXT_PACKAGE);
	g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
	g_option_context_set_summary(
	    context, _("Watch and steer av1d: its jobs, their progress, and the host's load."));
	g_option_context_set_description(
	    context, _("Keys: q quit, r refresh, arrows/PgUp/PgDn/Home/End move, Enter details,\n"
		       "s skip, R retry, c cancel, p pause/resume, / filter, ? help.\n"
		       "NO_COLOR in the environment turns colours off."));
	options->delay = 2.0;
	return g_option_context_parse(context, argc, argv, error);
}

/* a usage error in the options, or NULL */
static gchar *
av1top_check_options(const Av1topOptions *options)
{
	if (options->rest != NULL && options->rest[0] != NULL)
		return g_strdup_printf(_("unexpected argument “%s”"), options->rest[0]);
	if (options->json && !options->once)
		return g_strdup(_("--json only goes with --once"));
	if (options->system && options->address != NULL)
		return g_strdup(_("--system and --bus-address exclude each other"));
	if (options->delay < 0.1 || options->delay > 3600)
		return g_strdup(_("--delay takes seconds between 0.1 and 3600"));
	return NULL;
}

static Av1topBus *
av1top_make_bus(const Av1topOptions *options, Av1topModel *model)
{
	if (options->address != NULL)
		return av1top_bus_new(model, AV1TOP_BUS_ADDRESS, options->address);
	return av1top_bus_new(model, options->system ? AV1TOP_BUS_SYSTEM : AV1TOP_BUS_USER, NULL);
}

static void
av1top_print_text(Av1topModel *model)
{
	GPtrArray *rows = av1top_model_get_rows(model);

	g_print("%s\t%s\t%s\t%s\t%s\n", _("ID"), _("STATUS"), _("STAGE"), _("PROGRESS"),
		_("FILE"));
	for (guint i = 0; i < rows->len; i++) {
		const Av1topJob *job = g_ptr_array_index(rows, i);

		g_print("%" G_GUINT64_FORMAT "\t%s\t%s\t%.0f%%\t%s\n", job->id,
			job->status_text != NULL ? job->status_text : "?",
			job->stage != NULL ? job->stage : "", job->progress * 100,
			job->path != NULL ? job->path : "");
	}
}

static gint
av1top_run_once(const Av1topOptions *options)
{
	g_autoptr(Av1topModel) model = av1top_model_new();
	g_autoptr(Av1topBus) bus = av1top_make_bus(options, model);
	g_autoptr(Av1topHost) host = av1top_host_new();
	g_autoptr(GError) error = NULL;
	gint64 start = g_get_monotonic_time();
	gint64 left;

	/* CPU is a share of time: two samples, the bus round trip between */
	av1top_host_sample(host, &model->host, NULL);
	if (!av1top_bus_load_sync(bus, &error)) {
		g_printerr("av1top: %s\n", error->message);
		return EXIT_RUNTIME;
	}
	left = start + ONCE_SAMPLE_USEC - g_get_monotonic_time();
	if (left > 0)
		g_usleep((gulong)left);
	av1top_host_sample(host, &model->host, (const gchar *const *)model->roots);
	if (options->json) {
		g_autofree gchar *json = av1top_snapshot_to_json(model);

		g_print("%s\n", json);
	} else {
		av1top_print_text(model);
	}
	return EXIT_SUCCESS;
}

/* when the loop has to wake without input, in monotonic µs */
static gint64
av1top_next_deadline(Av1topModel *model, Av1topBus *bus, gint64 next_sample, gint64 last_draw)
{
	gint64 deadline = MIN(next_sample, av1top_bus_get_deadline(bus));

	if (model->dirty)
		deadline = MIN(deadline, last_draw + REDRAW_USEC);
	if (model->message != NULL)
		deadline = MIN(deadline, model->message_until + 1);
	return deadline;
}

static gint
av1top_poll(Av1topBus *bus, gint64 deadline, gboolean *keys)
{
	struct pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {-1, 0, 0}};
	gint64 now = g_get_monotonic_time();
	gint timeout = -1;
	gint r;

	if (deadline != G_MAXINT64)
		timeout = deadline <= now ? 0 : (gint)MIN((deadline - now + 999) / 1000, G_MAXINT);
	fds[1].fd = av1top_bus_get_fd(bus);
	fds[1].events = av1top_bus_get_events(bus);
	r = poll(fds, fds[1].fd >= 0 ? 2 : 1, timeout);
	/* a signal (SIGWINCH among them) may have left a key for curses */
	*keys = r < 0 || (fds[0].revents & (POLLIN | POLLHUP)) != 0;
	if ((fds[0].revents & (POLLHUP | POLLERR | POLLNVAL)) != 0)
		quit_requested = 1;
	return r < 0 ? -errno : r;
}

/* keys until none is waiting; TRUE when one asked for a redraw */
static gboolean
av1top_handle_keys(Av1topApp *app, Av1topView *view)
{
	gboolean redraw = FALSE;
	gint key;

	while ((key = av1top_view_read_key(view)) != AV1TOP_KEY_NONE) {
		Av1topReaction reaction;

		app->page_rows = av1top_view_page_rows(view);
		reaction = av1top_keys_handle(app, key);
		if (reaction & AV1TOP_REACT_QUIT)
			quit_requested = 1;
		if (reaction & AV1TOP_REACT_REDRAW)
			redraw = TRUE;
	}
	return redraw;
}

static gint
av1top_run_tui(const Av1topOptions *options)
{
	g_autoptr(Av1topModel) model = av1top_model_new();
	g_autoptr(Av1topBus) bus = av1top_make_bus(options, model);
	g_autoptr(Av1topHost) host = av1top_host_new();
	g_autoptr(Av1topView) view = NULL;
	g_autoptr(GPtrArray) visible = g_ptr_array_new();
	const gchar *no_color = g_getenv("NO_COLOR");
	gint64 interval = (gint64)(options->delay * G_USEC_PER_SEC);
	gint64 next_sample = 0, last_draw = 0;
	guint roots_changes = 0;
	Av1topApp app = {model, bus, options->journal_dir, 0};

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		g_printerr(_("av1top: not a terminal; use --once for a snapshot\n"));
		return EXIT_RUNTIME;
	}
	/* a bus that is not there yet is the banner's business, not fatal */
	av1top_bus_connect(bus, NULL);
	/* https://no-color.org: set and not empty */
	view = av1top_view_new(no_color == NULL || no_color[0] == '\0');
	while (!quit_requested) {
		gint64 now = g_get_monotonic_time();
		gboolean keys = FALSE, force = FALSE;

		if (now >= next_sample || roots_changes != model->roots_changes) {
			roots_changes = model->roots_changes;
			av1top_host_sample(host, &model->host, (const gchar *const *)model->roots);
			next_sample = now + interval;
			model->dirty = TRUE;
		}
		if (model->message != NULL && now > model->message_until) {
			g_clear_pointer(&model->message, g_free);
			model->dirty = TRUE;
		}
		if (model->dirty && now >= last_draw + REDRAW_USEC) {
			av1top_view_draw(view, model, visible);
			last_draw = now;
			/* the times of the rows on screen, asked once per job */
			av1top_bus_fetch_times(bus, visible);
		}
		av1top_poll(bus, av1top_next_deadline(model, bus, next_sample, last_draw), &keys);
		if (keys)
			force = av1top_handle_keys(&app, view);
		av1top_bus_dispatch(bus);
		/* a key is answered at once; only bus traffic waits its turn */
		if (force && !quit_requested) {
			av1top_view_draw(view, model, visible);
			last_draw = g_get_monotonic_time();
			av1top_bus_fetch_times(bus, visible);
		}
	}
	return EXIT_SUCCESS;
}

int
main(int argc, char **argv)
{
	g_auto(Av1topOptions) options = {0};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *problem = NULL;

	setlocale(LC_ALL, "");
	bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);

	if (!av1top_parse(&options, &argc, &argv, &error))
		return av1top_usage_error(error->message);
	if (options.version) {
		g_print("av1top %s\n", PACKAGE_VERSION);
		return EXIT_SUCCESS;
	}
	problem = av1top_check_options(&options);
	if (problem != NULL)
		return av1top_usage_error(problem);
	av1top_install_signals();
	if (options.once)
		return av1top_run_once(&options);
	return av1top_run_tui(&options);
}
