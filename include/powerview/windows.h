/*
 * Downsampling windows: the local hours, days and ISO weeks a time range
 * touches, as [start, end) instants, the way InfluxDB 1.x computes them with
 * tz() (docs/notes-downsample.md): a local day lasts 23, 24 or 25 hours, a
 * repeated hour is two windows, a skipped one none, a week starts on Monday
 * 00:00 local.
 */
#ifndef POWERVIEW_WINDOWS_H
#define POWERVIEW_WINDOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "powerview/common.h"
#include "powerview/tz.h"

typedef enum pv_level { PV_LEVEL_1H, PV_LEVEL_1D, PV_LEVEL_1W } pv_level;

/* A window in nanoseconds since the epoch, UTC: start included, end excluded. */
typedef struct pv_window {
	int64_t start, end;
} pv_window;

/* "1h", "1d", "1w" (the bucket and database suffixes); other text: PV_EDATA. */
int pv_level_parse(const char *s, pv_level *out, pv_err *err);
const char *pv_level_name(pv_level level);

/*
 * A list of levels ("1h,1d,1w", commas and/or spaces; a level named twice
 * counts once; empty: none) into out[0..*n), in the order given.
 */
#define PV_LEVELS_MAX 3
int pv_levels_parse(const char *s, pv_level out[PV_LEVELS_MAX], size_t *n, pv_err *err);

/* The window of `level` in `tz` containing instant t (ns). */
int pv_window_at(pv_tz *tz, pv_level level, int64_t t, pv_window *out, pv_err *err);

/*
 * The windows touched by the instants tmin..tmax (ns, both included,
 * tmin <= tmax), in order, contiguous; *out is malloc'ed (free it). More than
 * PV_WINDOWS_MAX windows: PV_EDATA (the caller chunks long ranges).
 */
#define PV_WINDOWS_MAX 100000
int pv_windows(pv_tz *tz, pv_level level, int64_t tmin, int64_t tmax, pv_window **out,
    size_t *n, pv_err *err);

/* How many windows pv_windows would give, for any range (nothing allocated). */
int pv_windows_count(pv_tz *tz, pv_level level, int64_t tmin, int64_t tmax, size_t *n, pv_err *err);

/*
 * One chunk of a long range: the windows from the one containing `from` on,
 * at most `max` of them, stopping after the one containing `tmax`
 * (from <= tmax). *more: the last window ends at or before tmax (the next
 * chunk starts `from` its end). *out is malloc'ed (free it).
 */
int pv_windows_chunk(pv_tz *tz, pv_level level, int64_t from, int64_t tmax, size_t max,
    pv_window **out, size_t *n, bool *more, pv_err *err);

/*
 * Whether a level is recomputed by one statement (InfluxQL) or stream
 * (Flux) per window: weeks, and any level in a POSIX zone (no tz() for it).
 */
bool pv_downsample_per_window(pv_level level, pv_tz *tz);

/*
 * The most windows one downsampling request covers: 720 hours (30 days),
 * 31 days, 5 weeks (about a month of raw data: a request's time grows with
 * the data it reads, and InfluxDB answers SELECT ... INTO only when done),
 * and never more than PV_CHUNK_STATEMENTS windows
 * when each is a statement of its own. A range is walked chunk by chunk:
 * memory and request size stay bounded whatever the range.
 */
#define PV_CHUNK_STATEMENTS 200
size_t pv_downsample_chunk_max(pv_level level, pv_tz *tz);

/*
 * InfluxDB 1.x: the InfluxQL statements (';'-separated, one request) that
 * recompute `windows` (from pv_windows, contiguous) of `level` from
 * "<db>"."autogen"."electrical" into "<db>_<level>"."autogen"."electrical":
 * mean("f") AS "f" for each of the `nfields` numeric fields, grouped by the
 * `ntags` tags (every tag key of the measurement but file_name: a window's
 * mean is over all the files that share a series, and written without the
 * file_name tag). Hours and days in an IANA zone: one statement over the whole range,
 * GROUP BY time(1h|1d), <tags> tz('<zone>'); weeks, or a POSIX zone: one statement
 * per window without GROUP BY time (its point is stamped with the window
 * start). Every identifier and literal escaped. *out: free it.
 */
int pv_downsample_influxql(char **out, const char *db, pv_level level, pv_tz *tz,
    const char *const *fields, size_t nfields, const char *const *tags, size_t ntags,
    const pv_window *windows, size_t nwindows, pv_err *err);

#endif
