/*
 * The InfluxDB sinks. A file's batches go to its bucket (InfluxDB 2), its
 * database (1.x) or VictoriaMetrics; buckets are looked up by name and
 * created once the file's header is valid; every batch must be
 * acknowledged before the file counts as stored.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <zlib.h>

#include "powerview/http.h"
#include "powerview/downsample_flux.h"
#include "powerview/influx.h"
#include "powerview/log.h"
#include "powerview/path.h"
#include "powerview/timeparse.h"
#include "powerview/windows.h"

typedef struct influx_sink {
	pv_sink base;
	pv_sink_ops ops;     /* the API's: VictoriaMetrics has no downsampling */
	pv_influx_config cfg;
	pv_http *http;
	char *org_id;        /* resolved once per run (v2) */
	char **known;        /* buckets (databases) known to exist this run */
	size_t nknown;
	char *bucket;        /* of the current file */
	char *write_path;    /* /api/v2/write?... for the current file */
	/* the sender thread and its two slots */
	pthread_t sender;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct slot *slots;
	int head, queued;
	bool stop;
	int failed;          /* first failure of the current file */
	pv_err fail_err;
} influx_sink;

/* ---- settings ---- */

static int
env_number(const char *name, double def, double lo, double hi, double *out, pv_err *err)
{
	const char *s = getenv(name);
	char *end;

	*out = def;
	if (s == NULL || s[0] == '\0')
		return PV_OK;
	*out = strtod(s, &end);
	if (end == s || *end != '\0' || !(*out >= lo && *out <= hi))
		return pv_fail(err, PV_ECONFIG, "%s must be a number from %g to %g, not '%s'", name, lo,
		    hi, s);
	return PV_OK;
}

static const char *
env_or(const char *name, const char *def)
{
	const char *s = getenv(name);

	return s && s[0] ? s : def;
}

/*
 * Compression pays over a network; on the loopback interface it only costs
 * CPU on both ends, so TSV_GZIP=auto sends plain text to a local server.
 */
static bool
loopback(const char *url)
{
	const char *h = strstr(url, "://"), *end, *at;
	char host[256];
	size_t n;

	h = h ? h + 3 : url;
	end = h + strcspn(h, "/?#");
	/* user:password@ is not the host */
	if ((at = memchr(h, '@', (size_t)(end - h))) != NULL)
		h = at + 1;
	if (*h == '[')
		n = strcspn(h, "]") + 1;
	else
		n = strcspn(h, ":/?#");
	if (n == 0 || n >= sizeof(host) || h + n > end)
		return false;
	memcpy(host, h, n);
	host[n] = '\0';
	return strcasecmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
	    strcmp(host, "[::1]") == 0;
}

int
pv_influx_config_from_env(pv_influx_config *c, pv_err *err)
{
	const char *api = env_or("INFLUXDB_API", "v2");
	double v;
	int rc;

	memset(c, 0, sizeof(*c));
	if (strcmp(api, "v2") == 0)
		c->api = PV_API_V2;
	else if (strcmp(api, "v1") == 0)
		c->api = PV_API_V1;
	else if (strcmp(api, "vm") == 0)
		c->api = PV_API_VM;
	else
		return pv_fail(err, PV_ECONFIG, "INFLUXDB_API must be v2, v1 or vm, not '%s'", api);
	c->url = env_or("INFLUXDB_HOST", env_or("INFLUXDB_URL", NULL));
	c->org = env_or("INFLUXDB_ORG", NULL);
	c->token = env_or("INFLUXDB_ADMIN_TOKEN", NULL);
	c->username = env_or("INFLUXDB_USERNAME", NULL);
	c->password = env_or("INFLUXDB_PASSWORD", NULL);
	c->meta_bucket = env_or("TSV_META_BUCKET", "powerview_meta");
	if (c->url == NULL)
		return pv_fail(err, PV_ECONFIG, "INFLUXDB_HOST (or INFLUXDB_URL) is not set");
	if (c->api == PV_API_V2 && c->token == NULL)
		return pv_fail(err, PV_ECONFIG, "INFLUXDB_ADMIN_TOKEN is not set");
	if (c->api == PV_API_V2 && c->org == NULL)
		return pv_fail(err, PV_ECONFIG, "INFLUXDB_ORG is not set");
	if (pv_name_problem(c->meta_bucket) != NULL)
		return pv_fail(err, PV_ECONFIG, "TSV_META_BUCKET %s", pv_name_problem(c->meta_bucket));
	if ((rc = env_number("INFLUXDB_BUCKET_RETENTION", 0, 0, 1e10, &v, err)) < 0)
		return rc;
	c->retention_s = (long)v;
	if ((rc = env_number("TSV_BATCH_LINES", 5000, 1, 1e7, &v, err)) < 0)
		return rc;
	c->batch_lines = (size_t)v;
	if ((rc = env_number("TSV_BATCH_BYTES", 4 << 20, 4096, 1 << 30, &v, err)) < 0)
		return rc;
	c->batch_bytes = (size_t)v;
	const char *gz = env_or("TSV_GZIP", "1");
	if (strcmp(gz, "auto") == 0)
		c->gzip = !loopback(c->url);
	else if (strcmp(gz, "1") == 0 || strcmp(gz, "0") == 0)
		c->gzip = gz[0] == '1';
	else
		return pv_fail(err, PV_ECONFIG, "TSV_GZIP must be auto, 1 or 0, not '%s'", gz);
	if ((rc = env_number("TSV_HTTP_CONNECT_TIMEOUT", 10, 0.001, 3600, &v, err)) < 0)
		return rc;
	c->connect_timeout_ms = (long)(v * 1000);
	if ((rc = env_number("TSV_HTTP_ANSWER_TIMEOUT", 60, 0.001, 86400, &v, err)) < 0)
		return rc;
	c->answer_timeout_ms = (long)(v * 1000);
	if ((rc = env_number("TSV_HTTP_TIMEOUT", 120, 0.001, 86400, &v, err)) < 0)
		return rc;
	c->timeout_ms = (long)(v * 1000);
	if ((rc = env_number("TSV_RETRY_BUDGET", 120, 0, 86400, &c->retry_budget_s, err)) < 0)
		return rc;
	if ((rc = env_number("TSV_RETRY_AFTER_MAX", 60, 0, 86400, &c->retry_after_max_s, err)) < 0)
		return rc;
	return PV_OK;
}

/* ---- quoting ---- */

char *
pv_flux_quote(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(n * 2 + 1), *p = out;

	if (out == NULL)
		return NULL;
	for (; *s; s++) {
		switch (*s) {
		case '\\': case '"': *p++ = '\\'; *p++ = *s; break;
		case '\n': *p++ = '\\'; *p++ = 'n'; break;
		case '\r': *p++ = '\\'; *p++ = 'r'; break;
		case '\t': *p++ = '\\'; *p++ = 't'; break;
		case '$':
			/* "${" starts an interpolation in Flux strings */
			if (s[1] == '{')
				*p++ = '\\';
			*p++ = '$';
			break;
		default: *p++ = *s;
		}
	}
	*p = '\0';
	return out;
}

static char *
quote_with(const char *s, char q)
{
	size_t n = strlen(s);
	char *out = malloc(n * 2 + 3), *p = out;

	if (out == NULL)
		return NULL;
	*p++ = q;
	for (; *s; s++) {
		if (*s == q || *s == '\\')
			*p++ = '\\';
		*p++ = *s;
	}
	*p++ = q;
	*p = '\0';
	return out;
}

char *
pv_influxql_string(const char *s)
{
	return quote_with(s, '\'');
}

char *
pv_influxql_ident(const char *s)
{
	return quote_with(s, '"');
}

/* PromQL label values are Go-style "..." strings. */
static char *
promql_string(const char *s)
{
	return quote_with(s, '"');
}

/* ---- InfluxDB 2: org and buckets ---- */

static int
status_error(pv_err *err, const char *what, const pv_http_resp *r)
{
	char msg[400];

	pv_http_message(r, msg, sizeof(msg));
	if (r->status == 401 || r->status == 403)
		return pv_fail(err, PV_ECONFIG, "%s: HTTP %ld (check the token and its permissions): %s",
		    what, r->status, msg);
	if (r->status >= 500)
		return pv_fail(err, PV_ETEMP, "%s: HTTP %ld: %s", what, r->status, msg);
	return pv_fail(err, PV_ECONFIG, "%s: HTTP %ld: %s", what, r->status, msg);
}

bool
pv_influx_is_id(const char *s)
{
	if (strlen(s) != 16)
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s))
			return false;
	return true;
}

static int
org_id(influx_sink *f, pv_err *err)
{
	pv_http_resp r;
	char *q, *path = NULL;
	int rc;

	if (f->org_id != NULL)
		return PV_OK;
	if (pv_influx_is_id(f->cfg.org))
		return (f->org_id = strdup(f->cfg.org)) ? PV_OK : pv_fail(err, PV_ENOMEM, "out of memory");
	if ((q = pv_http_escape(f->http, f->cfg.org)) == NULL || asprintf(&path, "/api/v2/orgs?org=%s", q) < 0) {
		free(q);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	free(q);
	rc = pv_http_request(f->http, &r, "GET", path, NULL, NULL, NULL, 0, err);
	free(path);
	if (rc < 0)
		return rc;
	if (r.status == 200) {
		cJSON *j = cJSON_Parse(r.body), *o;
		cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(j, "orgs")) {
			const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
			if (cJSON_IsString(name) && cJSON_IsString(id) && strcmp(name->valuestring, f->cfg.org) == 0)
				f->org_id = strdup(id->valuestring);
		}
		cJSON_Delete(j);
		rc = f->org_id ? PV_OK : pv_fail(err, PV_ECONFIG, "organization %s not found", f->cfg.org);
	} else if (r.status == 404)
		rc = pv_fail(err, PV_ECONFIG, "organization %s not found", f->cfg.org);
	else
		rc = status_error(err, "organization lookup", &r);
	pv_http_resp_free(&r);
	return rc;
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
static int
bucket_find(influx_sink *f, const char *bucket, char **id, pv_err *err)
{
	char *q = pv_http_escape(f->http, bucket), *path = NULL;
	pv_http_resp r;
	int rc;

	if (q == NULL || asprintf(&path, "/api/v2/buckets?orgID=%s&name=%s&limit=100", f->org_id, q) < 0) {
		free(q);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	free(q);
	rc = pv_http_request(f->http, &r, "GET", path, NULL, NULL, NULL, 0, err);
	free(path);
	if (rc < 0)
		return rc;
	if (r.status == 200) {
		cJSON *j = cJSON_Parse(r.body), *b;
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
	} else if (r.status == 404)
		rc = 0;
	else
		rc = status_error(err, "bucket lookup", &r);
	pv_http_resp_free(&r);
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
	char *json;
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
	json = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	if (json == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	rc = pv_http_request(f->http, &r, "POST", "/api/v2/buckets", "application/json", NULL, json,
	    strlen(json), err);
	free(json);
	if (rc < 0)
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
		rc = status_error(err, "bucket creation", &r);
	pv_http_resp_free(&r);
	return rc;
}

static int
v1_query(influx_sink *f, pv_http_resp *r, const char *db, const char *q, bool post, pv_err *err)
{
	char *eq = pv_http_escape(f->http, q), *edb = db ? pv_http_escape(f->http, db) : NULL;
	char *path = NULL;
	int rc;

	if (eq == NULL || (db && edb == NULL) ||
	    asprintf(&path, "/query?%s%s%sq=%s", db ? "db=" : "", db ? edb : "", db ? "&" : "", eq) < 0) {
		free(eq);
		free(edb);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	free(eq);
	free(edb);
	rc = pv_http_request(f->http, r, post ? "POST" : "GET", path, NULL, NULL, NULL, 0, err);
	free(path);
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
	char *q = pv_http_escape(f->http, bucket), *path = NULL;
	pv_http_resp r;
	int rc;

	if (q == NULL || asprintf(&path, "/api/v2/dbrps?orgID=%s&db=%s&rp=autogen", f->org_id, q) < 0) {
		free(q);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	free(q);
	rc = pv_http_request(f->http, &r, "GET", path, NULL, NULL, NULL, 0, err);
	free(path);
	if (rc < 0)
		return rc;
	if (r.status == 200) {
		cJSON *j = cJSON_Parse(r.body), *m;
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
	} else
		rc = status_error(err, "DBRP mapping lookup", &r);
	pv_http_resp_free(&r);
	return rc;
}

/*
 * The mapping database = bucket name, retention policy autogen (default)
 * to the bucket, so that InfluxQL (Grafana's InfluxQL mode) reads it;
 * made once, found again on later calls.
 */
static int
dbrp_ensure(influx_sink *f, const char *bucket, const char *bucket_id, pv_err *err)
{
	cJSON *body;
	pv_http_resp r;
	char *json;
	int rc;

	if ((rc = dbrp_find(f, bucket, bucket_id, err)) != 0)
		return rc < 0 ? rc : PV_OK;
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "orgID", f->org_id);
	cJSON_AddStringToObject(body, "bucketID", bucket_id);
	cJSON_AddStringToObject(body, "database", bucket);
	cJSON_AddStringToObject(body, "retention_policy", "autogen");
	cJSON_AddBoolToObject(body, "default", 1);
	json = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	if (json == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	rc = pv_http_request(f->http, &r, "POST", "/api/v2/dbrps", "application/json", NULL, json,
	    strlen(json), err);
	free(json);
	if (rc < 0)
		return rc;
	if (r.status == 201 || r.status == 200)
		pv_info("created the InfluxQL mapping of bucket %s (database %s, retention policy autogen)",
		    bucket, bucket);
	else if (r.status == 422 || r.status == 409) {
		/* EConflict: made meanwhile by another run, or mapped elsewhere */
		rc = dbrp_find(f, bucket, bucket_id, err);
		if (rc == 0)
			rc = status_error(err, "DBRP mapping creation", &r);
		else if (rc > 0)
			rc = PV_OK;
	} else
		rc = status_error(err, "DBRP mapping creation", &r);
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
static const char *const ds_suffix[] = { "1h", "1d", "1w" };
#define N_DS (sizeof(ds_suffix) / sizeof(ds_suffix[0]))

static int ensure_one(influx_sink *f, const char *bucket, bool forever, char **id, pv_err *err);

/* "<bucket>_<suffix>" (NULL: out of memory) */
static char *
ds_bucket(const char *bucket, size_t i)
{
	char *name = NULL;

	if (asprintf(&name, "%s_%s", bucket, ds_suffix[i]) < 0)
		return NULL;
	return name;
}

/* Each downsampled bucket of `bucket`, found or created; ids[i] its id when ids != NULL. */
static int
ensure_downsampled(influx_sink *f, const char *bucket, char **ids, pv_err *err)
{
	for (size_t i = 0; i < N_DS; i++) {
		char *name = ds_bucket(bucket, i);
		const char *bad;
		int rc;

		if (name == NULL)
			return pv_fail(err, PV_ENOMEM, "out of memory");
		if ((bad = pv_name_problem(name)) != NULL) {
			rc = pv_fail(err, PV_EDATA, "downsampled bucket name %s", bad);
			free(name);
			return rc;
		}
		rc = ensure_one(f, name, true, ids ? &ids[i] : NULL, err);
		if (rc == PV_OK && ids != NULL && ids[i] == NULL && (rc = bucket_find(f, name, &ids[i], err)) >= 0 &&
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
static int
ensure_bucket(influx_sink *f, const char *bucket, char **id, pv_err *err)
{
	bool first = !known(f, bucket);
	int rc;

	if ((rc = ensure_one(f, bucket, false, id, err)) < 0)
		return rc;
	if (f->cfg.api == PV_API_V2 && first &&
	    (f->cfg.meta_bucket == NULL || strcmp(bucket, f->cfg.meta_bucket) != 0)) {
		pv_err derr;
		if (ensure_downsampled(f, bucket, NULL, &derr) < 0)
			pv_warn("bucket %s: downsampled buckets: %s", bucket, derr.msg);
	}
	return PV_OK;
}

static int
ensure_one(influx_sink *f, const char *bucket, bool forever, char **id, pv_err *err)
{
	int rc;

	if (id == NULL && known(f, bucket))
		return PV_OK;
	if (f->cfg.api == PV_API_VM)
		return remember(f, bucket);
	if (f->cfg.api == PV_API_V1) {
		/* CREATE DATABASE is idempotent in InfluxDB 1.x */
		char *ident = pv_influxql_ident(bucket), *q = NULL;
		pv_http_resp r;
		if (ident == NULL || asprintf(&q, "CREATE DATABASE %s", ident) < 0) {
			free(ident);
			return pv_fail(err, PV_ENOMEM, "out of memory");
		}
		free(ident);
		rc = v1_query(f, &r, NULL, q, true, err);
		free(q);
		if (rc < 0)
			return rc;
		if (r.status != 200)
			rc = status_error(err, "CREATE DATABASE", &r);
		pv_http_resp_free(&r);
		return rc < 0 ? rc : remember(f, bucket);
	}
	if ((rc = org_id(f, err)) < 0)
		return rc;
	for (int tries = 0; tries < 3; tries++) {
		if ((rc = bucket_find(f, bucket, id, err)) < 0)
			return rc;
		if (rc == 1)
			return remember(f, bucket);
		char *made = NULL;
		if ((rc = bucket_create(f, bucket, forever, &made, err)) < 0)
			return rc;
		if (rc == 0) {
			pv_err derr;
			/* InfluxQL reads the bucket through it; the points are safe without it */
			if (made != NULL && dbrp_ensure(f, bucket, made, &derr) < 0)
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

/* ---- writes ---- */

static int
write_path(influx_sink *f, const char *bucket, pv_err *err)
{
	char *b = pv_http_escape(f->http, bucket), *o = NULL;
	int rc = -1;

	free(f->write_path);
	f->write_path = NULL;
	if (b == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	switch (f->cfg.api) {
	case PV_API_V2:
		/* the org as configured: a name, or an id used as is */
		o = pv_http_escape(f->http, f->cfg.org);
		if (o)
			rc = asprintf(&f->write_path, "/api/v2/write?%s=%s&bucket=%s&precision=s",
			    pv_influx_is_id(f->cfg.org) ? "orgID" : "org", o, b);
		break;
	case PV_API_V1:
		rc = asprintf(&f->write_path, "/write?db=%s&precision=s", b);
		break;
	case PV_API_VM: {
		/* VictoriaMetrics ignores `bucket`: the company becomes the label db, as with /write?db= */
		char *label = NULL, *el = NULL;
		if (asprintf(&label, "db=%s", bucket) >= 0 && (el = pv_http_escape(f->http, label)) != NULL)
			rc = asprintf(&f->write_path, "/api/v2/write?bucket=%s&extra_label=%s&precision=s", b, el);
		free(label);
		free(el);
		break;
	}
	}
	free(b);
	free(o);
	if (rc < 0) {
		f->write_path = NULL;
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	return PV_OK;
}

/*
 * Writes are pipelined: the reading thread encodes and compresses batch
 * N+1 while a sender thread posts batch N and waits for the server. Two
 * slots; the curl handle belongs to the sender while a slot is queued, and
 * to the caller once the queue is drained.
 */
typedef struct slot {
	char *raw;            /* uncompressed lines, kept for a 413 split */
	size_t rawlen, rawcap, nlines;
	unsigned char *gz;
	size_t gzlen, gzcap;
} slot;

static int
gzip_into(unsigned char **out, size_t *cap, size_t *outlen, const char *buf, size_t len, pv_err *err)
{
	z_stream z;
	size_t bound = compressBound((uLong)len) + 32;

	if (bound > *cap) {
		unsigned char *g = realloc(*out, bound);
		if (g == NULL)
			return pv_fail(err, PV_ENOMEM, "out of memory");
		*out = g;
		*cap = bound;
	}
	memset(&z, 0, sizeof(z));
	/* level 1: line protocol repeats itself, the fastest level already shrinks it 10-20x */
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return pv_fail(err, PV_ENOMEM, "cannot start gzip");
	z.next_in = (unsigned char *)buf;
	z.avail_in = (uInt)len;
	z.next_out = *out;
	z.avail_out = (uInt)*cap;
	int zr = deflate(&z, Z_FINISH);
	*outlen = z.total_out;
	deflateEnd(&z);
	return zr == Z_STREAM_END ? PV_OK : pv_fail(err, PV_ENOMEM, "gzip failed");
}

/* Inflates a gzip body of `len` bytes once compressed from `rawlen` bytes; free() the result. */
static char *
gunzip(const unsigned char *gz, size_t len, size_t rawlen)
{
	char *raw = malloc(rawlen + 1);
	z_stream z;

	memset(&z, 0, sizeof(z));
	if (raw == NULL || inflateInit2(&z, 15 + 16) != Z_OK) {
		free(raw);
		return NULL;
	}
	z.next_in = (unsigned char *)gz;
	z.avail_in = (uInt)len;
	z.next_out = (unsigned char *)raw;
	z.avail_out = (uInt)rawlen + 1;
	int zr = inflate(&z, Z_FINISH);
	bool whole = zr == Z_STREAM_END && z.total_out == rawlen;
	inflateEnd(&z);
	if (!whole) {
		free(raw);
		return NULL;
	}
	return raw;
}

/*
 * Posts `nlines` lines of `len` bytes: `buf` is the text (NULL when only `gz`,
 * its compressed form, is at hand), gz NULL compresses here. Splits on 413.
 */
static int
post_lines(influx_sink *f, const char *buf, size_t len, size_t nlines, const unsigned char *gz,
    size_t gzlen, pv_err *err)
{
	pv_http_resp r;
	const void *body = buf;
	size_t blen = len;
	unsigned char *own = NULL;
	size_t owncap = 0;
	int rc;

	if (f->cfg.gzip) {
		if (gz == NULL) {
			if ((rc = gzip_into(&own, &owncap, &gzlen, buf, len, err)) < 0)
				return free(own), rc;
			gz = own;
		}
		body = gz;
		blen = gzlen;
	}
	rc = pv_http_request(f->http, &r, "POST", f->write_path, "text/plain; charset=utf-8",
	    f->cfg.gzip ? "gzip" : NULL, body, blen, err);
	free(own);
	if (rc < 0)
		return rc;
	if (r.status == 204 || r.status == 200) {
		rc = PV_OK;
	} else if (r.status == 413 && nlines > 1) {
		/* too large for the server: halves, on a line boundary */
		char *mine = NULL;
		if (buf == NULL && (buf = mine = gunzip(gz, gzlen, len)) == NULL) {
			pv_http_resp_free(&r);
			return pv_fail(err, PV_ENOMEM, "cannot inflate a batch to split it");
		}
		size_t half = nlines / 2, k = 0, cut = 0;
		while (k < half) {
			const char *nl = memchr(buf + cut, '\n', len - cut);
			cut = (size_t)(nl - buf) + 1;
			k++;
		}
		pv_http_resp_free(&r);
		pv_debug("batch of %zu lines too large for the server: splitting", nlines);
		if ((rc = post_lines(f, buf, cut, half, NULL, 0, err)) == PV_OK)
			rc = post_lines(f, buf + cut, len - cut, nlines - half, NULL, 0, err);
		free(mine);
		return rc;
	} else if (r.status == 400 || r.status == 422 || r.status == 413) {
		char msg[400];
		pv_http_message(&r, msg, sizeof(msg));
		rc = pv_fail(err, PV_EDATA, "refused by the server (HTTP %ld): %s", r.status, msg);
	} else if (r.status == 404) {
		char msg[400];
		pv_http_message(&r, msg, sizeof(msg));
		rc = pv_fail(err, PV_ECONFIG, "write to %s: HTTP 404: %s", f->bucket, msg);
	} else
		rc = status_error(err, "write", &r);
	pv_http_resp_free(&r);
	return rc;
}

static void *
sender_main(void *arg)
{
	influx_sink *f = arg;

	pthread_mutex_lock(&f->mu);
	for (;;) {
		while (f->queued == 0 && !f->stop)
			pthread_cond_wait(&f->cv, &f->mu);
		if (f->queued == 0 && f->stop)
			break;
		slot *sl = &f->slots[f->head];
		bool skip = f->failed != PV_OK; /* after a failure the file's later batches stay unsent */
		pthread_mutex_unlock(&f->mu);

		pv_err err = { "" };
		int rc = skip ? PV_OK : post_lines(f, f->cfg.gzip ? NULL : sl->raw, sl->rawlen, sl->nlines,
		    f->cfg.gzip ? sl->gz : NULL, sl->gzlen, &err);

		pthread_mutex_lock(&f->mu);
		if (rc < 0 && f->failed == PV_OK) {
			f->failed = rc;
			f->fail_err = err;
		}
		f->head = (f->head + 1) % 2;
		f->queued--;
		pthread_cond_broadcast(&f->cv);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

/* Waits for the queue to empty; returns the first failure since the last take. */
static int
drain(influx_sink *f, pv_err *err, bool take)
{
	int rc;

	pthread_mutex_lock(&f->mu);
	while (f->queued > 0)
		pthread_cond_wait(&f->cv, &f->mu);
	rc = f->failed;
	if (rc < 0 && err)
		*err = f->fail_err;
	if (take)
		f->failed = PV_OK;
	pthread_mutex_unlock(&f->mu);
	return rc;
}

static int
if_begin(pv_sink *s, const char *bucket, pv_err *err)
{
	influx_sink *f = (influx_sink *)s;
	int rc;

	drain(f, NULL, true);
	if ((rc = ensure_bucket(f, bucket, NULL, err)) < 0)
		return rc;
	free(f->bucket);
	if ((f->bucket = strdup(bucket)) == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	return write_path(f, bucket, err);
}

static int
if_write(pv_sink *s, const char *buf, size_t len, size_t nlines, pv_err *err)
{
	influx_sink *f = (influx_sink *)s;
	slot *sl;
	int rc;

	pthread_mutex_lock(&f->mu);
	while (f->queued == 2 && f->failed == PV_OK)
		pthread_cond_wait(&f->cv, &f->mu);
	rc = f->failed;
	if (rc < 0)
		*err = f->fail_err;
	pthread_mutex_unlock(&f->mu);
	if (rc < 0)
		return rc;

	/* the free slot is the sender's only once queued: filling it needs no lock */
	pthread_mutex_lock(&f->mu);
	sl = &f->slots[(f->head + f->queued) % 2];
	pthread_mutex_unlock(&f->mu);
	sl->rawlen = len;
	sl->nlines = nlines;
	if (f->cfg.gzip) {
		/* only the compressed form is kept: a 413 split inflates it again */
		if ((rc = gzip_into(&sl->gz, &sl->gzcap, &sl->gzlen, buf, len, err)) < 0)
			return rc;
	} else {
		if (len > sl->rawcap) {
			char *raw = realloc(sl->raw, len);
			if (raw == NULL)
				return pv_fail(err, PV_ENOMEM, "out of memory");
			sl->raw = raw;
			sl->rawcap = len;
		}
		memcpy(sl->raw, buf, len);
	}

	pthread_mutex_lock(&f->mu);
	f->queued++;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	return PV_OK;
}

static int
if_commit(pv_sink *s, pv_err *err)
{
	/* the file is stored once every batch was acknowledged */
	return drain((influx_sink *)s, err, true);
}

static int
if_abort(pv_sink *s)
{
	drain((influx_sink *)s, NULL, true);
	return 0; /* written points stay; a rerun overwrites them with the same values */
}

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
 * each NUL-terminated, a line's trailing CR dropped. Returns the number of
 * fields, 0 for a blank line, -1 at the end of the text.
 */
static int
csv_record(char **p, char **field, int max)
{
	char *s = *p;
	int nf = 0;

	if (*s == '\0')
		return -1;
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
		if (nf < max)
			field[nf] = start;
		nf++;
		if (sep != ',') {
			*p = sep == '\0' ? s : s + 1;
			break;
		}
		s++;
	}
	return nf == 1 && field[0][0] == '\0' ? 0 : nf;
}

/*
 * Flux's CSV answer (annotations or not): in each table, the header names
 * the columns; every row's _value goes to the file of its file_name (n 0:
 * nothing tallied). A table with an `error` column is Flux failing after
 * the 200: PV_ETEMP naming `what`.
 */
static int
csv_counts(char *body, const char *what, const pv_count_query *q, size_t n, uint64_t *out, pv_err *err)
{
	char *p = body, *f[64];
	int nf, value = -1, name = -1, error = -1;
	bool header = true;

	while ((nf = csv_record(&p, f, 64)) >= 0) {
		if (nf == 0) {
			header = true; /* a blank line ends a table */
			continue;
		}
		if (f[0][0] == '#')
			continue; /* #datatype, #group, #default */
		if (nf > 64)
			nf = 64;
		if (header) {
			value = name = error = -1;
			for (int i = 0; i < nf; i++) {
				if (strcmp(f[i], "_value") == 0)
					value = i;
				else if (strcmp(f[i], "file_name") == 0)
					name = i;
				else if (strcmp(f[i], "error") == 0)
					error = i;
			}
			header = false;
		} else if (error >= 0 && error < nf)
			return pv_fail(err, PV_ETEMP, "%s: %.300s", what, f[error]);
		else if (value >= 0 && value < nf)
			tally(q, n, out, name >= 0 && name < nf ? f[name] : NULL, strtoull(f[value], NULL, 10));
	}
	return PV_OK;
}

/*
 * One Flux query for the group: the device's points in the group's span,
 * counted per file_name (or all together without file names).
 */
static int
count_v2(influx_sink *f, const pv_count_query *q, size_t n, uint64_t *out, pv_err *err)
{
	char start[32], stop[32], *b = pv_flux_quote(q->bucket), *m = pv_flux_quote(q->measurement);
	char *c = pv_flux_quote(q->campaign), *d = pv_flux_quote(q->master_sn), *flux = NULL, *path = NULL;
	int64_t first, last;
	pv_http_resp r;
	int rc;

	span(q, n, &first, &last);
	rfc3339(start, sizeof(start), first);
	rfc3339(stop, sizeof(stop), last + 1); /* stop is exclusive */
	if (!b || !m || !c || !d ||
	    asprintf(&flux,
		"from(bucket: \"%s\")\n"
		"  |> range(start: %s, stop: %s)\n"
		"  |> filter(fn: (r) => r._measurement == \"%s\" and r.campaign == \"%s\" and r.device_master_sn == \"%s\")\n"
		"  |> group(%s)\n"
		"  |> count()\n",
		b, start, stop, m, c, d, q->file_name ? "columns: [\"file_name\"]" : "") < 0 ||
	    asprintf(&path, "/api/v2/query?orgID=%s", f->org_id) < 0) {
		rc = pv_fail(err, PV_ENOMEM, "out of memory");
		goto out;
	}
	rc = pv_http_request(f->http, &r, "POST", path, "application/vnd.flux", NULL, flux,
	    strlen(flux), err);
	if (rc < 0)
		goto out;
	if (r.status == 200)
		rc = csv_counts(r.body ? r.body : "", "count query", q, n, out, err);
	else
		rc = status_error(err, "count query", &r);
	pv_http_resp_free(&r);
out:
	free(b);
	free(m);
	free(c);
	free(d);
	free(flux);
	free(path);
	return rc;
}

/* One InfluxQL query for the group, GROUP BY "file_name"; every count column summed. */
static int
count_v1(influx_sink *f, const pv_count_query *q, size_t n, uint64_t *out, pv_err *err)
{
	char start[32], stop[32];
	char *m = pv_influxql_ident(q->measurement), *c = pv_influxql_string(q->campaign);
	char *d = pv_influxql_string(q->master_sn), *sql = NULL;
	int64_t first, last;
	pv_http_resp r;
	int rc;

	span(q, n, &first, &last);
	rfc3339(start, sizeof(start), first);
	rfc3339(stop, sizeof(stop), last);
	if (!m || !c || !d ||
	    asprintf(&sql,
		"SELECT count(*) FROM %s WHERE \"campaign\" = %s AND \"device_master_sn\" = %s"
		" AND time >= '%s' AND time <= '%s'%s",
		m, c, d, start, stop, q->file_name ? " GROUP BY \"file_name\"" : "") < 0) {
		rc = pv_fail(err, PV_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = v1_query(f, &r, q->bucket, sql, false, err)) < 0)
		goto out;
	if (r.status == 200) {
		cJSON *j = cJSON_Parse(r.body), *res, *ser, *row, *v;
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
	} else
		rc = status_error(err, "count query", &r);
	pv_http_resp_free(&r);
out:
	free(m);
	free(c);
	free(d);
	free(sql);
	return rc;
}

/* One PromQL query for the group: sum by (file_name) of count_over_time over the span. */
static int
count_vm(influx_sink *f, const pv_count_query *q, size_t n, uint64_t *out, pv_err *err)
{
	char *c = promql_string(q->campaign), *d = promql_string(q->master_sn), *db = promql_string(q->bucket);
	char *m = NULL, *re = NULL, *promql = NULL, *e = NULL, *path = NULL;
	int64_t first, last;
	pv_http_resp r;
	int rc;

	span(q, n, &first, &last);
	/* the measurement becomes the metric name prefix: "electrical_<field>" */
	if (!c || !d || !db || asprintf(&re, "%s_.+", q->measurement) < 0 ||
	    (m = promql_string(re)) == NULL ||
	    asprintf(&promql, "sum%s(count_over_time({__name__=~%s,db=%s,campaign=%s,device_master_sn=%s}[%llds]))",
		q->file_name ? " by (file_name) " : "", m, db, c, d, (long long)(last - first + 2)) < 0 ||
	    (e = pv_http_escape(f->http, promql)) == NULL ||
	    asprintf(&path, "/api/v1/query?query=%s&time=%lld", e, (long long)last + 1) < 0) {
		rc = pv_fail(err, PV_ENOMEM, "out of memory");
		goto out;
	}
	/* fresh samples become searchable after a flush: ask for it (harmless if refused) */
	if (pv_http_request(f->http, &r, "GET", "/internal/force_flush", NULL, NULL, NULL, 0, err) == PV_OK)
		pv_http_resp_free(&r);
	if ((rc = pv_http_request(f->http, &r, "GET", path, NULL, NULL, NULL, 0, err)) < 0)
		goto out;
	if (r.status == 200) {
		cJSON *j = cJSON_Parse(r.body), *res;
		cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(j, "data"), "result")) {
			const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(res, "metric"), "file_name"));
			const cJSON *val = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(res, "value"), 1);
			if (cJSON_IsString(val))
				tally(q, n, out, name, strtoull(val->valuestring, NULL, 10));
		}
		cJSON_Delete(j);
	} else
		rc = status_error(err, "count query", &r);
	pv_http_resp_free(&r);
out:
	free(c);
	free(d);
	free(db);
	free(m);
	free(re);
	free(promql);
	free(e);
	free(path);
	return rc;
}

static int
if_count(pv_sink *s, const pv_count_query *q, size_t n, uint64_t *out, pv_err *err)
{
	influx_sink *f = (influx_sink *)s;

	drain(f, NULL, false);
	for (size_t i = 0; i < n; i++)
		out[i] = 0; /* a file the answer does not name has no point in the database */
	switch (f->cfg.api) {
	case PV_API_V2: return count_v2(f, q, n, out, err);
	case PV_API_V1: return count_v1(f, q, n, out, err);
	default: return count_vm(f, q, n, out, err);
	}
}

static void
if_free(pv_sink *s)
{
	influx_sink *f = (influx_sink *)s;

	if (f->started) {
		pthread_mutex_lock(&f->mu);
		f->stop = true;
		pthread_cond_broadcast(&f->cv);
		pthread_mutex_unlock(&f->mu);
		pthread_join(f->sender, NULL);
	}
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	for (int i = 0; f->slots && i < 2; i++) {
		free(f->slots[i].raw);
		free(f->slots[i].gz);
	}
	free(f->slots);
	pv_http_close(f->http);
	free(f->org_id);
	for (size_t i = 0; i < f->nknown; i++)
		free(f->known[i]);
	free(f->known);
	free(f->bucket);
	free(f->write_path);
	free(f);
}

static const char *
if_unavailable(pv_sink *s)
{
	influx_sink *f = (influx_sink *)s;

	drain(f, NULL, false); /* the sender may be the one finding out */
	return pv_http_down(f->http);
}

/* (v1_exec and the downsampling below need the declarations of the token part) */
static int v1_exec(influx_sink *f, const char *q, const char *what, cJSON **json, pv_err *err);

/* ---- downsampling ---- */

#define DS_FIELDS_MAX 20000  /* numeric fields of a measurement: beyond, the answer is refused */
#define DS_MEASUREMENT "electrical"

/*
 * tags false: the float and integer fields of "<db>"."autogen"."electrical"
 * (mean() of a string or boolean field fails the whole statement); tags
 * true: its tag keys but file_name (a window's mean covers every file of a
 * series). *n 0: none.
 */
static int
v1_keys(influx_sink *f, const char *db, bool tags, char ***out, size_t *n, pv_err *err)
{
	char *ident = pv_influxql_ident(db), *m = pv_influxql_ident(DS_MEASUREMENT), *q = NULL;
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
	rc = v1_exec(f, q, tags ? "SHOW TAG KEYS" : "SHOW FIELD KEYS", &j, err);
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
	char *eq = NULL, *body = NULL;
	const char *why = NULL;
	cJSON *j = NULL, *res;
	const cJSON *e;
	size_t got = 0;
	pv_http_resp r;
	int rc;

	if ((eq = pv_http_escape(f->http, q)) == NULL || asprintf(&body, "q=%s", eq) < 0) {
		free(eq);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	free(eq);
	rc = pv_http_request(f->http, &r, "POST", "/query", "application/x-www-form-urlencoded", NULL, body,
	    strlen(body), err);
	free(body);
	if (rc < 0)
		return rc;
	if (r.status != 200)
		rc = status_error(err, "downsampling query", &r);
	else if ((j = cJSON_Parse(r.body)) == NULL)
		rc = pv_fail(err, PV_ETEMP, "downsampling query: the server's answer is not JSON");
	pv_http_resp_free(&r);
	if (rc < 0)
		return rc;
	e = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (cJSON_IsString(e)) {
		rc = pv_fail(err, PV_ETEMP, "downsampling query: %s", e->valuestring);
		goto out;
	}
	cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(j, "results")) {
		e = cJSON_GetObjectItemCaseSensitive(res, "error");
		got++;
		if (cJSON_IsString(e) && why == NULL)
			why = e->valuestring;
	}
	/* the first failure is named; after it the server may run, and answer, nothing */
	if (why != NULL)
		/* 1.6 may answer a request whose statement failed with only "not executed" */
		rc = pv_fail(err, PV_ETEMP, "downsampling into %s_%s failed: %s%s", db, pv_level_name(level),
		    why, strcmp(why, "not executed") == 0 ? " (the server gave no reason: a field "
		    "type conflict in that database, or a write it refused)" : "");
	else if (got != nstmt)
		rc = pv_fail(err, PV_ETEMP, "downsampling query: %zu results for %zu statements", got, nstmt);
out:
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

/*
 * InfluxDB 1.x: per level, the range walked in chunks (pv_windows_chunk,
 * pv_downsample_chunk_max), one POST /query each.
 */
static int
downsample_v1(influx_sink *f, const char *db, int64_t tmin, int64_t tmax, pv_tz *tz,
    const pv_level *levels, size_t nlevels, pv_downsample_figure *out, pv_err *err)
{
	char **fields = NULL, **tags = NULL;
	size_t nfields = 0, ntags = 0;
	uint64_t nw[PV_LEVELS_MAX] = { 0 };
	int rc;

	if (nlevels > PV_LEVELS_MAX)
		return pv_fail(err, PV_EDATA, "more than %d downsampling levels", PV_LEVELS_MAX);
	/* the downsampled databases: CREATE DATABASE is idempotent, once a run */
	for (size_t i = 0; i < nlevels; i++) {
		char *name = NULL;
		if (asprintf(&name, "%s_%s", db, pv_level_name(levels[i])) < 0)
			return pv_fail(err, PV_ENOMEM, "out of memory");
		rc = ensure_bucket(f, name, NULL, err);
		free(name);
		if (rc < 0)
			return rc;
	}
	if ((rc = v1_keys(f, db, false, &fields, &nfields, err)) < 0 ||
	    (nfields > 0 && (rc = v1_keys(f, db, true, &tags, &ntags, err)) < 0))
		goto out;
	/* nfields 0: nothing to average, every level done, no window written */
	for (size_t i = 0; i < nlevels && nfields > 0 && rc == PV_OK; i++) {
		int64_t from = tmin;
		bool more = true;

		while (more && rc == PV_OK) {
			pv_window *w = NULL;
			size_t n = 0;
			char *q = NULL;

			if ((rc = pv_windows_chunk(tz, levels[i], from, tmax,
			    pv_downsample_chunk_max(levels[i], tz), &w, &n, &more, err)) < 0)
				break;
			rc = pv_downsample_influxql(&q, db, levels[i], tz, (const char *const *)fields, nfields,
			    (const char *const *)tags, ntags, w, n, err);
			from = w[n - 1].end;
			free(w);
			/* as pv_downsample_influxql builds them: one grouped statement, or one a window */
			if (rc == PV_OK)
				rc = v1_ds_post(f, db, levels[i], q, pv_downsample_per_window(levels[i], tz) ? n : 1, err);
			free(q);
			if (rc == PV_OK) {
				nw[i] += n;
				if (more)
					rc = ds_stopped(err);
			}
		}
	}
out:
	if (rc == PV_OK) {
		out->n = nlevels;
		for (size_t i = 0; i < nlevels; i++) {
			out->levels[i] = levels[i];
			out->windows[i] = nw[i];
		}
	}
	for (size_t i = 0; i < nfields; i++)
		free(fields[i]);
	free(fields);
	for (size_t i = 0; i < ntags; i++)
		free(tags[i]);
	free(tags);
	return rc;
}

/*
 * InfluxDB 2: per level, the range walked in chunks, one Flux query each
 * (pv_downsample_flux), every field of the measurement averaged
 * (PowerView writes floats only). The answer is the count of the rows
 * written, not the rows.
 */
static int
downsample_v2(influx_sink *f, const char *bucket, int64_t tmin, int64_t tmax, pv_tz *tz,
    const pv_level *levels, size_t nlevels, pv_downsample_figure *out, pv_err *err)
{
	uint64_t nw[PV_LEVELS_MAX] = { 0 };
	char *path = NULL;
	int rc;

	if (nlevels > PV_LEVELS_MAX)
		return pv_fail(err, PV_EDATA, "more than %d downsampling levels", PV_LEVELS_MAX);
	if ((rc = org_id(f, err)) < 0 || (rc = ensure_downsampled(f, bucket, NULL, err)) < 0)
		return rc;
	if (asprintf(&path, "/api/v2/query?orgID=%s", f->org_id) < 0)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	for (size_t i = 0; i < nlevels && rc == PV_OK; i++) {
		int64_t from = tmin;
		bool more = true;

		while (more && rc == PV_OK) {
			pv_window *w = NULL;
			size_t n = 0;
			char *flux = NULL;
			pv_http_resp r;

			if ((rc = pv_windows_chunk(tz, levels[i], from, tmax,
			    pv_downsample_chunk_max(levels[i], tz), &w, &n, &more, err)) < 0)
				break;
			rc = pv_downsample_flux(&flux, f->cfg.org, bucket, levels[i], tz, NULL, 0, w, n, err);
			from = w[n - 1].end;
			free(w);
			if (rc < 0)
				break;
			rc = pv_http_request(f->http, &r, "POST", path, "application/vnd.flux", NULL, flux,
			    strlen(flux), err);
			free(flux);
			if (rc < 0)
				break;
			if (r.status != 200)
				rc = status_error(err, "downsampling query", &r);
			else
				rc = csv_counts(r.body ? r.body : "", "downsampling query", NULL, 0, NULL, err);
			pv_http_resp_free(&r);
			if (rc == PV_OK) {
				nw[i] += n;
				if (more)
					rc = ds_stopped(err);
			}
		}
		if (rc < 0 && err != NULL) {
			char why[sizeof(err->msg)];
			snprintf(why, sizeof(why), "%s", err->msg);
			pv_fail(err, rc, "downsampling into %s_%s: %s", bucket, pv_level_name(levels[i]), why);
		}
	}
	free(path);
	if (rc < 0)
		return rc;
	out->n = nlevels;
	for (size_t i = 0; i < nlevels; i++) {
		out->levels[i] = levels[i];
		out->windows[i] = nw[i];
	}
	return PV_OK;
}

static int
if_downsample(pv_sink *s, const char *bucket, int64_t tmin, int64_t tmax, pv_tz *tz,
    const pv_level *levels, size_t nlevels, pv_downsample_figure *out, pv_err *err)
{
	influx_sink *f = (influx_sink *)s;

	out->n = 0;
	drain(f, NULL, false);
	switch (f->cfg.api) {
	case PV_API_V1:
		return downsample_v1(f, bucket, tmin, tmax, tz, levels, nlevels, out, err);
	case PV_API_V2:
		return downsample_v2(f, bucket, tmin, tmax, tz, levels, nlevels, out, err);
	default:
		return 1;
	}
}

static const pv_sink_ops influx_ops = {
	if_begin, if_write, if_commit, if_abort, if_free, if_count, NULL, if_unavailable, if_downsample
};

static int
open_http(pv_http **http, const pv_influx_config *cfg, char **userpwd, pv_err *err)
{
	pv_http_opts o = {
		.base_url = cfg->url,
		.token = cfg->api == PV_API_V1 && cfg->username ? NULL : cfg->token,
		.connect_timeout_ms = cfg->connect_timeout_ms,
		.answer_timeout_ms = cfg->answer_timeout_ms,
		.timeout_ms = cfg->timeout_ms,
		.retry_budget_s = cfg->retry_budget_s,
		.retry_after_max_s = cfg->retry_after_max_s,
	};

	*userpwd = NULL;
	if (cfg->api == PV_API_V1 && cfg->username) {
		if (asprintf(userpwd, "%s:%s", cfg->username, cfg->password ? cfg->password : "") < 0)
			return pv_fail(err, PV_ENOMEM, "out of memory");
		o.userpwd = *userpwd;
	}
	return pv_http_open(http, &o, err);
}

int
pv_sink_influx_open(pv_sink **out, const pv_influx_config *cfg, pv_err *err)
{
	influx_sink *f = calloc(1, sizeof(*f));
	char *userpwd;
	int rc;

	*out = NULL;
	if (f == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	f->cfg = *cfg;
	rc = open_http(&f->http, cfg, &userpwd, err);
	if (userpwd) {
		memset(userpwd, 0, strlen(userpwd));
		free(userpwd);
	}
	if (rc < 0) {
		free(f);
		return rc;
	}
	f->ops = influx_ops;
	if (cfg->api == PV_API_VM)
		f->ops.downsample = NULL;
	f->base.ops = &f->ops;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	if ((f->slots = calloc(2, sizeof(slot))) == NULL ||
	    pthread_create(&f->sender, NULL, sender_main, f) != 0) {
		pv_sink_free(&f->base);
		return pv_fail(err, PV_ENOMEM, "cannot start the sender thread");
	}
	f->started = true;
	f->base.batch_lines = cfg->batch_lines;
	f->base.batch_bytes = cfg->batch_bytes;
	f->base.meta_bucket = f->cfg.meta_bucket;
	*out = &f->base;
	return PV_OK;
}

/* ---- tsv_parser token ---- */

/*
 * The authorization of a bucket, and which of the buckets ids[0..n) (the raw
 * one first, then its downsampled ones) its permissions cover: bit i of
 * read/write for ids[i].
 */
typedef struct found_auth {
	char *id, *token;
	unsigned read, write;
} found_auth;

static void
scan_auths(const cJSON *list, const char *desc, char *const *ids, size_t n, found_auth *fa)
{
	const cJSON *a, *p;

	cJSON_ArrayForEach(a, list) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(a, "description");
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(a, "id");
		const cJSON *tok = cJSON_GetObjectItemCaseSensitive(a, "token");
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(a, "status");
		if (!cJSON_IsString(d) || strcmp(d->valuestring, desc) != 0 || fa->id != NULL)
			continue;
		if (cJSON_IsString(st) && strcmp(st->valuestring, "active") != 0)
			continue;
		fa->id = cJSON_IsString(id) ? strdup(id->valuestring) : NULL;
		fa->token = cJSON_IsString(tok) && tok->valuestring[0] ? strdup(tok->valuestring) : NULL;
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(a, "permissions")) {
			const cJSON *act = cJSON_GetObjectItemCaseSensitive(p, "action");
			const cJSON *res = cJSON_GetObjectItemCaseSensitive(p, "resource");
			const cJSON *rid = cJSON_GetObjectItemCaseSensitive(res, "id");
			const cJSON *rtype = cJSON_GetObjectItemCaseSensitive(res, "type");
			if (!cJSON_IsString(act) || !cJSON_IsString(rtype) ||
			    strcmp(rtype->valuestring, "buckets") != 0)
				continue;
			unsigned bits = 0;
			for (size_t i = 0; i < n; i++)
				/* a permission without id covers every bucket of the org */
				if (!cJSON_IsString(rid) || strcmp(rid->valuestring, ids[i]) == 0)
					bits |= 1u << i;
			if (strcmp(act->valuestring, "read") == 0)
				fa->read |= bits;
			if (strcmp(act->valuestring, "write") == 0)
				fa->write |= bits;
		}
	}
}

/* Every page of GET /api/v2/authorizations, following links.next. */
static int
find_auth(influx_sink *f, const char *desc, char *const *ids, size_t n, found_auth *fa, pv_err *err)
{
	char *path = NULL;
	int rc = PV_OK;

	if (asprintf(&path, "/api/v2/authorizations?orgID=%s&limit=100", f->org_id) < 0)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	for (int page = 0; path != NULL && page < 10000; page++) {
		pv_http_resp r;
		if ((rc = pv_http_request(f->http, &r, "GET", path, NULL, NULL, NULL, 0, err)) < 0)
			break;
		free(path);
		path = NULL;
		if (r.status != 200) {
			rc = status_error(err, "authorization list", &r);
			pv_http_resp_free(&r);
			break;
		}
		cJSON *j = cJSON_Parse(r.body);
		scan_auths(cJSON_GetObjectItemCaseSensitive(j, "authorizations"), desc, ids, n, fa);
		const cJSON *next = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(j, "links"), "next");
		/* links.next is a path below the server root */
		if (cJSON_IsString(next) && next->valuestring[0] == '/' && fa->id == NULL)
			path = strdup(next->valuestring);
		cJSON_Delete(j);
		pv_http_resp_free(&r);
	}
	free(path);
	return rc;
}

/* read on each of ids[0..n), write on ids[0] (the raw bucket) when `write` */
static int
create_auth(influx_sink *f, const char *desc, char *const *ids, size_t n, bool write, char **token,
    pv_err *err)
{
	cJSON *body = cJSON_CreateObject(), *perms = cJSON_AddArrayToObject(body, "permissions");
	pv_http_resp r;
	char *json;
	int rc;

	cJSON_AddStringToObject(body, "orgID", f->org_id);
	cJSON_AddStringToObject(body, "description", desc);
	for (size_t i = 0; i < n + (write ? 1 : 0); i++) {
		cJSON *p = cJSON_CreateObject(), *res = cJSON_AddObjectToObject(p, "resource");
		cJSON_AddStringToObject(p, "action", i < n ? "read" : "write");
		cJSON_AddStringToObject(res, "type", "buckets");
		cJSON_AddStringToObject(res, "id", i < n ? ids[i] : ids[0]);
		cJSON_AddStringToObject(res, "orgID", f->org_id);
		cJSON_AddItemToArray(perms, p);
	}
	json = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	if (json == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	rc = pv_http_request(f->http, &r, "POST", "/api/v2/authorizations", "application/json", NULL,
	    json, strlen(json), err);
	free(json);
	if (rc < 0)
		return rc;
	if (r.status == 201 || r.status == 200) {
		cJSON *j = cJSON_Parse(r.body);
		const cJSON *tok = cJSON_GetObjectItemCaseSensitive(j, "token");
		if (cJSON_IsString(tok) && tok->valuestring[0])
			*token = strdup(tok->valuestring);
		else
			rc = pv_fail(err, PV_ECONFIG, "the server created the authorization but returned no token");
		cJSON_Delete(j);
	} else
		rc = status_error(err, "authorization creation", &r);
	pv_http_resp_free(&r);
	return rc;
}

static int
delete_auth(influx_sink *f, const char *id, pv_err *err)
{
	char *path = NULL;
	pv_http_resp r;
	int rc;

	if (asprintf(&path, "/api/v2/authorizations/%s", id) < 0)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	rc = pv_http_request(f->http, &r, "DELETE", path, NULL, NULL, NULL, 0, err);
	free(path);
	if (rc < 0)
		return rc;
	if (r.status != 204 && r.status != 200 && r.status != 404)
		rc = status_error(err, "authorization deletion", &r);
	pv_http_resp_free(&r);
	return rc;
}

/* ---- tsv_parser token, InfluxDB 1.x: a user per database ---- */

/*
 * A statement's answer: InfluxDB 1.x says 200 even when a statement fails,
 * with {"results":[{"error": "..."}]}; 401/403 when the admin is not one.
 */
static int
v1_statement_error(pv_err *err, const char *what, const pv_http_resp *r, cJSON **json)
{
	cJSON *j, *res;
	const cJSON *e;

	*json = NULL;
	if (r->status != 200)
		return status_error(err, what, r);
	if ((j = cJSON_Parse(r->body)) == NULL)
		return pv_fail(err, PV_ETEMP, "%s: the server's answer is not JSON", what);
	e = cJSON_GetObjectItemCaseSensitive(j, "error");
	cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(j, "results"))
		if (!cJSON_IsString(e))
			e = cJSON_GetObjectItemCaseSensitive(res, "error");
	if (cJSON_IsString(e)) {
		int rc = pv_fail(err, PV_ECONFIG, "%s: %s", what, e->valuestring);
		cJSON_Delete(j);
		return rc;
	}
	*json = j;
	return PV_OK;
}

/*
 * One InfluxQL statement as a POST form (q=... in the body, not the URL:
 * the statements that carry a password must not reach an access log).
 * `what` names it in errors: the statement itself is never shown.
 */
static int
v1_exec(influx_sink *f, const char *q, const char *what, cJSON **json, pv_err *err)
{
	char *eq = pv_http_escape(f->http, q), *body = NULL;
	cJSON *own = NULL;
	pv_http_resp r;
	int rc;

	if (eq == NULL || asprintf(&body, "q=%s", eq) < 0) {
		if (eq)
			memset(eq, 0, strlen(eq));
		free(eq);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	memset(eq, 0, strlen(eq));
	free(eq);
	rc = pv_http_request(f->http, &r, "POST", "/query", "application/x-www-form-urlencoded", NULL,
	    body, strlen(body), err);
	memset(body, 0, strlen(body));
	free(body);
	if (rc < 0)
		return rc;
	rc = v1_statement_error(err, what, &r, json ? json : &own);
	cJSON_Delete(own);
	pv_http_resp_free(&r);
	return rc;
}

/* 1 and *admin when SHOW USERS lists user, 0 when not, < 0 error. */
static int
v1_user_find(influx_sink *f, const char *user, bool *admin, pv_err *err)
{
	cJSON *j, *res, *s, *row;
	int rc;

	if ((rc = v1_exec(f, "SHOW USERS", "SHOW USERS", &j, err)) < 0)
		return rc;
	/* columns: user, admin */
	cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(j, "results"))
		cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(res, "series"))
			cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(s, "values")) {
				const cJSON *name = cJSON_GetArrayItem(row, 0);
				if (cJSON_IsString(name) && strcmp(name->valuestring, user) == 0) {
					*admin = cJSON_IsTrue(cJSON_GetArrayItem(row, 1));
					rc = 1;
				}
			}
	cJSON_Delete(j);
	return rc;
}

/*
 * A password of letters and digits (no quoting needed anywhere it goes:
 * InfluxQL, a URL, YAML), from getrandom: 62^32, about 190 bits.
 */
static int
v1_password(char *out, size_t len, pv_err *err)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char b;
	size_t n = 0;

	while (n < len) {
		ssize_t got = getrandom(&b, 1, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got != 1)
			return pv_fail(err, PV_EIO, "getrandom: %s", strerror(errno));
		/* 248 = 4 * 62: no bias */
		if (b < 248)
			out[n++] = set[b % 62];
	}
	out[n] = '\0';
	return PV_OK;
}

char *
pv_influx_v1_user(const char *database, bool write)
{
	char *user = NULL;

	if (asprintf(&user, "%s_%s", database, write ? "write" : "read") < 0)
		return NULL;
	return user;
}

enum v1_stmt { V1_CREATE_USER, V1_SET_PASSWORD, V1_GRANT_READ, V1_GRANT_ALL };

/* CREATE USER, SET PASSWORD (user, password) or GRANT (database, user), quoted, then run. */
static int
v1_user_stmt(influx_sink *f, enum v1_stmt kind, const char *a, const char *b, pv_err *err)
{
	static const char *const what[] = { "CREATE USER", "SET PASSWORD", "GRANT", "GRANT" };
	char *qa = pv_influxql_ident(a), *q = NULL, *qb;
	int n = -1;

	/* a password is a string literal, a database or user name an identifier */
	qb = kind == V1_CREATE_USER || kind == V1_SET_PASSWORD ? pv_influxql_string(b) : pv_influxql_ident(b);
	if (qa && qb) {
		switch (kind) {
		case V1_CREATE_USER: n = asprintf(&q, "CREATE USER %s WITH PASSWORD %s", qa, qb); break;
		case V1_SET_PASSWORD: n = asprintf(&q, "SET PASSWORD FOR %s = %s", qa, qb); break;
		case V1_GRANT_READ: n = asprintf(&q, "GRANT READ ON %s TO %s", qa, qb); break;
		case V1_GRANT_ALL: n = asprintf(&q, "GRANT ALL ON %s TO %s", qa, qb); break;
		}
	}
	if (qb)
		memset(qb, 0, strlen(qb));
	free(qa);
	free(qb);
	if (n < 0)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	n = v1_exec(f, q, what[kind], NULL, err);
	memset(q, 0, strlen(q));
	free(q);
	return n;
}

/*
 * The user <db>_read (READ on db) or <db>_write (ALL on db: read and write,
 * that database only), made once with a random password printed then; the
 * server keeps only a hash, so a later call needs --rotate (SET PASSWORD).
 * The privilege is granted again each time: GRANT replaces the user's
 * privilege on that database, so it is never left broader.
 */
static int
v1_bucket_user(char **password, influx_sink *f, const char *db, bool write, bool rotate, pv_err *err)
{
	char *user = pv_influx_v1_user(db, write), pw[33];
	bool admin = false;
	int rc, found;

	*password = NULL;
	if (user == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	if ((rc = ensure_bucket(f, db, NULL, err)) < 0 || (rc = found = v1_user_find(f, user, &admin, err)) < 0)
		goto out;
	if (found && admin) {
		rc = pv_fail(err, PV_ECONFIG, "user %s exists and is an admin: refusing to give out its password",
		    user);
		goto out;
	}
	if (found && !rotate) {
		rc = pv_fail(err, PV_ECONFIG,
		    "user %s exists but InfluxDB 1.x keeps only a hash of its password; "
		    "run again with --rotate to set a new one (datasources using the old one must be updated)",
		    user);
		goto out;
	}
	if ((rc = v1_password(pw, sizeof(pw) - 1, err)) < 0)
		goto out;
	rc = v1_user_stmt(f, found ? V1_SET_PASSWORD : V1_CREATE_USER, user, pw, err);
	if (rc == PV_OK)
		rc = v1_user_stmt(f, write ? V1_GRANT_ALL : V1_GRANT_READ, db, user, err);
	/* the reader reads the downsampled databases too (made here if need be); the writer does not write them */
	for (int lv = PV_LEVEL_1H; rc == PV_OK && !write && lv <= PV_LEVEL_1W; lv++) {
		char *down = NULL;
		if (asprintf(&down, "%s_%s", db, pv_level_name((pv_level)lv)) < 0) {
			rc = pv_fail(err, PV_ENOMEM, "out of memory");
			break;
		}
		if ((rc = ensure_bucket(f, down, NULL, err)) == PV_OK)
			rc = v1_user_stmt(f, V1_GRANT_READ, down, user, err);
		free(down);
	}
	if (rc == PV_OK && (*password = strdup(pw)) == NULL)
		rc = pv_fail(err, PV_ENOMEM, "out of memory");
	if (rc == PV_OK)
		pv_info("%s user %s: %s on database %s%s", found ? "new password for" : "created",
		    user, write ? "ALL (read and write)" : "READ", db, write ? "" : " and its _1h, _1d, _1w");
	memset(pw, 0, sizeof(pw));
out:
	free(user);
	return rc;
}

int
pv_influx_bucket_token(char **token, const pv_influx_config *cfg, const char *bucket, bool write,
    bool rotate, pv_err *err)
{
	pv_sink *s;
	influx_sink *f;
	found_auth fa = { 0 };
	char *ids[1 + N_DS] = { NULL }, *desc = NULL;
	size_t nids = 1;
	const char *bad;
	int rc;

	*token = NULL;
	if (cfg->api == PV_API_VM)
		return pv_fail(err, PV_ECONFIG, "VictoriaMetrics has no per-database credentials "
		    "(INFLUXDB_API=v2 or v1)");
	if ((bad = pv_name_problem(bucket)) != NULL)
		return pv_fail(err, PV_EDATA, "bucket name %s", bad);
	if ((rc = pv_sink_influx_open(&s, cfg, err)) < 0)
		return rc;
	f = (influx_sink *)s;
	if (cfg->api == PV_API_V1) {
		rc = v1_bucket_user(token, f, bucket, write, rotate, err);
		pv_sink_free(s);
		return rc;
	}
	if (asprintf(&desc, "powerview_token_for_bucket_%s", bucket) < 0) {
		rc = pv_fail(err, PV_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = org_id(f, err)) < 0 || (rc = ensure_one(f, bucket, false, &ids[0], err)) < 0)
		goto out;
	if (ids[0] == NULL && (rc = bucket_find(f, bucket, &ids[0], err)) < 0)
		goto out;
	if (ids[0] == NULL) {
		rc = pv_fail(err, PV_ETEMP, "bucket %s has no id", bucket);
		goto out;
	}
	/* a read token also reads the downsampled buckets (made here when missing); a write one writes the raw one only */
	if (!write && (rc = ensure_downsampled(f, bucket, ids + 1, err)) < 0)
		goto out;
	nids = write ? 1 : 1 + N_DS;
	rc = PV_OK; /* bucket_find says 1 when found */
	/* buckets made before tsv_parser mapped them get their mapping here */
	for (size_t i = 0; i < nids && rc == PV_OK; i++) {
		char *name = i ? ds_bucket(bucket, i - 1) : strdup(bucket);
		rc = name ? dbrp_ensure(f, name, ids[i], err) : pv_fail(err, PV_ENOMEM, "out of memory");
		free(name);
	}
	if (rc < 0 || (rc = find_auth(f, desc, ids, nids, &fa, err)) < 0)
		goto out;
	if (fa.id != NULL && !rotate) {
		unsigned all = (1u << nids) - 1;
		if (fa.token == NULL)
			rc = pv_fail(err, PV_ECONFIG,
			    "authorization '%s' exists but the server does not return its token (token hashing); "
			    "run again with --rotate to replace it (datasources using the old token must be updated)",
			    desc);
		else if (!(fa.read & 1) || ((fa.write & 1) != 0) != write || (!write && fa.write != 0))
			/* a datasource asking for read gets read only: never a broader token */
			rc = pv_fail(err, PV_ECONFIG,
			    "authorization '%s' exists with %s permission on bucket %s, not %s; "
			    "run again with --rotate to replace it", desc,
			    !(fa.read & 1) ? "no read" : fa.write ? "read+write" : "read-only", bucket,
			    write ? "read+write" : "read-only");
		else if ((fa.read & all) != all)
			/*
			 * made before the downsampled buckets: InfluxDB 2 cannot
			 * change an authorization's permissions, so covering them means
			 * a new token -- only when asked (v0.4.1 replaced it on every call)
			 */
			rc = pv_fail(err, PV_ECONFIG,
			    "authorization '%s' does not read the downsampled buckets %s_1h, %s_1d, %s_1w; "
			    "run again with --rotate to replace it by one that does "
			    "(datasources using the old token must be updated)", desc, bucket, bucket, bucket);
		else {
			*token = fa.token;
			fa.token = NULL;
		}
		goto out;
	}
	if (fa.id != NULL && (rc = delete_auth(f, fa.id, err)) < 0)
		goto out;
	rc = create_auth(f, desc, ids, nids, write, token, err);
out:
	if (fa.token) {
		memset(fa.token, 0, strlen(fa.token));
		free(fa.token);
	}
	free(fa.id);
	for (size_t i = 0; i < 1 + N_DS; i++)
		free(ids[i]);
	free(desc);
	pv_sink_free(s);
	return rc;
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
		return status_error(err, "SHOW SERIES", r);
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
		rc = v1_query(f, &r, db, sql, false, err);
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

	*n = 0;
	while (rc == PV_OK && (nf = csv_record(&p, f, 64)) >= 0) {
		const char *v[5];
		if (nf == 0) {
			header = true;
			continue;
		}
		if (f[0][0] == '#')
			continue;
		if (nf > 64)
			nf = 64;
		if (header) {
			error = -1;
			for (int c = 0; c < 5; c++)
				col[c] = -1;
			for (int i = 0; i < nf; i++) {
				for (int c = 0; c < 5; c++)
					if (strcmp(f[i], names[c]) == 0)
						col[c] = i;
				if (strcmp(f[i], "error") == 0)
					error = i;
			}
			header = false;
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
	char *path = NULL, *flux;
	pv_http_resp r;
	size_t n = KNOWN_PAGE;
	int rc;

	if ((rc = org_id(f, err)) < 0 || (rc = bucket_find(f, bucket, NULL, err)) < 0)
		return rc;
	if (rc == 0)
		return pv_fail(err, PV_ENOENT, "bucket %s not found", bucket);
	if (asprintf(&path, "/api/v2/query?orgID=%s", f->org_id) < 0)
		return pv_fail(err, PV_ENOMEM, "out of memory");
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
		rc = pv_http_request(f->http, &r, "POST", path, "application/vnd.flux", NULL, flux,
		    strlen(flux), err);
		free(flux);
		if (rc < 0)
			break;
		if (r.status == 200)
			rc = known_csv(k, r.body ? r.body : "", &n, err);
		else
			rc = status_error(err, "channels query", &r);
		pv_http_resp_free(&r);
	}
	free(path);
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
	char *d = promql_string(db), *promql = NULL, *e = NULL, *path = NULL;
	long long now = (long long)time(NULL);
	cJSON *dbs, *v;
	bool found = false;
	pv_http_resp r;
	int rc;

	if (d == NULL ||
	    asprintf(&promql, "count by (campaign, channel_id, channel_unit, channel_label, device_master_sn) "
		"(last_over_time({__name__=~\"electrical_.+\",db=%s}[%llds]))", d, now - 86400) < 0 ||
	    (e = pv_http_escape(f->http, promql)) == NULL ||
	    asprintf(&path, "/api/v1/query?query=%s&time=%lld", e, now) < 0) {
		rc = pv_fail(err, PV_ENOMEM, "out of memory");
		goto out;
	}
	if (pv_http_request(f->http, &r, "GET", "/internal/force_flush", NULL, NULL, NULL, 0, err) == PV_OK)
		pv_http_resp_free(&r);
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
	if ((rc = pv_http_request(f->http, &r, "GET", path, NULL, NULL, NULL, 0, err)) < 0)
		goto out;
	if (r.status == 200) {
		cJSON *j = cJSON_Parse(r.body), *res;
		cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(j, "data"), "result")) {
			const cJSON *m = cJSON_GetObjectItemCaseSensitive(res, "metric");
#define LABEL(name) cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, name))
			if (rc == PV_OK)
				rc = pv_known_add(k, LABEL("campaign"), LABEL("channel_id"), LABEL("channel_unit"),
				    LABEL("channel_label"), LABEL("device_master_sn"), err);
#undef LABEL
		}
		cJSON_Delete(j);
	} else
		rc = status_error(err, "channels query", &r);
	pv_http_resp_free(&r);
out:
	free(d);
	free(promql);
	free(e);
	free(path);
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
	if ((rc = pv_sink_influx_open(&s, cfg, err)) < 0)
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

/* InfluxDB 1.x: SHOW DATABASES (one answer: a server has a few hundred at most). */
static int
raw_v1(influx_sink *f, char ***names, size_t *n, pv_err *err)
{
	cJSON *j, *res, *ser, *row;
	int rc;

	if ((rc = v1_exec(f, "SHOW DATABASES", "SHOW DATABASES", &j, err)) < 0)
		return rc;
	cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(j, "results"))
		cJSON_ArrayForEach(ser, cJSON_GetObjectItemCaseSensitive(res, "series"))
			cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(ser, "values")) {
				const char *name = cJSON_GetStringValue(cJSON_GetArrayItem(row, 0));
				if (name != NULL && rc == PV_OK)
					rc = raw_add(names, n, name, f->cfg.meta_bucket, err);
			}
	cJSON_Delete(j);
	return rc;
}

/* InfluxDB 2: the organization's buckets, 100 a page; system buckets left out. */
static int
raw_v2(influx_sink *f, char ***names, size_t *n, pv_err *err)
{
	int rc, got = 100;

	if ((rc = org_id(f, err)) < 0)
		return rc;
	for (int page = 0; got == 100 && rc == PV_OK && page < KNOWN_PAGES_MAX; page++) {
		char *path = NULL;
		pv_http_resp r;
		cJSON *j, *b;

		if (asprintf(&path, "/api/v2/buckets?orgID=%s&limit=100&offset=%d", f->org_id, page * 100) < 0)
			return pv_fail(err, PV_ENOMEM, "out of memory");
		rc = pv_http_request(f->http, &r, "GET", path, NULL, NULL, NULL, 0, err);
		free(path);
		if (rc < 0)
			return rc;
		if (r.status != 200) {
			rc = status_error(err, "bucket list", &r);
			pv_http_resp_free(&r);
			return rc;
		}
		j = cJSON_Parse(r.body);
		got = 0;
		cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(j, "buckets")) {
			const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "name"));
			const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "type"));
			got++;
			if (name != NULL && (type == NULL || strcmp(type, "system") != 0) && rc == PV_OK)
				rc = raw_add(names, n, name, f->cfg.meta_bucket, err);
		}
		cJSON_Delete(j);
		pv_http_resp_free(&r);
	}
	return rc;
}

/* VictoriaMetrics: raw_vm()'s list, every db label value (from 1970 on: without start, the last day only). */
static int
vm_db_values(influx_sink *f, cJSON **json, pv_err *err)
{
	pv_http_resp r;
	int rc;

	*json = NULL;
	if ((rc = pv_http_request(f->http, &r, "GET", "/api/v1/label/db/values?start=1", NULL, NULL, NULL, 0,
	    err)) < 0)
		return rc;
	if (r.status != 200)
		rc = status_error(err, "db label values", &r);
	else if ((*json = cJSON_Parse(r.body)) == NULL)
		rc = pv_fail(err, PV_ETEMP, "db label values: the server's answer is not JSON");
	pv_http_resp_free(&r);
	return rc;
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
	if ((rc = pv_sink_influx_open(&s, cfg, err)) < 0)
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

/* InfluxDB 1.x: 1 when SHOW DATABASES lists db, 0 when not, < 0 error. */
static int
v1_db_exists(influx_sink *f, const char *db, pv_err *err)
{
	cJSON *j = NULL, *res, *ser, *row;
	int rc = v1_exec(f, "SHOW DATABASES", "SHOW DATABASES", &j, err);

	if (rc < 0)
		return rc;
	rc = 0;
	cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(j, "results"))
		cJSON_ArrayForEach(ser, cJSON_GetObjectItemCaseSensitive(res, "series"))
			cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(ser, "values")) {
				const cJSON *name = cJSON_GetArrayItem(row, 0);
				if (cJSON_IsString(name) && strcmp(name->valuestring, db) == 0)
					rc = 1;
			}
	cJSON_Delete(j);
	return rc;
}

/*
 * InfluxDB 1.x: the time of the first (or last) point, all series merged,
 * LIMIT 1: one row whatever the data. 1 found, 0 none.
 */
static int
v1_edge(influx_sink *f, const char *db, bool last, int64_t *t, pv_err *err)
{
	char *m = pv_influxql_ident(DS_MEASUREMENT), *q = NULL;
	pv_http_resp r;
	cJSON *j = NULL, *res, *ser;
	int rc;

	if (m == NULL || asprintf(&q, "SELECT * FROM %s ORDER BY time %s LIMIT 1", m, last ? "DESC" : "ASC") < 0) {
		free(m);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	free(m);
	rc = v1_query(f, &r, db, q, false, err);
	free(q);
	if (rc < 0)
		return rc;
	rc = v1_statement_error(err, "first and last point", &r, &j);
	pv_http_resp_free(&r);
	if (rc < 0)
		return rc;
	cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(j, "results"))
		cJSON_ArrayForEach(ser, cJSON_GetObjectItemCaseSensitive(res, "series")) {
			const cJSON *v = cJSON_GetArrayItem(cJSON_GetArrayItem(
			    cJSON_GetObjectItemCaseSensitive(ser, "values"), 0), 0);
			if (rc == 0 && cJSON_IsString(v)) {
				if (pv_rfc3339_parse(v->valuestring, t) < 0)
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
	char *b = pv_flux_quote(bucket), *m = pv_flux_quote(DS_MEASUREMENT), *flux = NULL, *path = NULL;
	char *p, *fl[64];
	pv_http_resp r;
	int rc, nf, col = -1;
	bool header = true;

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
		b, m, last ? "last" : "first", last ? "true" : "false") < 0 ||
	    asprintf(&path, "/api/v2/query?orgID=%s", f->org_id) < 0) {
		free(b);
		free(m);
		free(flux);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	free(b);
	free(m);
	rc = pv_http_request(f->http, &r, "POST", path, "application/vnd.flux", NULL, flux, strlen(flux), err);
	free(flux);
	free(path);
	if (rc < 0)
		return rc;
	if (r.status != 200) {
		rc = status_error(err, "first and last point", &r);
		pv_http_resp_free(&r);
		return rc;
	}
	rc = 0;
	p = r.body ? r.body : "";
	while (rc == 0 && (nf = csv_record(&p, fl, 64)) >= 0) {
		if (nf == 0) {
			header = true;
			continue;
		}
		if (fl[0][0] == '#')
			continue;
		if (nf > 64)
			nf = 64;
		if (header) {
			col = -1;
			for (int i = 0; i < nf; i++)
				if (strcmp(fl[i], "_time") == 0)
					col = i;
				else if (strcmp(fl[i], "error") == 0)
					col = -2 - i;
			header = false;
		} else if (col <= -2 && -2 - col < nf)
			rc = pv_fail(err, PV_ETEMP, "first and last point: %.300s", fl[-2 - col]);
		else if (col >= 0 && col < nf)
			rc = pv_rfc3339_parse(fl[col], t) == 0 ? 1 :
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

	if (s == NULL || s->ops->begin != if_begin)
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
		if ((rc = org_id(f, err)) < 0 || (rc = bucket_find(f, bucket, NULL, err)) < 0)
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
