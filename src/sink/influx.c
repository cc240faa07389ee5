/*
 * The InfluxDB sinks. A file's batches go to its bucket (InfluxDB 2), its
 * database (1.x) or VictoriaMetrics; buckets are looked up by name and
 * created once the file's header is valid; every batch must be
 * acknowledged before the file counts as stored.
 *
 * This file: the sink object (open, free, the operations table), its
 * settings, quoting, the HTTP helpers the other influx_*.c share; the rest
 * is split by concern (src/sink/influx_int.h lists the files).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "powerview/config.h"
#include "powerview/log.h"
#include "powerview/path.h"
#include "influx_int.h"

/* ---- settings ---- */

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
pv_influx_config_from_settings(pv_influx_config *c, const pv_settings *s, pv_err *err)
{
	const char *api = pv_settings_str(s, "influxdb.api");
	const char *gz = pv_settings_str(s, "sink.gzip");

	memset(c, 0, sizeof(*c));
	c->api = strcmp(api, "v1") == 0 ? PV_API_V1 : strcmp(api, "vm") == 0 ? PV_API_VM : PV_API_V2;
	c->url = pv_settings_str(s, "influxdb.url");
	c->org = pv_settings_str(s, "influxdb.org");
	c->token = pv_settings_str(s, "influxdb.token");
	c->username = pv_settings_str(s, "influxdb.username");
	c->password = pv_settings_str(s, "influxdb.password");
	c->meta_bucket = pv_settings_str(s, "influxdb.meta_bucket");
	if (c->url == NULL)
		return pv_fail(err, PV_ECONFIG, "INFLUXDB_HOST (or INFLUXDB_URL) is not set");
	if (c->api == PV_API_V2 && c->token == NULL)
		return pv_fail(err, PV_ECONFIG, "INFLUXDB_ADMIN_TOKEN is not set");
	if (c->api == PV_API_V2 && c->org == NULL)
		return pv_fail(err, PV_ECONFIG, "INFLUXDB_ORG is not set");
	c->retention_s = (long)pv_settings_num(s, "influxdb.bucket_retention");
	c->batch_lines = (size_t)pv_settings_num(s, "sink.batch_lines");
	c->batch_bytes = (size_t)pv_settings_num(s, "sink.batch_bytes");
	c->gzip = strcmp(gz, "auto") == 0 ? !loopback(c->url) : gz[0] == '1';
	c->connect_timeout_ms = (long)(pv_settings_num(s, "http.connect_timeout") * 1000);
	c->answer_timeout_ms = (long)(pv_settings_num(s, "http.answer_timeout") * 1000);
	c->timeout_ms = (long)(pv_settings_num(s, "http.timeout") * 1000);
	c->retry_budget_s = pv_settings_num(s, "http.retry_budget");
	c->retry_after_max_s = pv_settings_num(s, "http.retry_after_max");
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
char *
influx_promql_string(const char *s)
{
	return quote_with(s, '"');
}

/* ---- InfluxDB 2: org and buckets ---- */

int
influx_status_error(pv_err *err, const char *what, const pv_http_resp *r)
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

	influx_drain(f, NULL, false); /* the sender may be the one finding out */
	return pv_http_down(f->http);
}

/* ---- the HTTP helpers ---- */

/*
 * GET path, its answer parsed: 1 and *json on 200 (NULL when the body is
 * not JSON, unless INFLUX_GET_STRICT makes that PV_ETEMP); 0 on 404 with
 * INFLUX_GET_404; otherwise < 0, the status named after `what`.
 */
int
influx_get_json_path(cJSON **json, influx_sink *f, const char *what, int flags, const char *path, pv_err *err)
{
	pv_http_resp r;
	int rc;

	*json = NULL;
	if ((rc = pv_http_request(f->http, &r, "GET", path, NULL, NULL, NULL, 0, err)) < 0)
		return rc;
	if (r.status == 200) {
		*json = cJSON_Parse(r.body);
		rc = *json != NULL || !(flags & INFLUX_GET_STRICT) ? 1 :
		    pv_fail(err, PV_ETEMP, "%s: the server's answer is not JSON", what);
	} else if (r.status == 404 && (flags & INFLUX_GET_404))
		rc = 0;
	else
		rc = influx_status_error(err, what, &r);
	pv_http_resp_free(&r);
	return rc;
}

/* influx_get_json_path() of fmt, a and b (NULL: none) escaped in place of its first and second %s. */
int
influx_get_json(cJSON **json, influx_sink *f, const char *what, int flags, const char *fmt, const char *a,
    const char *b, pv_err *err)
{
	char *e[2] = { a ? pv_http_escape(f->http, a) : NULL, b ? pv_http_escape(f->http, b) : NULL };
	char *path = NULL, *p;
	int rc, k = 0;

	*json = NULL;
	if ((a && e[0] == NULL) || (b && e[1] == NULL) ||
	    (path = malloc(strlen(fmt) + (e[0] ? strlen(e[0]) : 0) + (e[1] ? strlen(e[1]) : 0) + 1)) == NULL) {
		rc = pv_fail(err, PV_ENOMEM, "out of memory");
		goto out;
	}
	for (p = path; *fmt; fmt++)
		if (fmt[0] == '%' && fmt[1] == 's' && k < 2) {
			p = stpcpy(p, e[k] ? e[k] : "");
			k++;
			fmt++;
		} else
			*p++ = *fmt;
	*p = '\0';
	rc = influx_get_json_path(json, f, what, flags, path, err);
out:
	free(e[0]);
	free(e[1]);
	free(path);
	return rc;
}

/* POST path with body as JSON (body freed here); *r to free when PV_OK. */
int
influx_post_json(pv_http_resp *r, influx_sink *f, const char *path, cJSON *body, pv_err *err)
{
	char *json = cJSON_PrintUnformatted(body);
	int rc;

	cJSON_Delete(body);
	if (json == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	rc = pv_http_request(f->http, r, "POST", path, "application/json", NULL, json, strlen(json), err);
	free(json);
	return rc;
}

/* InfluxDB 2: POST a Flux query to the organization; PV_OK: a 200, *r to free. */
int
influx_flux(pv_http_resp *r, influx_sink *f, const char *flux, const char *what, pv_err *err)
{
	char *path = NULL;
	int rc;

	if (asprintf(&path, "/api/v2/query?orgID=%s", f->org_id) < 0)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	rc = pv_http_request(f->http, r, "POST", path, "application/vnd.flux", NULL, flux, strlen(flux), err);
	free(path);
	if (rc == PV_OK && r->status != 200) {
		rc = influx_status_error(err, what, r);
		pv_http_resp_free(r);
	}
	return rc;
}

/* ---- InfluxQL (InfluxDB 1.x) ---- */

/* An InfluxQL answer: 200 and JSON, else an error naming `what`. */
static int
v1_answer(cJSON **json, const char *what, const pv_http_resp *r, pv_err *err)
{
	*json = NULL;
	if (r->status != 200)
		return influx_status_error(err, what, r);
	if ((*json = cJSON_Parse(r->body)) == NULL)
		return pv_fail(err, PV_ETEMP, "%s: the server's answer is not JSON", what);
	return PV_OK;
}

/*
 * The first error of an InfluxQL answer (NULL: none): the request's
 * (*top), else the first statement's; *nresults: the statements answered.
 */
const char *
influx_v1_error(const cJSON *j, bool *top, size_t *nresults)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error"), *res;
	size_t n = 0;

	*top = cJSON_IsString(e);
	cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(j, "results")) {
		n++;
		if (!cJSON_IsString(e))
			e = cJSON_GetObjectItemCaseSensitive(res, "error");
	}
	if (nresults != NULL)
		*nresults = n;
	return cJSON_IsString(e) ? e->valuestring : NULL;
}

/* *json's first error (influx_v1_error) a PV_ECONFIG naming `what`, *json then freed. */
static int
v1_checked(cJSON **json, const char *what, pv_err *err)
{
	const char *e;
	bool top;
	int rc;

	if ((e = influx_v1_error(*json, &top, NULL)) == NULL)
		return PV_OK;
	rc = pv_fail(err, PV_ECONFIG, "%s: %s", what, e);
	cJSON_Delete(*json);
	*json = NULL;
	return rc;
}

/*
 * A statement's answer: InfluxDB 1.x says 200 even when a statement fails,
 * with {"results":[{"error": "..."}]}; 401/403 when the admin is not one.
 */
int
influx_v1_statement_error(pv_err *err, const char *what, const pv_http_resp *r, cJSON **json)
{
	int rc = v1_answer(json, what, r, err);

	return rc < 0 ? rc : v1_checked(json, what, err);
}

/*
 * InfluxQL statements as a POST form (q=... in the body, not the URL: the
 * statements that carry a password must not reach an access log), the
 * answer parsed, its statements' errors left to the caller. `what` names
 * it in errors: the statement itself is never shown.
 */
int
influx_v1_post(cJSON **json, influx_sink *f, const char *q, const char *what, pv_err *err)
{
	char *eq = pv_http_escape(f->http, q), *body = NULL;
	pv_http_resp r;
	int rc;

	*json = NULL;
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
	rc = v1_answer(json, what, &r, err);
	pv_http_resp_free(&r);
	return rc;
}

/*
 * A read-only InfluxQL query as a GET on database db (NULL: none), the
 * answer left to the caller (*r to free when PV_OK).
 */
int
influx_v1_query(influx_sink *f, pv_http_resp *r, const char *db, const char *q, pv_err *err)
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
	rc = pv_http_request(f->http, r, "GET", path, NULL, NULL, NULL, 0, err);
	free(path);
	return rc;
}

/* One InfluxQL statement (influx_v1_post), a failed one an error (PV_ECONFIG); json may be NULL. */
int
influx_v1_exec(influx_sink *f, const char *q, const char *what, cJSON **json, pv_err *err)
{
	cJSON *j;
	int rc;

	if (json != NULL)
		*json = NULL;
	if ((rc = influx_v1_post(&j, f, q, what, err)) < 0 || (rc = v1_checked(&j, what, err)) < 0)
		return rc;
	if (json != NULL)
		*json = j;
	else
		cJSON_Delete(j);
	return PV_OK;
}

static const pv_sink_ops influx_ops = {
	influx_if_begin, influx_if_write, influx_if_commit, influx_if_abort, if_free, influx_if_count, NULL,
	if_unavailable, influx_if_downsample
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

/*
 * The sink; `sender` false: no sender thread and no slots, for what only
 * asks (tsv_parser token, channels: they never write a batch).
 */
int
influx_open(pv_sink **out, const pv_influx_config *cfg, bool sender, pv_err *err)
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
	if (sender && ((f->slots = calloc(2, sizeof(slot))) == NULL ||
	    pthread_create(&f->sender, NULL, influx_sender_main, f) != 0)) {
		pv_sink_free(&f->base);
		return pv_fail(err, PV_ENOMEM, "cannot start the sender thread");
	}
	f->started = sender;
	f->base.batch_lines = cfg->batch_lines;
	f->base.batch_bytes = cfg->batch_bytes;
	f->base.meta_bucket = f->cfg.meta_bucket;
	*out = &f->base;
	return PV_OK;
}

int
pv_sink_influx_open(pv_sink **out, const pv_influx_config *cfg, pv_err *err)
{
	return influx_open(out, cfg, true, err);
}
