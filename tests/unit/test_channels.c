/*
 * Channel mapping (contract §3): labels, names and units, ids and field keys,
 * the master's subtype. Headers are built here, as pv_header_read leaves them
 * (cells trimmed).
 */
#include "pv_test.h"

#include "powerview/channels.h"

static void
make_header(pv_header *h, const char *master, const char *const *serials,
    const char *const *labels, const char *meta)
{
	size_t n = 0;

	memset(h, 0, sizeof(*h));
	while (serials[n] != NULL)
		n++;
	h->format = pv_formats_find(pv_formats_builtin(), meta ? "MV_T302_V003" : "MV_T302_V002");
	h->format_id = strdup(h->format->id);
	h->master_sn = strdup(master);
	h->nchan = n;
	h->serials = calloc(n, sizeof(char *));
	h->labels = calloc(n, sizeof(char *));
	assert_non_null(h->serials);
	assert_non_null(h->labels);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(labels[i]);
		h->serials[i] = strdup(serials[i]);
		h->labels[i] = strdup(labels[i]);
	}
	if (meta != NULL) {
		h->meta = cJSON_Parse(meta);
		assert_non_null(h->meta);
	}
}

/* ---- full mappings ---- */

typedef struct col {
	const char *sn, *cell;                       /* input */
	const char *label, *name, *unit, *id, *key;  /* expected */
} col;

typedef struct map_case {
	const char *what;
	const char *master;
	const char *meta;
	pv_id_scheme scheme;
	const char *subtype;
	col cols[20];
} map_case;

#define M "02001171"
#define S1 "04000466"
#define S2 "04000467"

static const map_case maps[] = {
	{ "master tri with 2 slaves", M, NULL, PV_ID_SERIAL, "tri", {
		{ M, "Ph 1 V", "U1", "Ph 1", "V", "M" M "_U1_M" M, "M" M "_U1_M" M "_V" },
		{ M, "Ph 2 V", "U2", "Ph 2", "V", "M" M "_U2_M" M, "M" M "_U2_M" M "_V" },
		{ M, "Ph 3 V", "U3", "Ph 3", "V", "M" M "_U3_M" M, "M" M "_U3_M" M "_V" },
		{ M, "I 1 A", "Ch1", "I 1", "A", "M" M "_Ch1_M" M, "M" M "_Ch1_M" M "_A" },
		{ M, "I 2 A", "Ch2", "I 2", "A", "M" M "_Ch2_M" M, "M" M "_Ch2_M" M "_A" },
		{ M, "I 3 A", "Ch3", "I 3", "A", "M" M "_Ch3_M" M, "M" M "_Ch3_M" M "_A" },
		{ S1, "Voie1 A", "Ch1", "Voie1", "A", "S" S1 "_Ch1_M" M, "S" S1 "_Ch1_M" M "_A" },
		{ S1, "Voie2 A", "Ch2", "Voie2", "A", "S" S1 "_Ch2_M" M, "S" S1 "_Ch2_M" M "_A" },
		{ S1, "Voie3 A", "Ch3", "Voie3", "A", "S" S1 "_Ch3_M" M, "S" S1 "_Ch3_M" M "_A" },
		{ S1, "Voie4 A", "Ch4", "Voie4", "A", "S" S1 "_Ch4_M" M, "S" S1 "_Ch4_M" M "_A" },
		{ S1, "Voie5 A", "Ch5", "Voie5", "A", "S" S1 "_Ch5_M" M, "S" S1 "_Ch5_M" M "_A" },
		{ S1, "Voie6 A", "Ch6", "Voie6", "A", "S" S1 "_Ch6_M" M, "S" S1 "_Ch6_M" M "_A" },
		{ S2, "T1 \xC2\xB0" "C", "Ch1", "T1", "\xC2\xB0" "C", "S" S2 "_Ch1_M" M, "S" S2 "_Ch1_M" M "_\xC2\xB0" "C" },
		{ S2, "T2 \xC2\xB0" "C", "Ch2", "T2", "\xC2\xB0" "C", "S" S2 "_Ch2_M" M, "S" S2 "_Ch2_M" M "_\xC2\xB0" "C" },
		{ S2, "Voie3", "Ch3", "Voie3", "", "S" S2 "_Ch3_M" M, "S" S2 "_Ch3_M" M },
		{ S2, "P 4 W", "Ch4", "P 4", "W", "S" S2 "_Ch4_M" M, "S" S2 "_Ch4_M" M "_W" },
		{ S2, "P 5 W", "Ch5", "P 5", "W", "S" S2 "_Ch5_M" M, "S" S2 "_Ch5_M" M "_W" },
		{ S2, "P 6 W", "Ch6", "P 6", "W", "S" S2 "_Ch6_M" M, "S" S2 "_Ch6_M" M "_W" },
	} },
	{ "master tri, compact ids", M, NULL, PV_ID_COMPACT, "tri", {
		{ M, "Ph 1 V", "U1", "Ph 1", "V", "M" M "_U1", "M" M "_U1_V" },
		{ M, "Ph 2 V", "U2", "Ph 2", "V", "M" M "_U2", "M" M "_U2_V" },
		{ M, "Ph 3 V", "U3", "Ph 3", "V", "M" M "_U3", "M" M "_U3_V" },
		{ M, "I 1 A", "Ch1", "I 1", "A", "M" M "_Ch1", "M" M "_Ch1_A" },
		{ S1, "Voie1 A", "Ch1", "Voie1", "A", "M" M "_S" S1 "_Ch1", "M" M "_S" S1 "_Ch1_A" },
		{ S1, "Voie2", "Ch2", "Voie2", "", "M" M "_S" S1 "_Ch2", "M" M "_S" S1 "_Ch2" },
	} },
	{ "master mono (no Ph 3)", M, NULL, PV_ID_SERIAL, "mono", {
		{ M, "Ph 1 V", "U1", "Ph 1", "V", "M" M "_U1_M" M, "M" M "_U1_M" M "_V" },
		{ M, "Ph 2 V", "Ch1", "Ph 2", "V", "M" M "_Ch1_M" M, "M" M "_Ch1_M" M "_V" },
		{ M, "I A", "Ch2", "I", "A", "M" M "_Ch2_M" M, "M" M "_Ch2_M" M "_A" },
		{ M, "I A", "Ch3", "I", "A", "M" M "_Ch3_M" M, "M" M "_Ch3_M" M "_A" },
		{ S1, "Voie1 A", "Ch1", "Voie1", "A", "S" S1 "_Ch1_M" M, "S" S1 "_Ch1_M" M "_A" },
	} },
	{ "master mono, compact ids", M, NULL, PV_ID_COMPACT, "mono", {
		{ M, "U V", "U1", "U", "V", "M" M "_U1", "M" M "_U1_V" },
		{ M, "I A", "Ch1", "I", "A", "M" M "_Ch1", "M" M "_Ch1_A" },
		{ S1, "Voie1 A", "Ch1", "Voie1", "A", "M" M "_S" S1 "_Ch1", "M" M "_S" S1 "_Ch1_A" },
	} },
	{ "master column after a slave column (mono)", M, NULL, PV_ID_SERIAL, "mono", {
		{ M, "a", "U1", "a", "", "M" M "_U1_M" M, "M" M "_U1_M" M },
		{ S1, "b", "Ch1", "b", "", "S" S1 "_Ch1_M" M, "S" S1 "_Ch1_M" M },
		{ M, "c", "Ch1", "c", "", "M" M "_Ch1_M" M, "M" M "_Ch1_M" M },
		{ M, "d", "Ch2", "d", "", "M" M "_Ch2_M" M, "M" M "_Ch2_M" M },
		{ S1, "e", "Ch2", "e", "", "S" S1 "_Ch2_M" M, "S" S1 "_Ch2_M" M },
	} },
	{ "master column after a slave column (tri)", M, "{\"MasterType\": \"tri\"}", PV_ID_SERIAL, "tri", {
		{ M, "a", "U1", "a", "", "M" M "_U1_M" M, "M" M "_U1_M" M },
		{ S1, "b", "Ch1", "b", "", "S" S1 "_Ch1_M" M, "S" S1 "_Ch1_M" M },
		{ M, "c", "U2", "c", "", "M" M "_U2_M" M, "M" M "_U2_M" M },
		{ M, "d", "U3", "d", "", "M" M "_U3_M" M, "M" M "_U3_M" M },
		{ S2, "e", "Ch1", "e", "", "S" S2 "_Ch1_M" M, "S" S2 "_Ch1_M" M },
		{ M, "f", "Ch1", "f", "", "M" M "_Ch1_M" M, "M" M "_Ch1_M" M },
		{ S1, "g", "Ch2", "g", "", "S" S1 "_Ch2_M" M, "S" S1 "_Ch2_M" M },
	} },
	{ "no master column at all", M, NULL, PV_ID_SERIAL, "mono", {
		{ S1, "Voie1 A", "Ch1", "Voie1", "A", "S" S1 "_Ch1_M" M, "S" S1 "_Ch1_M" M "_A" },
		{ S2, "Voie1 A", "Ch1", "Voie1", "A", "S" S2 "_Ch1_M" M, "S" S2 "_Ch1_M" M "_A" },
	} },
	{ "label split at the last space", M, NULL, PV_ID_SERIAL, "mono", {
		{ M, "Ph 1  V", "U1", "Ph 1", "V", "M" M "_U1_M" M, "M" M "_U1_M" M "_V" },
		{ M, "Voie1", "Ch1", "Voie1", "", "M" M "_Ch1_M" M, "M" M "_Ch1_M" M },
		{ M, "A B C", "Ch2", "A B", "C", "M" M "_Ch2_M" M, "M" M "_Ch2_M" M "_C" },
		{ M, "Energie active kWh", "Ch3", "Energie active", "kWh", "M" M "_Ch3_M" M, "M" M "_Ch3_M" M "_kWh" },
		{ M, "cos\xCF\x86 -", "Ch4", "cos\xCF\x86", "-", "M" M "_Ch4_M" M, "M" M "_Ch4_M" M "_-" },
	} },
};

static void
mapping_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(maps); i++) {
		const map_case *c = &maps[i];
		const char *serials[21], *labels[21];
		size_t n = 0;
		pv_header h;
		pv_channels chs;
		pv_err err = { "" };

		while (c->cols[n].sn != NULL) {
			serials[n] = c->cols[n].sn;
			labels[n] = c->cols[n].cell;
			n++;
		}
		serials[n] = labels[n] = NULL;
		make_header(&h, c->master, serials, labels, c->meta);
		if (pv_channels_build(&chs, &h, c->scheme, &err) != PV_OK)
			fail_msg("%s: %s", c->what, err.msg);
		assert_int_equal(chs.count, n);
		if (strcmp(chs.subtype, c->subtype) != 0)
			fail_msg("%s: subtype %s, expected %s", c->what, chs.subtype, c->subtype);
		for (size_t k = 0; k < n; k++) {
			const pv_channel *ch = &chs.items[k];
			const col *e = &c->cols[k];
#define FIELD(got, want, name)                                                              \
	if (strcmp(got, want) != 0)                                                          \
		fail_msg("%s, column %zu: " name " \"%s\", expected \"%s\"", c->what, k + 1, got, want)
			FIELD(ch->label, e->label, "label");
			FIELD(ch->name, e->name, "name");
			FIELD(ch->unit, e->unit, "unit");
			FIELD(ch->id, e->id, "id");
			FIELD(ch->field_key, e->key, "field key");
			FIELD(ch->sn, e->sn, "sn");
#undef FIELD
			if (ch->column != k + 1)
				fail_msg("%s: column %zu numbered %zu", c->what, k + 1, ch->column);
			if (ch->master != (strcmp(e->sn, c->master) == 0))
				fail_msg("%s, column %zu: wrong device type", c->what, k + 1);
			assert_int_equal(ch->nb_points, 0);
			assert_null(ch->lp_prefix);
		}
		pv_channels_free(&chs);
		assert_int_equal(chs.count, 0);
		assert_null(chs.items);
		pv_header_free(&h);
	}
}

/* ---- the master's subtype ---- */

#define L(...) { __VA_ARGS__, NULL }

typedef struct subtype_case {
	const char *meta;        /* framed header, or NULL */
	const char *labels[6];   /* all master columns */
	const char *subtype;
} subtype_case;

static const subtype_case subtypes[] = {
	/* from the labels: ^Ph\s*1\b, ^Ph\s*2\b, ^Ph\s*3\b (labels trimmed) */
	{ NULL, L("Ph 1 V", "Ph 2 V", "Ph 3 V"), "tri" },
	{ NULL, L("Ph1 V", "Ph2 V", "Ph3 V"), "tri" },
	{ NULL, L("Ph  1 V", "Ph  2 V", "Ph  3 V"), "tri" },
	{ NULL, L("Ph 1", "Ph 2", "Ph 3"), "tri" },
	{ NULL, L("Ph 3 V", "x", "Ph 1 V", "Ph 2 V"), "tri" },
	{ NULL, L("Ph 1-V", "Ph 2.V", "Ph 3/V"), "tri" },
	{ NULL, L("Ph 1 V", "Ph 2 V", "Ph 3 V", "Ph 10 V"), "tri" },
	{ NULL, L("Ph 10 V", "Ph 2 V", "Ph 3 V"), "mono" },  /* Ph 10 is not Ph 1 */
	{ NULL, L("Ph 1 V", "Ph 2 V", "Ph 30 V"), "mono" },
	{ NULL, L("Phase 1 V", "Phase 2 V", "Phase 3 V"), "mono" },
	{ NULL, L("ph 1 V", "ph 2 V", "ph 3 V"), "mono" },
	{ NULL, L("PH 1 V", "PH 2 V", "PH 3 V"), "mono" },
	{ NULL, L("Ph1V", "Ph2V", "Ph3V"), "mono" },
	{ NULL, L("Ph 1_V", "Ph 2 V", "Ph 3 V"), "mono" },
	{ NULL, L("xPh 1", "Ph 2", "Ph 3"), "mono" },
	{ NULL, L("V Ph 1", "Ph 2", "Ph 3"), "mono" },
	{ NULL, L("Ph 1 V", "Ph 1 V", "Ph 2 V"), "mono" },
	{ NULL, L("Ph 1 V", "Ph 2 V"), "mono" },
	{ NULL, L("Ph", "Ph 2", "Ph 3"), "mono" },
	{ NULL, L("Ph 1\xC3\xA9", "Ph 2", "Ph 3"), "mono" }, /* é is a word character */
	/* MasterType in the framed header decides: trimmed, any case */
	{ "{\"MasterType\": \"Tri\"}", L("a", "b", "c", "d"), "tri" },
	{ "{\"MasterType\": \"TRI\"}", L("a"), "tri" },
	{ "{\"MasterType\": \"\\ttri\\r\\n\"}", L("a"), "tri" },
	{ "{\"MasterType\": \" mono \"}", L("Ph 1 V", "Ph 2 V", "Ph 3 V", "x"), "mono" },
	{ "{\"MasterType\": \"MONO\"}", L("Ph 1 V", "Ph 2 V", "Ph 3 V"), "mono" },
	{ "{\"MasterType\": \"Mono\"}", L("Ph 1 V", "Ph 2 V", "Ph 3 V"), "mono" },
	/* anything else: back to the labels */
	{ "{\"MasterType\": \"hexa\"}", L("Ph 1 V", "Ph 2 V", "Ph 3 V"), "tri" },
	{ "{\"MasterType\": \"hexa\"}", L("a", "b", "c"), "mono" },
	{ "{\"MasterType\": \"triphase\"}", L("a", "b", "c"), "mono" },
	{ "{\"MasterType\": \"\"}", L("Ph 1 V", "Ph 2 V", "Ph 3 V"), "tri" },
	{ "{\"MasterType\": 3}", L("Ph 1 V", "Ph 2 V", "Ph 3 V"), "tri" },
	{ "{\"mastertype\": \"mono\"}", L("Ph 1 V", "Ph 2 V", "Ph 3 V"), "tri" },
	{ "{}", L("Ph 1 V", "Ph 2 V", "Ph 3 V"), "tri" },
};

/* Master labels by subtype: tri U1 U2 U3 Ch1 ..., mono U1 Ch1 Ch2 ... */
static const char *const tri_labels[] = { "U1", "U2", "U3", "Ch1", "Ch2", "Ch3" };
static const char *const mono_labels[] = { "U1", "Ch1", "Ch2", "Ch3", "Ch4", "Ch5" };

static void
subtype_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(subtypes); i++) {
		const subtype_case *c = &subtypes[i];
		const char *serials[7];
		size_t n = 0;
		pv_header h;
		pv_channels chs;
		pv_err err;

		while (c->labels[n] != NULL)
			serials[n++] = M;
		serials[n] = NULL;
		make_header(&h, M, serials, c->labels, c->meta);
		assert_int_equal(pv_channels_build(&chs, &h, PV_ID_SERIAL, &err), PV_OK);
		if (strcmp(chs.subtype, c->subtype) != 0)
			fail_msg("row %zu (%s, %s...): %s, expected %s", i, c->meta ? c->meta : "plain",
			    c->labels[0], chs.subtype, c->subtype);
		const char *const *want = strcmp(c->subtype, "tri") == 0 ? tri_labels : mono_labels;
		for (size_t k = 0; k < n; k++)
			if (strcmp(chs.items[k].label, want[k]) != 0)
				fail_msg("row %zu column %zu: %s, expected %s", i, k + 1, chs.items[k].label, want[k]);
		pv_channels_free(&chs);
		pv_header_free(&h);
	}
}

/* Many columns, master and slave interleaved: one counter per serial. */
static void
many_columns(void **state)
{
	const char *serials[101], *labels[101];
	char buf[100][16];
	pv_header h;
	pv_channels chs;
	pv_err err;

	(void)state;
	for (int i = 0; i < 100; i++) {
		snprintf(buf[i], sizeof(buf[i]), i < 3 ? "Ph %d V" : "I%d A", i + 1);
		serials[i] = i % 2 && i > 2 ? S1 : M;
		labels[i] = buf[i];
	}
	serials[100] = labels[100] = NULL;
	make_header(&h, M, serials, labels, NULL);
	assert_int_equal(pv_channels_build(&chs, &h, PV_ID_SERIAL, &err), PV_OK);
	assert_string_equal(chs.subtype, "tri");
	assert_string_equal(chs.items[0].label, "U1");
	assert_string_equal(chs.items[2].label, "U3");
	/* columns 0-2 and the even ones are the master's, the odd ones from 3 the slave's */
	assert_string_equal(chs.items[3].label, "Ch1");   /* slave, 1st */
	assert_string_equal(chs.items[4].label, "Ch1");   /* master, 4th */
	assert_string_equal(chs.items[5].label, "Ch2");   /* slave, 2nd */
	assert_string_equal(chs.items[98].label, "Ch48"); /* master, 51st */
	assert_string_equal(chs.items[99].label, "Ch49"); /* slave, 49th */
	assert_string_equal(chs.items[99].id, "S" S1 "_Ch49_M" M);
	pv_channels_free(&chs);
	pv_header_free(&h);
}

static void
id_scheme_names(void **state)
{
	pv_id_scheme s = (pv_id_scheme)-1;

	(void)state;
	assert_true(pv_id_scheme_parse(&s, "serial"));
	assert_int_equal(s, PV_ID_SERIAL);
	assert_true(pv_id_scheme_parse(&s, "compact"));
	assert_int_equal(s, PV_ID_COMPACT);
	assert_false(pv_id_scheme_parse(&s, "Serial"));
	assert_false(pv_id_scheme_parse(&s, "compact "));
	assert_false(pv_id_scheme_parse(&s, ""));
	assert_false(pv_id_scheme_parse(&s, "legacy"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mapping_table),
		cmocka_unit_test(subtype_table),
		cmocka_unit_test(many_columns),
		cmocka_unit_test(id_scheme_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
