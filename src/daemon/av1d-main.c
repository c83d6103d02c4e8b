#define G_LOG_DOMAIN "av1d"

#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>

#include "av1d-commands.h"
#include "av1d-config.h"
#include "av1d-error.h"
#include "av1d-log.h"

/* SPEC 13 */
#define AV1D_EXIT_OK	  0
#define AV1D_EXIT_FAILURE 1
#define AV1D_EXIT_USAGE	  2

typedef struct {
	gchar *config_file;
	gboolean once;
	gboolean dry_run;
	gboolean verbose;
	gboolean version;
	gboolean system_bus;
	GStrv args;
} Av1dOptions;

static void
av1d_options_clear(Av1dOptions *options)
{
	g_free(options->config_file);
	g_strfreev(options->args);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Av1dOptions, av1d_options_clear)

static gboolean
av1d_parse_options(Av1dOptions *options, int *argc, char ***argv, GError **error)
{
	const GOptionEntry entries[] = {
	    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &options->config_file,
	     /* TRANSLATORS: --config */
	     N_("Read the configuration from FILE (.toml or .json)"), N_("FILE")},
	    {"once", '1', 0, G_OPTION_ARG_NONE, &options->once,
	     N_("Crawl the roots, process what is stable now, then exit"), NULL},
	    {"dry-run", 'n', 0, G_OPTION_ARG_NONE, &options->dry_run,
	     N_("Decide and print the plan and argv; change nothing on disk"), NULL},
	    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &options->verbose,
	     N_("Show debug messages"), NULL},
	    {"version", 0, 0, G_OPTION_ARG_NONE, &options->version,
	     N_("Print the version and exit"), NULL},
	    {"system", 0, 0, G_OPTION_ARG_NONE, &options->system_bus,
	     N_("Serve on the system bus instead of the session bus"), NULL},
	    {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &options->args, NULL,
	     N_("[ROOT…]")},
	    {NULL},
	};
	g_autoptr(GOptionContext) context = g_option_context_new(NULL);

	g_option_context_set_translation_domain(context, GETTEXT_PACKAGE);
	g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
	g_option_context_set_summary(
	    context,
	    _("Watch media library folders and transcode films and series to AV1,\n"
	      "keeping the result only when it is verified and smaller, and never\n"
	      "losing the original.\n"
	      "\n"
	      "Commands:\n"
	      "  av1d [ROOT…]             run the daemon on the roots (or the configured ones)\n"
	      "  av1d --once [ROOT…]      process what is stable now, then exit\n"
	      "  av1d check [ROOT…]       report the encoder, the machine, the roots and the config\n"
	      "  av1d explain PATH        show what av1d decides for a file, and why\n"
	      "  av1d skip PATH           mark a file or folder so av1d never touches it"));
	g_option_context_set_description(
	    context,
	    _("Configuration: --config FILE, else $XDG_CONFIG_HOME/av1d/config.toml,\n"
	      "else config.json there, else built-in defaults (see README.md).\n"
	      "\n"
	      "Exit status: 0 ok, 1 runtime failure, 2 usage or configuration error."));
	return g_option_context_parse(context, argc, argv, error);
}

static Av1dConfig *
av1d_load_config(const Av1dOptions *options, const gchar *const *roots, GError **error)
{
	g_autoptr(Av1dConfig) config = av1d_config_load(options->config_file, error);

	if (config == NULL)
		return NULL;
	if (roots != NULL && roots[0] != NULL) {
		if (!av1d_config_set_roots(config, roots, error))
			return NULL;
	}
	return g_steal_pointer(&config);
}

static int
av1d_usage_error(const gchar *message)
{
	/* TRANSLATORS: the first %s is an error message */
	g_printerr(_("av1d: %s\nTry “av1d --help” for more information.\n"), message);
	return AV1D_EXIT_USAGE;
}

static int
av1d_run_command(const Av1dOptions *options, GError **error)
{
	const gchar *command = options->args != NULL ? options->args[0] : NULL;
	const gchar *const *rest = options->args != NULL && command != NULL
				       ? (const gchar *const *)options->args + 1
				       : NULL;
	Av1dCommandFlags flags = AV1D_COMMAND_FLAG_NONE;
	g_autoptr(Av1dConfig) config = NULL;

	if (options->dry_run)
		flags |= AV1D_COMMAND_FLAG_DRY_RUN;
	if (options->once)
		flags |= AV1D_COMMAND_FLAG_ONCE;
	if (options->system_bus)
		flags |= AV1D_COMMAND_FLAG_SYSTEM_BUS;

	if (g_strcmp0(command, "check") == 0 || g_strcmp0(command, "explain") == 0 ||
	    g_strcmp0(command, "skip") == 0) {
		gboolean wants_path = g_strcmp0(command, "check") != 0;
		if (wants_path && (rest[0] == NULL || rest[1] != NULL)) {
			g_autofree gchar *msg =
			    g_strdup_printf(_("“%s” takes exactly one PATH"), command);
			return av1d_usage_error(msg);
		}
		/* check [ROOT…] reports on the roots it would run on */
		config = av1d_load_config(options, wants_path ? NULL : rest, error);
		if (config == NULL)
			return AV1D_EXIT_USAGE;
		if (g_strcmp0(command, "check") == 0)
			return av1d_command_check(config, error);
		if (g_strcmp0(command, "explain") == 0)
			return av1d_command_explain(config, rest[0], error);
		return av1d_command_skip(config, rest[0], error);
	}

	config = av1d_load_config(options, (const gchar *const *)options->args, error);
	if (config == NULL)
		return AV1D_EXIT_USAGE;
	if (config->library_roots[0] == NULL) {
		g_set_error_literal(error, AV1D_ERROR, AV1D_ERROR_CONFIG,
				    _("no library roots: give ROOT arguments or set "
				      "library_roots in the config file"));
		return AV1D_EXIT_USAGE;
	}
	/* what a run writes down (job reasons in the store, served later over
	 * D-Bus) and says to the journal stays English: clients translate by
	 * error name. The commands above and --dry-run, which only print, speak
	 * the user's language. */
	if ((flags & AV1D_COMMAND_FLAG_DRY_RUN) == 0)
		setlocale(LC_MESSAGES, "C");
	return av1d_command_run(config, (const gchar *const *)options->args, flags, error);
}

int
main(int argc, char *argv[])
{
	g_auto(Av1dOptions) options = {NULL};
	g_autoptr(GError) error = NULL;
	Av1dLogOptions log_options = {0};
	int status;

	setlocale(LC_ALL, "");
	bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);

	if (!av1d_parse_options(&options, &argc, &argv, &error))
		return av1d_usage_error(error->message);
	if (options.version) {
		g_print("av1d %s\n", PACKAGE_VERSION);
		return AV1D_EXIT_OK;
	}
	log_options.verbose = options.verbose;
	av1d_log_setup(&log_options);

	status = av1d_run_command(&options, &error);
	if (error != NULL)
		g_printerr("av1d: %s\n", error->message);
	return status;
}
