/*
 * .env files (issue: "the same quoting the original's .env uses"): each row
 * is the file's text and the values it must set; variables already set win.
 */
#include "pv_test.h"

#include "powerview/dotenv.h"

typedef struct {
	const char *text;
	const char *key[4], *value[4];
} env_case;

static const env_case cases[] = {
	{ "INFLUXDB_URL='http://influxdb:8086'\nINFLUXDB_USERNAME=influxdb_user\n",
	  { "INFLUXDB_URL", "INFLUXDB_USERNAME" }, { "http://influxdb:8086", "influxdb_user" } },
	{ "# comment\n\n  export A=1\nB = two words  # trailing comment\n",
	  { "A", "B" }, { "1", "two words" } },
	{ "A=abc#def\nB=#hash\nC='x # not a comment'\n",
	  { "A", "B", "C" }, { "abc#def", "#hash", "x # not a comment" } },
	{ "A=\"line1\\nline2\\t\\\"q\\\" \\\\\"\nB='it\\'s \\\\ raw \\n'\n",
	  { "A", "B" }, { "line1\nline2\t\"q\" \\", "it's \\ raw \\n" } },
	{ "A=\"multi\nline\"\nB=after\n", { "A", "B" }, { "multi\nline", "after" } },
	{ "A=\nB=''\nC=\"\"\n", { "A", "B", "C" }, { "", "", "" } },
	{ "A=x\r\nB='y'\r\n", { "A", "B" }, { "x", "y" } },
	{ "BASE=/srv\nA=${BASE}/data\nB=\"${BASE}/x\"\nC='${BASE}'\nD=${MISSING:-dflt}\n",
	  { "A", "B", "C", "D" }, { "/srv/data", "/srv/x", "${BASE}", "dflt" } },
};

static const char *const bad[] = {
	"A='unterminated\n",
	"=value\n",
	"A value\n",
	"A=\"x\" trailing\n",
};

static char *
write_env(const char *text)
{
	char *dir = pvt_tmpdir(), *path;

	assert_true(asprintf(&path, "%s/.env", dir) > 0);
	pvt_write(path, text, strlen(text));
	free(dir);
	return path;
}

static void
clear(const env_case *c)
{
	for (int k = 0; k < 4 && c->key[k]; k++)
		unsetenv(c->key[k]);
	unsetenv("BASE");
}

static void
values_are_set(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(cases); i++) {
		const env_case *c = &cases[i];
		char *path = write_env(c->text);
		pv_err err = { "" };

		clear(c);
		if (pv_dotenv_load(path, &err) != PV_OK)
			fail_msg("case %zu: %s", i, err.msg);
		for (int k = 0; k < 4 && c->key[k]; k++) {
			const char *got = getenv(c->key[k]);
			if (got == NULL || strcmp(got, c->value[k]) != 0)
				fail_msg("case %zu: %s = [%s], expected [%s]", i, c->key[k], got ? got : "(unset)",
				    c->value[k]);
		}
		clear(c);
		free(path);
	}
}

static void
set_variables_win(void **state)
{
	char *path = write_env("INFLUXDB_ORG=from_file\nNEW_ONE=x\n");
	pv_err err;

	(void)state;
	setenv("INFLUXDB_ORG", "from_env", 1);
	unsetenv("NEW_ONE");
	assert_int_equal(pv_dotenv_load(path, &err), PV_OK);
	assert_string_equal(getenv("INFLUXDB_ORG"), "from_env");
	assert_string_equal(getenv("NEW_ONE"), "x");
	unsetenv("INFLUXDB_ORG");
	unsetenv("NEW_ONE");
	free(path);
}

static void
malformed_files_name_the_line(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(bad); i++) {
		char *text, *path;
		pv_err err = { "" };

		assert_true(asprintf(&text, "OK=1\n%s", bad[i]) > 0);
		path = write_env(text);
		assert_int_equal(pv_dotenv_load(path, &err), PV_ECONFIG);
		if (strstr(err.msg, ":2:") == NULL)
			fail_msg("case %zu: '%s' does not name line 2", i, err.msg);
		unsetenv("OK");
		unsetenv("A");
		free(text);
		free(path);
	}
}

static void
missing_file(void **state)
{
	pv_err err;

	(void)state;
	assert_int_equal(pv_dotenv_load("/nonexistent/.env", &err), PV_ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(values_are_set),
		cmocka_unit_test(set_variables_win),
		cmocka_unit_test(malformed_files_name_the_line),
		cmocka_unit_test(missing_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
