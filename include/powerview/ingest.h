/* One file through the pipeline: read → map → encode → sink. */
#ifndef POWERVIEW_INGEST_H
#define POWERVIEW_INGEST_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "powerview/channels.h"
#include "powerview/common.h"
#include "powerview/format.h"
#include "powerview/path.h"
#include "powerview/place.h"
#include "powerview/sink.h"

typedef struct pv_config {
	const pv_formats *formats;
	const char *timezone;   /* configured zone (plain layout default) */
	pv_id_scheme scheme;
	int file_name_tag;      /* 1: tag each point with its file name */
	const char *measurement;
	bool no_lock;           /* a dry run's preview: read the files, never lock them */
} pv_config;

void pv_config_defaults(pv_config *cfg);

typedef enum pv_status {
	PV_STATUS_SUCCESS,
	PV_STATUS_ERROR,   /* goes to error/ */
	PV_STATUS_PENDING, /* kept in place for the next run */
	PV_STATUS_SKIPPED  /* vanished before it could be read */
} pv_status;

const char *pv_status_name(pv_status s);

/* Everything the report says about one file. */
typedef struct pv_file_result {
	char *file_path;
	pv_location loc;       /* NULL members when the path was bad */
	pv_status status;
	char *error;           /* NULL on success */
	char *format_id;
	char *timezone;
	char *master_sn;
	uint64_t nb_rows, nb_points, nb_invalid_timestamps, nb_invalid_values, nb_malformed_rows;
	size_t nb_channels;
	pv_channels channels;
	cJSON *header_meta;    /* owned */
	bool has_time;
	int64_t time_start, time_end;
	cJSON *warnings;       /* array of strings, owned */
	bool verified;         /* the database was asked how many points it holds */
	uint64_t nb_points_in_influx;
	char *destination;
	int fd;                /* the open, locked file: held until it is moved */
	pv_place place;        /* its folders, held open for the move */
	bool sent;             /* the sink began the file: it is told when the file is settled */
	struct pv_spool_entry *spooled; /* read from this spool copy: owned */
	/* channels posted to CONFIG_API_URL: -1 not asked (off, not a success), -2 failed */
	long long channels_published;
	/* downsampling after delivery: -1 not asked (off, not applicable), 0 done (figure), -2 failed */
	int downsampled;
	pv_downsample_figure downsample;
} pv_file_result;

void pv_file_result_init(pv_file_result *r, const char *path);
void pv_file_result_free(pv_file_result *r);
void pv_file_result_warn(pv_file_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Reads `path` and sends its points to `sink` (NULL: count only, for dry
 * runs). With a sink, and unless cfg->no_lock, it holds an exclusive
 * flock(2) on the file from open
 * until pv_file_result_free(), so two runs never take the same file: the
 * second one finds it locked, or gone, and skips it (PV_ENOENT). Returns PV_OK, PV_EDATA (bad file), PV_ETEMP (sink unavailable),
 * PV_ENOENT (vanished) or PV_ECONFIG / PV_ENOMEM; `r` holds the figures and
 * the reason either way.
 */
int pv_ingest_file(pv_file_result *r, const pv_config *cfg, const char *data_dir,
    const char *path, pv_sink *sink);

/*
 * The same for a spool copy: reads `fd` (which it owns from then on: closed
 * with the result), found at `copy_path`, as the content of the original
 * `path`, whose name, place and tags the figures take.
 */
int pv_ingest_copy(pv_file_result *r, const pv_config *cfg, const char *data_dir,
    const char *path, int fd, const char *copy_path, pv_sink *sink);

#endif
