#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "powerview/lines.h"
#include "powerview/timeparse.h"

int64_t
pv_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	/* Howard Hinnant's days_from_civil. */
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* One or two digits (or exactly `want` when want > 0). */
static bool
number(const char **p, const char *end, unsigned want, unsigned *out)
{
	unsigned v = 0, k = 0;

	while (*p < end && is_digit(**p) && k < 2) {
		v = v * 10 + (unsigned)(**p - '0');
		(*p)++;
		k++;
	}
	if (k == 0 || (want && k != want) || (*p < end && is_digit(**p)))
		return false;
	*out = v;
	return true;
}

static bool
expect(const char **p, const char *end, char c)
{
	if (*p < end && **p == c) {
		(*p)++;
		return true;
	}
	return false;
}

bool
pv_timestamp_parse(const char *s, size_t n, int64_t *wall)
{
	static const unsigned mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned d, m, yy, hh, mi, ss;
	const char *p, *end;

	pv_trim(&s, &n);
	p = s;
	end = s + n;
	if (!number(&p, end, 0, &d) || !expect(&p, end, '/') ||
	    !number(&p, end, 0, &m) || !expect(&p, end, '/') ||
	    !number(&p, end, 2, &yy) || !expect(&p, end, ' '))
		return false;
	while (p < end && *p == ' ')
		p++;
	if (!number(&p, end, 0, &hh) || !expect(&p, end, ':') ||
	    !number(&p, end, 0, &mi) || !expect(&p, end, ':') ||
	    !number(&p, end, 0, &ss) || p != end)
		return false;
	unsigned year = yy <= 68 ? 2000 + yy : 1900 + yy;
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && leap))
		return false;
	if (hh > 23 || mi > 59 || ss > 59)
		return false;
	*wall = pv_days_from_civil(year, m, d) * 86400 + hh * 3600 + mi * 60 + ss;
	return true;
}

/* Exactly n digits at *p. */
static bool
fixed(const char **p, unsigned n, unsigned *out)
{
	unsigned v = 0;

	for (unsigned i = 0; i < n; i++, (*p)++) {
		if (!is_digit(**p))
			return false;
		v = v * 10 + (unsigned)(**p - '0');
	}
	*out = v;
	return true;
}

/* YYYY-MM-DD at *p, checked, as days since the epoch. */
static bool
civil_date(const char **p, int64_t *days)
{
	static const unsigned mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned y, m, d;
	bool leap;

	if (!fixed(p, 4, &y) || **p != '-' || (++*p, !fixed(p, 2, &m)) || **p != '-' ||
	    (++*p, !fixed(p, 2, &d)))
		return false;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && leap) || y < 1678 || y > 2261)
		return false;
	*days = pv_days_from_civil(y, m, d);
	return true;
}

bool
pv_date_parse(const char *s, int64_t *wall)
{
	int64_t days;

	if (!civil_date(&s, &days) || *s != '\0')
		return false;
	*wall = days * 86400;
	return true;
}

bool
pv_rfc3339_parse(const char *s, int64_t *ns)
{
	unsigned hh, mi, ss, oh = 0, om = 0;
	int64_t days, frac = 0, sec;
	int sign = 0, k = 0;

	if (!civil_date(&s, &days) || (*s != 'T' && *s != 't') || (++s, !fixed(&s, 2, &hh)) ||
	    *s != ':' || (++s, !fixed(&s, 2, &mi)) || *s != ':' || (++s, !fixed(&s, 2, &ss)))
		return false;
	if (hh > 23 || mi > 59 || ss > 60)
		return false;
	if (*s == '.') {
		for (s++; is_digit(*s); s++, k++) {
			if (k == 9)
				return false;
			frac = frac * 10 + (*s - '0');
		}
		if (k == 0)
			return false;
		for (int i = k; i < 9; i++)
			frac *= 10;
	}
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-') {
		sign = *s++ == '+' ? 1 : -1;
		if (!fixed(&s, 2, &oh) || *s != ':' || (++s, !fixed(&s, 2, &om)) || oh > 23 || om > 59)
			return false;
	} else
		return false;
	if (*s != '\0')
		return false;
	if (ss == 60)
		ss = 59; /* a leap second: the last instant POSIX time has for it */
	sec = days * 86400 + hh * 3600 + mi * 60 + ss - sign * (int64_t)(oh * 3600 + om * 60);
	if (sec <= INT64_MIN / 1000000000 + 1 || sec >= INT64_MAX / 1000000000 - 1)
		return false;
	*ns = sec * 1000000000 + frac;
	return true;
}

/* Exact powers of ten: a product or quotient with one of them rounds once. */
static const double pow10_exact[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

bool
pv_value_parse(const char *s, size_t n, pv_value *out)
{
	const char *p, *end;
	uint64_t mant = 0;
	unsigned ndigits = 0, nint = 0, nfrac = 0;
	bool neg = false, exp = false, plain;

	pv_trim(&s, &n);
	p = s;
	end = s + n;
	if (p < end && (*p == '+' || *p == '-'))
		neg = *p++ == '-';
	for (; p < end && is_digit(*p); p++, nint++)
		if (ndigits < 19 && (mant || *p != '0'))
			mant = mant * 10 + (uint64_t)(*p - '0'), ndigits += 1;
		else if (mant)
			ndigits = 99; /* too many significant digits for the fast path */
	if (p < end && *p == '.') {
		p++;
		for (; p < end && is_digit(*p); p++, nfrac++)
			if (ndigits < 19 && (mant || *p != '0'))
				mant = mant * 10 + (uint64_t)(*p - '0'), ndigits += 1;
			else if (mant || ndigits >= 19)
				ndigits = 99;
	}
	if (nint + nfrac == 0)
		return false;
	plain = s[0] != '+' && nint > 0 && (p == end) && !(p[-1] == '.');
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p == end || !is_digit(*p))
			return false;
		while (p < end && is_digit(*p))
			p++;
		exp = true;
	}
	if (p != end)
		return false;

	if (!exp && ndigits <= 15 && nfrac <= 22) {
		out->v = (double)mant / pow10_exact[nfrac];
		if (neg)
			out->v = -out->v;
	} else {
		char buf[512], *e;
		if (n >= sizeof(buf)) {
			/* Grammar-valid but huge: strtod needs a NUL-terminated copy. */
			char *copy = strndup(s, n);
			if (copy == NULL)
				return false;
			out->v = strtod(copy, &e);
			free(copy);
		} else {
			memcpy(buf, s, n);
			buf[n] = '\0';
			out->v = strtod(buf, &e);
		}
	}
	if (!isfinite(out->v))
		return false;
	out->text = s;
	out->len = n;
	out->plain = plain && !exp && n <= 24;
	return true;
}
