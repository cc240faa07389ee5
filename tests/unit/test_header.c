/*
 * pv_header_read: framing, the format line, the serial-number line and the
 * framed JSON header (contract §2). Each input is a whole file.
 */
#include "pv_test.h"

#include "powerview/header.h"

typedef struct parsed {
	int rc;
	pv_header h;
	pv_err err;
	char *next;  /* the line after the header (first data row), or NULL */
} parsed;

static void
parse_bytes(parsed *p, const char *text, size_t len)
{
	char *dir = pvt_tmpdir(), *path = pvt_join(dir, "f.tsv");
	pv_lines l;
	const char *s;
	size_t n;
	int fd;

	memset(p, 0, sizeof(*p));
	pvt_write(path, text, len);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pv_lines_init(&l, fd), PV_OK);
	p->rc = pv_header_read(&p->h, &l, pv_formats_builtin(), &p->err);
	if (p->rc == PV_OK && pv_lines_next(&l, &s, &n, NULL) == 1)
		p->next = strndup(s, n);
	pv_lines_free(&l);
	close(fd);
	pvt_rmrf(dir);
	free(path);
	free(dir);
}

static void
parse(parsed *p, const char *text)
{
	parse_bytes(p, text, strlen(text));
}

static void
parsed_free(parsed *p)
{
	pv_header_free(&p->h);
	free(p->next);
}

/* ---- errors: exact messages ---- */

typedef struct error_case {
	const char *name;
	const char *text;
	const char *msg;       /* exact message, or ... */
	const char *contains;  /* ... a part of it */
	const char *format_id; /* kept for the report; NULL: not read yet */
} error_case;

#define HDR "START_HEADER\n{\"MasterType\": \"tri\"}\nEND_HEADER\nSTART_DATA\n"

static const error_case errors[] = {
	{ "empty file", "", "empty file", NULL, NULL },
	{ "only blank lines", "\n \t\n\r\n\t\r", "empty file", NULL, NULL },
	{ "only a BOM", "\xEF\xBB\xBF\r\n", "empty file", NULL, NULL },

	{ "unknown id", "M\tA\nXX_V9\tL\n", "unsupported format: XX_V9 in the plain layout (known: MV_T302_V002 (plain), MV_T302_V003 (framed))", NULL, "XX_V9" },
	{ "unknown id in framed layout", HDR "M\tA\nMV_T302_V004\tL\n",
	    "unsupported format: MV_T302_V004 in the framed layout (known: MV_T302_V002 (plain), MV_T302_V003 (framed))", NULL, "MV_T302_V004" },
	{ "id is case-sensitive", "M\tA\nmv_t302_v002\tL\n", "unsupported format: mv_t302_v002 in the plain layout (known: MV_T302_V002 (plain), MV_T302_V003 (framed))", NULL,
	    "mv_t302_v002" },
	{ "V003 id in plain layout", "M\tA\nMV_T302_V003\tL\n", "unsupported format: MV_T302_V003 in the plain layout (known: MV_T302_V002 (plain), MV_T302_V003 (framed))",
	    NULL, "MV_T302_V003" },
	{ "V002 id in framed layout", HDR "M\tA\nMV_T302_V002\tL\nEND_DATA\n",
	    "unsupported format: MV_T302_V002 in the framed layout (known: MV_T302_V002 (plain), MV_T302_V003 (framed))", NULL, "MV_T302_V002" },
	{ "empty id", "M\tA\n\tL\n", "unsupported format:  in the plain layout (known: MV_T302_V002 (plain), MV_T302_V003 (framed))", NULL, "" },

	{ "no channels", "M\nMV_T302_V002\n", "no channels", NULL, "MV_T302_V002" },
	{ "no channels after dropping trailing cells", "M\t\t \t\nMV_T302_V002\tL\n", "no channels",
	    NULL, "MV_T302_V002" },
	{ "no channels, framed", HDR "M\nMV_T302_V003\n", "no channels", NULL, "MV_T302_V003" },

	{ "6 serials, 5 labels", "M\tA\tB\tC\tD\tE\tF\nMV_T302_V002\tL1\tL2\tL3\tL4\tL5\n",
	    "header mismatch: 6 serial numbers, 5 channel labels", NULL, "MV_T302_V002" },
	{ "2 serials, 3 labels", "M\tA\tB\nMV_T302_V002\tL1\tL2\tL3\n",
	    "header mismatch: 2 serial numbers, 3 channel labels", NULL, "MV_T302_V002" },
	{ "labels missing", "M\tA\nMV_T302_V002\n",
	    "header mismatch: 1 serial numbers, 0 channel labels", NULL, "MV_T302_V002" },

	{ "missing END_HEADER", "START_HEADER\n{}\n", "missing END_HEADER", NULL, NULL },
	{ "START_DATA before END_HEADER", "START_HEADER\n{}\nSTART_DATA\nM\tA\nMV_T302_V003\tL\n",
	    "missing END_HEADER", NULL, NULL },
	{ "missing START_DATA", "START_HEADER\n{}\nEND_HEADER\nM\tA\nMV_T302_V003\tL\n",
	    "missing START_DATA", NULL, NULL },
	{ "missing START_DATA at end of file", "START_HEADER\n{}\nEND_HEADER\n\n \n",
	    "missing START_DATA", NULL, NULL },
	{ "invalid JSON", "START_HEADER\n{\"a\": \nEND_HEADER\nSTART_DATA\nM\tA\nMV_T302_V003\tL\n",
	    NULL, "JSON", NULL },
	{ "JSON array", "START_HEADER\n[1, 2]\nEND_HEADER\nSTART_DATA\nM\tA\nMV_T302_V003\tL\n",
	    NULL, "JSON", NULL },
	{ "JSON string", "START_HEADER\n\"x\"\nEND_HEADER\nSTART_DATA\nM\tA\nMV_T302_V003\tL\n",
	    NULL, "JSON", NULL },
	{ "two JSON objects", "START_HEADER\n{}\n{}\nEND_HEADER\nSTART_DATA\nM\tA\nMV_T302_V003\tL\n",
	    NULL, "JSON", NULL },
	{ "object then garbage", "START_HEADER\n{} x\nEND_HEADER\nSTART_DATA\nM\tA\nMV_T302_V003\tL\n",
	    NULL, "JSON", NULL },
	{ "no JSON at all", "START_HEADER\nEND_HEADER\nSTART_DATA\nM\tA\nMV_T302_V003\tL\n",
	    NULL, "JSON", NULL },
	{ "invalid JSON and no START_DATA", "START_HEADER\n{\nEND_HEADER\nM\tA\nMV_T302_V003\tL\n",
	    NULL, "JSON", NULL },
};

static void
error_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(errors); i++) {
		const error_case *c = &errors[i];
		parsed p;

		parse(&p, c->text);
		if (p.rc != PV_EDATA)
			fail_msg("%s: rc %d, expected PV_EDATA (%s)", c->name, p.rc, p.err.msg);
		if (c->msg != NULL && strcmp(p.err.msg, c->msg) != 0)
			fail_msg("%s: message \"%s\", expected \"%s\"", c->name, p.err.msg, c->msg);
		if (c->contains != NULL && strstr(p.err.msg, c->contains) == NULL)
			fail_msg("%s: message \"%s\" lacks \"%s\"", c->name, p.err.msg, c->contains);
		/* the format id stays available for the report, even when refused */
		if (c->format_id != NULL &&
		    (p.h.format_id == NULL || strcmp(p.h.format_id, c->format_id) != 0))
			fail_msg("%s: format_id \"%s\", expected \"%s\"", c->name,
			    p.h.format_id ? p.h.format_id : "(null)", c->format_id);
		if (p.h.format != NULL && strncmp(c->msg ? c->msg : "", "unsupported", 11) == 0)
			fail_msg("%s: format set for an unsupported id", c->name);
		parsed_free(&p);
	}
}

/* ---- successes ---- */

#define CELLS(...) { __VA_ARGS__, NULL }

typedef struct ok_case {
	const char *name;
	const char *text;
	const char *format_id;
	pv_layout layout;
	const char *master;
	const char *serials[8];
	const char *labels[8];
	const char *meta;  /* cJSON_PrintUnformatted of the header, or NULL (plain) */
	const char *next;  /* first data row */
} ok_case;

static const ok_case oks[] = {
	{ "plain",
	    "02001171\t02001171\t04000466\nMV_T302_V002\tPh 1 V\tVoie1 A\n05/01/26 10:00:00\t1\t2\n",
	    "MV_T302_V002", PV_LAYOUT_PLAIN, "02001171", CELLS("02001171", "04000466"),
	    CELLS("Ph 1 V", "Voie1 A"), NULL, "05/01/26 10:00:00\t1\t2" },
	{ "blank lines before and between the header lines",
	    "\n \t\n\r\nM\tA\n\n  \nMV_T302_V002\tL\n\nrow\n",
	    "MV_T302_V002", PV_LAYOUT_PLAIN, "M", CELLS("A"), CELLS("L"), NULL, "" },
	{ "CRLF and BOM",
	    "\xEF\xBB\xBFM\tA\r\nMV_T302_V002\tL\r\nrow\r\n",
	    "MV_T302_V002", PV_LAYOUT_PLAIN, "M", CELLS("A"), CELLS("L"), NULL, "row" },
	{ "cells trimmed, format id trimmed",
	    " M \t A \t\vB\f\r\n  MV_T302_V002 \t Ph 1 V \t I A \nrow\n",
	    "MV_T302_V002", PV_LAYOUT_PLAIN, "M", CELLS("A", "B"), CELLS("Ph 1 V", "I A"), NULL, "row" },
	{ "trailing empty cells dropped",
	    "M\tA\tB\t\t \t\nMV_T302_V002\tL1\tL2\t\t\t \nrow\n",
	    "MV_T302_V002", PV_LAYOUT_PLAIN, "M", CELLS("A", "B"), CELLS("L1", "L2"), NULL, "row" },
	{ "trailing empty cells on one line only",
	    "M\tA\t\nMV_T302_V002\tL1\nrow\n",
	    "MV_T302_V002", PV_LAYOUT_PLAIN, "M", CELLS("A"), CELLS("L1"), NULL, "row" },
	{ "empty middle label kept",
	    "M\tA\tB\tC\nMV_T302_V002\tL1\t\tL3\t\t\nrow\n",
	    "MV_T302_V002", PV_LAYOUT_PLAIN, "M", CELLS("A", "B", "C"), CELLS("L1", "", "L3"), NULL, "row" },
	{ "framed",
	    "START_HEADER\n{\"MasterType\": \"tri\", \"TimeZone\": \"CET-1CEST,M3.5.0,M10.5.0/3\"}\n"
	    "END_HEADER\nSTART_DATA\n02001171\t02001171\nMV_T302_V003\tPh 1 V\n"
	    "05/01/26 10:00:00\t1\nEND_DATA\n",
	    "MV_T302_V003", PV_LAYOUT_FRAMED, "02001171", CELLS("02001171"), CELLS("Ph 1 V"),
	    "{\"MasterType\":\"tri\",\"TimeZone\":\"CET-1CEST,M3.5.0,M10.5.0/3\"}", "05/01/26 10:00:00\t1" },
	{ "framed, markers with white space around, JSON over several lines",
	    "\n  START_HEADER \t\r\n{\n  \"a\": 1,\n\n  \"b\": [\"x\",\n \"y\"]\n}\n"
	    "\tEND_HEADER  \n\n \n START_DATA\r\n\nM\tA\n\nMV_T302_V003\tL\n \nrow\n",
	    "MV_T302_V003", PV_LAYOUT_FRAMED, "M", CELLS("A"), CELLS("L"),
	    "{\"a\":1,\"b\":[\"x\",\"y\"]}", " " },
	{ "framed, empty object",
	    "START_HEADER\n{}\nEND_HEADER\nSTART_DATA\nM\tA\nMV_T302_V003\tL\n",
	    "MV_T302_V003", PV_LAYOUT_FRAMED, "M", CELLS("A"), CELLS("L"), "{}", NULL },
	{ "framed, CR line ends",
	    "START_HEADER\r{\"k\":\"v\"}\rEND_HEADER\rSTART_DATA\rM\tA\rMV_T302_V003\tL\rrow\r",
	    "MV_T302_V003", PV_LAYOUT_FRAMED, "M", CELLS("A"), CELLS("L"), "{\"k\":\"v\"}", "row" },
	{ "repeated serial numbers",
	    "M\tM\tS\tM\tS\nMV_T302_V002\ta\tb\tc\td\n",
	    "MV_T302_V002", PV_LAYOUT_PLAIN, "M", CELLS("M", "S", "M", "S"), CELLS("a", "b", "c", "d"), NULL, NULL },
};

static void
success_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(oks); i++) {
		const ok_case *c = &oks[i];
		size_t n = 0;
		parsed p;

		parse(&p, c->text);
		if (p.rc != PV_OK)
			fail_msg("%s: rc %d (%s)", c->name, p.rc, p.err.msg);
		while (c->serials[n] != NULL)
			n++;
		if (p.h.format == NULL || strcmp(p.h.format->id, c->format_id) != 0 ||
		    p.h.format->layout != c->layout)
			fail_msg("%s: wrong format", c->name);
		assert_string_equal(p.h.format_id, c->format_id);
		assert_string_equal(p.h.master_sn, c->master);
		if (p.h.nchan != n)
			fail_msg("%s: %zu channels, expected %zu", c->name, p.h.nchan, n);
		for (size_t k = 0; k < n; k++) {
			if (strcmp(p.h.serials[k], c->serials[k]) != 0)
				fail_msg("%s: serial %zu \"%s\", expected \"%s\"", c->name, k + 1,
				    p.h.serials[k], c->serials[k]);
			if (strcmp(p.h.labels[k], c->labels[k]) != 0)
				fail_msg("%s: label %zu \"%s\", expected \"%s\"", c->name, k + 1,
				    p.h.labels[k], c->labels[k]);
		}
		if (c->meta == NULL) {
			if (p.h.meta != NULL)
				fail_msg("%s: meta set for the plain layout", c->name);
		} else {
			char *json = cJSON_PrintUnformatted(p.h.meta);
			if (json == NULL || strcmp(json, c->meta) != 0)
				fail_msg("%s: meta %s, expected %s", c->name, json ? json : "(null)", c->meta);
			free(json);
		}
		if ((c->next == NULL) != (p.next == NULL) || (c->next && strcmp(c->next, p.next) != 0))
			fail_msg("%s: next line \"%s\", expected \"%s\"", c->name,
			    p.next ? p.next : "(none)", c->next ? c->next : "(none)");
		parsed_free(&p);
	}
}

/*
 * Header cells become tag values: control characters and backslashes are
 * refused (they cannot be written or escaped in line protocol). A NUL byte is
 * a control character like the others: the cell must not be cut short at it.
 */
static void
control_characters_in_header_cells(void **state)
{
#define BYTES(s) s, sizeof(s) - 1
	static const struct {
		const char *what;
		const char *text;
		size_t len;
	} t[] = {
		{ "SOH in a label", BYTES("M\tA\nMV_T302_V002\tPh 1\x01 V\n") },
		{ "DEL in a label", BYTES("M\tA\nMV_T302_V002\tPh 1\x7F V\n") },
		{ "ESC in a serial", BYTES("M\tA\x1B\nMV_T302_V002\tPh 1 V\n") },
		{ "backslash in a label", BYTES("M\tA\nMV_T302_V002\tPh\\1 V\n") },
		{ "backslash in the master serial", BYTES("M\\\tA\nMV_T302_V002\tPh 1 V\n") },
		{ "NUL in a label", BYTES("M\tA\nMV_T302_V002\tPh 1\0X V\n") },
		{ "NUL in a serial", BYTES("M\tA\0X\nMV_T302_V002\tPh 1 V\n") },
	};

	char failures[1024] = "";

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(t); i++) {
		parsed p;
		parse_bytes(&p, t[i].text, t[i].len);
		if (p.rc != PV_EDATA) {
			size_t used = strlen(failures);
			snprintf(failures + used, sizeof(failures) - used, "\n  %s: accepted (rc %d, serial \"%s\", label \"%s\")",
			    t[i].what, p.rc, p.rc == PV_OK ? p.h.serials[0] : "", p.rc == PV_OK ? p.h.labels[0] : "");
		}
		parsed_free(&p);
	}
	if (failures[0] != '\0')
		fail_msg("%s", failures);
#undef BYTES
}

/* A framed layout's rows start after the format line; END_DATA is left for the row reader. */
static void
framed_leaves_rows_and_end_data(void **state)
{
	parsed p;

	(void)state;
	parse(&p, HDR "M\tA\nMV_T302_V003\tL\nEND_DATA\n");
	assert_int_equal(p.rc, PV_OK);
	assert_string_equal(p.next, "END_DATA");
	parsed_free(&p);
}

static void
meta_string_lookup(void **state)
{
	parsed p;

	(void)state;
	parse(&p, "START_HEADER\n{\"MasterType\": \" Tri \", \"N\": 3, \"Z\": null}\nEND_HEADER\n"
	    "START_DATA\nM\tA\nMV_T302_V003\tL\n");
	assert_int_equal(p.rc, PV_OK);
	assert_string_equal(pv_header_meta_string(&p.h, "MasterType"), " Tri ");
	assert_null(pv_header_meta_string(&p.h, "masterType")); /* keys are case-sensitive */
	assert_null(pv_header_meta_string(&p.h, "N"));
	assert_null(pv_header_meta_string(&p.h, "Z"));
	assert_null(pv_header_meta_string(&p.h, "absent"));
	parsed_free(&p);

	parse(&p, "M\tA\nMV_T302_V002\tL\n");
	assert_int_equal(p.rc, PV_OK);
	assert_null(pv_header_meta_string(&p.h, "MasterType"));
	parsed_free(&p);
}

/* pv_header_free on a header that failed half way, and twice in a row. */
static void
free_after_failure_is_safe(void **state)
{
	parsed p;

	(void)state;
	parse(&p, "START_HEADER\n[1]\nEND_HEADER\nSTART_DATA\nM\tA\nMV_T302_V003\tL\n");
	assert_int_equal(p.rc, PV_EDATA);
	parsed_free(&p);
	pv_header_free(&p.h);
	assert_null(p.h.meta);
	assert_null(p.h.format_id);
}

static void
format_registry(void **state)
{
	const pv_formats *reg = pv_formats_builtin();
	const pv_format *f;
	char list[64];

	(void)state;
	f = pv_formats_find(reg, "MV_T302_V002");
	assert_non_null(f);
	assert_int_equal(f->layout, PV_LAYOUT_PLAIN);
	assert_string_equal(f->device_model, "MV2");
	f = pv_formats_find(reg, "MV_T302_V003");
	assert_non_null(f);
	assert_int_equal(f->layout, PV_LAYOUT_FRAMED);
	assert_string_equal(f->device_model, "MV2");
	assert_null(pv_formats_find(reg, "MV_T302_V00"));
	assert_null(pv_formats_find(reg, "MV_T302_V0022"));
	pv_formats_list(reg, list, sizeof(list));
	assert_string_equal(list, "MV_T302_V002 (plain), MV_T302_V003 (framed)");
	assert_string_equal(pv_layout_name(PV_LAYOUT_PLAIN), "plain");
	assert_string_equal(pv_layout_name(PV_LAYOUT_FRAMED), "framed");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(error_table),
		cmocka_unit_test(success_table),
		cmocka_unit_test(control_characters_in_header_cells),
		cmocka_unit_test(framed_leaves_rows_and_end_data),
		cmocka_unit_test(meta_string_lookup),
		cmocka_unit_test(free_after_failure_is_safe),
		cmocka_unit_test(format_registry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
