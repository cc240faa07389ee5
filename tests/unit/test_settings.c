/*
 * Settings (include/powerview/config.h): what powerview.yaml sets, how a bad
 * file is refused ("file:line:column: reason"), precedence environment >
 * .env > file > default and the source pv_settings_print shows, secrets
 * never printed, the format registry the file extends, and a file of a
 * declared format read end to end.
 *
 * Every setting is a process environment variable, so each test starts and
 * ends with every TSV_* / INFLUXDB_* / POWERVIEW_CONFIG variable unset, and
 * table-driven tests clean it again between rows. Tests run inside their
 * own scratch folder, so the default ./.env is the test's own.
 */
#include "pv_test.h"

#include "powerview/channels.h"
#include "powerview/config.h"
#include "powerview/influx.h"
#include "powerview/ingest.h"

extern char **environ;

/* ---- fixture ---- */

static char *tmp;    /* scratch folder and working directory */
static char *oldcwd;

static bool
is_setting_var(const char *entry)
{
	return strncmp(entry, "TSV_", 4) == 0 || strncmp(entry, "INFLUXDB_", 9) == 0 ||
	    strncmp(entry, "POWERVIEW_CONFIG=", 17) == 0;
}

/* Unsets every TSV_*, INFLUXDB_* and POWERVIEW_CONFIG variable. */
static void
clean_env(void)
{
	for (;;) {
		char name[256] = "";

		for (char **e = environ; *e != NULL; e++) {
			if (is_setting_var(*e)) {
				snprintf(name, sizeof(name), "%.*s", (int)strcspn(*e, "="), *e);
				break;
			}
		}
		if (name[0] == '\0')
			return;
		assert_int_equal(unsetenv(name), 0);
	}
}

static int
setup(void **state)
{
	(void)state;
	clean_env();
	tmp = pvt_tmpdir();
	oldcwd = getcwd(NULL, 0);
	assert_non_null(oldcwd);
	assert_int_equal(chdir(tmp), 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	assert_int_equal(chdir(oldcwd), 0);
	pvt_rmrf(tmp);
	free(tmp);
	free(oldcwd);
	clean_env();
	return 0;
}

/* ---- helpers ---- */

/* text with every "@D@" replaced by the scratch folder; free() the result. */
static char *
subst(const char *text)
{
	size_t n = 0, dl = strlen(tmp);
	char *out, *o;

	for (const char *p = text; (p = strstr(p, "@D@")) != NULL; p += 3)
		n++;
	out = malloc(strlen(text) + n * dl + 1);
	assert_non_null(out);
	o = out;
	for (const char *p = text; *p;) {
		if (strncmp(p, "@D@", 3) == 0) {
			memcpy(o, tmp, dl);
			o += dl;
			p += 3;
		} else
			*o++ = *p++;
	}
	*o = '\0';
	return out;
}

/* Writes <tmp>/<name> (after subst) and returns its path; free() it. */
static char *
put(const char *name, const char *text)
{
	char *path = pvt_join(tmp, name), *body = subst(text);

	pvt_write_str(path, body);
	free(body);
	return path;
}

/* Everything pv_settings_print writes; free() it. */
static char *
print_all(const pv_settings *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	assert_non_null(fp);
	pv_settings_print(s, fp);
	assert_int_equal(fclose(fp), 0);
	return buf;
}

/* The printed line "<key> = ..." (without its newline); free() it. NULL when absent. */
static char *
print_line(const pv_settings *s, const char *key)
{
	char *all = print_all(s), *line = NULL;
	size_t kl = strlen(key);

	for (char *p = all; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, key, kl) == 0 && strncmp(p + kl, " = ", 3) == 0) {
			line = strndup(p, strcspn(p, "\n"));
			break;
		}
	}
	free(all);
	return line;
}

static void
assert_line(const pv_settings *s, const char *key, const char *expected, const char *label)
{
	char *line = print_line(s, key);

	if (line == NULL || strcmp(line, expected) != 0)
		fail_msg("%s: printed \"%s\", expected \"%s\"", label, line ? line : "(no line)", expected);
	free(line);
}

static void
assert_env(const char *name, const char *expected, const char *label)
{
	const char *v = getenv(name);

	if (expected == NULL && v != NULL)
		fail_msg("%s: %s is '%s', expected unset", label, name, v);
	if (expected != NULL && (v == NULL || strcmp(v, expected) != 0))
		fail_msg("%s: %s is %s%s%s, expected '%s'", label, name, v ? "'" : "", v ? v : "unset",
		    v ? "'" : "", expected);
}

/* ---- good files ---- */

typedef struct {
	const char *name, *text; /* written before the YAML when name != NULL */
} aux_file;

typedef struct {
	const char *label;
	const char *yaml;
	aux_file aux;
	const char *set[8][2];  /* variable, exact value */
	const char *unset[4];   /* variables the file leaves unset */
} good_case;

static const good_case good[] = {
	{ "influxdb section",
	  "influxdb:\n  api: v1\n  url: http://db.example:8086\n  org: acme\n  username: writer\n"
	  "  bucket_retention: 3600\n  meta_bucket: pv_meta\n",
	  { 0 },
	  { { "INFLUXDB_API", "v1" }, { "INFLUXDB_HOST", "http://db.example:8086" }, { "INFLUXDB_ORG", "acme" },
	    { "INFLUXDB_USERNAME", "writer" }, { "INFLUXDB_BUCKET_RETENTION", "3600" },
	    { "TSV_META_BUCKET", "pv_meta" } },
	  { "INFLUXDB_ADMIN_TOKEN", "INFLUXDB_PASSWORD" } },
	{ "influxdb token and password given inline",
	  "influxdb:\n  token: tok-inline-123\n  password: pw-inline-456\n", { 0 },
	  { { "INFLUXDB_ADMIN_TOKEN", "tok-inline-123" }, { "INFLUXDB_PASSWORD", "pw-inline-456" } },
	  { "INFLUXDB_HOST" } },
	{ "sink section",
	  "sink:\n  output: /tmp/out.lp\n  verify: false\n  gzip: auto\n  batch_lines: 100\n  batch_bytes: 8192\n",
	  { 0 },
	  { { "TSV_OUTPUT", "/tmp/out.lp" }, { "TSV_VERIFY", "0" }, { "TSV_GZIP", "auto" },
	    { "TSV_BATCH_LINES", "100" }, { "TSV_BATCH_BYTES", "8192" } },
	  { "TSV_TIMEZONE" } },
	{ "http section",
	  "http:\n  connect_timeout: 2.5\n  answer_timeout: 7\n  timeout: 30\n  retry_budget: 0\n  retry_after_max: 5\n",
	  { 0 },
	  { { "TSV_HTTP_CONNECT_TIMEOUT", "2.5" }, { "TSV_HTTP_ANSWER_TIMEOUT", "7" }, { "TSV_HTTP_TIMEOUT", "30" },
	    { "TSV_RETRY_BUDGET", "0" }, { "TSV_RETRY_AFTER_MAX", "5" } },
	  { "TSV_BATCH_LINES" } },
	{ "parser section",
	  "parser:\n  timezone: UTC\n  channel_id_scheme: compact\n  file_name_tag: no\n", { 0 },
	  { { "TSV_TIMEZONE", "UTC" }, { "TSV_CHANNEL_ID_SCHEME", "compact" }, { "TSV_FILE_NAME_TAG", "0" } },
	  { "TSV_LOG_LEVEL" } },
	{ "reports section", "reports:\n  dir: /var/lib/powerview/reports\n", { 0 },
	  { { "TSV_REPORT_DIR", "/var/lib/powerview/reports" } }, { "TSV_TIMEZONE" } },
	{ "log section", "log:\n  level: DEBUG\n", { 0 }, { { "TSV_LOG_LEVEL", "DEBUG" } }, { "TSV_REPORT_DIR" } },
	{ "quoted string value", "parser:\n  timezone: \"America/New_York\"\n", { 0 },
	  { { "TSV_TIMEZONE", "America/New_York" } }, { 0 } },
	/* YAML booleans */
	{ "verify: true", "sink:\n  verify: true\n", { 0 }, { { "TSV_VERIFY", "1" } }, { 0 } },
	{ "verify: yes", "sink:\n  verify: yes\n", { 0 }, { { "TSV_VERIFY", "1" } }, { 0 } },
	{ "verify: on", "sink:\n  verify: on\n", { 0 }, { { "TSV_VERIFY", "1" } }, { 0 } },
	{ "verify: True", "sink:\n  verify: True\n", { 0 }, { { "TSV_VERIFY", "1" } }, { 0 } },
	{ "file_name_tag: false", "parser:\n  file_name_tag: false\n", { 0 }, { { "TSV_FILE_NAME_TAG", "0" } }, { 0 } },
	{ "file_name_tag: no", "parser:\n  file_name_tag: no\n", { 0 }, { { "TSV_FILE_NAME_TAG", "0" } }, { 0 } },
	{ "file_name_tag: off", "parser:\n  file_name_tag: off\n", { 0 }, { { "TSV_FILE_NAME_TAG", "0" } }, { 0 } },
	{ "file_name_tag: on", "parser:\n  file_name_tag: on\n", { 0 }, { { "TSV_FILE_NAME_TAG", "1" } }, { 0 } },
	/* sink.gzip: auto or a boolean */
	{ "gzip: auto", "sink:\n  gzip: auto\n", { 0 }, { { "TSV_GZIP", "auto" } }, { 0 } },
	{ "gzip: true", "sink:\n  gzip: true\n", { 0 }, { { "TSV_GZIP", "1" } }, { 0 } },
	{ "gzip: false", "sink:\n  gzip: false\n", { 0 }, { { "TSV_GZIP", "0" } }, { 0 } },
	{ "gzip: off", "sink:\n  gzip: off\n", { 0 }, { { "TSV_GZIP", "0" } }, { 0 } },
	/* null and empty values leave the variable unset */
	{ "~, null and empty values",
	  "parser:\n  timezone: ~\n  channel_id_scheme: null\n  file_name_tag:\n", { 0 }, { { 0 } },
	  { "TSV_TIMEZONE", "TSV_CHANNEL_ID_SCHEME", "TSV_FILE_NAME_TAG" } },
	{ "NULL beside a set value", "sink:\n  output: NULL\n  batch_lines: 7\n", { 0 },
	  { { "TSV_BATCH_LINES", "7" } }, { "TSV_OUTPUT" } },
	{ "empty and null sections", "parser:\nsink: ~\nformats:\n", { 0 }, { { 0 } },
	  { "TSV_TIMEZONE", "TSV_OUTPUT" } },
	/* secrets from files: the trailing newline is not part of the secret */
	{ "token_file with a trailing newline", "influxdb:\n  token_file: @D@/token\n",
	  { "token", "tok-from-file\n" }, { { "INFLUXDB_ADMIN_TOKEN", "tok-from-file" } }, { "INFLUXDB_PASSWORD" } },
	{ "password_file with CRLF", "influxdb:\n  password_file: @D@/pw\n", { "pw", "pw-from-file\r\n" },
	  { { "INFLUXDB_PASSWORD", "pw-from-file" } }, { "INFLUXDB_ADMIN_TOKEN" } },
	{ "token_file without a newline", "influxdb:\n  token_file: @D@/token\n", { "token", "tok-bare" },
	  { { "INFLUXDB_ADMIN_TOKEN", "tok-bare" } }, { 0 } },
	/* files that set nothing */
	{ "empty file", "", { 0 }, { { 0 } }, { "TSV_TIMEZONE", "INFLUXDB_HOST", "TSV_OUTPUT" } },
	{ "comments only", "# PowerView settings\n\n# nothing yet\n", { 0 }, { { 0 } },
	  { "TSV_TIMEZONE", "INFLUXDB_HOST", "TSV_OUTPUT" } },
	{ "document marker only", "---\n", { 0 }, { { 0 } }, { "TSV_TIMEZONE" } },
	/* an alias of a single value stands for it */
	{ "a scalar alias", "influxdb:\n  org: &o powerview\n  username: *o\n", { 0 },
	  { { "INFLUXDB_ORG", "powerview" }, { "INFLUXDB_USERNAME", "powerview" } }, { 0 } },
};

static void
good_files_set_variables(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(good); i++) {
		const good_case *c = &good[i];
		char *aux = c->aux.name ? put(c->aux.name, c->aux.text) : NULL;
		char *path = put("powerview.yaml", c->yaml);
		pv_settings *s = pv_settings_new();
		pv_err err = { "" };
		int rc;

		clean_env();
		assert_non_null(s);
		rc = pv_settings_load_yaml(s, path, &err);
		if (rc != PV_OK)
			fail_msg("%s: rc %d: %s", c->label, rc, err.msg);
		for (size_t k = 0; k < 8 && c->set[k][0]; k++)
			assert_env(c->set[k][0], c->set[k][1], c->label);
		for (size_t k = 0; k < 4 && c->unset[k]; k++)
			assert_env(c->unset[k], NULL, c->label);
		if ((rc = pv_settings_check(s, &err)) != PV_OK)
			fail_msg("%s: check rc %d: %s", c->label, rc, err.msg);
		/* only the built-in formats */
		assert_int_equal(pv_settings_formats(s)->count, 2);
		pv_settings_free(s);
		free(path);
		free(aux);
	}
	clean_env();
}

/* ---- bad files ---- */

typedef struct {
	const char *label;
	const char *yaml;
	aux_file aux;
	int line, col;
	const char *reason; /* substring of the message after "path:line:col: " (after subst) */
} bad_case;

static const bad_case bad[] = {
	{ "unclosed quote", "parser:\n  timezone: \"UTC\n", { 0 }, 3, 1,
	  "found unexpected end of stream while scanning a quoted scalar" },
	{ "bad indentation (less)", "parser:\n  timezone: UTC\n channel_id_scheme: serial\n", { 0 }, 3, 2,
	  "did not find expected key" },
	{ "bad indentation (more, then less)", "parser:\n    timezone: UTC\n  channel_id_scheme: serial\n", { 0 },
	  3, 3, "did not find expected key" },
	{ "tab indentation", "parser:\n\ttimezone: UTC\n", { 0 }, 2, 1, "found character that cannot start any token" },
	{ "a sequence as the root", "- influxdb\n- sink\n", { 0 }, 1, 1, "the file must be a mapping of sections" },
	{ "a scalar as the root", "hello\n", { 0 }, 1, 1, "the file must be a mapping of sections" },
	{ "unknown section", "parser:\n  timezone: UTC\ndatabase:\n  url: x\n", { 0 }, 3, 1,
	  "unknown section 'database' (known: influxdb, sink, http, parser, spool, reports, downsample, config_api, log, hook, grafana, formats)" },
	{ "unknown key influxdb.tokn", "influxdb:\n  url: http://db:8086\n  tokn: abc\n", { 0 }, 3, 3,
	  "unknown key 'tokn' in influxdb" },
	{ "a key of another section", "sink:\n  timezone: UTC\n", { 0 }, 2, 3, "unknown key 'timezone' in sink" },
	{ "duplicate key", "parser:\n  timezone: UTC\n  timezone: Europe/Paris\n", { 0 }, 3, 3,
	  "parser.timezone is given twice" },
	{ "duplicate section", "parser:\n  timezone: UTC\nparser:\n  channel_id_scheme: serial\n", { 0 }, 3, 1,
	  "section parser is given twice" },
	{ "a mapping where a value is expected", "parser:\n  timezone:\n    name: UTC\n", { 0 }, 3, 5,
	  "parser.timezone must be a single value" },
	{ "a list where a value is expected", "sink:\n  batch_lines: [1, 2]\n", { 0 }, 2, 16,
	  "sink.batch_lines must be a single value" },
	{ "a section that is a value", "parser: UTC\n", { 0 }, 1, 9, "parser must be a mapping of keys" },
	{ "batch_lines 0", "sink:\n  batch_lines: 0\n", { 0 }, 2, 16,
	  "batch_lines: must be a number from 1 to 1e+07, not '0'" },
	{ "batch_lines many", "sink:\n  batch_lines: many\n", { 0 }, 2, 16,
	  "batch_lines: must be a number from 1 to 1e+07, not 'many'" },
	{ "batch_bytes too small", "sink:\n  batch_bytes: 100\n", { 0 }, 2, 16,
	  "batch_bytes: must be a number from 4096 to" },
	{ "timeout 0", "http:\n  timeout: 0\n", { 0 }, 2, 12, "timeout: must be a number from 0.001 to 86400, not '0'" },
	{ "timezone Mars/Olympus", "parser:\n  timezone: Mars/Olympus\n", { 0 }, 2, 13,
	  "timezone: unknown time zone: Mars/Olympus" },
	{ "channel_id_scheme short", "parser:\n  channel_id_scheme: short\n", { 0 }, 2, 22,
	  "channel_id_scheme: must be one of serial|compact, not 'short'" },
	{ "api v3", "influxdb:\n  api: v3\n", { 0 }, 2, 8, "api: must be one of v2|v1|vm, not 'v3'" },
	{ "gzip maybe", "sink:\n  gzip: maybe\n", { 0 }, 2, 9, "gzip: must be one of 1|0|auto, not 'maybe'" },
	{ "verify maybe", "sink:\n  verify: maybe\n", { 0 }, 2, 11,
	  "verify: must be true or false (1 or 0), not 'maybe'" },
	{ "log level LOUD", "log:\n  level: LOUD\n", { 0 }, 2, 10,
	  "level: must be one of DEBUG|INFO|WARNING|WARN|ERROR, not 'LOUD'" },
	{ "meta_bucket _x", "influxdb:\n  meta_bucket: _x\n", { 0 }, 2, 16, "meta_bucket: bucket name starts with '_'" },
	{ "token_file missing", "influxdb:\n  token_file: @D@/no-such-token\n", { 0 }, 2, 15,
	  "token_file: cannot read @D@/no-such-token: No such file or directory" },
	{ "token_file empty", "influxdb:\n  token_file: @D@/token\n", { "token", "" }, 2, 15,
	  "token_file: @D@/token must hold the secret on one line" },
	{ "token_file blank lines only", "influxdb:\n  token_file: @D@/token\n", { "token", "\n\n" }, 2, 15,
	  "token_file: @D@/token must hold the secret on one line" },
	{ "token_file two lines", "influxdb:\n  token_file: @D@/token\n", { "token", "abc\ndef\n" }, 2, 15,
	  "token_file: @D@/token must hold the secret on one line" },
	{ "password_file missing", "influxdb:\n  password_file: @D@/pw\n", { 0 }, 2, 18,
	  "password_file: cannot read @D@/pw: No such file or directory" },
	/* formats */
	{ "formats: not a list", "formats:\n  id: MV_T202_V002\n", { 0 }, 2, 3, "formats must be a list of formats" },
	{ "formats: a scalar", "formats: MV_T202_V002\n", { 0 }, 1, 10, "formats must be a list of formats" },
	{ "a format that is not a mapping", "formats:\n  - MV_T202_V002\n", { 0 }, 2, 5,
	  "a format is a mapping (id, like, layout, device_model, timezone)" },
	{ "a format without id", "formats:\n  - like: MV_T302_V002\n", { 0 }, 2, 5, "a format needs an id" },
	{ "a format with an unknown key", "formats:\n  - {id: X, like: MV_T302_V002, colour: red}\n", { 0 }, 2, 33,
	  "unknown key 'colour' in a format" },
	{ "a format key twice", "formats:\n  - {id: X, like: MV_T302_V002, id: Y}\n", { 0 }, 2, 33,
	  "id is given twice in a format" },
	{ "duplicate id", "formats:\n  - {id: X, like: MV_T302_V002}\n  - {id: X, like: MV_T302_V003}\n", { 0 }, 3, 10,
	  "format X is defined twice" },
	{ "redefining a built-in", "formats:\n  - {id: MV_T302_V002, like: MV_T302_V003}\n", { 0 }, 2, 10,
	  "format MV_T302_V002 is defined twice" },
	{ "like an unknown id", "formats:\n  - {id: X, like: NOPE}\n", { 0 }, 2, 19,
	  "like: no format 'NOPE' is defined before this one" },
	{ "like a format declared later", "formats:\n  - {id: A, like: B}\n  - {id: B, like: MV_T302_V002}\n", { 0 },
	  2, 19, "like: no format 'B' is defined before this one" },
	{ "layout round", "formats:\n  - {id: X, layout: round, device_model: MV1}\n", { 0 }, 2, 21,
	  "layout must be plain or framed, not 'round'" },
	{ "id with a space", "formats:\n  - {id: \"X Y\", like: MV_T302_V002}\n", { 0 }, 2, 10,
	  "format id 'X Y' must be 1-64 letters, digits, '_', '.' or '-'" },
	{ "neither like nor layout + device_model", "formats:\n  - {id: X, device_model: MV1}\n", { 0 }, 2, 5,
	  "format X needs layout and device_model, or like" },
	{ "format timezone Mars/Olympus", "formats:\n  - {id: X, like: MV_T302_V002, timezone: Mars/Olympus}\n",
	  { 0 }, 2, 43, "timezone: unknown time zone: Mars/Olympus" },
	{ "format device_model _x", "formats:\n  - {id: X, like: MV_T302_V002, device_model: _x}\n", { 0 }, 2, 47,
	  "device_model '_x' cannot be a tag value" },
	{ "format value that is a list", "formats:\n  - {id: X, like: [MV_T302_V002]}\n", { 0 }, 2, 19,
	  "like must be a single value" },
	/* aliases: of single values only, so that none can multiply what is read */
	{ "an alias of a mapping", "influxdb: &e {}\nsink: *e\n", { 0 }, 2, 7,
	  "an alias may only stand for a single value, not a list or a mapping" },
	{ "lists of aliased lists", "a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n", { 0 }, 2, 8,
	  "an alias may only stand for a single value, not a list or a mapping" },
	{ "an undefined alias", "log:\n  level: *nope\n", { 0 }, 2, 10, "found undefined alias" },
	{ "a duplicate anchor", "parser:\n  timezone: &z UTC\nlog:\n  level: &z INFO\n", { 0 }, 4, 10,
	  "found duplicate anchor; first occurrence at line 2, column 13" },
	{ "an alias where it is used", "parser:\n  timezone: &z UTC\n  channel_id_scheme: *z\n", { 0 }, 3, 22,
	  "channel_id_scheme: must be one of serial|compact, not 'UTC'" },
};

static void
bad_files_fail_with_position(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(bad); i++) {
		const bad_case *c = &bad[i];
		char *aux = c->aux.name ? put(c->aux.name, c->aux.text) : NULL;
		char *path = put("bad.yaml", c->yaml), *prefix, *reason = subst(c->reason);
		pv_settings *s = pv_settings_new();
		pv_err err = { "" };
		int rc;

		clean_env();
		rc = pv_settings_load_yaml(s, path, &err);
		if (rc != PV_ECONFIG)
			fail_msg("%s: rc %d, expected PV_ECONFIG (%s)", c->label, rc, err.msg);
		assert_true(asprintf(&prefix, "%s:%d:%d: ", path, c->line, c->col) > 0);
		if (strncmp(err.msg, prefix, strlen(prefix)) != 0)
			fail_msg("%s: \"%s\" does not start with \"%s\"", c->label, err.msg, prefix);
		if (strstr(err.msg + strlen(prefix), reason) == NULL)
			fail_msg("%s: \"%s\" does not say \"%s\"", c->label, err.msg, reason);
		pv_settings_free(s);
		free(prefix);
		free(reason);
		free(path);
		free(aux);
	}
	clean_env();
}

/* head, open n times, close n times, tail; free() it. */
static char *
nest(const char *head, const char *open, size_t n, const char *close, const char *tail)
{
	size_t h = strlen(head), o = strlen(open), c = strlen(close), t = strlen(tail);
	char *s = malloc(h + (o + c) * n + t + 1), *p = s;

	assert_non_null(s);
	memcpy(p, head, h);
	p += h;
	for (size_t i = 0; i < n; i++, p += o)
		memcpy(p, open, o);
	for (size_t i = 0; i < n; i++, p += c)
		memcpy(p, close, c);
	memcpy(p, tail, t + 1);
	return s;
}

/* libyaml's loader took minutes over 200 000 '['; each shape stops at level 65, where it is. */
static void
deep_nesting_is_refused_at_once(void **state)
{
	static const struct {
		const char *head, *open;
		size_t n;
		const char *close, *tail;
		int line, col;
		const char *reason;
	} t[] = {
		{ "", "[", 200000, "", "\n", 1, 65, "nesting deeper than 64 levels" },
		{ "", "- ", 200000, "", "x\n", 1, 129, "nesting deeper than 64 levels" },
		{ "x: ", "{a: ", 200000, "", "\n", 1, 256, "nesting deeper than 64 levels" },
		/* 64 levels are no nesting error: the schema speaks */
		{ "", "[", 64, "]", "\n", 1, 1, "the file must be a mapping of sections" },
		{ "parser:\n  timezone: ", "[", 62, "]", "\n", 2, 13, "parser.timezone must be a single value" },
		{ "parser:\n  timezone: ", "[", 63, "]", "\n", 2, 75, "nesting deeper than 64 levels" },
		/* the tree is bounded too: values, and anchors */
		{ "formats: [", "x, ", 100000, "", "]\n", 1, 300002, "more than 100000 values, lists and mappings" },
		{ "", "", 0, "", "", 257, 3, "more than 256 anchors" },
	};

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(t); i++) {
		char *text = nest(t[i].head, t[i].open, t[i].n, t[i].close, t[i].tail), *path, *want;
		pv_settings *s = pv_settings_new();
		pv_err err = { "" };

		/* 300 anchors, each its own name */
		if (t[i].n == 0) {
			free(text);
			text = malloc(300 * 16);
			assert_non_null(text);
			for (int k = 0, n = 0; k < 300; k++)
				n += sprintf(text + n, "- &a%d x\n", k);
		}
		path = put("deep.yaml", text);
		clean_env();
		assert_int_equal(pv_settings_load_yaml(s, path, &err), PV_ECONFIG);
		assert_true(asprintf(&want, "%s:%d:%d: %s", path, t[i].line, t[i].col, t[i].reason) > 0);
		if (strncmp(err.msg, want, strlen(want)) != 0)
			fail_msg("case %zu: \"%s\", expected \"%s\"", i, err.msg, want);
		pv_settings_free(s);
		free(want);
		free(path);
		free(text);
	}
	clean_env();
}

/* Named files that do not exist: PV_ENOENT, no settings. */
static void
missing_named_files(void **state)
{
	static const struct {
		const char *label, *env_file, *config, *powerview_config, *says;
	} t[] = {
		{ "--config missing", NULL, "@D@/none.yaml", NULL, "cannot read @D@/none.yaml: No such file or directory" },
		{ "POWERVIEW_CONFIG missing", NULL, NULL, "@D@/none.yaml", "cannot read @D@/none.yaml" },
		{ "--env-file missing", "@D@/none.env", NULL, NULL, "@D@/none.env" },
	};

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(t); i++) {
		char *env_file = t[i].env_file ? subst(t[i].env_file) : NULL;
		char *config = t[i].config ? subst(t[i].config) : NULL, *says = subst(t[i].says);
		pv_settings *s = (pv_settings *)&s;
		pv_err err = { "" };
		int rc;

		clean_env();
		if (t[i].powerview_config) {
			char *pc = subst(t[i].powerview_config);
			setenv("POWERVIEW_CONFIG", pc, 1);
			free(pc);
		}
		rc = pv_settings_load(&s, env_file, config, &err);
		if (rc != PV_ENOENT)
			fail_msg("%s: rc %d, expected PV_ENOENT (%s)", t[i].label, rc, err.msg);
		assert_null(s);
		if (strstr(err.msg, says) == NULL)
			fail_msg("%s: \"%s\" does not say \"%s\"", t[i].label, err.msg, says);
		free(env_file);
		free(config);
		free(says);
	}
	clean_env();
}

/* pv_settings_load passes a bad YAML or .env through as PV_ECONFIG. */
static void
load_refuses_bad_files(void **state)
{
	char *yaml = put("bad.yaml", "parser:\n  timezone: Mars/Olympus\n");
	char *env = put("bad.env", "TSV_TIMEZONE='unterminated\n");
	char *prefix;
	pv_settings *s = (pv_settings *)&s;
	pv_err err = { "" };

	(void)state;
	assert_int_equal(pv_settings_load(&s, NULL, yaml, &err), PV_ECONFIG);
	assert_null(s);
	assert_true(asprintf(&prefix, "%s:2:13: timezone: unknown time zone: Mars/Olympus", yaml) > 0);
	assert_string_equal(err.msg, prefix);
	free(prefix);

	clean_env();
	s = (pv_settings *)&s;
	assert_int_equal(pv_settings_load(&s, env, NULL, &err), PV_ECONFIG);
	assert_null(s);
	pvt_assert_contains(err.msg, env);
	free(yaml);
	free(env);
}

/*
 * An enum value the loader accepts must be one the rest of the program
 * accepts (else `tsv_parser config` says fine and the run says 78, with no
 * place in the file). Every row is tried; the failures are listed together.
 */
static void
accepted_enum_values_are_usable(void **state)
{
	static const struct {
		const char *yaml, *var;
	} t[] = {
		{ "parser:\n  channel_id_scheme: Compact\n", "TSV_CHANNEL_ID_SCHEME" },
		{ "influxdb:\n  api: V1\n", "INFLUXDB_API" },
		{ "sink:\n  gzip: AUTO\n", "TSV_GZIP" },
	};
	char problems[2048] = "";

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(t); i++) {
		char *path = put("enum.yaml", t[i].yaml), *prefix;
		size_t used = strlen(problems);
		pv_settings *s = pv_settings_new();
		pv_err err = { "" };
		int rc;

		clean_env();
		rc = pv_settings_load_yaml(s, path, &err);
		assert_true(asprintf(&prefix, "%s:2:", path) > 0);
		if (rc == PV_ECONFIG) {
			/* refused: then with the place in the file */
			if (strncmp(err.msg, prefix, strlen(prefix)) != 0)
				snprintf(problems + used, sizeof(problems) - used, "\n  %s: \"%s\" has no position",
				    t[i].var, err.msg);
		} else if (rc != PV_OK) {
			snprintf(problems + used, sizeof(problems) - used, "\n  %s: rc %d", t[i].var, rc);
		} else {
			/* accepted: then the readers of the variable take it */
			const char *v = getenv(t[i].var);
			pv_id_scheme scheme;
			pv_influx_config ic;

			assert_non_null(v);
			if (strcmp(t[i].var, "TSV_CHANNEL_ID_SCHEME") == 0) {
				if (!pv_id_scheme_parse(&scheme, v))
					snprintf(problems + used, sizeof(problems) - used,
					    "\n  %s: the loader accepts '%s', the run refuses it", t[i].var, v);
			} else {
				setenv("INFLUXDB_HOST", "http://db.example:8086", 1);
				setenv("INFLUXDB_ORG", "o", 1);
				setenv("INFLUXDB_ADMIN_TOKEN", "t", 1);
				setenv("INFLUXDB_USERNAME", "u", 1);
				setenv("INFLUXDB_PASSWORD", "p", 1);
				if (pv_influx_config_from_settings(&ic, s, &err) != PV_OK)
					snprintf(problems + used, sizeof(problems) - used,
					    "\n  %s: the loader accepts '%s', the run refuses it: %s", t[i].var, v, err.msg);
			}
		}
		free(prefix);
		pv_settings_free(s);
		free(path);
	}
	clean_env();
	if (problems[0] != '\0')
		fail_msg("%s", problems);
}

/* ---- precedence: environment > .env > file > default ---- */

typedef struct {
	const char *key, *var;
	const char *env_val, *dotenv_val, *yaml_val;
	const char *yaml;     /* sets key to yaml_val on yaml_line */
	int yaml_line;
	const char *printed_default;
} prec_case;

static const prec_case prec[] = {
	{ "parser.timezone", "TSV_TIMEZONE", "America/New_York", "Asia/Tokyo", "UTC",
	  "# zone of plain files\nparser:\n  channel_id_scheme: serial\n  timezone: UTC\n", 4, "Europe/Paris" },
	{ "sink.batch_lines", "TSV_BATCH_LINES", "100", "200", "300", "sink:\n  batch_lines: 300\n", 2, "5000" },
	{ "influxdb.org", "INFLUXDB_ORG", "env-org", "dotenv-org", "file-org",
	  "influxdb:\n  url: http://db:8086\n  org: file-org\n", 3, "(unset)" },
	{ "log.level", "TSV_LOG_LEVEL", "DEBUG", "WARNING", "ERROR", "log:\n  level: ERROR\n", 2, "INFO" },
	{ "sink.output", "TSV_OUTPUT", "/env.lp", "/dotenv.lp", "/file.lp", "sink:\n  output: /file.lp\n", 2,
	  "(unset)" },
};

/* step 0: all three sources; 1: not in the environment; 2: nor in .env; 3: nor in the file. */
static void
precedence_and_printed_source(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(prec); i++) {
		const prec_case *c = &prec[i];

		for (int step = 0; step < 4; step++) {
			char *dotenv_text, *env_path, *yaml_path, *expected, label[128];
			const char *value;
			pv_settings *s = NULL;
			pv_err err = { "" };
			int rc;

			clean_env();
			snprintf(label, sizeof(label), "%s step %d", c->key, step);
			if (step == 0)
				setenv(c->var, c->env_val, 1);
			if (step <= 1)
				assert_true(asprintf(&dotenv_text, "# site settings\n%s=%s\n", c->var, c->dotenv_val) > 0);
			else
				dotenv_text = strdup("# site settings\n");
			env_path = put("site.env", dotenv_text);
			yaml_path = put("powerview.yaml", step <= 2 ? c->yaml : "parser:\n  file_name_tag: true\n");
			rc = pv_settings_load(&s, env_path, yaml_path, &err);
			if (rc != PV_OK)
				fail_msg("%s: rc %d: %s", label, rc, err.msg);
			if ((rc = pv_settings_check(s, &err)) != PV_OK)
				fail_msg("%s: check rc %d: %s", label, rc, err.msg);
			value = step == 0 ? c->env_val : step == 1 ? c->dotenv_val : step == 2 ? c->yaml_val : NULL;
			assert_env(c->var, value, label);
			if (step == 0)
				assert_true(asprintf(&expected, "%s = %s  (env %s)", c->key, value, c->var) > 0);
			else if (step == 1)
				assert_true(asprintf(&expected, "%s = %s  (%s %s)", c->key, value, env_path, c->var) > 0);
			else if (step == 2)
				assert_true(asprintf(&expected, "%s = %s  (file %s:%d)", c->key, value, yaml_path,
				    c->yaml_line) > 0);
			else
				assert_true(asprintf(&expected, "%s = %s  (default)", c->key, c->printed_default) > 0);
			assert_line(s, c->key, expected, label);
			pv_settings_free(s);
			free(expected);
			free(dotenv_text);
			free(env_path);
			free(yaml_path);
		}
	}
	clean_env();
}

/* Without --env-file, ./.env is read and shown as ".env". */
static void
default_dotenv_is_the_working_directory_one(void **state)
{
	char *dotenv = put(".env", "TSV_TIMEZONE=Asia/Tokyo\n");
	pv_settings *s = NULL;
	pv_err err = { "" };
	char *all;

	(void)state;
	assert_int_equal(pv_settings_load(&s, NULL, NULL, &err), PV_OK);
	assert_env("TSV_TIMEZONE", "Asia/Tokyo", "./.env");
	assert_line(s, "parser.timezone", "parser.timezone = Asia/Tokyo  (.env TSV_TIMEZONE)", "./.env");
	all = print_all(s);
	pvt_assert_contains(all, "# .env: .env\n");
	free(all);
	pv_settings_free(s);
	free(dotenv);
}

/* The file: --config, else $POWERVIEW_CONFIG (an empty one is ignored). */
static void
which_file_is_read(void **state)
{
	char *a = put("a.yaml", "parser:\n  timezone: UTC\n");
	char *b = put("b.yaml", "parser:\n  timezone: Asia/Tokyo\n");
	char *expected, *all;
	pv_settings *s = NULL;
	pv_err err = { "" };
	struct stat st;

	(void)state;
	/* POWERVIEW_CONFIG alone */
	setenv("POWERVIEW_CONFIG", b, 1);
	assert_int_equal(pv_settings_load(&s, NULL, NULL, &err), PV_OK);
	assert_env("TSV_TIMEZONE", "Asia/Tokyo", "POWERVIEW_CONFIG");
	assert_true(asprintf(&expected, "# configuration file: %s\n# .env: (none)\n", b) > 0);
	all = print_all(s);
	assert_true(strncmp(all, expected, strlen(expected)) == 0);
	free(all);
	free(expected);
	pv_settings_free(s);

	/* --config wins over POWERVIEW_CONFIG */
	clean_env();
	setenv("POWERVIEW_CONFIG", b, 1);
	assert_int_equal(pv_settings_load(&s, NULL, a, &err), PV_OK);
	assert_env("TSV_TIMEZONE", "UTC", "--config and POWERVIEW_CONFIG");
	assert_true(asprintf(&expected, "parser.timezone = UTC  (file %s:2)", a) > 0);
	assert_line(s, "parser.timezone", expected, "--config and POWERVIEW_CONFIG");
	free(expected);
	pv_settings_free(s);

	/* an empty POWERVIEW_CONFIG is no file (unless the system one exists) */
	clean_env();
	setenv("POWERVIEW_CONFIG", "", 1);
	assert_int_equal(pv_settings_load(&s, NULL, NULL, &err), PV_OK);
	if (stat("/etc/powerview/powerview.yaml", &st) != 0) {
		all = print_all(s);
		assert_true(strncmp(all, "# configuration file: (none)\n# .env: (none)\n", 44) == 0);
		free(all);
		assert_env("TSV_TIMEZONE", NULL, "empty POWERVIEW_CONFIG");
	}
	pv_settings_free(s);
	free(a);
	free(b);
}

/* The command line wins over every other source and shows as "flag". */
static void
flags_win_and_show(void **state)
{
	char *yaml = put("powerview.yaml", "sink:\n  output: /file.lp\n  verify: true\n");
	pv_settings *s = NULL;
	pv_err err = { "" };

	(void)state;
	setenv("TSV_VERIFY", "1", 1);
	assert_int_equal(pv_settings_load(&s, NULL, yaml, &err), PV_OK);
	assert_env("TSV_OUTPUT", "/file.lp", "before the flag");
	assert_int_equal(pv_settings_flag(s, "TSV_OUTPUT", "/flag.lp"), PV_OK);
	assert_int_equal(pv_settings_flag(s, "TSV_VERIFY", "0"), PV_OK);
	assert_env("TSV_OUTPUT", "/flag.lp", "--output");
	assert_env("TSV_VERIFY", "0", "--no-verify");
	assert_line(s, "sink.output", "sink.output = /flag.lp  (flag)", "--output");
	assert_line(s, "sink.verify", "sink.verify = 0  (flag)", "--no-verify");
	assert_int_equal(pv_settings_check(s, &err), PV_OK);
	pv_settings_free(s);
	free(yaml);
}

/*
 * INFLUXDB_URL is the older spelling of INFLUXDB_HOST (tsv_parser -h); the
 * environment (or .env) must still win over influxdb.url in the file.
 */
static void
environment_url_beats_file_url(void **state)
{
	char *yaml = put("powerview.yaml", "influxdb:\n  url: http://file-host:8086\n");
	pv_settings *s = NULL;
	pv_influx_config ic;
	pv_err err = { "" };
	char url[256] = "";
	int rc;

	(void)state;
	setenv("INFLUXDB_URL", "http://env-host:8086", 1);
	setenv("INFLUXDB_ORG", "o", 1);
	setenv("INFLUXDB_ADMIN_TOKEN", "t", 1);

	assert_int_equal(pv_settings_load(&s, NULL, yaml, &err), PV_OK);
	rc = pv_influx_config_from_settings(&ic, s, &err);
	if (rc == PV_OK)
		snprintf(url, sizeof(url), "%s", ic.url);
	pv_settings_free(s);
	free(yaml);
	assert_int_equal(rc, PV_OK);
	assert_string_equal(url, "http://env-host:8086");
}

/* pv_settings_check names the setting and the source of a wrong value. */
static void
check_names_setting_and_source(void **state)
{
	static const struct {
		const char *var, *value, *says; /* "@E@": the .env path */
		bool in_dotenv;
	} t[] = {
		{ "TSV_BATCH_LINES", "0", "sink.batch_lines (env TSV_BATCH_LINES): must be a number from 1 to 1e+07, not '0'", false },
		{ "TSV_TIMEZONE", "Mars/Olympus", "parser.timezone (env TSV_TIMEZONE): unknown time zone: Mars/Olympus", false },
		{ "TSV_VERIFY", "yes", "sink.verify (env TSV_VERIFY): must be true or false (1 or 0), not 'yes'", false },
		{ "INFLUXDB_API", "v3", "influxdb.api (env INFLUXDB_API): must be one of v2|v1|vm, not 'v3'", false },
		{ "TSV_META_BUCKET", "_m", "influxdb.meta_bucket (env TSV_META_BUCKET): bucket name starts with '_'", false },
		{ "TSV_CHANNEL_ID_SCHEME", "short", "parser.channel_id_scheme (@E@ TSV_CHANNEL_ID_SCHEME): must be one of serial|compact, not 'short'", true },
	};

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(t); i++) {
		char *env_path = NULL, *says, *line = NULL;
		pv_settings *s = NULL;
		pv_err err = { "" };

		clean_env();
		if (t[i].in_dotenv) {
			assert_true(asprintf(&line, "%s=%s\n", t[i].var, t[i].value) > 0);
			env_path = put("check.env", line);
		} else
			setenv(t[i].var, t[i].value, 1);
		assert_int_equal(pv_settings_load(&s, env_path, NULL, &err), PV_OK);
		assert_int_equal(pv_settings_check(s, &err), PV_ECONFIG);
		if (t[i].in_dotenv) {
			const char *at = strstr(t[i].says, "@E@");
			assert_true(asprintf(&says, "%.*s%s%s", (int)(at - t[i].says), t[i].says, env_path, at + 3) > 0);
		} else
			says = strdup(t[i].says);
		assert_string_equal(err.msg, says);
		pv_settings_free(s);
		free(says);
		free(line);
		free(env_path);
	}

	/* as the original: an unknown level in the environment falls back to INFO */
	clean_env();
	setenv("TSV_LOG_LEVEL", "LOUD", 1);
	{
		pv_settings *s = NULL;
		pv_err err = { "" };
		assert_int_equal(pv_settings_load(&s, NULL, NULL, &err), PV_OK);
		assert_int_equal(pv_settings_check(s, &err), PV_OK);
		pv_settings_free(s);
	}
	clean_env();
}

/* ---- secrets ---- */

typedef struct {
	const char *label;
	const char *env[2];   /* variable, value set in the environment */
	const char *dotenv;   /* .env text */
	const char *yaml;
	aux_file aux;
	const char *secret;
	const char *key;      /* the printed line */
	const char *source;   /* "@E@": the .env path, "@Y@": the YAML path */
} secret_case;

static const secret_case secrets[] = {
	{ "token in the environment", { "INFLUXDB_ADMIN_TOKEN", "tok-ENV-9f3a" }, NULL, NULL, { 0 }, "tok-ENV-9f3a",
	  "influxdb.token", "env INFLUXDB_ADMIN_TOKEN" },
	{ "password in the environment", { "INFLUXDB_PASSWORD", "pw-ENV-77x" }, NULL, NULL, { 0 }, "pw-ENV-77x",
	  "influxdb.password", "env INFLUXDB_PASSWORD" },
	{ "token in .env", { 0 }, "INFLUXDB_ADMIN_TOKEN='tok-DOTENV-1b2c'\n", NULL, { 0 }, "tok-DOTENV-1b2c",
	  "influxdb.token", "@E@ INFLUXDB_ADMIN_TOKEN" },
	{ "password in .env", { 0 }, "INFLUXDB_PASSWORD=pw-DOTENV-5e6f\n", NULL, { 0 }, "pw-DOTENV-5e6f",
	  "influxdb.password", "@E@ INFLUXDB_PASSWORD" },
	{ "token in the file", { 0 }, NULL, "influxdb:\n  token: tok-YAML-3d4e\n", { 0 }, "tok-YAML-3d4e",
	  "influxdb.token", "file @Y@:2" },
	{ "token_file in the file", { 0 }, NULL, "influxdb:\n  url: http://db:8086\n  token_file: @D@/token\n",
	  { "token", "tok-FILE-8a9b\n" }, "tok-FILE-8a9b", "influxdb.token", "file @Y@:3" },
	{ "password in the file", { 0 }, NULL, "influxdb:\n  password: pw-YAML-0c1d\n", { 0 }, "pw-YAML-0c1d",
	  "influxdb.password", "file @Y@:2" },
	{ "password_file in the file", { 0 }, NULL, "influxdb:\n  password_file: @D@/pw\n", { "pw", "pw-FILE-2e3f\n" },
	  "pw-FILE-2e3f", "influxdb.password", "file @Y@:2" },
};

static char *
expand_source(const char *src, const char *env_path, const char *yaml_path)
{
	const char *at = strstr(src, "@E@");
	const char *with = env_path;
	char *out;

	if (at == NULL) {
		at = strstr(src, "@Y@");
		with = yaml_path;
	}
	if (at == NULL)
		return strdup(src);
	assert_true(asprintf(&out, "%.*s%s%s", (int)(at - src), src, with, at + 3) > 0);
	return out;
}

static void
secrets_are_never_printed(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(secrets); i++) {
		const secret_case *c = &secrets[i];
		char *aux = c->aux.name ? put(c->aux.name, c->aux.text) : NULL;
		char *env_path = c->dotenv ? put("secret.env", c->dotenv) : NULL;
		char *yaml_path = c->yaml ? put("secret.yaml", c->yaml) : NULL;
		char *all, *src, *expected;
		const char *var = strcmp(c->key, "influxdb.token") == 0 ? "INFLUXDB_ADMIN_TOKEN" : "INFLUXDB_PASSWORD";
		pv_settings *s = NULL;
		pv_err err = { "" };

		clean_env();
		if (c->env[0])
			setenv(c->env[0], c->env[1], 1);
		if (pv_settings_load(&s, env_path, yaml_path, &err) != PV_OK)
			fail_msg("%s: %s", c->label, err.msg);
		assert_env(var, c->secret, c->label); /* it is set, and to the secret */
		all = print_all(s);
		if (strstr(all, c->secret) != NULL) {
			char *line = print_line(s, c->key);
			fail_msg("%s: the secret is printed: %s", c->label, line);
		}
		src = expand_source(c->source, env_path, yaml_path);
		assert_true(asprintf(&expected, "%s = ********  (%s)", c->key, src) > 0);
		assert_line(s, c->key, expected, c->label);
		free(expected);
		free(src);
		free(all);
		pv_settings_free(s);
		free(aux);
		free(env_path);
		free(yaml_path);
	}
	clean_env();
}

/* A password written into the server URL is a password too. */
static void
url_credentials_are_not_printed(void **state)
{
	static const char *const urls[] = {
		"http://admin:hunter2-pw@db.example:8086", "http://u:p@hunter2-pw@db.example",
		"http://u:pa/hunter2-pw@db.example", "http://u:%40hunter2-pw@db.example",
		"http://hunter2-pw@db.example", "http://:hunter2-pw@db.example", "http://u:hunter2-pw@[::1]:8086",
	};
	static const char *const vars[] = { "INFLUXDB_HOST", "INFLUXDB_URL" };

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(urls); i++) {
		for (size_t v = 0; v < PVT_COUNT(vars); v++) {
			pv_settings *s = NULL;
			pv_err err = { "" };
			char *all, *line;

			clean_env();
			setenv(vars[v], urls[i], 1);
			assert_int_equal(pv_settings_load(&s, NULL, NULL, &err), PV_OK);
			all = print_all(s);
			line = print_line(s, "influxdb.url");
			pv_settings_free(s);
			assert_non_null(line);
			if (strstr(all, "hunter2-pw") != NULL || strstr(line, "****@") == NULL) {
				char shown[512];
				snprintf(shown, sizeof(shown), "%s", line);
				free(line);
				free(all);
				fail_msg("%s in %s: %s", urls[i], vars[v], shown);
			}
			free(line);
			free(all);
		}
	}
	clean_env();
}

/* ---- formats ---- */

static void
assert_format(const pv_formats *reg, const char *id, pv_layout layout, const char *model, const char *zone,
    const char *origin)
{
	const pv_format *f = pv_formats_find(reg, id);

	if (f == NULL)
		fail_msg("format %s not found", id);
	assert_string_equal(f->id, id);
	if (f->layout != layout)
		fail_msg("%s: layout %s, expected %s", id, pv_layout_name(f->layout), pv_layout_name(layout));
	assert_string_equal(f->device_model, model);
	if (zone == NULL)
		assert_null(f->timezone);
	else {
		assert_non_null(f->timezone);
		assert_string_equal(f->timezone, zone);
	}
	assert_string_equal(f->origin, origin);
}

static void
formats_like_and_overrides(void **state)
{
	char *yaml = put("formats.yaml",
	    "formats:\n"
	    "  - {id: MV_T202_V002, like: MV_T302_V002}\n"                                  /* 2 */
	    "  - {id: MV_T202_V003, like: MV_T302_V003, device_model: MV1, timezone: UTC}\n" /* 3 */
	    "  - {id: MV_T402_V003, layout: framed, device_model: MV4}\n"                   /* 4 */
	    "  - id: MV_T502_V001\n"                                                         /* 5 */
	    "    layout: plain\n"
	    "    device_model: MV5\n"
	    "    timezone: America/New_York\n"
	    "  - {id: MV_T502_V002, like: MV_T502_V001}\n"                                  /* 9 */
	    "  - {id: MV_T502_V003, like: MV_T502_V001, layout: framed, timezone: Asia/Tokyo}\n"); /* 10 */
	pv_settings *s = pv_settings_new();
	const pv_formats *reg;
	pv_err err = { "" };
	char origin[512];

	(void)state;
	if (pv_settings_load_yaml(s, yaml, &err) != PV_OK)
		fail_msg("%s", err.msg);
	reg = pv_settings_formats(s);
	assert_int_equal(reg->count, 8);
	/* the built-ins are still there, unchanged */
	assert_format(reg, "MV_T302_V002", PV_LAYOUT_PLAIN, "MV2", NULL, "built-in");
	assert_format(reg, "MV_T302_V003", PV_LAYOUT_FRAMED, "MV2", NULL, "built-in");
	/* like copies layout and device model */
	snprintf(origin, sizeof(origin), "%s:2", yaml);
	assert_format(reg, "MV_T202_V002", PV_LAYOUT_PLAIN, "MV2", NULL, origin);
	/* like, with overrides */
	snprintf(origin, sizeof(origin), "%s:3", yaml);
	assert_format(reg, "MV_T202_V003", PV_LAYOUT_FRAMED, "MV1", "UTC", origin);
	/* a new framed format */
	snprintf(origin, sizeof(origin), "%s:4", yaml);
	assert_format(reg, "MV_T402_V003", PV_LAYOUT_FRAMED, "MV4", NULL, origin);
	/* block style: the origin is the line of the format */
	snprintf(origin, sizeof(origin), "%s:5", yaml);
	assert_format(reg, "MV_T502_V001", PV_LAYOUT_PLAIN, "MV5", "America/New_York", origin);
	/* like a declared format copies its zone too */
	snprintf(origin, sizeof(origin), "%s:9", yaml);
	assert_format(reg, "MV_T502_V002", PV_LAYOUT_PLAIN, "MV5", "America/New_York", origin);
	snprintf(origin, sizeof(origin), "%s:10", yaml);
	assert_format(reg, "MV_T502_V003", PV_LAYOUT_FRAMED, "MV5", "Asia/Tokyo", origin);
	/* lookups are exact */
	assert_null(pv_formats_find(reg, "mv_t202_v002"));
	assert_null(pv_formats_find(reg, "MV_T202_V00"));
	assert_null(pv_formats_find(reg, "MV_T999_V002"));
	/* the built-in table is not the one that grew */
	assert_int_equal(pv_formats_builtin()->count, 2);
	assert_null(pv_formats_find(pv_formats_builtin(), "MV_T202_V002"));
	pv_settings_free(s);
	free(yaml);
}

static void
formats_are_printed_with_their_origin(void **state)
{
	char *yaml = put("formats.yaml",
	    "parser:\n  timezone: UTC\nformats:\n"
	    "  - {id: MV_T202_V002, like: MV_T302_V002, device_model: MV1, timezone: UTC}\n"
	    "  - {id: MV_T402_V003, layout: framed, device_model: MV4}\n");
	pv_settings *s = NULL;
	pv_err err = { "" };
	char *expected, *all;

	(void)state;
	assert_int_equal(pv_settings_load(&s, NULL, yaml, &err), PV_OK);
	assert_true(asprintf(&expected,
	    "formats.MV_T302_V002 = layout plain, device_model MV2  (built-in)\n"
	    "formats.MV_T302_V003 = layout framed, device_model MV2  (built-in)\n"
	    "formats.MV_T202_V002 = layout plain, device_model MV1, timezone UTC  (%s:4)\n"
	    "formats.MV_T402_V003 = layout framed, device_model MV4  (%s:5)\n", yaml, yaml) > 0);
	all = print_all(s);
	if (strlen(all) < strlen(expected) || strcmp(all + strlen(all) - strlen(expected), expected) != 0)
		fail_msg("the formats are not printed as expected:\n%s\n--- expected the end to be:\n%s", all, expected);
	free(all);
	free(expected);
	pv_settings_free(s);
	free(yaml);
}

/* ---- a declared format, end to end ---- */

typedef struct cap {
	pv_sink base;
	char *out;
	size_t len;
} cap;

static int
cap_begin(pv_sink *s, const char *bucket, pv_err *err)
{
	(void)s;
	(void)err;
	assert_string_equal(bucket, "acme");
	return PV_OK;
}

static int
cap_write(pv_sink *s, const char *buf, size_t len, size_t nlines, pv_err *err)
{
	cap *c = (cap *)s;

	(void)nlines;
	(void)err;
	c->out = realloc(c->out, c->len + len + 1);
	assert_non_null(c->out);
	memcpy(c->out + c->len, buf, len);
	c->len += len;
	c->out[c->len] = '\0';
	return PV_OK;
}

static int
cap_commit(pv_sink *s, pv_err *err)
{
	(void)s;
	(void)err;
	return PV_OK;
}

static bool
cap_abort(pv_sink *s)
{
	(void)s;
	return false;
}

static void
cap_free(pv_sink *s)
{
	(void)s;
}

static const pv_sink_ops cap_ops = { cap_begin, cap_write, cap_commit, cap_abort, cap_free, NULL, NULL, NULL, NULL };

#define T202_YAML "formats:\n  - {id: MV_T202_V002, like: MV_T302_V002, device_model: MV1, timezone: UTC}\n"

static const char t202_file[] =
	"02001171\t02001171\t04000466\n"
	"MV_T202_V002\tPh 1 V\tVoie1 A\n"
	"05/01/26 10:00:00\t230.5\t1.25\n"
	"03/08/25 03:20:00\t231.75\t0.5\n";

#define MV1_MASTER                                                                              \
	"electrical,campaign=camp1,channel_id=M02001171_U1_M02001171,channel_label=U1,"        \
	"channel_name=Ph\\ 1,channel_unit=V,device=MV1,device_master_sn=02001171,"             \
	"device_sn=02001171,device_subtype=mono,device_type=master,file_name=f.tsv "           \
	"M02001171_U1_M02001171_V="
#define MV1_SLAVE                                                                               \
	"electrical,campaign=camp1,channel_id=S04000466_Ch1_M02001171,channel_label=Ch1,"      \
	"channel_name=Voie1,channel_unit=A,device=MV1,device_master_sn=02001171,"              \
	"device_sn=04000466,device_type=slave,file_name=f.tsv S04000466_Ch1_M02001171_A="

/* UTC wall clock: 2026-01-05 10:00:00Z and 2025-08-03 03:20:00Z */
static const char t202_lp[] =
	MV1_MASTER "230.5 1767607200\n"
	MV1_SLAVE "1.25 1767607200\n"
	MV1_MASTER "231.75 1754191200\n"
	MV1_SLAVE "0.5 1754191200\n";

/* Writes <tmp>/data/acme/camp1/02001171/f.tsv and ingests it. */
static int
ingest_text(pv_file_result *r, const pv_config *cfg, const char *text, pv_sink *sink)
{
	char *data = pvt_join(tmp, "data");
	char *path = pvt_join(data, "acme/camp1/02001171/f.tsv");
	int rc;

	pvt_write_str(path, text);
	pv_file_result_init(r, path);
	rc = pv_ingest_file(r, cfg, data, path, sink);
	free(path);
	free(data);
	return rc;
}

static void
declared_format_end_to_end(void **state)
{
	char *yaml = put("powerview.yaml", T202_YAML);
	pv_settings *s = NULL;
	pv_file_result r;
	pv_config cfg;
	pv_err err = { "" };
	cap c = { .base = { .ops = &cap_ops, .batch_lines = 3, .batch_bytes = 1 << 20 } };

	(void)state;
	assert_int_equal(pv_settings_load(&s, NULL, yaml, &err), PV_OK);
	pv_config_defaults(&cfg);
	cfg.formats = pv_settings_formats(s);
	cfg.timezone = "America/New_York"; /* the format's own zone wins for its plain files */

	/* with a sink: the exact line protocol */
	assert_int_equal(ingest_text(&r, &cfg, t202_file, &c.base), PV_OK);
	assert_int_equal(r.status, PV_STATUS_SUCCESS);
	assert_null(r.error);
	assert_string_equal(r.format_id, "MV_T202_V002");
	assert_string_equal(r.timezone, "UTC");
	assert_int_equal(r.nb_rows, 2);
	assert_int_equal(r.nb_points, 4);
	assert_int_equal(r.nb_channels, 2);
	assert_int_equal(r.nb_invalid_timestamps, 0);
	assert_int_equal(r.nb_invalid_values, 0);
	assert_int_equal(r.nb_malformed_rows, 0);
	assert_true(r.has_time);
	assert_int_equal(r.time_start, 1754191200);
	assert_int_equal(r.time_end, 1767607200);
	assert_non_null(c.out);
	assert_string_equal(c.out, t202_lp);
	pv_file_result_free(&r);

	/* without a sink (dry run): the same figures */
	assert_int_equal(ingest_text(&r, &cfg, t202_file, NULL), PV_OK);
	assert_int_equal(r.status, PV_STATUS_SUCCESS);
	assert_string_equal(r.timezone, "UTC");
	assert_int_equal(r.nb_rows, 2);
	assert_int_equal(r.nb_points, 4);
	assert_int_equal(r.time_start, 1754191200);
	assert_int_equal(r.time_end, 1767607200);
	pv_file_result_free(&r);

	free(c.out);
	pv_settings_free(s);
	free(yaml);
}

static void
undeclared_format_lists_known_ids(void **state)
{
	pv_file_result r;
	pv_config cfg;

	(void)state;
	pv_config_defaults(&cfg);
	assert_int_equal(ingest_text(&r, &cfg, t202_file, NULL), PV_EDATA);
	assert_int_equal(r.status, PV_STATUS_ERROR);
	assert_non_null(r.error);
	assert_string_equal(r.error,
	    "unsupported format: MV_T202_V002 in the plain layout (known: MV_T302_V002 (plain), MV_T302_V003 (framed))");
	assert_int_equal(r.nb_points, 0);
	pv_file_result_free(&r);
}

/* The list of known ids names the declared formats too. */
static void
unknown_id_lists_declared_formats(void **state)
{
	char *yaml = put("powerview.yaml", T202_YAML);
	pv_settings *s = NULL;
	pv_file_result r;
	pv_config cfg;
	pv_err err = { "" };

	(void)state;
	assert_int_equal(pv_settings_load(&s, NULL, yaml, &err), PV_OK);
	pv_config_defaults(&cfg);
	cfg.formats = pv_settings_formats(s);
	assert_int_equal(ingest_text(&r, &cfg,
	    "02001171\t02001171\nMV_T999_V002\tPh 1 V\n05/01/26 10:00:00\t1\n", NULL), PV_EDATA);
	assert_string_equal(r.error, "unsupported format: MV_T999_V002 in the plain layout (known: "
	    "MV_T302_V002 (plain), MV_T302_V003 (framed), MV_T202_V002 (plain))");
	pv_file_result_free(&r);
	pv_settings_free(s);
	free(yaml);
}

/* A format without a zone: the configured one applies to its plain files. */
static void
format_without_zone_uses_configured_zone(void **state)
{
	char *yaml = put("powerview.yaml", "formats:\n  - {id: MV_T202_V002, like: MV_T302_V002}\n");
	pv_settings *s = NULL;
	pv_file_result r;
	pv_config cfg;
	pv_err err = { "" };

	(void)state;
	assert_int_equal(pv_settings_load(&s, NULL, yaml, &err), PV_OK);
	pv_config_defaults(&cfg);
	cfg.formats = pv_settings_formats(s);
	cfg.timezone = "America/New_York";
	assert_int_equal(ingest_text(&r, &cfg,
	    "02001171\t02001171\nMV_T202_V002\tPh 1 V\n05/01/26 10:00:00\t1\n", NULL), PV_OK);
	assert_string_equal(r.timezone, "America/New_York");
	assert_int_equal(r.time_start, 1767625200); /* 10:00 EST = 15:00Z */
	pv_file_result_free(&r);
	pv_settings_free(s);
	free(yaml);
}

/* A framed format's zone applies when the header names none; a header zone wins. */
static void
framed_format_zone_and_header_zone(void **state)
{
	static const struct {
		const char *meta, *zone;
		int64_t t;
	} t[] = {
		{ "{}", "UTC", 1767607200 },
		{ "{\"Site\": \"north\"}", "UTC", 1767607200 },
		{ "{\"TimeZone\": \"America/New_York\"}", "America/New_York", 1767625200 },
		{ "{\"DataTimeSettings\": \"UTC\", \"TimeZone\": \"Asia/Tokyo\"}", "UTC", 1767607200 },
	};
	char *yaml = put("powerview.yaml",
	    "formats:\n  - {id: MV_T402_V003, layout: framed, device_model: MV4, timezone: UTC}\n");
	pv_settings *s = NULL;
	pv_err err = { "" };

	(void)state;
	assert_int_equal(pv_settings_load(&s, NULL, yaml, &err), PV_OK);
	for (size_t i = 0; i < PVT_COUNT(t); i++) {
		pv_file_result r;
		pv_config cfg;
		char *text;

		pv_config_defaults(&cfg);
		cfg.formats = pv_settings_formats(s);
		cfg.timezone = "Europe/Paris";
		assert_true(asprintf(&text, "START_HEADER\n%s\nEND_HEADER\nSTART_DATA\n02001171\t02001171\n"
		    "MV_T402_V003\tPh 1 V\n05/01/26 10:00:00\t1\nEND_DATA\n", t[i].meta) > 0);
		if (ingest_text(&r, &cfg, text, NULL) != PV_OK)
			fail_msg("%s: %s", t[i].meta, r.error);
		if (strcmp(r.timezone, t[i].zone) != 0)
			fail_msg("%s: zone %s, expected %s", t[i].meta, r.timezone, t[i].zone);
		if (r.time_start != t[i].t)
			fail_msg("%s: instant %lld, expected %lld", t[i].meta, (long long)r.time_start,
			    (long long)t[i].t);
		pv_file_result_free(&r);
		free(text);
	}
	pv_settings_free(s);
	free(yaml);
}

/* The typed values: the environment's, the file's, else the table's default. */
static void
typed_values_by_key_or_variable(void **state)
{
	char *yaml = put("powerview.yaml", "sink:\n  batch_lines: 250\nconfig_api:\n  url: http://api\n");
	pv_settings *s = NULL;
	pv_err err = { "" };

	(void)state;
	setenv("TSV_VERIFY", "0", 1);
	setenv("TSV_HTTP_TIMEOUT", "", 1);
	setenv("TSV_DOWNSAMPLE_LEVELS", "", 1);
	assert_int_equal(pv_settings_load(&s, NULL, yaml, &err), PV_OK);
	assert_true(pv_settings_num(s, "sink.batch_lines") == 250);
	assert_true(pv_settings_num(s, "TSV_BATCH_LINES") == 250);
	assert_true(pv_settings_num(s, "http.timeout") == 120); /* empty: the default */
	assert_true(pv_settings_num(s, "reports.keep_days") == 90);
	assert_false(pv_settings_bool(s, "sink.verify"));
	assert_true(pv_settings_bool(s, "downsample.enabled"));
	assert_string_equal(pv_settings_str(s, "config_api.url"), "http://api");
	assert_string_equal(pv_settings_str(s, "parser.timezone"), "Europe/Paris");
	/* a default that depends on another setting is none; an empty list of levels is one */
	assert_null(pv_settings_str(s, "spool.dir"));
	assert_null(pv_settings_str(s, "sink.output"));
	assert_string_equal(pv_settings_str(s, "downsample.levels"), "");
	assert_string_equal(pv_settings_default("downsample.levels"), "1h,1d,1w");
	assert_null(pv_settings_default("reports.dir"));
	/* no settings object: the environment and the defaults */
	assert_true(pv_settings_num(NULL, "sink.batch_lines") == 250);
	pv_settings_free(s);
	free(yaml);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(good_files_set_variables),
		T(bad_files_fail_with_position),
		T(deep_nesting_is_refused_at_once),
		T(missing_named_files),
		T(load_refuses_bad_files),
		T(accepted_enum_values_are_usable),
		T(precedence_and_printed_source),
		T(default_dotenv_is_the_working_directory_one),
		T(which_file_is_read),
		T(flags_win_and_show),
		T(environment_url_beats_file_url),
		T(check_names_setting_and_source),
		T(secrets_are_never_printed),
		T(url_credentials_are_not_printed),
		T(formats_like_and_overrides),
		T(formats_are_printed_with_their_origin),
		T(declared_format_end_to_end),
		T(undeclared_format_lists_known_ids),
		T(unknown_id_lists_declared_formats),
		T(format_without_zone_uses_configured_zone),
		T(framed_format_zone_and_header_zone),
		T(typed_values_by_key_or_variable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
