/*
 * Settings. Each one is an environment variable the rest of the program
 * reads; this table says which YAML key sets it, how it is checked, and
 * where its value came from. Precedence: command line > environment >
 * .env > powerview.yaml > built-in default.
 */
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "powerview/config.h"
#include "powerview/dotenv.h"
#include "powerview/http.h"
#include "powerview/path.h"
#include "powerview/tz.h"
#include "powerview/windows.h"
#include "yamltree.h"

typedef enum kind {
	K_STRING, K_NUMBER, K_ENUM, K_BOOL, K_ZONE, K_BUCKET, K_SECRET, K_SECRET_FILE, K_LEVELS
} kind;

typedef struct setting {
	const char *section, *key; /* YAML: section.key */
	const char *env;           /* the variable it sets */
	kind kind;
	const char *def;           /* shown when unset; NULL: none */
	double lo, hi;             /* K_NUMBER */
	const char *choices;       /* K_ENUM: "a|b|c" */
	const char *help;
} setting;

static const setting table[] = {
	{ "influxdb", "api", "INFLUXDB_API", K_ENUM, "v2", 0, 0, "v2|v1|vm", "database API" },
	{ "influxdb", "url", "INFLUXDB_HOST", K_STRING, NULL, 0, 0, NULL, "server URL" },
	{ "influxdb", "org", "INFLUXDB_ORG", K_STRING, NULL, 0, 0, NULL, "organization (v2)" },
	{ "influxdb", "token", "INFLUXDB_ADMIN_TOKEN", K_SECRET, NULL, 0, 0, NULL, "token (prefer token_file)" },
	{ "influxdb", "token_file", "INFLUXDB_ADMIN_TOKEN", K_SECRET_FILE, NULL, 0, 0, NULL, "file holding the token" },
	{ "influxdb", "username", "INFLUXDB_USERNAME", K_STRING, NULL, 0, 0, NULL, "user (v1)" },
	{ "influxdb", "password", "INFLUXDB_PASSWORD", K_SECRET, NULL, 0, 0, NULL, "password (prefer password_file)" },
	{ "influxdb", "password_file", "INFLUXDB_PASSWORD", K_SECRET_FILE, NULL, 0, 0, NULL, "file holding the password" },
	{ "influxdb", "bucket_retention", "INFLUXDB_BUCKET_RETENTION", K_NUMBER, "0", 0, 1e10, NULL, "seconds; 0 keeps data forever" },
	{ "influxdb", "meta_bucket", "TSV_META_BUCKET", K_BUCKET, "powerview_meta", 0, 0, NULL, "run summaries" },
	{ "sink", "output", "TSV_OUTPUT", K_STRING, NULL, 0, 0, NULL, "line protocol file instead of the database" },
	{ "sink", "verify", "TSV_VERIFY", K_BOOL, "1", 0, 0, NULL, "count each file's points back" },
	{ "sink", "gzip", "TSV_GZIP", K_ENUM, "1", 0, 0, "1|0|auto", "compress writes" },
	{ "sink", "batch_lines", "TSV_BATCH_LINES", K_NUMBER, "5000", 1, 1e7, NULL, "lines per write" },
	{ "sink", "batch_bytes", "TSV_BATCH_BYTES", K_NUMBER, "4194304", 4096, 1073741824, NULL, "bytes per write" },
	{ "http", "connect_timeout", "TSV_HTTP_CONNECT_TIMEOUT", K_NUMBER, "10", 0.001, 3600, NULL, "seconds" },
	{ "http", "answer_timeout", "TSV_HTTP_ANSWER_TIMEOUT", K_NUMBER, "60", 0.001, 86400, NULL, "seconds without a byte from the server" },
	{ "http", "timeout", "TSV_HTTP_TIMEOUT", K_NUMBER, "120", 0.001, 86400, NULL, "seconds per request" },
	{ "http", "retry_budget", "TSV_RETRY_BUDGET", K_NUMBER, "120", 0, 86400, NULL, "seconds of retrying per request" },
	{ "http", "retry_after_max", "TSV_RETRY_AFTER_MAX", K_NUMBER, "60", 0, 86400, NULL, "cap on Retry-After, seconds" },
	{ "parser", "timezone", "TSV_TIMEZONE", K_ZONE, "Europe/Paris", 0, 0, NULL, "zone of plain files" },
	{ "parser", "channel_id_scheme", "TSV_CHANNEL_ID_SCHEME", K_ENUM, "serial", 0, 0, "serial|compact", "channel ids" },
	{ "parser", "file_name_tag", "TSV_FILE_NAME_TAG", K_BOOL, "1", 0, 0, NULL, "tag points with their file" },
	{ "parser", "min_age", "TSV_MIN_AGE", K_NUMBER, "10", 0, 86400, NULL, "a scan leaves files modified since, seconds" },
	{ "spool", "dir", "TSV_SPOOL_DIR", K_STRING, "<data folder>/../spool", 0, 0, NULL, "copies of the uploads, waiting for the worker" },
	{ "reports", "dir", "TSV_REPORT_DIR", K_STRING, "<data folder>/../logs/reports", 0, 0, NULL, "run reports" },
	{ "reports", "keep_days", "TSV_REPORT_KEEP_DAYS", K_NUMBER, "90", 0, 36500, NULL, "reports older are pruned; 0 keeps all" },
	{ "downsample", "enabled", "TSV_DOWNSAMPLE", K_BOOL, "1", 0, 0, NULL, "means per window after each file (InfluxDB 2 and 1.x)" },
	{ "downsample", "levels", "TSV_DOWNSAMPLE_LEVELS", K_LEVELS, "1h,1d,1w", 0, 0, NULL, "windows: 1h, 1d, 1w (a list)" },
	{ "config_api", "url", "CONFIG_API_URL", K_STRING, NULL, 0, 0, NULL, "each file's channels posted there (unset: none)" },
	{ "log", "level", "TSV_LOG_LEVEL", K_ENUM, "INFO", 0, 0, "DEBUG|INFO|WARNING|WARN|ERROR", "log level" },
	/* the hook's (hooks/on-upload.sh) and the playbooks' settings: carried, not used (foreign()) */
	{ "hook", "data_dir", "POWERVIEW_DATA_DIR", K_STRING, "/srv/sftpgo/data", 0, 0, NULL, "the data folder (the hook, status)" },
	{ "hook", "log_file", "POWERVIEW_LOG_FILE", K_STRING, "/srv/sftpgo/logs/uploads.log", 0, 0, NULL, "the hook's log" },
	{ "hook", "ingest", "POWERVIEW_INGEST", K_ENUM, "spool", 0, 0, "spool|sync|none", "how the hook ingests an upload" },
	{ "hook", "playbook", "POWERVIEW_PLAYBOOK", K_STRING, "<beside the hook>", 0, 0, NULL, "the create playbook (mkdir)" },
	{ "hook", "tsv_parser", "POWERVIEW_TSV_PARSER", K_STRING, "<beside the hook>", 0, 0, NULL, "the tsv_parser the hook runs" },
	{ "grafana", "url", "GRAFANA_URL", K_STRING, NULL, 0, 0, NULL, "Grafana's URL" },
	{ "grafana", "username", "GRAFANA_USERNAME", K_STRING, NULL, 0, 0, NULL, "a Grafana server admin" },
	{ "grafana", "password", "GRAFANA_PASSWORD", K_SECRET, NULL, 0, 0, NULL, "password (prefer password_file)" },
	{ "grafana", "password_file", "GRAFANA_PASSWORD", K_SECRET_FILE, NULL, 0, 0, NULL, "file holding the password" },
	{ "grafana", "api_token", "GRAFANA_API_TOKEN", K_SECRET, NULL, 0, 0, NULL, "service-account token (prefer api_token_file)" },
	{ "grafana", "api_token_file", "GRAFANA_API_TOKEN", K_SECRET_FILE, NULL, 0, 0, NULL, "file holding the token" },
	{ "grafana", "tenancy", "GRAFANA_TENANCY", K_ENUM, "org", 0, 0, "org|team", "an organization or a team per company" },
	{ "grafana", "org_id", "GRAFANA_ORG_ID", K_NUMBER, "1", 1, 1e15, NULL, "the shared organization (team tenancy)" },
	{ "grafana", "datasource_type", "GRAFANA_DATASOURCE_TYPE", K_STRING, "influxdb", 0, 0, NULL, "datasource plugin id" },
	{ "grafana", "influxdb_url", "GRAFANA_INFLUXDB_URL", K_STRING, "<influxdb.url>", 0, 0, NULL, "InfluxDB as Grafana reaches it" },
	{ "grafana", "query_language", "GRAFANA_QUERY_LANGUAGE", K_ENUM, "flux", 0, 0, "flux|influxql", "datasource language (v2)" },
};
#define NSETTINGS (sizeof(table) / sizeof(table[0]))

struct pv_settings {
	pv_source source[NSETTINGS];
	char *where[NSETTINGS];  /* "powerview.yaml:12" for PV_SRC_FILE */
	char *file[NSETTINGS];   /* K_SECRET_FILE: the file the secret came from */
	pv_formats *formats;
	char *config_path;       /* the YAML file read, or NULL */
	char *env_file;          /* the .env read, or NULL */
};

pv_settings *
pv_settings_new(void)
{
	pv_settings *s = calloc(1, sizeof(*s));

	if (s != NULL && (s->formats = pv_formats_new()) == NULL) {
		free(s);
		return NULL;
	}
	for (size_t i = 0; s != NULL && i < NSETTINGS; i++)
		s->source[i] = getenv(table[i].env) != NULL ? PV_SRC_ENV : PV_SRC_DEFAULT;
	return s;
}

void
pv_settings_free(pv_settings *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < NSETTINGS; i++) {
		free(s->where[i]);
		free(s->file[i]);
	}
	pv_formats_free(s->formats);
	free(s->config_path);
	free(s->env_file);
	free(s);
}

const pv_formats *
pv_settings_formats(const pv_settings *s)
{
	return s->formats;
}

/*
 * The hook's and the playbooks' settings: tsv_parser carries them (`config`,
 * `config --get`) but does not use them, so their values in the environment
 * or .env never stop a run (the hook and the playbooks check them), and their
 * secret files are not read (only their paths are kept, for the playbook).
 */
static bool
foreign(const setting *st)
{
	return strcmp(st->section, "hook") == 0 || strcmp(st->section, "grafana") == 0;
}

/* ---- checks shared by YAML values and the effective ones ---- */

static bool
in_choices(const char *v, const char *choices, bool anycase)
{
	size_t n = strlen(v);

	for (const char *c = choices; *c;) {
		const char *bar = strchr(c, '|');
		size_t k = bar ? (size_t)(bar - c) : strlen(c);
		if (k == n && (anycase ? strncasecmp(c, v, n) : strncmp(c, v, n)) == 0)
			return true;
		c += k + (bar != NULL);
	}
	return false;
}

/* NULL when v fits the setting, else why not. */
static const char *
problem(const setting *st, const char *v, char *buf, size_t size)
{
	char *end;
	double d;
	pv_tz *tz;
	pv_err err;

	switch (st->kind) {
	case K_NUMBER:
		errno = 0;
		d = strtod(v, &end);
		if (end == v || *end != '\0' || errno || !(d >= st->lo && d <= st->hi)) {
			snprintf(buf, size, "must be a number from %g to %g, not '%.60s'", st->lo, st->hi, v);
			return buf;
		}
		return NULL;
	case K_ENUM:
		/* as their readers take them: only the log level ignores case */
		if (!in_choices(v, st->choices, strcmp(st->env, "TSV_LOG_LEVEL") == 0)) {
			snprintf(buf, size, "must be one of %s, not '%.60s'", st->choices, v);
			return buf;
		}
		return NULL;
	case K_BOOL:
		if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
			snprintf(buf, size, "must be true or false (1 or 0), not '%.60s'", v);
			return buf;
		}
		return NULL;
	case K_ZONE:
		if (pv_tz_open(&tz, v, &err) < 0) {
			snprintf(buf, size, "%s", err.msg);
			return buf;
		}
		pv_tz_free(tz);
		return NULL;
	case K_LEVELS: {
		pv_level lv[PV_LEVELS_MAX];
		size_t n;
		if (pv_levels_parse(v, lv, &n, &err) < 0) {
			snprintf(buf, size, "%s", err.msg);
			return buf;
		}
		return NULL;
	}
	case K_BUCKET:
		if (pv_name_problem(v) != NULL) {
			snprintf(buf, size, "bucket name %s", pv_name_problem(v));
			return buf;
		}
		return NULL;
	default:
		return NULL;
	}
}

/* ---- YAML ---- */

typedef struct loader {
	pv_settings *s;
	bool given[sizeof(table) / sizeof(table[0])]; /* keys met in the file */
	const char *path;
	pv_err *err;
} loader;

static int at(loader *ld, const pv_ynode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
at(loader *ld, const pv_ynode *n, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return pv_fail(ld->err, PV_ECONFIG, "%s:%zu:%zu: %s", ld->path, n->mark.line + 1, n->mark.column + 1,
	    msg);
}

static const char *
scalar(const pv_ynode *n)
{
	return n && n->type == YAML_SCALAR_NODE ? n->value : NULL;
}

/* `~`, `null` and an empty plain scalar leave a setting unset. */
static bool
is_null(const pv_ynode *n)
{
	const char *v = scalar(n);

	return v && n->style == YAML_PLAIN_SCALAR_STYLE &&
	    (v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
		strcmp(v, "NULL") == 0);
}

/* YAML 1.1 booleans as the variables spell them. */
static const char *
yaml_bool(const char *v)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return "1";
		if (strcasecmp(v, no[i]) == 0)
			return "0";
	}
	return v;
}

static char *
read_secret_file(const char *path, char *why, size_t size)
{
	FILE *f = fopen(path, "re");
	char buf[4096];
	size_t n;

	if (f == NULL) {
		snprintf(why, size, "cannot read %.200s: %s", path, strerror(errno));
		return NULL;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	bool more = fgetc(f) != EOF;
	fclose(f);
	if (more) {
		snprintf(why, size, "%.200s is longer than %zu bytes", path, sizeof(buf) - 1);
		return NULL;
	}
	buf[n] = '\0';
	/* one line: trailing white space (the newline editors add) is not part of it */
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	if (n == 0 || strchr(buf, '\n')) {
		snprintf(why, size, "%.200s must hold the secret on one line", path);
		return NULL;
	}
	return strdup(buf);
}

static int take_value(loader *ld, size_t i, const pv_ynode *val, const char *v);

static int
take_setting(loader *ld, size_t i, const pv_ynode *val)
{
	const setting *st = &table[i];
	const char *v = scalar(val);

	char *joined = NULL;
	int jrc;

	if (is_null(val))
		return PV_OK;
	/* a list of levels: the items joined by commas */
	if (st->kind == K_LEVELS && val->type == YAML_SEQUENCE_NODE) {
		size_t len = 1;
		for (size_t k = 0; k < val->n; k++) {
			if (scalar(val->kids[k]) == NULL)
				return at(ld, val->kids[k], "%s.%s: a list of levels (1h, 1d, 1w)", st->section, st->key);
			len += strlen(scalar(val->kids[k])) + 1;
		}
		if ((joined = calloc(1, len)) == NULL)
			return pv_fail(ld->err, PV_ENOMEM, "out of memory");
		for (size_t k = 0; k < val->n; k++) {
			if (k > 0)
				strcat(joined, ",");
			strcat(joined, scalar(val->kids[k]));
		}
		jrc = take_value(ld, i, val, joined);
		free(joined);
		return jrc;
	}
	return take_value(ld, i, val, v);
}

static int
take_value(loader *ld, size_t i, const pv_ynode *val, const char *v)
{
	const setting *st = &table[i];
	char why[600], *secret = NULL;
	int rc = PV_OK;

	if (v == NULL)
		return at(ld, val, "%s.%s must be a single value", st->section, st->key);
	if (st->kind == K_BOOL)
		v = yaml_bool(v);
	if (st->kind == K_ENUM && strcmp(st->env, "TSV_GZIP") == 0)
		v = yaml_bool(v);
	if (problem(st, v, why, sizeof(why)) != NULL)
		return at(ld, val, "%s: %s", st->key, why);
	/*
	 * The hook hands the playbooks Grafana's secrets as files, never as
	 * values (it does not read a secret): written here, one would be lost.
	 */
	if (st->kind == K_SECRET && foreign(st))
		return at(ld, val, "%s: give %s_file, the file holding it", st->key, st->key);
	if (st->kind == K_SECRET || st->kind == K_SECRET_FILE) {
		/* one secret, one way of giving it */
		for (size_t k = 0; k < NSETTINGS; k++)
			if (k != i && strcmp(table[k].env, st->env) == 0 && ld->given[k])
				return at(ld, val, "%s: give %s or %s, not both", st->key, table[k].key, st->key);
		ld->given[i] = true;
	}
	if (getenv(st->env) != NULL)
		return PV_OK; /* the environment wins: the secret file is not even read */
	if (st->kind == K_SECRET_FILE) {
		char *path = NULL;
		/* a relative path is taken from the folder of the YAML file */
		if (v[0] != '/' && strchr(ld->path, '/') != NULL) {
			if (asprintf(&path, "%.*s/%s", (int)(strrchr(ld->path, '/') - ld->path), ld->path, v) < 0)
				path = NULL;
		} else
			path = strdup(v);
		if (path == NULL)
			return pv_fail(ld->err, PV_ENOMEM, "out of memory");
		free(ld->s->file[i]);
		ld->s->file[i] = path;
		if (foreign(st)) {
			/* the playbook reads it: its path is all tsv_parser keeps */
			for (size_t k = 0; k < NSETTINGS; k++) {
				if (strcmp(table[k].env, st->env) != 0)
					continue;
				ld->s->source[k] = PV_SRC_FILE;
				free(ld->s->where[k]);
				if (asprintf(&ld->s->where[k], "%s:%zu", ld->path, val->mark.line + 1) < 0)
					ld->s->where[k] = NULL;
			}
			return PV_OK;
		}
		secret = read_secret_file(path, why, sizeof(why));
		if (secret == NULL)
			return at(ld, val, "%s: %s", st->key, why);
		v = secret;
	}
	/* the environment (and .env) win: only unset variables are filled */
	if (getenv(st->env) == NULL && !(strcmp(st->env, "INFLUXDB_HOST") == 0 && getenv("INFLUXDB_URL"))) {
		if (setenv(st->env, v, 1) < 0)
			rc = pv_fail(ld->err, PV_ENOMEM, "out of memory");
		/* a variable set from the file: every setting writing it shows where */
		for (size_t k = 0; rc == PV_OK && k < NSETTINGS; k++) {
			if (strcmp(table[k].env, st->env) != 0)
				continue;
			ld->s->source[k] = PV_SRC_FILE;
			free(ld->s->where[k]);
			if (asprintf(&ld->s->where[k], "%s:%zu", ld->path, val->mark.line + 1) < 0)
				ld->s->where[k] = NULL;
		}
	}
	if (secret) {
		memset(secret, 0, strlen(secret));
		free(secret);
	}
	return rc;
}

/* Whether the key of the pair at j of a mapping came before it. */
static bool
key_before(const pv_ynode *map, size_t j)
{
	const char *key = scalar(map->kids[j]);

	for (size_t q = 0; key && q < j; q += 2)
		if (scalar(map->kids[q]) && strcmp(scalar(map->kids[q]), key) == 0)
			return true;
	return false;
}

static int
take_section(loader *ld, const char *section, const pv_ynode *map)
{
	if (map->type != YAML_MAPPING_NODE)
		return is_null(map) ? PV_OK : at(ld, map, "%s must be a mapping of keys", section);
	for (size_t j = 0; j + 1 < map->n; j += 2) {
		const pv_ynode *k = map->kids[j], *v = map->kids[j + 1];
		const char *key = scalar(k);
		size_t i;
		int rc;

		if (key_before(map, j))
			return at(ld, k, "%s.%s is given twice", section, key);
		for (i = 0; key && i < NSETTINGS; i++)
			if (strcmp(table[i].section, section) == 0 && strcmp(table[i].key, key) == 0)
				break;
		if (key == NULL || i == NSETTINGS)
			return at(ld, k, "unknown key '%s' in %s", key ? key : "(not a name)", section);
		if ((rc = take_setting(ld, i, v)) < 0)
			return rc;
	}
	return PV_OK;
}

static bool
id_ok(const char *id)
{
	if (id[0] == '\0' || strlen(id) > 64)
		return false;
	for (; *id; id++)
		if (!isalnum((unsigned char)*id) && !strchr("_.-", *id))
			return false;
	return true;
}

/* formats: [{id, like, layout, device_model, timezone}, ...] */
static int
take_formats(loader *ld, const pv_ynode *seq)
{
	static const char *const keys[] = { "id", "like", "layout", "device_model", "timezone" };

	if (is_null(seq))
		return PV_OK;
	if (seq->type != YAML_SEQUENCE_NODE)
		return at(ld, seq, "formats must be a list of formats");
	for (size_t it = 0; it < seq->n; it++) {
		const pv_ynode *m = seq->kids[it];
		const pv_ynode *val[5] = { NULL };
		pv_format f = { 0 };
		char why[600], where[256];
		int rc;

		if (m->type != YAML_MAPPING_NODE)
			return at(ld, m, "a format is a mapping (id, like, layout, device_model, timezone)");
		for (size_t j = 0; j + 1 < m->n; j += 2) {
			const pv_ynode *k = m->kids[j];
			const char *key = scalar(k);
			size_t i;
			for (i = 0; key && i < 5; i++)
				if (strcmp(keys[i], key) == 0)
					break;
			if (key == NULL || i == 5)
				return at(ld, k, "unknown key '%s' in a format", key ? key : "(not a name)");
			if (val[i] != NULL)
				return at(ld, k, "%s is given twice in a format", key);
			val[i] = m->kids[j + 1];
			if (scalar(val[i]) == NULL || is_null(val[i]))
				return at(ld, val[i], "%s must be a single value", key);
		}
		if (val[0] == NULL)
			return at(ld, m, "a format needs an id");
		f.id = scalar(val[0]);
		if (!id_ok(f.id))
			return at(ld, val[0], "format id '%s' must be 1-64 letters, digits, '_', '.' or '-'", f.id);
		if (val[1] != NULL) {
			const pv_format *base = pv_formats_find(ld->s->formats, scalar(val[1]));
			if (base == NULL)
				return at(ld, val[1], "like: no format '%s' is defined before this one", scalar(val[1]));
			f.layout = base->layout;
			f.device_model = base->device_model;
			f.timezone = base->timezone;
		} else if (val[2] == NULL || val[3] == NULL)
			return at(ld, m, "format %s needs layout and device_model, or like", f.id);
		if (val[2] != NULL) {
			const char *l = scalar(val[2]);
			if (strcmp(l, "plain") == 0)
				f.layout = PV_LAYOUT_PLAIN;
			else if (strcmp(l, "framed") == 0)
				f.layout = PV_LAYOUT_FRAMED;
			else
				return at(ld, val[2], "layout must be plain or framed, not '%s'", l);
		}
		if (val[3] != NULL) {
			f.device_model = scalar(val[3]);
			if (f.device_model[0] == '\0' || pv_name_problem(f.device_model) != NULL)
				return at(ld, val[3], "device_model '%s' cannot be a tag value", f.device_model);
		}
		if (val[4] != NULL) {
			static const setting zone = { "formats", "timezone", "", K_ZONE, NULL, 0, 0, NULL, NULL };
			f.timezone = scalar(val[4]);
			if (problem(&zone, f.timezone, why, sizeof(why)) != NULL)
				return at(ld, val[4], "timezone: %s", why);
		}
		snprintf(where, sizeof(where), "%s:%zu", ld->path, m->mark.line + 1);
		f.origin = where;
		if ((rc = pv_formats_add(ld->s->formats, &f, ld->err)) < 0)
			return rc == PV_EDATA ? at(ld, val[0], "format %s is defined twice", f.id) : rc;
	}
	return PV_OK;
}

/* The sections are the table's: a setting added there is known in the file too. */
static bool
known_section(const char *name)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strcmp(table[i].section, name) == 0)
			return true;
	return false;
}

/* "influxdb, sink, ..., formats": the table's sections in its order, each once. */
static const char *
section_list(char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NSETTINGS && len < size; i++)
		if (i == 0 || strcmp(table[i].section, table[i - 1].section) != 0)
			len += (size_t)snprintf(buf + len, size - len, "%s, ", table[i].section);
	if (len < size)
		snprintf(buf + len, size - len, "formats");
	return buf;
}

int
pv_settings_load_yaml(pv_settings *s, const char *path, pv_err *err)
{
	loader ld = { .s = s, .path = path, .err = err };
	const pv_ynode *root;
	pv_ytree *tree;
	FILE *f = fopen(path, "re");
	int rc;

	if (f == NULL)
		return pv_fail(err, errno == ENOENT ? PV_ENOENT : PV_ECONFIG, "cannot read %s: %s", path,
		    strerror(errno));
	free(s->config_path);
	s->config_path = strdup(path);
	rc = pv_ytree_load(&tree, &root, f, path, err);
	fclose(f);
	if (rc < 0)
		return rc;
	if (root != NULL && !is_null(root) && root->type != YAML_MAPPING_NODE)
		rc = at(&ld, root, "the file must be a mapping of sections");
	for (size_t j = 0; rc == PV_OK && root && root->type == YAML_MAPPING_NODE && j + 1 < root->n; j += 2) {
		const pv_ynode *k = root->kids[j], *v = root->kids[j + 1];
		const char *key = scalar(k);

		if (key_before(root, j)) {
			rc = at(&ld, k, "section %s is given twice", key);
			break;
		}
		if (key && strcmp(key, "formats") == 0) {
			rc = take_formats(&ld, v);
			continue;
		}
		if (key == NULL || !known_section(key)) {
			char known[512];
			rc = at(&ld, k, "unknown section '%s' (known: %s)", key ? key : "(not a name)",
			    section_list(known, sizeof(known)));
		} else {
			rc = take_section(&ld, key, v);
		}
	}
	pv_ytree_free(tree);
	return rc;
}

/* ---- the whole load ---- */

int
pv_settings_load(pv_settings **out, const char *env_file, const char *config_path, pv_err *err)
{
	pv_settings *s = pv_settings_new();
	bool set[NSETTINGS];
	struct stat st;
	int rc;

	*out = NULL;
	if (s == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	for (size_t i = 0; i < NSETTINGS; i++)
		set[i] = s->source[i] == PV_SRC_ENV;
	rc = pv_dotenv_load(env_file ? env_file : ".env", err);
	if (rc == PV_OK)
		s->env_file = strdup(env_file ? env_file : ".env");
	else if (!(rc == PV_ENOENT && env_file == NULL))
		goto fail;
	for (size_t i = 0; i < NSETTINGS; i++)
		if (!set[i] && getenv(table[i].env) != NULL)
			s->source[i] = PV_SRC_DOTENV;

	if (config_path == NULL && (config_path = getenv("POWERVIEW_CONFIG")) != NULL && config_path[0] == '\0')
		config_path = NULL;
	if (config_path == NULL && stat("/etc/powerview/powerview.yaml", &st) == 0)
		config_path = "/etc/powerview/powerview.yaml";
	if (config_path != NULL && (rc = pv_settings_load_yaml(s, config_path, err)) < 0)
		goto fail;
	*out = s;
	return PV_OK;
fail:
	pv_settings_free(s);
	return rc;
}

static int row(const char *name);

int
pv_settings_flag(pv_settings *s, const char *name, const char *value)
{
	int r = row(name);

	if (r < 0)
		return PV_ECONFIG;
	/* the environment holds the values in effect: the hook's children see them too */
	if (setenv(table[r].env, value, 1) < 0)
		return PV_ENOMEM;
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strcmp(table[i].env, table[r].env) == 0)
			s->source[i] = PV_SRC_FLAG;
	return PV_OK;
}

static const char *
source_name(const pv_settings *s, size_t i, char *buf, size_t size)
{
	switch (s->source[i]) {
	case PV_SRC_FILE: snprintf(buf, size, "file %s", s->where[i] ? s->where[i] : ""); break;
	case PV_SRC_DOTENV: snprintf(buf, size, "%s %s", s->env_file ? s->env_file : ".env", table[i].env); break;
	case PV_SRC_ENV: snprintf(buf, size, "env %s", table[i].env); break;
	case PV_SRC_FLAG: snprintf(buf, size, "flag"); break;
	default: snprintf(buf, size, "default"); break;
	}
	return buf;
}

/* Checks the settings tsv_parser uses, or (foreign_ones) those it only carries. */
static int
check_values(const pv_settings *s, bool foreign_ones, pv_err *err)
{
	for (size_t i = 0; i < NSETTINGS; i++) {
		const char *v = getenv(table[i].env);
		char why[600], src[300];
		if (v == NULL || v[0] == '\0' || table[i].kind == K_SECRET_FILE || foreign(&table[i]) != foreign_ones)
			continue;
		/* as the original: an unknown level in the environment falls back to INFO */
		if (strcmp(table[i].env, "TSV_LOG_LEVEL") == 0 && s->source[i] != PV_SRC_FILE)
			continue;
		if (problem(&table[i], v, why, sizeof(why)) != NULL)
			return pv_fail(err, PV_ECONFIG, "%s.%s (%s): %s", table[i].section, table[i].key,
			    source_name(s, i, src, sizeof(src)), why);
	}
	return PV_OK;
}

int
pv_settings_check(const pv_settings *s, pv_err *err)
{
	return check_values(s, false, err);
}

int
pv_settings_check_foreign(const pv_settings *s, pv_err *err)
{
	return check_values(s, true, err);
}

int
pv_settings_print_table(FILE *fp)
{
	static const char *const kinds[] = {
		[K_STRING] = "string", [K_NUMBER] = "number", [K_ENUM] = "choice", [K_BOOL] = "boolean",
		[K_ZONE] = "zone", [K_BUCKET] = "bucket name", [K_SECRET] = "secret",
		[K_SECRET_FILE] = "secret file", [K_LEVELS] = "levels",
	};

	fprintf(fp, "key\tvariable\tkind\tdefault\trange or choices\tmeaning\n");
	for (size_t i = 0; i < NSETTINGS; i++) {
		const setting *st = &table[i];
		char range[64] = "";

		if (st->kind == K_NUMBER)
			snprintf(range, sizeof(range), "%.15g to %.15g", st->lo, st->hi);
		fprintf(fp, "%s.%s\t%s\t%s\t%s\t%s\t%s\n", st->section, st->key, st->env, kinds[st->kind],
		    st->def ? st->def : "", st->kind == K_ENUM ? st->choices : range, st->help);
	}
	return ferror(fp) ? PV_EIO : PV_OK;
}

/* A URL with its credentials (user:password@) masked: they are secrets too. */
static void
print_url(FILE *fp, const setting *st, const char *url, const char *src)
{
	char *shown = pv_url_redact(url, "****@");

	/* out of memory: nothing of it rather than the password */
	fprintf(fp, "%s.%s = %s  (%s)\n", st->section, st->key, shown ? shown : "********", src);
	free(shown);
}

/* The file a secret came from (its *_file key in the YAML), or NULL. */
static const char *
secret_file(const pv_settings *s, size_t i)
{
	for (size_t k = 0; k < NSETTINGS; k++)
		if (table[k].kind == K_SECRET_FILE && strcmp(table[k].env, table[i].env) == 0 && s->file[k])
			return s->file[k];
	return NULL;
}

/* The row a name stands for: its variable, its key, or a *_file key's variable + "_FILE". */
static int
row(const char *name)
{
	for (size_t i = 0; i < NSETTINGS; i++) {
		size_t n = strlen(table[i].section);
		size_t e = strlen(table[i].env);
		/* a *_file key also answers to its variable + "_FILE" (GRAFANA_PASSWORD_FILE) */
		if (table[i].kind == K_SECRET_FILE && strncmp(name, table[i].env, e) == 0 && strcmp(name + e, "_FILE") == 0)
			return (int)i;
		if (strcmp(name, table[i].env) == 0 ||
		    (strncmp(name, table[i].section, n) == 0 && name[n] == '.' && strcmp(name + n + 1, table[i].key) == 0))
			return (int)i;
	}
	return PV_GET_UNKNOWN;
}

int
pv_settings_lookup(const char *name)
{
	int i = row(name);

	return i >= 0 && table[i].kind == K_SECRET ? PV_GET_SECRET : i;
}

/*
 * The value in effect of row i: the environment's (INFLUXDB_URL standing in
 * for INFLUXDB_HOST), else the default when it is a value; NULL when none.
 * An empty value is unset, except (empty_is_value) a list of levels': none.
 */
static const char *
value(const pv_settings *s, size_t i, bool empty_is_value)
{
	const setting *st = &table[i];
	const char *v = getenv(st->env);

	if (st->kind == K_SECRET_FILE)
		/* the path, when the secret comes from this key of the YAML */
		return s != NULL ? s->file[i] : NULL;
	if (v != NULL && v[0] == '\0' && empty_is_value && st->kind == K_LEVELS)
		return v;
	if ((v == NULL || v[0] == '\0') && strcmp(st->env, "INFLUXDB_HOST") == 0)
		v = getenv("INFLUXDB_URL");
	if (v != NULL && v[0] != '\0')
		return v;
	/* a default that depends on something else ("<data folder>/../spool") is no value */
	return st->def != NULL && st->def[0] != '<' ? st->def : NULL;
}

const char *
pv_settings_get(const pv_settings *s, int i)
{
	const char *v;

	if (i < 0 || (size_t)i >= NSETTINGS || table[i].kind == K_SECRET)
		return "";
	v = value(s, (size_t)i, false);
	return v != NULL ? v : "";
}

/* A name the table does not hold is the caller's mistake: said loudly, once. */
static int
known_row(const char *key)
{
	int i = row(key);

	if (i < 0)
		fprintf(stderr, "tsv_parser: internal error: no setting '%s'\n", key);
	return i;
}

const char *
pv_settings_str(const pv_settings *s, const char *key)
{
	int i = known_row(key);

	return i < 0 ? NULL : value(s, (size_t)i, true);
}

const char *
pv_settings_default(const char *key)
{
	int i = known_row(key);

	return i < 0 || table[i].def == NULL || table[i].def[0] == '<' ? NULL : table[i].def;
}

double
pv_settings_num(const pv_settings *s, const char *key)
{
	const char *v = pv_settings_str(s, key);

	return v != NULL ? strtod(v, NULL) : 0;
}

bool
pv_settings_bool(const pv_settings *s, const char *key)
{
	const char *v = pv_settings_str(s, key);

	return v != NULL && strcmp(v, "0") != 0;
}

void
pv_settings_print(const pv_settings *s, FILE *fp)
{
	char src[300];

	fprintf(fp, "# configuration file: %s\n# .env: %s\n", s->config_path ? s->config_path : "(none)",
	    s->env_file ? s->env_file : "(none)");
	for (size_t i = 0; i < NSETTINGS; i++) {
		const setting *st = &table[i];
		const char *v = getenv(st->env);
		bool secret = st->kind == K_SECRET || st->kind == K_SECRET_FILE;
		bool host = strcmp(st->env, "INFLUXDB_HOST") == 0;
		bool url = host || strcmp(st->env, "GRAFANA_URL") == 0 || strcmp(st->env, "GRAFANA_INFLUXDB_URL") == 0 ||
		    strcmp(st->env, "CONFIG_API_URL") == 0;
		const char *file = secret_file(s, i);

		/* a secret's two keys (token, token_file) print once */
		if (st->kind == K_SECRET_FILE)
			continue;
		if (v == NULL && file != NULL) {
			/* a secret tsv_parser does not read (the playbook's): where it is */
			fprintf(fp, "%s.%s = <read from %s>  (%s)\n", st->section, st->key, file,
			    source_name(s, i, src, sizeof(src)));
			continue;
		}
		if (host && v == NULL && getenv("INFLUXDB_URL") != NULL)
			/* the original's other name for it */
			print_url(fp, st, getenv("INFLUXDB_URL"), "INFLUXDB_URL");
		else if (v == NULL)
			fprintf(fp, "%s.%s = %s  (%s)\n", st->section, st->key,
			    st->def ? st->def : "(unset)", "default");
		else if (v[0] == '\0')
			fprintf(fp, "%s.%s = %s  (%s, empty: the default applies)\n", st->section, st->key,
			    st->def ? st->def : "(unset)", source_name(s, i, src, sizeof(src)));
		else if (url)
			print_url(fp, st, v, source_name(s, i, src, sizeof(src)));
		else
			fprintf(fp, "%s.%s = %s  (%s)\n", st->section, st->key, secret ? "********" : v,
			    source_name(s, i, src, sizeof(src)));
	}
	const pv_formats *reg = s->formats;
	for (size_t i = 0; i < reg->count; i++) {
		const pv_format *f = &reg->items[i];
		fprintf(fp, "formats.%s = layout %s, device_model %s%s%s  (%s)\n", f->id,
		    pv_layout_name(f->layout), f->device_model, f->timezone ? ", timezone " : "",
		    f->timezone ? f->timezone : "", f->origin ? f->origin : "built-in");
	}
}
