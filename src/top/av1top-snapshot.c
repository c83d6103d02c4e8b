#define G_LOG_DOMAIN "av1top-snapshot"

#include "config.h"

#include <json-glib/json-glib.h>

#include "av1top-snapshot.h"

static void
av1top_snapshot_host(JsonBuilder *builder, const Av1topHostStats *host)
{
	json_builder_set_member_name(builder, "host");
	json_builder_begin_object(builder);
	if (host->cpu_percent >= 0) {
		json_builder_set_member_name(builder, "cpu_percent");
		json_builder_add_double_value(builder, host->cpu_percent);
	}
	json_builder_set_member_name(builder, "mem_total_bytes");
	json_builder_add_int_value(builder, (gint64)host->mem_total);
	json_builder_set_member_name(builder, "mem_used_bytes");
	json_builder_add_int_value(builder, (gint64)host->mem_used);
	/* absent where the kernel tells nothing, as on the screen */
	if (host->gpu_percent >= 0) {
		json_builder_set_member_name(builder, "gpu_busy_percent");
		json_builder_add_double_value(builder, host->gpu_percent);
	}
	json_builder_set_member_name(builder, "roots");
	json_builder_begin_array(builder);
	for (guint i = 0; i < host->roots->len; i++) {
		const Av1topRootSpace *root = g_ptr_array_index(host->roots, i);

		json_builder_begin_object(builder);
		json_builder_set_member_name(builder, "path");
		json_builder_add_string_value(builder, root->path);
		if (root->known) {
			json_builder_set_member_name(builder, "free_bytes");
			json_builder_add_int_value(builder, (gint64)root->free_bytes);
			json_builder_set_member_name(builder, "total_bytes");
			json_builder_add_int_value(builder, (gint64)root->total_bytes);
		}
		json_builder_end_object(builder);
	}
	json_builder_end_array(builder);
	json_builder_end_object(builder);
}

static void
av1top_snapshot_string(JsonBuilder *builder, const gchar *name, const gchar *value)
{
	json_builder_set_member_name(builder, name);
	json_builder_add_string_value(builder, value != NULL ? value : "");
}

static void
av1top_snapshot_int(JsonBuilder *builder, const gchar *name, gint64 value)
{
	json_builder_set_member_name(builder, name);
	json_builder_add_int_value(builder, value);
}

static void
av1top_snapshot_daemon(JsonBuilder *builder, Av1topModel *model)
{
	gdouble saving = 0;

	av1top_snapshot_string(builder, "version", model->version);
	json_builder_set_member_name(builder, "paused");
	json_builder_add_boolean_value(builder, model->paused);
	av1top_snapshot_string(builder, "encoder", model->encoder);
	av1top_snapshot_string(builder, "encoder_reason", model->encoder_reason);
	av1top_snapshot_int(builder, "watched_dirs", model->watched_dirs);
	json_builder_set_member_name(builder, "totals");
	json_builder_begin_object(builder);
	av1top_snapshot_int(builder, "pending", model->pending_count);
	av1top_snapshot_int(builder, "running", model->running_count);
	av1top_snapshot_int(builder, "done", model->done_count);
	av1top_snapshot_int(builder, "failed", model->failed_count);
	av1top_snapshot_int(builder, "skipped", model->skipped_count);
	av1top_snapshot_int(builder, "bytes_saved", (gint64)model->bytes_saved);
	if (av1top_model_saving_percent(model, &saving)) {
		json_builder_set_member_name(builder, "saving_percent");
		json_builder_add_double_value(builder, saving);
	}
	json_builder_end_object(builder);
}

static void
av1top_snapshot_job(JsonBuilder *builder, const Av1topJob *job)
{
	gdouble saving = 0;

	json_builder_begin_object(builder);
	av1top_snapshot_int(builder, "id", (gint64)job->id);
	av1top_snapshot_string(builder, "path", job->path);
	av1top_snapshot_string(builder, "name", job->name);
	av1top_snapshot_string(builder, "status", job->status_text);
	av1top_snapshot_string(builder, "stage", job->stage);
	json_builder_set_member_name(builder, "progress");
	json_builder_add_double_value(builder, job->progress);
	json_builder_set_member_name(builder, "fps");
	json_builder_add_double_value(builder, job->fps);
	av1top_snapshot_int(builder, "eta_seconds", job->eta_seconds);
	av1top_snapshot_int(builder, "original_bytes", (gint64)job->original_bytes);
	av1top_snapshot_int(builder, "new_bytes", (gint64)job->new_bytes);
	if (av1top_job_saving_percent(job, &saving)) {
		json_builder_set_member_name(builder, "saving_percent");
		json_builder_add_double_value(builder, saving);
	}
	av1top_snapshot_string(builder, "reason", job->reason);
	av1top_snapshot_int(builder, "quality", job->quality);
	json_builder_set_member_name(builder, "is_hdr");
	json_builder_add_boolean_value(builder, job->is_hdr);
	json_builder_set_member_name(builder, "is_web_like");
	json_builder_add_boolean_value(builder, job->is_web_like);
	av1top_snapshot_int(builder, "source_bit_depth", job->source_bit_depth);
	av1top_snapshot_string(builder, "encoder", job->encoder);
	json_builder_end_object(builder);
}

gchar *
av1top_snapshot_to_json(Av1topModel *model)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	GPtrArray *rows = av1top_model_get_rows(model);

	json_builder_begin_object(builder);
	av1top_snapshot_daemon(builder, model);
	av1top_snapshot_host(builder, &model->host);
	/* in the order of the table */
	json_builder_set_member_name(builder, "jobs");
	json_builder_begin_array(builder);
	for (guint i = 0; i < rows->len; i++)
		av1top_snapshot_job(builder, g_ptr_array_index(rows, i));
	json_builder_end_array(builder);
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	json_generator_set_root(generator, root);
	json_generator_set_pretty(generator, TRUE);
	return json_generator_to_data(generator, NULL);
}
