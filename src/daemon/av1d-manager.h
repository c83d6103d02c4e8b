/*
 * The transport-neutral core: the job queue and its scheduler. It knows
 * nothing of D-Bus; the bus adapter and the CLI drive it through these
 * functions and follow it through its signals:
 *   "job-changed" (Av1dJob *job)  a job's status, stage or progress changed
 *   "job-finished" (Av1dJob *job) a job's pipeline ended (any status)
 *   "idle" ()                     nothing is queued or running any more
 *   "crawl-finished" ()           a crawl of the roots is done (the watched
 *                                 folder count is final)
 */
#pragma once

#include <glib-object.h>

#include "av1d-config.h"
#include "av1d-job-store.h"
#include "av1d-plan.h"

G_BEGIN_DECLS

#define AV1D_TYPE_MANAGER (av1d_manager_get_type())
G_DECLARE_FINAL_TYPE(Av1dManager, av1d_manager, AV1D, MANAGER, GObject)

/* @config and @store are ref'd; @backend's strings are copied */
Av1dManager *
av1d_manager_new(const Av1dConfig *config, Av1dJobStore *store, const Av1dBackendParams *backend);
/* a reload, on the main thread: @config replaces the one in effect, unless
 * a key that needs a restart differs (AV1D_ERROR_CONFIG, nothing changes) */
gboolean
av1d_manager_reload(Av1dManager *self, const Av1dConfig *config, GError **error);
/* the config in effect: borrowed, valid until the next reload */
const Av1dConfig *
av1d_manager_get_config(Av1dManager *self);
/* queue the file unless a job for the same file (by identity) already ended
 * in success or skipped, or one is queued or running; returns the job that
 * now stands for the file, or NULL with @error saying why nothing was queued */
Av1dJob *
av1d_manager_enqueue(Av1dManager *self, const gchar *path, GError **error);
/* re-queue jobs a previous run left pending or running; for docker-qsv,
 * first kill and remove the containers such a run left behind (labelled
 * with this daemon's instance id, see av1d_encoder_remove_orphans()) */
void
av1d_manager_requeue_unfinished(Av1dManager *self);
gboolean
av1d_manager_retry(Av1dManager *self, guint64 id, GError **error);
gboolean
av1d_manager_cancel(Av1dManager *self, guint64 id, GError **error);
/* the queued or running jobs on @path (a file), or below it (a folder),
 * cancelled because a .av1skip marks it */
void
av1d_manager_cancel_marked(Av1dManager *self, const gchar *path);
/* a private temp folder found in the library (SPEC 7): removed unless its
 * job is running now */
void
av1d_manager_remove_stale_temp(Av1dManager *self, const gchar *path);
void
av1d_manager_cancel_all(Av1dManager *self);
/* cancel_all() and wait (iterating the thread-default main context) until
 * every running encode has stopped */
void
av1d_manager_stop(Av1dManager *self);
void
av1d_manager_set_paused(Av1dManager *self, gboolean paused);
gboolean
av1d_manager_get_paused(Av1dManager *self);
guint
av1d_manager_get_running_count(Av1dManager *self);
guint
av1d_manager_get_pending_count(Av1dManager *self);
gboolean
av1d_manager_is_idle(Av1dManager *self);

/* daemon mode: watch the roots (initial crawl, inotify, stability gate) and
 * queue files as they become stable */
gboolean
av1d_manager_start_watching(Av1dManager *self, GError **error);
void
av1d_manager_rescan(Av1dManager *self);
guint
av1d_manager_get_watched_dir_count(Av1dManager *self);

G_END_DECLS
