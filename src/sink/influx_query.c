/*
 * The InfluxDB sinks' counting queries: the points of a group of files
 * counted back, after each delivery; the readers of Flux's CSV answers and
 * of VictoriaMetrics' PromQL answers, which influx_stored.c uses too.
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
	rc = v1 ? influx_v1_query(f, &r, q->bucket, text, err) :
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
void
influx_vm_flush(influx_sink *f, pv_err *err)
{
	pv_http_resp r;

	if (pv_http_request(f->http, &r, "GET", "/internal/force_flush", NULL, NULL, NULL, 0, err) == PV_OK)
		pv_http_resp_free(&r);
}

/* VictoriaMetrics: the PromQL query evaluated at `at`; the answer's data.result (NULL: none) in *result. */
int
influx_vm_query(cJSON **json, const cJSON **result, influx_sink *f, const char *what, const char *promql,
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
	influx_vm_flush(f, err);
	if ((rc = influx_vm_query(&j, &result, f, "count query", promql, (long long)last + 1, err)) < 0)
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
