/*
 * Channel publication: v0.4.1's body (which channels, in which order, with
 * which keys) and the report's channels_published figure.
 */
#include "pv_test.h"

#include "powerview/publish.h"
#include "powerview/report.h"

/* A result with three channels: U1 in V, a column without a unit, a slave's W without points. */
static void
fixture(pv_file_result *r, pv_channel ch[3], const char *campaign)
{
	pv_file_result_init(r, "/d/acme/camp1/02001171/f.tsv");
	r->status = PV_STATUS_SUCCESS;
	r->loc.company = strdup("acme");
	r->loc.campaign = campaign ? strdup(campaign) : NULL;
	r->master_sn = strdup("02001171");
	memset(ch, 0, 3 * sizeof(*ch));
	ch[0] = (pv_channel){ .column = 1, .label = "U1", .unit = "V", .id = "M02001171_U1_M02001171",
		.field_key = "M02001171_U1_M02001171_V", .name = "Ph 1", .sn = "02001171", .master = true,
		.nb_points = 2 };
	ch[1] = (pv_channel){ .column = 2, .label = "Ch1", .unit = "", .id = "M02001171_Ch1_M02001171",
		.field_key = "M02001171_Ch1_M02001171", .name = "Voie1", .sn = "02001171", .master = true,
		.nb_points = 2 };
	ch[2] = (pv_channel){ .column = 3, .label = "Ch1", .unit = "W", .id = "S04000466_Ch1_M02001171",
		.field_key = "S04000466_Ch1_M02001171_W", .name = "Voie2", .sn = "04000466" };
	r->channels.items = ch;
	r->channels.count = 3;
}

static void
release(pv_file_result *r)
{
	/* the channels are the test's: not freed by pv_file_result_free */
	r->channels.items = NULL;
	r->channels.count = 0;
	pv_file_result_free(r);
}

static char *
body_text(const pv_file_result *r, size_t *n)
{
	cJSON *b = pv_publish_body(r, n);
	char *t;

	assert_non_null(b);
	t = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	return t;
}

static void
body_of_v041(void **state)
{
	pv_file_result r;
	pv_channel ch[3];
	size_t n;
	char *t;

	(void)state;
	fixture(&r, ch, "camp1");
	t = body_text(&r, &n);
	assert_int_equal(n, 2);
	assert_string_equal(t,
	    "{\"campaign\":\"camp1\",\"channels\":["
	    "{\"fieldId\":\"M02001171_U1_M02001171_V\",\"channelId\":\"M02001171_U1_M02001171\","
	    "\"channelUnit\":\"V\",\"channelLabel\":\"U1\",\"deviceMasterSn\":\"02001171\"},"
	    "{\"fieldId\":\"S04000466_Ch1_M02001171_W\",\"channelId\":\"S04000466_Ch1_M02001171\","
	    "\"channelUnit\":\"W\",\"channelLabel\":\"Ch1\",\"deviceMasterSn\":\"02001171\"}]}");
	free(t);
	release(&r);
}

static void
body_without_campaign_or_units(void **state)
{
	pv_file_result r;
	pv_channel ch[3];
	size_t n = 99;
	char *t;

	(void)state;
	fixture(&r, ch, NULL);
	ch[0].unit = "";
	ch[2].unit = "";
	t = body_text(&r, &n);
	assert_int_equal(n, 0);
	assert_string_equal(t, "{\"campaign\":\"\",\"channels\":[]}");
	free(t);
	release(&r);
}

static void
body_escapes_json(void **state)
{
	pv_file_result r;
	pv_channel ch[3];
	size_t n;
	char *t;

	(void)state;
	fixture(&r, ch, "a\"b\\c\n");
	t = body_text(&r, &n);
	cJSON *back = cJSON_Parse(t);
	assert_non_null(back);
	assert_string_equal(cJSON_GetObjectItem(back, "campaign")->valuestring, "a\"b\\c\n");
	cJSON_Delete(back);
	free(t);
	release(&r);
}

/* The report's figure: absent when not asked, null when it failed, else the count. */
static void
report_figure(void **state)
{
	static const struct { long long v; const char *want; } t[] = {
		{ -1, NULL }, { -2, "null" }, { 0, "0" }, { 7, "7" },
	};
	pv_file_result r;
	pv_channel ch[3];

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(t); i++) {
		fixture(&r, ch, "camp1");
		r.channels_published = t[i].v;
		cJSON *o = pv_report_file(&r);
		cJSON *f = cJSON_GetObjectItem(o, "channels_published");
		if (t[i].want == NULL)
			assert_null(f);
		else {
			char *s = cJSON_PrintUnformatted(f);
			assert_string_equal(s, t[i].want);
			free(s);
		}
		cJSON_Delete(o);
		release(&r);
	}
	/* a fresh result is "not asked" */
	pv_file_result_init(&r, "x");
	assert_int_equal(r.channels_published, -1);
	pv_file_result_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(body_of_v041),
		cmocka_unit_test(body_without_campaign_or_units),
		cmocka_unit_test(body_escapes_json),
		cmocka_unit_test(report_figure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
