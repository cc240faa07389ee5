/*
 * The row grammar (contract §4): pv_timestamp_parse and pv_value_parse.
 * Expected wall times come from timegm(3), expected values from strtod(3).
 */
#include "pv_test.h"

#include <math.h>
#include <time.h>

#include "powerview/timeparse.h"

/* ---- pv_days_from_civil against timegm (pvt_utc) ---- */

static void
days_from_civil_table(void **state)
{
	static const struct {
		int y, m, d;
		int64_t days;
	} t[] = {
		{ 1970, 1, 1, 0 },
		{ 1969, 12, 31, -1 },
		{ 1969, 1, 1, -365 },
		{ 2000, 2, 29, 11016 },
		{ 2000, 3, 1, 11017 },
		{ 2026, 1, 5, 20458 },
		{ 2068, 12, 31, 36159 },
		{ 1900, 3, 1, -25508 },
		{ 1600, 1, 1, -135140 },
	};

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(t); i++) {
		int64_t got = pv_days_from_civil(t[i].y, (unsigned)t[i].m, (unsigned)t[i].d);
		if (got != t[i].days)
			fail_msg("%04d-%02d-%02d: %lld days, expected %lld", t[i].y, t[i].m, t[i].d,
			    (long long)got, (long long)t[i].days);
	}
	/* every day 1901..2099 against the C library */
	for (int64_t day = pvt_utc(1901, 1, 1, 0, 0, 0) / 86400; day < pvt_utc(2100, 1, 1, 0, 0, 0) / 86400; day++) {
		time_t tt = (time_t)(day * 86400);
		struct tm tm;
		gmtime_r(&tt, &tm);
		if (pv_days_from_civil(tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday) != day)
			fail_msg("day %lld", (long long)day);
	}
}

/* ---- timestamps ---- */

static const struct ts_ok {
	const char *text;
	int y, mo, d, h, mi, s;
} ts_ok[] = {
	{ "5/1/26 1:2:3", 2026, 1, 5, 1, 2, 3 },
	{ "05/01/26 10:00:00", 2026, 1, 5, 10, 0, 0 },
	{ "  05/01/26   10:00:00 ", 2026, 1, 5, 10, 0, 0 },
	{ "\t05/01/26 10:00:00\r", 2026, 1, 5, 10, 0, 0 },   /* trimmed: ASCII white space */
	{ "\v05/01/26 10:00:00\f", 2026, 1, 5, 10, 0, 0 },
	{ "29/02/24 00:00:00", 2024, 2, 29, 0, 0, 0 },
	{ "29/02/00 12:00:00", 2000, 2, 29, 12, 0, 0 },     /* 2000 is a leap year */
	{ "31/12/68 23:59:59", 2068, 12, 31, 23, 59, 59 },  /* 68 -> 2068 */
	{ "01/01/69 00:00:00", 1969, 1, 1, 0, 0, 0 },       /* 69 -> 1969 */
	{ "31/12/99 23:59:59", 1999, 12, 31, 23, 59, 59 },
	{ "1/1/00 0:0:0", 2000, 1, 1, 0, 0, 0 },
	{ "01/01/70 00:00:00", 1970, 1, 1, 0, 0, 0 },
	{ "31/01/26 23:59:59", 2026, 1, 31, 23, 59, 59 },
	{ "28/02/26 10:00:00", 2026, 2, 28, 10, 0, 0 },
	{ "31/03/26 10:00:00", 2026, 3, 31, 10, 0, 0 },
	{ "30/04/26 10:00:00", 2026, 4, 30, 10, 0, 0 },
	{ "31/12/26 10:00:00", 2026, 12, 31, 10, 0, 0 },
	{ "26/10/25 02:30:00", 2025, 10, 26, 2, 30, 0 },
	{ "9/09/25 9:09:09", 2025, 9, 9, 9, 9, 9 },
	{ "05/01/26 00:00:00", 2026, 1, 5, 0, 0, 0 },
	{ "05/01/26 23:59:59", 2026, 1, 5, 23, 59, 59 },
};

static void
timestamp_valid_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(ts_ok); i++) {
		const struct ts_ok *c = &ts_ok[i];
		int64_t wall = INT64_MIN;
		int64_t want = pvt_utc(c->y, c->mo, c->d, c->h, c->mi, c->s);
		int64_t civil = pv_days_from_civil(c->y, (unsigned)c->mo, (unsigned)c->d) * 86400 +
		    c->h * 3600 + c->mi * 60 + c->s;

		if (!pv_timestamp_parse(c->text, strlen(c->text), &wall))
			fail_msg("\"%s\" refused", c->text);
		if (wall != want || wall != civil)
			fail_msg("\"%s\": %lld, expected %lld", c->text, (long long)wall, (long long)want);
	}
}

static void
timestamp_year_pivot(void **state)
{
	int64_t wall;

	(void)state;
	assert_true(pv_timestamp_parse("01/01/69 00:00:00", 17, &wall));
	assert_int_equal(wall, pv_days_from_civil(1969, 1, 1) * 86400);
	assert_int_equal(wall, -31536000);
	assert_true(pv_timestamp_parse("01/01/68 00:00:00", 17, &wall));
	assert_int_equal(wall, pv_days_from_civil(2068, 1, 1) * 86400);
	assert_int_equal(wall, 3092601600LL);
}

static const char *const ts_bad[] = {
	/* impossible dates and times */
	"31/02/26 10:00:00", "30/02/24 10:00:00", "29/02/25 10:00:00", "29/02/00x 10:00:00",
	"31/04/26 10:00:00", "31/06/26 10:00:00", "31/09/26 10:00:00", "31/11/26 10:00:00",
	"32/01/26 10:00:00", "00/01/26 10:00:00", "01/00/26 10:00:00", "01/13/26 10:00:00",
	"05/01/26 24:00:00", "05/01/26 10:60:00", "05/01/26 10:00:60", "05/01/26 99:99:99",
	/* digit counts */
	"5/1/2026 1:2:3", "005/01/26 10:00:00", "05/001/26 10:00:00", "05/01/026 10:00:00",
	"05/01/6 10:00:00", "05/01/26 010:00:00", "05/01/26 10:000:00", "05/01/26 10:00:000",
	/* missing parts */
	"05/01/26", "05/01/26 ", "05/01/26 10:00", "05/01/26 10", "05/01/26 10:00:", "29/10/25 1",
	"/01/26 10:00:00", "05//26 10:00:00", "05/01/ 10:00:00", "05/01/26 :00:00",
	"05/01/26 10::00", "", " ", "0",
	/* separators and extra text */
	"05-01-26 10:00:00", "05.01.26 10:00:00", "05/01/26\t10:00:00", "05/01/2610:00:00",
	"05/01/26T10:00:00", "05/01/26 10.00.00", "05/01/26 10:00:00x", "05/01/26 10:00:00 PM",
	"05/01/26 10:00:00.5", "05/01/26 10:00:00Z", "x05/01/26 10:00:00", "+5/01/26 10:00:00",
	"-5/01/26 10:00:00", "05/01/26 -1:00:00", "05/01/26 +1:00:00", "05/01/26 10:00:0a",
	"05/01/26 10:00:00\t1", "05/01/26 10:00:00 05/01/26 10:00:00",
	"\xD9\xA5/01/26 10:00:00", /* Arabic-Indic digit five */
	"05/01/26\xC2\xA0" "10:00:00", /* no-break space */
};

static void
timestamp_invalid_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(ts_bad); i++) {
		int64_t wall = 0;
		if (pv_timestamp_parse(ts_bad[i], strlen(ts_bad[i]), &wall))
			fail_msg("\"%s\" accepted as %lld", ts_bad[i], (long long)wall);
	}
}

/* The length is honoured: no NUL terminator needed, nothing read past n. */
static void
timestamp_respects_length(void **state)
{
	const char text[] = "05/01/26 10:00:00junk";
	char *exact = malloc(17);
	int64_t wall;

	(void)state;
	assert_true(pv_timestamp_parse(text, 17, &wall));
	assert_int_equal(wall, pvt_utc(2026, 1, 5, 10, 0, 0));
	assert_false(pv_timestamp_parse(text, 18, &wall));
	assert_true(pv_timestamp_parse(text, 16, &wall)); /* "10:00:0" */
	assert_int_equal(wall, pvt_utc(2026, 1, 5, 10, 0, 0));
	/* a heap copy without terminator: ASan/valgrind catch a read past the end */
	memcpy(exact, text, 17);
	assert_true(pv_timestamp_parse(exact, 17, &wall));
	assert_false(pv_timestamp_parse(exact, 12, &wall));
	free(exact);
}

/* ---- values ---- */

static bool
same_double(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

static const struct val_ok {
	const char *text;
	const char *trimmed;
	bool plain;
} val_ok[] = {
	{ "242.25", "242.25", true },
	{ "-0.0", "-0.0", true },
	{ "-0", "-0", true },
	{ "0", "0", true },
	{ "007", "007", true },
	{ "-5", "-5", true },
	{ "1.50", "1.50", true },
	{ "242.250", "242.250", true },
	{ " 7 ", "7", true },
	{ "\t-1.5\r", "-1.5", true },
	{ "12345678901234567890123", "12345678901234567890123", true },
	{ "+5", "+5", false },
	{ "+0.5", "+0.5", false },
	{ ".5", ".5", false },
	{ "-.5", "-.5", false },
	{ "5.", "5.", false },
	{ "-5.", "-5.", false },
	{ "1e3", "1e3", false },
	{ "1E-3", "1E-3", false },
	{ "1e+3", "1e+3", false },
	{ "2.4225e2", "2.4225e2", false },
	{ "-2.4225E+2", "-2.4225E+2", false },
	{ ".5e1", ".5e1", false },
	{ "5.e1", "5.e1", false },
	{ "0e0", "0e0", false },
	{ "1e0000000000000000000003", "1e0000000000000000000003", false },
	{ "0.1000000000000000055511151231257827", "0.1000000000000000055511151231257827", false },
	{ "123456789012345678901234567890", "123456789012345678901234567890", false },
	{ "9007199254740993", "9007199254740993", true },            /* 2^53 + 1: rounds */
	{ "0.30000000000000004", "0.30000000000000004", true },
	{ "0.000000000000000000000000001", "0.000000000000000000000000001", false }, /* > 24 bytes */
	{ "1.7976931348623157e308", "1.7976931348623157e308", false },
	{ "4.9406564584124654e-324", "4.9406564584124654e-324", false },
	{ "1e-400", "1e-400", false },  /* underflows to 0: finite, so valid */
	{ "99999999999999.9", "99999999999999.9", true },
	{ "0.1", "0.1", true },
	{ "0.7", "0.7", true },
	{ "123.456", "123.456", true },
	{ "000000000000000000000001.5", "000000000000000000000001.5", false },
};

static void
value_valid_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(val_ok); i++) {
		const struct val_ok *c = &val_ok[i];
		pv_value v;
		double want = strtod(c->trimmed, NULL);

		memset(&v, 0xA5, sizeof(v));
		if (!pv_value_parse(c->text, strlen(c->text), &v))
			fail_msg("\"%s\" refused", c->text);
		if (!same_double(v.v, want))
			fail_msg("\"%s\": %.17g, expected %.17g", c->text, v.v, want);
		if (v.len != strlen(c->trimmed) || memcmp(v.text, c->trimmed, v.len) != 0)
			fail_msg("\"%s\": text \"%.*s\"", c->text, (int)v.len, v.text);
		if (v.plain != c->plain)
			fail_msg("\"%s\": plain %d, expected %d", c->text, v.plain, c->plain);
	}
}

static void
value_negative_zero_keeps_its_sign(void **state)
{
	pv_value v;

	(void)state;
	assert_true(pv_value_parse("-0.0", 4, &v));
	assert_true(v.v == 0.0);
	assert_true(signbit(v.v));
	assert_true(pv_value_parse("0.0", 3, &v));
	assert_false(signbit(v.v));
	assert_true(pv_value_parse("-0e5", 4, &v));
	assert_true(signbit(v.v));
}

static const char *const val_bad[] = {
	"", " ", "\t\r", "NaN", "nan", "-nan", "inf", "-inf", "+inf", "Infinity", "INF",
	"1_000", "0x10", "0X1p3", "1e", "1e+", "1e-", "E5", "e3", ".e3", ".", "-", "+", "-.", "+.",
	"+-1", "-+1", "--1", "++1", "1.2.3", "1..2", "1e999", "-1e999", "1e3.5", "1e3e4", "1,5",
	"1 2", "1d", "1f", "0b1", "1e 3", "- 1", "\xD9\xA5", "1\xC2\xA0", "true", "12a", "a12",
	"1e+-3", "1ee3", "0x", "1.5.", "1e309",
};

static void
value_invalid_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(val_bad); i++) {
		pv_value v;
		if (pv_value_parse(val_bad[i], strlen(val_bad[i]), &v))
			fail_msg("\"%s\" accepted as %g", val_bad[i], v.v);
	}
}

static void
value_respects_length(void **state)
{
	char *cell = malloc(5);
	pv_value v;

	(void)state;
	memcpy(cell, "1.25\t", 5);
	assert_true(pv_value_parse(cell, 4, &v));
	assert_true(v.v == 1.25);
	assert_true(pv_value_parse(cell, 3, &v));
	assert_true(v.v == 1.2);
	assert_true(pv_value_parse(cell, 5, &v)); /* trailing TAB trimmed */
	assert_int_equal(v.len, 4);
	free(cell);
	/* an exponent cell without terminator goes through strtod on a copy */
	cell = malloc(3);
	memcpy(cell, "1e3", 3);
	assert_true(pv_value_parse(cell, 3, &v));
	assert_true(v.v == 1000.0);
	assert_false(pv_value_parse(cell, 2, &v));
	free(cell);
}

/* A long grammar-valid cell (more than the internal 512-byte buffer). */
static void
value_very_long_digit_string(void **state)
{
	size_t n = 2000;
	char *s = malloc(n + 1);
	pv_value v;

	(void)state;
	s[0] = '0';
	s[1] = '.';
	for (size_t i = 2; i < n; i++)
		s[i] = (char)('0' + i % 10);
	s[n] = '\0';
	assert_true(pv_value_parse(s, n, &v));
	assert_true(same_double(v.v, strtod(s, NULL)));
	assert_false(v.plain);
	s[n - 1] = 'x';
	assert_false(pv_value_parse(s, n, &v));
	free(s);
}

/* Decimal strings of up to 15 significant digits take the fast path: still exact. */
static void
value_fast_path_matches_strtod(void **state)
{
	uint64_t x = 0x9E3779B97F4A7C15ULL;
	char buf[64];

	(void)state;
	for (int i = 0; i < 50000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int ndig = 1 + (int)(x % 18);
		int point = (int)((x >> 8) % (uint64_t)(ndig + 1));
		uint64_t digits = x >> 12;
		size_t k = 0;
		pv_value v;

		if ((x >> 60) & 1)
			buf[k++] = '-';
		for (int d = 0; d < ndig; d++) {
			if (d == point && d > 0)
				buf[k++] = '.';
			buf[k++] = (char)('0' + digits % 10);
			digits /= 10;
			if (digits == 0)
				digits = x ^ (uint64_t)d;
		}
		buf[k] = '\0';
		if (!pv_value_parse(buf, k, &v))
			fail_msg("\"%s\" refused", buf);
		if (!same_double(v.v, strtod(buf, NULL)))
			fail_msg("\"%s\": %.17g, strtod %.17g", buf, v.v, strtod(buf, NULL));
	}
}

/* ---- pv_rfc3339_parse and pv_date_parse (tsv_parser downsample --start/--end) ---- */

static void
rfc3339_and_dates(void **state)
{
	static const struct { const char *s; int64_t sec, frac; } ok[] = {
		{ "2026-03-01T00:00:00Z", 0, 0 },
		{ "2026-03-01t00:00:00z", 0, 0 },
		{ "2026-03-01T01:00:00+01:00", 0, 0 },
		{ "2026-02-28T19:30:00-04:30", 0, 0 },
		{ "2026-03-01T00:00:00.5Z", 0, 500000000 },
		{ "2026-03-01T00:00:00.000000001Z", 0, 1 },
	};
	static const char *const bad[] = {
		"", "2026-03-01", "2026-03-01T00:00:00", "2026-03-01 00:00:00Z", "2026-3-01T00:00:00Z",
		"2026-02-29T00:00:00Z", "2026-03-01T24:00:00Z", "2026-03-01T00:60:00Z",
		"2026-03-01T00:00:00.Z", "2026-03-01T00:00:00.0000000001Z", "2026-03-01T00:00:00+0100",
		"2026-03-01T00:00:00+24:00", "2026-03-01T00:00:00Zjunk", "1677-12-31T00:00:00Z",
		"2262-01-01T00:00:00Z", "yesterday",
	};
	int64_t base = pvt_utc(2026, 3, 1, 0, 0, 0), ns, wall;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_true(pv_rfc3339_parse(ok[i].s, &ns));
		assert_true(ns == (base + ok[i].sec) * 1000000000LL + ok[i].frac);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pv_rfc3339_parse(bad[i], &ns))
			fail_msg("accepted %s", bad[i]);
	assert_true(pv_date_parse("2026-03-01", &wall));
	assert_true(wall == base);
	assert_true(pv_date_parse("2024-02-29", &wall));
	assert_false(pv_date_parse("2026-02-29", &wall));
	assert_false(pv_date_parse("2026-03-01T00:00:00Z", &wall));
	assert_false(pv_date_parse("26-03-01", &wall));
	assert_false(pv_date_parse("2026-03-1", &wall));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(days_from_civil_table),
		cmocka_unit_test(rfc3339_and_dates),
		cmocka_unit_test(timestamp_valid_table),
		cmocka_unit_test(timestamp_year_pivot),
		cmocka_unit_test(timestamp_invalid_table),
		cmocka_unit_test(timestamp_respects_length),
		cmocka_unit_test(value_valid_table),
		cmocka_unit_test(value_negative_zero_keeps_its_sign),
		cmocka_unit_test(value_invalid_table),
		cmocka_unit_test(value_respects_length),
		cmocka_unit_test(value_very_long_digit_string),
		cmocka_unit_test(value_fast_path_matches_strtod),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
