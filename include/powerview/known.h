/*
 * The channels already stored in a bucket (`tsv_parser channels`, v0.4.1's
 * backfill_known_channels): the distinct (campaign, channel_id,
 * channel_unit, channel_label, device_master_sn) tag tuples of measurement
 * electrical. A bucket holds one series per file and field, so the set is
 * kept by tuple: its memory follows the distinct channels, not the series.
 */
#ifndef POWERVIEW_KNOWN_H
#define POWERVIEW_KNOWN_H

#include <stdbool.h>
#include <stddef.h>

#include "powerview/common.h"

/* The most distinct tuples of one bucket: past it, PV_EDATA rather than the run's memory. */
#define PV_KNOWN_MAX 200000

typedef struct pv_known_channel {
	/* five NUL-terminated strings of one allocation (campaign owns it) */
	const char *campaign, *id, *unit, *label, *master_sn;
} pv_known_channel;

typedef struct pv_known {
	pv_known_channel *items;
	size_t count, cap;
	size_t *slots;   /* open addressing: index + 1, 0 empty */
	size_t nslots;
} pv_known;

/*
 * Adds a tuple unless it is there already. One without a channel id or a
 * unit is left out (v0.4.1 publishes channels with a unit only); a NULL
 * campaign, label or serial is "". PV_OK, PV_ENOMEM, or PV_EDATA past
 * PV_KNOWN_MAX.
 */
int pv_known_add(pv_known *k, const char *campaign, const char *id, const char *unit,
    const char *label, const char *master_sn, pv_err *err);

/*
 * The value of tag `tag` in a series key as InfluxDB 1.x's SHOW SERIES
 * gives it ("electrical,campaign=c\ 1,channel_id=..."), line-protocol
 * escapes (\, \= and \space) undone; NULL when the key has no such tag or
 * out of memory (*oom set). free() the result.
 */
char *pv_series_key_tag(const char *key, const char *tag, int *oom);

/* Adds the tuple of a series key (see pv_known_add); other measurements are ignored. */
int pv_known_add_series_key(pv_known *k, const char *key, const char *measurement, pv_err *err);

/*
 * True when a bucket (database) named `name` is a company's raw one: not a
 * system one (starting with '_'), not a downsampled one (suffix _1h, _1d,
 * _1w), not the meta bucket `meta` (TSV_META_BUCKET; NULL: its default).
 */
bool pv_known_raw_bucket(const char *name, const char *meta);

/* Sorts by campaign, channel id, unit, label, serial: stable bodies, campaigns together. */
void pv_known_sort(pv_known *k);

void pv_known_free(pv_known *k);

#endif
