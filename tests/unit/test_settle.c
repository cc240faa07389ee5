/*
 * Settling files: moves into parsed/ or error/ that never overwrite, and
 * atomic report writes.
 */
#include "pv_test.h"

#include "powerview/settle.h"

static char *tmp;

static int
setup(void **state)
{
	(void)state;
	tmp = pvt_tmpdir();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	pvt_rmrf(tmp);
	free(tmp);
	return 0;
}

static char *
at(const char *rel)
{
	return pvt_join(tmp, rel);
}

static void
expect_content(const char *rel, const char *want)
{
	char *path = at(rel), *got = pvt_read(path, NULL);

	if (got == NULL)
		fail_msg("%s is missing", rel);
	if (strcmp(got, want) != 0)
		fail_msg("%s holds \"%s\", expected \"%s\"", rel, got, want);
	free(got);
	free(path);
}

/* Writes rel with text, moves it into subdir and checks where it went. */
static void
move_one(const char *rel, const char *text, const char *subdir, const char *want_rel)
{
	char *src = at(rel), *want = at(want_rel), *dest = (char *)"unset";
	pv_err err = { "" };
	int rc;

	pvt_write_str(src, text);
	rc = pv_settle_move(&dest, src, subdir, &err);
	if (rc != PV_OK)
		fail_msg("move %s: rc %d (%s)", rel, rc, err.msg);
	if (dest == NULL || strcmp(dest, want) != 0)
		fail_msg("move %s: went to %s, expected %s", rel, dest ? dest : "(null)", want);
	if (pvt_exists(src))
		fail_msg("move %s: the source is still there", rel);
	expect_content(want_rel, text);
	free(dest);
	free(src);
	free(want);
}

static void
move_creates_the_folder(void **state)
{
	(void)state;
	move_one("dev/a.tsv", "rows", "parsed", "dev/parsed/a.tsv");
	move_one("dev/b.tsv", "bad", "error", "dev/error/b.tsv");
	assert_int_equal(pvt_count_entries(tmp), 1);
	char *dev = at("dev");
	assert_int_equal(pvt_count_entries(dev), 2); /* parsed/ and error/ only */
	free(dev);
}

static void
move_never_overwrites(void **state)
{
	static const struct {
		const char *rel, *text, *want;
	} seq[] = {
		{ "dev/a.tsv", "first", "dev/parsed/a.tsv" },
		{ "dev/a.tsv", "second", "dev/parsed/a.1.tsv" },
		{ "dev/a.tsv", "third", "dev/parsed/a.2.tsv" },
		{ "dev/a.tsv", "fourth", "dev/parsed/a.3.tsv" },
	};

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(seq); i++)
		move_one(seq[i].rel, seq[i].text, "parsed", seq[i].want);
	/* earlier files untouched */
	for (size_t i = 0; i < PVT_COUNT(seq); i++)
		expect_content(seq[i].want, seq[i].text);
}

static void
move_skips_taken_names(void **state)
{
	char *p;

	(void)state;
	/* parsed/a.tsv and parsed/a.1.tsv already exist; a.2.tsv is free */
	p = at("dev/parsed/a.tsv");
	pvt_write_str(p, "old0");
	free(p);
	p = at("dev/parsed/a.1.tsv");
	pvt_write_str(p, "old1");
	free(p);
	p = at("dev/parsed/a.3.tsv");
	pvt_write_str(p, "old3");
	free(p);
	move_one("dev/a.tsv", "new", "parsed", "dev/parsed/a.2.tsv");
	move_one("dev/a.tsv", "newer", "parsed", "dev/parsed/a.4.tsv");
	expect_content("dev/parsed/a.tsv", "old0");
	expect_content("dev/parsed/a.1.tsv", "old1");
	expect_content("dev/parsed/a.3.tsv", "old3");
	p = at("dev/parsed");
	assert_int_equal(pvt_count_entries(p), 5);
	free(p);
}

static void
move_names_without_the_usual_extension(void **state)
{
	static const struct {
		const char *rel, *want;
	} t[] = {
		{ "dev/name", "dev/error/name" },
		{ "dev/name", "dev/error/name.1" },
		{ "dev/name", "dev/error/name.2" },
		{ "dev/a.b.tsv", "dev/error/a.b.tsv" },
		{ "dev/a.b.tsv", "dev/error/a.b.1.tsv" },
		{ "dev/.hidden", "dev/error/.hidden" },
		{ "dev/.hidden", "dev/error/.hidden.1" },
		{ "dev/x.TSV", "dev/error/x.TSV" },
		{ "dev/x.TSV", "dev/error/x.1.TSV" },
	};

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(t); i++)
		move_one(t[i].rel, t[i].want, "error", t[i].want);
}

/* A file taken again from parsed/ or error/ goes to the sibling folder, not below it. */
static void
move_from_parsed_or_error_goes_to_the_sibling(void **state)
{
	(void)state;
	move_one("dev/parsed/a.tsv", "again", "error", "dev/error/a.tsv");
	move_one("dev/error/b.tsv", "fixed", "parsed", "dev/parsed/b.tsv");
	move_one("dev/error/a.tsv", "twice", "parsed", "dev/parsed/a.tsv");
	move_one("dev/parsed/a.tsv", "thrice", "error", "dev/error/a.tsv");
	move_one("dev/parsed/a.tsv", "more", "error", "dev/error/a.1.tsv");
	/* only the folder the file is in counts */
	move_one("dev/parsed/x/c.tsv", "deep", "error", "dev/parsed/x/error/c.tsv");
	move_one("dev/parsedx/d.tsv", "near", "error", "dev/parsedx/error/d.tsv");
	char *dev = at("dev");
	assert_int_equal(pvt_count_entries(dev), 3); /* parsed/, error/, parsedx/ */
	free(dev);
}

static void
move_of_a_vanished_file(void **state)
{
	char *src = at("dev/gone.tsv"), *dest = (char *)"unset", *dir = at("dev");
	pv_err err = { "" };

	(void)state;
	pvt_mkdirs(dir);
	assert_int_equal(pv_settle_move(&dest, src, "parsed", &err), PV_ENOENT);
	assert_null(dest);
	assert_true(err.msg[0] != '\0');
	/* also when its name is already taken in parsed/ */
	char *taken = at("dev/parsed/gone.tsv");
	pvt_write_str(taken, "kept");
	assert_int_equal(pv_settle_move(&dest, src, "parsed", &err), PV_ENOENT);
	assert_null(dest);
	expect_content("dev/parsed/gone.tsv", "kept");
	/* and when its folder vanished too */
	char *deep = at("nowhere/x.tsv");
	assert_int_equal(pv_settle_move(&dest, deep, "parsed", &err), PV_ENOENT);
	assert_null(dest);
	free(deep);
	free(taken);
	free(src);
	free(dir);
}

/* ---- atomic writes ---- */

static void
write_atomic_exact_content(void **state)
{
	static const char data[] = "{\"run_id\": \"x\"}\n\0binary\xFF";
	char *dir = at("reports");
	size_t len;

	(void)state;
	pv_err err = { "" };
	assert_int_equal(pv_settle_write_atomic(dir, "r.json", data, sizeof(data) - 1, &err), PV_OK);
	char *path = at("reports/r.json");
	char *got = pvt_read(path, &len);
	assert_non_null(got);
	assert_int_equal(len, sizeof(data) - 1);
	assert_memory_equal(got, data, len);
	assert_int_equal(pvt_count_entries(dir), 1); /* no temporary file left */
	free(got);

	/* replaced as a whole by a second write */
	assert_int_equal(pv_settle_write_atomic(dir, "r.json", "short", 5, &err), PV_OK);
	expect_content("reports/r.json", "short");
	assert_int_equal(pvt_count_entries(dir), 1);

	/* empty content */
	assert_int_equal(pv_settle_write_atomic(dir, "empty.json", "", 0, &err), PV_OK);
	expect_content("reports/empty.json", "");
	assert_int_equal(pvt_count_entries(dir), 2);

	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	free(path);
	free(dir);
}

static void
write_atomic_creates_missing_folders(void **state)
{
	char *dir = at("logs/reports/deep");
	pv_err err = { "" };

	(void)state;
	assert_int_equal(pv_settle_write_atomic(dir, "r.json", "{}", 2, &err), PV_OK);
	expect_content("logs/reports/deep/r.json", "{}");
	assert_int_equal(pvt_count_entries(dir), 1);
	free(dir);
}

static void
write_atomic_fails_cleanly(void **state)
{
	char *file = at("plain"), *dir = at("plain/sub");
	pv_err err = { "" };

	(void)state;
	pvt_write_str(file, "not a folder");
	assert_int_equal(pv_settle_write_atomic(dir, "r.json", "{}", 2, &err), PV_EIO);
	assert_true(err.msg[0] != '\0');
	expect_content("plain", "not a folder");
	free(file);
	free(dir);
}

static void
mkdirs_table(void **state)
{
	char *a = at("m/n/o"), *b = at("m/n/o/"), *c = at("m//p"), *f = at("file"), *g = at("file/x");
	pv_err err = { "" };
	struct stat st;

	(void)state;
	assert_int_equal(pv_mkdirs(a, &err), PV_OK);
	assert_int_equal(stat(a, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(pv_mkdirs(a, &err), PV_OK); /* already there */
	assert_int_equal(pv_mkdirs(b, &err), PV_OK);
	assert_int_equal(pv_mkdirs(c, &err), PV_OK);
	assert_true(pvt_exists(c));
	pvt_write_str(f, "x");
	assert_int_equal(pv_mkdirs(g, &err), PV_EIO);
	free(a);
	free(b);
	free(c);
	free(f);
	free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(move_creates_the_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(move_never_overwrites, setup, teardown),
		cmocka_unit_test_setup_teardown(move_skips_taken_names, setup, teardown),
		cmocka_unit_test_setup_teardown(move_names_without_the_usual_extension, setup, teardown),
		cmocka_unit_test_setup_teardown(move_from_parsed_or_error_goes_to_the_sibling, setup, teardown),
		cmocka_unit_test_setup_teardown(move_of_a_vanished_file, setup, teardown),
		cmocka_unit_test_setup_teardown(write_atomic_exact_content, setup, teardown),
		cmocka_unit_test_setup_teardown(write_atomic_creates_missing_folders, setup, teardown),
		cmocka_unit_test_setup_teardown(write_atomic_fails_cleanly, setup, teardown),
		cmocka_unit_test_setup_teardown(mkdirs_table, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
