/*
 * Time zones (contract §4): opening IANA names and POSIX strings, and wall
 * clock time to instants across DST gaps and overlaps. The references are
 * computed here from the EU and US rules, without the C library's zones.
 */
#include "pv_test.h"

#include <time.h>

#include "powerview/timeparse.h"
#include "powerview/tz.h"

/* ---- opening ---- */

static const char *const open_ok[] = {
	"Europe/Paris", "UTC", "Etc/UTC", "America/New_York", "Australia/Sydney",
	"CET-1CEST,M3.5.0,M10.5.0/3", "EST5EDT", "<+03>-3", "EST5", "JST-9",
	"AEST-10AEDT,M10.1.0,M4.1.0/3", "CET-1CEST,J60,J300", "CET-1:30CEST,M3.5.0/2:00:00,M10.5.0/3",
};

static void
open_valid_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(open_ok); i++) {
		pv_tz *tz = NULL;
		pv_err err = { "" };
		int rc = pv_tz_open(&tz, open_ok[i], &err);

		if (rc != PV_OK || tz == NULL)
			fail_msg("\"%s\": rc %d (%s)", open_ok[i], rc, err.msg);
		assert_string_equal(pv_tz_name(tz), open_ok[i]);
		pv_tz_free(tz);
	}
}

static const char *const open_bad[] = {
	"", "Mars/Olympus", "../etc/passwd", "Europe/../Europe/Paris", "/etc/localtime",
	"/usr/share/zoneinfo/Europe/Paris", "Europe", "zone.tab", "Europe/Paris ", " UTC",
	"CET-1CEST,M13.5.0,M10.5.0", "CET-1CEST,M3.6.0,M10.5.0", "CET-1CEST,M3.5.7,M10.5.0",
	"CET-1CEST,M3.5.0", "CET-1CEST,M3.5.0,M10.5.0/3x", "CET-1CEST,J366,J300", "CET-25",
	"XX1", "X1", "<+3>-3", "<+03-3", "1CET", "CET-1CEST,,", "utc",
	/* daylight saving without its rules: the C library would guess US dates */
	"CET-1CEST", "<+03>-3<+04>",
};

static void
open_invalid_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(open_bad); i++) {
		pv_tz *tz = (pv_tz *)&open_bad; /* must be reset */
		pv_err err = { "" };
		int rc = pv_tz_open(&tz, open_bad[i], &err);

		if (rc != PV_EDATA)
			fail_msg("\"%s\": rc %d, expected PV_EDATA", open_bad[i], rc);
		assert_null(tz);
		if (err.msg[0] == '\0')
			fail_msg("\"%s\": no reason given", open_bad[i]);
	}
}

/*
 * "CET" is an IANA zone name (a file of tzdata): accepted. Without that file
 * it is read as a POSIX string, and a POSIX string needs an offset: refused.
 */
static void
cet_is_an_iana_name_not_a_posix_string(void **state)
{
	char *empty = pvt_tmpdir();
	pv_tz *tz = NULL;
	pv_err err = { "" };

	(void)state;
	assert_int_equal(pv_tz_open(&tz, "CET", &err), PV_OK);
	pv_tz_free(tz);

	const char *old = getenv("TZDIR");
	char *saved = old ? strdup(old) : NULL;
	setenv("TZDIR", empty, 1);
	int rc_cet = pv_tz_open(&tz, "CET", &err);
	pv_tz *cet = tz;
	int rc_paris = pv_tz_open(&tz, "Europe/Paris", &err);
	pv_tz_free(tz);
	int rc_utc = pv_tz_open(&tz, "UTC", &err); /* built in */
	pv_tz_free(tz);
	/* the environment is restored before any check can fail */
	if (saved) {
		setenv("TZDIR", saved, 1);
		free(saved);
	} else
		unsetenv("TZDIR");
	pv_tz_free(cet);
	assert_int_equal(rc_cet, PV_EDATA);
	assert_null(cet);
	assert_int_equal(rc_paris, PV_EDATA);
	assert_int_equal(rc_utc, PV_OK);
	pvt_rmrf(empty);
	free(empty);
}

static void
empty_zone_message(void **state)
{
	pv_tz *tz;
	pv_err err = { "" };

	(void)state;
	assert_int_equal(pv_tz_open(&tz, "", &err), PV_EDATA);
	assert_string_equal(err.msg, "empty time zone");
	assert_int_equal(pv_tz_open(&tz, NULL, &err), PV_EDATA);
	assert_int_equal(pv_tz_open(&tz, "Mars/Olympus", &err), PV_EDATA);
	pvt_assert_contains(err.msg, "Mars/Olympus");
}

/* ---- references ---- */

/* The wall clock time of pv_timestamp_parse: the same calendar, as if UTC. */
#define wall pvt_utc

static int
year_of(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	return tm.tm_year + 1900;
}

static int
weekday(int64_t day) /* 0 = Sunday; 1970-01-01 was a Thursday */
{
	return (int)(((day + 4) % 7 + 7) % 7);
}

static int64_t
last_sunday(int y, int mo, int last_mday)
{
	int64_t day = pvt_utc(y, mo, last_mday, 0, 0, 0) / 86400;

	return day - weekday(day);
}

static int64_t
nth_sunday(int y, int mo, int nth)
{
	int64_t day = pvt_utc(y, mo, 1, 0, 0, 0) / 86400;

	return day + (7 - weekday(day)) % 7 + 7 * (nth - 1);
}

/* EU since 1996: summer time from the last Sunday of March to the last of October, 01:00 UTC. */
static long
paris_offset(int64_t t)
{
	int y = year_of(t);
	int64_t start = last_sunday(y, 3, 31) * 86400 + 3600;
	int64_t end = last_sunday(y, 10, 31) * 86400 + 3600;

	return t >= start && t < end ? 7200 : 3600;
}

/* US since 2007: second Sunday of March 02:00 EST to first Sunday of November 02:00 EDT. */
static long
new_york_offset(int64_t t)
{
	int y = year_of(t);
	int64_t start = nth_sunday(y, 3, 2) * 86400 + 7 * 3600;
	int64_t end = nth_sunday(y, 11, 1) * 86400 + 6 * 3600;

	return t >= start && t < end ? -14400 : -18000;
}

typedef long (*offset_fn)(int64_t);

static int
ref_resolve(offset_fn f, long std, long dst, int64_t w, int64_t out[2])
{
	int n = 0;

	if (f(w - dst) == dst)
		out[n++] = w - dst;
	if (f(w - std) == std)
		out[n++] = w - std;
	/* dst > std for both zones here: w - dst comes first */
	return n;
}

static void
expect_resolve(pv_tz *tz, int64_t w, int n, int64_t t0, int64_t t1, const char *what)
{
	int64_t out[2] = { -1, -1 };
	int got = pv_tz_resolve(tz, w, out);

	if (got != n)
		fail_msg("%s (%s, wall %lld): %d instants, expected %d", what, pv_tz_name(tz),
		    (long long)w, got, n);
	if (n >= 1 && out[0] != t0)
		fail_msg("%s (%s): first instant %lld, expected %lld", what, pv_tz_name(tz),
		    (long long)out[0], (long long)t0);
	if (n == 2 && out[1] != t1)
		fail_msg("%s (%s): second instant %lld, expected %lld", what, pv_tz_name(tz),
		    (long long)out[1], (long long)t1);
}

/* ---- fixed cases ---- */

typedef struct resolve_case {
	const char *what;
	int y, mo, d, h, mi, s;
	int n;
	int64_t t0, t1;
} resolve_case;

static const resolve_case paris[] = {
	{ "winter", 2026, 1, 15, 12, 0, 0, 1, 1768474800, 0 },              /* 11:00Z */
	{ "summer", 2025, 7, 15, 12, 0, 0, 1, 1752573600, 0 },              /* 10:00Z */
	{ "fall-back 02:30", 2025, 10, 26, 2, 30, 0, 2, 1761438600, 1761442200 },
	{ "fall-back 02:00", 2025, 10, 26, 2, 0, 0, 2, 1761436800, 1761440400 },
	{ "fall-back 02:59:59", 2025, 10, 26, 2, 59, 59, 2, 1761440399, 1761443999 },
	{ "before fall-back", 2025, 10, 26, 1, 59, 59, 1, 1761436799, 0 },
	{ "after fall-back", 2025, 10, 26, 3, 0, 0, 1, 1761444000, 0 },
	{ "fall-back 2024", 2024, 10, 27, 2, 30, 0, 2, 1729989000, 1729992600 },
	{ "before spring-forward", 2025, 3, 30, 1, 59, 59, 1, 1743296399, 0 },
	{ "spring-forward 02:00", 2025, 3, 30, 2, 0, 0, 0, 0, 0 },
	{ "spring-forward 02:30", 2025, 3, 30, 2, 30, 0, 0, 0, 0 },
	{ "spring-forward 02:59:59", 2025, 3, 30, 2, 59, 59, 0, 0, 0 },
	{ "after spring-forward", 2025, 3, 30, 3, 0, 0, 1, 1743296400, 0 },
	{ "spring-forward 2026", 2026, 3, 29, 2, 30, 0, 0, 0, 0 },
	{ "day before fall-back, 02:30", 2025, 10, 25, 2, 30, 0, 1, 1761352200, 0 },
};

static void
resolve_paris_by_name_and_posix_string(void **state)
{
	static const char *const specs[] = { "Europe/Paris", "CET-1CEST,M3.5.0,M10.5.0/3" };

	(void)state;
	for (size_t z = 0; z < PVT_COUNT(specs); z++) {
		pv_tz *tz = pvt_zone(specs[z]);
		for (size_t i = 0; i < PVT_COUNT(paris); i++) {
			const resolve_case *c = &paris[i];
			expect_resolve(tz, wall(c->y, c->mo, c->d, c->h, c->mi, c->s), c->n, c->t0, c->t1, c->what);
		}
		pv_tz_free(tz);
	}
}

/* The hand-written instants above, checked once more against plain arithmetic. */
static void
paris_cases_are_right(void **state)
{
	(void)state;
	assert_int_equal(pvt_utc(2025, 10, 26, 0, 30, 0), 1761438600);
	assert_int_equal(pvt_utc(2025, 10, 26, 1, 30, 0), 1761442200);
	for (size_t i = 0; i < PVT_COUNT(paris); i++) {
		const resolve_case *c = &paris[i];
		int64_t out[2];
		int n = ref_resolve(paris_offset, 3600, 7200, wall(c->y, c->mo, c->d, c->h, c->mi, c->s), out);
		assert_int_equal(n, c->n);
		if (n >= 1)
			assert_int_equal(out[0], c->t0);
		if (n == 2)
			assert_int_equal(out[1], c->t1);
	}
}

static void
resolve_new_york(void **state)
{
	static const resolve_case ny[] = {
		{ "fall-back 01:30", 2025, 11, 2, 1, 30, 0, 2, 1762061400, 1762065000 },
		{ "before fall-back", 2025, 11, 2, 0, 59, 59, 1, 1762059599, 0 },
		{ "after fall-back", 2025, 11, 2, 2, 0, 0, 1, 1762066800, 0 },
		{ "spring-forward 02:30", 2025, 3, 9, 2, 30, 0, 0, 0, 0 },
		{ "after spring-forward", 2025, 3, 9, 3, 0, 0, 1, 1741503600, 0 },
		{ "winter", 2025, 1, 15, 12, 0, 0, 1, 1736960400, 0 },
		{ "summer", 2025, 7, 15, 12, 0, 0, 1, 1752595200, 0 },
	};
	pv_tz *tz = pvt_zone("America/New_York");

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(ny); i++) {
		const resolve_case *c = &ny[i];
		expect_resolve(tz, wall(c->y, c->mo, c->d, c->h, c->mi, c->s), c->n, c->t0, c->t1, c->what);
	}
	pv_tz_free(tz);
}

static void
resolve_southern_hemisphere_and_fixed_offsets(void **state)
{
	static const char *const sydney[] = { "Australia/Sydney", "AEST-10AEDT,M10.1.0,M4.1.0/3" };
	pv_tz *tz;

	(void)state;
	for (size_t z = 0; z < PVT_COUNT(sydney); z++) {
		tz = pvt_zone(sydney[z]);
		expect_resolve(tz, wall(2025, 4, 6, 2, 30, 0), 2, 1743867000, 1743870600, "fall-back");
		expect_resolve(tz, wall(2025, 10, 5, 2, 30, 0), 0, 0, 0, "spring-forward");
		expect_resolve(tz, wall(2025, 7, 1, 12, 0, 0), 1, pvt_utc(2025, 7, 1, 2, 0, 0), 0, "winter");
		pv_tz_free(tz);
	}
	tz = pvt_zone("<+03>-3");
	expect_resolve(tz, wall(2025, 10, 26, 2, 30, 0), 1, pvt_utc(2025, 10, 25, 23, 30, 0), 0, "UTC+3");
	pv_tz_free(tz);
	tz = pvt_zone("EST5");
	expect_resolve(tz, wall(2025, 7, 1, 12, 0, 0), 1, pvt_utc(2025, 7, 1, 17, 0, 0), 0, "UTC-5");
	pv_tz_free(tz);
	tz = pvt_zone("EST5EDT");
	expect_resolve(tz, wall(2025, 7, 1, 12, 0, 0), 1, pvt_utc(2025, 7, 1, 16, 0, 0), 0, "EDT");
	pv_tz_free(tz);
}

static void
utc_is_identity(void **state)
{
	static const int64_t walls[] = { 0, -1, 1, 1761445800, 1743298200, -31536000,
		3092601600LL, 86399, -86401 };
	pv_tz *tz = pvt_zone("UTC");
	pv_tz *etc = pvt_zone("Etc/UTC");

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(walls); i++) {
		expect_resolve(tz, walls[i], 1, walls[i], 0, "UTC");
		expect_resolve(etc, walls[i], 1, walls[i], 0, "Etc/UTC");
	}
	pv_tz_free(tz);
	pv_tz_free(etc);
}

/* ---- against the references, day after day ---- */

static const int times_of_day[][3] = {
	{ 0, 0, 0 }, { 0, 59, 59 }, { 1, 0, 0 }, { 1, 30, 0 }, { 1, 59, 59 }, { 2, 0, 0 },
	{ 2, 30, 0 }, { 2, 59, 59 }, { 3, 0, 0 }, { 3, 30, 0 }, { 12, 0, 0 }, { 23, 59, 59 },
};

typedef struct zone_ref {
	const char *spec;
	offset_fn f;
	long std, dst;
	pv_tz *tz;
} zone_ref;

static void
check_against_ref(zone_ref *z, int64_t w)
{
	int64_t want[2] = { 0, 0 };
	int n = ref_resolve(z->f, z->std, z->dst, w, want);

	expect_resolve(z->tz, w, n, want[0], want[1], "reference");
}

static void
consecutive_days_match_the_rules(void **state)
{
	zone_ref zones[] = {
		{ "Europe/Paris", paris_offset, 3600, 7200, NULL },
		{ "CET-1CEST,M3.5.0,M10.5.0/3", paris_offset, 3600, 7200, NULL },
		{ "America/New_York", new_york_offset, -18000, -14400, NULL },
	};
	int64_t first = pvt_utc(2024, 1, 1, 0, 0, 0) / 86400, last = pvt_utc(2027, 12, 31, 0, 0, 0) / 86400;

	(void)state;
	for (size_t z = 0; z < PVT_COUNT(zones); z++) {
		zones[z].tz = pvt_zone(zones[z].spec);
		/* forwards, then backwards: the per-day cache must follow */
		for (int64_t day = first; day <= last; day++)
			for (size_t k = 0; k < PVT_COUNT(times_of_day); k++)
				check_against_ref(&zones[z], day * 86400 + times_of_day[k][0] * 3600 +
				    times_of_day[k][1] * 60 + times_of_day[k][2]);
		for (int64_t day = last; day >= first; day--)
			check_against_ref(&zones[z], day * 86400 + 2 * 3600 + 30 * 60);
		pv_tz_free(zones[z].tz);
	}
}

/* Two (and more) zone objects used in turn: the zone switch must not leak. */
static void
alternating_zones_stay_independent(void **state)
{
	zone_ref zones[] = {
		{ "Europe/Paris", paris_offset, 3600, 7200, NULL },
		{ "America/New_York", new_york_offset, -18000, -14400, NULL },
		{ "CET-1CEST,M3.5.0,M10.5.0/3", paris_offset, 3600, 7200, NULL },
		{ "Europe/Paris", paris_offset, 3600, 7200, NULL }, /* a second object, same zone */
	};
	pv_tz *u = pvt_zone("UTC");
	int64_t first = pvt_utc(2025, 10, 20, 0, 0, 0) / 86400, last = pvt_utc(2025, 11, 8, 0, 0, 0) / 86400;

	(void)state;
	for (size_t z = 0; z < PVT_COUNT(zones); z++)
		zones[z].tz = pvt_zone(zones[z].spec);
	for (int64_t day = first; day <= last; day++)
		for (size_t k = 0; k < PVT_COUNT(times_of_day); k++) {
			int64_t w = day * 86400 + times_of_day[k][0] * 3600 + times_of_day[k][1] * 60 +
			    times_of_day[k][2];
			for (size_t z = 0; z < PVT_COUNT(zones); z++) {
				check_against_ref(&zones[z], w);
				expect_resolve(u, w, 1, w, 0, "UTC in between");
			}
		}
	/* the same wall time, zone after zone, on both fall-back days */
	for (int rep = 0; rep < 3; rep++) {
		expect_resolve(zones[0].tz, wall(2025, 10, 26, 2, 30, 0), 2, 1761438600, 1761442200, "Paris");
		expect_resolve(zones[1].tz, wall(2025, 10, 26, 2, 30, 0), 1, pvt_utc(2025, 10, 26, 6, 30, 0), 0, "NY");
		expect_resolve(zones[1].tz, wall(2025, 11, 2, 1, 30, 0), 2, 1762061400, 1762065000, "NY");
		expect_resolve(zones[0].tz, wall(2025, 11, 2, 1, 30, 0), 1, pvt_utc(2025, 11, 2, 0, 30, 0), 0, "Paris");
	}
	for (size_t z = 0; z < PVT_COUNT(zones); z++)
		pv_tz_free(zones[z].tz);
	pv_tz_free(u);
}

/* A zone freed and another opened in its place does not inherit its state. */
static void
reopened_zone_starts_fresh(void **state)
{
	pv_tz *a = pvt_zone("America/New_York"), *b;

	(void)state;
	expect_resolve(a, wall(2025, 11, 2, 1, 30, 0), 2, 1762061400, 1762065000, "NY");
	pv_tz_free(a);
	b = pvt_zone("Europe/Paris");
	expect_resolve(b, wall(2025, 11, 2, 1, 30, 0), 1, pvt_utc(2025, 11, 2, 0, 30, 0), 0, "Paris");
	expect_resolve(b, wall(2025, 10, 26, 2, 30, 0), 2, 1761438600, 1761442200, "Paris");
	pv_tz_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(open_valid_table),
		cmocka_unit_test(open_invalid_table),
		cmocka_unit_test(cet_is_an_iana_name_not_a_posix_string),
		cmocka_unit_test(empty_zone_message),
		cmocka_unit_test(paris_cases_are_right),
		cmocka_unit_test(resolve_paris_by_name_and_posix_string),
		cmocka_unit_test(resolve_new_york),
		cmocka_unit_test(resolve_southern_hemisphere_and_fixed_offsets),
		cmocka_unit_test(utc_is_identity),
		cmocka_unit_test(consecutive_days_match_the_rules),
		cmocka_unit_test(alternating_zones_stay_independent),
		cmocka_unit_test(reopened_zone_starts_fresh),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
