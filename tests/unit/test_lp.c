/*
 * Line protocol encoding (contract §5): escaping, the per-channel prefix,
 * values that parse back to the same double, timestamps.
 */
#include "pv_test.h"

#include <float.h>
#include <math.h>

#include "powerview/lp.h"

/* ---- escaping ---- */

static const struct esc_case {
	const char *in;
	pv_lp_kind kind;
	const char *out;
} escapes[] = {
	{ "", PV_LP_KEY, "" },
	{ "plain", PV_LP_KEY, "plain" },
	{ "a b", PV_LP_KEY, "a\\ b" },
	{ "a,b", PV_LP_KEY, "a\\,b" },
	{ "a=b", PV_LP_KEY, "a\\=b" },
	{ ",= ", PV_LP_KEY, "\\,\\=\\ " },
	{ "Ph 1", PV_LP_KEY, "Ph\\ 1" },
	{ "a\"b", PV_LP_KEY, "a\"b" },      /* quotes are literal in tags */
	{ "a\\b", PV_LP_KEY, "a\\b" },      /* backslash is not one of the three */
	{ "\xC2\xB0" "C", PV_LP_KEY, "\xC2\xB0" "C" },
	{ "", PV_LP_MEASUREMENT, "" },
	{ "electrical", PV_LP_MEASUREMENT, "electrical" },
	{ "a b", PV_LP_MEASUREMENT, "a\\ b" },
	{ "a,b", PV_LP_MEASUREMENT, "a\\,b" },
	{ "a=b", PV_LP_MEASUREMENT, "a=b" },  /* '=' is fine in a measurement */
	{ ",= ", PV_LP_MEASUREMENT, "\\,=\\ " },
	/* the run summary's tags: what no tag can carry as '_', escapes kept */
	{ "a\\b", PV_LP_TAG_SAFE, "a_b" },
	{ "a\\,b", PV_LP_TAG_SAFE, "a_\\,b" },
	{ "a\tb\x7F\\", PV_LP_TAG_SAFE, "a_b__" },
	{ ",= \"", PV_LP_TAG_SAFE, "\\,\\=\\ \"" },
	{ "\xC2\xB0" "C", PV_LP_TAG_SAFE, "\xC2\xB0" "C" },
};

static void
escape_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(escapes); i++) {
		const struct esc_case *c = &escapes[i];
		size_t n = strlen(c->in), want = strlen(c->out);
		char buf[64];

		memset(buf, '#', sizeof(buf));
		if (pv_lp_escaped_len(c->in, n, c->kind) != want)
			fail_msg("\"%s\" (kind %d): length %zu, expected %zu", c->in, c->kind,
			    pv_lp_escaped_len(c->in, n, c->kind), want);
		char *end = pv_lp_escape(buf, c->in, n, c->kind);
		if ((size_t)(end - buf) != want || memcmp(buf, c->out, want) != 0)
			fail_msg("\"%s\" (kind %d): \"%.*s\", expected \"%s\"", c->in, c->kind,
			    (int)(end - buf), buf, c->out);
		assert_int_equal(buf[want], '#'); /* nothing written past the end */
	}
}

/* ---- prefixes ---- */

static void
expect_prefix(const char *measurement, const pv_tag *tags, size_t ntags, const char *field_key,
    const char *want)
{
	char *out = NULL;
	size_t len = 0;

	assert_int_equal(pv_lp_prefix(&out, &len, measurement, tags, ntags, field_key), PV_OK);
	assert_non_null(out);
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
	free(out);
}

static void
prefix_full(void **state)
{
	const pv_tag tags[] = {
		{ "campaign", "camp 1" },
		{ "channel_id", "M02001171_U1_M02001171" },
		{ "channel_label", "U1" },
		{ "channel_name", "Ph 1" },
		{ "channel_unit", "V" },
		{ "device", "MV2" },
		{ "device_master_sn", "02001171" },
		{ "device_sn", "02001171" },
		{ "device_subtype", "tri" },
		{ "device_type", "master" },
		{ "file_name", "a=b,c.tsv" },
	};

	(void)state;
	expect_prefix("electrical", tags, PVT_COUNT(tags), "M02001171_U1_M02001171_V",
	    "electrical,campaign=camp\\ 1,channel_id=M02001171_U1_M02001171,channel_label=U1,"
	    "channel_name=Ph\\ 1,channel_unit=V,device=MV2,device_master_sn=02001171,"
	    "device_sn=02001171,device_subtype=tri,device_type=master,file_name=a\\=b\\,c.tsv "
	    "M02001171_U1_M02001171_V=");
}

static void
prefix_leaves_out_empty_tags(void **state)
{
	const pv_tag tags[] = {
		{ "campaign", "c" },
		{ "channel_unit", "" },
		{ "device_subtype", NULL },
		{ "device_type", "slave" },
		{ "file_name", NULL },
	};
	const pv_tag none[] = { { "a", NULL }, { "b", "" } };

	(void)state;
	expect_prefix("electrical", tags, PVT_COUNT(tags), "S1_Ch1_M2",
	    "electrical,campaign=c,device_type=slave S1_Ch1_M2=");
	expect_prefix("electrical", none, PVT_COUNT(none), "f", "electrical f=");
	expect_prefix("electrical", NULL, 0, "f", "electrical f=");
}

static void
prefix_escapes_every_part(void **state)
{
	const pv_tag tags[] = { { "tag key", "v,1=2" }, { "k=", " " } };

	(void)state;
	expect_prefix("my meas,x=y", tags, PVT_COUNT(tags), "field key=,",
	    "my\\ meas\\,x=y,tag\\ key=v\\,1\\=2,k\\==\\  field\\ key\\=\\,=");
}

/* ---- values ---- */

/* The contract's float grammar, and a finite double that reads back the same. */
static void
expect_round_trip(const char *text, size_t n, double v)
{
	char buf[PV_LP_VALUE_MAX + 1], *e;
	pv_value back;

	assert_true(n < PV_LP_VALUE_MAX);
	memcpy(buf, text, n);
	buf[n] = '\0';
	if (!pv_value_parse(buf, n, &back))
		fail_msg("\"%s\" is not a valid value", buf);
	double d = strtod(buf, &e);
	if (*e != '\0' || memcmp(&d, &v, sizeof(d)) != 0)
		fail_msg("\"%s\" reads back as %.17g, not %.17g", buf, d, v);
	if (strchr(buf, 'n') || strchr(buf, 'N') || strchr(buf, 'i') || strchr(buf, 'I'))
		fail_msg("\"%s\": NaN, inf or an integer suffix", buf);
}

static void
value_of_plain_text_is_copied(void **state)
{
	static const char *const texts[] = { "242.25", "242.250", "-0.0", "0", "007", "-5",
		"12345678901234567890123" };

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(texts); i++) {
		char buf[PV_LP_VALUE_MAX + 8];
		pv_value v;

		assert_true(pv_value_parse(texts[i], strlen(texts[i]), &v));
		assert_true(v.plain);
		memset(buf, '#', sizeof(buf));
		char *end = pv_lp_value(buf, &v);
		if ((size_t)(end - buf) != strlen(texts[i]) || memcmp(buf, texts[i], strlen(texts[i])) != 0)
			fail_msg("\"%s\" written as \"%.*s\"", texts[i], (int)(end - buf), buf);
		assert_int_equal(*end, '#');
		expect_round_trip(buf, (size_t)(end - buf), v.v);
	}
}

static const struct value_case {
	const char *in;
	const char *out;
} rewritten[] = {
	{ "+5", "5" },
	{ ".5", "0.5" },
	{ "-.5", "-0.5" },
	{ "5.", "5" },
	{ "1e3", "1000" },
	{ "1E-3", "0.001" },
	{ "2.4225e2", "242.25" },
	{ "+0.5", "0.5" },
	{ "-0e0", "-0" },
	{ "1e+300", "1e+300" },
	{ "0.1000000000000000055511151231257827", "0.1" },
	{ "123456789012345678901234567890", "1.2345678901234568e+29" },
};

static void
value_of_other_text_is_rewritten(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(rewritten); i++) {
		char buf[PV_LP_VALUE_MAX];
		pv_value v;

		assert_true(pv_value_parse(rewritten[i].in, strlen(rewritten[i].in), &v));
		assert_false(v.plain);
		char *end = pv_lp_value(buf, &v);
		if ((size_t)(end - buf) != strlen(rewritten[i].out) ||
		    memcmp(buf, rewritten[i].out, (size_t)(end - buf)) != 0)
			fail_msg("\"%s\" written as \"%.*s\", expected \"%s\"", rewritten[i].in,
			    (int)(end - buf), buf, rewritten[i].out);
		expect_round_trip(buf, (size_t)(end - buf), v.v);
	}
}

static void
value_computed_doubles_parse_back_exactly(void **state)
{
	const double fixed[] = { 0.1, 0.1 + 0.2, 1.0 / 3.0, -2.0 / 3.0, 1e300, -1e-300, DBL_MAX,
		-DBL_MAX, DBL_MIN, DBL_TRUE_MIN, -0.0, 0.0, 5e-324, 9007199254740993.0, 1e22, 1e23 };
	uint64_t x = 0x243F6A8885A308D3ULL;

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(fixed) + 20000; i++) {
		pv_value v = { 0 };
		char buf[PV_LP_VALUE_MAX];

		if (i < PVT_COUNT(fixed))
			v.v = fixed[i];
		else {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			memcpy(&v.v, &x, sizeof(v.v));
			if (!isfinite(v.v))
				continue;
		}
		v.plain = false;
		char *end = pv_lp_value(buf, &v);
		expect_round_trip(buf, (size_t)(end - buf), v.v);
	}
	/* 0.1 needs no more than its shortest form */
	{
		pv_value v = { .v = 0.1, .plain = false };
		char buf[PV_LP_VALUE_MAX];
		char *end = pv_lp_value(buf, &v);
		assert_int_equal(end - buf, 3);
		assert_memory_equal(buf, "0.1", 3);
		v.v = 0.1 + 0.2;
		end = pv_lp_value(buf, &v);
		assert_int_equal(end - buf, 19);
		assert_memory_equal(buf, "0.30000000000000004", 19);
	}
}

/* ---- timestamps ---- */

static void
time_table(void **state)
{
	static const struct {
		int64_t t;
		const char *out;
	} t[] = {
		{ 1761436800, " 1761436800\n" },
		{ 0, " 0\n" },
		{ 1, " 1\n" },
		{ -1, " -1\n" },
		{ -86400, " -86400\n" },
		{ 10, " 10\n" },
		{ INT64_MAX, " 9223372036854775807\n" },
		{ INT64_MIN, " -9223372036854775808\n" },
	};

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(t); i++) {
		char buf[32];

		memset(buf, '#', sizeof(buf));
		char *end = pv_lp_time(buf, t[i].t);
		if ((size_t)(end - buf) != strlen(t[i].out) || memcmp(buf, t[i].out, strlen(t[i].out)) != 0)
			fail_msg("%lld: \"%.*s\"", (long long)t[i].t, (int)(end - buf), buf);
		assert_true(end - buf <= 24);
		assert_int_equal(*end, '#');
	}
}

static void
tag_unsafe_finds_the_first_byte(void **state)
{
	const char *s = "ok\xC2\xB0 =,\"x\\y\tz";

	(void)state;
	assert_null(pv_lp_tag_unsafe(""));
	assert_null(pv_lp_tag_unsafe("\xC2\xB0" "C, \"=x\""));
	assert_ptr_equal(pv_lp_tag_unsafe(s), strchr(s, '\\'));
	assert_int_equal(*pv_lp_tag_unsafe("a\nb"), '\n');
	assert_int_equal(*pv_lp_tag_unsafe("a\x7F"), 0x7F);
	assert_int_equal(*pv_lp_tag_unsafe("a\x01\\"), 0x01);
}

static void
tags_written_as_the_length_says(void **state)
{
	const pv_tag tags[] = {
		{ "a b", "x,y" }, { "empty", "" }, { "none", NULL }, { "k", "v\\w" },
	};
	char buf[64];

	(void)state;
	memset(buf, '#', sizeof(buf));
	char *end = pv_lp_tags(buf, tags, 4, PV_LP_KEY);
	assert_int_equal((size_t)(end - buf), pv_lp_tags_len(tags, 4));
	assert_memory_equal(buf, ",a\\ b=x\\,y,k=v\\w", (size_t)(end - buf));
	end = pv_lp_tags(buf, tags, 4, PV_LP_TAG_SAFE);
	assert_int_equal((size_t)(end - buf), pv_lp_tags_len(tags, 4));
	assert_memory_equal(buf, ",a\\ b=x\\,y,k=v_w", (size_t)(end - buf));
	assert_int_equal(*end, '#');
	assert_int_equal(pv_lp_tags_len(tags + 1, 2), 0);
}

static void
string_field_escaped_and_bounded(void **state)
{
	char in[64], out[128];

	(void)state;
	pv_lp_string(out, "a\"b\\c\nd", 100);
	assert_string_equal(out, "a\\\"b\\\\c d");
	/* at most max - 1 bytes: never an escape nor a character cut in two */
	memset(in, 'x', sizeof(in));
	memcpy(in + 10, "\"\xE2\x82\xAC", 4);
	in[20] = '\0';
	for (size_t max = 8; max <= 24; max++) {
		char *end = pv_lp_string(out, in, max);
		size_t n = (size_t)(end - out);
		assert_true(n < max);
		assert_int_equal(*end, '\0');
		assert_true(n != 11 && n != 13 && n != 14);
		if (n >= 12)
			assert_memory_equal(out + 10, "\\\"", 2);
		if (n >= 15)
			assert_memory_equal(out + 12, "\xE2\x82\xAC", 3);
	}
}

static void
shortest_double_text(void **state)
{
	const double v[] = { 0.1, 1.0 / 3, 242, -0.0, 1e300, DBL_MIN, DBL_MAX, 5e-324, 123456.789 };
	char buf[PV_LP_VALUE_MAX];

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(v); i++) {
		int n = pv_fmt_double(buf, sizeof(buf), v[i]);
		assert_int_equal((size_t)n, strlen(buf));
		assert_true(strtod(buf, NULL) == v[i]);
	}
	pv_fmt_double(buf, sizeof(buf), 0.1);
	assert_string_equal(buf, "0.1");
	pv_fmt_double(buf, sizeof(buf), 1.0 / 3);
	assert_string_equal(buf, "0.3333333333333333");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(escape_table),
		cmocka_unit_test(prefix_full),
		cmocka_unit_test(prefix_leaves_out_empty_tags),
		cmocka_unit_test(prefix_escapes_every_part),
		cmocka_unit_test(value_of_plain_text_is_copied),
		cmocka_unit_test(value_of_other_text_is_rewritten),
		cmocka_unit_test(value_computed_doubles_parse_back_exactly),
		cmocka_unit_test(time_table),
		cmocka_unit_test(tag_unsafe_finds_the_first_byte),
		cmocka_unit_test(tags_written_as_the_length_says),
		cmocka_unit_test(string_field_escaped_and_bounded),
		cmocka_unit_test(shortest_double_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
