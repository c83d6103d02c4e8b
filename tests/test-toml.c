#define G_LOG_DOMAIN "av1d-toml"

#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "av1d-error.h"
#include "av1d-toml.h"

#define FILENAME "test.toml"

/* covers every accepted construct; the truncation and mutation tests start
 * from it */
static const gchar sample[] = "# av1d configuration\n"
			      "library_roots = [\n"
			      "  \"/media/movies\",   # films\n"
			      "  '/media/tv',\n"
			      "]\n"
			      "min_bytes = 2_147_483_648\n"
			      "max_size_ratio = 0.9\n"
			      "scan_interval_secs = +60\n"
			      "keep_backup = true\n"
			      "verify = \"quick\" # or full\n"
			      "\"quoted key\" = \"tab\\there \\u00e9 \\U0001F600\"\n"
			      "\r\n"
			      "[encoder]\n"
			      "kind = 'docker-qsv'\n"
			      "crf = -1.5e2\n"
			      "\n"
			      "  [ encoder . \"extra\" ]\n"
			      "empty = [ ]\n";

static Av1dTomlDocument *
parse_ok(const gchar *text)
{
	g_autoptr(GError) error = NULL;
	Av1dTomlDocument *doc = av1d_toml_parse(FILENAME, text, -1, &error);

	g_assert_no_error(error);
	g_assert_nonnull(doc);
	g_assert_true(JSON_NODE_HOLDS_OBJECT(doc->root));
	g_assert_nonnull(doc->positions);
	return doc;
}

static void
assert_json(const gchar *text, const gchar *expected)
{
	g_autoptr(Av1dTomlDocument) doc = parse_ok(text);
	g_autofree gchar *json = json_to_string(doc->root, FALSE);

	g_assert_cmpstr(json, ==, expected);
}

static JsonNode *
member(const Av1dTomlDocument *doc, const gchar *name)
{
	JsonObject *object = json_node_get_object(doc->root);

	g_assert_true(json_object_has_member(object, name));
	return json_object_get_member(object, name);
}

static void
assert_int(const gchar *literal, gint64 expected)
{
	g_autofree gchar *text = g_strdup_printf("v = %s\n", literal);
	g_autoptr(Av1dTomlDocument) doc = parse_ok(text);
	JsonNode *node = member(doc, "v");

	g_assert_cmpint(json_node_get_value_type(node), ==, G_TYPE_INT64);
	g_assert_cmpint(json_node_get_int(node), ==, expected);
}

static void
assert_double(const gchar *literal, gdouble expected)
{
	g_autofree gchar *text = g_strdup_printf("v = %s\n", literal);
	g_autoptr(Av1dTomlDocument) doc = parse_ok(text);
	JsonNode *node = member(doc, "v");

	g_assert_cmpint(json_node_get_value_type(node), ==, G_TYPE_DOUBLE);
	g_assert_cmpfloat_with_epsilon(json_node_get_double(node), expected, 1e-9);
}

static void
assert_string(const gchar *literal, const gchar *expected)
{
	g_autofree gchar *text = g_strdup_printf("v = %s\n", literal);
	g_autoptr(Av1dTomlDocument) doc = parse_ok(text);
	JsonNode *node = member(doc, "v");

	g_assert_cmpint(json_node_get_value_type(node), ==, G_TYPE_STRING);
	g_assert_cmpstr(json_node_get_string(node), ==, expected);
}

static void
assert_position(const Av1dTomlDocument *doc, const gchar *key, guint line, guint col)
{
	const Av1dTomlPosition *pos = av1d_toml_document_lookup_position(doc, key);

	g_test_message("position of '%s'", key);
	g_assert_nonnull(pos);
	g_assert_cmpuint(pos->line, ==, line);
	g_assert_cmpuint(pos->col, ==, col);
}

/* ---- accepted input ---- */

static void
test_accepts_empty_input(void)
{
	static const gchar *const texts[] = {
	    "", "\n", "# only a comment", "# one\n\n   # two\r\n\t\n", "\xef\xbb\xbf",
	};

	for (guint i = 0; i < G_N_ELEMENTS(texts); i++) {
		g_autoptr(Av1dTomlDocument) doc = parse_ok(texts[i]);

		g_assert_cmpuint(json_object_get_size(json_node_get_object(doc->root)), ==, 0);
		g_assert_cmpuint(g_hash_table_size(doc->positions), ==, 0);
	}
}

static void
test_accepts_null_text_of_length_zero(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dTomlDocument) doc = av1d_toml_parse(FILENAME, NULL, 0, &error);

	g_assert_no_error(error);
	g_assert_nonnull(doc);
	g_assert_cmpuint(json_object_get_size(json_node_get_object(doc->root)), ==, 0);
	av1d_toml_document_free(NULL);
}

static void
test_accepts_basic_strings(void)
{
	assert_string("\"\"", "");
	assert_string("\"plain text\"", "plain text");
	assert_string("\"q\\\"b\\\\\"", "q\"b\\");
	assert_string("\"\\b\\t\\n\\f\\r\"", "\b\t\n\f\r");
	assert_string("\"caf\\u00e9 \\u00E9\"", "caf\xc3\xa9 \xc3\xa9");
	assert_string("\"\\U0001F600\"", "\xf0\x9f\x98\x80");
	assert_string("\"\\uD7FF\\uE000\\U0010FFFF\"", "\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf");
	assert_string("\"tab\tinside # not a comment\"", "tab\tinside # not a comment");
	assert_string("\"na\xc3\xafve\"", "na\xc3\xafve");
	assert_string("\"it's\"", "it's");
}

static void
test_accepts_literal_strings(void)
{
	assert_string("''", "");
	assert_string("'C:\\Users\\av1d'", "C:\\Users\\av1d");
	assert_string("'\\u00e9 stays'", "\\u00e9 stays");
	assert_string("'say \"hi\"'", "say \"hi\"");
	assert_string("'tab\there'", "tab\there");
}

static void
test_accepts_integers(void)
{
	assert_int("0", 0);
	assert_int("+0", 0);
	assert_int("-0", 0);
	assert_int("7", 7);
	assert_int("+42", 42);
	assert_int("-17", -17);
	assert_int("1_000_000", 1000000);
	assert_int("2_147_483_648", G_GINT64_CONSTANT(2147483648));
	assert_int("9223372036854775807", G_MAXINT64);
	assert_int("-9223372036854775808", G_MININT64);
}

static void
test_accepts_floats(void)
{
	assert_double("0.9", 0.9);
	assert_double("-1.5", -1.5);
	assert_double("+0.5", 0.5);
	assert_double("1e3", 1000.0);
	assert_double("2.5E-2", 0.025);
	assert_double("6.5e+2", 650.0);
	assert_double("1_000.000_5", 1000.0005);
	assert_double("0e0", 0.0);
	assert_double("0.000001", 0.000001);
	assert_double("1e0_1", 10.0);
	assert_double("3.0", 3.0);
}

static void
test_accepts_booleans(void)
{
	g_autoptr(Av1dTomlDocument) doc = parse_ok("yes = true\nno = false # comment\n");

	g_assert_cmpint(json_node_get_value_type(member(doc, "yes")), ==, G_TYPE_BOOLEAN);
	g_assert_true(json_node_get_boolean(member(doc, "yes")));
	g_assert_cmpint(json_node_get_value_type(member(doc, "no")), ==, G_TYPE_BOOLEAN);
	g_assert_false(json_node_get_boolean(member(doc, "no")));
}

static void
test_accepts_arrays_of_strings(void)
{
	assert_json("a = []", "{\"a\":[]}");
	assert_json("a = [ ]", "{\"a\":[]}");
	assert_json("a = [\n]", "{\"a\":[]}");
	assert_json("a = [\"x\"]", "{\"a\":[\"x\"]}");
	assert_json("a = [\"x\", 'y',]", "{\"a\":[\"x\",\"y\"]}");
	assert_json("a = [\n  \"x\", # first\n\n  # between\n  'y'\r\n  ,\n]\nb = 1",
		    "{\"a\":[\"x\",\"y\"],\"b\":1}");
	assert_json("a = [ # open\n]", "{\"a\":[]}");
	assert_json("a = [\"#\", \"]\", \",\"]", "{\"a\":[\"#\",\"]\",\",\"]}");
}

static void
test_accepts_tables(void)
{
	assert_json("top = 1\n[a]\nx = 'ax'\n[b]\ny = 2\n",
		    "{\"top\":1,\"a\":{\"x\":\"ax\"},\"b\":{\"y\":2}}");
	assert_json("[a.b.c]\nx = 1\n", "{\"a\":{\"b\":{\"c\":{\"x\":1}}}}");
	/* a parent named by [a.b] may still get its own header */
	assert_json("[a.b]\nx = 1\n[a]\ny = 2\n", "{\"a\":{\"b\":{\"x\":1},\"y\":2}}");
	assert_json("[a]\n[a.b]\n[a.c]\n", "{\"a\":{\"b\":{},\"c\":{}}}");
	assert_json("[ \"my table\" . 'x.y' ]\nk = true\n", "{\"my table\":{\"x.y\":{\"k\":true}}}");
	assert_json("[empty] # comment\n", "{\"empty\":{}}");
	assert_json("[t]\nx = 1\n[u]\nx = 2\n", "{\"t\":{\"x\":1},\"u\":{\"x\":2}}");
}

static void
test_accepts_bare_and_quoted_keys(void)
{
	assert_json("bare_key-1 = 1\n\"quoted key\" = 2\n'literal key' = 3\n"
		    "\"a.b\" = 4\n123 = 5\n\"\\u00e9\" = 6\n",
		    "{\"bare_key-1\":1,\"quoted key\":2,\"literal key\":3,\"a.b\":4,\"123\":5,"
		    "\"\xc3\xa9\":6}");
	assert_json("k=1\nl\t=\t2\n", "{\"k\":1,\"l\":2}");
}

static void
test_accepts_crlf_and_blank_lines(void)
{
	assert_json("\r\na = 1\r\n\r\n[t]\r\nb = 'x'\r\n", "{\"a\":1,\"t\":{\"b\":\"x\"}}");
	assert_json("  a = 1   # trailing comment\n\t\tb = 2", "{\"a\":1,\"b\":2}");
}

static void
test_accepts_the_sample_document(void)
{
	g_autoptr(Av1dTomlDocument) doc = parse_ok(sample);
	g_autofree gchar *json = NULL;
	JsonObject *encoder;

	g_assert_cmpint(json_node_get_int(member(doc, "min_bytes")), ==, G_GINT64_CONSTANT(2147483648));
	g_assert_cmpfloat_with_epsilon(json_node_get_double(member(doc, "max_size_ratio")), 0.9, 1e-12);
	g_assert_cmpint(json_node_get_int(member(doc, "scan_interval_secs")), ==, 60);
	encoder = json_node_get_object(member(doc, "encoder"));
	g_assert_cmpfloat_with_epsilon(json_object_get_double_member(encoder, "crf"), -150.0, 1e-12);
	json_object_remove_member(encoder, "crf");
	json_object_remove_member(json_node_get_object(doc->root), "max_size_ratio");
	json = json_to_string(doc->root, FALSE);
	g_assert_cmpstr(json,
			==,
			"{\"library_roots\":[\"/media/movies\",\"/media/tv\"],"
			"\"min_bytes\":2147483648,\"scan_interval_secs\":60,"
			"\"keep_backup\":true,\"verify\":\"quick\","
			"\"quoted key\":\"tab\\there \xc3\xa9 \xf0\x9f\x98\x80\","
			"\"encoder\":{\"kind\":\"docker-qsv\",\"extra\":{\"empty\":[]}}}");
}

static void
test_records_key_positions(void)
{
	g_autoptr(Av1dTomlDocument) doc = parse_ok(sample);

	assert_position(doc, "library_roots", 2, 1);
	assert_position(doc, "min_bytes", 6, 1);
	assert_position(doc, "max_size_ratio", 7, 1);
	assert_position(doc, "verify", 10, 1);
	assert_position(doc, "quoted key", 11, 1);
	assert_position(doc, "encoder", 13, 2);
	assert_position(doc, "encoder.kind", 14, 1);
	assert_position(doc, "encoder.crf", 15, 1);
	assert_position(doc, "encoder.extra", 17, 5);
	assert_position(doc, "encoder.extra.empty", 18, 1);
	g_assert_null(av1d_toml_document_lookup_position(doc, "missing"));
	g_assert_null(av1d_toml_document_lookup_position(doc, "kind"));
	g_assert_null(av1d_toml_document_lookup_position(doc, "encoder.extra.empty.x"));
}

static void
test_records_positions_of_indented_keys_and_tables(void)
{
	g_autoptr(Av1dTomlDocument) doc =
	    parse_ok("\n\t  key = 1\n[a.b]\n   x = 'y'\n[ a ]\n  'q k' = 2\n");

	assert_position(doc, "key", 2, 4);
	/* an implicit parent points at its name in the child's header until
	 * its own header appears */
	assert_position(doc, "a.b", 3, 2);
	assert_position(doc, "a.b.x", 4, 4);
	assert_position(doc, "a", 5, 3);
	assert_position(doc, "a.q k", 6, 3);
}

static void
test_records_positions_of_implicit_tables(void)
{
	g_autoptr(Av1dTomlDocument) doc = parse_ok("x = 1\n\n  [outer.inner]\n");

	assert_position(doc, "outer", 3, 4);
	assert_position(doc, "outer.inner", 3, 4);
}

static void
test_columns_ignore_a_byte_order_mark(void)
{
	g_autoptr(Av1dTomlDocument) doc = parse_ok("\xef\xbb\xbf" "a = 1\nb = 2\n");

	assert_position(doc, "a", 1, 1);
	assert_position(doc, "b", 2, 1);
}

static void
test_reads_only_length_bytes(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dTomlDocument) doc = NULL;
	g_autofree gchar *exact = g_memdup2("a = 1\nb = \"x\"", 13);
	JsonObject *root;

	/* length cuts the document in the middle of line 2 */
	doc = av1d_toml_parse(FILENAME, "a = 1\nb = \"x\"\nc = 3", 6, &error);
	g_assert_no_error(error);
	root = json_node_get_object(doc->root);
	g_assert_cmpuint(json_object_get_size(root), ==, 1);
	g_assert_cmpint(json_object_get_int_member(root, "a"), ==, 1);
	g_clear_pointer(&doc, av1d_toml_document_free);

	/* no NUL terminator at all: the sanitizers catch any over-read */
	doc = av1d_toml_parse(FILENAME, exact, 13, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(json_object_get_string_member(json_node_get_object(doc->root), "b"), ==, "x");
}

/* ---- rejected input ---- */

typedef struct {
	const gchar *name;
	const gchar *text;
	gssize length;
	guint line;
	guint col;
	const gchar *fragment;
} Rejection;

static const Rejection rejections[] = {
    {"unterminated-string",
     "a = 1\nb = 2\nname = \"abcde\n",
     -1,
     3,
     14,
     "unterminated string: expected closing '\"' before end of line"},
    {"unterminated-string-at-end-of-file", "name = \"abc", -1, 1, 12, "before end of file"},
    {"newline-in-string", "a = \"one\ntwo\"\n", -1, 1, 9, "unterminated string"},
    {"crlf-in-string", "a = \"one\r\ntwo\"\n", -1, 1, 9, "before end of line"},
    {"newline-in-literal-string", "a = 'one\n", -1, 1, 9, "expected closing '''"},
    {"escaped-newline-in-string", "a = \"x\\\n\"", -1, 1, 8, "unterminated string"},
    {"backslash-at-end-of-file", "a = \"x\\", -1, 1, 8, "before end of file"},
    {"multi-line-basic-string", "a = \"\"\"x\"\"\"", -1, 1, 5, "multi-line strings"},
    {"multi-line-literal-string", "a = '''x'''", -1, 1, 5, "multi-line strings (''')"},
    {"multi-line-quoted-key", "\"\"\"k\"\"\" = 1", -1, 1, 1, "multi-line strings"},
    {"control-character-in-string",
     "a = \"x\x01y\"",
     -1,
     1,
     7,
     "control character U+0001 in string"},
    {"delete-character-in-literal-string", "a = 'x\x7fy'", -1, 1, 7, "control character U+007F"},
    {"carriage-return-in-string", "a = \"x\ry\"", -1, 1, 7, "control character U+000D"},
    {"escape-character-in-string", "a = \"x\x1b[0m\"", -1, 1, 7, "control character U+001B"},
    {"control-character-in-comment", "# hi\x02\n", -1, 1, 5, "control character U+0002 in comment"},
    {"invalid-escape", "a = \"\\q\"", -1, 1, 6, "invalid escape sequence: unexpected 'q'"},
    {"escape-e", "a = \"\\e\"", -1, 1, 6, "expected one of"},
    {"short-unicode-escape", "a = \"\\u12\"", -1, 1, 10, "expected 4 hex digits after '\\u'"},
    {"short-long-unicode-escape", "a = \"\\U0001F6\"", -1, 1, 14, "expected 8 hex digits"},
    {"surrogate-escape", "a = \"\\uD800\"", -1, 1, 6, "U+D800 is not a Unicode scalar value"},
    {"too-large-escape", "a = \"\\U00110000\"", -1, 1, 6, "U+110000 is not a Unicode scalar"},
    {"nul-escape", "a = \"\\u0000\"", -1, 1, 6, "other than U+0000"},
    {"inline-table", "a = { b = 1 }", -1, 1, 5, "inline tables are not supported"},
    {"inline-table-in-array", "a = [{ b = 1 }]", -1, 1, 6, "inline tables are not supported"},
    {"array-of-tables",
     "x = 1\n[[jobs]]\n",
     -1,
     2,
     1,
     "arrays of tables ([[...]]) are not supported"},
    {"date", "d = 1979-05-27", -1, 1, 5, "dates and times are not supported"},
    {"time", "t = 07:32:00", -1, 1, 5, "dates and times are not supported"},
    {"date-time", "t = 1979-05-27T07:32:00Z", -1, 1, 5, "dates and times"},
    {"array-of-integers", "a = [1, 2]", -1, 1, 6, "unexpected '1': expected a string or ']'"},
    {"array-of-booleans", "a = [true]", -1, 1, 6, "arrays may only hold strings"},
    {"mixed-array", "a = [\"x\", 1]", -1, 1, 11, "arrays may not mix types"},
    {"nested-array", "a = [[\"x\"]]", -1, 1, 6, "nested arrays are not supported"},
    {"hexadecimal-integer", "a = 0xff", -1, 1, 5, "hexadecimal, octal and binary integers"},
    {"octal-integer", "a = 0o17", -1, 1, 5, "expected a decimal integer"},
    {"binary-integer", "a = -0b101", -1, 1, 5, "hexadecimal, octal and binary integers"},
    {"inf", "a = inf", -1, 1, 5, "inf and nan are not supported"},
    {"negative-inf", "a = -inf", -1, 1, 5, "inf and nan are not supported"},
    {"nan", "a = nan", -1, 1, 5, "inf and nan are not supported"},
    {"signed-nan", "a = +nan", -1, 1, 5, "expected a finite number"},
    {"leading-zeros", "a = 007", -1, 1, 5, "invalid number: expected no leading zeros"},
    {"signed-leading-zero", "a = -01", -1, 1, 6, "no leading zeros"},
    {"float-leading-zeros", "a = 00.5", -1, 1, 5, "no leading zeros"},
    {"double-underscore", "a = 1__000", -1, 1, 6, "expected a digit after '_'"},
    {"trailing-underscore", "a = 1_", -1, 1, 6, "underscores must be between digits"},
    {"leading-underscore", "a = _1", -1, 1, 5, "unexpected '_'"},
    {"underscore-before-dot", "a = 1_.5", -1, 1, 6, "expected a digit after '_'"},
    {"integer-too-large", "a = 9223372036854775808", -1, 1, 5, "integer out of range"},
    {"integer-too-small", "a = -9_223_372_036_854_775_809", -1, 1, 5, "integer out of range"},
    {"float-too-large", "a = 1e400", -1, 1, 5, "float out of range"},
    {"float-without-fraction-digits", "a = 1.", -1, 1, 7, "expected a digit after '.'"},
    {"float-without-exponent-digits", "a = 1e+", -1, 1, 8, "expected a digit in the exponent"},
    {"float-without-integer-part", "a = .5", -1, 1, 5, "unexpected '.'"},
    {"sign-without-digits", "a = -", -1, 1, 6, "expected a digit at the start of a number"},
    {"bare-word-value", "a = yes", -1, 1, 5, "invalid value 'yes'"},
    {"capitalised-boolean", "a = True", -1, 1, 5, "invalid value 'True'"},
    {"missing-equals", "a 1", -1, 1, 3, "missing '=': expected '=' after key 'a'"},
    {"missing-equals-at-end-of-line", "key\nx = 1", -1, 1, 4, "missing '='"},
    {"missing-value", "a =\nb = 1", -1, 1, 4, "missing value: expected a value after '='"},
    {"missing-value-before-comment", "a = # none", -1, 1, 5, "missing value"},
    {"missing-value-at-end-of-file", "a = ", -1, 1, 5, "missing value"},
    {"trailing-garbage-after-integer", "a = 1 2", -1, 1, 7, "unexpected '2' after value"},
    {"trailing-garbage-after-string", "a = \"x\" y", -1, 1, 9, "expected end of line or a comment"},
    {"trailing-garbage-after-boolean", "a = truex", -1, 1, 5, "invalid value 'truex'"},
    {"trailing-garbage-after-float", "a = 1.5.3", -1, 1, 8, "unexpected '.' after value"},
    {"trailing-garbage-after-array", "a = []x", -1, 1, 7, "unexpected 'x' after value"},
    {"trailing-garbage-after-table", "[t] x = 1", -1, 1, 5, "unexpected 'x' after table header"},
    {"lone-carriage-return", "a = 1\rb = 2", -1, 1, 6, "unexpected U+000D after value"},
    {"invalid-utf8", "a = 1\nb = \"\xff\"", -1, 2, 6, "invalid UTF-8 (byte 0xFF)"},
    {"overlong-utf8", "# \xc0\xaf", -1, 1, 3, "invalid UTF-8"},
    {"truncated-utf8", "a = 'x'\n\n# \xe2\x82", -1, 3, 3, "expected UTF-8 text"},
    {"surrogate-utf8", "a = '\xed\xa0\x80'", -1, 1, 6, "invalid UTF-8"},
    {"nul-byte", "a = 1\n\0b = 2", 12, 2, 1, "unexpected NUL byte"},
    {"duplicate-key",
     "a = 1\nb = 2\na = 3",
     -1,
     3,
     1,
     "duplicate key 'a' (first defined at 1:1)"},
    {"duplicate-key-in-table",
     "[t]\n  x = 1\n  x = 2",
     -1,
     3,
     3,
     "duplicate key 't.x' (first defined at 2:3)"},
    {"duplicate-quoted-key", "a = 1\n\"a\" = 2", -1, 2, 1, "duplicate key 'a'"},
    {"duplicate-table",
     "[t]\na = 1\n[u]\n[t]",
     -1,
     4,
     2,
     "duplicate table 't' (first defined at 1:2)"},
    {"duplicate-dotted-table",
     "[a.b]\n[ a . b ]",
     -1,
     2,
     3,
     "duplicate table 'a.b' (first defined at 1:2)"},
    {"table-redefined-after-implicit",
     "[a.b]\n[a]\n[a]",
     -1,
     3,
     2,
     "duplicate table 'a' (first defined at 2:2)"},
    {"key-redefined-as-table",
     "t = 1\n[t]",
     -1,
     2,
     2,
     "'t' is already a key (first defined at 1:1)"},
    {"key-used-as-parent-table",
     "[a]\nb = 1\n[a.b.c]",
     -1,
     3,
     4,
     "'a.b' is already a key (first defined at 2:1)"},
    {"table-redefined-as-key",
     "[a.b]\n[a]\nb = 1",
     -1,
     3,
     1,
     "cannot define key 'a.b': it is already a table (first defined at 1:2)"},
    {"dotted-key", "a.b = 1", -1, 1, 2, "dotted keys are not supported"},
    {"empty-quoted-key", "\"\" = 1", -1, 1, 1, "empty key"},
    {"control-character-in-key", "\"a\\tb\" = 1", -1, 1, 1, "control character U+0009 in key"},
    {"unterminated-array", "a = [\"x\",\n\"y\"\n", -1, 3, 1, "unterminated array: expected ']'"},
    {"unterminated-empty-array", "a = [", -1, 1, 6, "unterminated array"},
    {"missing-comma-in-array", "a = [\"x\" \"y\"]", -1, 1, 10, "expected ',' or ']' in array"},
    {"double-comma-in-array", "a = [\"x\",,]", -1, 1, 10, "unexpected ','"},
    {"unterminated-table-header", "[a\nb = 1", -1, 1, 3, "expected '.' or ']' in table header"},
    {"empty-table-header", "[]", -1, 1, 2, "expected a table name"},
    {"trailing-dot-in-table-header", "[a.]", -1, 1, 4, "expected a table name"},
    {"line-starting-with-equals", "= 1", -1, 1, 1, "expected a key, a [table] header or a comment"},
    {"line-starting-with-punctuation", "x = 1\n  !x = 1", -1, 2, 3, "unexpected '!'"},
};

static void
test_rejects(gconstpointer data)
{
	const Rejection *r = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dTomlDocument) doc = av1d_toml_parse(FILENAME, r->text, r->length, &error);
	g_autofree gchar *prefix = g_strdup_printf(FILENAME ":%u:%u: ", r->line, r->col);
	g_autofree gchar *head = NULL;

	g_assert_null(doc);
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_CONFIG);
	g_test_message("message: %s", error->message);
	head = g_strndup(error->message, strlen(prefix));
	g_assert_cmpstr(head, ==, prefix);
	if (strstr(error->message, r->fragment) == NULL)
		g_assert_cmpstr(error->message, ==, r->fragment);
}

static void
test_rejects_with_exact_messages(void)
{
	static const struct {
		const gchar *text;
		const gchar *message;
	} cases[] = {
	    {"a = 1\nb = 2\nname = \"abcde\n",
	     FILENAME ":3:14: unterminated string: expected closing '\"' before end of line"},
	    {"a = 1\nb = 2\na = 3", FILENAME ":3:1: duplicate key 'a' (first defined at 1:1)"},
	    {"[x]\n[x]", FILENAME ":2:2: duplicate table 'x' (first defined at 1:2)"},
	    {"a = 1 2", FILENAME ":1:7: unexpected '2' after value: expected end of line or a comment"},
	    {"a = [1]",
	     FILENAME ":1:6: unexpected '1': expected a string or ']' (arrays may only hold strings)"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(Av1dTomlDocument) doc = av1d_toml_parse(FILENAME, cases[i].text, -1, &error);

		g_assert_null(doc);
		g_assert_error(error, AV1D_ERROR, AV1D_ERROR_CONFIG);
		g_assert_cmpstr(error->message, ==, cases[i].message);
	}
}

static void
test_rejects_with_the_given_filename(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dTomlDocument) doc =
	    av1d_toml_parse("/etc/av1d/config.toml", "\n\nx = ?", -1, &error);

	g_assert_null(doc);
	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_CONFIG);
	g_assert_true(g_str_has_prefix(error->message, "/etc/av1d/config.toml:3:5: "));
}

/* ---- properties ---- */

static gboolean
valid_tree(JsonNode *node)
{
	JsonObject *object;
	g_autoptr(GList) members = NULL;

	if (JSON_NODE_HOLDS_ARRAY(node)) {
		JsonArray *array = json_node_get_array(node);

		for (guint i = 0; i < json_array_get_length(array); i++) {
			JsonNode *element = json_array_get_element(array, i);

			if (json_node_get_value_type(element) != G_TYPE_STRING)
				return FALSE;
		}
		return TRUE;
	}
	if (JSON_NODE_HOLDS_VALUE(node)) {
		GType type = json_node_get_value_type(node);

		return type == G_TYPE_INT64 || type == G_TYPE_DOUBLE || type == G_TYPE_BOOLEAN ||
		       type == G_TYPE_STRING;
	}
	if (!JSON_NODE_HOLDS_OBJECT(node))
		return FALSE;
	object = json_node_get_object(node);
	members = json_object_get_members(object);
	for (GList *l = members; l != NULL; l = l->next) {
		if (!valid_tree(json_object_get_member(object, l->data)))
			return FALSE;
	}
	return TRUE;
}

/* the message starts with "test.toml:L:C: " and L:C lies inside the input */
static void
assert_well_formed_error(const gchar *text, gsize length, const GError *error)
{
	const gchar *rest;
	gchar *end = NULL;
	guint64 line, col;
	gsize offset = 0;

	g_assert_error(error, AV1D_ERROR, AV1D_ERROR_CONFIG);
	g_assert_true(g_str_has_prefix(error->message, FILENAME ":"));
	rest = error->message + strlen(FILENAME ":");
	line = g_ascii_strtoull(rest, &end, 10);
	g_assert_true(end != rest && *end == ':');
	rest = end + 1;
	col = g_ascii_strtoull(rest, &end, 10);
	g_assert_true(end != rest && g_str_has_prefix(end, ": "));
	g_assert_cmpuint(strlen(end + 2), >, 0);
	g_assert_cmpuint(line, >=, 1);
	g_assert_cmpuint(col, >=, 1);
	for (guint64 l = 1; l < line; l++) {
		const gchar *nl = memchr(text + offset, '\n', length - offset);

		g_assert_nonnull(nl);
		offset = (gsize)(nl - text) + 1;
	}
	g_assert_cmpuint(offset + col - 1, <=, length);
}

static gboolean
check_outcome(const gchar *text, gsize length)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Av1dTomlDocument) doc = av1d_toml_parse(FILENAME, text, (gssize)length, &error);

	if (doc == NULL) {
		assert_well_formed_error(text, length, error);
		return FALSE;
	}
	g_assert_no_error(error);
	g_assert_true(JSON_NODE_HOLDS_OBJECT(doc->root));
	g_assert_true(valid_tree(doc->root));
	g_assert_nonnull(doc->positions);
	return TRUE;
}

/* an exact-size copy, so that the sanitizers see any read past length */
static gboolean
check_bytes(const gchar *bytes, gsize length)
{
	g_autofree gchar *copy = g_memdup2(bytes, length);

	return check_outcome(copy, length);
}

static void
test_survives_every_truncation(void)
{
	gsize length = strlen(sample);
	const gchar *array_start = strstr(sample, "library_roots");
	const gchar *array_end = strstr(sample, "]\n") + 2;
	guint ok = 0;

	for (gsize n = 0; n <= length; n++) {
		gboolean parsed = check_bytes(sample, n);
		gboolean in_array = n > (gsize)(array_start - sample) && n < (gsize)(array_end - sample);

		/* whole lines outside the multi-line array always parse */
		if ((n == 0 || sample[n - 1] == '\n') && !in_array)
			g_assert_true(parsed);
		ok += parsed;
	}
	g_test_message("%u of %" G_GSIZE_FORMAT " prefixes parsed", ok, length + 1);
	g_assert_cmpuint(ok, >, 0);
	g_assert_cmpuint(ok, <, length + 1);
}

static GRand *
seeded_rand(void)
{
	guint32 seed = g_test_rand_int();

	g_test_message("GRand seed %" G_GUINT32_FORMAT, seed);
	return g_rand_new_with_seed(seed);
}

static void
test_survives_random_bytes(void)
{
	/* mostly characters that mean something, so that inputs get past the
	 * first line */
	static const gchar alphabet[] = "ab_-19+.eE0xn \t\n\r#=[]{},\"'\\u\x01\xc3\xa9";
	g_autoptr(GRand) rand = seeded_rand();
	guint ok = 0;

	for (guint i = 0; i < 4000; i++) {
		gsize length = (gsize)g_rand_int_range(rand, 0, 64);
		g_autofree gchar *bytes = g_malloc(MAX(length, 1));
		gboolean any_byte = i % 4 == 0;

		for (gsize j = 0; j < length; j++) {
			if (any_byte)
				bytes[j] = (gchar)g_rand_int_range(rand, 0, 256);
			else
				bytes[j] = alphabet[g_rand_int_range(rand, 0, sizeof alphabet - 1)];
		}
		ok += check_bytes(bytes, length);
	}
	g_test_message("%u of 4000 random inputs parsed", ok);
	g_assert_cmpuint(ok, <, 4000);
}

static void
mutate(GRand *rand, GString *text)
{
	static const gchar interesting[] = "\"'[]=#.\n\r\\_-+e0 {}\x00\xff";
	guint edits = (guint)g_rand_int_range(rand, 1, 5);

	for (guint i = 0; i < edits; i++) {
		gsize at = (gsize)g_rand_int_range(rand, 0, (gint32)text->len + 1);
		gchar c = g_rand_boolean(rand) ? interesting[g_rand_int_range(
							 rand, 0, sizeof interesting - 1)]
					       : (gchar)g_rand_int_range(rand, 0, 256);

		switch (g_rand_int_range(rand, 0, 3)) {
		case 0:
			g_string_insert_len(text, (gssize)at, &c, 1);
			break;
		case 1:
			if (at < text->len)
				g_string_erase(text, (gssize)at, 1);
			break;
		default:
			if (at < text->len)
				text->str[at] = c;
			break;
		}
	}
}

static void
test_survives_random_mutations(void)
{
	g_autoptr(GRand) rand = seeded_rand();
	guint ok = 0;

	for (guint i = 0; i < 4000; i++) {
		g_autoptr(GString) text = g_string_new(sample);

		mutate(rand, text);
		ok += check_bytes(text->str, text->len);
	}
	g_test_message("%u of 4000 mutations parsed", ok);
	g_assert_cmpuint(ok, >, 0);
	g_assert_cmpuint(ok, <, 4000);
}

/* inputs built from grammar pieces get much further than random bytes */
static void
test_survives_random_token_sequences(void)
{
	static const gchar *const tokens[] = {
	    "key", "k2", " = ", "=", " ", "\t", "\n", "\r\n", "\r", "#c", "[", "]", "[[", ".",
	    ",", "\"s\"", "'l'", "\"", "'", "\"\\u00e9\"", "\\", "\\U0010FFFF", "\"\"\"",
	    "1", "-0", "+42", "1_000", "0.5", "1e3", "2.5E-2", "_", "00", "9223372036854775808",
	    "true", "false", "inf", "nan", "0x1", "1979-05-27", "{", "}", "\xc3\xa9", "\x01",
	};
	g_autoptr(GRand) rand = seeded_rand();
	guint ok = 0;

	for (guint i = 0; i < 4000; i++) {
		g_autoptr(GString) text = g_string_new(NULL);
		guint count = (guint)g_rand_int_range(rand, 1, 24);

		for (guint j = 0; j < count; j++)
			g_string_append(text, tokens[g_rand_int_range(rand, 0, G_N_ELEMENTS(tokens))]);
		ok += check_bytes(text->str, text->len);
	}
	g_test_message("%u of 4000 token sequences parsed", ok);
	g_assert_cmpuint(ok, <, 4000);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/av1d/toml/accepts-empty-input", test_accepts_empty_input);
	g_test_add_func("/av1d/toml/accepts-null-text-of-length-zero",
			test_accepts_null_text_of_length_zero);
	g_test_add_func("/av1d/toml/accepts-basic-strings", test_accepts_basic_strings);
	g_test_add_func("/av1d/toml/accepts-literal-strings", test_accepts_literal_strings);
	g_test_add_func("/av1d/toml/accepts-integers", test_accepts_integers);
	g_test_add_func("/av1d/toml/accepts-floats", test_accepts_floats);
	g_test_add_func("/av1d/toml/accepts-booleans", test_accepts_booleans);
	g_test_add_func("/av1d/toml/accepts-arrays-of-strings", test_accepts_arrays_of_strings);
	g_test_add_func("/av1d/toml/accepts-tables", test_accepts_tables);
	g_test_add_func("/av1d/toml/accepts-bare-and-quoted-keys", test_accepts_bare_and_quoted_keys);
	g_test_add_func("/av1d/toml/accepts-crlf-and-blank-lines", test_accepts_crlf_and_blank_lines);
	g_test_add_func("/av1d/toml/accepts-the-sample-document", test_accepts_the_sample_document);
	g_test_add_func("/av1d/toml/records-key-positions", test_records_key_positions);
	g_test_add_func("/av1d/toml/records-positions-of-indented-keys-and-tables",
			test_records_positions_of_indented_keys_and_tables);
	g_test_add_func("/av1d/toml/records-positions-of-implicit-tables",
			test_records_positions_of_implicit_tables);
	g_test_add_func("/av1d/toml/columns-ignore-a-byte-order-mark",
			test_columns_ignore_a_byte_order_mark);
	g_test_add_func("/av1d/toml/reads-only-length-bytes", test_reads_only_length_bytes);
	for (guint i = 0; i < G_N_ELEMENTS(rejections); i++) {
		g_autofree gchar *path = g_strdup_printf("/av1d/toml/rejects-%s", rejections[i].name);

		g_test_add_data_func(path, &rejections[i], test_rejects);
	}
	g_test_add_func("/av1d/toml/rejects-with-exact-messages", test_rejects_with_exact_messages);
	g_test_add_func("/av1d/toml/rejects-with-the-given-filename",
			test_rejects_with_the_given_filename);
	g_test_add_func("/av1d/toml/survives-every-truncation-of-a-valid-document",
			test_survives_every_truncation);
	g_test_add_func("/av1d/toml/survives-random-bytes", test_survives_random_bytes);
	g_test_add_func("/av1d/toml/survives-random-mutations", test_survives_random_mutations);
	g_test_add_func("/av1d/toml/survives-random-token-sequences",
			test_survives_random_token_sequences);

	return g_test_run();
}
