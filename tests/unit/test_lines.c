/*
 * pv_lines: line ends, BOM, UTF-8 and the line length bound (contract §2).
 * Every table row is read twice: from a regular file, and from a pipe fed
 * one byte per read, so that every line end also falls on a read boundary.
 */
#include "pv_test.h"

#include <pthread.h>
#include <sys/ioctl.h>

#include "powerview/lines.h"

/* ---- sources ---- */

typedef struct feeder {
	int fd;            /* write end, closed by the thread */
	const char *data;
	size_t len;
	const size_t *chunks; /* sizes; the last one repeats */
	size_t nchunks;
} feeder;

/* Waits until the reader took everything out of the pipe. */
static void
wait_drained(int fd)
{
	int n;

	while (ioctl(fd, FIONREAD, &n) == 0 && n > 0)
		usleep(20);
}

static void *
feed(void *arg)
{
	feeder *f = arg;
	size_t off = 0, k = 0;

	while (off < f->len) {
		size_t want = f->chunks[k < f->nchunks ? k : f->nchunks - 1];
		k++;
		if (want > f->len - off)
			want = f->len - off;
		for (size_t done = 0; done < want;) {
			ssize_t n = write(f->fd, f->data + off + done, want - done);
			if (n < 0)
				break;
			done += (size_t)n;
		}
		off += want;
		/* each chunk arrives in a read of its own */
		wait_drained(f->fd);
	}
	close(f->fd);
	return NULL;
}

typedef struct got {
	char **lines;
	size_t *lens;
	size_t n, cap;
	int rc;
	uint64_t lineno;
	pv_err err;
} got;

static void
got_free(got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->lines[i]);
	free(g->lines);
	free(g->lens);
	memset(g, 0, sizeof(*g));
}

/* Every line up to end of file or the first error. */
static void
read_all(got *g, int fd)
{
	pv_lines l;
	const char *s;
	size_t n;
	int rc;

	memset(g, 0, sizeof(*g));
	assert_int_equal(pv_lines_init(&l, fd), PV_OK);
	while ((rc = pv_lines_next(&l, &s, &n, &g->err)) == 1) {
		if (g->n == g->cap) {
			g->cap = g->cap ? 2 * g->cap : 16;
			g->lines = realloc(g->lines, g->cap * sizeof(char *));
			g->lens = realloc(g->lens, g->cap * sizeof(size_t));
			assert_non_null(g->lines);
			assert_non_null(g->lens);
		}
		g->lines[g->n] = malloc(n + 1);
		assert_non_null(g->lines[g->n]);
		memcpy(g->lines[g->n], s, n);
		g->lines[g->n][n] = '\0';
		g->lens[g->n++] = n;
	}
	g->rc = rc;
	g->lineno = l.lineno;
	pv_lines_free(&l);
}

static void
read_file(got *g, const char *data, size_t len)
{
	char *dir = pvt_tmpdir(), *path = pvt_join(dir, "in.tsv");
	int fd;

	pvt_write(path, data, len);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	read_all(g, fd);
	close(fd);
	pvt_rmrf(dir);
	free(path);
	free(dir);
}

static void
read_pipe(got *g, const char *data, size_t len, const size_t *chunks, size_t nchunks)
{
	int p[2];
	pthread_t t;
	char sink[4096];

	assert_int_equal(pipe(p), 0);
	feeder f = { p[1], data, len, chunks, nchunks };
	assert_int_equal(pthread_create(&t, NULL, feed, &f), 0);
	read_all(g, p[0]);
	/* after an error the reader stops early: drain so the writer can finish */
	while (read(p[0], sink, sizeof(sink)) > 0)
		;
	assert_int_equal(pthread_join(t, NULL), 0);
	close(p[0]);
}

/* ---- the table ---- */

#define IN(s) s, sizeof(s) - 1
#define LINES(...) { __VA_ARGS__, NULL }
#define NO_LINES { NULL }

typedef struct line_case {
	const char *name;
	const char *in;
	size_t len;
	int rc;              /* 0: end of file reached; else the error */
	const char *out[8];  /* lines returned before that */
} line_case;

static const line_case cases[] = {
	/* line ends */
	{ "LF", IN("a\nb\n"), 0, LINES("a", "b") },
	{ "CRLF", IN("a\r\nb\r\n"), 0, LINES("a", "b") },
	{ "CR only", IN("a\rb\r"), 0, LINES("a", "b") },
	{ "mixed", IN("a\nb\r\nc\rd\n"), 0, LINES("a", "b", "c", "d") },
	{ "CR then CRLF is an empty line", IN("a\r\r\nb"), 0, LINES("a", "", "b") },
	{ "LF then CR is an empty line", IN("a\n\rb"), 0, LINES("a", "", "b") },
	{ "empty lines kept", IN("\n\r\n\r"), 0, LINES("", "", "") },
	{ "tabs and spaces kept", IN(" a\tb \r\n"), 0, LINES(" a\tb ") },
	{ "last line without newline", IN("a\nlast"), 0, LINES("a", "last") },
	{ "last line ends in CR", IN("a\nlast\r"), 0, LINES("a", "last") },
	{ "single line, no newline", IN("x"), 0, LINES("x") },
	{ "empty file", IN(""), 0, NO_LINES },
	{ "only a newline", IN("\n"), 0, LINES("") },
	{ "only a CR", IN("\r"), 0, LINES("") },

	/* BOM */
	{ "BOM removed at start", IN("\xEF\xBB\xBF" "a\nb\n"), 0, LINES("a", "b") },
	{ "BOM alone on first line", IN("\xEF\xBB\xBF\nb"), 0, LINES("", "b") },
	{ "BOM alone in file", IN("\xEF\xBB\xBF"), 0, LINES("") },
	{ "BOM before CRLF", IN("\xEF\xBB\xBF\r\nb"), 0, LINES("", "b") },
	{ "only the first BOM removed", IN("\xEF\xBB\xBF\xEF\xBB\xBF" "a"), 0, LINES("\xEF\xBB\xBF" "a") },
	{ "BOM on second line kept", IN("a\n\xEF\xBB\xBF" "b"), 0, LINES("a", "\xEF\xBB\xBF" "b") },
	{ "BOM after blank first line kept", IN("\n\xEF\xBB\xBF" "a"), 0, LINES("", "\xEF\xBB\xBF" "a") },
	{ "BOM in mid line kept", IN("a\xEF\xBB\xBF" "b"), 0, LINES("a\xEF\xBB\xBF" "b") },
	{ "truncated BOM is invalid", IN("\xEF\xBB" "a"), PV_EDATA, NO_LINES },

	/* valid UTF-8 (past the 8-byte ASCII fast path too) */
	{ "2-byte", IN("\xC2\xA9 \xDF\xBF\n"), 0, LINES("\xC2\xA9 \xDF\xBF") },
	{ "3-byte", IN("abcdefgh\xE2\x82\xAC \xE0\xA0\x80 \xED\x9F\xBF \xEE\x80\x80 \xEF\xBF\xBF"), 0,
	    LINES("abcdefgh\xE2\x82\xAC \xE0\xA0\x80 \xED\x9F\xBF \xEE\x80\x80 \xEF\xBF\xBF") },
	{ "4-byte", IN("\xF0\x90\x80\x80 \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF\r\n"), 0,
	    LINES("\xF0\x90\x80\x80 \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF") },
	{ "U+0000..U+007F", IN("\x01\x7F\n"), 0, LINES("\x01\x7F") },

	/* invalid UTF-8: PV_EDATA, the good lines before it were returned */
	{ "overlong C0 80", IN("ok\n\xC0\x80\n"), PV_EDATA, LINES("ok") },
	{ "overlong C1 BF", IN("ok\n\xC1\xBF\n"), PV_EDATA, LINES("ok") },
	{ "overlong E0 80 80", IN("ok\n\xE0\x80\x80\n"), PV_EDATA, LINES("ok") },
	{ "overlong E0 9F BF", IN("ok\n\xE0\x9F\xBF\n"), PV_EDATA, LINES("ok") },
	{ "overlong F0 80 80 80", IN("ok\n\xF0\x80\x80\x80\n"), PV_EDATA, LINES("ok") },
	{ "surrogate ED A0 80", IN("ok\n\xED\xA0\x80\n"), PV_EDATA, LINES("ok") },
	{ "surrogate ED BF BF", IN("ok\n\xED\xBF\xBF\n"), PV_EDATA, LINES("ok") },
	{ "above U+10FFFF F4 90 80 80", IN("ok\n\xF4\x90\x80\x80\n"), PV_EDATA, LINES("ok") },
	{ "F5", IN("ok\n\xF5\x80\x80\x80\n"), PV_EDATA, LINES("ok") },
	{ "FF", IN("ok\n\xFF\n"), PV_EDATA, LINES("ok") },
	{ "lone continuation 80", IN("ok\nabcdefgh\x80\n"), PV_EDATA, LINES("ok") },
	{ "truncated at end of line", IN("ok\n\xE2\x82\nnext\n"), PV_EDATA, LINES("ok") },
	{ "truncated at end of file", IN("ok\n\xE2\x82"), PV_EDATA, LINES("ok") },
	{ "truncated 4-byte", IN("ok\n\xF0\x9F\x98\n"), PV_EDATA, LINES("ok") },
	{ "bad continuation", IN("ok\n\xE2" "A" "\xAC\n"), PV_EDATA, LINES("ok") },
	{ "sequence cut by a CR", IN("\xC3\r\xA9"), PV_EDATA, NO_LINES },
	{ "invalid on first line", IN("\xC0\x80"), PV_EDATA, NO_LINES },
};

static void
check(const line_case *c, const got *g, const char *source)
{
	size_t want = 0;

	while (c->out[want] != NULL)
		want++;
	if (g->rc != c->rc)
		fail_msg("%s (%s): rc %d, expected %d (%s)", c->name, source, g->rc, c->rc, g->err.msg);
	if (g->n != want)
		fail_msg("%s (%s): %zu lines, expected %zu", c->name, source, g->n, want);
	for (size_t i = 0; i < want; i++)
		if (g->lens[i] != strlen(c->out[i]) || memcmp(g->lines[i], c->out[i], g->lens[i]) != 0)
			fail_msg("%s (%s): line %zu is \"%s\", expected \"%s\"", c->name, source, i + 1,
			    g->lines[i], c->out[i]);
	if (c->rc == PV_EDATA && strstr(g->err.msg, "not valid UTF-8") == NULL)
		fail_msg("%s (%s): message \"%s\"", c->name, source, g->err.msg);
	if (c->rc == 0 && g->lineno != want)
		fail_msg("%s (%s): lineno %llu, expected %zu", c->name, source,
		    (unsigned long long)g->lineno, want);
}

static void
table_from_file(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(cases); i++) {
		got g;
		read_file(&g, cases[i].in, cases[i].len);
		check(&cases[i], &g, "file");
		got_free(&g);
	}
}

static void
table_from_pipe_byte_by_byte(void **state)
{
	static const size_t one[] = { 1 };

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(cases); i++) {
		got g;
		read_pipe(&g, cases[i].in, cases[i].len, one, 1);
		check(&cases[i], &g, "pipe");
		got_free(&g);
	}
}

static void
utf8_error_names_the_line(void **state)
{
	got g;

	(void)state;
	read_file(&g, IN("a\nb\r\n\xED\xA0\x80\n"));
	assert_int_equal(g.rc, PV_EDATA);
	assert_string_equal(g.err.msg, "line 3 is not valid UTF-8");
	got_free(&g);
}

/* ---- buffer boundaries ---- */

#define KIB 1024

/* "<n × c>" + tail */
static char *
filled(size_t n, char c, const char *tail, size_t *len)
{
	size_t t = strlen(tail);
	char *s = malloc(n + t + 1);

	assert_non_null(s);
	memset(s, c, n);
	memcpy(s + n, tail, t + 1);
	*len = n + t;
	return s;
}

static void
expect_two_lines(const got *g, size_t first_len, char c, const char *second)
{
	assert_int_equal(g->rc, 0);
	assert_int_equal(g->n, 2);
	assert_int_equal(g->lens[0], first_len);
	for (size_t i = 0; i < first_len; i++)
		if (g->lines[0][i] != c)
			fail_msg("byte %zu of line 1 is 0x%02X", i, (unsigned char)g->lines[0][i]);
	assert_string_equal(g->lines[1], second);
}

/* A 128 KiB read ends on the CR; the LF comes in the next read: one line end, not two. */
static void
crlf_split_across_pipe_reads_at_128k(void **state)
{
	size_t len;
	char *data = filled(128 * KIB - 1, 'a', "\r\nnext\n", &len);
	const size_t chunks[] = { 128 * KIB, len - 128 * KIB };
	got g;

	(void)state;
	assert_int_equal(data[128 * KIB - 1], '\r');
	read_pipe(&g, data, len, chunks, 2);
	expect_two_lines(&g, 128 * KIB - 1, 'a', "next");
	got_free(&g);
	free(data);
}

/* A CR that ends a read, followed by something else: a CR line end. */
static void
cr_only_split_across_pipe_reads(void **state)
{
	size_t len;
	char *data = filled(128 * KIB - 1, 'a', "\rx\n", &len);
	const size_t chunks[] = { 128 * KIB, len - 128 * KIB };
	got g;

	(void)state;
	read_pipe(&g, data, len, chunks, 2);
	expect_two_lines(&g, 128 * KIB - 1, 'a', "x");
	got_free(&g);
	free(data);
}

/* The buffer starts at 256 KiB: the first read of a file ends exactly on the CR. */
static void
crlf_split_across_file_reads_at_256k(void **state)
{
	size_t len;
	char *data = filled(256 * KIB - 1, 'b', "\r\nnext", &len);
	got g;

	(void)state;
	read_file(&g, data, len);
	expect_two_lines(&g, 256 * KIB - 1, 'b', "next");
	got_free(&g);
	free(data);
}

static void
crlf_at_128k_in_a_file(void **state)
{
	size_t len;
	char *data = filled(128 * KIB - 1, 'c', "\r\nnext\r\n", &len);
	got g;

	(void)state;
	read_file(&g, data, len);
	expect_two_lines(&g, 128 * KIB - 1, 'c', "next");
	got_free(&g);
	free(data);
}

/*
 * 1.5 MiB of lines of varying lengths and mixed line ends, read from a file
 * and from a pipe in odd chunk sizes: every line end lands somewhere on a
 * read boundary at least once.
 */
#define NVARY 1200

static char *
varied(size_t *len, size_t *lens)
{
	static const char *ends[] = { "\n", "\r\n", "\r" };
	size_t cap = 0, used = 0;
	char *s;

	for (size_t i = 0; i < NVARY; i++) {
		lens[i] = 1 + (i * 7919) % 2600;
		cap += lens[i] + 2;
	}
	s = malloc(cap);
	assert_non_null(s);
	for (size_t i = 0; i < NVARY; i++) {
		memset(s + used, 'a' + (int)(i % 26), lens[i]);
		used += lens[i];
		memcpy(s + used, ends[i % 3], strlen(ends[i % 3]));
		used += strlen(ends[i % 3]);
	}
	*len = used;
	return s;
}

static void
check_varied(const got *g, const size_t *lens, const char *source)
{
	if (g->rc != 0 || g->n != NVARY)
		fail_msg("%s: rc %d, %zu lines (%s)", source, g->rc, g->n, g->err.msg);
	for (size_t i = 0; i < NVARY; i++) {
		if (g->lens[i] != lens[i])
			fail_msg("%s: line %zu has %zu bytes, expected %zu", source, i + 1, g->lens[i], lens[i]);
		for (size_t k = 0; k < lens[i]; k++)
			if (g->lines[i][k] != 'a' + (int)(i % 26))
				fail_msg("%s: line %zu byte %zu", source, i + 1, k);
	}
}

static void
varied_lines_over_many_buffers(void **state)
{
	static const size_t chunks[] = { 1, 4095, 65537, 3, 131072, 77777, 2, 262144, 99991 };
	size_t len, lens[NVARY];
	char *data = varied(&len, lens);
	got g;

	(void)state;
	assert_true(len > 1024 * KIB);
	read_file(&g, data, len);
	check_varied(&g, lens, "file");
	got_free(&g);
	read_pipe(&g, data, len, chunks, PVT_COUNT(chunks));
	check_varied(&g, lens, "pipe");
	got_free(&g);
	free(data);
}

/* ---- the line length bound ---- */

static void
line_of_exactly_max_is_fine(void **state)
{
	size_t len;
	char *data = filled(PV_LINE_MAX, 'x', "\r\nend", &len);
	got g;

	(void)state;
	read_file(&g, data, len);
	expect_two_lines(&g, PV_LINE_MAX, 'x', "end");
	got_free(&g);
	free(data);
}

static void
line_of_max_at_end_of_file_is_fine(void **state)
{
	size_t len;
	char *data = filled(PV_LINE_MAX, 'x', "", &len);
	got g;

	(void)state;
	read_file(&g, data, len);
	assert_int_equal(g.rc, 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.lens[0], PV_LINE_MAX);
	got_free(&g);
	free(data);
}

static void
expect_too_long(const char *tail_before, size_t n, const char *after, const char *source, bool pipe_src)
{
	static const size_t chunks[] = { 200 * KIB };
	size_t hl = strlen(tail_before), len;
	char *body = filled(n, 'y', after, &len);
	char *data = malloc(hl + len + 1);
	got g;

	assert_non_null(data);
	memcpy(data, tail_before, hl);
	memcpy(data + hl, body, len + 1);
	if (pipe_src)
		read_pipe(&g, data, hl + len, chunks, 1);
	else
		read_file(&g, data, hl + len);
	if (g.rc != PV_EDATA)
		fail_msg("%s: rc %d, expected PV_EDATA", source, g.rc);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.lines[0], "short");
	pvt_assert_contains(g.err.msg, "line 2 is longer than");
	got_free(&g);
	free(body);
	free(data);
}

static void
line_longer_than_max_is_an_error(void **state)
{
	(void)state;
	expect_too_long("short\n", PV_LINE_MAX + 1, "\nafter\n", "max+1, file", false);
	expect_too_long("short\n", PV_LINE_MAX + 1, "", "max+1 at end of file", false);
	expect_too_long("short\r\n", 3 * PV_LINE_MAX, "\n", "3 x max, file", false);
	expect_too_long("short\r", PV_LINE_MAX + 1, "\r", "max+1, pipe", true);
}

/* ---- pv_line_blank, pv_trim, pv_utf8_valid ---- */

static void
line_blank_table(void **state)
{
	static const struct {
		const char *s;
		size_t n;
		bool blank;
	} t[] = {
		{ IN(""), true },
		{ IN(" "), true },
		{ IN("\t"), true },
		{ IN("\r"), true },
		{ IN(" \t\r \t"), true },
		{ IN("a"), false },
		{ IN("  a  "), false },
		{ IN("\v"), false },  /* blank = only spaces, tabs and CR */
		{ IN("\f"), false },
		{ IN("\n"), false },
		{ IN("\xC2\xA0"), false }, /* no-break space is not blank */
		{ IN(" \0 "), false },
	};

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(t); i++)
		if (pv_line_blank(t[i].s, t[i].n) != t[i].blank)
			fail_msg("row %zu: pv_line_blank should be %d", i, t[i].blank);
}

static void
trim_table(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} t[] = {
		{ "", "" },
		{ "a", "a" },
		{ "  a  ", "a" },
		{ " \t\r\n\v\fa b\f\v\n\r\t ", "a b" },
		{ "a \t b", "a \t b" },
		{ " \t ", "" },
		{ "\xC2\xA0" "a", "\xC2\xA0" "a" }, /* ASCII white space only */
	};

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(t); i++) {
		const char *s = t[i].in;
		size_t n = strlen(s);
		pv_trim(&s, &n);
		if (n != strlen(t[i].out) || memcmp(s, t[i].out, n) != 0)
			fail_msg("trim(\"%s\") = \"%.*s\", expected \"%s\"", t[i].in, (int)n, s, t[i].out);
		/* the result points into the input */
		if (n > 0 && (s < t[i].in || s + n > t[i].in + strlen(t[i].in)))
			fail_msg("trim(\"%s\") left the input", t[i].in);
	}
}

static void
utf8_valid_table(void **state)
{
	static const struct {
		const char *s;
		size_t n;
		bool valid;
	} t[] = {
		{ IN(""), true },
		{ IN("plain ascii, longer than eight bytes"), true },
		{ IN("\xC2\x80"), true },
		{ IN("\xDF\xBF"), true },
		{ IN("\xE0\xA0\x80"), true },
		{ IN("\xED\x9F\xBF"), true },
		{ IN("\xEE\x80\x80"), true },
		{ IN("\xF0\x90\x80\x80"), true },
		{ IN("\xF4\x8F\xBF\xBF"), true },
		{ IN("\xC0\x80"), false },
		{ IN("\xC1\xBF"), false },
		{ IN("\xE0\x9F\xBF"), false },
		{ IN("\xED\xA0\x80"), false },
		{ IN("\xF0\x8F\xBF\xBF"), false },
		{ IN("\xF4\x90\x80\x80"), false },
		{ IN("\xF5\x80\x80\x80"), false },
		{ IN("\x80"), false },
		{ IN("\xE2\x82"), false },
		{ IN("\xC2" "A"), false },
		{ IN("\xE2\x82" "A"), false },
		{ IN("\xF0\x9F\x98" "A"), false },
		{ IN("12345678\xC0\x80"), false },
	};

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(t); i++)
		if (pv_utf8_valid(t[i].s, t[i].n) != t[i].valid)
			fail_msg("row %zu: pv_utf8_valid should be %d", i, t[i].valid);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_from_file),
		cmocka_unit_test(table_from_pipe_byte_by_byte),
		cmocka_unit_test(utf8_error_names_the_line),
		cmocka_unit_test(crlf_split_across_pipe_reads_at_128k),
		cmocka_unit_test(cr_only_split_across_pipe_reads),
		cmocka_unit_test(crlf_split_across_file_reads_at_256k),
		cmocka_unit_test(crlf_at_128k_in_a_file),
		cmocka_unit_test(varied_lines_over_many_buffers),
		cmocka_unit_test(line_of_exactly_max_is_fine),
		cmocka_unit_test(line_of_max_at_end_of_file_is_fine),
		cmocka_unit_test(line_longer_than_max_is_an_error),
		cmocka_unit_test(line_blank_table),
		cmocka_unit_test(trim_table),
		cmocka_unit_test(utf8_valid_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
