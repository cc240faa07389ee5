/*
 * tsv_parser token: a bucket's authorization (InfluxDB 2) or a database's
 * user (InfluxDB 1.x); no sender thread, no write.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "powerview/log.h"
#include "powerview/path.h"
#include "influx_int.h"

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
		cJSON *j;
		rc = influx_get_json_path(&j, f, "authorization list", 0, path, err);
		free(path);
		path = NULL;
		if (rc < 0)
			break;
		scan_auths(cJSON_GetObjectItemCaseSensitive(j, "authorizations"), desc, ids, n, fa);
		const cJSON *next = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(j, "links"), "next");
		/* links.next is a path below the server root */
		if (cJSON_IsString(next) && next->valuestring[0] == '/' && fa->id == NULL)
			path = strdup(next->valuestring);
		cJSON_Delete(j);
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
	if ((rc = influx_post_json(&r, f, "/api/v2/authorizations", body, err)) < 0)
		return rc;
	if (r.status == 201 || r.status == 200) {
		cJSON *j = cJSON_Parse(r.body);
		const cJSON *tok = cJSON_GetObjectItemCaseSensitive(j, "token");
		if (cJSON_IsString(tok) && tok->valuestring[0]) {
			if ((*token = strdup(tok->valuestring)) == NULL)
				rc = pv_fail(err, PV_ENOMEM, "out of memory");
		} else
			rc = pv_fail(err, PV_ECONFIG, "the server created the authorization but returned no token");
		cJSON_Delete(j);
	} else
		rc = influx_status_error(err, "authorization creation", &r);
	pv_http_resp_free(&r);
	return rc;
}

static int
delete_auth(influx_sink *f, const char *id, pv_err *err)
{
	char *e = pv_http_escape(f->http, id), *path = NULL;
	pv_http_resp r;
	int rc;

	if (e == NULL || asprintf(&path, "/api/v2/authorizations/%s", e) < 0) {
		free(e);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	free(e);
	rc = pv_http_request(f->http, &r, "DELETE", path, NULL, NULL, NULL, 0, err);
	free(path);
	if (rc < 0)
		return rc;
	if (r.status != 204 && r.status != 200 && r.status != 404)
		rc = influx_status_error(err, "authorization deletion", &r);
	pv_http_resp_free(&r);
	return rc;
}

/* 1 and *admin when SHOW USERS lists user, 0 when not, < 0 error. */
static int
v1_user_find(influx_sink *f, const char *user, bool *admin, pv_err *err)
{
	cJSON *j, *res, *s, *row;
	int rc;

	if ((rc = influx_v1_exec(f, "SHOW USERS", "SHOW USERS", &j, err)) < 0)
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
	n = influx_v1_exec(f, q, what[kind], NULL, err);
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
	if ((rc = influx_ensure_bucket(f, db, NULL, err)) < 0 || (rc = found = v1_user_find(f, user, &admin, err)) < 0)
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
		if ((rc = influx_ensure_bucket(f, down, NULL, err)) == PV_OK)
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

/*
 * An authorization found and --rotate not asked: its token when it is
 * exactly what is asked (read, or read+write, on the bucket; read on its
 * downsampled buckets), else PV_ECONFIG saying why and asking for --rotate.
 */
static int
v2_token_reuse(char **token, found_auth *fa, const char *desc, const char *bucket, size_t nids, bool write,
    pv_err *err)
{
	unsigned all = (1u << nids) - 1;

	if (fa->token == NULL)
		return pv_fail(err, PV_ECONFIG,
		    "authorization '%s' exists but the server does not return its token (token hashing); "
		    "run again with --rotate to replace it (datasources using the old token must be updated)",
		    desc);
	if (!(fa->read & 1) || ((fa->write & 1) != 0) != write || (!write && fa->write != 0))
		/* a datasource asking for read gets read only: never a broader token */
		return pv_fail(err, PV_ECONFIG,
		    "authorization '%s' exists with %s permission on bucket %s, not %s; "
		    "run again with --rotate to replace it", desc,
		    !(fa->read & 1) ? "no read" : fa->write ? "read+write" : "read-only", bucket,
		    write ? "read+write" : "read-only");
	if ((fa->read & all) != all)
		/*
		 * made before the downsampled buckets: InfluxDB 2 cannot
		 * change an authorization's permissions, so covering them means
		 * a new token -- only when asked (v0.4.1 replaced it on every call)
		 */
		return pv_fail(err, PV_ECONFIG,
		    "authorization '%s' does not read the downsampled buckets %s_1h, %s_1d, %s_1w; "
		    "run again with --rotate to replace it by one that does "
		    "(datasources using the old token must be updated)", desc, bucket, bucket, bucket);
	*token = fa->token;
	fa->token = NULL;
	return PV_OK;
}

/*
 * InfluxDB 2: the bucket (and for a read token its downsampled buckets)
 * found or made, mapped for InfluxQL, then the authorization described
 * powerview_token_for_bucket_<bucket>: reused, or made (replaced on --rotate).
 */
static int
v2_bucket_token(char **token, influx_sink *f, const char *bucket, bool write, bool rotate, pv_err *err)
{
	found_auth fa = { 0 };
	char *ids[1 + INFLUX_N_DS] = { NULL }, *desc = NULL;
	size_t nids = 1;
	int rc;

	if (asprintf(&desc, "powerview_token_for_bucket_%s", bucket) < 0)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	if ((rc = influx_org_id(f, err)) < 0 || (rc = influx_ensure_one(f, bucket, false, &ids[0], err)) < 0)
		goto out;
	if (ids[0] == NULL && (rc = influx_bucket_find(f, bucket, &ids[0], err)) < 0)
		goto out;
	if (ids[0] == NULL) {
		rc = pv_fail(err, PV_ETEMP, "bucket %s has no id", bucket);
		goto out;
	}
	/* a read token also reads the downsampled buckets (made here when missing); a write one writes the raw one only */
	if (!write && (rc = influx_ensure_downsampled(f, bucket, ids + 1, err)) < 0)
		goto out;
	nids = write ? 1 : 1 + INFLUX_N_DS;
	rc = PV_OK; /* bucket_find says 1 when found */
	/* buckets made before tsv_parser mapped them get their mapping here */
	for (size_t i = 0; i < nids && rc == PV_OK; i++) {
		char *name = i ? influx_ds_bucket(bucket, i - 1) : strdup(bucket);
		rc = name ? influx_dbrp_ensure(f, name, ids[i], err) : pv_fail(err, PV_ENOMEM, "out of memory");
		free(name);
	}
	if (rc < 0 || (rc = find_auth(f, desc, ids, nids, &fa, err)) < 0)
		goto out;
	if (fa.id != NULL && !rotate)
		rc = v2_token_reuse(token, &fa, desc, bucket, nids, write, err);
	else if (fa.id == NULL || (rc = delete_auth(f, fa.id, err)) == PV_OK)
		rc = create_auth(f, desc, ids, nids, write, token, err);
out:
	if (fa.token) {
		memset(fa.token, 0, strlen(fa.token));
		free(fa.token);
	}
	free(fa.id);
	for (size_t i = 0; i < 1 + INFLUX_N_DS; i++)
		free(ids[i]);
	free(desc);
	return rc;
}

int
pv_influx_bucket_token(char **token, const pv_influx_config *cfg, const char *bucket, bool write,
    bool rotate, pv_err *err)
{
	pv_sink *s;
	const char *bad;
	int rc;

	*token = NULL;
	if (cfg->api == PV_API_VM)
		return pv_fail(err, PV_ECONFIG, "VictoriaMetrics has no per-database credentials "
		    "(INFLUXDB_API=v2 or v1)");
	if ((bad = pv_name_problem(bucket)) != NULL)
		return pv_fail(err, PV_EDATA, "bucket name %s", bad);
	if ((rc = influx_open(&s, cfg, false, err)) < 0)
		return rc;
	rc = cfg->api == PV_API_V1 ? v1_bucket_user(token, (influx_sink *)s, bucket, write, rotate, err) :
	    v2_bucket_token(token, (influx_sink *)s, bucket, write, rotate, err);
	pv_sink_free(s);
	return rc;
}
