/*
 * InfluxDB 2: the Flux of one downsampling level (powerview/downsample_flux.h).
 *
 * What this relies on, from the Flux documentation (docs.influxdata.com):
 * - flux/v0/stdlib/universe/aggregatewindow: aggregateWindow(every, fn,
 *   location: {zone, offset}, timeSrc, createEmpty); it needs _start/_stop
 *   (from range()); "When windowing by week (1w), weeks are determined using
 *   the Unix epoch ... all calculated weeks begin on Thursday" -- hence weeks
 *   are one range() per ISO week here, as with InfluxDB 1.x
 *   (docs/notes-downsample.md).
 * - flux/v0/stdlib/timezone/location: timezone.location(name:) returns the
 *   {zone, offset} record; the location only moves window boundaries (around
 *   DST changes), _time stays UTC. A POSIX TZ string is no location name,
 *   so such zones get per-window ranges too.
 * - flux/v0/stdlib/influxdata/influxdb/to: to(bucket:, org:) is in the
 *   prelude (no import), writes _time/_measurement/_field/_value, the other
 *   (string) columns as tags, drops rows whose _time is null, and returns the
 *   written data (so a to() query answers the written rows as CSV).
 * - flux/v0/stdlib/universe/group: mode "except" keys the tables by every
 *   column but those listed, so the files of a series (tag file_name) meet
 *   in one table, whose mean is the series' mean over the window.
 * - universe mean() drops the columns not in the group key (_time among
 *   them): the per-window pipelines put _start back as _time with
 *   duplicate(column: "_start", as: "_time").
 * - One query, one result: the per-window pipelines are union()ed into a
 *   single to(), not several statements (several unnamed results would
 *   clash on the name _result); flux/v0/stdlib/universe/union: "tables"
 *   takes at least two streams, so a single window is not wrapped.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "powerview/downsample_flux.h"
#include "powerview/influx.h"

#define NS 1000000000LL

/* "..." with the body escaped */
static void
fb_string(pv_buf *b, const char *s)
{
	char *q = pv_flux_quote(s);

	if (q == NULL) {
		b->oom = true;
		return;
	}
	pv_buf_add(b, "\"");
	pv_buf_add(b, q);
	pv_buf_add(b, "\"");
	free(q);
}

void
pv_flux_time(char out[40], int64_t t)
{
	int64_t sec = t / NS, ns = t % NS;
	struct tm tm;
	time_t tt;

	if (ns < 0) {
		ns += NS;
		sec--;
	}
	tt = (time_t)sec;
	gmtime_r(&tt, &tm);
	size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	if (ns)
		snprintf(out + n, 40 - n, ".%09lldZ", (long long)ns);
	else
		snprintf(out + n, 40 - n, "Z");
}

/* from(bucket:) |> range(start, stop) |> filter(measurement) |> filter(fields) */
static void
fb_source(pv_buf *b, const char *indent, const char *bucket, const char *const *fields, size_t nf,
    int64_t start, int64_t stop)
{
	char t[40];

	pv_buf_add(b, "from(bucket: ");
	fb_string(b, bucket);
	pv_buf_add(b, ")\n");
	pv_buf_add(b, indent);
	pv_flux_time(t, start);
	pv_buf_add(b, "|> range(start: ");
	pv_buf_add(b, t);
	pv_flux_time(t, stop);
	pv_buf_add(b, ", stop: ");
	pv_buf_add(b, t);
	pv_buf_add(b, ")\n");
	pv_buf_add(b, indent);
	pv_buf_add(b, "|> filter(fn: (r) => r._measurement == \"electrical\")\n");
	if (nf > 0) {
		pv_buf_add(b, indent);
		pv_buf_add(b, "|> filter(fn: (r) => ");
		for (size_t i = 0; i < nf; i++) {
			pv_buf_add(b, i ? " or r._field == " : "r._field == ");
			fb_string(b, fields[i]);
		}
		pv_buf_add(b, ")\n");
	}
	/* a series' mean covers all its files: file_name leaves the group key (mean() drops it) */
	pv_buf_add(b, indent);
	pv_buf_add(b, "|> group(columns: [\"_time\", \"_value\", \"file_name\"], mode: \"except\")\n");
}

int
pv_downsample_flux(char **out, const char *org, const char *bucket, pv_level level, pv_tz *tz,
    const char *const *fields, size_t nfields, const pv_window *w, size_t nw, pv_err *err)
{
	pv_buf b = { 0 };
	char *target = NULL;

	*out = NULL;
	if (org == NULL || org[0] == '\0' || bucket == NULL || bucket[0] == '\0' || nw == 0)
		return pv_fail(err, PV_EDATA, "downsampling: no organization, bucket or window");
	for (size_t i = 0; i < nfields; i++)
		if (fields[i] == NULL || fields[i][0] == '\0')
			return pv_fail(err, PV_EDATA, "downsampling: empty field name");
	for (size_t i = 1; i < nw; i++)
		if (w[i].start != w[i - 1].end)
			return pv_fail(err, PV_EDATA, "downsampling: windows are not contiguous");
	for (size_t i = 0; i < nw; i++)
		if (w[i].end <= w[i].start)
			return pv_fail(err, PV_EDATA, "downsampling: empty window");
	if (asprintf(&target, "%s_%s", bucket, pv_level_name(level)) < 0)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	if (!pv_downsample_per_window(level, tz)) {
		pv_buf_add(&b, "import \"timezone\"\n\n");
		fb_source(&b, "    ", bucket, fields, nfields, w[0].start, w[nw - 1].end);
		pv_buf_add(&b, "    |> aggregateWindow(every: ");
		pv_buf_add(&b, pv_level_name(level));
		pv_buf_add(&b, ", fn: mean, location: timezone.location(name: ");
		fb_string(&b, pv_tz_name(tz));
		pv_buf_add(&b, "), timeSrc: \"_start\", createEmpty: false)\n");
	} else {
		/* union() wants at least two streams: one window is its pipeline alone */
		const char *in = nw > 1 ? "        " : "    ";
		if (nw > 1)
			pv_buf_add(&b, "union(tables: [\n");
		for (size_t i = 0; i < nw; i++) {
			if (nw > 1)
				pv_buf_add(&b, "    ");
			fb_source(&b, in, bucket, fields, nfields, w[i].start, w[i].end);
			pv_buf_add(&b, in);
			pv_buf_add(&b, "|> mean()\n");
			pv_buf_add(&b, in);
			pv_buf_add(&b, i + 1 < nw ? "|> duplicate(column: \"_start\", as: \"_time\"),\n" :
			    "|> duplicate(column: \"_start\", as: \"_time\")\n");
		}
		if (nw > 1)
			pv_buf_add(&b, "])\n");
	}
	/* _start/_stop are not tags (time columns), but nothing else is meant to be written */
	pv_buf_add(&b, "    |> drop(columns: [\"_start\", \"_stop\"])\n");
	pv_buf_add(&b, "    |> to(bucket: ");
	fb_string(&b, target);
	pv_buf_add(&b, pv_influx_is_id(org) ? ", orgID: " : ", org: ");
	fb_string(&b, org);
	pv_buf_add(&b, ")\n");
	/* to() answers the rows it wrote: a count of them keeps the answer small */
	pv_buf_add(&b, "    |> group()\n    |> count()\n");
	free(target);
	if (b.oom) {
		free(b.p);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	*out = b.p;
	return PV_OK;
}
