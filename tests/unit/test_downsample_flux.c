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

/*
 * A level over [a, b] (seconds) in a zone: the exact Flux (text), or a part
 * of it (has); never `lacks`. No fields: every field.
 */
typedef struct flux_case {
	const char *what;
	const char *zone;
	const char *org, *bucket;
	pv_level level;
	const char *fields[2];
	size_t nf;
	int64_t a, b;
	const char *text, *has, *lacks;
} flux_case;

static const flux_case flux_cases[] = {
	{ "days, DST day: one local day of 23 h, [03-28T23:00Z, 03-29T22:00Z)",
	    "Europe/Paris", "acme", "site", PV_LEVEL_1D, { "f", "g" }, 2, DST_A, DST_B,
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
	    "    |> count()\n", NULL, NULL },
	{ "days, 2026-10-25: 25 h, [10-24T22:00Z, 10-25T23:00Z)",
	    "Europe/Paris", "acme", "site", PV_LEVEL_1D, { "f" }, 1, 1792886400LL, 1792886400LL,
	    NULL, "|> range(start: 2026-10-24T22:00:00Z, stop: 2026-10-25T23:00:00Z)\n", NULL },
	{ "hours, DST day: 00:00+01:00 (03-28T23:00Z) .. 12:00+02:00 (03-29T10:00Z, touched), end 11:00Z",
	    "Europe/Paris", "acme", "site", PV_LEVEL_1H, { NULL }, 0, DST_A, DST_B,
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
	    "    |> count()\n", NULL, NULL },
	{ "weeks, 2026-03-26 .. 03-31: ISO weeks of 03-23 (168 h) and 03-30, one range each",
	    "Europe/Paris", "acme", "site", PV_LEVEL_1W, { "f" }, 1, 1774483200LL, 1774915200LL,
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
	    "    |> count()\n", NULL, NULL },
	{ "one week, 2026-10-27: the ISO week of 10-26, 168 h after the change, no union() of one stream",
	    "Europe/Paris", "acme", "site", PV_LEVEL_1W, { NULL }, 0, 1793059200LL, 1793059200LL,
	    "from(bucket: \"site\")\n"
	    "    |> range(start: 2026-10-25T23:00:00Z, stop: 2026-11-01T23:00:00Z)\n"
	    "    |> filter(fn: (r) => r._measurement == \"electrical\")\n"
	    "    |> group(columns: [\"_time\", \"_value\", \"file_name\"], mode: \"except\")\n"
	    "    |> mean()\n"
	    "    |> duplicate(column: \"_start\", as: \"_time\")\n"
	    "    |> drop(columns: [\"_start\", \"_stop\"])\n"
	    "    |> to(bucket: \"site_1w\", org: \"acme\")\n"
	    "    |> group()\n"
	    "    |> count()\n", NULL, NULL },
	{ "POSIX zone, two local days (same change as Paris): per window, no location",
	    "CET-1CEST,M3.5.0,M10.5.0/3", "o", "b", PV_LEVEL_1D, { NULL }, 0, DST_A, DST_A + 86400,
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
	    "    |> count()\n", NULL, "timezone" },
};

static void
flux_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(flux_cases); i++) {
		const flux_case *c = &flux_cases[i];
		pv_tz *tz = pvt_zone(c->zone);
		char *q = flux_for(c->org, c->bucket, c->level, tz, c->nf > 0 ? c->fields : NULL, c->nf,
		    c->a, c->b);

		if (c->text != NULL && strcmp(q, c->text) != 0)
			fail_msg("%s: got\n%s\nexpected\n%s", c->what, q, c->text);
		if (c->has != NULL && strstr(q, c->has) == NULL)
			fail_msg("%s: no \"%s\" in\n%s", c->what, c->has, q);
		if (c->lacks != NULL && strstr(q, c->lacks) != NULL)
			fail_msg("%s: \"%s\" in\n%s", c->what, c->lacks, q);
		free(q);
		pv_tz_free(tz);
	}
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

/* Flux time literals: nanoseconds only when there are some. */
static const struct {
	int64_t ns;
	const char *text;
} flux_times[] = {
	{ 1, "1970-01-01T00:00:00.000000001Z" },
	{ -1, "1969-12-31T23:59:59.999999999Z" },
	{ 1774740600LL * NS, "2026-03-28T23:30:00Z" },
};

static const pv_window ok_w[] = { { 0, 1 } }, gap_w[] = { { 0, 1 }, { 2, 3 } }, empty_w[] = { { 5, 5 } };
static const char *const empty_field[] = { "" };

/* Refused (PV_EDATA, no text): windows with a gap, an empty window, none; empty names. */
static const struct {
	const char *org, *bucket;
	const char *const *fields;
	size_t nf;
	const pv_window *w;
	size_t nw;
} flux_refused[] = {
	{ "o", "b", NULL, 0, gap_w, 2 },
	{ "o", "b", NULL, 0, empty_w, 1 },
	{ "o", "b", NULL, 0, ok_w, 0 },
	{ "", "b", NULL, 0, ok_w, 1 },
	{ "o", "", NULL, 0, ok_w, 1 },
	{ "o", "b", empty_field, 1, ok_w, 1 },
};

static void
times_and_errors(void **state)
{
	char t[40];
	pv_tz *utc = pvt_zone("UTC");

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(flux_times); i++) {
		pv_flux_time(t, flux_times[i].ns);
		assert_string_equal(t, flux_times[i].text);
	}
	for (size_t i = 0; i < PVT_COUNT(flux_refused); i++) {
		char *q = NULL;
		pv_err err = { "" };
		int rc = pv_downsample_flux(&q, flux_refused[i].org, flux_refused[i].bucket, PV_LEVEL_1H, utc,
		    flux_refused[i].fields, flux_refused[i].nf, flux_refused[i].w, flux_refused[i].nw, &err);

		if (rc != PV_EDATA || q != NULL)
			fail_msg("refused case %zu: rc %d, text %s", i, rc, q ? q : "(none)");
	}
	pv_tz_free(utc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(flux_table),
		cmocka_unit_test(hostile_names),
		cmocka_unit_test(times_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
