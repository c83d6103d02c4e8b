#define G_LOG_DOMAIN "av1d-toml"

#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "av1d-error.h"
#include "av1d-toml.h"

typedef enum {
	ENTRY_KEY,
	ENTRY_IMPLICIT_TABLE, /* only named as the parent in a [a.b] header */
	ENTRY_TABLE,
} EntryKind;

/* what a path already names, so that a redefinition can point at the
 * first definition */
typedef struct {
	EntryKind kind;
	Av1dTomlPosition position;
	JsonObject *object; /* tables only; owned by the tree */
} Entry;

typedef struct {
	const gchar *filename;
	const gchar *text;
	gsize length;
	gsize pos;
	guint line;
	gsize line_start; /* offset of the first byte of the current line */
	gsize bom;	  /* a leading byte order mark is not a column */
	JsonNode *root;
	JsonObject *table;     /* the current table, owned by root */
	gchar *table_path;     /* dotted, "" for the root table */
	gchar *table_id;       /* table_path in a form where "." in a name is unambiguous */
	GHashTable *entries;   /* id -> Entry* */
	GHashTable *positions; /* dotted path -> Av1dTomlPosition* */
	gchar *described;      /* the last describe() result, for one message */
} Parser;

static void
parser_clear(Parser *p)
{
	g_clear_pointer(&p->root, json_node_unref);
	g_clear_pointer(&p->table_path, g_free);
	g_clear_pointer(&p->table_id, g_free);
	g_clear_pointer(&p->entries, g_hash_table_unref);
	g_clear_pointer(&p->positions, g_hash_table_unref);
	g_clear_pointer(&p->described, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Parser, parser_clear)

/* '\0' stands for the end of input: the input is checked to hold no NUL */
static guchar
peek(const Parser *p, gsize ahead)
{
	if (p->pos >= p->length || ahead >= p->length - p->pos)
		return '\0';
	return (guchar)p->text[p->pos + ahead];
}

static gboolean
at_eof(const Parser *p)
{
	return p->pos >= p->length;
}

static gboolean
looking_at(const Parser *p, const gchar *word)
{
	for (gsize i = 0; word[i] != '\0'; i++) {
		if (peek(p, i) != (guchar)word[i])
			return FALSE;
	}
	return TRUE;
}

static gboolean
is_bare_key_char(guchar c)
{
	return g_ascii_isalnum(c) || c == '_' || c == '-';
}

static gboolean
is_control(guchar c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

static gboolean
at_newline(const Parser *p)
{
	return peek(p, 0) == '\n' || (peek(p, 0) == '\r' && peek(p, 1) == '\n');
}

static gboolean
consume_newline(Parser *p)
{
	if (!at_newline(p))
		return FALSE;
	p->pos += peek(p, 0) == '\r' ? 2 : 1;
	p->line++;
	p->line_start = p->pos;
	return TRUE;
}

static void
skip_blanks(Parser *p)
{
	while (peek(p, 0) == ' ' || peek(p, 0) == '\t')
		p->pos++;
}

static Av1dTomlPosition
position_of(const Parser *p, gsize offset)
{
	Av1dTomlPosition position = {1, 1};
	gsize line_start = p->bom;

	/* usually offset is on the current line; encoding errors come before
	 * any line has been read and may be anywhere */
	if (offset >= p->line_start) {
		position.line = p->line;
		line_start = p->line_start;
	}
	for (gsize i = line_start; i < offset && i < p->length; i++) {
		if (p->text[i] == '\n') {
			position.line++;
			line_start = i + 1;
		}
	}
	position.col = offset >= line_start ? (guint)(offset - line_start + 1) : 1;
	return position;
}

static gboolean G_GNUC_PRINTF(4, 5)
fail_at(Parser *p, gsize offset, GError **error, const gchar *format, ...)
{
	Av1dTomlPosition position = position_of(p, offset);
	g_autofree gchar *message = NULL;
	va_list args;

	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error(error,
		    AV1D_ERROR,
		    AV1D_ERROR_CONFIG,
		    "%s:%u:%u: %s",
		    p->filename,
		    position.line,
		    position.col,
		    message);
	return FALSE;
}

/* a human name for the byte at offset, for "unexpected X" messages */
static gchar *
describe_at(const Parser *p, gsize offset)
{
	guchar c = offset < p->length ? (guchar)p->text[offset] : '\0';

	if (offset >= p->length) {
		/* Translators: what the TOML parser found, as in "unexpected end
		 * of file: expected …" */
		return g_strdup(_("end of file"));
	}
	if (c == '\n' || (c == '\r' && offset + 1 < p->length && p->text[offset + 1] == '\n')) {
		/* Translators: what the TOML parser found, as in "unexpected end
		 * of line: expected …" */
		return g_strdup(_("end of line"));
	}
	if (c >= 0x80) {
		/* the input is valid UTF-8, so a whole character is there */
		return g_strdup_printf("U+%04X", g_utf8_get_char(p->text + offset));
	}
	if (g_ascii_isgraph(c))
		return g_strdup_printf("'%c'", c);
	return g_strdup_printf("U+%04X", c);
}

/* describe_at() for the one message about to be raised: the parser keeps
 * the text, so that each message can be a whole sentence at its call */
static const gchar *
describe(Parser *p, gsize offset)
{
	g_free(p->described);
	p->described = describe_at(p, offset);
	return p->described;
}

static gboolean
check_encoding(Parser *p, GError **error)
{
	const gchar *end = NULL;
	gsize offset;

	if (g_utf8_validate_len(p->text, p->length, &end))
		return TRUE;
	offset = (gsize)(end - p->text);
	if (p->text[offset] == '\0')
		return fail_at(p, offset, error, _("unexpected NUL byte: expected UTF-8 text"));
	return fail_at(p,
		       offset,
		       error,
		       _("invalid UTF-8 (byte 0x%02X): expected UTF-8 text"),
		       (guchar)p->text[offset]);
}

static gboolean
skip_comment(Parser *p, GError **error)
{
	p->pos++; /* '#' */
	while (!at_eof(p) && !at_newline(p)) {
		guchar c = peek(p, 0);

		if (is_control(c)) {
			return fail_at(p,
				       p->pos,
				       error,
				       _("control character U+%04X in comment: expected printable "
					 "text"),
				       c);
		}
		p->pos++;
	}
	return TRUE;
}

typedef enum {
	LINE_END_AFTER_VALUE,
	LINE_END_AFTER_TABLE_HEADER,
	LINE_END_AFTER_COMMENT,
} LineEndAfter;

/* after a value or a header only a comment may follow on the line */
static gboolean
expect_line_end(Parser *p, LineEndAfter after, GError **error)
{
	const gchar *what;

	skip_blanks(p);
	if (peek(p, 0) == '#' && !skip_comment(p, error))
		return FALSE;
	if (at_eof(p) || consume_newline(p))
		return TRUE;
	what = describe(p, p->pos);
	switch (after) {
	case LINE_END_AFTER_VALUE:
		return fail_at(p,
			       p->pos,
			       error,
			       /* Translators: %s is what was found: a character,
				* "end of file" or "end of line" */
			       _("unexpected %s after value: expected end of line or a comment"),
			       what);
	case LINE_END_AFTER_TABLE_HEADER:
		return fail_at(p,
			       p->pos,
			       error,
			       /* Translators: %s is what was found: a character,
				* "end of file" or "end of line" */
			       _("unexpected %s after table header: expected end of line or a "
				 "comment"),
			       what);
	case LINE_END_AFTER_COMMENT:
	default:
		return fail_at(p,
			       p->pos,
			       error,
			       /* Translators: %s is what was found: a character,
				* "end of file" or "end of line" */
			       _("unexpected %s after comment: expected end of line or a comment"),
			       what);
	}
}

/* ---- strings ---- */

static gboolean
reject_multiline(Parser *p, guchar quote, GError **error)
{
	if (peek(p, 1) != quote || peek(p, 2) != quote)
		return TRUE;
	return fail_at(p,
		       p->pos,
		       error,
		       /* Translators: %c%c%c is three quote characters */
		       _("multi-line strings (%c%c%c) are not supported: expected a single-line "
			 "string"),
		       quote,
		       quote,
		       quote);
}

/* the byte at pos is about to become part of a string: is that allowed? */
static gboolean
check_string_char(Parser *p, guchar quote, GError **error)
{
	guchar c = peek(p, 0);

	if (at_eof(p)) {
		return fail_at(p,
			       p->pos,
			       error,
			       /* Translators: %c is the quote character */
			       _("unterminated string: expected closing '%c' before end of file"),
			       quote);
	}
	if (at_newline(p)) {
		return fail_at(p,
			       p->pos,
			       error,
			       /* Translators: %c is the quote character */
			       _("unterminated string: expected closing '%c' before end of line"),
			       quote);
	}
	if (is_control(c) && quote == '"') {
		return fail_at(p,
			       p->pos,
			       error,
			       _("control character U+%04X in string: expected printable text or "
				 "an escape sequence"),
			       c);
	}
	if (is_control(c)) {
		return fail_at(p,
			       p->pos,
			       error,
			       _("control character U+%04X in string: expected printable text"),
			       c);
	}
	return TRUE;
}

static gboolean
parse_unicode_escape(Parser *p, guint digits, GString *buf, GError **error)
{
	gsize start = p->pos;
	gunichar value = 0;

	for (guint i = 0; i < digits; i++) {
		guchar c = peek(p, 2 + i);

		if (!g_ascii_isxdigit(c)) {
			return fail_at(p,
				       p->pos + 2 + i,
				       error,
				       /* Translators: %u is 4 or 8, %c is u or U */
				       _("invalid escape sequence: expected %u hex digits after "
					 "'\\%c'"),
				       digits,
				       peek(p, 1));
		}
		value = value * 16 + (gunichar)g_ascii_xdigit_value(c);
	}
	if (value == 0) {
		return fail_at(p,
			       start,
			       error,
			       _("invalid escape sequence: expected a code point other than "
				 "U+0000"));
	}
	if (value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) {
		return fail_at(p,
			       start,
			       error,
			       _("invalid escape sequence: U+%X is not a Unicode scalar value, "
				 "expected U+0001..U+D7FF or U+E000..U+10FFFF"),
			       value);
	}
	g_string_append_unichar(buf, value);
	p->pos += 2 + digits;
	return TRUE;
}

static gboolean
parse_escape(Parser *p, GString *buf, GError **error)
{
	static const gchar simple_from[] = "\"\\btnfr";
	static const gchar simple_to[] = "\"\\\b\t\n\f\r";
	guchar c = peek(p, 1);
	const gchar *simple = c != '\0' ? strchr(simple_from, c) : NULL;

	if (simple != NULL) {
		g_string_append_c(buf, simple_to[simple - simple_from]);
		p->pos += 2;
		return TRUE;
	}
	if (c == 'u' || c == 'U')
		return parse_unicode_escape(p, c == 'u' ? 4 : 8, buf, error);
	if (p->pos + 1 >= p->length || c == '\n' || c == '\r') {
		p->pos++;
		return check_string_char(p, '"', error);
	}
	return fail_at(p,
		       p->pos,
		       error,
		       /* Translators: %s is what was found: a character,
			* "end of file" or "end of line" */
		       _("invalid escape sequence: unexpected %s after '\\', expected one of "
			 "\\\" \\\\ \\b \\t \\n \\f \\r \\uXXXX \\UXXXXXXXX"),
		       describe(p, p->pos + 1));
}

/* a "basic" or 'literal' single-line string, at its opening quote */
static gboolean
parse_string(Parser *p, gchar **out, GError **error)
{
	guchar quote = peek(p, 0);
	g_autoptr(GString) buf = NULL;

	if (!reject_multiline(p, quote, error))
		return FALSE;
	p->pos++;
	buf = g_string_new(NULL);
	for (;;) {
		guchar c = peek(p, 0);

		if (c == quote) {
			p->pos++;
			*out = g_string_free(g_steal_pointer(&buf), FALSE);
			return TRUE;
		}
		if (c == '\\' && quote == '"') {
			if (!parse_escape(p, buf, error))
				return FALSE;
			continue;
		}
		if (!check_string_char(p, quote, error))
			return FALSE;
		g_string_append_c(buf, (gchar)c);
		p->pos++;
	}
}

/* ---- keys ---- */

static gboolean
is_key_start(guchar c)
{
	return is_bare_key_char(c) || c == '"' || c == '\'';
}

static gboolean
parse_key(Parser *p, gchar **out, GError **error)
{
	gsize start = p->pos;
	g_autofree gchar *key = NULL;

	if (!is_key_start(peek(p, 0))) {
		return fail_at(p,
			       p->pos,
			       error,
			       /* Translators: %s is what was found: a character,
				* "end of file" or "end of line" */
			       _("unexpected %s: expected a bare or quoted key"),
			       describe(p, p->pos));
	}
	if (is_bare_key_char(peek(p, 0))) {
		while (is_bare_key_char(peek(p, 0)))
			p->pos++;
		*out = g_strndup(p->text + start, p->pos - start);
		return TRUE;
	}
	if (!parse_string(p, &key, error))
		return FALSE;
	/* keep names printable so that messages and dotted paths stay readable */
	if (key[0] == '\0')
		return fail_at(p, start, error, _("empty key: expected at least one character"));
	for (const gchar *c = key; *c != '\0'; c++) {
		if (is_control((guchar)*c) || *c == '\t') {
			return fail_at(p,
				       start,
				       error,
				       _("control character U+%04X in key: expected printable "
					 "text"),
				       (guchar)*c);
		}
	}
	*out = g_steal_pointer(&key);
	return TRUE;
}

static gchar *
join_path(const gchar *parent, const gchar *name)
{
	if (parent[0] == '\0')
		return g_strdup(name);
	return g_strconcat(parent, ".", name, NULL);
}

static gchar *
join_id(const gchar *parent, const gchar *name)
{
	return g_strdup_printf("%s%" G_GSIZE_FORMAT ":%s", parent, strlen(name), name);
}

/* creates or updates the entry for id and the public position of path */
static Entry *
record(Parser *p, const gchar *id, const gchar *path, EntryKind kind, Av1dTomlPosition position)
{
	Entry *entry = g_hash_table_lookup(p->entries, id);

	if (entry == NULL) {
		entry = g_new0(Entry, 1);
		g_hash_table_insert(p->entries, g_strdup(id), entry);
	}
	entry->kind = kind;
	entry->position = position;
	g_hash_table_replace(p->positions,
			     g_strdup(path),
			     g_memdup2(&entry->position, sizeof entry->position));
	return entry;
}

/* ---- numbers ---- */

/* digits with single underscores between them; the first byte is a digit */
static gboolean
scan_digits(Parser *p, GError **error)
{
	for (;;) {
		if (g_ascii_isdigit(peek(p, 0))) {
			p->pos++;
		} else if (peek(p, 0) == '_') {
			if (!g_ascii_isdigit(peek(p, 1))) {
				return fail_at(p,
					       p->pos,
					       error,
					       _("invalid number: expected a digit after '_' "
						 "(underscores must be between digits)"));
			}
			p->pos++;
		} else {
			return TRUE;
		}
	}
}

typedef enum {
	DIGIT_AT_START,
	DIGIT_AFTER_POINT,
	DIGIT_IN_EXPONENT,
} DigitPlace;

static gboolean
expect_digit(Parser *p, DigitPlace place, GError **error)
{
	const gchar *what;

	if (g_ascii_isdigit(peek(p, 0)))
		return TRUE;
	what = describe(p, p->pos);
	switch (place) {
	case DIGIT_AT_START:
		return fail_at(p,
			       p->pos,
			       error,
			       /* Translators: %s is what was found: a character,
				* "end of file" or "end of line" */
			       _("invalid number: unexpected %s, expected a digit at the start of "
				 "a number"),
			       what);
	case DIGIT_AFTER_POINT:
		return fail_at(p,
			       p->pos,
			       error,
			       /* Translators: %s is what was found: a character,
				* "end of file" or "end of line" */
			       _("invalid number: unexpected %s, expected a digit after '.'"),
			       what);
	case DIGIT_IN_EXPONENT:
	default:
		return fail_at(p,
			       p->pos,
			       error,
			       /* Translators: %s is what was found: a character,
				* "end of file" or "end of line" */
			       _("invalid number: unexpected %s, expected a digit in the exponent"),
			       what);
	}
}

static gboolean
reject_special_number(Parser *p, gsize start, GError **error)
{
	if (looking_at(p, "inf") || looking_at(p, "nan")) {
		return fail_at(p,
			       start,
			       error,
			       /* Translators: inf and nan are TOML keywords */
			       _("inf and nan are not supported: expected a finite number"));
	}
	if (peek(p, 0) == '0' && (peek(p, 1) == 'x' || peek(p, 1) == 'o' || peek(p, 1) == 'b')) {
		return fail_at(p,
			       start,
			       error,
			       _("hexadecimal, octal and binary integers are not supported: "
				 "expected a decimal integer"));
	}
	return TRUE;
}

static gboolean
number_node(Parser *p, gsize start, gboolean is_float, JsonNode **out, GError **error)
{
	g_autoptr(GString) token = g_string_sized_new(p->pos - start);
	gint64 integer = 0;
	gdouble real;
	gchar *end = NULL;

	for (gsize i = start; i < p->pos; i++) {
		if (p->text[i] != '_')
			g_string_append_c(token, p->text[i]);
	}
	if (!is_float) {
		if (!g_ascii_string_to_signed(token->str,
					      10,
					      G_MININT64,
					      G_MAXINT64,
					      &integer,
					      NULL)) {
			return fail_at(p,
				       start,
				       error,
				       _("integer out of range: expected a value between %" PRId64
					 " and %" PRId64),
				       G_MININT64,
				       G_MAXINT64);
		}
		*out = json_node_init_int(json_node_alloc(), integer);
		return TRUE;
	}
	real = g_ascii_strtod(token->str, &end);
	if (end == NULL || *end != '\0' || !isfinite(real))
		return fail_at(p, start, error, _("float out of range: expected a finite number"));
	*out = json_node_init_double(json_node_alloc(), real);
	return TRUE;
}

static gboolean
parse_number(Parser *p, JsonNode **out, GError **error)
{
	gsize start = p->pos;
	gsize int_start;
	gboolean is_float = FALSE;

	if (peek(p, 0) == '+' || peek(p, 0) == '-')
		p->pos++;
	if (!reject_special_number(p, start, error))
		return FALSE;
	if (!expect_digit(p, DIGIT_AT_START, error))
		return FALSE;
	int_start = p->pos;
	if (!scan_digits(p, error))
		return FALSE;
	if (start == int_start && ((p->pos - int_start == 4 && peek(p, 0) == '-') ||
				   (p->pos - int_start == 2 && peek(p, 0) == ':'))) {
		return fail_at(p,
			       start,
			       error,
			       _("dates and times are not supported: expected a quoted string"));
	}
	if (p->text[int_start] == '0' && p->pos - int_start > 1)
		return fail_at(p, int_start, error, _("invalid number: expected no leading zeros"));
	if (peek(p, 0) == '.') {
		is_float = TRUE;
		p->pos++;
		if (!expect_digit(p, DIGIT_AFTER_POINT, error) || !scan_digits(p, error))
			return FALSE;
	}
	if (peek(p, 0) == 'e' || peek(p, 0) == 'E') {
		is_float = TRUE;
		p->pos++;
		if (peek(p, 0) == '+' || peek(p, 0) == '-')
			p->pos++;
		if (!expect_digit(p, DIGIT_IN_EXPONENT, error) || !scan_digits(p, error))
			return FALSE;
	}
	return number_node(p, start, is_float, out, error);
}

/* ---- other values ---- */

static gboolean
skip_array_space(Parser *p, GError **error)
{
	for (;;) {
		skip_blanks(p);
		if (peek(p, 0) == '#') {
			if (!skip_comment(p, error))
				return FALSE;
		} else if (!consume_newline(p)) {
			return TRUE;
		}
	}
}

static gboolean
parse_array_element(Parser *p, JsonArray *array, GError **error)
{
	g_autofree gchar *str = NULL;
	guchar c = peek(p, 0);

	if (at_eof(p)) {
		return fail_at(p,
			       p->pos,
			       error,
			       _("unterminated array: expected ']' before end of file"));
	}
	if (c == '[') {
		return fail_at(p,
			       p->pos,
			       error,
			       _("nested arrays are not supported: expected a string"));
	}
	if (c == '{') {
		return fail_at(p,
			       p->pos,
			       error,
			       _("inline tables are not supported: expected a string in the "
				 "array"));
	}
	if (c == '"' || c == '\'') {
		if (!parse_string(p, &str, error))
			return FALSE;
		json_array_add_string_element(array, str);
		return TRUE;
	}
	/* something value-like after strings is a second type */
	if (json_array_get_length(array) > 0 && (g_ascii_isalnum(c) || c == '+' || c == '-')) {
		return fail_at(p,
			       p->pos,
			       error,
			       /* Translators: %s is what was found: a character,
				* "end of file" or "end of line" */
			       _("unexpected %s: expected a string (arrays may not mix types)"),
			       describe(p, p->pos));
	}
	return fail_at(p,
		       p->pos,
		       error,
		       /* Translators: %s is what was found: a character,
			* "end of file" or "end of line" */
		       _("unexpected %s: expected a string or ']' (arrays may only hold strings)"),
		       describe(p, p->pos));
}

/* an array of strings, at its '[' */
static gboolean
parse_array(Parser *p, JsonNode **out, GError **error)
{
	g_autoptr(JsonArray) array = json_array_new();

	p->pos++;
	for (;;) {
		if (!skip_array_space(p, error))
			return FALSE;
		if (peek(p, 0) == ']')
			break;
		if (!parse_array_element(p, array, error) || !skip_array_space(p, error))
			return FALSE;
		if (peek(p, 0) == ']')
			break;
		if (at_eof(p)) {
			return fail_at(p,
				       p->pos,
				       error,
				       _("unterminated array: expected ']' before end of file"));
		}
		if (peek(p, 0) != ',') {
			return fail_at(p,
				       p->pos,
				       error,
				       /* Translators: %s is what was found: a character,
					* "end of file" or "end of line" */
				       _("unexpected %s: expected ',' or ']' in array"),
				       describe(p, p->pos));
		}
		p->pos++;
	}
	p->pos++; /* ']' */
	*out = json_node_init_array(json_node_alloc(), array);
	return TRUE;
}

static gboolean
parse_word(Parser *p, JsonNode **out, GError **error)
{
	gsize start = p->pos;
	g_autofree gchar *word = NULL;

	while (is_bare_key_char(peek(p, 0)))
		p->pos++;
	word = g_strndup(p->text + start, p->pos - start);
	if (g_str_equal(word, "true") || g_str_equal(word, "false")) {
		*out = json_node_init_boolean(json_node_alloc(), word[0] == 't');
		return TRUE;
	}
	if (g_str_equal(word, "inf") || g_str_equal(word, "nan")) {
		return fail_at(p,
			       start,
			       error,
			       /* Translators: inf and nan are TOML keywords */
			       _("inf and nan are not supported: expected a finite number"));
	}
	return fail_at(p,
		       start,
		       error,
		       _("invalid value '%s': expected a string, integer, float, boolean or array "
			 "of strings (strings must be quoted)"),
		       word);
}

static gboolean
parse_value(Parser *p, JsonNode **out, GError **error)
{
	guchar c = peek(p, 0);
	g_autofree gchar *str = NULL;

	if (at_eof(p) || at_newline(p) || c == '#')
		return fail_at(p, p->pos, error, _("missing value: expected a value after '='"));
	if (c == '"' || c == '\'') {
		if (!parse_string(p, &str, error))
			return FALSE;
		*out = json_node_init_string(json_node_alloc(), str);
		return TRUE;
	}
	if (c == '[')
		return parse_array(p, out, error);
	if (c == '{') {
		return fail_at(p,
			       p->pos,
			       error,
			       _("inline tables are not supported: expected a string, integer, "
				 "float, boolean or array of strings (use a [table] header)"));
	}
	if (c == '+' || c == '-' || g_ascii_isdigit(c))
		return parse_number(p, out, error);
	if (g_ascii_isalpha(c))
		return parse_word(p, out, error);
	return fail_at(p,
		       p->pos,
		       error,
		       /* Translators: %s is what was found: a character,
			* "end of file" or "end of line" */
		       _("unexpected %s: expected a string, integer, float, boolean or array of "
			 "strings"),
		       describe(p, p->pos));
}

/* ---- lines ---- */

static gboolean
check_new_key(Parser *p, const gchar *id, const gchar *path, gsize offset, GError **error)
{
	Entry *entry = g_hash_table_lookup(p->entries, id);

	if (entry == NULL)
		return TRUE;
	if (entry->kind == ENTRY_KEY) {
		return fail_at(p,
			       offset,
			       error,
			       /* Translators: the dotted key, then line and column */
		       _("duplicate key '%s' (first defined at %u:%u)"),
			       path,
			       entry->position.line,
			       entry->position.col);
	}
	return fail_at(p,
		       offset,
		       error,
		       /* Translators: the dotted key, then line and column */
		       _("cannot define key '%s': it is already a table (first defined at %u:%u)"),
		       path,
		       entry->position.line,
		       entry->position.col);
}

static gboolean
parse_keyval(Parser *p, GError **error)
{
	gsize start = p->pos;
	/* taken now: an array value may end lines later */
	Av1dTomlPosition position = position_of(p, start);
	g_autofree gchar *key = NULL;
	g_autofree gchar *id = NULL;
	g_autofree gchar *path = NULL;
	JsonNode *value = NULL;

	if (!parse_key(p, &key, error))
		return FALSE;
	id = join_id(p->table_id, key);
	path = join_path(p->table_path, key);
	if (!check_new_key(p, id, path, start, error))
		return FALSE;
	skip_blanks(p);
	if (peek(p, 0) == '.') {
		return fail_at(p,
			       p->pos,
			       error,
			       _("dotted keys are not supported: expected '=' after key '%s' "
				 "(use a [table] header)"),
			       key);
	}
	if (peek(p, 0) != '=')
		return fail_at(p, p->pos, error, _("missing '=': expected '=' after key '%s'"),
			       key);
	p->pos++;
	skip_blanks(p);
	if (!parse_value(p, &value, error))
		return FALSE;
	json_object_set_member(p->table, key, value);
	record(p, id, path, ENTRY_KEY, position);
	return expect_line_end(p, LINE_END_AFTER_VALUE, error);
}

/* makes names[] (found at offsets[]) the current table, creating parents */
static gboolean
open_table(Parser *p, GPtrArray *names, GArray *offsets, GError **error)
{
	g_autofree gchar *id = g_strdup("");
	g_autofree gchar *path = g_strdup("");
	JsonObject *object = json_node_get_object(p->root);
	gsize header = g_array_index(offsets, gsize, 0);
	Av1dTomlPosition position = position_of(p, header);

	for (guint i = 0; i < names->len; i++) {
		const gchar *name = g_ptr_array_index(names, i);
		gboolean last = i + 1 == names->len;
		g_autofree gchar *parent_id = g_steal_pointer(&id);
		g_autofree gchar *parent_path = g_steal_pointer(&path);
		Entry *entry;

		id = join_id(parent_id, name);
		path = join_path(parent_path, name);
		entry = g_hash_table_lookup(p->entries, id);
		if (entry == NULL) {
			entry = record(p, id, path, last ? ENTRY_TABLE : ENTRY_IMPLICIT_TABLE, position);
			entry->object = json_object_new();
			json_object_set_object_member(object, name, entry->object);
		} else if (entry->kind == ENTRY_KEY) {
			return fail_at(p,
				       g_array_index(offsets, gsize, i),
				       error,
				       /* Translators: the dotted name, then line and column */
				       _("cannot define table: '%s' is already a key (first "
					 "defined at %u:%u)"),
				       path,
				       entry->position.line,
				       entry->position.col);
		} else if (last && entry->kind == ENTRY_TABLE) {
			return fail_at(p,
				       header,
				       error,
				       /* Translators: the dotted name, then line and column */
				       _("duplicate table '%s' (first defined at %u:%u)"),
				       path,
				       entry->position.line,
				       entry->position.col);
		} else if (last) {
			record(p, id, path, ENTRY_TABLE, position);
		}
		object = entry->object;
	}
	p->table = object;
	g_free(p->table_id);
	p->table_id = g_steal_pointer(&id);
	g_free(p->table_path);
	p->table_path = g_steal_pointer(&path);
	return TRUE;
}

static gboolean
parse_table_header(Parser *p, GError **error)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GArray) offsets = g_array_new(FALSE, FALSE, sizeof(gsize));

	if (peek(p, 1) == '[') {
		return fail_at(p,
			       p->pos,
			       error,
			       _("arrays of tables ([[...]]) are not supported: expected a [table] "
				 "header"));
	}
	p->pos++;
	for (;;) {
		gchar *name = NULL;

		skip_blanks(p);
		if (!is_key_start(peek(p, 0))) {
			return fail_at(p,
				       p->pos,
				       error,
				       /* Translators: %s is what was found: a character,
					* "end of file" or "end of line" */
				       _("unexpected %s: expected a table name"),
				       describe(p, p->pos));
		}
		g_array_append_val(offsets, p->pos);
		if (!parse_key(p, &name, error))
			return FALSE;
		g_ptr_array_add(names, name);
		skip_blanks(p);
		if (peek(p, 0) == ']')
			break;
		if (peek(p, 0) != '.') {
			return fail_at(p,
				       p->pos,
				       error,
				       /* Translators: %s is what was found: a character,
					* "end of file" or "end of line" */
				       _("unexpected %s: expected '.' or ']' in table header"),
				       describe(p, p->pos));
		}
		p->pos++;
	}
	p->pos++; /* ']' */
	if (!open_table(p, names, offsets, error))
		return FALSE;
	return expect_line_end(p, LINE_END_AFTER_TABLE_HEADER, error);
}

static gboolean
parse_line(Parser *p, GError **error)
{
	guchar c;

	skip_blanks(p);
	c = peek(p, 0);
	if (c == '#' || at_eof(p) || at_newline(p))
		return expect_line_end(p, LINE_END_AFTER_COMMENT, error);
	if (c == '[')
		return parse_table_header(p, error);
	if (is_key_start(c))
		return parse_keyval(p, error);
	return fail_at(p,
		       p->pos,
		       error,
		       /* Translators: %s is what was found: a character,
			* "end of file" or "end of line" */
		       _("unexpected %s: expected a key, a [table] header or a comment"),
		       describe(p, p->pos));
}

static void
parser_init(Parser *p, const gchar *filename, const gchar *text, gssize length)
{
	p->filename = filename != NULL ? filename : "<input>";
	p->text = text != NULL ? text : "";
	p->length = length >= 0 ? (gsize)length : strlen(p->text);
	p->line = 1;
	if (p->length >= 3 && memcmp(p->text, "\xef\xbb\xbf", 3) == 0)
		p->bom = 3;
	p->pos = p->bom;
	p->line_start = p->bom;
	p->root = json_node_new(JSON_NODE_OBJECT);
	json_node_take_object(p->root, json_object_new());
	p->table = json_node_get_object(p->root);
	p->table_path = g_strdup("");
	p->table_id = g_strdup("");
	p->entries = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	p->positions = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

Av1dTomlDocument *
av1d_toml_parse(const gchar *filename, const gchar *text, gssize length, GError **error)
{
	g_auto(Parser) p = {0};
	Av1dTomlDocument *self;

	g_return_val_if_fail(text != NULL || length <= 0, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	parser_init(&p, filename, text, length);
	if (!check_encoding(&p, error))
		return NULL;
	while (!at_eof(&p)) {
		if (!parse_line(&p, error))
			return NULL;
	}
	self = g_new0(Av1dTomlDocument, 1);
	self->root = g_steal_pointer(&p.root);
	self->positions = g_steal_pointer(&p.positions);
	return self;
}

const Av1dTomlPosition *
av1d_toml_document_lookup_position(const Av1dTomlDocument *self, const gchar *dotted_key)
{
	g_return_val_if_fail(self != NULL, NULL);
	g_return_val_if_fail(dotted_key != NULL, NULL);

	return g_hash_table_lookup(self->positions, dotted_key);
}

void
av1d_toml_document_free(Av1dTomlDocument *self)
{
	if (self == NULL)
		return;
	g_clear_pointer(&self->root, json_node_unref);
	g_clear_pointer(&self->positions, g_hash_table_unref);
	g_free(self);
}
