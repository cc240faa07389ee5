/*
 * Literals put into Flux, InfluxQL and PromQL queries: every value from a
 * path or a file is escaped, so a name cannot end the string or interpolate.
 */
#include "pv_test.h"

#include "powerview/influx.h"

static const struct {
	const char *in, *flux, *ql_string, *ql_ident;
} cases[] = {
	{ "acme", "acme", "'acme'", "\"acme\"" },
	{ "it's", "it's", "'it\\'s'", "\"it's\"" },
	{ "say \"hi\"", "say \\\"hi\\\"", "'say \"hi\"'", "\"say \\\"hi\\\"\"" },
	{ "back\\slash", "back\\\\slash", "'back\\\\slash'", "\"back\\\\slash\"" },
	{ "cost ${x}", "cost \\${x}", "'cost ${x}'", "\"cost ${x}\"" },
	{ "$5 and {x}", "$5 and {x}", "'$5 and {x}'", "\"$5 and {x}\"" },
	{ "a\nb\tc\rd", "a\\nb\\tc\\rd", "'a\nb\tc\rd'", "\"a\nb\tc\rd\"" },
	{ "", "", "''", "\"\"" },
};

static void
literals(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(cases); i++) {
		char *flux = pv_flux_quote(cases[i].in);
		char *qs = pv_influxql_string(cases[i].in);
		char *qi = pv_influxql_ident(cases[i].in);

		assert_string_equal(flux, cases[i].flux);
		assert_string_equal(qs, cases[i].ql_string);
		assert_string_equal(qi, cases[i].ql_ident);
		free(flux);
		free(qs);
		free(qi);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(literals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
