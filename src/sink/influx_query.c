/*
 * The InfluxDB sinks' read queries: the points of a group of files counted
 * back, the channels stored (tsv_parser channels), the raw buckets, a
 * bucket's first and last point; the readers of Flux's CSV answers.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "powerview/path.h"
#include "powerview/timeparse.h"
#include "influx_int.h"

/* ---- counting files' points back ---- */

static void
rfc3339(char *buf, size_t size, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The time span of a group: first instant of any file, last instant of any. */
static void
span(const pv_count_query *q, size_t n, int64_t *start, int64_t *end)
{
	*start = q[0].start;
	*end = q[0].end;
	for (size_t i = 1; i < n; i++) {
		if (q[i].start < *start)
			*start = q[i].start;
		if (q[i].end > *end)
			*end = q[i].end;
	}
}

/*
 * Adds v to the file named `name`: the answer holds every file of the device
 * in the group's span, the group's and others (already taken by earlier
 * runs), and only the group's are asked. Without file names (one file, the
 * file_name tag off), everything is that file's.
 */
static void
tally(const pv_count_query *q, size_t n, uint64_t *out, const char *name, uint64_t v)
{
	for (size_t i = 0; i < n; i++)
		if (q[i].file_name == NULL || (name != NULL && strcmp(q[i].file_name, name) == 0)) {
			out[i] += v;
			return;
		}
}

/*
 * The next record of a CSV text, split in place (RFC 4180: a quoted field
 * may hold commas, "" for a quote, line breaks): at most `max` fields kept,
 * each NUL-terminated, a line's trailing CR dropped, *nf the number of
 * fields (0 for a blank line). false at the end of the text.
 */
bool
influx_csv_record(char **p, char **field, int max, int *nf)
{
	char *s = *p;

	*nf = 0;
	if (*s == '\0')
		return false;
	for (;;) {
		char *start = s, *w = s, sep;
		if (*s == '"') {
			for (s++; *s != '\0'; s++) {
				if (*s == '"' && s[1] != '"') {
					s++;
					break;
				}
				if (*s == '"')
					s++;
				*w++ = *s;
			}
			while (*s != '\0' && *s != ',' && *s != '\n')
				s++;
		} else {
			while (*s != '\0' && *s != ',' && *s != '\n')
				s++;
			w = s;
			if (w > start && w[-1] == '\r' && *s != ',')
				w--;
		}
		sep = *s;
		*w = '\0';
		if (*nf < max)
			field[*nf] = start;
		(*nf)++;
		if (sep != ',') {
			*p = sep == '\0' ? s : s + 1;
			break;
		}
		s++;
	}
	if (*nf == 1 && field[0][0] == '\0')
		*nf = 0;
	return true;
}

/*
 * The next record of Flux's CSV answer, annotations (#datatype, #group,
 * #default) passed over: a table's header (a blank line ends a table), a
 * row, or the end of the text; *nf its fields, at most 64 kept.
 */
influx_csv_kind
influx_csv_row(char **p, char **field, int *nf, bool *header)
{
	int n;

	while (influx_csv_record(p, field, 64, &n)) {
		if (n == 0) {
			*header = true;
			continue;
		}
		if (field[0][0] == '#')
			continue;
		*nf = n > 64 ? 64 : n;
		if (*header) {
			*header = false;
			return INFLUX_CSV_HEADER;
		}
		return INFLUX_CSV_ROW;
	}
	return INFLUX_CSV_END;
}

/* The index of column `name` in a header of nf fields, -1 when it has none. */
int
influx_csv_col(char *const *field, int nf, const char *name)
{
	for (int i = 0; i < nf; i++)
		if (strcmp(field[i], name) == 0)
			return i;
	return -1;
}

/*
 * Flux's CSV answer (annotations or not): in each table, the header names
 * the columns; every row's _value goes to the file of its file_name (n 0:
 * nothing tallied). A table with an `error` column is Flux failing after
 * the 200: PV_ETEMP naming `what`.
 */
int
influx_csv_counts(char *body, const char *what, const pv_count_query *q, size_t n, uint64_t *out, pv_err *err)
{
	char *p = body, *f[64];
	int nf, value = -1, name = -1, error = -1;
	bool header = true;
	influx_csv_kind kind;

	while ((kind = influx_csv_row(&p, f, &nf, &header)) != INFLUX_CSV_END) {
		if (kind == INFLUX_CSV_HEADER) {
			value = influx_csv_col(f, nf, "_value");
			name = influx_csv_col(f, nf, "file_name");
			error = influx_csv_col(f, nf, "error");
		} else if (error >= 0 && error < nf)
			return pv_fail(err, PV_ETEMP, "%s: %.300s", what, f[error]);
		else if (value >= 0 && value < nf)
			tally(q, n, out, name >= 0 && name < nf ? f[name] : NULL, strtoull(f[value], NULL, 10));
	}
	return PV_OK;
}

/*
 * The group's count query: the device's points in the group's span,
 * counted per file_name (or all together without file names), as one
 * InfluxQL SELECT (v1: GROUP BY "file_name", every count column summed)
 * or one Flux query (v2). NULL when out of memory.
 */
static char *
count_text(const pv_count_query *q, size_t n, bool v1)
{
	char start[32], stop[32], *b = NULL, *m, *c, *d, *text = NULL;
	int64_t first, last;

	span(q, n, &first, &last);
	rfc3339(start, sizeof(start), first);
	rfc3339(stop, sizeof(stop), v1 ? last : last + 1); /* Flux's stop is exclusive */
	if (v1) {
		m = pv_influxql_ident(q->measurement);
		c = pv_influxql_string(q->campaign);
		d = pv_influxql_string(q->master_sn);
	} else {
		b = pv_flux_quote(q->bucket);
		m = pv_flux_quote(q->measurement);
		c = pv_flux_quote(q->campaign);
		d = pv_flux_quote(q->master_sn);
	}
	if (!m || !c || !d || (!v1 && !b))
		text = NULL;
	else if (v1 && asprintf(&text,
		"SELECT count(*) FROM %s WHERE \"campaign\" = %s AND \"device_master_sn\" = %s"
		" AND time >= '%s' AND time <= '%s'%s",
		m, c, d, start, stop, q->file_name ? " GROUP BY \"file_name\"" : "") < 0)
		text = NULL;
	else if (!v1 && asprintf(&text,
		"from(bucket: \"%s\")\n"
		"  |> range(start: %s, stop: %s)\n"
		"  |> filter(fn: (r) => r._measurement == \"%s\" and r.campaign == \"%s\" and r.device_master_sn == \"%s\")\n"
		"  |> group(%s)\n"
		"  |> count()\n",
		b, start, stop, m, c, d, q->file_name ? "columns: [\"file_name\"]" : "") < 0)
		text = NULL;
	free(b);
	free(m);
	free(c);
	free(d);
	return text;
}

/* InfluxQL's answer: per series (a file_name), every count column summed. */
static void
count_v1_tally(const char *body, const pv_count_query *q, size_t n, uint64_t *out)
{
	cJSON *j = cJSON_Parse(body), *res, *ser, *row, *v;

	cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(j, "results"))
		cJSON_ArrayForEach(ser, cJSON_GetObjectItemCaseSensitive(res, "series")) {
			const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(ser, "tags"), "file_name"));
			uint64_t sum = 0;
			cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(ser, "values")) {
				int i = 0;
				cJSON_ArrayForEach(v, row)
					if (i++ > 0 && cJSON_IsNumber(v))
						sum += (uint64_t)v->valuedouble;
			}
			tally(q, n, out, name, sum);
		}
	cJSON_Delete(j);
}

/* v1 or v2: the query of count_text sent, its answer tallied per file. */
static int
count_influx(influx_sink *f, bool v1, const pv_count_query *q, size_t n, uint64_t *out, pv_err *err)
{
	char *text = count_text(q, n, v1);
	pv_http_resp r;
	int rc;

	if (text == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	rc = v1 ? influx_v1_query(f, &r, q->bucket, text, false, err) :
	    influx_flux(&r, f, text, "count query", err);
	free(text);
	if (rc < 0)
		return rc;
	if (!v1)
		rc = influx_csv_counts(r.body ? r.body : "", "count query", q, n, out, err);
	else if (r.status == 200)
		count_v1_tally(r.body, q, n, out);
	else
		rc = influx_status_error(err, "count query", &r);
	pv_http_resp_free(&r);
	return rc;
}

/* VictoriaMetrics: fresh samples become searchable after a flush: ask for it (harmless if refused). */
static void
vm_flush(influx_sink *f, pv_err *err)
{
	pv_http_resp r;

	if (pv_http_request(f->http, &r, "GET", "/internal/force_flush", NULL, NULL, NULL, 0, err) == PV_OK)
		pv_http_resp_free(&r);
}

/* VictoriaMetrics: the PromQL query evaluated at `at`; the answer's data.result (NULL: none) in *result. */
static int
vm_query(cJSON **json, const cJSON **result, influx_sink *f, const char *what, const char *promql,
    long long at, pv_err *err)
{
	char t[24];
	int rc;

	snprintf(t, sizeof(t), "%lld", at);
	if ((rc = influx_get_json(json, f, what, 0, "/api/v1/query?query=%s&time=%s", promql, t, err)) < 0)
		return rc;
	*result = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(*json, "data"), "result");
	return PV_OK;
}

/* One PromQL query for the group: sum by (file_name) of count_over_time over the span. */
static int
count_vm(influx_sink *f, const pv_count_query *q, size_t n, uint64_t *out, pv_err *err)
{
	char *c = influx_promql_string(q->campaign), *d = influx_promql_string(q->master_sn), *db = influx_promql_string(q->bucket);
	char *m = NULL, *re = NULL, *promql = NULL;
	const cJSON *result, *res;
	cJSON *j = NULL;
	int64_t first, last;
	int rc;

	span(q, n, &first, &last);
	/* the measurement becomes the metric name prefix: "electrical_<field>" */
	if (!c || !d || !db || asprintf(&re, "%s_.+", q->measurement) < 0 ||
	    (m = influx_promql_string(re)) == NULL ||
	    asprintf(&promql, "sum%s(count_over_time({__name__=~%s,db=%s,campaign=%s,device_master_sn=%s}[%llds]))",
		q->file_name ? " by (file_name) " : "", m, db, c, d, (long long)(last - first + 2)) < 0) {
		promql = NULL;
		rc = pv_fail(err, PV_ENOMEM, "out of memory");
		goto out;
	}
	vm_flush(f, err);
	if ((rc = vm_query(&j, &result, f, "count query", promql, (long long)last + 1, err)) < 0)
		goto out;
	cJSON_ArrayForEach(res, result) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(res, "metric"), "file_name"));
		const cJSON *val = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(res, "value"), 1);
		if (cJSON_IsString(val))
			tally(q, n, out, name, strtoull(val->valuestring, NULL, 10));
	}
out:
	cJSON_Delete(j);
	free(c);
	free(d);
	free(db);
	free(m);
	free(re);
	free(promql);
	return rc;
}

int
influx_if_count(pv_sink *s, const pv_count_query *q, size_t n, uint64_t *out, pv_err *err)
{
	influx_sink *f = (influx_sink *)s;

	influx_drain(f, NULL, false);
	for (size_t i = 0; i < n; i++)
		out[i] = 0; /* a file the answer does not name has no point in the database */
	switch (f->cfg.api) {
	case PV_API_V2: return count_influx(f, false, q, n, out, err);
	case PV_API_V1: return count_influx(f, true, q, n, out, err);
	default: return count_vm(f, q, n, out, err);
	}
}

/* ---- tsv_parser channels: the channels already stored ---- */

/* Series keys (v1) or tuples (v2) per answer: a few hundred KiB, under PV_HTTP_ANSWER_MAX. */
#define KNOWN_PAGE 1000
/* Pages of one bucket at most (series for v1): a server that never ends its list ends here. */
#define KNOWN_PAGES_MAX 100000

/* One page of SHOW SERIES: each key's tuple added; *n: the keys of the page. */
static int
known_v1_page(pv_known *k, const char *db, const pv_http_resp *r, size_t *n, pv_err *err)
{
	cJSON *j, *res, *ser, *row;
	const cJSON *e = NULL;
	int rc = PV_OK;

	*n = 0;
	if (r->status != 200)
		return influx_status_error(err, "SHOW SERIES", r);
	if ((j = cJSON_Parse(r->body)) == NULL)
		return pv_fail(err, PV_ETEMP, "SHOW SERIES: the server's answer is not JSON");
	cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(j, "results")) {
		const cJSON *re = cJSON_GetObjectItemCaseSensitive(res, "error");
		if (cJSON_IsString(re)) {
			e = re;
			break;
		}
		cJSON_ArrayForEach(ser, cJSON_GetObjectItemCaseSensitive(res, "series"))
			cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(ser, "values")) {
				const char *key = cJSON_GetStringValue(cJSON_GetArrayItem(row, 0));
				(*n)++;
				if (key != NULL && rc == PV_OK)
					rc = pv_known_add_series_key(k, key, "electrical", err);
			}
	}
	if (e != NULL)
		rc = strncmp(e->valuestring, "database not found", 18) == 0 ?
		    pv_fail(err, PV_ENOENT, "database %s not found", db) :
		    pv_fail(err, PV_ETEMP, "SHOW SERIES: %.300s", e->valuestring);
	cJSON_Delete(j);
	return rc;
}

/* InfluxDB 1.x: SHOW SERIES FROM "electrical", page by page, each key parsed. */
static int
known_v1(influx_sink *f, pv_known *k, const char *db, pv_err *err)
{
	char *sql = NULL;
	pv_http_resp r;
	size_t n = KNOWN_PAGE;
	int rc = PV_OK;

	for (size_t page = 0; n == KNOWN_PAGE && rc == PV_OK; page++) {
		if (page == KNOWN_PAGES_MAX)
			return pv_fail(err, PV_ETEMP, "SHOW SERIES: more than %d pages", KNOWN_PAGES_MAX);
		if (asprintf(&sql, "SHOW SERIES FROM \"electrical\" LIMIT %d OFFSET %zu", KNOWN_PAGE,
		    page * KNOWN_PAGE) < 0)
			return pv_fail(err, PV_ENOMEM, "out of memory");
		rc = influx_v1_query(f, &r, db, sql, false, err);
		free(sql);
		if (rc < 0)
			return rc;
		rc = known_v1_page(k, db, &r, &n, err);
		pv_http_resp_free(&r);
	}
	return rc;
}

/* Flux's CSV answer of known_flux(): each row's tuple added; *n: the rows. */
static int
known_csv(pv_known *k, char *body, size_t *n, pv_err *err)
{
	static const char *const names[5] = {
		"campaign", "channel_id", "channel_unit", "channel_label", "device_master_sn"
	};
	char *p = body, *f[64];
	int nf, col[5], error = -1, rc = PV_OK;
	bool header = true;
	influx_csv_kind kind;

	*n = 0;
	while (rc == PV_OK && (kind = influx_csv_row(&p, f, &nf, &header)) != INFLUX_CSV_END) {
		const char *v[5];
		if (kind == INFLUX_CSV_HEADER) {
			error = influx_csv_col(f, nf, "error");
			for (int c = 0; c < 5; c++)
				col[c] = influx_csv_col(f, nf, names[c]);
			continue;
		}
		if (error >= 0 && error < nf)
			return pv_fail(err, PV_ETEMP, "channels query: %.300s", f[error]);
		for (int c = 0; c < 5; c++)
			v[c] = col[c] >= 0 && col[c] < nf ? f[col[c]] : NULL;
		(*n)++;
		rc = pv_known_add(k, v[0], v[1], v[2], v[3], v[4], err);
	}
	return rc;
}

/*
 * The Flux of one page: the first point of each series (a pushed-down
 * first()), its five tags kept, one row per distinct tuple, sorted so that
 * limit(offset) pages through a stable order.
 */
static char *
known_flux(const char *bucket, size_t offset)
{
	static const char cols[] =
	    "[\"campaign\", \"channel_id\", \"channel_unit\", \"channel_label\", \"device_master_sn\"]";
	char *b = pv_flux_quote(bucket), *flux = NULL;

	if (b != NULL && asprintf(&flux,
	    "from(bucket: \"%s\")\n"
	    "  |> range(start: 0)\n"
	    "  |> filter(fn: (r) => r._measurement == \"electrical\")\n"
	    "  |> first()\n"
	    "  |> keep(columns: %s)\n"
	    "  |> group(columns: %s)\n"
	    "  |> limit(n: 1)\n"
	    "  |> group()\n"
	    "  |> sort(columns: %s)\n"
	    "  |> limit(n: %d, offset: %zu)\n",
	    b, cols, cols, cols, KNOWN_PAGE, offset) < 0)
		flux = NULL;
	free(b);
	return flux;
}

/* InfluxDB 2: the bucket looked up (never created), then known_flux() page by page. */
static int
known_v2(influx_sink *f, pv_known *k, const char *bucket, pv_err *err)
{
	char *flux;
	pv_http_resp r;
	size_t n = KNOWN_PAGE;
	int rc;

	if ((rc = influx_org_id(f, err)) < 0 || (rc = influx_bucket_find(f, bucket, NULL, err)) < 0)
		return rc;
	if (rc == 0)
		return pv_fail(err, PV_ENOENT, "bucket %s not found", bucket);
	rc = PV_OK;
	for (size_t page = 0; n == KNOWN_PAGE && rc == PV_OK; page++) {
		if (page == KNOWN_PAGES_MAX) {
			rc = pv_fail(err, PV_ETEMP, "channels query: more than %d pages", KNOWN_PAGES_MAX);
			break;
		}
		if ((flux = known_flux(bucket, page * KNOWN_PAGE)) == NULL) {
			rc = pv_fail(err, PV_ENOMEM, "out of memory");
			break;
		}
		rc = influx_flux(&r, f, flux, "channels query", err);
		free(flux);
		if (rc < 0)
			break;
		rc = known_csv(k, r.body ? r.body : "", &n, err);
		pv_http_resp_free(&r);
	}
	return rc;
}

static int vm_db_values(influx_sink *f, cJSON **json, pv_err *err);

/*
 * VictoriaMetrics: one PromQL query, a result per distinct tuple, not per
 * series: count by (the five labels) (last_over_time({__name__=~
 * "electrical_.+",db=<db>}[<now - 1 day>s])), evaluated now. The window
 * starts on 1970-01-02 (a window from 0 finds nothing); the answer is
 * bounded by PV_HTTP_ANSWER_MAX (a few thousand tuples).
 */
static int
known_vm(influx_sink *f, pv_known *k, const char *db, pv_err *err)
{
	char *d = influx_promql_string(db), *promql = NULL;
	long long now = (long long)time(NULL);
	const cJSON *result, *res;
	cJSON *dbs, *v, *j = NULL;
	bool found = false;
	int rc;

	if (d == NULL ||
	    asprintf(&promql, "count by (campaign, channel_id, channel_unit, channel_label, device_master_sn) "
		"(last_over_time({__name__=~\"electrical_.+\",db=%s}[%llds]))", d, now - 86400) < 0) {
		promql = NULL;
		rc = pv_fail(err, PV_ENOMEM, "out of memory");
		goto out;
	}
	vm_flush(f, err);
	/* no buckets there: a db label value that no series carries is an unknown bucket */
	if ((rc = vm_db_values(f, &dbs, err)) < 0)
		goto out;
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(dbs, "data"))
		if (cJSON_IsString(v) && strcmp(v->valuestring, db) == 0)
			found = true;
	cJSON_Delete(dbs);
	if (!found) {
		rc = pv_fail(err, PV_ENOENT, "no series with db=%s", db);
		goto out;
	}
	if ((rc = vm_query(&j, &result, f, "channels query", promql, now, err)) < 0)
		goto out;
	cJSON_ArrayForEach(res, result) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(res, "metric");
#define LABEL(name) cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, name))
		if (rc == PV_OK)
			rc = pv_known_add(k, LABEL("campaign"), LABEL("channel_id"), LABEL("channel_unit"),
			    LABEL("channel_label"), LABEL("device_master_sn"), err);
#undef LABEL
	}
out:
	cJSON_Delete(j);
	free(d);
	free(promql);
	return rc;
}

int
pv_influx_known_channels(pv_known *k, const pv_influx_config *cfg, const char *bucket, pv_err *err)
{
	pv_sink *s;
	const char *bad;
	int rc;

	if ((bad = pv_name_problem(bucket)) != NULL)
		return pv_fail(err, PV_EDATA, "bucket name %s", bad);
	if ((rc = influx_open(&s, cfg, false, err)) < 0)
		return rc;
	rc = cfg->api == PV_API_V1 ? known_v1((influx_sink *)s, k, bucket, err) :
	    cfg->api == PV_API_VM ? known_vm((influx_sink *)s, k, bucket, err) :
	    known_v2((influx_sink *)s, k, bucket, err);
	pv_sink_free(s);
	return rc;
}

/* Adds name to the list when it is a company's raw bucket (pv_known_raw_bucket). */
static int
raw_add(char ***names, size_t *n, const char *name, const char *meta, pv_err *err)
{
	char **list;

	if (!pv_known_raw_bucket(name, meta))
		return PV_OK;
	if ((list = realloc(*names, (*n + 1) * sizeof(*list))) == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	*names = list;
	if ((list[*n] = strdup(name)) == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	(*n)++;
	return PV_OK;
}

/*
 * InfluxDB 1.x: SHOW DATABASES (one answer: a server has a few hundred at
 * most), each name given to `each` until it returns non-zero, which is then
 * the result (0: every name given).
 */
static int
v1_databases(influx_sink *f, int (*each)(void *arg, const char *name, pv_err *err), void *arg, pv_err *err)
{
	cJSON *j, *res, *ser, *row;
	int rc;

	if ((rc = influx_v1_exec(f, "SHOW DATABASES", "SHOW DATABASES", &j, err)) < 0)
		return rc;
	rc = 0;
	cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(j, "results"))
		cJSON_ArrayForEach(ser, cJSON_GetObjectItemCaseSensitive(res, "series"))
			cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(ser, "values")) {
				const char *name = cJSON_GetStringValue(cJSON_GetArrayItem(row, 0));
				if (name != NULL && rc == 0)
					rc = each(arg, name, err);
			}
	cJSON_Delete(j);
	return rc;
}

typedef struct raw_list {
	char ***names;
	size_t *n;
	const char *meta;
} raw_list;

static int
raw_v1_add(void *arg, const char *name, pv_err *err)
{
	raw_list *l = arg;

	return raw_add(l->names, l->n, name, l->meta, err);
}

static int
raw_v1(influx_sink *f, char ***names, size_t *n, pv_err *err)
{
	raw_list l = { names, n, f->cfg.meta_bucket };

	return v1_databases(f, raw_v1_add, &l, err);
}

/* InfluxDB 2: the organization's buckets, 100 a page; system buckets left out. */
static int
raw_v2(influx_sink *f, char ***names, size_t *n, pv_err *err)
{
	int rc, got = 100;

	if ((rc = influx_org_id(f, err)) < 0)
		return rc;
	for (int page = 0; got == 100 && rc == PV_OK && page < KNOWN_PAGES_MAX; page++) {
		char offset[32];
		cJSON *j, *b;

		snprintf(offset, sizeof(offset), "%d", page * 100);
		if ((rc = influx_get_json(&j, f, "bucket list", 0, "/api/v2/buckets?orgID=%s&limit=100&offset=%s",
		    f->org_id, offset, err)) < 0)
			return rc;
		rc = PV_OK;
		got = 0;
		cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(j, "buckets")) {
			const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "name"));
			const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "type"));
			got++;
			if (name != NULL && (type == NULL || strcmp(type, "system") != 0) && rc == PV_OK)
				rc = raw_add(names, n, name, f->cfg.meta_bucket, err);
		}
		cJSON_Delete(j);
	}
	return rc;
}

/* VictoriaMetrics: raw_vm()'s list, every db label value (from 1970 on: without start, the last day only). */
static int
vm_db_values(influx_sink *f, cJSON **json, pv_err *err)
{
	int rc = influx_get_json_path(json, f, "db label values", INFLUX_GET_STRICT, "/api/v1/label/db/values?start=1",
	    err);

	return rc < 0 ? rc : PV_OK;
}

static int
raw_vm(influx_sink *f, char ***names, size_t *n, pv_err *err)
{
	cJSON *j, *v;
	int rc;

	if ((rc = vm_db_values(f, &j, err)) < 0)
		return rc;
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(j, "data"))
		if (cJSON_IsString(v) && rc == PV_OK)
			rc = raw_add(names, n, v->valuestring, f->cfg.meta_bucket, err);
	cJSON_Delete(j);
	return rc;
}

int
pv_influx_raw_buckets(char ***names, size_t *n, const pv_influx_config *cfg, pv_err *err)
{
	pv_sink *s;
	int rc;

	*names = NULL;
	*n = 0;
	if ((rc = influx_open(&s, cfg, false, err)) < 0)
		return rc;
	rc = cfg->api == PV_API_V1 ? raw_v1((influx_sink *)s, names, n, err) :
	    cfg->api == PV_API_VM ? raw_vm((influx_sink *)s, names, n, err) :
	    raw_v2((influx_sink *)s, names, n, err);
	pv_sink_free(s);
	if (rc < 0) {
		for (size_t i = 0; i < *n; i++)
			free((*names)[i]);
		free(*names);
		*names = NULL;
		*n = 0;
	}
	return rc;
}

/* ---- tsv_parser downsample: a bucket's span ---- */

static int
v1_db_is(void *db, const char *name, pv_err *err)
{
	(void)err;
	return strcmp(name, db) == 0;
}

/* InfluxDB 1.x: 1 when SHOW DATABASES lists db, 0 when not, < 0 error. */
static int
v1_db_exists(influx_sink *f, const char *db, pv_err *err)
{
	return v1_databases(f, v1_db_is, (void *)db, err);
}

/*
 * InfluxDB 1.x: the time of the first (or last) point, all series merged,
 * LIMIT 1: one row whatever the data. 1 found, 0 none.
 */
static int
v1_edge(influx_sink *f, const char *db, bool last, int64_t *t, pv_err *err)
{
	char *m = pv_influxql_ident(INFLUX_MEASUREMENT), *q = NULL;
	pv_http_resp r;
	cJSON *j = NULL, *res, *ser;
	int rc;

	if (m == NULL || asprintf(&q, "SELECT * FROM %s ORDER BY time %s LIMIT 1", m, last ? "DESC" : "ASC") < 0) {
		free(m);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	free(m);
	rc = influx_v1_query(f, &r, db, q, false, err);
	free(q);
	if (rc < 0)
		return rc;
	rc = influx_v1_statement_error(err, "first and last point", &r, &j);
	pv_http_resp_free(&r);
	if (rc < 0)
		return rc;
	cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(j, "results"))
		cJSON_ArrayForEach(ser, cJSON_GetObjectItemCaseSensitive(res, "series")) {
			const cJSON *v = cJSON_GetArrayItem(cJSON_GetArrayItem(
			    cJSON_GetObjectItemCaseSensitive(ser, "values"), 0), 0);
			if (rc == 0 && cJSON_IsString(v)) {
				if (!pv_rfc3339_parse(v->valuestring, t))
					rc = pv_fail(err, PV_ETEMP, "first and last point: not a time: %.40s", v->valuestring);
				else
					rc = 1;
			}
		}
	cJSON_Delete(j);
	return rc;
}

/*
 * InfluxDB 2: the time of the first (or last) point: first() (last()) of
 * each series, then the earliest (latest) of those: one row.
 */
static int
v2_edge(influx_sink *f, const char *bucket, bool last, int64_t *t, pv_err *err)
{
	char *b = pv_flux_quote(bucket), *m = pv_flux_quote(INFLUX_MEASUREMENT), *flux = NULL;
	char *p, *fl[64];
	pv_http_resp r;
	int rc, nf, col = -1, error = -1;
	bool header = true;
	influx_csv_kind kind;

	if (b == NULL || m == NULL ||
	    asprintf(&flux,
		"from(bucket: \"%s\")\n"
		"  |> range(start: 1970-01-01T00:00:00Z, stop: 2262-04-11T00:00:00Z)\n"
		"  |> filter(fn: (r) => r._measurement == \"%s\")\n"
		"  |> %s()\n"
		"  |> keep(columns: [\"_time\"])\n"
		"  |> group()\n"
		"  |> sort(columns: [\"_time\"], desc: %s)\n"
		"  |> limit(n: 1)\n",
		b, m, last ? "last" : "first", last ? "true" : "false") < 0) {
		free(b);
		free(m);
		free(flux);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	free(b);
	free(m);
	rc = influx_flux(&r, f, flux, "first and last point", err);
	free(flux);
	if (rc < 0)
		return rc;
	rc = 0;
	p = r.body ? r.body : "";
	while (rc == 0 && (kind = influx_csv_row(&p, fl, &nf, &header)) != INFLUX_CSV_END) {
		if (kind == INFLUX_CSV_HEADER) {
			col = influx_csv_col(fl, nf, "_time");
			error = influx_csv_col(fl, nf, "error");
		} else if (error >= 0 && error < nf)
			rc = pv_fail(err, PV_ETEMP, "first and last point: %.300s", fl[error]);
		else if (col >= 0 && col < nf)
			rc = pv_rfc3339_parse(fl[col], t) ? 1 :
			    pv_fail(err, PV_ETEMP, "first and last point: not a time: %.40s", fl[col]);
	}
	pv_http_resp_free(&r);
	return rc;
}

int
pv_sink_influx_span(pv_sink *s, const char *bucket, int64_t *first, int64_t *last, pv_err *err)
{
	influx_sink *f = (influx_sink *)s;
	int rc;

	if (s == NULL || s->ops->begin != influx_if_begin)
		return pv_fail(err, PV_ECONFIG, "not an InfluxDB sink");
	switch (f->cfg.api) {
	case PV_API_V1:
		if ((rc = v1_db_exists(f, bucket, err)) < 0)
			return rc;
		if (rc == 0)
			return pv_fail(err, PV_ENOENT, "database %s does not exist", bucket);
		if ((rc = v1_edge(f, bucket, false, first, err)) <= 0 || (rc = v1_edge(f, bucket, true, last, err)) <= 0)
			return rc;
		break;
	case PV_API_V2:
		if ((rc = influx_org_id(f, err)) < 0 || (rc = influx_bucket_find(f, bucket, NULL, err)) < 0)
			return rc;
		if (rc == 0)
			return pv_fail(err, PV_ENOENT, "bucket %s does not exist", bucket);
		if ((rc = v2_edge(f, bucket, false, first, err)) <= 0 || (rc = v2_edge(f, bucket, true, last, err)) <= 0)
			return rc;
		break;
	default:
		return pv_fail(err, PV_ECONFIG, "this database keeps no downsampled copies");
	}
	return *first <= *last ? 1 : pv_fail(err, PV_ETEMP, "first and last point out of order");
}
