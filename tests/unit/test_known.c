/*
 * The channels already stored (`tsv_parser channels`): series keys parsed
 * with line-protocol escapes, tuples kept once, sorted, one body per
 * campaign.
 */
#include "pv_test.h"

#include "powerview/known.h"
#include "powerview/publish.h"

static char *
tag(const char *key, const char *name)
{
	int oom;
	char *v = pv_series_key_tag(key, name, &oom);

	assert_int_equal(oom, 0);
	return v;
}

static void
assert_tag(const char *key, const char *name, const char *want)
{
	char *v = tag(key, name);

	if (want == NULL) {
		assert_null(v);
		return;
	}
	assert_non_null(v);
	assert_string_equal(v, want);
	free(v);
}

static void
series_key_tags(void **state)
{
	const char *key = "electrical,campaign=camp\\,\\ b\\=2,channel\\ id=x,channel_id=M1_U1_M1,"
	    "file_name=a\\,b.tsv,odd=back\\slash";

	(void)state;
	assert_tag(key, "campaign", "camp, b=2");
	assert_tag(key, "channel_id", "M1_U1_M1");
	/* an escaped space in a tag key: "channel id" is not "channel_id" */
	assert_tag(key, "channel id", "x");
	assert_tag(key, "file_name", "a,b.tsv");
	/* a backslash before another character stays */
	assert_tag(key, "odd", "back\\slash");
	assert_tag(key, "channel_unit", NULL);
	/* the measurement is no tag, a tag's value is no key */
	assert_tag(key, "electrical", NULL);
	assert_tag(key, "x", NULL);
	assert_tag("electrical", "campaign", NULL);
	assert_tag("", "campaign", NULL);
	/* a measurement with an escaped comma */
	assert_tag("elec\\,trical,campaign=c", "campaign", "c");
	/* the last tag, empty value, broken key */
	assert_tag("m,a=1,b=", "b", "");
	assert_tag("m,a", "a", NULL);
}

static void
set_dedupes_and_filters(void **state)
{
	pv_known k = { 0 };
	pv_err err;

	(void)state;
	assert_int_equal(pv_known_add(&k, "c", "id1", "V", "U1", "1", &err), PV_OK);
	assert_int_equal(pv_known_add(&k, "c", "id1", "V", "U1", "1", &err), PV_OK);
	/* no unit, no id: not published, not kept */
	assert_int_equal(pv_known_add(&k, "c", "id2", NULL, "U2", "1", &err), PV_OK);
	assert_int_equal(pv_known_add(&k, "c", "id2", "", "U2", "1", &err), PV_OK);
	assert_int_equal(pv_known_add(&k, "c", NULL, "V", "U2", "1", &err), PV_OK);
	assert_int_equal(k.count, 1);
	/* a NUL boundary is no separator: ("ab","c") is not ("a","bc") */
	assert_int_equal(pv_known_add(&k, "ab", "c", "V", "", "", &err), PV_OK);
	assert_int_equal(pv_known_add(&k, "a", "bc", "V", "", "", &err), PV_OK);
	assert_int_equal(k.count, 3);
	/* through series keys: one per file, the same tuple */
	for (int i = 0; i < 5000; i++) {
		char key[200];
		snprintf(key, sizeof(key), "electrical,campaign=c,channel_id=id1,channel_label=U1,"
		    "channel_unit=V,device_master_sn=1,file_name=f%d.tsv", i);
		assert_int_equal(pv_known_add_series_key(&k, key, "electrical", &err), PV_OK);
	}
	assert_int_equal(k.count, 3);
	/* another measurement is not read */
	assert_int_equal(pv_known_add_series_key(&k, "other,campaign=z,channel_id=q,channel_unit=V",
	    "electrical", &err), PV_OK);
	assert_int_equal(k.count, 3);
	/* many distinct ones: the table grows, each found again */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < 3000; i++) {
			char id[32];
			snprintf(id, sizeof(id), "id%d", i + 100);
			assert_int_equal(pv_known_add(&k, "d", id, "W", "Ch1", "2", &err), PV_OK);
		}
	assert_int_equal(k.count, 3003);
	pv_known_free(&k);
	assert_int_equal(k.count, 0);
}

static void
sorted_bodies_per_campaign(void **state)
{
	pv_known k = { 0 };
	pv_err err;
	size_t next;
	cJSON *b;
	char *t;

	(void)state;
	pv_known_add(&k, "z", "S2_Ch1_M1", "W", "Ch1", "1", &err);
	pv_known_add(&k, "a \"q\"", "M1_U2_M1", "V", "U2", "1", &err);
	pv_known_add(&k, "z", "M1_U1_M1", "V", "U1", "1", &err);
	pv_known_add(&k, "a \"q\"", "M1_U1_M1", "V", "U1", "1", &err);
	pv_known_sort(&k);
	b = pv_publish_known_body(&k, 0, &next);
	assert_int_equal(next, 2);
	t = cJSON_PrintUnformatted(b);
	assert_string_equal(t, "{\"campaign\":\"a \\\"q\\\"\",\"channels\":["
	    "{\"fieldId\":\"M1_U1_M1_V\",\"channelId\":\"M1_U1_M1\",\"channelUnit\":\"V\",\"channelLabel\":\"U1\",\"deviceMasterSn\":\"1\"},"
	    "{\"fieldId\":\"M1_U2_M1_V\",\"channelId\":\"M1_U2_M1\",\"channelUnit\":\"V\",\"channelLabel\":\"U2\",\"deviceMasterSn\":\"1\"}]}");
	free(t);
	cJSON_Delete(b);
	b = pv_publish_known_body(&k, next, &next);
	assert_int_equal(next, 4);
	t = cJSON_PrintUnformatted(b);
	assert_string_equal(t, "{\"campaign\":\"z\",\"channels\":["
	    "{\"fieldId\":\"M1_U1_M1_V\",\"channelId\":\"M1_U1_M1\",\"channelUnit\":\"V\",\"channelLabel\":\"U1\",\"deviceMasterSn\":\"1\"},"
	    "{\"fieldId\":\"S2_Ch1_M1_W\",\"channelId\":\"S2_Ch1_M1\",\"channelUnit\":\"W\",\"channelLabel\":\"Ch1\",\"deviceMasterSn\":\"1\"}]}");
	free(t);
	cJSON_Delete(b);
	/* added to after a sort: still a set */
	assert_int_equal(pv_known_add(&k, "z", "M1_U1_M1", "V", "U1", "1", &err), PV_OK);
	assert_int_equal(k.count, 4);
	pv_known_free(&k);
}

static void
raw_buckets(void **state)
{
	(void)state;
	assert_true(pv_known_raw_bucket("acme", NULL));
	assert_true(pv_known_raw_bucket("a b?c", "meta"));
	assert_true(pv_known_raw_bucket("acme_1m", NULL));
	assert_true(pv_known_raw_bucket("_1h", NULL) == false);
	assert_false(pv_known_raw_bucket("acme_1h", NULL));
	assert_false(pv_known_raw_bucket("acme_1d", NULL));
	assert_false(pv_known_raw_bucket("acme_1w", NULL));
	assert_false(pv_known_raw_bucket("_internal", NULL));
	assert_false(pv_known_raw_bucket("_monitoring", NULL));
	assert_false(pv_known_raw_bucket("powerview_meta", NULL));
	assert_true(pv_known_raw_bucket("powerview_meta", "runs"));
	assert_false(pv_known_raw_bucket("runs", "runs"));
	assert_false(pv_known_raw_bucket("", NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(series_key_tags),
		cmocka_unit_test(set_dedupes_and_filters),
		cmocka_unit_test(sorted_bodies_per_campaign),
		cmocka_unit_test(raw_buckets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
