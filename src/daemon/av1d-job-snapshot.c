/* the job store's GVariant cache; see av1d-job-snapshot.h */
#define G_LOG_DOMAIN "av1d-job-store"

#include "config.h"

#include <string.h>

#include "av1d-job-snapshot.h"

#include "av1d-job-store.h"

#define SNAPSHOT_MAGIC 0x41563144u /* "AV1D"; reads back swapped on another byte order */
/* bump when a field keeps its type but changes meaning; a new or removed
 * field changes the type string, which is checked as well */
#define SNAPSHOT_VERSION 2u

/*
 * One job is a fixed-size record, read in place from the mapped file, plus
 * its strings in one shared byte blob: source_path, output_path, reason,
 * video_codec, source_pix_fmt, av1_profile, encoder, then argc arguments,
 * each ended by a NUL (paths need not be UTF-8, so not GVariant strings).
 * Decoding a job is then a bounds check and a few copies; a GVariant tuple
 * per job with an array per argv costs as much as the JSON it replaces.
 * GVariant only guarantees that damage cannot make us read out of bounds;
 * the checksum makes sure that damage cannot change a job either.
 *
 * Members are ordered by size, so the C layout and GVariant's (natural
 * alignment, padded to 8) agree; the static assertion and the type string
 * below must change together.
 */
typedef struct {
	guint64 id;
	guint64 ino; /* the key of the file the job was read from */
	guint64 size;
	gint64 ctime_ns;
	gint64 created_at;
	gint64 started_at;
	gint64 finished_at;
	guint64 original_bytes;
	guint64 new_bytes;
	guint64 video_bitrate;
	gdouble web_score;
	gdouble video_frame_rate;
	gdouble progress;
	gdouble fps;
	guint64 identity_dev;
	guint64 identity_ino;
	guint64 identity_size;
	gint64 identity_mtime_ns;
	guint64 output_dev;
	guint64 output_ino;
	guint64 output_size;
	gint64 output_mtime_ns;
	guint64 strings_offset;
	guint64 checksum; /* of the record (this member 0) and its strings */
	guint32 strings_length;
	guint32 video_width;
	guint32 video_height;
	gint32 av1_quality;
	guint32 source_bit_depth;
	guint32 target_bit_depth;
	guint32 null_mask;
	guint32 argc;
	guint8 status;
	guint8 stage;
	guint8 is_web_like;
	guint8 is_hdr;
	guint32 spare; /* 0; no hidden padding, as the checksum covers every byte */
} Record;
G_STATIC_ASSERT(sizeof(Record) == 232);

#define RECORD_TYPE "(tttxxxxtttddddtttxtttxttuuuiuuuuyyyyu)"
#define SNAPSHOT_TYPE "(uua" RECORD_TYPE "ay)"

/* the strings before the arguments, in blob order */
enum { N_FIXED_STRINGS = 7 };

/* which nullable strings were NULL (bit n: fixed string n) */
#define NULL_ARGV (1u << N_FIXED_STRINGS)

struct _Av1dJobSnapshot {
	GMappedFile *file;
	GVariant *root;
	GVariant *records_value;
	GVariant *blob_value;
	const Record *records;
	gsize n_records;
	const gchar *blob;
	gsize blob_size;
};

void
av1d_job_snapshot_free(Av1dJobSnapshot *self)
{
	if (self == NULL)
		return;
	g_clear_pointer(&self->records_value, g_variant_unref);
	g_clear_pointer(&self->blob_value, g_variant_unref);
	g_clear_pointer(&self->root, g_variant_unref);
	g_clear_pointer(&self->file, g_mapped_file_unref);
	g_free(self);
}

static gboolean
snapshot_check_header(Av1dJobSnapshot *self, const gchar *path)
{
	guint32 magic = 0;
	guint32 version = 0;

	if (!g_str_equal(g_variant_get_type_string(self->root), SNAPSHOT_TYPE)) {
		g_debug("job snapshot %s: written by another version, ignored", path);
		return FALSE;
	}
	g_variant_get_child(self->root, 0, "u", &magic);
	g_variant_get_child(self->root, 1, "u", &version);
	if (magic != SNAPSHOT_MAGIC || version != SNAPSHOT_VERSION) {
		g_debug("job snapshot %s: magic %08x version %u, ignored", path, magic, version);
		return FALSE;
	}
	return TRUE;
}

static void
snapshot_map_arrays(Av1dJobSnapshot *self)
{
	/* in place: the data stays mapped as long as these values live */
	self->records_value = g_variant_get_child_value(self->root, 2);
	self->records = g_variant_get_fixed_array(self->records_value, &self->n_records,
						  sizeof(Record));
	self->blob_value = g_variant_get_child_value(self->root, 3);
	self->blob = g_variant_get_fixed_array(self->blob_value, &self->blob_size, 1);
}

Av1dJobSnapshot *
av1d_job_snapshot_open(const gchar *path)
{
	g_autoptr(Av1dJobSnapshot) self = g_new0(Av1dJobSnapshot, 1);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) bytes = NULL;
	g_autoptr(GVariant) outer = NULL;

	self->file = g_mapped_file_new(path, FALSE, &error);
	if (self->file == NULL) {
		if (!g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			g_debug("job snapshot: %s", error->message);
		return NULL;
	}
	bytes = g_mapped_file_get_bytes(self->file);
	/* untrusted: every access is checked, damage reads as empty or zero */
	outer = g_variant_new_from_bytes(G_VARIANT_TYPE_VARIANT, bytes, FALSE);
	self->root = g_variant_get_variant(outer);
	if (!snapshot_check_header(self, path))
		return NULL;
	snapshot_map_arrays(self);
	return g_steal_pointer(&self);
}

guint
av1d_job_snapshot_get_size(Av1dJobSnapshot *self)
{
	return (guint)self->n_records;
}

gint
av1d_job_snapshot_find(Av1dJobSnapshot *self, guint64 id)
{
	gsize low = 0;
	gsize high = self->n_records;

	/* the records are in id order */
	while (low < high) {
		gsize mid = low + (high - low) / 2;

		if (self->records[mid].id < id)
			low = mid + 1;
		else
			high = mid;
	}
	if (low < self->n_records && self->records[low].id == id)
		return (gint)low;
	return -1;
}

gboolean
av1d_job_snapshot_matches(Av1dJobSnapshot *self, guint index, const Av1dJobFileKey *key)
{
	const Record *record;

	g_return_val_if_fail(index < self->n_records, FALSE);
	record = &self->records[index];
	return record->ino == key->ino && record->size == key->size &&
	       record->ctime_ns == key->ctime_ns;
}

/* FNV-1a, 64 bit: fast, and enough to catch damage (this is no defence
 * against someone who can write the state directory: they can write the
 * job files too) */
static guint64
checksum_update(guint64 hash, const void *data, gsize length)
{
	const guint8 *p = data;

	for (gsize i = 0; i < length; i++)
		hash = (hash ^ p[i]) * G_GUINT64_CONSTANT(0x100000001b3);
	return hash;
}

static guint64
record_checksum(const Record *record, const gchar *strings)
{
	Record copy;

	memcpy(&copy, record, sizeof(copy));
	copy.checksum = 0;
	return checksum_update(checksum_update(G_GUINT64_CONSTANT(0xcbf29ce484222325), &copy,
					       sizeof(copy)),
			       strings, record->strings_length);
}

/* the arguments, packed like Av1dJob.argv, from @length bytes holding
 * exactly @argc NUL-terminated strings; NULL when they do not */
static GStrv
unpack_argv(const gchar *region, gsize length, guint32 argc)
{
	gchar **argv = g_malloc((argc + 1) * sizeof(gchar *) + length);
	gchar *strings = memcpy(argv + argc + 1, region, length);
	gchar *p = strings;
	gchar *end = strings + length;

	for (guint32 n = 0; n < argc; n++) {
		gchar *nul = memchr(p, '\0', (gsize)(end - p));

		if (nul == NULL) {
			g_free(argv);
			return NULL;
		}
		argv[n] = p;
		p = nul + 1;
	}
	argv[argc] = NULL;
	if (p != end) {
		g_free(argv);
		return NULL;
	}
	return argv;
}

/* splits @record's strings out of the blob into @fixed and a new argv;
 * FALSE when they do not lie inside it or do not number exactly what the
 * record says (then nothing is left allocated) */
static gboolean
split_strings(Av1dJobSnapshot *self, const Record *record, gchar **fixed, GStrv *argv)
{
	const gchar *p, *end;

	if (record->strings_offset > self->blob_size ||
	    record->strings_length > self->blob_size - record->strings_offset)
		return FALSE;
	p = self->blob + record->strings_offset;
	end = p + record->strings_length;
	if (record_checksum(record, p) != record->checksum)
		return FALSE;
	for (guint n = 0; n < N_FIXED_STRINGS && p != NULL; n++) {
		const gchar *nul = memchr(p, '\0', (gsize)(end - p));

		if (nul != NULL && (record->null_mask & (1u << n)) == 0)
			fixed[n] = g_strndup(p, (gsize)(nul - p));
		p = nul != NULL ? nul + 1 : NULL;
	}
	*argv = NULL;
	if (p != NULL && (record->null_mask & NULL_ARGV) == 0)
		*argv = unpack_argv(p, (gsize)(end - p), record->argc);
	if (p == NULL || ((record->null_mask & NULL_ARGV) == 0 && *argv == NULL) ||
	    ((record->null_mask & NULL_ARGV) != 0 && p != end)) {
		for (guint n = 0; n < N_FIXED_STRINGS; n++)
			g_clear_pointer(&fixed[n], g_free);
		return FALSE;
	}
	return TRUE;
}

static void
copy_numbers(Av1dJob *job, const Record *record)
{
	job->id = record->id;
	job->created_at = record->created_at;
	job->started_at = record->started_at;
	job->finished_at = record->finished_at;
	job->status = record->status;
	job->stage = record->stage;
	job->original_bytes = record->original_bytes;
	job->new_bytes = record->new_bytes;
	job->is_web_like = record->is_web_like != 0;
	job->web_score = record->web_score;
	job->video_bitrate = record->video_bitrate;
	job->video_width = record->video_width;
	job->video_height = record->video_height;
	job->video_frame_rate = record->video_frame_rate;
	job->av1_quality = record->av1_quality;
	job->source_bit_depth = record->source_bit_depth;
	job->target_bit_depth = record->target_bit_depth;
	job->is_hdr = record->is_hdr != 0;
	job->progress = record->progress;
	job->fps = record->fps;
	job->identity.dev = record->identity_dev;
	job->identity.ino = record->identity_ino;
	job->identity.size = record->identity_size;
	job->identity.mtime_ns = record->identity_mtime_ns;
	job->output_identity.dev = record->output_dev;
	job->output_identity.ino = record->output_ino;
	job->output_identity.size = record->output_size;
	job->output_identity.mtime_ns = record->output_mtime_ns;
}

Av1dJob *
av1d_job_snapshot_get_job(Av1dJobSnapshot *self, guint index)
{
	const Record *record;
	gchar *fixed[N_FIXED_STRINGS] = {NULL};
	GStrv argv = NULL;
	Av1dJob *job;

	g_return_val_if_fail(index < self->n_records, NULL);
	record = &self->records[index];
	/* the checks the JSON loader makes too, so that damage in the cache
	 * cannot give a job that its file would not have given */
	if (record->status >= AV1D_JOB_STATUS_LAST || record->stage >= AV1D_JOB_STAGE_LAST ||
	    !split_strings(self, record, fixed, &argv))
		return NULL;
	if (fixed[0] == NULL || fixed[0][0] == '\0') {
		for (guint n = 0; n < N_FIXED_STRINGS; n++)
			g_free(fixed[n]);
		g_free(argv);
		return NULL;
	}
	job = av1d_job_new(record->id, NULL);
	copy_numbers(job, record);
	job->source_path = fixed[0];
	job->output_path = fixed[1];
	job->reason = fixed[2];
	job->video_codec = fixed[3];
	job->source_pix_fmt = fixed[4];
	job->av1_profile = fixed[5];
	job->encoder = fixed[6];
	job->argv = argv;
	return job;
}

/* --- writing --- */

static void
append_string(GByteArray *blob, const gchar *str, guint n, guint32 *null_mask)
{
	if (str == NULL)
		*null_mask |= 1u << n;
	else
		g_byte_array_append(blob, (const guint8 *)str, (guint)strlen(str));
	g_byte_array_append(blob, (const guint8 *)"", 1);
}

static void
append_job(GArray *records, GByteArray *blob, const Av1dJob *job, const Av1dJobFileKey *key)
{
	const gchar *fixed[N_FIXED_STRINGS] = {
		job->source_path,    job->output_path, job->reason,  job->video_codec,
		job->source_pix_fmt, job->av1_profile, job->encoder,
	};
	Record record = {
		.id = job->id,
		.ino = key->ino,
		.size = key->size,
		.ctime_ns = key->ctime_ns,
		.created_at = job->created_at,
		.started_at = job->started_at,
		.finished_at = job->finished_at,
		.original_bytes = job->original_bytes,
		.new_bytes = job->new_bytes,
		.video_bitrate = job->video_bitrate,
		.web_score = job->web_score,
		.video_frame_rate = job->video_frame_rate,
		.progress = job->progress,
		.fps = job->fps,
		.identity_dev = job->identity.dev,
		.identity_ino = job->identity.ino,
		.identity_size = job->identity.size,
		.identity_mtime_ns = job->identity.mtime_ns,
		.output_dev = job->output_identity.dev,
		.output_ino = job->output_identity.ino,
		.output_size = job->output_identity.size,
		.output_mtime_ns = job->output_identity.mtime_ns,
		.strings_offset = blob->len,
		.video_width = job->video_width,
		.video_height = job->video_height,
		.av1_quality = job->av1_quality,
		.source_bit_depth = job->source_bit_depth,
		.target_bit_depth = job->target_bit_depth,
		.argc = job->argv != NULL ? g_strv_length(job->argv) : 0,
		.status = (guint8)job->status,
		.stage = (guint8)job->stage,
		.is_web_like = job->is_web_like ? 1 : 0,
		.is_hdr = job->is_hdr ? 1 : 0,
	};

	for (guint n = 0; n < N_FIXED_STRINGS; n++)
		append_string(blob, fixed[n], n, &record.null_mask);
	if (job->argv == NULL)
		record.null_mask |= NULL_ARGV;
	for (guint n = 0; n < record.argc; n++)
		append_string(blob, job->argv[n], N_FIXED_STRINGS, &record.null_mask);
	record.strings_length = (guint32)(blob->len - record.strings_offset);
	record.checksum = record_checksum(&record, (const gchar *)blob->data + record.strings_offset);
	g_array_append_val(records, record);
}

gboolean
av1d_job_snapshot_write(const gchar *path, GPtrArray *jobs, const GArray *keys, GError **error)
{
	g_autoptr(GArray) records = NULL;
	g_autoptr(GByteArray) blob = g_byte_array_new();
	g_autoptr(GVariant) root = NULL;

	g_return_val_if_fail(jobs->len == keys->len, FALSE);
	records = g_array_sized_new(FALSE, TRUE, sizeof(Record), jobs->len);
	for (guint i = 0; i < jobs->len; i++)
		append_job(records, blob, g_ptr_array_index(jobs, i),
			   &g_array_index(keys, Av1dJobFileKey, i));
	root = g_variant_ref_sink(g_variant_new_variant(g_variant_new(
		"(uu@a" RECORD_TYPE "@ay)", SNAPSHOT_MAGIC, SNAPSHOT_VERSION,
		g_variant_new_fixed_array(G_VARIANT_TYPE(RECORD_TYPE), records->data,
					  records->len, sizeof(Record)),
		g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, blob->data, blob->len, 1))));
	return av1d_file_write_atomic(path, g_variant_get_data(root), g_variant_get_size(root),
				      0600, error);
}
