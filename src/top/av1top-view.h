/*
 * The curses screen: draws the model and reads keys. The only part of
 * av1top that includes curses; it never talks to the bus.
 */
#pragma once

#include <glib.h>

#include "av1top-model.h"

G_BEGIN_DECLS

typedef struct _Av1topView Av1topView;

/* takes over the terminal; @color FALSE for NO_COLOR */
Av1topView *
av1top_view_new(gboolean color);
/* gives the terminal back */
void
av1top_view_free(Av1topView *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Av1topView, av1top_view_free)

/* draws everything; @visible gets the jobs on screen (borrowed) */
void
av1top_view_draw(Av1topView *self, Av1topModel *model, GPtrArray *visible);
/* the next key (an Av1topKey or a code point), AV1TOP_KEY_NONE when
 * none is waiting */
gint
av1top_view_read_key(Av1topView *self);
/* table rows on the screen at the last draw, for PgUp/PgDn */
guint
av1top_view_page_rows(Av1topView *self);

G_END_DECLS
