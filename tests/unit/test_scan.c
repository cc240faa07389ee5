/*
 * Folder scans (contract §1): regular "*.tsv" files only, sorted by path
 * (strcmp), parsed/ and error/ never entered, symbolic links not followed;
 * the walk that yields them in bounded memory, as the folder changes.
 */
#include "pv_test.h"

#include <grp.h>
#include <sys/wait.h>
#include <time.h>

#include "powerview/scan.h"

static char *tmp;
static pv_passed_list passed; /* what the last expect_scan passed over */

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
	pv_passed_free(&passed);
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

/* What a scan passed over: kind, path, files below, a part of the reason. */
typedef struct note {
	pv_passed_kind kind;
	const char *rel;
	size_t nb_files;
	const char *reason;
} note;

static void
expect_passed(const note *want, size_t n)
{
	for (size_t i = 0; i < passed.count || i < n; i++) {
		char *w = i < n ? pvt_join(tmp, want[i].rel) : NULL;
		const pv_passed *g = i < passed.count ? &passed.items[i] : NULL;
		if (w == NULL || g == NULL || strcmp(w, g->path) != 0 || g->kind != want[i].kind ||
		    g->nb_files != want[i].nb_files || strstr(g->reason, want[i].reason) == NULL)
			fail_msg("note %zu: got %s (kind %d, %zu files, %s), expected %s (kind %d, %zu files, %s)", i,
			    g ? g->path : "(none)", g ? (int)g->kind : -1, g ? g->nb_files : 0,
			    g ? g->reason : "", w ? w : "(none)", i < n ? (int)want[i].kind : -1,
			    i < n ? want[i].nb_files : 0, i < n ? want[i].reason : "");
		free(w);
	}
}

static void
expect_scan(const char *root_rel, const char *const *want, size_t n)
{
	char *root = pvt_join(tmp, root_rel);
	pv_paths paths = { 0 };
	pv_err err = { "" };
	int rc;

	pv_passed_free(&passed);
	rc = pv_scan(&paths, &passed, root, &err);

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
	/* nothing passed over silently, but what the parser keeps out of itself */
	static const note want_notes[] = {
		{ PV_PASSED_FOLDER, "data/.tmp", 1, "hidden folder" },
		{ PV_PASSED_IN_FOLDER, "data/.tmp/in-hidden.tsv", 0, "hidden folder" },
		{ PV_PASSED_FOLDER, "data/a/deep/error", 2, "device folder named 'error'" },
		{ PV_PASSED_IN_FOLDER, "data/a/deep/error/s.tsv", 0, "device folder named 'error'" },
		{ PV_PASSED_IN_FOLDER, "data/a/deep/error/sub/s.tsv", 0, "device folder named 'error'" },
		{ PV_PASSED_FOLDER, "data/a/error", 1, "campaign folder named 'error'" },
		{ PV_PASSED_IN_FOLDER, "data/a/error/e.tsv", 0, "campaign folder named 'error'" },
		{ PV_PASSED_FILE, "data/a/fifo.tsv", 0, "not a regular file" },
		{ PV_PASSED_FILE, "data/a/out", 0, "symbolic link" },
		{ PV_PASSED_FOLDER, "data/a/parsed", 1, "campaign folder named 'parsed'" },
		{ PV_PASSED_IN_FOLDER, "data/a/parsed/p.tsv", 0, "campaign folder named 'parsed'" },
		{ PV_PASSED_FILE, "data/a/z.TSV", 0, "lower case" },
		{ PV_PASSED_FILE, "data/a/z.Tsv", 0, "lower case" },
		{ PV_PASSED_FILE, "data/dangling.tsv", 0, "symbolic link" },
		{ PV_PASSED_FILE, "data/link.tsv", 0, "symbolic link" },
		{ PV_PASSED_FILE, "data/linkdir", 0, "symbolic link" },
		{ PV_PASSED_FOLDER, "data/parsed", 1, "company folder named 'parsed'" },
		{ PV_PASSED_IN_FOLDER, "data/parsed/q.tsv", 0, "company folder named 'parsed'" },
	};
	expect_passed(want_notes, PVT_COUNT(want_notes));
}

/*
 * A folder that cannot be read is skipped and noted: the rest of the scan goes
 * on. Root reads every folder, so as root the scan runs in a child process
 * that has become nobody (65534), in a folder of /tmp that nobody can reach.
 */
static void
scan_skips_a_folder_it_cannot_read(void **state)
{
	char base[] = "/tmp/pv-scan.XXXXXX", path[64];
	static const char *const files[] = { "a/c/d/f.tsv", "m/c/d/f.tsv", "z/c/d/f.tsv" };
	int status;
	pid_t pid;

	(void)state;
	assert_non_null(mkdtemp(base));
	assert_int_equal(chmod(base, 0755), 0);
	for (size_t i = 0; i < PVT_COUNT(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", base, files[i]);
		pvt_write_str(path, "x");
	}
	snprintf(path, sizeof(path), "%s/m", base);
	assert_int_equal(chmod(path, 0), 0);
	if ((pid = fork()) == 0) {
		pv_paths paths = { 0 };
		pv_passed_list p = { 0 };
		pv_err err = { "" };
		char want[3][64];
		if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0))
			_exit(2);
		snprintf(want[0], sizeof(want[0]), "%s/a/c/d/f.tsv", base);
		snprintf(want[1], sizeof(want[1]), "%s/z/c/d/f.tsv", base);
		snprintf(want[2], sizeof(want[2]), "%s/m", base);
		int ok = pv_scan(&paths, &p, base, &err) == PV_OK && paths.count == 2 &&
		    strcmp(paths.items[0], want[0]) == 0 && strcmp(paths.items[1], want[1]) == 0 &&
		    p.count == 1 && p.items[0].kind == PV_PASSED_UNREADABLE &&
		    strcmp(p.items[0].path, want[2]) == 0 && strstr(p.items[0].reason, "Permission denied");
		if (!ok)
			fprintf(stderr, "scan as uid %d: %zu files, %zu notes (%s)\n", (int)geteuid(),
			    paths.count, p.count, p.count ? p.items[0].reason : err.msg);
		pv_paths_free(&paths);
		pv_passed_free(&p);
		_exit(ok ? 0 : 1);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(chmod(path, 0755), 0);
	pvt_rmrf(base);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Folders deeper than PV_SCAN_DEPTH_MAX are noted, not entered: the walk is bounded. */
static void
scan_depth_is_bounded(void **state)
{
	char rel[PV_SCAN_DEPTH_MAX * 2 + 64] = "data";
	static const char *const want[] = { "data/top/c/d/f.tsv" };

	(void)state;
	touch("data/top/c/d/f.tsv");
	for (int i = 0; i < PV_SCAN_DEPTH_MAX + 3; i++)
		strcat(rel, "/d");
	strcat(rel, "/deep.tsv");
	touch(rel);
	expect_scan("data", want, PVT_COUNT(want));
	assert_int_equal(passed.count, 1);
	assert_int_equal(passed.items[0].kind, PV_PASSED_FOLDER);
	pvt_assert_contains(passed.items[0].reason, "folders deep");
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
	assert_int_equal(pv_scan(&paths, NULL, d, &err), PV_EIO);
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

/* strcmp order of the whole path: the walk's. */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A walk over a folder larger than its window: every file once, in order. */
static void
walk_order_beyond_one_window(void **state)
{
	enum { N = 5000 };
	static char *want[N + 4];
	char rel[300];
	size_t n = 0;

	(void)state;
	for (int i = N - 1; i >= 0; i--) {
		/* names of every length, and a folder beside the file of the same stem */
		snprintf(rel, sizeof(rel), "data/d/%0*d.tsv", 1 + i % 9, (i * 7919) % 100000);
		touch(rel);
		want[n++] = strdup(rel);
	}
	static const char *const more[] = { "data/d/1/in.tsv", "data/d/1-a/in.tsv", "data/d/10/in.tsv",
		"data/d0.tsv" };
	for (size_t i = 0; i < PVT_COUNT(more); i++) {
		touch(more[i]);
		want[n++] = strdup(more[i]);
	}
	qsort(want, n, sizeof(char *), cmp_str);
	expect_scan("data", (const char *const *)want, n);
	for (size_t i = 0; i < n; i++)
		free(want[i]);
}

/* Long names fill the window's bytes before its entries: the order holds. */
static void
walk_order_with_long_names(void **state)
{
	enum { N = 700 };
	static char *want[N];
	char rel[300], name[240];

	(void)state;
	for (int i = 0; i < N; i++) {
		memset(name, 'a' + i % 26, 200);
		snprintf(name + 200, sizeof(name) - 200, "%05d.tsv", (i * 389) % N);
		snprintf(rel, sizeof(rel), "data/%s", name);
		touch(rel);
		want[i] = strdup(rel);
	}
	qsort(want, N, sizeof(char *), cmp_str);
	expect_scan("data", (const char *const *)want, N);
	for (size_t i = 0; i < N; i++)
		free(want[i]);
}

/* What changes during a walk: a file gone is not yielded, one added after the last yielded is. */
static void
walk_follows_the_folder_as_it_changes(void **state)
{
	char rel[64], *root = pvt_join(tmp, "data"), *p;
	const char *path;
	pv_walk *w;
	pv_err err = { "" };
	size_t got = 0;
	bool seen_late = false, seen_early = false;

	(void)state;
	for (int i = 0; i < 3000; i++) {
		snprintf(rel, sizeof(rel), "data/f%05d.tsv", i * 2);
		touch(rel);
	}
	assert_int_equal(pv_walk_open(&w, root, 0, NULL, &err), PV_OK);
	assert_int_equal(pv_walk_total(w), 3000);
	while (pv_walk_next(w, &path, &err) == 1) {
		const char *base = strrchr(path, '/') + 1;
		if (got == 1500) {
			/* ahead of the walk: one removed, one added; behind it: one added */
			p = pvt_join(tmp, "data/f05000.tsv");
			assert_int_equal(unlink(p), 0);
			free(p);
			touch("data/f05001.tsv");
			touch("data/f00001.tsv");
		}
		assert_string_not_equal(base, "f05000.tsv");
		seen_late |= strcmp(base, "f05001.tsv") == 0;
		seen_early |= strcmp(base, "f00001.tsv") == 0;
		/* the file yielded is settled: moved out of the folder, as a run does */
		assert_int_equal(unlink(path), 0);
		got++;
	}
	assert_true(seen_late);
	assert_false(seen_early); /* for the next run */
	assert_int_equal(got, 3000);
	pv_walk_free(w);
	free(root);
}

/* Files modified in the last min_age seconds are counted apart and not yielded. */
static void
walk_leaves_young_files(void **state)
{
	char *root = pvt_join(tmp, "data"), *old = pvt_join(tmp, "data/c/k/d/old.tsv");
	struct timespec times[2] = { { .tv_sec = time(NULL) - 3600 }, { .tv_sec = time(NULL) - 3600 } };
	const char *path;
	pv_walk *w;
	pv_err err = { "" };

	(void)state;
	touch("data/c/k/d/old.tsv");
	touch("data/c/k/d/young.tsv");
	assert_int_equal(utimensat(AT_FDCWD, old, times, 0), 0);
	assert_int_equal(pv_walk_open(&w, root, 60, NULL, &err), PV_OK);
	assert_int_equal(pv_walk_total(w), 1);
	assert_int_equal(pv_walk_young(w), 1);
	assert_int_equal(pv_walk_next(w, &path, &err), 1);
	assert_string_equal(path, old);
	assert_int_equal(pv_walk_next(w, &path, &err), 0);
	pv_walk_free(w);
	free(old);
	free(root);
}

/* A tenant's thousands of links: PV_PASSED_MAX notes kept, the others counted. */
static void
notes_are_bounded(void **state)
{
	char rel[64];

	(void)state;
	touch("data/c/k/d/f.tsv");
	for (int i = 0; i < PV_PASSED_MAX + 150; i++) {
		snprintf(rel, sizeof(rel), "data/c/k/d/l%04d.tsv", i);
		link_to("f.tsv", rel);
	}
	static const char *const want[] = { "data/c/k/d/f.tsv" };
	expect_scan("data", want, 1);
	assert_int_equal(passed.count, PV_PASSED_MAX);
	assert_int_equal(passed.not_listed, 150);
	for (size_t i = 1; i < passed.count; i++)
		assert_true(strcmp(passed.items[i - 1].path, passed.items[i].path) < 0);
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
		T(scan_skips_a_folder_it_cannot_read),
		T(scan_depth_is_bounded),
		T(scan_sorts_many_files),
		T(walk_order_beyond_one_window),
		T(walk_order_with_long_names),
		T(walk_follows_the_folder_as_it_changes),
		T(walk_leaves_young_files),
		T(notes_are_bounded),
		T(paths_add_and_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
