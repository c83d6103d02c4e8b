/*
 * The stability gate (SPEC 3): a file the watcher reports is only handed on
 * once it has finished arriving, which may take an hour for a download or a
 * slow copy over SMB.
 *
 * The watcher passes its raw events in (changed, removed, renamed). A burst
 * of events for a path is one pending entry whose quiet time restarts at
 * every event. When the quiet time has passed, the file is stable if
 *  - its size and mtime (and inode) are what they were at the last event,
 *    else the quiet time starts again, and
 *  - no process holds it open for writing: a read lease (F_SETLEASE
 *    F_RDLCK) is refused while a writer has it open, and then the quiet time
 *    starts again. Where leases are unavailable (a filesystem without them,
 *    or a file of another owner without CAP_LEASE) size and mtime decide
 *    alone.
 * A stable file is reported once by "file-stable" (const gchar *path) and
 * forgotten. A removal forgets a pending file, so a file created and deleted
 * again is never reported; a rename moves it, keeping its quiet time. A file
 * that vanished, or is no longer a regular file (symlinks included), is
 * dropped silently.
 *
 * One GSource, ready at the earliest deadline, lives on the thread-default
 * main context of construction while anything is pending; with nothing
 * pending the gate causes no wakeups at all.
 *
 * The lease probe opens the file read-only: the watcher must not turn the
 * resulting IN_OPEN/IN_CLOSE_NOWRITE into "changed" events.
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* a file that changed or was busy at its deadline is looked at again after
 * the quiet time, but never sooner than this (stable_secs may be 0) */
#define AV1D_STABLE_MIN_RECHECK_MS 100

#define AV1D_TYPE_STABLE_GATE (av1d_stable_gate_get_type())
G_DECLARE_FINAL_TYPE(Av1dStableGate, av1d_stable_gate, AV1D, STABLE_GATE, GObject)

Av1dStableGate *
av1d_stable_gate_new(guint stable_secs);
/* the quiet time in ms, overriding stable_secs (tests need finer steps);
 * applies from the next event on */
void
av1d_stable_gate_set_quiet_ms(Av1dStableGate *self, guint quiet_ms);
guint
av1d_stable_gate_get_quiet_ms(Av1dStableGate *self);

void
av1d_stable_gate_file_changed(Av1dStableGate *self, const gchar *path);
/* also forgets pending files beneath @path, should it be a directory */
void
av1d_stable_gate_file_removed(Av1dStableGate *self, const gchar *path);
/* also moves pending files beneath @old_path, should it be a directory */
void
av1d_stable_gate_file_renamed(Av1dStableGate *self, const gchar *old_path, const gchar *new_path);

guint
av1d_stable_gate_get_pending_count(Av1dStableGate *self);
gboolean
av1d_stable_gate_is_pending(Av1dStableGate *self, const gchar *path);
/* TRUE once some file had to be judged by size and mtime alone because
 * leases were unavailable for it */
gboolean
av1d_stable_gate_get_leases_unavailable(Av1dStableGate *self);

/* for --once: is @path stable right now, that is a regular file whose mtime
 * is at least @quiet_ms old and that no process holds open for writing?
 * FALSE with AV1D_ERROR_BUSY when it may still be arriving, NOT_FOUND when it
 * is gone, INVALID_ARGS when it is not a regular file */
gboolean
av1d_stable_check_now(const gchar *path, guint quiet_ms, GError **error);

G_END_DECLS
