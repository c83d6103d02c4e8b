/*
 * What each key does (htop's Action table): a key maps to an action that
 * changes the model or calls the daemon and answers with reaction flags.
 * No curses here: the view turns curses' key codes into Av1topKey.
 */
#pragma once

#include <glib.h>

#include "av1top-bus.h"
#include "av1top-model.h"

G_BEGIN_DECLS

/* printable keys are their Unicode code points; the rest lie above */
typedef enum {
	AV1TOP_KEY_NONE = -1,
	AV1TOP_KEY_UP = 0x110000,
	AV1TOP_KEY_DOWN,
	AV1TOP_KEY_PAGE_UP,
	AV1TOP_KEY_PAGE_DOWN,
	AV1TOP_KEY_HOME,
	AV1TOP_KEY_END,
	AV1TOP_KEY_ENTER,
	AV1TOP_KEY_ESCAPE,
	AV1TOP_KEY_BACKSPACE,
	AV1TOP_KEY_RESIZE,
} Av1topKey;

typedef enum {
	AV1TOP_REACT_NONE = 0,
	AV1TOP_REACT_REDRAW = 1 << 0,
	AV1TOP_REACT_QUIT = 1 << 1,
} Av1topReaction;

typedef struct {
	Av1topModel *model;
	Av1topBus *bus;
	const gchar *journal_dir; /* NULL: the local journal */
	guint page_rows;	  /* table rows on the screen */
} Av1topApp;

typedef struct {
	const gchar *key;	  /* as shown */
	const gchar *description; /* N_() */
} Av1topKeyHelp;

/* every key, for the help page */
const Av1topKeyHelp *
av1top_keys_get_help(guint *n_keys);

Av1topReaction
av1top_keys_handle(Av1topApp *app, gint key);

G_END_DECLS
