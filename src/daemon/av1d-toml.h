/*
 * A strict parser for the TOML subset av1d's config needs (SPEC 2): tables,
 * basic and literal strings, integers, floats, booleans, arrays of strings
 * and comments. Everything else is rejected with "file:line:col: message".
 *
 * The result is a JSON tree (an object of objects for tables) so that the
 * config validator handles TOML and JSON with one code path, plus the
 * position of every key so that validation errors can point into the file.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct {
	JsonNode *root;	       /* JSON_NODE_OBJECT */
	GHashTable *positions; /* dotted key ("a.b") -> Av1dTomlPosition* */
} Av1dTomlDocument;

typedef struct {
	guint line; /* 1-based */
	guint col;  /* 1-based, in bytes */
} Av1dTomlPosition;

/* filename is only used for messages; errors are AV1D_ERROR_CONFIG with
 * the message "<filename>:<line>:<col>: <what was expected>" */
Av1dTomlDocument *
av1d_toml_parse(const gchar *filename, const gchar *text, gssize length, GError **error);
const Av1dTomlPosition *
av1d_toml_document_lookup_position(const Av1dTomlDocument *self, const gchar *dotted_key);
void
av1d_toml_document_free(Av1dTomlDocument *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Av1dTomlDocument, av1d_toml_document_free)

G_END_DECLS
