/*
 * Folder scans (contract §1): regular "*.tsv" files only, sorted by path
 * (strcmp), parsed/ and error/ never entered, symbolic links not followed.
 */
#include "pv_test.h"

#include "powerview/scan.h"

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

static void
touch(const char *rel)
{
	char *p = pvt_join(tmp, rel);

	pvt_write_str(p, "x");
	free(p);
}

static void
link_to(const char *target, const char *rel)
{
	char *p = pvt_join(tmp, rel);

	if (symlink(target, p) != 0)
		fail_msg("symlink %s: %s", rel, strerror(errno));
	free(p);
}

static void
expect_scan(const char *root_rel, const char *const *want, size_t n)
{
	char *root = pvt_join(tmp, root_rel);
	pv_paths paths = { 0 };
	pv_err err = { "" };
	int rc = pv_scan(&paths, root, &err);

	if (rc != PV_OK)
		fail_msg("scan: rc %d (%s)", rc, err.msg);
	for (size_t i = 0; i < paths.count || i < n; i++) {
		char *w = i < n ? pvt_join(tmp, want[i]) : NULL;
		const char *g = i < paths.count ? paths.items[i] : NULL;
		if (w == NULL || g == NULL || strcmp(w, g) != 0)
			fail_msg("entry %zu: got %s, expected %s", i, g ? g : "(none)", w ? w : "(none)");
		free(w);
	}
	pv_paths_free(&paths);
	free(root);
}

static void
scan_finds_what_it_should(void **state)
{
	static const char *const want[] = {
		"data/a-b/k.tsv",       /* '-' (0x2D) sorts before '/' (0x2F) */
		"data/a/Parsed/u.tsv",  /* only "parsed" and "error", exactly */
		"data/a/d.tsv/in.tsv",  /* a folder named *.tsv is entered, not listed */
		"data/a/deep/er/r.tsv",
		"data/a/e.tsv",
		"data/a/parsedx/t.tsv",
		"data/a/y.tsv",
		"data/a/\xC3\xA9t\xC3\xA9.tsv",
		"data/b/x.tsv",
		"data/top.tsv",
	};

	(void)state;
	/* taken */
	touch("data/b/x.tsv");
	touch("data/a/y.tsv");
	touch("data/a/e.tsv");
	touch("data/a/deep/er/r.tsv");
	touch("data/a/parsedx/t.tsv");
	touch("data/a/Parsed/u.tsv");
	touch("data/a/d.tsv/in.tsv");
	touch("data/a-b/k.tsv");
	touch("data/top.tsv");
	touch("data/a/\xC3\xA9t\xC3\xA9.tsv");
	/* not taken: hidden names (uploads in progress), inside hidden folders too */
	touch("data/a/.hidden.tsv");
	touch("data/a/.sftpgo-upload.cn1abc.T302_1.tsv");
	touch("data/.tmp/in-hidden.tsv");
	/* not taken: other names */
	touch("data/a/z.TSV");
	touch("data/a/z.Tsv");
	touch("data/a/w.tsv.part");
	touch("data/a/w.tsv~");
	touch("data/a/notes.txt");
	/* not taken: parsed/ and error/ at any depth */
	touch("data/a/parsed/p.tsv");
	touch("data/a/error/e.tsv");
	touch("data/parsed/q.tsv");
	touch("data/a/deep/er/parsed/q.tsv");
	touch("data/a/deep/error/s.tsv");
	touch("data/a/deep/error/sub/s.tsv");
	/* not taken: links to files and to folders */
	link_to("a/y.tsv", "data/link.tsv");
	link_to("b", "data/linkdir");
	link_to("/nonexistent/dangling.tsv", "data/dangling.tsv");
	char *outside = pvt_join(tmp, "outside");
	touch("outside/o.tsv");
	link_to(outside, "data/a/out");
	free(outside);
	/* not taken: something that is not a regular file */
	char *fifo = pvt_join(tmp, "data/a/fifo.tsv");
	assert_int_equal(mkfifo(fifo, 0644), 0);
	free(fifo);

	expect_scan("data", want, PVT_COUNT(want));
}

/* The root given with trailing slashes gives the same paths. */
static void
scan_root_with_trailing_slash(void **state)
{
	static const char *const want[] = { "data/c/k/d/f.tsv" };

	(void)state;
	touch("data/c/k/d/f.tsv");
	expect_scan("data/", want, 1);
	expect_scan("data//", want, 1);
}

static void
scan_of_an_empty_folder(void **state)
{
	char *d = pvt_join(tmp, "empty");

	(void)state;
	pvt_mkdirs(d);
	expect_scan("empty", NULL, 0);
	free(d);
}

static void
scan_of_a_missing_folder(void **state)
{
	char *d = pvt_join(tmp, "missing");
	pv_paths paths = { 0 };
	pv_err err = { "" };

	(void)state;
	assert_int_equal(pv_scan(&paths, d, &err), PV_EIO);
	assert_int_equal(paths.count, 0);
	pvt_assert_contains(err.msg, "missing");
	pv_paths_free(&paths);
	free(d);
}

/* Many files: the order is strcmp order of the whole path, whatever readdir gives. */
static void
scan_sorts_many_files(void **state)
{
	char rel[64];
	char *want[300];
	size_t n = 0;

	(void)state;
	for (int i = 299; i >= 0; i--) {
		snprintf(rel, sizeof(rel), "data/d%d/f%03d.tsv", i % 7, (i * 37) % 300);
		touch(rel);
	}
	for (int d = 0; d < 7; d++)
		for (int f = 0; f < 300; f++)
			for (int i = 0; i < 300; i++)
				if (i % 7 == d && (i * 37) % 300 == f) {
					char buf[64];
					snprintf(buf, sizeof(buf), "data/d%d/f%03d.tsv", d, f);
					want[n++] = strdup(buf);
				}
	assert_int_equal(n, 300);
	expect_scan("data", (const char *const *)want, n);
	for (size_t i = 0; i < n; i++)
		free(want[i]);
}

static void
paths_add_and_free(void **state)
{
	pv_paths p = { 0 };
	char buf[16];

	(void)state;
	for (int i = 0; i < 200; i++) {
		snprintf(buf, sizeof(buf), "p%d", i);
		assert_int_equal(pv_paths_add(&p, buf), PV_OK);
	}
	assert_int_equal(p.count, 200);
	assert_string_equal(p.items[0], "p0");
	assert_string_equal(p.items[199], "p199");
	pv_paths_free(&p);
	assert_int_equal(p.count, 0);
	assert_null(p.items);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(scan_finds_what_it_should),
		T(scan_root_with_trailing_slash),
		T(scan_of_an_empty_folder),
		T(scan_of_a_missing_folder),
		T(scan_sorts_many_files),
		T(paths_add_and_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
