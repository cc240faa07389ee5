/*
 * A run's progress hook and its final figures (pv_run_files): the hook is
 * called once per file with the running totals, and the outcome holds the
 * totals of the whole run.
 */
#include "pv_test.h"

#include <sys/file.h>

#include "powerview/log.h"
#include "powerview/run.h"

static char *tmp, *data;
static pv_walk *walk; /* the files of the run opts_for made */

static int
setup(void **state)
{
	(void)state;
	pv_log_set_level(PV_LOG_ERROR);
	tmp = pvt_tmpdir();
	data = pvt_join(tmp, "data");
	pvt_mkdirs(data);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	pvt_rmrf(tmp);
	free(data);
	free(tmp);
	pv_walk_free(walk);
	walk = NULL;
	return 0;
}

#define MAX_CALLS 8

typedef struct calls {
	size_t n;
	pv_run_totals seen[MAX_CALLS];
} calls;

static void
record(const pv_run_totals *t, void *arg)
{
	calls *c = arg;

	assert_true(c->n < MAX_CALLS);
	c->seen[c->n++] = *t;
}

/* data/acme/camp1/02001171/<name>, with these rows (none: an empty file). */
static char *
mkdata(const char *name, const char *rows)
{
	char *dir = pvt_join(data, "acme/camp1/02001171"), *path = pvt_join(dir, name), *text;

	pvt_mkdirs(dir);
	if (rows == NULL)
		text = strdup("");
	else
		assert_true(asprintf(&text, "02001171\t02001171\nMV_T302_V002\tPh 1 V\n%s", rows) > 0);
	pvt_write_str(path, text);
	free(text);
	free(dir);
	return path;
}

/* The options of a run over these files of the data folder. */
static pv_run_opts
opts_for(char **files, size_t n)
{
	pv_run_opts o = { .data_dir = data };
	pv_err err = { "" };

	pv_walk_free(walk);
	assert_int_equal(pv_walk_list(&walk, files, n, &err), PV_OK);
	o.files = walk;
	pv_config_defaults(&o.cfg);
	return o;
}

static void
progress_once_per_file_with_running_totals(void **state)
{
	char *files[3];
	calls c = { 0 };
	pv_run_outcome out;
	pv_run_opts o;
	pv_err err = { "" };

	(void)state;
	files[0] = mkdata("a.tsv", "05/01/26 10:00:00\t1\n05/01/26 10:10:00\t2\n");
	files[1] = mkdata("b.tsv", NULL);
	files[2] = mkdata("c.tsv", "05/01/26 11:00:00\t3\n");
	o = opts_for(files, 3);
	o.dry_run = true;
	o.progress = record;
	o.progress_arg = &c;
	assert_int_equal(pv_run_files(&out, &o, &err), PV_OK);

	assert_int_equal(c.n, 3);
	for (size_t i = 0; i < c.n; i++) {
		assert_int_equal(c.seen[i].nb_files, 3);
		assert_int_equal(c.seen[i].nb_done, i + 1);
		assert_int_equal(c.seen[i].nb_success + c.seen[i].nb_error + c.seen[i].nb_pending +
		    c.seen[i].nb_skipped, i + 1);
		assert_true(c.seen[i].elapsed_s >= 0);
		if (i > 0)
			assert_true(c.seen[i].elapsed_s >= c.seen[i - 1].elapsed_s);
	}
	assert_int_equal(c.seen[0].nb_success, 1);
	assert_int_equal(c.seen[0].nb_points, 2);
	assert_int_equal(c.seen[1].nb_error, 1);
	assert_int_equal(c.seen[1].nb_points, 2);
	assert_int_equal(c.seen[2].nb_success, 2);
	assert_int_equal(c.seen[2].nb_points, 3);

	/* the outcome: the same figures, the run's duration */
	assert_int_equal(out.totals.nb_files, 3);
	assert_int_equal(out.totals.nb_done, 3);
	assert_int_equal(out.totals.nb_success, 2);
	assert_int_equal(out.totals.nb_error, 1);
	assert_int_equal(out.totals.nb_pending, 0);
	assert_int_equal(out.totals.nb_skipped, 0);
	assert_int_equal(out.totals.nb_points, 3);
	assert_true(out.totals.elapsed_s >= c.seen[2].elapsed_s);
	pv_run_outcome_free(&out);
	for (size_t i = 0; i < 3; i++)
		free(files[i]);
}

/* A real run: a file another run holds is skipped, and counted as such; no hook is fine. */
static void
totals_of_a_real_run_without_a_hook(void **state)
{
	char *files[2], *lp = pvt_join(tmp, "out.lp"), *reports = pvt_join(tmp, "reports");
	pv_run_outcome out;
	pv_run_opts o;
	pv_err err = { "" };
	pv_sink *sink;
	int fd;

	(void)state;
	files[0] = mkdata("a.tsv", "05/01/26 10:00:00\t1\n");
	files[1] = mkdata("b.tsv", "05/01/26 10:00:00\t2\n05/01/26 10:10:00\t3\n");
	assert_true((fd = open(files[0], O_RDONLY)) >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	assert_int_equal(pv_sink_file_open(&sink, lp, &err), PV_OK);
	o = opts_for(files, 2);
	o.sink = sink;
	o.report_dir = reports;
	assert_int_equal(pv_run_files(&out, &o, &err), PV_OK);
	assert_int_equal(out.totals.nb_files, 2);
	assert_int_equal(out.totals.nb_done, 2);
	assert_int_equal(out.totals.nb_skipped, 1);
	assert_int_equal(out.totals.nb_success, 1);
	assert_int_equal(out.totals.nb_points, 2);
	assert_int_equal(out.totals.nb_error + out.totals.nb_pending, 0);
	assert_non_null(out.report_path);
	pv_run_outcome_free(&out);
	pv_sink_free(sink);
	close(fd);
	for (size_t i = 0; i < 2; i++)
		free(files[i]);
	free(lp);
	free(reports);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(progress_once_per_file_with_running_totals),
		T(totals_of_a_real_run_without_a_hook),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
