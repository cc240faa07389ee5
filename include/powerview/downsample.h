/*
 * The backfill: the downsampled copies of buckets recomputed from their
 * raw points, chunk by chunk in time order, resumable after an
 * interruption (its state file beside the run reports).
 */
#ifndef POWERVIEW_DOWNSAMPLE_H
#define POWERVIEW_DOWNSAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "powerview/common.h"
#include "powerview/scan.h"
#include "powerview/sink.h"
#include "powerview/tz.h"
#include "powerview/windows.h"

#define PV_DOWNSAMPLE_STATE_NAME "downsample-state.json"

/* What a backfill does; the strings as given are the state's identity. */
typedef struct pv_downsample_opts {
	const char *data;        /* the data folder, resolved (realpath) */
	const char *bucket_arg;  /* one bucket, or NULL: every company folder */
	const char *start_arg, *end_arg;    /* the range as given, or NULL */
	const int64_t *start, *end;         /* the range (ns, end excluded), or NULL: the bucket's span */
	const pv_level *levels;
	size_t nlevels;
	const char *report_dir;  /* where the state lives; NULL or "": <data folder>/../logs/reports */
	pv_tz *tz;
	/* each chunk's progress line ("downsample: b 1h 2026-01-01 .. 2026-01-31, 3/12 chunks"), or NULL */
	void (*progress)(const char *line, void *arg);
	void *progress_arg;
} pv_downsample_opts;

typedef struct pv_downsample pv_downsample;

/* `s`: RFC 3339, or YYYY-MM-DD (local midnight in tz; tz NULL: syntax only). 0 or PV_EDATA. */
int pv_downsample_time(int64_t *ns, const char *s, pv_tz *tz);

/* The company folders directly under data whose name the run takes, sorted. */
int pv_downsample_buckets(pv_paths *out, const char *data, pv_err *err);

/*
 * A backfill of o (kept by reference until pv_downsample_free): the state
 * of an interrupted run of the same job read (said in the log), or none.
 */
int pv_downsample_open(pv_downsample **out, const pv_downsample_opts *o, pv_err *err);

/*
 * Each bucket in turn through the sink, each one's messages in the log: 0;
 * PV_ETEMP when interrupted by pv_stop_request (the state kept: the same
 * backfill resumes) or the database unavailable; PV_ENOENT when a bucket
 * is not in the database (the others done); another pv_rc that stopped it.
 */
int pv_downsample_run(pv_downsample *ds, pv_sink *sink, const pv_paths *buckets);

void pv_downsample_free(pv_downsample *ds);

#endif
