/*
 * Names shared by av1d and av1top: bus name, object paths, interfaces and
 * error names. No GLib here so both binaries (GDBus and sd-bus) can use it.
 */
#pragma once

#define AV1D_DBUS_NAME		     "org.av1d"
#define AV1D_DBUS_PATH		     "/org/av1d"
#define AV1D_DBUS_JOB_PATH_PREFIX    "/org/av1d/job/"
#define AV1D_DBUS_INTERFACE_MANAGER  "org.av1d.Manager1"
#define AV1D_DBUS_INTERFACE_JOB	     "org.av1d.Job1"
#define AV1D_DBUS_ERROR_PREFIX	     "org.av1d.Error."
