/*
 * InfluxDB 2: the Flux that recomputes one downsampling level of a bucket
 * (docs/notes-downsample.md, "Flux").
 */
#ifndef POWERVIEW_DOWNSAMPLE_FLUX_H
#define POWERVIEW_DOWNSAMPLE_FLUX_H

#include <stddef.h>
#include <stdint.h>

#include "powerview/common.h"
#include "powerview/tz.h"
#include "powerview/windows.h"

/*
 * The Flux script (one query, one result) that recomputes `windows` (from
 * pv_windows, contiguous) of `level` from measurement "electrical" of bucket
 * `bucket` into bucket "<bucket>_<level>" of organization `org`: the mean of
 * each series (tags kept), stamped with its window's start.
 *
 * `fields` (nfields of them) are the numeric fields to average: mean() of a
 * string or boolean field fails the query, so pass the float/integer ones;
 * nfields 0 averages every field of the measurement (the caller knows there
 * are only numeric ones).
 *
 * Hours and days in an IANA zone: one range() over [first start, last end)
 * and aggregateWindow(every: 1h|1d, fn: mean, location:
 * timezone.location(name: zone), timeSrc: "_start", createEmpty: false).
 * Weeks (aggregateWindow's weeks start on Thursday) or a POSIX zone (no
 * location for it): one range() |> mean() per window, _time = the window's
 * start, all of them union()ed. Ends with |> to(bucket:, org:) (orgID:
 * when `org` is an ID) |> group() |> count(): the answer is one count.
 * Bucket, org, field names and the zone are escaped Flux string literals.
 * *out: free it.
 */
int pv_downsample_flux(char **out, const char *org, const char *bucket, pv_level level, pv_tz *tz,
    const char *const *fields, size_t nfields, const pv_window *windows, size_t nwindows,
    pv_err *err);

/* t (ns since the epoch, UTC) as a Flux time literal: 2026-03-28T23:00:00Z, with .nnnnnnnnn when needed. */
void pv_flux_time(char out[40], int64_t t);

#endif
