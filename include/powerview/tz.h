/* Time zones: wall clock time to instants, with DST gaps and overlaps. */
#ifndef POWERVIEW_TZ_H
#define POWERVIEW_TZ_H

#include <stdbool.h>
#include <stdint.h>

#include "powerview/common.h"

typedef struct pv_tz pv_tz;

/*
 * Opens a zone from an IANA name ("Europe/Paris", "UTC") or a POSIX TZ
 * string ("CET-1CEST,M3.5.0,M10.5.0/3"). Unknown or malformed: PV_EDATA.
 */
int pv_tz_open(pv_tz **out, const char *spec, pv_err *err);
void pv_tz_free(pv_tz *tz);
const char *pv_tz_name(const pv_tz *tz);

/*
 * The instants whose local time is `wall` (see pv_timestamp_parse), in
 * increasing order: 0 (skipped by a forward change), 1, or 2 (repeated by a
 * backward change). Returns the count.
 */
int pv_tz_resolve(pv_tz *tz, int64_t wall, int64_t out[2]);

/* The zone's UTC offset in seconds at instant t (seconds since the epoch). */
long pv_tz_offset(pv_tz *tz, int64_t t);

/* Is the zone an IANA name (or UTC), one that InfluxDB's tz() and Flux know too? */
bool pv_tz_is_iana(const pv_tz *tz);

#endif
