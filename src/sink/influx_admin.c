/*
 * The InfluxDB sinks' management of where points go: the organization (v2),
 * buckets and their downsampled buckets, DBRP mappings (v2), databases (v1,
 * CREATE DATABASE); found or created once a run.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "powerview/log.h"
#include "powerview/path.h"
#include "influx_int.h"

int
influx_org_id(influx_sink *f, pv_err *err)
{
	cJSON *j, *o;
	int rc;

	if (f->org_id != NULL)
		return PV_OK;
	if (pv_influx_is_id(f->cfg.org))
		return (f->org_id = strdup(f->cfg.org)) ? PV_OK : pv_fail(err, PV_ENOMEM, "out of memory");
	if ((rc = influx_get_json(&j, f, "organization lookup", INFLUX_GET_404, "/api/v2/orgs?org=%s", f->cfg.org,
	    NULL, err)) < 0)
		return rc;
	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(j, "orgs")) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
		if (cJSON_IsString(name) && cJSON_IsString(id) && strcmp(name->valuestring, f->cfg.org) == 0)
			f->org_id = strdup(id->valuestring);
	}
	cJSON_Delete(j);
	return f->org_id ? PV_OK : pv_fail(err, PV_ECONFIG, "organization %s not found", f->cfg.org);
}

static bool
known(influx_sink *f, const char *bucket)
{
	for (size_t i = 0; i < f->nknown; i++)
		if (strcmp(f->known[i], bucket) == 0)
			return true;
	return false;
}

static int
remember(influx_sink *f, const char *bucket)
{
	char **k = realloc(f->known, (f->nknown + 1) * sizeof(char *));

	if (k == NULL)
		return PV_ENOMEM;
	f->known = k;
	if ((k[f->nknown] = strdup(bucket)) == NULL)
		return PV_ENOMEM;
	f->nknown++;
	return PV_OK;
}

/* 1 found, 0 not found, < 0 error. The name filter answers 404 or an empty list. */
int
influx_bucket_find(influx_sink *f, const char *bucket, char **id, pv_err *err)
{
	cJSON *j, *b;
	int rc;

	if ((rc = influx_get_json(&j, f, "bucket lookup", INFLUX_GET_404, "/api/v2/buckets?orgID=%s&name=%s&limit=100",
	    f->org_id, bucket, err)) <= 0)
		return rc;
	rc = 0;
	cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(j, "buckets")) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(b, "name");
		const cJSON *bid = cJSON_GetObjectItemCaseSensitive(b, "id");
		if (cJSON_IsString(name) && strcmp(name->valuestring, bucket) == 0) {
			rc = 1;
			if (id && cJSON_IsString(bid) && *id == NULL)
				*id = strdup(bid->valuestring);
		}
	}
	cJSON_Delete(j);
	return rc;
}

/*
 * 0 created (*id: its id, when the answer says it), 1 created meanwhile by
 * someone else, < 0 error. `forever`: no expiry rule whatever
 * INFLUXDB_BUCKET_RETENTION says (the downsampled buckets).
 */
static int
bucket_create(influx_sink *f, const char *bucket, bool forever, char **id, pv_err *err)
{
	cJSON *body = cJSON_CreateObject(), *rules = cJSON_AddArrayToObject(body, "retentionRules");
	pv_http_resp r;
	int rc;

	cJSON_AddStringToObject(body, "orgID", f->org_id);
	cJSON_AddStringToObject(body, "name", bucket);
	cJSON_AddStringToObject(body, "description", "created by tsv_parser");
	if (f->cfg.retention_s > 0 && !forever) {
		cJSON *rule = cJSON_CreateObject();
		cJSON_AddStringToObject(rule, "type", "expire");
		cJSON_AddNumberToObject(rule, "everySeconds", (double)f->cfg.retention_s);
		cJSON_AddItemToArray(rules, rule);
	}
	if ((rc = influx_post_json(&r, f, "/api/v2/buckets", body, err)) < 0)
		return rc;
	if (r.status == 201 || r.status == 200) {
		cJSON *j = cJSON_Parse(r.body);
		const cJSON *bid = cJSON_GetObjectItemCaseSensitive(j, "id");
		pv_info("created bucket %s", bucket);
		if (cJSON_IsString(bid) && (*id = strdup(bid->valuestring)) == NULL)
			rc = pv_fail(err, PV_ENOMEM, "out of memory");
		cJSON_Delete(j);
	} else if (r.status == 422 || r.status == 409)
		rc = 1; /* created meanwhile by another run: look again */
	else if (r.status == 400)
		rc = pv_fail(err, PV_EDATA, "bucket %s refused by the server", bucket);
	else
		rc = influx_status_error(err, "bucket creation", &r);
	pv_http_resp_free(&r);
	return rc;
}

/* ---- InfluxDB 2: the DBRP mapping that lets InfluxQL read a bucket ---- */

/*
 * 1 when GET /api/v2/dbrps lists a physical mapping of database `bucket`,
 * retention policy autogen, to bucket_id; 0 when none; PV_ECONFIG when one
 * maps it to another bucket (left alone: InfluxQL there reads that bucket).
 * Virtual mappings (InfluxDB >= 2.4 lists one per bucket) are not counted:
 * older servers have none, and an explicit one survives a bucket rename.
 */
static int
dbrp_find(influx_sink *f, const char *bucket, const char *bucket_id, pv_err *err)
{
	cJSON *j, *m;
	int rc;

	if ((rc = influx_get_json(&j, f, "DBRP mapping lookup", 0, "/api/v2/dbrps?orgID=%s&db=%s&rp=autogen",
	    f->org_id, bucket, err)) < 0)
		return rc;
	rc = 0;
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(j, "content")) {
		const cJSON *db = cJSON_GetObjectItemCaseSensitive(m, "database");
		const cJSON *rp = cJSON_GetObjectItemCaseSensitive(m, "retention_policy");
		const cJSON *bid = cJSON_GetObjectItemCaseSensitive(m, "bucketID");
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "virtual")) || !cJSON_IsString(db) ||
		    !cJSON_IsString(rp) || !cJSON_IsString(bid) || strcmp(db->valuestring, bucket) != 0 ||
		    strcmp(rp->valuestring, "autogen") != 0)
			continue;
		if (strcmp(bid->valuestring, bucket_id) == 0)
			rc = 1;
		else if (rc == 0)
			rc = pv_fail(err, PV_ECONFIG, "InfluxQL database %s (retention policy autogen) is "
			    "mapped to another bucket (%s): left as it is", bucket, bid->valuestring);
	}
	cJSON_Delete(j);
	return rc;
}

/*
 * The mapping database = bucket name, retention policy autogen (default)
 * to the bucket, so that InfluxQL (Grafana's InfluxQL mode) reads it;
 * made once, found again on later calls.
 */
int
influx_dbrp_ensure(influx_sink *f, const char *bucket, const char *bucket_id, pv_err *err)
{
	cJSON *body;
	pv_http_resp r;
	int rc;

	if ((rc = dbrp_find(f, bucket, bucket_id, err)) != 0)
		return rc < 0 ? rc : PV_OK;
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "orgID", f->org_id);
	cJSON_AddStringToObject(body, "bucketID", bucket_id);
	cJSON_AddStringToObject(body, "database", bucket);
	cJSON_AddStringToObject(body, "retention_policy", "autogen");
	cJSON_AddBoolToObject(body, "default", 1);
	if ((rc = influx_post_json(&r, f, "/api/v2/dbrps", body, err)) < 0)
		return rc;
	if (r.status == 201 || r.status == 200)
		pv_info("created the InfluxQL mapping of bucket %s (database %s, retention policy autogen)",
		    bucket, bucket);
	else if (r.status == 422 || r.status == 409) {
		/* EConflict: made meanwhile by another run, or mapped elsewhere */
		rc = dbrp_find(f, bucket, bucket_id, err);
		if (rc == 0)
			rc = influx_status_error(err, "DBRP mapping creation", &r);
		else if (rc > 0)
			rc = PV_OK;
	} else
		rc = influx_status_error(err, "DBRP mapping creation", &r);
	pv_http_resp_free(&r);
	return rc;
}

/*
 * InfluxDB 2: the downsampled buckets <bucket>_1h, _1d, _1w (issue 14) go
 * with every raw bucket: same organization, an InfluxQL mapping each, and
 * no expiry -- INFLUXDB_BUCKET_RETENTION is the raw data's: the point of the
 * downsampled levels is to outlive it (an admin may set one on them later;
 * tsv_parser never changes an existing bucket).
 */
static const char *const ds_suffix[INFLUX_N_DS] = { "1h", "1d", "1w" };

/* "<bucket>_<suffix>" (NULL: out of memory) */
char *
influx_ds_bucket(const char *bucket, size_t i)
{
	char *name = NULL;

	if (asprintf(&name, "%s_%s", bucket, ds_suffix[i]) < 0)
		return NULL;
	return name;
}

/* Each downsampled bucket of `bucket`, found or created; ids[i] its id when ids != NULL. */
int
influx_ensure_downsampled(influx_sink *f, const char *bucket, char **ids, pv_err *err)
{
	for (size_t i = 0; i < INFLUX_N_DS; i++) {
		char *name = influx_ds_bucket(bucket, i);
		const char *bad;
		int rc;

		if (name == NULL)
			return pv_fail(err, PV_ENOMEM, "out of memory");
		if ((bad = pv_name_problem(name)) != NULL) {
			rc = pv_fail(err, PV_EDATA, "downsampled bucket name %s", bad);
			free(name);
			return rc;
		}
		rc = influx_ensure_one(f, name, true, ids ? &ids[i] : NULL, err);
		if (rc == PV_OK && ids != NULL && ids[i] == NULL && (rc = influx_bucket_find(f, name, &ids[i], err)) >= 0 &&
		    ids[i] == NULL)
			rc = pv_fail(err, PV_ETEMP, "bucket %s has no id", name);
		free(name);
		if (rc < 0)
			return rc;
	}
	return PV_OK;
}

/*
 * A file's bucket (database): found or created, and in InfluxDB 2 its
 * downsampled buckets too, once per run. Those are best effort here: a
 * failure is a warning (the raw points go in; downsampling that level fails
 * and says so), the meta bucket has none.
 */
int
influx_ensure_bucket(influx_sink *f, const char *bucket, char **id, pv_err *err)
{
	bool first = !known(f, bucket);
	int rc;

	if ((rc = influx_ensure_one(f, bucket, false, id, err)) < 0)
		return rc;
	if (f->cfg.api == PV_API_V2 && first &&
	    (f->cfg.meta_bucket == NULL || strcmp(bucket, f->cfg.meta_bucket) != 0)) {
		pv_err derr;
		if (influx_ensure_downsampled(f, bucket, NULL, &derr) < 0)
			pv_warn("bucket %s: downsampled buckets: %s", bucket, derr.msg);
	}
	return PV_OK;
}

int
influx_ensure_one(influx_sink *f, const char *bucket, bool forever, char **id, pv_err *err)
{
	int rc;

	if (id == NULL && known(f, bucket))
		return PV_OK;
	if (f->cfg.api == PV_API_VM)
		return remember(f, bucket);
	if (f->cfg.api == PV_API_V1) {
		/* CREATE DATABASE is idempotent in InfluxDB 1.x */
		char *ident = pv_influxql_ident(bucket), *q = NULL;
		if (ident == NULL || asprintf(&q, "CREATE DATABASE %s", ident) < 0) {
			free(ident);
			return pv_fail(err, PV_ENOMEM, "out of memory");
		}
		free(ident);
		/* a 200 may still carry the statement's error: influx_v1_exec checks it */
		rc = influx_v1_exec(f, q, "CREATE DATABASE", NULL, err);
		free(q);
		return rc < 0 ? rc : remember(f, bucket);
	}
	if ((rc = influx_org_id(f, err)) < 0)
		return rc;
	for (int tries = 0; tries < 3; tries++) {
		if ((rc = influx_bucket_find(f, bucket, id, err)) < 0)
			return rc;
		if (rc == 1)
			return remember(f, bucket);
		char *made = NULL;
		if ((rc = bucket_create(f, bucket, forever, &made, err)) < 0)
			return rc;
		if (rc == 0) {
			pv_err derr;
			/* InfluxQL reads the bucket through it; the points are safe without it */
			if (made != NULL && influx_dbrp_ensure(f, bucket, made, &derr) < 0)
				pv_warn("bucket %s: no InfluxQL mapping: %s (tsv_parser token --bucket %s makes it)",
				    bucket, derr.msg, bucket);
			if (id != NULL && *id == NULL)
				*id = made;
			else
				free(made);
			return remember(f, bucket);
		}
	}
	return pv_fail(err, PV_ETEMP, "bucket %s: created by someone else but not found", bucket);
}
