/* The database settings from the environment, through the settings table: defaults,
 * fallbacks and refusals. */
#include "pv_test.h"

#include "powerview/config.h"
#include "powerview/influx.h"

static const char *const vars[] = {
	"INFLUXDB_API", "INFLUXDB_HOST", "INFLUXDB_URL", "INFLUXDB_ORG", "INFLUXDB_ADMIN_TOKEN",
	"INFLUXDB_USERNAME", "INFLUXDB_PASSWORD", "TSV_META_BUCKET", "INFLUXDB_BUCKET_RETENTION",
	"TSV_BATCH_LINES", "TSV_BATCH_BYTES", "TSV_GZIP", "TSV_HTTP_CONNECT_TIMEOUT",
	"TSV_HTTP_ANSWER_TIMEOUT", "TSV_HTTP_TIMEOUT", "TSV_RETRY_BUDGET", "TSV_RETRY_AFTER_MAX",
};

/* The sink's settings as a run takes them: the table's check, then the sink's. */
static int
from_env(pv_influx_config *c, pv_err *err)
{
	pv_settings *s = pv_settings_new();
	int rc;

	assert_non_null(s);
	if ((rc = pv_settings_check(s, err)) == PV_OK)
		rc = pv_influx_config_from_settings(c, s, err);
	pv_settings_free(s);
	return rc;
}

static int
clean(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(vars); i++)
		unsetenv(vars[i]);
	return 0;
}

static void
v2_defaults(void **state)
{
	pv_influx_config c;
	pv_err err;

	(void)state;
	setenv("INFLUXDB_HOST", "http://db.example:8086", 1);
	setenv("INFLUXDB_ORG", "powerview", 1);
	setenv("INFLUXDB_ADMIN_TOKEN", "secret", 1);
	assert_int_equal(from_env(&c, &err), PV_OK);
	assert_int_equal(c.api, PV_API_V2);
	assert_string_equal(c.url, "http://db.example:8086");
	assert_string_equal(c.meta_bucket, "powerview_meta");
	assert_int_equal(c.batch_lines, 5000);
	assert_int_equal(c.batch_bytes, 4 << 20);
	assert_true(c.gzip);
	assert_int_equal(c.retention_s, 0);
	assert_int_equal(c.connect_timeout_ms, 10000);
	assert_int_equal(c.answer_timeout_ms, 60000);
	assert_int_equal(c.timeout_ms, 120000);
}

static void
url_fallback_and_gzip_auto(void **state)
{
	pv_influx_config c;
	pv_err err;

	(void)state;
	setenv("INFLUXDB_URL", "http://localhost:8086", 1);
	setenv("INFLUXDB_ORG", "o", 1);
	setenv("INFLUXDB_ADMIN_TOKEN", "t", 1);
	setenv("TSV_GZIP", "auto", 1);
	assert_int_equal(from_env(&c, &err), PV_OK);
	assert_string_equal(c.url, "http://localhost:8086");
	assert_false(c.gzip); /* loopback */
	setenv("INFLUXDB_HOST", "http://10.0.0.5:8086", 1);
	assert_int_equal(from_env(&c, &err), PV_OK);
	assert_string_equal(c.url, "http://10.0.0.5:8086");
	assert_true(c.gzip);
	setenv("INFLUXDB_HOST", "http://127.0.0.1:8086", 1);
	setenv("TSV_GZIP", "1", 1);
	assert_int_equal(from_env(&c, &err), PV_OK);
	assert_true(c.gzip);
}

static void
refusals(void **state)
{
	static const struct {
		const char *name, *value, *says;
	} bad[] = {
		{ "INFLUXDB_HOST", "", "INFLUXDB_HOST" },
		{ "INFLUXDB_ADMIN_TOKEN", "", "INFLUXDB_ADMIN_TOKEN" },
		{ "INFLUXDB_ORG", "", "INFLUXDB_ORG" },
		{ "INFLUXDB_API", "v3", "INFLUXDB_API" },
		{ "TSV_BATCH_LINES", "0", "TSV_BATCH_LINES" },
		{ "TSV_BATCH_LINES", "12abc", "TSV_BATCH_LINES" },
		{ "TSV_GZIP", "yes", "TSV_GZIP" },
		{ "TSV_RETRY_BUDGET", "-1", "TSV_RETRY_BUDGET" },
		{ "TSV_HTTP_ANSWER_TIMEOUT", "0", "TSV_HTTP_ANSWER_TIMEOUT" },
		{ "TSV_META_BUCKET", "_meta", "TSV_META_BUCKET" },
	};
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(bad); i++) {
		pv_influx_config c;
		pv_err err = { "" };

		clean(NULL);
		setenv("INFLUXDB_HOST", "http://h", 1);
		setenv("INFLUXDB_ORG", "o", 1);
		setenv("INFLUXDB_ADMIN_TOKEN", "very-secret-token", 1);
		setenv(bad[i].name, bad[i].value, 1);
		assert_int_equal(from_env(&c, &err), PV_ECONFIG);
		if (strstr(err.msg, bad[i].says) == NULL)
			fail_msg("%s=%s: '%s' does not name %s", bad[i].name, bad[i].value, err.msg, bad[i].says);
		assert_null(strstr(err.msg, "very-secret-token"));
	}
}

static void
v1_needs_no_token(void **state)
{
	pv_influx_config c;
	pv_err err;

	(void)state;
	setenv("INFLUXDB_API", "v1", 1);
	setenv("INFLUXDB_HOST", "http://h:8086", 1);
	assert_int_equal(from_env(&c, &err), PV_OK);
	assert_int_equal(c.api, PV_API_V1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(v2_defaults, clean),
		cmocka_unit_test_setup(url_fallback_and_gzip_auto, clean),
		cmocka_unit_test_setup(refusals, clean),
		cmocka_unit_test_setup(v1_needs_no_token, clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
