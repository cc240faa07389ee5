/*
 * Time zones through the C library: TZ is set for the zone in use and
 * localtime_r() tells the UTC offset of any instant. Offsets are sampled
 * around each wall-clock day once, so the common day without a change costs
 * no call per row.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "powerview/tz.h"

#define NPROBES 9

struct pv_tz {
	char *name;   /* as given */
	char *tzenv;  /* value for TZ */
	unsigned id;
	bool utc;
	bool day_valid;
	int64_t day;
	int nofs;
	long ofs[NPROBES];
};

static unsigned next_id = 1, active_id = 0;

/* ---- POSIX TZ strings (POSIX.1-2017 §8.3) ---- */

static bool
posix_number(const char **p, int lo, int hi, int *out)
{
	int v = 0, k = 0;

	while (isdigit((unsigned char)**p) && k < 3) {
		v = v * 10 + (**p - '0');
		(*p)++;
		k++;
	}
	if (k == 0 || isdigit((unsigned char)**p) || v < lo || v > hi)
		return false;
	if (out)
		*out = v;
	return true;
}

/* [+-]hh[:mm[:ss]] */
static bool
posix_offset(const char **p, int max_hours)
{
	if (**p == '+' || **p == '-')
		(*p)++;
	if (!posix_number(p, 0, max_hours, NULL))
		return false;
	for (int i = 0; i < 2 && **p == ':'; i++) {
		(*p)++;
		if (!posix_number(p, 0, 59, NULL))
			return false;
	}
	return true;
}

static bool
posix_name(const char **p)
{
	const char *s = *p;

	if (*s == '<') {
		s++;
		const char *start = s;
		while (isalnum((unsigned char)*s) || *s == '+' || *s == '-')
			s++;
		if (*s != '>' || s - start < 3)
			return false;
		*p = s + 1;
		return true;
	}
	while (isalpha((unsigned char)*s))
		s++;
	if (s - *p < 3)
		return false;
	*p = s;
	return true;
}

static bool
posix_rule(const char **p)
{
	if (**p == 'J') {
		(*p)++;
		if (!posix_number(p, 1, 365, NULL))
			return false;
	} else if (**p == 'M') {
		(*p)++;
		if (!posix_number(p, 1, 12, NULL) || *(*p)++ != '.' ||
		    !posix_number(p, 1, 5, NULL) || *(*p)++ != '.' ||
		    !posix_number(p, 0, 6, NULL))
			return false;
	} else if (!posix_number(p, 0, 365, NULL))
		return false;
	if (**p == '/') {
		(*p)++;
		return posix_offset(p, 167);
	}
	return true;
}

static bool
posix_tz_valid(const char *s)
{
	if (!posix_name(&s) || !posix_offset(&s, 24))
		return false;
	if (*s == '\0')
		return true;
	if (!posix_name(&s))
		return false;
	if (*s != ',' && *s != '\0' && !posix_offset(&s, 24))
		return false;
	/* daylight saving without its rules: the C library would guess US dates */
	if (*s++ != ',' || !posix_rule(&s) || *s++ != ',' || !posix_rule(&s))
		return false;
	return *s == '\0';
}

/* ---- IANA names: a TZif file below TZDIR ---- */

static char *
iana_file(const char *name)
{
	const char *dir = getenv("TZDIR");
	char magic[4], *path;
	struct stat st;
	int fd;
	bool ok;

	if (name[0] == '\0' || name[0] == '/' || strlen(name) > 255)
		return NULL;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("/_+-.", *p))
			return NULL;
	if (strstr(name, "..") != NULL)
		return NULL;
	if (dir == NULL || dir[0] == '\0')
		dir = "/usr/share/zoneinfo";
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ok = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    read(fd, magic, 4) == 4 && memcmp(magic, "TZif", 4) == 0;
	if (fd >= 0)
		close(fd);
	if (!ok) {
		free(path);
		return NULL;
	}
	return path;
}

int
pv_tz_open(pv_tz **out, const char *spec, pv_err *err)
{
	pv_tz *tz;
	char *file = NULL;

	*out = NULL;
	if (spec == NULL || spec[0] == '\0')
		return pv_fail(err, PV_EDATA, "empty time zone");
	tz = calloc(1, sizeof(*tz));
	if (tz == NULL || (tz->name = strdup(spec)) == NULL) {
		free(tz);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	tz->id = next_id++;
	if (strcmp(spec, "UTC") == 0 || strcmp(spec, "Etc/UTC") == 0 || strcmp(spec, "Z") == 0) {
		tz->utc = true;
		tz->tzenv = strdup("UTC0");
	} else if ((file = iana_file(spec)) != NULL) {
		if (asprintf(&tz->tzenv, ":%s", file) < 0)
			tz->tzenv = NULL;
		free(file);
	} else if (posix_tz_valid(spec)) {
		tz->tzenv = strdup(spec);
	} else {
		pv_tz_free(tz);
		return pv_fail(err, PV_EDATA, "unknown time zone: %.100s", spec);
	}
	if (tz->tzenv == NULL) {
		pv_tz_free(tz);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	*out = tz;
	return PV_OK;
}

void
pv_tz_free(pv_tz *tz)
{
	if (tz == NULL)
		return;
	free(tz->name);
	free(tz->tzenv);
	free(tz);
}

const char *
pv_tz_name(const pv_tz *tz)
{
	return tz->name;
}

static long
offset_at(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL)
		return 0;
	return tm.tm_gmtoff;
}

static void
activate(pv_tz *tz)
{
	if (active_id == tz->id)
		return;
	setenv("TZ", tz->tzenv, 1);
	tzset();
	active_id = tz->id;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int
pv_tz_resolve(pv_tz *tz, int64_t wall, int64_t out[2])
{
	int64_t day = floor_div(wall, 86400);
	int n = 0;

	if (tz->utc) {
		out[0] = wall;
		return 1;
	}
	activate(tz);
	if (!tz->day_valid || tz->day != day) {
		/* Offsets every 12 h from 36 h before to 60 h after the day start:
		 * any instant whose local time falls in the day lies in there. */
		tz->nofs = 0;
		for (int k = -3; k <= 5; k++) {
			long o = offset_at(day * 86400 + k * 43200);
			bool seen = false;
			for (int i = 0; i < tz->nofs; i++)
				seen |= tz->ofs[i] == o;
			if (!seen)
				tz->ofs[tz->nofs++] = o;
		}
		tz->day = day;
		tz->day_valid = true;
	}
	if (tz->nofs == 1) {
		out[0] = wall - tz->ofs[0];
		return 1;
	}
	for (int i = 0; i < tz->nofs; i++) {
		int64_t t = wall - tz->ofs[i];
		if (offset_at(t) != tz->ofs[i])
			continue;
		if (n < 2)
			out[n++] = t;
		else if (t < out[0])
			out[0] = t;
		else if (t > out[1])
			out[1] = t;
		if (n == 2 && out[0] > out[1]) {
			int64_t x = out[0];
			out[0] = out[1];
			out[1] = x;
		}
	}
	if (n == 2 && out[0] == out[1])
		n = 1;
	return n;
}

long
pv_tz_offset(pv_tz *tz, int64_t t)
{
	if (tz->utc)
		return 0;
	activate(tz);
	return offset_at(t);
}

bool
pv_tz_is_iana(const pv_tz *tz)
{
	return tz->utc || tz->tzenv[0] == ':';
}
