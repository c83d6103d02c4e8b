#!/bin/sh
# Every message av1d and av1top mark for translation has a German one:
# builds the POT from po/POTFILES.in the way meson's i18n (preset glib)
# does, merges po/de.po with it, and fails on any untranslated or fuzzy
# message, or when de.po does not compile with `msgfmt -c`. A string added
# to the sources without a translation makes this fail.
set -eu
srcdir="${1:-$(dirname "$0")/../..}"
cd "$srcdir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

grep -q '^de$' po/LINGUAS || { echo "de is missing from po/LINGUAS"; exit 1; }
grep -v '^#' po/POTFILES.in | grep -v '^$' >"$tmp/files"
xgettext --package-name=av1d --from-code=UTF-8 --add-comments \
	--keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 \
	--keyword=g_dcgettext:2 --keyword=g_dngettext:2,3 --keyword=g_dpgettext2:2c,3 \
	--flag=N_:1:pass-c-format --flag=C_:2:pass-c-format --flag=NC_:2:pass-c-format \
	--flag=g_strdup_printf:1:c-format --flag=g_string_append_printf:2:c-format \
	--flag=g_set_error:4:c-format --flag=g_print:1:c-format --flag=g_printerr:1:c-format \
	--files-from="$tmp/files" -o "$tmp/av1d.pot"

status=0
if ! msgfmt -c -o /dev/null po/de.po; then
	echo "po/de.po does not compile"
	status=1
fi
msgmerge --quiet --no-fuzzy-matching -o "$tmp/de.po" po/de.po "$tmp/av1d.pot"
stats=$(LC_ALL=C msgfmt -c --statistics -o /dev/null "$tmp/de.po" 2>&1)
echo "de: $stats"
case "$stats" in
*untranslated* | *fuzzy*)
	echo "po/de.po is behind the sources (ninja -C BUILDDIR av1d-update-po, then translate):"
	msgattrib --untranslated --no-obsolete "$tmp/de.po"
	msgattrib --only-fuzzy --no-obsolete "$tmp/de.po"
	status=1
	;;
esac
exit $status
