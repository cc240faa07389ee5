/*
 * Downsampling windows (see powerview/windows.h). Wall-clock floors are
 * turned back into instants with pv_tz_resolve(): of the instants a local
 * floor names, the window starts at the last one not after the instant; a
 * floor skipped by a forward change starts at the change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "powerview/influx.h"
#include "powerview/windows.h"

#define NS 1000000000LL

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int
pv_level_parse(const char *s, pv_level *out, pv_err *err)
{
	if (s != NULL && strcmp(s, "1h") == 0)
		*out = PV_LEVEL_1H;
	else if (s != NULL && strcmp(s, "1d") == 0)
		*out = PV_LEVEL_1D;
	else if (s != NULL && strcmp(s, "1w") == 0)
		*out = PV_LEVEL_1W;
	else
		return pv_fail(err, PV_EDATA, "unknown downsampling level: %.20s (1h, 1d or 1w)",
		    s ? s : "(null)");
	return PV_OK;
}

int
pv_levels_parse(const char *s, pv_level out[PV_LEVELS_MAX], size_t *n, pv_err *err)
{
	*n = 0;
	while (s != NULL && *s) {
		size_t k = strcspn(s, ", \t");
		char word[8];
		pv_level lv;
		bool seen = false;

		if (k == 0) {
			s++;
			continue;
		}
		if (k >= sizeof(word))
			return pv_fail(err, PV_EDATA, "unknown downsampling level: %.20s (1h, 1d or 1w)", s);
		memcpy(word, s, k);
		word[k] = '\0';
		if (pv_level_parse(word, &lv, err) < 0)
			return PV_EDATA;
		for (size_t i = 0; i < *n; i++)
			seen = seen || out[i] == lv;
		if (!seen)
			out[(*n)++] = lv;
		s += k;
	}
	return PV_OK;
}

const char *
pv_level_name(pv_level level)
{
	switch (level) {
	case PV_LEVEL_1H: return "1h";
	case PV_LEVEL_1D: return "1d";
	case PV_LEVEL_1W: return "1w";
	}
	return "?";
}

/* The local floor of wall-clock seconds for a level, and the next one. */
static int64_t
wall_floor(pv_level level, int64_t wall)
{
	int64_t d;

	switch (level) {
	case PV_LEVEL_1H:
		return floor_div(wall, 3600) * 3600;
	case PV_LEVEL_1D:
		return floor_div(wall, 86400) * 86400;
	case PV_LEVEL_1W:
		d = floor_div(wall, 86400);
		/* day 0 (1970-01-01) was a Thursday: Monday is 3 days before */
		d -= ((d + 3) % 7 + 7) % 7;
		return d * 86400;
	}
	return wall;
}

static int64_t
level_seconds(pv_level level)
{
	return level == PV_LEVEL_1H ? 3600 : level == PV_LEVEL_1D ? 86400 : 7 * 86400;
}

/*
 * The first instant in (lo, hi] at which `reached(tz, t, arg)` holds, given
 * that it holds at hi, not at lo, and from its first instant on (bisection).
 */
static int64_t
first_instant(pv_tz *tz, int64_t lo, int64_t hi, bool (*reached)(pv_tz *, int64_t, int64_t), int64_t arg)
{
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;
		if (reached(tz, mid, arg))
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

static bool
wall_reached(pv_tz *tz, int64_t t, int64_t wall)
{
	return t + pv_tz_offset(tz, t) >= wall;
}

static bool
offset_other(pv_tz *tz, int64_t t, int64_t offset)
{
	return pv_tz_offset(tz, t) != offset;
}

/*
 * The first instant whose wall clock is at or after `wall`, when `wall`
 * itself is skipped by a forward change: the change, found by bisection
 * (wall clock time grows with the instant around a single forward change).
 */
static int64_t
gap_end(pv_tz *tz, int64_t wall)
{
	/* wall(lo) < wall <= wall(hi) */
	return first_instant(tz, wall - 26 * 3600, wall + 26 * 3600, wall_reached, wall);
}

/* The first instant in (a, b] whose offset differs from a's (one exists). */
static int64_t
offset_change(pv_tz *tz, int64_t a, int64_t b)
{
	return first_instant(tz, a, b, offset_other, pv_tz_offset(tz, a));
}

/* Does the change at instant c move the wall clock to another window? */
static bool
change_splits(pv_tz *tz, pv_level level, int64_t c)
{
	return wall_floor(level, c - 1 + pv_tz_offset(tz, c - 1)) !=
	    wall_floor(level, c + pv_tz_offset(tz, c));
}

/*
 * Window boundaries are the instants whose wall clock is a floor of the
 * level (both instants of a repeated one; the change when a floor is
 * skipped), and the changes of offset that move the wall clock to another
 * floor (Pacific/Chatham's 03:45 -> 02:45). A window runs from the last
 * boundary not after t to the first one after it.
 */
static int
window_at_s(pv_tz *tz, pv_level level, int64_t t, int64_t *start, int64_t *end)
{
	int64_t fl = wall_floor(level, t + pv_tz_offset(tz, t));
	int64_t inst[2], s = INT64_MIN, e = INT64_MAX;
	int n;

	n = pv_tz_resolve(tz, fl, inst);
	if (n == 0)
		s = gap_end(tz, fl);
	for (int i = 0; i < n; i++)
		if (inst[i] <= t)
			s = inst[i];
	if (s == INT64_MIN || s > t)
		return PV_EDATA;
	if (pv_tz_offset(tz, s) != pv_tz_offset(tz, t)) {
		int64_t c = offset_change(tz, s, t);
		if (change_splits(tz, level, c))
			s = c;
	}
	for (int i = 0; i < n; i++)
		if (inst[i] > s && inst[i] < e)
			e = inst[i];
	n = pv_tz_resolve(tz, fl + level_seconds(level), inst);
	if (n == 0 && gap_end(tz, fl + level_seconds(level)) > s)
		e = gap_end(tz, fl + level_seconds(level)) < e ? gap_end(tz, fl + level_seconds(level)) : e;
	for (int i = 0; i < n; i++)
		if (inst[i] > s && inst[i] < e)
			e = inst[i];
	if (e == INT64_MAX)
		return PV_EDATA;
	if (pv_tz_offset(tz, s) != pv_tz_offset(tz, e - 1)) {
		int64_t c = offset_change(tz, s, e - 1);
		if (change_splits(tz, level, c))
			e = c;
	}
	*start = s;
	*end = e;
	return s <= t && t < e ? PV_OK : PV_EDATA;
}

int
pv_window_at(pv_tz *tz, pv_level level, int64_t t, pv_window *out, pv_err *err)
{
	int64_t s, e;
	int64_t ts = floor_div(t, NS);

	if (ts < -(INT64_MAX / NS) + 8 * 86400 || ts > INT64_MAX / NS - 8 * 86400)
		return pv_fail(err, PV_EDATA, "instant out of range: %lld", (long long)t);
	if (window_at_s(tz, level, ts, &s, &e) != PV_OK)
		return pv_fail(err, PV_EDATA, "no %s window for instant %lld in %s",
		    pv_level_name(level), (long long)ts, pv_tz_name(tz));
	out->start = s * NS;
	out->end = e * NS;
	return PV_OK;
}

int
pv_windows_chunk(pv_tz *tz, pv_level level, int64_t from, int64_t tmax, size_t max, pv_window **out,
    size_t *n, bool *more, pv_err *err)
{
	pv_window *v = NULL, w;
	size_t len = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	*more = false;
	if (from > tmax)
		return pv_fail(err, PV_EDATA, "empty time range");
	if (max == 0)
		return pv_fail(err, PV_EDATA, "a chunk of no window");
	rc = pv_window_at(tz, level, from, &w, err);
	while (rc == PV_OK) {
		if (len == cap) {
			size_t nc = cap ? cap * 2 : 8;
			pv_window *nv;
			if (nc > max)
				nc = max;
			if ((nv = realloc(v, nc * sizeof(*v))) == NULL) {
				rc = pv_fail(err, PV_ENOMEM, "out of memory");
				break;
			}
			v = nv;
			cap = nc;
		}
		v[len++] = w;
		if (w.end > tmax)
			break;
		if (len == max) {
			*more = true;
			break;
		}
		rc = pv_window_at(tz, level, w.end, &w, err);
	}
	if (rc != PV_OK) {
		free(v);
		*more = false;
		return rc;
	}
	*out = v;
	*n = len;
	return PV_OK;
}

int
pv_windows(pv_tz *tz, pv_level level, int64_t tmin, int64_t tmax, pv_window **out, size_t *n,
    pv_err *err)
{
	bool more;
	int rc = pv_windows_chunk(tz, level, tmin, tmax, PV_WINDOWS_MAX, out, n, &more, err);

	if (rc == PV_OK && more) {
		free(*out);
		*out = NULL;
		*n = 0;
		return pv_fail(err, PV_EDATA, "more than %d %s windows: chunk the range",
		    PV_WINDOWS_MAX, pv_level_name(level));
	}
	return rc;
}

int
pv_windows_count(pv_tz *tz, pv_level level, int64_t tmin, int64_t tmax, size_t *n, pv_err *err)
{
	pv_window w;
	int rc = pv_window_at(tz, level, tmin, &w, err);

	*n = 0;
	while (rc == PV_OK) {
		(*n)++;
		if (w.end > tmax)
			break;
		rc = pv_window_at(tz, level, w.end, &w, err);
	}
	return rc;
}

bool
pv_downsample_per_window(pv_level level, pv_tz *tz)
{
	return level == PV_LEVEL_1W || !pv_tz_is_iana(tz);
}

size_t
pv_downsample_chunk_max(pv_level level, pv_tz *tz)
{
	/* about a month of raw data a request: a grouped 1d statement over a year took 41 s on 1.6 */
	size_t n = level == PV_LEVEL_1H ? 720 : level == PV_LEVEL_1D ? 31 : 5;

	return pv_downsample_per_window(level, tz) && n > PV_CHUNK_STATEMENTS ? PV_CHUNK_STATEMENTS : n;
}

/* ---- InfluxDB 1.x statements ---- */

/* adds an escaped identifier (NULL: out of memory) */
static void
sb_ident(pv_buf *b, const char *s)
{
	char *q = pv_influxql_ident(s);

	if (q == NULL)
		b->oom = true;
	else
		pv_buf_add(b, q);
	free(q);
}

/* the tags a mean is kept per, escaped, comma-separated (after a time() when `after`) */
static void
sb_tags(pv_buf *b, const char *const *tags, size_t n, bool after)
{
	for (size_t i = 0; i < n; i++) {
		if (after || i > 0)
			pv_buf_add(b, ", ");
		sb_ident(b, tags[i]);
	}
}

static void
sb_statement(pv_buf *b, const char *db, const char *target, const char *const *fields, size_t nf,
    int64_t start, int64_t end, const char *group)
{
	char num[64];

	if (b->len > 0)
		pv_buf_add(b, "; ");
	pv_buf_add(b, "SELECT ");
	for (size_t i = 0; i < nf; i++) {
		pv_buf_add(b, i ? ", mean(" : "mean(");
		sb_ident(b, fields[i]);
		pv_buf_add(b, ") AS ");
		sb_ident(b, fields[i]);
	}
	pv_buf_add(b, " INTO ");
	sb_ident(b, target);
	pv_buf_add(b, ".\"autogen\".\"electrical\" FROM ");
	sb_ident(b, db);
	pv_buf_add(b, ".\"autogen\".\"electrical\" WHERE time >= ");
	snprintf(num, sizeof(num), "%lld AND time < %lld", (long long)start, (long long)end);
	pv_buf_add(b, num);
	if (group[0] != '\0') {
		pv_buf_add(b, " GROUP BY ");
		pv_buf_add(b, group);
	}
}

int
pv_downsample_influxql(char **out, const char *db, pv_level level, pv_tz *tz,
    const char *const *fields, size_t nfields, const char *const *tags, size_t ntags,
    const pv_window *w, size_t nw, pv_err *err)
{
	pv_buf b = { 0 }, g = { 0 };
	char *target = NULL, *zone = NULL;

	*out = NULL;
	if (db == NULL || db[0] == '\0' || nfields == 0 || nw == 0)
		return pv_fail(err, PV_EDATA, "downsampling: no database, field or window");
	for (size_t i = 1; i < nw; i++)
		if (w[i].start != w[i - 1].end)
			return pv_fail(err, PV_EDATA, "downsampling: windows are not contiguous");
	if (asprintf(&target, "%s_%s", db, pv_level_name(level)) < 0) {
		target = NULL;
		b.oom = true;
	} else if (!pv_downsample_per_window(level, tz)) {
		zone = pv_influxql_string(pv_tz_name(tz));
		pv_buf_add(&g, "time(");
		pv_buf_add(&g, pv_level_name(level));
		pv_buf_add(&g, ")");
		sb_tags(&g, tags, ntags, true);
		pv_buf_add(&g, " tz(");
		pv_buf_add(&g, zone ? zone : "");
		pv_buf_add(&g, ")");
		if (zone == NULL || g.oom)
			b.oom = true;
		else
			sb_statement(&b, db, target, fields, nfields, w[0].start, w[nw - 1].end, g.p);
	} else {
		pv_buf_add(&g, "");
		sb_tags(&g, tags, ntags, false);
		for (size_t i = 0; i < nw && !b.oom && !g.oom; i++)
			sb_statement(&b, db, target, fields, nfields, w[i].start, w[i].end, g.p);
		b.oom = b.oom || g.oom;
	}
	free(target);
	free(g.p);
	free(zone);
	if (b.oom) {
		free(b.p);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	*out = b.p;
	return PV_OK;
}
