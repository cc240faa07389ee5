/*
 * Where a file sits (contract §1): lexical absolute paths, the
 * <data>/<company>/<campaign>/<device>/<file> split, and bad names.
 */
#include "pv_test.h"

#include "powerview/path.h"

/* ---- pv_path_absolute ---- */

static const struct abs_case {
	const char *in, *out;
} absolutes[] = {
	{ "/", "/" },
	{ "//", "/" },
	{ "///a", "/a" },
	{ "/a//b/", "/a/b" },
	{ "/a/./b", "/a/b" },
	{ "/a/b/.", "/a/b" },
	{ "/./", "/" },
	{ "/a/b/..", "/a" },
	{ "/a/b/../..", "/" },
	{ "/a/b/../../..", "/" },
	{ "/..", "/" },
	{ "/../..", "/" },
	{ "/../a", "/a" },
	{ "/a/../b/./c//d/..", "/b/c" },
	{ "/a/.../b", "/a/.../b" },  /* "..." is a name */
	{ "/a/..b/c.", "/a/..b/c." },
	{ "/data/acme/../acme/x.tsv", "/data/acme/x.tsv" },
};

static void
absolute_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(absolutes); i++) {
		char *got = pv_path_absolute(absolutes[i].in);
		if (got == NULL || strcmp(got, absolutes[i].out) != 0)
			fail_msg("\"%s\" -> \"%s\", expected \"%s\"", absolutes[i].in,
			    got ? got : "(null)", absolutes[i].out);
		free(got);
	}
}

/* Runs in a scratch folder: relative paths join the working folder. */
typedef struct in_tmp {
	char *dir;   /* getcwd() there: symbolic links resolved, as pv_path_absolute sees it */
	char *old;
} in_tmp;

static void
enter_tmp(in_tmp *t)
{
	char *d = pvt_tmpdir();

	t->old = getcwd(NULL, 0);
	assert_int_equal(chdir(d), 0);
	t->dir = getcwd(NULL, 0);
	free(d);
}

static void
leave_tmp(in_tmp *t)
{
	assert_int_equal(chdir(t->old), 0);
	pvt_rmrf(t->dir);
	free(t->dir);
	free(t->old);
}

static void
relative_joins_the_working_folder(void **state)
{
	static const struct {
		const char *in, *suffix;
	} t[] = {
		{ "x/y", "/x/y" },
		{ "./x/../y", "/y" },
		{ "x//y/", "/x/y" },
		{ ".", "" },
		{ "", "" },
	};
	in_tmp tmp;

	(void)state;
	enter_tmp(&tmp);
	for (size_t i = 0; i < PVT_COUNT(t); i++) {
		char *want = NULL, *got = pv_path_absolute(t[i].in);
		assert_true(asprintf(&want, "%s%s", tmp.dir, t[i].suffix) > 0);
		if (got == NULL || strcmp(got, want) != 0)
			fail_msg("\"%s\" -> \"%s\", expected \"%s\"", t[i].in, got ? got : "(null)", want);
		free(got);
		free(want);
	}
	/* ".." leaves the working folder */
	{
		char *got = pv_path_absolute("..");
		char *want = strdup(tmp.dir);
		*strrchr(want, '/') = '\0';
		assert_string_equal(got, want[0] ? want : "/");
		free(got);
		free(want);
	}
	leave_tmp(&tmp);
}

/* ---- pv_location_parse ---- */

typedef struct loc_case {
	const char *what;
	const char *data, *file;
	int rc;
	const char *company, *campaign, *device, *file_name; /* on success */
	const char *msg;                                    /* on failure: part of the reason */
} loc_case;

#define OK4(c, k, d, f) PV_OK, c, k, d, f, NULL
#define BAD(m) PV_EDATA, NULL, NULL, NULL, NULL, m

static char name255[256], name256[257];

static const loc_case locations[] = {
	{ "normal", "/data", "/data/acme/camp1/02001171/f.tsv", OK4("acme", "camp1", "02001171", "f.tsv") },
	{ "deeper: the first three parts", "/data", "/data/acme/camp1/02001171/sub/deeper/f.tsv",
	    OK4("acme", "camp1", "02001171", "f.tsv") },
	{ "folded before splitting", "/data", "/data//acme/./camp1/x/../02001171/f.tsv",
	    OK4("acme", "camp1", "02001171", "f.tsv") },
	{ "data folder with a trailing slash", "/data/", "/data/a/b/c/f.tsv", OK4("a", "b", "c", "f.tsv") },
	{ "data folder with dots", "/x/../data/.", "/data/a/b/c/f.tsv", OK4("a", "b", "c", "f.tsv") },
	{ "data folder is /", "/", "/a/b/c/f.tsv", OK4("a", "b", "c", "f.tsv") },
	{ "names with spaces and UTF-8", "/data", "/data/Acme SA/camp\xC3\xA9 1/dev 1/f 1.tsv",
	    OK4("Acme SA", "camp\xC3\xA9 1", "dev 1", "f 1.tsv") },
	{ "device folder is not checked", "/data", "/data/a/b/_dev\"/f.tsv", OK4("a", "b", "_dev\"", "f.tsv") },
	{ "underscore inside is fine", "/data", "/data/a_b/c_/d/f.tsv", OK4("a_b", "c_", "d", "f.tsv") },

	{ "too shallow: campaign/file", "/data", "/data/acme/camp1/f.tsv", BAD("invalid path structure") },
	{ "too shallow: company/file", "/data", "/data/acme/f.tsv", BAD("invalid path structure") },
	{ "too shallow: file", "/data", "/data/f.tsv", BAD("invalid path structure") },
	{ "too shallow after folding", "/data", "/data/a/b/c/../f.tsv", BAD("invalid path structure") },
	{ "outside", "/data", "/other/acme/camp1/dev/f.tsv", BAD("outside the data folder") },
	{ "prefix trick", "/data", "/data2/x/y/z/f.tsv", BAD("outside the data folder") },
	{ "dot-dot out", "/data", "/data/../x/y/z/f.tsv", BAD("outside the data folder") },
	{ "the data folder itself", "/data", "/data", BAD("outside the data folder") },
	{ "a parent of the data folder", "/data/sub", "/data/a/b/c/f.tsv", BAD("outside the data folder") },

	{ "company starts with _", "/data", "/data/_acme/c/d/f.tsv", BAD("company") },
	{ "campaign starts with _", "/data", "/data/acme/_c/d/f.tsv", BAD("campaign") },
	{ "company with \"", "/data", "/data/ac\"me/c/d/f.tsv", BAD("company") },
	{ "campaign with \"", "/data", "/data/acme/c\"/d/f.tsv", BAD("campaign") },
	{ "company with \\", "/data", "/data/ac\\me/c/d/f.tsv", BAD("company") },
	{ "campaign with \\", "/data", "/data/acme/c\\1/d/f.tsv", BAD("campaign") },
	{ "company with a control character", "/data", "/data/ac\x01me/c/d/f.tsv", BAD("company") },
	{ "campaign with TAB", "/data", "/data/acme/c\t1/d/f.tsv", BAD("campaign") },
	{ "campaign with DEL", "/data", "/data/acme/c\x7F/d/f.tsv", BAD("campaign") },
	{ "campaign with a newline", "/data", "/data/acme/c\n/d/f.tsv", BAD("campaign") },
	{ "both bad: company first", "/data", "/data/_a/_c/d/f.tsv", BAD("company") },
	{ "company not UTF-8", "/data", "/data/caf\xE9/c/d/f.tsv", BAD("company folder name is not valid UTF-8") },
	{ "campaign not UTF-8", "/data", "/data/a/\xC3\x28/d/f.tsv", BAD("campaign folder name is not valid UTF-8") },
	{ "device not UTF-8", "/data", "/data/a/c/d\xFF/f.tsv", BAD("device folder name is not valid UTF-8") },
	{ "file name not UTF-8", "/data", "/data/a/c/d/f\xED\xA0\x80.tsv", BAD("file name is not valid UTF-8") },
};

static void
check_location(const loc_case *c)
{
	pv_location loc;
	pv_err err = { "" };
	int rc = pv_location_parse(&loc, c->data, c->file, &err);

	if (rc != c->rc)
		fail_msg("%s: rc %d, expected %d (%s)", c->what, rc, c->rc, err.msg);
	if (rc == PV_OK) {
#define PART(field)                                                                    \
	if (loc.field == NULL || strcmp(loc.field, c->field) != 0)                      \
		fail_msg("%s: " #field " \"%s\", expected \"%s\"", c->what,             \
		    loc.field ? loc.field : "(null)", c->field)
		PART(company);
		PART(campaign);
		PART(device);
		PART(file_name);
#undef PART
	} else {
		if (strstr(err.msg, c->msg) == NULL)
			fail_msg("%s: reason \"%s\" lacks \"%s\"", c->what, err.msg, c->msg);
		if (loc.company != NULL || loc.campaign != NULL || loc.device != NULL)
			fail_msg("%s: parts set on failure", c->what);
	}
	pv_location_free(&loc);
	assert_null(loc.file_name);
}

static void
location_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(locations); i++)
		check_location(&locations[i]);
}

static void
name_length_limit(void **state)
{
	char file[700];
	pv_location loc;
	pv_err err;

	(void)state;
	memset(name255, 'a', 255);
	memset(name256, 'a', 256);
	snprintf(file, sizeof(file), "/data/%s/c/d/f.tsv", name255);
	assert_int_equal(pv_location_parse(&loc, "/data", file, &err), PV_OK);
	assert_string_equal(loc.company, name255);
	pv_location_free(&loc);
	snprintf(file, sizeof(file), "/data/%s/c/d/f.tsv", name256);
	assert_int_equal(pv_location_parse(&loc, "/data", file, &err), PV_EDATA);
	pvt_assert_contains(err.msg, "company");
	pv_location_free(&loc);
	snprintf(file, sizeof(file), "/data/a/%s/d/f.tsv", name256);
	assert_int_equal(pv_location_parse(&loc, "/data", file, &err), PV_EDATA);
	pvt_assert_contains(err.msg, "campaign");
	pv_location_free(&loc);
	snprintf(file, sizeof(file), "/data/a/%s/d/f.tsv", name255);
	assert_int_equal(pv_location_parse(&loc, "/data", file, &err), PV_OK);
	pv_location_free(&loc);
}

/* A relative data folder with an absolute file, and the other way round. */
static void
relative_and_absolute_mixed(void **state)
{
	in_tmp tmp;
	char *abs_data, *abs_file;

	(void)state;
	enter_tmp(&tmp);
	abs_data = pvt_join(tmp.dir, "data");
	abs_file = pvt_join(tmp.dir, "data/acme/camp/dev/f.tsv");
	const loc_case cases[] = {
		{ "relative data, absolute file", "data", abs_file, OK4("acme", "camp", "dev", "f.tsv") },
		{ "./data, absolute file", "./data/", abs_file, OK4("acme", "camp", "dev", "f.tsv") },
		{ "absolute data, relative file", abs_data, "data/acme/camp/dev/f.tsv",
		    OK4("acme", "camp", "dev", "f.tsv") },
		{ "both relative", "data", "./data/acme/../acme/camp/dev/f.tsv",
		    OK4("acme", "camp", "dev", "f.tsv") },
		{ "relative, outside", "data", "other/acme/camp/dev/f.tsv", BAD("outside the data folder") },
		{ "relative prefix trick", "data", "data2/acme/camp/dev/f.tsv", BAD("outside the data folder") },
		{ "relative, too shallow", abs_data, "data/acme/f.tsv", BAD("invalid path structure") },
	};
	for (size_t i = 0; i < PVT_COUNT(cases); i++)
		check_location(&cases[i]);
	free(abs_data);
	free(abs_file);
	leave_tmp(&tmp);
}

/* ---- pv_path_below: what is inside the data folder ---- */

static void
below_table(void **state)
{
	static const struct {
		const char *data, *file, *rel; /* rel NULL: outside */
	} t[] = {
		{ "/data", "/data/a/b/c/f.tsv", "a/b/c/f.tsv" },
		{ "/data", "/data/f.tsv", "f.tsv" }, /* too shallow, but below the folder */
		{ "/data/", "/data/x", "x" },
		{ "/data", "/data/../data/x", "x" },
		{ "/data", "/data//a/./b", "a/b" },
		{ "/", "/x", "x" },
		{ "/data", "/data", NULL },
		{ "/data", "/data/", NULL },
		{ "/data", "/data/.", NULL },
		{ "/data", "/data2/f.tsv", NULL },
		{ "/data", "/dat", NULL },
		{ "/data", "/other/data/f.tsv", NULL },
		{ "/data", "/data/x/../../y", NULL },
		{ "/data/sub", "/data/x", NULL },
	};

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(t); i++) {
		char *rel = pv_path_below(t[i].data, t[i].file);
		if ((rel == NULL) != (t[i].rel == NULL) || (rel && strcmp(rel, t[i].rel) != 0))
			fail_msg("%s in %s: got %s, expected %s", t[i].file, t[i].data, rel ? rel : "(outside)",
			    t[i].rel ? t[i].rel : "(outside)");
		free(rel);
	}
}

static void
below_with_relative_paths(void **state)
{
	in_tmp tmp;
	char *abs_file, *rel;

	(void)state;
	enter_tmp(&tmp);
	abs_file = pvt_join(tmp.dir, "data/a/b/c/f.tsv");
	rel = pv_path_below("data", abs_file);
	assert_string_equal(rel, "a/b/c/f.tsv");
	free(rel);
	rel = pv_path_below("./data/", "data/a/f.tsv");
	assert_string_equal(rel, "a/f.tsv");
	free(rel);
	rel = pv_path_below(tmp.dir, "data");
	assert_string_equal(rel, "data");
	free(rel);
	assert_null(pv_path_below("data", "data2/a/b/c/f.tsv"));
	assert_null(pv_path_below("data", "."));
	free(abs_file);
	leave_tmp(&tmp);
}

/* ---- pv_name_problem ---- */

static void
name_problem_table(void **state)
{
	static const struct {
		const char *name;
		bool ok;
	} t[] = {
		{ "acme", true }, { "a_b", true }, { "a b", true }, { "a,b=c", true }, { "caf\xC3\xA9", true },
		{ "x_", true }, { "'", true },
		{ "caf\xE9", false }, { "\xC0\xAF", false }, { "a\xED\xA0\x80", false }, { "\xF4\x90\x80\x80", false },
		{ "", false }, { "_", false }, { "_acme", false }, { "a\"b", false }, { "a\\b", false },
		{ "a\tb", false }, { "a\nb", false }, { "\x1F", false }, { "a\x7F", false },
	};

	(void)state;
	memset(name255, 'a', 255);
	memset(name256, 'a', 256);
	for (size_t i = 0; i < PVT_COUNT(t); i++)
		if ((pv_name_problem(t[i].name) == NULL) != t[i].ok)
			fail_msg("\"%s\": %s", t[i].name, t[i].ok ? "refused" : "accepted");
	assert_null(pv_name_problem(name255));
	assert_non_null(pv_name_problem(name256));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(absolute_table),
		cmocka_unit_test(relative_joins_the_working_folder),
		cmocka_unit_test(location_table),
		cmocka_unit_test(name_length_limit),
		cmocka_unit_test(relative_and_absolute_mixed),
		cmocka_unit_test(below_table),
		cmocka_unit_test(below_with_relative_paths),
		cmocka_unit_test(name_problem_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
