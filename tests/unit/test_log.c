/*
 * Logging on standard error, and the status line kept below the log lines
 * on a terminal (pv_log_status): the exact bytes written.
 */
#include "pv_test.h"

#include "powerview/log.h"

static char *tmp, *path;
static int saved = -1;

/* Standard error into a file for the test. */
static int
setup(void **state)
{
	(void)state;
	tmp = pvt_tmpdir();
	path = pvt_join(tmp, "stderr");
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && saved >= 0);
	assert_true(dup2(fd, STDERR_FILENO) == STDERR_FILENO);
	close(fd);
	pv_log_set_level(PV_LOG_INFO);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	pv_log_status(NULL);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	pvt_rmrf(tmp);
	free(path);
	free(tmp);
	return 0;
}

/* What standard error got, each log line's time stamp replaced by "T". */
static char *
written(void)
{
	size_t len = 0;
	char *raw, *out, *q;

	fflush(stderr);
	raw = pvt_read(path, &len);
	out = q = calloc(1, len + 1);
	assert_non_null(out);
	for (size_t i = 0; i < len;) {
		/* 2026-11-27T08:16:51Z: 20 characters */
		if (len - i >= 20 && raw[i + 4] == '-' && raw[i + 10] == 'T' && raw[i + 19] == 'Z') {
			*q++ = 'T';
			i += 20;
		} else
			*q++ = raw[i++];
	}
	free(raw);
	return out;
}

static void
log_lines_without_a_status_line(void **state)
{
	char *got;

	(void)state;
	pv_info("one");
	pv_debug("not shown");
	pv_warn("two");
	got = written();
	assert_string_equal(got, "T [INFO] tsv_parser: one\nT [WARNING] tsv_parser: two\n");
	free(got);
}

static void
status_line_cleared_and_drawn_again_around_log_lines(void **state)
{
	char *got;

	(void)state;
	pv_log_status("1/3 files");
	pv_info("a");
	pv_log_status("2/3");           /* shorter: the old one blanked out first */
	pv_log_status("3/3 files, done");
	pv_log_status(NULL);            /* cleared, the cursor at the start of the line */
	pv_log_status(NULL);            /* nothing shown: nothing written */
	pv_info("b");                   /* no status line: a plain log line */
	got = written();
	assert_string_equal(got,
	    "\r\r1/3 files"
	    "\r         \rT [INFO] tsv_parser: a\n1/3 files"
	    "\r         \r2/3"
	    "\r   \r3/3 files, done"
	    "\r               \r"
	    "T [INFO] tsv_parser: b\n");
	free(got);
}

static void
status_line_is_cut_at_255_bytes(void **state)
{
	char line[400], *got, *expect;

	(void)state;
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	pv_log_status(line);
	got = written();
	assert_true(asprintf(&expect, "\r\r%.255s", line) > 0);
	assert_string_equal(got, expect);
	free(expect);
	free(got);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(log_lines_without_a_status_line),
		T(status_line_cleared_and_drawn_again_around_log_lines),
		T(status_line_is_cut_at_255_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
