/*
 * The backfill's pieces that need no database: --start/--end times, the
 * company folders of a data folder; and a run's input checks
 * (pv_run_check_inputs), which the CLI's run and backfill rely on.
 */
#include "pv_test.h"

#include "powerview/downsample.h"
#include "powerview/run.h"

#define NS 1000000000LL

static void
times_rfc3339_and_local_dates(void **state)
{
	pv_tz *tz = NULL;
	pv_err err = { "" };
	int64_t ns = 0;

	assert_int_equal(pv_downsample_time(&ns, "2026-03-01T00:00:00Z", NULL), PV_OK);
	assert_true(ns == 1772323200LL * NS);
	/* a date: its syntax only without a zone, local midnight with one */
	assert_int_equal(pv_downsample_time(&ns, "2026-03-01", NULL), PV_OK);
	assert_int_equal(pv_tz_open(&tz, "Europe/Paris", &err), PV_OK);
	assert_int_equal(pv_downsample_time(&ns, "2026-03-01", tz), PV_OK);
	assert_true(ns == (1772323200LL - 3600) * NS);
	assert_true(pv_downsample_time(&ns, "yesterday", tz) < 0);
	assert_true(pv_downsample_time(&ns, "2026-13-01", NULL) < 0);
	pv_tz_free(tz);
}

static void
buckets_are_the_company_folders_sorted(void **state)
{
	char *dir = pvt_tmpdir(), *p, *missing = pvt_join(dir, "nowhere");
	pv_paths b = { 0 };
	pv_err err = { "" };
	static const char *const folders[] = { "zeta", "alpha", ".hidden", "_internal" };

	for (size_t i = 0; i < PVT_COUNT(folders); i++) {
		pvt_mkdirs(p = pvt_join(dir, folders[i]));
		free(p);
	}
	pvt_write_str(p = pvt_join(dir, "a_file"), "not a folder\n");
	free(p);
	assert_int_equal(pv_downsample_buckets(&b, dir, &err), PV_OK);
	assert_int_equal(b.count, 2);
	assert_string_equal(b.items[0], "alpha");
	assert_string_equal(b.items[1], "zeta");
	pv_paths_free(&b);
	assert_int_equal(pv_downsample_buckets(&b, missing, &err), PV_ENOENT);
	assert_non_null(strstr(err.msg, "data folder "));
	assert_int_equal(b.count, 0);
	pvt_rmrf(dir);
	free(missing);
	free(dir);
}

static void
run_inputs_checked(void **state)
{
	char *dir = pvt_tmpdir(), *file = pvt_join(dir, "x.tsv"), *sub = pvt_join(dir, "sub");
	char *missing = pvt_join(dir, "nowhere");
	pv_paths files = { 0 };
	pv_err err = { "" };

	pvt_write_str(file, "a\n");
	pvt_mkdirs(sub);
	assert_int_equal(pv_run_check_inputs(dir, &files, &err), PV_OK);
	assert_int_equal(pv_run_check_inputs(missing, &files, &err), PV_ENOENT);
	assert_non_null(strstr(err.msg, "No such file"));
	assert_int_equal(pv_run_check_inputs(file, &files, &err), PV_ENOENT);
	assert_non_null(strstr(err.msg, ": not a folder"));
	assert_int_equal(pv_paths_add(&files, file), 0);
	assert_int_equal(pv_run_check_inputs(dir, &files, &err), PV_OK);
	assert_int_equal(pv_paths_add(&files, sub), 0);
	assert_int_equal(pv_run_check_inputs(dir, &files, &err), PV_ENOENT);
	assert_non_null(strstr(err.msg, ": not a regular file"));
	pv_paths_free(&files);
	pvt_rmrf(dir);
	free(missing);
	free(sub);
	free(file);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(times_rfc3339_and_local_dates),
		cmocka_unit_test(buckets_are_the_company_folders_sorted),
		cmocka_unit_test(run_inputs_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
