/* Sinks take line protocol, one file at a time, in batches. */
#ifndef POWERVIEW_SINK_H
#define POWERVIEW_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "powerview/common.h"
#include "powerview/tz.h"
#include "powerview/windows.h"

typedef struct pv_sink pv_sink;

/* Which points of a file to count back from the database. */
typedef struct pv_count_query {
	const char *bucket;
	const char *measurement;
	const char *campaign;
	const char *master_sn;  /* the file's master serial (the device_master_sn tag) */
	const char *file_name;  /* NULL when the file_name tag is off: the time range decides */
	int64_t start, end;     /* first and last instant written, inclusive */
} pv_count_query;

/* What a downsampling did: for levels[i], windows[i] windows recomputed. */
typedef struct pv_downsample_figure {
	size_t n;
	pv_level levels[PV_LEVELS_MAX];
	uint64_t windows[PV_LEVELS_MAX];
} pv_downsample_figure;

typedef struct pv_sink_ops {
	/* A file's points start; `bucket` is where they belong. */
	int (*begin)(pv_sink *s, const char *bucket, pv_err *err);
	/* A batch of whole lines. PV_ETEMP: try again later; PV_EDATA: rejected. */
	int (*write)(pv_sink *s, const char *buf, size_t len, size_t nlines, pv_err *err);
	/* Every batch of the file is safely stored. */
	int (*commit)(pv_sink *s, pv_err *err);
	/* The file failed: undo what can be undone. true when undone. */
	bool (*abort)(pv_sink *s);
	void (*free)(pv_sink *s);
	/*
	 * Points the database holds for each of n files, out[i] for q[i], in one
	 * query: the files share bucket, measurement, campaign and master serial,
	 * and each has its own file name (n is 1 when file names are NULL). On
	 * failure no file has a count. NULL when the sink cannot tell.
	 */
	int (*count)(pv_sink *s, const pv_count_query *q, size_t n, uint64_t *out, pv_err *err);
	/*
	 * The file that began is settled (moved, or left in place): `kept` false
	 * takes its committed points back where the sink can (a file whose move
	 * failed is taken again by a later run). true when taken back.
	 * NULL when the sink has nothing to do then.
	 */
	bool (*settled)(pv_sink *s, bool kept);
	/*
	 * NULL while the sink may be tried; once it gave up for the run (the
	 * database stayed unavailable through its retries), why. NULL op: never.
	 */
	const char *(*unavailable)(pv_sink *s);
	/*
	 * Recomputes, for each level, the windows pv_windows() gives for the
	 * instants tmin..tmax (ns UTC, a file's first and last point) in `tz`,
	 * from the raw points of `bucket`, whole windows, into "<bucket>_<level>"
	 * (docs/notes-downsample.md). PV_OK with *out filled; 1 when this sink
	 * (its API) does not downsample (yet): nothing done, no figure; < 0 on
	 * failure (some levels may be done: the next file or run redoes them).
	 * NULL when the sink never downsamples (file sink, VictoriaMetrics).
	 */
	int (*downsample)(pv_sink *s, const char *bucket, int64_t tmin, int64_t tmax, pv_tz *tz,
	    const pv_level *levels, size_t nlevels, pv_downsample_figure *out, pv_err *err);
} pv_sink_ops;

struct pv_sink {
	const pv_sink_ops *ops;
	size_t batch_lines; /* flush after this many lines ... */
	size_t batch_bytes; /* ... or this many bytes */
	const char *meta_bucket; /* where the run summary goes; NULL: nowhere */
	/* the input file whose points begin next (absolute path, identity), for
	 * a sink that must know after a crash whether that file was settled;
	 * the path is set for the `begin` call only */
	const char *source_path;
	dev_t source_dev;
	ino_t source_ino;
};

/*
 * Appends to `path` ("-" is standard output). PV_ECONFIG when it cannot be
 * opened. A regular file is locked (flock) from a file's begin until it is
 * settled, so that runs sharing the output never interleave, and a run that
 * takes its lines back takes only its own. A journal beside it
 * (`.<name>.tsv_parser-journal`) holds where the file in progress began:
 * the next run takes back the lines of a file that a killed run wrote but
 * did not move.
 */
int pv_sink_file_open(pv_sink **out, const char *path, pv_err *err);

void pv_sink_free(pv_sink *s);

#endif
