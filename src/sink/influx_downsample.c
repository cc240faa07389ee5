/*
 * The InfluxDB sinks' downsampling: per level, the range walked in chunks,
 * InfluxQL SELECT ... INTO <db>_<level> (v1) or Flux to() (v2).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "powerview/downsample_flux.h"
#include "powerview/windows.h"
#include "influx_int.h"

/* ---- downsampling ---- */

#define DS_FIELDS_MAX 20000  /* numeric fields of a measurement: beyond, the answer is refused */

/*
 * tags false: the float and integer fields of "<db>"."autogen"."electrical"
 * (mean() of a string or boolean field fails the whole statement); tags
 * true: its tag keys but file_name (a window's mean covers every file of a
 * series). *n 0: none.
 */
static int
v1_keys(influx_sink *f, const char *db, bool tags, char ***out, size_t *n, pv_err *err)
{
	char *ident = pv_influxql_ident(db), *m = pv_influxql_ident(INFLUX_MEASUREMENT), *q = NULL;
	cJSON *j = NULL, *res, *ser, *row;
	char **v = NULL;
	size_t k = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (ident == NULL || m == NULL ||
	    asprintf(&q, "SHOW %s KEYS ON %s FROM %s", tags ? "TAG" : "FIELD", ident, m) < 0) {
		free(ident);
		free(m);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	free(ident);
	free(m);
	rc = influx_v1_exec(f, q, tags ? "SHOW TAG KEYS" : "SHOW FIELD KEYS", &j, err);
	free(q);
	if (rc < 0)
		return rc;
	/* columns: fieldKey, fieldType; or tagKey */
	cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(j, "results"))
		cJSON_ArrayForEach(ser, cJSON_GetObjectItemCaseSensitive(res, "series"))
			cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(ser, "values")) {
				const cJSON *key = cJSON_GetArrayItem(row, 0), *type = cJSON_GetArrayItem(row, 1);
				char **nv;
				if (!cJSON_IsString(key) || (tags ? strcmp(key->valuestring, "file_name") == 0 :
				    !cJSON_IsString(type) || (strcmp(type->valuestring, "float") != 0 &&
				    strcmp(type->valuestring, "integer") != 0)))
					continue;
				if (k == DS_FIELDS_MAX) {
					rc = pv_fail(err, PV_EDATA, "database %s has more than %d %s", db,
					    DS_FIELDS_MAX, tags ? "tag keys" : "numeric fields");
					goto out;
				}
				if ((nv = realloc(v, (k + 1) * sizeof(*v))) == NULL ||
				    (nv[k] = strdup(key->valuestring)) == NULL) {
					if (nv)
						v = nv;
					rc = pv_fail(err, PV_ENOMEM, "out of memory");
					goto out;
				}
				v = nv;
				k++;
			}
out:
	cJSON_Delete(j);
	if (rc < 0) {
		for (size_t i = 0; i < k; i++)
			free(v[i]);
		free(v);
		return rc;
	}
	*out = v;
	*n = k;
	return PV_OK;
}

/*
 * InfluxDB 1.x: one chunk's statements (nstmt of them) in one POST /query,
 * each result checked (after an error the server runs none of the rest).
 */
static int
v1_ds_post(influx_sink *f, const char *db, pv_level level, const char *q, size_t nstmt, pv_err *err)
{
	const char *why;
	size_t got;
	bool top;
	cJSON *j;
	int rc;

	if ((rc = influx_v1_post(&j, f, q, "downsampling query", err)) < 0)
		return rc;
	why = influx_v1_error(j, &top, &got);
	if (why != NULL && top)
		rc = pv_fail(err, PV_ETEMP, "downsampling query: %s", why);
	/* the first failure is named; after it the server may run, and answer, nothing */
	else if (why != NULL)
		/* 1.6 may answer a request whose statement failed with only "not executed" */
		rc = pv_fail(err, PV_ETEMP, "downsampling into %s_%s failed: %s%s", db, pv_level_name(level),
		    why, strcmp(why, "not executed") == 0 ? " (the server gave no reason: a field "
		    "type conflict in that database, or a write it refused)" : "");
	else if (got != nstmt)
		rc = pv_fail(err, PV_ETEMP, "downsampling query: %zu results for %zu statements", got, nstmt);
	cJSON_Delete(j);
	return rc;
}

/* Between two chunks: a run or a backfill asked to stop does not start the next. */
static int
ds_stopped(pv_err *err)
{
	if (pv_stop_signal() == 0)
		return PV_OK;
	return pv_fail(err, PV_ETEMP, "downsampling interrupted by signal %d", pv_stop_signal());
}

/* What a chunk's statements need: the database or bucket, the zone, v1's keys. */
typedef struct ds_job {
	influx_sink *f;
	const char *name;
	pv_tz *tz;
	char **fields, **tags;
	size_t nfields, ntags;
} ds_job;

typedef int (*ds_chunk_fn)(const ds_job *job, pv_level level, const pv_window *w, size_t n, pv_err *err);

/*
 * Per level, the range walked in chunks (pv_windows_chunk,
 * pv_downsample_chunk_max), `chunk` run on each (NULL: nothing to average,
 * every level done, no window written), the windows counted into *out;
 * `name_level`: an error names the level's bucket.
 */
static int
ds_levels(const ds_job *job, ds_chunk_fn chunk, int64_t tmin, int64_t tmax, const pv_level *levels,
    size_t nlevels, bool name_level, pv_downsample_figure *out, pv_err *err)
{
	uint64_t nw[PV_LEVELS_MAX] = { 0 };
	int rc = PV_OK;

	for (size_t i = 0; i < nlevels && rc == PV_OK; i++) {
		int64_t from = tmin;
		bool more = true;

		while (chunk != NULL && more && rc == PV_OK) {
			pv_window *w = NULL;
			size_t n = 0;

			if ((rc = pv_windows_chunk(job->tz, levels[i], from, tmax,
			    pv_downsample_chunk_max(levels[i], job->tz), &w, &n, &more, err)) < 0)
				break;
			rc = chunk(job, levels[i], w, n, err);
			from = w[n - 1].end;
			free(w);
			if (rc == PV_OK) {
				nw[i] += n;
				if (more)
					rc = ds_stopped(err);
			}
		}
		if (rc < 0 && name_level && err != NULL) {
			char why[sizeof(err->msg)];
			snprintf(why, sizeof(why), "%s", err->msg);
			pv_fail(err, rc, "downsampling into %s_%s: %s", job->name, pv_level_name(levels[i]), why);
		}
	}
	if (rc < 0)
		return rc;
	out->n = nlevels;
	for (size_t i = 0; i < nlevels; i++) {
		out->levels[i] = levels[i];
		out->windows[i] = nw[i];
	}
	return PV_OK;
}

/* InfluxDB 1.x: a chunk's SELECT ... INTO statements in one POST /query. */
static int
v1_chunk(const ds_job *job, pv_level level, const pv_window *w, size_t n, pv_err *err)
{
	char *q = NULL;
	int rc = pv_downsample_influxql(&q, job->name, level, job->tz, (const char *const *)job->fields,
	    job->nfields, (const char *const *)job->tags, job->ntags, w, n, err);

	/* as pv_downsample_influxql builds them: one grouped statement, or one a window */
	if (rc == PV_OK)
		rc = v1_ds_post(job->f, job->name, level, q, pv_downsample_per_window(level, job->tz) ? n : 1, err);
	free(q);
	return rc;
}

/* InfluxDB 1.x: the downsampled databases made sure of, the keys read into the job. */
static int
v1_prepare(ds_job *job, const pv_level *levels, size_t nlevels, pv_err *err)
{
	int rc;

	/* the downsampled databases: CREATE DATABASE is idempotent, once a run */
	for (size_t i = 0; i < nlevels; i++) {
		char *name = NULL;
		if (asprintf(&name, "%s_%s", job->name, pv_level_name(levels[i])) < 0)
			return pv_fail(err, PV_ENOMEM, "out of memory");
		rc = influx_ensure_bucket(job->f, name, NULL, err);
		free(name);
		if (rc < 0)
			return rc;
	}
	if ((rc = v1_keys(job->f, job->name, false, &job->fields, &job->nfields, err)) == PV_OK &&
	    job->nfields > 0)
		rc = v1_keys(job->f, job->name, true, &job->tags, &job->ntags, err);
	return rc;
}

static void
v1_job_free(ds_job *job)
{
	for (size_t i = 0; i < job->nfields; i++)
		free(job->fields[i]);
	free(job->fields);
	for (size_t i = 0; i < job->ntags; i++)
		free(job->tags[i]);
	free(job->tags);
}

/* InfluxDB 2: a chunk's Flux query; the answer is the count of the rows written, not the rows. */
static int
v2_chunk(const ds_job *job, pv_level level, const pv_window *w, size_t n, pv_err *err)
{
	char *flux = NULL;
	pv_http_resp r;
	int rc;

	if ((rc = pv_downsample_flux(&flux, job->f->cfg.org, job->name, level, job->tz, NULL, 0, w, n, err)) < 0)
		return rc;
	rc = influx_flux(&r, job->f, flux, "downsampling query", err);
	free(flux);
	if (rc < 0)
		return rc;
	rc = influx_csv_counts(r.body ? r.body : "", "downsampling query", NULL, 0, NULL, err);
	pv_http_resp_free(&r);
	return rc;
}

int
influx_if_downsample(pv_sink *s, const char *bucket, int64_t tmin, int64_t tmax, pv_tz *tz,
    const pv_level *levels, size_t nlevels, pv_downsample_figure *out, pv_err *err)
{
	influx_sink *f = (influx_sink *)s;
	ds_job job = { .f = f, .name = bucket, .tz = tz };
	int rc;

	out->n = 0;
	if (nlevels > PV_LEVELS_MAX)
		return pv_fail(err, PV_EDATA, "more than %d downsampling levels", PV_LEVELS_MAX);
	influx_drain(f, NULL, false);
	switch (f->cfg.api) {
	case PV_API_V1:
		/* v1_prepare, then ds_levels() (nothing to write without a field) */
		if ((rc = v1_prepare(&job, levels, nlevels, err)) == PV_OK)
			rc = ds_levels(&job, job.nfields > 0 ? v1_chunk : NULL, tmin, tmax, levels, nlevels,
			    false, out, err);
		v1_job_free(&job);
		return rc;
	case PV_API_V2:
		/*
		 * the downsampled buckets made sure of, then ds_levels(), one Flux
		 * query a chunk (pv_downsample_flux), every field of the measurement
		 * averaged (PowerView writes floats only)
		 */
		if ((rc = influx_org_id(f, err)) < 0 || (rc = influx_ensure_downsampled(f, bucket, NULL, err)) < 0)
			return rc;
		return ds_levels(&job, v2_chunk, tmin, tmax, levels, nlevels, true, out, err);
	default:
		return 1;
	}
}
