#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AV1D_ERROR (av1d_error_quark())

/* keep in step with the D-Bus name table in av1d-error.c */
typedef enum {
	AV1D_ERROR_FAILED,
	AV1D_ERROR_NOT_FOUND,
	AV1D_ERROR_INVALID_ARGS,
	AV1D_ERROR_BAD_STATE,
	AV1D_ERROR_BUSY,
	AV1D_ERROR_PERMISSION_DENIED,
	AV1D_ERROR_PROBE_FAILED,
	AV1D_ERROR_ENCODE_FAILED,
	AV1D_ERROR_VERIFY_FAILED,
	AV1D_ERROR_OUTSIDE_LIBRARY,
	AV1D_ERROR_CONFIG,
	AV1D_ERROR_NO_SPACE,
	AV1D_ERROR_CANCELLED,
	AV1D_ERROR_LAST
} Av1dError;

GQuark
av1d_error_quark(void);
void
av1d_error_convert(GError **error);
const gchar *
av1d_error_to_dbus_name(Av1dError code);

G_END_DECLS
