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
unset_all(const char *prefix, int n)
{
	char name[64];

	unsetenv(prefix);
	for (int i = 0; i <= n; i++) {
		snprintf(name, sizeof(name), "%s%d", prefix, i);
		unsetenv(name);
	}
}

/* DBL=xx, DBL1=${DBL}${DBL}, DBL2=${DBL1}${DBL1}, ...: a few hundred bytes asking for 2^41. */
static void
doubling_lines_stop_at_64_kib(void **state)
{
	char text[2048], *path;
	size_t n;
	pv_err err = { "" };

	(void)state;
	n = (size_t)snprintf(text, sizeof(text), "DBL=xx\nDBL1=${DBL}${DBL}\n");
	for (int i = 2; i <= 40; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "DBL%d=${DBL%d}${DBL%d}\n", i, i - 1, i - 1);
	path = write_env(text);
	unset_all("DBL", 40);
	assert_int_equal(pv_dotenv_load(path, &err), PV_ECONFIG);
	/* DBL16 would be 2^17 bytes: line 17 */
	char *want;
	assert_true(asprintf(&want, "%s:17: the value of DBL16 is longer than 65536 bytes after expansion",
	    path) > 0);
	assert_string_equal(err.msg, want);
	/* the lines before were taken, the rest not */
	assert_int_equal(strlen(getenv("DBL15")), 65536);
	assert_null(getenv("DBL16"));
	unset_all("DBL", 40);
	free(want);
	free(path);
}

/* 65536 bytes is a value, one more is not: literal, expanded, unquoted or quoted. */
static void
value_bound_is_exact(void **state)
{
	char *half = malloc(32769), *over = malloc(65538), *tails[4], *text, *path;
	pv_err err = { "" };

	(void)state;
	memset(half, 'h', 32768);
	half[32768] = '\0';
	memset(over, 'o', 65537);
	over[65537] = '\0';
	tails[0] = strdup("${HALF}${HALF}x");
	tails[1] = strdup("\"${HALF}${HALF}\\n\"");
	tails[2] = strdup("\"x${HALF}${HALF}\"");
	tails[3] = over;
	for (size_t i = 0; i < PVT_COUNT(tails); i++) {
		assert_true(asprintf(&text, "HALF=%s\nFULL=\"${HALF}${HALF}\"\nOVER=%s\n", half, tails[i]) > 0);
		path = write_env(text);
		unsetenv("HALF"), unsetenv("FULL"), unsetenv("OVER");
		assert_int_equal(pv_dotenv_load(path, &err), PV_ECONFIG);
		if (strstr(err.msg, ":3: the value of OVER is longer than 65536 bytes after expansion") == NULL)
			fail_msg("case %zu: %s", i, err.msg);
		assert_int_equal(strlen(getenv("FULL")), 65536);
		assert_null(getenv("OVER"));
		free(text);
		free(path);
		free(tails[i]);
	}
	unsetenv("HALF"), unsetenv("FULL");
	free(half);
}

/* Each value within its bound, together more than 1 MiB: refused at the line that goes past. */
static void
values_together_are_bounded(void **state)
{
	char *text, *path;
	size_t n = 0, size = 65536 + 64 + 20 * 16;
	pv_err err = { "" };

	(void)state;
	text = malloc(size);
	n += (size_t)snprintf(text, size, "SUM=");
	memset(text + n, 's', 65536);
	n += 65536;
	text[n++] = '\n';
	for (int i = 1; i <= 20; i++)
		n += (size_t)snprintf(text + n, size - n, "SUM%d=${SUM}\n", i);
	path = write_env(text);
	unset_all("SUM", 20);
	assert_int_equal(pv_dotenv_load(path, &err), PV_ECONFIG);
	/* 16 values of 64 KiB make 1 MiB: the 17th, line 17, goes past */
	assert_non_null(strstr(err.msg, ":17: the values up to this line add up to more than 1048576 bytes"));
	assert_non_null(getenv("SUM15"));
	assert_null(getenv("SUM16"));
	unset_all("SUM", 20);
	free(text);
	free(path);
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
		cmocka_unit_test(doubling_lines_stop_at_64_kib),
		cmocka_unit_test(value_bound_is_exact),
		cmocka_unit_test(values_together_are_bounded),
		cmocka_unit_test(missing_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
