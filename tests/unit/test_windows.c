/*
 * Downsampling windows: local hours, days and ISO weeks as InfluxDB 1.6
 * computes them with tz() (docs/notes-downsample.md), across DST changes and
 * in a 30-minute-offset zone; then properties over a year of instants.
 */
#include "pv_test.h"

#include "powerview/tz.h"
#include "powerview/windows.h"

#define NS 1000000000LL

/* seconds since the epoch of a UTC civil time, to the minute */
#define utc(y, m, d, hh, mm) pvt_utc((y), (m), (d), (hh), (mm), 0)


/* the windows of [a, b] (seconds) are exactly the `n` pairs of `exp` (seconds) */
static void
expect_windows(pv_tz *tz, pv_level lv, int64_t a, int64_t b, const int64_t (*exp)[2], size_t n)
{
	pv_window *w = NULL;
	size_t got = 0;
	pv_err err = { "" };

	if (pv_windows(tz, lv, a * NS, b * NS, &w, &got, &err) != PV_OK)
		fail_msg("%s %s: %s", pv_tz_name(tz), pv_level_name(lv), err.msg);
	if (got != n)
		fail_msg("%s %s: %zu windows, expected %zu", pv_tz_name(tz), pv_level_name(lv), got, n);
	for (size_t i = 0; i < n; i++)
		if (w[i].start != exp[i][0] * NS || w[i].end != exp[i][1] * NS)
			fail_msg("%s %s window %zu: [%lld, %lld), expected [%lld, %lld)", pv_tz_name(tz),
			    pv_level_name(lv), i, (long long)(w[i].start / NS), (long long)(w[i].end / NS),
			    (long long)exp[i][0], (long long)exp[i][1]);
	free(w);
}

static void
levels_parse(void **state)
{
	pv_level lv;
	pv_err err = { "" };

	(void)state;
	assert_int_equal(pv_level_parse("1h", &lv, &err), PV_OK);
	assert_int_equal(lv, PV_LEVEL_1H);
	assert_int_equal(pv_level_parse("1d", &lv, &err), PV_OK);
	assert_int_equal(lv, PV_LEVEL_1D);
	assert_int_equal(pv_level_parse("1w", &lv, &err), PV_OK);
	assert_int_equal(lv, PV_LEVEL_1W);
	assert_string_equal(pv_level_name(PV_LEVEL_1W), "1w");
	assert_int_equal(pv_level_parse("1m", &lv, &err), PV_EDATA);
	assert_non_null(strstr(err.msg, "1m"));
	assert_int_equal(pv_level_parse("", &lv, &err), PV_EDATA);
	assert_int_equal(pv_level_parse(NULL, &lv, &err), PV_EDATA);
}

/* Days of 24, 23 and 25 hours, starting at local midnight (as InfluxDB 1.6 wrote them). */
static void
paris_days_around_dst(void **state)
{
	pv_tz *tz = pvt_zone("Europe/Paris");
	const int64_t spring[][2] = {
		{ utc(2026, 3, 27, 23, 0), utc(2026, 3, 28, 23, 0) },
		{ utc(2026, 3, 28, 23, 0), utc(2026, 3, 29, 22, 0) }, /* 23 h */
		{ utc(2026, 3, 29, 22, 0), utc(2026, 3, 30, 22, 0) },
	};
	const int64_t autumn[][2] = {
		{ utc(2026, 10, 24, 22, 0), utc(2026, 10, 25, 23, 0) }, /* 25 h */
		{ utc(2026, 10, 25, 23, 0), utc(2026, 10, 26, 23, 0) },
	};
	const int64_t one[][2] = { { utc(2026, 3, 28, 23, 0), utc(2026, 3, 29, 22, 0) } };

	(void)state;
	expect_windows(tz, PV_LEVEL_1D, utc(2026, 3, 27, 23, 0), utc(2026, 3, 30, 12, 0), spring, 3);
	expect_windows(tz, PV_LEVEL_1D, utc(2026, 10, 24, 22, 0), utc(2026, 10, 25, 23, 0), autumn, 2);
	/* the last instant of a day touches that day only; a single instant, one window */
	expect_windows(tz, PV_LEVEL_1D, utc(2026, 3, 29, 21, 59), utc(2026, 3, 29, 21, 59), one, 1);
	{
		pv_window *w = NULL;
		size_t n = 0;
		pv_err err = { "" };
		assert_int_equal(pv_windows(tz, PV_LEVEL_1D, utc(2026, 3, 29, 22, 0) * NS - 1,
		    utc(2026, 3, 29, 22, 0) * NS - 1, &w, &n, &err), PV_OK);
		assert_int_equal(n, 1);
		assert_int_equal(w[0].end, utc(2026, 3, 29, 22, 0) * NS);
		free(w);
	}
	pv_tz_free(tz);
}

/* The skipped hour has no window; the repeated one is two 1-hour windows. */
static void
paris_hours_around_dst(void **state)
{
	pv_tz *tz = pvt_zone("Europe/Paris");
	const int64_t spring[][2] = {
		{ utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 1, 0) }, /* 01:00+01 */
		{ utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 2, 0) }, /* 03:00+02 */
	};
	const int64_t autumn[][2] = {
		{ utc(2026, 10, 24, 23, 0), utc(2026, 10, 25, 0, 0) }, /* 01:00+02 */
		{ utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 1, 0) },  /* 02:00+02 */
		{ utc(2026, 10, 25, 1, 0), utc(2026, 10, 25, 2, 0) },  /* 02:00+01 */
		{ utc(2026, 10, 25, 2, 0), utc(2026, 10, 25, 3, 0) },  /* 03:00+01 */
	};

	(void)state;
	expect_windows(tz, PV_LEVEL_1H, utc(2026, 3, 29, 0, 10), utc(2026, 3, 29, 1, 50), spring, 2);
	expect_windows(tz, PV_LEVEL_1H, utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 2, 0), autumn, 4);
	pv_tz_free(tz);
}

/* ISO weeks: Monday 00:00 local, 167 and 169 hours across the changes. */
static void
paris_weeks(void **state)
{
	pv_tz *tz = pvt_zone("Europe/Paris");
	const int64_t spring[][2] = {
		{ utc(2026, 3, 22, 23, 0), utc(2026, 3, 29, 22, 0) }, /* 167 h */
		{ utc(2026, 3, 29, 22, 0), utc(2026, 4, 5, 22, 0) },
	};
	const int64_t autumn[][2] = {
		{ utc(2026, 10, 18, 22, 0), utc(2026, 10, 25, 23, 0) }, /* 169 h */
	};
	const int64_t newyear[][2] = {
		{ utc(2025, 12, 28, 23, 0), utc(2026, 1, 4, 23, 0) }, /* Monday 2025-12-29 */
	};

	(void)state;
	expect_windows(tz, PV_LEVEL_1W, utc(2026, 3, 26, 0, 0), utc(2026, 4, 1, 23, 50), spring, 2);
	expect_windows(tz, PV_LEVEL_1W, utc(2026, 10, 22, 0, 0), utc(2026, 10, 25, 22, 59), autumn, 1);
	expect_windows(tz, PV_LEVEL_1W, utc(2026, 1, 1, 0, 0), utc(2026, 1, 1, 0, 0), newyear, 1);
	pv_tz_free(tz);
}

/* +05:30: hours and days are local (InfluxDB 1.6 gave 05:00+05:30 = 23:30Z). */
static void
kolkata_half_hour_offset(void **state)
{
	pv_tz *tz = pvt_zone("Asia/Kolkata");
	const int64_t hours[][2] = {
		{ utc(2026, 3, 25, 23, 30), utc(2026, 3, 26, 0, 30) },
		{ utc(2026, 3, 26, 0, 30), utc(2026, 3, 26, 1, 30) },
	};
	const int64_t days[][2] = { { utc(2026, 3, 25, 18, 30), utc(2026, 3, 26, 18, 30) } };

	(void)state;
	expect_windows(tz, PV_LEVEL_1H, utc(2026, 3, 26, 0, 0), utc(2026, 3, 26, 0, 30), hours, 2);
	expect_windows(tz, PV_LEVEL_1D, utc(2026, 3, 26, 0, 0), utc(2026, 3, 26, 18, 29), days, 1);
	pv_tz_free(tz);
}

/* UTC and a POSIX string work the same way; the ISO week starts Monday. */
static void
utc_and_posix(void **state)
{
	pv_tz *u = pvt_zone("UTC"), *p = pvt_zone("CET-1CEST,M3.5.0,M10.5.0/3");
	const int64_t wk[][2] = { { utc(2026, 3, 23, 0, 0), utc(2026, 3, 30, 0, 0) } };
	const int64_t day[][2] = { { utc(2026, 3, 28, 23, 0), utc(2026, 3, 29, 22, 0) } };

	(void)state;
	expect_windows(u, PV_LEVEL_1W, utc(2026, 3, 23, 0, 0), utc(2026, 3, 29, 23, 59), wk, 1);
	expect_windows(p, PV_LEVEL_1D, utc(2026, 3, 29, 12, 0), utc(2026, 3, 29, 12, 0), day, 1);
	pv_tz_free(u);
	pv_tz_free(p);
}

/* America/Santiago skips 00:00-01:00 on its spring change: that day starts at the change. */
static void
midnight_gap_starts_at_the_change(void **state)
{
	pv_tz *tz = pvt_zone("America/Santiago");
	/* 2026-09-06 00:00 -04 becomes 01:00 -03, at 04:00Z */
	const int64_t days[][2] = {
		{ utc(2026, 9, 5, 4, 0), utc(2026, 9, 6, 4, 0) },
		{ utc(2026, 9, 6, 4, 0), utc(2026, 9, 7, 3, 0) }, /* 23 h */
	};

	(void)state;
	expect_windows(tz, PV_LEVEL_1D, utc(2026, 9, 5, 12, 0), utc(2026, 9, 6, 12, 0), days, 2);
	pv_tz_free(tz);
}

/* Chatham goes from 03:45 +13:45 back to 02:45 +12:45 (2026-04-04 14:00Z): the change
 * ends the 03:00 window early and starts a 15-minute 02:00 window. */
static void
chatham_quarter_hour_change(void **state)
{
	pv_tz *tz = pvt_zone("Pacific/Chatham");
	const int64_t hours[][2] = {
		{ utc(2026, 4, 4, 12, 15), utc(2026, 4, 4, 13, 15) },
		{ utc(2026, 4, 4, 13, 15), utc(2026, 4, 4, 14, 0) },
		{ utc(2026, 4, 4, 14, 0), utc(2026, 4, 4, 14, 15) },
		{ utc(2026, 4, 4, 14, 15), utc(2026, 4, 4, 15, 15) },
	};

	(void)state;
	expect_windows(tz, PV_LEVEL_1H, utc(2026, 4, 4, 12, 30), utc(2026, 4, 4, 14, 20), hours, 4);
	pv_tz_free(tz);
}

static long
offset_of(pv_tz *tz, int64_t t)
{
	return pv_tz_offset(tz, t);
}

/* A year of instants every 29.6 minutes: windows contain them, tile, last about their length. */
static void
properties_over_a_year(void **state)
{
	static const char *const zones[] = {
		"Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe",
		"America/Santiago", "UTC", "Pacific/Chatham",
	};
	static const pv_level levels[] = { PV_LEVEL_1H, PV_LEVEL_1D, PV_LEVEL_1W };

	(void)state;
	for (size_t z = 0; z < PVT_COUNT(zones); z++) {
		pv_tz *tz = pvt_zone(zones[z]);
		for (size_t l = 0; l < PVT_COUNT(levels); l++) {
			int64_t len = levels[l] == PV_LEVEL_1H ? 3600 : levels[l] == PV_LEVEL_1D ? 86400 : 604800;
			for (int64_t t = utc(2026, 1, 1, 0, 0); t < utc(2027, 1, 1, 0, 0); t += 1777) {
				pv_window w, next;
				pv_err err = { "" };
				if (pv_window_at(tz, levels[l], t * NS + 123, &w, &err) != PV_OK)
					fail_msg("%s %s %lld: %s", zones[z], pv_level_name(levels[l]), (long long)t, err.msg);
				int64_t s = w.start / NS, e = w.end / NS;
				if (!(w.start <= t * NS + 123 && t * NS + 123 < w.end) || s * NS != w.start)
					fail_msg("%s %s %lld: not in [%lld, %lld)", zones[z], pv_level_name(levels[l]),
					    (long long)t, (long long)s, (long long)e);
				/* within an hour of the nominal length (Lord Howe: half an hour) */
				if (e - s < len - 3600 || e - s > len + 3600)
					fail_msg("%s %s %lld: %lld s", zones[z], pv_level_name(levels[l]), (long long)t,
					    (long long)(e - s));
				/* tiles: the window of the end starts at the end */
				assert_int_equal(pv_window_at(tz, levels[l], w.end, &next, &err), PV_OK);
				assert_int_equal(next.start, w.end);
				/* starts on a local hour (days: midnight; weeks: Monday midnight), or at a change */
				int64_t wall = s + offset_of(tz, s);
				if (offset_of(tz, s - 1) == offset_of(tz, s)) {
					int64_t unit = levels[l] == PV_LEVEL_1H ? 3600 : 86400;
					if (((wall % unit) + unit) % unit != 0)
						fail_msg("%s %s: start %lld is not a local floor", zones[z],
						    pv_level_name(levels[l]), (long long)s);
					if (levels[l] == PV_LEVEL_1W && ((wall / 86400 + 3) % 7) != 0)
						fail_msg("%s 1w: start %lld is not a Monday", zones[z], (long long)s);
				}
			}
		}
		pv_tz_free(tz);
	}
}

static void
errors(void **state)
{
	pv_tz *tz = pvt_zone("Europe/Paris");
	pv_window *w = (pv_window *)&errors;
	size_t n = 7;
	pv_err err = { "" };

	(void)state;
	assert_int_equal(pv_windows(tz, PV_LEVEL_1H, 10 * NS, 9 * NS, &w, &n, &err), PV_EDATA);
	assert_null(w);
	assert_int_equal(n, 0);
	/* 12 years of hours: too many for one call */
	assert_int_equal(pv_windows(tz, PV_LEVEL_1H, utc(2014, 1, 1, 0, 0) * NS,
	    utc(2026, 1, 1, 0, 0) * NS, &w, &n, &err), PV_EDATA);
	assert_non_null(strstr(err.msg, "chunk"));
	assert_null(w);
	assert_int_equal(pv_window_at(tz, PV_LEVEL_1D, INT64_MAX, &(pv_window){ 0, 0 }, &err), PV_EDATA);
	pv_tz_free(tz);
}

/* The InfluxQL text: hours/days grouped with tz(), weeks and POSIX zones per window, escaped. */
static void
influxql_text(void **state)
{
	pv_tz *paris = pvt_zone("Europe/Paris"), *posix = pvt_zone("CET-1CEST,M3.5.0,M10.5.0/3");
	const char *fields[] = { "f", "we\"ird\\" }, *tags[] = { "campaign", "de vice\"" };
	pv_window days[] = { { 1, 2 }, { 2, 3 } }, gap[] = { { 1, 2 }, { 5, 6 } };
	char *q = NULL;
	pv_err err = { "" };

	(void)state;
	assert_int_equal(pv_downsample_influxql(&q, "acme \"x", PV_LEVEL_1D, paris, fields, 2, tags, 2,
	    days, 2, &err), PV_OK);
	assert_string_equal(q, "SELECT mean(\"f\") AS \"f\", mean(\"we\\\"ird\\\\\") AS \"we\\\"ird\\\\\" "
	    "INTO \"acme \\\"x_1d\".\"autogen\".\"electrical\" FROM \"acme \\\"x\".\"autogen\".\"electrical\" "
	    "WHERE time >= 1 AND time < 3 GROUP BY time(1d), \"campaign\", \"de vice\\\"\" tz('Europe/Paris')");
	free(q);
	/* no tag: no series but the measurement's */
	assert_int_equal(pv_downsample_influxql(&q, "db", PV_LEVEL_1H, paris, fields, 1, tags, 0, days, 1,
	    &err), PV_OK);
	assert_string_equal(q, "SELECT mean(\"f\") AS \"f\" INTO \"db_1h\".\"autogen\".\"electrical\" FROM "
	    "\"db\".\"autogen\".\"electrical\" WHERE time >= 1 AND time < 2 GROUP BY time(1h) tz('Europe/Paris')");
	free(q);
	assert_int_equal(pv_downsample_influxql(&q, "db", PV_LEVEL_1W, paris, fields, 1, tags, 1, days, 2,
	    &err), PV_OK);
	assert_string_equal(q,
	    "SELECT mean(\"f\") AS \"f\" INTO \"db_1w\".\"autogen\".\"electrical\" FROM \"db\".\"autogen\".\"electrical\" "
	    "WHERE time >= 1 AND time < 2 GROUP BY \"campaign\"; "
	    "SELECT mean(\"f\") AS \"f\" INTO \"db_1w\".\"autogen\".\"electrical\" FROM \"db\".\"autogen\".\"electrical\" "
	    "WHERE time >= 2 AND time < 3 GROUP BY \"campaign\"");
	free(q);
	/* a POSIX zone is unknown to InfluxDB: per window */
	assert_int_equal(pv_downsample_influxql(&q, "db", PV_LEVEL_1H, posix, fields, 1, tags, 0, days, 2,
	    &err), PV_OK);
	assert_non_null(strstr(q, "time < 2; SELECT"));
	assert_null(strstr(q, "tz("));
	free(q);
	assert_int_equal(pv_downsample_influxql(&q, "db", PV_LEVEL_1H, paris, fields, 1, tags, 1, gap, 2, &err),
	    PV_EDATA);
	assert_null(q);
	assert_int_equal(pv_downsample_influxql(&q, "db", PV_LEVEL_1H, paris, fields, 0, tags, 1, days, 2, &err),
	    PV_EDATA);
	assert_int_equal(pv_downsample_influxql(&q, "", PV_LEVEL_1H, paris, fields, 1, tags, 1, days, 2, &err),
	    PV_EDATA);
	pv_tz_free(paris);
	pv_tz_free(posix);
}

/* the setting downsample.levels: commas and/or spaces, duplicates once, order kept, empty: none */
static void
levels_list(void **state)
{
	pv_level lv[PV_LEVELS_MAX];
	size_t n = 9;
	pv_err err = { "" };

	(void)state;
	assert_int_equal(pv_levels_parse("1h,1d,1w", lv, &n, &err), PV_OK);
	assert_int_equal(n, 3);
	assert_int_equal(lv[0], PV_LEVEL_1H);
	assert_int_equal(lv[2], PV_LEVEL_1W);
	assert_int_equal(pv_levels_parse(" 1w  1d,,1w ,", lv, &n, &err), PV_OK);
	assert_int_equal(n, 2);
	assert_int_equal(lv[0], PV_LEVEL_1W);
	assert_int_equal(lv[1], PV_LEVEL_1D);
	assert_int_equal(pv_levels_parse("", lv, &n, &err), PV_OK);
	assert_int_equal(n, 0);
	assert_int_equal(pv_levels_parse("1h,5m", lv, &n, &err), PV_EDATA);
	assert_non_null(strstr(err.msg, "5m"));
	assert_int_equal(pv_levels_parse("1hour", lv, &n, &err), PV_EDATA);
	assert_int_equal(pv_levels_parse("1h,averyveryverylongword", lv, &n, &err), PV_EDATA);
}

/*
 * Chunks: walking 2001..2030 (a hostile file's range) chunk by chunk gives
 * pv_windows' windows of each piece, contiguous, never more than the chunk
 * size per level (1h 720, 1d 31, 1w 5), the last
 * one containing tmax; a chunk of a short range is the whole range.
 */
static void
chunks(void **state)
{
	pv_tz *paris = pvt_zone("Europe/Paris"), *posix = pvt_zone("CET-1CEST,M3.5.0,M10.5.0/3");
	static const size_t max[] = { 720, 31, 5 };
	int64_t tmin = utc(2001, 1, 1, 0, 0) * NS, tmax = utc(2030, 6, 1, 12, 0) * NS;
	pv_err err = { "" };

	(void)state;
	for (int lv = PV_LEVEL_1H; lv <= PV_LEVEL_1W; lv++) {
		int64_t from = tmin, prev_end = 0;
		size_t total = 0, chunks = 0;
		bool more = true;

		assert_int_equal(pv_downsample_chunk_max((pv_level)lv, paris), max[lv]);
		assert_int_equal(pv_downsample_per_window((pv_level)lv, paris), lv == PV_LEVEL_1W);
		while (more) {
			pv_window *w = NULL, first;
			size_t n = 0;
			assert_int_equal(pv_windows_chunk(paris, (pv_level)lv, from, tmax, max[lv], &w, &n, &more, &err), PV_OK);
			assert_true(n >= 1 && n <= max[lv]);
			assert_true(more ? n == max[lv] && w[n - 1].end <= tmax : w[n - 1].end > tmax);
			assert_int_equal(pv_window_at(paris, (pv_level)lv, from, &first, &err), PV_OK);
			assert_true(w[0].start == first.start);
			assert_true(chunks == 0 || w[0].start == prev_end);
			for (size_t i = 1; i < n; i++)
				assert_true(w[i].start == w[i - 1].end);
			prev_end = w[n - 1].end;
			from = prev_end;
			total += n;
			chunks++;
			free(w);
		}
		/* every window of the range once: hours 29.4 years, days, weeks */
		if (lv == PV_LEVEL_1D)
			assert_int_equal(total, 10744);
		/* the count without the windows: the same, far past PV_WINDOWS_MAX for hours */
		{
			size_t counted = 0;
			assert_int_equal(pv_windows_count(paris, (pv_level)lv, tmin, tmax, &counted, &err), PV_OK);
			assert_int_equal(counted, total);
			if (lv == PV_LEVEL_1H)
				assert_true(counted > PV_WINDOWS_MAX);
		}
		assert_true(chunks == (total + max[lv] - 1) / max[lv]);
	}
	/* a POSIX zone: one statement a window at every level, 200 at most */
	assert_int_equal(pv_downsample_chunk_max(PV_LEVEL_1H, posix), 200);
	assert_int_equal(pv_downsample_chunk_max(PV_LEVEL_1W, posix), 5);
	assert_true(pv_downsample_per_window(PV_LEVEL_1D, posix));
	/* short range: one chunk, the same windows as pv_windows */
	{
		pv_window *a = NULL, *b = NULL;
		size_t na = 0, nb = 0;
		bool more = true;
		int64_t s = utc(2026, 3, 27, 10, 0) * NS, e = utc(2026, 4, 1, 10, 0) * NS;
		assert_int_equal(pv_windows(paris, PV_LEVEL_1H, s, e, &a, &na, &err), PV_OK);
		assert_int_equal(pv_windows_chunk(paris, PV_LEVEL_1H, s, e, 720, &b, &nb, &more, &err), PV_OK);
		assert_false(more);
		assert_int_equal(na, nb);
		assert_memory_equal(a, b, na * sizeof(*a));
		free(a);
		free(b);
		/* the whole 1h range at once is refused: more than PV_WINDOWS_MAX */
		assert_int_equal(pv_windows(paris, PV_LEVEL_1H, tmin, tmax, &a, &na, &err), PV_EDATA);
		assert_null(a);
		assert_int_equal(pv_windows_chunk(paris, PV_LEVEL_1H, e, s, 720, &b, &nb, &more, &err), PV_EDATA);
		assert_int_equal(pv_windows_chunk(paris, PV_LEVEL_1H, s, e, 0, &b, &nb, &more, &err), PV_EDATA);
	}
	pv_tz_free(paris);
	pv_tz_free(posix);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(levels_parse),
		cmocka_unit_test(levels_list),
		cmocka_unit_test(paris_days_around_dst),
		cmocka_unit_test(paris_hours_around_dst),
		cmocka_unit_test(paris_weeks),
		cmocka_unit_test(kolkata_half_hour_offset),
		cmocka_unit_test(utc_and_posix),
		cmocka_unit_test(midnight_gap_starts_at_the_change),
		cmocka_unit_test(chatham_quarter_hour_change),
		cmocka_unit_test(properties_over_a_year),
		cmocka_unit_test(errors),
		cmocka_unit_test(influxql_text),
		cmocka_unit_test(chunks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
