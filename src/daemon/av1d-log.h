/*
 * Logging: a GLogWriterFunc that sends structured fields to the journal
 * when stderr is connected to journald, else prints "level domain [job N]
 * message" to stderr. The MESSAGE_IDs of job events live here (made with
 * `systemd-id128 new`) and are documented in data/systemd/av1d.catalog.
 */
#pragma once

#include <glib.h>

#include "av1d-job.h"

G_BEGIN_DECLS

#define AV1D_MSG_DAEMON_STARTED "0c5d3e0b8f1b4c5f9c2a7d1e6b3f4a01"
#define AV1D_MSG_JOB_STARTED	"5a7f0e6d2c8b4e1a9f3d6c2b1e0a7d42"
#define AV1D_MSG_JOB_FINISHED	"8e2b4d6f1a3c4e5b9d7f2a6c0e1b3d53"
#define AV1D_MSG_JOB_FAILED	"c3a1e5f7b9d24c6e8a0f1b3d5e7c9a64"
#define AV1D_MSG_JOB_SKIPPED	"1f3e5a7c9b2d4f6a8c0e2b4d6f8a1c75"
#define AV1D_MSG_JOB_SWAPPED	"7b9d1f3a5c7e4b2d9f1a3c5e7b9d2f86"
#define AV1D_MSG_JOB_RECOVERED	"e4c6a8b0d2f14e3c5a7b9d1f3e5c7a97"

typedef struct {
	gboolean verbose;   /* debug messages too */
	gboolean to_stderr; /* never use the journal (tests, --once at a terminal) */
} Av1dLogOptions;

void
av1d_log_setup(const Av1dLogOptions *options);
/* one event in a job's story, with the fields journalctl filters on
 * (AV1D_JOB_ID, AV1D_PATH, AV1D_STATUS, AV1D_SAVED_BYTES); the message is
 * "<file>: <what>" */
void
av1d_log_job(const gchar *log_domain,
	     GLogLevelFlags level,
	     const gchar *message_id,
	     const Av1dJob *job,
	     const gchar *what);

G_END_DECLS
