/* --once --json: the model as one JSON document (json-glib), no curses */
#pragma once

#include <glib.h>

#include "av1top-model.h"

G_BEGIN_DECLS

gchar *
av1top_snapshot_to_json(Av1topModel *model);

G_END_DECLS
