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

/* Opens rel below the temporary folder (the data folder of these tests), as a run does. */
static int
open_place(pv_place *pl, int *fd, const char *rel)
{
	char *path = at(rel);
	pv_err err = { "" };
	int rc = pv_place_open(pl, fd, tmp, path, &err);

	free(path);
	return rc;
}

/* Moves rel into subdir; the result code, with *dest. */
static int
try_move(char **dest, const char *rel, const char *subdir, pv_err *err)
{
	pv_place pl;
	int fd, rc = open_place(&pl, &fd, rel);

	*dest = NULL;
	if (rc == PV_OK)
		rc = pv_settle_move(dest, &pl, fd, subdir, err);
	if (fd >= 0)
		close(fd);
	pv_place_free(&pl);
	return rc;
}

/* Writes rel with text, moves it into subdir and checks where it went. */
static void
move_one(const char *rel, const char *text, const char *subdir, const char *want_rel)
{
	char *src = at(rel), *want = at(want_rel), *dest = (char *)"unset";
	pv_err err = { "" };
	int rc;

	pvt_write_str(src, text);
	rc = try_move(&dest, rel, subdir, &err);
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
	char *src = at("dev/gone.tsv"), *dest = (char *)"unset", *taken = at("dev/parsed/gone.tsv");
	pv_err err = { "" };
	pv_place pl;
	int fd;

	(void)state;
	/* gone between the open and the move, also when its name is taken in parsed/ */
	pvt_write_str(taken, "kept");
	pvt_write_str(src, "rows");
	assert_int_equal(open_place(&pl, &fd, "dev/gone.tsv"), PV_OK);
	assert_int_equal(unlink(src), 0);
	assert_int_equal(pv_settle_move(&dest, &pl, fd, "parsed", &err), PV_ENOENT);
	assert_null(dest);
	pvt_assert_contains(err.msg, "vanished");
	expect_content("dev/parsed/gone.tsv", "kept");
	close(fd);
	pv_place_free(&pl);
	/* gone before the open, with its folder */
	assert_int_equal(try_move(&dest, "dev/gone.tsv", "parsed", &err), PV_ENOENT);
	assert_int_equal(try_move(&dest, "nowhere/x.tsv", "parsed", &err), PV_ENOENT);
	assert_null(dest);
	free(taken);
	free(src);
}

/* A name that now holds another file is a new upload: it stays for its own run. */
static void
move_of_a_replaced_file(void **state)
{
	char *src = at("dev/a.tsv"), *other = at("dev/b.tsv"), *dest = (char *)"unset";
	pv_err err = { "" };
	pv_place pl;
	int fd;

	(void)state;
	pvt_write_str(src, "first upload");
	pvt_write_str(other, "second upload");
	assert_int_equal(open_place(&pl, &fd, "dev/a.tsv"), PV_OK);
	assert_int_equal(rename(other, src), 0);
	assert_int_equal(pv_settle_move(&dest, &pl, fd, "parsed", &err), PV_ENOENT);
	assert_null(dest);
	pvt_assert_contains(err.msg, "replaced");
	expect_content("dev/a.tsv", "second upload");
	close(fd);
	free(dest);
	dest = at("dev/parsed/a.tsv");
	assert_false(pvt_exists(dest));
	free(dest);
	pv_place_free(&pl);
	free(src);
	free(other);
}

/* parsed/ or error/ as a link, to anywhere: never followed, nothing moved. */
static void
move_into_a_linked_folder_is_refused(void **state)
{
	static const char *const targets[] = { "elsewhere", "dev/real", "/tmp", "missing" };
	char *link = at("dev/parsed"), *src = at("dev/a.tsv"), *elsewhere = at("elsewhere");
	char *real = at("dev/real"), *dest = (char *)"unset";
	pv_err err = { "" };

	(void)state;
	pvt_mkdirs(elsewhere);
	pvt_mkdirs(real);
	pvt_write_str(src, "rows");
	for (size_t i = 0; i < PVT_COUNT(targets); i++) {
		char *to = targets[i][0] == '/' ? strdup(targets[i]) : at(targets[i]);
		assert_int_equal(symlink(to, link), 0);
		assert_int_equal(try_move(&dest, "dev/a.tsv", "parsed", &err), PV_EIO);
		assert_null(dest);
		pvt_assert_contains(err.msg, "symbolic link");
		expect_content("dev/a.tsv", "rows");
		assert_int_equal(pvt_count_entries(elsewhere), 0);
		assert_int_equal(pvt_count_entries(real), 0);
		assert_int_equal(unlink(link), 0);
		free(to);
	}
	/* a file named parsed: not a folder, refused too */
	pvt_write_str(link, "a file");
	assert_int_equal(try_move(&dest, "dev/a.tsv", "parsed", &err), PV_EIO);
	expect_content("dev/a.tsv", "rows");
	expect_content("dev/parsed", "a file");
	/* the sibling of a file taken again from error/ is checked the same way */
	char *err_file = at("dev/error/b.tsv");
	assert_int_equal(unlink(link), 0);
	assert_int_equal(symlink(elsewhere, link), 0);
	pvt_write_str(err_file, "again");
	assert_int_equal(try_move(&dest, "dev/error/b.tsv", "parsed", &err), PV_EIO);
	expect_content("dev/error/b.tsv", "again");
	assert_int_equal(pvt_count_entries(elsewhere), 0);
	free(err_file);
	free(link);
	free(src);
	free(elsewhere);
	free(real);
}

/* "dev/parsed/" + the first `keep` bytes of stem + ".N" (N > 0) + ".tsv" */
static void
want_name(char *out, size_t size, const char *stem, int keep, int n)
{
	if (n == 0)
		snprintf(out, size, "dev/parsed/%s.tsv", stem);
	else
		snprintf(out, size, "dev/parsed/%.*s.%d.tsv", keep, stem, n);
}

/* Near NAME_MAX, the numbered name shortens the stem and keeps ".tsv". */
static void
move_of_a_long_name_fits_name_max(void **state)
{
	char stem[252], rel[300], want[300], *path;
	int n;

	(void)state;
	memset(stem, 'a', 251);
	stem[251] = '\0';
	snprintf(rel, sizeof(rel), "dev/%s.tsv", stem); /* a 255-byte name */
	for (n = 0; n < 3; n++) {
		want_name(want, sizeof(want), stem, 249, n);
		move_one(rel, "upload", "parsed", want);
	}
	/* names up to .1002 taken: the stem shrinks as the number grows */
	for (; n < 1003; n++) {
		want_name(want, sizeof(want), stem, n < 10 ? 249 : n < 100 ? 248 : n < 1000 ? 247 : 246, n);
		path = at(want);
		pvt_write_str(path, "taken");
		free(path);
	}
	want_name(want, sizeof(want), stem, 246, 1003);
	move_one(rel, "last", "parsed", want);
	path = at("dev/parsed");
	assert_int_equal(pvt_count_entries(path), 1004);
	free(path);

	/* shortening never cuts a UTF-8 character: the 'é' at bytes 248-249 goes whole */
	memset(stem, 'b', 251);
	memcpy(stem + 248, "\xC3\xA9", 2);
	snprintf(rel, sizeof(rel), "dev/%s.tsv", stem);
	want_name(want, sizeof(want), stem, 251, 0);
	move_one(rel, "one", "parsed", want);
	want_name(want, sizeof(want), stem, 248, 1);
	move_one(rel, "two", "parsed", want);
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
		cmocka_unit_test_setup_teardown(move_of_a_replaced_file, setup, teardown),
		cmocka_unit_test_setup_teardown(move_into_a_linked_folder_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(move_of_a_long_name_fits_name_max, setup, teardown),
		cmocka_unit_test_setup_teardown(write_atomic_exact_content, setup, teardown),
		cmocka_unit_test_setup_teardown(write_atomic_creates_missing_folders, setup, teardown),
		cmocka_unit_test_setup_teardown(write_atomic_fails_cleanly, setup, teardown),
		cmocka_unit_test_setup_teardown(mkdirs_table, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
