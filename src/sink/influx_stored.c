/*
 * What the database holds, for the commands that read it back: the
 * channels stored (tsv_parser channels), the raw buckets, a bucket's first
 * and last point (tsv_parser downsample).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "powerview/path.h"
#include "powerview/timeparse.h"
#include "influx_int.h"

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
		rc = influx_v1_query(f, &r, db, sql, err);
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
	influx_vm_flush(f, err);
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
	if ((rc = influx_vm_query(&j, &result, f, "channels query", promql, now, err)) < 0)
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
	rc = influx_v1_query(f, &r, db, q, err);
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
