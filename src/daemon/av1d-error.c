#define G_LOG_DOMAIN "av1d-error"

#include "config.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "av1d-error.h"

static const GDBusErrorEntry av1d_error_entries[] = {
    {AV1D_ERROR_FAILED, "org.av1d.Error.Failed"},
    {AV1D_ERROR_NOT_FOUND, "org.av1d.Error.NotFound"},
    {AV1D_ERROR_INVALID_ARGS, "org.av1d.Error.InvalidArgument"},
    {AV1D_ERROR_BAD_STATE, "org.av1d.Error.BadState"},
    {AV1D_ERROR_BUSY, "org.av1d.Error.Busy"},
    {AV1D_ERROR_PERMISSION_DENIED, "org.av1d.Error.PermissionDenied"},
    {AV1D_ERROR_PROBE_FAILED, "org.av1d.Error.ProbeFailed"},
    {AV1D_ERROR_ENCODE_FAILED, "org.av1d.Error.EncodeFailed"},
    {AV1D_ERROR_VERIFY_FAILED, "org.av1d.Error.VerifyFailed"},
    {AV1D_ERROR_OUTSIDE_LIBRARY, "org.av1d.Error.OutsideLibrary"},
    {AV1D_ERROR_CONFIG, "org.av1d.Error.Config"},
    {AV1D_ERROR_NO_SPACE, "org.av1d.Error.NoSpace"},
    {AV1D_ERROR_CANCELLED, "org.av1d.Error.Cancelled"},
};

G_STATIC_ASSERT(G_N_ELEMENTS(av1d_error_entries) == AV1D_ERROR_LAST);

GQuark
av1d_error_quark(void)
{
	static gsize quark = 0;
	g_dbus_error_register_error_domain("av1d-error-quark",
					   &quark,
					   av1d_error_entries,
					   G_N_ELEMENTS(av1d_error_entries));
	return (GQuark)quark;
}

const gchar *
av1d_error_to_dbus_name(Av1dError code)
{
	g_return_val_if_fail(code < AV1D_ERROR_LAST, NULL);
	return av1d_error_entries[code].dbus_error_name;
}

/* rewrite foreign errors (GIO, GFile, JSON) into our domain so that clients
 * only ever see org.av1d.Error.* names */
void
av1d_error_convert(GError **error)
{
	GError *err;

	if (error == NULL || *error == NULL)
		return;
	err = *error;
	if (err->domain == AV1D_ERROR)
		return;
	if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		err->code = AV1D_ERROR_CANCELLED;
	} else if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ||
		   g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
		err->code = AV1D_ERROR_NOT_FOUND;
	} else if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED) ||
		   g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_ACCES) ||
		   g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_PERM)) {
		err->code = AV1D_ERROR_PERMISSION_DENIED;
	} else if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_NO_SPACE) ||
		   g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOSPC)) {
		err->code = AV1D_ERROR_NO_SPACE;
	} else if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT) ||
		   err->domain == JSON_PARSER_ERROR) {
		err->code = AV1D_ERROR_INVALID_ARGS;
	} else if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_BUSY)) {
		err->code = AV1D_ERROR_BUSY;
	} else {
		err->code = AV1D_ERROR_FAILED;
	}
	err->domain = AV1D_ERROR;
}
