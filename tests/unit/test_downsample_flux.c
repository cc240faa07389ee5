/*
 * The Flux of a downsampling level (src/sink/downsample_flux.c): the exact
 * text for hours and days over the windows pv_windows() gives across Paris's
 * DST day, weeks (one range per ISO week), a POSIX zone (per window), and
 * hostile bucket, org and field names escaped as Flux string literals.
 */
#include "pv_test.h"

#include "powerview/downsample_flux.h"
#include "powerview/tz.h"
#include "powerview/windows.h"

#define NS 1000000000LL


/* the Flux of `lv` over the windows pv_windows gives for [a, b] (seconds) */
static char *
flux_for(const char *org, const char *bucket, pv_level lv, pv_tz *tz, const char *const *fields,
    size_t nf, int64_t a, int64_t b)
{
	pv_window *w = NULL;
	size_t n = 0;
	char *q = NULL;
	pv_err err = { "" };

	if (pv_windows(tz, lv, a * NS, b * NS, &w, &n, &err) != PV_OK)
		fail_msg("windows: %s", err.msg);
	if (pv_downsample_flux(&q, org, bucket, lv, tz, fields, nf, w, n, &err) != PV_OK)
		fail_msg("flux: %s", err.msg);
	free(w);
	return q;
}

/* 2026-03-29 (23 h in Paris): 2026-03-29T00:30+01:00 .. 2026-03-29T12:00+02:00 */
#define DST_A 1774740600LL /* 2026-03-28T23:30:00Z */
#define DST_B 1774778400LL /* 2026-03-29T10:00:00Z */

static void
days_dst(void **state)
{
	pv_tz *paris = pvt_zone("Europe/Paris");
	const char *fields[] = { "f", "g" };
	char *q = flux_for("acme", "site", PV_LEVEL_1D, paris, fields, 2, DST_A, DST_B);

	(void)state;
	/* one local day, 23 h: [03-28T23:00Z, 03-29T22:00Z) */
	assert_string_equal(q,
	    "import \"timezone\"\n"
	    "\n"
	    "from(bucket: \"site\")\n"
	    "    |> range(start: 2026-03-28T23:00:00Z, stop: 2026-03-29T22:00:00Z)\n"
	    "    |> filter(fn: (r) => r._measurement == \"electrical\")\n"
	    "    |> filter(fn: (r) => r._field == \"f\" or r._field == \"g\")\n"
	    "    |> group(columns: [\"_time\", \"_value\", \"file_name\"], mode: \"except\")\n"
	    "    |> aggregateWindow(every: 1d, fn: mean, location: timezone.location(name: \"Europe/Paris\"), "
	    "timeSrc: \"_start\", createEmpty: false)\n"
	    "    |> drop(columns: [\"_start\", \"_stop\"])\n"
	    "    |> to(bucket: \"site_1d\", org: \"acme\")\n"
	    "    |> group()\n"
	    "    |> count()\n");
	free(q);
	/* 2026-10-25, 25 h: [10-24T22:00Z, 10-25T23:00Z) */
	q = flux_for("acme", "site", PV_LEVEL_1D, paris, fields, 1, 1792886400LL, 1792886400LL);
	assert_non_null(strstr(q, "|> range(start: 2026-10-24T22:00:00Z, stop: 2026-10-25T23:00:00Z)\n"));
	free(q);
	pv_tz_free(paris);
}

static void
hours_dst(void **state)
{
	pv_tz *paris = pvt_zone("Europe/Paris");
	/* no field list: every field */
	char *q = flux_for("acme", "site", PV_LEVEL_1H, paris, NULL, 0, DST_A, DST_B);

	(void)state;
	/* hours 00:00+01:00 (03-28T23:00Z) .. 12:00+02:00 (03-29T10:00Z, touched): end 11:00Z */
	assert_string_equal(q,
	    "import \"timezone\"\n"
	    "\n"
	    "from(bucket: \"site\")\n"
	    "    |> range(start: 2026-03-28T23:00:00Z, stop: 2026-03-29T11:00:00Z)\n"
	    "    |> filter(fn: (r) => r._measurement == \"electrical\")\n"
	    "    |> group(columns: [\"_time\", \"_value\", \"file_name\"], mode: \"except\")\n"
	    "    |> aggregateWindow(every: 1h, fn: mean, location: timezone.location(name: \"Europe/Paris\"), "
	    "timeSrc: \"_start\", createEmpty: false)\n"
	    "    |> drop(columns: [\"_start\", \"_stop\"])\n"
	    "    |> to(bucket: \"site_1h\", org: \"acme\")\n"
	    "    |> group()\n"
	    "    |> count()\n");
	free(q);
	pv_tz_free(paris);
}

static void
weeks(void **state)
{
	pv_tz *paris = pvt_zone("Europe/Paris");
	const char *fields[] = { "f" };
	/* 2026-03-26 .. 2026-03-31: ISO weeks of 03-23 (168 h) and 03-30 */
	char *q = flux_for("acme", "site", PV_LEVEL_1W, paris, fields, 1, 1774483200LL, 1774915200LL);

	(void)state;
	assert_string_equal(q,
	    "union(tables: [\n"
	    "    from(bucket: \"site\")\n"
	    "        |> range(start: 2026-03-22T23:00:00Z, stop: 2026-03-29T22:00:00Z)\n"
	    "        |> filter(fn: (r) => r._measurement == \"electrical\")\n"
	    "        |> filter(fn: (r) => r._field == \"f\")\n"
	    "        |> group(columns: [\"_time\", \"_value\", \"file_name\"], mode: \"except\")\n"
	    "        |> mean()\n"
	    "        |> duplicate(column: \"_start\", as: \"_time\"),\n"
	    "    from(bucket: \"site\")\n"
	    "        |> range(start: 2026-03-29T22:00:00Z, stop: 2026-04-05T22:00:00Z)\n"
	    "        |> filter(fn: (r) => r._measurement == \"electrical\")\n"
	    "        |> filter(fn: (r) => r._field == \"f\")\n"
	    "        |> group(columns: [\"_time\", \"_value\", \"file_name\"], mode: \"except\")\n"
	    "        |> mean()\n"
	    "        |> duplicate(column: \"_start\", as: \"_time\")\n"
	    "])\n"
	    "    |> drop(columns: [\"_start\", \"_stop\"])\n"
	    "    |> to(bucket: \"site_1w\", org: \"acme\")\n"
	    "    |> group()\n"
	    "    |> count()\n");
	free(q);
	pv_tz_free(paris);
}

static void
one_week(void **state)
{
	pv_tz *paris = pvt_zone("Europe/Paris");
	/* 2026-10-27: the ISO week of 10-26, after the change: 168 h, no union() of one stream */
	char *q = flux_for("acme", "site", PV_LEVEL_1W, paris, NULL, 0, 1793059200LL, 1793059200LL);

	(void)state;
	assert_string_equal(q,
	    "from(bucket: \"site\")\n"
	    "    |> range(start: 2026-10-25T23:00:00Z, stop: 2026-11-01T23:00:00Z)\n"
	    "    |> filter(fn: (r) => r._measurement == \"electrical\")\n"
	    "    |> group(columns: [\"_time\", \"_value\", \"file_name\"], mode: \"except\")\n"
	    "    |> mean()\n"
	    "    |> duplicate(column: \"_start\", as: \"_time\")\n"
	    "    |> drop(columns: [\"_start\", \"_stop\"])\n"
	    "    |> to(bucket: \"site_1w\", org: \"acme\")\n"
	    "    |> group()\n"
	    "    |> count()\n");
	free(q);
	pv_tz_free(paris);
}

static void
posix_zone(void **state)
{
	pv_tz *posix = pvt_zone("CET-1CEST,M3.5.0,M10.5.0/3");
	/* two local days of the POSIX rule (same change as Paris): per window, no location */
	char *q = flux_for("o", "b", PV_LEVEL_1D, posix, NULL, 0, DST_A, DST_A + 86400);

	(void)state;
	assert_string_equal(q,
	    "union(tables: [\n"
	    "    from(bucket: \"b\")\n"
	    "        |> range(start: 2026-03-28T23:00:00Z, stop: 2026-03-29T22:00:00Z)\n"
	    "        |> filter(fn: (r) => r._measurement == \"electrical\")\n"
	    "        |> group(columns: [\"_time\", \"_value\", \"file_name\"], mode: \"except\")\n"
	    "        |> mean()\n"
	    "        |> duplicate(column: \"_start\", as: \"_time\"),\n"
	    "    from(bucket: \"b\")\n"
	    "        |> range(start: 2026-03-29T22:00:00Z, stop: 2026-03-30T22:00:00Z)\n"
	    "        |> filter(fn: (r) => r._measurement == \"electrical\")\n"
	    "        |> group(columns: [\"_time\", \"_value\", \"file_name\"], mode: \"except\")\n"
	    "        |> mean()\n"
	    "        |> duplicate(column: \"_start\", as: \"_time\")\n"
	    "])\n"
	    "    |> drop(columns: [\"_start\", \"_stop\"])\n"
	    "    |> to(bucket: \"b_1d\", org: \"o\")\n"
	    "    |> group()\n"
	    "    |> count()\n");
	assert_null(strstr(q, "timezone"));
	free(q);
	pv_tz_free(posix);
}

static void
hostile_names(void **state)
{
	pv_tz *utc = pvt_zone("UTC");
	const char *fields[] = { "a\"b", "c\\d", "${x}" };
	pv_window w[] = { { 0, 3600 * NS } };
	char *q = NULL;
	pv_err err = { "" };

	(void)state;
	assert_int_equal(pv_downsample_flux(&q, "or\"g\\", "b\") |> drop(x)\n${y}", PV_LEVEL_1H, utc,
	    fields, 3, w, 1, &err), PV_OK);
	assert_non_null(strstr(q, "from(bucket: \"b\\\") |> drop(x)\\n\\${y}\")\n"));
	assert_non_null(strstr(q,
	    "r._field == \"a\\\"b\" or r._field == \"c\\\\d\" or r._field == \"\\${x}\")\n"));
	assert_non_null(strstr(q, "|> range(start: 1970-01-01T00:00:00Z, stop: 1970-01-01T01:00:00Z)\n"));
	assert_non_null(strstr(q, "timezone.location(name: \"UTC\")"));
	assert_non_null(strstr(q, "|> to(bucket: \"b\\\") |> drop(x)\\n\\${y}_1h\", org: \"or\\\"g\\\\\")\n"));
	free(q);
	pv_tz_free(utc);
}

static void
times_and_errors(void **state)
{
	char t[40];
	pv_tz *utc = pvt_zone("UTC");
	pv_window ok[] = { { 0, 1 } }, gap[] = { { 0, 1 }, { 2, 3 } }, empty[] = { { 5, 5 } };
	const char *bad[] = { "" };
	char *q = NULL;
	pv_err err = { "" };

	(void)state;
	pv_flux_time(t, 1);
	assert_string_equal(t, "1970-01-01T00:00:00.000000001Z");
	pv_flux_time(t, -1);
	assert_string_equal(t, "1969-12-31T23:59:59.999999999Z");
	pv_flux_time(t, 1774740600LL * NS);
	assert_string_equal(t, "2026-03-28T23:30:00Z");
	assert_int_equal(pv_downsample_flux(&q, "o", "b", PV_LEVEL_1H, utc, NULL, 0, gap, 2, &err), PV_EDATA);
	assert_null(q);
	assert_int_equal(pv_downsample_flux(&q, "o", "b", PV_LEVEL_1H, utc, NULL, 0, empty, 1, &err), PV_EDATA);
	assert_int_equal(pv_downsample_flux(&q, "o", "b", PV_LEVEL_1H, utc, NULL, 0, ok, 0, &err), PV_EDATA);
	assert_int_equal(pv_downsample_flux(&q, "", "b", PV_LEVEL_1H, utc, NULL, 0, ok, 1, &err), PV_EDATA);
	assert_int_equal(pv_downsample_flux(&q, "o", "", PV_LEVEL_1H, utc, NULL, 0, ok, 1, &err), PV_EDATA);
	assert_int_equal(pv_downsample_flux(&q, "o", "b", PV_LEVEL_1H, utc, bad, 1, ok, 1, &err), PV_EDATA);
	assert_null(q);
	pv_tz_free(utc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(days_dst),
		cmocka_unit_test(hours_dst),
		cmocka_unit_test(weeks),
		cmocka_unit_test(one_week),
		cmocka_unit_test(posix_zone),
		cmocka_unit_test(hostile_names),
		cmocka_unit_test(times_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
